//! # mtl-stats: telling an effect from noise
//!
//! One setup over several seeds is summarised by its mean and sample standard deviation
//! ([`MeanSd`]). Two setups run on the same seeds (the same data draw, the same initial seed
//! and batch order for each) are compared by their per-seed differences ([`Paired`]): the mean
//! difference and its 95% t-interval, which is "within noise" when it contains 0. Pairing
//! removes the part of the seed noise that both setups share, which on this project's data is
//! most of it.
//!
//! It has no dependency but serde, so the page (which links no Burn), the core library and the
//! CLI use this one implementation.

use serde::{Deserialize, Serialize};

/// The mean and sample standard deviation of one setup's scores over its seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanSd {
    pub mean: f64,
    /// The sample standard deviation (n − 1 in the denominator); 0 for a single value.
    pub sd: f64,
    pub n: usize,
}

impl MeanSd {
    /// `None` for no values: there is no mean to show.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Self { mean, sd, n })
    }

    /// The 95% t-interval of the mean, `[low, high]`: mean ± t(0.975, n − 1) · sd / √n.
    /// `None` for a single value, where nothing is known about the noise.
    pub fn ci95(&self) -> Option<[f64; 2]> {
        if self.n < 2 {
            return None;
        }
        let half = t_quantile(0.5 + CONFIDENCE / 2.0, (self.n - 1) as f64) * self.sd
            / (self.n as f64).sqrt();
        Some([self.mean - half, self.mean + half])
    }
}

/// The confidence level of every interval this crate gives.
pub const CONFIDENCE: f64 = 0.95;

/// Two setups compared on the same seeds: `a − b` per seed, its mean and the mean's 95%
/// t-interval (Student's t with n − 1 degrees of freedom).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// The per-seed differences `a[i] − b[i]`.
    pub diffs: Vec<f64>,
    pub mean: f64,
    /// The sample standard deviation of the differences.
    pub sd: f64,
    /// Half the interval's width: t(0.975, n − 1) · sd / √n. Infinite for one pair, where
    /// nothing is known about the noise.
    pub half_width: f64,
}

impl Paired {
    /// The comparison of `a` with `b`, seed by seed. `None` unless both have the same, non-zero
    /// number of values (a pair needs both of its halves).
    pub fn of(a: &[f64], b: &[f64]) -> Option<Self> {
        if a.len() != b.len() || a.is_empty() {
            return None;
        }
        let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        let MeanSd { mean, sd, n } = MeanSd::of(&diffs)?;
        let half_width = if n > 1 {
            t_quantile(0.5 + CONFIDENCE / 2.0, (n - 1) as f64) * sd / (n as f64).sqrt()
        } else {
            f64::INFINITY
        };
        Some(Self {
            diffs,
            mean,
            sd,
            half_width,
        })
    }

    /// The number of pairs.
    pub fn n(&self) -> usize {
        self.diffs.len()
    }

    /// The 95% interval of the mean difference, `[low, high]`.
    pub fn ci95(&self) -> [f64; 2] {
        [self.mean - self.half_width, self.mean + self.half_width]
    }

    /// True when the interval contains 0: the data cannot tell the two setups apart.
    pub fn within_noise(&self) -> bool {
        let [low, high] = self.ci95();
        !(low > 0.0 || high < 0.0)
    }

    /// The difference as people write it: `+0.0123 ± 0.0041` (the interval's half-width), with
    /// `decimals` places.
    pub fn display(&self, decimals: usize) -> String {
        if self.half_width.is_finite() {
            format!(
                "{:+.*} ± {:.*}",
                decimals, self.mean, decimals, self.half_width
            )
        } else {
            format!("{:+.*} (one seed: no interval)", decimals, self.mean)
        }
    }
}

/// The `p`-quantile of Student's t distribution with `df` degrees of freedom (`df` > 0), to
/// about 1e-10: the inverse of [`t_cdf`] by bisection.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0 && df > 0.0, "t_quantile({p}, {df})");
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let (mut low, mut high) = (0.0, 1.0);
    while t_cdf(high, df) < p {
        high *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if t_cdf(mid, df) < p {
            low = mid;
        } else {
            high = mid;
        }
        if high - low < 1e-12 * high.max(1.0) {
            break;
        }
    }
    0.5 * (low + high)
}

/// Student's t cumulative distribution function: for t ≥ 0,
/// 1 − I_{df/(df+t²)}(df/2, 1/2) / 2, with I the regularised incomplete beta function.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * incomplete_beta(x, df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The regularised incomplete beta function I_x(a, b), by its continued fraction (Lentz's
/// method), on the side of x where it converges fast (Numerical Recipes, 6.4).
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        for aa in [
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ] {
            d = 1.0 + aa * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + aa / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantile_matches_the_printed_tables() {
        // t(0.975, df) from any statistics table.
        for (df, t) in [
            (1.0, 12.706_204_7),
            (2.0, 4.302_652_7),
            (3.0, 3.182_446_3),
            (5.0, 2.570_581_8),
            (9.0, 2.262_157_2),
            (19.0, 2.093_024_1),
            (29.0, 2.045_229_6),
            (1000.0, 1.962_339_1),
        ] {
            let got = t_quantile(0.975, df);
            assert!(close(got, t, 1e-6), "df {df}: {got} against {t}");
        }
        assert!(close(t_quantile(0.025, 5.0), -2.570_581_8, 1e-6));
        assert!(close(t_quantile(0.5, 7.0), 0.0, 1e-9));
        assert!(close(t_cdf(0.0, 3.0), 0.5, 1e-12));
    }

    #[test]
    fn mean_sd_is_the_sample_sd_and_none_without_values() {
        let m = MeanSd::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("values");
        assert!(close(m.mean, 5.0, 1e-12));
        // Population sd 2; the sample sd is 2·√(8/7).
        assert!(close(m.sd, 2.0 * (8.0f64 / 7.0).sqrt(), 1e-12), "{}", m.sd);
        assert_eq!(m.n, 8);
        assert_eq!(MeanSd::of(&[3.0]).map(|m| (m.mean, m.sd)), Some((3.0, 0.0)));
        assert_eq!(MeanSd::of(&[]), None);
    }

    #[test]
    fn mean_interval_is_the_t_interval_and_none_for_one_value() {
        // By hand: 5 ± t(0.975, 7) · 2·√(8/7) / √8, with t(0.975, 7) = 2.364624.
        let m = MeanSd::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("values");
        let [low, high] = m.ci95().expect("eight values");
        assert!(close(low, 3.212_512, 1e-5), "{low}");
        assert!(close(high, 6.787_488, 1e-5), "{high}");
        assert_eq!(MeanSd::of(&[3.0]).and_then(|m| m.ci95()), None);
    }

    #[test]
    fn paired_difference_matches_a_hand_computation() {
        // d = [0.5, 0.2, 0.4, 0.1]: mean 0.3, sd √(0.1/3) = 0.182574, se 0.091287,
        // t(0.975, 3) = 3.182446, half-width 0.290516, interval [0.009484, 0.590516].
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [0.5, 1.8, 2.6, 3.9];
        let p = Paired::of(&a, &b).expect("four pairs");
        assert_eq!(p.n(), 4);
        assert!(close(p.mean, 0.3, 1e-12));
        assert!(close(p.sd, (0.1f64 / 3.0).sqrt(), 1e-12));
        assert!(close(p.half_width, 0.290_516, 1e-6), "{}", p.half_width);
        let [low, high] = p.ci95();
        assert!(close(low, 0.009_484, 1e-6) && close(high, 0.590_516, 1e-6));
        assert!(!p.within_noise());
        assert_eq!(p.display(3), "+0.300 ± 0.291");
        // Swapping the setups flips the sign and keeps the width.
        let q = Paired::of(&b, &a).expect("four pairs");
        assert!(close(q.mean, -0.3, 1e-12) && close(q.half_width, p.half_width, 1e-12));
    }

    #[test]
    fn paired_difference_whose_interval_holds_zero_is_within_noise() {
        let p = Paired::of(&[1.0, 2.0, 3.0], &[1.1, 1.9, 3.05]).expect("three pairs");
        // d = [-0.1, 0.1, -0.05]: mean -0.0167, clearly inside its interval.
        assert!(p.within_noise(), "{p:?}");
        let one = Paired::of(&[1.0], &[0.5]).expect("one pair");
        assert!(one.half_width.is_infinite() && one.within_noise());
        assert_eq!(one.display(2), "+0.50 (one seed: no interval)");
        assert_eq!(Paired::of(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(Paired::of(&[], &[]), None);
    }

    #[test]
    fn paired_differs_from_unpaired_when_seeds_share_their_noise() {
        // Each seed moves both setups alike: unpaired sds are large, the paired one tiny.
        let a = [1.0, 3.0, 2.0, 5.0, 4.0];
        let b: Vec<f64> = a.iter().map(|x| x - 0.1).collect();
        let p = Paired::of(&a, &b).expect("pairs");
        assert!(p.sd < 1e-12 && !p.within_noise());
        assert!(MeanSd::of(&a).expect("values").sd > 1.0);
    }
}
