//! ESMM (Ma et al., SIGIR 2018): a CTR tower and a CVR tower on shared embeddings, with
//! pCTCVR = pCTR × pCVR. The loss sees only the CTR and CTCVR labels; CVR is learned implicitly
//! over the entire space and still predicted.

use burn::module::Module;
use burn::tensor::Device;
use burn::tensor::activation::sigmoid;

use super::layers::{InputLayer, TaskHead};
use super::{ModelConfig, ModelInput, ModelOutput, Prediction};
use crate::data::InputSpec;

#[derive(Module, Debug)]
pub struct Esmm {
    pub input: InputLayer,
    pub ctr: TaskHead,
    pub cvr: TaskHead,
}

impl Esmm {
    pub fn new(config: &ModelConfig, spec: &InputSpec, device: &Device) -> Self {
        let input = InputLayer::new(
            &spec.vocab_sizes,
            config.embedding_dim,
            spec.n_numeric,
            device,
        );
        let width = input.output_dim();
        Self {
            ctr: TaskHead::new(width, &config.tower_units, config.dropout, device),
            cvr: TaskHead::new(width, &config.tower_units, config.dropout, device),
            input,
        }
    }

    /// Task 0 is CTR (a logit); task 1 is CTCVR, a probability that is the product of two.
    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        let h = self.input.forward(x.categorical.clone(), x.numeric.clone());
        let ctr_logit = self.ctr.forward(h.clone());
        let p_cvr = sigmoid(self.cvr.forward(h));
        let p_ctcvr = sigmoid(ctr_logit.clone()) * p_cvr.clone();
        let mut out = ModelOutput::without_gates(vec![
            Prediction::Logit(ctr_logit),
            Prediction::Probability(p_ctcvr),
        ]);
        out.cvr = Some(p_cvr);
        out
    }
}
