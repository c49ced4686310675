//! Per-task losses: binary tasks use sigmoid + cross-entropy, regression tasks use MSE.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use crate::data::TaskKind;
use crate::models::Prediction;

/// Keras's clipping epsilon for cross-entropy on probabilities.
pub const PROBABILITY_EPSILON: f64 = 1e-7;

/// The mean loss of one task over a batch.
///
/// Logits use the numerically stable form `max(x, 0) - x·y + log(1 + e^-|x|)`; probabilities
/// (ESMM's CTCVR) are clipped to `[ε, 1 - ε]` first.
///
/// # Shapes
/// - labels: `[batch, 1]`, output: `[1]`
pub fn task_loss(prediction: &Prediction, labels: Tensor<2>, kind: TaskKind) -> Tensor<1> {
    match (kind, prediction) {
        (TaskKind::Regression, p) => (p.raw() - labels).square().mean(),
        (TaskKind::Binary, Prediction::Logit(x)) => {
            let x = x.clone();
            let softplus = x.clone().abs().neg().exp().log1p();
            (relu(x.clone()) - x * labels + softplus).mean()
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
        let got = scalar(task_loss(
            &Prediction::Logit(logits.clone()),
            labels.clone(),
            TaskKind::Binary,
        ));
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
        // The same numbers as probabilities give the same loss.
        let probs = burn::tensor::activation::sigmoid(logits);
        let via_p = scalar(task_loss(
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
        let got = scalar(task_loss(
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
        let got = scalar(task_loss(
            &Prediction::Logit(y_hat),
            y,
            TaskKind::Regression,
        ));
        assert!((got - 2.5).abs() < 1e-6);
    }
}
