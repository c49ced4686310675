//! The experiment a learner sets up: the model, its sizes, the training settings, the data
//! options, the device and the seed. It is plain data (no Burn, no web crate), so the page, the
//! worker and the URL all share it, and its checks run natively. Its defaults are the
//! vocabulary's ([`DataKind::training`], [`mtl_vocab::data`]); the operations that read the field
//! table (`sanitize`, `needs_rebuild`, the URL) live beside the table, in [`crate::protocol::fields`].

use std::fmt;

use mtl_vocab::data::{CORRELATED_C, CORRELATED_NOISE, CORRELATED_START_P};
pub use mtl_vocab::{DataKind, Knob, ModelKind, ModelSettings};
use serde::{Deserialize, Serialize};

/// The core's name for the CVR head's score (ESMM and the naive CVR model): a third row beside
/// the two tasks.
pub const CVR_HEAD: &str = "cvr";

/// Early stopping's patience unless the learner sets one: the CLI's (`mtl train --patience`).
pub const DEFAULT_PATIENCE: usize = 3;

// Saved runs from before the correlated tasks existed read the page's starting point for them.
fn default_p() -> f64 {
    CORRELATED_START_P
}

fn default_c() -> f64 {
    CORRELATED_C
}

fn default_noise() -> f64 {
    CORRELATED_NOISE
}

/// The models `data` offers, in the vocabulary's order (the lessons'). The model select, the
/// race's opponents and the page's tagline list these.
pub fn models_on(data: DataKind) -> impl Iterator<Item = ModelKind> {
    ModelKind::ALL.into_iter().filter(move |&m| data.offers(m))
}

/// The models `data` offers, in words: "Single-task, Shared-Bottom, … or ESMM".
pub fn models_in_words(data: DataKind) -> String {
    let labels: Vec<&str> = models_on(data).map(ModelKind::label).collect();
    match labels.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
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
/// `Experiment::sanitize`, beside it, enforces them.
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
    /// The funnel's hidden factor k: an unlogged cause of each impression that adds k · u
    /// (u ~ N(0, 1)) to both its click and its conversion logits, ESMM's sample selection bias
    /// (0: none). Saved runs from before it existed had none.
    #[serde(default)]
    pub confound: f64,
    pub seed: u64,
    /// Seeds trained side by side as one computation (replicas): `seed`, `seed + 1`, …. On the
    /// synthetic data sets each seed draws its own data too. Saved runs from before it existed
    /// trained one.
    #[serde(default = "one_replica")]
    pub replicas: usize,
    /// Training stops by itself after this many epochs.
    pub epochs: usize,
    /// Epochs without a better validation loss before training stops early; 0 trains the whole
    /// budget. Either way the test scores the weights with the best validation loss. Saved runs
    /// from before it existed trained their whole budget.
    #[serde(default)]
    pub patience: usize,
    pub device: DeviceChoice,
}

fn one_replica() -> usize {
    1
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

    /// The setup `model` starts with on `data`: the data set's own training
    /// ([`DataKind::training`]: the seed tutorial's on Adult, `mtl experiment correlation`'s on
    /// the correlated tasks, `mtl experiment funnel`'s on the funnel), so the page shows what the
    /// README measured.
    pub fn tutorial_on(model: ModelKind, data: DataKind) -> Self {
        let training = data.training();
        Self {
            model,
            arch: ModelSettings::for_data(model, data),
            learning_rate: training.learning_rate,
            batch_size: training.batch_size,
            loss_weights: [1.0, 1.0],
            relationship: true,
            data,
            p: CORRELATED_START_P,
            c: CORRELATED_C,
            noise: CORRELATED_NOISE,
            confound: 0.0,
            seed: 1,
            replicas: 1,
            epochs: training.epochs,
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
            confound: self.confound,
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
    /// without its label. The names are the vocabulary's: the data set's own
    /// ([`DataKind::task_names`]), ESMM's for the same two tasks ([`ModelKind::task_name`]), and
    /// the CVR head's ([`CVR_HEAD`]).
    pub fn task_meaning(&self, task: &str) -> Option<&'static str> {
        // Per data set: its two tasks in words, the same under ESMM's names, and the CVR head.
        let (own, esmm, cvr) = match self.data {
            DataKind::Adult => (
                ["income > 50K", "marital status is Never-married"],
                // The tutorial's mapping: task 1 as CTR, task 2 as CTCVR, labels unchanged.
                ["ctr = income > 50K", "ctcvr = never married"],
                Some("cvr = never married, among incomes > 50K"),
            ),
            DataKind::Funnel => {
                let funnel = ["a click on the impression", "a click and then a conversion"];
                (funnel, funnel, Some("a conversion after a click"))
            }
            DataKind::Correlated => {
                let regression = ["a regression target (MSE, R²)"; 2];
                (regression, regression, None)
            }
        };
        let names = self.data.task_names();
        let by_name = |t: usize| {
            if task == names[t] {
                Some(own[t])
            } else if task == ModelKind::Esmm.task_name(t, names[t]) {
                Some(esmm[t])
            } else {
                None
            }
        };
        (0..2)
            .find_map(by_name)
            .or(cvr.filter(|_| task == CVR_HEAD))
    }

    /// A task's name as charts and tables show it: ESMM's abbreviations carry their label
    /// ("ctr (income > 50K)"); names that say what they are stay as they are.
    pub fn task_title(&self, task: &str) -> String {
        let names = self.data.task_names();
        let esmm =
            task == CVR_HEAD || (0..2).any(|t| task == ModelKind::Esmm.task_name(t, names[t]));
        match self.task_meaning(task).filter(|_| esmm) {
            Some(meaning) => {
                let label = meaning
                    .strip_prefix(&format!("{task} = "))
                    .unwrap_or(meaning);
                format!("{task} ({label})")
            }
            None => task.to_string(),
        }
    }

    /// What the training loss of `task` measures, where that is not the task itself: the naive
    /// and IPW CVR models score ctcvr as pCTR × pCVR but train their CVR tower on the clicked
    /// rows alone, so their "ctcvr" training loss is a CVR loss over those rows.
    pub fn trained_as(&self, task: &str) -> Option<String> {
        if task != self.model.task_name(1, self.data.task_names()[1]) {
            return None;
        }
        let rows = self.clicked_rows();
        match self.model {
            ModelKind::NaiveCvr => Some(format!("cvr on {rows}")),
            ModelKind::IpwCvr => Some(format!("cvr on {rows}, weighted by 1 / pCTR")),
            _ => None,
        }
    }

    /// The rows a CVR model's "clicks" are: on Adult (ESMM's task 1 as CTR), incomes > 50K.
    pub fn clicked_rows(&self) -> &'static str {
        match self.data {
            DataKind::Adult => "the income > 50K rows",
            _ => "the clicked impressions",
        }
    }

    /// The name of `task`'s training-loss curve: its title, or what that loss measures instead
    /// ([`Experiment::trained_as`]).
    pub fn train_loss_title(&self, task: &str) -> String {
        self.trained_as(task)
            .unwrap_or_else(|| self.task_title(task))
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

    /// The seeds of its replicas, in order.
    pub fn seeds(&self) -> Vec<u64> {
        (0..self.replicas.max(1) as u64)
            .map(|k| self.seed.saturating_add(k))
            .collect()
    }

    /// This setup as one model of `seed`: one replica of it.
    pub fn reseeded(&self, seed: u64) -> Self {
        Self {
            seed,
            replicas: 1,
            ..self.clone()
        }
    }

    /// This setup whatever its seeds and its device: two runs that compare equal here differ in
    /// nothing else (the seeds of a lesson step, two runs of one setup on the CPU and WebGPU).
    pub fn unseeded(&self) -> Self {
        Self {
            device: DeviceChoice::default(),
            ..self.reseeded(0)
        }
    }

    /// Which rows this setup trains on: see [`DataKey`].
    pub fn data_key(&self) -> DataKey {
        match self.data {
            DataKind::Adult => DataKey::Adult {
                relationship: self.relationship,
            },
            DataKind::Correlated => DataKey::Correlated {
                p: self.p,
                c: self.c,
                noise: self.noise,
                seed: self.seed,
            },
            DataKind::Funnel => DataKey::Funnel {
                seed: self.seed,
                confound: self.confound,
            },
        }
    }

    /// A one-line summary for tables and the run history.
    pub fn summary(&self) -> String {
        self.summarise(Some(self.seed))
    }

    /// The data part of [`Experiment::setup_summary`]: "Adult", "Adult, no relationship",
    /// "correlated tasks, p = 0.5", "funnel, hidden factor k = 1", so that every row of a table
    /// says its data set.
    pub fn data_words(&self) -> String {
        match self.data {
            DataKind::Adult if !self.relationship => "Adult, no relationship".into(),
            DataKind::Adult => "Adult".into(),
            DataKind::Correlated => {
                let mut w = format!("correlated tasks, p = {}", self.p);
                if (self.c, self.noise) != (CORRELATED_C, CORRELATED_NOISE) {
                    w += &format!(", c = {}, noise {}", self.c, self.noise);
                }
                w
            }
            DataKind::Funnel if self.confound > 0.0 => {
                format!("funnel, hidden factor k = {}", self.confound)
            }
            DataKind::Funnel => "funnel".into(),
        }
    }

    /// The summary without the seed: what the runs of one setup over several seeds share.
    pub fn setup_summary(&self) -> String {
        self.summarise(None)
    }

    fn summarise(&self, seed: Option<u64>) -> String {
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
            ModelKind::Esmm | ModelKind::NaiveCvr | ModelKind::IpwCvr => towers,
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
        // Said whatever its value: the funnel's lessons compare the CVR models on it.
        if self.model.uses(Knob::SharedEmbedding) {
            extra += if a.shared_embedding {
                " · one embedding table"
            } else {
                " · a table per tower"
            };
        }
        extra += " · ";
        extra += &self.data_words();
        // The embedding width means something only where there are categorical fields.
        let emb = match self.data {
            DataKind::Adult | DataKind::Funnel => format!(" · emb {}", a.embedding_dim),
            DataKind::Correlated => String::new(),
        };
        let seed = seed.map_or(String::new(), |s| format!(" · seed {s}"));
        format!(
            "{} · {sizes}{emb} · lr {} · batch {}{seed}{extra}",
            self.model.label(),
            self.learning_rate,
            self.batch_size,
        )
    }
}

/// Which rows a setup trains on: two setups with equal keys read the same rows, in the same
/// splits. Adult's rows are its files' (with or without the relationship field); the synthetic
/// data sets are drawn from the seed, the correlated tasks with their p, c and noise too. The
/// worker keeps data sets by it, a lesson races only the steps that share it, and a race refuses
/// setups that do not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DataKey {
    Adult {
        relationship: bool,
    },
    Correlated {
        p: f64,
        c: f64,
        noise: f64,
        seed: u64,
    },
    Funnel {
        seed: u64,
        confound: f64,
    },
}

impl DataKey {
    pub fn data(self) -> DataKind {
        match self {
            DataKey::Adult { .. } => DataKind::Adult,
            DataKey::Correlated { .. } => DataKind::Correlated,
            DataKey::Funnel { .. } => DataKind::Funnel,
        }
    }

    /// The rows in words, the seed aside (a message states it where it matters): "UCI Adult
    /// without the relationship field", "the correlated tasks at p = 1, c = 2, noise 0.01".
    pub fn describe(self) -> String {
        match self {
            DataKey::Adult { relationship: true } => "UCI Adult".into(),
            DataKey::Adult {
                relationship: false,
            } => "UCI Adult without the relationship field".into(),
            DataKey::Correlated { p, c, noise, .. } => {
                format!("the correlated tasks at p = {p}, c = {c}, noise {noise}")
            }
            DataKey::Funnel { confound, .. } if confound > 0.0 => {
                format!("the funnel with hidden factor k = {confound}")
            }
            DataKey::Funnel { .. } => "the funnel".into(),
        }
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

/// `[64, 32]` as `"64,32"`, the form the page and the URL use.
pub fn format_units(units: &[usize]) -> String {
    units
        .iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_name_the_page_shows_has_its_meaning() {
        for data in DataKind::ALL {
            for model in models_on(data) {
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
        // ESMM trains ctcvr on Adult's second label as it is, never-married: not a conjunction.
        assert_eq!(esmm.task_title("ctcvr"), "ctcvr (never married)");
        assert_eq!(esmm.task_title("income"), "income");
        // The naive CVR model's "ctcvr" training loss is its CVR tower's, on the clicked rows.
        let naive = Experiment::tutorial_on(ModelKind::NaiveCvr, DataKind::Funnel);
        assert_eq!(
            naive.train_loss_title("ctcvr"),
            "cvr on the clicked impressions"
        );
        assert_eq!(naive.train_loss_title("ctr"), naive.task_title("ctr"));
        let ipw = Experiment::tutorial_on(ModelKind::IpwCvr, DataKind::Funnel);
        assert!(
            ipw.train_loss_title("ctcvr")
                .ends_with("weighted by 1 / pCTR")
        );
        let esmm = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        assert_eq!(esmm.train_loss_title("ctcvr"), esmm.task_title("ctcvr"));
        let funnel = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        assert_eq!(
            funnel.task_title("ctcvr"),
            "ctcvr (a click and then a conversion)"
        );
    }

    #[test]
    fn every_summary_names_its_data_set() {
        for data in DataKind::ALL {
            for model in models_on(data) {
                let e = Experiment::tutorial_on(model, data);
                assert!(
                    e.summary().ends_with(&format!(" · {}", e.data_words())),
                    "{}",
                    e.summary()
                );
            }
        }
        let mut adult = Experiment::tutorial(ModelKind::Mmoe);
        assert!(adult.setup_summary().ends_with(" · Adult"));
        adult.relationship = false;
        assert!(adult.setup_summary().ends_with(" · Adult, no relationship"));
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
    fn data_key_changes_with_the_rows_and_only_with_them() {
        let adult = Experiment::default();
        let mut other = adult.with_model(ModelKind::Ple);
        other.seed = 9;
        other.learning_rate = 0.01;
        other.p = 0.0;
        assert_eq!(
            adult.data_key(),
            other.data_key(),
            "Adult's rows are its files': not the model's, the seed's or p's"
        );
        let mut leak = adult.clone();
        leak.relationship = false;
        assert_ne!(adult.data_key(), leak.data_key());
        assert_eq!(
            leak.data_key().describe(),
            "UCI Adult without the relationship field"
        );
        let drawn = adult.with_data(DataKind::Correlated);
        let changes: [fn(&mut Experiment); 4] = [
            |e| e.p = 0.0,
            |e| e.c = 3.0,
            |e| e.noise = 0.2,
            |e| e.seed = 2,
        ];
        for change in changes {
            let mut e = drawn.clone();
            change(&mut e);
            assert_ne!(e.data_key(), drawn.data_key(), "{e:?}");
        }
        let mut same = drawn.with_model(ModelKind::SharedBottom);
        same.relationship = false;
        assert_eq!(same.data_key(), drawn.data_key(), "relationship is Adult's");
        assert_eq!(
            drawn.data_key().describe(),
            "the correlated tasks at p = 0.5, c = 2, noise 0.01"
        );
        let funnel = adult.with_data(DataKind::Funnel);
        let mut reseeded = funnel.clone();
        reseeded.seed = 5;
        assert_ne!(funnel.data_key(), reseeded.data_key());
        assert_eq!(funnel.data_key().data(), DataKind::Funnel);
    }

    #[test]
    fn models_on_a_data_set_in_words() {
        assert_eq!(
            models_in_words(DataKind::Adult),
            "Single-task, Shared-Bottom, OMoE, MMoE, CGC, PLE or ESMM"
        );
        assert!(models_in_words(DataKind::Funnel).ends_with("ESMM, Naive CVR or IPW CVR"));
        assert!(!models_in_words(DataKind::Correlated).contains("ESMM"));
    }
}
