//! What crosses the worker boundary. This file: the messages between the page and the
//! training worker. Both sides share these types; they cross `postMessage` through
//! serde-wasm-bindgen, internally tagged by `type`. Every event carries the session it belongs
//! to, so the page drops what a worker sent before a reset. Beside it, the experiment a
//! [`Command::Build`] carries (`experiment`) and its field table (`fields`).

pub mod experiment;
pub mod fields;

use serde::{Deserialize, Serialize};

use mtl_vocab::ModelKind;
pub use mtl_vocab::{ExpertRef, GateInfo, GateLayout, Owner};

use crate::protocol::experiment::Experiment;

/// Page → worker.
// A handful of commands a second at most; boxing the experiment would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Builds a fresh model for `experiment` (the worker fetches the data the first time).
    /// Training does not start until [`Command::Play`].
    Build {
        session: u32,
        experiment: Experiment,
    },
    Play,
    Pause,
    /// Trains exactly one batch, then reports.
    Step,
    /// Live settings: they apply from the next step and keep the optimiser's state.
    SetLearningRate {
        learning_rate: f64,
    },
    SetLossWeights {
        weights: [f32; 2],
    },
    /// A new epoch budget. A run that has ended (and been tested) stays ended.
    SetEpochs {
        epochs: usize,
    },
    /// A new early-stopping patience, in epochs (0: train the whole budget).
    SetPatience {
        patience: usize,
    },
    /// Slows training down to about this many steps a second, so a learner can watch it;
    /// `None` trains at full speed. It changes how fast, never what is computed.
    SetPace {
        steps_per_sec: Option<f64>,
    },
    /// "Finish and test": ends the run where it stands, restores the weights with the best
    /// validation loss and scores the test split with them, once.
    Finish,
    /// Sends the model's weights as a model file (a Burn record): [`Event::ModelExported`].
    ExportModel,
    /// Trains one cell of the paper figure ([`FigureJob`]) and answers
    /// [`Event::FigureProgress`] as it goes, then [`Event::FigureCells`]. It needs no built
    /// model and leaves the worker's own run alone.
    Figure {
        session: u32,
        job: FigureJob,
    },
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The worker's wasm is up. Commands sent earlier are not lost: the worker queues them
    /// until its device is ready.
    Ready {
        backend: Backend,
    },
    /// The device could not start; the page should fall back to the CPU worker.
    DeviceFailed {
        backend: Backend,
        message: String,
    },
    /// Something slow is happening (fetching data, building a model).
    Status {
        session: u32,
        message: String,
    },
    Built {
        session: u32,
        info: ModelInfo,
    },
    Progress {
        session: u32,
        progress: Progress,
    },
    Validation {
        session: u32,
        point: EvalPoint,
    },
    Test {
        session: u32,
        report: TestReport,
    },
    /// Training stopped by itself or on request.
    Stopped {
        session: u32,
        reason: StopReason,
    },
    /// A problem with the request or the run; the page shows `message` as is.
    Error {
        session: u32,
        message: String,
    },
    /// How far the paper-figure job in training has come: `done` of its `of` steps.
    FigureProgress {
        session: u32,
        done: usize,
        of: usize,
    },
    /// A paper-figure job's result: one cell per seed, in the job's seed order.
    FigureCells {
        session: u32,
        cells: Vec<FigureCell>,
    },
    /// The model file asked for by [`Command::ExportModel`]: a burnpack that `mtl eval` and
    /// `mtl::train::ModelFile::load` read back.
    ModelExported {
        session: u32,
        /// Training steps the weights had taken.
        step: u64,
        bytes: serde_bytes::ByteBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Burn's flex device in wasm (with SIMD).
    Cpu,
    /// Burn's wgpu device on WebGPU.
    Webgpu,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::Cpu => "CPU (wasm SIMD)",
            Backend::Webgpu => "WebGPU",
        }
    }
}

/// One job of the MMoE paper's figure (the page's Paper figure tab): `model` on the correlated
/// tasks drawn at task correlation `p`, one replica per seed, each seed its own data draw and
/// initial weights, trained and scored as `mtl experiment correlation` trains and scores a cell
/// (its protocol: the model's correlation variant, fixed steps, the final weights, the test
/// loss as the mean of the two tasks' MSE). So the page's numbers are the CLI's at the same
/// seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureJob {
    pub model: ModelKind,
    pub p: f64,
    pub seeds: Vec<u64>,
}

/// The steps a [`FigureJob`] trains: the CLI's protocol (`mtl::experiments::Protocol`), which
/// the worker applies; the page only says it (a runner test holds them equal).
pub const FIGURE_STEPS: usize = 1_500;

/// One seed's result of a [`FigureJob`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FigureCell {
    pub model: ModelKind,
    pub p: f64,
    pub seed: u64,
    /// The mean of the two tasks' test MSE.
    pub test_loss: f64,
}

/// What the browser said when asked for a WebGPU adapter. The browser glue asks (the page, and
/// the worker's browser tests), and the page's device plan reads it; it sits beside [`Backend`]
/// so that the glue, which both sides link, needs nothing of the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdapterProbe {
    /// Not asked yet.
    Pending,
    /// `navigator.gpu` does not exist (no WebGPU in this browser, or not a secure context).
    NoApi,
    /// `requestAdapter()` gave nothing, or threw.
    NoAdapter(String),
    /// A software fallback such as SwiftShader: WebGPU works, but slower than the CPU device.
    Fallback(String),
    /// A real GPU.
    Hardware(String),
}

/// What the page needs to know about a freshly built model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Parameters of one model (one replica).
    pub params: usize,
    /// The seeds trained side by side, one replica each; one seed for a plain run.
    #[serde(default)]
    pub seeds: Vec<u64>,
    pub tasks: Vec<String>,
    /// The gates, in the order of [`Progress::gates`]: which expert each weight belongs to.
    pub gates: GateLayout,
    /// The data's input fields, as the model reads them (the architecture panel lists them).
    pub input_fields: Vec<String>,
    /// How many of `input_fields` are categorical (they come first); the rest are numeric.
    #[serde(default)]
    pub categorical_fields: usize,
    /// The input fields that alone rank a task's labels nearly as well as a model: proxies for
    /// the label (on Adult, relationship for never-married).
    #[serde(default)]
    pub proxies: Vec<Proxy>,
    /// The Pearson correlation of the two tasks' training labels: what the correlated data's p
    /// achieved (on Adult, how income and never-married go together).
    #[serde(default)]
    pub label_correlation: Option<f64>,
    /// Steps between two measurements of the task-gradient cosine ([`Progress::grad_cosine`]);
    /// `None` when the two tasks share no parameter, so there is nothing to measure.
    #[serde(default)]
    pub grad_cosine_every: Option<u64>,
    /// A small picture of the training data (the page's data view); `None` from an older
    /// worker or an empty split.
    #[serde(default)]
    pub data_picture: Option<DataPicture>,
}

/// What the two tasks are, in numbers small enough to draw: the page's data view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataPicture {
    /// Two regression targets: an evenly spaced sample of the training rows' (task 1, task 2)
    /// labels, which tighten onto a line as the correlated data's p rises.
    Scatter { points: Vec<[f32; 2]> },
    /// Two binary labels: training rows counted by (task 1, task 2); `counts[a][b]` has
    /// task 1 = a and task 2 = b.
    Joint { counts: [[u64; 2]; 2] },
    /// The funnel's training impressions, how many were clicked, how many were clicked and
    /// converted, and how many of all impressions would have converted had they been clicked
    /// (the counterfactual the logs never show; only a synthetic funnel knows it).
    Funnel {
        impressions: u64,
        clicks: u64,
        conversions: u64,
        would_convert: u64,
    },
}

/// An input field that is a proxy for a task's label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proxy {
    pub field: String,
    pub task: String,
    /// The field's AUC alone for the task, on the validation split (each category scored by
    /// its positive rate in the training split).
    pub auc: f64,
}

impl ModelInfo {
    /// Each gate's label, in layout order.
    pub fn gate_labels(&self) -> Vec<String> {
        self.gates
            .gates
            .iter()
            .map(|g| self.gates.gate_label(g, &self.tasks))
            .collect()
    }
}

/// Training numbers since the last report, averaged over the steps in between.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub step: u64,
    pub epoch: usize,
    /// The fraction of the current epoch done, in [0, 1).
    pub epoch_progress: f64,
    /// Mean training loss per task over the steps since the last report.
    pub losses: Vec<f32>,
    /// Per gate, the mean weight per expert over those steps (with several seeds, the first
    /// seed's: experts are numbered arbitrarily in each seed, so they have no mean).
    pub gates: Vec<Vec<f32>>,
    /// The cosine between the two tasks' loss gradients over the parameters both reach, as
    /// (step, cosine) for each measurement since the last report (every
    /// [`ModelInfo::grad_cosine_every`] steps; none for models whose tasks share nothing).
    #[serde(default)]
    pub grad_cosine: Vec<(u64, f32)>,
    /// Rows a second, all replicas together.
    pub samples_per_sec: f64,
    /// With several replicas (seeds trained side by side), each one's mean training loss per
    /// task; `losses` and `grad_cosine` are then their means. Empty for one model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_losses: Vec<Vec<f32>>,
}

/// Validation numbers at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    pub step: u64,
    pub tasks: Vec<TaskScore>,
    /// Per gate, the mean weight per expert over the validation split, in layout order: the
    /// untrained model's real gate weights come with its step-0 point.
    #[serde(default)]
    pub gates: Vec<Vec<f32>>,
    /// Per gate, how evenly each row spreads its weight (the mean per-row entropy over ln n:
    /// 1 when every row weighs every expert alike, near 0 when each row picks one expert).
    #[serde(default)]
    pub gate_spread: Vec<f32>,
    /// With several replicas, each gate's share of weight on the shared experts over the
    /// seeds: its mean and sample sd (`None` for a gate without shared experts). A weight per
    /// expert is not comparable across seeds (each seed numbers its experts its own way), but
    /// the shared share is, so the gate view shows it over every seed. Empty for one model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_share_seeds: Vec<Option<[f32; 2]>>,
    /// With several replicas, each one's scores; `tasks` and `gate_spread` are then their means
    /// and `gates` the first seed's. Empty for one model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<Vec<TaskScore>>,
    /// The CVR head scored over every validation impression against the conversion it would
    /// have had after a click (the funnel's CVR models; the replicas' mean): the funnel
    /// lessons' subject, plotted beside the tasks. `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvr_all: Option<TaskScore>,
    /// With several replicas and a CVR head, each one's `cvr_all`, in replica order
    /// (`cvr_all` is then their mean). Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_cvr_all: Vec<TaskScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskScore {
    pub name: String,
    /// Log loss for a binary task, MSE for a regression task.
    pub loss: f64,
    pub auc: Option<f64>,
    pub logloss: Option<f64>,
    /// Regression tasks: 1 − MSE / variance. Saved runs from before it existed have none.
    #[serde(default)]
    pub r2: Option<f64>,
    /// The squared error against the true probability, where the data knows it (the funnel's
    /// pCVR).
    #[serde(default)]
    pub mse_true: Option<f64>,
}

/// Validation losses weighted as in training (`weights` per task, in task order): the loss a
/// run is selected on, and compared by. The core's `EvalReport::weighted_loss`, on the page's
/// types.
pub fn weighted_loss(scores: &[TaskScore], weights: [f32; 2]) -> f64 {
    scores
        .iter()
        .zip(weights)
        .map(|(t, w)| t.loss * w as f64)
        .sum()
}

impl TaskScore {
    /// The score the page plots and tabulates: AUC for a binary task, R² for a regression one.
    pub fn headline(&self) -> Option<f64> {
        self.auc.or(self.r2)
    }

    /// Per task, the mean of several replicas' scores (each replica's list in task order): a
    /// metric is averaged where every replica has it.
    pub fn means(replicas: &[Vec<TaskScore>]) -> Vec<TaskScore> {
        let Some(first) = replicas.first() else {
            return Vec::new();
        };
        let n = replicas.len() as f64;
        let mean = |t: usize, get: fn(&TaskScore) -> Option<f64>| -> Option<f64> {
            replicas
                .iter()
                .map(|r| r.get(t).and_then(get))
                .sum::<Option<f64>>()
                .map(|total| total / n)
        };
        first
            .iter()
            .enumerate()
            .map(|(t, score)| TaskScore {
                name: score.name.clone(),
                loss: mean(t, |s| Some(s.loss)).unwrap_or(f64::NAN),
                auc: mean(t, |s| s.auc),
                logloss: mean(t, |s| s.logloss),
                r2: mean(t, |s| s.r2),
                mse_true: mean(t, |s| s.mse_true),
            })
            .collect()
    }
}

/// How the page names the CVR head's score over every impression (the core's `cvr_all`).
pub const CVR_ALL: &str = "cvr (every impression)";

/// A run's headline scores, in order: each task's AUC (R² for a regression task), then, on the
/// funnel, the CVR head's over every impression ([`CVR_ALL`]). The lesson card, the seed spread
/// and the lessons' claims all read a run through this one list, so they name and order its
/// scores alike.
pub fn headlines(tasks: &[TaskScore], cvr_all: Option<&TaskScore>) -> Vec<(String, Option<f64>)> {
    tasks
        .iter()
        .map(|t| (t.name.clone(), t.headline()))
        .chain(cvr_all.map(|c| (CVR_ALL.to_string(), c.headline())))
        .collect()
}

/// The test set's scores, once per run, when it ends: of the weights with the best validation
/// loss, which may be older than the last step trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// The step of the weights scored: the best validation point.
    pub step: u64,
    /// The steps the run trained in all (`step` or more). Reports from before selection by
    /// validation existed read 0.
    #[serde(default)]
    pub trained_steps: u64,
    /// The validation scores of the same weights: what the run is compared on.
    #[serde(default)]
    pub valid: Vec<TaskScore>,
    pub tasks: Vec<TaskScore>,
    /// The CVR head (ESMM, naive CVR), scored on the "clicked" rows.
    pub cvr: Option<TaskScore>,
    /// The CVR head scored on every impression against the counterfactual conversions and the
    /// true pCVR: the funnel only.
    #[serde(default)]
    pub cvr_all: Option<TaskScore>,
    /// With several replicas (seeds trained side by side), each one's report, in seed order;
    /// the fields above are then their means (`step`: the latest of their best steps). Empty
    /// for one model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaTest>,
}

/// One replica's test scores: of its own best weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaTest {
    pub seed: u64,
    /// The step of this replica's best validation point, whose weights were scored.
    pub step: u64,
    pub valid: Vec<TaskScore>,
    pub tasks: Vec<TaskScore>,
    pub cvr: Option<TaskScore>,
    pub cvr_all: Option<TaskScore>,
}

impl ReplicaTest {
    /// This replica's [`headlines`].
    pub fn headlines(&self) -> Vec<(String, Option<f64>)> {
        headlines(&self.tasks, self.cvr_all.as_ref())
    }
}

impl TestReport {
    /// This report's [`headlines`].
    pub fn headlines(&self) -> Vec<(String, Option<f64>)> {
        headlines(&self.tasks, self.cvr_all.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopReason {
    /// The user paused. The run goes on when they press Play; nothing is tested.
    Paused,
    /// The epoch budget is spent.
    Finished { epochs: usize },
    /// The validation loss did not improve for `patience` epochs after `best_step`.
    EarlyStopped { patience: usize, best_step: u64 },
    /// The learner pressed "Finish and test".
    Ended,
    /// A loss became NaN or infinite; the message says which and what to try.
    NonFinite { message: String },
}

impl StopReason {
    pub fn describe(&self) -> String {
        match self {
            StopReason::Paused => "Paused.".into(),
            StopReason::Finished { epochs } => format!("Finished {epochs} epochs."),
            StopReason::EarlyStopped {
                patience,
                best_step,
            } => format!(
                "Stopped early: the validation loss has not improved for {patience} epoch{} \
                 since step {best_step}.",
                if *patience == 1 { "" } else { "s" }
            ),
            StopReason::Ended => "Finished on request.".into(),
            StopReason::NonFinite { message } => format!("Training stopped: {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_messages_are_tagged_and_round_trip() {
        let cmd = Command::Build {
            session: 3,
            experiment: Experiment::default(),
        };
        let json = serde_json::to_string(&cmd).expect("serialises");
        assert!(json.starts_with(r#"{"type":"build","session":3"#), "{json}");
        assert_eq!(serde_json::from_str::<Command>(&json).expect("parses"), cmd);
        let ev = Event::Stopped {
            session: 1,
            reason: StopReason::NonFinite {
                message: "loss NaN".into(),
            },
        };
        let json = serde_json::to_string(&ev).expect("serialises");
        assert_eq!(serde_json::from_str::<Event>(&json).expect("parses"), ev);
        assert!(serde_json::from_str::<Command>(r#"{"type":"explode"}"#).is_err());
        let ev = Event::ModelExported {
            session: 2,
            step: 40,
            bytes: serde_bytes::ByteBuf::from(vec![0x4e, 0x52, 0x55, 0x42]),
        };
        let json = serde_json::to_string(&ev).expect("serialises");
        assert_eq!(serde_json::from_str::<Event>(&json).expect("parses"), ev);
    }
}
