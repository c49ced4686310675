//! When the training worker trains, scores and stops: a plain, synchronous state machine. The
//! worker's `Driver` tells it what happened (a command, a chunk's outcome) and performs the
//! [`Action`]s it answers, in order. The policy lives here, away from tensors and promises, so
//! each rule is tested natively; the driver only does the I/O.

use crate::protocol::StopReason;

/// Milliseconds of training per progress report: about ten updates a second.
pub const REPORT_MS: f64 = 100.0;

/// Steps per chunk, at most: a slow first guess must not freeze the worker for long.
const MAX_CHUNK: usize = 64;

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
    /// Score the validation split and post the point.
    Validate,
    /// Score the test split, if [`Schedule::should_test`] agrees when the driver gets to it.
    Test,
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
    /// Steps between validation points, as the session chooses them.
    pub validation_every: u64,
    /// Whether the epoch budget is now spent.
    pub finished: bool,
    /// The epoch budget, for the message when it is spent.
    pub epochs: usize,
}

/// The worker's scheduling state: whether it is training, how big a chunk is, when to score
/// the validation split next, and which step the test split was last scored at.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    running: bool,
    /// Milliseconds per step in the last chunk; NaN until a chunk has run.
    step_ms: f64,
    /// The step at which the next validation point is due.
    next_validation: u64,
    /// The step the test split was last scored at, so a score is not repeated for nothing.
    tested_at: Option<u64>,
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
            next_validation: 0,
            tested_at: None,
        }
    }

    /// How many steps the next chunk trains, or `None` while stopped. The size aims at one
    /// report every [`REPORT_MS`], measured on the last chunk.
    pub fn next_chunk(&self) -> Option<usize> {
        self.running.then(|| chunk_steps(self.step_ms, REPORT_MS))
    }

    /// Play runs a model that has steps left. Without one, the learner hears why nothing
    /// happens; a spent budget is answered as finished again, and nothing runs.
    pub fn on_play(&mut self, session: SessionState) -> Vec<Action> {
        match session {
            SessionState::Absent => vec![Action::Error("there is no model yet".into())],
            SessionState::Finished { epochs } => {
                // A budget cut while running ends here too, so Finished is not said twice.
                self.running = false;
                vec![Action::Stop(StopReason::Finished { epochs })]
            }
            SessionState::Unfinished => {
                self.running = true;
                Vec::new()
            }
        }
    }

    /// Pause stops a running model and scores the test split where it stands. Pausing a
    /// stopped model does nothing, so a second Pause sends nothing twice.
    pub fn on_pause(&mut self) -> Vec<Action> {
        if std::mem::replace(&mut self.running, false) {
            vec![Action::Stop(StopReason::Paused), Action::Test]
        } else {
            Vec::new()
        }
    }

    /// Step stops training and trains exactly one step, if there is a step left to train.
    pub fn on_step(&mut self, session: SessionState) -> Vec<Action> {
        self.running = false;
        match session {
            SessionState::Unfinished => vec![Action::Train(1)],
            SessionState::Absent | SessionState::Finished { .. } => Vec::new(),
        }
    }

    /// A build replaces the model: training stops, and nothing measured on the old model
    /// (its speed, its last test) carries over.
    pub fn on_build(&mut self) {
        self.running = false;
        self.tested_at = None;
        self.step_ms = f64::NAN;
    }

    /// The new model exists: score it untrained, so the curves start at step 0, and start the
    /// validation cadence again, so the first chunk adds a point too.
    pub fn on_built(&mut self) -> Vec<Action> {
        self.next_validation = 0;
        vec![Action::Validate]
    }

    /// After a chunk: learn its speed, score the validation split when a point is due (or the
    /// run just finished, so the curves end where training did), and stop at the end of the
    /// budget with a test score. A failure stops the run.
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
            // The weights changed: the last test score no longer describes them. A chunk that
            // trained nothing (the budget was cut while running) leaves it standing.
            self.tested_at = None;
        }
        let mut actions = Vec::new();
        if chunk.steps_done >= self.next_validation || chunk.finished {
            actions.push(Action::Validate);
            self.next_validation = chunk.steps_done + chunk.validation_every;
        }
        if chunk.finished {
            self.running = false;
            actions.push(Action::Stop(StopReason::Finished {
                epochs: chunk.epochs,
            }));
            actions.push(Action::Test);
        }
        actions
    }

    /// Whether to score the test split at `step`: never for an untrained model, and once per
    /// step, since the same weights give the same score.
    pub fn should_test(&self, step: u64) -> bool {
        step > 0 && self.tested_at != Some(step)
    }

    /// Records that the test split was scored (and the score posted) at `step`.
    pub fn tested(&mut self, step: u64) {
        self.tested_at = Some(step);
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

    /// A chunk of `steps` that took 1 ms per step and ends at `steps_done`.
    fn chunk(steps: usize, steps_done: u64) -> ChunkOutcome {
        ChunkOutcome::Trained(Chunk {
            steps,
            elapsed_ms: steps as f64,
            steps_done,
            validation_every: EVERY,
            finished: false,
            epochs: EPOCHS,
        })
    }

    fn finishing(steps: usize, steps_done: u64) -> ChunkOutcome {
        match chunk(steps, steps_done) {
            ChunkOutcome::Trained(c) => ChunkOutcome::Trained(Chunk {
                finished: true,
                ..c
            }),
            other => other,
        }
    }

    /// A schedule with a fresh model, playing.
    fn playing() -> Schedule {
        let mut s = Schedule::new();
        s.on_build();
        s.on_built();
        assert!(s.on_play(SessionState::Unfinished).is_empty());
        s
    }

    /// Runs chunks of `size` steps up to `last` and returns the steps at which a validation
    /// point was asked for.
    fn validated_steps(s: &mut Schedule, size: usize, last: u64) -> Vec<u64> {
        let mut validated = Vec::new();
        let mut done = 0;
        while done < last {
            done += size as u64;
            if s.after_chunk(chunk(size, done)).contains(&Action::Validate) {
                validated.push(done);
            }
        }
        validated
    }

    #[test]
    fn schedule_validates_at_step_0_after_build() {
        let mut s = Schedule::new();
        s.on_build();
        assert_eq!(s.on_built(), vec![Action::Validate]);
    }

    #[test]
    fn schedule_validates_every_n_steps() {
        let mut s = playing();
        // The first chunk after a build is due (the cadence starts at 0), then every 10 steps,
        // including a chunk that lands exactly on the due step.
        assert_eq!(validated_steps(&mut s, 5, 40), vec![5, 15, 25, 35]);
        let mut s = playing();
        assert_eq!(validated_steps(&mut s, 4, 40), vec![4, 16, 28, 40]);
        let mut s = playing();
        assert_eq!(validated_steps(&mut s, 1, 25), vec![1, 11, 21]);
    }

    #[test]
    fn schedule_validates_at_the_finish_off_cadence() {
        let mut s = playing();
        assert_eq!(s.after_chunk(chunk(5, 5)), vec![Action::Validate]);
        // The next point is due at 15; the budget ends at 7.
        assert_eq!(s.after_chunk(finishing(2, 7))[0], Action::Validate);
    }

    #[test]
    fn schedule_finishing_stops_posts_finished_and_tests_once() {
        let mut s = playing();
        s.after_chunk(chunk(5, 5));
        let actions = s.after_chunk(finishing(5, 10));
        assert_eq!(
            actions,
            vec![
                Action::Validate,
                Action::Stop(StopReason::Finished { epochs: EPOCHS }),
                Action::Test,
            ]
        );
        assert_eq!(s.next_chunk(), None, "a finished run stops");
        assert!(s.should_test(10));
        s.tested(10);
        // Pausing the stopped run neither stops it again nor tests it again.
        assert!(s.on_pause().is_empty());
        assert!(!s.should_test(10));
    }

    #[test]
    fn schedule_pause_tests_once_per_step() {
        let mut s = playing();
        s.after_chunk(chunk(5, 5));
        assert_eq!(
            s.on_pause(),
            vec![Action::Stop(StopReason::Paused), Action::Test]
        );
        assert_eq!(s.next_chunk(), None, "a paused run stops");
        assert!(s.should_test(5));
        s.tested(5);
        // Play and Pause again without training: the step already has its score.
        s.on_play(SessionState::Unfinished);
        assert_eq!(
            s.on_pause(),
            vec![Action::Stop(StopReason::Paused), Action::Test]
        );
        assert!(!s.should_test(5));
        // A chunk moves the model on, so the next pause scores it again.
        s.on_play(SessionState::Unfinished);
        s.after_chunk(chunk(5, 10));
        s.on_pause();
        assert!(s.should_test(10));
    }

    #[test]
    fn schedule_pause_when_stopped_does_nothing() {
        let mut s = Schedule::new();
        assert!(s.on_pause().is_empty());
        let mut s = playing();
        s.on_pause();
        assert!(s.on_pause().is_empty());
    }

    #[test]
    fn schedule_never_tests_at_step_0() {
        let mut s = Schedule::new();
        s.on_build();
        s.on_built();
        assert!(!s.should_test(0), "an untrained model is not scored");
        assert!(s.should_test(1));
    }

    #[test]
    fn schedule_chunk_forgets_the_last_test() {
        let mut s = playing();
        s.after_chunk(chunk(5, 5));
        s.tested(5);
        s.after_chunk(chunk(3, 8));
        assert!(s.should_test(8));
        // A chunk that trained nothing (a budget cut while running) ends where the last test
        // was: that score stands, and is not repeated.
        s.tested(8);
        s.after_chunk(finishing(0, 8));
        assert!(!s.should_test(8));
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
    fn schedule_play_on_a_finished_session_answers_finished_and_does_not_run() {
        let mut s = Schedule::new();
        assert_eq!(
            s.on_play(SessionState::Finished { epochs: 4 }),
            vec![Action::Stop(StopReason::Finished { epochs: 4 })]
        );
        assert_eq!(s.next_chunk(), None);
        // Running when the budget was cut: Play stops it rather than finishing twice.
        let mut s = playing();
        s.on_play(SessionState::Finished { epochs: 4 });
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
        s.after_chunk(chunk(10, 10));
        s.tested(10);
        s.on_build();
        assert_eq!(s.next_chunk(), None, "a build stops training");
        assert!(s.should_test(10), "the new model has no test score");
        s.on_play(SessionState::Unfinished);
        assert_eq!(
            s.next_chunk(),
            Some(1),
            "the old model's speed is forgotten"
        );
    }

    #[test]
    fn schedule_chunk_after_a_build_resets_cadence() {
        let mut s = playing();
        assert_eq!(validated_steps(&mut s, 5, 20), vec![5, 15]);
        // The old model's next point was due at 25; the new one's first chunk is due at once.
        s.on_build();
        s.on_built();
        s.on_play(SessionState::Unfinished);
        assert_eq!(s.after_chunk(chunk(5, 5)), vec![Action::Validate]);
    }

    #[test]
    fn schedule_step_ms_drives_chunk_size() {
        let mut s = playing();
        assert_eq!(s.next_chunk(), Some(1), "no timing yet");
        s.after_chunk(ChunkOutcome::Trained(Chunk {
            steps: 4,
            elapsed_ms: 20.0,
            steps_done: 4,
            validation_every: EVERY,
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
            validation_every: EVERY,
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
    fn chunk_steps_targets_a_report_interval() {
        assert_eq!(chunk_steps(1.0, 100.0), 64);
        assert_eq!(chunk_steps(10.0, 100.0), 10);
        assert_eq!(chunk_steps(500.0, 100.0), 1);
        assert_eq!(chunk_steps(f64::NAN, 100.0), 1);
        assert_eq!(chunk_steps(0.0, 100.0), 1);
    }
}
