//! The seven models of the playground behind one type, [`MtlModel`], built from one
//! [`ModelConfig`]. Every forward returns the per-task predictions and, for gated models, the
//! gate weights per task and per level (the shared gates included).

mod bottom;
mod esmm;
pub mod layers;
mod moe;
mod ple;

use std::fmt;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

pub use bottom::{SharedBottom, SingleTask};
pub use esmm::Esmm;
pub use moe::Moe;
pub use ple::{ExtractionLevel, Ple};

use crate::data::{Batch, InputSpec};

/// The architectures the playground teaches, in the order of the lessons.
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    SingleTask,
    SharedBottom,
    Omoe,
    Mmoe,
    Cgc,
    Ple,
    Esmm,
}

impl ModelKind {
    pub const ALL: [ModelKind; 7] = [
        ModelKind::SingleTask,
        ModelKind::SharedBottom,
        ModelKind::Omoe,
        ModelKind::Mmoe,
        ModelKind::Cgc,
        ModelKind::Ple,
        ModelKind::Esmm,
    ];

    /// The CLI's and the URL's name: `single`, `shared-bottom`, `omoe`, `mmoe`, `cgc`, `ple`, `esmm`.
    pub fn slug(self) -> &'static str {
        match self {
            ModelKind::SingleTask => "single",
            ModelKind::SharedBottom => "shared-bottom",
            ModelKind::Omoe => "omoe",
            ModelKind::Mmoe => "mmoe",
            ModelKind::Cgc => "cgc",
            ModelKind::Ple => "ple",
            ModelKind::Esmm => "esmm",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == slug)
    }

    /// The human name.
    pub fn label(self) -> &'static str {
        match self {
            ModelKind::SingleTask => "SingleTask",
            ModelKind::SharedBottom => "Shared-Bottom",
            ModelKind::Omoe => "OMoE",
            ModelKind::Mmoe => "MMoE",
            ModelKind::Cgc => "CGC",
            ModelKind::Ple => "PLE",
            ModelKind::Esmm => "ESMM",
        }
    }

    pub fn has_gates(self) -> bool {
        matches!(
            self,
            ModelKind::Omoe | ModelKind::Mmoe | ModelKind::Cgc | ModelKind::Ple
        )
    }
}

/// Every size of every model. Fields a model does not use are ignored by it.
/// [`ModelConfig::tutorial`] gives the seed tutorial's defaults for each kind.
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    pub kind: ModelKind,
    /// Width of each categorical field's embedding.
    #[config(default = 4)]
    pub embedding_dim: usize,
    /// The shared bottom (Shared-Bottom) or each task's own bottom (SingleTask).
    #[config(default = "vec![128, 128]")]
    pub bottom_units: Vec<usize>,
    /// Hidden units of every expert.
    #[config(default = "vec![32, 32]")]
    pub expert_units: Vec<usize>,
    /// Hidden units of each task tower (ESMM: the CTR and CVR towers).
    #[config(default = "vec![16, 8]")]
    pub tower_units: Vec<usize>,
    /// Experts of MMoE and OMoE.
    #[config(default = 4)]
    pub experts: usize,
    /// Task-specific experts per task and level (CGC, PLE).
    #[config(default = 8)]
    pub specific_experts: usize,
    /// Shared experts per level (CGC, PLE).
    #[config(default = 4)]
    pub shared_experts: usize,
    /// Extraction levels (PLE; CGC is one level).
    #[config(default = 2)]
    pub levels: usize,
    /// An optional hidden DNN before each gate's softmax; empty means the paper's single Dense.
    #[config(default = "Vec::new()")]
    pub gate_units: Vec<usize>,
    /// Dropout after every hidden layer.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// L2 penalty on the embedding tables, as DeepCTR's `l2_reg_embedding`.
    #[config(default = 1e-5)]
    pub l2_embedding: f64,
}

/// Upper bounds that keep a model trainable in a browser tab; larger values are refused.
pub mod limits {
    pub const MAX_UNITS: usize = 1024;
    pub const MAX_LAYERS: usize = 6;
    pub const MAX_EXPERTS: usize = 64;
    pub const MAX_LEVELS: usize = 8;
    pub const MAX_EMBEDDING_DIM: usize = 64;
}

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
    /// The seed tutorial's defaults for `kind`.
    pub fn tutorial(kind: ModelKind) -> Self {
        let base = ModelConfig::new(kind);
        match kind {
            ModelKind::SingleTask | ModelKind::SharedBottom => base
                .with_bottom_units(vec![128, 128])
                .with_tower_units(vec![64, 32]),
            ModelKind::Mmoe | ModelKind::Omoe => base
                .with_experts(4)
                .with_expert_units(vec![32, 32])
                .with_tower_units(vec![16, 8]),
            ModelKind::Cgc | ModelKind::Ple => base
                .with_specific_experts(8)
                .with_shared_experts(4)
                .with_expert_units(vec![64, 64])
                .with_tower_units(vec![16, 16])
                .with_levels(if kind == ModelKind::Cgc { 1 } else { 2 }),
            ModelKind::Esmm => base.with_tower_units(vec![128, 128]),
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
            ModelKind::Esmm => {}
        }
        Ok(())
    }

    /// The gates this configuration has, in the order [`ModelOutput::gates`] returns them.
    pub fn gate_layout(&self, tasks: usize) -> Vec<GateInfo> {
        match self.kind {
            ModelKind::Mmoe => (0..tasks)
                .map(|t| GateInfo {
                    level: 0,
                    task: Some(t),
                    experts: (0..self.experts).map(ExpertRef::Pooled).collect(),
                })
                .collect(),
            ModelKind::Omoe => vec![GateInfo {
                level: 0,
                task: None,
                experts: (0..self.experts).map(ExpertRef::Pooled).collect(),
            }],
            ModelKind::Cgc | ModelKind::Ple => {
                let (s, h) = (self.specific_experts, self.shared_experts);
                let mut gates = Vec::new();
                for level in 0..self.levels {
                    for t in 0..tasks {
                        let experts = (0..s)
                            .map(|i| ExpertRef::Specific { task: t, index: i })
                            .chain((0..h).map(ExpertRef::Shared))
                            .collect();
                        gates.push(GateInfo {
                            level,
                            task: Some(t),
                            experts,
                        });
                    }
                    if level + 1 < self.levels {
                        let experts = (0..tasks)
                            .flat_map(|t| {
                                (0..s).map(move |i| ExpertRef::Specific { task: t, index: i })
                            })
                            .chain((0..h).map(ExpertRef::Shared))
                            .collect();
                        gates.push(GateInfo {
                            level,
                            task: None,
                            experts,
                        });
                    }
                }
                gates
            }
            ModelKind::SingleTask | ModelKind::SharedBottom | ModelKind::Esmm => Vec::new(),
        }
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
        })
    }
}

/// Which expert a gate weight belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpertRef {
    /// An MMoE/OMoE expert, shared by every task.
    Pooled(usize),
    /// A CGC/PLE expert that belongs to one task.
    Specific { task: usize, index: usize },
    /// A CGC/PLE shared expert.
    Shared(usize),
}

impl fmt::Display for ExpertRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpertRef::Pooled(i) => write!(f, "E{i}"),
            ExpertRef::Specific { task, index } => write!(f, "T{}.{index}", task + 1),
            ExpertRef::Shared(i) => write!(f, "S{i}"),
        }
    }
}

/// What one gate mixes: its level, its task (`None` for a shared gate) and its experts in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateInfo {
    pub level: usize,
    pub task: Option<usize>,
    pub experts: Vec<ExpertRef>,
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
#[derive(Debug, Clone)]
pub enum Prediction {
    /// `[batch, 1]`
    Logit(Tensor<2>),
    /// `[batch, 1]`
    Probability(Tensor<2>),
}

impl Prediction {
    /// `[batch, 1]` probabilities (for regression tasks, use the raw logit instead).
    pub fn probability(&self) -> Tensor<2> {
        match self {
            Prediction::Logit(x) => burn::tensor::activation::sigmoid(x.clone()),
            Prediction::Probability(p) => p.clone(),
        }
    }

    /// The raw output: the logit or the probability.
    pub fn raw(&self) -> Tensor<2> {
        match self {
            Prediction::Logit(x) | Prediction::Probability(x) => x.clone(),
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
    /// ESMM's CVR head, `[batch, 1]` probabilities: predicted and shown, never in the loss.
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
}

impl MtlModel {
    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        match self {
            MtlModel::SingleTask(m) => m.forward(x),
            MtlModel::SharedBottom(m) => m.forward(x),
            MtlModel::Moe(m) => m.forward(x),
            MtlModel::Ple(m) => m.forward(x),
            MtlModel::Esmm(m) => m.forward(x),
        }
    }

    /// The sum of squared embedding weights, which the L2 penalty scales.
    pub fn embedding_penalty(&self) -> Tensor<1> {
        match self {
            MtlModel::SingleTask(m) => m.embedding_penalty(),
            MtlModel::SharedBottom(m) => m.input.squared_norm(),
            MtlModel::Moe(m) => m.input.squared_norm(),
            MtlModel::Ple(m) => m.input.squared_norm(),
            MtlModel::Esmm(m) => m.input.squared_norm(),
        }
    }
}

#[cfg(test)]
mod tests;
