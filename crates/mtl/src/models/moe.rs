//! MMoE (Ma et al., KDD 2018): shared experts on the input, one softmax gate per task; and OMoE,
//! the same with a single gate shared by all tasks (the MMoE paper's comparison point).

use burn::module::Module;
use burn::tensor::Device;

use super::layers::{ExpertBank, Gate, InputLayer, TaskHead, mix};
use super::{ModelConfig, ModelInput, ModelOutput, Prediction};
use crate::data::InputSpec;

#[derive(Module, Debug)]
pub struct Moe {
    pub input: InputLayer,
    pub experts: ExpertBank,
    /// One gate per task (MMoE) or a single shared one (OMoE).
    pub gates: Vec<Gate>,
    pub heads: Vec<TaskHead>,
}

impl Moe {
    pub fn new(
        config: &ModelConfig,
        spec: &InputSpec,
        tasks: usize,
        one_gate: bool,
        device: &Device,
    ) -> Self {
        let input = InputLayer::new(
            &spec.vocab_sizes,
            config.settings.embedding_dim,
            spec.n_numeric,
            device,
        );
        let width = input.output_dim();
        let experts = ExpertBank::new(
            config.settings.experts,
            width,
            &config.settings.expert_units,
            config.settings.dropout,
            device,
        );
        let n_gates = if one_gate { 1 } else { tasks };
        let gates = (0..n_gates)
            .map(|_| {
                Gate::new(
                    width,
                    &config.settings.gate_units,
                    config.settings.experts,
                    config.settings.dropout,
                    device,
                )
            })
            .collect();
        let heads = (0..tasks)
            .map(|_| {
                TaskHead::new(
                    experts.output_dim,
                    &config.settings.tower_units,
                    config.settings.dropout,
                    device,
                )
            })
            .collect();
        Self {
            input,
            experts,
            gates,
            heads,
        }
    }

    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        let h = self.input.forward(x.categorical.clone(), x.numeric.clone());
        let experts = self.experts.forward_shared(h.clone()); // [experts, batch, out]
        let gates: Vec<_> = self.gates.iter().map(|g| g.forward(h.clone())).collect();
        let tasks = self
            .heads
            .iter()
            .enumerate()
            .map(|(t, head)| {
                let weights = gates[t.min(gates.len() - 1)].clone();
                Prediction::Logit(head.forward(mix(experts.clone(), weights)))
            })
            .collect();
        ModelOutput {
            tasks,
            gates,
            cvr: None,
        }
    }
}
