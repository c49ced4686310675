//! The step-wise trainer: one batch per call, so a UI (or the CLI) drives the loop and decides
//! when to read numbers back. Reads are explicit ([`PendingStep::read`] natively,
//! [`PendingStep::read_async`] in a browser) and batch several tensors in one `Transaction`.

use burn::config::Config;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData, Transaction};

use super::export::{ModelFile, PendingExport};
use super::loss::task_loss;
use super::metrics;
use crate::data::{DeviceSplit, InputSpec, Split, SplitMix64, TaskKind, TaskSpec};
use crate::models::{ConfigError, GateInfo, ModelConfig, ModelInput, ModelKind, MtlModel};

/// Optimiser and batching settings. Defaults are the tutorial's (Keras's Adam, batch 256).
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    #[config(default = 0.9)]
    pub beta_1: f32,
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// Keras's default, not Burn's 1e-5.
    #[config(default = 1e-7)]
    pub epsilon: f32,
    #[config(default = 256)]
    pub batch_size: usize,
    /// Per-task weights of the summed loss.
    #[config(default = "vec![1.0, 1.0]")]
    pub loss_weights: Vec<f32>,
    /// Seeds the initial weights and the batch order.
    #[config(default = 1)]
    pub seed: u64,
}

/// Bounds on the training settings; values outside are refused with a message.
pub const MAX_LEARNING_RATE: f64 = 10.0;
pub const MAX_BATCH_SIZE: usize = 8192;

impl TrainConfig {
    pub fn validate(&self, tasks: usize) -> Result<(), TrainError> {
        let bad = |reason: String| Err(TrainError::InvalidSetting(reason));
        if !(self.learning_rate > 0.0 && self.learning_rate <= MAX_LEARNING_RATE) {
            return bad(format!(
                "learning rate must be in (0, {MAX_LEARNING_RATE}], got {}",
                self.learning_rate
            ));
        }
        if !(0.0..1.0).contains(&self.beta_1) || !(0.0..1.0).contains(&self.beta_2) {
            return bad("Adam's betas must be in [0, 1)".into());
        }
        if !(self.epsilon > 0.0 && self.epsilon < 1.0) {
            return bad(format!(
                "Adam's epsilon must be in (0, 1), got {}",
                self.epsilon
            ));
        }
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return bad(format!(
                "batch size must be between 1 and {MAX_BATCH_SIZE}, got {}",
                self.batch_size
            ));
        }
        if self.loss_weights.len() != tasks {
            return bad(format!(
                "need one loss weight per task ({tasks}), got {}",
                self.loss_weights.len()
            ));
        }
        if self
            .loss_weights
            .iter()
            .any(|w| !w.is_finite() || *w < 0.0 || *w > 100.0)
        {
            return bad("loss weights must be between 0 and 100".into());
        }
        if self.loss_weights.iter().all(|w| *w == 0.0) {
            return bad("at least one loss weight must be above 0".into());
        }
        Ok(())
    }
}

/// Why training cannot go on, in words for the user.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TrainError {
    #[error("invalid model: {0}")]
    Model(#[from] ConfigError),
    #[error("invalid training setting: {0}")]
    InvalidSetting(String),
    #[error(
        "the {task} loss became {value} at step {step}. {hint} Training stopped; reset to start again."
    )]
    NonFinite {
        step: u64,
        task: String,
        value: f32,
        hint: String,
    },
    #[error("could not read results back from the device: {0}")]
    Read(String),
    #[error("this model file cannot be used: {0}")]
    ModelFile(String),
}

/// Reads a transaction's tensors back, blocking. Natively only: a blocking read panics in a
/// browser.
pub fn read_all(transaction: Transaction) -> Result<Vec<TensorData>, TrainError> {
    transaction
        .try_execute()
        .map_err(|e| TrainError::Read(format!("{e:?}")))
}

/// Reads a transaction's tensors back without blocking (the browser's way).
pub async fn read_all_async(transaction: Transaction) -> Result<Vec<TensorData>, TrainError> {
    transaction
        .execute_async()
        .await
        .map_err(|e| TrainError::Read(format!("{e:?}")))
}

/// Tensors read back, as `f32` vectors in the order they were registered.
pub fn f32_values(data: Vec<TensorData>) -> Result<Vec<Vec<f32>>, TrainError> {
    data.into_iter()
        .map(|d| {
            d.try_into_vec::<f32>()
                .map_err(|e| TrainError::Read(format!("{e:?}")))
        })
        .collect()
}

/// A split on the evaluation device, with its labels kept on the host for the metrics.
#[derive(Debug, Clone)]
pub struct EvalSet {
    pub data: DeviceSplit,
    /// Per task.
    pub labels: Vec<Vec<f32>>,
}

impl EvalSet {
    /// Uploads `split` to `device` (the trainer's [`Trainer::eval_device`]).
    pub fn new(split: &Split, device: &Device) -> Self {
        Self {
            data: split.to_device(device),
            labels: (0..split.n_tasks).map(|t| split.task_labels(t)).collect(),
        }
    }
}

/// Touches every parameter, so lazily initialised ones are drawn now.
struct ForceInit;

impl ModuleVisitor for ForceInit {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Serialises seeding and weight initialisation across threads.
static SEED_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Rows per forward pass during evaluation.
const EVAL_CHUNK: usize = 4096;

pub struct Trainer {
    model: MtlModel,
    optim: ModuleOptimizer,
    model_config: ModelConfig,
    config: TrainConfig,
    input: InputSpec,
    tasks: Vec<TaskSpec>,
    gates: Vec<GateInfo>,
    train: DeviceSplit,
    device: Device,
    rng: SplitMix64,
    /// This epoch's row order, on the device.
    order: Tensor<1, Int>,
    cursor: usize,
    epoch: usize,
    steps: u64,
}

/// The result of one step, still on the device. Reading it is the caller's choice.
#[derive(Debug, Clone)]
pub struct PendingStep {
    /// `[tasks]` mean loss per task for this batch (without the L2 term).
    pub losses: Tensor<1>,
    /// Per gate, `[experts]` mean weights over the batch.
    pub gates: Vec<Tensor<1>>,
    pub step: u64,
    /// Completed epochs after this step.
    pub epoch: usize,
    /// True when this step finished an epoch.
    pub epoch_done: bool,
    pub batch_size: usize,
    learning_rate: f64,
    task_names: Vec<String>,
}

/// One step's numbers on the host.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    pub step: u64,
    pub epoch: usize,
    pub epoch_done: bool,
    pub batch_size: usize,
    /// Per task.
    pub losses: Vec<f32>,
    /// Per gate, per expert: the batch's mean gate weight.
    pub gates: Vec<Vec<f32>>,
}

impl PendingStep {
    fn transaction(&self) -> Transaction {
        let mut tx = Transaction::default().register(self.losses.clone());
        for g in &self.gates {
            tx = tx.register(g.clone());
        }
        tx
    }

    fn finish(self, data: Vec<TensorData>) -> Result<StepReport, TrainError> {
        let mut values = f32_values(data)?.into_iter();
        let losses = values.next().ok_or(TrainError::Read("no losses".into()))?;
        let gates = values.collect();
        check_finite(&losses, &self.task_names, self.step, self.learning_rate)?;
        Ok(StepReport {
            step: self.step,
            epoch: self.epoch,
            epoch_done: self.epoch_done,
            batch_size: self.batch_size,
            losses,
            gates,
        })
    }

    /// Reads the step back, blocking. Natively only: a blocking read panics in a browser.
    pub fn read(self) -> Result<StepReport, TrainError> {
        let data = read_all(self.transaction())?;
        self.finish(data)
    }

    /// Reads the step back without blocking (the browser's way).
    pub async fn read_async(self) -> Result<StepReport, TrainError> {
        let data = read_all_async(self.transaction()).await?;
        self.finish(data)
    }
}

/// Refuses a NaN or infinite loss with a message naming the task and the step, and what to try.
pub fn check_finite(
    losses: &[f32],
    names: &[String],
    step: u64,
    lr: f64,
) -> Result<(), TrainError> {
    if let Some((t, &value)) = losses.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        let hint = if lr > 0.01 {
            format!("The learning rate {lr} is probably too high; try 0.001.")
        } else {
            "The weights diverged; try a lower learning rate or smaller loss weights.".to_string()
        };
        return Err(TrainError::NonFinite {
            step,
            task: names.get(t).cloned().unwrap_or_default(),
            value,
            hint,
        });
    }
    Ok(())
}

impl Trainer {
    /// Builds the model on `device` (autodiff is added here) and uploads the training split once.
    pub fn new(
        model_config: ModelConfig,
        config: TrainConfig,
        spec: &InputSpec,
        tasks: Vec<TaskSpec>,
        train: &Split,
        device: &Device,
    ) -> Result<Self, TrainError> {
        config.validate(tasks.len())?;
        let device = device.clone().autodiff();
        let model = {
            // The seed may be process-wide: hold it until the weights are drawn.
            let _guard = SEED_LOCK
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            device.seed(config.seed);
            let model = model_config.init(spec, tasks.len(), &device)?;
            // Burn draws parameters lazily, at first use. Draw them now, under the lock, or a
            // model built on another thread in between would take this seed's numbers.
            model.visit(&mut ForceInit);
            model
        };
        let optim = AdamConfig::new()
            .with_beta_1(config.beta_1)
            .with_beta_2(config.beta_2)
            .with_epsilon(config.epsilon)
            .init();
        let mut rng = SplitMix64::new(config.seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let train_data = train.to_device(&device);
        let order = shuffled_order(&mut rng, train.len, &device);
        let gates = model_config.gate_layout(tasks.len());
        Ok(Self {
            model,
            optim,
            model_config,
            config,
            input: spec.clone(),
            tasks,
            gates,
            train: train_data,
            device,
            rng,
            order,
            cursor: 0,
            epoch: 0,
            steps: 0,
        })
    }

    pub fn model(&self) -> &MtlModel {
        &self.model
    }

    pub fn model_config(&self) -> &ModelConfig {
        &self.model_config
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    pub fn tasks(&self) -> &[TaskSpec] {
        &self.tasks
    }

    pub fn gate_layout(&self) -> &[GateInfo] {
        &self.gates
    }

    pub fn num_params(&self) -> usize {
        self.model.num_params()
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Completed epochs.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The fraction of the current epoch done, in [0, 1).
    pub fn epoch_progress(&self) -> f64 {
        self.cursor as f64 / self.train.len.max(1) as f64
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.train.len.div_ceil(self.config.batch_size)
    }

    /// The device evaluation data belongs on (the training device without autodiff).
    pub fn eval_device(&self) -> Device {
        self.device.clone().inner()
    }

    /// Changes the learning rate from the next step on; Adam's state is kept.
    pub fn set_learning_rate(&mut self, lr: f64) -> Result<(), TrainError> {
        let config = self.config.clone().with_learning_rate(lr);
        config.validate(self.tasks.len())?;
        self.config = config;
        Ok(())
    }

    /// Changes the per-task loss weights from the next step on.
    pub fn set_loss_weights(&mut self, weights: Vec<f32>) -> Result<(), TrainError> {
        let config = self.config.clone().with_loss_weights(weights);
        config.validate(self.tasks.len())?;
        self.config = config;
        Ok(())
    }

    /// Replaces the weights (early stopping restores the best ones this way).
    pub fn restore(&mut self, model: MtlModel) {
        self.model = model;
    }

    /// Trains on one batch.
    pub fn step(&mut self) -> PendingStep {
        let end = (self.cursor + self.config.batch_size).min(self.train.len);
        let batch = self
            .train
            .gather(self.order.clone().slice(self.cursor..end));
        let batch_size = end - self.cursor;
        let output = self.model.forward(&ModelInput::from(&batch));

        let mut losses = Vec::with_capacity(self.tasks.len());
        let mut total = self.model.embedding_penalty() * self.model_config.l2_embedding;
        for (t, task) in self.tasks.iter().enumerate() {
            let labels = batch.labels.clone().slice([0..batch_size, t..t + 1]);
            let loss = task_loss(&output.tasks[t], labels, task.kind);
            total = total + loss.clone() * self.config.loss_weights[t];
            losses.push(loss.detach());
        }
        let gates = output
            .gates
            .iter()
            .map(|g| g.clone().detach().mean_dim(0).squeeze_dim::<1>(0))
            .collect();

        let grads = GradientsParams::from_grads(total.backward(), &self.model);
        self.model = self
            .optim
            .step(self.config.learning_rate, self.model.clone(), grads);

        self.steps += 1;
        self.cursor = end;
        let epoch_done = self.cursor >= self.train.len;
        if epoch_done {
            self.epoch += 1;
            self.cursor = 0;
            self.order = shuffled_order(&mut self.rng, self.train.len, &self.device);
        }
        PendingStep {
            losses: Tensor::cat(losses, 0),
            gates,
            step: self.steps,
            epoch: self.epoch,
            epoch_done,
            batch_size,
            learning_rate: self.config.learning_rate,
            task_names: self.tasks.iter().map(|t| t.name.clone()).collect(),
        }
    }

    /// Runs the model without autodiff over a whole split, keeping results on the device.
    pub fn evaluate_pending(&self, set: &EvalSet) -> PendingEval {
        let model = self.model.valid();
        let n = set.data.len;
        let mut preds: Vec<Vec<Tensor<2>>> = vec![Vec::new(); self.tasks.len()];
        let mut cvr = Vec::new();
        let mut gate_sums: Vec<Option<Tensor<1>>> = vec![None; self.gates.len()];
        let mut start = 0;
        while start < n {
            let end = (start + EVAL_CHUNK).min(n);
            let batch = set.data.range(start, end);
            let out = model.forward(&ModelInput::from(&batch));
            for (t, task) in self.tasks.iter().enumerate() {
                preds[t].push(match task.kind {
                    TaskKind::Binary => out.tasks[t].probability(),
                    TaskKind::Regression => out.tasks[t].raw(),
                });
            }
            if let Some(p) = out.cvr {
                cvr.push(p);
            }
            for (sum, g) in gate_sums.iter_mut().zip(out.gates) {
                let s = g.sum_dim(0).squeeze_dim::<1>(0);
                *sum = Some(match sum.take() {
                    Some(acc) => acc + s,
                    None => s,
                });
            }
            start = end;
        }
        let flatten = |parts: Vec<Tensor<2>>| Tensor::cat(parts, 0).reshape([n]);
        PendingEval {
            predictions: preds.into_iter().map(flatten).collect(),
            cvr: (!cvr.is_empty()).then(|| flatten(cvr)),
            gate_means: gate_sums
                .into_iter()
                .flatten()
                .map(|s| s / n.max(1) as f32)
                .collect(),
            labels: set.labels.clone(),
            tasks: self.tasks.clone(),
            gates: self.gates.clone(),
            kind: self.model_config.kind,
        }
    }

    /// The weights as they stand, on their way to a model file ([`PendingExport::read`] natively,
    /// [`PendingExport::read_async`] in a browser).
    pub fn export_pending(&self) -> PendingExport {
        PendingExport::new(
            self.model.valid(),
            ModelFile {
                config: self.model_config.clone(),
                tasks: self.tasks.clone(),
                input: self.input.clone(),
                steps: self.steps,
            },
        )
    }

    /// Evaluates a split, blocking (natively).
    pub fn evaluate(&self, set: &EvalSet) -> Result<EvalReport, TrainError> {
        self.evaluate_pending(set).read()
    }
}

fn shuffled_order(rng: &mut SplitMix64, len: usize, device: &Device) -> Tensor<1, Int> {
    let mut order: Vec<i64> = (0..len as i64).collect();
    rng.shuffle(&mut order);
    Tensor::from_data(TensorData::new(order, [len]), device)
}

/// An evaluation still on the device.
#[derive(Debug, Clone)]
pub struct PendingEval {
    predictions: Vec<Tensor<1>>,
    cvr: Option<Tensor<1>>,
    gate_means: Vec<Tensor<1>>,
    labels: Vec<Vec<f32>>,
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
    pub samples: usize,
}

/// One gate's mean weight per expert over a split.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateSummary {
    pub gate: GateInfo,
    pub mean: Vec<f32>,
}

/// Everything an evaluation tells.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalReport {
    pub tasks: Vec<TaskMetrics>,
    /// ESMM's CVR head, scored where it is defined: on the rows whose first label is 1
    /// ("clicked"), against the second label.
    pub cvr: Option<TaskMetrics>,
    pub gates: Vec<GateSummary>,
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

impl PendingEval {
    fn transaction(&self) -> Transaction {
        let mut tx = Transaction::default();
        for t in self
            .predictions
            .iter()
            .chain(&self.cvr)
            .chain(&self.gate_means)
        {
            tx = tx.register(t.clone());
        }
        tx
    }

    pub fn read(self) -> Result<EvalReport, TrainError> {
        let data = read_all(self.transaction())?;
        self.finish(data)
    }

    pub async fn read_async(self) -> Result<EvalReport, TrainError> {
        let data = read_all_async(self.transaction()).await?;
        self.finish(data)
    }

    fn finish(self, data: Vec<TensorData>) -> Result<EvalReport, TrainError> {
        let mut values = f32_values(data)?.into_iter();
        let mut next = || {
            values
                .next()
                .ok_or_else(|| TrainError::Read("missing tensor".into()))
        };
        let mut tasks = Vec::with_capacity(self.tasks.len());
        for (task, labels) in self.tasks.iter().zip(&self.labels) {
            let p = next()?;
            tasks.push(score(&task.name, task.kind, &p, labels));
        }
        let cvr = match self.cvr {
            Some(_) => {
                let p = next()?;
                let clicked: Vec<usize> =
                    (0..p.len()).filter(|&i| self.labels[0][i] > 0.5).collect();
                let p: Vec<f32> = clicked.iter().map(|&i| p[i]).collect();
                let y: Vec<f32> = clicked.iter().map(|&i| self.labels[1][i]).collect();
                Some(score("cvr", TaskKind::Binary, &p, &y))
            }
            None => None,
        };
        let mut gates = Vec::with_capacity(self.gates.len());
        for info in self.gates {
            gates.push(GateSummary {
                gate: info,
                mean: next()?,
            });
        }
        debug_assert!(self.kind.has_gates() || gates.is_empty());
        Ok(EvalReport { tasks, cvr, gates })
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
                samples: labels.len(),
            }
        }
        TaskKind::Regression => TaskMetrics {
            name: name.to_string(),
            loss: metrics::mse(predictions, labels),
            auc: None,
            logloss: None,
            samples: labels.len(),
        },
    }
}

#[cfg(test)]
impl Trainer {
    /// The first batch of the current epoch, for gradient tests.
    pub(crate) fn train_batch_for_test(&self) -> crate::data::Batch {
        let end = self.config.batch_size.min(self.train.len);
        self.train.gather(self.order.clone().slice(0..end))
    }
}

#[cfg(test)]
mod check_tests {
    #[test]
    fn check_finite_names_the_task_and_the_cause() {
        let names = vec!["income".to_string(), "never_married".to_string()];
        assert!(super::check_finite(&[0.3, 0.2], &names, 1, 1e-3).is_ok());
        let err = super::check_finite(&[0.3, f32::NAN], &names, 7, 0.5).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("never_married") && message.contains("step 7"),
            "{message}"
        );
        assert!(message.contains("learning rate 0.5"), "{message}");
    }
}
