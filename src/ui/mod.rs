//! The page. [`Playground`] is the only orchestrator: it owns the signals, the worker handle and
//! the session counter, and turns control changes into worker commands. The components under it
//! read its signals and call its methods; they hold no logic of their own.

mod architecture;
mod board;
mod charts;
mod controls;
mod figure;
mod panels;
mod race;
mod teach;
mod timing;

use leptos::prelude::*;

use crate::page::dashboard::{Parts, RunState};
use crate::page::device::{DevicePlan, Measured, Shape, plan};
use crate::page::history::{History, RunRecord};
use crate::page::keys::Shortcut;
use crate::page::race::Race;
use crate::page::sweep::SeedSweep;
use crate::page::tabs::Tab;
use crate::protocol::experiment::{DataKind, DeviceChoice, Experiment, ModelKind, models_in_words};
use crate::protocol::{AdapterProbe, Backend, Command, Event, StopReason};
use crate::web::{WorkerClient, probe_webgpu};
use wasm_bindgen::JsCast;

pub use architecture::ArchitectureDiagram;
pub use board::Board;
pub use charts::{GateHeatmap, LineChart, Series};
pub use controls::Controls;
pub use panels::{DeviceStatus, MetricsTable, RunBar};
pub use race::RacePanel;
pub use teach::{CodePanel, LessonCard, LessonsPanel, ModelNotePanel, RunsPanel};

/// The worker scripts Trunk emits (relative, so the page works under any path prefix).
pub fn worker_url(backend: Backend) -> &'static str {
    match backend {
        Backend::Cpu => "./worker_loader.js",
        Backend::Webgpu => "./worker_gpu_loader.js",
    }
}

/// The page's state and the only place that talks to the worker.
#[derive(Clone, Copy)]
pub struct Playground {
    pub experiment: RwSignal<Experiment>,
    /// The current run, as the worker's events left it, part by part ([`Board`]).
    pub dashboard: Board,
    /// Values the page clamped or refused, and fallbacks it took, newest last.
    pub notices: RwSignal<Vec<String>>,
    /// The latest message about each control's value, by control id, shown under the control
    /// (which is marked invalid) until its next accepted edit.
    pub field_messages: RwSignal<Vec<(String, String)>>,
    pub probe: RwSignal<AdapterProbe>,
    /// The backend of the running worker, once it said Ready.
    pub backend: RwSignal<Option<Backend>>,
    /// Why this backend runs, in words.
    pub device_reason: RwSignal<String>,
    /// Auto's timing of both devices, and the setup shape it timed.
    measured: RwSignal<Option<(Shape, Measured)>>,
    /// The timing in progress, with its worker.
    trial: StoredValue<Option<timing::TrialRun>, LocalStorage>,
    /// Bumped by each timing, so a stale worker or deadline knows it is stale.
    trial_id: StoredValue<u32>,
    /// Every paused or finished run.
    pub history: RwSignal<History>,
    /// The seed sweep in progress, if any: the setup's seeds trained side by side.
    pub sweep: RwSignal<Option<SeedSweep>>,
    /// Steps a second the worker holds training to (`None`: full speed), to watch it.
    pub pace: RwSignal<Option<f64>>,
    /// The step a replay of the run shows (the charts and gates as they were then); `None`
    /// shows the run as it is.
    pub replay_at: RwSignal<Option<f64>>,
    /// On a phone, whether the settings drawer (the controls and lessons) is open.
    pub drawer_open: RwSignal<bool>,
    /// The lesson step in progress (lesson, step), shown under the run bar.
    pub lesson: RwSignal<Option<(usize, usize)>>,
    /// The view open under the stage.
    pub tab: RwSignal<Tab>,
    /// The race on screen, if any: setups training side by side, one CPU worker each.
    pub race: RwSignal<Option<Race>>,
    /// The paper figure on screen, if any, and its workers (dropped when it ends); the id
    /// tells a stale worker's events from the current figure's.
    pub figure: RwSignal<Option<crate::page::figure::FigureRun>>,
    figure_workers: StoredValue<Vec<WorkerClient>, LocalStorage>,
    figure_id: StoredValue<u32>,
    /// The race's workers, one per lane; dropped (terminated) when the race ends.
    race_workers: StoredValue<Vec<WorkerClient>, LocalStorage>,
    worker: StoredValue<Option<WorkerClient>, LocalStorage>,
    worker_backend: StoredValue<Option<Backend>>,
    session: StoredValue<u32>,
    /// The current run's id in the history: unique across visits, unlike `session`.
    run_id: StoredValue<String>,
    /// Bumped each time a worker is spawned, so a stale watchdog knows it is stale.
    worker_generation: StoredValue<u32>,
    /// False until [`Playground::start`]: a playground that was never started (in component
    /// tests) keeps its state but spawns no worker.
    started: StoredValue<bool>,
}

/// How long a worker may take to say Ready before the page gives up on it.
pub const READY_TIMEOUT_MS: i32 = 30_000;

impl Playground {
    pub fn new(experiment: Experiment) -> Self {
        Self {
            experiment: RwSignal::new(experiment),
            dashboard: Board::new(),
            notices: RwSignal::new(Vec::new()),
            field_messages: RwSignal::new(Vec::new()),
            probe: RwSignal::new(AdapterProbe::Pending),
            backend: RwSignal::new(None),
            device_reason: RwSignal::new("Starting…".into()),
            measured: RwSignal::new(None),
            trial: StoredValue::new_local(None),
            trial_id: StoredValue::new(0),
            history: RwSignal::new(History::default()),
            sweep: RwSignal::new(None),
            pace: RwSignal::new(None),
            replay_at: RwSignal::new(None),
            drawer_open: RwSignal::new(false),
            lesson: RwSignal::new(None),
            tab: RwSignal::new(Tab::Lessons),
            race: RwSignal::new(None),
            figure: RwSignal::new(None),
            figure_workers: StoredValue::new_local(Vec::new()),
            figure_id: StoredValue::new(0),
            race_workers: StoredValue::new_local(Vec::new()),
            worker: StoredValue::new_local(None),
            worker_backend: StoredValue::new(None),
            session: StoredValue::new(0),
            run_id: StoredValue::new(String::new()),
            worker_generation: StoredValue::new(0),
            started: StoredValue::new(false),
        }
    }

    /// Probes WebGPU, then starts the worker the device choice calls for.
    pub fn start(self) {
        self.started.set_value(true);
        leptos::task::spawn_local(async move {
            let probe = probe_webgpu().await;
            self.probe.set(probe);
            self.apply_device();
        });
    }

    pub fn notify(&self, message: impl Into<String>) {
        let message = message.into();
        self.notices
            .update(|n| crate::page::notices::push_notice(n, message));
    }

    /// Starts the worker for the current device choice, unless it already runs (true if it
    /// started one, which builds the model once ready); where Auto has no timing of this setup
    /// yet, starts it.
    fn apply_device(self) -> bool {
        let device_plan = self.device_plan();
        self.device_reason.set(device_plan.reason);
        let spawn = self.worker_backend.get_value() != Some(device_plan.backend);
        if spawn {
            self.spawn_worker(device_plan.backend);
        }
        self.time_devices();
        spawn
    }

    /// The device the learner's choice, the probe and Auto's timing of this setup call for.
    fn device_plan(self) -> DevicePlan {
        let choice = self.experiment.with_untracked(|e| e.device);
        let measured = self.measured_now();
        self.probe
            .with_untracked(|p| plan(choice, p, measured.as_ref()))
    }

    fn spawn_worker(self, backend: Backend) {
        // Dropping the old client terminates its worker and its training loop.
        self.worker.set_value(None);
        self.backend.set(None);
        self.worker_backend.set_value(Some(backend));
        // What was asked before this worker (a step's Play) still holds for it: see `Ready`.
        let play = self.dashboard.with_untracked(|d| d.plays_when_built());
        self.dashboard.begin(self.session.get_value());
        self.dashboard.update(Parts::RUN, |d| {
            d.status = format!("Starting the {} worker…", backend.label());
            if play {
                d.play_when_built();
            }
        });
        let spawned = WorkerClient::spawn(
            worker_url(backend),
            move |event| self.on_event(event),
            move |message| self.on_worker_failure(backend, message),
        );
        match spawned {
            Ok(client) => self.worker.set_value(Some(client)),
            Err(message) => return self.on_worker_failure(backend, message),
        }
        // A worker whose script or wasm fails to load may never say so: its loader's promise
        // just rejects inside it. Give it a deadline.
        let generation = self.worker_generation.get_value() + 1;
        self.worker_generation.set_value(generation);
        leptos::task::spawn_local(async move {
            crate::web::sleep(READY_TIMEOUT_MS).await;
            let current = self.worker_generation.try_get_value() == Some(generation);
            if current && self.backend.try_get_untracked() == Some(None) {
                self.on_worker_failure(
                    backend,
                    format!("it did not start within {} s", READY_TIMEOUT_MS / 1000),
                );
            }
        });
    }

    fn on_worker_failure(self, backend: Backend, message: String) {
        self.cancel_sweep("the worker failed");
        // Any pending watchdog is about the failed worker.
        self.worker_generation.update_value(|g| *g += 1);
        match backend {
            Backend::Webgpu => {
                self.notify(format!(
                    "WebGPU failed ({message}); training falls back to the CPU device."
                ));
                self.device_reason
                    .set(format!("CPU fallback: WebGPU failed ({message})."));
                self.spawn_worker(Backend::Cpu);
            }
            Backend::Cpu => {
                self.worker.set_value(None);
                self.worker_backend.set_value(None);
                self.dashboard.update(Parts::RUN, |d| {
                    d.error = Some(format!("{message}. Reset to start a new worker."));
                    d.state = RunState::Stopped;
                });
            }
        }
    }

    fn on_event(self, event: Event) {
        match event {
            Event::Ready { backend } => {
                self.backend.set(Some(backend));
                // A new worker starts at full speed: give it the page's pace.
                if let Some(steps_per_sec) = self.pace.get_untracked() {
                    self.send(Command::SetPace {
                        steps_per_sec: Some(steps_per_sec),
                    });
                }
                // A lesson step, sweep or Play asked for before the worker was up trains once
                // its model is built, as it would have a moment later.
                if self.dashboard.with_untracked(|d| d.plays_when_built()) {
                    self.build_and_play();
                } else {
                    self.rebuild();
                }
            }
            Event::DeviceFailed { backend, message } => self.on_worker_failure(backend, message),
            other => {
                if !self.dashboard.apply(&other) {
                    return;
                }
                match other {
                    Event::Test { .. } => {
                        self.record_run();
                        self.advance_sweep();
                    }
                    Event::Stopped {
                        reason: StopReason::NonFinite { .. },
                        ..
                    } => self.cancel_sweep("a loss became NaN"),
                    Event::Error { .. } => self.cancel_sweep("the worker reported an error"),
                    Event::ModelExported { step, bytes, .. } => self.save_model(step, &bytes),
                    _ => {}
                }
            }
        }
    }

    fn send(&self, command: Command) {
        let result = self
            .worker
            .with_value(|w| w.as_ref().map(|w| w.send(&command)));
        if let Some(Err(message)) = result {
            self.notify(message);
        }
    }

    /// Builds a fresh model for the current experiment in a new session.
    pub fn rebuild(self) {
        if !self.started.get_value() {
            self.begin_session();
            return;
        }
        if self.worker.with_value(|w| w.is_none()) {
            self.worker_backend.set_value(None);
            self.apply_device();
            return;
        }
        let session = self.begin_session();
        let experiment = self.experiment.get_untracked();
        self.send(Command::Build {
            session,
            experiment,
        });
        // A setup of another shape is timed again, where Auto times.
        self.time_devices();
    }

    /// A new session: its number (which the worker's events carry) and its run id.
    fn begin_session(self) -> u32 {
        let session = self.session.get_value() + 1;
        self.session.set_value(session);
        self.run_id
            .set_value(RunRecord::new_id(crate::web::now_epoch_ms(), session));
        self.replay_at.set(None);
        self.dashboard.begin(session);
        session
    }

    /// Says `message` about the control `id` under it (None clears it).
    pub fn field_message(self, id: &str, message: Option<String>) {
        self.field_messages.update(|m| {
            m.retain(|(k, _)| k != id);
            if let Some(message) = message {
                m.push((id.to_string(), message));
            }
        });
    }

    /// Applies an edited experiment: clamps it, reports what changed (and returns it), and
    /// rebuilds the model only when the architecture, the data or the seed changed.
    pub fn update(
        self,
        edit: impl FnOnce(&mut Experiment),
    ) -> Vec<crate::protocol::experiment::Notice> {
        let before = self.experiment.get_untracked();
        let mut next = before.clone();
        edit(&mut next);
        let notices = next.sanitize();
        for notice in &notices {
            self.notify(notice.to_string());
        }
        if next == before {
            // Re-set anyway, so an input showing a refused value snaps back.
            self.experiment.set(next);
            return notices;
        }
        self.experiment.set(next.clone());
        if next.device != before.device || before.needs_rebuild(&next) {
            self.cancel_sweep("a setting changed");
        }
        if next.device != before.device {
            // A new backend means a new worker, which rebuilds when it is ready.
            self.apply_device();
        } else if before.needs_rebuild(&next) {
            self.rebuild();
        } else {
            if next.learning_rate != before.learning_rate {
                self.send(Command::SetLearningRate {
                    learning_rate: next.learning_rate,
                });
            }
            if next.loss_weights != before.loss_weights {
                self.send(Command::SetLossWeights {
                    weights: next.loss_weights,
                });
            }
            if next.epochs != before.epochs {
                self.send(Command::SetEpochs {
                    epochs: next.epochs,
                });
                self.dashboard
                    .update(Parts::RUN, |d| d.set_epoch_budget(next.epochs));
            }
            if next.patience != before.patience {
                self.send(Command::SetPatience {
                    patience: next.patience,
                });
            }
        }
        notices
    }

    pub fn select_model(self, model: ModelKind) {
        self.update(|e| *e = e.with_model(model));
    }

    pub fn select_device(self, device: DeviceChoice) {
        self.update(|e| e.device = device);
    }

    /// Sets lesson `l`'s step `s` up (keeping the learner's device choice), builds it and trains
    /// it; a step over several seeds as its seed sweep, one build of its seeds side by side. Its
    /// card under the run bar then says what to watch, and what the run came to.
    pub fn start_lesson_step(self, l: usize, s: usize) {
        let lessons = crate::page::lessons::lessons();
        let Some(step) = lessons.get(l).and_then(|x| x.steps.get(s)) else {
            return;
        };
        let next = (step.setup)();
        // A step starts afresh: the notices so far (a race's verdict, a sweep's summary) were
        // about other setups, often on other data.
        self.notices.set(Vec::new());
        self.update(|e| {
            let device = e.device;
            *e = next;
            e.device = device;
        });
        if step.seeds > 1 {
            self.start_sweep(step.seeds);
        } else {
            // A step trains as soon as it is built, as a step over seeds does (Play goes with
            // the build); Pause or F stops it.
            self.cancel_sweep("a lesson step was set up");
            self.build_and_play();
        }
        self.lesson.set(Some((l, s)));
        self.drawer_open.set(false);
        // The view the step watches, where a tab holds it.
        if let Some(watch) = step.watch {
            self.open_tab_of(watch);
        }
        crate::web::reveal("[data-testid=lesson-step]", true);
    }

    /// At a lesson step after the first, while the page shows that step's setup, the previous
    /// step's curves over its seeds: the metric chart draws them, and the card says so.
    pub fn previous_step_curves(self) -> Option<crate::page::guide::PreviousCurves> {
        let (l, s) = self.lesson.get()?;
        let lessons = crate::page::lessons::lessons();
        let lesson = lessons.get(l)?;
        let setup = (lesson.steps.get(s)?.setup)();
        let shown = self
            .experiment
            .with(|e| e.seed == setup.seed && e.unseeded() == setup.unseeded());
        if !shown {
            return None;
        }
        self.history
            .with(|h| crate::page::guide::previous_curves(lesson, s, h))
    }

    /// Opens the tab under the stage that holds the view `testid`; a view on the stage needs
    /// none.
    fn open_tab_of(self, testid: &str) {
        if let Some(tab) = Tab::holding(testid) {
            self.tab.set(tab);
        }
    }

    /// Opens the tab that holds the view `testid` (if a tab holds it), then scrolls it into
    /// sight: a lesson card's "Show me".
    pub fn show(self, testid: &str) {
        self.open_tab_of(testid);
        crate::web::reveal(format!("[data-testid={testid}]"), false);
    }

    /// Holds training to `steps_per_sec`, or lets it run at full speed.
    pub fn set_pace(self, steps_per_sec: Option<f64>) {
        self.pace.set(steps_per_sec);
        self.send(Command::SetPace { steps_per_sec });
    }

    /// Plays the recorded run back from step 0 to its last step, in about five seconds; moving
    /// the scrubber, training or a new model stops it.
    pub fn play_back(self) {
        const FRAMES: u32 = 100;
        let last = self.dashboard.with_untracked(|d| d.step as f64);
        if last <= 0.0 {
            return;
        }
        leptos::task::spawn_local(async move {
            let mut shown = Some(0.0);
            self.replay_at.set(shown);
            for k in 1..=FRAMES {
                crate::web::sleep(50).await;
                if self.replay_at.try_get_untracked() != Some(shown) {
                    return;
                }
                shown = (k < FRAMES).then(|| (last * k as f64 / FRAMES as f64).round());
                self.replay_at.set(shown);
            }
        });
    }

    pub fn toggle(self) {
        self.replay_at.set(None);
        if self.dashboard.with_untracked(|d| d.is_running()) {
            self.cancel_sweep("training was paused");
            self.send(Command::Pause);
        } else {
            self.dashboard.update(Parts::RUN, |d| d.playing());
            self.send(Command::Play);
        }
    }

    pub fn step(self) {
        self.replay_at.set(None);
        self.send(Command::Step);
    }

    /// "Finish and test": the run ends where it stands, with its best weights tested once.
    pub fn finish(self) {
        self.cancel_sweep("the run was finished by hand");
        self.send(Command::Finish);
    }

    /// New weights, same settings, on the device Auto chose (a timing that ended during the
    /// run takes over here).
    pub fn reset(self) {
        self.cancel_sweep("the model was reset");
        if !self.started.get_value() || !self.apply_device() {
            self.rebuild();
        }
    }

    /// Trains the current setup over `seeds` seeds from its seed on, side by side as one
    /// computation (the replicas of one build); their runs share a group in the history, which
    /// shows their spread.
    pub fn start_sweep(self, seeds: usize) {
        let first = self.experiment.with_untracked(|e| e.seed);
        let sweep = SeedSweep::new(
            format!("sweep-{:.0}", crate::web::now_epoch_ms()),
            first,
            seeds,
        );
        let (first, n) = (sweep.seeds[0], sweep.seeds.len());
        self.sweep.set(Some(sweep));
        // Started from the settings drawer on a phone, the sweep is watched on the stage.
        self.drawer_open.set(false);
        self.experiment.update(|e| {
            e.seed = first;
            e.replicas = n;
        });
        self.build_and_play();
    }

    /// Builds the current setup and sends Play with the build: it trains once built, and says
    /// so from the start.
    fn build_and_play(self) {
        self.rebuild();
        self.dashboard.update(Parts::RUN, |d| d.play_when_built());
        self.send(Command::Play);
    }

    /// After a run's test scores: the sweep is done once its run has finished.
    fn advance_sweep(self) {
        if self.sweep.with_untracked(Option::is_none)
            || !self
                .dashboard
                .with_untracked(|d| d.state == RunState::Finished)
        {
            return;
        }
        let n = self
            .sweep
            .with_untracked(|s| s.as_ref().map_or(0, |s| s.seeds.len()));
        self.sweep.set(None);
        self.notify(format!(
            "Trained {n} seeds side by side: the Runs panel shows their mean ± sd."
        ));
    }

    /// Stops a sweep in progress (the runs it finished stay grouped), and says why.
    fn cancel_sweep(self, why: &str) {
        if let Some(sweep) = self.sweep.get_untracked() {
            self.sweep.set(None);
            self.notify(format!(
                "The seed sweep of {} seeds stopped: {why}.",
                sweep.seeds.len()
            ));
        }
    }

    /// Keeps the current run (with its test scores) in the history.
    fn record_run(self) {
        let backend = self
            .backend
            .get_untracked()
            .map(|b| b.label())
            .unwrap_or("?");
        let id = self.run_id.get_value();
        let group = self
            .sweep
            .with_untracked(|s| s.as_ref().map(|s| s.group.clone()));
        let record = self.dashboard.with_untracked(|d| {
            self.experiment.with_untracked(|e| {
                RunRecord::from_dashboard(
                    &id,
                    group.as_deref(),
                    d,
                    e,
                    backend,
                    crate::web::now_epoch_ms(),
                )
            })
        });
        if !record.is_empty() {
            self.history
                .update(|h| record.into_iter().for_each(|r| h.record(r)));
        }
    }

    /// Adds the runs of an exported history file that are not here yet, and says how many (in
    /// the notices, and to the caller, which says it beside the control).
    pub fn import_history(self, text: &str) -> String {
        let said = match History::parse_import(text) {
            Ok(other) => {
                let total = other.runs.len();
                let added = self.history.try_update(|h| h.import(other)).unwrap_or(0);
                format!(
                    "Imported {added} of the file's {total} runs ({} already here).",
                    total - added
                )
            }
            Err(e) => format!("Nothing imported: {e}."),
        };
        self.notify(said.clone());
        said
    }

    pub fn clear_history(self) {
        self.history.set(History::default());
    }

    /// Downloads the current run's config and metrics as JSON.
    pub fn export_run(self) {
        let json = self.dashboard.with_untracked(|d| {
            serde_json::json!({
                "experiment": self.experiment.get_untracked(),
                "query": self.experiment.with_untracked(crate::protocol::fields::to_query),
                "backend": self.backend.get_untracked().map(|b| b.label()),
                "params": d.info.as_ref().map(|i| i.params),
                "step": d.step,
                "epoch": d.epoch,
                "validation_auc": d.latest_auc(),
                "test": d.test,
                "gates": d.info.as_ref().map(|i| i.gates.gates.iter().zip(i.gate_labels()).zip(&d.gates).map(|((g, label), w)| serde_json::json!({"gate": label, "experts": g.experts.iter().map(|x| i.gates.expert_name(x)).collect::<Vec<_>>(), "weights": w})).collect::<Vec<_>>()),
            })
        });
        let name = self
            .experiment
            .with_untracked(|e| format!("mtl-{}-seed{}.json", e.model.slug(), e.seed));
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        if let Err(e) = crate::web::download(&name, "application/json", &text) {
            self.notify(e);
        }
    }

    /// Asks the worker for the trained model; [`Playground::save_model`] downloads it.
    pub fn export_model(self) {
        self.send(Command::ExportModel);
    }

    fn save_model(self, step: u64, bytes: &[u8]) {
        let name = self.experiment.with_untracked(|e| {
            // `.bpk`: Burn's extension for burnpack records (the UI links no Burn to ask it).
            format!("mtl-{}-seed{}-step{step}.bpk", e.model.slug(), e.seed)
        });
        match crate::web::download_bytes(&name, "application/octet-stream", bytes) {
            Ok(()) => self.notify(format!(
                "Saved {name}, a Burn record with the model's config. Score it natively with \
                 `cargo run --release -p mtl -- eval {name}`."
            )),
            Err(e) => self.notify(e),
        }
    }

    /// Races `setups` side by side, each in a CPU worker of its own: the current run pauses
    /// (it would take a core), a race already on is stopped, and each lane builds and plays as
    /// soon as its worker is ready (a message sent before then could be lost while the
    /// worker's wasm loads). Their runs go into the history, grouped, as each ends; the workers
    /// are terminated when the last one does. Setups on different rows are refused
    /// ([`Race::new`] says why): the error is the sentence the notices show, for the control
    /// that asked to say beside it.
    pub fn start_race(self, setups: Vec<Experiment>) -> Result<(), String> {
        let id = format!("race-{:.0}", crate::web::now_epoch_ms());
        let race = Race::new(id.clone(), setups).map_err(|e| self.no_race(e))?;
        self.stop_race();
        if self.dashboard.with_untracked(|d| d.is_running()) {
            self.toggle();
        }
        let mut workers = Vec::new();
        for lane in 0..race.lanes.len() {
            let (race_id, fail_id) = (id.clone(), id.clone());
            let spawned = WorkerClient::spawn(
                worker_url(Backend::Cpu),
                move |event| self.on_lane_event(&race_id, lane, event),
                move |message| self.on_lane_failure(&fail_id, lane, message),
            );
            workers.push(spawned.map_err(|e| self.no_race(e))?);
        }
        self.race_workers.set_value(workers);
        self.race.set(Some(race));
        self.tab.set(Tab::Race);
        Ok(())
    }

    /// Says in the notices why there is no race, and returns the sentence.
    fn no_race(self, why: String) -> String {
        let said = format!("No race: {why}.");
        self.notify(said.clone());
        said
    }

    /// Stops the race on screen, if one is training: its workers are terminated; the lanes
    /// keep what they showed.
    pub fn stop_race(self) {
        self.race_workers.set_value(Vec::new());
        self.race.update(|r| {
            if let Some(r) = r {
                r.stop();
            }
        });
    }

    fn on_lane_event(self, race_id: &str, lane: usize, event: Event) {
        let current = self
            .race
            .with_untracked(|r| r.as_ref().is_some_and(|r| r.id == race_id));
        if !current {
            return;
        }
        if let Event::Ready { .. } = event {
            let experiment = self.race.with_untracked(|r| {
                r.as_ref()
                    .and_then(|r| r.lanes.get(lane))
                    .map(|l| l.experiment.clone())
            });
            let sent = self.race_workers.with_value(|w| {
                let (Some(worker), Some(experiment)) = (w.get(lane), experiment) else {
                    return Ok(());
                };
                worker.send(&Command::Build {
                    session: crate::page::race::LANE_SESSION,
                    experiment,
                })?;
                worker.send(&Command::Play)
            });
            if let Err(e) = sent {
                self.on_lane_failure(race_id, lane, e);
            }
            return;
        }
        let now = crate::web::now();
        let taken = self
            .race
            .try_update(|r| r.as_mut().is_some_and(|r| r.apply(lane, &event, now)))
            .unwrap_or(false);
        if taken && matches!(event, Event::Test { .. }) {
            self.record_lane(lane);
        }
        if taken {
            self.finish_race_if_over();
        }
    }

    fn on_lane_failure(self, race_id: &str, lane: usize, message: String) {
        let current = self
            .race
            .with_untracked(|r| r.as_ref().is_some_and(|r| r.id == race_id));
        if current {
            self.race.update(|r| {
                if let Some(r) = r {
                    r.fail(lane, format!("{message}."));
                }
            });
            self.finish_race_if_over();
        }
    }

    /// Once every lane is done: the workers go (after this event's handler has returned, since
    /// one of them is delivering it), and the result is said.
    fn finish_race_if_over(self) {
        let over = self
            .race
            .with_untracked(|r| r.as_ref().map(|r| (r.is_over(), r.summary())));
        if let Some((true, summary)) = over {
            leptos::task::spawn_local(async move {
                self.race_workers.set_value(Vec::new());
            });
            self.notify(format!("Race over. {summary}"));
        }
    }

    /// Keeps a lane's ended run in the history, in the race's group.
    fn record_lane(self, lane: usize) {
        let record = self.race.with_untracked(|r| {
            let Some((r, l)) = r.as_ref().and_then(|r| Some((r, r.lanes.get(lane)?))) else {
                return Vec::new();
            };
            RunRecord::from_dashboard(
                &format!("{}-{lane}", r.id),
                Some(&r.id),
                &l.dashboard,
                &l.experiment,
                Backend::Cpu.label(),
                crate::web::now_epoch_ms(),
            )
        });
        if !record.is_empty() {
            self.history
                .update(|h| record.into_iter().for_each(|r| h.record(r)));
        }
    }

    /// The current session, which every event must carry to be shown.
    pub fn session(&self) -> u32 {
        self.session.get_value()
    }

    /// Feeds an event as if the worker had sent it (component tests drive the page this way).
    pub fn receive(self, event: Event) {
        self.on_event(event);
    }
}

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    // The URL holds the whole experiment; whatever it holds is checked and reported.
    let (experiment, notices) = crate::protocol::fields::from_query(&crate::web::location_search());
    let playground = Playground::new(experiment);
    for n in notices {
        playground.notify(format!("Link: {n}"));
    }
    provide_context(playground);
    teach::restore_history(playground);
    Effect::new(move |_| {
        let query = playground
            .experiment
            .with(crate::protocol::fields::to_query);
        crate::web::replace_query(&query);
    });
    playground.start();
    // Keyboard shortcuts, anywhere but in a field (crate::page::keys says which key does what).
    let _keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let target: Option<web_sys::Element> = ev.target().and_then(|t| t.dyn_into().ok());
        let tag = target.as_ref().map(|t| t.tag_name()).unwrap_or_default();
        let editable = target
            .as_ref()
            .is_some_and(|t| t.get_attribute("contenteditable").is_some());
        let modifiers = ev.ctrl_key() || ev.meta_key() || ev.alt_key();
        let Some(action) = crate::page::keys::shortcut(&ev.key(), &tag, editable, modifiers) else {
            return;
        };
        ev.prevent_default();
        // Three facts of the run, read in place: a key press clones nothing.
        let (trainable, running, trained) = playground
            .dashboard
            .with_untracked(|d| (d.can_train(), d.is_running(), d.step > 0));
        match action {
            Shortcut::PlayPause if trainable || running => playground.toggle(),
            Shortcut::Step if trainable && !running => playground.step(),
            Shortcut::FinishAndTest if trainable && trained => playground.finish(),
            Shortcut::Reset => playground.reset(),
            _ => {}
        }
    });
    view! {
        <a class="skip-link" href="#toolbar" data-testid="skip-to-toolbar">"Skip to the training controls"</a>
        <header class="top">
            <div class="top-row">
                <h1>"Multi-task learning playground"</h1>
                <button type="button" class="start-here" data-testid="start-here"
                    title="The first guided experiment: it sets the page up, and its card says what to watch"
                    on:click=move |_| playground.start_lesson_step(0, 0)>
                    // The title without its own number ("1. Shared-Bottom against …").
                    {format!(
                        "New here? Start lesson 1: {} →",
                        crate::page::lessons::lessons()
                            .first()
                            .map_or("", |l| l.title.split_once(". ").map_or(l.title, |(_, t)| t))
                    )}
                </button>
            </div>
            <p class="tagline">
                {move || format!(
                    "Train {} models in your browser. ",
                    playground.experiment.with(|e| models_in_words(e.data))
                )}
                {move || match playground.experiment.with(|e| e.data) {
                    DataKind::Adult => "On UCI Adult: task 1 income > 50K, task 2 never married.",
                    DataKind::Correlated => "On the MMoE paper's synthetic tasks: two regressions whose correlation you set.",
                    DataKind::Funnel => "On a synthetic funnel: impressions → clicks → conversions, with the conversions of the unclicked ones kept.",
                }}
            </p>
            <p class="hint keys" data-testid="shortcuts">{format!("Keys: {}.", crate::page::keys::legend())}</p>
        </header>
        <main class="layout">
            <div class="side" id="settings" class:open=move || playground.drawer_open.get()>
                <button type="button" class="drawer-close" data-testid="settings-close" aria-controls="settings"
                    on:click=move |_| playground.drawer_open.set(false)>"Close settings ✕"</button>
                <Controls />
                <ModelNotePanel />
            </div>
            <section class="results" aria-label="Training results">
                <RunBar />
                <LessonCard />
                <panels::Notices />
                // The stage: the data, the model and the curves in sight together.
                <div class="stage">
                    <div class="stage-left">
                        <charts::DataView />
                        <div class="stage-model">
                            <ArchitectureDiagram />
                            <charts::ConflictMeter />
                        </div>
                    </div>
                    <div class="stage-right">
                        <charts::LossChart />
                        <charts::AucChart />
                    </div>
                </div>
                <DeviceStatus />
                <panels::TabBar />
                <panels::TabPanel tab=Tab::Lessons><LessonsPanel /></panels::TabPanel>
                <panels::TabPanel tab=Tab::Scores><MetricsTable /></panels::TabPanel>
                <panels::TabPanel tab=Tab::Gates>
                    <GateHeatmap />
                    <charts::GateHistoryChart />
                </panels::TabPanel>
                <panels::TabPanel tab=Tab::Conflict><charts::GradientConflictChart /></panels::TabPanel>
                <panels::TabPanel tab=Tab::Race><RacePanel /></panels::TabPanel>
                <panels::TabPanel tab=Tab::Figure><figure::PaperFigurePanel /></panels::TabPanel>
                <panels::TabPanel tab=Tab::Runs><RunsPanel /></panels::TabPanel>
                <panels::TabPanel tab=Tab::Code><CodePanel /></panels::TabPanel>
            </section>
        </main>
        <footer class="foot">
            "The Adult data: UCI (Becker & Kohavi, 1996), CC BY 4.0. The correlated tasks and the funnel are synthetic, drawn in your browser. Built with Burn, Leptos and Trunk."
        </footer>
    }
}
