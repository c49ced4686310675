//! Seed spread: one setup trained over several seeds side by side, so a learner sees how far
//! runs differ by chance before reading anything into a difference between models. The page
//! drives it ([`SeedSweep`]: the seeds, trained as the replicas of one build); the history keeps
//! one run per seed, grouped, and summarises them ([`spread`]).

use mtl_stats::{MeanSd, Paired};
use serde::Serialize;

use crate::page::history::{RunRecord, scores_over};
use crate::protocol::experiment::{DataKey, Experiment};
use crate::protocol::fields::SEED_MAX;

/// The most seeds one sweep trains: the page's bound on seeds side by side.
pub const MAX_SEEDS: usize = crate::protocol::fields::MAX_PAGE_REPLICAS;

/// A sweep in progress: the seeds it trains side by side, as the replicas of one build.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedSweep {
    /// The history's name for the sweep's runs ([`RunRecord::group`]).
    pub group: String,
    pub seeds: Vec<u64>,
}

impl SeedSweep {
    /// `n` seeds (clamped to 1..=[`MAX_SEEDS`]) from `first` on, or ending at the largest
    /// seed the page takes if they would pass it.
    pub fn new(group: String, first: u64, n: usize) -> Self {
        let n = n.clamp(1, MAX_SEEDS) as u64;
        let first = first.min(SEED_MAX - (n - 1));
        Self {
            group,
            seeds: (first..first + n).collect(),
        }
    }

    /// Where the sweep stands, for the status line.
    pub fn describe(&self) -> String {
        match (self.seeds.first(), self.seeds.last()) {
            (Some(a), Some(b)) if a != b => format!(
                "Training {} seeds side by side ({a} to {b}).",
                self.seeds.len()
            ),
            _ => "Training one seed.".to_string(),
        }
    }
}

/// One score over a sweep's runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadScore {
    /// The score's name ([`crate::protocol::headlines`]).
    pub name: String,
    pub mean: f64,
    pub sd: f64,
}

/// A sweep's runs summarised: each task's test score (AUC, or R² on regression tasks), mean ±
/// sd, and the validation loss curves as a band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    pub group: String,
    /// The model's label, for the table.
    pub label: String,
    /// The setup the seeds share (its data set and settings), without the seed.
    pub setup: String,
    /// The scores' name: AUC, or R² on the correlated tasks.
    pub metric: &'static str,
    /// The rows its seeds trained on, but for the seed ([`DataKey`]): two sweeps over the same
    /// seeds and rows saw the same data, seed by seed.
    #[serde(skip)]
    pub rows: DataKey,
    /// Per score, its value for each seed, in seed order.
    pub values: Vec<(String, Vec<f64>)>,
    pub seeds: Vec<u64>,
    pub scores: Vec<SpreadScore>,
    /// Per task: (task name, the validation loss band over the seeds).
    pub valid_loss: Vec<(String, Vec<BandPoint>)>,
}

/// One step of a band: the mean over the seeds and one sd either side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BandPoint {
    pub step: f64,
    pub mean: f64,
    pub sd: f64,
}

/// Mean ± sd of curves at the first curve's steps. The seeds of one sweep validate at the same
/// steps; runs grouped otherwise (older histories, runs of other builds) need not, so each other
/// curve is read by linear interpolation; a step outside some curve's range is left out.
pub fn band(curves: &[&[(f64, f64)]]) -> Vec<BandPoint> {
    let Some(first) = curves.first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter_map(|&(step, _)| {
            let values: Vec<f64> = curves
                .iter()
                .map(|c| interpolate(c, step))
                .collect::<Option<_>>()?;
            let MeanSd { mean, sd, .. } = MeanSd::of(&values)?;
            Some(BandPoint { step, mean, sd })
        })
        .collect()
}

/// The curve's value at `step` (its points in increasing step order), linearly interpolated;
/// `None` outside its range.
fn interpolate(curve: &[(f64, f64)], step: f64) -> Option<f64> {
    let after = curve.iter().position(|p| p.0 >= step)?;
    let (x1, y1) = curve[after];
    if x1 == step {
        return Some(y1);
    }
    let (x0, y0) = *curve.get(after.checked_sub(1)?)?;
    Some(y0 + (y1 - y0) * (step - x0) / (x1 - x0))
}

impl Spread {
    pub fn runs(&self) -> usize {
        self.seeds.len()
    }
}

/// Every sweep in `runs`, in the order of their first run: the runs of a group that differ in
/// their seed only, where there are at least two. Runs grouped for another reason (a race's
/// lanes, which are other models) are not one setup's seeds, and make no spread.
pub fn spread(runs: &[RunRecord]) -> Vec<Spread> {
    let mut groups: Vec<(&str, Experiment, Vec<&RunRecord>)> = Vec::new();
    for r in runs {
        let Some(g) = r.group.as_deref() else {
            continue;
        };
        let setup = r.experiment.reseeded(0);
        match groups
            .iter_mut()
            .find(|(name, e, _)| *name == g && *e == setup)
        {
            Some((_, _, members)) => members.push(r),
            None => groups.push((g, setup, vec![r])),
        }
    }
    groups
        .into_iter()
        .filter(|(_, _, members)| members.len() > 1)
        .map(|(group, setup, mut members)| {
            members.sort_by_key(|r| r.experiment.seed);
            let values = scores_over(&members);
            let first = members[0];
            let scores = values
                .iter()
                .filter_map(|(name, values)| {
                    let MeanSd { mean, sd, .. } = MeanSd::of(values)?;
                    Some(SpreadScore {
                        name: name.clone(),
                        mean,
                        sd,
                    })
                })
                .collect();
            let valid_loss = first
                .tests
                .iter()
                .enumerate()
                .map(|(t, task)| {
                    let curves: Vec<&[(f64, f64)]> = members
                        .iter()
                        .filter_map(|r| r.valid_loss.get(t).map(Vec::as_slice))
                        .collect();
                    (task.name.clone(), band(&curves))
                })
                .collect();
            Spread {
                group: group.to_string(),
                label: setup.model.label().to_string(),
                setup: setup.setup_summary(),
                metric: setup.data.task_kind().headline_name(),
                rows: setup.data_key(),
                values,
                seeds: members.iter().map(|r| r.experiment.seed).collect(),
                scores,
                valid_loss,
            }
        })
        .collect()
}

/// Sweep `a` against sweep `b`, seed by seed: per score, `a − b` with its 95% interval
/// ([`Paired`]). `None` unless both trained the same seeds (two or more) on the same rows, so
/// that each seed's pair saw the same data.
pub fn paired(a: &Spread, b: &Spread) -> Option<Vec<(String, Paired)>> {
    if a.seeds != b.seeds || a.rows != b.rows || a.seeds.len() < 2 {
        return None;
    }
    Some(
        a.values
            .iter()
            .filter_map(|(name, mine)| {
                let (_, theirs) = b.values.iter().find(|(n, _)| n == name)?;
                Some((name.clone(), Paired::of(mine, theirs)?))
            })
            .collect(),
    )
}

/// The latest two sweeps compared, in a sentence: seed by seed with intervals where they
/// share their seeds and rows, else why not. `None` with fewer than two sweeps.
pub fn latest_pair(all: &[Spread]) -> Option<String> {
    let [before, latest] = all.get(all.len().checked_sub(2)?..)? else {
        return None;
    };
    let names = if latest.label == before.label {
        format!("{} (latest) − {} (before)", latest.label, before.label)
    } else {
        format!("{} − {}", latest.label, before.label)
    };
    let Some(pairs) = paired(latest, before).filter(|p| !p.is_empty()) else {
        return Some(format!(
            "The latest two sweeps ({names}) trained other seeds or other data, so no seed pairs \
             them: compare their bands, and sweep both over the same seeds to pair them."
        ));
    };
    let differences: Vec<String> = pairs
        .iter()
        .map(|(name, d)| {
            let noise = if d.within_noise() {
                " (within noise)"
            } else {
                ""
            };
            format!("{name} {}{noise}", d.display(4))
        })
        .collect();
    Some(format!(
        "The latest two sweeps, seed by seed ({}): {names}, test {}: {}; the mean difference \
         ± its 95% interval.",
        seed_range(&latest.seeds),
        latest.metric,
        differences.join(", ")
    ))
}

/// "7–9" for seeds 7, 8, 9; "7" for one.
pub fn seed_range(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::TaskScore;
    use crate::protocol::experiment::{DataKind, Experiment, ModelKind};

    #[test]
    fn sweep_takes_its_seeds_in_bounds() {
        let s = SeedSweep::new("g".into(), 7, 3);
        assert_eq!(s.seeds, vec![7, 8, 9]);
        assert_eq!(s.describe(), "Training 3 seeds side by side (7 to 9).");
        assert_eq!(SeedSweep::new("g".into(), 1, 50).seeds.len(), MAX_SEEDS);
        assert_eq!(SeedSweep::new("g".into(), 1, 0).seeds, vec![1]);
        let last = SeedSweep::new("g".into(), SEED_MAX, 3).seeds;
        assert_eq!(last, vec![SEED_MAX - 2, SEED_MAX - 1, SEED_MAX]);
    }

    fn run(group: Option<&str>, seed: u64, aucs: [f64; 2]) -> RunRecord {
        let mut experiment = Experiment::tutorial(ModelKind::Mmoe);
        experiment.seed = seed;
        let score = |name: &str, auc| TaskScore {
            name: name.into(),
            loss: 0.3,
            auc: Some(auc),
            logloss: Some(0.3),
            r2: None,
            mse_true: None,
        };
        RunRecord {
            id: format!("{seed}"),
            number: seed as u32,
            group: group.map(str::to_string),
            session: 1,
            time_ms: 0.0,
            experiment,
            backend: "cpu".into(),
            params: 10,
            steps: 5,
            trained_steps: 5,
            epochs: 1,
            valid: Vec::new(),
            tests: vec![score("income", aucs[0]), score("never_married", aucs[1])],
            cvr: None,
            cvr_all: None,
            valid_loss: vec![
                vec![(10.0, aucs[0]), (20.0, aucs[0] / 2.0)],
                vec![(10.0, aucs[1])],
            ],
            valid_auc: Vec::new(),
            valid_cvr_auc: Vec::new(),
        }
    }

    #[test]
    fn spread_is_mean_and_sample_sd_per_task_and_group() {
        let runs = [
            run(Some("a"), 7, [0.80, 0.90]),
            run(None, 1, [0.5, 0.5]),
            run(Some("b"), 3, [0.70, 0.70]),
            run(Some("b"), 4, [0.70, 0.70]),
            run(Some("a"), 8, [0.82, 0.90]),
            run(Some("a"), 9, [0.84, 0.90]),
        ];
        let s = spread(&runs);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].group.as_str(), s[0].seeds.clone()),
            ("a", vec![7, 8, 9])
        );
        assert_eq!(s[0].label, "MMoE");
        let income = &s[0].scores[0];
        assert_eq!(income.name, "income");
        assert!((income.mean - 0.82).abs() < 1e-12);
        // Sample sd of 0.80, 0.82, 0.84 is 0.02.
        assert!((income.sd - 0.02).abs() < 1e-12, "{}", income.sd);
        assert!(s[0].scores[1].sd.abs() < 1e-12);
        assert_eq!((s[1].runs(), s[1].scores[0].sd), (2, 0.0));
        assert_eq!(s[0].metric, "AUC");
        assert!(
            s[0].setup.starts_with("MMoE · ") && !s[0].setup.contains("seed"),
            "{}",
            s[0].setup
        );
        // The validation loss band: per step, mean and sd over the sweep's runs.
        let (name, income) = &s[0].valid_loss[0];
        assert_eq!((name.as_str(), income.len()), ("income", 2));
        assert_eq!(income[0].step, 10.0);
        assert!((income[0].mean - 0.82).abs() < 1e-12 && (income[0].sd - 0.02).abs() < 1e-12);
        assert!((income[1].mean - 0.41).abs() < 1e-12 && (income[1].sd - 0.01).abs() < 1e-12);
    }

    #[test]
    fn a_race_of_other_models_is_no_seed_spread() {
        // A race groups its lanes' runs: Shared-Bottom and MMoE on one seed are two setups, one
        // run each, not a setup over two seeds.
        let mut sb = run(Some("race"), 7, [0.80, 0.90]);
        sb.experiment = sb.experiment.with_model(ModelKind::SharedBottom);
        let runs = [sb, run(Some("race"), 7, [0.82, 0.91])];
        assert_eq!(spread(&runs), Vec::new());
        // Nor is a sweep of one seed.
        assert_eq!(spread(&runs[1..]), Vec::new());
        // A group holding two setups' seeds makes a spread of each.
        let mut two = vec![run(Some("g"), 1, [0.8, 0.8]), run(Some("g"), 2, [0.9, 0.9])];
        for r in two.clone() {
            let mut other = r;
            other.experiment.learning_rate = 0.01;
            two.push(other);
        }
        let s = spread(&two);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[1].setup.contains("lr 0.01"), "{}", s[1].setup);
        assert_eq!(s[1].seeds, vec![1, 2]);
    }

    #[test]
    fn two_sweeps_over_the_same_seeds_and_rows_are_paired_seed_by_seed() {
        let sweep = |g: &str, model: ModelKind, aucs: [[f64; 2]; 3]| -> Vec<RunRecord> {
            aucs.into_iter()
                .enumerate()
                .map(|(k, a)| {
                    let mut r = run(Some(g), 7 + k as u64, a);
                    r.experiment = r.experiment.with_model(model);
                    r
                })
                .collect()
        };
        let mut runs = sweep(
            "sb",
            ModelKind::SharedBottom,
            [[0.89, 0.4], [0.90, 0.4], [0.91, 0.4]],
        );
        // Recorded out of seed order: the pairs go by seed.
        let mut mmoe = sweep(
            "mmoe",
            ModelKind::Mmoe,
            [[0.90, 0.5], [0.92, 0.5], [0.94, 0.5]],
        );
        mmoe.reverse();
        runs.extend(mmoe);
        let all = spread(&runs);
        assert_eq!(all[1].seeds, vec![7, 8, 9]);
        // Differences 0.01, 0.02, 0.03: mean 0.02 ± t(0.975, 2) · 0.01 / √3 = 0.0248.
        assert_eq!(
            latest_pair(&all).as_deref(),
            Some(
                "The latest two sweeps, seed by seed (7–9): MMoE − Shared-Bottom, test AUC: \
                 income +0.0200 ± 0.0248 (within noise), never_married +0.1000 ± 0.0000; the \
                 mean difference ± its 95% interval."
            )
        );
        // Other seeds: no pairs, and it says so.
        let mut other = all.clone();
        other[1].seeds = vec![8, 9, 10];
        assert_eq!(paired(&other[1], &other[0]), None);
        assert!(latest_pair(&other).is_some_and(|t| t.contains("no seed pairs")));
        // Other rows (another p on the correlated tasks): no pairs either.
        let mut moved = all.clone();
        let mut e = Experiment::tutorial_on(ModelKind::Mmoe, DataKind::Correlated);
        moved[1].rows = e.data_key();
        e.p = 0.9;
        moved[0].rows = e.data_key();
        assert_eq!(paired(&moved[1], &moved[0]), None);
        assert_eq!(
            latest_pair(&all[..1]),
            None,
            "one sweep compares with nothing"
        );
    }

    #[test]
    fn band_reads_every_curve_at_the_first_ones_steps() {
        let a = [(1.0, 1.0), (2.0, 3.0), (3.0, 5.0)];
        // Validated at other steps: 4.0 at step 2 by interpolation; it ends before step 3.
        let b = [(0.5, 2.0), (1.5, 3.0), (2.5, 5.0)];
        let got = band(&[&a, &b]);
        assert_eq!(got.iter().map(|p| p.step).collect::<Vec<_>>(), [1.0, 2.0]);
        assert!((got[0].mean - 1.75).abs() < 1e-12, "{got:?}");
        assert_eq!((got[1].mean, got[1].sd), (3.5, 0.5f64.sqrt()));
        assert!(band(&[]).is_empty());
        assert_eq!(interpolate(&a, 0.5), None);
        assert_eq!(interpolate(&a, 3.0), Some(5.0));
    }
}
