//! Every size and regularisation setting of every model, and the seed tutorial's values.

use serde::{Deserialize, Serialize};

use crate::kind::{DataKind, ModelKind};

/// A model's shape and regularisation. Every model has all the fields and ignores those it does
/// not use ([`ModelKind::uses`]), so a learner who switches models and back finds the values
/// where they were.
///
/// A missing field reads as [`ModelSettings::default`]'s: runs saved before a setting existed
/// (the gate DNN, dropout, L2) ran with exactly that value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSettings {
    /// Width of each categorical field's embedding.
    pub embedding_dim: usize,
    /// The shared bottom (Shared-Bottom) or each task's own network (single-task).
    pub bottom_units: Vec<usize>,
    /// Hidden units of every expert.
    pub expert_units: Vec<usize>,
    /// Hidden units of each task tower (ESMM: the CTR and CVR towers).
    pub tower_units: Vec<usize>,
    /// Experts of MMoE and OMoE.
    pub experts: usize,
    /// Task-specific experts per task and level (CGC, PLE).
    pub specific_experts: usize,
    /// Shared experts per level (CGC, PLE).
    pub shared_experts: usize,
    /// Extraction levels (PLE; CGC is one level).
    pub levels: usize,
    /// Hidden units before each gate's softmax; empty is the papers' single dense layer.
    pub gate_units: Vec<usize>,
    /// Dropout after every hidden layer.
    pub dropout: f64,
    /// L2 penalty on the embedding tables, as DeepCTR's `l2_reg_embedding`.
    pub l2_embedding: f64,
    /// ESMM and the naive CVR model: whether the CTR and CVR towers read one embedding table
    /// (ESMM's design) or one each (the paper's ESMM-NS ablation; the naive baseline).
    pub shared_embedding: bool,
}

impl ModelSettings {
    /// The seed tutorial's settings for `kind`: its DeepCTR calls' arguments, and DeepCTR's
    /// defaults where the tutorial passes none (no gate DNN, no dropout, L2 1e-5 on the
    /// embeddings, embedding width 4).
    pub fn tutorial(kind: ModelKind) -> Self {
        let base = Self {
            embedding_dim: 4,
            bottom_units: vec![128, 128],
            expert_units: vec![32, 32],
            tower_units: vec![16, 8],
            experts: 4,
            specific_experts: 8,
            shared_experts: 4,
            levels: 2,
            gate_units: Vec::new(),
            dropout: 0.0,
            l2_embedding: 1e-5,
            // ESMM shares its table; its baselines, as in the paper, do not.
            shared_embedding: !kind.cvr_from_clicks(),
        };
        match kind {
            ModelKind::SingleTask | ModelKind::SharedBottom => Self {
                tower_units: vec![64, 32],
                ..base
            },
            ModelKind::Omoe | ModelKind::Mmoe => base,
            ModelKind::Cgc | ModelKind::Ple => Self {
                expert_units: vec![64, 64],
                tower_units: vec![16, 16],
                levels: if kind == ModelKind::Cgc { 1 } else { 2 },
                ..base
            },
            // The CVR baselines have no tutorial of their own: ESMM's towers, for a fair match.
            ModelKind::Esmm | ModelKind::NaiveCvr | ModelKind::IpwCvr => Self {
                tower_units: vec![128, 128],
                ..base
            },
        }
    }

    /// The settings `kind` starts with on `data`. On Adult, the tutorial's. On the correlated
    /// tasks, small models of near-matched size whose shared representation is 4 wide: the
    /// bottleneck under which the MMoE paper's trend can show (README, "Experiment: task
    /// correlation"; `mtl experiment correlation` trains exactly these). On the funnel, small
    /// towers (one layer of 16, no regularisation) for 16,000 impressions of 400 items, which
    /// `mtl experiment funnel` trains too.
    pub fn for_data(kind: ModelKind, data: DataKind) -> Self {
        match data {
            DataKind::Adult => Self::tutorial(kind),
            DataKind::Correlated => Self {
                tower_units: vec![8],
                expert_units: vec![12, 4],
                bottom_units: vec![48, 4],
                experts: 4,
                specific_experts: 1,
                shared_experts: 2,
                levels: if kind == ModelKind::Ple { 2 } else { 1 },
                gate_units: Vec::new(),
                dropout: 0.0,
                l2_embedding: 0.0,
                ..Self::tutorial(kind)
            },
            DataKind::Funnel => Self {
                embedding_dim: 4,
                bottom_units: vec![16],
                tower_units: vec![16],
                dropout: 0.0,
                l2_embedding: 0.0,
                ..Self::tutorial(kind)
            },
        }
    }

    /// The settings after a switch to `kind` on `data`: its architecture there (layer sizes,
    /// expert counts, levels), with the embedding width and the regularisation kept, so a
    /// comparison changes the model and nothing else.
    pub fn switched_to(&self, kind: ModelKind, data: DataKind) -> Self {
        // The embedding sharing is part of the architecture: ESMM shares, the naive model not.
        Self {
            embedding_dim: self.embedding_dim,
            gate_units: self.gate_units.clone(),
            dropout: self.dropout,
            l2_embedding: self.l2_embedding,
            ..Self::for_data(kind, data)
        }
    }
}

/// The tutorial's MMoE, the page's first model.
impl Default for ModelSettings {
    fn default() -> Self {
        Self::tutorial(ModelKind::Mmoe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_the_seed_tutorials() {
        let sb = ModelSettings::tutorial(ModelKind::SharedBottom);
        assert_eq!(
            (sb.bottom_units, sb.tower_units),
            (vec![128, 128], vec![64, 32])
        );
        let mmoe = ModelSettings::tutorial(ModelKind::Mmoe);
        assert_eq!(
            (mmoe.experts, mmoe.expert_units, mmoe.tower_units),
            (4, vec![32, 32], vec![16, 8])
        );
        let ple = ModelSettings::tutorial(ModelKind::Ple);
        assert_eq!(
            (ple.specific_experts, ple.shared_experts, ple.levels),
            (8, 4, 2)
        );
        assert_eq!(
            (ple.expert_units, ple.tower_units),
            (vec![64, 64], vec![16, 16])
        );
        assert_eq!(ModelSettings::tutorial(ModelKind::Cgc).levels, 1);
        assert_eq!(
            ModelSettings::tutorial(ModelKind::Esmm).tower_units,
            vec![128, 128]
        );
        let d = ModelSettings::default();
        assert_eq!(
            (
                d.embedding_dim,
                d.dropout,
                d.l2_embedding,
                d.gate_units.len()
            ),
            (4, 0.0, 1e-5, 0)
        );
    }

    #[test]
    fn settings_switch_keeps_regularisation_and_takes_the_architecture() {
        let mine = ModelSettings {
            embedding_dim: 8,
            dropout: 0.2,
            experts: 12,
            ..ModelSettings::tutorial(ModelKind::Mmoe)
        };
        let ple = mine.switched_to(ModelKind::Ple, DataKind::Adult);
        assert_eq!((ple.embedding_dim, ple.dropout), (8, 0.2));
        assert_eq!(ple.expert_units, vec![64, 64]);
        assert_eq!(ple.switched_to(ModelKind::Mmoe, DataKind::Adult).experts, 4);
        let small = ple.switched_to(ModelKind::Mmoe, DataKind::Correlated);
        assert_eq!((small.expert_units, small.dropout), (vec![12, 4], 0.2));
    }
}
