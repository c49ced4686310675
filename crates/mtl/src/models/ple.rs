//! CGC and PLE (Tang et al., RecSys 2020). Each level has `specific` experts per task plus
//! `shared` experts; task i's gate mixes its own experts and the shared ones. Every level but the
//! last also has a shared gate over all experts, whose output feeds the next level's shared
//! experts. At level k, task i's experts and gate read task i's output of level k-1 (the paper's
//! wiring). CGC is PLE with one level.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::layers::{ExpertBank, Gate, InputLayer, TaskHead, mix};
use super::{ModelConfig, ModelInput, ModelOutput, Prediction};
use crate::data::InputSpec;

/// One extraction layer: all its experts in one bank, ordered task 0's specific experts, task
/// 1's, …, then the shared ones.
#[derive(Module, Debug)]
pub struct ExtractionLevel {
    pub experts: ExpertBank,
    pub task_gates: Vec<Gate>,
    pub shared_gate: Option<Gate>,
    pub specific: usize,
    pub shared: usize,
}

impl ExtractionLevel {
    fn new(config: &ModelConfig, d_in: usize, tasks: usize, last: bool, device: &Device) -> Self {
        let (s, h) = (config.specific_experts, config.shared_experts);
        let total = tasks * s + h;
        let gate = |n| Gate::new(d_in, &config.gate_units, n, config.dropout, device);
        Self {
            experts: ExpertBank::new(total, d_in, &config.expert_units, config.dropout, device),
            task_gates: (0..tasks).map(|_| gate(s + h)).collect(),
            shared_gate: (!last).then(|| gate(total)),
            specific: s,
            shared: h,
        }
    }

    /// Returns the per-task outputs, the shared output (all but the last level) and the gate
    /// weights (task gates, then the shared gate).
    ///
    /// # Shapes
    /// - task_inputs: per task `[batch, in]`, shared_input: `[batch, in]`
    /// - outputs: `[batch, out]` each; gate weights `[batch, experts in that gate]`
    fn forward(
        &self,
        task_inputs: &[Tensor<2>],
        shared_input: &Tensor<2>,
        same_input: bool,
    ) -> (Vec<Tensor<2>>, Option<Tensor<2>>, Vec<Tensor<2>>) {
        let tasks = task_inputs.len();
        let (s, h) = (self.specific, self.shared);
        let experts = if same_input {
            self.experts.forward_shared(shared_input.clone())
        } else {
            let [batch, d_in] = shared_input.dims();
            let mut blocks: Vec<Tensor<3>> = Vec::with_capacity(tasks + 1);
            for x in task_inputs.iter().filter(|_| s > 0) {
                blocks.push(x.clone().unsqueeze::<3>().expand([s, batch, d_in]));
            }
            if h > 0 {
                blocks.push(
                    shared_input
                        .clone()
                        .unsqueeze::<3>()
                        .expand([h, batch, d_in]),
                );
            }
            self.experts.forward(Tensor::cat(blocks, 0))
        }; // [tasks * s + h, batch, out]

        let mut outputs = Vec::with_capacity(tasks);
        let mut gates = Vec::with_capacity(tasks + 1);
        for (t, (gate, x)) in self.task_gates.iter().zip(task_inputs).enumerate() {
            let mut own = Vec::with_capacity(2);
            if s > 0 {
                own.push(experts.clone().slice(t * s..(t + 1) * s));
            }
            if h > 0 {
                own.push(experts.clone().slice(tasks * s..tasks * s + h));
            }
            let weights = gate.forward(x.clone());
            outputs.push(mix(Tensor::cat(own, 0), weights.clone()));
            gates.push(weights);
        }
        let shared_out = self.shared_gate.as_ref().map(|gate| {
            let weights = gate.forward(shared_input.clone());
            gates.push(weights.clone());
            mix(experts, weights)
        });
        (outputs, shared_out, gates)
    }
}

#[derive(Module, Debug)]
pub struct Ple {
    pub input: InputLayer,
    pub levels: Vec<ExtractionLevel>,
    pub heads: Vec<TaskHead>,
}

impl Ple {
    pub fn new(config: &ModelConfig, spec: &InputSpec, tasks: usize, device: &Device) -> Self {
        let input = InputLayer::new(
            &spec.vocab_sizes,
            config.embedding_dim,
            spec.n_numeric,
            device,
        );
        let mut width = input.output_dim();
        let mut levels = Vec::with_capacity(config.levels);
        for k in 0..config.levels {
            let level = ExtractionLevel::new(config, width, tasks, k + 1 == config.levels, device);
            width = level.experts.output_dim;
            levels.push(level);
        }
        let heads = (0..tasks)
            .map(|_| TaskHead::new(width, &config.tower_units, config.dropout, device))
            .collect();
        Self {
            input,
            levels,
            heads,
        }
    }

    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        let h = self.input.forward(x.categorical.clone(), x.numeric.clone());
        let mut task_inputs = vec![h.clone(); self.heads.len()];
        let mut shared_input = h;
        let mut all_gates = Vec::new();
        for (k, level) in self.levels.iter().enumerate() {
            let (outputs, shared_out, gates) = level.forward(&task_inputs, &shared_input, k == 0);
            all_gates.extend(gates);
            task_inputs = outputs;
            if let Some(shared) = shared_out {
                shared_input = shared;
            }
        }
        let tasks = self
            .heads
            .iter()
            .zip(task_inputs)
            .map(|(head, x)| Prediction::Logit(head.forward(x)))
            .collect();
        ModelOutput {
            tasks,
            gates: all_gates,
            cvr: None,
        }
    }
}
