//! The experiment's settings as one table, as TF Playground's `state.ts` declares its state:
//! each setting once, with its URL key, its control's id, label and help, its bounds and which
//! models use it. The URL ([`crate::protocol::experiment::to_query`], [`crate::protocol::experiment::from_query`]),
//! [`Experiment::sanitize`] and the controls all read [`FIELDS`]; the runner builds the core's
//! config from [`Experiment::arch`], which is the core's own [`mtl_vocab::ModelSettings`], so
//! every knob the core has reaches the page.
//!
//! Adding a knob: a field in `ModelSettings` (or `Experiment`), one row here. Nothing else.

use mtl_vocab::{DataKind, Knob, ModelKind};

use crate::protocol::experiment::{DeviceChoice, Experiment, format_units, parse_units};

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
    /// Layer sizes such as `64,32`: 1 to [`MAX_LAYERS`] layers (0 allowed if `may_be_empty`) of
    /// 1 to [`MAX_UNITS`] units.
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

/// Layers per list of layer sizes.
pub const MAX_LAYERS: usize = 4;
/// Units per layer.
pub const MAX_UNITS: usize = 512;
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
        help: "Auto picks WebGPU on a real GPU and the CPU device otherwise.",
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

#[cfg(test)]
mod tests {
    use super::*;

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
