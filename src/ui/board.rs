//! The dashboard on the page, part by part. The [`Dashboard`] reducer lives in one stored
//! value, and each of its [`Parts`] has a trigger of its own: a reader tracks only the parts it
//! reads, and a change notifies only the parts it touched. So a progress report, ten a second,
//! re-runs the counters, the loss chart and the gate views, and leaves the validation curves,
//! the test scores and the model's layout (and every memo over them) alone; and nothing is
//! cloned to be read. (One `RwSignal<Dashboard>` re-ran every memo on every report.)

use leptos::prelude::*;

use crate::page::dashboard::{Dashboard, Parts};
use crate::protocol::Event;

#[derive(Clone, Copy)]
pub struct Board {
    dashboard: StoredValue<Dashboard>,
    /// One per part, in [`Parts::each`]'s order.
    triggers: [Trigger; Parts::COUNT],
}

impl Default for Board {
    fn default() -> Self {
        Self::new()
    }
}

impl Board {
    pub fn new() -> Self {
        Self {
            dashboard: StoredValue::new(Dashboard::default()),
            triggers: std::array::from_fn(|_| Trigger::new()),
        }
    }

    /// Reads the dashboard, and re-runs the caller when any of `parts` changes, and only then:
    /// `read` must read nothing outside them.
    pub fn with<R>(&self, parts: Parts, read: impl FnOnce(&Dashboard) -> R) -> R {
        for (trigger, part) in self.triggers.iter().zip(Parts::each()) {
            if parts.contains(part) {
                trigger.track();
            }
        }
        self.dashboard.with_value(read)
    }

    /// Reads the dashboard without tracking it: for event handlers.
    pub fn with_untracked<R>(&self, read: impl FnOnce(&Dashboard) -> R) -> R {
        self.dashboard.with_value(read)
    }

    /// Changes the parts `parts` of the dashboard, and re-runs their readers. `None` once the
    /// page is gone (a worker's late message).
    pub fn update<R>(&self, parts: Parts, change: impl FnOnce(&mut Dashboard) -> R) -> Option<R> {
        let result = self.dashboard.try_update_value(change)?;
        self.notify(parts);
        Some(result)
    }

    /// Applies a worker event; false if it was not taken (another session's, or about the
    /// worker rather than the run).
    pub fn apply(&self, event: &Event) -> bool {
        match self
            .dashboard
            .try_update_value(|d| d.apply(event))
            .flatten()
        {
            Some(parts) => {
                self.notify(parts);
                true
            }
            None => false,
        }
    }

    /// Starts session `session`: every part is new.
    pub fn begin(&self, session: u32) {
        self.update(Parts::ALL, |d| d.begin(session));
    }

    fn notify(&self, parts: Parts) {
        for (trigger, part) in self.triggers.iter().zip(Parts::each()) {
            if parts.contains(part) {
                trigger.notify();
            }
        }
    }
}
