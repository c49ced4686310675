//! # mtl: multi-task learning for recommender systems, on UCI Adult, with Burn
//!
//! Dependencies flow one way: [`data`] → [`models`] → [`train`]. The code takes a Burn
//! [`Device`](burn::tensor::Device) and imports no web crate, so the same models train natively
//! (the `mtl` CLI, the tests) and in a browser worker, on the flex CPU device or on WebGPU.

pub mod data;
pub mod experiments;
pub mod models;
pub mod train;

pub use burn;
