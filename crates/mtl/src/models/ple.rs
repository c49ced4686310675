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
        let (s, h) = (
            config.settings.specific_experts,
            config.settings.shared_experts,
        );
        let total = tasks * s + h;
        let gate = |n| {
            Gate::new(
                d_in,
                &config.settings.gate_units,
                n,
                config.settings.dropout,
                device,
            )
        };
        Self {
            experts: ExpertBank::new(
                total,
                d_in,
                &config.settings.expert_units,
                config.settings.dropout,
                device,
            ),
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
    /// - task_inputs: per task `[R, batch, in]`, shared_input: `[R, batch, in]`
    /// - outputs: `[R, batch, out]` each; gate weights `[R, batch, experts in that gate]`
    fn forward(
        &self,
        task_inputs: &[Tensor<3>],
        shared_input: &Tensor<3>,
        same_input: bool,
    ) -> (Vec<Tensor<3>>, Option<Tensor<3>>, Vec<Tensor<3>>) {
        let tasks = task_inputs.len();
        let (s, h) = (self.specific, self.shared);
        let experts = if same_input {
            self.experts.forward_shared(shared_input.clone())
        } else {
            let [replicas, batch, d_in] = shared_input.dims();
            let block = |x: &Tensor<3>, n: usize| {
                x.clone()
                    .unsqueeze_dim::<4>(1)
                    .expand([replicas, n, batch, d_in])
            };
            let mut blocks: Vec<Tensor<4>> = Vec::with_capacity(tasks + 1);
            for x in task_inputs.iter().filter(|_| s > 0) {
                blocks.push(block(x, s));
            }
            if h > 0 {
                blocks.push(block(shared_input, h));
            }
            self.experts.forward(Tensor::cat(blocks, 1))
        }; // [R, tasks * s + h, batch, out]

        let mut outputs = Vec::with_capacity(tasks);
        let mut gates = Vec::with_capacity(tasks + 1);
        for (t, (gate, x)) in self.task_gates.iter().zip(task_inputs).enumerate() {
            let mut own = Vec::with_capacity(2);
            if s > 0 {
                own.push(experts.clone().narrow(1, t * s, s));
            }
            if h > 0 {
                own.push(experts.clone().narrow(1, tasks * s, h));
            }
            let weights = gate.forward(x.clone());
            outputs.push(mix(Tensor::cat(own, 1), weights.clone()));
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
            config.settings.embedding_dim,
            spec.n_numeric,
            device,
        );
        let mut width = input.output_dim();
        let mut levels = Vec::with_capacity(config.settings.levels);
        for k in 0..config.settings.levels {
            let level = ExtractionLevel::new(
                config,
                width,
                tasks,
                k + 1 == config.settings.levels,
                device,
            );
            width = level.experts.output_dim;
            levels.push(level);
        }
        let heads = (0..tasks)
            .map(|_| {
                TaskHead::new(
                    width,
                    &config.settings.tower_units,
                    config.settings.dropout,
                    device,
                )
            })
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
