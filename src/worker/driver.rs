//! The training worker: a [`Driver`] that owns the device and the [`Training`], takes
//! [`Command`]s in order, trains between them, and posts [`Event`]s. One async loop does all
//! the work, so a command never meets a half-finished step, and Pause is heard between chunks.
//! When to train, score and stop is the [`Schedule`]'s to say; the driver asks it and does the
//! I/O (reading tensors, posting events, awaiting).
//!
//! The driver does not know it runs in a worker: the caller gives it an outbox and a data
//! source. The worker binaries wire it to `postMessage`; the browser tests run it in the page.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Function, Promise};
use mtl::burn::tensor::Device;
use mtl::data::Dataset;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::protocol::experiment::{DataKey, DataKind, Experiment};
use crate::protocol::{Backend, Command, Event, FigureJob};
use crate::web::{fetch_bytes, now, sleep, to_js};
use crate::worker::runner::{FigureTraining, RunError, Training, load_data, synthetic_data};
use crate::worker::schedule::{Action, Chunk, ChunkOutcome, Schedule, SessionState};

/// Steps of a paper-figure job between two progress reports: about 0.1-0.3 s in the CPU worker.
const FIGURE_CHUNK_STEPS: usize = 100;

/// Where the Adult files come from.
pub enum DataSource {
    /// Fetched relative to the worker script (Trunk copies `assets/` next to it).
    Fetch { train_url: String, test_url: String },
    /// Already in memory (browser tests).
    Bytes { train: Vec<u8>, test: Vec<u8> },
}

impl DataSource {
    pub fn served() -> Self {
        DataSource::Fetch {
            train_url: "./assets/adult.data.gz".into(),
            test_url: "./assets/adult.test.gz".into(),
        }
    }
}

pub struct Driver {
    backend: Backend,
    device: Device,
    source: RefCell<DataSource>,
    outbox: Box<dyn Fn(&Event)>,
    queue: RefCell<VecDeque<Command>>,
    /// Resolves the driver's wait for the next command.
    wake: RefCell<Option<Function>>,
    /// Data sets already decoded or drawn, by the rows they hold.
    data: RefCell<Vec<(DataKey, Rc<Dataset>)>>,
    training: RefCell<Option<Training>>,
    /// When to train, score and stop. Never borrowed across an `await`.
    schedule: RefCell<Schedule>,
}

impl Driver {
    pub fn new(
        backend: Backend,
        device: Device,
        source: DataSource,
        outbox: impl Fn(&Event) + 'static,
    ) -> Rc<Self> {
        Rc::new(Self {
            backend,
            device,
            source: RefCell::new(source),
            outbox: Box::new(outbox),
            queue: RefCell::new(VecDeque::new()),
            wake: RefCell::new(None),
            data: RefCell::new(Vec::new()),
            training: RefCell::new(None),
            schedule: RefCell::new(Schedule::new()),
        })
    }

    /// Queues a command; the loop handles it before its next chunk of training.
    pub fn push(&self, command: Command) {
        self.queue.borrow_mut().push_back(command);
        if let Some(wake) = self.wake.borrow_mut().take() {
            let _ = wake.call0(&JsValue::NULL);
        }
    }

    fn post(&self, event: Event) {
        (self.outbox)(&event);
    }

    fn session_id(&self) -> u32 {
        self.training
            .borrow()
            .as_ref()
            .map(|s| s.session)
            .unwrap_or(0)
    }

    /// The model as the schedule sees it.
    fn session_state(&self) -> SessionState {
        self.training
            .borrow()
            .as_ref()
            .map_or(SessionState::Absent, Training::state)
    }

    /// The loop: commands first, then one chunk of training if playing, else wait.
    pub async fn run(self: Rc<Self>) {
        self.post(Event::Ready {
            backend: self.backend,
        });
        loop {
            let next = self.queue.borrow_mut().pop_front();
            if let Some(command) = next {
                self.handle(command).await;
                continue;
            }
            let chunk = self.schedule.borrow().next_chunk();
            if let Some(steps) = chunk {
                let started = now();
                self.perform(vec![Action::Train(steps)]).await;
                // Yield to the event loop, so Pause and other messages arrive; at a pace, wait
                // out the rest of the chunk's time.
                let delay = self.schedule.borrow().delay_ms(steps, now() - started);
                sleep(delay.round() as i32).await;
                continue;
            }
            let promise = Promise::new(&mut |resolve, _| {
                *self.wake.borrow_mut() = Some(resolve);
            });
            if !self.queue.borrow().is_empty() {
                self.wake.borrow_mut().take();
                continue;
            }
            let _ = JsFuture::from(promise).await;
        }
    }

    async fn handle(&self, command: Command) {
        match command {
            Command::Build {
                session,
                experiment,
            } => self.build(session, experiment).await,
            Command::Play => {
                let state = self.session_state();
                let actions = self.schedule.borrow_mut().on_play(state);
                self.perform(actions).await;
            }
            Command::Pause => {
                let actions = self.schedule.borrow_mut().on_pause();
                self.perform(actions).await;
            }
            Command::Step => {
                let state = self.session_state();
                let actions = self.schedule.borrow_mut().on_step(state);
                self.perform(actions).await;
            }
            Command::SetLearningRate { learning_rate } => {
                self.set_live(|s| s.set_learning_rate(learning_rate))
            }
            Command::SetLossWeights { weights } => self.set_live(|s| s.set_loss_weights(weights)),
            Command::SetEpochs { epochs } => {
                if let Some(s) = self.training.borrow_mut().as_mut() {
                    s.experiment.epochs = epochs.max(1);
                }
            }
            Command::SetPatience { patience } => {
                if let Some(s) = self.training.borrow_mut().as_mut() {
                    s.experiment.patience = patience;
                }
            }
            Command::SetPace { steps_per_sec } => {
                self.schedule.borrow_mut().set_pace(steps_per_sec)
            }
            Command::Finish => {
                let state = self.session_state();
                let actions = self.schedule.borrow_mut().on_finish(state);
                self.perform(actions).await;
            }
            Command::ExportModel => self.export_model().await,
            Command::Figure { session, job } => self.figure(session, job).await,
        }
    }

    /// Trains one paper-figure job in chunks, saying after each how far it has come (and
    /// yielding, so the worker never blocks for long), then scores it with one asynchronous read.
    async fn figure(&self, session: u32, job: FigureJob) {
        let mut training = match FigureTraining::new(job, &self.device) {
            Ok(training) => training,
            Err(e) => {
                return self.post(Event::Error {
                    session,
                    message: e.to_string(),
                });
            }
        };
        let of = training.steps();
        while !training.finished() {
            let done = training.train(FIGURE_CHUNK_STEPS);
            self.post(Event::FigureProgress { session, done, of });
            sleep(0).await;
        }
        match training.score().read_async().await {
            Ok(cells) => self.post(Event::FigureCells { session, cells }),
            Err(e) => self.post(Event::Error {
                session,
                message: e.to_string(),
            }),
        }
    }

    /// Does what the schedule asked, in order. What a chunk or a validation point leads to
    /// comes before anything asked for after it.
    async fn perform(&self, actions: Vec<Action>) {
        let mut todo = VecDeque::from(actions);
        while let Some(action) = todo.pop_front() {
            match action {
                Action::Train(steps) => {
                    let outcome = self.train_steps(steps).await;
                    let next = self.schedule.borrow_mut().after_chunk(outcome);
                    for action in next.into_iter().rev() {
                        todo.push_front(action);
                    }
                }
                Action::Validate => {
                    for action in self.validate().await.into_iter().rev() {
                        todo.push_front(action);
                    }
                }
                Action::KeepBest(which) => {
                    if let Some(s) = self.training.borrow_mut().as_mut() {
                        s.keep_best(&which);
                    }
                }
                Action::Conclude => self.conclude().await,
                Action::Stop(reason) => self.post(Event::Stopped {
                    session: self.session_id(),
                    reason,
                }),
                Action::Error(message) => self.post(Event::Error {
                    session: self.session_id(),
                    message,
                }),
            }
        }
    }

    /// Reads the weights off the device without blocking and sends them as a model file.
    async fn export_model(&self) {
        let Some((id, step, pending)) = self
            .training
            .borrow()
            .as_ref()
            .map(|s| (s.session, s.steps(), s.export()))
        else {
            self.post(Event::Error {
                session: 0,
                message: "there is no model to save yet".into(),
            });
            return;
        };
        match pending.read_async().await {
            Ok(bytes) => self.post(Event::ModelExported {
                session: id,
                step,
                bytes: serde_bytes::ByteBuf::from(bytes),
            }),
            Err(e) => self.post(Event::Error {
                session: id,
                message: e.to_string(),
            }),
        }
    }

    /// Applies a live setting to the current model; a refused value is reported, not applied.
    fn set_live(&self, apply: impl FnOnce(&mut Training) -> Result<(), RunError>) {
        let result = self.training.borrow_mut().as_mut().map(apply);
        if let Some(Err(e)) = result {
            self.post(Event::Error {
                session: self.session_id(),
                message: e.to_string(),
            });
        }
    }

    async fn data(&self, session: u32, e: &Experiment) -> Result<Rc<Dataset>, String> {
        let key = e.data_key();
        if let Some((_, d)) = self.data.borrow().iter().find(|(k, _)| *k == key) {
            return Ok(d.clone());
        }
        let started = now();
        if let Some(drawn) = synthetic_data(e) {
            let data = Rc::new(drawn.map_err(|err| err.to_string())?);
            let what = match e.data {
                DataKind::Funnel => "impressions of the funnel",
                _ => "rows of correlated tasks",
            };
            self.post(Event::Status {
                session,
                message: format!(
                    "Drew {} {what} in {:.0} ms.",
                    data.train.len + data.valid.len + data.test.len,
                    now() - started
                ),
            });
            self.data.borrow_mut().push((key, data.clone()));
            return Ok(data);
        }
        let relationship = e.relationship;
        let fetch = match &*self.source.borrow() {
            DataSource::Fetch {
                train_url,
                test_url,
            } => Some((train_url.clone(), test_url.clone())),
            DataSource::Bytes { .. } => None,
        };
        if let Some((train_url, test_url)) = fetch {
            self.post(Event::Status {
                session,
                message: "Loading the Adult data…".into(),
            });
            let train = fetch_bytes(&train_url).await?;
            let test = fetch_bytes(&test_url).await?;
            *self.source.borrow_mut() = DataSource::Bytes { train, test };
        }
        let data = match &*self.source.borrow() {
            DataSource::Bytes { train, test } => {
                load_data(train, test, relationship).map_err(|e| e.to_string())?
            }
            DataSource::Fetch { .. } => return Err("the data did not arrive".into()),
        };
        let data = Rc::new(data);
        self.data.borrow_mut().push((key, data.clone()));
        Ok(data)
    }

    /// The data sets of an experiment's replicas: Adult's one, shared, or on a synthetic data
    /// set one drawn per seed. Draws of other knobs or seeds are let go first.
    async fn datasets(&self, session: u32, e: &Experiment) -> Result<Vec<Rc<Dataset>>, String> {
        if e.data == DataKind::Adult {
            return Ok(vec![self.data(session, e).await?]);
        }
        let each: Vec<Experiment> = e.seeds().into_iter().map(|s| e.reseeded(s)).collect();
        let keys: Vec<_> = each.iter().map(Experiment::data_key).collect();
        self.data
            .borrow_mut()
            .retain(|(k, _)| k.data() != e.data || keys.contains(k));
        let mut sets = Vec::with_capacity(each.len());
        for one in &each {
            sets.push(self.data(session, one).await?);
        }
        Ok(sets)
    }

    async fn build(&self, session: u32, experiment: Experiment) {
        self.schedule.borrow_mut().on_build();
        // Free the old model's buffers before allocating the new one.
        self.training.borrow_mut().take();
        let data = match self.datasets(session, &experiment).await {
            Ok(d) => d,
            Err(message) => {
                self.post(Event::Error { session, message });
                return;
            }
        };
        // A newer Build may have arrived while the data loaded; it wins.
        if self
            .queue
            .borrow()
            .iter()
            .any(|c| matches!(c, Command::Build { .. }))
        {
            return;
        }
        self.post(Event::Status {
            session,
            message: format!("Building {}…", experiment.model.label()),
        });
        let data: Vec<&Dataset> = data.iter().map(|d| &**d).collect();
        match Training::new(session, &experiment, &data, &self.device) {
            Ok(s) => {
                let actions = self.schedule.borrow_mut().on_built(s.validation_every());
                self.post(Event::Built {
                    session,
                    info: s.info().clone(),
                });
                *self.training.borrow_mut() = Some(s);
                self.perform(actions).await;
            }
            Err(e) => self.post(Event::Error {
                session,
                message: e.to_string(),
            }),
        }
    }

    /// Trains `steps` steps, posts the progress, and says how it went for the schedule.
    async fn train_steps(&self, steps: usize) -> ChunkOutcome {
        let started = now();
        let Some(pending) = self
            .training
            .borrow_mut()
            .as_mut()
            .map(|s| s.train_chunk(steps))
        else {
            return ChunkOutcome::NoModel;
        };
        let result = pending.read_async().await;
        let elapsed = now() - started;
        let chunk = match result {
            Ok(chunk) => chunk,
            Err(e) => {
                return match e.non_finite() {
                    Some(message) => ChunkOutcome::NonFinite(message),
                    None => ChunkOutcome::Failed(e.to_string()),
                };
            }
        };
        let wall = self.schedule.borrow().wall_ms(chunk.steps, elapsed);
        self.post(Event::Progress {
            session: self.session_id(),
            progress: chunk.progress(wall),
        });
        match self.training.borrow().as_ref() {
            Some(s) => ChunkOutcome::Trained(Chunk {
                steps: chunk.steps,
                elapsed_ms: elapsed,
                steps_done: s.steps(),
                finished: s.finished(),
                epochs: s.experiment.epochs,
            }),
            // The model trained this chunk, and nothing runs between its read and here.
            None => ChunkOutcome::NoModel,
        }
    }

    /// Scores the validation split, posts the point, and answers what selection makes of it.
    async fn validate(&self) -> Vec<Action> {
        let Some((id, pending)) = self
            .training
            .borrow()
            .as_ref()
            .map(|s| (s.session, s.validation()))
        else {
            return Vec::new();
        };
        let report = match pending.read_async().await {
            Ok(report) => report,
            Err(e) => {
                self.post(Event::Error {
                    session: id,
                    message: e.to_string(),
                });
                return Vec::new();
            }
        };
        let Some((point, validated)) = self
            .training
            .borrow_mut()
            .as_mut()
            .map(|s| s.validated(&report))
        else {
            return Vec::new();
        };
        self.post(Event::Validation { session: id, point });
        self.schedule.borrow_mut().after_validation(validated)
    }

    /// Ends the run: the best weights back, and the test split scored with them, once.
    async fn conclude(&self) {
        let Some((id, pending)) = self
            .training
            .borrow_mut()
            .as_mut()
            .map(|s| (s.session, s.conclude()))
        else {
            return;
        };
        match pending.read_async().await {
            Ok(report) => self.post(Event::Test {
                session: id,
                report,
            }),
            Err(e) => self.post(Event::Error {
                session: id,
                message: e.to_string(),
            }),
        }
    }
}

/// Starts a worker: initialises `device`, then runs a [`Driver`] wired to `postMessage`.
/// Commands that arrive before the driver exists are queued, not lost.
pub fn start(
    backend: Backend,
    device: impl std::future::Future<Output = Result<Device, String>> + 'static,
) {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    // A panic here would otherwise kill the worker silently (it happens inside a promise, which
    // the page never hears about). Tell the page first: it falls back to the CPU worker (after a
    // lost WebGPU device, say) or offers a reset.
    let panic_scope = scope.clone();
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        let event = Event::DeviceFailed {
            backend,
            message: format!("the {} worker crashed: {info}", backend.label()),
        };
        if let Ok(value) = to_js(&event) {
            let _ = panic_scope.post_message(&value);
        }
    }));
    let early: Rc<RefCell<Vec<Command>>> = Rc::default();
    let driver_slot: Rc<RefCell<Option<Rc<Driver>>>> = Rc::default();
    let post_scope = scope.clone();
    let outbox = move |event: &Event| {
        if let Ok(value) = to_js(event) {
            let _ = post_scope.post_message(&value);
        }
    };
    {
        let early = early.clone();
        let driver_slot = driver_slot.clone();
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |msg: web_sys::MessageEvent| {
                let command = crate::web::from_js::<Command>(msg.data());
                match (command, driver_slot.borrow().as_ref()) {
                    (Ok(c), Some(d)) => d.push(c),
                    (Ok(c), None) => early.borrow_mut().push(c),
                    (Err(_), _) => {}
                }
            });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
    }
    wasm_bindgen_futures::spawn_local(async move {
        match device.await {
            Ok(device) => {
                let driver = Driver::new(backend, device, DataSource::served(), outbox);
                for c in early.borrow_mut().drain(..) {
                    driver.push(c);
                }
                *driver_slot.borrow_mut() = Some(driver.clone());
                driver.run().await;
            }
            Err(message) => outbox(&Event::DeviceFailed { backend, message }),
        }
    });
}
