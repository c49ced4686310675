//! Per-task losses: binary tasks use sigmoid + cross-entropy, regression tasks use MSE.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use crate::data::TaskKind;
use crate::models::Prediction;

/// Keras's clipping epsilon for cross-entropy on probabilities.
pub const PROBABILITY_EPSILON: f64 = 1e-7;

/// The smallest click probability an inverse-propensity weight divides by: at most a 20-fold
/// weight, so one clicked row of a rarely clicked impression cannot swamp a batch.
pub const MIN_PROPENSITY: f64 = 0.05;

/// Per-row cross-entropy of logits, in the numerically stable form
/// `max(x, 0) - x·y + log(1 + e^-|x|)`. `[R, batch, 1]` in and out.
fn logit_cross_entropy(x: &Tensor<3>, labels: Tensor<3>) -> Tensor<3> {
    let x = x.clone();
    let softplus = x.clone().abs().neg().exp().log1p();
    relu(x.clone()) - x * labels + softplus
}

/// Each replica's mean over its rows: `[R, batch, 1]` to `[R]`.
fn replica_mean(per_row: Tensor<3>) -> Tensor<1> {
    let replicas = per_row.dims()[0];
    per_row.mean_dim(1).reshape([replicas])
}

/// The mean loss of one task over each replica's batch. `condition` is the first task's
/// labels, which only a [`Prediction::Conditional`] reads.
///
/// Logits use the numerically stable form `max(x, 0) - x·y + log(1 + e^-|x|)`; probabilities
/// (ESMM's CTCVR) are clipped to `[ε, 1 - ε]` first. A conditional prediction's loss is its
/// logit's cross-entropy averaged over the rows whose condition is 1 (zero if none is); with a
/// propensity, each of those rows weighs 1 / propensity (clipped at [`MIN_PROPENSITY`], not
/// trained through) and the sum is averaged over every row.
///
/// # Shapes
/// - labels, condition: `[R, batch, 1]`, output: `[R]`
pub fn task_loss(
    prediction: &Prediction,
    labels: Tensor<3>,
    condition: Tensor<3>,
    kind: TaskKind,
) -> Tensor<1> {
    match (kind, prediction) {
        (TaskKind::Regression, p) => replica_mean((p.raw() - labels).square()),
        (TaskKind::Binary, Prediction::Logit(x)) => replica_mean(logit_cross_entropy(x, labels)),
        (
            TaskKind::Binary,
            Prediction::Conditional {
                logit,
                propensity: None,
                ..
            },
        ) => {
            let replicas = logit.dims()[0];
            let rows = condition.clone().sum_dim(1).clamp_min(1.0);
            ((logit_cross_entropy(logit, labels) * condition).sum_dim(1) / rows).reshape([replicas])
        }
        (
            TaskKind::Binary,
            Prediction::Conditional {
                logit,
                propensity: Some(p),
                ..
            },
        ) => {
            // The inverse-propensity estimate of the mean loss over every row: each clicked
            // row's loss over its (clipped, fixed) click probability, averaged over all rows.
            let weights = condition / p.clone().detach().clamp(MIN_PROPENSITY, 1.0);
            replica_mean(logit_cross_entropy(logit, labels) * weights)
        }
        (TaskKind::Binary, Prediction::Probability(p)) => {
            let p = p
                .clone()
                .clamp(PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON);
            let positive = labels.clone() * p.clone().log();
            let negative = labels.neg().add_scalar(1.0) * p.neg().add_scalar(1.0).log();
            replica_mean(positive + negative).neg()
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

    /// A column of values as one replica's `[1, rows, 1]`.
    fn column<const N: usize>(values: [f32; N], device: &Device) -> Tensor<3> {
        Tensor::<1>::from_floats(values, device).reshape([1, N, 1])
    }

    fn unconditional(p: &Prediction, labels: Tensor<3>, kind: TaskKind) -> Tensor<1> {
        let every_row = labels.ones_like();
        task_loss(p, labels, every_row, kind)
    }

    #[test]
    fn task_loss_conditional_averages_over_the_condition_rows_only() {
        let device = Device::flex();
        let logits = column([0.0, 2.0, -3.0], &device);
        let labels = column([1.0, 0.0, 1.0], &device);
        let clicked = column([1.0, 0.0, 1.0], &device);
        let conditional = Prediction::Conditional {
            probability: logits.clone(),
            logit: logits.clone(),
            propensity: None,
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
    fn task_loss_weighted_by_inverse_propensity() {
        let device = Device::flex();
        let logits = column([0.0, 2.0, -3.0, 1.0], &device);
        let labels = column([1.0, 0.0, 1.0, 0.0], &device);
        let clicked = column([1.0, 0.0, 1.0, 0.0], &device);
        // Row 0 was clicked with probability 0.5, row 2 with 0.01 (clipped to 0.05).
        let propensity = column([0.5, 0.9, 0.01, 0.3], &device);
        let weighted = Prediction::Conditional {
            probability: logits.clone(),
            logit: logits,
            propensity: Some(propensity),
        };
        let got = scalar(task_loss(&weighted, labels, clicked, TaskKind::Binary));
        let (l0, l2) = (-(0.5f64).ln(), (1.0 + 3.0f64.exp()).ln());
        let expected = ((l0 / 0.5 + l2 / MIN_PROPENSITY) / 4.0) as f32;
        assert!((got - expected).abs() < 1e-4, "{got} vs {expected}");
    }

    #[test]
    fn task_loss_logit_matches_cross_entropy() {
        let device = Device::flex();
        let logits = column([0.0, 2.0, -3.0], &device);
        let labels = column([1.0, 0.0, 0.0], &device);
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
        let logits = column([500.0, -500.0], &device);
        let labels = column([1.0, 0.0], &device);
        let got = scalar(unconditional(
            &Prediction::Logit(logits),
            labels,
            TaskKind::Binary,
        ));
        assert!(got.is_finite() && got < 1e-6, "{got}");
    }

    #[test]
    fn task_loss_is_each_replicas_own_mean() {
        let device = Device::flex();
        // Replica 0's errors are 1 and 3 (MSE 5); replica 1's are 0 and 2 (MSE 2).
        let y_hat = Tensor::<1>::from_floats([1.0, 3.0, 0.0, 2.0], &device).reshape([2, 2, 1]);
        let zeros = y_hat.zeros_like();
        let mse: Vec<f32> = unconditional(&Prediction::Logit(y_hat), zeros, TaskKind::Regression)
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(mse, vec![5.0, 2.0]);
        // Conditional: replica 0 has no clicked row (no loss), replica 1 one (its row's loss).
        let logits = Tensor::<1>::from_floats([0.0, 0.0, 0.0, 0.0], &device).reshape([2, 2, 1]);
        let clicked = Tensor::<1>::from_floats([0.0, 0.0, 1.0, 0.0], &device).reshape([2, 2, 1]);
        let conditional = Prediction::Conditional {
            probability: logits.clone(),
            logit: logits,
            propensity: None,
        };
        let got: Vec<f32> = task_loss(&conditional, clicked.clone(), clicked, TaskKind::Binary)
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(got[0], 0.0);
        assert!((got[1] - std::f32::consts::LN_2).abs() < 1e-6, "{got:?}");
    }

    #[test]
    fn task_loss_regression_is_mse() {
        let device = Device::flex();
        let y_hat = column([1.0, 3.0], &device);
        let y = column([0.0, 1.0], &device);
        let got = scalar(unconditional(
            &Prediction::Logit(y_hat),
            y,
            TaskKind::Regression,
        ));
        assert!((got - 2.5).abs() < 1e-6);
    }
}
