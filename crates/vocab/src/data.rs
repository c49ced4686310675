//! What each data set brings besides its rows: how a model is trained on it by default, and the
//! synthetic generators' knobs. The page's setup, the CLI's experiments and the generators read
//! these, so they cannot drift apart.

use crate::kind::DataKind;

/// How a model trains on a data set unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingDefaults {
    /// Adam's learning rate.
    pub learning_rate: f64,
    pub batch_size: usize,
    /// The page's epoch budget.
    pub epochs: usize,
}

impl DataKind {
    /// Adult: the seed tutorial's Adam 1e-3 and batches of 256, for 5 epochs. The correlated
    /// tasks: `mtl experiment correlation`'s Adam 3e-3 and batches of 128; 20 epochs of the
    /// 8,000 training rows are 1,260 steps, about that experiment's 1,500. The funnel: the
    /// tutorial's Adam and batches for 10 epochs of its 16,000 impressions (625 steps, what
    /// `mtl experiment funnel` trains).
    pub fn training(self) -> TrainingDefaults {
        let (learning_rate, batch_size, epochs) = match self {
            DataKind::Adult => (1e-3, 256, 5),
            DataKind::Correlated => (3e-3, 128, 20),
            DataKind::Funnel => (1e-3, 256, 10),
        };
        TrainingDefaults {
            learning_rate,
            batch_size,
            epochs,
        }
    }
}

/// The correlated tasks' weight norm: the MMoE paper's setting as our numpy check ran it.
pub const CORRELATED_C: f64 = 2.0;
/// The correlated tasks' label noise (standard deviation).
pub const CORRELATED_NOISE: f64 = 0.01;
/// The largest weight of the funnel's hidden factor (the generator's `confound`, the page's
/// "Hidden factor k").
pub const MAX_CONFOUND: f64 = 3.0;

/// The correlation the page starts the correlated tasks at: halfway, so that both directions
/// of the slider teach something.
pub const CORRELATED_START_P: f64 = 0.5;
