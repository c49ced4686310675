//! SingleTask (one separate network per task, the baseline) and Shared-Bottom (Caruana 1997).

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::layers::{Dnn, InputLayer, TaskHead};
use super::{ModelConfig, ModelInput, ModelOutput, Prediction};
use crate::data::InputSpec;

/// One network per task, sharing nothing, not even the embeddings.
#[derive(Module, Debug)]
pub struct SingleTask {
    pub inputs: Vec<InputLayer>,
    pub bottoms: Vec<Dnn>,
    pub heads: Vec<TaskHead>,
}

impl SingleTask {
    pub fn new(config: &ModelConfig, spec: &InputSpec, tasks: usize, device: &Device) -> Self {
        let mut inputs = Vec::with_capacity(tasks);
        let mut bottoms = Vec::with_capacity(tasks);
        let mut heads = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            let input = InputLayer::new(
                &spec.vocab_sizes,
                config.settings.embedding_dim,
                spec.n_numeric,
                device,
            );
            let bottom = Dnn::new(
                input.output_dim(),
                &config.settings.bottom_units,
                config.settings.dropout,
                device,
            );
            heads.push(TaskHead::new(
                bottom.output_dim,
                &config.settings.tower_units,
                config.settings.dropout,
                device,
            ));
            inputs.push(input);
            bottoms.push(bottom);
        }
        Self {
            inputs,
            bottoms,
            heads,
        }
    }

    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        let tasks = self
            .inputs
            .iter()
            .zip(&self.bottoms)
            .zip(&self.heads)
            .map(|((input, bottom), head)| {
                let h = input.forward(x.categorical.clone(), x.numeric.clone());
                Prediction::Logit(head.forward(bottom.forward(h)))
            })
            .collect();
        ModelOutput::without_gates(tasks)
    }

    pub fn embedding_penalty(&self) -> Option<Tensor<1>> {
        self.inputs
            .iter()
            .filter_map(InputLayer::squared_norm)
            .reduce(|a, b| a + b)
    }
}

/// One shared DNN, then a tower per task.
#[derive(Module, Debug)]
pub struct SharedBottom {
    pub input: InputLayer,
    pub bottom: Dnn,
    pub heads: Vec<TaskHead>,
}

impl SharedBottom {
    pub fn new(config: &ModelConfig, spec: &InputSpec, tasks: usize, device: &Device) -> Self {
        let input = InputLayer::new(
            &spec.vocab_sizes,
            config.settings.embedding_dim,
            spec.n_numeric,
            device,
        );
        let bottom = Dnn::new(
            input.output_dim(),
            &config.settings.bottom_units,
            config.settings.dropout,
            device,
        );
        let heads = (0..tasks)
            .map(|_| {
                TaskHead::new(
                    bottom.output_dim,
                    &config.settings.tower_units,
                    config.settings.dropout,
                    device,
                )
            })
            .collect();
        Self {
            input,
            bottom,
            heads,
        }
    }

    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        let shared = self
            .bottom
            .forward(self.input.forward(x.categorical.clone(), x.numeric.clone()));
        let tasks = self
            .heads
            .iter()
            .map(|head| Prediction::Logit(head.forward(shared.clone())))
            .collect();
        ModelOutput::without_gates(tasks)
    }
}
