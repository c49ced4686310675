//! # mtl-vocab: the words the core, the CLI and the page share
//!
//! Each fact about the models that more than one part of the project needs lives here once:
//! which models exist and how they are named ([`ModelKind`]), which knobs each one uses
//! ([`Knob`]), the seed tutorial's settings ([`ModelSettings::tutorial`]), which expert each gate
//! weight belongs to ([`GateLayout`]), how a task is scored ([`TaskKind`]), what each data set
//! trains with ([`DataKind::training`], [`data`]), the bounds every setting is held to
//! ([`limits`]) and the colours every chart uses ([`palette`]).
//!
//! It links no Burn (serde only): the page, which must stay small, uses it as much as the core.

pub mod data;
mod gates;
mod kind;
pub mod limits;
pub mod palette;
mod settings;

pub use data::TrainingDefaults;
pub use gates::{ExpertRef, GateInfo, GateLayout, Owner};
pub use kind::{DataKind, Knob, ModelKind, TaskKind};
pub use settings::ModelSettings;
