//! What the page shows about the current run, built from the worker's events. It is a plain
//! reducer (`apply`), so the page's behaviour on every message is tested natively; the
//! components only read it. `apply` also says which [`Parts`] an event changed, so the page
//! redraws only those.

use std::ops::{BitOr, BitOrAssign};

use serde::{Deserialize, Serialize};

use crate::page::plot::{Smoother, push_bounded};
use crate::protocol::{Event, ModelInfo, StopReason, TestReport};

/// Points kept per curve; older ones are thinned, never dropped wholesale.
pub const MAX_POINTS: usize = 600;
/// Steps over which the training-loss curves are smoothed (an EMA over steps; it lags by about
/// this much, as the legend says).
pub const LOSS_SMOOTHING_STEPS: f64 = 20.0;

/// A curve: `(step, value)` pairs in step order.
pub type Curve = Vec<(f64, f64)>;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskCurves {
    pub name: String,
    /// Smoothed training loss.
    pub train_loss: Curve,
    pub valid_loss: Curve,
    /// Validation AUC, or R² for a regression task.
    pub valid_auc: Curve,
    /// With several seeds side by side, each replica's curves (the ones above are then their
    /// means); empty for one model.
    #[serde(default)]
    pub replicas: Vec<ReplicaCurves>,
}

/// One replica's curves of one task.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReplicaCurves {
    pub train_loss: Curve,
    pub valid_loss: Curve,
    pub valid_auc: Curve,
}

/// One gate's history: per report, the step and the mean weight per expert.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GateHistory {
    pub points: Vec<(f64, Vec<f32>)>,
}

/// The points of `curve` up to step `at`, or all of them when `at` is `None`: what a replay of
/// the run shows at that step.
pub fn upto<T: Clone>(curve: &[(f64, T)], at: Option<f64>) -> Vec<(f64, T)> {
    match at {
        Some(at) => curve.iter().take_while(|p| p.0 <= at).cloned().collect(),
        None => curve.to_vec(),
    }
}

/// The value of the latest point at or before step `at` (the latest of all when `at` is
/// `None`); the default before the first.
fn at_or_before<T: Clone + Default>(points: &[(f64, T)], at: Option<f64>) -> T {
    points
        .iter()
        .rev()
        .find(|p| at.is_none_or(|at| p.0 <= at))
        .map(|p| p.1.clone())
        .unwrap_or_default()
}

/// A run's training rate as the page receives its progress reports: the (ms, step) of the first
/// and the latest. A race lane's samples per second and Auto's timing of a device read it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Throughput {
    first: Option<(f64, u64)>,
    last: Option<(f64, u64)>,
}

impl Throughput {
    /// Takes a progress report at `step`, received at `now_ms`.
    pub fn take(&mut self, now_ms: f64, step: u64) {
        self.first.get_or_insert((now_ms, step));
        self.last = Some((now_ms, step));
    }

    /// The milliseconds between the first and the latest report (0 before two).
    pub fn span_ms(&self) -> f64 {
        match (self.first, self.last) {
            (Some((t0, _)), Some((t1, _))) => t1 - t0,
            _ => 0.0,
        }
    }

    /// Samples a second between the first and the latest report, at `samples_per_step`; `None`
    /// until time and steps have passed between them.
    pub fn rate(&self, samples_per_step: f64) -> Option<f64> {
        let ((t0, s0), (t1, s1)) = (self.first?, self.last?);
        (t1 > t0 && s1 > s0).then(|| (s1 - s0) as f64 * samples_per_step / ((t1 - t0) / 1000.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RunState {
    /// Waiting for the worker or the model.
    #[default]
    Loading,
    Ready,
    Running,
    Paused,
    /// The run has ended (its budget, early stopping or "Finish and test") and its test
    /// score is in, or on its way; it trains no further.
    Finished,
    /// Stopped on a NaN loss or an error; the message says why.
    Stopped,
}

/// The parts of a [`Dashboard`] that change at different rates: the counters with every
/// message, the training-loss curves with every report (ten a second), the validation curves
/// with every validation point (five an epoch), the model's layout once per build. The reducer
/// says which parts an event changed, and the page re-runs only what reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parts(u8);

impl Parts {
    pub const NONE: Parts = Parts(0);
    /// The run's state, step, epoch, speed, status line and error.
    pub const RUN: Parts = Parts(1);
    /// What the worker said about the model it built (`info`).
    pub const MODEL: Parts = Parts(1 << 1);
    /// The smoothed training-loss curves.
    pub const LOSS: Parts = Parts(1 << 2);
    /// The validation curves (loss, and AUC or R²).
    pub const VALIDATION: Parts = Parts(1 << 3);
    /// The gate weights: the latest, their history and the per-row spread.
    pub const GATES: Parts = Parts(1 << 4);
    /// The task-gradient cosine.
    pub const CONFLICT: Parts = Parts(1 << 5);
    /// The test report.
    pub const TEST: Parts = Parts(1 << 6);
    /// How many parts there are.
    pub const COUNT: usize = 7;
    pub const ALL: Parts = Parts((1 << Self::COUNT) - 1);

    /// Whether every part of `other` is in `self`.
    pub fn contains(self, other: Parts) -> bool {
        self.0 & other.0 == other.0
    }

    /// Each single part, in order: the `i`-th is `1 << i`.
    pub fn each() -> impl Iterator<Item = Parts> {
        (0..Self::COUNT).map(|i| Parts(1 << i))
    }
}

impl BitOr for Parts {
    type Output = Parts;

    fn bitor(self, other: Parts) -> Parts {
        Parts(self.0 | other.0)
    }
}

impl BitOrAssign for Parts {
    fn bitor_assign(&mut self, other: Parts) {
        self.0 |= other.0;
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dashboard {
    pub session: u32,
    pub state: RunState,
    pub info: Option<ModelInfo>,
    pub step: u64,
    pub epoch: usize,
    pub epoch_progress: f64,
    pub samples_per_sec: f64,
    pub tasks: Vec<TaskCurves>,
    /// The latest mean weight per gate and expert.
    pub gates: Vec<Vec<f32>>,
    pub gate_history: Vec<GateHistory>,
    /// Per validation point, each gate's per-row spread ([`crate::protocol::EvalPoint::gate_spread`]).
    pub gate_spread: Vec<(f64, Vec<f32>)>,
    /// Per validation point of a run over several seeds, each gate's shared share over them
    /// ([`crate::protocol::EvalPoint::shared_share_seeds`]).
    pub shared_share_seeds: Vec<(f64, Vec<Option<[f32; 2]>>)>,
    /// The task-gradient cosine over the shared parameters, by step.
    pub grad_cosine: Curve,
    /// The CVR head's validation AUC over every impression, by step (the funnel's CVR models;
    /// empty for the others).
    pub cvr_auc: Curve,
    /// With several seeds side by side, each one's `cvr_auc` (which is then their mean).
    pub cvr_replicas: Vec<Curve>,
    pub test: Option<TestReport>,
    /// What the worker is doing or why it stopped.
    pub status: String,
    /// The latest problem, shown until the next build.
    pub error: Option<String>,
    smoothers: Vec<Smoother>,
    /// Per task, each replica's smoother.
    replica_smoothers: Vec<Vec<Smoother>>,
    /// Play was sent with the build (a seed sweep): the model trains as soon as it is built.
    play_on_build: bool,
}

impl Dashboard {
    /// Starts a new session: everything of the previous run is cleared.
    pub fn begin(&mut self, session: u32) {
        *self = Dashboard {
            session,
            status: "Building the model…".into(),
            ..Dashboard::default()
        };
    }

    /// Applies one event from the worker, and says which parts it changed; `None` for an event
    /// of another session (ignored) or about the worker rather than the run.
    pub fn apply(&mut self, event: &Event) -> Option<Parts> {
        let session = match event {
            Event::Status { session, .. }
            | Event::Built { session, .. }
            | Event::Progress { session, .. }
            | Event::Validation { session, .. }
            | Event::Test { session, .. }
            | Event::Stopped { session, .. }
            | Event::Error { session, .. }
            | Event::ModelExported { session, .. } => *session,
            // The paper figure's workers are the figure's own.
            Event::Ready { .. }
            | Event::DeviceFailed { .. }
            | Event::FigureProgress { .. }
            | Event::FigureCells { .. } => return None,
        };
        if session != self.session {
            return None;
        }
        let changed = match event {
            Event::Status { message, .. } => {
                self.status = message.clone();
                Parts::RUN
            }
            Event::Built { info, .. } => {
                let replicas = if info.seeds.len() > 1 {
                    info.seeds.len()
                } else {
                    0
                };
                self.tasks = info
                    .tasks
                    .iter()
                    .map(|name| TaskCurves {
                        name: name.clone(),
                        replicas: vec![ReplicaCurves::default(); replicas],
                        ..TaskCurves::default()
                    })
                    .collect();
                self.replica_smoothers = info
                    .tasks
                    .iter()
                    .map(|_| vec![Smoother::new(LOSS_SMOOTHING_STEPS); replicas])
                    .collect();
                self.smoothers = info
                    .tasks
                    .iter()
                    .map(|_| Smoother::new(LOSS_SMOOTHING_STEPS))
                    .collect();
                // Nothing made up: the gates show "–" until the untrained model's own weights
                // arrive with its step-0 validation point.
                self.gates = Vec::new();
                self.gate_history = vec![GateHistory::default(); info.gates.len()];
                self.cvr_replicas = vec![Curve::new(); replicas];
                self.info = Some(info.clone());
                if self.play_on_build {
                    self.state = RunState::Running;
                    self.status = format!("Training {} parameters…", info.params);
                } else {
                    self.state = RunState::Ready;
                    self.status = format!("Ready: {} parameters. Press Play or Step.", info.params);
                }
                self.error = None;
                Parts::ALL
            }
            Event::Progress { progress, .. } => {
                let step = progress.step as f64;
                // The steps this report covers, which weigh its losses in the smoothing.
                let covered = progress.step.saturating_sub(self.step) as f64;
                self.step = progress.step;
                self.epoch = progress.epoch;
                self.epoch_progress = progress.epoch_progress;
                self.samples_per_sec = progress.samples_per_sec;
                for &(at, c) in &progress.grad_cosine {
                    push_bounded(&mut self.grad_cosine, (at as f64, c as f64), MAX_POINTS);
                }
                for ((curves, smoother), &loss) in self
                    .tasks
                    .iter_mut()
                    .zip(&mut self.smoothers)
                    .zip(&progress.losses)
                {
                    let v = smoother.push(loss as f64, covered);
                    push_bounded(&mut curves.train_loss, (step, v), MAX_POINTS);
                }
                for (r, losses) in progress.replica_losses.iter().enumerate() {
                    for (t, &loss) in losses.iter().enumerate() {
                        let (Some(curves), Some(smoother)) = (
                            self.tasks.get_mut(t).and_then(|c| c.replicas.get_mut(r)),
                            self.replica_smoothers.get_mut(t).and_then(|s| s.get_mut(r)),
                        ) else {
                            continue;
                        };
                        let v = smoother.push(loss as f64, covered);
                        push_bounded(&mut curves.train_loss, (step, v), MAX_POINTS);
                    }
                }
                let mut changed = Parts::RUN | Parts::LOSS;
                if !progress.grad_cosine.is_empty() {
                    changed |= Parts::CONFLICT;
                }
                if self.take_gates(step, &progress.gates) {
                    changed |= Parts::GATES;
                }
                // A Step before any Play: the model is trained, no longer just built.
                if matches!(self.state, RunState::Ready) {
                    self.state = RunState::Paused;
                    self.status = format!(
                        "Paused at step {}: Play trains on, Step one batch more.",
                        progress.step
                    );
                }
                changed
            }
            Event::Validation { point, .. } => {
                let mut changed = Parts::VALIDATION;
                if !point.gate_spread.is_empty() {
                    push_bounded(
                        &mut self.gate_spread,
                        (point.step as f64, point.gate_spread.clone()),
                        MAX_POINTS,
                    );
                    changed |= Parts::GATES;
                }
                if !point.shared_share_seeds.is_empty() {
                    push_bounded(
                        &mut self.shared_share_seeds,
                        (point.step as f64, point.shared_share_seeds.clone()),
                        MAX_POINTS,
                    );
                    changed |= Parts::GATES;
                }
                // Before the first training report, the validation split's gate weights are the
                // only ones there are (the untrained model's).
                if self.gate_history.iter().all(|h| h.points.is_empty())
                    && !point.gates.is_empty()
                    && self.take_gates(point.step as f64, &point.gates)
                {
                    changed |= Parts::GATES;
                }
                for (curves, score) in self.tasks.iter_mut().zip(&point.tasks) {
                    let step = point.step as f64;
                    push_bounded(&mut curves.valid_loss, (step, score.loss), MAX_POINTS);
                    // AUC, or R² for a regression task.
                    if let Some(v) = score.headline() {
                        push_bounded(&mut curves.valid_auc, (step, v), MAX_POINTS);
                    }
                }
                if let Some(auc) = point.cvr_all.as_ref().and_then(|c| c.auc) {
                    push_bounded(&mut self.cvr_auc, (point.step as f64, auc), MAX_POINTS);
                }
                for (curve, score) in self.cvr_replicas.iter_mut().zip(&point.replica_cvr_all) {
                    if let Some(auc) = score.auc {
                        push_bounded(curve, (point.step as f64, auc), MAX_POINTS);
                    }
                }
                for (r, scores) in point.replicas.iter().enumerate() {
                    for (t, score) in scores.iter().enumerate() {
                        let Some(curves) =
                            self.tasks.get_mut(t).and_then(|c| c.replicas.get_mut(r))
                        else {
                            continue;
                        };
                        let step = point.step as f64;
                        push_bounded(&mut curves.valid_loss, (step, score.loss), MAX_POINTS);
                        if let Some(v) = score.headline() {
                            push_bounded(&mut curves.valid_auc, (step, v), MAX_POINTS);
                        }
                    }
                }
                changed
            }
            Event::Test { report, .. } => {
                self.test = Some(report.clone());
                Parts::TEST
            }
            Event::Stopped { reason, .. } => {
                self.state = match reason {
                    StopReason::Paused => RunState::Paused,
                    StopReason::Finished { .. }
                    | StopReason::EarlyStopped { .. }
                    | StopReason::Ended => RunState::Finished,
                    StopReason::NonFinite { .. } => RunState::Stopped,
                };
                self.status = reason.describe();
                if let StopReason::NonFinite { message } = reason {
                    self.error = Some(message.clone());
                }
                Parts::RUN
            }
            Event::Error { message, .. } => {
                self.error = Some(message.clone());
                if matches!(self.state, RunState::Running | RunState::Loading) {
                    self.state = if self.info.is_some() {
                        RunState::Stopped
                    } else {
                        RunState::Loading
                    };
                }
                Parts::RUN
            }
            Event::ModelExported { step, bytes, .. } => {
                self.status = format!(
                    "Model file saved at step {step} ({:.0} KB).",
                    bytes.len() as f64 / 1024.0
                );
                Parts::RUN
            }
            Event::Ready { .. }
            | Event::DeviceFailed { .. }
            | Event::FigureProgress { .. }
            | Event::FigureCells { .. } => Parts::NONE,
        };
        Some(changed)
    }

    /// Takes a report's gate weights at `step`, and says whether there were any to take.
    /// Weights are joined to the layout by position, so a report that does not match it is
    /// refused out loud (in the error, a [`Parts::RUN`] change) rather than drawn against the
    /// wrong experts.
    fn take_gates(&mut self, step: f64, gates: &[Vec<f32>]) -> bool {
        let layout = self.info.as_ref().map(|i| &i.gates.gates);
        let fits = layout.is_some_and(|l| {
            l.len() == gates.len() && l.iter().zip(gates).all(|(g, w)| g.experts.len() == w.len())
        });
        if fits {
            self.gates = gates.to_vec();
            for (h, g) in self.gate_history.iter_mut().zip(gates) {
                push_bounded(&mut h.points, (step, g.clone()), MAX_POINTS);
            }
            return !gates.is_empty();
        }
        if !gates.is_empty() || !self.gates.is_empty() {
            self.error = Some(format!(
                "the worker reported {} gate(s) that do not match this model's layout; \
                 the gate views show the last matching report",
                gates.len()
            ));
        }
        false
    }

    /// The gate weights shown at step `at` of a replay: each gate's latest report at or
    /// before it (none before the first); the live weights when `at` is `None`.
    pub fn gates_at(&self, at: Option<f64>) -> Vec<Vec<f32>> {
        match at {
            None => self.gates.clone(),
            Some(at) => {
                let at_step: Option<Vec<Vec<f32>>> = self
                    .gate_history
                    .iter()
                    .map(|h| {
                        h.points
                            .iter()
                            .rev()
                            .find(|p| p.0 <= at)
                            .map(|p| p.1.clone())
                    })
                    .collect();
                at_step.unwrap_or_default()
            }
        }
    }

    /// Each gate's per-row spread at the latest validation point at or before `at` (the
    /// latest of all when `at` is `None`); empty before the first.
    pub fn spread_at(&self, at: Option<f64>) -> Vec<f32> {
        at_or_before(&self.gate_spread, at)
    }

    /// Each gate's shared share over the seeds (mean, sd) at the latest validation point at or
    /// before `at` (the latest of all when `at` is `None`); empty for a run of one seed.
    pub fn shared_share_at(&self, at: Option<f64>) -> Vec<Option<[f32; 2]>> {
        at_or_before(&self.shared_share_seeds, at)
    }

    /// The page sent Play right behind the build: the run trains once built, and says so from
    /// the start (not "Ready … Press Play" while its steps go by).
    pub fn play_when_built(&mut self) {
        self.play_on_build = true;
    }

    /// Whether the model being built is to train once built ([`Dashboard::play_when_built`]).
    pub fn plays_when_built(&self) -> bool {
        self.play_on_build
    }

    /// The page asked the worker to train.
    pub fn playing(&mut self) {
        if self.info.is_some() && !matches!(self.state, RunState::Finished | RunState::Loading) {
            self.state = RunState::Running;
            self.status = "Training…".into();
            self.error = None;
        }
    }

    /// A new epoch budget. A run that has ended stays ended, since its test score is final:
    /// the budget is the next run's.
    pub fn set_epoch_budget(&mut self, epochs: usize) {
        if self.state == RunState::Finished {
            self.status = format!(
                "This run has ended and its test score is final: Reset trains a new one for \
                 {epochs} epochs."
            );
        }
    }

    pub fn is_running(&self) -> bool {
        self.state == RunState::Running
    }

    /// Whether Play, Step and "Finish and test" have a model to train: one is built, and its run
    /// has not ended (the run bar's buttons and the keyboard ask the same).
    pub fn can_train(&self) -> bool {
        self.info.is_some() && !matches!(self.state, RunState::Finished | RunState::Loading)
    }

    /// Test scores by task name, for the metrics table.
    pub fn test_row(&self, task: &str) -> Option<(Option<f64>, Option<f64>)> {
        let report = self.test.as_ref()?;
        report
            .tasks
            .iter()
            .chain(&report.cvr)
            .find(|t| t.name == task)
            .map(|t| (t.headline(), t.logloss.or(t.r2.map(|_| t.loss))))
    }

    /// The latest validation AUC per task.
    pub fn latest_auc(&self) -> Vec<Option<f64>> {
        self.tasks
            .iter()
            .map(|t| t.valid_auc.last().map(|p| p.1))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::experiment::{ModelKind, ModelSettings};
    use crate::protocol::{EvalPoint, GateLayout, Progress, TaskScore};

    fn info() -> ModelInfo {
        let two_experts = ModelSettings {
            experts: 2,
            ..ModelSettings::default()
        };
        ModelInfo {
            params: 100,
            tasks: vec!["income".into(), "never_married".into()],
            gates: GateLayout::new(ModelKind::Mmoe, &two_experts, 2),
            input_fields: vec!["workclass".into(), "relationship".into(), "age".into()],
            categorical_fields: 2,
            proxies: vec![crate::protocol::Proxy {
                field: "relationship".into(),
                task: "never_married".into(),
                auc: 0.91,
            }],
            label_correlation: None,
            data_picture: None,
            grad_cosine_every: Some(25),
            seeds: vec![1],
        }
    }

    /// A dashboard of session 1 whose model is built.
    fn built() -> Dashboard {
        let mut d = Dashboard::default();
        d.begin(1);
        d.apply(&Event::Built {
            session: 1,
            info: info(),
        });
        d
    }

    fn progress(step: u64, loss: f32) -> Event {
        Event::Progress {
            session: 1,
            progress: Progress {
                step,
                epoch: 0,
                epoch_progress: 0.5,
                losses: vec![loss, loss],
                gates: vec![vec![0.7, 0.3], vec![0.2, 0.8]],
                grad_cosine: if step.is_multiple_of(50) {
                    vec![(step - 5, 0.5)]
                } else {
                    vec![]
                },
                samples_per_sec: 1000.0,
                replica_losses: Vec::new(),
            },
        }
    }

    fn cvr_score(auc: f64) -> crate::protocol::TaskScore {
        crate::protocol::TaskScore {
            name: "cvr_all".into(),
            loss: 0.4,
            auc: Some(auc),
            logloss: Some(0.4),
            r2: None,
            mse_true: Some(0.01),
        }
    }

    fn cvr_point(step: u64, auc: Option<f64>, each: &[f64]) -> Event {
        Event::Validation {
            session: 1,
            point: EvalPoint {
                step,
                tasks: Vec::new(),
                gates: Vec::new(),
                gate_spread: Vec::new(),
                shared_share_seeds: Vec::new(),
                replicas: Vec::new(),
                cvr_all: auc.map(cvr_score),
                replica_cvr_all: each.iter().copied().map(cvr_score).collect(),
            },
        }
    }

    #[test]
    fn the_cvr_heads_validation_auc_is_a_curve_of_its_own() {
        let mut d = built();
        d.apply(&cvr_point(10, Some(0.61), &[]));
        d.apply(&cvr_point(20, None, &[]));
        d.apply(&cvr_point(30, Some(0.66), &[]));
        assert_eq!(d.cvr_auc, vec![(10.0, 0.61), (30.0, 0.66)]);
        assert!(d.cvr_replicas.is_empty(), "one model has no replicas");
    }

    /// Two seeds of a CVR model side by side, with two validation points.
    fn two_seeds_with_cvr() -> Dashboard {
        let mut d = Dashboard::default();
        d.begin(1);
        d.apply(&Event::Built {
            session: 1,
            info: ModelInfo {
                seeds: vec![1, 2],
                ..info()
            },
        });
        d.apply(&cvr_point(10, Some(0.6), &[0.5, 0.7]));
        d.apply(&cvr_point(30, Some(0.65), &[0.6, 0.7]));
        d
    }

    #[test]
    fn each_seeds_cvr_auc_is_a_curve_beside_their_mean() {
        let d = two_seeds_with_cvr();
        assert_eq!(d.cvr_auc, vec![(10.0, 0.6), (30.0, 0.65)]);
        assert_eq!(
            d.cvr_replicas,
            vec![
                vec![(10.0, 0.5), (30.0, 0.6)],
                vec![(10.0, 0.7), (30.0, 0.7)]
            ]
        );
    }

    /// Each seed's saved run keeps its own CVR curve, and a one-seed run the dashboard's.
    #[test]
    fn each_seeds_saved_run_keeps_its_cvr_curve() {
        use crate::page::history::RunRecord;
        use crate::protocol::ReplicaTest;
        use crate::protocol::experiment::{DataKind, Experiment};
        let e = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        let test = |replicas: Vec<ReplicaTest>| TestReport {
            step: 30,
            trained_steps: 30,
            valid: Vec::new(),
            tasks: Vec::new(),
            cvr: None,
            cvr_all: Some(cvr_score(0.65)),
            replicas,
        };
        let seed = |seed: u64, auc: f64| ReplicaTest {
            seed,
            step: 30,
            valid: Vec::new(),
            tasks: Vec::new(),
            cvr: None,
            cvr_all: Some(cvr_score(auc)),
        };
        let mut d = two_seeds_with_cvr();
        d.test = Some(test(vec![seed(1, 0.6), seed(2, 0.7)]));
        let runs = RunRecord::from_dashboard("r", None, &d, &e, "cpu", 0.0);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].valid_cvr_auc, vec![(10.0, 0.5), (30.0, 0.6)]);
        assert_eq!(runs[1].valid_cvr_auc, vec![(10.0, 0.7), (30.0, 0.7)]);

        let mut one = built();
        one.apply(&cvr_point(10, Some(0.6), &[]));
        one.test = Some(test(Vec::new()));
        let runs = RunRecord::from_dashboard("r", None, &one, &e, "cpu", 0.0);
        assert_eq!(runs[0].valid_cvr_auc, vec![(10.0, 0.6)]);
    }

    #[test]
    fn a_step_before_play_says_the_model_is_paused_not_ready() {
        let mut d = built();
        assert!(d.status.starts_with("Ready"), "{}", d.status);
        d.apply(&progress(1, 0.5));
        assert_eq!(d.state, RunState::Paused);
        assert_eq!(
            d.status,
            "Paused at step 1: Play trains on, Step one batch more."
        );
    }

    #[test]
    fn a_build_sent_with_play_trains_from_the_start() {
        // A seed sweep sends Build and Play together: no "Ready … Press Play" while it trains.
        let mut d = Dashboard::default();
        d.begin(1);
        d.play_when_built();
        d.apply(&Event::Built {
            session: 1,
            info: info(),
        });
        assert_eq!(d.state, RunState::Running);
        assert!(d.is_running(), "the button offers Pause");
        assert!(d.status.starts_with("Training"), "{}", d.status);
        d.apply(&progress(5, 0.5));
        assert_eq!(d.state, RunState::Running, "a report keeps it running");
        // The next session waits for Play again.
        d.begin(2);
        d.apply(&Event::Built {
            session: 2,
            info: info(),
        });
        assert_eq!(d.state, RunState::Ready);
    }

    #[test]
    fn dashboard_ignores_stale_sessions() {
        let mut d = Dashboard::default();
        d.begin(2);
        assert!(
            d.apply(&Event::Built {
                session: 1,
                info: info()
            })
            .is_none()
        );
        assert!(d.info.is_none());
        assert_eq!(
            d.apply(&Event::Built {
                session: 2,
                info: info()
            }),
            Some(Parts::ALL)
        );
        assert_eq!(d.state, RunState::Ready);
        assert!(
            d.gates.is_empty(),
            "no made-up weights before any are measured"
        );
        // The untrained model's own weights arrive with its step-0 validation point.
        let point = |step: u64, gates: Vec<Vec<f32>>| Event::Validation {
            session: 2,
            point: crate::protocol::EvalPoint {
                step,
                tasks: Vec::new(),
                gates,
                gate_spread: Vec::new(),
                shared_share_seeds: Vec::new(),
                replicas: Vec::new(),
                cvr_all: None,
                replica_cvr_all: Vec::new(),
            },
        };
        d.apply(&point(0, vec![vec![0.6, 0.4], vec![0.45, 0.55]]));
        assert_eq!(d.gates, vec![vec![0.6, 0.4], vec![0.45, 0.55]]);
        assert_eq!(d.gate_history[0].points, vec![(0.0, vec![0.6, 0.4])]);
        // Once training reports, those are the gates; later validation points do not move them.
        d.apply(&Event::Progress {
            session: 2,
            progress: crate::protocol::Progress {
                step: 5,
                epoch: 0,
                epoch_progress: 0.1,
                losses: vec![0.5, 0.5],
                gates: vec![vec![0.7, 0.3], vec![0.2, 0.8]],
                grad_cosine: Vec::new(),
                samples_per_sec: 1.0,
                replica_losses: Vec::new(),
            },
        });
        d.apply(&point(10, vec![vec![0.1, 0.9], vec![0.1, 0.9]]));
        assert_eq!(d.gates, vec![vec![0.7, 0.3], vec![0.2, 0.8]]);
        // The per-row spread comes with every validation point, replayed by step.
        assert!(d.spread_at(None).is_empty());
        // So does the shared share over the seeds, in a run over several.
        assert!(d.shared_share_at(None).is_empty());
        for (step, h) in [(20, 0.9), (30, 0.6)] {
            let changed = d.apply(&Event::Validation {
                session: 2,
                point: crate::protocol::EvalPoint {
                    step,
                    tasks: Vec::new(),
                    gates: Vec::new(),
                    gate_spread: vec![h, h],
                    shared_share_seeds: vec![Some([h, 0.05]), None],
                    replicas: Vec::new(),
                    cvr_all: None,
                    replica_cvr_all: Vec::new(),
                },
            });
            assert_eq!(changed, Some(Parts::VALIDATION | Parts::GATES));
        }
        assert_eq!(d.spread_at(None), vec![0.6, 0.6]);
        assert_eq!(d.spread_at(Some(25.0)), vec![0.9, 0.9]);
        assert!(d.spread_at(Some(5.0)).is_empty());
        assert_eq!(d.shared_share_at(None), vec![Some([0.6, 0.05]), None]);
        assert_eq!(d.shared_share_at(Some(25.0)), vec![Some([0.9, 0.05]), None]);
        assert!(d.shared_share_at(Some(5.0)).is_empty());
    }

    /// What the page redraws after each event: only the parts it changed.
    #[test]
    fn dashboard_says_which_parts_an_event_changed() {
        let mut d = built();
        // A training report: the counters, the loss, and a gated model's gates; the validation
        // curves, the test scores and the model's layout are as they were.
        let report = d.apply(&progress(10, 0.5)).expect("taken");
        assert_eq!(report, Parts::RUN | Parts::LOSS | Parts::GATES);
        for untouched in [
            Parts::VALIDATION,
            Parts::TEST,
            Parts::MODEL,
            Parts::CONFLICT,
        ] {
            assert!(!report.contains(untouched), "{untouched:?}");
        }
        // The gradient cosine comes with some reports only (here at step 50).
        let with_cosine = d.apply(&progress(50, 0.5)).expect("taken");
        assert!(with_cosine.contains(Parts::CONFLICT));
        let point = |gate_spread: Vec<f32>| Event::Validation {
            session: 1,
            point: EvalPoint {
                step: 50,
                tasks: Vec::new(),
                gates: Vec::new(),
                gate_spread,
                shared_share_seeds: Vec::new(),
                replicas: Vec::new(),
                cvr_all: None,
                replica_cvr_all: Vec::new(),
            },
        };
        assert_eq!(d.apply(&point(Vec::new())), Some(Parts::VALIDATION));
        assert_eq!(
            d.apply(&point(vec![0.9, 0.8])),
            Some(Parts::VALIDATION | Parts::GATES),
            "the per-row spread is a gate view's"
        );
        let status = Event::Status {
            session: 1,
            message: "x".into(),
        };
        assert_eq!(d.apply(&status), Some(Parts::RUN));
        let ready = Event::Ready {
            backend: crate::protocol::Backend::Cpu,
        };
        assert_eq!(d.apply(&ready), None, "about the worker, not the run");
        let stale = Event::Status {
            session: 9,
            message: "x".into(),
        };
        assert_eq!(d.apply(&stale), None);
        assert_eq!(Parts::each().count(), Parts::COUNT);
        assert_eq!(
            Parts::each().fold(Parts::NONE, |all, p| all | p),
            Parts::ALL
        );
    }

    #[test]
    fn dashboard_refuses_gate_weights_that_do_not_fit_the_layout() {
        let mut d = built();
        d.apply(&progress(10, 0.5));
        let good = d.gates.clone();
        let Event::Progress { mut progress, .. } = progress(20, 0.5) else {
            unreachable!()
        };
        progress.gates[1].push(0.0);
        d.apply(&Event::Progress {
            session: 1,
            progress,
        });
        assert_eq!(d.gates, good, "kept the last matching weights");
        assert_eq!(d.gate_history[1].points.len(), 1);
        assert!(d.error.as_deref().is_some_and(|e| e.contains("layout")));
    }

    #[test]
    fn dashboard_records_curves_gates_and_stops() {
        let mut d = built();
        d.playing();
        assert!(d.is_running());
        for s in 1..=10 {
            d.apply(&progress(s * 10, 0.5));
        }
        assert_eq!(d.step, 100);
        assert_eq!(d.tasks[0].train_loss.len(), 10);
        assert!((d.tasks[0].train_loss[9].1 - 0.5).abs() < 1e-6);
        assert_eq!(d.gates[1], vec![0.2, 0.8]);
        assert_eq!(d.gate_history[0].points.len(), 10);
        // The gradient cosine comes with some reports only: steps 50 and 100.
        assert_eq!(d.grad_cosine, vec![(45.0, 0.5), (95.0, 0.5)]);
        d.apply(&Event::Validation {
            session: 1,
            point: EvalPoint {
                step: 100,
                tasks: vec![
                    TaskScore {
                        name: "income".into(),
                        loss: 0.4,
                        auc: Some(0.8),
                        logloss: Some(0.4),
                        r2: None,
                        mse_true: None,
                    },
                    TaskScore {
                        name: "never_married".into(),
                        loss: 0.3,
                        auc: Some(0.9),
                        logloss: Some(0.3),
                        r2: None,
                        mse_true: None,
                    },
                ],
                gates: Vec::new(),
                gate_spread: Vec::new(),
                shared_share_seeds: Vec::new(),
                replicas: Vec::new(),
                cvr_all: None,
                replica_cvr_all: Vec::new(),
            },
        });
        assert_eq!(d.latest_auc(), vec![Some(0.8), Some(0.9)]);
        d.apply(&Event::Stopped {
            session: 1,
            reason: StopReason::NonFinite {
                message: "loss of income is NaN".into(),
            },
        });
        assert_eq!(d.state, RunState::Stopped);
        assert!(d.error.as_deref().is_some_and(|m| m.contains("NaN")));
        assert!(d.status.starts_with("Training stopped"));
    }

    #[test]
    fn dashboard_replays_curves_and_gates_at_a_step() {
        let mut d = built();
        for (step, w) in [(10, 0.6), (20, 0.7), (30, 0.8)] {
            let Event::Progress { mut progress, .. } = progress(step, 0.5) else {
                unreachable!()
            };
            progress.gates = vec![vec![w, 1.0 - w], vec![0.5, 0.5]];
            d.apply(&Event::Progress {
                session: 1,
                progress,
            });
        }
        let loss = d.tasks[0].train_loss.clone();
        assert_eq!(upto(&loss, Some(20.0)).len(), 2);
        assert_eq!(upto(&loss, Some(5.0)).len(), 0);
        assert_eq!(upto(&loss, None), loss);
        assert_eq!(d.gates_at(None), d.gates);
        assert_eq!(
            d.gates_at(Some(25.0)).len(),
            2,
            "every gate's report at step 20"
        );
        assert_eq!(
            d.gates_at(Some(25.0))[0][0],
            0.7,
            "the report at step 20, not 30"
        );
        assert_eq!(d.gates_at(Some(30.0))[0][0], 0.8);
        assert!(
            d.gates_at(Some(5.0)).is_empty(),
            "nothing measured before step 10"
        );
    }

    #[test]
    fn dashboard_a_run_that_ended_stays_ended() {
        for reason in [
            StopReason::Finished { epochs: 1 },
            StopReason::EarlyStopped {
                patience: 2,
                best_step: 40,
            },
            StopReason::Ended,
        ] {
            let mut d = built();
            d.apply(&Event::Stopped { session: 1, reason });
            assert_eq!(d.state, RunState::Finished);
            d.playing();
            assert_eq!(d.state, RunState::Finished, "Play does not reopen it");
            d.set_epoch_budget(3);
            assert_eq!(d.state, RunState::Finished, "nor does a bigger budget");
            assert!(d.status.contains("Reset trains a new one for 3 epochs"));
        }
        let mut d = built();
        d.apply(&Event::Stopped {
            session: 1,
            reason: StopReason::Paused,
        });
        assert_eq!(d.state, RunState::Paused, "a pause does not end the run");
    }

    #[test]
    fn dashboard_begin_clears_the_previous_run() {
        let mut d = built();
        d.apply(&progress(10, 0.5));
        d.begin(2);
        assert_eq!((d.step, d.tasks.len(), d.info.is_none()), (0, 0, true));
        assert_eq!(d.state, RunState::Loading);
    }
}
