//! Why training cannot go on, in words for the user: one error type for every part of
//! training (the trainer, reading results back, model files), in a module of its own so that
//! those parts need not import each other for it.

use crate::data::DataError;
use crate::models::ConfigError;

/// Why training cannot go on, in words for the user.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TrainError {
    #[error("invalid model: {0}")]
    Model(#[from] ConfigError),
    #[error("invalid training setting: {0}")]
    InvalidSetting(String),
    #[error("{0}")]
    Data(#[from] DataError),
    #[error(
        "the {task} loss became {value} at step {step}. {hint} Training stopped; reset to start again."
    )]
    NonFinite {
        step: u64,
        task: String,
        value: f32,
        hint: String,
    },
    #[error("could not read results back from the device: {0}")]
    Read(String),
    #[error("this model file cannot be used: {0}")]
    ModelFile(String),
}
