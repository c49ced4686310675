//! The run history: every run that ended, with its setup, the validation scores it was selected
//! on and its one test score, kept in the page and in localStorage, exported as CSV or JSON.
//! Plain data; the page only stores and shows it.

use serde::{Deserialize, Serialize};

use crate::page::dashboard::{Curve, Dashboard};
use crate::protocol::TaskScore;
use crate::protocol::experiment::Experiment;
use crate::protocol::fields::{FIELDS, to_query};

/// Runs kept (a sweep adds one per seed); the oldest go first.
pub const MAX_RUNS: usize = 150;
/// Points kept per stored curve (enough to overlay, small enough for localStorage).
pub const CURVE_POINTS: usize = 120;
/// The localStorage key.
pub const STORAGE_KEY: &str = "mtl-playground.runs.v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique across visits: when the model was built and the page's session number
    /// ([`RunRecord::new_id`]). Pausing and training on updates the record with this id, and
    /// no other. Runs saved before ids existed get one when read ([`History::from_json`]).
    #[serde(default)]
    pub id: String,
    /// The run's number in this history, shown as "#N": one more than any before it.
    #[serde(default)]
    pub number: u32,
    /// The seed sweep the run belongs to ([`crate::page::sweep::SeedSweep::group`]), if any.
    #[serde(default)]
    pub group: Option<String>,
    /// The page's session number when it ran (it restarts at 1 on every visit).
    pub session: u32,
    /// Milliseconds since the Unix epoch, when the record was last updated.
    pub time_ms: f64,
    pub experiment: Experiment,
    pub backend: String,
    pub params: usize,
    /// The step of the weights tested: the best validation point.
    pub steps: u64,
    /// The steps trained in all. Runs saved before selection by validation read 0.
    #[serde(default)]
    pub trained_steps: u64,
    pub epochs: usize,
    /// The validation scores of the weights tested: what runs are compared on. Runs saved
    /// before selection by validation have none.
    #[serde(default)]
    pub valid: Vec<TaskScore>,
    /// The held-out test scores, taken once when the run ended.
    pub tests: Vec<TaskScore>,
    pub cvr: Option<TaskScore>,
    /// The CVR head over every impression (the funnel). Older saved runs have none.
    #[serde(default)]
    pub cvr_all: Option<TaskScore>,
    /// Validation loss per task, thinned.
    pub valid_loss: Vec<Curve>,
    /// Validation AUC (R² for a regression task) per task, thinned. Older saved runs have none.
    #[serde(default)]
    pub valid_auc: Vec<Curve>,
    /// The CVR head's validation AUC over every impression (the funnel's CVR models), thinned;
    /// empty for the other models and for older saved runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub valid_cvr_auc: Curve,
}

/// One task's difference between two runs (the second minus the first).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDifference {
    pub name: String,
    /// Of the validation AUC (R²) of the weights each run tested: what the runs are compared on.
    pub valid: Option<f64>,
    /// Of the held-out test AUC (R²).
    pub test: Option<f64>,
}

/// Per task both runs have (by name), `b` minus `a`.
pub fn difference(a: &RunRecord, b: &RunRecord) -> Vec<TaskDifference> {
    let score = |scores: &[TaskScore], name: &str| {
        scores
            .iter()
            .find(|s| s.name == name)
            .and_then(TaskScore::headline)
    };
    a.tests
        .iter()
        .filter(|t| b.tests.iter().any(|u| u.name == t.name))
        .map(|t| {
            let minus = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
            TaskDifference {
                name: t.name.clone(),
                valid: minus(score(&a.valid, &t.name), score(&b.valid, &t.name)),
                test: minus(score(&a.tests, &t.name), score(&b.tests, &t.name)),
            }
        })
        .collect()
}

/// Two ticked runs compared in words: per task, `b` minus `a` on validation and test, and what
/// one run each cannot tell: two runs that differ only in their seed differ by seed noise alone,
/// and any other two carry that noise on top of what sets them apart.
pub fn difference_text(a: &RunRecord, b: &RunRecord) -> String {
    let signed = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:+.4}"));
    let rows: Vec<String> = difference(a, b)
        .into_iter()
        .map(|d| {
            format!(
                "{}: valid {}, test {}",
                d.name,
                signed(d.valid),
                signed(d.test)
            )
        })
        .collect();
    let noise = if a.experiment.seed != b.experiment.seed
        && a.experiment.unseeded() == b.experiment.unseeded()
    {
        "These two differ only in their seed: their gap is seed noise itself."
    } else {
        "One run each: a gap this size can be seed noise; train both setups over the same seeds (Train N seeds side by side) for a paired interval."
    };
    format!(
        "{} minus {}, {}: {}. {noise}",
        b.label(),
        a.label(),
        a.experiment.data.task_kind().headline_name(),
        rows.join("; ")
    )
}

impl RunRecord {
    /// The id of a run whose model was built at `built_ms` (ms since the Unix epoch) in the
    /// page's session `session`.
    pub fn new_id(built_ms: f64, session: u32) -> String {
        format!("{built_ms:.0}-{session}")
    }

    /// The records of the dashboard's run `id` (of seed sweep `group`), once it has test
    /// scores: one, or with seeds side by side one per seed, each with its own scores and
    /// curves, grouped (in `group`, else in a group of their own).
    pub fn from_dashboard(
        id: &str,
        group: Option<&str>,
        d: &Dashboard,
        experiment: &Experiment,
        backend: &str,
        time_ms: f64,
    ) -> Vec<Self> {
        let (Some(test), Some(info)) = (d.test.as_ref(), d.info.as_ref()) else {
            return Vec::new();
        };
        if test.replicas.is_empty() {
            return Self::one_from_dashboard(id, group, d, experiment, backend, time_ms)
                .into_iter()
                .collect();
        }
        let group = group.unwrap_or(id);
        test.replicas
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let curves = |get: fn(&crate::page::dashboard::ReplicaCurves) -> &Curve| {
                    d.tasks
                        .iter()
                        .map(|t| t.replicas.get(k).map(|c| thin(get(c), CURVE_POINTS)))
                        .map(Option::unwrap_or_default)
                        .collect()
                };
                Self {
                    id: format!("{id}-seed{}", r.seed),
                    number: 0,
                    group: Some(group.to_string()),
                    session: d.session,
                    time_ms,
                    experiment: experiment.reseeded(r.seed),
                    backend: backend.to_string(),
                    params: info.params,
                    steps: r.step,
                    trained_steps: test.trained_steps,
                    epochs: d.epoch,
                    valid: r.valid.clone(),
                    tests: r.tasks.clone(),
                    cvr: r.cvr.clone(),
                    cvr_all: r.cvr_all.clone(),
                    valid_loss: curves(|c| &c.valid_loss),
                    valid_auc: curves(|c| &c.valid_auc),
                    valid_cvr_auc: d
                        .cvr_replicas
                        .get(k)
                        .map(|c| thin(c, CURVE_POINTS))
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    fn one_from_dashboard(
        id: &str,
        group: Option<&str>,
        d: &Dashboard,
        experiment: &Experiment,
        backend: &str,
        time_ms: f64,
    ) -> Option<Self> {
        let test = d.test.as_ref()?;
        let info = d.info.as_ref()?;
        Some(Self {
            id: id.to_string(),
            number: 0,
            group: group.map(str::to_string),
            session: d.session,
            time_ms,
            experiment: experiment.clone(),
            backend: backend.to_string(),
            params: info.params,
            steps: test.step,
            trained_steps: test.trained_steps,
            epochs: d.epoch,
            valid: test.valid.clone(),
            tests: test.tasks.clone(),
            cvr: test.cvr.clone(),
            cvr_all: test.cvr_all.clone(),
            valid_loss: d
                .tasks
                .iter()
                .map(|t| thin(&t.valid_loss, CURVE_POINTS))
                .collect(),
            valid_auc: d
                .tasks
                .iter()
                .map(|t| thin(&t.valid_auc, CURVE_POINTS))
                .collect(),
            valid_cvr_auc: thin(&d.cvr_auc, CURVE_POINTS),
        })
    }

    pub fn label(&self) -> String {
        format!("#{} {}", self.number, self.experiment.model.label())
    }

    /// The run's headline scores ([`crate::protocol::headlines`]).
    pub fn headlines(&self) -> Vec<(String, Option<f64>)> {
        crate::protocol::headlines(&self.tests, self.cvr_all.as_ref())
    }

    /// The loss the run was selected on: its validation losses weighted as in training.
    pub fn valid_loss(&self) -> Option<f64> {
        (!self.valid.is_empty())
            .then(|| crate::protocol::weighted_loss(&self.valid, self.experiment.loss_weights))
    }
}

/// Each headline score of `runs` (as the first run names them) with its values over the runs
/// that have it: a lesson step's seeds, or a seed sweep's runs.
pub fn scores_over(runs: &[&RunRecord]) -> Vec<(String, Vec<f64>)> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    let each: Vec<Vec<(String, Option<f64>)>> = runs.iter().map(|r| r.headlines()).collect();
    first
        .headlines()
        .into_iter()
        .map(|(name, _)| {
            let values = each
                .iter()
                .filter_map(|h| h.iter().find(|(n, _)| *n == name).and_then(|(_, v)| *v))
                .collect();
            (name, values)
        })
        .collect()
}

fn thin(curve: &Curve, max: usize) -> Curve {
    if curve.len() <= max {
        return curve.clone();
    }
    let stride = curve.len().div_ceil(max);
    let mut out: Curve = curve.iter().step_by(stride).copied().collect();
    if let Some(last) = curve.last()
        && out.last() != Some(last)
    {
        out.push(*last);
    }
    out
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    pub runs: Vec<RunRecord>,
}

impl History {
    /// Adds a run with the next number, or updates the run with the same id (paused, then
    /// trained further), keeping its number. The oldest runs go beyond [`MAX_RUNS`].
    pub fn record(&mut self, mut run: RunRecord) {
        if let Some(existing) = self.runs.iter_mut().find(|r| r.id == run.id) {
            run.number = existing.number;
            *existing = run;
            return;
        }
        run.number = self.next_number();
        self.runs.push(run);
        self.cap();
    }

    fn next_number(&self) -> u32 {
        self.runs.iter().map(|r| r.number).max().unwrap_or(0) + 1
    }

    fn cap(&mut self) {
        let excess = self.runs.len().saturating_sub(MAX_RUNS);
        self.runs.drain(..excess);
    }

    /// Adds the runs of `other` (an imported file) that this history lacks, by id, oldest
    /// first and numbered after its own. Returns how many were added.
    pub fn import(&mut self, other: History) -> usize {
        let mut added = 0;
        for mut run in other.runs {
            if self.runs.iter().any(|r| r.id == run.id) {
                continue;
            }
            run.number = self.next_number();
            self.runs.push(run);
            added += 1;
        }
        self.runs.sort_by_key(|r| r.number);
        self.cap();
        added
    }

    /// The runs as the Runs panel lists them: by data set, then by validation loss, lowest
    /// first (the test scores never order them); runs saved without validation scores last,
    /// newest first.
    pub fn ranked(&self) -> Vec<&RunRecord> {
        let mut runs: Vec<&RunRecord> = self.runs.iter().collect();
        runs.sort_by(|a, b| {
            let key = |r: &RunRecord| (r.experiment.data.slug(), r.valid_loss().is_none());
            key(a)
                .cmp(&key(b))
                .then_with(|| {
                    let (x, y) = (a.valid_loss(), b.valid_loss());
                    x.unwrap_or(0.0).total_cmp(&y.unwrap_or(0.0))
                })
                .then_with(|| b.number.cmp(&a.number))
        });
        runs
    }

    /// Reads a history file a learner chose to import; the error says what is wrong with it.
    pub fn parse_import(text: &str) -> Result<History, String> {
        let mut h: History = serde_json::from_str(text).map_err(|e| {
            format!("this file is not a run history exported from the playground ({e})")
        })?;
        h.repair();
        Ok(h)
    }

    /// Gives an id and a number to every run lacking one (runs saved before either existed,
    /// or a hand-edited file), so no two runs share an id.
    fn repair(&mut self) {
        let mut seen = std::collections::HashSet::new();
        for (i, r) in self.runs.iter_mut().enumerate() {
            if r.id.is_empty() || seen.contains(&r.id) {
                r.id = format!("saved-{:.0}-{}-{i}", r.time_ms, r.session);
            }
            seen.insert(r.id.clone());
        }
        let next = self.next_number();
        for (r, number) in self.runs.iter_mut().filter(|r| r.number == 0).zip(next..) {
            r.number = number;
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{\"runs\":[]}".into())
    }

    /// Reads a stored history. Anything unreadable (an old format, a hand-edited value) gives an
    /// empty history and says so, rather than breaking the page.
    pub fn from_json(text: &str) -> (Self, Option<String>) {
        match serde_json::from_str::<History>(text) {
            Ok(mut h) => {
                h.repair();
                (h, None)
            }
            Err(e) => (
                History::default(),
                Some(format!(
                    "the saved run history could not be read ({e}); starting a new one"
                )),
            ),
        }
    }

    /// One row per run, one column per [`columns`] entry: every field of the run, its setup
    /// setting by setting (the data settings p, c and the noise included), and its scores.
    pub fn to_csv(&self) -> String {
        let columns = columns();
        let row = |cells: Vec<String>| cells.join(",") + "\n";
        let mut out = row(columns.iter().map(|c| c.header.clone()).collect());
        for r in &self.runs {
            out += &row(columns.iter().map(|c| (c.cell)(r)).collect());
        }
        out
    }
}

/// One column of the run history's CSV: its header and a run's cell. The CSV is this list, so a
/// header and its cells cannot drift apart, and a run field without a column fails
/// `csv_has_a_column_for_every_run_field`.
struct Column {
    header: String,
    cell: Box<dyn Fn(&RunRecord) -> String>,
}

impl Column {
    fn new(header: impl Into<String>, cell: impl Fn(&RunRecord) -> String + 'static) -> Self {
        Self {
            header: header.into(),
            cell: Box::new(cell),
        }
    }
}

/// A score's cell in one column.
type ScoreCell = fn(&TaskScore) -> String;
/// Which of a run's scores a group of columns holds.
type ScoreOf = fn(&RunRecord) -> Option<&TaskScore>;

/// A score's columns, each prefixed by whose score it is (`task1_auc`).
const SCORE_COLUMNS: [(&str, ScoreCell); 6] = [
    ("name", |s| csv_field(&s.name)),
    ("loss", |s| decimal(Some(s.loss))),
    ("auc", |s| decimal(s.auc)),
    ("logloss", |s| decimal(s.logloss)),
    ("r2", |s| decimal(s.r2)),
    ("mse_true", |s| decimal(s.mse_true)),
];

/// Whose scores the CSV holds: each task's test and validation scores, and the CVR head's.
const SCORES: [(&str, ScoreOf); 6] = [
    ("task1", |r| r.tests.first()),
    ("task2", |r| r.tests.get(1)),
    ("task1_valid", |r| r.valid.first()),
    ("task2_valid", |r| r.valid.get(1)),
    ("cvr", |r| r.cvr.as_ref()),
    ("cvr_all", |r| r.cvr_all.as_ref()),
];

fn decimal(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

/// The CSV's columns, in order: the run's identity, its setup (every setting of the field table,
/// under its URL key, empty where the setting means nothing for the run's model or data, and
/// the whole setup as a link query), what it trained, and its scores.
fn columns() -> Vec<Column> {
    let mut columns = vec![
        Column::new("id", |r| csv_field(&r.id)),
        Column::new("number", |r| r.number.to_string()),
        Column::new("group", |r| {
            csv_field(r.group.as_deref().unwrap_or_default())
        }),
        Column::new("session", |r| r.session.to_string()),
        Column::new("time_ms", |r| format!("{:.0}", r.time_ms)),
        Column::new("backend", |r| csv_field(&r.backend)),
        Column::new("summary", |r| csv_field(&r.experiment.summary())),
        Column::new("query", |r| csv_field(&to_query(&r.experiment))),
    ];
    columns.extend(FIELDS.iter().map(|f| {
        Column::new(f.key, move |r| {
            if f.applies_to(&r.experiment) {
                csv_field(&f.text(&r.experiment))
            } else {
                String::new()
            }
        })
    }));
    columns.extend([
        Column::new("params", |r| r.params.to_string()),
        Column::new("steps", |r| r.steps.to_string()),
        Column::new("trained_steps", |r| r.trained_steps.to_string()),
        Column::new("epochs_trained", |r| r.epochs.to_string()),
        Column::new("valid_loss_weighted", |r| decimal(r.valid_loss())),
    ]);
    for (who, score) in SCORES {
        for (what, cell) in SCORE_COLUMNS {
            columns.push(Column::new(format!("{who}_{what}"), move |r| {
                score(r).map(cell).unwrap_or_default()
            }));
        }
    }
    columns
}

/// Quotes a CSV field when it holds a comma, a quote or a line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::experiment::{DataKind, ModelKind};

    fn run(session: u32, auc: f64) -> RunRecord {
        RunRecord {
            id: RunRecord::new_id(1000.0 * session as f64, session),
            number: 0,
            group: None,
            session,
            time_ms: 1000.0 * session as f64,
            experiment: Experiment::tutorial(ModelKind::Ple),
            backend: "cpu".into(),
            params: 300_470,
            steps: 500,
            trained_steps: 700,
            epochs: 4,
            valid: vec![TaskScore {
                name: "income".into(),
                loss: 0.4 - auc / 10.0,
                auc: Some(auc - 0.01),
                logloss: Some(0.4 - auc / 10.0),
                r2: None,
                mse_true: None,
            }],
            tests: vec![
                TaskScore {
                    name: "income".into(),
                    loss: 0.3,
                    auc: Some(auc),
                    logloss: Some(0.3),
                    r2: None,
                    mse_true: None,
                },
                TaskScore {
                    name: "never_married".into(),
                    loss: 0.2,
                    auc: Some(0.96),
                    logloss: Some(0.2),
                    r2: None,
                    mse_true: None,
                },
            ],
            cvr: None,
            cvr_all: None,
            valid_loss: vec![(0..500).map(|i| (i as f64, 0.5)).collect(), vec![]],
            valid_auc: Vec::new(),
            valid_cvr_auc: Vec::new(),
        }
    }

    #[test]
    fn difference_is_per_shared_task_valid_and_test() {
        let (a, b) = (run(1, 0.80), run(2, 0.85));
        let d = difference(&a, &b);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "income");
        assert!((d[0].test.expect("both tested") - 0.05).abs() < 1e-12);
        assert!((d[0].valid.expect("both validated") - 0.05).abs() < 1e-12);
        assert_eq!(d[1].test, Some(0.0));
        assert_eq!(
            d[1].valid, None,
            "no validation score for never_married in these runs"
        );
        let mut esmm = run(3, 0.7);
        esmm.tests[0].name = "ctr".into();
        assert_eq!(
            difference(&a, &esmm).len(),
            1,
            "only the tasks both runs have"
        );
    }

    #[test]
    fn a_difference_of_two_runs_says_what_one_run_each_cannot_tell() {
        let (a, mut b) = (run(1, 0.80), run(2, 0.85));
        b.number = 2;
        b.experiment.seed += 1;
        let text = difference_text(&a, &b);
        assert!(
            text.starts_with("#2 PLE minus #0 PLE, AUC: income: valid +0.0500, test +0.0500; never_married: valid –, test +0.0000."),
            "{text}"
        );
        assert!(text.ends_with("seed noise itself."), "{text}");
        b.experiment.model = ModelKind::Mmoe;
        assert!(difference_text(&a, &b).ends_with("for a paired interval."));
    }

    #[test]
    fn history_updates_a_run_by_id_and_caps_its_length() {
        let mut h = History::default();
        h.record(run(1, 0.80));
        let mut later = run(1, 0.85);
        later.time_ms += 5.0;
        h.record(later);
        assert_eq!(h.runs.len(), 1);
        assert_eq!((h.runs[0].tests[0].auc, h.runs[0].number), (Some(0.85), 1));
        let last = MAX_RUNS as u32 + 10;
        for s in 2..=last {
            h.record(run(s, 0.9));
        }
        assert_eq!(h.runs.len(), MAX_RUNS);
        assert_eq!(
            h.runs.last().map(|r| (r.session, r.number)),
            Some((last, last))
        );
    }

    /// The page's session numbers restart at 1 on every visit: a run of the same model in the
    /// same session number, after a reload, is a new run and never replaces the stored one.
    #[test]
    fn history_never_overwrites_a_run_from_an_earlier_visit() {
        let mut h = History::default();
        h.record(run(1, 0.80));
        let mut next_visit = run(1, 0.70);
        next_visit.id = RunRecord::new_id(9_000_000.0, 1);
        next_visit.time_ms = 9_000_000.0;
        h.record(next_visit);
        assert_eq!(h.runs.len(), 2);
        assert_eq!(h.runs[0].tests[0].auc, Some(0.80));
        assert_eq!(
            h.runs.iter().map(RunRecord::label).collect::<Vec<_>>(),
            ["#1 PLE", "#2 PLE"]
        );
    }

    #[test]
    fn history_import_adds_the_runs_it_lacks_and_round_trips() {
        let mut h = History::default();
        h.record(run(1, 0.80));
        h.record(run(2, 0.81));
        let file = h.to_json();
        let mut empty = History::default();
        assert_eq!(empty.import(History::parse_import(&file).unwrap()), 2);
        assert_eq!(
            empty, h,
            "export then import into an empty history gives it back"
        );
        // Importing again adds nothing; importing into a history with other runs numbers the
        // new ones after its own.
        assert_eq!(empty.import(History::parse_import(&file).unwrap()), 0);
        let mut other = History::default();
        other.record(run(7, 0.9));
        other.record(run(8, 0.9));
        other.record(run(9, 0.9));
        assert_eq!(other.import(History::parse_import(&file).unwrap()), 2);
        let numbers: Vec<u32> = other.runs.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5]);
        let err = History::parse_import("[1, 2]").unwrap_err();
        assert!(err.contains("not a run history"), "{err}");
    }
    #[test]
    fn history_reads_runs_saved_before_the_newer_settings() {
        // A run saved by the previous version: no gate DNN, dropout, L2, data set, p or R².
        let mut h = History::default();
        h.record(run(1, 0.85));
        let mut json: serde_json::Value = serde_json::from_str(&h.to_json()).unwrap();
        let runs = json["runs"].as_array_mut().unwrap();
        let experiment = runs[0]["experiment"].as_object_mut().unwrap();
        for key in ["gate_units", "dropout", "l2_embedding", "data", "p"] {
            assert!(experiment.remove(key).is_some(), "{key} is saved today");
        }
        for task in runs[0]["tests"].as_array_mut().unwrap() {
            task.as_object_mut().unwrap().remove("r2");
        }
        // Nor an id or a number: it gets them when read.
        let record = runs[0].as_object_mut().unwrap();
        record.remove("id");
        record.remove("number");
        h.runs[0].id = "saved-1000-1-0".into();
        let (back, problem) = History::from_json(&json.to_string());
        assert_eq!(problem, None);
        assert_eq!(
            back, h,
            "the old run reads as it ran: the settings it had no say in at their defaults"
        );
    }

    /// A CSV line's cells, quotes undone.
    fn cells(line: &str) -> Vec<String> {
        let mut cells = vec![String::new()];
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    cells.last_mut().expect("a cell").push('"');
                }
                '"' => quoted = !quoted,
                ',' if !quoted => cells.push(String::new()),
                _ => cells.last_mut().expect("a cell").push(c),
            }
        }
        cells
    }

    /// Each run's CSV row, by header.
    fn csv_rows(h: &History) -> Vec<std::collections::HashMap<String, String>> {
        let csv = h.to_csv();
        let mut lines = csv.lines();
        let header = cells(lines.next().expect("a header"));
        lines
            .map(|l| {
                let row = cells(l);
                assert_eq!(row.len(), header.len(), "{l}");
                header.iter().cloned().zip(row).collect()
            })
            .collect()
    }

    #[test]
    fn history_exports_csv_and_json_that_read_back() {
        let mut h = History::default();
        h.record(run(1, 0.9));
        let mut correlated = run(2, 0.8);
        correlated.experiment = correlated.experiment.with_data(DataKind::Correlated);
        correlated.experiment.p = -0.3;
        h.record(correlated);
        let rows = csv_rows(&h);
        assert_eq!(rows.len(), 2);
        let [adult, correlated] = [&rows[0], &rows[1]];
        assert_eq!(adult["task1_auc"], "0.900000");
        assert_eq!(adult["model"], "ple");
        assert_eq!(
            adult["expert_units"], "64,64",
            "quoted, since it holds a comma"
        );
        // A setting the run's data set does not have is left empty; the data settings are there.
        assert_eq!(
            (adult["p"].as_str(), adult["relationship"].as_str()),
            ("", "1")
        );
        assert_eq!(
            (
                correlated["p"].as_str(),
                correlated["c"].as_str(),
                correlated["noise"].as_str()
            ),
            ("-0.3", "2", "0.01")
        );
        assert_eq!(correlated["relationship"], "");
        // The query column is the whole setup: it reads back as the run's experiment.
        let (back, _) = crate::protocol::fields::from_query(&correlated["query"]);
        assert_eq!(back, h.runs[1].experiment);
        let (back, problem) = History::from_json(&h.to_json());
        assert_eq!((back, problem), (h, None));
        let (empty, problem) = History::from_json("{not json");
        assert!(empty.runs.is_empty() && problem.is_some());
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    /// The CSV cannot lose a field again: every field of a run has a column (or, for a field
    /// spread over several, its columns' prefix), and every setting of the experiment has its
    /// URL key's column. Only the curves are left out: a row has no room for them, and the JSON
    /// export keeps them.
    #[test]
    fn csv_has_a_column_for_every_run_field() {
        let headers: Vec<String> = columns().into_iter().map(|c| c.header).collect();
        let json = serde_json::to_value(run(1, 0.9)).expect("serialises");
        let record = json.as_object().expect("an object");
        let spread = [
            ("experiment", "query"),
            ("tests", "task1_"),
            ("valid", "task1_valid_"),
            ("cvr", "cvr_"),
            ("cvr_all", "cvr_all_"),
            ("epochs", "epochs_trained"),
        ];
        for key in record.keys() {
            if ["valid_loss", "valid_auc", "valid_cvr_auc"].contains(&key.as_str()) {
                continue;
            }
            let column = spread
                .iter()
                .find(|(k, _)| k == key)
                .map_or(key.as_str(), |s| s.1);
            assert!(
                headers.iter().any(|h| h.starts_with(column)),
                "no column for the run's {key}"
            );
        }
        for f in FIELDS {
            assert!(
                headers.iter().any(|h| h == f.key),
                "no column for {}",
                f.key
            );
        }
        let mut unique = headers.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), headers.len(), "a header twice");
    }

    #[test]
    fn history_ranks_runs_by_validation_never_by_test() {
        let mut h = History::default();
        let mut good = run(1, 0.90);
        // The best validation loss, the worst test score: validation decides.
        good.tests[0].auc = Some(0.5);
        h.record(run(2, 0.80));
        h.record(good);
        let mut legacy = run(3, 0.99);
        legacy.valid.clear();
        h.record(legacy);
        let mut other_data = run(4, 0.70);
        other_data.experiment = other_data
            .experiment
            .with_data(crate::protocol::experiment::DataKind::Funnel);
        h.record(other_data);
        let order: Vec<u32> = h.ranked().iter().map(|r| r.session).collect();
        assert_eq!(
            order,
            vec![1, 2, 3, 4],
            "Adult by validation loss, legacy last; then the funnel"
        );
        let first = &csv_rows(&h)[0];
        assert_eq!(
            [
                "trained_steps",
                "patience",
                "valid_loss_weighted",
                "task1_valid_auc"
            ]
            .map(|k| first[k].as_str()),
            ["700", "3", "0.320000", "0.790000"]
        );
    }

    #[test]
    fn stored_curves_are_thinned() {
        let r = run(1, 0.9);
        let thinned = thin(&r.valid_loss[0], CURVE_POINTS);
        assert!(thinned.len() <= CURVE_POINTS + 1);
        assert_eq!(thinned.last(), r.valid_loss[0].last());
    }
}
