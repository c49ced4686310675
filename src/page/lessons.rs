//! What the page teaches: a short explanation per model, the guided experiments, and the
//! equivalent DeepCTR call for any setup. Plain text and data, tested natively.

use crate::protocol::experiment::{DataKind, Experiment, ModelKind, format_units};

/// What the page says about a model, in one place: a line under the model select (`blurb`),
/// what it adds over the one before it and where it comes from (the "About" panel: `adds`,
/// `paper`), and for a model without gates why the gate panel is empty (`no_gates`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelNote {
    pub blurb: &'static str,
    pub adds: &'static str,
    /// Empty for the baseline.
    pub paper: &'static str,
    /// `Some` exactly for the models without gates.
    pub no_gates: Option<&'static str>,
}

/// Each model's note: one arm per model, so the compiler asks for a new model's.
pub fn note(model: ModelKind) -> ModelNote {
    const MMOE_PAPER: &str = "Ma et al., Modeling Task Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts, KDD 2018.";
    const PLE_PAPER: &str = "Tang et al., Progressive Layered Extraction (PLE), RecSys 2020.";
    match model {
        ModelKind::SingleTask => ModelNote {
            blurb: "Two separate networks: the baseline that shares nothing.",
            adds: "The baseline: one separate network per task. Nothing is shared, so neither task can help (or hurt) the other.",
            paper: "",
            no_gates: Some("Single-task models share nothing, so there is nothing to gate."),
        },
        ModelKind::SharedBottom => ModelNote {
            blurb: "One shared network under two task towers (Caruana, 1997).",
            adds: "Hard parameter sharing: both tasks read one shared bottom network, and only their towers differ. Related tasks regularise each other; unrelated ones pull the shared layers apart.",
            paper: "Caruana, Multitask Learning, Machine Learning 28, 1997.",
            no_gates: Some("Shared-Bottom has no gates: every task reads the same bottom network."),
        },
        ModelKind::Omoe => ModelNote {
            blurb: "Several experts mixed by one gate for all tasks.",
            adds: "Replaces the one bottom by several experts mixed by one softmax gate. Every task still sees the same mixture: the MMoE paper's comparison point.",
            paper: MMOE_PAPER,
            no_gates: None,
        },
        ModelKind::Mmoe => ModelNote {
            blurb: "Several experts; each task has its own gate (Ma et al., KDD 2018).",
            adds: "One gate per task: each task learns its own mixture of the shared experts, so tasks that disagree can lean on different experts.",
            paper: MMOE_PAPER,
            no_gates: None,
        },
        ModelKind::Cgc => ModelNote {
            blurb: "Each task gets its own experts besides the shared ones (Tang et al., RecSys 2020).",
            adds: "Customized Gate Control: besides shared experts, each task gets experts of its own that only its gate sees, so task-specific knowledge has a place to live.",
            paper: PLE_PAPER,
            no_gates: None,
        },
        ModelKind::Ple => ModelNote {
            blurb: "CGC stacked in levels, with a shared gate between them (Tang et al., RecSys 2020).",
            adds: "Stacks CGC in levels. Between levels a shared gate mixes all experts for the next level's shared experts, and each task's experts read that task's previous output, so sharing is refined step by step.",
            paper: PLE_PAPER,
            no_gates: None,
        },
        ModelKind::Esmm => ModelNote {
            blurb: "pCTCVR = pCTR × pCVR over shared embeddings (Ma et al., SIGIR 2018).",
            adds: "For a funnel (impression → click → conversion): pCTCVR = pCTR × pCVR over shared embeddings, trained on CTR and CTCVR over every impression, so its CVR tower is not trained on the clicked impressions alone, a biased sample. That does not make its CVR unbiased in general (Wang et al., ESCM², SIGIR 2022). It assumes conversion implies click.",
            paper: "Ma et al., Entire Space Multi-Task Model, SIGIR 2018.",
            no_gates: Some(
                "ESMM has no gates: its CTR and CVR towers share the embeddings and nothing else.",
            ),
        },
        ModelKind::NaiveCvr => ModelNote {
            blurb: "ESMM's baseline: a CVR tower trained on the clicked impressions only.",
            adds: "How CVR models were trained before ESMM: a CVR tower that learns from the clicked impressions only (the only ones whose conversion is logged), beside a separate CTR tower. It is then asked about every impression, most of which look unlike the clicked ones: selection bias, and little data.",
            paper: "The baseline of Ma et al., Entire Space Multi-Task Model, SIGIR 2018.",
            no_gates: Some(
                "The naive CVR model has no gates: its CTR and CVR towers share nothing, or with one embedding table set, that table only.",
            ),
        },
        ModelKind::IpwCvr => ModelNote {
            blurb: "The naive CVR model with each clicked impression weighted by 1 / pCTR (inverse propensity weighting).",
            adds: "Keeps the naive model's training on the clicked impressions, but weights each by one over its predicted click probability (clipped at 0.05), so the rarely clicked impressions count as much as the often clicked ones: an unbiased CVR loss when the clicks depend only on what the model sees (Schnabel et al., ICML 2016; Zhang et al., Multi-IPW, WWW 2020). A cause of both clicks and conversions that the model does not see breaks that assumption, as it does ESMM's.",
            paper: "Schnabel et al., Recommendations as Treatments, ICML 2016.",
            no_gates: Some(
                "The IPW CVR model has no gates: its CTR and CVR towers share nothing, or with one embedding table set, that table only.",
            ),
        },
    }
}

/// Seeds of a lesson step on synthetic data, trained side by side: enough that a paired
/// difference of the size the lessons show has an interval that can exclude 0 (three seeds,
/// as before, showed seed noise: the README's 30-seed experiments).
pub const SYNTHETIC_SEEDS: usize = 20;

/// One step of a guided experiment: a setup, what to do and watch, and the numbers the text
/// states, so a test can measure them.
pub struct LessonStep {
    pub button: &'static str,
    pub setup: fn() -> Experiment,
    /// Seeds the step trains, from the setup's on (a seed sweep when more than one); its
    /// claims are about the mean over them.
    pub seeds: usize,
    pub look_for: &'static str,
    /// The `data-testid` of the view the step is about: the page highlights it.
    pub watch: Option<&'static str>,
    pub claims: &'static [Claim],
}

/// A step's text as its card shows it: the first two sentences, and the rest, which the card
/// folds away. A sentence ends at ". ", "? " or "! " before a capital letter ("i.e. it" does
/// not end one).
pub fn brief(text: &str) -> (&str, &str) {
    let bytes = text.as_bytes();
    let mut ends = 0;
    for (i, w) in bytes.windows(3).enumerate() {
        if matches!(w[0], b'.' | b'?' | b'!') && w[1] == b' ' && w[2].is_ascii_uppercase() {
            ends += 1;
            if ends == 2 {
                return (&text[..=i], &text[i + 2..]);
            }
        }
    }
    (text, "")
}

/// What a lesson's design relies on, measured: the runner's `lesson_claims_hold` trains the
/// step's setup natively, as the page does, at its seeds, and checks `check` against the test
/// split, so a lesson cannot lead a learner to a comparison that shows nothing. The text states
/// no outcome (the learner's own run does, in the lesson card); `premise` says in words what is
/// checked, for the test's report.
pub struct Claim {
    pub premise: &'static str,
    pub check: Check,
}

/// What a claim says, about the step's run once its epoch budget is spent. A "score" is the
/// task's headline ([`crate::protocol::headlines`]): its test AUC for a binary task, its R² for
/// a regression task; on the funnel, task 2 (the third score) is the CVR head's over every
/// impression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    /// Task `task`'s score is within `tol` of `value`.
    ScoreNear { task: usize, value: f64, tol: f64 },
    /// Task `task`'s score is within `gap` of the lesson's previous step's.
    ScoreAsPrevious { task: usize, gap: f64 },
    /// Task `task`'s score is below the previous step's by at least `drop`.
    ScoreBelowPrevious { task: usize, drop: f64 },
    /// Task `task`'s score is above the previous step's by at least `rise`.
    ScoreAbovePrevious { task: usize, rise: f64 },
    /// Task `task`'s score against the previous step's, seed by seed (the two steps train the
    /// same seeds): the 95% interval of the mean paired difference lies on `side` of 0, or holds
    /// it. How a step over several seeds states a comparison.
    Paired { task: usize, side: Side },
    /// The categorical input `field` alone (each of its values scored by its rate of the
    /// label in the training split) ranks task `task`'s test labels with about this AUC.
    FieldAloneAuc {
        field: &'static str,
        task: usize,
        value: f64,
        tol: f64,
    },
}

/// Where a paired difference's interval lies: above 0, below it, or around it (within noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Above,
    Below,
    WithinNoise,
}

pub struct Lesson {
    pub id: &'static str,
    pub title: &'static str,
    pub steps: Vec<LessonStep>,
}

impl Lesson {
    /// The setups its race trains side by side: steps that read the same rows
    /// ([`Experiment::data_key`]) at the same seed, so that the race trains them as the steps do,
    /// at most [`crate::page::race::MAX_LANES`]. Of several such groups, the largest, and of
    /// equal ones the latest: a lesson builds up to its point (lesson 5 ends at p = 0, where
    /// the tasks disagree), and its race shows that. Fewer than two: the lesson has no race.
    pub fn race_setups(&self) -> Vec<Experiment> {
        let mut groups: Vec<Vec<Experiment>> = Vec::new();
        for e in self.steps.iter().map(|s| (s.setup)()) {
            let key = (e.data_key(), e.seed);
            match groups
                .iter_mut()
                .find(|g| (g[0].data_key(), g[0].seed) == key)
            {
                Some(g) if !g.contains(&e) && g.len() < crate::page::race::MAX_LANES => g.push(e),
                Some(_) => {}
                None => groups.push(vec![e]),
            }
        }
        // `max_by_key` keeps the last of equal keys.
        groups
            .into_iter()
            .filter(|g| g.len() >= 2)
            .max_by_key(Vec::len)
            .unwrap_or_default()
    }

    /// Its race button's words, saying which data the race reads where the steps read several;
    /// `None` without a race.
    pub fn race_label(&self) -> Option<String> {
        let setups = self.race_setups();
        let first = setups.first()?;
        let several = self
            .steps
            .iter()
            .any(|s| (s.setup)().data_key() != first.data_key());
        Some(if several {
            format!("Race them ({})", first.data_words())
        } else {
            "Race them".into()
        })
    }
}

/// The correlated tasks at `p`, with their own setup, seed 7.
fn correlated(model: ModelKind, p: f64) -> Experiment {
    let mut e = Experiment::tutorial_on(model, DataKind::Correlated);
    e.p = p;
    e.seed = 7;
    e
}

/// The funnel with its own setup, seed 7.
fn funnel(model: ModelKind) -> Experiment {
    let mut e = Experiment::tutorial_on(model, DataKind::Funnel);
    e.seed = 7;
    e
}

/// The funnel with a hidden factor of weight 1 in each impression's click and conversion.
fn confounded(model: ModelKind) -> Experiment {
    let mut e = funnel(model);
    e.confound = 1.0;
    e
}

fn tutorial(model: ModelKind) -> Experiment {
    let mut e = Experiment::tutorial(model);
    e.seed = 7;
    e.epochs = 3;
    e
}

/// The guided experiments, in the spirit of TensorFlow Playground's tutorials.
pub fn lessons() -> Vec<Lesson> {
    vec![
        Lesson {
            id: "sb-vs-mmoe",
            title: "1. Shared-Bottom against MMoE, same seed",
            steps: vec![
                LessonStep {
                    button: "Set up Shared-Bottom",
                    setup: || tutorial(ModelKind::SharedBottom),
                    seeds: 1,
                    look_for: "It trains its 3 epochs as soon as it is built. Note both tasks' test AUC in the metrics table; the run is saved in Runs, and your result appears below.",
                    watch: Some("metrics-table"),
                    claims: &[],
                },
                LessonStep {
                    button: "Now MMoE",
                    setup: || tutorial(ModelKind::Mmoe),
                    seeds: 1,
                    look_for: "Same seed, same data, same epochs, but not the same size: MMoE's towers here are the tutorial's [16, 8] against Shared-Bottom's [64, 32], so it has 10,702 parameters against 42,110 (the result below says so too). Once it has trained, read the result below: how far apart do the two models end on each task? Two tasks on 13 features leave little for experts to specialise on, so expect them close, and look at whether the gap is larger than a seed's spread (Seeds side by side at 3, then Train 3 seeds to the end, tells). Watch the two gates drift apart anyway.",
                    watch: Some("gate-heatmap"),
                    claims: &[
                        Claim {
                            premise: "within about 0.01 test AUC on income",
                            check: Check::ScoreAsPrevious {
                                task: 0,
                                gap: 0.015,
                            },
                        },
                        Claim {
                            premise: "0.001 on never_married",
                            check: Check::ScoreAsPrevious {
                                task: 1,
                                gap: 0.003,
                            },
                        },
                    ],
                },
            ],
        },
        Lesson {
            id: "ple-specific",
            title: "2. What PLE's task-specific experts take over",
            steps: vec![LessonStep {
                button: "Set up PLE",
                setup: || tutorial(ModelKind::Ple),
                seeds: 1,
                look_for: "Once it has trained, read the gate heatmap's shared column: the share of each gate's weight that goes to the shared experts (S…), per level, beside the share an even gate would give them. A task's gate below its even share has moved weight from S to its own T experts: it has found something only it needs. Compare level 1 with level 2.",
                watch: Some("gate-heatmap"),
                claims: &[],
            }],
        },
        Lesson {
            id: "esmm-assumption",
            title: "3. Why ESMM's CTR head drops on Adult",
            steps: vec![
                LessonStep {
                    button: "Set up ESMM",
                    setup: || tutorial(ModelKind::Esmm),
                    seeds: 1,
                    look_for: "Once it has trained, look at the test AUC of ctr (income > 50K), against the income AUC of the other models (your runs of lesson 1, in Runs). ESMM forces pCTCVR = pCTR × pCVR ≤ pCTR, i.e. it assumes every 'conversion' (never married) was first a 'click' (income > 50K). On Adult that is false: most never-married people earn less. To fit CTCVR, the model must push pCTR up for them, which would ruin it as an income predictor. Does your run show it?",
                    watch: Some("metrics-table"),
                    claims: &[Claim {
                        premise: "falls to about 0.78",
                        check: Check::ScoreNear {
                            task: 0,
                            value: 0.78,
                            tol: 0.03,
                        },
                    }],
                },
                LessonStep {
                    button: "Compare with Shared-Bottom",
                    setup: || tutorial(ModelKind::SharedBottom),
                    seeds: 1,
                    look_for: "Same seed and epochs, no product constraint: compare income's AUC with ESMM's ctr in the result below. If it is back up, the architecture was right for a funnel and wrong for these labels.",
                    watch: Some("metrics-table"),
                    claims: &[Claim {
                        premise: "back near 0.9",
                        check: Check::ScoreNear {
                            task: 0,
                            value: 0.9,
                            tol: 0.02,
                        },
                    }],
                },
            ],
        },
        Lesson {
            id: "relationship-leak",
            title: "4. The relationship leak",
            steps: vec![
                LessonStep {
                    button: "MMoE with relationship",
                    setup: || tutorial(ModelKind::Mmoe),
                    seeds: 1,
                    look_for: "Once it has trained, note never_married's AUC (the result below has it). The input fields above the diagram mark relationship as a proxy for it.",
                    watch: Some("input-fields"),
                    claims: &[Claim {
                        premise: "about 0.96",
                        check: Check::ScoreNear {
                            task: 1,
                            value: 0.96,
                            tol: 0.01,
                        },
                    }],
                },
                LessonStep {
                    button: "Turn relationship off",
                    setup: || {
                        let mut e = tutorial(ModelKind::Mmoe);
                        e.relationship = false;
                        e
                    },
                    seeds: 1,
                    look_for: "The field said husband, wife, own-child, unmarried…: the input fields showed how well it alone ranks never-married. Without it, how far does the task's AUC fall (the result below compares the two runs)? Look at income too: husband and wife also say much about income in this 1994 census, so the field may have been a strong income feature as well. A feature that is almost the label inflates a model's score; always ask what your features know.",
                    watch: Some("metrics-table"),
                    claims: &[
                        Claim {
                            premise: "alone it scores about 0.91 AUC",
                            check: Check::FieldAloneAuc {
                                field: "relationship",
                                task: 1,
                                value: 0.91,
                                tol: 0.02,
                            },
                        },
                        Claim {
                            premise: "falls to about 0.87",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.87,
                                tol: 0.02,
                            },
                        },
                        Claim {
                            premise: "Income's AUC falls too",
                            check: Check::ScoreBelowPrevious {
                                task: 0,
                                drop: 0.02,
                            },
                        },
                        Claim {
                            premise: "to about 0.86",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.86,
                                tol: 0.02,
                            },
                        },
                    ],
                },
            ],
        },
        Lesson {
            id: "correlated-gates",
            title: "5. When tasks disagree: Shared-Bottom against MMoE (synthetic, 20 seeds each)",
            steps: vec![
                LessonStep {
                    button: "MMoE, one task twice (p = 1)",
                    setup: || correlated(ModelKind::Mmoe, 1.0),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "Two regression tasks whose weight vectors point the same way. The button trains seeds 7 to 26 to the end, side by side as one computation (each seed a faint line under their bold mean); the Runs panel then shows each task's test R², mean ± sd, and so does the result below.",
                    watch: Some("gate-heatmap"),
                    claims: &[
                        Claim {
                            premise: "y1 about 0.96",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.96,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "y2 about 0.96",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.96,
                                tol: 0.01,
                            },
                        },
                    ],
                },
                LessonStep {
                    button: "Shared-Bottom, one task twice (p = 1)",
                    setup: || correlated(ModelKind::SharedBottom, 1.0),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "One shared bottom, 4 units wide, for two tasks that are one, over the same seeds. The result below compares it with MMoE: when the tasks are one, a shared bottom should lose nothing.",
                    watch: Some("grad-conflict"),
                    claims: &[
                        Claim {
                            premise: "within noise of MMoE on y1",
                            check: Check::Paired {
                                task: 0,
                                side: Side::WithinNoise,
                            },
                        },
                        Claim {
                            premise: "and on y2",
                            check: Check::Paired {
                                task: 1,
                                side: Side::WithinNoise,
                            },
                        },
                        Claim {
                            premise: "y1 about 0.96",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.96,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "y2 about 0.96",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.96,
                                tol: 0.01,
                            },
                        },
                    ],
                },
                LessonStep {
                    button: "MMoE, unrelated tasks (p = 0)",
                    setup: || correlated(ModelKind::Mmoe, 0.0),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "The tasks now unrelated, over the same seeds. MMoE's two gates can send each task to different experts: compare the two rows of the gate heatmap with those at p = 1, and each task's R² in the result below with the lesson's first step.",
                    watch: Some("gate-heatmap"),
                    claims: &[
                        Claim {
                            premise: "y1 about 0.94",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.94,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "y2 about 0.94",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.94,
                                tol: 0.01,
                            },
                        },
                    ],
                },
                LessonStep {
                    button: "Shared-Bottom, unrelated tasks (p = 0)",
                    setup: || correlated(ModelKind::SharedBottom, 0.0),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "One narrow shared layer (48 then 4 units) for two unrelated tasks. The MMoE paper predicts a gap between Shared-Bottom and MMoE opens here that p = 1 did not have: the narrow shared layer must serve one task and let the other go, where MMoE's gates can keep both. Does it, here? The result below gives the difference per task, seed by seed, with its interval. The task-gradient conflict panel shows the pull: at p = 1 the two tasks' gradients on the shared bottom point the same way, at p = 0 they no longer do. The Paper figure tab draws the paper's whole figure, the CLI's protocol at every p.",
                    watch: Some("grad-conflict"),
                    claims: &[
                        Claim {
                            premise: "within noise of MMoE on y1, at 20 seeds and this protocol",
                            check: Check::Paired {
                                task: 0,
                                side: Side::WithinNoise,
                            },
                        },
                        Claim {
                            premise: "and on y2",
                            check: Check::Paired {
                                task: 1,
                                side: Side::WithinNoise,
                            },
                        },
                        Claim {
                            premise: "y1 about 0.93",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.93,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "y2 about 0.93",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.93,
                                tol: 0.01,
                            },
                        },
                    ],
                },
            ],
        },
        Lesson {
            id: "one-gate-or-two",
            title: "6. One gate or one per task: OMoE against MMoE (p = 0.5, 20 seeds each)",
            steps: vec![
                LessonStep {
                    button: "MMoE, p = 0.5",
                    setup: || correlated(ModelKind::Mmoe, 0.5),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "Tasks half related. MMoE, a gate per task, over seeds 7 to 26: the result below gives each task's R², mean ± sd.",
                    watch: Some("gate-heatmap"),
                    claims: &[
                        Claim {
                            premise: "y1 about 0.95",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.95,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "y2 about 0.93",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.93,
                                tol: 0.01,
                            },
                        },
                    ],
                },
                LessonStep {
                    button: "OMoE, p = 0.5",
                    setup: || correlated(ModelKind::Omoe, 0.5),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "The same experts under one gate for both tasks. One mixture of experts must serve both tasks at once, where MMoE gives each task its own: the result below says how each task moved against MMoE.",
                    watch: Some("seed-spread"),
                    claims: &[
                        Claim {
                            premise: "below MMoE on y1",
                            check: Check::Paired {
                                task: 0,
                                side: Side::Below,
                            },
                        },
                        Claim {
                            premise: "within noise of it on y2",
                            check: Check::Paired {
                                task: 1,
                                side: Side::WithinNoise,
                            },
                        },
                        Claim {
                            premise: "y1 about 0.93",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.93,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "y2 about 0.93",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.93,
                                tol: 0.01,
                            },
                        },
                    ],
                },
            ],
        },
        Lesson {
            id: "wider-bottom",
            title: "7. A wider shared layer (p = 0, 20 seeds each)",
            steps: vec![
                LessonStep {
                    button: "Shared-Bottom 4 wide, p = 0",
                    setup: || correlated(ModelKind::SharedBottom, 0.0),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "Lesson 5's last step again (the runs are the same): a bottom of 48 then 4 units.",
                    watch: Some("seed-spread"),
                    claims: &[
                        Claim {
                            premise: "y1 about 0.93",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.93,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "y2 about 0.93",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.93,
                                tol: 0.01,
                            },
                        },
                    ],
                },
                LessonStep {
                    button: "Shared-Bottom 8 wide, p = 0",
                    setup: || {
                        let mut e = correlated(ModelKind::SharedBottom, 0.0);
                        e.arch.bottom_units = vec![48, 8];
                        e
                    },
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "The shared representation twice as wide (48, 8), at p = 0 on the same seeds. With room for both tasks, does the shared layer still have to choose between them? The result below gives the change per task, seed by seed, and lesson 5 has MMoE at p = 0 to compare.",
                    watch: Some("seed-spread"),
                    claims: &[
                        Claim {
                            premise: "above the 4-wide layer on y1",
                            check: Check::Paired {
                                task: 0,
                                side: Side::Above,
                            },
                        },
                        Claim {
                            premise: "and on y2",
                            check: Check::Paired {
                                task: 1,
                                side: Side::Above,
                            },
                        },
                        Claim {
                            premise: "y1 about 0.95",
                            check: Check::ScoreNear {
                                task: 0,
                                value: 0.95,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "y2 about 0.95",
                            check: Check::ScoreNear {
                                task: 1,
                                value: 0.95,
                                tol: 0.01,
                            },
                        },
                    ],
                },
            ],
        },
        Lesson {
            id: "esmm-vs-naive",
            title: "8. ESMM against a naive CVR model (synthetic funnel, 20 seeds each)",
            steps: vec![
                LessonStep {
                    button: "Naive CVR on the funnel",
                    setup: || funnel(ModelKind::NaiveCvr),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "16,000 training impressions of 400 items (the data view draws them; 2,000 more validate and 2,000 test): about 15% are clicked, and 30% of the clicks convert. This model's CVR tower learns from the clicked impressions only, as CVR models did before ESMM, on an embedding table of its own. The metrics table scores CVR on the clicked test impressions, as logs allow, and on every impression, against the conversion it would have had after a click, which only synthetic data knows. The result below gives the CVR AUC over every impression, mean over seeds 7 to 26.",
                    watch: Some("metrics-table"),
                    claims: &[Claim {
                        premise: "about 0.73",
                        check: Check::ScoreNear {
                            task: 2,
                            value: 0.73,
                            tol: 0.01,
                        },
                    }],
                },
                LessonStep {
                    button: "ESMM on the same funnel",
                    setup: || funnel(ModelKind::Esmm),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "ESMM trains on the click and on click-and-convert over every impression; its CVR tower is the factor between them, and both towers read one embedding table. Does its CVR AUC over every impression rise against the naive model's (the result below)? Two things changed at once: where the CVR tower learns from, and the shared table. The next step pulls them apart.",
                    watch: Some("metrics-table"),
                    claims: &[
                        Claim {
                            premise: "rises to about 0.77",
                            check: Check::ScoreNear {
                                task: 2,
                                value: 0.77,
                                tol: 0.01,
                            },
                        },
                        Claim {
                            premise: "above the naive model's, seed by seed",
                            check: Check::Paired {
                                task: 2,
                                side: Side::Above,
                            },
                        },
                    ],
                },
                LessonStep {
                    button: "Naive CVR sharing the embedding table",
                    setup: || {
                        let mut e = funnel(ModelKind::NaiveCvr);
                        e.arch.shared_embedding = true;
                        e
                    },
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "The naive model again, its CVR tower still learning from clicks only, but reading the embedding table that its CTR tower learns from every impression. Compare its CVR AUC over every impression with ESMM's in the result below, against the seeds' spread. If they are level, what lifts CVR on this funnel is the item representation learned from every impression, more than where the CVR tower's loss is counted. The README's 30-seed table separates the two (ESMM without the shared table, ESMM-NS, is in it). ESMM's CVR is not unbiased in general either (ESCM², 2022).",
                    watch: Some("seed-spread"),
                    claims: &[
                        Claim {
                            premise: "within noise of ESMM",
                            check: Check::Paired {
                                task: 2,
                                side: Side::WithinNoise,
                            },
                        },
                        Claim {
                            premise: "about 0.77",
                            check: Check::ScoreNear {
                                task: 2,
                                value: 0.77,
                                tol: 0.01,
                            },
                        },
                    ],
                },
            ],
        },
        Lesson {
            id: "hidden-cause",
            title: "9. A hidden cause of clicks and conversions (funnel, hidden factor 1, 20 seeds each)",
            steps: vec![
                LessonStep {
                    button: "ESMM with a hidden factor",
                    setup: || confounded(ModelKind::Esmm),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "Each impression of the funnel now has a hidden factor, an intent no log records, that raises both its click and its conversion (Hidden factor k = 1). ESMM's CVR is pCTCVR / pCTR, the conversion rate among clicked impressions like this one, and clicked impressions convert more than the same impression would on average. The result below gives its CVR AUC over every impression; lesson 8's ESMM run, without the factor, is in Runs to compare.",
                    watch: Some("metrics-table"),
                    claims: &[Claim {
                        premise: "about 0.75",
                        check: Check::ScoreNear {
                            task: 2,
                            value: 0.75,
                            tol: 0.01,
                        },
                    }],
                },
                LessonStep {
                    button: "Naive CVR with the same factor",
                    setup: || confounded(ModelKind::NaiveCvr),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "Only the model changes: the naive model's CVR tower learns from the clicked impressions only, so it too estimates the rate among clicks, from fewer rows. How far apart are the two now, against lesson 8's gap without the factor (the result below gives the difference, seed by seed)?",
                    watch: Some("metrics-table"),
                    claims: &[Claim {
                        premise: "below ESMM's, seed by seed",
                        check: Check::Paired {
                            task: 2,
                            side: Side::Below,
                        },
                    }],
                },
                LessonStep {
                    button: "IPW CVR with the same factor",
                    setup: || confounded(ModelKind::IpwCvr),
                    seeds: SYNTHETIC_SEEDS,
                    look_for: "Only the training changes: the naive model again, with each clicked impression weighted by one over its predicted click probability, so that the clicked rows stand for every impression. That weighting corrects for what the model sees, not for a cause it cannot see. Compare its CVR AUC with the naive model's in the result below, against the interval.",
                    watch: Some("metrics-table"),
                    claims: &[Claim {
                        premise: "within noise of the naive model's",
                        check: Check::Paired {
                            task: 2,
                            side: Side::WithinNoise,
                        },
                    }],
                },
            ],
        },
    ]
}

fn py_units(units: &[usize]) -> String {
    match units {
        [one] => format!("({one},)"),
        _ => format!("({})", format_units(units).replace(',', ", ")),
    }
}

/// The equivalent DeepCTR (TensorFlow) code for `e`, to reproduce the experiment at scale.
pub fn deepctr_code(e: &Experiment) -> String {
    if e.data == DataKind::Funnel {
        let confound = if e.confound > 0.0 {
            format!(" --confound {}", e.confound)
        } else {
            String::new()
        };
        let cli = if e.model.predicts_cvr() {
            format!(
                "cargo run --release -p mtl -- experiment funnel --models {}{confound} --seeds 6",
                e.model.slug()
            )
        } else {
            format!(
                "cargo run --release -p mtl -- experiment funnel{confound} --seeds 6   # ESMM against naive CVR"
            )
        };
        return format!(
            "# The funnel is synthetic: DeepCTR has no such data set, so there is no DeepCTR call to\n\
             # copy. This is the generator (mtl::data::funnel), as the worker draws it, and the CLI\n\
             # that trains ESMM and the naive CVR model on it natively:\n\
             #   item quality q ~ N(0, 1) per item; context x ~ N(0, I_4) per impression\n\
             #   pCTR = sigmoid(a + q[item] + v_ctr.x + k*u), pCVR = sigmoid(b + q[item] + v_cvr.x + k*u)\n\
             #   u ~ N(0, 1) per impression, never logged: the hidden factor, of weight k\n\
             #   a, b set so that clicks are ~15% of impressions and conversions ~30% of clicks\n\
             #   click ~ Bernoulli(pCTR); conversion ~ Bernoulli(pCVR), logged only if clicked\n\
             #   (every impression keeps its counterfactual conversion and its true pCVR)\n\
             items = 400\ncontext = 4\nctr, cvr = 0.15, 0.30\nk = {k}\nrows = (16000, 2000, 2000)  # train, validation, test\nseed = {seed}\n\n\
             # {cli}",
            k = e.confound,
            seed = e.seed,
        );
    }
    if e.data == DataKind::Correlated {
        return format!(
            "# The correlated tasks are synthetic: DeepCTR has no such data set, so there is no\n\
             # DeepCTR call to copy. This is the generator (Ma et al., KDD 2018, section 3.2), as\n\
             # the worker draws it (mtl::data::correlated), and the CLI that trains it natively:\n\
             #   x ~ N(0, I_16); u1, u2 orthonormal; w1 = c*u1; w2 = c*(p*u1 + sqrt(1 - p^2)*u2)\n\
             #   y_i = w_i.x + sum_j=1..4 sin(j * w_i.x + j - 1) + noise, standardised on train\n\
             p = {p}\nc = {c}\nm = 4\nnoise_std = {noise}\nd = 16\nrows = (8000, 1000, 5000)  # train, validation, test\nseed = {seed}\n\n\
             # cargo run --release -p mtl -- experiment correlation --p {p} --models {model} --seeds 6",
            p = e.p,
            c = e.c,
            noise = e.noise,
            seed = e.seed,
            model = e.model.slug(),
        );
    }
    let [t1, t2] = e.task_names();
    let common = format!(
        "l2_reg_embedding={:e}, dnn_dropout={}, seed={}, task_types=('binary', 'binary'), task_names=('{t1}', '{t2}')",
        e.arch.l2_embedding, e.arch.dropout, e.seed
    );
    let gate_units = py_units(&e.arch.gate_units);
    let model = match e.model {
        ModelKind::SharedBottom => format!(
            "from deepctr.models import SharedBottom\nmodel = SharedBottom(dnn_feature_columns, bottom_dnn_hidden_units={}, tower_dnn_hidden_units={},\n                     {common})",
            py_units(&e.arch.bottom_units),
            py_units(&e.arch.tower_units)
        ),
        ModelKind::Mmoe => format!(
            "from deepctr.models import MMOE\nmodel = MMOE(dnn_feature_columns, num_experts={}, expert_dnn_hidden_units={}, tower_dnn_hidden_units={},\n             gate_dnn_hidden_units={gate_units}, {common})",
            e.arch.experts,
            py_units(&e.arch.expert_units),
            py_units(&e.arch.tower_units)
        ),
        ModelKind::Omoe => format!(
            "# DeepCTR has no OMoE. MMOE is the closest; OMoE would share one gate between the tasks.\nfrom deepctr.models import MMOE\nmodel = MMOE(dnn_feature_columns, num_experts={}, expert_dnn_hidden_units={}, tower_dnn_hidden_units={},\n             gate_dnn_hidden_units={gate_units}, {common})",
            e.arch.experts,
            py_units(&e.arch.expert_units),
            py_units(&e.arch.tower_units)
        ),
        ModelKind::Cgc | ModelKind::Ple => format!(
            "from deepctr.models import PLE\nmodel = PLE(dnn_feature_columns, shared_expert_num={}, specific_expert_num={}, num_levels={},{}\n            expert_dnn_hidden_units={}, tower_dnn_hidden_units={}, gate_dnn_hidden_units={gate_units},\n            {common})",
            e.arch.shared_experts,
            e.arch.specific_experts,
            e.model.levels(e.arch.levels),
            if e.model == ModelKind::Cgc {
                "  # CGC is PLE with one level"
            } else {
                ""
            },
            py_units(&e.arch.expert_units),
            py_units(&e.arch.tower_units)
        ),
        // Only the funnel offers it, and the funnel has no DeepCTR code (above).
        ModelKind::NaiveCvr | ModelKind::IpwCvr => String::new(),
        ModelKind::Esmm => format!(
            "{}from deepctr.models import ESMM\nmodel = ESMM(dnn_feature_columns, tower_dnn_hidden_units={}, {common})",
            if e.arch.shared_embedding {
                ""
            } else {
                "# DeepCTR's ESMM always shares the embeddings; a table per tower (ESMM-NS) needs two\n# input layers of your own.\n"
            },
            py_units(&e.arch.tower_units)
        ),
        ModelKind::SingleTask => format!(
            "# Single-task baseline: one DNN per task (DeepCTR's DNN layer), trained separately.\nfrom deepctr.feature_column import build_input_features, input_from_feature_columns\nfrom deepctr.layers.core import DNN, PredictionLayer\nfrom deepctr.layers.utils import combined_dnn_input\n\ndef single_task():\n    features = build_input_features(dnn_feature_columns)\n    sparse, dense = input_from_feature_columns(features, dnn_feature_columns, {l2:e}, {seed})\n    x = combined_dnn_input(sparse, dense)\n    x = DNN({bottom} + {tower}, dropout_rate={dropout}, seed={seed})(x)\n    out = PredictionLayer('binary')(tf.keras.layers.Dense(1, use_bias=False)(x))\n    return tf.keras.Model(list(features.values()), out)\n\nmodel = single_task()  # build and fit one per task",
            seed = e.seed,
            l2 = e.arch.l2_embedding,
            dropout = e.arch.dropout,
            bottom = py_units(&e.arch.bottom_units)
                .replace(",)", ")")
                .replace('(', "[")
                .replace(')', "]"),
            tower = py_units(&e.arch.tower_units)
                .replace(",)", ")")
                .replace('(', "[")
                .replace(')', "]"),
        ),
    };
    let relationship = if e.relationship {
        ""
    } else {
        "\nsparse_features.remove('relationship')  # the leak is off"
    };
    format!(
        "# pip install deepctr[cpu] scikit-learn pandas   (DeepCTR 0.9, TensorFlow 2)\n\
import pandas as pd, tensorflow as tf\n\
from sklearn.preprocessing import LabelEncoder, MinMaxScaler\n\
from deepctr.feature_column import SparseFeat, DenseFeat, get_feature_names\n\
\n\
cols = ['age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation',\n\
\x20       'relationship', 'race', 'sex', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country', 'income']\n\
data = pd.read_csv('adult.data', names=cols, skipinitialspace=True)\n\
data['{t1}'] = (data['income'] == '>50K').astype(int)\n\
data['{t2}'] = (data['marital_status'] == 'Never-married').astype(int)\n\
sparse_features = ['workclass', 'education', 'occupation', 'relationship', 'race', 'sex', 'native_country']{relationship}\n\
dense_features = ['age', 'fnlwgt', 'education_num', 'capital_gain', 'capital_loss', 'hours_per_week']\n\
for f in sparse_features:\n\
\x20   data[f] = LabelEncoder().fit_transform(data[f])\n\
data[dense_features] = MinMaxScaler().fit_transform(data[dense_features])\n\
dnn_feature_columns = [SparseFeat(f, data[f].max() + 1, embedding_dim={emb}) for f in sparse_features] + \\\n\
\x20                     [DenseFeat(f, 1) for f in dense_features]\n\
\n\
{model}\n\
\n\
model.compile(tf.keras.optimizers.Adam(learning_rate={lr}), loss=['binary_crossentropy', 'binary_crossentropy'],\n\
              loss_weights=[{w1}, {w2}], metrics=['AUC'])\n\
x = {{name: data[name] for name in get_feature_names(dnn_feature_columns)}}\n\
model.fit(x, [data['{t1}'], data['{t2}']], batch_size={batch}, epochs={epochs}, validation_split=0.1)\n",
        emb = e.arch.embedding_dim,
        lr = e.learning_rate,
        w1 = e.loss_weights[0],
        w2 = e.loss_weights[1],
        batch = e.batch_size,
        epochs = e.epochs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesson_texts_state_no_outcome() {
        // An AUC or R² in a lesson's text would be a static claim about a run the learner has
        // not made: the lesson card states the learner's own numbers instead.
        for lesson in lessons() {
            for step in &lesson.steps {
                let t = step.look_for;
                let decimal = t
                    .as_bytes()
                    .windows(3)
                    .any(|w| w[0] == b'0' && w[1] == b'.' && w[2].is_ascii_digit());
                assert!(!decimal, "{}: '{}' states a score", lesson.id, step.button);
                assert!(!t.contains("about 0"), "{}: '{}'", lesson.id, step.button);
                // Nor a verdict on one: who wins is the learner's run to show.
                let lower = t.to_lowercase();
                for verdict in [
                    " beats ",
                    " wins",
                    "outperform",
                    "better than",
                    "worse than",
                    "ahead of",
                    "falls behind",
                    " tied",
                    " tie ",
                ] {
                    assert!(
                        !lower.contains(verdict),
                        "{}: '{}' states an outcome ('{verdict}')",
                        lesson.id,
                        step.button
                    );
                }
            }
        }
    }

    #[test]
    fn every_step_leads_with_one_or_two_short_sentences() {
        assert_eq!(
            brief("One. Two? Three, i.e. four. Five"),
            ("One. Two?", "Three, i.e. four. Five")
        );
        assert_eq!(brief("Only one."), ("Only one.", ""));
        let mut long = Vec::new();
        for lesson in lessons() {
            for step in &lesson.steps {
                let (lead, rest) = brief(step.look_for);
                if lead.chars().count() > 320 {
                    long.push(format!(
                        "{} '{}' ({} characters): {lead}",
                        lesson.id,
                        step.button,
                        lead.chars().count()
                    ));
                }
                assert_eq!(
                    format!("{lead} {rest}").trim_end(),
                    step.look_for,
                    "nothing is lost"
                );
            }
        }
        assert!(
            long.is_empty(),
            "steps that lead with a paragraph:\n{}",
            long.join("\n")
        );
    }

    #[test]
    fn lesson_races_pair_the_steps_that_read_the_same_data() {
        let races: Vec<(&str, Vec<String>)> = lessons()
            .iter()
            .map(|l| {
                let lanes = l
                    .race_setups()
                    .iter()
                    .map(|e| e.model.slug().to_string())
                    .collect();
                (l.id, lanes)
            })
            .collect();
        let find = |id: &str| {
            races
                .iter()
                .find(|(l, _)| *l == id)
                .map(|(_, r)| r.join(","))
        };
        assert_eq!(find("sb-vs-mmoe").as_deref(), Some("shared_bottom,mmoe"));
        // Lesson 5's point: its p = 0 pair, not the p = 1 pair it starts with.
        assert_eq!(
            find("correlated-gates").as_deref(),
            Some("mmoe,shared_bottom")
        );
        let gates = lessons()
            .into_iter()
            .find(|l| l.id == "correlated-gates")
            .expect("lesson 5");
        assert!(gates.race_setups().iter().all(|e| e.p == 0.0));
        assert_eq!(
            gates.race_label().as_deref(),
            Some("Race them (correlated tasks, p = 0)")
        );
        assert_eq!(lessons()[0].race_label().as_deref(), Some("Race them"));
        assert_eq!(
            find("esmm-vs-naive").as_deref(),
            Some("naive_cvr,esmm,naive_cvr")
        );
        // With and without the relationship field read different data: no race.
        assert_eq!(find("relationship-leak").as_deref(), Some(""));
        for l in lessons() {
            let setups = l.race_setups();
            assert!(
                setups.is_empty() || crate::page::race::Race::new(l.id.into(), setups).is_ok(),
                "{}",
                l.id
            );
        }
    }

    #[test]
    fn every_model_has_a_note_and_the_papers_are_cited() {
        for m in ModelKind::ALL {
            let n = note(m);
            assert!(!n.adds.is_empty() && !n.blurb.is_empty(), "{m}");
            assert_eq!(n.no_gates.is_some(), !m.has_gates(), "{m}");
        }
        let papers: String = ModelKind::ALL.into_iter().map(|m| note(m).paper).collect();
        for cite in ["Caruana", "KDD 2018", "RecSys 2020", "SIGIR 2018"] {
            assert!(papers.contains(cite), "{cite}");
        }
    }

    #[test]
    fn lessons_set_up_valid_experiments() {
        let all = lessons();
        assert_eq!(all.len(), 9);
        for lesson in &all {
            for step in &lesson.steps {
                let mut e = (step.setup)();
                assert!(
                    e.sanitize().is_empty(),
                    "{} sets up a valid experiment",
                    lesson.id
                );
            }
        }
        let leak = &all[3];
        assert!((leak.steps[0].setup)().relationship);
        assert!(!(leak.steps[1].setup)().relationship);
        assert_eq!(
            (all[0].steps[0].setup)().seed,
            (all[0].steps[1].setup)().seed
        );
    }

    #[test]
    fn deepctr_code_follows_the_setup() {
        let mut e = Experiment::tutorial(ModelKind::Ple);
        e.arch.levels = 3;
        e.arch.expert_units = vec![64];
        let code = deepctr_code(&e);
        assert!(code.contains(
            "PLE(dnn_feature_columns, shared_expert_num=4, specific_expert_num=8, num_levels=3"
        ));
        assert!(code.contains("expert_dnn_hidden_units=(64,)"));
        assert!(code.contains("tower_dnn_hidden_units=(16, 16)"));
        assert!(code.contains("batch_size=256"));
        // Python needs its indentation (a `\` line continuation in Rust would eat it).
        assert!(
            code.contains("\n    data[f] = LabelEncoder().fit_transform(data[f])\n"),
            "{code}"
        );
        assert!(code.contains("\n        'relationship',"));
        assert!(code.contains("\n                      [DenseFeat(f, 1)"));
        let synthetic = deepctr_code(&Experiment::default().with_data(DataKind::Correlated));
        assert!(
            synthetic.contains("DeepCTR has no") && synthetic.contains("p = 0.5"),
            "{synthetic}"
        );
        let cgc = deepctr_code(&Experiment::tutorial(ModelKind::Cgc));
        assert!(cgc.contains("num_levels=1"));
        let mut esmm = Experiment::tutorial(ModelKind::Esmm);
        esmm.relationship = false;
        let code = deepctr_code(&esmm);
        assert!(code.contains("ESMM(") && code.contains("task_names=('ctr', 'ctcvr')"));
        assert!(code.contains("sparse_features.remove('relationship')"));
        for m in ModelKind::ALL {
            assert!(
                deepctr_code(&Experiment::tutorial(m)).contains("model.fit("),
                "{m}"
            );
        }
    }
}
