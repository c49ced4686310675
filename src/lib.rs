//! The web app around the `mtl` core. Three folders, one per side of the worker boundary and
//! the boundary itself:
//!
//! - `protocol`: what crosses it, plain data both sides share: the experiment a learner sets up
//!   (and its field table), and the messages between the page and the training worker;
//! - `worker` (feature `ml`): the training side, which drives the core library; its `driver`
//!   (features `ml` + `web`) runs it in a Web Worker;
//! - `page`: the page's state and logic as plain types, tested natively; `ui` (feature `ui`)
//!   draws them with Leptos and never imports Burn.
//!
//! `web` (feature `web`) is the browser glue both sides use. Dependencies flow one way:
//! `protocol` ← `worker`, and `protocol` ← `page` ← `ui`; the worker and the page never import
//! each other. ARCHITECTURE.md lists what each module may import, and `tests/architecture.rs`
//! holds that list against the code.

pub mod page;
pub mod protocol;

#[cfg(feature = "ml")]
pub mod worker;

#[cfg(feature = "web")]
pub mod web;

#[cfg(feature = "ui")]
pub mod ui;
