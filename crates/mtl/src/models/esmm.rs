//! ESMM (Ma et al., SIGIR 2018): a CTR tower and a CVR tower on shared embeddings, with
//! pCTCVR = pCTR × pCVR. The loss sees only the CTR and CTCVR labels; CVR is learned implicitly
//! over the entire space and still predicted. The naive CVR model is the baseline ESMM is
//! measured against: the same towers, the CVR tower trained on the clicked impressions only. Either
//! model's towers share one embedding table or have one each (`shared_embedding`): ESMM without
//! sharing is the paper's ESMM-NS, and the naive baseline shares nothing by default.

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::layers::{InputLayer, TaskHead};
use super::{ModelConfig, ModelInput, ModelKind, ModelOutput, Prediction};
use crate::data::InputSpec;

/// Both models' parts: the CTR tower's input layer (the CVR tower's too when they share one),
/// the CVR tower's own when they do not, and the two towers.
fn parts(
    config: &ModelConfig,
    spec: &InputSpec,
    device: &Device,
) -> (InputLayer, Option<InputLayer>, TaskHead, TaskHead) {
    let input = || {
        InputLayer::new(
            &spec.vocab_sizes,
            config.embedding_dim,
            spec.n_numeric,
            device,
        )
    };
    let shared = input();
    let width = shared.output_dim();
    let tower = || TaskHead::new(width, &config.tower_units, config.dropout, device);
    (
        shared,
        (!config.shared_embedding).then(input),
        tower(),
        tower(),
    )
}

/// Task 0 is CTR (a logit); task 1 is CTCVR = pCTR × pCVR, trained as the product (ESMM) or,
/// `on_clicks`, scored as the product but trained as CVR on the clicked rows (the naive model).
fn funnel_output(ctr_logit: Tensor<2>, cvr_logit: Tensor<2>, on_clicks: bool) -> ModelOutput {
    let p_cvr = sigmoid(cvr_logit.clone());
    let p_ctcvr = sigmoid(ctr_logit.clone()) * p_cvr.clone();
    let ctcvr = if on_clicks {
        Prediction::Conditional {
            probability: p_ctcvr,
            logit: cvr_logit,
        }
    } else {
        Prediction::Probability(p_ctcvr)
    };
    let mut out = ModelOutput::without_gates(vec![Prediction::Logit(ctr_logit), ctcvr]);
    out.cvr = Some(p_cvr);
    out
}

/// The CTR and the CVR logits: each tower reads its input (the CVR tower the shared one, unless
/// it has its own).
fn tower_logits(
    x: &ModelInput,
    input: &InputLayer,
    cvr_input: Option<&InputLayer>,
    ctr: &TaskHead,
    cvr: &TaskHead,
) -> (Tensor<2>, Tensor<2>) {
    let read = |layer: &InputLayer| layer.forward(x.categorical.clone(), x.numeric.clone());
    let h = read(input);
    let cvr_h = cvr_input.map_or_else(|| h.clone(), read);
    (ctr.forward(h), cvr.forward(cvr_h))
}

fn penalty(input: &InputLayer, cvr_input: Option<&InputLayer>) -> Option<Tensor<1>> {
    match (
        input.squared_norm(),
        cvr_input.and_then(InputLayer::squared_norm),
    ) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

/// ESMM, or (`cvr_on_clicks`) the naive CVR model: the same towers and inputs, apart only in how
/// CTCVR is trained.
///
/// The naive CVR model trains a CTR tower on every impression and a CVR tower on the clicked
/// impressions only, as CVR models were trained before ESMM (the ESMM paper's "DNN" baseline
/// with a CTR model beside it; by default they share nothing, not even the embeddings). Its
/// CTCVR (pCTR × pCVR) is reported but never trained on: the CVR tower's loss is its
/// cross-entropy on the rows whose click label is 1 ([`Prediction::Conditional`]).
#[derive(Module, Debug)]
pub struct Esmm {
    /// The CTR tower's input, and the CVR tower's too when they share (ESMM's design).
    pub input: InputLayer,
    /// The CVR tower's own input, when they do not (ESMM-NS; the naive model's default).
    pub cvr_input: Option<InputLayer>,
    pub ctr: TaskHead,
    pub cvr: TaskHead,
    /// The naive CVR model: CVR trained on the clicked rows, CTCVR only scored.
    #[module(skip)]
    pub cvr_on_clicks: bool,
}

impl Esmm {
    pub fn new(config: &ModelConfig, spec: &InputSpec, device: &Device) -> Self {
        let (input, cvr_input, ctr, cvr) = parts(config, spec, device);
        Self {
            input,
            cvr_input,
            ctr,
            cvr,
            cvr_on_clicks: config.kind == ModelKind::NaiveCvr,
        }
    }

    /// Task 0 is CTR (a logit); task 1 is CTCVR, the product of two probabilities (for the
    /// naive model scored as that but trained as CVR on the clicked rows).
    pub fn forward(&self, x: &ModelInput) -> ModelOutput {
        let (ctr_logit, cvr_logit) = tower_logits(
            x,
            &self.input,
            self.cvr_input.as_ref(),
            &self.ctr,
            &self.cvr,
        );
        funnel_output(ctr_logit, cvr_logit, self.cvr_on_clicks)
    }

    pub fn embedding_penalty(&self) -> Option<Tensor<1>> {
        penalty(&self.input, self.cvr_input.as_ref())
    }
}
