//! Scoring a split: the model without autodiff over the whole split in chunks, every
//! prediction and gate mean kept on the device and read back at once, then loss, AUC and log loss
//! per task on the host.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use super::error::TrainError;
use super::metrics;
use super::readback::{Readback, f32_values, transaction};
use super::trainer::{Trainer, per_replica};
use crate::data::{CvrTruth, DeviceSplit, Split, TaskKind, TaskSpec};
use crate::models::{GateInfo, ModelInput, ModelKind};

/// One or more splits of one shape on the evaluation device (a trainer's replicas each score
/// the one their training data came with), with their labels kept on the host for the metrics.
#[derive(Debug, Clone)]
pub struct EvalSet {
    pub data: DeviceSplit,
    /// Per data set, per task.
    pub labels: Vec<Vec<Vec<f32>>>,
    /// Per data set: the funnel's counterfactual conversions and true pCVR for these rows, if
    /// the data has them: a CVR head is then scored over every impression too
    /// ([`EvalReport::cvr_all`]).
    pub cvr_truth: Vec<Option<CvrTruth>>,
}

impl EvalSet {
    /// Uploads `split` to `device` (the trainer's [`Trainer::eval_device`]).
    pub fn new(split: &Split, device: &Device) -> Self {
        Self::stack(&[split], device).expect("one split always stacks")
    }

    /// Uploads `splits` (data set d is `splits[d]`, as the trainer's) to `device`. They must
    /// have one shape.
    pub fn stack(splits: &[&Split], device: &Device) -> Result<Self, TrainError> {
        Ok(Self {
            data: DeviceSplit::stack(splits, device)?,
            labels: splits
                .iter()
                .map(|split| (0..split.n_tasks).map(|t| split.task_labels(t)).collect())
                .collect(),
            cvr_truth: vec![None; splits.len()],
        })
    }

    /// The set with the funnel's truth for each data set's rows (`None` leaves one without).
    pub fn with_cvr_truth(self, truth: Vec<Option<CvrTruth>>) -> Self {
        Self {
            cvr_truth: truth,
            ..self
        }
    }
}

/// Replica-rows per forward pass during evaluation: fewer rows per pass with more replicas,
/// so the memory a pass takes does not grow with them.
const EVAL_ROWS: usize = 4096;
/// Rows per forward pass, at least.
const MIN_EVAL_CHUNK: usize = 256;

impl Trainer {
    /// Runs every replica without autodiff over its data set's split; the scores, one report per
    /// replica, come with the read.
    pub fn evaluate_pending(&self, set: &EvalSet) -> Readback<Vec<EvalReport>> {
        let data = self.replicas().data.clone();
        if data.iter().any(|&d| d >= set.data.datasets) {
            return Readback::failed(TrainError::InvalidSetting(format!(
                "the evaluation set has {} data sets; the replicas need {}",
                set.data.datasets,
                data.iter().max().map_or(0, |d| d + 1)
            )));
        }
        let model = self.model().valid();
        let replicas = data.len();
        let n = set.data.len;
        let chunk = (EVAL_ROWS / replicas).max(MIN_EVAL_CHUNK);
        let mut preds: Vec<Vec<Tensor<3>>> = vec![Vec::new(); self.tasks().len()];
        let mut cvr = Vec::new();
        let mut gate_sums: Vec<Option<Tensor<3>>> = vec![None; self.gate_layout().len()];
        // Per gate and replica, the sum over rows of each row's entropy.
        let mut entropy_sums: Vec<Option<Tensor<3>>> = vec![None; self.gate_layout().len()];
        let add = |acc: &mut Option<Tensor<3>>, value: Tensor<3>| {
            *acc = Some(match acc.take() {
                Some(sum) => sum + value,
                None => value,
            });
        };
        let mut start = 0;
        while start < n {
            let end = (start + chunk).min(n);
            let batch = set.data.range(&data, start, end);
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
                // [R, rows, experts] -> [R, 1, 1] and [R, 1, experts]
                let h = (g.clone() * g.clone().clamp_min(1e-12).log())
                    .sum_dim(2)
                    .sum_dim(1)
                    .neg();
                add(entropy, h);
                add(sum, g.sum_dim(1));
            }
            start = end;
        }
        let flatten = |parts: Vec<Tensor<3>>| Tensor::cat(parts, 1).reshape([replicas * n]);
        let eval = Evaluation {
            predictions: preds.into_iter().map(flatten).collect(),
            cvr: (!cvr.is_empty()).then(|| flatten(cvr)),
            gate_means: gate_sums
                .into_iter()
                .flatten()
                .map(|s| (s / n.max(1) as f32).reshape([-1]))
                .collect(),
            gate_entropy: entropy_sums
                .into_iter()
                .flatten()
                .map(|h| h.reshape([replicas]))
                .collect(),
            rows: n,
            data,
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

    /// Evaluates a split, blocking (natively): one report per replica.
    pub fn evaluate(&self, set: &EvalSet) -> Result<Vec<EvalReport>, TrainError> {
        self.evaluate_pending(set).read()
    }
}

/// An evaluation still on the device: every tensor flattened, replica after replica.
struct Evaluation {
    predictions: Vec<Tensor<1>>,
    cvr: Option<Tensor<1>>,
    gate_means: Vec<Tensor<1>>,
    gate_entropy: Vec<Tensor<1>>,
    rows: usize,
    /// Each replica's data set.
    data: Vec<usize>,
    labels: Vec<Vec<Vec<f32>>>,
    cvr_truth: Vec<Option<CvrTruth>>,
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

/// One replica's numbers of an evaluation, read back.
struct ReplicaValues {
    predictions: Vec<Vec<f32>>,
    cvr: Option<Vec<f32>>,
    gate_means: Vec<Vec<f32>>,
    gate_entropy: Vec<f32>,
}

impl Evaluation {
    fn finish(self, data: Vec<TensorData>) -> Result<Vec<EvalReport>, TrainError> {
        let replicas = self.data.len();
        let mut values = f32_values(data)?.into_iter();
        let mut next = || {
            values
                .next()
                .map(|v| per_replica(v, replicas))
                .ok_or_else(|| TrainError::Read("missing tensor".into()))
        };
        let predictions: Vec<Vec<Vec<f32>>> = (0..self.tasks.len())
            .map(|_| next())
            .collect::<Result<_, _>>()?;
        let cvr = match self.cvr {
            Some(_) => Some(next()?),
            None => None,
        };
        let gate_means: Vec<Vec<Vec<f32>>> = (0..self.gates.len())
            .map(|_| next())
            .collect::<Result<_, _>>()?;
        let gate_entropy: Vec<Vec<Vec<f32>>> = (0..self.gates.len())
            .map(|_| next())
            .collect::<Result<_, _>>()?;
        (0..replicas)
            .map(|r| {
                self.report(
                    r,
                    ReplicaValues {
                        predictions: predictions.iter().map(|p| p[r].clone()).collect(),
                        cvr: cvr.as_ref().map(|c| c[r].clone()),
                        gate_means: gate_means.iter().map(|g| g[r].clone()).collect(),
                        gate_entropy: gate_entropy
                            .iter()
                            .map(|h| h[r].first().copied().unwrap_or(f32::NAN))
                            .collect(),
                    },
                )
            })
            .collect()
    }

    /// Replica `r`'s report, against its data set's labels.
    fn report(&self, r: usize, v: ReplicaValues) -> Result<EvalReport, TrainError> {
        let d = self.data[r];
        let labels = &self.labels[d];
        let tasks = self
            .tasks
            .iter()
            .zip(labels)
            .zip(&v.predictions)
            .map(|((task, labels), p)| score(&task.name, task.kind, p, labels))
            .collect();
        let mut cvr_all = None;
        let cvr = v.cvr.as_ref().map(|p| {
            if let Some(truth) = &self.cvr_truth[d] {
                let mut all = score("cvr_all", TaskKind::Binary, p, &truth.label);
                all.mse_true = Some(metrics::mse(p, &truth.p));
                cvr_all = Some(all);
            }
            let clicked: Vec<usize> = (0..p.len()).filter(|&i| labels[0][i] > 0.5).collect();
            let p: Vec<f32> = clicked.iter().map(|&i| p[i]).collect();
            let y: Vec<f32> = clicked.iter().map(|&i| labels[1][i]).collect();
            score("cvr", TaskKind::Binary, &p, &y)
        });
        let gates: Vec<GateSummary> = self
            .gates
            .iter()
            .zip(v.gate_means)
            .zip(v.gate_entropy)
            .map(|((info, mean), entropy)| {
                let max = (info.experts.len().max(2) as f32).ln();
                GateSummary {
                    gate: info.clone(),
                    mean,
                    row_entropy: entropy / self.rows.max(1) as f32 / max,
                }
            })
            .collect();
        debug_assert!(self.kind.has_gates() || gates.is_empty());
        Ok(EvalReport {
            tasks,
            cvr,
            gates,
            predictions: v.predictions,
            cvr_all,
            cvr_predictions: v.cvr,
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
