//! A lesson step's result, in a sentence built from the learner's own runs (the history), not
//! from what the lesson expects: the step's test scores (the mean ± sd over its seeds when it
//! trains several), and against the lesson's previous step, the difference per task and how
//! their parameter counts compare.

use mtl_stats::{MeanSd, Paired};

use crate::page::history::{History, RunRecord, scores_over};
use crate::page::lessons::Lesson;
use crate::page::sweep::band;
use crate::protocol::CVR_ALL;
use crate::protocol::experiment::Experiment;

/// The latest run of each of the step's seeds (its setup's seed on), whatever the device; `None`
/// until every seed has one.
pub fn step_runs<'a>(
    setup: &Experiment,
    seeds: usize,
    history: &'a History,
) -> Option<Vec<&'a RunRecord>> {
    (0..seeds.max(1) as u64)
        .map(|k| {
            history
                .runs
                .iter()
                .filter(|r| {
                    r.experiment.seed == setup.seed + k
                        && r.experiment.unseeded() == setup.unseeded()
                })
                .max_by_key(|r| r.number)
        })
        .collect()
}

/// Mean ± sd over seeds, or the one value of a single run; a dash where there is none.
fn describe(values: &[f64]) -> String {
    match MeanSd::of(values) {
        Some(MeanSd { mean, sd, n }) if n > 1 => format!("{mean:.4} ± {sd:.4}"),
        Some(MeanSd { mean, .. }) => format!("{mean:.4}"),
        None => "–".into(),
    }
}

/// This step's scores against the previous step's: over the same seeds, the paired difference
/// with its 95% interval, and "within noise" when the interval holds 0; one run against one,
/// the plain difference; otherwise the difference of the means.
fn difference(mine: &[f64], theirs: &[f64]) -> Option<String> {
    if mine.len() > 1
        && let Some(paired) = Paired::of(mine, theirs)
    {
        let noise = if paired.within_noise() {
            ", within noise"
        } else {
            ""
        };
        return Some(format!("{}{noise}", paired.display(4)));
    }
    let d = MeanSd::of(mine)?.mean - MeanSd::of(theirs)?.mean;
    Some(format!("{d:+.4}"))
}

/// What lesson step `step` came to in the learner's runs, or `None` until its runs are in.
pub fn step_result(lesson: &Lesson, step: usize, history: &History) -> Option<String> {
    let s = lesson.steps.get(step)?;
    let setup = (s.setup)();
    let runs = step_runs(&setup, s.seeds, history)?;
    let mine = scores_over(&runs);
    let model = setup.model.label();
    let params = runs[0].params;
    let who = if runs.len() > 1 {
        format!(
            "Your {} runs of {model} ({params} parameters, seeds {}–{}), mean ± sd",
            runs.len(),
            setup.seed,
            setup.seed + runs.len() as u64 - 1
        )
    } else {
        format!(
            "Your {model} run ({params} parameters, seed {})",
            setup.seed
        )
    };
    let listed: Vec<String> = mine
        .iter()
        .map(|(name, v)| format!("{name} {}", describe(v)))
        .collect();
    let mut text = format!(
        "{who}: test {} {}.",
        setup.data.task_kind().headline_name(),
        listed.join(", ")
    );
    // Against the previous step, when the learner ran it too.
    let before = step
        .checked_sub(1)
        .and_then(|p| lesson.steps.get(p))
        .and_then(|p| {
            let setup = (p.setup)();
            step_runs(&setup, p.seeds, history).map(|runs| (setup, runs))
        });
    if let Some((other, theirs)) = before {
        let base = scores_over(&theirs);
        // A step changes one thing, or the sentence says it changed two.
        let data_changed = other.data_words() != setup.data_words();
        // A task is compared with the task of the same name, or on the same data with the one
        // in its place, which has the same labels under another model's name (ESMM's ctr is
        // Adult's income).
        let tasks = setup.data.task_names().len();
        let by_place =
            !data_changed && runs[0].tests.len() == tasks && theirs[0].tests.len() == tasks;
        let deltas: Vec<String> = mine
            .iter()
            .enumerate()
            .filter_map(|(i, (name, v))| {
                let (their_name, w) = base
                    .iter()
                    .find(|(n, _)| n == name)
                    .or_else(|| base.get(i).filter(|_| by_place && i < tasks))?;
                let named = if their_name == name {
                    name.clone()
                } else {
                    format!("{name} (against {their_name})")
                };
                Some(format!("{named} {}", difference(v, w)?))
            })
            .collect();
        let their_params = theirs[0].params;
        let sizes = if their_params == params {
            "the same number of parameters".to_string()
        } else {
            // Two decimals near 1, where one would print "1.0×" for sizes that differ.
            let ratio = their_params as f64 / params as f64;
            let digits = if (ratio - 1.0).abs() < 0.1 { 2 } else { 1 };
            format!(
                "{their_params} parameters, {ratio:.digits$}× {model}'s {params}: the comparison is not at equal size"
            )
        };
        let (label, two) = match (other.model == setup.model, data_changed) {
            (true, false) => (format!("your previous step's {}", other.model.label()), ""),
            (false, false) => (format!("your {}", other.model.label()), ""),
            (same_model, true) => (
                format!(
                    "your {}{} on {}",
                    if same_model { "previous step's " } else { "" },
                    other.model.label(),
                    other.data_words()
                ),
                if same_model {
                    ""
                } else {
                    "; the model and the data both changed, so this mixes two effects"
                },
            ),
        };
        if !deltas.is_empty() {
            text += &format!(
                " Against {label} ({sizes}{two}): {}{}.",
                deltas.join(", "),
                if runs.len() > 1 && runs.len() == theirs.len() {
                    " (paired by seed, 95% interval)"
                } else if runs.len() > 1 {
                    " (means)"
                } else {
                    " (one seed each: a gap this size can be seed noise)"
                }
            );
        }
    }
    Some(text)
}

/// The lesson's previous step, to draw beside this one: per task, its validation metric (AUC,
/// or R²) by step, the mean over its seeds' runs in the history, and on the funnel the CVR
/// head's AUC over every impression ([`CVR_ALL`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousCurves {
    /// What the previous step set up (its button).
    pub label: String,
    /// Its number in the lesson, from 1.
    pub number: usize,
    pub seeds: usize,
    /// Per task, its name and mean curve; then, where every seed's run has one, the CVR
    /// head's ([`CVR_ALL`]).
    pub tasks: Vec<(String, Vec<(f64, f64)>)>,
}

/// The seeds' mean of one curve of each run; `None` if a run lacks it, or it has no points.
fn mean_curve<'a>(
    curves: impl Iterator<Item = Option<&'a [(f64, f64)]>>,
) -> Option<Vec<(f64, f64)>> {
    let curves: Vec<&[(f64, f64)]> = curves.collect::<Option<_>>()?;
    let mean: Vec<(f64, f64)> = band(&curves).iter().map(|b| (b.step, b.mean)).collect();
    (!mean.is_empty()).then_some(mean)
}

/// The previous step's curves for lesson step `step`: `None` for a first step, or until every
/// seed of the previous step has a run with its curves.
pub fn previous_curves(lesson: &Lesson, step: usize, history: &History) -> Option<PreviousCurves> {
    let prev = lesson.steps.get(step.checked_sub(1)?)?;
    let runs = step_runs(&(prev.setup)(), prev.seeds, history)?;
    let tasks: Vec<(String, Vec<(f64, f64)>)> = runs[0]
        .tests
        .iter()
        .enumerate()
        .filter_map(|(t, task)| {
            mean_curve(runs.iter().map(|r| r.valid_auc.get(t).map(Vec::as_slice)))
                .map(|m| (task.name.clone(), m))
        })
        // On the funnel, the CVR head over every impression: what its lessons compare.
        .chain(
            mean_curve(
                runs.iter()
                    .map(|r| (!r.valid_cvr_auc.is_empty()).then_some(r.valid_cvr_auc.as_slice())),
            )
            .map(|m| (CVR_ALL.to_string(), m)),
        )
        .collect();
    (!tasks.is_empty()).then(|| PreviousCurves {
        label: prev.button.to_string(),
        number: step,
        seeds: runs.len(),
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::lessons::{LessonStep, lessons};
    use crate::protocol::TaskScore;
    use crate::protocol::experiment::DeviceChoice;

    fn record(e: &Experiment, number: u32, params: usize, aucs: [f64; 2]) -> RunRecord {
        let score = |name: &str, auc: f64| TaskScore {
            name: name.into(),
            loss: 0.3,
            auc: Some(auc),
            logloss: Some(0.3),
            r2: None,
            mse_true: None,
        };
        RunRecord {
            id: format!("r{number}"),
            number,
            group: None,
            session: number,
            time_ms: 0.0,
            experiment: e.clone(),
            backend: "cpu".into(),
            params,
            steps: 10,
            trained_steps: 10,
            epochs: 1,
            valid: Vec::new(),
            tests: vec![score("income", aucs[0]), score("never_married", aucs[1])],
            cvr: None,
            cvr_all: None,
            valid_loss: Vec::new(),
            valid_auc: Vec::new(),
            valid_cvr_auc: Vec::new(),
        }
    }

    #[test]
    fn the_result_is_the_learners_own_run_against_the_previous_step() {
        let lesson = &lessons()[0];
        let (sb, mmoe) = ((lesson.steps[0].setup)(), (lesson.steps[1].setup)());
        let mut h = History::default();
        assert_eq!(step_result(lesson, 1, &h), None, "nothing before the run");
        let mut gpu = mmoe.clone();
        gpu.device = DeviceChoice::Webgpu;
        h.runs.push(record(&gpu, 1, 10_702, [0.9000, 0.9624]));
        let alone = step_result(lesson, 1, &h).expect("the run is in");
        assert_eq!(
            alone,
            "Your MMoE run (10702 parameters, seed 7): test AUC income 0.9000, never_married 0.9624."
        );
        h.runs.push(record(&sb, 2, 42_110, [0.9085, 0.9634]));
        let both = step_result(lesson, 1, &h).expect("both runs are in");
        assert!(
            both.ends_with(
                "Against your Shared-Bottom (42110 parameters, 3.9× MMoE's 10702: the comparison is not at equal size): income -0.0085, never_married -0.0010 (one seed each: a gap this size can be seed noise)."
            ),
            "{both}"
        );
        // Another seed is another run, not this step's.
        let mut other = mmoe.clone();
        other.seed += 1;
        let mut h2 = History::default();
        h2.runs.push(record(&other, 1, 10_702, [0.5, 0.5]));
        assert_eq!(step_result(lesson, 1, &h2), None);
        // The latest run of the setup counts.
        h.runs.push(record(&mmoe, 3, 10_702, [0.9100, 0.9600]));
        assert!(
            step_result(lesson, 1, &h)
                .expect("in")
                .contains("income 0.9100")
        );
    }

    #[test]
    fn a_task_is_compared_with_the_one_in_its_place_under_another_models_name() {
        // Lesson 3: ESMM (ctr, ctcvr) on Adult, then Shared-Bottom (income, never_married).
        let lesson = lessons()
            .into_iter()
            .find(|l| l.id == "esmm-assumption")
            .expect("lesson 3");
        let (esmm, sb) = ((lesson.steps[0].setup)(), (lesson.steps[1].setup)());
        let mut h = History::default();
        let mut first = record(&esmm, 1, 42_622, [0.7800, 0.9500]);
        first.tests[0].name = "ctr".into();
        first.tests[1].name = "ctcvr".into();
        h.runs.push(first);
        h.runs.push(record(&sb, 2, 42_110, [0.9000, 0.9600]));
        let text = step_result(&lesson, 1, &h).expect("both ran");
        assert!(
            text.contains("income (against ctr) +0.1200, never_married (against ctcvr) +0.0100"),
            "{text}"
        );
        assert!(
            text.contains("42622 parameters, 1.01× Shared-Bottom's 42110"),
            "{text}"
        );
    }

    #[test]
    fn a_step_that_changes_the_model_and_the_data_says_so() {
        // Lesson 5: Shared-Bottom at p = 1, then MMoE at p = 0.
        let all = lessons();
        let lesson = all
            .iter()
            .find(|l| {
                l.steps.len() >= 3
                    && (l.steps[1].setup)().data_words() != (l.steps[2].setup)().data_words()
                    && (l.steps[1].setup)().model != (l.steps[2].setup)().model
            })
            .expect("a lesson whose step changes model and data");
        let (before, now) = ((lesson.steps[1].setup)(), (lesson.steps[2].setup)());
        let mut h = History::default();
        for (k, setup) in [&before, &now].into_iter().enumerate() {
            for s in 0..lesson.steps[2].seeds.max(1) as u64 {
                let mut e = setup.clone();
                e.seed += s;
                h.runs
                    .push(record(&e, (k * 10 + 1) as u32 + s as u32, 1000, [0.9, 0.9]));
            }
        }
        let text = step_result(lesson, 2, &h).expect("both steps ran");
        let words = before.data_words();
        assert!(
            text.contains(&format!("Against your {} on {words}", before.model.label())),
            "{text}"
        );
        assert!(
            text.contains("both changed, so this mixes two effects"),
            "{text}"
        );
        // One change at a time says nothing of the kind (lesson 1: the model only).
        let one = &lessons()[0];
        let mut h = History::default();
        h.runs
            .push(record(&(one.steps[0].setup)(), 1, 42_110, [0.9, 0.9]));
        h.runs
            .push(record(&(one.steps[1].setup)(), 2, 10_702, [0.9, 0.9]));
        let text = step_result(one, 1, &h).expect("both ran");
        assert!(
            !text.contains("two effects") && text.contains("Against your Shared-Bottom ("),
            "{text}"
        );
    }

    /// Lesson 5's first two steps over three seeds instead of its twenty, so that the values
    /// below stay few enough to compute by hand.
    fn three_seed_lesson() -> Lesson {
        let real = lessons()
            .into_iter()
            .find(|l| l.id == "correlated-gates")
            .expect("lesson 5");
        Lesson {
            steps: real
                .steps
                .into_iter()
                .take(2)
                .map(|s| LessonStep { seeds: 3, ..s })
                .collect(),
            ..real
        }
    }

    #[test]
    fn the_previous_steps_curves_are_its_seeds_mean_once_all_are_in() {
        let lesson = three_seed_lesson();
        let before = (lesson.steps[0].setup)();
        let mut h = History::default();
        assert_eq!(
            previous_curves(&lesson, 0, &h),
            None,
            "a first step has none"
        );
        for k in 0..3u64 {
            let mut r = record(
                &before.reseeded(before.seed + k),
                k as u32 + 1,
                100,
                [0.9, 0.8],
            );
            let v = 0.5 + 0.1 * k as f64;
            r.valid_auc = vec![
                vec![(0.0, 0.0), (10.0, v)],
                vec![(0.0, 0.0), (10.0, v / 2.0)],
            ];
            h.runs.push(r);
            let seen = previous_curves(&lesson, 1, &h);
            if k < 2 {
                assert_eq!(seen, None, "{} of three seeds", k + 1);
            } else {
                let seen = seen.expect("every seed ran");
                assert_eq!(seen.label, lesson.steps[0].button);
                assert_eq!(seen.number, 1);
                assert_eq!(seen.seeds, 3);
                assert_eq!(seen.tasks[0].0, "income");
                // The seeds' mean at step 10: (0.5 + 0.6 + 0.7) / 3, and half that.
                assert!((seen.tasks[0].1[1].1 - 0.6).abs() < 1e-12);
                assert!((seen.tasks[1].1[1].1 - 0.3).abs() < 1e-12);
                assert_eq!(seen.tasks.len(), 2, "no CVR curve off the funnel");
            }
        }
        // On the funnel, the CVR head's curve comes too, once every seed has one.
        for (k, r) in h.runs.iter_mut().enumerate() {
            if k < 2 {
                r.valid_cvr_auc = vec![(10.0, 0.6 + 0.1 * k as f64)];
            }
        }
        assert_eq!(previous_curves(&lesson, 1, &h).expect("ran").tasks.len(), 2);
        h.runs[2].valid_cvr_auc = vec![(10.0, 0.8)];
        let seen = previous_curves(&lesson, 1, &h).expect("ran");
        assert_eq!(seen.tasks[2].0, CVR_ALL);
        assert!(
            (seen.tasks[2].1[0].1 - 0.7).abs() < 1e-12,
            "{:?}",
            seen.tasks[2]
        );
    }

    #[test]
    fn a_step_over_seeds_gives_mean_and_sd_once_every_seed_ran() {
        let lesson = three_seed_lesson();
        let step = 0;
        let setup = (lesson.steps[step].setup)();
        let mut h = History::default();
        for (k, auc) in [0.90, 0.92].into_iter().enumerate() {
            let mut e = setup.clone();
            e.seed += k as u64;
            h.runs.push(record(&e, k as u32 + 1, 100, [auc, 0.5]));
        }
        assert_eq!(step_result(&lesson, step, &h), None, "two of three seeds");
        let mut e = setup.clone();
        e.seed += 2;
        h.runs.push(record(&e, 3, 100, [0.94, 0.5]));
        let text = step_result(&lesson, step, &h).expect("all three");
        assert!(text.contains("Your 3 runs of"), "{text}");
        assert!(text.contains("income 0.9200 ± 0.0200"), "{text}");
    }

    #[test]
    fn steps_over_the_same_seeds_are_compared_seed_by_seed_with_an_interval() {
        let (lesson, step) = (three_seed_lesson(), 1);
        let (before, now) = (
            (lesson.steps[step - 1].setup)(),
            (lesson.steps[step].setup)(),
        );
        assert_eq!(before.seed, now.seed, "the steps share their seeds");
        let mut h = History::default();
        let mut number = 0;
        let mut add = |e: &Experiment, aucs: [[f64; 2]; 3]| {
            for (k, a) in aucs.into_iter().enumerate() {
                number += 1;
                h.runs
                    .push(record(&e.reseeded(e.seed + k as u64), number, 100, a));
            }
        };
        add(&before, [[0.89, 0.4], [0.90, 0.4], [0.91, 0.4]]);
        add(&now, [[0.90, 0.5], [0.92, 0.5], [0.94, 0.5]]);
        let text = step_result(&lesson, step, &h).expect("both steps ran");
        // Differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01, half-width t(0.975, 2) · 0.01 / √3
        // = 4.3027 · 0.005774 = 0.0248, which holds 0. The second task differs by 0.1 on every
        // seed: no noise at all.
        assert!(
            text.contains(
                "income +0.0200 ± 0.0248, within noise, never_married +0.1000 ± 0.0000 (paired by seed, 95% interval)."
            ),
            "{text}"
        );
    }
}
