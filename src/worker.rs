//! The training worker: a [`Driver`] that owns the device and the [`Session`], takes
//! [`Command`]s in order, trains between them, and posts [`Event`]s. One async loop does all
//! the work, so a command never meets a half-finished step, and Pause is heard between chunks.
//!
//! The driver does not know it runs in a worker: the caller gives it an outbox and a data
//! source. The worker binaries wire it to `postMessage`; the browser tests run it in the page.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Function, Promise};
use mtl::burn::tensor::Device;
use mtl::data::AdultData;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{Backend, Command, Event, StopReason};
use crate::runner::{RunError, Session, chunk_steps, eval_point, load_data, test_report};
use crate::web::{fetch_bytes, now, sleep, to_js};

/// Milliseconds of training per progress report: about ten updates a second.
pub const REPORT_MS: f64 = 100.0;

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
    /// Decoded data, with and without `relationship`.
    data: RefCell<Vec<(bool, Rc<AdultData>)>>,
    session: RefCell<Option<Session>>,
    running: Cell<bool>,
    step_ms: Cell<f64>,
    next_validation: Cell<u64>,
    tested_at: Cell<Option<u64>>,
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
            session: RefCell::new(None),
            running: Cell::new(false),
            step_ms: Cell::new(f64::NAN),
            next_validation: Cell::new(0),
            tested_at: Cell::new(None),
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
        self.session.borrow().as_ref().map(|s| s.id).unwrap_or(0)
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
            if self.running.get() {
                self.train_chunk().await;
                // Yield to the event loop, so Pause and other messages arrive.
                sleep(0).await;
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
                let finished = self.session.borrow().as_ref().map(|s| s.finished());
                match finished {
                    Some(false) => self.running.set(true),
                    Some(true) => {
                        let (id, epochs) = self.with_session(|s| (s.id, s.experiment.epochs));
                        self.post(Event::Stopped {
                            session: id,
                            reason: StopReason::Finished { epochs },
                        });
                    }
                    None => self.post(Event::Error {
                        session: 0,
                        message: "there is no model yet".into(),
                    }),
                }
            }
            Command::Pause => {
                if self.running.replace(false) {
                    self.post(Event::Stopped {
                        session: self.session_id(),
                        reason: StopReason::Paused,
                    });
                    self.evaluate_test().await;
                }
            }
            Command::Step => {
                self.running.set(false);
                if self
                    .session
                    .borrow()
                    .as_ref()
                    .is_some_and(|s| !s.finished())
                {
                    self.train_steps(1).await;
                }
            }
            Command::SetLearningRate { learning_rate } => {
                self.set_live(|s| s.set_learning_rate(learning_rate))
            }
            Command::SetLossWeights { weights } => self.set_live(|s| s.set_loss_weights(weights)),
            Command::SetEpochs { epochs } => {
                if let Some(s) = self.session.borrow_mut().as_mut() {
                    s.experiment.epochs = epochs.max(1);
                }
            }
            Command::Evaluate => {
                self.tested_at.set(None);
                self.evaluate_test().await;
            }
            Command::ExportModel => self.export_model().await,
        }
    }

    /// Reads the weights off the device without blocking and sends them as a model file.
    async fn export_model(&self) {
        let Some((id, step, pending)) = self
            .session
            .borrow()
            .as_ref()
            .map(|s| (s.id, s.steps(), s.export()))
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
    fn set_live(&self, apply: impl FnOnce(&mut Session) -> Result<(), RunError>) {
        let result = self.session.borrow_mut().as_mut().map(apply);
        if let Some(Err(e)) = result {
            self.post(Event::Error {
                session: self.session_id(),
                message: e.to_string(),
            });
        }
    }

    fn with_session<T: Default>(&self, f: impl FnOnce(&Session) -> T) -> T {
        self.session.borrow().as_ref().map(f).unwrap_or_default()
    }

    async fn data(&self, session: u32, relationship: bool) -> Result<Rc<AdultData>, String> {
        if let Some((_, d)) = self.data.borrow().iter().find(|(r, _)| *r == relationship) {
            return Ok(d.clone());
        }
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
        self.data.borrow_mut().push((relationship, data.clone()));
        Ok(data)
    }

    async fn build(&self, session: u32, experiment: crate::experiment::Experiment) {
        self.running.set(false);
        // Free the old model's buffers before allocating the new one.
        self.session.borrow_mut().take();
        self.tested_at.set(None);
        self.step_ms.set(f64::NAN);
        let data = match self.data(session, experiment.relationship).await {
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
        match Session::new(session, &experiment, &data, &self.device) {
            Ok(s) => {
                self.next_validation.set(0);
                self.post(Event::Built {
                    session,
                    info: s.info().clone(),
                });
                *self.session.borrow_mut() = Some(s);
                // Score the untrained model, so the curves start at step 0.
                self.validate().await;
            }
            Err(e) => self.post(Event::Error {
                session,
                message: e.to_string(),
            }),
        }
    }

    async fn train_chunk(&self) {
        let steps = chunk_steps(self.step_ms.get(), REPORT_MS);
        self.train_steps(steps).await;
    }

    async fn train_steps(&self, steps: usize) {
        let started = now();
        let Some(pending) = self
            .session
            .borrow_mut()
            .as_mut()
            .map(|s| s.train_chunk(steps))
        else {
            self.running.set(false);
            return;
        };
        let id = self.session_id();
        let result = pending.read_async().await;
        let elapsed = now() - started;
        match result {
            Ok(chunk) => {
                if chunk.steps > 0 {
                    self.step_ms.set(elapsed / chunk.steps as f64);
                }
                self.tested_at.set(None);
                self.post(Event::Progress {
                    session: id,
                    progress: chunk.progress(elapsed),
                });
                let (steps_done, every, finished, epochs) = self.with_session(|s| {
                    (
                        s.steps(),
                        s.validation_every(),
                        s.finished(),
                        s.experiment.epochs,
                    )
                });
                if steps_done >= self.next_validation.get() || finished {
                    self.validate().await;
                    self.next_validation.set(steps_done + every);
                }
                if finished {
                    self.running.set(false);
                    self.post(Event::Stopped {
                        session: id,
                        reason: StopReason::Finished { epochs },
                    });
                    self.evaluate_test().await;
                }
            }
            Err(e) => {
                self.running.set(false);
                match e.non_finite() {
                    Some(message) => self.post(Event::Stopped {
                        session: id,
                        reason: StopReason::NonFinite { message },
                    }),
                    None => self.post(Event::Error {
                        session: id,
                        message: e.to_string(),
                    }),
                }
            }
        }
    }

    async fn validate(&self) {
        let Some((id, step, pending)) = self
            .session
            .borrow()
            .as_ref()
            .map(|s| (s.id, s.steps(), s.validation()))
        else {
            return;
        };
        match pending.read_async().await {
            Ok(report) => self.post(Event::Validation {
                session: id,
                point: eval_point(step, &report),
            }),
            Err(e) => self.post(Event::Error {
                session: id,
                message: e.to_string(),
            }),
        }
    }

    async fn evaluate_test(&self) {
        let Some((id, step, pending)) = self
            .session
            .borrow()
            .as_ref()
            .filter(|s| s.steps() > 0)
            .map(|s| (s.id, s.steps(), s.test()))
        else {
            return;
        };
        if self.tested_at.get() == Some(step) {
            return;
        }
        match pending.read_async().await {
            Ok(report) => {
                self.tested_at.set(Some(step));
                self.post(Event::Test {
                    session: id,
                    report: test_report(step, &report),
                });
            }
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
