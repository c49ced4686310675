//! The numbers behind the page's SVG charts: scales, tick values, colours and smoothing. The
//! components in `ui` only place what these compute, so the maths is tested natively. The
//! colours are the project's one palette, `mtl_vocab::palette`, which the CLI's figures use too.

use mtl_vocab::palette::{DASHES, PALETTE};

/// Palette indices of the two colour families of a gate's experts: cool colours for a task's
/// own experts (and MMoE's pooled ones), warm ones for CGC/PLE's shared experts.
const OWN_FAMILY: [usize; 4] = [0, 5, 2, 7];
const SHARED_FAMILY: [usize; 4] = [1, 4, 3, 6];

/// The architecture diagram's expert → gate edges, each as thick as the weight the gate gives
/// the expert: the palette's vermillion.
pub const GATE_EDGE: &str = PALETTE[1];

/// The style (colour) and dash of the `k`-th expert of a family in a gate's chart: a colour of
/// its family, then the next dash once the family's colours are used, so no two of up to 16
/// experts per family look the same.
pub fn expert_style(shared: bool, k: usize) -> (usize, usize) {
    let family = if shared { SHARED_FAMILY } else { OWN_FAMILY };
    (family[k % family.len()], (k / family.len()) % DASHES.len())
}

/// What a task-gradient cosine means, in words for the conflict meter: the tasks pull the
/// shared parameters the same way (0.3 and up), against each other (−0.1 and down, negative
/// transfer), or nearly at right angles in between.
pub fn conflict_words(cos: f64) -> &'static str {
    if cos >= 0.3 {
        "the tasks pull the shared parameters the same way"
    } else if cos <= -0.1 {
        "the tasks pull the shared parameters against each other"
    } else {
        "nearly at right angles: one task's step hardly moves the other's loss"
    }
}

/// Maps a data interval onto a pixel interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearScale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl LinearScale {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        let (lo, hi) = domain;
        let domain = if (hi - lo).abs() < 1e-12 || !lo.is_finite() || !hi.is_finite() {
            let c = if lo.is_finite() { lo } else { 0.0 };
            (c - 0.5, c + 0.5)
        } else {
            domain
        };
        Self { domain, range }
    }

    pub fn map(&self, v: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        r0 + (v - d0) / (d1 - d0) * (r1 - r0)
    }
}

/// About `count` round tick values (1, 2 or 5 × 10^k apart) covering `[lo, hi]`.
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || count == 0 {
        return Vec::new();
    }
    let (lo, hi) = if hi - lo < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let raw = (hi - lo) / count as f64;
    let mag = 10f64.powf(raw.log10().floor());
    // The round step whose tick count comes closest to `count`.
    let span = hi - lo;
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .min_by(|a, b| {
            let da = (span / a - count as f64).abs();
            let db = (span / b - count as f64).abs();
            da.total_cmp(&db)
        })
        .unwrap_or(mag);
    // Round to the step's decimals so 3 × 0.2 prints and compares as 0.6.
    let decimals = (-step.log10()).ceil().max(0.0) as usize;
    let round = |v: f64| format!("{v:.decimals$}").parse::<f64>().unwrap_or(v);
    let first = (lo / step).ceil() as i64;
    (first..)
        .map(|k| round(k as f64 * step))
        .take_while(|t| *t <= hi + step * 1e-9)
        .take(50)
        .map(|t| if t == 0.0 { 0.0 } else { t })
        .collect()
}

/// Formats a tick value with no more digits than the tick spacing needs.
pub fn format_tick(v: f64, ticks: &[f64]) -> String {
    let step = ticks
        .windows(2)
        .map(|w| w[1] - w[0])
        .next()
        .unwrap_or(1.0)
        .abs();
    if v.abs() >= 10_000.0 {
        return format!("{:.0}k", v / 1000.0);
    }
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{v:.decimals$}")
}

/// The bounds of some values, ignoring NaN; `None` when there are none.
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// A chart's y range: a fixed one (widened for data outside it, such as an AUC below 0.4 early
/// on), or the data's own with a margin. A flat or single-valued series gets a range of ±10% of
/// its value (at least ±0.01) rather than a sliver that makes noise look like a trend.
pub fn y_range(fixed: Option<(f64, f64)>, data: Option<(f64, f64)>) -> (f64, f64) {
    match (fixed, data) {
        (Some((lo, hi)), Some((dlo, dhi))) => (lo.min(dlo - 0.02), hi.max(dhi)),
        (Some(fixed), None) => fixed,
        (None, Some((lo, hi))) => {
            let mid = (lo + hi) / 2.0;
            let pad = ((hi - lo) * 0.05)
                .max(mid.abs() * 0.1 - (hi - lo) / 2.0)
                .max(0.01);
            (lo - pad, hi + pad)
        }
        (None, None) => (0.0, 1.0),
    }
}

/// Exponential moving average over training steps, not over reports, debiased for the first
/// points. A report covers a chunk of steps (64 at full speed, one or two at a slow pace): each
/// report weighs in by how many steps it covers, so the curve lags by about `tau` steps at any
/// pace, where an average over reports lagged by hundreds of steps at full speed.
#[derive(Debug, Clone, PartialEq)]
pub struct Smoother {
    /// Steps over which an old value's weight falls to 1/e.
    pub tau: f64,
    value: f64,
    /// The weight left on the (zero) start value: the debiasing term.
    kept: f64,
}

impl Smoother {
    pub fn new(tau: f64) -> Self {
        Self {
            tau: tau.max(1e-9),
            value: 0.0,
            kept: 1.0,
        }
    }

    /// Takes the mean `x` of a report covering `steps` steps; returns the smoothed value.
    pub fn push(&mut self, x: f64, steps: f64) -> f64 {
        let w = (-steps.max(0.0) / self.tau).exp();
        self.value = w * self.value + (1.0 - w) * x;
        self.kept *= w;
        if self.kept >= 1.0 {
            return x;
        }
        self.value / (1.0 - self.kept)
    }
}

/// Viridis, a perceptually uniform map that reads in greyscale and for colour-blind viewers.
/// `t` in [0, 1].
pub fn viridis(t: f64) -> String {
    const STOPS: [(f64, f64, f64); 6] = [
        (68.0, 1.0, 84.0),
        (65.0, 68.0, 135.0),
        (42.0, 120.0, 142.0),
        (34.0, 168.0, 132.0),
        (122.0, 209.0, 81.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    format!("rgb({},{},{})", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Text colour that stays readable on a viridis cell.
pub fn ink_on_viridis(t: f64) -> &'static str {
    if t > 0.55 { "#000" } else { "#fff" }
}

/// How far a weight is from its gate's even split, as a position on a diverging scale: 0 at the
/// even split `even` (1/n), +1 at four times it or more, −1 at a quarter of it or less (log2 of
/// the ratio, halved). A gate that weighs every expert alike is 0 everywhere, whatever n is.
pub fn against_even(v: f64, even: f64) -> f64 {
    if !(v.is_finite() && even > 0.0) {
        return 0.0;
    }
    ((v.max(1e-9) / even).log2() / 2.0).clamp(-1.0, 1.0)
}

/// A diverging colour for [`against_even`]'s position: white at 0, towards Okabe–Ito's
/// vermillion above the even split and its blue below, with a readable ink.
pub fn diverging(t: f64) -> (String, &'static str) {
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let end = if t >= 0.0 {
        (213.0, 94.0, 0.0)
    } else {
        (0.0, 114.0, 178.0)
    };
    let f = t.abs();
    let mix = |q: f64| (255.0 + (q - 255.0) * f).round() as u8;
    let ink = if f > 0.6 { "#fff" } else { "#000" };
    (
        format!("rgb({},{},{})", mix(end.0), mix(end.1), mix(end.2)),
        ink,
    )
}

/// Keeps at most `max` points by dropping every other one when full, so a long run keeps its
/// whole shape at a bounded cost.
pub fn push_bounded<T>(points: &mut Vec<T>, point: T, max: usize) {
    points.push(point);
    if points.len() > max.max(2) {
        let mut i = 0;
        points.retain(|_| {
            i += 1;
            i % 2 == 1
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_words_follow_the_sign() {
        assert!(conflict_words(0.77).contains("same way"));
        assert!(conflict_words(-0.4).contains("against"));
        assert!(conflict_words(0.03).contains("right angles"));
        assert!(conflict_words(0.3).contains("same way"));
        assert!(conflict_words(-0.1).contains("against"));
    }

    #[test]
    fn nice_ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let t = nice_ticks(0.0, 937.0, 4);
        assert_eq!(t, vec![0.0, 200.0, 400.0, 600.0, 800.0]);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 4), Vec::<f64>::new());
        assert!(!nice_ticks(3.0, 3.0, 4).is_empty());
        assert_eq!(format_tick(0.6000000000000001, &[0.0, 0.2]), "0.6");
        assert_eq!(format_tick(20000.0, &[0.0, 10000.0]), "20k");
    }

    #[test]
    fn linear_scale_maps_and_survives_flat_domains() {
        let s = LinearScale::new((0.0, 10.0), (100.0, 0.0));
        assert_eq!(s.map(0.0), 100.0);
        assert_eq!(s.map(5.0), 50.0);
        let flat = LinearScale::new((2.0, 2.0), (0.0, 10.0));
        assert_eq!(flat.map(2.0), 5.0);
    }

    #[test]
    fn smoother_is_debiased_and_lags_by_steps_at_any_pace() {
        let mut s = Smoother::new(20.0);
        assert!(
            (s.push(1.0, 64.0) - 1.0).abs() < 1e-12,
            "debiased from the first report"
        );
        // A step from 1 to 3 at step 0: after 60 steps the smoothed value is within 5% of the
        // new level, whether the reports cover 60 steps, 2 or 1 each.
        for chunk in [60.0, 2.0, 1.0] {
            let mut s = Smoother::new(20.0);
            s.push(1.0, chunk);
            let mut v = 0.0;
            let mut steps = 0.0;
            while steps < 60.0 {
                v = s.push(3.0, chunk);
                steps += chunk;
            }
            assert!((3.0 - v) / 2.0 < 0.06, "chunks of {chunk}: {v}");
            assert!(
                v < 3.0 - 1e-3 || chunk == 60.0,
                "it still lags a little: {v}"
            );
        }
        let mut s = Smoother::new(20.0);
        assert_eq!(s.push(2.5, 0.0), 2.5, "a report of no steps says the value");
    }

    #[test]
    fn expert_styles_never_repeat_within_a_chart_and_keep_their_families() {
        let mut seen = std::collections::HashSet::new();
        for shared in [false, true] {
            for k in 0..16 {
                let (style, dash) = expert_style(shared, k);
                assert!(
                    seen.insert((mtl_vocab::palette::series_colour(style), dash)),
                    "{shared} {k} repeats"
                );
                assert_eq!(SHARED_FAMILY.contains(&style), shared, "{shared} {k}");
            }
        }
    }

    #[test]
    fn y_range_pads_flat_data_and_keeps_fixed_ranges() {
        // One validation point at 0.692: ±10%, not a 0.0015-wide sliver.
        let (lo, hi) = y_range(None, Some((0.692, 0.692)));
        assert!(
            (lo - 0.6228).abs() < 1e-9 && (hi - 0.7612).abs() < 1e-9,
            "{lo} {hi}"
        );
        // Spread data: 5% either side.
        let (lo, hi) = y_range(None, Some((0.2, 0.6)));
        assert!(
            (lo - 0.18).abs() < 1e-12 && (hi - 0.62).abs() < 1e-12,
            "{lo} {hi}"
        );
        assert_eq!(y_range(None, Some((0.0, 0.0))), (-0.01, 0.01));
        assert_eq!(y_range(Some((0.4, 1.0)), None), (0.4, 1.0));
        let (lo, hi) = y_range(Some((0.4, 1.0)), Some((0.3, 0.9)));
        assert!(
            (lo - 0.28).abs() < 1e-12 && hi == 1.0,
            "widened below 0.4: {lo}"
        );
        assert_eq!(y_range(None, None), (0.0, 1.0));
    }

    #[test]
    fn gate_colours_are_centred_on_the_even_split() {
        // Even split: white, whatever the number of experts.
        for n in [2.0, 4.0, 16.0] {
            assert_eq!(against_even(1.0 / n, 1.0 / n), 0.0);
        }
        assert_eq!(diverging(0.0), ("rgb(255,255,255)".to_string(), "#000"));
        // Twice the even split is half way up; four times is full colour, and no further.
        assert!((against_even(0.5, 0.25) - 0.5).abs() < 1e-12);
        assert_eq!(against_even(1.0, 0.25), 1.0);
        assert_eq!(against_even(0.0, 0.25), -1.0);
        assert_eq!(diverging(1.0), ("rgb(213,94,0)".to_string(), "#fff"));
        assert_eq!(diverging(-1.0), ("rgb(0,114,178)".to_string(), "#fff"));
        assert_eq!(against_even(f64::NAN, 0.25), 0.0);
    }

    #[test]
    fn viridis_runs_dark_to_light() {
        assert_eq!(viridis(0.0), "rgb(68,1,84)");
        assert_eq!(viridis(1.0), "rgb(253,231,37)");
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(ink_on_viridis(0.9), "#000");
    }

    #[test]
    fn push_bounded_keeps_the_shape() {
        let mut v = Vec::new();
        for i in 0..1000 {
            push_bounded(&mut v, i, 100);
        }
        assert!(v.len() <= 100);
        assert_eq!(v[0], 0);
        assert!(*v.last().expect("points") >= 900);
        assert_eq!(extent([1.0, f64::NAN, -2.0]), Some((-2.0, 1.0)));
    }
}
