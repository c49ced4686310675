//! Synthetic data whose task relationship is a knob, so that what each model buys can be seen.
//!
//! [`correlated`] is the MMoE paper's generator (Ma et al., KDD 2018, section 3.2): two
//! regression tasks whose weight vectors have cosine `p`, numeric fields only. [`funnel`] is an
//! impression → click → conversion funnel (ESMM, Ma et al., SIGIR 2018) that keeps what real
//! logs cannot: every impression's counterfactual conversion and true pCVR. Both are seeded,
//! take no files, and produce the trainer's in-memory form ([`Dataset`]).

use mtl_vocab::DataKind;

use super::rng::SplitMix64;
use super::{InputSpec, Split, TaskSpec};

/// A data set in the trainer's form: its inputs, its tasks and three splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub input: InputSpec,
    pub tasks: Vec<TaskSpec>,
    /// The input fields' names, categorical first.
    pub fields: Vec<String>,
    pub train: Split,
    pub valid: Split,
    pub test: Split,
    /// What only a synthetic funnel knows: every impression's counterfactual conversion and
    /// true pCVR, so CVR can be scored over all impressions. `None` for other data.
    pub cvr_truth: Option<FunnelTruth>,
}

/// The correlated-tasks generator's knobs. The defaults are the setting in which the paper's
/// trend showed in our numpy check (issue 12): d = 16, c = 2, m = 4, noise std 0.01.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelatedConfig {
    /// The cosine of the two tasks' weight vectors, in [-1, 1].
    pub p: f64,
    /// The weight vectors' norm.
    pub c: f64,
    /// Sine terms per label.
    pub m: usize,
    /// The label noise's standard deviation.
    pub noise: f64,
    /// Input dimensions.
    pub d: usize,
    pub train_rows: usize,
    pub valid_rows: usize,
    pub test_rows: usize,
    pub seed: u64,
}

impl Default for CorrelatedConfig {
    fn default() -> Self {
        Self {
            p: 1.0,
            c: mtl_vocab::data::CORRELATED_C,
            m: 4,
            noise: mtl_vocab::data::CORRELATED_NOISE,
            d: 16,
            train_rows: 8_000,
            valid_rows: 1_000,
            test_rows: 5_000,
            seed: 1,
        }
    }
}

/// What [`correlated`] drew besides the rows, for tests and for the page to show.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelatedTruth {
    /// The two tasks' weight vectors.
    pub w: [Vec<f64>; 2],
    /// The Pearson correlation of the two labels on the training split: what `p` achieved,
    /// which is lower than `p` because of the sines and the noise.
    pub label_correlation: f64,
}

/// Standard normal draws (Box–Muller), from the project's seeded generator.
struct Normal {
    rng: SplitMix64,
    spare: Option<f64>,
}

impl Normal {
    fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            spare: None,
        }
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn next(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let (u, v) = (self.uniform(), self.uniform());
        let r = (-2.0 * u.ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * v;
        self.spare = Some(r * angle.sin());
        r * angle.cos()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Two orthonormal vectors of length `d`: Gram–Schmidt (the Q of a QR) on two Gaussian vectors.
fn orthonormal_pair(normal: &mut Normal, d: usize) -> (Vec<f64>, Vec<f64>) {
    let unit = |v: Vec<f64>| {
        let n = dot(&v, &v).sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f64>>()
    };
    let u1 = unit((0..d).map(|_| normal.next()).collect());
    let raw: Vec<f64> = (0..d).map(|_| normal.next()).collect();
    let along = dot(&raw, &u1);
    let u2 = unit(raw.iter().zip(&u1).map(|(r, u)| r - along * u).collect());
    (u1, u2)
}

/// Pearson correlation.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// The MMoE paper's two regression tasks: x ~ N(0, I_d); u1, u2 orthonormal; w1 = c·u1,
/// w2 = c·(p·u1 + sqrt(1 − p²)·u2); y_i = w_iᵀx + Σ_j sin(α_j·w_iᵀx + β_j) + ε with α_j = j,
/// β_j = j − 1 (j = 1..m) and ε ~ N(0, noise²). Labels are standardised with the training
/// split's mean and deviation. Fails only on knobs outside their range.
pub fn correlated(config: &CorrelatedConfig) -> Result<(Dataset, CorrelatedTruth), String> {
    let c = config;
    if !(-1.0..=1.0).contains(&c.p) {
        return Err(format!("p must be in [-1, 1], got {}", c.p));
    }
    if c.d < 2 || c.train_rows < 2 || c.valid_rows == 0 || c.test_rows == 0 {
        return Err("d and train rows must be at least 2, the other splits at least 1".into());
    }
    if !(c.c.is_finite() && c.noise.is_finite() && c.noise >= 0.0) {
        return Err("c and noise must be finite, noise at least 0".into());
    }
    let mut normal = Normal::new(c.seed ^ 0x5EED_C0DE_0000_0001);
    let (u1, u2) = orthonormal_pair(&mut normal, c.d);
    let q = (1.0 - c.p * c.p).max(0.0).sqrt();
    let w1: Vec<f64> = u1.iter().map(|u| c.c * u).collect();
    let w2: Vec<f64> = u1
        .iter()
        .zip(&u2)
        .map(|(a, b)| c.c * (c.p * a + q * b))
        .collect();
    let rows = c.train_rows + c.valid_rows + c.test_rows;
    let mut x = Vec::with_capacity(rows * c.d);
    let mut y = [Vec::with_capacity(rows), Vec::with_capacity(rows)];
    for _ in 0..rows {
        let row: Vec<f64> = (0..c.d).map(|_| normal.next()).collect();
        for (t, w) in [&w1, &w2].into_iter().enumerate() {
            let z = dot(w, &row);
            let sines: f64 = (1..=c.m)
                .map(|j| (j as f64 * z + (j - 1) as f64).sin())
                .sum();
            y[t].push(z + sines + c.noise * normal.next());
        }
        x.extend(row.into_iter().map(|v| v as f32));
    }
    let label_correlation = correlation(&y[0][..c.train_rows], &y[1][..c.train_rows]);
    // Standardise each task with the training split's statistics.
    for labels in &mut y {
        let train = &labels[..c.train_rows];
        let mean = train.iter().sum::<f64>() / train.len() as f64;
        let sd = (train.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / train.len() as f64)
            .sqrt()
            .max(1e-12);
        for v in labels.iter_mut() {
            *v = (*v - mean) / sd;
        }
    }
    let split = |from: usize, to: usize| Split {
        len: to - from,
        categorical: Vec::new(),
        n_categorical: 0,
        numeric: x[from * c.d..to * c.d].to_vec(),
        n_numeric: c.d,
        labels: (from..to)
            .flat_map(|r| [y[0][r] as f32, y[1][r] as f32])
            .collect(),
        n_tasks: 2,
    };
    let (a, b) = (c.train_rows, c.train_rows + c.valid_rows);
    let dataset = Dataset {
        input: InputSpec {
            vocab_sizes: Vec::new(),
            n_numeric: c.d,
        },
        tasks: DataKind::Correlated
            .task_names()
            .map(|name| TaskSpec {
                name: name.into(),
                kind: DataKind::Correlated.task_kind(),
            })
            .to_vec(),
        fields: (1..=c.d).map(|i| format!("x{i}")).collect(),
        train: split(0, a),
        valid: split(a, b),
        test: split(b, rows),
        cvr_truth: None,
    };
    Ok((
        dataset,
        CorrelatedTruth {
            w: [w1, w2],
            label_correlation,
        },
    ))
}

/// The funnel generator's knobs: impressions of items in a context, clicks, and conversions
/// after a click (the setting of ESMM, Ma et al., SIGIR 2018, made small).
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelConfig {
    /// Distinct items; the item id is the one categorical input.
    pub items: usize,
    /// Numeric context features per impression.
    pub context: usize,
    /// The click rate the generator aims at (over all impressions).
    pub ctr: f64,
    /// The conversion rate among clicks it aims at.
    pub cvr: f64,
    /// The weight of a hidden factor of each impression (u ~ N(0, 1), a mood, an intent the
    /// logs do not record) that adds `confound · u` to both the click and the conversion
    /// logits. 0, the default, leaves it out: conversion then depends only on what the models
    /// see. Above 0 the clicked impressions convert more than their item and context say, and
    /// a model trained on them alone overestimates the conversion rate of the rest: ESMM's
    /// sample selection bias.
    pub confound: f64,
    pub train_rows: usize,
    pub valid_rows: usize,
    pub test_rows: usize,
    pub seed: u64,
}

impl Default for FunnelConfig {
    /// 400 items, 20,000 impressions, about 15% clicks and 30% conversion among them: the check
    /// issue 12 reports.
    fn default() -> Self {
        Self {
            items: 400,
            context: 4,
            ctr: 0.15,
            cvr: 0.30,
            confound: 0.0,
            train_rows: 16_000,
            valid_rows: 2_000,
            test_rows: 2_000,
            seed: 1,
        }
    }
}

/// The largest hidden factor weight the funnel takes.
pub const MAX_CONFOUND: f64 = mtl_vocab::data::MAX_CONFOUND;

/// What a synthetic funnel knows and real logs do not: for every impression, clicked or not,
/// whether it would have converted after a click, and its true pCVR.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CvrTruth {
    /// The counterfactual conversion label (0/1) of every impression.
    pub label: Vec<f32>,
    /// The true conversion probability after a click.
    pub p: Vec<f32>,
}

/// The funnel's truth per split, in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelTruth {
    pub train: CvrTruth,
    pub valid: CvrTruth,
    pub test: CvrTruth,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The offset `b` for which `mean(weights · sigmoid(logits + b)) / mean(weights)` is `target`
/// (bisection: the mean is increasing in `b`).
fn calibrate(logits: &[f64], weights: &[f64], target: f64) -> f64 {
    let rate = |b: f64| {
        let num: f64 = logits
            .iter()
            .zip(weights)
            .map(|(l, w)| w * sigmoid(l + b))
            .sum();
        num / weights.iter().sum::<f64>()
    };
    let (mut lo, mut hi) = (-30.0, 30.0);
    // 36 halvings take the bracket below 1e-9: each one is a pass over every row, and the
    // passes were most of the time drawing the funnel took in wasm.
    while hi - lo > 1e-9 {
        let mid = (lo + hi) / 2.0;
        if rate(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// Impressions → clicks → conversions. Each item has a quality q ~ N(0, 1) that raises both its
/// click and its conversion logits; the context (x ~ N(0, I)) enters them through two different
/// random directions, so the clicked impressions are a shifted sample for conversion.
/// pCTR = σ(a + q + v_ctrᵀx + k·u), pCVR = σ(b + q + v_cvrᵀx + k·u), where u ~ N(0, 1) is a
/// hidden factor of each impression that no model sees and k is `confound` (0 by default: no
/// u is drawn and the data are as before it existed); `a` and `b` are set so that the click
/// rate and the conversion rate among clicks are the targets in expectation.
/// click ~ Bernoulli(pCTR); every impression draws its counterfactual conversion
/// ~ Bernoulli(pCVR); the logged conversion is click × that. Tasks: `ctr` (click) and `ctcvr`
/// (click and conversion), as ESMM trains on them; [`Dataset::cvr_truth`] keeps the rest.
pub fn funnel(config: &FunnelConfig) -> Result<Dataset, String> {
    let c = config;
    if c.items == 0 || c.train_rows == 0 || c.valid_rows == 0 || c.test_rows == 0 {
        return Err("items and every split need at least one row".into());
    }
    if !(0.0 < c.ctr && c.ctr < 1.0 && 0.0 < c.cvr && c.cvr < 1.0) {
        return Err("the click and conversion rates must be in (0, 1)".into());
    }
    if !(c.confound.is_finite() && (0.0..=MAX_CONFOUND).contains(&c.confound)) {
        return Err(format!(
            "confound must be between 0 and {MAX_CONFOUND}, got {}",
            c.confound
        ));
    }
    let mut normal = Normal::new(c.seed ^ 0xF0_77E1_0000_0002);
    let quality: Vec<f64> = (0..c.items).map(|_| normal.next()).collect();
    let direction = |normal: &mut Normal| {
        let v: Vec<f64> = (0..c.context).map(|_| normal.next()).collect();
        let n = dot(&v, &v).sqrt().max(1e-12);
        v.into_iter().map(|x| x / n).collect::<Vec<f64>>()
    };
    let v_ctr = direction(&mut normal);
    let v_cvr = direction(&mut normal);
    let rows = c.train_rows + c.valid_rows + c.test_rows;
    let mut items = Vec::with_capacity(rows);
    let mut context = Vec::with_capacity(rows * c.context);
    let (mut ctr_logit, mut cvr_logit) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for _ in 0..rows {
        let item = normal.rng.below(c.items);
        let x: Vec<f64> = (0..c.context).map(|_| normal.next()).collect();
        let hidden = if c.confound > 0.0 {
            c.confound * normal.next()
        } else {
            0.0
        };
        ctr_logit.push(quality[item] + dot(&v_ctr, &x) + hidden);
        cvr_logit.push(quality[item] + dot(&v_cvr, &x) + hidden);
        items.push(item as u32);
        context.extend(x.into_iter().map(|v| v as f32));
    }
    let a = calibrate(&ctr_logit, &vec![1.0; rows], c.ctr);
    let p_ctr: Vec<f64> = ctr_logit.iter().map(|l| sigmoid(l + a)).collect();
    // The conversion rate among clicks, in expectation: pCVR weighted by pCTR.
    let b = calibrate(&cvr_logit, &p_ctr, c.cvr);
    let p_cvr: Vec<f64> = cvr_logit.iter().map(|l| sigmoid(l + b)).collect();
    let mut labels = Vec::with_capacity(rows * 2);
    let mut cf = Vec::with_capacity(rows);
    for r in 0..rows {
        let click = (normal.uniform() <= p_ctr[r]) as u8 as f32;
        let convert = (normal.uniform() <= p_cvr[r]) as u8 as f32;
        labels.extend([click, click * convert]);
        cf.push(convert);
    }
    let split = |from: usize, to: usize| Split {
        len: to - from,
        categorical: items[from..to].to_vec(),
        n_categorical: 1,
        numeric: context[from * c.context..to * c.context].to_vec(),
        n_numeric: c.context,
        labels: labels[from * 2..to * 2].to_vec(),
        n_tasks: 2,
    };
    let truth = |from: usize, to: usize| CvrTruth {
        label: cf[from..to].to_vec(),
        p: p_cvr[from..to].iter().map(|&p| p as f32).collect(),
    };
    let (t, v) = (c.train_rows, c.train_rows + c.valid_rows);
    let dataset = Dataset {
        input: InputSpec {
            vocab_sizes: vec![c.items],
            n_numeric: c.context,
        },
        tasks: DataKind::Funnel
            .task_names()
            .map(|name| TaskSpec {
                name: name.into(),
                kind: DataKind::Funnel.task_kind(),
            })
            .to_vec(),
        fields: std::iter::once("item".to_string())
            .chain((1..=c.context).map(|i| format!("context{i}")))
            .collect(),
        train: split(0, t),
        valid: split(t, v),
        test: split(v, rows),
        cvr_truth: Some(FunnelTruth {
            train: truth(0, t),
            valid: truth(t, v),
            test: truth(v, rows),
        }),
    };
    Ok(dataset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(p: f64, seed: u64) -> CorrelatedConfig {
        CorrelatedConfig {
            p,
            train_rows: 4_000,
            valid_rows: 100,
            test_rows: 100,
            seed,
            ..CorrelatedConfig::default()
        }
    }

    #[test]
    fn correlated_weight_cosine_is_p() {
        for p in [1.0, 0.9, 0.5, 0.0, -0.3, -1.0] {
            let (_, truth) = correlated(&small(p, 3)).unwrap();
            let [w1, w2] = &truth.w;
            let cos = dot(w1, w2) / (dot(w1, w1) * dot(w2, w2)).sqrt();
            assert!((cos - p).abs() < 1e-6, "p = {p}: cos = {cos}");
            assert!((dot(w1, w1).sqrt() - 2.0).abs() < 1e-9, "|w1| = c");
            assert!((dot(w2, w2).sqrt() - 2.0).abs() < 1e-9, "|w2| = c");
        }
    }

    #[test]
    fn correlated_labels_are_reproducible_from_the_seed() {
        let (a, _) = correlated(&small(0.5, 7)).unwrap();
        let (b, _) = correlated(&small(0.5, 7)).unwrap();
        let (c, _) = correlated(&small(0.5, 8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.train.labels, c.train.labels);
        // Standardised on the training split.
        for t in 0..2 {
            let y = a.train.task_labels(t);
            let mean = y.iter().map(|&v| v as f64).sum::<f64>() / y.len() as f64;
            let var = y.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / y.len() as f64;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
                "{mean} {var}"
            );
        }
        assert_eq!((a.train.n_categorical, a.input.vocab_sizes.len()), (0, 0));
        assert_eq!(a.test.len, 100);
    }

    /// The labels are the paper's formula of x and w, nothing else: with the noise off, each
    /// standardised label is w·x + Σ_j sin(j·w·x + j − 1) over j = 1..m, standardised on the
    /// training split. A wrong α, β or sine sum fails here.
    #[test]
    fn correlated_labels_follow_the_papers_formula() {
        let config = CorrelatedConfig {
            noise: 0.0,
            ..small(0.7, 5)
        };
        let (data, truth) = correlated(&config).unwrap();
        let d = config.d;
        let raw = |x: &[f32], w: &[f64]| {
            let z: f64 = x.iter().zip(w).map(|(x, w)| *x as f64 * w).sum();
            z + (1..=config.m)
                .map(|j| (j as f64 * z + (j - 1) as f64).sin())
                .sum::<f64>()
        };
        for (t, w) in truth.w.iter().enumerate() {
            let train: Vec<f64> = data.train.numeric.chunks(d).map(|x| raw(x, w)).collect();
            let mean = train.iter().sum::<f64>() / train.len() as f64;
            let sd =
                (train.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / train.len() as f64).sqrt();
            for split in [&data.train, &data.test] {
                let labels = split.task_labels(t);
                for (x, &y) in split.numeric.chunks(d).zip(&labels) {
                    let expected = (raw(x, w) - mean) / sd;
                    // x is stored as f32, so the recomputation is good to about 1e-5.
                    assert!(
                        (expected - y as f64).abs() < 1e-4,
                        "task {t}: {y} against {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn correlated_label_correlation_falls_with_p() {
        let achieved: Vec<f64> = [1.0, 0.9, 0.5, 0.0]
            .iter()
            .map(|&p| correlated(&small(p, 11)).unwrap().1.label_correlation)
            .collect();
        for pair in achieved.windows(2) {
            assert!(pair[0] > pair[1], "{achieved:?}");
        }
        // The sines and the noise keep it below p, and near 1 at p = 1.
        assert!(achieved[0] > 0.99 && achieved[2] < 0.5, "{achieved:?}");
        assert!(achieved[3].abs() < 0.1, "{achieved:?}");
    }

    #[test]
    fn correlated_refuses_knobs_out_of_range() {
        assert!(correlated(&small(1.5, 1)).is_err());
        let mut bad = small(0.5, 1);
        bad.d = 1;
        assert!(correlated(&bad).is_err());
        bad = small(0.5, 1);
        bad.noise = f64::NAN;
        assert!(correlated(&bad).is_err());
    }

    #[test]
    fn funnel_rates_are_near_their_targets() {
        let data = funnel(&FunnelConfig::default()).unwrap();
        let truth = data.cvr_truth.clone().unwrap();
        let train = &data.train;
        let clicks = train.task_labels(0);
        let conversions = train.task_labels(1);
        let ctr = clicks.iter().sum::<f32>() / clicks.len() as f32;
        let cvr = conversions.iter().sum::<f32>() / clicks.iter().sum::<f32>();
        assert!((ctr - 0.15).abs() < 0.015, "click rate {ctr}");
        assert!(
            (cvr - 0.30).abs() < 0.04,
            "conversion rate among clicks {cvr}"
        );
        // A conversion is always a click, and the counterfactual label agrees where clicked.
        for r in 0..train.len {
            assert!(conversions[r] <= clicks[r]);
            if clicks[r] > 0.5 {
                assert_eq!(conversions[r], truth.train.label[r]);
            }
        }
        assert_eq!(
            (data.input.vocab_sizes.clone(), data.input.n_numeric),
            (vec![400], 4)
        );
        assert!(train.categorical.iter().all(|&i| i < 400));
    }

    #[test]
    fn funnel_clicked_rows_are_a_biased_sample_for_conversion() {
        let data = funnel(&FunnelConfig::default()).unwrap();
        let truth = data.cvr_truth.clone().unwrap();
        let clicks = data.train.task_labels(0);
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        let clicked: Vec<f32> = (0..data.train.len)
            .filter(|&r| clicks[r] > 0.5)
            .map(|r| truth.train.p[r])
            .collect();
        // Item quality raises both: the clicked impressions convert more than the rest would.
        assert!(
            mean(&clicked) > mean(&truth.train.p) + 0.03,
            "{} vs {}",
            mean(&clicked),
            mean(&truth.train.p)
        );
    }

    /// The hidden factor raises both the click and the conversion: the clicked impressions'
    /// true pCVR runs further above the average the more it weighs, which no input explains.
    #[test]
    fn funnel_confound_widens_the_clicked_rows_lead_in_conversion() {
        let lead = |confound: f64| {
            let data = funnel(&FunnelConfig {
                confound,
                ..FunnelConfig::default()
            })
            .unwrap();
            let truth = data.cvr_truth.clone().unwrap();
            let clicks = data.train.task_labels(0);
            let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
            let clicked: Vec<f32> = (0..data.train.len)
                .filter(|&r| clicks[r] > 0.5)
                .map(|r| truth.train.p[r])
                .collect();
            mean(&clicked) - mean(&truth.train.p)
        };
        let (none, some) = (lead(0.0), lead(1.5));
        assert!(
            some > none + 0.03,
            "lead {none} without, {some} with the factor"
        );
        assert_eq!(
            funnel(&FunnelConfig::default()).unwrap(),
            funnel(&FunnelConfig {
                confound: 0.0,
                ..FunnelConfig::default()
            })
            .unwrap()
        );
        for bad in [-0.1, f64::NAN, MAX_CONFOUND + 0.1] {
            assert!(
                funnel(&FunnelConfig {
                    confound: bad,
                    ..FunnelConfig::default()
                })
                .is_err()
            );
        }
    }

    #[test]
    fn funnel_is_reproducible_from_its_seed() {
        let a = funnel(&FunnelConfig::default()).unwrap();
        let b = funnel(&FunnelConfig::default()).unwrap();
        assert_eq!(a, b);
        assert!(a.cvr_truth.is_some());
        let c = funnel(&FunnelConfig {
            seed: 2,
            ..FunnelConfig::default()
        })
        .unwrap();
        assert_ne!(a.train.labels, c.train.labels);
        assert!(
            funnel(&FunnelConfig {
                ctr: 1.5,
                ..FunnelConfig::default()
            })
            .is_err()
        );
    }
}
