//! The seven models of the playground behind one type, [`MtlModel`], built from one
//! [`ModelConfig`]. Every forward returns the per-task predictions and, for gated models, the
//! gate weights per task and per level (the shared gates included).

mod bottom;
mod esmm;
pub mod layers;
mod moe;
mod ple;
mod replicas;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

pub use bottom::{SharedBottom, SingleTask};
pub use esmm::Esmm;
pub use moe::Moe;
pub use ple::{ExtractionLevel, Ple};

pub use mtl_vocab::{ExpertRef, GateInfo, GateLayout, ModelKind, ModelSettings, Owner};

use crate::data::{Batch, InputSpec};

/// A model: its kind and its settings (every size and regularisation setting; a model ignores
/// those it does not use, [`ModelKind::uses`]). Model files carry it as JSON, the settings'
/// fields flat beside `kind`. [`ModelConfig::tutorial`] and [`ModelConfig::from_settings`] build
/// one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelConfig {
    pub kind: ModelKind,
    #[serde(flatten)]
    pub settings: ModelSettings,
}

impl Config for ModelConfig {}

/// Upper bounds on a model: the vocabulary's, which the page's tighter bounds sit inside.
pub use mtl_vocab::limits;

/// A configuration that cannot be built, said so a user can fix it.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ConfigError {
    #[error("{field} must be between {min} and {max}, got {value}")]
    OutOfRange {
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("{0} needs at least one layer")]
    NoLayers(&'static str),
    #[error("CGC/PLE need at least one expert per task gate (specific + shared > 0)")]
    NoExperts,
}

impl ModelConfig {
    /// The seed tutorial's model of `kind`.
    pub fn tutorial(kind: ModelKind) -> Self {
        Self::from_settings(kind, &ModelSettings::tutorial(kind))
    }

    /// The model of `kind` with `settings`. CGC gets one level, whatever `settings` asks.
    pub fn from_settings(kind: ModelKind, s: &ModelSettings) -> Self {
        let mut settings = s.clone();
        if kind == ModelKind::Cgc {
            settings.levels = 1;
        }
        Self { kind, settings }
    }

    /// The same model with its settings changed by `change`.
    pub fn with(mut self, change: impl FnOnce(&mut ModelSettings)) -> Self {
        change(&mut self.settings);
        self
    }

    /// Refuses sizes that cannot be built or would not fit a browser tab.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use limits::*;
        let settings = &self.settings;
        let range = |field, value: usize, min: usize, max: usize| {
            if value < min || value > max {
                Err(ConfigError::OutOfRange {
                    field,
                    value: value as f64,
                    min: min as f64,
                    max: max as f64,
                })
            } else {
                Ok(())
            }
        };
        let layers = |field, units: &[usize], required: bool| -> Result<(), ConfigError> {
            if required && units.is_empty() {
                return Err(ConfigError::NoLayers(field));
            }
            range(field, units.len(), 0, MAX_LAYERS)?;
            units
                .iter()
                .try_for_each(|&u| range(field, u, 1, MAX_UNITS))
        };
        range(
            "embedding_dim",
            settings.embedding_dim,
            1,
            MAX_EMBEDDING_DIM,
        )?;
        layers("tower_units", &settings.tower_units, false)?;
        layers("gate_units", &settings.gate_units, false)?;
        if !(0.0..0.95).contains(&settings.dropout) {
            return Err(ConfigError::OutOfRange {
                field: "dropout",
                value: settings.dropout,
                min: 0.0,
                max: 0.95,
            });
        }
        if !(0.0..=1.0).contains(&settings.l2_embedding) {
            return Err(ConfigError::OutOfRange {
                field: "l2_embedding",
                value: settings.l2_embedding,
                min: 0.0,
                max: 1.0,
            });
        }
        match self.kind {
            ModelKind::SingleTask | ModelKind::SharedBottom => {
                layers("bottom_units", &settings.bottom_units, true)?
            }
            ModelKind::Mmoe | ModelKind::Omoe => {
                layers("expert_units", &settings.expert_units, true)?;
                range("experts", settings.experts, 1, MAX_EXPERTS)?;
            }
            ModelKind::Cgc | ModelKind::Ple => {
                layers("expert_units", &settings.expert_units, true)?;
                range(
                    "specific_experts",
                    settings.specific_experts,
                    0,
                    MAX_EXPERTS,
                )?;
                range("shared_experts", settings.shared_experts, 0, MAX_EXPERTS)?;
                if settings.specific_experts + settings.shared_experts == 0 {
                    return Err(ConfigError::NoExperts);
                }
                let levels_max = if self.kind == ModelKind::Cgc {
                    1
                } else {
                    MAX_LEVELS
                };
                range("levels", settings.levels, 1, levels_max)?;
            }
            ModelKind::Esmm | ModelKind::NaiveCvr | ModelKind::IpwCvr => {}
        }
        Ok(())
    }

    /// The gates this configuration has, in the order [`ModelOutput::gates`] returns them.
    pub fn gate_layout(&self, tasks: usize) -> GateLayout {
        GateLayout::new(self.kind, &self.settings, tasks)
    }

    /// Builds one replica of the model on `device`, its initial weights drawn at once from the
    /// device's random numbers (whose seed [`ModelConfig::init_replicas`] sets), while no other
    /// thread draws from them ([`replicas::seed_lock`]).
    pub fn init(
        &self,
        spec: &InputSpec,
        tasks: usize,
        device: &Device,
    ) -> Result<MtlModel, ConfigError> {
        let _guard = replicas::seed_lock();
        self.init_drawn(spec, tasks, device)
    }

    /// [`ModelConfig::init`] for a caller that holds the seed lock.
    fn init_drawn(
        &self,
        spec: &InputSpec,
        tasks: usize,
        device: &Device,
    ) -> Result<MtlModel, ConfigError> {
        let model = self.init_lazy(spec, tasks, device)?;
        model.visit(&mut replicas::ForceInit);
        Ok(model)
    }

    /// The model with its weights still to be drawn (lazily, at first use).
    fn init_lazy(
        &self,
        spec: &InputSpec,
        tasks: usize,
        device: &Device,
    ) -> Result<MtlModel, ConfigError> {
        self.validate()?;
        Ok(match self.kind {
            ModelKind::SingleTask => {
                MtlModel::SingleTask(SingleTask::new(self, spec, tasks, device))
            }
            ModelKind::SharedBottom => {
                MtlModel::SharedBottom(SharedBottom::new(self, spec, tasks, device))
            }
            ModelKind::Mmoe => MtlModel::Moe(Moe::new(self, spec, tasks, false, device)),
            ModelKind::Omoe => MtlModel::Moe(Moe::new(self, spec, tasks, true, device)),
            ModelKind::Cgc | ModelKind::Ple => MtlModel::Ple(Ple::new(self, spec, tasks, device)),
            ModelKind::Esmm => MtlModel::Esmm(Esmm::new(self, spec, device)),
            ModelKind::NaiveCvr => MtlModel::NaiveCvr(Esmm::new(self, spec, device)),
            ModelKind::IpwCvr => MtlModel::IpwCvr(Esmm::new(self, spec, device)),
        })
    }
}

/// Model inputs for one batch: each replica's rows.
#[derive(Debug, Clone)]
pub struct ModelInput {
    /// `[R, batch, fields]`
    pub categorical: Tensor<3, Int>,
    /// `[R, batch, numeric]`
    pub numeric: Tensor<3>,
}

impl From<&Batch> for ModelInput {
    fn from(batch: &Batch) -> Self {
        Self {
            categorical: batch.categorical.clone(),
            numeric: batch.numeric.clone(),
        }
    }
}

/// One task's output: a logit (sigmoid gives the probability) or, for ESMM's CTCVR, a
/// probability that is already a product of two.
// Two per forward pass: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Prediction {
    /// `[R, batch, 1]`
    Logit(Tensor<3>),
    /// `[R, batch, 1]`
    Probability(Tensor<3>),
    /// The naive CVR model's second task: scored as `probability` (pCTR × pCVR, `[R, batch, 1]`)
    /// but trained as `logit` (the CVR tower's, `[R, batch, 1]`) on the rows whose first task's
    /// label is 1 (the clicked impressions), against this task's label (click and conversion,
    /// which on those rows is the conversion). With a `propensity` (pCTR, `[R, batch, 1]`),
    /// each clicked row's loss is weighted by its inverse: the IPW CVR model.
    Conditional {
        probability: Tensor<3>,
        logit: Tensor<3>,
        propensity: Option<Tensor<3>>,
    },
}

impl Prediction {
    /// `[R, batch, 1]` probabilities (for regression tasks, use the raw logit instead).
    pub fn probability(&self) -> Tensor<3> {
        match self {
            Prediction::Logit(x) => burn::tensor::activation::sigmoid(x.clone()),
            Prediction::Probability(p) | Prediction::Conditional { probability: p, .. } => {
                p.clone()
            }
        }
    }

    /// The raw output: the logit or the probability.
    pub fn raw(&self) -> Tensor<3> {
        match self {
            Prediction::Logit(x)
            | Prediction::Probability(x)
            | Prediction::Conditional { probability: x, .. } => x.clone(),
        }
    }
}

/// What every forward returns.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// One per task.
    pub tasks: Vec<Prediction>,
    /// `[R, batch, experts]` per gate, in [`ModelConfig::gate_layout`] order. Empty without
    /// gates.
    pub gates: Vec<Tensor<3>>,
    /// The CVR head of ESMM and of the naive CVR model, `[R, batch, 1]` probabilities:
    /// predicted and scored (ESMM's is never in the loss).
    pub cvr: Option<Tensor<3>>,
}

impl ModelOutput {
    fn without_gates(tasks: Vec<Prediction>) -> Self {
        Self {
            tasks,
            gates: Vec::new(),
            cvr: None,
        }
    }
}

/// Any of the playground's models, as R replicas side by side ([`MtlModel::replicas`]): every
/// parameter has a leading `[R, …]`, and each replica is a model of its own, trained on its own
/// rows, with exactly the gradient and the Adam update it would get alone.
// One model lives at a time and is built once, so the size gap between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum MtlModel {
    SingleTask(SingleTask),
    SharedBottom(SharedBottom),
    Moe(Moe),
    Ple(Ple),
    Esmm(Esmm),
    /// The naive CVR model: ESMM's parts, CVR trained on the clicked rows.
    NaiveCvr(Esmm),
    /// The naive model with each clicked row's CVR loss weighted by 1 / pCTR.
    IpwCvr(Esmm),
}

impl MtlModel {
    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        match self {
            MtlModel::SingleTask(m) => m.forward(x),
            MtlModel::SharedBottom(m) => m.forward(x),
            MtlModel::Moe(m) => m.forward(x),
            MtlModel::Ple(m) => m.forward(x),
            MtlModel::Esmm(m) | MtlModel::NaiveCvr(m) | MtlModel::IpwCvr(m) => m.forward(x),
        }
    }

    /// The sum of squared embedding weights over every replica (the sum of each one's own
    /// penalty), which the L2 penalty scales.
    /// `None` for a model without embeddings (numeric inputs only).
    pub fn embedding_penalty(&self) -> Option<Tensor<1>> {
        match self {
            MtlModel::SingleTask(m) => m.embedding_penalty(),
            MtlModel::SharedBottom(m) => m.input.squared_norm(),
            MtlModel::Moe(m) => m.input.squared_norm(),
            MtlModel::Ple(m) => m.input.squared_norm(),
            MtlModel::Esmm(m) | MtlModel::NaiveCvr(m) | MtlModel::IpwCvr(m) => {
                m.embedding_penalty()
            }
        }
    }
}

#[cfg(test)]
mod tests;
