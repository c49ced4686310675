//! Host-side metrics over a whole split: ROC AUC (with ties) and log loss.

/// Area under the ROC curve via the Mann-Whitney statistic; tied scores share their mean rank.
/// Returns `None` when one class is absent, where AUC is undefined.
pub fn auc(scores: &[f32], labels: &[f32]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len(), "one label per score");
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels.iter().filter(|&&y| y > 0.5).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] > 0.5 {
                rank_sum += mean_rank;
            }
        }
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Mean binary cross-entropy of probabilities, clipped as Keras does.
pub fn logloss(probabilities: &[f32], labels: &[f32]) -> f64 {
    let eps = super::loss::PROBABILITY_EPSILON;
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = (p as f64).clamp(eps, 1.0 - eps);
            -(y as f64 * p.ln() + (1.0 - y as f64) * (1.0 - p).ln())
        })
        .sum();
    total / probabilities.len().max(1) as f64
}

/// Mean squared error, for regression tasks.
pub fn mse(values: &[f32], targets: &[f32]) -> f64 {
    let total: f64 = values
        .iter()
        .zip(targets)
        .map(|(&v, &y)| (v as f64 - y as f64).powi(2))
        .sum();
    total / values.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_perfect_random_and_inverted() {
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[0.0, 0.0, 1.0, 1.0]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[0.0, 0.0, 1.0, 1.0]), Some(0.0));
        assert_eq!(auc(&[0.5, 0.5, 0.5, 0.5], &[0.0, 1.0, 0.0, 1.0]), Some(0.5));
    }

    #[test]
    fn auc_counts_ties_as_half() {
        // Pairs (pos, neg): (0.4 vs 0.4) tie = 0.5, (0.4 vs 0.1) = 1, (0.9 vs both) = 2 → 3.5 / 4.
        let got = auc(&[0.1, 0.4, 0.4, 0.9], &[0.0, 0.0, 1.0, 1.0]).unwrap();
        assert!((got - 0.875).abs() < 1e-12);
    }

    #[test]
    fn auc_undefined_for_one_class() {
        assert_eq!(auc(&[0.1, 0.2], &[1.0, 1.0]), None);
    }

    #[test]
    fn logloss_matches_hand_computation() {
        let got = logloss(&[0.5, 0.9], &[1.0, 0.0]);
        let expected = (-(0.5f64).ln() - (0.1f64).ln()) / 2.0;
        assert!((got - expected).abs() < 1e-6);
        assert!(logloss(&[0.0], &[1.0]).is_finite());
    }
}
