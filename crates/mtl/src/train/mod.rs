//! Training: losses, metrics, the step-wise [`Trainer`] and early stopping.

mod conflict;
mod evaluate;
mod export;
pub mod loss;
pub mod metrics;
mod readback;
mod trainer;

pub use conflict::GRADIENT_COSINE_EVERY;
pub use evaluate::{EvalReport, EvalSet, GateSummary, TaskMetrics};
pub use export::{EXTENSION, FORMAT, ModelFile};
pub use readback::{Readback, f32_values, transaction};
pub use trainer::{
    MAX_BATCH_SIZE, MAX_LEARNING_RATE, PendingStep, StepReport, TrainConfig, TrainError, Trainer,
    check_finite,
};

use crate::models::MtlModel;

/// Early stopping on validation loss: after `patience` epochs without improvement, stop and
/// hand back the best weights.
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    pub patience: usize,
    best_loss: f64,
    best_epoch: usize,
    best_model: Option<MtlModel>,
    waited: usize,
}

/// What early stopping says after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Improved,
    Continue,
    Stop,
}

impl EarlyStopping {
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            best_loss: f64::INFINITY,
            best_epoch: 0,
            best_model: None,
            waited: 0,
        }
    }

    /// Records epoch `epoch`'s validation loss and, if it is the best so far, its weights.
    pub fn observe(&mut self, epoch: usize, loss: f64, model: &MtlModel) -> Verdict {
        if loss < self.best_loss {
            self.best_loss = loss;
            self.best_epoch = epoch;
            self.best_model = Some(model.clone());
            self.waited = 0;
            Verdict::Improved
        } else {
            self.waited += 1;
            if self.waited >= self.patience {
                Verdict::Stop
            } else {
                Verdict::Continue
            }
        }
    }

    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    pub fn best_loss(&self) -> f64 {
        self.best_loss
    }

    /// The best weights seen, if any epoch was observed.
    pub fn take_best(&mut self) -> Option<MtlModel> {
        self.best_model.take()
    }
}

#[cfg(test)]
mod tests;
