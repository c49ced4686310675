//! Per-task losses: binary tasks use sigmoid + cross-entropy, regression tasks use MSE.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use crate::data::TaskKind;
use crate::models::Prediction;

/// Keras's clipping epsilon for cross-entropy on probabilities.
pub const PROBABILITY_EPSILON: f64 = 1e-7;

/// Per-row cross-entropy of logits, in the numerically stable form
/// `max(x, 0) - x·y + log(1 + e^-|x|)`. `[batch, 1]` in and out.
fn logit_cross_entropy(x: &Tensor<2>, labels: Tensor<2>) -> Tensor<2> {
    let x = x.clone();
    let softplus = x.clone().abs().neg().exp().log1p();
    relu(x.clone()) - x * labels + softplus
}

/// The mean loss of one task over a batch. `condition` is the first task's labels, which only a
/// [`Prediction::Conditional`] reads.
///
/// Logits use the numerically stable form `max(x, 0) - x·y + log(1 + e^-|x|)`; probabilities
/// (ESMM's CTCVR) are clipped to `[ε, 1 - ε]` first. A conditional prediction's loss is its
/// logit's cross-entropy averaged over the rows whose condition is 1 (zero if none is).
///
/// # Shapes
/// - labels, condition: `[batch, 1]`, output: `[1]`
pub fn task_loss(
    prediction: &Prediction,
    labels: Tensor<2>,
    condition: Tensor<2>,
    kind: TaskKind,
) -> Tensor<1> {
    match (kind, prediction) {
        (TaskKind::Regression, p) => (p.raw() - labels).square().mean(),
        (TaskKind::Binary, Prediction::Logit(x)) => logit_cross_entropy(x, labels).mean(),
        (TaskKind::Binary, Prediction::Conditional { logit, .. }) => {
            let rows = condition.clone().sum().clamp_min(1.0);
            (logit_cross_entropy(logit, labels) * condition).sum() / rows
        }
        (TaskKind::Binary, Prediction::Probability(p)) => {
            let p = p
                .clone()
                .clamp(PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON);
            let positive = labels.clone() * p.clone().log();
            let negative = labels.neg().add_scalar(1.0) * p.neg().add_scalar(1.0).log();
            (positive + negative).mean().neg()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    fn unconditional(p: &Prediction, labels: Tensor<2>, kind: TaskKind) -> Tensor<1> {
        let every_row = labels.ones_like();
        task_loss(p, labels, every_row, kind)
    }

    #[test]
    fn task_loss_conditional_averages_over_the_condition_rows_only() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_floats([[0.0], [2.0], [-3.0]], &device);
        let labels = Tensor::<2>::from_floats([[1.0], [0.0], [1.0]], &device);
        let clicked = Tensor::<2>::from_floats([[1.0], [0.0], [1.0]], &device);
        let conditional = Prediction::Conditional {
            probability: logits.clone(),
            logit: logits.clone(),
        };
        let got = scalar(task_loss(
            &conditional,
            labels,
            clicked.clone(),
            TaskKind::Binary,
        ));
        // Rows 0 and 2: -ln σ(0) and -ln σ(-3), averaged over those two.
        let expected = ((-(0.5f64).ln() + (1.0 + 3.0f64.exp()).ln()) / 2.0) as f32;
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
        // No clicked row in the batch: no loss, and no NaN.
        let none = scalar(task_loss(
            &conditional,
            clicked.clone(),
            clicked.zeros_like(),
            TaskKind::Binary,
        ));
        assert_eq!(none, 0.0);
    }

    #[test]
    fn task_loss_logit_matches_cross_entropy() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_floats([[0.0], [2.0], [-3.0]], &device);
        let labels = Tensor::<2>::from_floats([[1.0], [0.0], [0.0]], &device);
        let expected = [
            -(0.5f64).ln(),
            -(1.0 - 1.0 / (1.0 + (-2.0f64).exp())).ln(),
            -(1.0 - 1.0 / (1.0 + 3.0f64.exp())).ln(),
        ];
        let expected = (expected.iter().sum::<f64>() / 3.0) as f32;
        let got = scalar(unconditional(
            &Prediction::Logit(logits.clone()),
            labels.clone(),
            TaskKind::Binary,
        ));
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
        // The same numbers as probabilities give the same loss.
        let probs = burn::tensor::activation::sigmoid(logits);
        let via_p = scalar(unconditional(
            &Prediction::Probability(probs),
            labels,
            TaskKind::Binary,
        ));
        assert!((via_p - expected).abs() < 1e-5);
    }

    #[test]
    fn task_loss_logit_is_stable_for_large_logits() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_floats([[500.0], [-500.0]], &device);
        let labels = Tensor::<2>::from_floats([[1.0], [0.0]], &device);
        let got = scalar(unconditional(
            &Prediction::Logit(logits),
            labels,
            TaskKind::Binary,
        ));
        assert!(got.is_finite() && got < 1e-6, "{got}");
    }

    #[test]
    fn task_loss_regression_is_mse() {
        let device = Device::flex();
        let y_hat = Tensor::<2>::from_floats([[1.0], [3.0]], &device);
        let y = Tensor::<2>::from_floats([[0.0], [1.0]], &device);
        let got = scalar(unconditional(
            &Prediction::Logit(y_hat),
            y,
            TaskKind::Regression,
        ));
        assert!((got - 2.5).abs() < 1e-6);
    }
}
