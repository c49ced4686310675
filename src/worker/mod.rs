//! The training side of the worker boundary (feature `ml`): the `runner` drives the core
//! library's trainer, the `schedule` says when to train, score and stop, and the `driver`
//! (feature `web` too) runs both in a Web Worker, talking to the page only through
//! `crate::protocol` messages.

pub mod runner;
pub mod schedule;

#[cfg(feature = "web")]
pub mod driver;
