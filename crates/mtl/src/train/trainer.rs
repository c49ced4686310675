//! The step-wise trainer: one batch per call, so a UI (or the CLI) drives the loop and decides
//! when to read numbers back. Reads are explicit: each result comes as a [`Readback`]
//! (`read` natively, `read_async` in a browser) of several tensors in one `Transaction`.
//!
//! A trainer trains R replicas of one model side by side in one set of tensors ([`Replicas`]):
//! each has its own seed (its initial weights and its batch order, or the first replica's order
//! for a paired design) and its own data set, if the data differ. The objective is the sum of
//! the replicas' objectives, so each replica's gradient, and its Adam update (which is
//! element-wise), are exactly what it would get alone; one replica is the plain model.

use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::error::TrainError;
use super::export::{ModelFile, export_readback};
use super::loss::task_loss;
use super::readback::{Readback, f32_values, transaction};
use crate::data::{Batch, DeviceSplit, InputSpec, Split, SplitMix64, TaskSpec};
use crate::models::{GateLayout, ModelConfig, ModelInput, ModelOutput, MtlModel};

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
    /// Rows per step, for each replica.
    #[config(default = 256)]
    pub batch_size: usize,
    /// Per-task weights of the summed loss.
    #[config(default = "vec![1.0, 1.0]")]
    pub loss_weights: Vec<f32>,
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

/// The replicas a trainer trains side by side: one entry per replica.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicas {
    /// Each replica's seed: its initial weights and, unless `shared_order`, its batch order.
    pub seeds: Vec<u64>,
    /// Each replica's data set: an index into the training splits the trainer is given.
    pub data: Vec<usize>,
    /// Every replica reads the batches in the first replica's order (a paired design: the same
    /// rows at the same step), rather than in its own seed's.
    pub shared_order: bool,
}

impl Replicas {
    /// One model of `seed`: today's plain training run.
    pub fn one(seed: u64) -> Self {
        Self::seeds(&[seed])
    }

    /// One replica per seed, all on the first data set, each in its own seed's order: a seed
    /// sweep of one setup.
    pub fn seeds(seeds: &[u64]) -> Self {
        Self {
            seeds: seeds.to_vec(),
            data: vec![0; seeds.len()],
            shared_order: false,
        }
    }

    /// One replica per seed, replica r on data set r (data drawn from its seed, or one p each).
    pub fn each_on_its_data(seeds: &[u64]) -> Self {
        Self {
            seeds: seeds.to_vec(),
            data: (0..seeds.len()).collect(),
            shared_order: false,
        }
    }

    pub fn len(&self) -> usize {
        self.seeds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seeds.is_empty()
    }

    fn validate(&self, datasets: usize) -> Result<(), TrainError> {
        let max = crate::models::limits::MAX_REPLICAS;
        if self.seeds.is_empty() || self.seeds.len() > max {
            return Err(TrainError::InvalidSetting(format!(
                "replicas must be between 1 and {max}, got {}",
                self.seeds.len()
            )));
        }
        if self.data.len() != self.seeds.len() || self.data.iter().any(|&d| d >= datasets) {
            return Err(TrainError::InvalidSetting(format!(
                "each of the {} replicas needs one of the {datasets} data sets",
                self.seeds.len()
            )));
        }
        Ok(())
    }

    /// A replica's batch-order generator: the seed scrambled, as it always was.
    fn order_rng(seed: u64) -> SplitMix64 {
        SplitMix64::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D))
    }
}

pub struct Trainer {
    model: MtlModel,
    optim: ModuleOptimizer,
    model_config: ModelConfig,
    config: TrainConfig,
    replicas: Replicas,
    input: InputSpec,
    tasks: Vec<TaskSpec>,
    gates: GateLayout,
    train: DeviceSplit,
    device: Device,
    /// One generator per replica, or one for all with a shared order.
    rngs: Vec<SplitMix64>,
    /// This epoch's row order of every replica, `[R, rows]`, each offset to its data set's
    /// first row; on the device.
    order: Tensor<2, Int>,
    cursor: usize,
    epoch: usize,
    steps: u64,
}

/// The result of one step, still on the device. Reading it is the caller's choice.
#[derive(Debug, Clone)]
pub struct PendingStep {
    /// `[R, tasks]` mean loss per replica and task for this batch (without the L2 term).
    pub losses: Tensor<2>,
    /// Per gate, `[R, experts]` mean weights over each replica's batch.
    pub gates: Vec<Tensor<2>>,
    pub step: u64,
    /// Completed epochs after this step.
    pub epoch: usize,
    /// True when this step finished an epoch.
    pub epoch_done: bool,
    /// Rows per replica in this step.
    pub batch_size: usize,
    learning_rate: f64,
    task_names: Vec<String>,
    seeds: Vec<u64>,
}

/// One replica's numbers of a step, on the host.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReplicaStep {
    /// Per task.
    pub losses: Vec<f32>,
    /// Per gate, per expert: the batch's mean gate weight.
    pub gates: Vec<Vec<f32>>,
}

/// One step's numbers on the host.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    pub step: u64,
    pub epoch: usize,
    pub epoch_done: bool,
    /// Rows per replica.
    pub batch_size: usize,
    /// One per replica.
    pub replicas: Vec<ReplicaStep>,
}

/// `[R · width]` values read back as R rows of `width`.
pub fn per_replica(values: Vec<f32>, replicas: usize) -> Vec<Vec<f32>> {
    let width = values.len() / replicas.max(1);
    if width == 0 {
        return vec![Vec::new(); replicas];
    }
    values.chunks(width).map(<[f32]>::to_vec).collect()
}

/// The tasks' names as an error names them: with the replica's seed when there are several.
pub fn task_names_of(names: &[String], seeds: &[u64], r: usize) -> Vec<String> {
    if seeds.len() <= 1 {
        names.to_vec()
    } else {
        names
            .iter()
            .map(|n| format!("{n} (seed {})", seeds[r]))
            .collect()
    }
}

impl PendingStep {
    /// The step's losses and gate means, to read back; a NaN or infinite loss is an error.
    pub fn readback(self) -> Readback<StepReport> {
        let tx = transaction(
            std::iter::once(self.losses.clone().reshape([-1]))
                .chain(self.gates.iter().map(|g| g.clone().reshape([-1]))),
        );
        Readback::new(tx, move |data| {
            let r = self.seeds.len();
            let mut values = f32_values(data)?.into_iter();
            let losses = values.next().ok_or(TrainError::Read("no losses".into()))?;
            let losses = per_replica(losses, r);
            let gates: Vec<Vec<Vec<f32>>> = values.map(|g| per_replica(g, r)).collect();
            for (i, l) in losses.iter().enumerate() {
                let names = task_names_of(&self.task_names, &self.seeds, i);
                check_finite(l, &names, self.step, self.learning_rate)?;
            }
            Ok(StepReport {
                step: self.step,
                epoch: self.epoch,
                epoch_done: self.epoch_done,
                batch_size: self.batch_size,
                replicas: losses
                    .into_iter()
                    .enumerate()
                    .map(|(i, losses)| ReplicaStep {
                        losses,
                        gates: gates.iter().map(|g| g[i].clone()).collect(),
                    })
                    .collect(),
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
    /// Builds the replicas' model on `device` (autodiff is added here), each replica drawn from
    /// its seed, and uploads the training splits once (`train[d]` is data set d; they must have
    /// one shape).
    pub fn new(
        model_config: ModelConfig,
        config: TrainConfig,
        spec: &InputSpec,
        tasks: Vec<TaskSpec>,
        train: &[&Split],
        replicas: Replicas,
        device: &Device,
    ) -> Result<Self, TrainError> {
        config.validate(tasks.len())?;
        replicas.validate(train.len())?;
        let device = device.clone().autodiff();
        let model = model_config.init_replicas(spec, tasks.len(), &replicas.seeds, &device)?;
        let optim = AdamConfig::new()
            .with_beta_1(config.beta_1)
            .with_beta_2(config.beta_2)
            .with_epsilon(config.epsilon)
            .init();
        let train_data = DeviceSplit::stack(train, &device)?;
        let rngs = if replicas.shared_order {
            vec![Replicas::order_rng(replicas.seeds[0])]
        } else {
            replicas
                .seeds
                .iter()
                .map(|&s| Replicas::order_rng(s))
                .collect()
        };
        let gates = model_config.gate_layout(tasks.len());
        let mut trainer = Self {
            model,
            optim,
            model_config,
            config,
            replicas,
            input: spec.clone(),
            tasks,
            gates,
            train: train_data,
            device: device.clone(),
            rngs,
            order: Tensor::zeros([1, 1], &device),
            cursor: 0,
            epoch: 0,
            steps: 0,
        };
        trainer.order = trainer.shuffled_order();
        Ok(trainer)
    }

    /// The next epoch's row order of every replica, each offset to its data set.
    fn shuffled_order(&mut self) -> Tensor<2, Int> {
        let len = self.train.len;
        let orders: Vec<Vec<i64>> = self
            .rngs
            .iter_mut()
            .map(|rng| {
                let mut order: Vec<i64> = (0..len as i64).collect();
                rng.shuffle(&mut order);
                order
            })
            .collect();
        let r = self.replicas.len();
        let rows: Vec<i64> = (0..r)
            .flat_map(|i| {
                let first = (self.replicas.data[i] * len) as i64;
                orders[i.min(orders.len() - 1)]
                    .iter()
                    .map(move |&row| row + first)
            })
            .collect();
        Tensor::from_data(TensorData::new(rows, [r, len]), &self.device)
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

    pub fn replicas(&self) -> &Replicas {
        &self.replicas
    }

    pub fn tasks(&self) -> &[TaskSpec] {
        &self.tasks
    }

    pub fn gate_layout(&self) -> &GateLayout {
        &self.gates
    }

    /// The parameters of one replica: the model's size as a learner knows it.
    pub fn num_params(&self) -> usize {
        self.model.params_per_replica()
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

    /// Replaces the weights (selection restores the best ones this way).
    pub fn restore(&mut self, model: MtlModel) {
        self.model = model;
    }

    /// Task `t`'s term of the objective (unweighted), per replica `[R]`, for a forward pass
    /// over `batch`.
    fn task_term(&self, output: &ModelOutput, batch: &Batch, t: usize) -> Tensor<1> {
        let [r, rows, _] = batch.labels.dims();
        let labels = batch.labels.clone().slice([0..r, 0..rows, t..t + 1]);
        let first = batch.labels.clone().slice([0..r, 0..rows, 0..1]);
        task_loss(&output.tasks[t], labels, first, self.tasks[t].kind)
    }

    /// Task `t`'s loss on `batch` alone, per replica `[R]`, from a forward pass of its own.
    pub(crate) fn task_loss_on(&self, batch: &Batch, t: usize) -> Tensor<1> {
        let output = self.model.forward(&ModelInput::from(batch));
        self.task_term(&output, batch, t)
    }

    /// The batch the next step trains on.
    pub(crate) fn next_batch(&self) -> Batch {
        let end = (self.cursor + self.config.batch_size).min(self.train.len);
        let r = self.replicas.len();
        self.train
            .gather(self.order.clone().slice([0..r, self.cursor..end]))
    }

    /// The training objective on `batch`: the sum over replicas of each one's task losses
    /// weighted as configured, plus the L2 penalty on the embeddings (none without them). Also
    /// the model's output, and each task's own loss per replica (`[R]`), detached, for the
    /// reports.
    pub(crate) fn objective(&self, batch: &Batch) -> (ModelOutput, Tensor<1>, Vec<Tensor<1>>) {
        let output = self.model.forward(&ModelInput::from(batch));
        let mut losses = Vec::with_capacity(self.tasks.len());
        let mut total = match self.model.embedding_penalty() {
            Some(penalty) => penalty * self.model_config.settings.l2_embedding,
            None => Tensor::zeros([1], &self.device),
        };
        for t in 0..self.tasks.len() {
            let loss = self.task_term(&output, batch, t); // [R]
            total = total + loss.clone().sum() * self.config.loss_weights[t];
            losses.push(loss.detach());
        }
        (output, total, losses)
    }

    /// Trains every replica on one batch of its own.
    pub fn step(&mut self) -> PendingStep {
        let end = (self.cursor + self.config.batch_size).min(self.train.len);
        let batch = self.next_batch();
        let batch_size = end - self.cursor;
        let (output, total, losses) = self.objective(&batch);
        let r = self.replicas.len();
        let gates = output
            .gates
            .iter()
            .map(|g| {
                let experts = g.dims()[2];
                g.clone().detach().mean_dim(1).reshape([r, experts])
            })
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
            self.order = self.shuffled_order();
        }
        PendingStep {
            losses: Tensor::stack(losses, 1),
            gates,
            step: self.steps,
            epoch: self.epoch,
            epoch_done,
            batch_size,
            learning_rate: self.config.learning_rate,
            task_names: self.tasks.iter().map(|t| t.name.clone()).collect(),
            seeds: self.replicas.seeds.clone(),
        }
    }

    /// Replica `r`'s weights as they stand, on their way to a model file's bytes.
    pub fn export_pending(&self, r: usize) -> Readback<Vec<u8>> {
        export_readback(
            self.model.valid().replica(r),
            ModelFile {
                config: self.model_config.clone(),
                tasks: self.tasks.clone(),
                input: self.input.clone(),
                steps: self.steps,
            },
        )
    }
}

#[cfg(test)]
impl Trainer {
    /// The first batch of the current epoch, for gradient tests.
    pub(crate) fn train_batch_for_test(&self) -> crate::data::Batch {
        let end = self.config.batch_size.min(self.train.len);
        let r = self.replicas.len();
        self.train.gather(self.order.clone().slice([0..r, 0..end]))
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
        // Among replicas, the seed is named.
        let seeds = super::task_names_of(&names, &[4, 9], 1);
        assert_eq!(seeds[0], "income (seed 9)");
    }
}
