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
            config.settings.embedding_dim,
            spec.n_numeric,
            device,
        )
    };
    let shared = input();
    let width = shared.output_dim();
    let tower = || {
        TaskHead::new(
            width,
            &config.settings.tower_units,
            config.settings.dropout,
            device,
        )
    };
    (
        shared,
        (!config.settings.shared_embedding).then(input),
        tower(),
        tower(),
    )
}

/// How a funnel model trains its CVR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvrLoss {
    /// ESMM: only through pCTCVR = pCTR × pCVR, over every impression.
    Product,
    /// The naive model: on the clicked impressions.
    Clicked,
    /// The IPW model: on the clicked impressions, each weighted by 1 / pCTR.
    Weighted,
}

impl CvrLoss {
    fn of(kind: ModelKind) -> Self {
        match kind {
            ModelKind::NaiveCvr => CvrLoss::Clicked,
            ModelKind::IpwCvr => CvrLoss::Weighted,
            _ => CvrLoss::Product,
        }
    }
}

/// Task 0 is CTR (a logit); task 1 is CTCVR = pCTR × pCVR, trained as the product (ESMM) or
/// scored as the product but trained as CVR on the clicked rows (the naive and IPW models).
fn funnel_output(ctr_logit: Tensor<3>, cvr_logit: Tensor<3>, loss: CvrLoss) -> ModelOutput {
    let p_cvr = sigmoid(cvr_logit.clone());
    let p_ctr = sigmoid(ctr_logit.clone());
    let p_ctcvr = p_ctr.clone() * p_cvr.clone();
    let ctcvr = match loss {
        CvrLoss::Product => Prediction::Probability(p_ctcvr),
        CvrLoss::Clicked => Prediction::Conditional {
            probability: p_ctcvr,
            logit: cvr_logit,
            propensity: None,
        },
        CvrLoss::Weighted => Prediction::Conditional {
            probability: p_ctcvr,
            logit: cvr_logit,
            propensity: Some(p_ctr),
        },
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
) -> (Tensor<3>, Tensor<3>) {
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

/// ESMM, the naive CVR model or the IPW CVR model ([`CvrLoss`]): the same towers and inputs,
/// apart only in how the CVR is trained.
///
/// The naive CVR model trains a CTR tower on every impression and a CVR tower on the clicked
/// impressions only, as CVR models were trained before ESMM (the ESMM paper's "DNN" baseline
/// with a CTR model beside it; by default they share nothing, not even the embeddings). Its
/// CTCVR (pCTR × pCVR) is reported but never trained on: the CVR tower's loss is its
/// cross-entropy on the rows whose click label is 1 ([`Prediction::Conditional`]). The IPW
/// model weights each of those rows by 1 / pCTR (its own CTR tower's, clipped, not trained
/// through the weight): an inverse-propensity estimate of the loss over every impression.
#[derive(Module, Debug)]
pub struct Esmm {
    /// The CTR tower's input, and the CVR tower's too when they share (ESMM's design).
    pub input: InputLayer,
    /// The CVR tower's own input, when they do not (ESMM-NS; the naive model's default).
    pub cvr_input: Option<InputLayer>,
    pub ctr: TaskHead,
    pub cvr: TaskHead,
    /// How the CVR is trained: ESMM's product, or on the clicked rows (weighted or not).
    #[module(skip)]
    pub cvr_loss: CvrLoss,
}

impl Esmm {
    pub fn new(config: &ModelConfig, spec: &InputSpec, device: &Device) -> Self {
        let (input, cvr_input, ctr, cvr) = parts(config, spec, device);
        Self {
            input,
            cvr_input,
            ctr,
            cvr,
            cvr_loss: CvrLoss::of(config.kind),
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
        funnel_output(ctr_logit, cvr_logit, self.cvr_loss)
    }

    pub fn embedding_penalty(&self) -> Option<Tensor<1>> {
        penalty(&self.input, self.cvr_input.as_ref())
    }
}
