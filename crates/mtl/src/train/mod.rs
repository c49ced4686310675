//! Training: losses, metrics, the step-wise [`Trainer`] (R replicas side by side), selection by
//! validation and early stopping.

pub mod bench;
mod conflict;
mod error;
mod evaluate;
mod export;
pub mod loss;
pub mod metrics;
mod readback;
pub mod selection;
mod trainer;

pub use conflict::GRADIENT_COSINE_EVERY;
pub use error::TrainError;
pub use evaluate::{EvalReport, EvalSet, GateSummary, TaskMetrics};
pub use export::{EXTENSION, FORMAT, ModelFile};
pub use readback::{Readback, f32_values, transaction};
pub use selection::{ReplicaSelection, ReplicaVerdict, Selection, Verdict};
pub use trainer::{
    MAX_BATCH_SIZE, MAX_LEARNING_RATE, PendingStep, ReplicaStep, Replicas, StepReport, TrainConfig,
    Trainer, check_finite, per_replica, task_names_of,
};

#[cfg(test)]
mod replica_tests;
#[cfg(test)]
mod tests;
