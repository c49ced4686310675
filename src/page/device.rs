//! Which device trains, and why. The page probes WebGPU (in `web`); where an adapter exists,
//! Auto times both devices on the current setup ([`Trial`], [`Measured`]), since a GPU step
//! costs milliseconds of launches and readbacks whatever the model, and small models train
//! faster on the CPU (BENCHMARKS.md). This plain logic turns the learner's choice, the probe and
//! the timing into a backend and a sentence for the device status.

use crate::page::dashboard::Throughput;
use crate::protocol::experiment::{DataKind, DeviceChoice, Experiment, ModelKind, ModelSettings};
use crate::protocol::{AdapterProbe, Backend};

/// How long Auto times a device, from its first training report on (the build and the first
/// step, where a GPU compiles its kernels, are left out).
pub const TRIAL_MS: f64 = 1500.0;

/// How long a device gets, from its worker's start, before Auto stops timing it: the rate is
/// then what it managed, or a bound when it trained nothing measurable (a software adapter
/// can take that long for one step).
pub const TRIAL_DEADLINE_MS: f64 = 20_000.0;

/// What the speed of a device depends on: the model's shape, the batch, the seeds side by side
/// and the data set; not the seed, the learning rate or the correlation. Auto times again when
/// it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    model: ModelKind,
    arch: ModelSettings,
    batch_size: usize,
    replicas: usize,
    data: DataKind,
}

impl Shape {
    pub fn of(e: &Experiment) -> Self {
        Self {
            model: e.model,
            arch: e.arch.clone(),
            batch_size: e.batch_size,
            replicas: e.replicas,
            data: e.data,
        }
    }
}

/// A device's training rate on a setup, as Auto measured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Samples a second (every replica's), between its first and last reports.
    Measured(f64),
    /// No second report before the deadline: slower than this many samples a second.
    Below(f64),
    /// Its worker failed, or the model failed to train there.
    Failed,
}

impl Rate {
    /// A rate that can be compared: a bound counts as its value, a failure as nothing.
    fn value(self) -> f64 {
        match self {
            Rate::Measured(r) | Rate::Below(r) => r,
            Rate::Failed => 0.0,
        }
    }

    fn describe(self) -> String {
        match self {
            Rate::Measured(r) => format!("{} samples/s", thousands(r)),
            Rate::Below(r) => format!(
                "under {} samples/s (no second report in {:.0} s)",
                thousands(r),
                TRIAL_DEADLINE_MS / 1000.0
            ),
            Rate::Failed => "failed".into(),
        }
    }
}

/// `165k` for 165,312; `840` for 840.2.
fn thousands(rate: f64) -> String {
    if rate >= 10_000.0 {
        format!("{:.0}k", rate / 1000.0)
    } else if rate >= 1000.0 {
        format!("{:.1}k", rate / 1000.0)
    } else {
        format!("{rate:.0}")
    }
}

/// Timing one device: the training reports of a run of the setup in a worker of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub backend: Backend,
    /// The samples one step trains: the batch times the seeds side by side.
    samples_per_step: f64,
    started_ms: f64,
    /// The timing of its progress reports.
    reports: Throughput,
}

impl Trial {
    pub fn new(backend: Backend, setup: &Experiment, started_ms: f64) -> Self {
        Self {
            backend,
            samples_per_step: (setup.batch_size * setup.replicas.max(1)) as f64,
            started_ms,
            reports: Throughput::default(),
        }
    }

    /// Takes a training report (at step `step`, received at `now_ms`); the rate once it has
    /// [`TRIAL_MS`] of reports.
    pub fn on_progress(&mut self, step: u64, now_ms: f64) -> Option<Rate> {
        self.reports.take(now_ms, step);
        (self.reports.span_ms() >= TRIAL_MS).then(|| self.rate_so_far(now_ms))
    }

    /// The rate at `now_ms`, when the deadline came first: what its reports show, or a bound.
    pub fn rate_so_far(&self, now_ms: f64) -> Rate {
        match self.reports.rate(self.samples_per_step) {
            Some(rate) => Rate::Measured(rate),
            None => {
                let seconds = ((now_ms - self.started_ms) / 1000.0).max(1e-3);
                Rate::Below(self.samples_per_step / seconds)
            }
        }
    }
}

/// Both devices timed on one setup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub cpu: Rate,
    pub webgpu: Rate,
}

impl Measured {
    /// The faster device, and both rates in a sentence ("WebGPU 36k samples/s, CPU 165k
    /// samples/s: using the CPU."). A tie, or two failures, keeps the CPU.
    pub fn choose(&self) -> DevicePlan {
        let gpu_faster =
            matches!(self.webgpu, Rate::Measured(_)) && self.webgpu.value() > self.cpu.value();
        let backend = if gpu_faster {
            Backend::Webgpu
        } else {
            Backend::Cpu
        };
        let using = match backend {
            Backend::Webgpu => "WebGPU",
            Backend::Cpu => "the CPU",
        };
        DevicePlan {
            backend,
            reason: format!(
                "Auto timed this setup: WebGPU {}, CPU {}: using {using}.",
                self.webgpu.describe(),
                self.cpu.describe()
            ),
        }
    }
}

/// The backend to run, and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    pub backend: Backend,
    pub reason: String,
}

/// What the device status says while Auto times both devices, `current` training meanwhile.
pub fn timing_reason(probe: &AdapterProbe, current: Backend) -> String {
    let adapter = match probe {
        AdapterProbe::Fallback(name) => format!(" ({name}, a software adapter)"),
        AdapterProbe::Hardware(name) => format!(" ({name})"),
        _ => String::new(),
    };
    let meanwhile = match current {
        Backend::Cpu => "the CPU",
        Backend::Webgpu => "WebGPU",
    };
    format!("Auto: timing the CPU and WebGPU{adapter} on this setup; {meanwhile} trains meanwhile.")
}

/// The backend for the learner's `choice`, given the probe and, for Auto where an adapter
/// exists, the timing of both devices on the current setup (`None` while it runs: the CPU
/// trains meanwhile).
pub fn plan(choice: DeviceChoice, probe: &AdapterProbe, measured: Option<&Measured>) -> DevicePlan {
    let cpu = |reason: String| DevicePlan {
        backend: Backend::Cpu,
        reason,
    };
    let gpu = |reason: String| DevicePlan {
        backend: Backend::Webgpu,
        reason,
    };
    if let (
        DeviceChoice::Auto,
        AdapterProbe::Hardware(_) | AdapterProbe::Fallback(_),
        Some(measured),
    ) = (choice, probe, measured)
    {
        return measured.choose();
    }
    match (choice, probe) {
        (DeviceChoice::Cpu, _) => cpu("CPU chosen.".into()),
        (_, AdapterProbe::Pending) => cpu("Checking for WebGPU…".into()),
        (DeviceChoice::Auto, AdapterProbe::Hardware(_) | AdapterProbe::Fallback(_)) => {
            cpu(timing_reason(probe, Backend::Cpu))
        }
        (DeviceChoice::Auto, AdapterProbe::NoApi) => {
            cpu("Auto: this browser has no WebGPU.".into())
        }
        (DeviceChoice::Auto, AdapterProbe::NoAdapter(why)) => {
            cpu(format!("Auto: no WebGPU adapter ({why})."))
        }
        (DeviceChoice::Webgpu, AdapterProbe::Hardware(name)) => {
            gpu(format!("WebGPU chosen: {name}."))
        }
        (DeviceChoice::Webgpu, AdapterProbe::Fallback(name)) => gpu(format!(
            "WebGPU chosen: {name} is a software adapter, expect slow steps."
        )),
        (DeviceChoice::Webgpu, AdapterProbe::NoApi) => {
            cpu("WebGPU chosen, but this browser has no WebGPU: using the CPU device.".into())
        }
        (DeviceChoice::Webgpu, AdapterProbe::NoAdapter(why)) => cpu(format!(
            "WebGPU chosen, but no adapter was found ({why}): using the CPU device."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_auto_picks_the_device_it_timed_faster() {
        let hw = AdapterProbe::Hardware("nvidia".into());
        let sw = AdapterProbe::Fallback("swiftshader".into());
        // Until both are timed, the CPU trains, and the status says why.
        let waiting = plan(DeviceChoice::Auto, &sw, None);
        assert_eq!(waiting.backend, Backend::Cpu);
        assert!(waiting.reason.contains("timing") && waiting.reason.contains("software"));
        assert_eq!(plan(DeviceChoice::Auto, &hw, None).backend, Backend::Cpu);
        // The example: a GPU slower than the CPU on a small model.
        let slow_gpu = Measured {
            cpu: Rate::Measured(165_312.0),
            webgpu: Rate::Measured(36_055.0),
        };
        let chosen = plan(DeviceChoice::Auto, &hw, Some(&slow_gpu));
        assert_eq!(chosen.backend, Backend::Cpu);
        assert_eq!(
            chosen.reason,
            "Auto timed this setup: WebGPU 36k samples/s, CPU 165k samples/s: using the CPU."
        );
        let fast_gpu = Measured {
            cpu: Rate::Measured(14_912.0),
            webgpu: Rate::Measured(23_357.0),
        };
        let chosen = plan(DeviceChoice::Auto, &hw, Some(&fast_gpu));
        assert_eq!(chosen.backend, Backend::Webgpu);
        assert!(
            chosen.reason.ends_with("using WebGPU."),
            "{}",
            chosen.reason
        );
        // A bound never wins, nor does a failure.
        let bound = Measured {
            cpu: Rate::Measured(900.0),
            webgpu: Rate::Below(1000.0),
        };
        assert_eq!(bound.choose().backend, Backend::Cpu);
        assert!(
            bound
                .choose()
                .reason
                .contains("under 1.0k samples/s (no second report in 20 s)")
        );
        let failed = Measured {
            cpu: Rate::Measured(900.0),
            webgpu: Rate::Failed,
        };
        assert_eq!(failed.choose().backend, Backend::Cpu);
        assert!(failed.choose().reason.contains("WebGPU failed"));
        // Without an adapter there is nothing to time.
        assert_eq!(
            plan(DeviceChoice::Auto, &AdapterProbe::NoApi, Some(&fast_gpu)).backend,
            Backend::Cpu
        );
    }

    #[test]
    fn a_trial_times_the_reports_after_the_first() {
        let setup = Experiment {
            batch_size: 100,
            replicas: 2,
            ..Experiment::default()
        };
        let mut t = Trial::new(Backend::Cpu, &setup, 0.0);
        // The first report (after the build and a first step, 5 s in) starts the clock.
        assert_eq!(t.on_progress(1, 5000.0), None);
        assert_eq!(t.on_progress(11, 6000.0), None, "one second is not enough");
        // 30 steps of 200 samples in 1.5 s.
        assert_eq!(t.on_progress(31, 6500.0), Some(Rate::Measured(4000.0)));
        // A device with one report by the deadline: a bound, one step over the time so far.
        let mut slow = Trial::new(Backend::Webgpu, &setup, 0.0);
        slow.on_progress(1, 15_000.0);
        assert_eq!(slow.rate_so_far(20_000.0), Rate::Below(10.0));
        assert_eq!(
            Trial::new(Backend::Webgpu, &setup, 0.0).rate_so_far(20_000.0),
            Rate::Below(10.0)
        );
    }

    #[test]
    fn the_shape_ignores_what_does_not_change_the_speed() {
        let e = Experiment::default();
        let mut other = e.clone();
        other.seed = 9;
        other.learning_rate = 0.1;
        assert_eq!(Shape::of(&e), Shape::of(&other));
        other.batch_size = 64;
        assert_ne!(Shape::of(&e), Shape::of(&other));
        assert_ne!(Shape::of(&e), Shape::of(&e.with_model(ModelKind::Ple)));
    }

    #[test]
    fn plan_respects_an_override_where_it_can() {
        let sw = AdapterProbe::Fallback("swiftshader".into());
        assert_eq!(
            plan(DeviceChoice::Webgpu, &sw, None).backend,
            Backend::Webgpu
        );
        assert_eq!(
            plan(DeviceChoice::Cpu, &AdapterProbe::Hardware("x".into()), None).backend,
            Backend::Cpu
        );
        let none = plan(
            DeviceChoice::Webgpu,
            &AdapterProbe::NoAdapter("denied".into()),
            None,
        );
        assert_eq!(none.backend, Backend::Cpu);
        assert!(none.reason.contains("using the CPU device"));
    }
}
