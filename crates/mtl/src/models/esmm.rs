//! ESMM (Ma et al., SIGIR 2018): a CTR tower and a CVR tower on shared embeddings, with
//! pCTCVR = pCTR × pCVR. The loss sees only the CTR and CTCVR labels; CVR is learned implicitly
//! over the entire space and still predicted. [`NaiveCvr`] is the baseline ESMM is measured
//! against: the same towers, each on its own embeddings, the CVR tower trained on the clicked
//! impressions only.

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

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

/// The naive CVR model: a CTR tower trained on every impression and a CVR tower trained on the
/// clicked impressions only, as CVR models were trained before ESMM. Nothing is shared, not even
/// the embeddings (the ESMM paper's "DNN" baseline with a CTR model beside it). Its CTCVR
/// (pCTR × pCVR) is reported but never trained on: the CVR tower's loss is its cross-entropy on
/// the rows whose click label is 1 ([`Prediction::Conditional`]).
#[derive(Module, Debug)]
pub struct NaiveCvr {
    pub ctr_input: InputLayer,
    pub cvr_input: InputLayer,
    pub ctr: TaskHead,
    pub cvr: TaskHead,
}

impl NaiveCvr {
    pub fn new(config: &ModelConfig, spec: &InputSpec, device: &Device) -> Self {
        let input = || {
            InputLayer::new(
                &spec.vocab_sizes,
                config.embedding_dim,
                spec.n_numeric,
                device,
            )
        };
        let (ctr_input, cvr_input) = (input(), input());
        let width = ctr_input.output_dim();
        Self {
            ctr: TaskHead::new(width, &config.tower_units, config.dropout, device),
            cvr: TaskHead::new(width, &config.tower_units, config.dropout, device),
            ctr_input,
            cvr_input,
        }
    }

    /// Task 0 is CTR (a logit); task 1 is CTCVR, scored as pCTR × pCVR but trained as CVR on
    /// the clicked rows.
    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        let input = |layer: &InputLayer| layer.forward(x.categorical.clone(), x.numeric.clone());
        let ctr_logit = self.ctr.forward(input(&self.ctr_input));
        let cvr_logit = self.cvr.forward(input(&self.cvr_input));
        let p_cvr = sigmoid(cvr_logit.clone());
        let p_ctcvr = sigmoid(ctr_logit.clone()) * p_cvr.clone();
        let mut out = ModelOutput::without_gates(vec![
            Prediction::Logit(ctr_logit),
            Prediction::Conditional {
                probability: p_ctcvr,
                logit: cvr_logit,
            },
        ]);
        out.cvr = Some(p_cvr);
        out
    }

    pub fn embedding_penalty(&self) -> Option<Tensor<1>> {
        match (self.ctr_input.squared_norm(), self.cvr_input.squared_norm()) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        }
    }
}
