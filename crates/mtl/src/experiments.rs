//! Experiments that print what they measure: a grid of models × data settings × seeds, trained
//! natively, summarised as mean ± sd per cell. `mtl experiment correlation` runs the MMoE
//! paper's task-correlation experiment (Ma et al., KDD 2018, section 3.2) on
//! [`crate::data::correlated`]; `mtl experiment funnel` pits ESMM against a naive CVR model on
//! [`crate::data::funnel`]. The README shows their tables.

use burn::tensor::Device;

use crate::data::{CorrelatedConfig, FunnelConfig, Split, correlated, funnel};
use crate::models::{ModelConfig, ModelKind, ModelSettings};
use crate::train::{EvalSet, Readback, Replicas, TrainConfig, Trainer};
use mtl_vocab::DataKind;
// The figures' colours: the project's one palette, as the page's charts use it.
use mtl_vocab::palette::PALETTE as COLOURS;

/// One model of an experiment: a kind and its settings, under a name for tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub name: &'static str,
    pub kind: ModelKind,
    pub settings: ModelSettings,
}

/// The correlated-tasks models at near-matched sizes on d = 16 (`mtl experiment` prints each
/// one's count; PLE's second level makes it the largest). The representation every task reads
/// is 4 wide, the bottleneck under which the paper's trend showed in our numpy check; the `_w8`
/// variants widen it to 8 (the capacity ablation).
pub fn correlation_variants() -> Vec<Variant> {
    let base = |kind: ModelKind| ModelSettings::for_data(kind, DataKind::Correlated);
    let variant = |name, kind, settings| Variant {
        name,
        kind,
        settings,
    };
    vec![
        variant(
            "shared_bottom",
            ModelKind::SharedBottom,
            base(ModelKind::SharedBottom),
        ),
        variant("omoe", ModelKind::Omoe, base(ModelKind::Omoe)),
        variant("mmoe", ModelKind::Mmoe, base(ModelKind::Mmoe)),
        variant("cgc", ModelKind::Cgc, base(ModelKind::Cgc)),
        variant("ple", ModelKind::Ple, base(ModelKind::Ple)),
        variant(
            "shared_bottom_w8",
            ModelKind::SharedBottom,
            ModelSettings {
                bottom_units: vec![48, 8],
                ..base(ModelKind::SharedBottom)
            },
        ),
        variant(
            "mmoe_w8",
            ModelKind::Mmoe,
            ModelSettings {
                expert_units: vec![12, 8],
                ..base(ModelKind::Mmoe)
            },
        ),
    ]
}

/// How each model is trained: Adam at `learning_rate`, `steps` batches of `batch_size`, the two
/// tasks' MSE weighted equally.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protocol {
    pub steps: usize,
    pub learning_rate: f64,
    pub batch_size: usize,
}

impl Default for Protocol {
    /// The correlated tasks' Adam and batch size (as the page trains them) for 1,500 steps, the
    /// check the issue reports.
    fn default() -> Self {
        let training = DataKind::Correlated.training();
        Self {
            steps: 1_500,
            learning_rate: training.learning_rate,
            batch_size: training.batch_size,
        }
    }
}

/// One trained model on one data draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub model: String,
    pub p: f64,
    pub seed: u64,
    pub params: usize,
    /// The mean of the two tasks' test MSE (labels standardised on the training split).
    pub test_loss: f64,
    /// The achieved label correlation of this draw.
    pub label_correlation: f64,
}

/// Draws the correlated data for `p` and `seed` (the generator's defaults otherwise), trains
/// `variant` on it with `protocol` (the model's seed is `seed` too) and scores the test split.
pub fn correlation_cell(
    variant: &Variant,
    p: f64,
    seed: u64,
    protocol: Protocol,
    device: &Device,
) -> Result<Cell, String> {
    let mut cells = correlation_cells(variant, &[(p, seed)], protocol, device)?;
    cells.pop().ok_or_else(|| "no cell was trained".into())
}

/// [`correlation_cell`] for every `(p, seed)` of `draws` at once: each draw's model is a
/// replica of one computation, on its own data, from its own seed, in its own batch order, so
/// each cell is what it would be alone.
pub fn correlation_cells(
    variant: &Variant,
    draws: &[(f64, u64)],
    protocol: Protocol,
    device: &Device,
) -> Result<Vec<Cell>, String> {
    let Some(mut run) = CorrelationRun::new(variant, draws, protocol, device)? else {
        return Ok(Vec::new());
    };
    while run.step() {}
    run.score().read().map_err(|e| e.to_string())
}

/// [`correlation_cells`] a step at a time, for a caller that must not block until the end (the
/// page's paper figure, in a worker that reports its progress and reads back asynchronously).
/// The same computation: each cell is what [`correlation_cell`] gives for its draw.
pub struct CorrelationRun {
    model: String,
    draws: Vec<(f64, u64)>,
    label_correlations: Vec<f64>,
    test: Vec<Split>,
    trainer: Trainer,
    steps: usize,
    done: usize,
}

impl CorrelationRun {
    /// Draws every `(p, seed)` of `draws` and builds their replicas; `None` for no draws.
    pub fn new(
        variant: &Variant,
        draws: &[(f64, u64)],
        protocol: Protocol,
        device: &Device,
    ) -> Result<Option<Self>, String> {
        let mut sets = Vec::with_capacity(draws.len());
        for &(p, seed) in draws {
            sets.push(correlated(&CorrelatedConfig {
                p,
                seed,
                ..CorrelatedConfig::default()
            })?);
        }
        let Some((first, _)) = sets.first() else {
            return Ok(None);
        };
        let seeds: Vec<u64> = draws.iter().map(|&(_, seed)| seed).collect();
        let config = TrainConfig::new()
            .with_learning_rate(protocol.learning_rate)
            .with_batch_size(protocol.batch_size);
        let train: Vec<&Split> = sets.iter().map(|(d, _)| &d.train).collect();
        let trainer = Trainer::new(
            ModelConfig::from_settings(variant.kind, &variant.settings),
            config,
            &first.input,
            first.tasks.clone(),
            &train,
            Replicas::each_on_its_data(&seeds),
            device,
        )
        .map_err(|e| e.to_string())?;
        let label_correlations = sets.iter().map(|(_, t)| t.label_correlation).collect();
        let test = sets.into_iter().map(|(d, _)| d.test).collect();
        Ok(Some(Self {
            model: variant.name.to_string(),
            draws: draws.to_vec(),
            label_correlations,
            test,
            trainer,
            steps: protocol.steps,
            done: 0,
        }))
    }

    /// Trains one batch of every replica, unless the protocol's steps are done; says whether
    /// it trained.
    pub fn step(&mut self) -> bool {
        if self.done >= self.steps {
            return false;
        }
        self.trainer.step();
        self.done += 1;
        true
    }

    /// The steps trained so far.
    pub fn steps_done(&self) -> usize {
        self.done
    }

    /// The steps the protocol trains.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Scores every replica on its draw's test split, as one read.
    pub fn score(&self) -> Readback<Vec<Cell>> {
        let test: Vec<&Split> = self.test.iter().collect();
        let test = match EvalSet::stack(&test, &self.trainer.eval_device()) {
            Ok(test) => test,
            Err(e) => return Readback::failed(e),
        };
        let model = self.model.clone();
        let draws = self.draws.clone();
        let label_correlations = self.label_correlations.clone();
        let params = self.trainer.num_params();
        self.trainer.evaluate_pending(&test).map(move |reports| {
            reports
                .iter()
                .zip(draws)
                .zip(label_correlations)
                .map(|((report, (p, seed)), label_correlation)| {
                    let losses: Vec<f64> = report.tasks.iter().map(|t| t.loss).collect();
                    Cell {
                        model: model.clone(),
                        p,
                        seed,
                        params,
                        test_loss: losses.iter().sum::<f64>() / losses.len() as f64,
                        label_correlation,
                    }
                })
                .collect()
        })
    }
}

/// One cell of the summary: a model at one `p`, over its seeds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    pub model: String,
    pub p: f64,
    pub seeds: usize,
    pub params: usize,
    pub test_loss_mean: f64,
    /// The sample standard deviation over seeds (0 with one seed).
    pub test_loss_sd: f64,
    pub label_correlation_mean: f64,
}

/// Mean and sample standard deviation (0 for one value); NaN for none.
fn mean_sd(values: &[f64]) -> (f64, f64) {
    mtl_stats::MeanSd::of(values).map_or((f64::NAN, f64::NAN), |m| (m.mean, m.sd))
}

/// `items` grouped by `key`, the groups in the order their keys first appear.
fn groups<'a, T, K: PartialEq>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<(K, Vec<&'a T>)> {
    let mut out: Vec<(K, Vec<&'a T>)> = Vec::new();
    for item in items {
        let k = key(item);
        match out.iter_mut().find(|(g, _)| *g == k) {
            Some((_, group)) => group.push(item),
            None => out.push((k, vec![item])),
        }
    }
    out
}

/// The cells grouped by model and `p`, in the order they first appear.
pub fn summarize(cells: &[Cell]) -> Vec<Row> {
    groups(cells, |c| (c.model.clone(), c.p.to_bits()))
        .into_iter()
        .map(|((model, p_bits), group)| {
            let losses: Vec<f64> = group.iter().map(|c| c.test_loss).collect();
            let (mean, sd) = mean_sd(&losses);
            let corr: Vec<f64> = group.iter().map(|c| c.label_correlation).collect();
            Row {
                model,
                p: f64::from_bits(p_bits),
                seeds: group.len(),
                params: group[0].params,
                test_loss_mean: mean,
                test_loss_sd: sd,
                label_correlation_mean: mean_sd(&corr).0,
            }
        })
        .collect()
}

/// Two setups' test losses compared seed by seed ([`mtl_stats::Paired`]): `model − baseline`
/// at one p, or (for [`deltas_from`]) one model at `p` against itself at another p (the same
/// seed draws the same inputs, initial weights and batch order at every p; only the labels'
/// relationship differs).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pair {
    pub model: String,
    /// What the model is measured against: another model at the same p, or the same model at
    /// `p = from`.
    pub baseline: String,
    pub p: f64,
    pub seeds: usize,
    pub diff_mean: f64,
    /// The 95% t-interval of the mean difference.
    pub ci95: [f64; 2],
    /// The interval contains 0.
    pub within_noise: bool,
}

impl Pair {
    fn of(model: &str, baseline: String, p: f64, a: &[f64], b: &[f64]) -> Option<Self> {
        let paired = mtl_stats::Paired::of(a, b)?;
        Some(Self {
            model: model.to_string(),
            baseline,
            p,
            seeds: paired.n(),
            diff_mean: paired.mean,
            ci95: paired.ci95(),
            within_noise: paired.within_noise(),
        })
    }
}

/// The seeds two groups of cells share, in order, with each one's loss.
fn matched(a: &[&Cell], b: &[&Cell]) -> (Vec<f64>, Vec<f64>) {
    let mut seeds: Vec<u64> = a
        .iter()
        .map(|c| c.seed)
        .filter(|s| b.iter().any(|c| c.seed == *s))
        .collect();
    seeds.sort_unstable();
    seeds.dedup();
    let loss = |cells: &[&Cell], seed: u64| {
        cells
            .iter()
            .find(|c| c.seed == seed)
            .map_or(f64::NAN, |c| c.test_loss)
    };
    (
        seeds.iter().map(|&s| loss(a, s)).collect(),
        seeds.iter().map(|&s| loss(b, s)).collect(),
    )
}

/// Every model against `baseline` at each p, paired by seed (the baseline itself left out).
pub fn pairs(cells: &[Cell], baseline: &str) -> Vec<Pair> {
    let grouped = groups(cells, |c| (c.model.clone(), c.p.to_bits()));
    let mut out = Vec::new();
    for ((model, p_bits), group) in &grouped {
        if model == baseline {
            continue;
        }
        let Some((_, base)) = grouped
            .iter()
            .find(|((m, p), _)| m == baseline && p == p_bits)
        else {
            continue;
        };
        let (a, b) = matched(group, base);
        out.extend(Pair::of(
            model,
            baseline.to_string(),
            f64::from_bits(*p_bits),
            &a,
            &b,
        ));
    }
    out
}

/// Each model's loss at every other p against its own at `from`, paired by seed: how much it
/// loses as the tasks part.
pub fn deltas_from(cells: &[Cell], from: f64) -> Vec<Pair> {
    let grouped = groups(cells, |c| (c.model.clone(), c.p.to_bits()));
    let mut out = Vec::new();
    for ((model, p_bits), group) in &grouped {
        if *p_bits == from.to_bits() {
            continue;
        }
        let Some((_, base)) = grouped
            .iter()
            .find(|((m, p), _)| m == model && *p == from.to_bits())
        else {
            continue;
        };
        let (a, b) = matched(group, base);
        out.extend(Pair::of(
            model,
            format!("{model} at p = {from}"),
            f64::from_bits(*p_bits),
            &a,
            &b,
        ));
    }
    out
}

/// The summary as CSV.
pub fn rows_csv(rows: &[Row]) -> String {
    let mut out =
        String::from("model,p,seeds,params,test_loss_mean,test_loss_sd,label_correlation_mean\n");
    for r in rows {
        out += &format!(
            "{},{},{},{},{:.5},{:.5},{:.4}\n",
            r.model,
            r.p,
            r.seeds,
            r.params,
            r.test_loss_mean,
            r.test_loss_sd,
            r.label_correlation_mean
        );
    }
    out
}

/// The summary as an SVG line chart: test loss against p (falling along the x axis, as the
/// tasks grow apart), one line per model, ±1 sd bars. Plain SVG, so no plotting crate.
pub fn rows_svg(rows: &[Row], title: &str) -> String {
    const W: f64 = 720.0;
    const H: f64 = 420.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 170.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 50.0;
    let mut ps: Vec<f64> = rows.iter().map(|r| r.p).collect();
    ps.sort_by(|a, b| b.total_cmp(a));
    ps.dedup();
    let models = groups(rows, |r| r.model.as_str());
    let hi = rows
        .iter()
        .map(|r| r.test_loss_mean + r.test_loss_sd)
        .fold(0.0f64, f64::max)
        * 1.1;
    // Up to a round number, so the five ticks are round too.
    let hi = if hi > 0.0 {
        let step = 10f64.powf(hi.log10().floor());
        (hi / step).ceil() * step
    } else {
        1.0
    };
    let x = |p: f64| {
        let i = ps.iter().position(|&q| q == p).unwrap_or(0) as f64;
        LEFT + (W - LEFT - RIGHT) * (i + 0.5) / ps.len().max(1) as f64
    };
    // Each model a few pixels aside, so the error bars do not hide each other.
    let nudge = |m: usize| (m as f64 - (models.len() as f64 - 1.0) / 2.0) * 5.0;
    let y = |v: f64| H - BOTTOM - (H - TOP - BOTTOM) * v / hi;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"15\">{title}</text>\n"
    );
    // Axes, ticks and labels.
    svg += &format!(
        "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>\n<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"#333\"/>\n",
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for i in 0..=5 {
        let v = hi * i as f64 / 5.0;
        svg += &format!(
            "<line x1=\"{}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.3}</text>\n",
            LEFT,
            W - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            y = y(v)
        );
    }
    for &p in &ps {
        svg += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">p = {p}</text>\n",
            x(p),
            H - BOTTOM + 18.0
        );
    }
    svg += &format!(
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">task correlation p (cosine of the weight vectors)</text>\n",
        (LEFT + W - RIGHT) / 2.0,
        H - 12.0
    );
    svg += &format!(
        "<text transform=\"rotate(-90 16 {:.1})\" x=\"16\" y=\"{:.1}\" text-anchor=\"middle\">mean test MSE (± 1 sd over seeds)</text>\n",
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0
    );
    for (m, (model, line)) in models.iter().enumerate() {
        let colour = COLOURS[m % COLOURS.len()];
        let dash = if model.ends_with("_w8") {
            " stroke-dasharray=\"6 3\""
        } else {
            ""
        };
        let mut line = line.clone();
        line.sort_by(|a, b| b.p.total_cmp(&a.p));
        let points: Vec<String> = line
            .iter()
            .map(|r| format!("{:.1},{:.1}", x(r.p) + nudge(m), y(r.test_loss_mean)))
            .collect();
        svg += &format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\n",
            points.join(" ")
        );
        for r in &line {
            let (cx, lo, hi) = (
                x(r.p) + nudge(m),
                y(r.test_loss_mean - r.test_loss_sd),
                y(r.test_loss_mean + r.test_loss_sd),
            );
            svg += &format!(
                "<line x1=\"{cx:.1}\" y1=\"{lo:.1}\" x2=\"{cx:.1}\" y2=\"{hi:.1}\" stroke=\"{colour}\"/><circle cx=\"{cx:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>\n",
                y(r.test_loss_mean)
            );
        }
        let ly = TOP + 10.0 + 20.0 * m as f64;
        svg += &format!(
            "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/><text x=\"{}\" y=\"{}\">{model}</text>\n",
            W - RIGHT + 12.0,
            W - RIGHT + 40.0,
            W - RIGHT + 46.0,
            ly + 4.0
        );
    }
    svg += "</svg>\n";
    svg
}

/// The funnel experiment's models: ESMM and the naive CVR model it is measured against, each
/// with and without one embedding table for both towers. ESMM without sharing is the paper's
/// ESMM-NS; the naive model sharing it learns its item representation from every impression
/// (through the CTR tower) while its CVR tower still learns from the clicked ones only. The
/// 2 × 2 separates what the entire-space CVR buys from what the shared representation buys.
/// The IPW model (the ESCM² idea) is the naive one with each clicked row weighted by 1 / pCTR.
pub fn funnel_variants() -> Vec<Variant> {
    let variant = |name, kind, shared| Variant {
        name,
        kind,
        settings: ModelSettings {
            shared_embedding: shared,
            ..ModelSettings::for_data(kind, DataKind::Funnel)
        },
    };
    vec![
        variant("esmm", ModelKind::Esmm, true),
        variant("esmm_ns", ModelKind::Esmm, false),
        variant("naive_cvr", ModelKind::NaiveCvr, false),
        variant("naive_cvr_shared", ModelKind::NaiveCvr, true),
        variant("ipw_cvr", ModelKind::IpwCvr, false),
    ]
}

/// How the funnel experiment draws and trains: `steps` batches, on a funnel whose hidden
/// factor weighs `confound` (0: none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunnelProtocol {
    pub steps: usize,
    pub confound: f64,
}

impl Default for FunnelProtocol {
    /// Ten epochs of the 16,000 training impressions at the funnel's batch size (625 steps),
    /// without the hidden factor.
    fn default() -> Self {
        Self {
            steps: 625,
            confound: 0.0,
        }
    }
}

/// One funnel model trained on one draw.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelCell {
    pub model: String,
    pub seed: u64,
    pub params: usize,
    /// CVR AUC over every test impression, against the counterfactual conversion labels.
    pub cvr_auc_all: f64,
    /// Mean squared error of the predicted pCVR against the true pCVR, every test impression.
    pub cvr_mse_true: f64,
}

/// Draws the funnel for `seed` (the generator's defaults otherwise) and trains `variant` (a
/// kind with a CVR head: ESMM or the naive CVR model) on it for `steps` batches of every
/// impression: the page's funnel sizes ([`ModelSettings::for_data`]), its Adam and batch size
/// ([`DataKind::training`]). Every model sees the same batches; the naive one learns CVR from
/// their clicked rows only.
pub fn funnel_cell(
    variant: &Variant,
    seed: u64,
    protocol: FunnelProtocol,
    device: &Device,
) -> Result<FunnelCell, String> {
    let mut cells = funnel_cells(variant, &[seed], protocol, device)?;
    cells.pop().ok_or_else(|| "no cell was trained".into())
}

/// [`funnel_cell`] for every seed at once, each seed's draw a replica of one computation.
pub fn funnel_cells(
    variant: &Variant,
    seeds: &[u64],
    protocol: FunnelProtocol,
    device: &Device,
) -> Result<Vec<FunnelCell>, String> {
    let model = variant.kind;
    if !model.predicts_cvr() {
        return Err(format!("{model} has no CVR head to score"));
    }
    let mut sets = Vec::with_capacity(seeds.len());
    for &seed in seeds {
        sets.push(funnel(&FunnelConfig {
            seed,
            confound: protocol.confound,
            ..FunnelConfig::default()
        })?);
    }
    let Some(first) = sets.first() else {
        return Ok(Vec::new());
    };
    let training = DataKind::Funnel.training();
    let config = TrainConfig::new()
        .with_learning_rate(training.learning_rate)
        .with_batch_size(training.batch_size)
        .with_loss_weights(vec![1.0; first.tasks.len()]);
    let train: Vec<&Split> = sets.iter().map(|d| &d.train).collect();
    let mut trainer = Trainer::new(
        ModelConfig::from_settings(model, &variant.settings),
        config,
        &first.input,
        first.tasks.clone(),
        &train,
        Replicas::each_on_its_data(seeds),
        device,
    )
    .map_err(|e| e.to_string())?;
    for _ in 0..protocol.steps {
        trainer.step();
    }
    let test: Vec<&Split> = sets.iter().map(|d| &d.test).collect();
    let test = EvalSet::stack(&test, &trainer.eval_device())
        .map_err(|e| e.to_string())?
        .with_cvr_truth(
            sets.iter()
                .map(|d| d.cvr_truth.as_ref().map(|t| t.test.clone()))
                .collect(),
        );
    let reports = trainer.evaluate(&test).map_err(|e| e.to_string())?;
    reports
        .into_iter()
        .zip(seeds)
        .map(|(report, &seed)| {
            let all = report.cvr_all.ok_or("the model gave no CVR predictions")?;
            Ok(FunnelCell {
                model: variant.name.to_string(),
                seed,
                params: trainer.num_params(),
                cvr_auc_all: all.auc.ok_or("one class only")?,
                cvr_mse_true: all.mse_true.unwrap_or(f64::NAN),
            })
        })
        .collect()
}

/// A funnel model over its seeds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FunnelRow {
    pub model: String,
    pub seeds: usize,
    pub params: usize,
    pub cvr_auc_all_mean: f64,
    pub cvr_auc_all_sd: f64,
    pub cvr_mse_true_mean: f64,
    pub cvr_mse_true_sd: f64,
}

pub fn summarize_funnel(cells: &[FunnelCell]) -> Vec<FunnelRow> {
    groups(cells, |c| c.model.as_str())
        .into_iter()
        .map(|(name, group)| {
            let auc: Vec<f64> = group.iter().map(|c| c.cvr_auc_all).collect();
            let mse: Vec<f64> = group.iter().map(|c| c.cvr_mse_true).collect();
            let ((am, asd), (mm, msd)) = (mean_sd(&auc), mean_sd(&mse));
            FunnelRow {
                model: name.to_string(),
                seeds: group.len(),
                params: group[0].params,
                cvr_auc_all_mean: am,
                cvr_auc_all_sd: asd,
                cvr_mse_true_mean: mm,
                cvr_mse_true_sd: msd,
            }
        })
        .collect()
}

/// A funnel model against a baseline, seed by seed, on both scores.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FunnelPair {
    pub model: String,
    pub baseline: String,
    pub seeds: usize,
    /// CVR AUC over every impression, `model − baseline`.
    pub cvr_auc_all: PairedScore,
    /// MSE against the true pCVR, `model − baseline`.
    pub cvr_mse_true: PairedScore,
}

/// One paired difference: its mean, 95% interval, and whether that holds 0.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PairedScore {
    pub diff_mean: f64,
    pub ci95: [f64; 2],
    pub within_noise: bool,
}

impl From<mtl_stats::Paired> for PairedScore {
    fn from(p: mtl_stats::Paired) -> Self {
        Self {
            diff_mean: p.mean,
            ci95: p.ci95(),
            within_noise: p.within_noise(),
        }
    }
}

/// Every funnel model against `baseline`, paired by seed.
pub fn funnel_pairs(cells: &[FunnelCell], baseline: &str) -> Vec<FunnelPair> {
    let grouped = groups(cells, |c| c.model.as_str());
    let Some((_, base)) = grouped.iter().find(|(m, _)| *m == baseline) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (model, group) in &grouped {
        if *model == baseline {
            continue;
        }
        let seeds: Vec<u64> = group
            .iter()
            .map(|c| c.seed)
            .filter(|s| base.iter().any(|b| b.seed == *s))
            .collect();
        let pick = |cells: &[&FunnelCell], score: fn(&FunnelCell) -> f64| -> Vec<f64> {
            seeds
                .iter()
                .map(|s| {
                    cells
                        .iter()
                        .find(|c| c.seed == *s)
                        .map_or(f64::NAN, |c| score(c))
                })
                .collect()
        };
        let paired = |score: fn(&FunnelCell) -> f64| {
            mtl_stats::Paired::of(&pick(group, score), &pick(base, score))
        };
        if let (Some(auc), Some(mse)) = (paired(|c| c.cvr_auc_all), paired(|c| c.cvr_mse_true)) {
            out.push(FunnelPair {
                model: model.to_string(),
                baseline: baseline.to_string(),
                seeds: seeds.len(),
                cvr_auc_all: auc.into(),
                cvr_mse_true: mse.into(),
            });
        }
    }
    out
}

pub fn funnel_csv(rows: &[FunnelRow]) -> String {
    let mut out = String::from(
        "model,seeds,params,cvr_auc_all_mean,cvr_auc_all_sd,cvr_mse_true_mean,cvr_mse_true_sd\n",
    );
    for r in rows {
        out += &format!(
            "{},{},{},{:.4},{:.4},{:.5},{:.5}\n",
            r.model,
            r.seeds,
            r.params,
            r.cvr_auc_all_mean,
            r.cvr_auc_all_sd,
            r.cvr_mse_true_mean,
            r.cvr_mse_true_sd
        );
    }
    out
}

/// The funnel summary as an SVG bar chart: CVR AUC over every impression per model, ±1 sd
/// bars, the axis from 0.5 (chance) up.
pub fn funnel_svg(rows: &[FunnelRow], title: &str) -> String {
    const W: f64 = 520.0;
    const H: f64 = 320.0;
    const LEFT: f64 = 70.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 50.0;
    let (lo, hi) = (0.5, 1.0);
    let y = |v: f64| H - BOTTOM - (H - TOP - BOTTOM) * ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    let slot = (W - LEFT - 20.0) / rows.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"15\">{title}</text>\n"
    );
    for i in 0..=5 {
        let v = lo + (hi - lo) * i as f64 / 5.0;
        svg += &format!(
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.1}</text>\n",
            W - 20.0,
            LEFT - 6.0,
            y(v) + 4.0,
            y = y(v)
        );
    }
    svg += &format!(
        "<text transform=\"rotate(-90 16 {m:.1})\" x=\"16\" y=\"{m:.1}\" text-anchor=\"middle\">CVR AUC, every test impression (± 1 sd)</text>\n",
        m = (TOP + H - BOTTOM) / 2.0
    );
    for (i, r) in rows.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let (x, width) = (LEFT + slot * i as f64 + slot * 0.25, slot * 0.5);
        let top = y(r.cvr_auc_all_mean);
        svg += &format!(
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>\n",
            H - BOTTOM - top
        );
        let cx = x + width / 2.0;
        svg += &format!(
            "<line x1=\"{cx:.1}\" y1=\"{:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"#333\" stroke-width=\"2\"/>\n",
            y(r.cvr_auc_all_mean - r.cvr_auc_all_sd),
            y(r.cvr_auc_all_mean + r.cvr_auc_all_sd)
        );
        svg += &format!(
            "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:.3}</text>\n<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            y(r.cvr_auc_all_mean + r.cvr_auc_all_sd) - 6.0,
            r.cvr_auc_all_mean,
            H - BOTTOM + 18.0,
            r.model
        );
    }
    svg += &format!(
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{}\" y2=\"{b}\" stroke=\"#333\"/>\n</svg>\n",
        W - 20.0,
        b = H - BOTTOM
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experiments_variants_have_matched_sizes_and_a_narrow_representation() {
        let (data, _) = correlated(&CorrelatedConfig {
            train_rows: 64,
            valid_rows: 8,
            test_rows: 8,
            ..CorrelatedConfig::default()
        })
        .unwrap();
        for v in correlation_variants() {
            let t = Trainer::new(
                ModelConfig::from_settings(v.kind, &v.settings),
                TrainConfig::new().with_batch_size(16),
                &data.input,
                data.tasks.clone(),
                &[&data.train],
                Replicas::one(1),
                &Device::flex(),
            )
            .unwrap();
            let n = t.num_params();
            assert!((1_000..=1_800).contains(&n), "{}: {n} parameters", v.name);
        }
        // Shared-Bottom 16→48→4, towers 4→8→1: the 1,110 parameters.
        let sb = &correlation_variants()[0];
        let t = Trainer::new(
            ModelConfig::from_settings(sb.kind, &sb.settings),
            TrainConfig::new().with_batch_size(16),
            &data.input,
            data.tasks.clone(),
            &[&data.train],
            Replicas::one(1),
            &Device::flex(),
        )
        .unwrap();
        assert_eq!(t.num_params(), 1_110);
    }

    #[test]
    fn experiments_summary_is_mean_and_sample_sd_per_cell() {
        let cell = |model: &str, p: f64, seed: u64, loss: f64| Cell {
            model: model.into(),
            p,
            seed,
            params: 10,
            test_loss: loss,
            label_correlation: p / 2.0,
        };
        let cells = [
            cell("a", 1.0, 1, 0.1),
            cell("a", 1.0, 2, 0.3),
            cell("a", 0.0, 1, 0.5),
            cell("b", 1.0, 1, 0.2),
        ];
        let rows = summarize(&cells);
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].seeds, rows[0].test_loss_mean), (2, 0.2));
        assert!((rows[0].test_loss_sd - 0.1414).abs() < 1e-3);
        assert_eq!((rows[1].p, rows[1].test_loss_sd), (0.0, 0.0));
        let csv = rows_csv(&rows);
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.lines().nth(1).unwrap().starts_with("a,1,2,10,0.20000,"));
        let svg = rows_svg(&rows, "t");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("p = 0") && svg.ends_with("</svg>\n"));
    }

    #[test]
    fn experiments_pairs_are_paired_by_seed() {
        let cell = |model: &str, p: f64, seed: u64, loss: f64| Cell {
            model: model.into(),
            p,
            seed,
            params: 10,
            test_loss: loss,
            label_correlation: p,
        };
        // Shared-Bottom is 0.1 worse than MMoE on every seed, whatever each seed's level;
        // the seeds come in another order for one model.
        let cells = [
            cell("mmoe", 1.0, 1, 0.5),
            cell("mmoe", 1.0, 2, 0.9),
            cell("mmoe", 1.0, 3, 0.2),
            cell("shared_bottom", 1.0, 3, 0.3),
            cell("shared_bottom", 1.0, 1, 0.6),
            cell("shared_bottom", 1.0, 2, 1.0),
            cell("mmoe", 0.0, 1, 0.6),
            cell("mmoe", 0.0, 2, 1.2),
            cell("mmoe", 0.0, 3, 0.2),
        ];
        let p = pairs(&cells, "mmoe");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            (p[0].model.as_str(), p[0].baseline.as_str()),
            ("shared_bottom", "mmoe")
        );
        assert_eq!(p[0].seeds, 3);
        assert!((p[0].diff_mean - 0.1).abs() < 1e-12 && !p[0].within_noise);
        assert!((p[0].ci95[0] - 0.1).abs() < 1e-9 && (p[0].ci95[1] - 0.1).abs() < 1e-9);
        // MMoE from p = 1 to p = 0: +0.1, +0.3, 0.0; mean 0.1333, sd 0.1528, t(2) = 4.3027:
        // half-width 0.3795, so within noise.
        let d = deltas_from(&cells, 1.0);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].model.as_str(), d[0].p), ("mmoe", 0.0));
        assert!((d[0].diff_mean - 0.4 / 3.0).abs() < 1e-12);
        assert!(
            (d[0].ci95[1] - d[0].diff_mean - 0.3795).abs() < 1e-3,
            "{d:?}"
        );
        assert!(d[0].within_noise);
    }

    #[test]
    fn experiments_cells_as_replicas_equal_cells_one_at_a_time() {
        let v = &correlation_variants()[2];
        let protocol = Protocol {
            steps: 40,
            ..Protocol::default()
        };
        let draws = [(1.0, 4), (0.5, 5), (0.0, 6)];
        let together = correlation_cells(v, &draws, protocol, &Device::flex()).unwrap();
        for (cell, &(p, seed)) in together.iter().zip(&draws) {
            let alone = correlation_cell(v, p, seed, protocol, &Device::flex()).unwrap();
            assert_eq!((cell.p, cell.seed), (p, seed));
            assert!(
                (cell.test_loss - alone.test_loss).abs() < 1e-4,
                "p {p} seed {seed}: {} together, {} alone",
                cell.test_loss,
                alone.test_loss
            );
        }
        let funnel = &funnel_variants()[2];
        let short = FunnelProtocol {
            steps: 20,
            confound: 1.0,
        };
        let together = funnel_cells(funnel, &[7, 8], short, &Device::flex()).unwrap();
        let alone = funnel_cell(funnel, 8, short, &Device::flex()).unwrap();
        assert!((together[1].cvr_auc_all - alone.cvr_auc_all).abs() < 1e-4);
        assert!((together[1].cvr_mse_true - alone.cvr_mse_true).abs() < 1e-4);
    }

    #[test]
    fn experiments_a_short_cell_trains_and_scores() {
        let v = &correlation_variants()[2];
        let protocol = Protocol {
            steps: 30,
            ..Protocol::default()
        };
        let cell = correlation_cell(v, 0.5, 3, protocol, &Device::flex()).unwrap();
        assert_eq!((cell.model.as_str(), cell.seed), ("mmoe", 3));
        assert!(cell.test_loss.is_finite() && cell.test_loss > 0.0);
        assert!(cell.label_correlation > 0.0 && cell.label_correlation < 0.5);
    }

    #[test]
    fn experiments_funnel_cells_score_cvr_over_all_impressions() {
        let variants = funnel_variants();
        let short = FunnelProtocol {
            steps: 20,
            ..FunnelProtocol::default()
        };
        let esmm = funnel_cell(&variants[0], 2, short, &Device::flex()).unwrap();
        let naive = funnel_cell(&variants[2], 2, short, &Device::flex()).unwrap();
        let mmoe = Variant {
            name: "mmoe",
            kind: ModelKind::Mmoe,
            settings: ModelSettings::for_data(ModelKind::Mmoe, DataKind::Funnel),
        };
        assert!(funnel_cell(&mmoe, 2, short, &Device::flex()).is_err());
        let names: Vec<&str> = variants.iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            [
                "esmm",
                "esmm_ns",
                "naive_cvr",
                "naive_cvr_shared",
                "ipw_cvr"
            ]
        );
        assert!(variants[0].settings.shared_embedding && !variants[1].settings.shared_embedding);
        for c in [&esmm, &naive] {
            assert!(c.cvr_auc_all > 0.3 && c.cvr_auc_all < 1.0, "{c:?}");
            assert!(c.cvr_mse_true.is_finite() && c.cvr_mse_true < 0.5, "{c:?}");
        }
        assert_eq!(
            (esmm.model.as_str(), naive.model.as_str()),
            ("esmm", "naive_cvr")
        );
        let pairs = funnel_pairs(&[esmm.clone(), naive.clone()], "esmm");
        assert_eq!((pairs.len(), pairs[0].seeds), (1, 1));
        assert!(
            (pairs[0].cvr_auc_all.diff_mean - (naive.cvr_auc_all - esmm.cvr_auc_all)).abs() < 1e-12
        );
        let rows = summarize_funnel(&[esmm.clone(), naive, esmm]);
        assert_eq!((rows.len(), rows[0].seeds, rows[1].seeds), (2, 2, 1));
        assert!(funnel_csv(&rows).starts_with("model,seeds,params,cvr_auc_all_mean"));
        let svg = funnel_svg(&rows, "t");
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 2);
        assert!(svg.contains(">esmm<") && svg.ends_with("</svg>\n"));
    }
}
