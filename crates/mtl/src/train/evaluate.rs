//! Scoring a split: the model without autodiff over the whole split in chunks, every
//! prediction and gate mean kept on the device and read back at once, then loss, AUC and log loss
//! per task on the host.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use super::metrics;
use super::readback::{Readback, f32_values, transaction};
use super::trainer::{TrainError, Trainer};
use crate::data::{CvrTruth, DeviceSplit, Split, TaskKind, TaskSpec};
use crate::models::{GateInfo, ModelInput, ModelKind};

/// A split on the evaluation device, with its labels kept on the host for the metrics.
#[derive(Debug, Clone)]
pub struct EvalSet {
    pub data: DeviceSplit,
    /// Per task.
    pub labels: Vec<Vec<f32>>,
    /// The funnel's counterfactual conversions and true pCVR for these rows, if the data has
    /// them: a CVR head is then scored over every impression too ([`EvalReport::cvr_all`]).
    pub cvr_truth: Option<CvrTruth>,
}

impl EvalSet {
    /// Uploads `split` to `device` (the trainer's [`Trainer::eval_device`]).
    pub fn new(split: &Split, device: &Device) -> Self {
        Self {
            data: split.to_device(device),
            labels: (0..split.n_tasks).map(|t| split.task_labels(t)).collect(),
            cvr_truth: None,
        }
    }

    /// The set with the funnel's truth for its rows (`None` leaves it without).
    pub fn with_cvr_truth(self, truth: Option<&CvrTruth>) -> Self {
        Self {
            cvr_truth: truth.cloned(),
            ..self
        }
    }
}

/// Rows per forward pass during evaluation.
const EVAL_CHUNK: usize = 4096;

impl Trainer {
    /// Runs the model without autodiff over a whole split; the scores come with the read.
    pub fn evaluate_pending(&self, set: &EvalSet) -> Readback<EvalReport> {
        let model = self.model().valid();
        let n = set.data.len;
        let mut preds: Vec<Vec<Tensor<2>>> = vec![Vec::new(); self.tasks().len()];
        let mut cvr = Vec::new();
        let mut gate_sums: Vec<Option<Tensor<1>>> = vec![None; self.gate_layout().len()];
        // Per gate, the sum over rows of each row's entropy (a one-element tensor).
        let mut entropy_sums: Vec<Option<Tensor<1>>> = vec![None; self.gate_layout().len()];
        let mut start = 0;
        while start < n {
            let end = (start + EVAL_CHUNK).min(n);
            let batch = set.data.range(start, end);
            let out = model.forward(&ModelInput::from(&batch));
            for (t, task) in self.tasks().iter().enumerate() {
                preds[t].push(match task.kind {
                    TaskKind::Binary => out.tasks[t].probability(),
                    TaskKind::Regression => out.tasks[t].raw(),
                });
            }
            if let Some(p) = out.cvr {
                cvr.push(p);
            }
            for ((sum, entropy), g) in gate_sums
                .iter_mut()
                .zip(entropy_sums.iter_mut())
                .zip(out.gates)
            {
                let h = (g.clone() * g.clone().clamp_min(1e-12).log()).sum().neg();
                *entropy = Some(match entropy.take() {
                    Some(acc) => acc + h,
                    None => h,
                });
                let s = g.sum_dim(0).squeeze_dim::<1>(0);
                *sum = Some(match sum.take() {
                    Some(acc) => acc + s,
                    None => s,
                });
            }
            start = end;
        }
        let flatten = |parts: Vec<Tensor<2>>| Tensor::cat(parts, 0).reshape([n]);
        let eval = Evaluation {
            predictions: preds.into_iter().map(flatten).collect(),
            cvr: (!cvr.is_empty()).then(|| flatten(cvr)),
            gate_means: gate_sums
                .into_iter()
                .flatten()
                .map(|s| s / n.max(1) as f32)
                .collect(),
            gate_entropy: entropy_sums.into_iter().flatten().collect(),
            rows: n,
            labels: set.labels.clone(),
            cvr_truth: set.cvr_truth.clone(),
            tasks: self.tasks().to_vec(),
            gates: self.gate_layout().gates.clone(),
            kind: self.model_config().kind,
        };
        let tx = transaction(
            eval.predictions
                .iter()
                .chain(&eval.cvr)
                .chain(&eval.gate_means)
                .chain(&eval.gate_entropy),
        );
        Readback::new(tx, move |data| eval.finish(data))
    }

    /// Evaluates a split, blocking (natively).
    pub fn evaluate(&self, set: &EvalSet) -> Result<EvalReport, TrainError> {
        self.evaluate_pending(set).read()
    }
}

/// An evaluation still on the device.
struct Evaluation {
    predictions: Vec<Tensor<1>>,
    cvr: Option<Tensor<1>>,
    gate_means: Vec<Tensor<1>>,
    gate_entropy: Vec<Tensor<1>>,
    rows: usize,
    labels: Vec<Vec<f32>>,
    cvr_truth: Option<CvrTruth>,
    tasks: Vec<TaskSpec>,
    gates: Vec<GateInfo>,
    kind: ModelKind,
}

/// Loss, AUC and log loss of one task over a split.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskMetrics {
    pub name: String,
    /// The training objective's term for this task (log loss for binary tasks, MSE otherwise).
    pub loss: f64,
    /// `None` where undefined (one class only, or a regression task).
    pub auc: Option<f64>,
    pub logloss: Option<f64>,
    /// Regression tasks: 1 − MSE / the labels' variance (`None` for binary tasks).
    pub r2: Option<f64>,
    /// The mean squared error against the true probability, where the data knows it (the
    /// funnel's pCVR); `None` elsewhere.
    #[serde(default)]
    pub mse_true: Option<f64>,
    pub samples: usize,
}

/// One gate's mean weight per expert over a split, and how each row spreads its weight.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateSummary {
    pub gate: GateInfo,
    pub mean: Vec<f32>,
    /// The mean over rows of each row's gate entropy, over ln(n): 1 when every row weighs its
    /// experts alike, near 0 when each row puts its weight on one expert. Two gates with the
    /// same mean weights (a uniform gate, and one that sends half the rows to E0 and half to
    /// E1) differ here.
    #[serde(default)]
    pub row_entropy: f32,
}

/// Everything an evaluation tells.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalReport {
    pub tasks: Vec<TaskMetrics>,
    /// The CVR head (ESMM, naive CVR), scored where logs define it: on the rows whose first
    /// label is 1 ("clicked"), against the second label.
    pub cvr: Option<TaskMetrics>,
    /// The CVR head scored over every impression, clicked or not, against the counterfactual
    /// conversions (AUC, log loss) and the true pCVR (`mse_true`): what only synthetic data can
    /// tell, and where the naive model's selection bias shows.
    #[serde(default)]
    pub cvr_all: Option<TaskMetrics>,
    pub gates: Vec<GateSummary>,
    /// Per task, the prediction for every row (probabilities for binary tasks). Not serialised.
    #[serde(skip)]
    pub predictions: Vec<Vec<f32>>,
    /// The pCVR of every row, clicked or not. Not serialised.
    #[serde(skip)]
    pub cvr_predictions: Option<Vec<f32>>,
}

impl EvalReport {
    /// The weighted sum of task losses, which early stopping watches.
    pub fn weighted_loss(&self, weights: &[f32]) -> f64 {
        self.tasks
            .iter()
            .zip(weights)
            .map(|(m, &w)| m.loss * w as f64)
            .sum()
    }

    pub fn task(&self, name: &str) -> Option<&TaskMetrics> {
        self.tasks.iter().find(|t| t.name == name)
    }
}

impl Evaluation {
    fn finish(self, data: Vec<TensorData>) -> Result<EvalReport, TrainError> {
        let mut values = f32_values(data)?.into_iter();
        let mut next = || {
            values
                .next()
                .ok_or_else(|| TrainError::Read("missing tensor".into()))
        };
        let mut tasks = Vec::with_capacity(self.tasks.len());
        let mut predictions = Vec::with_capacity(self.tasks.len());
        for (task, labels) in self.tasks.iter().zip(&self.labels) {
            let p = next()?;
            tasks.push(score(&task.name, task.kind, &p, labels));
            predictions.push(p);
        }
        let mut cvr_predictions = None;
        let mut cvr_all = None;
        let cvr = match self.cvr {
            Some(_) => {
                let p = next()?;
                if let Some(truth) = &self.cvr_truth {
                    let mut all = score("cvr_all", TaskKind::Binary, &p, &truth.label);
                    all.mse_true = Some(metrics::mse(&p, &truth.p));
                    cvr_all = Some(all);
                }
                cvr_predictions = Some(p.clone());
                let clicked: Vec<usize> =
                    (0..p.len()).filter(|&i| self.labels[0][i] > 0.5).collect();
                let p: Vec<f32> = clicked.iter().map(|&i| p[i]).collect();
                let y: Vec<f32> = clicked.iter().map(|&i| self.labels[1][i]).collect();
                Some(score("cvr", TaskKind::Binary, &p, &y))
            }
            None => None,
        };
        let mut means = Vec::with_capacity(self.gates.len());
        for _ in &self.gates {
            means.push(next()?);
        }
        let mut gates = Vec::with_capacity(self.gates.len());
        for (info, mean) in self.gates.into_iter().zip(means) {
            let entropy = next()?.first().copied().unwrap_or(f32::NAN);
            let max = (info.experts.len().max(2) as f32).ln();
            gates.push(GateSummary {
                gate: info,
                mean,
                row_entropy: entropy / self.rows.max(1) as f32 / max,
            });
        }
        debug_assert!(self.kind.has_gates() || gates.is_empty());
        Ok(EvalReport {
            tasks,
            cvr,
            gates,
            predictions,
            cvr_all,
            cvr_predictions,
        })
    }
}

fn score(name: &str, kind: TaskKind, predictions: &[f32], labels: &[f32]) -> TaskMetrics {
    match kind {
        TaskKind::Binary => {
            let logloss = metrics::logloss(predictions, labels);
            TaskMetrics {
                name: name.to_string(),
                loss: logloss,
                auc: metrics::auc(predictions, labels),
                logloss: Some(logloss),
                r2: None,
                mse_true: None,
                samples: labels.len(),
            }
        }
        TaskKind::Regression => {
            let mse = metrics::mse(predictions, labels);
            let n = labels.len().max(1) as f64;
            let mean = labels.iter().map(|&y| y as f64).sum::<f64>() / n;
            let var = labels
                .iter()
                .map(|&y| (y as f64 - mean).powi(2))
                .sum::<f64>()
                / n;
            TaskMetrics {
                name: name.to_string(),
                loss: mse,
                auc: None,
                logloss: None,
                r2: (var > 0.0).then(|| 1.0 - mse / var),
                mse_true: None,
                samples: labels.len(),
            }
        }
    }
}
