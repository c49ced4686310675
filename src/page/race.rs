//! Race mode: two or three setups trained at the same time, each in its own worker, on the same
//! rows and seed, their curves overlaid live. Plain data: the page owns the workers and
//! feeds each lane's events here; each lane keeps a [`Dashboard`] of its own and the timing of
//! its reports, from which its throughput follows.

use crate::page::dashboard::{Dashboard, RunState, Throughput};
use crate::protocol::Event;
use crate::protocol::experiment::Experiment;

/// The most setups one race trains at once (one worker each).
pub const MAX_LANES: usize = 3;

/// The session every lane's worker builds its model in: each lane has a worker of its own.
pub const LANE_SESSION: u32 = 1;

/// One setup in a race.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub experiment: Experiment,
    /// "Lane 2: MMoE", and where another lane trains the same model, what sets this one apart.
    name: String,
    pub dashboard: Dashboard,
    /// The timing of its progress reports.
    reports: Throughput,
    /// The lane's worker failed, or the race was stopped before the lane ended.
    pub stopped: bool,
}

impl Lane {
    /// The lane's name: its model, and what sets it apart from the others.
    pub fn label(&self) -> &str {
        &self.name
    }

    /// Whether the lane is done: its run ended (and is tested), or it was stopped.
    pub fn is_over(&self) -> bool {
        self.stopped || self.dashboard.test.is_some()
    }

    /// Mean training throughput between its first and latest reports, in samples per second.
    pub fn rate(&self) -> Option<f64> {
        self.reports.rate(self.experiment.batch_size as f64)
    }
}

/// Each lane's name: "Lane 1: MMoE", and where lanes train the same model, the parts of its
/// setup's summary that another lane of that model lacks ("Lane 3: Naive CVR · one embedding
/// table"), so no two lanes read alike.
fn lane_names(setups: &[Experiment]) -> Vec<String> {
    let parts: Vec<Vec<String>> = setups
        .iter()
        .map(|e| e.setup_summary().split(" · ").map(str::to_string).collect())
        .collect();
    setups
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let twins: Vec<usize> = (0..setups.len())
                .filter(|&j| j != i && setups[j].model == e.model)
                .collect();
            let own: Vec<&str> = parts[i]
                .iter()
                .filter(|part| twins.iter().any(|&j| !parts[j].contains(part)))
                .map(String::as_str)
                .collect();
            let mut name = format!("Lane {}: {}", i + 1, e.model.label());
            for part in own {
                name += " · ";
                name += part;
            }
            name
        })
        .collect()
}

/// A race in progress or just over.
#[derive(Debug, Clone, PartialEq)]
pub struct Race {
    /// Unique across visits; the history groups the lanes' runs under it.
    pub id: String,
    pub lanes: Vec<Lane>,
}

impl Race {
    /// A race of `setups`: one to [`MAX_LANES`] (one alone times a worker without company), all
    /// with the first one's seed, so they see the same rows in the same order. Setups that would
    /// train on other rows (another data set, or the same one drawn or read another way: p, c,
    /// the noise, the relationship field; [`crate::protocol::experiment::DataKey`]) are refused,
    /// with the setting that differs: the race ranks its lanes by validation loss, which compares
    /// nothing across different rows.
    pub fn new(id: String, setups: Vec<Experiment>) -> Result<Self, String> {
        let Some(first) = setups.first().cloned() else {
            return Err("a race needs a setup to train".into());
        };
        if setups.len() > MAX_LANES {
            return Err(format!(
                "a race trains at most {MAX_LANES} setups at once, not {}",
                setups.len()
            ));
        }
        let setups: Vec<Experiment> = setups
            .into_iter()
            // One seed each: a lane is one model, its records one run.
            .map(|e| Experiment {
                seed: first.seed,
                replicas: 1,
                ..e
            })
            .collect();
        let rows = first.data_key();
        if let Some(other) = setups.iter().find(|s| s.data_key() != rows) {
            return Err(format!(
                "a race compares setups on the same rows, and these were trained on different \
                 data: {} on {}; {} on {}",
                first.model.label(),
                rows.describe(),
                other.model.label(),
                other.data_key().describe()
            ));
        }
        let names = lane_names(&setups);
        let lanes = setups
            .into_iter()
            .zip(names)
            .map(|(experiment, name)| {
                let mut dashboard = Dashboard::default();
                dashboard.begin(LANE_SESSION);
                Lane {
                    experiment,
                    name,
                    dashboard,
                    reports: Throughput::default(),
                    stopped: false,
                }
            })
            .collect();
        Ok(Self { id, lanes })
    }

    /// Applies lane `lane`'s event, received at `now_ms`; false if it was not taken.
    pub fn apply(&mut self, lane: usize, event: &Event, now_ms: f64) -> bool {
        let Some(l) = self.lanes.get_mut(lane) else {
            return false;
        };
        let taken = l.dashboard.apply(event).is_some();
        if let (true, Event::Progress { progress, .. }) = (taken, event) {
            l.reports.take(now_ms, progress.step);
        }
        match (taken, event) {
            // The lane was told to play as soon as it was built.
            (true, Event::Built { .. }) => l.dashboard.playing(),
            // An error or a NaN loss: the lane trains no further.
            (true, Event::Error { .. }) => l.stopped = true,
            (true, _) if l.dashboard.state == RunState::Stopped => l.stopped = true,
            _ => {}
        }
        taken
    }

    /// Lane `lane`'s worker failed: it is over, and says why.
    pub fn fail(&mut self, lane: usize, message: String) {
        if let Some(l) = self.lanes.get_mut(lane) {
            l.stopped = true;
            l.dashboard.error = Some(message);
            l.dashboard.state = RunState::Stopped;
        }
    }

    /// Stops every lane still training (the page terminates their workers).
    pub fn stop(&mut self) {
        for l in self.lanes.iter_mut().filter(|l| !l.is_over()) {
            l.stopped = true;
            l.dashboard.state = RunState::Stopped;
            l.dashboard.status = "Stopped with the race.".into();
        }
    }

    /// Whether every lane is done.
    pub fn is_over(&self) -> bool {
        self.lanes.iter().all(Lane::is_over)
    }

    /// The race's result in words: which lane is ahead, by how much, and that one seed each
    /// cannot tell that from noise; then each lane's validation and test scores of the weights
    /// it ended with, best validation loss first.
    pub fn summary(&self) -> String {
        let mut ended: Vec<(usize, &Lane, f64)> = self
            .lanes
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let t = l.dashboard.test.as_ref()?;
                let loss = crate::protocol::weighted_loss(&t.valid, l.experiment.loss_weights);
                Some((i, l, loss))
            })
            .collect();
        if ended.is_empty() {
            return "No lane ended.".into();
        }
        ended.sort_by(|a, b| a.2.total_cmp(&b.2));
        let parts: Vec<String> = ended
            .iter()
            .map(|(_, l, loss)| {
                let test = l.dashboard.test.as_ref().map_or(String::new(), |t| {
                    t.tasks
                        .iter()
                        .map(|s| {
                            format!(
                                "{} {}",
                                s.name,
                                s.headline().map_or("–".into(), |v| format!("{v:.4}"))
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                format!("{} (valid loss {loss:.4}; test {test})", l.label())
            })
            .collect();
        let verdict = match ended.as_slice() {
            [(_, first, best), (_, _, next), ..] => format!(
                "{} ahead by {:.4} in validation loss, on one seed each: a gap this size can be \
                 seed noise, so train both setups over the same seeds (Train N seeds side by \
                 side) to see it against its interval. ",
                first.label(),
                next - best
            ),
            _ => String::new(),
        };
        format!("{verdict}By validation loss: {}.", parts.join("; then "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::experiment::{DataKind, ModelKind};
    use crate::protocol::{Progress, StopReason, TaskScore, TestReport};

    fn progress(step: u64) -> Event {
        Event::Progress {
            session: LANE_SESSION,
            progress: Progress {
                step,
                epoch: 0,
                epoch_progress: 0.0,
                losses: vec![0.5, 0.5],
                gates: vec![],
                grad_cosine: vec![],
                samples_per_sec: 0.0,
                replica_losses: Vec::new(),
            },
        }
    }

    fn score(name: &str, loss: f64, auc: f64) -> TaskScore {
        TaskScore {
            name: name.into(),
            loss,
            auc: Some(auc),
            logloss: Some(loss),
            r2: None,
            mse_true: None,
        }
    }

    fn tested(loss: f64) -> Event {
        Event::Test {
            session: LANE_SESSION,
            report: TestReport {
                step: 10,
                trained_steps: 12,
                valid: vec![
                    score("income", loss, 0.9),
                    score("never_married", loss, 0.9),
                ],
                tasks: vec![
                    score("income", 0.3, 0.88),
                    score("never_married", 0.2, 0.95),
                ],
                cvr: None,
                cvr_all: None,
                replicas: Vec::new(),
            },
        }
    }

    fn two() -> Race {
        let sb = Experiment::tutorial(ModelKind::SharedBottom);
        let mut mmoe = Experiment::tutorial(ModelKind::Mmoe);
        mmoe.seed = 99;
        Race::new("r".into(), vec![sb, mmoe]).expect("a valid race")
    }

    #[test]
    fn lanes_of_one_model_are_named_by_what_sets_them_apart() {
        let naive = Experiment::tutorial_on(ModelKind::NaiveCvr, DataKind::Funnel);
        let esmm = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        let mut shared = naive.clone();
        shared.arch.shared_embedding = true;
        let race = Race::new("r".into(), vec![naive, esmm, shared]).expect("one funnel");
        let names: Vec<&str> = race.lanes.iter().map(Lane::label).collect();
        assert_eq!(
            names,
            [
                "Lane 1: Naive CVR · a table per tower",
                "Lane 2: ESMM",
                "Lane 3: Naive CVR · one embedding table"
            ]
        );
    }

    #[test]
    fn race_lanes_share_the_first_setups_seed_and_refuse_other_data_sets() {
        let race = two();
        assert_eq!(race.lanes.len(), 2);
        assert!(race.lanes.iter().all(|l| l.experiment.seed == 1));
        assert_eq!(race.lanes[1].label(), "Lane 2: MMoE");
        let funnel = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        let mixed = Race::new("r".into(), vec![Experiment::default(), funnel]);
        assert!(mixed.is_err_and(|e| e.contains("UCI Adult; ESMM on the funnel")));
        let four = vec![Experiment::default(); 4];
        assert!(Race::new("r".into(), four).is_err());
        assert!(Race::new("r".into(), vec![]).is_err());
    }

    #[test]
    fn race_refuses_setups_on_other_rows_of_one_data_set() {
        let at = |p: f64, model: ModelKind| Experiment {
            p,
            ..Experiment::tutorial_on(model, DataKind::Correlated)
        };
        let refused = Race::new(
            "r".into(),
            vec![at(1.0, ModelKind::Mmoe), at(0.0, ModelKind::SharedBottom)],
        )
        .expect_err("p = 1 and p = 0 are other rows");
        assert!(
            refused.contains("same rows")
                && refused.contains("MMoE on the correlated tasks at p = 1,")
                && refused.contains("Shared-Bottom on the correlated tasks at p = 0,"),
            "{refused}"
        );
        let without = Experiment {
            relationship: false,
            ..Experiment::default()
        };
        let refused = Race::new("r".into(), vec![Experiment::default(), without])
            .expect_err("without the relationship field is other rows");
        assert!(
            refused.contains("without the relationship field"),
            "{refused}"
        );
        // Another seed is not refused: every lane takes the first one's, and so its rows.
        let mut reseeded = at(0.5, ModelKind::SharedBottom);
        reseeded.seed = 8;
        let race = Race::new("r".into(), vec![at(0.5, ModelKind::Mmoe), reseeded])
            .expect("the same rows once the seed is the first one's");
        let keys: Vec<_> = race.lanes.iter().map(|l| l.experiment.data_key()).collect();
        assert_eq!(keys[0], keys[1]);
    }

    #[test]
    fn race_routes_events_to_their_lane_and_times_it() {
        let mut race = two();
        assert!(race.apply(0, &progress(10), 1000.0));
        assert!(race.apply(0, &progress(50), 3000.0));
        assert!(race.apply(1, &progress(20), 1000.0));
        assert_eq!(race.lanes[0].dashboard.step, 50);
        assert_eq!(race.lanes[1].dashboard.step, 20);
        // 40 steps of 256 rows in 2 s.
        assert_eq!(race.lanes[0].rate(), Some(40.0 * 256.0 / 2.0));
        assert_eq!(
            race.lanes[1].rate(),
            None,
            "one report says nothing of speed"
        );
        assert!(!race.apply(5, &progress(1), 0.0), "no such lane");
    }

    #[test]
    fn race_is_over_when_every_lane_ended_or_stopped() {
        let mut race = two();
        race.apply(0, &tested(0.5), 0.0);
        assert!(!race.is_over());
        race.apply(
            1,
            &Event::Stopped {
                session: LANE_SESSION,
                reason: StopReason::NonFinite {
                    message: "NaN".into(),
                },
            },
            0.0,
        );
        assert!(race.is_over(), "a lane that hit a NaN is over too");
        let mut race = two();
        race.apply(0, &tested(0.5), 0.0);
        race.fail(1, "the worker stopped".into());
        assert!(race.is_over());
        assert_eq!(
            race.lanes[1].dashboard.error.as_deref(),
            Some("the worker stopped")
        );
        let mut race = two();
        race.stop();
        assert!(race.is_over());
    }

    #[test]
    fn race_summary_ranks_lanes_by_validation_loss() {
        let mut race = two();
        race.apply(0, &tested(0.40), 0.0);
        race.apply(1, &tested(0.35), 0.0);
        let s = race.summary();
        let (mmoe, sb) = (
            s.find("MMoE").expect("MMoE"),
            s.find("Shared-Bottom").expect("SB"),
        );
        assert!(mmoe < sb, "{s}");
        assert!(s.contains("valid loss 0.7000; test income 0.8800"), "{s}");
        assert!(
            s.starts_with("Lane 2: MMoE ahead by 0.1000 in validation loss, on one seed each"),
            "{s}"
        );
    }
}
