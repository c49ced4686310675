//! The web app around the `mtl` core: the experiment a learner sets up, the messages between the
//! page and the training worker, the runner that trains inside the worker, and the page itself.
//!
//! Dependencies flow one way: `experiment` and `protocol` are plain data; `schedule` is the
//! worker's policy (when to train, score and stop) as a plain state machine; `runner` (feature
//! `ml`) uses the core library; `worker` (features `ml` + `web`) wires the runner and the schedule
//! to a Web Worker; `ui` (feature `ui`) draws the page and never imports Burn.

pub mod dashboard;
pub mod device;
pub mod diagram;
pub mod experiment;
pub mod fields;
pub mod guide;
pub mod history;
pub mod keys;
pub mod lessons;
pub mod plot;
pub mod protocol;
pub mod race;
pub mod schedule;
pub mod sweep;

#[cfg(feature = "ml")]
pub mod runner;

#[cfg(all(feature = "ml", feature = "web"))]
pub mod worker;

#[cfg(feature = "web")]
pub mod web;

#[cfg(feature = "ui")]
pub mod ui;
