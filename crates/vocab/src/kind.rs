//! The models, their names and the knobs each one uses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The architectures the playground teaches, in the order of the lessons.
///
/// Serialised as its slug (`"shared_bottom"`); the Pascal-case names that model files written
/// before the slugs were unified carry are read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    #[serde(alias = "SingleTask")]
    SingleTask,
    #[serde(alias = "SharedBottom")]
    SharedBottom,
    #[serde(alias = "Omoe")]
    Omoe,
    #[serde(alias = "Mmoe")]
    Mmoe,
    #[serde(alias = "Cgc")]
    Cgc,
    #[serde(alias = "Ple")]
    Ple,
    #[serde(alias = "Esmm")]
    Esmm,
    /// ESMM's baseline: a CTR tower on every impression and a CVR tower trained on the clicked
    /// impressions only, each on its own embeddings; pCTCVR = pCTR × pCVR is only reported.
    NaiveCvr,
    /// The naive model with inverse propensity weighting (the ESCM² idea, Wang et al., SIGIR
    /// 2022): each clicked impression's CVR loss is weighted by 1 / pCTR from the CTR tower
    /// (clipped), so the clicked rows stand in for every impression.
    IpwCvr,
}

impl ModelKind {
    pub const ALL: [ModelKind; 9] = [
        ModelKind::SingleTask,
        ModelKind::SharedBottom,
        ModelKind::Omoe,
        ModelKind::Mmoe,
        ModelKind::Cgc,
        ModelKind::Ple,
        ModelKind::Esmm,
        ModelKind::NaiveCvr,
        ModelKind::IpwCvr,
    ];

    /// The one name used in URLs, the worker protocol, file names, JSON and the CLI:
    /// `single_task`, `shared_bottom`, `omoe`, `mmoe`, `cgc`, `ple`, `esmm`, `naive_cvr`.
    pub fn slug(self) -> &'static str {
        match self {
            ModelKind::SingleTask => "single_task",
            ModelKind::SharedBottom => "shared_bottom",
            ModelKind::Omoe => "omoe",
            ModelKind::Mmoe => "mmoe",
            ModelKind::Cgc => "cgc",
            ModelKind::Ple => "ple",
            ModelKind::Esmm => "esmm",
            ModelKind::NaiveCvr => "naive_cvr",
            ModelKind::IpwCvr => "ipw_cvr",
        }
    }

    /// Reads a slug. Case is ignored and a hyphen reads as an underscore, so the CLI's older
    /// spellings (`single`, `shared-bottom`) still work.
    pub fn from_slug(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase().replace('-', "_");
        match text.as_str() {
            "single" => Some(ModelKind::SingleTask),
            _ => Self::ALL.into_iter().find(|k| k.slug() == text),
        }
    }

    /// The name people write.
    pub fn label(self) -> &'static str {
        match self {
            ModelKind::SingleTask => "Single-task",
            ModelKind::SharedBottom => "Shared-Bottom",
            ModelKind::Omoe => "OMoE",
            ModelKind::Mmoe => "MMoE",
            ModelKind::Cgc => "CGC",
            ModelKind::Ple => "PLE",
            ModelKind::Esmm => "ESMM",
            ModelKind::NaiveCvr => "Naive CVR",
            ModelKind::IpwCvr => "IPW CVR",
        }
    }

    /// Whether the model mixes experts with softmax gates.
    pub fn has_gates(self) -> bool {
        matches!(
            self,
            ModelKind::Omoe | ModelKind::Mmoe | ModelKind::Cgc | ModelKind::Ple
        )
    }

    /// Whether `knob` changes this model. The others are kept but ignored, and the page hides
    /// their controls.
    pub fn uses(self, knob: Knob) -> bool {
        use ModelKind::*;
        match knob {
            Knob::Experts => matches!(self, Omoe | Mmoe),
            Knob::SpecificExperts | Knob::SharedExperts => matches!(self, Cgc | Ple),
            Knob::ExpertUnits | Knob::GateUnits => self.has_gates(),
            // CGC is PLE with one level.
            Knob::Levels => self == Ple,
            Knob::BottomUnits => matches!(self, SingleTask | SharedBottom),
            Knob::SharedEmbedding => self.predicts_cvr(),
            Knob::TowerUnits | Knob::EmbeddingDim | Knob::Dropout | Knob::L2Embedding => true,
        }
    }

    /// The extraction levels this model has for `levels` asked: CGC has one whatever is asked,
    /// MMoE and OMoE one, models without gates none.
    pub fn levels(self, levels: usize) -> usize {
        match self {
            ModelKind::Ple => levels,
            ModelKind::Cgc | ModelKind::Mmoe | ModelKind::Omoe => 1,
            ModelKind::SingleTask
            | ModelKind::SharedBottom
            | ModelKind::Esmm
            | ModelKind::NaiveCvr
            | ModelKind::IpwCvr => 0,
        }
    }

    /// Task `task`'s name under this model, given its name in the data. ESMM reads the first
    /// task as the click and the second as the conversion, so it names them `ctr` and `ctcvr`
    /// (and so does the naive CVR model).
    pub fn task_name(self, task: usize, data_name: &str) -> &str {
        match (self, task) {
            (ModelKind::Esmm | ModelKind::NaiveCvr | ModelKind::IpwCvr, 0) => "ctr",
            (ModelKind::Esmm | ModelKind::NaiveCvr | ModelKind::IpwCvr, _) => "ctcvr",
            _ => data_name,
        }
    }

    /// Whether the model has a CVR head (pCVR besides pCTR and pCTCVR): ESMM and the CVR
    /// models it is measured against, whose CVR the funnel scores over every impression.
    pub fn predicts_cvr(self) -> bool {
        matches!(
            self,
            ModelKind::Esmm | ModelKind::NaiveCvr | ModelKind::IpwCvr
        )
    }

    /// Whether the model learns its CVR from the clicked impressions only (the naive model and
    /// its inverse-propensity-weighted version), rather than over every impression (ESMM).
    pub fn cvr_from_clicks(self) -> bool {
        matches!(self, ModelKind::NaiveCvr | ModelKind::IpwCvr)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::from_slug(text).ok_or_else(|| {
            let slugs: Vec<&str> = Self::ALL.iter().map(|k| k.slug()).collect();
            format!("'{text}' is not a model; use one of {}", slugs.join(", "))
        })
    }
}

/// The data a model trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// UCI Adult: income > 50K, and never married (the tutorial's example).
    #[default]
    Adult,
    /// The MMoE paper's synthetic regression tasks, whose correlation is a knob.
    Correlated,
    /// A synthetic impression → click → conversion funnel (ESMM's setting) that keeps every
    /// impression's counterfactual conversion, so CVR can be scored over all impressions.
    Funnel,
}

impl DataKind {
    pub const ALL: [DataKind; 3] = [DataKind::Adult, DataKind::Correlated, DataKind::Funnel];

    /// The URL's name: `adult`, `correlated`, `funnel`.
    pub fn slug(self) -> &'static str {
        match self {
            DataKind::Adult => "adult",
            DataKind::Correlated => "correlated",
            DataKind::Funnel => "funnel",
        }
    }

    pub fn from_slug(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.slug() == text.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            DataKind::Adult => "UCI Adult",
            DataKind::Correlated => "Correlated tasks (synthetic)",
            DataKind::Funnel => "Funnel (synthetic)",
        }
    }

    /// The tasks' names in the data: the one place they are written (the generators and the
    /// Adult encoder read them here).
    pub const fn task_names(self) -> [&'static str; 2] {
        match self {
            DataKind::Adult => ["income", "never_married"],
            DataKind::Correlated => ["y1", "y2"],
            DataKind::Funnel => ["ctr", "ctcvr"],
        }
    }

    /// How its tasks are scored: the correlated tasks are regressions (the MMoE paper's), Adult's
    /// and the funnel's are binary. The data sets' task lists and the page's metric names read it.
    pub const fn task_kind(self) -> TaskKind {
        match self {
            DataKind::Correlated => TaskKind::Regression,
            DataKind::Adult | DataKind::Funnel => TaskKind::Binary,
        }
    }

    /// Whether `model` can train on this data: ESMM's product of probabilities needs binary
    /// tasks, which the correlated regression tasks are not; the naive CVR model needs a click
    /// and a conversion after it, which only the funnel has (on Adult, "never married" does not
    /// follow "income > 50K").
    pub fn offers(self, model: ModelKind) -> bool {
        match model {
            ModelKind::Esmm => self != DataKind::Correlated,
            ModelKind::NaiveCvr | ModelKind::IpwCvr => self == DataKind::Funnel,
            _ => true,
        }
    }
}

/// A setting of a model's shape or regularisation, so that each part can say which models use
/// it ([`ModelKind::uses`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Knob {
    Experts,
    SpecificExperts,
    SharedExperts,
    Levels,
    ExpertUnits,
    BottomUnits,
    TowerUnits,
    GateUnits,
    EmbeddingDim,
    Dropout,
    L2Embedding,
    SharedEmbedding,
}

/// How a task is scored: binary tasks use sigmoid + cross-entropy, regression tasks MSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskKind {
    Binary,
    Regression,
}

impl TaskKind {
    /// The score a task's result is read by: AUC for a binary task, R² for a regression.
    pub const fn headline_name(self) -> &'static str {
        match self {
            TaskKind::Binary => "AUC",
            TaskKind::Regression => "R²",
        }
    }

    /// Its error: log loss for a binary task, the mean squared error for a regression.
    pub const fn error_name(self) -> &'static str {
        match self {
            TaskKind::Binary => "logloss",
            TaskKind::Regression => "MSE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_correlated_tasks_are_regressions_and_read_by_r2() {
        let names = |d: DataKind| {
            let k = d.task_kind();
            (k.headline_name(), k.error_name())
        };
        assert_eq!(names(DataKind::Correlated), ("R²", "MSE"));
        assert_eq!(names(DataKind::Adult), ("AUC", "logloss"));
        assert_eq!(names(DataKind::Funnel), ("AUC", "logloss"));
    }

    #[test]
    fn kind_slugs_round_trip_and_accept_the_old_cli_spellings() {
        for k in ModelKind::ALL {
            assert_eq!(ModelKind::from_slug(k.slug()), Some(k));
            assert_eq!(k.slug().parse::<ModelKind>(), Ok(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.slug()));
            assert_eq!(serde_json::from_str::<ModelKind>(&json).unwrap(), k);
        }
        assert_eq!(ModelKind::from_slug("single"), Some(ModelKind::SingleTask));
        assert_eq!(
            ModelKind::from_slug("shared-bottom"),
            Some(ModelKind::SharedBottom)
        );
        assert_eq!(ModelKind::from_slug(" MMoE "), Some(ModelKind::Mmoe));
        assert_eq!(ModelKind::from_slug("transformer"), None);
        let err = "x".parse::<ModelKind>().unwrap_err();
        assert!(err.contains("shared_bottom"), "{err}");
        // Model files written before the slugs were unified.
        let old: ModelKind = serde_json::from_str("\"SharedBottom\"").unwrap();
        assert_eq!(old, ModelKind::SharedBottom);
    }

    #[test]
    fn kind_knobs_follow_the_model() {
        assert!(ModelKind::Ple.uses(Knob::Levels));
        assert!(!ModelKind::Cgc.uses(Knob::Levels));
        assert!(ModelKind::Mmoe.uses(Knob::ExpertUnits));
        assert!(ModelKind::Mmoe.uses(Knob::GateUnits));
        assert!(!ModelKind::SharedBottom.uses(Knob::GateUnits));
        assert!(!ModelKind::Mmoe.uses(Knob::SharedExperts));
        assert!(ModelKind::SharedBottom.uses(Knob::BottomUnits));
        assert!(!ModelKind::Esmm.uses(Knob::Experts));
        assert!(ModelKind::Esmm.uses(Knob::Dropout));
        assert_eq!(ModelKind::Cgc.levels(3), 1);
        assert_eq!(ModelKind::Ple.levels(3), 3);
        assert_eq!(ModelKind::Esmm.task_name(1, "never_married"), "ctcvr");
        assert_eq!(
            ModelKind::Mmoe.task_name(1, "never_married"),
            "never_married"
        );
        assert!(ModelKind::NaiveCvr.predicts_cvr() && !ModelKind::Mmoe.predicts_cvr());
        assert!(!ModelKind::NaiveCvr.uses(Knob::BottomUnits));
        assert!(ModelKind::NaiveCvr.uses(Knob::SharedEmbedding));
        assert!(!ModelKind::Mmoe.uses(Knob::SharedEmbedding));
    }

    #[test]
    fn kind_data_sets_offer_the_models_that_fit_their_tasks() {
        for d in DataKind::ALL {
            assert_eq!(DataKind::from_slug(d.slug()), Some(d));
        }
        assert!(!DataKind::Correlated.offers(ModelKind::Esmm));
        assert!(DataKind::Adult.offers(ModelKind::Esmm));
        assert!(!DataKind::Adult.offers(ModelKind::NaiveCvr));
        assert!(!DataKind::Correlated.offers(ModelKind::NaiveCvr));
        assert!(!DataKind::Adult.offers(ModelKind::IpwCvr));
        assert!(ModelKind::IpwCvr.cvr_from_clicks() && !ModelKind::Esmm.cvr_from_clicks());
        assert!(ModelKind::ALL.iter().all(|&m| DataKind::Funnel.offers(m)));
    }
}
