//! The experiment's settings as one table, as TF Playground's `state.ts` declares its state:
//! each setting once, with its URL key, its control's id, label and help, its bounds and which
//! models use it. What reads the table lives here too: the URL ([`to_query`], [`from_query`]),
//! [`Experiment::sanitize`] and [`Experiment::needs_rebuild`]; the controls read [`FIELDS`] as
//! well. The runner builds the core's config from [`Experiment::arch`], which is the core's own
//! [`mtl_vocab::ModelSettings`], so every knob the core has reaches the page.
//!
//! Adding a knob: a field in `ModelSettings` (or `Experiment`), one row here. Nothing else.

use mtl_vocab::data::MAX_CONFOUND;
use mtl_vocab::{DataKind, Knob, ModelKind};

use crate::protocol::experiment::{DeviceChoice, Experiment, Notice, format_units};

/// The control group a field is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Model,
    /// The model settings the tutorial leaves at DeepCTR's defaults, folded away on the page.
    ModelMore,
    Training,
    Data,
}

/// A field's type, its bounds and how to read and write it.
#[derive(Clone, Copy)]
pub enum Value {
    /// A whole number in `min..=max`.
    Count {
        min: u64,
        max: u64,
        get: fn(&Experiment) -> u64,
        set: fn(&mut Experiment, u64),
    },
    /// A real number in `min..=max`; `step` is the input's step (`"any"` or a size).
    Real {
        min: f64,
        max: f64,
        step: &'static str,
        get: fn(&Experiment) -> f64,
        set: fn(&mut Experiment, f64),
    },
    /// Layer sizes such as `64,32`: 1 to [`FIELD_MAX_LAYERS`] layers (0 allowed if `may_be_empty`) of
    /// 1 to [`FIELD_MAX_UNITS`] units.
    Units {
        may_be_empty: bool,
        get: fn(&Experiment) -> &[usize],
        set: fn(&mut Experiment, Vec<usize>),
    },
    /// On or off.
    Flag {
        get: fn(&Experiment) -> bool,
        set: fn(&mut Experiment, bool),
    },
    /// One of a list of slugs.
    Choice {
        /// `(slug, label)` pairs.
        options: fn() -> Vec<(&'static str, &'static str)>,
        get: fn(&Experiment) -> &'static str,
        /// `false` if the slug is not an option.
        set: fn(&mut Experiment, &str) -> bool,
    },
}

/// One setting.
#[derive(Clone, Copy)]
pub struct Field {
    /// The URL key.
    pub key: &'static str,
    /// The control's element id.
    pub id: &'static str,
    /// The control's label; notices use it in lower case.
    pub label: &'static str,
    /// One line on what the setting does.
    pub help: &'static str,
    pub group: Group,
    /// The knob it is, for the models that use only some; `None` if every model uses it.
    pub knob: Option<Knob>,
    /// The data sets it belongs to; empty if it applies to all.
    pub data: &'static [DataKind],
    /// Applied to the running model without a rebuild.
    pub live: bool,
    pub value: Value,
}

impl Field {
    /// Whether this field means something in `e`: its model uses it, on its data set.
    pub fn applies_to(&self, e: &Experiment) -> bool {
        self.knob.is_none_or(|k| e.model.uses(k))
            && (self.data.is_empty() || self.data.contains(&e.data))
    }

    /// The field's value as the URL and the controls write it.
    pub fn text(&self, e: &Experiment) -> String {
        match self.value {
            Value::Count { get, .. } => get(e).to_string(),
            Value::Real { get, .. } => get(e).to_string(),
            Value::Units { get, .. } => format_units(get(e)),
            Value::Flag { get, .. } => (get(e) as u8).to_string(),
            Value::Choice { get, .. } => get(e).to_string(),
        }
    }

    /// Reads `text` into `e`, unclamped (see [`Experiment::sanitize`]). On an error it leaves `e`
    /// as it was and says why, echoing the text shortened: `'abc' is not a whole number`.
    pub fn parse(&self, e: &mut Experiment, text: &str) -> Result<(), String> {
        let text = text.trim();
        let not = |what: &str| Err(format!("'{}' is not {what}", shorten(text)));
        match self.value {
            Value::Count { set, .. } => match text.parse::<u64>() {
                Ok(v) => set(e, v),
                Err(_) => return not("a whole number"),
            },
            Value::Real { set, .. } => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => set(e, v),
                _ => return not("a number"),
            },
            Value::Units {
                may_be_empty, set, ..
            } => match parse_units(text) {
                Ok(units) => set(e, units),
                Err(_) if may_be_empty && text.is_empty() => set(e, Vec::new()),
                Err(why) => return Err(why),
            },
            Value::Flag { set, .. } => match text {
                "1" | "true" | "on" => set(e, true),
                "0" | "false" | "off" => set(e, false),
                _ => return not("on (1) or off (0)"),
            },
            Value::Choice { options, set, .. } => {
                if !set(e, text) {
                    let slugs: Vec<&str> = options().into_iter().map(|(s, _)| s).collect();
                    return not(&format!("one of {}", slugs.join(", ")));
                }
            }
        }
        Ok(())
    }

    /// Copies this field's value from `from` into `to`.
    pub fn copy(&self, from: &Experiment, to: &mut Experiment) {
        match self.value {
            Value::Count { get, set, .. } => set(to, get(from)),
            Value::Real { get, set, .. } => set(to, get(from)),
            Value::Units { get, set, .. } => set(to, get(from).to_vec()),
            Value::Flag { get, set } => set(to, get(from)),
            Value::Choice { get, set, .. } => {
                set(to, get(from));
            }
        }
    }

    /// The name notices use.
    pub fn name(&self) -> String {
        self.label.to_lowercase()
    }
}

/// Layers per list of layer sizes, on the page. The page's field bounds are deliberately
/// tighter than what the core builds at all (`mtl_vocab::limits`), so that every model a learner
/// sets up trains at a usable speed in a tab. Each stays inside its limit: the layer bounds by a
/// compile-time assertion below, the counts by `fields_bounds_are_within_the_vocabularys_limits`.
pub const FIELD_MAX_LAYERS: usize = 4;
/// Units per hidden layer, on the page (see [`FIELD_MAX_LAYERS`]).
pub const FIELD_MAX_UNITS: usize = 512;
/// Seeds trained side by side, on the page: 32, enough for the paired comparisons the page
/// teaches (20–30 seeds) in one build.
pub const MAX_PAGE_REPLICAS: usize = 32;
// The layer and replica bounds inside the vocabulary's, checked as the crate compiles.
const _: () = assert!(
    FIELD_MAX_LAYERS <= mtl_vocab::limits::MAX_LAYERS
        && FIELD_MAX_UNITS <= mtl_vocab::limits::MAX_UNITS
        && MAX_PAGE_REPLICAS <= mtl_vocab::limits::MAX_REPLICAS
);
/// Seeds stay within JavaScript's exact integers, so they survive JSON and URLs.
pub const SEED_MAX: u64 = (1 << 53) - 1;

/// Every setting of the experiment, in the URL's and the controls' order. The bounds are the
/// page's; they are tighter than the core library's, so every model the page builds trains at a
/// usable speed in a tab.
pub static FIELDS: &[Field] = &[
    Field {
        key: "model",
        id: "model",
        label: "Architecture",
        help: "The architecture to train. Changing it resets the model and takes the tutorial's sizes for it.",
        group: Group::Model,
        knob: None,
        data: &[],
        live: false,
        value: Value::Choice {
            options: || {
                ModelKind::ALL
                    .iter()
                    .map(|m| (m.slug(), m.label()))
                    .collect()
            },
            get: |e| e.model.slug(),
            set: |e, s| match ModelKind::from_slug(s) {
                Some(m) => {
                    *e = e.with_model(m);
                    true
                }
                None => false,
            },
        },
    },
    Field {
        key: "experts",
        id: "experts",
        label: "Experts",
        help: "Expert networks every task's gate mixes.",
        group: Group::Model,
        knob: Some(Knob::Experts),
        data: &[],
        live: false,
        value: Value::Count {
            min: 1,
            max: 16,
            get: |e| e.arch.experts as u64,
            set: |e, v| e.arch.experts = v as usize,
        },
    },
    Field {
        key: "specific",
        id: "specific",
        label: "Task-specific experts",
        help: "Experts only one task's gate sees, per task and level.",
        group: Group::Model,
        knob: Some(Knob::SpecificExperts),
        data: &[],
        live: false,
        value: Value::Count {
            min: 1,
            max: 16,
            get: |e| e.arch.specific_experts as u64,
            set: |e, v| e.arch.specific_experts = v as usize,
        },
    },
    Field {
        key: "shared",
        id: "shared",
        label: "Shared experts",
        help: "Experts every task's gate sees, per level.",
        group: Group::Model,
        knob: Some(Knob::SharedExperts),
        data: &[],
        live: false,
        value: Value::Count {
            min: 1,
            max: 16,
            get: |e| e.arch.shared_experts as u64,
            set: |e, v| e.arch.shared_experts = v as usize,
        },
    },
    Field {
        key: "levels",
        id: "levels",
        label: "Levels",
        help: "Stacked extraction layers; PLE with 1 level is CGC.",
        group: Group::Model,
        knob: Some(Knob::Levels),
        data: &[],
        live: false,
        value: Value::Count {
            min: 1,
            max: 4,
            get: |e| e.arch.levels as u64,
            set: |e, v| e.arch.levels = v as usize,
        },
    },
    Field {
        key: "expert_units",
        id: "expert-units",
        label: "Expert layers",
        help: "Hidden units of each expert, comma-separated.",
        group: Group::Model,
        knob: Some(Knob::ExpertUnits),
        data: &[],
        live: false,
        value: Value::Units {
            may_be_empty: false,
            get: |e| &e.arch.expert_units,
            set: |e, u| e.arch.expert_units = u,
        },
    },
    Field {
        key: "bottom_units",
        id: "bottom-units",
        label: "Bottom layers",
        help: "Hidden units of the shared bottom (each task's own network for single-task).",
        group: Group::Model,
        knob: Some(Knob::BottomUnits),
        data: &[],
        live: false,
        value: Value::Units {
            may_be_empty: false,
            get: |e| &e.arch.bottom_units,
            set: |e, u| e.arch.bottom_units = u,
        },
    },
    Field {
        key: "tower_units",
        id: "tower-units",
        label: "Tower layers",
        help: "Hidden units of each task's tower before its output.",
        group: Group::Model,
        knob: Some(Knob::TowerUnits),
        data: &[],
        live: false,
        value: Value::Units {
            may_be_empty: false,
            get: |e| &e.arch.tower_units,
            set: |e, u| e.arch.tower_units = u,
        },
    },
    Field {
        key: "gate_units",
        id: "gate-units",
        label: "Gate layers",
        help: "Hidden units before each gate's softmax. Empty (the papers' choice) is one dense layer.",
        group: Group::ModelMore,
        knob: Some(Knob::GateUnits),
        data: &[],
        live: false,
        value: Value::Units {
            may_be_empty: true,
            get: |e| &e.arch.gate_units,
            set: |e, u| e.arch.gate_units = u,
        },
    },
    Field {
        key: "emb",
        id: "embedding",
        label: "Embedding dim",
        help: "Width of each categorical field's embedding.",
        group: Group::Model,
        knob: Some(Knob::EmbeddingDim),
        data: &[DataKind::Adult, DataKind::Funnel],
        live: false,
        value: Value::Count {
            min: 1,
            max: 32,
            get: |e| e.arch.embedding_dim as u64,
            set: |e, v| e.arch.embedding_dim = v as usize,
        },
    },
    Field {
        key: "shared_emb",
        id: "shared-embedding",
        label: "One embedding table for both towers",
        help: "ESMM's design: the CVR tower reads the item representation the CTR tower learns from every impression. Off: a table each (ESMM-NS; the naive model's default).",
        group: Group::Model,
        knob: Some(Knob::SharedEmbedding),
        data: &[DataKind::Adult, DataKind::Funnel],
        live: false,
        value: Value::Flag {
            get: |e| e.arch.shared_embedding,
            set: |e, on| e.arch.shared_embedding = on,
        },
    },
    Field {
        key: "dropout",
        id: "dropout",
        label: "Dropout",
        help: "Share of hidden units switched off at random in each training step (never when scoring).",
        group: Group::ModelMore,
        knob: Some(Knob::Dropout),
        data: &[],
        live: false,
        value: Value::Real {
            min: 0.0,
            max: 0.9,
            step: "0.05",
            get: |e| e.arch.dropout,
            set: |e, v| e.arch.dropout = v,
        },
    },
    Field {
        key: "l2",
        id: "l2",
        label: "L2 on embeddings",
        help: "Penalty on the squared embedding weights, as DeepCTR's l2_reg_embedding (1e-5).",
        group: Group::ModelMore,
        knob: Some(Knob::L2Embedding),
        data: &[DataKind::Adult, DataKind::Funnel],
        live: false,
        value: Value::Real {
            min: 0.0,
            max: 0.1,
            step: "any",
            get: |e| e.arch.l2_embedding,
            set: |e, v| e.arch.l2_embedding = v,
        },
    },
    Field {
        key: "lr",
        id: "lr",
        label: "Learning rate",
        help: "Adam's step size. Takes effect live, without a reset.",
        group: Group::Training,
        knob: None,
        data: &[],
        live: true,
        value: Value::Real {
            min: 1e-5,
            max: 1.0,
            step: "any",
            get: |e| e.learning_rate,
            set: |e, v| e.learning_rate = v,
        },
    },
    Field {
        key: "batch",
        id: "batch",
        label: "Batch size",
        help: "Rows per training step.",
        group: Group::Training,
        knob: None,
        data: &[],
        live: false,
        value: Value::Count {
            min: 16,
            max: 4096,
            get: |e| e.batch_size as u64,
            set: |e, v| e.batch_size = v as usize,
        },
    },
    Field {
        key: "w1",
        id: "weight1",
        label: "Loss weight, task 1",
        help: "How much task 1's loss counts. Live.",
        group: Group::Training,
        knob: None,
        data: &[],
        live: true,
        value: Value::Real {
            min: 0.0,
            max: 10.0,
            step: "0.1",
            get: |e| e.loss_weights[0] as f64,
            set: |e, v| e.loss_weights[0] = v as f32,
        },
    },
    Field {
        key: "w2",
        id: "weight2",
        label: "Loss weight, task 2",
        help: "How much task 2's loss counts. Live.",
        group: Group::Training,
        knob: None,
        data: &[],
        live: true,
        value: Value::Real {
            min: 0.0,
            max: 10.0,
            step: "0.1",
            get: |e| e.loss_weights[1] as f64,
            set: |e, v| e.loss_weights[1] = v as f32,
        },
    },
    Field {
        key: "data",
        id: "dataset",
        label: "Data set",
        help: "Adult is the tutorial's example. The correlated tasks are synthetic, their correlation a knob: where MMoE's gates matter. The funnel is synthetic clicks and conversions: where ESMM matters.",
        group: Group::Data,
        knob: None,
        data: &[],
        live: false,
        value: Value::Choice {
            options: || {
                DataKind::ALL
                    .iter()
                    .map(|d| (d.slug(), d.label()))
                    .collect()
            },
            get: |e| e.data.slug(),
            set: |e, s| match DataKind::from_slug(s) {
                Some(d) => {
                    *e = e.with_data(d);
                    true
                }
                None => false,
            },
        },
    },
    Field {
        key: "relationship",
        id: "relationship",
        label: "Use the relationship field",
        help: "It leaks the never-married label (husband, wife, own-child…). Turn it off and watch task 2's AUC fall.",
        group: Group::Data,
        knob: None,
        data: &[DataKind::Adult],
        live: false,
        value: Value::Flag {
            get: |e| e.relationship,
            set: |e, on| e.relationship = on,
        },
    },
    Field {
        key: "p",
        id: "correlation",
        label: "Task correlation p",
        help: "The cosine of the two tasks' weight vectors: 1 is one task twice, 0 two unrelated tasks. The labels correlate less than p (sines and noise).",
        group: Group::Data,
        knob: None,
        data: &[DataKind::Correlated],
        live: false,
        value: Value::Real {
            min: -1.0,
            max: 1.0,
            step: "0.1",
            get: |e| e.p,
            set: |e, v| e.p = v,
        },
    },
    Field {
        key: "c",
        id: "weight-norm",
        label: "Weight norm c",
        help: "The length of both tasks' weight vectors: the larger, the more the sines bend the labels away from a linear function.",
        group: Group::Data,
        knob: None,
        data: &[DataKind::Correlated],
        live: false,
        value: Value::Real {
            min: 0.1,
            max: 5.0,
            step: "0.1",
            get: |e| e.c,
            set: |e, v| e.c = v,
        },
    },
    Field {
        key: "noise",
        id: "noise",
        label: "Label noise",
        help: "The standard deviation of the noise added to both labels (before they are standardised).",
        group: Group::Data,
        knob: None,
        data: &[DataKind::Correlated],
        live: false,
        value: Value::Real {
            min: 0.0,
            max: 2.0,
            step: "0.01",
            get: |e| e.noise,
            set: |e, v| e.noise = v,
        },
    },
    Field {
        key: "confound",
        id: "confound",
        label: "Hidden factor k",
        help: "A cause of each impression that the logs do not record (a mood, an intent), adding k · u to both its click and its conversion logits: the clicked impressions then convert more than their item and context say, ESMM's sample selection bias. 0: none.",
        group: Group::Data,
        knob: None,
        data: &[DataKind::Funnel],
        live: false,
        value: Value::Real {
            min: 0.0,
            max: MAX_CONFOUND,
            step: "0.1",
            get: |e| e.confound,
            set: |e, v| e.confound = v,
        },
    },
    Field {
        key: "seed",
        id: "seed",
        label: "Seed",
        help: "Decides the initial weights and the batch order. Same seed, same run.",
        group: Group::Training,
        knob: None,
        data: &[],
        live: false,
        value: Value::Count {
            min: 0,
            max: SEED_MAX,
            get: |e| e.seed,
            set: |e, v| e.seed = v,
        },
    },
    Field {
        key: "seeds",
        id: "replicas",
        label: "Seeds side by side",
        help: "Trains this many seeds (seed, seed + 1, …) of the setup at once, as one \
               computation: the plots show their mean in bold and each seed faintly, and the \
               test reports each. On synthetic data each seed draws its own data too.",
        group: Group::Training,
        knob: None,
        data: &[],
        live: false,
        value: Value::Count {
            min: 1,
            max: MAX_PAGE_REPLICAS as u64,
            get: |e| e.replicas as u64,
            set: |e, v| e.replicas = v as usize,
        },
    },
    Field {
        key: "epochs",
        id: "epochs",
        label: "Epochs",
        help: "Training stops by itself after this many passes over the data. Live.",
        group: Group::Training,
        knob: None,
        data: &[],
        live: true,
        value: Value::Count {
            min: 1,
            max: 100,
            get: |e| e.epochs as u64,
            set: |e, v| e.epochs = v as usize,
        },
    },
    Field {
        key: "patience",
        id: "patience",
        label: "Early stopping",
        help: "Stop after this many epochs without a better validation loss (0: train every \
               epoch). Either way the test scores the weights with the best validation loss, \
               once, when the run ends. Live.",
        group: Group::Training,
        knob: None,
        data: &[],
        live: true,
        value: Value::Count {
            min: 0,
            max: 20,
            get: |e| e.patience as u64,
            set: |e, v| e.patience = v as usize,
        },
    },
    Field {
        key: "device",
        id: "device",
        label: "Device",
        help: "Auto times both devices on this setup where WebGPU has an adapter, and trains on the faster; the CPU device otherwise.",
        group: Group::Data,
        knob: None,
        data: &[],
        live: false,
        value: Value::Choice {
            options: || {
                DeviceChoice::ALL
                    .iter()
                    .map(|d| (d.slug(), d.label()))
                    .collect()
            },
            get: |e| e.device.slug(),
            set: |e, s| match DeviceChoice::from_slug(s) {
                Some(d) => {
                    e.device = d;
                    true
                }
                None => false,
            },
        },
    },
];

/// `text` cut to 40 characters, for echoing what a user or a link typed.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// The field with URL key `key`.
pub fn field(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
}

/// The operations that read the field table. They are [`Experiment`]'s methods, written here
/// beside the table so that the experiment, which the table's getters and setters name, does not
/// import it back.
impl Experiment {
    /// Whether going from `self` to `next` needs a new model (anything but the live settings,
    /// such as the learning rate and the loss weights, which the worker applies in place).
    pub fn needs_rebuild(&self, next: &Experiment) -> bool {
        let mut next = next.clone();
        for f in FIELDS.iter().filter(|f| f.live) {
            f.copy(self, &mut next);
        }
        *self != next
    }

    /// Clamps every field into its bound and says what it changed, in words for the page.
    pub fn sanitize(&mut self) -> Vec<Notice> {
        let mut notices = Vec::new();
        let tutorial = Experiment::tutorial(self.model);
        for f in FIELDS {
            let name = f.name();
            match f.value {
                Value::Count { min, max, get, set } => {
                    let v = get(self);
                    if v < min || v > max {
                        let c = v.clamp(min, max);
                        notices.push(Notice::new(
                            name,
                            format!("must be between {min} and {max}; {v} became {c}"),
                        ));
                        set(self, c);
                    }
                }
                Value::Real {
                    min, max, get, set, ..
                } => {
                    let v = get(self);
                    if !v.is_finite() {
                        let d = get(&tutorial);
                        notices.push(Notice::new(name, format!("is not a number; reset to {d}")));
                        set(self, d);
                    } else if v < min || v > max {
                        let c = v.clamp(min, max);
                        notices.push(Notice::new(
                            name,
                            format!("must be in [{min}, {max}]; {v} became {c}"),
                        ));
                        set(self, c);
                    }
                }
                Value::Units {
                    may_be_empty,
                    get,
                    set,
                } => {
                    let mut units = get(self).to_vec();
                    clamp_units(&mut units, may_be_empty, &name, &mut notices);
                    set(self, units);
                }
                Value::Flag { .. } | Value::Choice { .. } => {}
            }
        }
        if !self.data.offers(self.model) {
            notices.push(Notice::new(
                "model",
                format!(
                    "{} does not train on {}; switched to MMoE",
                    self.model.label(),
                    self.data.label()
                ),
            ));
            *self = self.with_model(ModelKind::Mmoe);
        }
        if self.loss_weights.iter().all(|&w| w == 0.0) {
            notices.push(Notice::new(
                "loss weights",
                "cannot all be 0 (nothing would train); both reset to 1",
            ));
            self.loss_weights = [1.0, 1.0];
        }
        // The last seed side by side stays within JavaScript's exact integers too.
        let last = SEED_MAX - (self.replicas.max(1) as u64 - 1);
        if self.seed > last {
            notices.push(Notice::new(
                "seed",
                format!(
                    "with {} seeds side by side must be at most {last}; {} became {last}",
                    self.replicas, self.seed
                ),
            ));
            self.seed = last;
        }
        notices
    }
}

/// Keeps a list of layer sizes within [`FIELD_MAX_LAYERS`] layers of 1 to [`FIELD_MAX_UNITS`] units.
fn clamp_units(units: &mut Vec<usize>, may_be_empty: bool, field: &str, notices: &mut Vec<Notice>) {
    if units.is_empty() && !may_be_empty {
        notices.push(Notice::new(field, "cannot be empty; set to 16"));
        units.push(16);
    }
    if units.len() > FIELD_MAX_LAYERS {
        notices.push(Notice::new(
            field,
            format!("at most {FIELD_MAX_LAYERS} layers; extra layers dropped"),
        ));
        units.truncate(FIELD_MAX_LAYERS);
    }
    if units.iter().any(|u| !(1..=FIELD_MAX_UNITS).contains(u)) {
        notices.push(Notice::new(
            field,
            format!("each layer needs 1 to {FIELD_MAX_UNITS} units; clamped"),
        ));
        for u in units.iter_mut() {
            *u = (*u).clamp(1, FIELD_MAX_UNITS);
        }
    }
}

/// Parses `"64, 32"` into `[64, 32]`, refusing anything that is not a list of positive integers.
pub fn parse_units(text: &str) -> Result<Vec<usize>, String> {
    let parts: Vec<&str> = text
        .split([',', ' ', ';'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err("give at least one layer size, such as 64,32".into());
    }
    parts
        .iter()
        .map(|p| {
            p.parse::<usize>()
                .ok()
                .filter(|&u| u > 0)
                .ok_or_else(|| format!("'{}' is not a positive whole number of units", shorten(p)))
        })
        .collect()
}

/// The experiment as a URL query (without the `?`): every field of [`FIELDS`], in its order, so
/// a link reproduces the setup. [`from_query`] reads it back.
pub fn to_query(e: &Experiment) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for f in FIELDS {
        query.append_pair(f.key, &f.text(e));
    }
    query.finish()
}

/// Reads an experiment from a URL query (with or without the `?`). It never fails: unknown keys,
/// malformed values and out-of-range numbers are reported as notices and replaced by the
/// tutorial's defaults or clamped. Echoed values are shortened and stay plain text.
pub fn from_query(query: &str) -> (Experiment, Vec<Notice>) {
    let mut notices = Vec::new();
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect();
    // The data set and the model first: they decide the defaults of the fields the query
    // leaves out, wherever they stand in it.
    let data = match pairs.iter().rev().find(|(k, _)| k == "data") {
        None => DataKind::Adult,
        Some((_, slug)) => DataKind::from_slug(slug).unwrap_or_else(|| {
            notices.push(Notice::new(
                "data",
                format!("'{}' is not a data set; using Adult", shorten(slug)),
            ));
            DataKind::Adult
        }),
    };
    let model = pairs.iter().rev().find(|(k, _)| k == "model");
    let model = match model {
        None => ModelKind::Mmoe,
        Some((_, slug)) => ModelKind::from_slug(slug).unwrap_or_else(|| {
            notices.push(Notice::new(
                "model",
                format!("'{}' is not a model; using MMoE", shorten(slug)),
            ));
            ModelKind::Mmoe
        }),
    };
    let mut e = Experiment::tutorial_on(model, data);
    for (key, raw) in pairs.iter().filter(|(k, _)| k != "model" && k != "data") {
        match field(key) {
            Some(f) => {
                if let Err(why) = f.parse(&mut e, raw) {
                    notices.push(Notice::new(
                        key.as_str(),
                        format!("{why}; kept the default"),
                    ));
                }
            }
            None => notices.push(Notice::new(shorten(key), "is not a setting; ignored")),
        }
    }
    notices.extend(e.sanitize());
    (e, notices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_clamps_and_reports_each_field() {
        let mut e = Experiment::default();
        e.arch.experts = 0;
        e.arch.levels = 9;
        e.arch.tower_units = vec![];
        e.arch.expert_units = vec![5000, 1, 2, 3, 4, 5];
        e.arch.dropout = 0.99;
        e.learning_rate = f64::NAN;
        e.batch_size = 1;
        e.loss_weights = [0.0, 0.0];
        e.seed = u64::MAX;
        let notices = e.sanitize();
        assert_eq!((e.arch.experts, e.arch.levels, e.batch_size), (1, 4, 16));
        assert_eq!(e.arch.tower_units, vec![16]);
        assert_eq!(e.arch.expert_units, vec![512, 1, 2, 3]);
        assert_eq!((e.arch.dropout, e.learning_rate), (0.9, 1e-3));
        assert_eq!(e.loss_weights, [1.0, 1.0]);
        assert_eq!(e.seed, SEED_MAX);
        let fields: Vec<&str> = notices.iter().map(|n| n.field.as_str()).collect();
        for f in [
            "experts",
            "levels",
            "tower layers",
            "expert layers",
            "dropout",
            "learning rate",
            "batch size",
            "loss weights",
            "seed",
        ] {
            assert!(fields.contains(&f), "no notice for {f}: {fields:?}");
        }
        // Seeds side by side end at the largest seed too: the first one moves down.
        let mut e = Experiment {
            seed: SEED_MAX,
            replicas: 3,
            ..Experiment::default()
        };
        let notices = e.sanitize();
        assert_eq!((e.seed, e.seeds().last()), (SEED_MAX - 2, Some(&SEED_MAX)));
        assert_eq!(notices.len(), 1, "{notices:?}");
        // A valid experiment is left alone, an empty gate DNN included.
        for (data, model) in offered() {
            let mut ok = Experiment::tutorial_on(model, data);
            assert!(ok.sanitize().is_empty(), "{model} on {data:?}");
            assert_eq!(ok, Experiment::tutorial_on(model, data));
        }
        // A model the data set does not offer is switched, and said so.
        let mut naive = Experiment::tutorial_on(ModelKind::NaiveCvr, DataKind::Funnel);
        naive.data = DataKind::Adult;
        let notices = naive.sanitize();
        assert_eq!(naive.model, ModelKind::Mmoe);
        assert!(notices[0].message.contains("Naive CVR"), "{notices:?}");
    }

    /// Every data set with every model it offers.
    fn offered() -> Vec<(DataKind, ModelKind)> {
        DataKind::ALL
            .into_iter()
            .flat_map(|d| crate::protocol::experiment::models_on(d).map(move |m| (d, m)))
            .collect()
    }

    #[test]
    fn parse_units_accepts_lists_and_refuses_junk() {
        assert_eq!(parse_units("64,32"), Ok(vec![64, 32]));
        assert_eq!(parse_units(" 64 , 32 "), Ok(vec![64, 32]));
        assert!(parse_units("").is_err());
        assert!(parse_units("64,-1").is_err());
        assert!(parse_units("0").is_err());
        assert!(parse_units("<b>").is_err());
        assert_eq!(format_units(&[64, 32]), "64,32");
    }

    #[test]
    fn needs_rebuild_ignores_live_settings() {
        let e = Experiment::default();
        let mut live = e.clone();
        live.learning_rate = 0.01;
        live.loss_weights = [2.0, 0.5];
        live.epochs = 50;
        assert!(!e.needs_rebuild(&live));
        for change in [
            |e: &mut Experiment| e.arch.experts = 8,
            |e: &mut Experiment| e.arch.dropout = 0.1,
            |e: &mut Experiment| e.seed = 2,
            |e: &mut Experiment| e.batch_size = 512,
        ] {
            let mut arch = live.clone();
            change(&mut arch);
            assert!(e.needs_rebuild(&arch), "{arch:?}");
        }
    }

    #[test]
    fn query_round_trips_every_model() {
        for (data, model) in offered() {
            let mut e = Experiment::tutorial_on(model, data);
            e.seed = 42;
            e.learning_rate = 0.003;
            e.loss_weights = [0.5, 2.0];
            e.relationship = false;
            e.device = DeviceChoice::Cpu;
            e.arch.tower_units = vec![32, 16, 8];
            e.arch.gate_units = vec![8];
            e.arch.dropout = 0.1;
            e.arch.l2_embedding = 0.0;
            let (back, notices) = from_query(&to_query(&e));
            assert_eq!(back, e, "{model}");
            assert!(notices.is_empty(), "{notices:?}");
        }
        let (e, notices) = from_query("");
        assert_eq!((e, notices.len()), (Experiment::default(), 0));
        // An empty gate DNN survives the trip.
        let e = Experiment::default();
        assert!(to_query(&e).contains("gate_units=&"));
        assert_eq!(from_query(&to_query(&e)).0, e);
        // The model is read first, whatever its place: the fields before it are kept.
        let (e, _) = from_query("experts=9&model=omoe");
        assert_eq!((e.model, e.arch.experts), (ModelKind::Omoe, 9));
        // The CLI's spelling works in a link too.
        assert_eq!(
            from_query("model=shared-bottom").0.model,
            ModelKind::SharedBottom
        );
    }

    #[test]
    fn experiment_data_set_brings_its_setup_and_round_trips() {
        let mut e = Experiment::tutorial(ModelKind::Esmm);
        e.seed = 9;
        let c = e.with_data(DataKind::Correlated);
        // ESMM needs a funnel: the correlated tasks get MMoE, with their own sizes and training.
        assert_eq!(
            (c.model, c.seed, c.data),
            (ModelKind::Mmoe, 9, DataKind::Correlated)
        );
        assert_eq!(
            (c.arch.expert_units.clone(), c.learning_rate, c.batch_size),
            (vec![12, 4], 3e-3, 128)
        );
        assert_eq!(c.task_names(), ["y1", "y2"]);
        assert_eq!(
            c.with_model(ModelKind::SharedBottom).arch.bottom_units,
            vec![48, 4]
        );
        let mut q = c.with_model(ModelKind::Ple);
        q.p = -0.3;
        q.c = 3.0;
        q.noise = 0.2;
        q.arch.levels = 3;
        let (back, notices) = from_query(&to_query(&q));
        assert_eq!(back, q);
        assert!(notices.is_empty(), "{notices:?}");
        // The data set is read first wherever it stands, and p is clamped.
        let (e, notices) = from_query("p=3&model=cgc&data=correlated");
        assert_eq!(
            (e.data, e.model, e.p),
            (DataKind::Correlated, ModelKind::Cgc, 1.0)
        );
        assert!(notices.iter().any(|n| n.field.contains("correlation")));
        let (e, notices) = from_query("data=correlated&model=esmm");
        assert_eq!(e.model, ModelKind::Mmoe);
        assert!(notices.iter().any(|n| n.message.contains("does not train")));
        assert_eq!(from_query("data=nope").0.data, DataKind::Adult);
        // The summary repeats only what differs from the data set's own setup.
        let summary = c.summary();
        assert!(summary.contains("correlated tasks, p = 0.5"), "{summary}");
        assert!(
            !summary.contains("emb") && !summary.contains("L2"),
            "{summary}"
        );
        assert!(q.summary().contains("c = 3, noise 0.2"), "{}", q.summary());
    }

    #[test]
    fn query_reports_malformed_and_hostile_values() {
        let (e, notices) = from_query(
            "?model=ple&levels=99&experts=abc&lr=-5&tower_units=%3Cscript%3Ealert(1)%3C/script%3E&evil=%3Cimg%20src=x%3E&seed=1e999&relationship=maybe&device=quantum&batch=&dropout=2",
        );
        assert_eq!(e.model, ModelKind::Ple);
        assert_eq!(e.arch.levels, 4);
        assert_eq!(e.arch.experts, 4);
        assert_eq!(e.learning_rate, 1e-5);
        assert_eq!(e.arch.tower_units, vec![16, 16]);
        assert_eq!(e.arch.dropout, 0.9);
        assert_eq!(e.seed, 1);
        assert!(e.relationship);
        assert_eq!(e.device, DeviceChoice::Auto);
        let text: Vec<String> = notices.iter().map(|n| n.to_string()).collect();
        for needle in [
            "levels",
            "experts",
            "learning rate",
            "tower_units",
            "is not a setting",
            "seed",
            "relationship",
            "device",
            "batch",
            "dropout",
        ] {
            assert!(
                text.iter().any(|t| t.contains(needle)),
                "no notice about {needle}: {text:?}"
            );
        }
        let (_, notices) = from_query(&format!("model={}", "x".repeat(5000)));
        assert!(notices[0].message.len() < 100, "echoes are shortened");
        let (e, _) = from_query("model=%ZZ&%=1&&=&a");
        assert_eq!(e.model, ModelKind::Mmoe);
    }

    #[test]
    fn fields_bounds_are_within_the_vocabularys_limits() {
        use mtl_vocab::limits;
        let mut checked = 0;
        for f in FIELDS {
            let Value::Count { max, .. } = f.value else {
                continue;
            };
            let limit = match f.knob {
                Some(Knob::Experts | Knob::SpecificExperts | Knob::SharedExperts) => {
                    limits::MAX_EXPERTS
                }
                Some(Knob::Levels) => limits::MAX_LEVELS,
                Some(Knob::EmbeddingDim) => limits::MAX_EMBEDDING_DIM,
                _ => continue,
            };
            assert!(max <= limit as u64, "{}: {max} > {limit}", f.key);
            checked += 1;
        }
        assert_eq!(checked, 5, "experts, specific, shared, levels, emb");
    }

    #[test]
    fn fields_have_unique_keys_and_ids() {
        let mut keys: Vec<&str> = FIELDS.iter().map(|f| f.key).collect();
        let mut ids: Vec<&str> = FIELDS.iter().map(|f| f.id).collect();
        keys.sort();
        ids.sort();
        keys.dedup();
        ids.dedup();
        assert_eq!((keys.len(), ids.len()), (FIELDS.len(), FIELDS.len()));
    }

    #[test]
    fn fields_reach_every_model_setting() {
        // Each field's setter changes what its getter reads, and every ModelSettings value is
        // some field's: changing all fields to a value unlike the tutorial's changes the whole
        // `arch`, so no knob of the core is out of the page's reach.
        let base = Experiment::tutorial(ModelKind::Ple);
        let mut e = base.clone();
        for f in FIELDS {
            let before = f.text(&e);
            let other = match f.value {
                Value::Count { min, get, .. } => {
                    let v = if get(&e) == min + 1 { min } else { min + 1 };
                    v.to_string()
                }
                Value::Real { min, max, .. } => (min + (max - min) / 4.0).to_string(),
                Value::Units { .. } => "7,5".into(),
                Value::Flag { get, .. } => (!get(&e) as u8).to_string(),
                Value::Choice { .. } => continue,
            };
            f.parse(&mut e, &other).unwrap();
            assert_ne!(f.text(&e), before, "{} did not change", f.key);
            assert_eq!(f.text(&e), other, "{} reads back", f.key);
        }
        let a = &e.arch;
        let b = &base.arch;
        assert!(a.embedding_dim != b.embedding_dim && a.experts != b.experts);
        assert!(a.specific_experts != b.specific_experts && a.shared_experts != b.shared_experts);
        assert!(a.levels != b.levels && a.dropout != b.dropout && a.l2_embedding != b.l2_embedding);
        assert!(a.shared_embedding != b.shared_embedding);
        for (x, y) in [
            (&a.bottom_units, &b.bottom_units),
            (&a.expert_units, &b.expert_units),
            (&a.tower_units, &b.tower_units),
            (&a.gate_units, &b.gate_units),
        ] {
            assert_ne!(x, y);
        }
    }

    #[test]
    fn fields_parse_refuses_junk_and_keeps_the_value() {
        let mut e = Experiment::default();
        for (key, junk) in [
            ("experts", "abc"),
            ("lr", "NaN"),
            ("tower_units", "<b>"),
            ("relationship", "maybe"),
            ("device", "quantum"),
            ("model", "transformer"),
        ] {
            let f = field(key).unwrap();
            let before = e.clone();
            assert!(f.parse(&mut e, junk).is_err(), "{key}");
            assert_eq!(e, before, "{key}");
        }
        // The gate DNN may be empty; the towers may not.
        field("gate_units").unwrap().parse(&mut e, "").unwrap();
        assert!(field("tower_units").unwrap().parse(&mut e, "").is_err());
    }

    #[test]
    fn fields_group_and_knob_follow_the_model() {
        let shown = |m: ModelKind| -> Vec<&str> {
            let e = Experiment::tutorial(m);
            FIELDS
                .iter()
                .filter(|f| matches!(f.group, Group::Model | Group::ModelMore) && f.applies_to(&e))
                .map(|f| f.key)
                .collect()
        };
        assert!(shown(ModelKind::Ple).contains(&"levels"));
        assert!(!shown(ModelKind::Cgc).contains(&"levels"));
        assert!(!shown(ModelKind::SharedBottom).contains(&"gate_units"));
        assert!(shown(ModelKind::Esmm).contains(&"dropout"));
        // The data set's own fields.
        let adult = Experiment::default();
        let correlated = adult.with_data(DataKind::Correlated);
        let applies = |e: &Experiment, key| field(key).unwrap().applies_to(e);
        assert!(applies(&adult, "relationship") && !applies(&adult, "p"));
        assert!(!applies(&correlated, "relationship") && applies(&correlated, "p"));
        // Embeddings mean something wherever there is a categorical field: Adult and the funnel.
        let funnel = adult.with_data(DataKind::Funnel);
        assert!(applies(&funnel, "emb") && applies(&funnel, "l2") && applies(&adult, "emb"));
        assert!(!applies(&correlated, "emb") && !applies(&funnel, "p"));
    }
}
