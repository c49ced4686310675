//! The experiment a learner sets up: the model, its sizes, the training settings, the data
//! options, the device and the seed. It is plain data (no Burn, no web crate), so the page, the
//! worker and the URL all share it, and its checks run natively.

use std::fmt;

pub use mtl_vocab::{DataKind, Knob, ModelKind, ModelSettings};
use serde::{Deserialize, Serialize};

use crate::protocol::fields::{FIELDS, MAX_LAYERS, MAX_UNITS, Value, shorten};

fn default_p() -> f64 {
    0.5
}

/// The correlated tasks' weight norm and label noise: the MMoE paper's setting as our check ran
/// it (c = 2, noise std 0.01).
/// Early stopping's patience unless the learner sets one: the CLI's (`mtl train --patience`).
pub const DEFAULT_PATIENCE: usize = 3;

fn default_c() -> f64 {
    2.0
}

fn default_noise() -> f64 {
    0.01
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

    pub fn label(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "Auto",
            DeviceChoice::Cpu => "CPU",
            DeviceChoice::Webgpu => "WebGPU",
        }
    }
}

/// The whole experiment. [`crate::protocol::fields::FIELDS`] lists its settings with their bounds;
/// [`Experiment::sanitize`] enforces them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub model: ModelKind,
    /// The model's sizes and regularisation: the core's own settings type, so the runner passes
    /// them on whole. Flattened, so a URL, a saved run and a message keep one flat shape; a saved
    /// run from before a setting existed reads the tutorial's value for it.
    #[serde(flatten)]
    pub arch: ModelSettings,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// Per task, in task order.
    pub loss_weights: [f32; 2],
    /// Keep the `relationship` field (it leaks the never-married label). Adult only.
    pub relationship: bool,
    /// The data set. Saved runs from before it existed were on Adult.
    #[serde(default)]
    pub data: DataKind,
    /// The correlated tasks' correlation (the cosine of their weight vectors).
    #[serde(default = "default_p")]
    pub p: f64,
    /// The correlated tasks' weight norm c: how strongly the sines bend the labels.
    #[serde(default = "default_c")]
    pub c: f64,
    /// The correlated tasks' label noise (standard deviation).
    #[serde(default = "default_noise")]
    pub noise: f64,
    pub seed: u64,
    /// Training stops by itself after this many epochs.
    pub epochs: usize,
    /// Epochs without a better validation loss before training stops early; 0 trains the whole
    /// budget. Either way the test scores the weights with the best validation loss. Saved runs
    /// from before it existed trained their whole budget.
    #[serde(default)]
    pub patience: usize,
    pub device: DeviceChoice,
}

impl Default for Experiment {
    fn default() -> Self {
        Self::tutorial(ModelKind::Mmoe)
    }
}

impl Experiment {
    /// The seed tutorial's setup for `model`: its sizes, Adam at 1e-3, batches of 256.
    pub fn tutorial(model: ModelKind) -> Self {
        Self::tutorial_on(model, DataKind::Adult)
    }

    /// The setup `model` starts with on `data`. Adult: the seed tutorial's (Adam 1e-3, batches
    /// of 256, 5 epochs). The correlated tasks bring their own, those of `mtl experiment
    /// correlation` (Adam 3e-3, batches of 128; 20 epochs of its 8,000 rows are about its 1,500
    /// steps), so the page shows what the README measured. The funnel: the tutorial's Adam 1e-3
    /// and batches of 256 for 10 epochs of its 16,000 impressions (`mtl experiment funnel`'s 625
    /// steps).
    pub fn tutorial_on(model: ModelKind, data: DataKind) -> Self {
        let (learning_rate, batch_size, epochs) = match data {
            DataKind::Adult => (1e-3, 256, 5),
            DataKind::Correlated => (3e-3, 128, 20),
            DataKind::Funnel => (1e-3, 256, 10),
        };
        Self {
            model,
            arch: ModelSettings::for_data(model, data),
            learning_rate,
            batch_size,
            loss_weights: [1.0, 1.0],
            relationship: true,
            data,
            p: default_p(),
            c: default_c(),
            noise: default_noise(),
            seed: 1,
            epochs,
            patience: DEFAULT_PATIENCE,
            device: DeviceChoice::Auto,
        }
    }

    /// Switches the data set and takes its setup for the model (MMoE if the model is not
    /// offered there), keeping the correlation, the seed and the device.
    pub fn with_data(&self, data: DataKind) -> Self {
        let model = if data.offers(self.model) {
            self.model
        } else {
            ModelKind::Mmoe
        };
        Self {
            seed: self.seed,
            device: self.device,
            p: self.p,
            c: self.c,
            noise: self.noise,
            relationship: self.relationship,
            ..Self::tutorial_on(model, data)
        }
    }

    /// The tasks' names as the page shows them before the worker has built the model: the Adult
    /// data's (the runner's tests check they are the core's), or ESMM's `ctr` and `ctcvr`.
    pub fn task_names(&self) -> [&'static str; 2] {
        let names = self.data.task_names();
        [0, 1].map(|t| self.model.task_name(t, names[t]))
    }

    /// What task `task` predicts, in words, so a name such as ESMM's `ctr` is never shown
    /// without its label.
    pub fn task_meaning(&self, task: &str) -> Option<&'static str> {
        Some(match (self.data, task) {
            (DataKind::Adult, "income") => "income > 50K",
            (DataKind::Adult, "never_married") => "marital status is Never-married",
            (DataKind::Adult, "ctr") => "ctr = income > 50K",
            (DataKind::Adult, "ctcvr") => "ctcvr = income > 50K and never married",
            (DataKind::Adult, "cvr") => "cvr = never married, among incomes > 50K",
            (DataKind::Funnel, "ctr") => "a click on the impression",
            (DataKind::Funnel, "ctcvr") => "a click and then a conversion",
            (DataKind::Funnel, "cvr") => "a conversion after a click",
            (DataKind::Correlated, "y1" | "y2") => "a regression target (MSE, R²)",
            _ => return None,
        })
    }

    /// A task's name as charts and tables show it: ESMM's abbreviations carry their label
    /// ("ctr (income > 50K)"); names that say what they are stay as they are.
    pub fn task_title(&self, task: &str) -> String {
        match (task, self.task_meaning(task)) {
            ("ctr" | "ctcvr" | "cvr", Some(meaning)) => {
                let label = meaning
                    .strip_prefix(&format!("{task} = "))
                    .unwrap_or(meaning);
                format!("{task} ({label})")
            }
            _ => task.to_string(),
        }
    }

    /// Switches the model and takes the tutorial's architecture for it, keeping the
    /// regularisation, the training settings, the data options, the device and the seed.
    pub fn with_model(&self, model: ModelKind) -> Self {
        Self {
            model,
            arch: self.arch.switched_to(model, self.data),
            ..self.clone()
        }
    }

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
        notices
    }

    /// A one-line summary for tables and the run history.
    pub fn summary(&self) -> String {
        let a = &self.arch;
        let units = |u: &[usize]| format_units(u);
        let towers = format!("towers [{}]", units(&a.tower_units));
        let experts = |n: String| format!("{n} experts [{}], {towers}", units(&a.expert_units));
        let sizes = match self.model {
            ModelKind::SingleTask | ModelKind::SharedBottom => {
                format!("bottom [{}], {towers}", units(&a.bottom_units))
            }
            ModelKind::Omoe | ModelKind::Mmoe => experts(a.experts.to_string()),
            ModelKind::Cgc => experts(format!("{}+{}", a.specific_experts, a.shared_experts)),
            ModelKind::Ple => format!(
                "{} levels, {}",
                a.levels,
                experts(format!("{}+{}", a.specific_experts, a.shared_experts))
            ),
            ModelKind::Esmm | ModelKind::NaiveCvr => towers,
        };
        // Settings left at the data set's own value are not repeated.
        let tutorial = ModelSettings::for_data(self.model, self.data);
        let mut extra = String::new();
        if self.model.has_gates() && a.gate_units != tutorial.gate_units {
            extra += &format!(" · gates [{}]", units(&a.gate_units));
        }
        if a.dropout != tutorial.dropout {
            extra += &format!(" · dropout {}", a.dropout);
        }
        if a.l2_embedding != tutorial.l2_embedding {
            extra += &format!(" · L2 {}", a.l2_embedding);
        }
        if self.model.uses(Knob::SharedEmbedding) && a.shared_embedding != tutorial.shared_embedding
        {
            extra += if a.shared_embedding {
                " · one embedding table"
            } else {
                " · a table per tower"
            };
        }
        match self.data {
            DataKind::Adult if !self.relationship => extra += " · no relationship",
            DataKind::Adult => {}
            DataKind::Correlated => {
                extra += &format!(" · correlated tasks, p = {}", self.p);
                if (self.c, self.noise) != (default_c(), default_noise()) {
                    extra += &format!(", c = {}, noise {}", self.c, self.noise);
                }
            }
            DataKind::Funnel => extra += " · funnel",
        }
        // The embedding width means something only where there are categorical fields.
        let emb = match self.data {
            DataKind::Adult | DataKind::Funnel => format!(" · emb {}", a.embedding_dim),
            DataKind::Correlated => String::new(),
        };
        format!(
            "{} · {sizes}{emb} · lr {} · batch {} · seed {}{extra}",
            self.model.label(),
            self.learning_rate,
            self.batch_size,
            self.seed,
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

/// Keeps a list of layer sizes within [`MAX_LAYERS`] layers of 1 to [`MAX_UNITS`] units.
fn clamp_units(units: &mut Vec<usize>, may_be_empty: bool, field: &str, notices: &mut Vec<Notice>) {
    if units.is_empty() && !may_be_empty {
        notices.push(Notice::new(field, "cannot be empty; set to 16"));
        units.push(16);
    }
    if units.len() > MAX_LAYERS {
        notices.push(Notice::new(
            field,
            format!("at most {MAX_LAYERS} layers; extra layers dropped"),
        ));
        units.truncate(MAX_LAYERS);
    }
    if units.iter().any(|u| !(1..=MAX_UNITS).contains(u)) {
        notices.push(Notice::new(
            field,
            format!("each layer needs 1 to {MAX_UNITS} units; clamped"),
        ));
        for u in units.iter_mut() {
            *u = (*u).clamp(1, MAX_UNITS);
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
        match crate::protocol::fields::field(key) {
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
    fn every_task_name_the_page_shows_has_its_meaning() {
        for data in [DataKind::Adult, DataKind::Correlated, DataKind::Funnel] {
            for model in ModelKind::ALL.into_iter().filter(|&m| data.offers(m)) {
                let e = Experiment::tutorial_on(model, data);
                for name in e.task_names() {
                    assert!(
                        e.task_meaning(name).is_some(),
                        "{model} on {data:?}: {name}"
                    );
                }
            }
        }
        let esmm = Experiment::tutorial(ModelKind::Esmm);
        assert_eq!(esmm.task_meaning("ctr"), Some("ctr = income > 50K"));
        assert_eq!(esmm.task_title("ctr"), "ctr (income > 50K)");
        assert_eq!(esmm.task_title("income"), "income");
        let funnel = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        assert_eq!(
            funnel.task_title("ctcvr"),
            "ctcvr (a click and then a conversion)"
        );
    }

    #[test]
    fn experiment_tutorial_is_the_seeds() {
        let d = Experiment::default();
        assert_eq!(d.model, ModelKind::Mmoe);
        assert_eq!(
            (d.arch.embedding_dim, d.learning_rate, d.batch_size),
            (4, 1e-3, 256)
        );
        assert_eq!(
            Experiment::tutorial(ModelKind::Ple).arch,
            ModelSettings::tutorial(ModelKind::Ple)
        );
    }

    #[test]
    fn experiment_with_model_keeps_training_settings() {
        let mut e = Experiment::tutorial(ModelKind::Mmoe);
        e.seed = 7;
        e.learning_rate = 0.01;
        e.relationship = false;
        e.arch.dropout = 0.2;
        let p = e.with_model(ModelKind::Ple);
        assert_eq!((p.seed, p.learning_rate, p.relationship), (7, 0.01, false));
        assert_eq!(
            (p.arch.expert_units.clone(), p.arch.dropout),
            (vec![64, 64], 0.2)
        );
    }

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
        assert_eq!(e.seed, crate::protocol::fields::SEED_MAX);
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
            .flat_map(|d| ModelKind::ALL.into_iter().map(move |m| (d, m)))
            .filter(|(d, m)| d.offers(*m))
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
}
