//! The MMoE paper's figure, rebuilt in the browser (the Paper figure tab): Shared-Bottom, OMoE
//! and MMoE (CGC and PLE when asked) on the correlated tasks at p = 1, 0.9, 0.5 and 0, each
//! over seeds 1 to N, trained and scored as `mtl experiment correlation --seeds N` does it. A
//! [`FigureJob`] is one model at one p, its seeds the replicas of one computation; the page
//! hands the jobs to its workers one at a time ([`FigureRun`]). Plain state, tested natively:
//! which worker trains which job, the cells as they come back, each point's mean with its 95%
//! interval, each model's paired difference from MMoE at each p, and the chart's layout.

use std::collections::VecDeque;

use mtl_stats::{MeanSd, Paired};

use crate::page::plot::{LinearScale, format_tick, nice_ticks};
use crate::protocol::experiment::ModelKind;
use crate::protocol::{FigureCell, FigureJob};

/// The task correlations of the figure, left to right (the CLI's default `--p`).
pub const FIGURE_PS: [f64; 4] = [1.0, 0.9, 0.5, 0.0];
/// Seeds per point unless the learner asks for more or fewer.
pub const DEFAULT_SEEDS: usize = 10;
/// Two seeds give an interval; one gives none.
pub const MIN_SEEDS: usize = 2;
pub const MAX_SEEDS: usize = 30;
/// The model every other is compared with, seed by seed (the CLI's pairs too).
pub const BASELINE: ModelKind = ModelKind::Mmoe;
/// The paper's three models, always in the figure.
pub const MODELS: [ModelKind; 3] = [ModelKind::SharedBottom, ModelKind::Omoe, ModelKind::Mmoe];
/// The models a learner may add.
pub const OPTIONAL_MODELS: [ModelKind; 2] = [ModelKind::Cgc, ModelKind::Ple];

/// What a figure trains: its models (in the vocabulary's order, the CLI's) and seeds per point.
#[derive(Debug, Clone, PartialEq)]
pub struct FigurePlan {
    pub models: Vec<ModelKind>,
    pub seeds: usize,
}

impl FigurePlan {
    /// The paper's models and any of `extra` (the optional ones; others are ignored), with
    /// `seeds` clamped to `MIN_SEEDS..=MAX_SEEDS`.
    pub fn new(extra: &[ModelKind], seeds: usize) -> Self {
        let models = ModelKind::ALL
            .into_iter()
            .filter(|m| MODELS.contains(m) || (OPTIONAL_MODELS.contains(m) && extra.contains(m)))
            .collect();
        Self {
            models,
            seeds: seeds.clamp(MIN_SEEDS, MAX_SEEDS),
        }
    }

    /// Seeds 1 to N, as the CLI's `--first-seed 1 --seeds N`.
    pub fn seed_list(&self) -> Vec<u64> {
        (1..=self.seeds as u64).collect()
    }

    /// One job per p and model, p by p, so the models' points at one p arrive together.
    pub fn jobs(&self) -> Vec<FigureJob> {
        FIGURE_PS
            .iter()
            .flat_map(|&p| {
                self.models.iter().map(move |&model| FigureJob {
                    model,
                    p,
                    seeds: self.seed_list(),
                })
            })
            .collect()
    }

    /// The CLI command that computes the same numbers.
    pub fn command(&self) -> String {
        let models: Vec<&str> = self.models.iter().map(|m| m.slug()).collect();
        format!(
            "mtl experiment correlation --seeds {} --models {}",
            self.seeds,
            models.join(",")
        )
    }
}

/// Where a figure stands.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureState {
    Running,
    Done,
    /// The learner stopped it.
    Stopped,
    Failed(String),
}

/// A job a worker is training, and how far it has come.
#[derive(Debug, Clone, PartialEq)]
struct Slot {
    job: FigureJob,
    done: usize,
    of: usize,
}

/// A figure in progress (or over): the jobs not yet handed out, what each worker trains, and
/// the cells so far.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRun {
    pub plan: FigurePlan,
    /// Where it trains, in words: "2 CPU workers".
    pub on: String,
    pending: VecDeque<FigureJob>,
    slots: Vec<Option<Slot>>,
    pub cells: Vec<FigureCell>,
    jobs: usize,
    jobs_done: usize,
    started_ms: f64,
    ended_ms: Option<f64>,
    pub state: FigureState,
}

impl FigureRun {
    pub fn new(plan: FigurePlan, workers: usize, on: impl Into<String>, now_ms: f64) -> Self {
        let pending: VecDeque<FigureJob> = plan.jobs().into();
        Self {
            jobs: pending.len(),
            pending,
            slots: vec![None; workers.max(1)],
            plan,
            on: on.into(),
            cells: Vec::new(),
            jobs_done: 0,
            started_ms: now_ms,
            ended_ms: None,
            state: FigureState::Running,
        }
    }

    pub fn is_running(&self) -> bool {
        self.state == FigureState::Running
    }

    /// The next job for `worker`, if it is idle and one is left; it is then the worker's.
    pub fn assign(&mut self, worker: usize) -> Option<FigureJob> {
        if !self.is_running() {
            return None;
        }
        let slot = self.slots.get_mut(worker)?;
        if slot.is_some() {
            return None;
        }
        let job = self.pending.pop_front()?;
        *slot = Some(Slot {
            job: job.clone(),
            done: 0,
            of: 0,
        });
        Some(job)
    }

    /// `worker` has trained `done` of its job's `of` steps.
    pub fn on_progress(&mut self, worker: usize, done: usize, of: usize) {
        if let Some(Some(slot)) = self.slots.get_mut(worker) {
            slot.done = done.min(of);
            slot.of = of;
        }
    }

    /// `worker`'s job is done. Cells that are not its job's (another model, p or seeds) are
    /// refused as a failure, as is a loss that is not finite; the figure is over once every
    /// job's cells are in. The worker is idle again.
    pub fn on_cells(&mut self, worker: usize, cells: Vec<FigureCell>, now_ms: f64) {
        let Some(slot) = self.slots.get_mut(worker).and_then(Option::take) else {
            return;
        };
        if !self.is_running() {
            return;
        }
        let job = slot.job;
        let expected: Vec<(ModelKind, u64)> = job.seeds.iter().map(|&s| (job.model, s)).collect();
        let got: Vec<(ModelKind, u64)> = cells.iter().map(|c| (c.model, c.seed)).collect();
        if got != expected || cells.iter().any(|c| c.p != job.p) {
            return self.fail(
                format!(
                    "the worker answered another job than {} at p = {}",
                    job.model.label(),
                    job.p
                ),
                now_ms,
            );
        }
        if let Some(bad) = cells.iter().find(|c| !c.test_loss.is_finite()) {
            return self.fail(
                format!(
                    "{} at p = {}, seed {}, ended with a test loss that is not a number",
                    bad.model.label(),
                    bad.p,
                    bad.seed
                ),
                now_ms,
            );
        }
        self.cells.extend(cells);
        self.jobs_done += 1;
        if self.jobs_done == self.jobs {
            self.state = FigureState::Done;
            self.ended_ms = Some(now_ms);
        }
    }

    /// Ends the figure with `message` (a worker crashed or answered nonsense); what is drawn
    /// stays.
    pub fn fail(&mut self, message: impl Into<String>, now_ms: f64) {
        if self.is_running() {
            self.state = FigureState::Failed(message.into());
            self.ended_ms = Some(now_ms);
        }
    }

    /// The learner's Stop; what is drawn stays.
    pub fn stop(&mut self, now_ms: f64) {
        if self.is_running() {
            self.state = FigureState::Stopped;
            self.ended_ms = Some(now_ms);
        }
    }

    /// How much of the figure is trained, 0 to 1: finished jobs, and the steps of the ones in
    /// training.
    pub fn fraction(&self) -> f64 {
        let partial: f64 = self
            .slots
            .iter()
            .flatten()
            .filter(|s| s.of > 0)
            .map(|s| s.done as f64 / s.of as f64)
            .sum();
        ((self.jobs_done as f64 + partial) / self.jobs.max(1) as f64).min(1.0)
    }

    /// Seconds since it started (until it ended).
    pub fn elapsed_s(&self, now_ms: f64) -> f64 {
        (self.ended_ms.unwrap_or(now_ms) - self.started_ms).max(0.0) / 1000.0
    }

    /// The test losses of `model` at `p`, in seed order.
    fn losses(&self, model: ModelKind, p: f64) -> Vec<(u64, f64)> {
        let mut losses: Vec<(u64, f64)> = self
            .cells
            .iter()
            .filter(|c| c.model == model && c.p == p)
            .map(|c| (c.seed, c.test_loss))
            .collect();
        losses.sort_by_key(|&(seed, _)| seed);
        losses
    }

    /// Every point trained so far: a model's mean test loss at one p over its seeds, with the
    /// mean's 95% interval.
    pub fn points(&self) -> Vec<FigurePoint> {
        self.plan
            .models
            .iter()
            .flat_map(|&model| FIGURE_PS.iter().map(move |&p| (model, p)))
            .filter_map(|(model, p)| {
                let values: Vec<f64> = self.losses(model, p).iter().map(|l| l.1).collect();
                let summary = MeanSd::of(&values)?;
                Some(FigurePoint {
                    model,
                    p,
                    n: summary.n,
                    mean: summary.mean,
                    ci95: summary.ci95(),
                })
            })
            .collect()
    }

    /// Each model against MMoE at each p where both are trained: its test loss minus MMoE's,
    /// seed by seed, with the mean difference's 95% interval (the CLI's `pairs`).
    pub fn pairs(&self) -> Vec<FigurePair> {
        let mut pairs = Vec::new();
        for &model in self.plan.models.iter().filter(|&&m| m != BASELINE) {
            for p in FIGURE_PS {
                if let Some(paired) = self.paired((model, p), (BASELINE, p)) {
                    pairs.push(FigurePair { model, p, paired });
                }
            }
        }
        pairs
    }

    /// Each model at each p below 1 against itself at p = 1, seed by seed: how much its loss
    /// grows as the tasks diverge (the CLI's `delta_from_p1`; the paper's claim is that MMoE's
    /// grows least).
    pub fn changes_from_p1(&self) -> Vec<FigurePair> {
        let mut pairs = Vec::new();
        for &model in &self.plan.models {
            for p in FIGURE_PS.into_iter().filter(|&p| p != 1.0) {
                if let Some(paired) = self.paired((model, p), (model, 1.0)) {
                    pairs.push(FigurePair { model, p, paired });
                }
            }
        }
        pairs
    }

    /// `a − b` over the seeds both have.
    fn paired(&self, a: (ModelKind, f64), b: (ModelKind, f64)) -> Option<Paired> {
        let base = self.losses(b.0, b.1);
        let (x, y): (Vec<f64>, Vec<f64>) = self
            .losses(a.0, a.1)
            .iter()
            .filter_map(|&(seed, v)| {
                let other = base.iter().find(|&&(s, _)| s == seed)?;
                Some((v, other.1))
            })
            .unzip();
        Paired::of(&x, &y)
    }

    /// Every cell so far, one row per seed, as the CLI prints them: `model,p,seed,test_loss`.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("model,p,seed,test_loss\n");
        for c in &self.cells {
            csv += &format!("{},{},{},{}\n", c.model.slug(), c.p, c.seed, c.test_loss);
        }
        csv
    }

    /// The figure's status in a sentence.
    pub fn status(&self, now_ms: f64) -> String {
        let seconds = self.elapsed_s(now_ms);
        let points = format!(
            "{} of {} points ({} models × {} values of p, {} seeds each)",
            self.jobs_done,
            self.jobs,
            self.plan.models.len(),
            FIGURE_PS.len(),
            self.plan.seeds
        );
        match &self.state {
            FigureState::Running => {
                format!("Training on {}: {points} after {seconds:.0} s.", self.on)
            }
            FigureState::Done => format!(
                "Done: {} points of {} seeds each in {seconds:.1} s on {}.",
                self.jobs, self.plan.seeds, self.on
            ),
            FigureState::Stopped => {
                format!("Stopped after {seconds:.0} s with {points}; the points drawn are those.")
            }
            FigureState::Failed(why) => {
                format!("Stopped after {seconds:.0} s with {points}: {why}.")
            }
        }
    }
}

/// One point of the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct FigurePoint {
    pub model: ModelKind,
    pub p: f64,
    /// Seeds.
    pub n: usize,
    pub mean: f64,
    /// The mean's 95% t-interval; `None` for one seed.
    pub ci95: Option<[f64; 2]>,
}

/// One model at one p against a reference (MMoE at that p, or the model itself at p = 1),
/// seed by seed.
#[derive(Debug, Clone, PartialEq)]
pub struct FigurePair {
    pub model: ModelKind,
    pub p: f64,
    pub paired: Paired,
}

/// The chart's size (view-box units).
pub const CHART_W: f64 = 600.0;
pub const CHART_H: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 44.0;

/// The chart laid out: p as categories left to right (1 to 0, as the CLI's SVG), each model a
/// few units aside so their intervals do not hide each other; a band per model joins its
/// points' intervals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FigureGeometry {
    /// Each p's label and x.
    pub x_ticks: Vec<(f64, String)>,
    pub y_ticks: Vec<(f64, String)>,
    pub models: Vec<ModelMarks>,
    /// The x-axis's ends and the plot's bottom and top.
    pub frame: (f64, f64, f64, f64),
    /// Whether an interval reaches past the chart's bottom (0) or top, where it is cut.
    pub cut: bool,
}

/// One model's marks: its line, its band, and each point with its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMarks {
    pub model: ModelKind,
    /// The palette index: the model's place in the plan (the CLI's colours).
    pub style: usize,
    pub line: String,
    /// A closed polygon along the highs and back along the lows; empty without intervals.
    pub band: String,
    pub points: Vec<PointMark>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PointMark {
    pub p: f64,
    pub x: f64,
    pub y: f64,
    /// The interval's ends, in chart units (`y_high` above `y_low` on screen).
    pub y_low: f64,
    pub y_high: f64,
    pub point: FigurePoint,
}

/// Lays out `points` of `plan`'s models.
pub fn geometry(plan: &FigurePlan, points: &[FigurePoint]) -> FigureGeometry {
    let x_of = |p: f64, m: usize| {
        let i = FIGURE_PS.iter().position(|&q| q == p).unwrap_or(0) as f64;
        let nudge = (m as f64 - (plan.models.len() as f64 - 1.0) / 2.0) * 6.0;
        LEFT + (CHART_W - LEFT - RIGHT) * (i + 0.5) / FIGURE_PS.len() as f64 + nudge
    };
    // From 0, as the CLI's figure: an MSE is never below it, and its distance from 0 is part
    // of the picture. Up to the highest interval, but no higher than three times the highest
    // mean: two seeds' intervals are wide enough to flatten every line (they are cut there).
    let highest = |f: &dyn Fn(&FigurePoint) -> f64| points.iter().map(f).fold(0.0f64, f64::max);
    let top_mean = highest(&|pt| pt.mean);
    let top_ci = highest(&|pt| pt.ci95.map_or(pt.mean, |ci| ci[1]));
    let top = if top_mean > 0.0 {
        top_ci.min(3.0 * top_mean) * 1.05
    } else {
        0.1
    };
    let bottom = 0.0;
    // Up to the next round tick, so the top is labelled.
    let step = nice_ticks(bottom, top, 5)
        .windows(2)
        .map(|w| w[1] - w[0])
        .next()
        .unwrap_or(top);
    let top = (top / step - 1e-9).ceil() * step;
    let ticks = nice_ticks(bottom, top, 5);
    let cut = points
        .iter()
        .any(|pt| pt.ci95.is_some_and(|[lo, hi]| lo < bottom || hi > top));
    let y = LinearScale::new((bottom, top), (CHART_H - BOTTOM, TOP));
    let models = plan
        .models
        .iter()
        .enumerate()
        .map(|(m, &model)| {
            let mut mine: Vec<&FigurePoint> = points.iter().filter(|p| p.model == model).collect();
            mine.sort_by(|a, b| b.p.total_cmp(&a.p));
            let marks: Vec<PointMark> = mine
                .iter()
                .map(|&pt| {
                    let [low, high] = pt.ci95.unwrap_or([pt.mean, pt.mean]);
                    let at = |v: f64| y.map(v.clamp(bottom, top));
                    PointMark {
                        p: pt.p,
                        x: x_of(pt.p, m),
                        y: at(pt.mean),
                        y_low: at(low),
                        y_high: at(high),
                        point: pt.clone(),
                    }
                })
                .collect();
            let join = |pts: Vec<(f64, f64)>| {
                pts.iter()
                    .map(|(x, y)| format!("{x:.1},{y:.1}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let line = join(marks.iter().map(|k| (k.x, k.y)).collect());
            let with_ci: Vec<&PointMark> =
                marks.iter().filter(|k| k.point.ci95.is_some()).collect();
            let band = if with_ci.is_empty() {
                String::new()
            } else {
                join(
                    with_ci
                        .iter()
                        .map(|k| (k.x, k.y_high))
                        .chain(with_ci.iter().rev().map(|k| (k.x, k.y_low)))
                        .collect(),
                )
            };
            ModelMarks {
                model,
                style: m,
                line,
                band,
                points: marks,
            }
        })
        .collect();
    FigureGeometry {
        x_ticks: FIGURE_PS
            .iter()
            .map(|&p| {
                (
                    x_of(p, (plan.models.len().max(1) - 1) / 2),
                    format!("p = {p}"),
                )
            })
            .collect(),
        y_ticks: ticks
            .iter()
            .map(|&t| (y.map(t), format_tick(t, &ticks)))
            .collect(),
        models,
        frame: (LEFT, CHART_W - RIGHT, CHART_H - BOTTOM, TOP),
        cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(model: ModelKind, p: f64, losses: &[f64]) -> Vec<FigureCell> {
        losses
            .iter()
            .enumerate()
            .map(|(i, &test_loss)| FigureCell {
                model,
                p,
                seed: i as u64 + 1,
                test_loss,
            })
            .collect()
    }

    #[test]
    fn figure_plan_is_the_papers_models_and_the_clis_seeds() {
        let plan = FigurePlan::new(&[ModelKind::Ple, ModelKind::Esmm], 50);
        assert_eq!(
            plan.models,
            [
                ModelKind::SharedBottom,
                ModelKind::Omoe,
                ModelKind::Mmoe,
                ModelKind::Ple
            ]
        );
        assert_eq!(plan.seeds, MAX_SEEDS);
        assert_eq!(FigurePlan::new(&[], 1).seeds, MIN_SEEDS);
        let plan = FigurePlan::new(&[], 3);
        let jobs = plan.jobs();
        assert_eq!(jobs.len(), 12);
        // p by p: the three models at p = 1 first.
        assert_eq!(
            jobs[..3].iter().map(|j| (j.model, j.p)).collect::<Vec<_>>(),
            [
                (ModelKind::SharedBottom, 1.0),
                (ModelKind::Omoe, 1.0),
                (ModelKind::Mmoe, 1.0)
            ]
        );
        assert!(jobs.iter().all(|j| j.seeds == [1, 2, 3]));
        assert_eq!(
            plan.command(),
            "mtl experiment correlation --seeds 3 --models shared_bottom,omoe,mmoe"
        );
    }

    #[test]
    fn figure_run_hands_out_each_job_once_and_ends_when_all_are_in() {
        let plan = FigurePlan::new(&[], 2);
        let mut run = FigureRun::new(plan.clone(), 2, "2 CPU workers", 0.0);
        let a = run.assign(0).expect("a job");
        assert_eq!(run.assign(0), None, "worker 0 is busy");
        let b = run.assign(1).expect("a second job");
        assert_ne!(a, b);
        run.on_progress(0, 750, 1500);
        assert!((run.fraction() - 0.5 / 12.0).abs() < 1e-12);
        run.on_cells(0, cells(a.model, a.p, &[0.04, 0.05]), 1000.0);
        assert!((run.fraction() - 1.0 / 12.0).abs() < 1e-12);
        assert_eq!(run.points().len(), 1);
        // Worker 1 still trains `b`; worker 0 takes the rest one at a time.
        let mut handed = vec![a, b.clone()];
        while let Some(job) = run.assign(0) {
            assert!(run.is_running());
            run.on_cells(0, cells(job.model, job.p, &[0.05, 0.06]), 2000.0);
            handed.push(job);
        }
        assert_eq!(handed.len(), 12);
        assert!(run.is_running(), "worker 1's job is not in yet");
        run.on_cells(1, cells(b.model, b.p, &[0.05, 0.06]), 3000.0);
        let mut seen: Vec<(ModelKind, u64)> = handed
            .iter()
            .map(|j| (j.model, (j.p * 10.0) as u64))
            .collect();
        seen.sort_by_key(|&(m, p)| (m.slug(), p));
        seen.dedup();
        assert_eq!(seen.len(), 12, "every job once");
        assert_eq!(run.state, FigureState::Done);
        assert_eq!(run.cells.len(), 24);
        let csv = run.to_csv();
        assert_eq!(csv.lines().count(), 25);
        assert!(csv.starts_with("model,p,seed,test_loss\n"), "{csv}");
        assert!(
            csv.contains(&format!("{},1,1,0.04\n", handed[0].model.slug())),
            "{csv}"
        );
        assert_eq!(run.fraction(), 1.0);
        assert_eq!(
            run.status(9999.0),
            "Done: 12 points of 2 seeds each in 3.0 s on 2 CPU workers."
        );
    }

    #[test]
    fn figure_run_refuses_cells_of_another_job_and_losses_that_are_not_numbers() {
        let mut run = FigureRun::new(FigurePlan::new(&[], 2), 1, "1 CPU worker", 0.0);
        let job = run.assign(0).expect("a job");
        run.on_cells(0, cells(ModelKind::Ple, job.p, &[0.1, 0.2]), 500.0);
        assert!(
            matches!(&run.state, FigureState::Failed(why) if why.contains("another job")),
            "{:?}",
            run.state
        );
        assert!(run.cells.is_empty());

        let mut run = FigureRun::new(FigurePlan::new(&[], 2), 1, "1 CPU worker", 0.0);
        let job = run.assign(0).expect("a job");
        run.on_cells(0, cells(job.model, job.p, &[0.1, f64::NAN]), 2000.0);
        assert_eq!(
            run.state,
            FigureState::Failed(
                "Shared-Bottom at p = 1, seed 2, ended with a test loss that is not a number"
                    .into()
            )
        );
        assert_eq!(run.assign(0), None, "a failed figure hands out nothing");
        assert!(
            run.status(9000.0)
                .starts_with("Stopped after 2 s with 0 of 12 points"),
            "{}",
            run.status(9000.0)
        );
    }

    #[test]
    fn figure_points_carry_the_mean_interval_and_pairs_match_seeds() {
        let mut run = FigureRun::new(FigurePlan::new(&[], 3), 1, "1 CPU worker", 0.0);
        // Shared-Bottom then OMoE then MMoE at p = 1.
        let losses = [[0.05, 0.07, 0.06], [0.9, 0.9, 0.9], [0.04, 0.05, 0.05]];
        for l in losses {
            let job = run.assign(0).expect("a job");
            run.on_cells(0, cells(job.model, job.p, &l), 100.0);
        }
        let points = run.points();
        assert_eq!(points.len(), 3);
        let sb = &points[0];
        assert_eq!((sb.model, sb.p, sb.n), (ModelKind::SharedBottom, 1.0, 3));
        assert!((sb.mean - 0.06).abs() < 1e-12);
        // 0.06 ± t(0.975, 2) · 0.01 / √3 = 0.06 ± 0.024841.
        let [low, high] = sb.ci95.expect("three seeds");
        assert!((low - 0.035159).abs() < 1e-5 && (high - 0.084841).abs() < 1e-5);
        let pairs = run.pairs();
        assert_eq!(
            pairs.len(),
            2,
            "Shared-Bottom and OMoE against MMoE at p = 1"
        );
        // Seed by seed: 0.01, 0.02, 0.01.
        assert_eq!(pairs[0].model, ModelKind::SharedBottom);
        assert!((pairs[0].paired.mean - 0.04 / 3.0).abs() < 1e-12);
        assert_eq!(pairs[0].paired.n(), 3);
        assert!(run.changes_from_p1().is_empty(), "nothing below p = 1 yet");
        // Shared-Bottom at p = 0.9, seeds 1 and 3 only: paired on those two.
        run.cells.extend([
            FigureCell {
                model: ModelKind::SharedBottom,
                p: 0.9,
                seed: 3,
                test_loss: 0.09,
            },
            FigureCell {
                model: ModelKind::SharedBottom,
                p: 0.9,
                seed: 1,
                test_loss: 0.06,
            },
        ]);
        let changes = run.changes_from_p1();
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].model, changes[0].p),
            (ModelKind::SharedBottom, 0.9)
        );
        // Seed 1: 0.06 − 0.05; seed 3: 0.09 − 0.06.
        assert_eq!(changes[0].paired.n(), 2);
        assert!((changes[0].paired.mean - 0.02).abs() < 1e-12);
    }

    #[test]
    fn figure_geometry_puts_p_left_to_right_and_bands_around_points() {
        let plan = FigurePlan::new(&[], 3);
        let mut run = FigureRun::new(plan.clone(), 1, "1 CPU worker", 0.0);
        while let Some(job) = run.assign(0) {
            let base = if job.p == 1.0 { 0.03 } else { 0.06 };
            run.on_cells(
                0,
                cells(job.model, job.p, &[base, base + 0.01, base + 0.02]),
                1.0,
            );
        }
        let g = geometry(&plan, &run.points());
        assert_eq!(g.models.len(), 3);
        let xs: Vec<f64> = g.x_ticks.iter().map(|t| t.0).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "p = 1 leftmost: {xs:?}");
        assert_eq!(g.x_ticks[0].1, "p = 1");
        for m in &g.models {
            assert_eq!(m.points.len(), 4);
            for k in &m.points {
                // Screen y grows downwards: the interval's high end is above the mean.
                assert!(k.y_high < k.y && k.y < k.y_low, "{k:?}");
            }
            assert_eq!(m.band.split(' ').count(), 8, "four highs and four lows");
        }
        // A larger loss is higher on the chart.
        let sb = &g.models[0].points;
        assert!(sb[1].y < sb[0].y);
        // The axis reaches above the highest interval: its top tick is at or above it, and
        // nothing is cut.
        let highest = run
            .points()
            .iter()
            .filter_map(|p| p.ci95.map(|ci| ci[1]))
            .fold(0.0f64, f64::max);
        let top_tick: f64 = g
            .y_ticks
            .last()
            .expect("ticks")
            .1
            .parse()
            .expect("a number");
        assert!(top_tick >= highest, "{top_tick} < {highest}");
        assert!(!g.cut);
    }

    #[test]
    fn figure_geometry_cuts_intervals_at_zero_and_at_three_times_the_top_mean() {
        let plan = FigurePlan::new(&[], 2);
        let wide = FigurePoint {
            model: ModelKind::Mmoe,
            p: 1.0,
            n: 2,
            mean: 0.05,
            ci95: Some([-0.4, 0.5]),
        };
        let g = geometry(&plan, std::slice::from_ref(&wide));
        assert!(g.cut);
        let k = &g.models[2].points[0];
        let (_, _, bottom, top) = g.frame;
        assert_eq!(k.y_low, bottom, "cut at 0");
        assert!(k.y_high >= top && k.y_high < bottom);
        assert_eq!(g.y_ticks.first().map(|t| t.1.parse::<f64>()), Some(Ok(0.0)));
        // The top tick is the first nice one at or above 3 × 0.05 × 1.05.
        let last: f64 = g
            .y_ticks
            .last()
            .expect("ticks")
            .1
            .parse()
            .expect("a number");
        assert!((0.1575..0.25).contains(&last), "{last}");
    }
}
