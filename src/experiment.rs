//! The experiment a learner sets up: the model, its sizes, the training settings, the data
//! options, the device and the seed. It is plain data (no Burn, no web crate), so the page, the
//! worker and the URL all share it, and its checks run natively.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The models the page offers, in teaching order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    SingleTask,
    SharedBottom,
    Omoe,
    Mmoe,
    Cgc,
    Ple,
    Esmm,
}

impl ModelChoice {
    pub const ALL: [ModelChoice; 7] = [
        ModelChoice::SingleTask,
        ModelChoice::SharedBottom,
        ModelChoice::Omoe,
        ModelChoice::Mmoe,
        ModelChoice::Cgc,
        ModelChoice::Ple,
        ModelChoice::Esmm,
    ];

    /// The name used in URLs, the worker protocol and the CLI (`--model`).
    pub fn slug(self) -> &'static str {
        match self {
            ModelChoice::SingleTask => "single_task",
            ModelChoice::SharedBottom => "shared_bottom",
            ModelChoice::Omoe => "omoe",
            ModelChoice::Mmoe => "mmoe",
            ModelChoice::Cgc => "cgc",
            ModelChoice::Ple => "ple",
            ModelChoice::Esmm => "esmm",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.slug() == slug)
    }

    pub fn label(self) -> &'static str {
        match self {
            ModelChoice::SingleTask => "Single-task",
            ModelChoice::SharedBottom => "Shared-Bottom",
            ModelChoice::Omoe => "OMoE",
            ModelChoice::Mmoe => "MMoE",
            ModelChoice::Cgc => "CGC",
            ModelChoice::Ple => "PLE",
            ModelChoice::Esmm => "ESMM",
        }
    }

    /// Whether the model has gates to show.
    pub fn has_gates(self) -> bool {
        matches!(
            self,
            ModelChoice::Omoe | ModelChoice::Mmoe | ModelChoice::Cgc | ModelChoice::Ple
        )
    }

    /// Which size controls apply to this model.
    pub fn uses(self, knob: Knob) -> bool {
        use ModelChoice::*;
        match knob {
            Knob::Experts => matches!(self, Omoe | Mmoe),
            Knob::SpecificExperts | Knob::SharedExperts | Knob::ExpertUnits => {
                matches!(self, Cgc | Ple)
                    || (knob == Knob::ExpertUnits && matches!(self, Omoe | Mmoe))
            }
            Knob::Levels => self == Ple,
            Knob::BottomUnits => matches!(self, SingleTask | SharedBottom),
            Knob::TowerUnits => true,
        }
    }

    /// The task names the page shows for this model. ESMM reads income > 50K as the "click" and
    /// never-married as the "conversion", which is the point of its lesson: the second does not
    /// imply the first on Adult.
    pub fn task_names(self) -> [&'static str; 2] {
        match self {
            ModelChoice::Esmm => ["ctr", "ctcvr"],
            _ => ["income", "never_married"],
        }
    }
}

impl fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Size controls, so the page can show only those a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    Experts,
    SpecificExperts,
    SharedExperts,
    Levels,
    ExpertUnits,
    BottomUnits,
    TowerUnits,
}

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// WebGPU when a hardware adapter exists, the CPU device otherwise.
    #[default]
    Auto,
    Cpu,
    Webgpu,
}

impl DeviceChoice {
    pub const ALL: [DeviceChoice; 3] =
        [DeviceChoice::Auto, DeviceChoice::Cpu, DeviceChoice::Webgpu];

    pub fn slug(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Webgpu => "webgpu",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.slug() == slug)
    }
}

/// The whole experiment. Every field has a bound in [`limits`]; [`Experiment::sanitize`]
/// enforces them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub model: ModelChoice,
    /// MMoE / OMoE experts.
    pub experts: usize,
    /// CGC / PLE task-specific experts per task and level.
    pub specific_experts: usize,
    /// CGC / PLE shared experts per level.
    pub shared_experts: usize,
    /// PLE extraction levels.
    pub levels: usize,
    pub expert_units: Vec<usize>,
    pub bottom_units: Vec<usize>,
    pub tower_units: Vec<usize>,
    pub embedding_dim: usize,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// Per task, in task order.
    pub loss_weights: [f32; 2],
    /// Keep the `relationship` field (it leaks the never-married label).
    pub relationship: bool,
    pub seed: u64,
    /// Training stops by itself after this many epochs.
    pub epochs: usize,
    pub device: DeviceChoice,
}

/// The page's bounds. They are tighter than the core library's, so every model the page builds
/// trains at a usable speed in a tab.
pub mod limits {
    pub const EXPERTS: (usize, usize) = (1, 16);
    pub const SPECIFIC_EXPERTS: (usize, usize) = (1, 16);
    pub const SHARED_EXPERTS: (usize, usize) = (1, 16);
    pub const LEVELS: (usize, usize) = (1, 4);
    pub const UNITS: (usize, usize) = (1, 512);
    pub const LAYERS: (usize, usize) = (1, 4);
    pub const EMBEDDING_DIM: (usize, usize) = (1, 32);
    pub const LEARNING_RATE: (f64, f64) = (1e-5, 1.0);
    pub const BATCH_SIZE: (usize, usize) = (16, 4096);
    pub const LOSS_WEIGHT: (f32, f32) = (0.0, 10.0);
    pub const EPOCHS: (usize, usize) = (1, 100);
    /// Seeds stay within JavaScript's exact integers, so they survive JSON and URLs.
    pub const SEED_MAX: u64 = (1 << 53) - 1;
}

impl Default for Experiment {
    fn default() -> Self {
        Self::tutorial(ModelChoice::Mmoe)
    }
}

impl Experiment {
    /// The seed tutorial's defaults for `model`.
    pub fn tutorial(model: ModelChoice) -> Self {
        let mut e = Self {
            model,
            experts: 4,
            specific_experts: 8,
            shared_experts: 4,
            levels: 2,
            expert_units: vec![32, 32],
            bottom_units: vec![128, 128],
            tower_units: vec![16, 8],
            embedding_dim: 4,
            learning_rate: 1e-3,
            batch_size: 256,
            loss_weights: [1.0, 1.0],
            relationship: true,
            seed: 1,
            epochs: 5,
            device: DeviceChoice::Auto,
        };
        e.apply_model_defaults();
        e
    }

    /// Switches the model and takes the tutorial's layer sizes for it, keeping the training
    /// settings, the data options, the device and the seed.
    pub fn with_model(&self, model: ModelChoice) -> Self {
        let mut e = self.clone();
        e.model = model;
        e.apply_model_defaults();
        e
    }

    fn apply_model_defaults(&mut self) {
        match self.model {
            ModelChoice::SingleTask | ModelChoice::SharedBottom => {
                self.bottom_units = vec![128, 128];
                self.tower_units = vec![64, 32];
            }
            ModelChoice::Omoe | ModelChoice::Mmoe => {
                self.expert_units = vec![32, 32];
                self.tower_units = vec![16, 8];
            }
            ModelChoice::Cgc | ModelChoice::Ple => {
                self.expert_units = vec![64, 64];
                self.tower_units = vec![16, 16];
            }
            ModelChoice::Esmm => self.tower_units = vec![128, 128],
        }
    }

    /// Whether going from `self` to `next` needs a new model (anything but the live settings:
    /// the learning rate and the loss weights, which the worker applies in place).
    pub fn needs_rebuild(&self, next: &Experiment) -> bool {
        let live = |e: &Experiment| Experiment {
            learning_rate: 0.0,
            loss_weights: [0.0; 2],
            epochs: 0,
            ..e.clone()
        };
        live(self) != live(next)
    }

    /// Clamps every field into its bound and says what it changed, in words for the page.
    pub fn sanitize(&mut self) -> Vec<Notice> {
        let mut notices = Vec::new();
        clamp_int(&mut self.experts, limits::EXPERTS, "experts", &mut notices);
        clamp_int(
            &mut self.specific_experts,
            limits::SPECIFIC_EXPERTS,
            "task-specific experts",
            &mut notices,
        );
        clamp_int(
            &mut self.shared_experts,
            limits::SHARED_EXPERTS,
            "shared experts",
            &mut notices,
        );
        clamp_int(&mut self.levels, limits::LEVELS, "levels", &mut notices);
        clamp_units(&mut self.expert_units, "expert layers", &mut notices);
        clamp_units(&mut self.bottom_units, "bottom layers", &mut notices);
        clamp_units(&mut self.tower_units, "tower layers", &mut notices);
        clamp_int(
            &mut self.embedding_dim,
            limits::EMBEDDING_DIM,
            "embedding dim",
            &mut notices,
        );
        clamp_int(
            &mut self.batch_size,
            limits::BATCH_SIZE,
            "batch size",
            &mut notices,
        );
        clamp_int(&mut self.epochs, limits::EPOCHS, "epochs", &mut notices);
        let (lo, hi) = limits::LEARNING_RATE;
        if !self.learning_rate.is_finite() {
            notices.push(Notice::new(
                "learning rate",
                "is not a number; reset to 0.001",
            ));
            self.learning_rate = 1e-3;
        } else if self.learning_rate < lo || self.learning_rate > hi {
            let v = self.learning_rate.clamp(lo, hi);
            notices.push(Notice::new(
                "learning rate",
                format!("must be in [{lo}, {hi}]; {} became {v}", self.learning_rate),
            ));
            self.learning_rate = v;
        }
        let (lo, hi) = limits::LOSS_WEIGHT;
        for (t, w) in self.loss_weights.iter_mut().enumerate() {
            let field = format!("loss weight of task {}", t + 1);
            if !w.is_finite() {
                notices.push(Notice::new(field, "is not a number; reset to 1"));
                *w = 1.0;
            } else if *w < lo || *w > hi {
                let v = w.clamp(lo, hi);
                notices.push(Notice::new(
                    field,
                    format!("must be in [{lo}, {hi}]; {w} became {v}"),
                ));
                *w = v;
            }
        }
        if self.loss_weights.iter().all(|&w| w == 0.0) {
            notices.push(Notice::new(
                "loss weights",
                "cannot all be 0 (nothing would train); both reset to 1",
            ));
            self.loss_weights = [1.0, 1.0];
        }
        if self.seed > limits::SEED_MAX {
            notices.push(Notice::new(
                "seed",
                format!("must be at most {}; reduced", limits::SEED_MAX),
            ));
            self.seed &= limits::SEED_MAX;
        }
        notices
    }

    /// A one-line summary for tables and the run history.
    pub fn summary(&self) -> String {
        let units = |u: &[usize]| format_units(u);
        let sizes = match self.model {
            ModelChoice::SingleTask | ModelChoice::SharedBottom => {
                format!(
                    "bottom [{}], towers [{}]",
                    units(&self.bottom_units),
                    units(&self.tower_units)
                )
            }
            ModelChoice::Omoe | ModelChoice::Mmoe => format!(
                "{} experts [{}], towers [{}]",
                self.experts,
                units(&self.expert_units),
                units(&self.tower_units)
            ),
            ModelChoice::Cgc => format!(
                "{}+{} experts [{}], towers [{}]",
                self.specific_experts,
                self.shared_experts,
                units(&self.expert_units),
                units(&self.tower_units)
            ),
            ModelChoice::Ple => format!(
                "{} levels, {}+{} experts [{}], towers [{}]",
                self.levels,
                self.specific_experts,
                self.shared_experts,
                units(&self.expert_units),
                units(&self.tower_units)
            ),
            ModelChoice::Esmm => format!("towers [{}]", units(&self.tower_units)),
        };
        format!(
            "{} · {sizes} · emb {} · lr {} · batch {} · seed {}{}",
            self.model.label(),
            self.embedding_dim,
            self.learning_rate,
            self.batch_size,
            self.seed,
            if self.relationship {
                ""
            } else {
                " · no relationship"
            }
        )
    }
}

/// A value the page changed or refused, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub field: String,
    pub message: String,
}

impl Notice {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.message)
    }
}

fn clamp_int(value: &mut usize, (lo, hi): (usize, usize), field: &str, notices: &mut Vec<Notice>) {
    if *value < lo || *value > hi {
        let v = (*value).clamp(lo, hi);
        notices.push(Notice::new(
            field,
            format!("must be between {lo} and {hi}; {value} became {v}"),
        ));
        *value = v;
    }
}

fn clamp_units(units: &mut Vec<usize>, field: &str, notices: &mut Vec<Notice>) {
    let (lo, hi) = limits::LAYERS;
    if units.is_empty() {
        notices.push(Notice::new(field, "cannot be empty; set to 16"));
        units.push(16);
    }
    if units.len() > hi {
        notices.push(Notice::new(
            field,
            format!("at most {hi} layers; extra layers dropped"),
        ));
        units.truncate(hi);
    }
    debug_assert!(units.len() >= lo);
    let (ulo, uhi) = limits::UNITS;
    if units.iter().any(|u| !(ulo..=uhi).contains(u)) {
        notices.push(Notice::new(
            field,
            format!("each layer needs {ulo} to {uhi} units; clamped"),
        ));
        for u in units.iter_mut() {
            *u = (*u).clamp(ulo, uhi);
        }
    }
}

/// `[64, 32]` as `"64,32"`, the form the page and the URL use.
pub fn format_units(units: &[usize]) -> String {
    units
        .iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join(",")
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
                .ok_or_else(|| format!("'{p}' is not a positive whole number of units"))
        })
        .collect()
}

/// The experiment as a URL query (without the `?`): every field, in a fixed order, so a link
/// reproduces the setup. [`from_query`] reads it back.
pub fn to_query(e: &Experiment) -> String {
    let fields = [
        ("model", e.model.slug().to_string()),
        ("experts", e.experts.to_string()),
        ("specific", e.specific_experts.to_string()),
        ("shared", e.shared_experts.to_string()),
        ("levels", e.levels.to_string()),
        ("expert_units", format_units(&e.expert_units)),
        ("bottom_units", format_units(&e.bottom_units)),
        ("tower_units", format_units(&e.tower_units)),
        ("emb", e.embedding_dim.to_string()),
        ("lr", e.learning_rate.to_string()),
        ("batch", e.batch_size.to_string()),
        ("w1", e.loss_weights[0].to_string()),
        ("w2", e.loss_weights[1].to_string()),
        ("relationship", (e.relationship as u8).to_string()),
        ("seed", e.seed.to_string()),
        ("epochs", e.epochs.to_string()),
        ("device", e.device.slug().to_string()),
    ];
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(',', "%2C")))
        .collect::<Vec<_>>()
        .join("&")
}

/// Reads an experiment from a URL query (with or without the `?`). It never fails: unknown keys,
/// malformed values and out-of-range numbers are reported as notices and replaced by the
/// tutorial's defaults or clamped. Echoed values are shortened and stay plain text.
pub fn from_query(query: &str) -> (Experiment, Vec<Notice>) {
    let mut notices = Vec::new();
    let pairs: Vec<(String, String)> = query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let value = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let model = match value("model") {
        None => ModelChoice::Mmoe,
        Some(slug) => ModelChoice::from_slug(slug).unwrap_or_else(|| {
            notices.push(Notice::new(
                "model",
                format!("'{}' is not a model; using MMoE", shorten(slug)),
            ));
            ModelChoice::Mmoe
        }),
    };
    let mut e = Experiment::tutorial(model);
    for (key, raw) in &pairs {
        let bad = |notices: &mut Vec<Notice>, what: &str| {
            notices.push(Notice::new(
                key.as_str(),
                format!("'{}' is not {what}; kept the default", shorten(raw)),
            ));
        };
        macro_rules! number {
            ($field:expr, $t:ty, $what:expr) => {
                match raw.trim().parse::<$t>() {
                    Ok(v) => $field = v,
                    Err(_) => bad(&mut notices, $what),
                }
            };
        }
        match key.as_str() {
            "model" => {}
            "experts" => number!(e.experts, usize, "a whole number"),
            "specific" => number!(e.specific_experts, usize, "a whole number"),
            "shared" => number!(e.shared_experts, usize, "a whole number"),
            "levels" => number!(e.levels, usize, "a whole number"),
            "emb" => number!(e.embedding_dim, usize, "a whole number"),
            "batch" => number!(e.batch_size, usize, "a whole number"),
            "epochs" => number!(e.epochs, usize, "a whole number"),
            "seed" => number!(e.seed, u64, "a whole number"),
            "lr" => number!(e.learning_rate, f64, "a number"),
            "w1" => number!(e.loss_weights[0], f32, "a number"),
            "w2" => number!(e.loss_weights[1], f32, "a number"),
            "expert_units" | "bottom_units" | "tower_units" => match parse_units(raw) {
                Ok(units) => match key.as_str() {
                    "expert_units" => e.expert_units = units,
                    "bottom_units" => e.bottom_units = units,
                    _ => e.tower_units = units,
                },
                Err(_) => bad(&mut notices, "a list of layer sizes"),
            },
            "relationship" => match raw.as_str() {
                "1" | "true" | "on" => e.relationship = true,
                "0" | "false" | "off" => e.relationship = false,
                _ => bad(&mut notices, "on (1) or off (0)"),
            },
            "device" => match DeviceChoice::from_slug(raw) {
                Some(d) => e.device = d,
                None => bad(&mut notices, "auto, cpu or webgpu"),
            },
            other => notices.push(Notice::new(shorten(other), "is not a setting; ignored")),
        }
    }
    notices.extend(e.sanitize());
    (e, notices)
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// `%2C` → `,` and `+` → space; invalid escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tutorial_defaults_match_the_seed() {
        let sb = Experiment::tutorial(ModelChoice::SharedBottom);
        assert_eq!(
            (sb.bottom_units, sb.tower_units),
            (vec![128, 128], vec![64, 32])
        );
        let mmoe = Experiment::tutorial(ModelChoice::Mmoe);
        assert_eq!((mmoe.experts, mmoe.expert_units.clone()), (4, vec![32, 32]));
        assert_eq!(mmoe.tower_units, vec![16, 8]);
        let ple = Experiment::tutorial(ModelChoice::Ple);
        assert_eq!(
            (ple.specific_experts, ple.shared_experts, ple.levels),
            (8, 4, 2)
        );
        assert_eq!(
            (ple.expert_units, ple.tower_units),
            (vec![64, 64], vec![16, 16])
        );
        assert_eq!(
            Experiment::tutorial(ModelChoice::Esmm).tower_units,
            vec![128, 128]
        );
        let d = Experiment::default();
        assert_eq!(
            (d.embedding_dim, d.learning_rate, d.batch_size),
            (4, 1e-3, 256)
        );
    }

    #[test]
    fn experiment_with_model_keeps_training_settings() {
        let mut e = Experiment::tutorial(ModelChoice::Mmoe);
        e.seed = 7;
        e.learning_rate = 0.01;
        e.relationship = false;
        let p = e.with_model(ModelChoice::Ple);
        assert_eq!((p.seed, p.learning_rate, p.relationship), (7, 0.01, false));
        assert_eq!(p.expert_units, vec![64, 64]);
    }

    #[test]
    fn sanitize_clamps_and_reports_each_field() {
        let mut e = Experiment {
            experts: 0,
            levels: 9,
            tower_units: vec![],
            expert_units: vec![5000, 1, 2, 3, 4, 5],
            learning_rate: f64::NAN,
            batch_size: 1,
            loss_weights: [0.0, 0.0],
            seed: u64::MAX,
            ..Experiment::default()
        };
        let notices = e.sanitize();
        assert_eq!((e.experts, e.levels, e.batch_size), (1, 4, 16));
        assert_eq!(e.tower_units, vec![16]);
        assert_eq!(e.expert_units, vec![512, 1, 2, 3]);
        assert_eq!(e.learning_rate, 1e-3);
        assert_eq!(e.loss_weights, [1.0, 1.0]);
        assert!(e.seed <= limits::SEED_MAX);
        let fields: Vec<&str> = notices.iter().map(|n| n.field.as_str()).collect();
        for f in [
            "experts",
            "levels",
            "tower layers",
            "expert layers",
            "learning rate",
            "batch size",
            "loss weights",
            "seed",
        ] {
            assert!(fields.contains(&f), "no notice for {f}: {fields:?}");
        }
        // A valid experiment is left alone.
        let mut ok = Experiment::default();
        assert!(ok.sanitize().is_empty());
        assert_eq!(ok, Experiment::default());
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
        let mut arch = e.clone();
        arch.experts = 8;
        assert!(e.needs_rebuild(&arch));
    }

    #[test]
    fn query_round_trips_every_model() {
        for model in ModelChoice::ALL {
            let mut e = Experiment::tutorial(model);
            e.seed = 42;
            e.learning_rate = 0.003;
            e.loss_weights = [0.5, 2.0];
            e.relationship = false;
            e.device = DeviceChoice::Cpu;
            e.tower_units = vec![32, 16, 8];
            let (back, notices) = from_query(&to_query(&e));
            assert_eq!(back, e, "{model}");
            assert!(notices.is_empty(), "{notices:?}");
        }
        let (e, notices) = from_query("");
        assert_eq!((e, notices.len()), (Experiment::default(), 0));
    }

    #[test]
    fn query_reports_malformed_and_hostile_values() {
        let (e, notices) = from_query(
            "?model=ple&levels=99&experts=abc&lr=-5&tower_units=%3Cscript%3Ealert(1)%3C/script%3E&evil=%3Cimg%20src=x%3E&seed=1e999&relationship=maybe&device=quantum&batch=",
        );
        assert_eq!(e.model, ModelChoice::Ple);
        assert_eq!(e.levels, 4);
        assert_eq!(e.experts, 4);
        assert_eq!(e.learning_rate, 1e-5);
        assert_eq!(e.tower_units, vec![16, 16]);
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
        ] {
            assert!(
                text.iter().any(|t| t.contains(needle)),
                "no notice about {needle}: {text:?}"
            );
        }
        let (_, notices) = from_query(&format!("model={}", "x".repeat(5000)));
        assert!(notices[0].message.len() < 100, "echoes are shortened");
        let (e, _) = from_query("model=%ZZ&%=1&&=&a");
        assert_eq!(e.model, ModelChoice::Mmoe);
    }

    #[test]
    fn knobs_follow_the_model() {
        assert!(ModelChoice::Ple.uses(Knob::Levels));
        assert!(!ModelChoice::Cgc.uses(Knob::Levels));
        assert!(ModelChoice::Mmoe.uses(Knob::ExpertUnits));
        assert!(!ModelChoice::Mmoe.uses(Knob::SharedExperts));
        assert!(ModelChoice::SharedBottom.uses(Knob::BottomUnits));
        assert!(!ModelChoice::Esmm.uses(Knob::Experts));
        for m in ModelChoice::ALL {
            assert_eq!(ModelChoice::from_slug(m.slug()), Some(m));
        }
    }
}
