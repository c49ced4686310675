//! The teaching panels: what the current model adds, the guided lessons, the run history with
//! its comparison and exports, and the "Show code" panel. The content lives in
//! [`crate::page::lessons`] and [`crate::page::history`]; these components show it.

use leptos::prelude::*;

use super::Playground;
use super::charts::{LineChart, Series};
use super::panels::fmt_opt;
use crate::page::dashboard::Parts;
use crate::page::history::History;
use crate::page::lessons::{deepctr_code, lessons, note};
use crate::protocol::fields::to_query;
use crate::web::download;

#[component]
pub fn ModelNotePanel() -> impl IntoView {
    let p = expect_context::<Playground>();
    let model = move || p.experiment.with(|e| e.model);
    view! {
        <section class="panel about" aria-labelledby="about-title" data-testid="model-note">
            <h2 id="about-title">{move || format!("About {}", model().label())}</h2>
            <p>{move || note(model()).adds}</p>
            <Show when=move || !note(model()).paper.is_empty()>
                <p class="hint">{move || note(model()).paper}</p>
            </Show>
        </section>
    }
}

#[component]
pub fn LessonsPanel() -> impl IntoView {
    let p = expect_context::<Playground>();
    let all = lessons();
    let titles: Vec<(usize, &'static str, Vec<&'static str>)> = all
        .iter()
        .enumerate()
        .map(|(i, l)| (i, l.title, l.steps.iter().map(|s| s.button).collect()))
        .collect();
    view! {
        <section class="panel lessons" aria-labelledby="lessons-title" data-testid="lessons">
            <h2 id="lessons-title">"Guided experiments"</h2>
            <p class="hint">"A step sets the experiment up; what to watch, and what your run came to, appear under Play."</p>
            <ul class="plain">
                {titles
                    .into_iter()
                    .map(|(l, title, buttons)| {
                        view! {
                            <li>
                                <span class="lesson-title">{title}</span>
                                {buttons
                                    .into_iter()
                                    .enumerate()
                                    .map(|(s, label)| {
                                        view! {
                                            <button type="button" class="lesson-step" data-testid=format!("lesson-{l}-{s}")
                                                aria-current=move || (p.lesson.get() == Some((l, s))).then_some("step")
                                                on:click=move |_| p.start_lesson_step(l, s)>
                                                {label}
                                            </button>
                                        }
                                    })
                                    .collect_view()}
                                {lessons().get(l).and_then(|x| x.race_label()).map(|label| view! {
                                    <button type="button" class="lesson-step" data-testid=format!("lesson-race-{l}")
                                        title="Train this lesson's setups at the same time, side by side (in the Race panel)"
                                        on:click=move |_| {
                                            if let Some(lesson) = lessons().get(l) {
                                                // Its setups read the same rows; any other
                                                // refusal is in the notices.
                                                let _ = p.start_race(lesson.race_setups());
                                            }
                                        }>
                                        {label}
                                    </button>
                                })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// What a lesson's `watch` target is called in its card.
fn watch_name(testid: &str) -> &'static str {
    match testid {
        "metrics-table" => "the metrics table",
        "gate-heatmap" => "the gate weights",
        "input-fields" => "the input fields",
        "grad-conflict" => "the task-gradient conflict",
        "seed-spread" => "the seed spread in Runs (once the seeds are trained)",
        _ => "the view it names",
    }
}

/// The lesson step in progress, under the run bar where Play is: what to watch, and once its
/// runs are in, what they came to (built from the learner's own runs), with the way on.
#[component]
pub fn LessonCard() -> impl IntoView {
    let p = expect_context::<Playground>();
    let step = move || {
        p.lesson.get().and_then(|(l, s)| {
            let all = lessons();
            let lesson = all.get(l)?;
            let step = lesson.steps.get(s)?;
            Some((
                l,
                s,
                lesson.title,
                lesson.steps.len(),
                step.button,
                step.look_for,
            ))
        })
    };
    // The view the step is about: named in the card, and outlined on the page.
    let watch = move || {
        let (l, s) = p.lesson.get()?;
        lessons().get(l)?.steps.get(s)?.watch
    };
    Effect::new(move |_| {
        let target = watch();
        // After the page has drawn the step's views.
        leptos::task::spawn_local(async move {
            crate::web::sleep(0).await;
            crate::web::highlight(target.map(|t| format!("[data-testid={t}]")).as_deref());
        });
    });
    let result = move || {
        let (l, s) = p.lesson.get()?;
        p.history.with(|h| {
            lessons()
                .get(l)
                .and_then(|lesson| crate::page::guide::step_result(lesson, s, h))
        })
    };
    view! {
        <Show when=move || step().is_some()>
            <section class="panel lesson-card" tabindex="-1" aria-labelledby="lesson-card-title" data-testid="lesson-step">
                {move || step().map(|(l, s, title, n, button, look_for)| view! {
                    <h2 id="lesson-card-title">{format!("Lesson {title}")}</h2>
                    <p class="hint">{format!("Step {} of {n}: {button}", s + 1)}</p>
                    {
                        let (lead, more) = crate::page::lessons::brief(look_for);
                        view! {
                            <p class="look-for" data-testid="lesson-text">{lead}</p>
                            {(!more.is_empty()).then(|| view! {
                                <details class="look-more">
                                    <summary>"More about this step"</summary>
                                    <p class="hint">{more}</p>
                                </details>
                            })}
                        }
                    }
                    {move || watch().map(|t| view! {
                        <p class="hint" data-testid="lesson-watch">
                            {format!("Watch {} (outlined on the page). ", watch_name(t))}
                            <button type="button" class="link" on:click=move |_| p.show(t)>"Show me"</button>
                        </p>
                    })}
                    <p class="lesson-result" role="status" data-testid="lesson-result">
                        {move || result().unwrap_or_else(|| "Your result appears here when the run ends (F finishes it early).".into())}
                        {move || p.previous_step_curves().map(|prev| format!(
                            " In black on the validation chart: step {}'s curves{}, beside this step's.",
                            prev.number,
                            if prev.seeds > 1 { format!(", the mean of its {} seeds", prev.seeds) } else { String::new() }
                        ))}
                    </p>
                    <div class="row-buttons">
                        <button type="button" data-testid="lesson-previous" disabled={s == 0}
                            on:click=move |_| p.start_lesson_step(l, s.saturating_sub(1))>"← Previous step"</button>
                        <button type="button" data-testid="lesson-next" disabled={s + 1 >= n}
                            on:click=move |_| p.start_lesson_step(l, s + 1)>"Next step →"</button>
                        <button type="button" data-testid="lesson-close" on:click=move |_| p.lesson.set(None)>"Close the lesson"</button>
                    </div>
                })}
            </section>
        </Show>
    }
}

/// Every run that ended, ranked by validation and compared in a table and as overlaid
/// validation-loss curves.
#[component]
pub fn RunsPanel() -> impl IntoView {
    let p = expect_context::<Playground>();
    let selected = RwSignal::new(Vec::<String>::new());
    // The last import's outcome, said beside its control.
    let imported = RwSignal::new(String::new());
    // Why the ticked runs were not raced, beside the button.
    let raced = RwSignal::new(String::new());
    let runs = move || {
        p.history
            .with(|h| h.ranked().into_iter().cloned().collect::<Vec<_>>())
    };
    // The ticked runs' curves: one colour per run, one dash per task.
    let overlay = move |auc: bool| {
        Signal::derive(move || {
            let chosen = selected.get();
            p.history.with(|h| {
                h.runs
                    .iter()
                    .filter(|r| chosen.contains(&r.id))
                    .enumerate()
                    .flat_map(|(i, r)| {
                        let curves = if auc { &r.valid_auc } else { &r.valid_loss };
                        curves
                            .iter()
                            .zip(&r.tests)
                            .enumerate()
                            .map(move |(t, (curve, task))| Series {
                                name: format!("{} {}", r.label(), task.name),
                                points: curve.clone(),
                                style: i,
                                band: Vec::new(),
                                dash: Some(t),
                                replicas: Vec::new(),
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect()
            })
        })
    };
    // Two runs ticked: the second minus the first, per task.
    let differences = move || {
        let chosen = selected.get();
        p.history.with(|h| {
            let pick = |id: &String| h.runs.iter().find(|r| r.id == *id);
            match chosen.as_slice() {
                [a, b] => pick(a)
                    .zip(pick(b))
                    .map(|(a, b)| crate::page::history::difference_text(a, b)),
                _ => None,
            }
        })
    };
    let export = move |json: bool| {
        let (name, mime, text) = p.history.with(|h| {
            if json {
                ("mtl-runs.json", "application/json", h.to_json())
            } else {
                ("mtl-runs.csv", "text/csv", h.to_csv())
            }
        });
        if let Err(e) = download(name, mime, &text) {
            p.notify(e);
        }
    };
    view! {
        <section class="panel" aria-labelledby="runs-title" data-testid="runs">
            <h2 id="runs-title">"Runs"</h2>
            <p class="hint">"Every run that ended is kept here and in this browser, ranked by validation loss (per data set). The test columns are the final, held-out figures: each run's test set was scored once, and never chose anything. Tick runs to overlay their validation curves (a colour per run, a dash per task); tick two to see their difference."</p>
            <SeedSpreadTable />
            <div class="table-wrap">
                <table class="metrics" data-testid="runs-table">
                    <thead>
                        <tr>
                            <th scope="col">"compare"</th>
                            <th scope="col">"run"</th>
                            <th scope="col">"setup"</th>
                            <th scope="col" title="The step of the weights tested (the best validation point) of the steps trained">"steps: best / trained"</th>
                            <th scope="col">"params"</th>
                            <th scope="col" title="The validation losses of the weights tested, weighted as in training: the runs are ranked on it" aria-sort="ascending">"valid loss ↑"</th>
                            <th scope="col" title="Validation AUC (R² for a regression task) of the weights tested, per task">"valid AUC / R²"</th>
                            <th scope="col" class="final" title="Held out, scored once when the run ended. R² / MSE for a regression task">"test: task 1 AUC / logloss (final)"</th>
                            <th scope="col" class="final" title="Held out, scored once when the run ended. R² / MSE for a regression task">"test: task 2 AUC / logloss (final)"</th>
                            <th scope="col" title="ESMM and naive CVR: the CVR head's test AUC over every impression (the funnel keeps their counterfactual conversions) and over the clicked ones">"CVR AUC: every / clicked"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=runs key=|r| (r.id.clone(), r.time_ms.to_bits()) let:r>
                            {
                                let id = r.id.clone();
                                let (checked_id, toggled_id) = (id.clone(), id);
                                let t = |i: usize| r.tests.get(i).map(|t| format!("{} {} / {}", r.experiment.task_title(&t.name), fmt_opt(t.headline(), 4), fmt_opt(t.logloss.or(Some(t.loss)), 4))).unwrap_or_default();
                                let (t1, t2) = (t(0), t(1));
                                let valid_loss = fmt_opt(r.valid_loss(), 4);
                                let valid_auc = if r.valid.is_empty() {
                                    "–".to_string()
                                } else {
                                    r.valid.iter().map(|v| fmt_opt(v.headline(), 4)).collect::<Vec<_>>().join(" / ")
                                };
                                let steps = if r.trained_steps > 0 { format!("{} / {}", r.steps, r.trained_steps) } else { r.steps.to_string() };
                                let cvr = match (&r.cvr_all, &r.cvr) {
                                    (None, None) => "–".to_string(),
                                    (all, clicked) => format!(
                                        "{} / {}",
                                        fmt_opt(all.as_ref().and_then(|c| c.auc), 4),
                                        fmt_opt(clicked.as_ref().and_then(|c| c.auc), 4)
                                    ),
                                };
                                view! {
                                    <tr>
                                        <td>
                                            <input type="checkbox" aria-label=format!("compare run {}", r.label())
                                                prop:checked=move || selected.with(|s| s.contains(&checked_id))
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    selected.update(|s| {
                                                        s.retain(|x| *x != toggled_id);
                                                        if on { s.push(toggled_id.clone()); }
                                                    });
                                                } />
                                        </td>
                                        <th scope="row">{r.label()}</th>
                                        <td class="setup">{r.experiment.summary()}</td>
                                        <td>{steps}</td>
                                        <td>{r.params}</td>
                                        <td class="valid-loss">{valid_loss}</td>
                                        <td class="valid-auc">{valid_auc}</td>
                                        <td class="test final">{t1}</td>
                                        <td class="test final">{t2}</td>
                                        <td class="cvr-auc">{cvr}</td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
            <div class="row-buttons">
                <button type="button" data-testid="export-csv" on:click=move |_| export(false)>"Export CSV"</button>
                <button type="button" data-testid="export-json" on:click=move |_| export(true)>"Export JSON"</button>
                <button type="button" data-testid="export-run" on:click=move |_| p.export_run()>"Download this run (config + metrics)"</button>
                <button type="button" data-testid="export-model"
                    title="The weights as a Burn record (.bpk) that also holds the model's config; `mtl eval` scores it natively."
                    disabled=move || p.dashboard.with(Parts::MODEL, |d| d.info.is_none())
                    on:click=move |_| p.export_model()>"Download the trained model (Burn record)"</button>
                <label class="button" title="Adds the runs of a file that Export JSON wrote; runs already here are skipped.">
                    "Import JSON"
                    <input type="file" accept=".json,application/json" class="visually-hidden" data-testid="import-runs"
                        on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            leptos::task::spawn_local(async move {
                                match crate::web::chosen_file_text(&input).await {
                                    Ok(Some(text)) => imported.set(p.import_history(&text)),
                                    Ok(None) => {}
                                    Err(e) => {
                                        p.notify(e.clone());
                                        imported.set(e);
                                    }
                                }
                                input.set_value("");
                            });
                        } />
                </label>
                <span class="confirm" role="status" data-testid="import-status">{move || imported.get()}</span>
                <button type="button" data-testid="race-runs"
                    title="Train the ticked runs' setups again, side by side (two or three, trained on the same data)"
                    disabled=move || !(2..=crate::page::race::MAX_LANES).contains(&selected.with(Vec::len))
                    on:click=move |_| {
                        let chosen = selected.get_untracked();
                        let setups = p.history.with_untracked(|h| {
                            chosen
                                .iter()
                                .filter_map(|id| h.runs.iter().find(|r| r.id == *id))
                                .map(|r| r.experiment.clone())
                                .collect()
                        });
                        raced.set(p.start_race(setups).err().unwrap_or_default());
                    }>"Race the ticked runs"</button>
                <span class="confirm" role="status" data-testid="race-runs-status">{move || raced.get()}</span>
                <button type="button" data-testid="clear-runs" on:click=move |_| { selected.set(Vec::new()); p.clear_history(); }>"Clear history"</button>
            </div>
            <Show when=move || selected.with(|s| !s.is_empty())>
                <p class="hint" data-testid="runs-difference">{move || differences().unwrap_or_else(|| "Tick two runs to see their difference per task.".into())}</p>
                <div class="charts">
                    <LineChart title="Validation loss of the ticked runs" testid="compare-chart" x_label="step" y_label="log loss or MSE" series=overlay(false) />
                    <LineChart title="Validation AUC (R²) of the ticked runs" testid="compare-auc-chart" x_label="step" y_label="AUC or R²" series=overlay(true) y_domain=(0.4, 1.0) />
                </div>
            </Show>
        </section>
    }
}

/// Each seed sweep's runs summarised: per task, the test score's mean ± sd over the seeds.
#[component]
fn SeedSpreadTable() -> impl IntoView {
    let p = expect_context::<Playground>();
    let spreads = Memo::new(move |_| p.history.with(|h| crate::page::sweep::spread(&h.runs)));
    // The latest two sweeps' validation loss per task: the mean over their seeds, ± 1 sd
    // shaded; a colour per sweep and a dash per task when there are two, a colour per task
    // when there is one.
    let bands = Signal::derive(move || {
        spreads.with(|all| {
            let latest = &all[all.len().saturating_sub(2)..];
            let two = latest.len() == 2;
            latest
                .iter()
                .enumerate()
                .flat_map(|(k, s)| {
                    let which = match (two, k) {
                        (false, _) => "",
                        (true, 0) => " (before)",
                        (true, _) => " (latest)",
                    };
                    s.valid_loss
                        .iter()
                        .enumerate()
                        .map(move |(t, (name, band))| Series {
                            name: format!(
                                "{}{which} {name}, mean ± sd over {} seeds",
                                s.label,
                                s.runs()
                            ),
                            points: band.iter().map(|b| (b.step, b.mean)).collect(),
                            style: if two { k } else { t * 2 + 1 },
                            band: band
                                .iter()
                                .map(|b| (b.step, b.mean - b.sd, b.mean + b.sd))
                                .collect(),
                            dash: two.then_some(t * 2),
                            replicas: Vec::new(),
                        })
                })
                .collect()
        })
    });
    let compared = move || spreads.with(|all| crate::page::sweep::latest_pair(all));
    let seeds = |s: &[u64]| format!("{} ({} runs)", crate::page::sweep::seed_range(s), s.len());
    view! {
        <Show when=move || spreads.with(|s| !s.is_empty())>
            <div class="table-wrap">
                <table class="metrics" data-testid="seed-spread">
                    <caption>"Seed sweeps: each task's test score over the seeds, mean ± sd"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"model"</th>
                            <th scope="col">"data and settings"</th>
                            <th scope="col">"seeds"</th>
                            <th scope="col">"score"</th>
                            <th scope="col">"mean ± sd per task"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || spreads.get().into_iter().map(|s| {
                            let scores = s.scores.iter()
                                .map(|t| format!("{} {:.4} ± {:.4}", t.name, t.mean, t.sd))
                                .collect::<Vec<_>>()
                                .join(" · ");
                            view! {
                                <tr data-group=s.group.clone()>
                                    <th scope="row">{s.label.clone()}</th>
                                    <td class="setup">{s.setup.clone()}</td>
                                    <td>{seeds(&s.seeds)}</td>
                                    <td>{format!("test {}", s.metric)}</td>
                                    <td class="spread">{scores}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {move || compared().map(|text| view! { <p class="lesson-result" data-testid="seed-spread-paired">{text}</p> })}
            <LineChart title="The latest two sweeps: validation loss, mean ± 1 sd over their seeds" testid="seed-band-chart" x_label="step" y_label="log loss or MSE" series=bands />
        </Show>
    }
}

#[component]
pub fn CodePanel() -> impl IntoView {
    let p = expect_context::<Playground>();
    let open = RwSignal::new(false);
    // The copy's outcome, said beside its button.
    let copied = RwSignal::new(String::new());
    view! {
        <section class="panel" aria-labelledby="code-title">
            <h2 id="code-title">"Reproduce it at scale"</h2>
            <button type="button" data-testid="show-code" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "Hide code" } else { "Show code" }}
            </button>
            <button type="button" class="link" on:click=move |_| {
                let query = p.experiment.with(to_query);
                let said = match crate::web::copy_link(&query) {
                    Err(e) => e,
                    Ok(()) => "Link to this experiment copied.".to_string(),
                };
                p.notify(said.clone());
                copied.set(said);
            }>"Copy a link to this experiment"</button>
            <span class="confirm" role="status" data-testid="copy-link-status">{move || copied.get()}</span>
            <Show when=move || open.get()>
                <p class="hint">"The same model, data and training settings in DeepCTR (TensorFlow):"</p>
                <pre data-testid="code"><code>{move || p.experiment.with(deepctr_code)}</code></pre>
            </Show>
        </section>
    }
}

/// Loads the saved history (reporting, not failing, on junk) and keeps it saved.
pub fn restore_history(p: Playground) {
    let (history, problem) = crate::web::local_storage_get(crate::page::history::STORAGE_KEY)
        .map(|text| History::from_json(&text))
        .unwrap_or_default();
    if let Some(problem) = problem {
        p.notify(problem);
    }
    p.history.set(history);
    Effect::new(move |_| {
        let json = p
            .history
            .with(|h| serde_json::to_string(h).unwrap_or_default());
        crate::web::local_storage_set(crate::page::history::STORAGE_KEY, &json);
    });
}
