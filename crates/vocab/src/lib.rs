//! # mtl-vocab: the words the core, the CLI and the page share
//!
//! Each fact about the models that more than one part of the project needs lives here once:
//! which models exist and how they are named ([`ModelKind`]), which knobs each one uses
//! ([`Knob`]), the seed tutorial's settings ([`ModelSettings::tutorial`]), which expert each gate
//! weight belongs to ([`GateLayout`]), and how a task is scored ([`TaskKind`]).
//!
//! It links no Burn (serde only): the page, which must stay small, uses it as much as the core.

mod gates;
mod kind;
mod settings;

pub use gates::{ExpertRef, GateInfo, GateLayout, Owner};
pub use kind::{DataKind, Knob, ModelKind, TaskKind};
pub use settings::ModelSettings;
