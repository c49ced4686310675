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

/// How well categorical input `column` alone ranks task `task`'s labels: each category's
/// positive rate in `fit` (the training split) is the score, and its AUC is taken on `on`.
/// A field that scores near a whole model is a proxy for the label. Categories unseen in `fit`
/// score 0; `None` where `on` lacks a class.
pub fn field_alone_auc(
    fit: &crate::data::Split,
    on: &crate::data::Split,
    column: usize,
    task: usize,
) -> Option<f64> {
    let value = |s: &crate::data::Split, r: usize| s.categorical[r * s.n_categorical + column];
    let label = |s: &crate::data::Split, r: usize| s.labels[r * s.n_tasks + task];
    let mut rate = std::collections::HashMap::<u32, (f64, f64)>::new();
    for r in 0..fit.len {
        let e = rate.entry(value(fit, r)).or_default();
        *e = (e.0 + label(fit, r) as f64, e.1 + 1.0);
    }
    let scores: Vec<f32> = (0..on.len)
        .map(|r| rate.get(&value(on, r)).map_or(0.0, |(p, n)| (p / n) as f32))
        .collect();
    let labels: Vec<f32> = (0..on.len).map(|r| label(on, r)).collect();
    auc(&scores, &labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_alone_auc_scores_a_field_by_its_categories_rates() {
        // Category 0 is always positive, 1 never, 2 half the time.
        let split = |cats: &[u32], labels: &[f32]| crate::data::Split {
            len: cats.len(),
            categorical: cats.to_vec(),
            n_categorical: 1,
            numeric: Vec::new(),
            n_numeric: 0,
            labels: labels.to_vec(),
            n_tasks: 1,
        };
        let fit = split(&[0, 0, 1, 1, 2, 2], &[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
        let perfect = split(&[0, 1, 0, 1], &[1.0, 0.0, 1.0, 0.0]);
        assert_eq!(field_alone_auc(&fit, &perfect, 0, 0), Some(1.0));
        let blind = split(&[2, 2, 2, 2], &[1.0, 0.0, 1.0, 0.0]);
        assert_eq!(field_alone_auc(&fit, &blind, 0, 0), Some(0.5));
        assert_eq!(field_alone_auc(&fit, &split(&[0], &[1.0]), 0, 0), None);
    }

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
