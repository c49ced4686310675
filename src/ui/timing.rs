//! Auto's timing of both devices on the current setup, where a WebGPU adapter exists: a CPU
//! worker, then a WebGPU one, each trains the setup for a moment in a session of its own
//! ([`Trial`]), and the faster then trains the learner's runs ([`Measured::choose`]); the CPU
//! trains meanwhile. A new shape of setup is timed again. The learner's own run is never cut
//! short for it: a switch waits until nothing has trained, or for the next Reset.

use leptos::prelude::*;

use super::{Playground, worker_url};
use crate::page::device::{Measured, Rate, Shape, TRIAL_DEADLINE_MS, Trial, timing_reason};
use crate::protocol::experiment::{DeviceChoice, Experiment};
use crate::protocol::{AdapterProbe, Backend, Command, Event, StopReason};
use crate::web::WorkerClient;

/// The session a trial's worker builds its model in (the worker is its own).
const TRIAL_SESSION: u32 = 1;

/// A trial's run must not end before it is timed.
const TRIAL_EPOCHS: usize = 1000;

/// The timing in progress: the setup, the CPU's rate once timed, the device being timed and
/// its worker.
pub(super) struct TrialRun {
    id: u32,
    shape: Shape,
    setup: Experiment,
    cpu: Option<Rate>,
    trial: Trial,
    worker: Option<WorkerClient>,
}

impl Playground {
    /// Whether Auto has an adapter to time against the CPU.
    fn times_devices(self) -> bool {
        self.experiment.with_untracked(|e| e.device) == DeviceChoice::Auto
            && self.probe.with_untracked(|p| {
                matches!(p, AdapterProbe::Hardware(_) | AdapterProbe::Fallback(_))
            })
    }

    /// Auto's timing of the current setup's shape, once it has one.
    pub(super) fn measured_now(self) -> Option<Measured> {
        let shape = self.experiment.with_untracked(Shape::of);
        self.measured.with_untracked(|m| {
            m.as_ref()
                .filter(|(timed, _)| *timed == shape)
                .map(|(_, m)| *m)
        })
    }

    /// Starts timing the devices on the current setup, where Auto has an adapter and the
    /// setup's shape is neither timed nor being timed; stops a timing that no longer applies.
    pub(super) fn time_devices(self) {
        if !self.times_devices() {
            self.trial.set_value(None);
            return;
        }
        let mut setup = self.experiment.get_untracked();
        let shape = Shape::of(&setup);
        let timing = self
            .trial
            .with_value(|t| t.as_ref().is_some_and(|t| t.shape == shape));
        if timing || self.measured_now().is_some() {
            return;
        }
        setup.epochs = TRIAL_EPOCHS;
        setup.patience = 0;
        let id = self.trial_id.get_value() + 1;
        self.trial_id.set_value(id);
        self.trial.set_value(Some(TrialRun {
            id,
            shape,
            trial: Trial::new(Backend::Cpu, &setup, crate::web::now()),
            setup,
            cpu: None,
            worker: None,
        }));
        self.spawn_trial(id, Backend::Cpu);
        let current = self.worker_backend.get_value().unwrap_or(Backend::Cpu);
        self.device_reason
            .set(self.probe.with_untracked(|p| timing_reason(p, current)));
    }

    /// Starts timing run `id` on `backend`, with a deadline.
    fn spawn_trial(self, id: u32, backend: Backend) {
        let spawned = WorkerClient::spawn(
            worker_url(backend),
            move |event| self.on_trial_event(id, event),
            move |_| self.trial_done(id, Rate::Failed),
        );
        match spawned {
            Ok(worker) => self.trial.update_value(|t| {
                if let Some(t) = t.as_mut().filter(|t| t.id == id) {
                    t.worker = Some(worker);
                }
            }),
            Err(_) => return self.trial_done(id, Rate::Failed),
        }
        leptos::task::spawn_local(async move {
            crate::web::sleep(TRIAL_DEADLINE_MS as i32).await;
            let now = crate::web::now();
            let late = self
                .trial
                .try_with_value(|t| {
                    t.as_ref()
                        .filter(|t| t.id == id && t.trial.backend == backend)
                        .map(|t| t.trial.rate_so_far(now))
                })
                .flatten();
            if let Some(rate) = late {
                self.trial_done(id, rate);
            }
        });
    }

    fn on_trial_event(self, id: u32, event: Event) {
        if !self
            .trial
            .with_value(|t| t.as_ref().is_some_and(|t| t.id == id))
        {
            return;
        }
        match event {
            // Build and play once the worker is ready (a message before then could be lost
            // while its wasm loads).
            Event::Ready { .. } => {
                let sent = self.trial.with_value(|t| {
                    let Some((t, worker)) = t.as_ref().and_then(|t| Some((t, t.worker.as_ref()?)))
                    else {
                        return Ok(());
                    };
                    worker.send(&Command::Build {
                        session: TRIAL_SESSION,
                        experiment: t.setup.clone(),
                    })?;
                    worker.send(&Command::Play)
                });
                if sent.is_err() {
                    self.trial_done(id, Rate::Failed);
                }
            }
            Event::Progress { progress, .. } => {
                let now = crate::web::now();
                let rate = self
                    .trial
                    .try_update_value(|t| {
                        t.as_mut()
                            .and_then(|t| t.trial.on_progress(progress.step, now))
                    })
                    .flatten();
                if let Some(rate) = rate {
                    self.trial_done(id, rate);
                }
            }
            Event::Error { .. }
            | Event::DeviceFailed { .. }
            | Event::Stopped {
                reason: StopReason::NonFinite { .. },
                ..
            } => self.trial_done(id, Rate::Failed),
            _ => {}
        }
    }

    /// Run `id`'s device is timed: the next device's turn, or the choice.
    fn trial_done(self, id: u32, rate: Rate) {
        let Some(mut run) = self
            .trial
            .try_update_value(|t| t.take_if(|t| t.id == id))
            .flatten()
        else {
            return;
        };
        // The worker goes after the handler delivering this event has returned.
        let worker = run.worker.take();
        leptos::task::spawn_local(async move { drop(worker) });
        match run.trial.backend {
            Backend::Cpu => {
                run.cpu = Some(rate);
                run.trial = Trial::new(Backend::Webgpu, &run.setup, crate::web::now());
                self.trial.set_value(Some(run));
                self.spawn_trial(id, Backend::Webgpu);
            }
            Backend::Webgpu => {
                let measured = Measured {
                    cpu: run.cpu.unwrap_or(Rate::Failed),
                    webgpu: rate,
                };
                self.measured.set(Some((run.shape, measured)));
                self.apply_device_when_idle();
            }
        }
    }

    /// Switches to the device the timing chose if nothing of the current run has trained;
    /// otherwise says that it takes over at the next Reset.
    fn apply_device_when_idle(self) {
        let idle = self
            .dashboard
            .with_untracked(|d| d.step == 0 && !d.is_running());
        if idle {
            self.apply_device();
            return;
        }
        let device_plan = self.device_plan();
        let mut reason = device_plan.reason;
        if self.worker_backend.get_value() != Some(device_plan.backend) {
            reason += " It takes over at the next Reset; this run stays where it is.";
        }
        self.device_reason.set(reason);
    }
}
