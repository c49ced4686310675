//! What one training step costs in work, counted rather than timed: the autodiff graph nodes
//! it records (any device) and, on wgpu, the kernels it launches. Replicas side by side add
//! arithmetic inside the same operations, never operations: both counts are the same for any
//! number of replicas (`mtl bench --replicas 1,16` prints them).

use burn::backend::autodiff::NodeId;
use burn::tensor::Device;

use super::error::TrainError;
use super::trainer::Trainer;

/// The work of one training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepWork {
    /// Autodiff graph nodes the step records: every float operation on the training device,
    /// the forward pass and the optimiser's parameter updates.
    pub graph_nodes: u64,
    /// Kernels the step launched on a wgpu device; `None` on other devices.
    pub kernel_launches: Option<u64>,
}

/// The autodiff counter's next value: every tracked tensor takes its id from it, one process-wide
/// counter, so the difference across a step (on one thread) is the nodes that step recorded.
fn node_count() -> u64 {
    NodeId::new().value
}

/// Counts one step of `trainer` (one that does not end an epoch: that one also uploads the next
/// epoch's order), reading its results back as a step always is. `device` is the trainer's;
/// kernels are counted if it is a wgpu device (`on_wgpu`) and this build has wgpu.
pub fn step_work(
    trainer: &mut Trainer,
    device: &Device,
    on_wgpu: bool,
) -> Result<StepWork, TrainError> {
    if trainer.epoch_progress() + 2.0 / trainer.steps_per_epoch().max(1) as f64 >= 1.0 {
        // Two steps before an epoch's end: step past it, so the counted step is a plain one.
        while trainer.epoch_progress() > 0.0 {
            trainer.step().readback().read()?;
        }
    }
    let launches = launches::Count::start(device, on_wgpu);
    let before = node_count();
    let step = trainer.step();
    // Each probe of the counter takes an id of its own.
    let graph_nodes = node_count() - before - 1;
    let kernel_launches = launches.stop(device);
    step.readback().read()?;
    Ok(StepWork {
        graph_nodes,
        kernel_launches,
    })
}

#[cfg(feature = "wgpu")]
mod launches {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use burn::cubecl::logging::{LaunchObservation, LaunchObserver};
    use burn::tensor::Device;

    /// Counts every kernel launch the process issues while it is installed.
    #[derive(Default)]
    struct Launches(AtomicU64);

    impl LaunchObserver for Launches {
        fn launched(&self, _kernel: &'static str) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub struct Count(Option<(Arc<Launches>, LaunchObservation)>);

    impl Count {
        /// Starts counting on a wgpu device, after the work already queued has run.
        pub fn start(device: &Device, on_wgpu: bool) -> Self {
            if !on_wgpu {
                return Self(None);
            }
            let _ = device.sync();
            let counter = Arc::new(Launches::default());
            let observation = LaunchObservation::new(counter.clone());
            Self(Some((counter, observation)))
        }

        pub fn stop(self, device: &Device) -> Option<u64> {
            let (counter, observation) = self.0?;
            let _ = device.sync();
            drop(observation);
            Some(counter.0.load(Ordering::Relaxed))
        }
    }
}

#[cfg(not(feature = "wgpu"))]
mod launches {
    use burn::tensor::Device;

    /// Without wgpu there are no kernels to count.
    pub struct Count;

    impl Count {
        pub fn start(_device: &Device, _on_wgpu: bool) -> Self {
            Self
        }

        pub fn stop(self, _device: &Device) -> Option<u64> {
            None
        }
    }
}

// Its test is `tests/graph_nodes.rs`: a process of its own, because node ids come from one
// process-wide counter that tests running beside it would advance.
