//! The page's state and logic, as plain types (no Leptos, no Burn), so each is tested
//! natively: the dashboard reducer over the worker's events, the run history, seed sweeps,
//! races, the paper figure, the lessons and their results, the notices, the device choice, the keyboard
//! shortcuts, and the numbers behind the charts and the architecture diagram. `crate::ui` draws
//! them.

pub mod dashboard;
pub mod dataview;
pub mod device;
pub mod diagram;
pub mod figure;
pub mod guide;
pub mod history;
pub mod keys;
pub mod lessons;
pub mod notices;
pub mod plot;
pub mod race;
pub mod sweep;
pub mod tabs;
