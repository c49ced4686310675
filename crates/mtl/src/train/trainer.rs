//! The step-wise trainer: one batch per call, so a UI (or the CLI) drives the loop and decides
//! when to read numbers back. Reads are explicit: each result comes as a [`Readback`]
//! (`read` natively, `read_async` in a browser) of several tensors in one `Transaction`.

use burn::config::Config;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::export::{ModelFile, export_readback};
use super::loss::task_loss;
use super::readback::{Readback, f32_values, transaction};
use crate::data::{Batch, DeviceSplit, InputSpec, Split, SplitMix64, TaskSpec};
use crate::models::{ConfigError, GateLayout, ModelConfig, ModelInput, ModelOutput, MtlModel};

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

/// Touches every parameter, so lazily initialised ones are drawn now.
struct ForceInit;

impl ModuleVisitor for ForceInit {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Serialises seeding and weight initialisation across threads.
static SEED_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub struct Trainer {
    model: MtlModel,
    optim: ModuleOptimizer,
    model_config: ModelConfig,
    config: TrainConfig,
    input: InputSpec,
    tasks: Vec<TaskSpec>,
    gates: GateLayout,
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
    /// The step's losses and gate means, to read back; a NaN or infinite loss is an error.
    pub fn readback(self) -> Readback<StepReport> {
        let tx = transaction(std::iter::once(&self.losses).chain(&self.gates));
        Readback::new(tx, move |data| {
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
        })
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

    pub fn gate_layout(&self) -> &GateLayout {
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

    /// Task `t`'s term of the objective (unweighted) for a forward pass over `batch`.
    fn task_term(&self, output: &ModelOutput, batch: &Batch, t: usize) -> Tensor<1> {
        let rows = batch.labels.dims()[0];
        let labels = batch.labels.clone().slice([0..rows, t..t + 1]);
        let first = batch.labels.clone().slice([0..rows, 0..1]);
        task_loss(&output.tasks[t], labels, first, self.tasks[t].kind)
    }

    /// Task `t`'s loss on `batch` alone, from a forward pass of its own.
    pub(crate) fn task_loss_on(&self, batch: &Batch, t: usize) -> Tensor<1> {
        let output = self.model.forward(&ModelInput::from(batch));
        self.task_term(&output, batch, t)
    }

    /// The batch the next step trains on.
    pub(crate) fn next_batch(&self) -> Batch {
        let end = (self.cursor + self.config.batch_size).min(self.train.len);
        self.train
            .gather(self.order.clone().slice(self.cursor..end))
    }

    /// The training objective on `batch`: each task's loss weighted as configured, plus the L2
    /// penalty on the embeddings (none without them). Also the model's output, and each task's
    /// own loss, detached, for the reports.
    pub(crate) fn objective(&self, batch: &Batch) -> (ModelOutput, Tensor<1>, Vec<Tensor<1>>) {
        let output = self.model.forward(&ModelInput::from(batch));
        let mut losses = Vec::with_capacity(self.tasks.len());
        let mut total = match self.model.embedding_penalty() {
            Some(penalty) => penalty * self.model_config.l2_embedding,
            None => Tensor::zeros([1], &self.device),
        };
        for t in 0..self.tasks.len() {
            let loss = self.task_term(&output, batch, t);
            total = total + loss.clone() * self.config.loss_weights[t];
            losses.push(loss.detach());
        }
        (output, total, losses)
    }

    /// Trains on one batch.
    pub fn step(&mut self) -> PendingStep {
        let end = (self.cursor + self.config.batch_size).min(self.train.len);
        let batch = self.next_batch();
        let batch_size = end - self.cursor;
        let (output, total, losses) = self.objective(&batch);
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

    /// The weights as they stand, on their way to a model file's bytes.
    pub fn export_pending(&self) -> Readback<Vec<u8>> {
        export_readback(
            self.model.valid(),
            ModelFile {
                config: self.model_config.clone(),
                tasks: self.tasks.clone(),
                input: self.input.clone(),
                steps: self.steps,
            },
        )
    }
}

fn shuffled_order(rng: &mut SplitMix64, len: usize, device: &Device) -> Tensor<1, Int> {
    let mut order: Vec<i64> = (0..len as i64).collect();
    rng.shuffle(&mut order);
    Tensor::from_data(TensorData::new(order, [len]), device)
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
        assert!(
            message.contains("learning rate 0.5 is probably too high"),
            "{message}"
        );
        // Below 0.01 the rate is not blamed: the hint says the weights diverged.
        let low = super::check_finite(&[f32::INFINITY, 0.2], &names, 3, 1e-3)
            .unwrap_err()
            .to_string();
        assert!(low.contains("income") && low.contains("diverged"), "{low}");
        assert!(!low.contains("too high"), "{low}");
    }
}
