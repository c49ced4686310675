//! The seven models of the playground behind one type, [`MtlModel`], built from one
//! [`ModelConfig`]. Every forward returns the per-task predictions and, for gated models, the
//! gate weights per task and per level (the shared gates included).

mod bottom;
mod esmm;
pub mod layers;
mod moe;
mod ple;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

pub use bottom::{SharedBottom, SingleTask};
pub use esmm::Esmm;
pub use moe::Moe;
pub use ple::{ExtractionLevel, Ple};

pub use mtl_vocab::{ExpertRef, GateInfo, GateLayout, ModelKind, ModelSettings, Owner};

use crate::data::{Batch, InputSpec};

/// Every size of every model, as Burn's config (model files carry it). Fields a model does not
/// use are ignored by it. The values, their meaning and the tutorial's defaults are
/// [`ModelSettings`]'s: [`ModelConfig::tutorial`] and [`ModelConfig::from_settings`] build one.
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    pub kind: ModelKind,
    #[config(default = "ModelSettings::default().embedding_dim")]
    pub embedding_dim: usize,
    #[config(default = "ModelSettings::default().bottom_units")]
    pub bottom_units: Vec<usize>,
    #[config(default = "ModelSettings::default().expert_units")]
    pub expert_units: Vec<usize>,
    #[config(default = "ModelSettings::default().tower_units")]
    pub tower_units: Vec<usize>,
    #[config(default = "ModelSettings::default().experts")]
    pub experts: usize,
    #[config(default = "ModelSettings::default().specific_experts")]
    pub specific_experts: usize,
    #[config(default = "ModelSettings::default().shared_experts")]
    pub shared_experts: usize,
    #[config(default = "ModelSettings::default().levels")]
    pub levels: usize,
    #[config(default = "ModelSettings::default().gate_units")]
    pub gate_units: Vec<usize>,
    #[config(default = "ModelSettings::default().dropout")]
    pub dropout: f64,
    #[config(default = "ModelSettings::default().l2_embedding")]
    pub l2_embedding: f64,
    /// Model files from before it existed were ESMM's, which shares.
    #[config(default = true)]
    pub shared_embedding: bool,
}

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
        Self {
            kind,
            embedding_dim: s.embedding_dim,
            bottom_units: s.bottom_units.clone(),
            expert_units: s.expert_units.clone(),
            tower_units: s.tower_units.clone(),
            experts: s.experts,
            specific_experts: s.specific_experts,
            shared_experts: s.shared_experts,
            levels: if kind == ModelKind::Cgc { 1 } else { s.levels },
            gate_units: s.gate_units.clone(),
            dropout: s.dropout,
            l2_embedding: s.l2_embedding,
            shared_embedding: s.shared_embedding,
        }
    }

    /// The settings this config was made of.
    pub fn settings(&self) -> ModelSettings {
        ModelSettings {
            embedding_dim: self.embedding_dim,
            bottom_units: self.bottom_units.clone(),
            expert_units: self.expert_units.clone(),
            tower_units: self.tower_units.clone(),
            experts: self.experts,
            specific_experts: self.specific_experts,
            shared_experts: self.shared_experts,
            levels: self.levels,
            gate_units: self.gate_units.clone(),
            dropout: self.dropout,
            l2_embedding: self.l2_embedding,
            shared_embedding: self.shared_embedding,
        }
    }

    /// Refuses sizes that cannot be built or would not fit a browser tab.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use limits::*;
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
        range("embedding_dim", self.embedding_dim, 1, MAX_EMBEDDING_DIM)?;
        layers("tower_units", &self.tower_units, false)?;
        layers("gate_units", &self.gate_units, false)?;
        if !(0.0..0.95).contains(&self.dropout) {
            return Err(ConfigError::OutOfRange {
                field: "dropout",
                value: self.dropout,
                min: 0.0,
                max: 0.95,
            });
        }
        if !(0.0..=1.0).contains(&self.l2_embedding) {
            return Err(ConfigError::OutOfRange {
                field: "l2_embedding",
                value: self.l2_embedding,
                min: 0.0,
                max: 1.0,
            });
        }
        match self.kind {
            ModelKind::SingleTask | ModelKind::SharedBottom => {
                layers("bottom_units", &self.bottom_units, true)?
            }
            ModelKind::Mmoe | ModelKind::Omoe => {
                layers("expert_units", &self.expert_units, true)?;
                range("experts", self.experts, 1, MAX_EXPERTS)?;
            }
            ModelKind::Cgc | ModelKind::Ple => {
                layers("expert_units", &self.expert_units, true)?;
                range("specific_experts", self.specific_experts, 0, MAX_EXPERTS)?;
                range("shared_experts", self.shared_experts, 0, MAX_EXPERTS)?;
                if self.specific_experts + self.shared_experts == 0 {
                    return Err(ConfigError::NoExperts);
                }
                let levels_max = if self.kind == ModelKind::Cgc {
                    1
                } else {
                    MAX_LEVELS
                };
                range("levels", self.levels, 1, levels_max)?;
            }
            ModelKind::Esmm | ModelKind::NaiveCvr => {}
        }
        Ok(())
    }

    /// The gates this configuration has, in the order [`ModelOutput::gates`] returns them.
    pub fn gate_layout(&self, tasks: usize) -> GateLayout {
        GateLayout::new(self.kind, &self.settings(), tasks)
    }

    /// Builds the model on `device`. The device's seed decides the initial weights.
    pub fn init(
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
        })
    }
}

/// Model inputs for one batch.
#[derive(Debug, Clone)]
pub struct ModelInput {
    /// `[batch, fields]`
    pub categorical: Tensor<2, Int>,
    /// `[batch, numeric]`
    pub numeric: Tensor<2>,
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
    /// `[batch, 1]`
    Logit(Tensor<2>),
    /// `[batch, 1]`
    Probability(Tensor<2>),
    /// The naive CVR model's second task: scored as `probability` (pCTR × pCVR, `[batch, 1]`)
    /// but trained as `logit` (the CVR tower's, `[batch, 1]`) on the rows whose first task's
    /// label is 1 (the clicked impressions), against this task's label (click and conversion,
    /// which on those rows is the conversion).
    Conditional {
        probability: Tensor<2>,
        logit: Tensor<2>,
    },
}

impl Prediction {
    /// `[batch, 1]` probabilities (for regression tasks, use the raw logit instead).
    pub fn probability(&self) -> Tensor<2> {
        match self {
            Prediction::Logit(x) => burn::tensor::activation::sigmoid(x.clone()),
            Prediction::Probability(p) | Prediction::Conditional { probability: p, .. } => {
                p.clone()
            }
        }
    }

    /// The raw output: the logit or the probability.
    pub fn raw(&self) -> Tensor<2> {
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
    /// `[batch, experts]` per gate, in [`ModelConfig::gate_layout`] order. Empty without gates.
    pub gates: Vec<Tensor<2>>,
    /// The CVR head of ESMM and of the naive CVR model, `[batch, 1]` probabilities: predicted
    /// and scored (ESMM's is never in the loss).
    pub cvr: Option<Tensor<2>>,
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

/// Any of the playground's models.
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
}

impl MtlModel {
    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        match self {
            MtlModel::SingleTask(m) => m.forward(x),
            MtlModel::SharedBottom(m) => m.forward(x),
            MtlModel::Moe(m) => m.forward(x),
            MtlModel::Ple(m) => m.forward(x),
            MtlModel::Esmm(m) | MtlModel::NaiveCvr(m) => m.forward(x),
        }
    }

    /// The sum of squared embedding weights, which the L2 penalty scales.
    /// `None` for a model without embeddings (numeric inputs only).
    pub fn embedding_penalty(&self) -> Option<Tensor<1>> {
        match self {
            MtlModel::SingleTask(m) => m.embedding_penalty(),
            MtlModel::SharedBottom(m) => m.input.squared_norm(),
            MtlModel::Moe(m) => m.input.squared_norm(),
            MtlModel::Ple(m) => m.input.squared_norm(),
            MtlModel::Esmm(m) | MtlModel::NaiveCvr(m) => m.embedding_penalty(),
        }
    }
}

#[cfg(test)]
mod tests;
