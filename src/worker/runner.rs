//! The runner: drives the core library's [`Trainer`] for the worker. It turns an
//! [`Experiment`] into model and training configs, trains in chunks of steps whose numbers stay
//! on the device until one read at the end of the chunk, and turns the results into protocol
//! messages. It imports no web crate, so its tests run natively on the CPU device.

use mtl::burn::tensor::{Device, Tensor, TensorData};
use mtl::data::{AdultData, DataError, DataOptions, Dataset};
use mtl::experiments::{CorrelationRun, Protocol, correlation_variants};
use mtl::models::{ConfigError, ModelConfig};
use mtl::train::{
    EvalReport, EvalSet, GRADIENT_COSINE_EVERY, Readback, Replicas, TaskMetrics, TrainConfig,
    TrainError, Trainer, check_finite, f32_values, per_replica, task_names_of, transaction,
};

use mtl_stats::MeanSd;

use crate::protocol::experiment::{DataKind, Experiment};
use crate::protocol::{
    DataPicture, EvalPoint, FigureCell, FigureJob, GateLayout, ModelInfo, Progress, Proxy,
    ReplicaTest, StopReason, TaskScore, TestReport,
};
use crate::worker::schedule::{Action, ChunkOutcome, Schedule, SessionState, Validated};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the Adult data could not be read: {0}")]
    Data(#[from] DataError),
    #[error("this model cannot be built: {0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Train(#[from] TrainError),
    #[error("the synthetic data could not be drawn: {0}")]
    Synthetic(String),
    /// The schedule asked for an error, or ended a run without a test (`run_to_end`).
    #[error("{0}")]
    Schedule(String),
}

impl RunError {
    /// The message for a NaN or infinite loss, when that is what this is.
    pub fn non_finite(&self) -> Option<String> {
        match self {
            RunError::Train(e @ TrainError::NonFinite { .. }) => Some(e.to_string()),
            _ => None,
        }
    }
}

/// A paper-figure job in training: the CLI's [`CorrelationRun`] of the job's model at its `p`,
/// one replica per seed, so each cell is what `mtl experiment correlation` gives for it.
pub struct FigureTraining {
    job: FigureJob,
    run: CorrelationRun,
}

impl FigureTraining {
    /// Draws the job's data and builds its replicas.
    pub fn new(job: FigureJob, device: &Device) -> Result<Self, RunError> {
        let variant = correlation_variants()
            .into_iter()
            .find(|v| v.name == job.model.slug())
            .ok_or_else(|| {
                RunError::Schedule(format!(
                    "the paper figure has no {} on the correlated tasks",
                    job.model.label()
                ))
            })?;
        let draws: Vec<(f64, u64)> = job.seeds.iter().map(|&seed| (job.p, seed)).collect();
        let run = CorrelationRun::new(&variant, &draws, Protocol::default(), device)
            .map_err(RunError::Synthetic)?
            .ok_or_else(|| RunError::Schedule("a paper-figure job needs a seed".into()))?;
        Ok(Self { job, run })
    }

    /// Trains up to `steps` more steps; the steps done so far.
    pub fn train(&mut self, steps: usize) -> usize {
        for _ in 0..steps {
            if !self.run.step() {
                break;
            }
        }
        self.run.steps_done()
    }

    /// The steps the protocol trains.
    pub fn steps(&self) -> usize {
        self.run.steps()
    }

    /// Whether every step is done.
    pub fn finished(&self) -> bool {
        self.run.steps_done() >= self.run.steps()
    }

    /// Every seed's test loss, as one read.
    pub fn score(&self) -> Readback<Vec<FigureCell>> {
        let model = self.job.model;
        self.run.score().map(move |cells| {
            cells
                .into_iter()
                .map(|c| FigureCell {
                    model,
                    p: c.p,
                    seed: c.seed,
                    test_loss: c.test_loss,
                })
                .collect()
        })
    }
}

/// The core library's model config for an experiment: its settings are the core's own, so every
/// knob reaches the model.
pub fn model_config(e: &Experiment) -> ModelConfig {
    ModelConfig::from_settings(e.model, &e.arch)
}

/// How an experiment's replicas read their data: on the synthetic data sets each seed draws its
/// own (replica r on data set r, as [`synthetic_data`] of `e.reseeded(seed)` draws it); Adult's
/// replicas share its rows.
pub fn replicas(e: &Experiment) -> Replicas {
    match e.data {
        DataKind::Adult => Replicas::seeds(&e.seeds()),
        DataKind::Correlated | DataKind::Funnel => Replicas::each_on_its_data(&e.seeds()),
    }
}

pub fn train_config(e: &Experiment) -> TrainConfig {
    TrainConfig::new()
        .with_learning_rate(e.learning_rate)
        .with_batch_size(e.batch_size)
        .with_loss_weights(e.loss_weights.to_vec())
}

/// Draws an experiment's synthetic data set from its seed: the correlated tasks with its p, c
/// and noise, or the funnel. `None` for Adult, which is read from its files.
pub fn synthetic_data(e: &Experiment) -> Option<Result<Dataset, RunError>> {
    let drawn = match e.data {
        DataKind::Adult => return None,
        DataKind::Correlated => mtl::data::correlated(&mtl::data::CorrelatedConfig {
            p: e.p,
            c: e.c,
            noise: e.noise,
            seed: e.seed,
            ..Default::default()
        })
        .map(|(data, _)| data),
        DataKind::Funnel => mtl::data::funnel(&mtl::data::FunnelConfig {
            seed: e.seed,
            confound: e.confound,
            ..Default::default()
        }),
    };
    Some(drawn.map_err(RunError::Synthetic))
}

/// Decodes the Adult files (as served from `assets/`) for an experiment's data options, into the
/// form every data set shares. They are gzipped, but a static host that serves `.gz` with
/// `Content-Encoding: gzip` hands the browser plain text, so both are accepted.
pub fn load_data(train: &[u8], test: &[u8], relationship: bool) -> Result<Dataset, RunError> {
    let options = DataOptions {
        relationship,
        ..DataOptions::default()
    };
    let text = |bytes: &[u8]| -> Result<String, DataError> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            mtl::data::adult::gunzip(bytes)
        } else {
            String::from_utf8(bytes.to_vec()).map_err(|_| {
                DataError::Decompress("the file is neither gzip nor UTF-8 text".into())
            })
        }
    };
    Ok(AdultData::from_text(&text(train)?, &text(test)?, options)?.into())
}

/// One model in training (or several seeds of it side by side, as replicas), with its
/// validation and test sets resident on the device. `session` is the id the page gave its build;
/// every event about this model carries it.
pub struct Training {
    pub session: u32,
    pub experiment: Experiment,
    trainer: Trainer,
    valid: EvalSet,
    test: EvalSet,
    info: ModelInfo,
    task_names: Vec<String>,
    /// The step at which to measure the task-gradient cosine next; `None` for a model whose
    /// tasks share no parameter.
    next_cosine: Option<u64>,
    /// Per replica, its latest validation scores, which [`Training::keep_best`] keeps with its
    /// weights.
    last_points: Vec<(u64, Vec<TaskScore>)>,
    /// Per replica, the validation point of its best weights so far.
    best_points: Vec<Option<(u64, Vec<TaskScore>)>>,
    /// Every replica's best weights so far (a replica not yet kept holds the weights of the
    /// first keep, and is scored with its current ones: `conclude`).
    best: Option<mtl::models::MtlModel>,
}

impl Training {
    /// Builds the experiment's model, one replica per seed. `data` holds one data set shared by
    /// every replica, or one per replica (see [`replicas`]).
    pub fn new(
        session: u32,
        experiment: &Experiment,
        data: &[&Dataset],
        device: &Device,
    ) -> Result<Self, RunError> {
        let mut experiment = experiment.clone();
        experiment.sanitize();
        let mut replicas = replicas(&experiment);
        if data.len() == 1 {
            replicas.data = vec![0; replicas.len()];
        }
        let Some(&first) = data.first() else {
            return Err(RunError::Schedule("there is no data to train on".into()));
        };
        let data = data.to_vec();
        let mut tasks = first.tasks.clone();
        for (t, task) in tasks.iter_mut().enumerate() {
            task.name = experiment.model.task_name(t, &task.name).to_string();
        }
        let trainer = Trainer::new(
            model_config(&experiment),
            train_config(&experiment),
            &first.input,
            tasks,
            &data.iter().map(|d| &d.train).collect::<Vec<_>>(),
            replicas.clone(),
            device,
        )?;
        let data_of = |r: usize| data[replicas.data[r]];
        let seeds = replicas.seeds.clone();
        let eval_device = trainer.eval_device();
        let task_names: Vec<String> = trainer.tasks().iter().map(|t| t.name.clone()).collect();
        // Whether the tasks share a parameter shows in the first measurement.
        let shares = trainer.gradient_cosine().is_some();
        let data = first;
        let info = ModelInfo {
            grad_cosine_every: shares.then_some(GRADIENT_COSINE_EVERY),
            params: trainer.num_params(),
            seeds: seeds.clone(),
            tasks: task_names.clone(),
            gates: trainer.gate_layout().clone(),
            input_fields: data.fields.clone(),
            categorical_fields: data.train.n_categorical,
            proxies: proxies(data, &task_names),
            label_correlation: (data.train.n_tasks == 2).then(|| {
                let labels = |t| -> Vec<f64> {
                    data.train
                        .task_labels(t)
                        .into_iter()
                        .map(f64::from)
                        .collect()
                };
                mtl::data::synthetic::correlation(&labels(0), &labels(1))
            }),
            data_picture: data_picture(experiment.data, data),
        };
        let eval_set =
            |split: fn(&Dataset) -> &mtl::data::Split,
             truth: fn(&mtl::data::synthetic::FunnelTruth) -> &mtl::data::synthetic::CvrTruth|
             -> Result<EvalSet, RunError> {
                let splits: Vec<&mtl::data::Split> =
                    (0..seeds.len()).map(|r| split(data_of(r))).collect();
                let truths = (0..seeds.len())
                    .map(|r| data_of(r).cvr_truth.as_ref().map(truth).cloned())
                    .collect();
                Ok(EvalSet::stack(&splits, &eval_device)?.with_cvr_truth(truths))
            };
        Ok(Self {
            session,
            valid: eval_set(|d| &d.valid, |t| &t.valid)?,
            test: eval_set(|d| &d.test, |t| &t.test)?,
            experiment,
            trainer,
            info,
            task_names,
            next_cosine: shares.then_some(GRADIENT_COSINE_EVERY),
            last_points: Vec::new(),
            best_points: vec![None; seeds.len()],
            best: None,
        })
    }

    /// The model as the [`Schedule`] sees it.
    pub fn state(&self) -> SessionState {
        if self.finished() {
            SessionState::Finished {
                epochs: self.experiment.epochs,
            }
        } else {
            SessionState::Unfinished
        }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn steps(&self) -> u64 {
        self.trainer.steps()
    }

    /// True once the experiment's epoch budget is spent.
    pub fn finished(&self) -> bool {
        self.trainer.epoch() >= self.experiment.epochs
    }

    pub fn set_learning_rate(&mut self, lr: f64) -> Result<(), RunError> {
        self.trainer.set_learning_rate(lr)?;
        self.experiment.learning_rate = lr;
        Ok(())
    }

    pub fn set_loss_weights(&mut self, weights: [f32; 2]) -> Result<(), RunError> {
        self.trainer.set_loss_weights(weights.to_vec())?;
        self.experiment.loss_weights = weights;
        Ok(())
    }

    /// Trains `steps` batches (fewer if the epoch budget ends first). The losses and gate
    /// weights are summed on the device and read once, by the returned chunk.
    pub fn train_chunk(&mut self, steps: usize) -> Readback<ChunkResult, RunError> {
        let mut losses: Option<Tensor<2>> = None;
        let mut gates: Vec<Tensor<2>> = Vec::new();
        let mut done = 0;
        let mut samples = 0;
        // The task-gradient cosine every GRADIENT_COSINE_EVERY steps, read with the chunk.
        let mut cosines = Vec::new();
        while done < steps.max(1) && !self.finished() {
            if let Some(at) = self.next_cosine
                && self.trainer.steps() >= at
            {
                cosines.extend(
                    self.trainer
                        .gradient_cosine()
                        .map(|c| (self.trainer.steps(), c)),
                );
                self.next_cosine = Some(at + GRADIENT_COSINE_EVERY);
            }
            let step = self.trainer.step();
            samples += step.batch_size * self.replica_count();
            done += 1;
            losses = Some(match losses {
                Some(acc) => acc + step.losses,
                None => step.losses,
            });
            if gates.is_empty() {
                gates = step.gates;
            } else {
                gates = gates
                    .into_iter()
                    .zip(step.gates)
                    .map(|(a, b)| a + b)
                    .collect();
            }
        }
        let chunk = Chunk {
            losses,
            gates,
            cosines,
            steps: done,
            samples,
            step: self.trainer.steps(),
            epoch: self.trainer.epoch(),
            epoch_progress: self.trainer.epoch_progress(),
            task_names: self.task_names.clone(),
            seeds: self.info.seeds.clone(),
            learning_rate: self.experiment.learning_rate,
        };
        Readback::new(
            transaction(
                chunk
                    .losses
                    .iter()
                    .chain(&chunk.gates)
                    .map(|t| t.clone().flatten::<1>(0, 1))
                    .chain(chunk.cosines.iter().map(|(_, c)| c.clone())),
            ),
            move |data| chunk.finish(data),
        )
    }

    /// How many seeds train side by side.
    pub fn replica_count(&self) -> usize {
        self.info.seeds.len().max(1)
    }

    /// Scores the validation split, one report per replica (on the device until read).
    pub fn validation(&self) -> Readback<Vec<EvalReport>> {
        self.trainer.evaluate_pending(&self.valid)
    }

    /// Takes the replicas' validation reports of the current weights: the point the page plots
    /// (their mean, and each with several), and what selection reads of it (each replica's
    /// losses weighted as in training).
    pub fn validated(&mut self, reports: &[EvalReport]) -> (EvalPoint, Validated) {
        let step = self.steps();
        let point = eval_point(step, reports, self.trainer.gate_layout());
        self.last_points = reports
            .iter()
            .map(|r| (step, r.tasks.iter().map(task_score).collect()))
            .collect();
        let validated = Validated {
            step,
            losses: reports
                .iter()
                .map(|r| r.weighted_loss(&self.experiment.loss_weights))
                .collect(),
            patience: self.experiment.patience,
            steps_per_epoch: self.trainer.steps_per_epoch() as u64,
        };
        (point, validated)
    }

    /// Keeps a copy of replicas `which`'s current weights with their validation points, as
    /// their best so far.
    pub fn keep_best(&mut self, which: &[usize]) {
        let current = self.trainer.model();
        self.best = Some(match self.best.take() {
            Some(best) => best.with_replicas_from(current, which),
            None => current.clone(),
        });
        for &r in which {
            if let (Some(slot), Some(point)) =
                (self.best_points.get_mut(r), self.last_points.get(r))
            {
                *slot = Some(point.clone());
            }
        }
    }

    /// Ends the run: the kept weights go back into the model (it trains no further), and the
    /// test split is scored with them, each replica with its own. A replica without kept
    /// weights (a run ended at step 0) is scored with its current ones.
    pub fn conclude(&mut self) -> Readback<TestReport> {
        let trained_steps = self.steps();
        if let Some(model) = self.best.take() {
            // A replica never kept (no finite validation loss after step 0) is scored with its
            // current weights, not with those the first keep copied.
            let never_kept: Vec<usize> = (0..self.replica_count())
                .filter(|&r| self.best_points[r].is_none())
                .collect();
            let model = model.with_replicas_from(self.trainer.model(), &never_kept);
            self.trainer.restore(model);
        }
        let last = self.last_points.clone();
        let points: Vec<(u64, Vec<TaskScore>)> = (0..self.replica_count())
            .map(|r| {
                self.best_points[r]
                    .clone()
                    .or_else(|| {
                        last.get(r)
                            .cloned()
                            .map(|(_, valid)| (trained_steps, valid))
                    })
                    .unwrap_or((trained_steps, Vec::new()))
            })
            .collect();
        let seeds = self.info.seeds.clone();
        self.trainer
            .evaluate_pending(&self.test)
            .map(move |reports| test_report(trained_steps, &seeds, &points, &reports))
    }

    /// Trains to the end exactly as the worker does, with the same [`Schedule`] (validation
    /// cadence, best weights, early stopping, one test), but synchronously and without events:
    /// native tests and the lessons' claims measure what the page shows.
    pub fn run_to_end(&mut self) -> Result<(StopReason, TestReport), RunError> {
        let mut schedule = Schedule::new();
        let mut todo: std::collections::VecDeque<Action> =
            schedule.on_built(self.validation_every()).into();
        todo.extend(schedule.on_play(self.state()));
        let (mut reason, mut test) = (None, None);
        while let Some(action) = todo
            .pop_front()
            .or_else(|| schedule.next_chunk().map(Action::Train))
        {
            let next = match action {
                Action::Train(steps) => {
                    let chunk = self.train_chunk(steps).read()?;
                    schedule.after_chunk(ChunkOutcome::Trained(crate::worker::schedule::Chunk {
                        steps: chunk.steps,
                        // Timing only sizes chunks, and chunks are cut at validation points.
                        elapsed_ms: chunk.steps as f64,
                        steps_done: self.steps(),
                        finished: self.finished(),
                        epochs: self.experiment.epochs,
                    }))
                }
                Action::Validate => {
                    let reports = self.validation().read()?;
                    schedule.after_validation(self.validated(&reports).1)
                }
                Action::KeepBest(which) => {
                    self.keep_best(&which);
                    Vec::new()
                }
                Action::Conclude => {
                    test = Some(self.conclude().read()?);
                    Vec::new()
                }
                Action::Stop(r) => {
                    reason = Some(r);
                    Vec::new()
                }
                Action::Error(message) => return Err(RunError::Schedule(message)),
            };
            for action in next.into_iter().rev() {
                todo.push_front(action);
            }
        }
        match (reason, test) {
            (Some(reason), Some(test)) => Ok((reason, test)),
            _ => Err(RunError::Schedule(
                "the run stopped without a test score".into(),
            )),
        }
    }

    /// The first replica's weights on their way to a model file (a Burn record).
    pub fn export(&self) -> Readback<Vec<u8>> {
        self.trainer.export_pending(0)
    }

    /// How often to score the validation split: five times an epoch, but at least every 10 steps.
    pub fn validation_every(&self) -> u64 {
        (self.trainer.steps_per_epoch() as u64 / 5).max(10)
    }
}

/// A chunk of training whose numbers are still on the device.
struct Chunk {
    /// `[R, tasks]`, summed over the chunk's steps.
    losses: Option<Tensor<2>>,
    /// Per gate, `[R, experts]`, summed over the chunk's steps.
    gates: Vec<Tensor<2>>,
    /// The task-gradient cosines measured in the chunk (`[R]` each), with the step each was
    /// measured at.
    cosines: Vec<(u64, Tensor<1>)>,
    steps: usize,
    samples: usize,
    step: u64,
    epoch: usize,
    epoch_progress: f64,
    task_names: Vec<String>,
    seeds: Vec<u64>,
    learning_rate: f64,
}

/// A chunk's numbers on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkResult {
    pub steps: usize,
    pub samples: usize,
    pub step: u64,
    pub epoch: usize,
    pub epoch_progress: f64,
    /// Mean per task over the chunk (and over the replicas).
    pub losses: Vec<f32>,
    /// Mean per gate and expert over the chunk, of the first replica (seed).
    pub gates: Vec<Vec<f32>>,
    /// The task-gradient cosines measured during the chunk: (step, the replicas' mean cosine).
    pub grad_cosine: Vec<(u64, f32)>,
    /// With several replicas, each one's mean per task over the chunk; empty for one.
    pub replica_losses: Vec<Vec<f32>>,
}

impl ChunkResult {
    pub fn progress(&self, elapsed_ms: f64) -> Progress {
        Progress {
            step: self.step,
            epoch: self.epoch,
            epoch_progress: self.epoch_progress,
            losses: self.losses.clone(),
            gates: self.gates.clone(),
            grad_cosine: self.grad_cosine.clone(),
            samples_per_sec: if elapsed_ms > 0.0 {
                self.samples as f64 * 1000.0 / elapsed_ms
            } else {
                0.0
            },
            replica_losses: self.replica_losses.clone(),
        }
    }
}

impl Chunk {
    fn finish(self, data: Vec<TensorData>) -> Result<ChunkResult, RunError> {
        let n = self.steps.max(1) as f32;
        let replicas = self.seeds.len().max(1);
        let mut data = f32_values(data)?;
        // The cosines come last and are not sums over the chunk.
        let measured = data.split_off(data.len().saturating_sub(self.cosines.len()));
        let grad_cosine = self
            .cosines
            .iter()
            .zip(measured)
            .filter_map(|((step, _), v)| Some((*step, finite_mean(&v)?)))
            .collect();
        let mut values = data.into_iter().map(|v| {
            let rows = per_replica(v.into_iter().map(|x| x / n).collect(), replicas);
            (mean_rows(&rows), rows)
        });
        let replica_losses = if self.losses.is_some() {
            values.next().map(|(_, rows)| rows).unwrap_or_default()
        } else {
            Vec::new()
        };
        for (r, losses) in replica_losses.iter().enumerate() {
            let names = task_names_of(&self.task_names, &self.seeds, r);
            check_finite(losses, &names, self.step, self.learning_rate)?;
        }
        Ok(ChunkResult {
            steps: self.steps,
            samples: self.samples,
            step: self.step,
            epoch: self.epoch,
            epoch_progress: self.epoch_progress,
            losses: mean_rows(&replica_losses),
            // The first seed's gates: experts are numbered arbitrarily in each seed, so a mean
            // over seeds would blur every specialisation towards the even split.
            gates: values
                .map(|(_, rows)| rows.into_iter().next().unwrap_or_default())
                .collect(),
            grad_cosine,
            replica_losses: if replicas > 1 {
                replica_losses
            } else {
                Vec::new()
            },
        })
    }
}

/// The element-wise mean of equally long rows.
fn mean_rows(rows: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    (0..first.len())
        .map(|i| rows.iter().map(|r| r[i]).sum::<f32>() / rows.len() as f32)
        .collect()
}

/// The mean of the finite values, if there is one.
fn finite_mean(values: &[f32]) -> Option<f32> {
    let finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    (!finite.is_empty()).then(|| finite.iter().sum::<f32>() / finite.len() as f32)
}

fn task_score(m: &TaskMetrics) -> TaskScore {
    TaskScore {
        name: m.name.clone(),
        loss: m.loss,
        auc: m.auc,
        logloss: m.logloss,
        r2: m.r2,
        mse_true: m.mse_true,
    }
}

/// A single field's AUC from which it counts as a proxy for a label: about what a whole model
/// reaches on Adult's never-married task without it (0.87), so a field at or above it carries
/// most of what is learnable.
pub const PROXY_AUC: f64 = 0.85;

/// The categorical fields that alone score [`PROXY_AUC`] or more on a binary task (measured
/// on the validation split; the test split stays unseen).
fn proxies(data: &Dataset, task_names: &[String]) -> Vec<Proxy> {
    let mut found = Vec::new();
    for (t, task) in data.tasks.iter().enumerate() {
        if task.kind != mtl::data::TaskKind::Binary {
            continue;
        }
        for (c, field) in data
            .fields
            .iter()
            .take(data.train.n_categorical)
            .enumerate()
        {
            let auc = mtl::train::metrics::field_alone_auc(&data.train, &data.valid, c, t);
            if let Some(auc) = auc.filter(|&a| a >= PROXY_AUC) {
                found.push(Proxy {
                    field: field.clone(),
                    task: task_names
                        .get(t)
                        .cloned()
                        .unwrap_or_else(|| task.name.clone()),
                    auc,
                });
            }
        }
    }
    found
}

/// Points of the correlated tasks' scatter: enough to show the cloud's shape, few enough to
/// draw as SVG circles on every build.
pub const SCATTER_POINTS: usize = 300;

/// The data view's picture of a training split: what the two tasks are, in a few numbers.
/// `None` when the split is empty or does not hold two tasks.
pub fn data_picture(kind: DataKind, data: &Dataset) -> Option<DataPicture> {
    let train = &data.train;
    if train.len == 0 || train.n_tasks != 2 {
        return None;
    }
    let row = |i: usize| [train.labels[i * 2], train.labels[i * 2 + 1]];
    Some(match kind {
        DataKind::Correlated => {
            let n = train.len.min(SCATTER_POINTS);
            DataPicture::Scatter {
                points: (0..n).map(|k| row(k * train.len / n)).collect(),
            }
        }
        DataKind::Adult => {
            let mut counts = [[0u64; 2]; 2];
            for i in 0..train.len {
                let [a, b] = row(i);
                counts[usize::from(a > 0.5)][usize::from(b > 0.5)] += 1;
            }
            DataPicture::Joint { counts }
        }
        DataKind::Funnel => {
            let count = |labels: &[f32]| labels.iter().filter(|&&l| l > 0.5).count() as u64;
            DataPicture::Funnel {
                impressions: train.len as u64,
                clicks: count(&train.task_labels(0)),
                conversions: count(&train.task_labels(1)),
                would_convert: data.cvr_truth.as_ref().map_or(0, |t| count(&t.train.label)),
            }
        }
    })
}

/// Each gate's share on the shared experts over the replicas' reports (mean and sample sd),
/// `None` for a gate without shared experts; empty for fewer than two replicas.
fn shared_share_seeds(reports: &[EvalReport], layout: &GateLayout) -> Vec<Option<[f32; 2]>> {
    if reports.len() < 2 {
        return Vec::new();
    }
    layout
        .gates
        .iter()
        .enumerate()
        .map(|(g, gate)| {
            let shares: Vec<f64> = reports
                .iter()
                .filter_map(|r| gate.shared_share(&r.gates.get(g)?.mean).map(f64::from))
                .collect();
            MeanSd::of(&shares)
                .filter(|m| m.n == reports.len())
                .map(|m| [m.mean as f32, m.sd as f32])
        })
        .collect()
}

/// The validation point of the replicas' reports: their mean, and with several each one's
/// scores and each gate's shared share over them (`layout` says which experts are shared).
pub fn eval_point(step: u64, reports: &[EvalReport], layout: &GateLayout) -> EvalPoint {
    let per_replica: Vec<Vec<TaskScore>> = reports
        .iter()
        .map(|r| r.tasks.iter().map(task_score).collect())
        .collect();
    let spread: Vec<Vec<f32>> = reports
        .iter()
        .map(|r| r.gates.iter().map(|g| g.row_entropy).collect())
        .collect();
    let replica_cvr_all: Vec<TaskScore> = reports
        .iter()
        .map(|r| r.cvr_all.as_ref().map(task_score))
        .collect::<Option<_>>()
        .unwrap_or_default();
    EvalPoint {
        step,
        tasks: TaskScore::means(&per_replica),
        // The first seed's gates (see `Chunk::finish`); their spread, an entropy, is comparable
        // across seeds and averaged.
        gates: reports
            .first()
            .map(|r| r.gates.iter().map(|g| g.mean.clone()).collect())
            .unwrap_or_default(),
        gate_spread: mean_rows(&spread),
        shared_share_seeds: shared_share_seeds(reports, layout),
        replicas: if reports.len() > 1 {
            per_replica
        } else {
            Vec::new()
        },
        cvr_all: TaskScore::means(
            &replica_cvr_all
                .iter()
                .map(|c| vec![c.clone()])
                .collect::<Vec<_>>(),
        )
        .pop(),
        replica_cvr_all: if reports.len() > 1 {
            replica_cvr_all
        } else {
            Vec::new()
        },
    }
}

/// The test report of the replicas' reports, each of the weights kept at its own best point
/// (`points[r]`: that point's step and validation scores).
fn test_report(
    trained_steps: u64,
    seeds: &[u64],
    points: &[(u64, Vec<TaskScore>)],
    reports: &[EvalReport],
) -> TestReport {
    let replicas: Vec<ReplicaTest> = reports
        .iter()
        .zip(points)
        .zip(seeds)
        .map(|((report, (step, valid)), &seed)| ReplicaTest {
            seed,
            step: *step,
            valid: valid.clone(),
            tasks: report.tasks.iter().map(task_score).collect(),
            cvr: report.cvr.as_ref().map(task_score),
            cvr_all: report.cvr_all.as_ref().map(task_score),
        })
        .collect();
    let mean_of = |get: fn(&ReplicaTest) -> Option<&TaskScore>| -> Option<TaskScore> {
        let scores: Option<Vec<Vec<TaskScore>>> = replicas
            .iter()
            .map(|r| get(r).map(|s| vec![s.clone()]))
            .collect();
        scores.and_then(|s| TaskScore::means(&s).pop())
    };
    TestReport {
        step: replicas
            .iter()
            .map(|r| r.step)
            .max()
            .unwrap_or(trained_steps),
        trained_steps,
        valid: TaskScore::means(&replicas.iter().map(|r| r.valid.clone()).collect::<Vec<_>>()),
        tasks: TaskScore::means(&replicas.iter().map(|r| r.tasks.clone()).collect::<Vec<_>>()),
        cvr: mean_of(|r| r.cvr.as_ref()),
        cvr_all: mean_of(|r| r.cvr_all.as_ref()),
        replicas: if replicas.len() > 1 {
            replicas
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::experiment::ModelKind;
    use std::sync::OnceLock;

    fn data() -> &'static Dataset {
        static DATA: OnceLock<Dataset> = OnceLock::new();
        DATA.get_or_init(|| {
            load_data(
                include_bytes!("../../assets/adult.data.gz"),
                include_bytes!("../../assets/adult.test.gz"),
                true,
            )
            .expect("the shipped Adult data loads")
        })
    }

    fn small(model: ModelKind) -> Experiment {
        let mut e = Experiment::tutorial(model);
        e.arch.expert_units = vec![8];
        e.arch.bottom_units = vec![8];
        e.arch.tower_units = vec![4];
        e.arch.specific_experts = 2;
        e.arch.shared_experts = 1;
        e.arch.experts = 3;
        e
    }

    #[test]
    fn data_picture_draws_each_data_set_from_its_labels() {
        // Adult: the four label combinations count every training row, as the labels say.
        let Some(DataPicture::Joint { counts }) = data_picture(DataKind::Adult, data()) else {
            panic!("Adult gives a 2 × 2");
        };
        let train = &data().train;
        let rows_with = |a: bool, b: bool| {
            (0..train.len)
                .filter(|&i| {
                    (train.labels[2 * i] > 0.5) == a && (train.labels[2 * i + 1] > 0.5) == b
                })
                .count() as u64
        };
        assert_eq!(counts.iter().flatten().sum::<u64>(), train.len as u64);
        // counts[task 1][task 2], each cell as the labels say (so not transposed).
        for (a, b) in [(false, false), (false, true), (true, false), (true, true)] {
            assert_eq!(
                counts[usize::from(a)][usize::from(b)],
                rows_with(a, b),
                "({a}, {b})"
            );
        }
        assert_ne!(
            rows_with(true, false),
            rows_with(false, true),
            "the premise"
        );
        assert!(
            counts[0][1] > counts[1][1],
            "few high earners are never married"
        );
        // The correlated tasks: a sample of the rows, tighter at p = 1 than at p = 0.
        let scatter_r = |p: f64| {
            let mut e = Experiment::tutorial_on(ModelKind::Mmoe, DataKind::Correlated);
            e.p = p;
            let d = synthetic_data(&e).expect("synthetic").expect("drawn");
            let Some(DataPicture::Scatter { points }) = data_picture(e.data, &d) else {
                panic!("the correlated tasks give a scatter");
            };
            assert_eq!(points.len(), SCATTER_POINTS.min(d.train.len));
            assert_eq!(
                points[1],
                [
                    d.train.labels[2 * (d.train.len / SCATTER_POINTS)],
                    d.train.labels[2 * (d.train.len / SCATTER_POINTS) + 1]
                ]
            );
            let (y1, y2): (Vec<f64>, Vec<f64>) = points
                .iter()
                .map(|&[a, b]| (f64::from(a), f64::from(b)))
                .unzip();
            mtl::data::synthetic::correlation(&y1, &y2)
        };
        let (r1, r0) = (scatter_r(1.0), scatter_r(0.0));
        assert!(r1 > r0 + 0.3, "p = 1 draws {r1:.2}, p = 0 {r0:.2}");
        // The funnel: each stage a subset of the one before, and more would convert than did.
        let e = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        let d = synthetic_data(&e).expect("synthetic").expect("drawn");
        let Some(DataPicture::Funnel {
            impressions,
            clicks,
            conversions,
            would_convert,
        }) = data_picture(e.data, &d)
        else {
            panic!("the funnel gives its stages");
        };
        assert_eq!(impressions, d.train.len as u64);
        assert!(0 < conversions && conversions < clicks && clicks < impressions);
        assert!(
            would_convert > conversions,
            "{would_convert} ≤ {conversions}"
        );
    }

    #[test]
    fn session_trains_every_model_and_reports_gates() {
        let adult = ModelKind::ALL
            .into_iter()
            .filter(|&m| DataKind::Adult.offers(m));
        for model in adult {
            let s0 = Training::new(1, &small(model), &[data()], &Device::flex());
            let mut s = s0.unwrap_or_else(|e| panic!("{model}: {e}"));
            let info = s.info().clone();
            assert_eq!(info.tasks, small(model).task_names());
            assert_eq!(info.gates.is_empty(), !model.has_gates(), "{model}");
            let chunk = s.train_chunk(3).read().expect("finite losses");
            assert_eq!((chunk.steps, chunk.step, chunk.samples), (3, 3, 768));
            assert_eq!(chunk.losses.len(), 2);
            assert!(chunk.losses.iter().all(|l| l.is_finite() && *l > 0.0));
            assert_eq!(chunk.gates.len(), info.gates.len());
            for (g, view) in chunk.gates.iter().zip(&info.gates.gates) {
                assert_eq!(g.len(), view.experts.len());
                let total: f32 = g.iter().sum();
                assert!((total - 1.0).abs() < 1e-4, "{model} gate sums to {total}");
            }
            let valid = s.validation().read().expect("validation reads");
            let point = eval_point(s.steps(), &valid, &s.info().gates);
            assert!(point.replicas.is_empty(), "one model, no replica list");
            assert!(
                point
                    .tasks
                    .iter()
                    .all(|t| t.auc.is_some_and(|a| a > 0.0 && a < 1.0))
            );
        }
    }

    #[test]
    fn session_marks_relationship_as_a_proxy_for_never_married() {
        let s =
            Training::new(1, &small(ModelKind::Mmoe), &[data()], &Device::flex()).expect("builds");
        let info = s.info();
        assert_eq!(info.categorical_fields, 7);
        assert_eq!(info.proxies.len(), 1, "{:?}", info.proxies);
        let proxy = &info.proxies[0];
        assert_eq!(
            (proxy.field.as_str(), proxy.task.as_str()),
            ("relationship", "never_married")
        );
        assert!((proxy.auc - 0.91).abs() < 0.02, "{proxy:?}");
        let without = load_data(
            include_bytes!("../../assets/adult.data.gz"),
            include_bytes!("../../assets/adult.test.gz"),
            false,
        )
        .expect("data");
        let s = Training::new(1, &small(ModelKind::Mmoe), &[&without], &Device::flex())
            .expect("builds");
        assert_eq!(s.info().categorical_fields, 6);
        assert!(s.info().proxies.is_empty(), "{:?}", s.info().proxies);
        // The funnel's item id does not give its labels away.
        let e = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        let funnel = synthetic_data(&e).expect("synthetic").expect("drawn");
        let s = Training::new(1, &e, &[&funnel], &Device::flex()).expect("builds");
        assert!(s.info().proxies.is_empty(), "{:?}", s.info().proxies);
    }

    #[test]
    fn session_ple_gates_are_the_core_layout_with_the_task_names() {
        // The labels themselves are the vocabulary's (its tests); here, that the info carries
        // the trainer's layout and the task names the page shows.
        let mut e = small(ModelKind::Ple);
        e.arch.levels = 2;
        let s = Training::new(1, &e, &[data()], &Device::flex()).expect("builds");
        assert_eq!(s.info().gates, model_config(&e).gate_layout(2));
        assert_eq!(
            s.info().gate_labels()[4],
            "task 2 (never_married) · level 2"
        );
        // CGC ignores the levels setting.
        let mut c = small(ModelKind::Cgc);
        c.arch.levels = 3;
        let s = Training::new(1, &c, &[data()], &Device::flex()).expect("builds");
        assert_eq!(s.info().gates.len(), 2);
    }

    #[test]
    fn session_stops_at_the_epoch_budget_and_scores_the_test_set() {
        let mut e = small(ModelKind::Mmoe);
        e.batch_size = 4096;
        e.epochs = 1;
        let mut s = Training::new(1, &e, &[data()], &Device::flex()).expect("builds");
        let per_epoch = s.trainer.steps_per_epoch();
        let chunk = s.train_chunk(1000).read().expect("reads");
        assert_eq!(chunk.steps, per_epoch);
        assert!(s.finished());
        assert_eq!(s.state(), SessionState::Finished { epochs: 1 });
        let (reason, report) = Training::new(1, &e, &[data()], &Device::flex())
            .expect("builds")
            .run_to_end()
            .expect("runs");
        assert_eq!(reason, StopReason::Finished { epochs: 1 });
        assert_eq!(report.trained_steps, per_epoch as u64);
        assert_eq!(report.tasks.len(), 2);
        assert_eq!(
            report.valid.len(),
            2,
            "the validation scores of the weights tested"
        );
        assert!(report.tasks.iter().all(|t| t.logloss.is_some()));
    }

    #[test]
    fn session_concludes_with_the_kept_weights_not_the_last() {
        let mut e = small(ModelKind::Mmoe);
        e.learning_rate = 0.05;
        // The test set is scored once per run, by `conclude`. So the weights at step 5 and at
        // step 25 are each tested by a run of their own, with the same seed (the same numbers,
        // `session_same_seed_same_numbers`), concluded there without kept weights.
        let tested_at = |steps: usize| {
            let mut s = Training::new(1, &e, &[data()], &Device::flex()).expect("builds");
            s.train_chunk(steps).read().expect("finite");
            s.conclude().read().expect("reads")
        };
        let (at_5, at_25) = (tested_at(5), tested_at(25));
        assert_eq!(
            (at_5.step, at_25.step),
            (5, 25),
            "the weights they ended with"
        );
        assert_ne!(at_5.tasks, at_25.tasks, "training moved the weights");
        let mut s = Training::new(1, &e, &[data()], &Device::flex()).expect("builds");
        s.train_chunk(5).read().expect("finite");
        let report = s.validation().read().expect("reads");
        let (point, _) = s.validated(&report);
        s.keep_best(&[0]);
        s.train_chunk(20).read().expect("finite");
        let concluded = s.conclude().read().expect("reads");
        assert_eq!((concluded.step, concluded.trained_steps), (5, 25));
        assert_eq!(concluded.tasks, at_5.tasks, "step 5's weights were tested");
        assert_eq!(concluded.valid, point.tasks);
    }

    #[test]
    fn session_runs_to_an_early_stop_and_tests_the_best_weights() {
        // A learning rate this high overfits the small correlated set within an epoch or two.
        let (data, _) = mtl::data::correlated(&mtl::data::CorrelatedConfig {
            train_rows: 600,
            valid_rows: 300,
            test_rows: 300,
            ..Default::default()
        })
        .expect("valid knobs");
        let mut e = Experiment::tutorial_on(ModelKind::SharedBottom, DataKind::Correlated);
        e.learning_rate = 0.05;
        e.batch_size = 32;
        e.epochs = 100;
        e.patience = 2;
        let mut s = Training::new(1, &e, &[&data], &Device::flex()).expect("builds");
        let (reason, report) = s.run_to_end().expect("runs");
        let StopReason::EarlyStopped {
            patience,
            best_step,
        } = reason
        else {
            panic!("expected an early stop, got {reason:?}");
        };
        assert_eq!((patience, best_step), (2, report.step));
        let per_epoch = s.trainer.steps_per_epoch() as u64;
        assert!(
            report.trained_steps >= best_step + 2 * per_epoch,
            "{report:?}"
        );
        assert!(
            report.trained_steps < 100 * per_epoch,
            "it stopped before the budget"
        );
    }

    #[test]
    fn session_same_seed_same_numbers() {
        let e = small(ModelKind::Cgc);
        let run = || {
            let mut s = Training::new(1, &e, &[data()], &Device::flex()).expect("builds");
            s.train_chunk(4).read().expect("reads").losses
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn session_exports_a_model_file_with_the_page_settings() {
        let mut e = small(ModelKind::Ple);
        e.arch.levels = 2;
        e.relationship = false;
        let d = load_data(
            include_bytes!("../../assets/adult.data.gz"),
            include_bytes!("../../assets/adult.test.gz"),
            false,
        )
        .expect("data");
        let mut s = Training::new(1, &e, &[&d], &Device::flex()).expect("builds");
        s.train_chunk(2).read().expect("reads");
        let bytes = s.export().read().expect("exports");
        let (file, model) =
            mtl::train::ModelFile::load(bytes, &Device::flex()).expect("loads back");
        assert_eq!(file.steps, 2);
        assert_eq!(file.config, model_config(&s.experiment));
        assert_eq!(file.input, d.input, "without the relationship field");
        assert_eq!(file.tasks.len(), 2);
        assert_eq!(
            mtl::burn::module::Module::num_params(&model),
            s.info().params
        );
    }

    #[test]
    fn session_model_has_the_page_gate_dnn_dropout_and_l2() {
        // Built and saved, not trained: dropout in training draws from the device's random
        // numbers, which the other tests' seeded inits share when tests run in parallel.
        let mut e = small(ModelKind::Ple);
        e.arch.gate_units = vec![4];
        e.arch.dropout = 0.25;
        e.arch.l2_embedding = 0.0;
        let s = Training::new(1, &e, &[data()], &Device::flex()).expect("builds");
        let bytes = s.export().read().expect("exports");
        let (file, _) = mtl::train::ModelFile::load(bytes, &Device::flex()).expect("loads back");
        let c = &file.config.settings;
        assert_eq!(
            (c.gate_units.clone(), c.dropout, c.l2_embedding),
            (vec![4], 0.25, 0.0),
            "these once stopped at the runner"
        );
        let plain =
            Training::new(1, &small(ModelKind::Ple), &[data()], &Device::flex()).expect("builds");
        assert!(
            s.info().params > plain.info().params,
            "the gate DNN has weights"
        );
    }

    /// The AUC on the test split of scoring each row by the training rate of `task`'s label
    /// among the rows with the same value of the categorical input `field`.
    fn field_alone_auc(data: &Dataset, field: &str, task: usize) -> f64 {
        // Categorical fields come first in `fields`, in their columns' order.
        let column = data.fields.iter().position(|f| f == field);
        let column = column.unwrap_or_else(|| panic!("{field} is not an input"));
        mtl::train::metrics::field_alone_auc(&data.train, &data.test, column, task)
            .expect("both classes in the test split")
    }

    /// Trains a lesson step's seeds natively as the page does: on synthetic data each seed
    /// draws its own data and they train side by side (a seed sweep), on Adult one seed; each
    /// seed's headline scores.
    fn lesson_runs(e: &Experiment) -> Vec<Vec<f64>> {
        if e.replicas <= 1 || e.data == DataKind::Adult {
            return e
                .seeds()
                .into_iter()
                .map(|s| lesson_run(&e.reseeded(s)))
                .collect();
        }
        let drawn = each_seeds_data(e);
        let sets: Vec<&Dataset> = drawn.iter().collect();
        let mut t = Training::new(1, e, &sets, &Device::flex()).expect("builds");
        let (_, report) = t.run_to_end().expect("finite losses");
        report
            .replicas
            .iter()
            .map(|r| headline_values(r.headlines()))
            .collect()
    }

    /// The data each seed of a synthetic-data experiment draws, as the page's replicas read it.
    fn each_seeds_data(e: &Experiment) -> Vec<Dataset> {
        e.seeds()
            .into_iter()
            .map(|s| {
                synthetic_data(&e.reseeded(s))
                    .expect("synthetic")
                    .expect("valid knobs")
            })
            .collect()
    }

    /// A run's headline scores in order, NaN where one has none.
    fn headline_values(headlines: Vec<(String, Option<f64>)>) -> Vec<f64> {
        headlines
            .into_iter()
            .map(|(_, v)| v.unwrap_or(f64::NAN))
            .collect()
    }

    /// Trains a lesson step's setup natively as the page does (validation, early stopping, the
    /// best weights tested); the test AUC per task (R² for a regression task).
    fn lesson_run(e: &Experiment) -> Vec<f64> {
        let owned;
        let data = if let Some(drawn) = synthetic_data(e) {
            owned = drawn.expect("valid knobs");
            &owned
        } else if e.relationship {
            data()
        } else {
            owned = load_data(
                include_bytes!("../../assets/adult.data.gz"),
                include_bytes!("../../assets/adult.test.gz"),
                false,
            )
            .expect("data");
            &owned
        };
        let mut t = Training::new(1, e, &[data], &Device::flex()).expect("builds");
        let (_, report) = t.run_to_end().expect("finite losses");
        // The funnel's CVR over every impression reads as a third task.
        headline_values(report.headlines())
    }

    /// Every premise a lesson relies on, measured: each step's setup trained as the page trains
    /// it (seeded, so the run is the one a learner repeats) and checked against the claim. The
    /// texts state no outcome (`lesson_texts_state_no_outcome`); the learner's run does.
    #[test]
    fn lesson_claims_hold() {
        use crate::page::lessons::{Check, Side, lessons};
        let mut failures = Vec::new();
        let mut cache: Vec<(Experiment, Vec<Vec<f64>>)> = Vec::new();
        for lesson in lessons() {
            let mut previous: Option<Vec<f64>> = None;
            let mut previous_seeds: Option<Vec<Vec<f64>>> = None;
            for step in &lesson.steps {
                // A step over several seeds (a seed sweep on the page: its seeds side by side,
                // as replicas of one build) claims their means.
                let mut e = (step.setup)();
                e.replicas = step.seeds.max(1);
                let per_seed: Vec<Vec<f64>> = match cache.iter().find(|(c, _)| *c == e) {
                    Some((_, a)) => a.clone(),
                    None => {
                        let a = lesson_runs(&e);
                        cache.push((e.clone(), a.clone()));
                        a
                    }
                };
                let aucs: Vec<f64> = (0..per_seed[0].len())
                    .map(|t| per_seed.iter().map(|a| a[t]).sum::<f64>() / per_seed.len() as f64)
                    .collect();
                println!(
                    "{} / {}: test AUC {aucs:?} (mean of {} seeds: {per_seed:?})",
                    lesson.id,
                    step.button,
                    per_seed.len()
                );
                // Each task against the previous step, seed by seed, for the report.
                let paired = |task: usize| {
                    let prev = previous_seeds.as_ref()?;
                    let a: Vec<f64> = per_seed.iter().map(|s| s[task]).collect();
                    let b: Vec<f64> = prev.iter().map(|s: &Vec<f64>| s[task]).collect();
                    mtl_stats::Paired::of(&a, &b)
                };
                if per_seed.len() > 1 {
                    for task in 0..aucs.len() {
                        if let Some(d) = paired(task) {
                            println!("  task {task} − previous, paired: {}", d.display(4));
                        }
                    }
                }
                for claim in step.claims {
                    let prev = |t: usize| previous.as_ref().map_or(f64::NAN, |p| p[t]);
                    let (measured, holds) = match claim.check {
                        Check::ScoreNear { task, value, tol } => {
                            (aucs[task], (aucs[task] - value).abs() <= tol)
                        }
                        Check::ScoreAsPrevious { task, gap } => {
                            let d = (aucs[task] - prev(task)).abs();
                            (d, d <= gap)
                        }
                        Check::ScoreBelowPrevious { task, drop } => {
                            let d = prev(task) - aucs[task];
                            (d, d >= drop)
                        }
                        Check::ScoreAbovePrevious { task, rise } => {
                            let d = aucs[task] - prev(task);
                            (d, d >= rise)
                        }
                        Check::Paired { task, side } => match paired(task) {
                            Some(d) => {
                                let [low, high] = d.ci95();
                                let holds = match side {
                                    Side::Above => low > 0.0,
                                    Side::Below => high < 0.0,
                                    Side::WithinNoise => d.within_noise(),
                                };
                                (d.mean, holds)
                            }
                            None => (f64::NAN, false),
                        },
                        Check::FieldAloneAuc {
                            field,
                            task,
                            value,
                            tol,
                        } => {
                            let a = field_alone_auc(data(), field, task);
                            (a, (a - value).abs() <= tol)
                        }
                    };
                    println!(
                        "  '{}': {:?} measured {measured:.4}",
                        claim.premise, claim.check
                    );
                    if !holds {
                        failures.push(format!(
                            "{}: '{}' ({:?}) measured {measured:.4}",
                            lesson.id, claim.premise, claim.check
                        ));
                    }
                }
                previous = Some(aucs);
                previous_seeds = Some(per_seed);
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    /// The page's paper figure trains what the CLI trains: a job's cells are
    /// `mtl experiment correlation`'s at the same model, p and seeds (seed 4 alone here, so the
    /// seeds reach their replicas in order), and a model the figure has not is refused.
    #[test]
    fn figure_job_cells_are_the_cli_cells() {
        let job = FigureJob {
            model: ModelKind::Omoe,
            p: 0.5,
            seeds: vec![3, 4],
        };
        let mut training = FigureTraining::new(job, &Device::flex()).expect("builds");
        assert_eq!(training.steps(), crate::protocol::FIGURE_STEPS);
        while !training.finished() {
            training.train(500);
        }
        let cells = training.score().read().expect("scores");
        let variant = correlation_variants()
            .into_iter()
            .find(|v| v.name == "omoe")
            .expect("an OMoE variant");
        let alone = mtl::experiments::correlation_cell(
            &variant,
            0.5,
            4,
            Protocol::default(),
            &Device::flex(),
        )
        .expect("trains");
        assert_eq!(
            cells.iter().map(|c| (c.model, c.seed)).collect::<Vec<_>>(),
            [(ModelKind::Omoe, 3), (ModelKind::Omoe, 4)]
        );
        assert!(
            (cells[1].test_loss - alone.test_loss).abs() < 1e-4,
            "{} in the figure, {} from the CLI",
            cells[1].test_loss,
            alone.test_loss
        );
        let esmm = FigureJob {
            model: ModelKind::Esmm,
            p: 0.5,
            seeds: vec![1],
        };
        let refused = FigureTraining::new(esmm, &Device::flex())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            refused.as_deref(),
            Some("the paper figure has no ESMM on the correlated tasks")
        );
    }

    #[test]
    fn session_trains_on_a_synthetic_data_set() {
        // Any data set in the shared form: here the correlated regression tasks, numeric only.
        let (data, _) = mtl::data::correlated(&mtl::data::CorrelatedConfig {
            train_rows: 1_000,
            valid_rows: 100,
            test_rows: 100,
            ..Default::default()
        })
        .expect("valid knobs");
        let mut e = small(ModelKind::Mmoe);
        e.batch_size = 128;
        let mut s = Training::new(1, &e, &[&data], &Device::flex()).expect("builds");
        assert_eq!(
            (s.info().input_fields.len(), s.info().tasks.clone()),
            (16, vec!["y1".to_string(), "y2".to_string()])
        );
        let chunk = s.train_chunk(5).read().expect("finite losses");
        assert!(chunk.losses.iter().all(|l| l.is_finite() && *l > 0.0));
        let point = eval_point(
            s.steps(),
            &s.validation().read().expect("reads"),
            &s.info().gates,
        );
        assert!(
            point
                .tasks
                .iter()
                .all(|t| t.auc.is_none() && t.loss.is_finite())
        );
    }

    /// The page's hidden factor k is the generator's `confound`: another draw, other rows.
    #[test]
    fn the_funnels_hidden_factor_reaches_its_draw() {
        let plain = Experiment::tutorial_on(ModelKind::Esmm, DataKind::Funnel);
        let mut hidden = plain.clone();
        hidden.confound = 1.5;
        let draw = |e: &Experiment| synthetic_data(e).expect("synthetic").expect("draws");
        assert_ne!(draw(&plain).train.labels, draw(&hidden).train.labels);
        assert_ne!(plain.data_key(), hidden.data_key(), "the worker keeps both");
    }

    /// On the funnel, the models with a CVR head are scored over every test impression too,
    /// against the counterfactual conversions and the true pCVR; the others are not.
    #[test]
    fn session_scores_cvr_over_every_impression_on_the_funnel() {
        for model in [ModelKind::NaiveCvr, ModelKind::Esmm, ModelKind::Mmoe] {
            let mut e = Experiment::tutorial_on(model, DataKind::Funnel);
            e.epochs = 1;
            let data = synthetic_data(&e).expect("synthetic").expect("draws");
            let mut t = Training::new(1, &e, &[&data], &Device::flex()).expect("builds");
            assert_eq!(t.info().tasks, ["ctr", "ctcvr"]);
            assert_eq!(t.info().input_fields[0], "item");
            // As the page runs it: to the end, with its one test.
            let (_, report) = t.run_to_end().expect("finite losses");
            assert_eq!(report.cvr_all.is_some(), model.predicts_cvr(), "{model}");
            // Each validation point scores it too, for the page's curve.
            let point = eval_point(
                t.steps(),
                &t.validation().read().expect("reads"),
                &t.info().gates,
            );
            assert_eq!(point.cvr_all.is_some(), model.predicts_cvr(), "{model}");
            if let Some(all) = report.cvr_all {
                // One epoch only: how good each is after ten, the lesson's claims measure.
                assert!(all.auc.is_some_and(|a| a > 0.3), "{model}: {all:?}");
                assert!(all.mse_true.is_some_and(|m| m < 0.2), "{model}: {all:?}");
                assert_eq!(all.name, "cvr_all");
                let clicked = report.cvr.expect("clicked rows scored too");
                assert!(clicked.auc.is_some(), "{model}");
            }
        }
    }

    /// The task-gradient cosine comes with the first chunk past every GRADIENT_COSINE_EVERY
    /// steps, for a model whose tasks share parameters; a model sharing none says so once.
    #[test]
    fn session_measures_the_gradient_cosine_where_tasks_share() {
        let data = synthetic_data(&Experiment::tutorial_on(
            ModelKind::SharedBottom,
            DataKind::Correlated,
        ))
        .expect("synthetic")
        .expect("draws");
        let every = GRADIENT_COSINE_EVERY as usize;
        for (model, shares) in [
            (ModelKind::SharedBottom, true),
            (ModelKind::SingleTask, false),
        ] {
            let e = Experiment::tutorial_on(model, DataKind::Correlated);
            let mut t = Training::new(1, &e, &[&data], &Device::flex()).expect("builds");
            assert_eq!(t.info().grad_cosine_every.is_some(), shares, "{model}");
            let before = t.train_chunk(every).read().expect("finite");
            assert!(before.grad_cosine.is_empty(), "{model}: not yet");
            // One chunk of several multiples measures at each of them.
            let chunk = t.train_chunk(3 * every).read().expect("finite");
            let steps: Vec<u64> = chunk.grad_cosine.iter().map(|c| c.0).collect();
            if shares {
                let every = every as u64;
                assert_eq!(steps, [every, 2 * every, 3 * every], "{model}");
                assert!(
                    chunk
                        .grad_cosine
                        .iter()
                        .all(|c| (-1.0..=1.0).contains(&c.1))
                );
                assert_eq!(chunk.progress(1.0).grad_cosine, chunk.grad_cosine);
            } else {
                assert!(steps.is_empty(), "{model}: {steps:?}");
            }
        }
    }

    /// A small `model` on `data`, seeds `seed` to `seed + 2` side by side, trained 20 steps,
    /// and each seed's validation report.
    fn three_seeds_validated(
        model: ModelKind,
        data: DataKind,
        seed: u64,
    ) -> (Training, Vec<EvalReport>) {
        let mut e = small(model).with_data(data);
        e.seed = seed;
        e.replicas = 3;
        let drawn = each_seeds_data(&e);
        let sets: Vec<&Dataset> = drawn.iter().collect();
        let mut t = Training::new(1, &e, &sets, &Device::flex()).expect("builds");
        t.train_chunk(20).read().expect("finite");
        let reports = t.validation().read().expect("reads");
        (t, reports)
    }

    /// With several seeds, each CGC gate's share on the shared experts comes over all of them
    /// (the mean and sd of each seed's own share); a gate's weights per expert stay the first
    /// seed's, and one seed gives no share over seeds.
    #[test]
    fn validation_gives_the_shared_share_over_every_seed() {
        let (t, reports) = three_seeds_validated(ModelKind::Cgc, DataKind::Correlated, 4);
        let layout = t.info().gates.clone();
        let point = eval_point(t.steps(), &reports, &layout);
        assert_eq!(point.shared_share_seeds.len(), layout.len());
        for (g, gate) in layout.gates.iter().enumerate() {
            let shares: Vec<f64> = reports
                .iter()
                .map(|r| f64::from(gate.shared_share(&r.gates[g].mean).expect("CGC mixes")))
                .collect();
            let m = MeanSd::of(&shares).expect("three seeds");
            let [mean, sd] = point.shared_share_seeds[g].expect("a shared share");
            assert!((f64::from(mean) - m.mean).abs() < 1e-6, "gate {g}");
            assert!((f64::from(sd) - m.sd).abs() < 1e-6, "gate {g}");
            assert!(sd > 0.0, "the seeds' shares differ: {shares:?}");
            assert_eq!(
                point.gates[g], reports[0].gates[g].mean,
                "the first seed's weights"
            );
        }
        let one = eval_point(t.steps(), &reports[..1], &layout);
        assert!(one.shared_share_seeds.is_empty());
    }

    /// Side by side on the funnel, each seed's CVR score over every impression comes with the
    /// validation point (the chart's faint lines and each seed's saved curve), and the point's
    /// `cvr_all` is their mean.
    #[test]
    fn validation_gives_each_seeds_cvr_over_every_impression() {
        let (t, reports) = three_seeds_validated(ModelKind::Esmm, DataKind::Funnel, 2);
        let point = eval_point(t.steps(), &reports, &t.info().gates);
        let each: Vec<f64> = reports
            .iter()
            .map(|r| r.cvr_all.as_ref().and_then(|c| c.auc).expect("ESMM's CVR"))
            .collect();
        let got: Vec<f64> = point
            .replica_cvr_all
            .iter()
            .map(|c| c.auc.expect("an AUC"))
            .collect();
        assert_eq!(got, each);
        assert!(each[0] != each[1], "the seeds differ: {each:?}");
        let mean = each.iter().sum::<f64>() / 3.0;
        let all = point.cvr_all.expect("the mean").auc.expect("an AUC");
        assert!((all - mean).abs() < 1e-12, "{all} against {mean}");
        let one = eval_point(t.steps(), &reports[..1], &t.info().gates);
        assert!(one.replica_cvr_all.is_empty());
        assert_eq!(one.cvr_all.and_then(|c| c.auc), Some(each[0]));
    }

    /// Seeds trained side by side are the seeds' own runs: each replica, on the data its seed
    /// draws, selects and tests its own best weights as a run of that seed alone does; the
    /// report's top line is their mean.
    #[test]
    fn session_replicas_are_each_seeds_own_run() {
        let mut e = small(ModelKind::Mmoe).with_data(DataKind::Correlated);
        e.arch.experts = 3;
        e.arch.expert_units = vec![8];
        e.arch.tower_units = vec![4];
        // A learning rate this high overfits within a few epochs, each seed at its own step.
        e.learning_rate = 0.05;
        e.batch_size = 64;
        e.epochs = 6;
        e.patience = 2;
        e.seed = 4;
        e.replicas = 3;
        let drawn = each_seeds_data(&e);
        let sets: Vec<&Dataset> = drawn.iter().collect();
        let mut together = Training::new(1, &e, &sets, &Device::flex()).expect("builds");
        assert_eq!(together.info().seeds, [4, 5, 6]);
        let (_, report) = together.run_to_end().expect("finite losses");
        assert_eq!(report.replicas.len(), 3);
        let steps: Vec<u64> = report.replicas.iter().map(|r| r.step).collect();
        assert!(
            steps.iter().any(|&s| s != steps[0]),
            "the premise: the seeds' best points differ ({steps:?})"
        );
        for (r, replica) in report.replicas.iter().enumerate() {
            let alone = e.reseeded(e.seeds()[r]);
            let mut t = Training::new(1, &alone, &[sets[r]], &Device::flex()).expect("builds");
            let (_, own) = t.run_to_end().expect("finite losses");
            assert_eq!(replica.seed, alone.seed);
            assert_eq!(
                replica.step, own.step,
                "seed {}: its own best point",
                alone.seed
            );
            for (a, b) in replica.tasks.iter().zip(&own.tasks) {
                assert!(
                    (a.loss - b.loss).abs() < 1e-4,
                    "seed {}: {a:?} vs {b:?}",
                    alone.seed
                );
            }
        }
        // The gates shown are the first seed's own (experts are numbered apart in each seed).
        let gates = |e: &Experiment, sets: &[&Dataset]| {
            let mut t = Training::new(1, e, sets, &Device::flex()).expect("builds");
            t.train_chunk(3).read().expect("finite").gates
        };
        let (side_by_side, first_alone) = (gates(&e, &sets), gates(&e.reseeded(4), &sets[..1]));
        for (a, b) in side_by_side
            .iter()
            .flatten()
            .zip(first_alone.iter().flatten())
        {
            assert!((a - b).abs() < 1e-5, "{side_by_side:?} vs {first_alone:?}");
        }
        let mean = report.replicas.iter().map(|r| r.tasks[0].loss).sum::<f64>() / 3.0;
        assert!((report.tasks[0].loss - mean).abs() < 1e-12);
        assert!(report.tasks[0].r2.is_some());
    }

    #[test]
    fn session_refuses_a_bad_live_learning_rate() {
        let mut s =
            Training::new(1, &small(ModelKind::Mmoe), &[data()], &Device::flex()).expect("builds");
        assert!(s.set_learning_rate(-1.0).is_err());
        assert!(s.set_learning_rate(0.01).is_ok());
        assert_eq!(s.experiment.learning_rate, 0.01);
    }

    #[test]
    fn check_finite_names_the_task_and_a_fix() {
        let names = vec!["income".to_string(), "never_married".to_string()];
        assert!(check_finite(&[0.5, 0.4], &names, 3, 1e-3).is_ok());
        let err: RunError = check_finite(&[0.5, f32::NAN], &names, 7, 0.5)
            .expect_err("NaN is refused")
            .into();
        let msg = err.non_finite().expect("a NaN message");
        assert!(
            msg.contains("never_married") && msg.contains("too high"),
            "{msg}"
        );
    }
}
