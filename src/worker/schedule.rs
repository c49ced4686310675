//! When the training worker trains, scores and stops: a plain, synchronous state machine. The
//! worker's `Driver` tells it what happened (a command, a chunk's outcome, a validation score)
//! and performs the [`Action`]s it answers, in order. The policy lives here, away from tensors
//! and promises, so each rule is tested natively; the driver only does the I/O.
//!
//! Selection is by validation only. The validation split is scored every `validation_every`
//! steps (chunks are cut there, so the points, and the run, do not depend on the machine's
//! speed); each replica's (seed's) best point's weights are kept; a replica stops after
//! `patience` epochs without a better validation loss, and the run stops early when every
//! replica has. The test split is scored once per run, when it ends (its
//! budget, early stopping, or "Finish and test"), with the kept weights. Pause scores nothing.

use mtl::train::ReplicaSelection;

use crate::protocol::StopReason;

/// Milliseconds of training per progress report: about ten updates a second.
pub const REPORT_MS: f64 = 100.0;

/// Steps per chunk, at most: a slow first guess must not freeze the worker for long.
const MAX_CHUNK: usize = 64;

/// What Play on a run that has ended says.
pub const RUN_OVER: &str =
    "this run has ended and its test score is final; press Reset to train a new one";

/// What "Finish and test" on an untrained model says.
pub const NOTHING_TO_TEST: &str =
    "train at least one step first: an untrained model has nothing to test";

/// What the schedule needs to know about the model before it answers a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// No model has been built, or the last build failed.
    Absent,
    /// A model with steps left in its epoch budget.
    Unfinished,
    /// A model that has spent its epoch budget; the count is what the learner is told.
    Finished { epochs: usize },
}

/// One thing for the driver to do. A command or a chunk can ask for several, and their order
/// is the order the page sees the events in.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Train this many steps, post the progress, then tell [`Schedule::after_chunk`].
    Train(usize),
    /// Score the validation split, post the point, then tell [`Schedule::after_validation`].
    Validate,
    /// Keep a copy of these replicas' current weights: each has its best validation loss so far.
    KeepBest(Vec<usize>),
    /// End the run: put the kept weights back and score the test split with them, once.
    Conclude,
    /// Tell the page that training stopped, and why.
    Stop(StopReason),
    /// Tell the page what went wrong.
    Error(String),
}

/// What a chunk of training came to.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkOutcome {
    /// The chunk ran and its results were read.
    Trained(Chunk),
    /// There was no model to train, so there is nothing to say either.
    NoModel,
    /// A loss became NaN or infinite; the message says which and what to try.
    NonFinite(String),
    /// Any other failure of the device or the trainer.
    Failed(String),
}

/// A chunk that ran: its size and timing, and where the model stands after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chunk {
    /// Steps this chunk trained (fewer than asked when the epoch budget ran out).
    pub steps: usize,
    /// Wall-clock time from starting the chunk to having its results.
    pub elapsed_ms: f64,
    /// The model's total steps after the chunk.
    pub steps_done: u64,
    /// Whether the epoch budget is now spent.
    pub finished: bool,
    /// The epoch budget, for the message when it is spent.
    pub epochs: usize,
}

/// A validation score, as selection reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The step of the weights scored.
    pub step: u64,
    /// Per replica, the loss that selects: the validation losses weighted as in training.
    pub losses: Vec<f64>,
    /// Epochs without a better loss before the run stops early; 0 never stops early.
    pub patience: usize,
    pub steps_per_epoch: u64,
}

/// The worker's scheduling state: whether it is training, how big a chunk is, when to score
/// the validation split next, the best validation point so far, and whether the run has ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    running: bool,
    /// Milliseconds per step in the last chunk; NaN until a chunk has run.
    step_ms: f64,
    /// The model's steps, as the last chunk left them.
    steps_done: u64,
    /// Steps between validation points, for the model built.
    validation_every: u64,
    /// The step at which the next validation point is due.
    next_validation: u64,
    /// The step the validation split was last scored at.
    validated_at: Option<u64>,
    /// Each replica's best validation point after step 0 and its early stop: the core's
    /// selection, so the CLI and the page mean one thing by patience. Made at the first point.
    selection: Option<ReplicaSelection>,
    /// Why the run ends, once its last validation point is in.
    ending: Option<StopReason>,
    /// The run has ended and been tested; it trains no further.
    ended: bool,
    /// Steps a second to hold training to, or `None` for full speed. A page setting: it
    /// outlives builds.
    pace: Option<f64>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self::new()
    }
}

impl Schedule {
    /// A stopped schedule with no timing yet: the first chunk is one step.
    pub fn new() -> Self {
        Self {
            running: false,
            step_ms: f64::NAN,
            steps_done: 0,
            validation_every: 1,
            next_validation: 1,
            validated_at: None,
            selection: None,
            ending: None,
            ended: false,
            pace: None,
        }
    }

    /// Holds training to about `steps_per_sec` (clamped to 0.5–1000), or lets it run at full
    /// speed.
    pub fn set_pace(&mut self, steps_per_sec: Option<f64>) {
        self.pace = steps_per_sec
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|v| v.clamp(0.5, 1000.0));
    }

    /// How long to wait after a chunk of `steps` that took `elapsed_ms`, so training keeps to
    /// the pace: 0 at full speed, or when the chunk was slower than the pace anyway.
    pub fn delay_ms(&self, steps: usize, elapsed_ms: f64) -> f64 {
        match self.pace {
            Some(pace) => (steps as f64 * 1000.0 / pace - elapsed_ms).max(0.0),
            None => 0.0,
        }
    }

    /// How long a chunk of `steps` that computed in `elapsed_ms` lasts as the learner sees it,
    /// which the page's samples per second are over: while playing at a pace, its share of the
    /// pace (the wait after it included); otherwise its computing time.
    pub fn wall_ms(&self, steps: usize, elapsed_ms: f64) -> f64 {
        if self.running {
            elapsed_ms + self.delay_ms(steps, elapsed_ms)
        } else {
            elapsed_ms
        }
    }

    /// How many steps the next chunk trains, or `None` while stopped. The size aims at one
    /// report every [`REPORT_MS`], measured on the last chunk, and a chunk ends where a
    /// validation point is due.
    pub fn next_chunk(&self) -> Option<usize> {
        let to_validation = self.next_validation.saturating_sub(self.steps_done).max(1);
        // At a pace, a chunk is what the pace allows per report (the chart then moves as
        // smoothly as at full speed).
        let size = match self.pace {
            Some(pace) => ((pace * REPORT_MS / 1000.0).round() as usize).clamp(1, MAX_CHUNK),
            None => chunk_steps(self.step_ms, REPORT_MS),
        };
        self.running.then(|| size.min(to_validation as usize))
    }

    /// Whether the run has ended (and its test been scored).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Play runs a model that has steps left. Without one, or after the run ended, the learner
    /// hears why nothing happens; a budget cut below the steps done ends the run.
    pub fn on_play(&mut self, session: SessionState) -> Vec<Action> {
        if self.ended {
            self.running = false;
            return vec![Action::Error(RUN_OVER.into())];
        }
        match session {
            SessionState::Absent => vec![Action::Error("there is no model yet".into())],
            SessionState::Finished { epochs } => {
                self.running = false;
                self.end(StopReason::Finished { epochs })
            }
            SessionState::Unfinished => {
                self.running = true;
                Vec::new()
            }
        }
    }

    /// Pause stops a running model where it stands. It scores nothing: the test split waits
    /// for the end of the run. Pausing a stopped model does nothing.
    pub fn on_pause(&mut self) -> Vec<Action> {
        if std::mem::replace(&mut self.running, false) {
            vec![Action::Stop(StopReason::Paused)]
        } else {
            Vec::new()
        }
    }

    /// Step stops training and trains exactly one step, if there is a step left to train.
    pub fn on_step(&mut self, session: SessionState) -> Vec<Action> {
        self.running = false;
        match session {
            SessionState::Unfinished if !self.ended => vec![Action::Train(1)],
            _ => Vec::new(),
        }
    }

    /// "Finish and test": ends a trained run now (after a last validation point, unless the
    /// current weights have one), with the best weights and one test score.
    pub fn on_finish(&mut self, session: SessionState) -> Vec<Action> {
        if self.ended {
            return Vec::new();
        }
        self.running = false;
        match session {
            SessionState::Absent => vec![Action::Error("there is no model yet".into())],
            _ if self.steps_done == 0 => vec![Action::Error(NOTHING_TO_TEST.into())],
            _ => self.end(StopReason::Ended),
        }
    }

    /// A build replaces the model: training stops, and nothing measured on the old model
    /// (its speed, its best point, its end) carries over.
    pub fn on_build(&mut self) {
        let pace = self.pace;
        *self = Self::new();
        self.pace = pace;
    }

    /// The new model exists: score it untrained, so the curves start at step 0; the next
    /// point is due `validation_every` steps on.
    pub fn on_built(&mut self, validation_every: u64) -> Vec<Action> {
        self.validation_every = validation_every.max(1);
        self.next_validation = self.validation_every;
        vec![Action::Validate]
    }

    /// After a chunk: learn its speed, and score the validation split when a point is due or
    /// the budget is spent (the run then ends once the point is in). A failure stops the run.
    pub fn after_chunk(&mut self, outcome: ChunkOutcome) -> Vec<Action> {
        let chunk = match outcome {
            ChunkOutcome::Trained(chunk) => chunk,
            ChunkOutcome::NoModel => {
                self.running = false;
                return Vec::new();
            }
            ChunkOutcome::NonFinite(message) => {
                self.running = false;
                return vec![Action::Stop(StopReason::NonFinite { message })];
            }
            ChunkOutcome::Failed(message) => {
                self.running = false;
                return vec![Action::Error(message)];
            }
        };
        if chunk.steps > 0 {
            self.step_ms = chunk.elapsed_ms / chunk.steps as f64;
        }
        self.steps_done = chunk.steps_done;
        if chunk.finished {
            self.running = false;
            return self.end(StopReason::Finished {
                epochs: chunk.epochs,
            });
        }
        if chunk.steps_done >= self.next_validation {
            vec![Action::Validate]
        } else {
            Vec::new()
        }
    }

    /// After a validation point: keep each replica's weights that are its best so far (step 0,
    /// the untrained model, is never kept), and end the run if it is ending or every replica has
    /// waited `patience` epochs for a better loss.
    pub fn after_validation(&mut self, v: Validated) -> Vec<Action> {
        self.validated_at = Some(v.step);
        while self.next_validation <= v.step {
            self.next_validation += self.validation_every;
        }
        let selection = self.selection.get_or_insert_with(|| {
            ReplicaSelection::new(v.losses.len(), v.patience, v.steps_per_epoch)
        });
        // The page's patience field is live: it applies from this point on.
        selection.set_patience(v.patience);
        let verdict = selection.observe(v.step, &v.losses);
        let mut actions = Vec::new();
        if !verdict.improved.is_empty() {
            actions.push(Action::KeepBest(verdict.improved));
        }
        if let Some(reason) = self.ending.take() {
            actions.extend(self.conclude(reason));
            return actions;
        }
        if selection.all_stopped() {
            let best_step = (0..v.losses.len())
                .filter_map(|r| selection.best(r).map(|(step, _)| step))
                .max()
                .unwrap_or(0);
            self.running = false;
            actions.extend(self.conclude(StopReason::EarlyStopped {
                patience: v.patience,
                best_step,
            }));
        }
        actions
    }

    /// Replica `r`'s best validation point so far: its step and loss.
    pub fn best(&self, r: usize) -> Option<(u64, f64)> {
        self.selection.as_ref().and_then(|s| s.best(r))
    }

    /// Ends the run for `reason`: at once if the current weights have their validation point,
    /// else after one.
    fn end(&mut self, reason: StopReason) -> Vec<Action> {
        if self.validated_at == Some(self.steps_done) {
            self.conclude(reason)
        } else {
            self.ending = Some(reason);
            vec![Action::Validate]
        }
    }

    fn conclude(&mut self, reason: StopReason) -> Vec<Action> {
        self.running = false;
        self.ended = true;
        vec![Action::Stop(reason), Action::Conclude]
    }
}

/// How many steps to run between reports, so that each report covers about `target_ms` of
/// training: the plots then move smoothly whatever the model's speed, and the worker still
/// yields to its event loop (to hear Pause) several times a second.
fn chunk_steps(last_step_ms: f64, target_ms: f64) -> usize {
    if !(last_step_ms.is_finite() && last_step_ms > 0.0) {
        return 1;
    }
    ((target_ms / last_step_ms).round() as usize).clamp(1, MAX_CHUNK)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: u64 = 10;
    const EPOCHS: usize = 3;
    const PER_EPOCH: u64 = 50;

    /// A chunk of `steps` that took 1 ms per step and ends at `steps_done`.
    fn chunk(steps: usize, steps_done: u64) -> ChunkOutcome {
        ChunkOutcome::Trained(Chunk {
            steps,
            elapsed_ms: steps as f64,
            steps_done,
            finished: false,
            epochs: EPOCHS,
        })
    }

    fn finishing(steps: usize, steps_done: u64) -> ChunkOutcome {
        ChunkOutcome::Trained(Chunk {
            steps,
            elapsed_ms: steps as f64,
            steps_done,
            finished: true,
            epochs: EPOCHS,
        })
    }

    fn scored(step: u64, loss: f64, patience: usize) -> Validated {
        Validated {
            step,
            losses: vec![loss],
            patience,
            steps_per_epoch: PER_EPOCH,
        }
    }

    /// A schedule with a fresh model (its step-0 point in), playing.
    fn playing() -> Schedule {
        let mut s = Schedule::new();
        s.on_build();
        assert_eq!(s.on_built(EVERY), vec![Action::Validate]);
        assert!(s.after_validation(scored(0, 0.7, 0)).is_empty());
        assert!(s.on_play(SessionState::Unfinished).is_empty());
        s
    }

    /// Trains as the driver does, chunk by chunk as the schedule sizes them, feeding it the
    /// validation losses `loss(step)`, until it stops; returns every action it asked for.
    fn drive(
        s: &mut Schedule,
        patience: usize,
        budget: u64,
        loss: impl Fn(u64) -> f64,
    ) -> Vec<Action> {
        let mut log = Vec::new();
        let mut done = 0;
        while let Some(n) = s.next_chunk() {
            let n = (n as u64).min(budget - done);
            done += n;
            let outcome = if done == budget {
                finishing(n as usize, done)
            } else {
                chunk(n as usize, done)
            };
            let mut todo = s.after_chunk(outcome);
            while !todo.is_empty() {
                let action = todo.remove(0);
                if action == Action::Validate {
                    let mut next = s.after_validation(scored(done, loss(done), patience));
                    next.extend(todo);
                    todo = next;
                }
                log.push(action);
            }
        }
        log
    }

    fn validation_steps(s: &mut Schedule, chunk_size: usize, last: u64) -> Vec<u64> {
        let mut steps = Vec::new();
        let mut done = 0;
        while done < last {
            let n = s.next_chunk().expect("playing").min(chunk_size) as u64;
            done += n;
            if s.after_chunk(chunk(n as usize, done))
                .contains(&Action::Validate)
            {
                s.after_validation(scored(done, 1.0, 0));
                steps.push(done);
            }
        }
        steps
    }

    #[test]
    fn schedule_validates_at_step_0_after_build() {
        let mut s = Schedule::new();
        s.on_build();
        assert_eq!(s.on_built(EVERY), vec![Action::Validate]);
    }

    #[test]
    fn schedule_validates_every_n_steps_whatever_the_chunk_size() {
        // Chunks are cut where a point is due, so the points are the same for any speed.
        for size in [1, 3, 4, 7, 64] {
            let mut s = playing();
            assert_eq!(
                validation_steps(&mut s, size, 40),
                vec![10, 20, 30, 40],
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn schedule_pause_stops_and_tests_nothing() {
        let mut s = playing();
        s.after_chunk(chunk(5, 5));
        assert_eq!(s.on_pause(), vec![Action::Stop(StopReason::Paused)]);
        assert_eq!(s.next_chunk(), None, "a paused run stops");
        assert!(s.on_pause().is_empty(), "a second pause sends nothing");
        assert!(!s.ended());
        assert!(
            s.on_play(SessionState::Unfinished).is_empty(),
            "and goes on"
        );
        assert!(s.next_chunk().is_some());
    }

    #[test]
    fn schedule_budget_ends_with_a_last_point_then_one_test() {
        let mut s = playing();
        let log = drive(&mut s, 0, 25, |step| 1.0 / step as f64);
        assert_eq!(
            log,
            vec![
                Action::Validate,
                Action::KeepBest(vec![0]),
                Action::Validate,
                Action::KeepBest(vec![0]),
                // The budget ends at 25, off the cadence: a point there, then the end.
                Action::Validate,
                Action::KeepBest(vec![0]),
                Action::Stop(StopReason::Finished { epochs: EPOCHS }),
                Action::Conclude,
            ]
        );
        assert!(s.ended());
        assert_eq!(s.next_chunk(), None);
        assert!(s.on_pause().is_empty());
        assert_eq!(
            s.on_play(SessionState::Unfinished),
            vec![Action::Error(RUN_OVER.into())]
        );
        assert!(s.on_step(SessionState::Unfinished).is_empty());
        assert!(
            s.on_finish(SessionState::Unfinished).is_empty(),
            "tested once"
        );
    }

    #[test]
    fn schedule_budget_on_a_validation_step_ends_without_a_second_point() {
        let mut s = playing();
        let log = drive(&mut s, 0, 20, |_| 1.0);
        let validations = log.iter().filter(|a| **a == Action::Validate).count();
        assert_eq!(validations, 2, "{log:?}");
        assert_eq!(log.last(), Some(&Action::Conclude));
    }

    #[test]
    fn schedule_keeps_the_best_point_not_the_last() {
        // The loss falls to its best at step 30, then rises.
        let loss = |step: u64| (step as f64 - 30.0).abs() + 1.0;
        let mut s = playing();
        let log = drive(&mut s, 0, 100, loss);
        let keeps = log
            .iter()
            .filter(|a| matches!(a, Action::KeepBest(_)))
            .count();
        assert_eq!(keeps, 3, "kept at 10, 20 and 30, and never after: {log:?}");
        assert_eq!(s.best(0), Some((30, 1.0)));
    }

    #[test]
    fn schedule_stops_early_after_patience_epochs_without_a_better_loss() {
        let loss = |step: u64| (step as f64 - 30.0).abs() + 1.0;
        let mut s = playing();
        let log = drive(&mut s, 1, 1000, loss);
        assert_eq!(
            &log[log.len() - 2..],
            &[
                Action::Stop(StopReason::EarlyStopped {
                    patience: 1,
                    best_step: 30
                }),
                Action::Conclude
            ]
        );
        // One epoch (50 steps) after the best: the point at step 80 stops it.
        let validations = log.iter().filter(|a| **a == Action::Validate).count();
        assert_eq!(validations, 8, "{log:?}");
        assert!(s.ended());
        // Patience 0 trains the whole budget.
        let mut s = playing();
        let log = drive(&mut s, 0, 200, loss);
        assert_eq!(
            log.iter().rev().nth(1),
            Some(&Action::Stop(StopReason::Finished { epochs: EPOCHS }))
        );
    }

    /// Replicas keep their own best weights and stop on their own; the run ends when the last
    /// has stopped, naming the latest best step.
    #[test]
    fn schedule_replicas_select_and_stop_each_on_their_own() {
        let mut s = Schedule::new();
        s.on_build();
        s.on_built(EVERY);
        let point = |step: u64, losses: [f64; 2]| Validated {
            step,
            losses: losses.to_vec(),
            patience: 1,
            steps_per_epoch: PER_EPOCH,
        };
        assert!(s.after_validation(point(0, [0.9, 0.9])).is_empty());
        assert_eq!(
            s.after_validation(point(10, [0.5, 0.5])),
            vec![Action::KeepBest(vec![0, 1])]
        );
        assert_eq!(
            s.after_validation(point(20, [0.6, 0.4])),
            vec![Action::KeepBest(vec![1])]
        );
        // A patience of one epoch (50 steps) after step 10: replica 0 stops at 60, replica 1
        // (best at 20) goes on until 70.
        assert!(s.after_validation(point(60, [0.7, 0.7])).is_empty());
        assert_eq!(s.best(0), Some((10, 0.5)));
        assert_eq!(
            s.after_validation(point(70, [0.1, 0.7])),
            vec![
                Action::Stop(StopReason::EarlyStopped {
                    patience: 1,
                    best_step: 20
                }),
                Action::Conclude
            ],
            "a stopped replica takes no more points, however good"
        );
        assert!(s.ended());
    }

    #[test]
    fn schedule_never_keeps_the_untrained_model() {
        let mut s = Schedule::new();
        s.on_build();
        s.on_built(EVERY);
        assert!(s.after_validation(scored(0, 0.1, 1)).is_empty());
        assert_eq!(
            s.after_validation(scored(10, 0.5, 1)),
            vec![Action::KeepBest(vec![0])]
        );
    }

    #[test]
    fn schedule_finish_validates_the_current_weights_then_tests_once() {
        let mut s = playing();
        assert_eq!(s.after_chunk(chunk(10, 10)), vec![Action::Validate]);
        s.after_validation(scored(10, 0.5, 0));
        s.after_chunk(chunk(3, 13));
        // Step 13 has no point yet: one first, then the end.
        assert_eq!(
            s.on_finish(SessionState::Unfinished),
            vec![Action::Validate]
        );
        assert_eq!(s.next_chunk(), None, "finishing stops training");
        assert_eq!(
            s.after_validation(scored(13, 0.6, 0)),
            vec![Action::Stop(StopReason::Ended), Action::Conclude]
        );
        assert!(s.on_finish(SessionState::Unfinished).is_empty());
        // Where the weights have their point, Finish ends at once.
        let mut s = playing();
        s.after_chunk(chunk(10, 10));
        s.after_validation(scored(10, 0.5, 0));
        assert_eq!(
            s.on_finish(SessionState::Unfinished),
            vec![Action::Stop(StopReason::Ended), Action::Conclude]
        );
    }

    #[test]
    fn schedule_finish_needs_a_trained_model() {
        let mut s = playing();
        assert_eq!(
            s.on_finish(SessionState::Unfinished),
            vec![Action::Error(NOTHING_TO_TEST.into())]
        );
        assert!(!s.ended());
        let mut s = Schedule::new();
        assert_eq!(
            s.on_finish(SessionState::Absent),
            vec![Action::Error("there is no model yet".into())]
        );
    }

    #[test]
    fn schedule_play_without_a_model_is_an_error() {
        let mut s = Schedule::new();
        assert_eq!(
            s.on_play(SessionState::Absent),
            vec![Action::Error("there is no model yet".into())]
        );
        assert_eq!(s.next_chunk(), None);
    }

    #[test]
    fn schedule_play_after_the_budget_was_cut_ends_the_run() {
        let mut s = playing();
        s.after_chunk(chunk(10, 10));
        s.after_validation(scored(10, 0.5, 0));
        s.on_pause();
        assert_eq!(
            s.on_play(SessionState::Finished { epochs: 1 }),
            vec![
                Action::Stop(StopReason::Finished { epochs: 1 }),
                Action::Conclude
            ]
        );
        assert_eq!(s.next_chunk(), None);
    }

    #[test]
    fn schedule_play_runs_an_unfinished_session() {
        let mut s = Schedule::new();
        assert_eq!(s.next_chunk(), None);
        assert!(s.on_play(SessionState::Unfinished).is_empty());
        assert_eq!(s.next_chunk(), Some(1));
    }

    #[test]
    fn schedule_step_stops_running_and_trains_one_step() {
        let mut s = playing();
        assert_eq!(s.on_step(SessionState::Unfinished), vec![Action::Train(1)]);
        assert_eq!(s.next_chunk(), None);
        let mut s = playing();
        assert!(s.on_step(SessionState::Finished { epochs: 1 }).is_empty());
        assert_eq!(s.next_chunk(), None);
        assert!(Schedule::new().on_step(SessionState::Absent).is_empty());
    }

    #[test]
    fn schedule_build_stops_and_forgets_the_old_model() {
        let mut s = playing();
        drive(&mut s, 0, 25, |_| 1.0);
        assert!(s.ended());
        s.on_build();
        assert_eq!(s.next_chunk(), None, "a build stops training");
        assert!(!s.ended(), "the new model's run has not ended");
        assert_eq!(s.best(0), None);
        s.on_built(EVERY);
        s.on_play(SessionState::Unfinished);
        assert_eq!(
            s.next_chunk(),
            Some(1),
            "the old model's speed is forgotten"
        );
    }

    #[test]
    fn schedule_step_ms_drives_chunk_size() {
        let mut s = Schedule::new();
        s.on_built(1000);
        s.on_play(SessionState::Unfinished);
        assert_eq!(s.next_chunk(), Some(1), "no timing yet");
        s.after_chunk(ChunkOutcome::Trained(Chunk {
            steps: 4,
            elapsed_ms: 20.0,
            steps_done: 4,
            finished: false,
            epochs: EPOCHS,
        }));
        assert_eq!(s.next_chunk(), Some(chunk_steps(5.0, REPORT_MS)));
        assert_eq!(s.next_chunk(), Some(20));
        // A chunk that trained nothing says nothing about the speed.
        s.after_chunk(ChunkOutcome::Trained(Chunk {
            steps: 0,
            elapsed_ms: 3.0,
            steps_done: 4,
            finished: false,
            epochs: EPOCHS,
        }));
        assert_eq!(s.next_chunk(), Some(20));
    }

    #[test]
    fn schedule_non_finite_stops() {
        let mut s = playing();
        let actions = s.after_chunk(ChunkOutcome::NonFinite("loss is NaN".into()));
        assert_eq!(
            actions,
            vec![Action::Stop(StopReason::NonFinite {
                message: "loss is NaN".into()
            })]
        );
        assert_eq!(s.next_chunk(), None);
    }

    #[test]
    fn schedule_failure_stops_with_an_error() {
        let mut s = playing();
        assert_eq!(
            s.after_chunk(ChunkOutcome::Failed("device lost".into())),
            vec![Action::Error("device lost".into())]
        );
        assert_eq!(s.next_chunk(), None);
        let mut s = playing();
        assert!(s.after_chunk(ChunkOutcome::NoModel).is_empty());
        assert_eq!(s.next_chunk(), None);
    }

    #[test]
    fn schedule_pace_sizes_chunks_and_waits_out_the_rest() {
        let mut s = Schedule::new();
        s.on_built(1000);
        s.on_play(SessionState::Unfinished);
        s.set_pace(Some(20.0));
        // 20 steps a second, a report every 100 ms: two steps a chunk, 100 ms each.
        assert_eq!(s.next_chunk(), Some(2));
        assert_eq!(s.delay_ms(2, 30.0), 70.0);
        assert_eq!(
            s.delay_ms(2, 150.0),
            0.0,
            "a slow chunk is not held back further"
        );
        // The rate is over the paced time: 2 steps a 100 ms, not 2 steps in 30 ms.
        assert_eq!(s.wall_ms(2, 30.0), 100.0);
        assert_eq!(s.wall_ms(2, 150.0), 150.0);
        s.set_pace(Some(5.0));
        assert_eq!(s.next_chunk(), Some(1));
        assert_eq!(s.delay_ms(1, 10.0), 190.0);
        // The pace outlives a build; None, NaN or 0 is full speed.
        s.on_build();
        s.on_built(1000);
        s.on_play(SessionState::Unfinished);
        assert_eq!(s.next_chunk(), Some(1));
        assert_eq!(s.delay_ms(1, 10.0), 190.0);
        for off in [None, Some(f64::NAN), Some(0.0)] {
            s.set_pace(off);
            assert_eq!(s.delay_ms(1, 10.0), 0.0);
            assert_eq!(s.wall_ms(1, 10.0), 10.0);
        }
        // A step while paused is not held to the pace, nor is its rate.
        s.set_pace(Some(5.0));
        s.on_pause();
        assert_eq!(s.wall_ms(1, 10.0), 10.0);
    }

    #[test]
    fn chunk_steps_targets_a_report_interval() {
        assert_eq!(chunk_steps(1.0, 100.0), 64);
        assert_eq!(chunk_steps(10.0, 100.0), 10);
        assert_eq!(chunk_steps(500.0, 100.0), 1);
        assert_eq!(chunk_steps(f64::NAN, 100.0), 1);
        assert_eq!(chunk_steps(0.0, 100.0), 1);
    }
}
