//! The run bar (Play/Pause, Step, Reset, counters), the device status, the notices and the
//! metrics table.

use leptos::prelude::*;

use super::Playground;
use crate::page::dashboard::{Parts, RunState};
use crate::page::tabs::Tab;
use wasm_bindgen::JsCast;

/// A number with `digits` decimals, or a dash where there is none.
pub(super) fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

#[component]
pub fn RunBar() -> impl IntoView {
    let p = expect_context::<Playground>();
    let running = move || {
        p.dashboard
            .with(Parts::RUN, |d| d.state == RunState::Running)
    };
    // The model's existence and the run's state: a build, or a run that starts or ends.
    let can_train = move || {
        p.dashboard
            .with(Parts::RUN | Parts::MODEL, |d| d.can_train())
    };
    let step = move || p.dashboard.with(Parts::RUN, |d| d.step);
    view! {
        <div class="runbar" id="toolbar" tabindex="-1" role="group" aria-label="Training">
            // A phone's: the menu sign alone keeps the bar's buttons on one row.
            <button type="button" class="settings-toggle" data-testid="settings-toggle" aria-controls="settings"
                aria-label="Settings" title="Settings"
                aria-expanded=move || p.drawer_open.get().to_string()
                on:click=move |_| p.drawer_open.update(|o| *o = !*o)>"☰"</button>
            <button type="button" data-testid="train-toggle" class="primary"
                aria-pressed=move || running().to_string()
                disabled=move || !can_train() && !running()
                on:click=move |_| p.toggle()>
                {move || if running() { "⏸ Pause" } else { "▶ Play" }}
            </button>
            <button type="button" data-testid="step" disabled=move || running() || !can_train()
                title="Train one batch" on:click=move |_| p.step()>
                "Step"
            </button>
            <button type="button" data-testid="finish-test"
                title="End the run now: the weights with the best validation loss are tested, once"
                disabled=move || !can_train() || step() == 0
                on:click=move |_| p.finish()>
                "Finish"<span class="long">" and test"</span>
            </button>
            <button type="button" data-testid="reset" title="New weights, same settings" on:click=move |_| p.reset()>
                "Reset"
            </button>
            <div class="counters">
                <span data-testid="step-counter" aria-live="off">
                    {move || p.dashboard.with(Parts::RUN, |d| format!("Step {} · Epoch {}", d.step, d.epoch))}
                </span>
                <progress max="1" value=move || p.dashboard.with(Parts::RUN, |d| d.epoch_progress)
                    aria-label="Progress through the current epoch"></progress>
                <span data-testid="throughput">
                    {move || p.dashboard.with(Parts::RUN, |d| if d.samples_per_sec > 0.0 { format!("{:.0} samples/s", d.samples_per_sec) } else { "– samples/s".into() })}
                </span>
                <span class="params">
                    {move || p.dashboard.with(Parts::MODEL, |d| d.info.as_ref().map(|i| format!("{} parameters", i.params)).unwrap_or_default())}
                </span>
            </div>
            // The pace and the replay start a row of their own, whatever the counters say.
            <span class="row-break" aria-hidden="true"></span>
            <label class="pace">
                "Pace "
                <select data-testid="pace" title="Slow training down to watch it; what it computes is the same at every pace"
                    prop:value=move || p.pace.with(|v| v.map_or("full".to_string(), |v| format!("{v}")))
                    on:change=move |ev| p.set_pace(event_target_value(&ev).parse::<f64>().ok())>
                    <option value="full">"full speed"</option>
                    <option value="50">"50 steps/s"</option>
                    <option value="20">"20 steps/s"</option>
                    <option value="5">"5 steps/s"</option>
                    <option value="1">"1 step/s"</option>
                </select>
            </label>
            <Show when=move || !running() && step() != 0>
                <label class="replay">
                    // On a phone the slider alone, so that it shares the counters' row.
                    <span class="long">
                        {move || match p.replay_at.get() {
                            Some(at) => format!("Replay: step {at:.0} "),
                            None => "Replay ".to_string(),
                        }}
                    </span>
                    <input type="range" data-testid="replay" min="0" step="1" aria-label="Replay the run up to a step"
                        max=move || step().to_string()
                        prop:value=move || p.replay_at.get().unwrap_or_else(|| step() as f64).to_string()
                        on:input=move |ev| {
                            let last = p.dashboard.with_untracked(|d| d.step as f64);
                            let at = event_target_value(&ev).parse::<f64>().ok().filter(|&v| v < last);
                            p.replay_at.set(at);
                        } />
                </label>
                <button type="button" data-testid="replay-play" title="Play the recorded curves and gates back from step 0"
                    on:click=move |_| p.play_back()>"▶ Replay"</button>
            </Show>
            // One line, always there: the bar keeps its height as runs and sweeps come and go,
            // so what a lesson step scrolled into view below it stays in view.
            <div class="status-line">
                <p class="status" data-testid="run-status" role="status">
                    {move || p.dashboard.with(Parts::RUN, |d| d.status.clone())}
                </p>
                <Show when=move || p.sweep.with(Option::is_some)>
                    <p class="status" data-testid="sweep-status" role="status">
                        {move || p.sweep.with(|s| s.as_ref().map(|s| s.describe()).unwrap_or_default())}
                    </p>
                </Show>
            </div>
            <Show when=move || p.dashboard.with(Parts::RUN, |d| d.error.is_some())>
                <p class="error" role="alert" data-testid="run-error">
                    {move || p.dashboard.with(Parts::RUN, |d| d.error.clone().unwrap_or_default())}
                </p>
            </Show>
        </div>
    }
}

#[component]
pub fn DeviceStatus() -> impl IntoView {
    let p = expect_context::<Playground>();
    view! {
        <p class="device" data-testid="device-status" role="status">
            <strong>
                {move || match p.backend.get() {
                    Some(b) => format!("Device: {}", b.label()),
                    None => "Device: starting…".into(),
                }}
            </strong>
            " — "
            {move || p.device_reason.get()}
        </p>
    }
}

#[component]
pub fn Notices() -> impl IntoView {
    let p = expect_context::<Playground>();
    view! {
        <Show when=move || p.notices.with(|n| !n.is_empty())>
            <div class="notices" role="status" data-testid="notices">
                <ul tabindex="0" aria-label="Notices, newest first">
                    // Newest first: the list scrolls past a few lines, and the newest stays in view.
                    {move || p.notices.get().into_iter().rev().map(|n| view! { <li>{n}</li> }).collect_view()}
                </ul>
                <button type="button" class="link" on:click=move |_| p.notices.set(Vec::new())>"Dismiss"</button>
            </div>
        </Show>
    }
}

/// Per task: the latest training and validation numbers, and the test scores once they exist.
#[component]
pub fn MetricsTable() -> impl IntoView {
    let p = expect_context::<Playground>();
    // The training loss moves every report, the validation columns every validation point.
    let rows = Memo::new(move |_| {
        p.dashboard
            .with(Parts::LOSS | Parts::VALIDATION | Parts::TEST, |d| {
                let mut rows: Vec<[String; 6]> = d
                    .tasks
                    .iter()
                    .map(|t| {
                        let (auc, logloss) = d.test_row(&t.name).unwrap_or((None, None));
                        let last = t.train_loss.last().map(|p| p.1);
                        // Said where the training loss is not the task's own (the naive CVR
                        // model's ctcvr: its CVR on the clicked rows).
                        let train =
                            match (last, p.experiment.with_untracked(|e| e.trained_as(&t.name))) {
                                (Some(v), Some(what)) => format!("{v:.4} ({what})"),
                                _ => fmt_opt(last, 4),
                            };
                        [
                            t.name.clone(),
                            train,
                            fmt_opt(t.valid_loss.last().map(|p| p.1), 4),
                            fmt_opt(t.valid_auc.last().map(|p| p.1), 4),
                            fmt_opt(auc, 4),
                            fmt_opt(logloss, 4),
                        ]
                    })
                    .collect();
                let clicked = p
                    .experiment
                    .with_untracked(|e| format!("cvr (on {})", e.clicked_rows()));
                let test = d.test.as_ref();
                for (label, score) in [
                    (clicked.as_str(), test.and_then(|t| t.cvr.as_ref())),
                    (
                        crate::protocol::CVR_ALL,
                        test.and_then(|t| t.cvr_all.as_ref()),
                    ),
                ] {
                    if let Some(s) = score {
                        rows.push([
                            label.into(),
                            "–".into(),
                            "–".into(),
                            "–".into(),
                            fmt_opt(s.auc, 4),
                            fmt_opt(s.logloss, 4),
                        ]);
                    }
                }
                rows
            })
    });
    // The tasks' score names: AUC and log loss, or R² and MSE on the correlated tasks.
    let kind = move || p.experiment.with(|e| e.data.task_kind());
    // The rows are built when the tasks change; a report only updates the numbers in them.
    let names =
        Memo::new(move |_| rows.with(|r| r.iter().map(|r| r[0].clone()).collect::<Vec<_>>()));
    let cell =
        move |i: usize, j: usize| rows.with(|r| r.get(i).map(|r| r[j].clone()).unwrap_or_default());
    let tested_at = move || {
        p.dashboard.with(Parts::TEST, |d| match &d.test {
            Some(t) => {
                let mut text = if t.trained_steps > t.step {
                    format!(
                        "Test scores at step {}: the weights with the best validation loss, of {} steps trained. Scored once, when the run ended; the test set chose nothing.",
                        t.step, t.trained_steps
                    )
                } else {
                    format!(
                        "Test scores at step {}: the last weights had the best validation loss. Scored once, when the run ended; the test set chose nothing.",
                        t.step
                    )
                };
                if let Some(mse) = t.cvr_all.as_ref().and_then(|c| c.mse_true) {
                    text += &format!(
                        " Every impression keeps the conversion it would have had after a click, and its true pCVR: the CVR head's squared error against it is {mse:.4}."
                    );
                }
                text
            }
            None => "The test set is held out: it is scored once, when the run ends (its epochs, early stopping, or Finish and test), with the weights that had the best validation loss. Pause shows validation only.".into(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="metrics-title">
            <h2 id="metrics-title">"Metrics"</h2>
            <table data-testid="metrics-table" class="metrics">
                <thead>
                    <tr>
                        <th scope="col">"task"</th>
                        <th scope="col">"train loss"</th>
                        <th scope="col">"valid loss"</th>
                        <th scope="col">{move || format!("valid {}", kind().headline_name())}</th>
                        <th scope="col" title="Held out: scored once, when the run ends">{move || format!("test {} (final)", kind().headline_name())}</th>
                        <th scope="col" title="Held out: scored once, when the run ends">{move || format!("test {} (final)", kind().error_name())}</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        names
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, name)| {
                                let task = name.clone();
                                // The labels of the cvr rows are in their names already.
                                let key = name.split(' ').next().unwrap_or_default().to_string();
                                let meaning = p.experiment.with_untracked(|e| e.task_meaning(&key)).filter(|_| !name.contains('('));
                                view! {
                                    <tr data-task=task>
                                        <th scope="row">{name}{meaning.map(|m| view! { <small class="task-meaning">{m}</small> })}</th>
                                        <td>{move || cell(i, 1)}</td>
                                        <td>{move || cell(i, 2)}</td>
                                        <td class="valid-auc">{move || cell(i, 3)}</td>
                                        <td class="test-auc">{move || cell(i, 4)}</td>
                                        <td>{move || cell(i, 5)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            <p class="hint">{tested_at}</p>
        </section>
    }
}

/// The tab bar under the stage (`role="tablist"`): a click or the arrow keys open a tab.
#[component]
pub fn TabBar() -> impl IntoView {
    let p = expect_context::<Playground>();
    let focus_tab = |t: Tab| {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&format!("tab-{}", t.key())))
            && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = el.focus();
        }
    };
    view! {
        <div class="tabbar" role="tablist" aria-label="More views" data-testid="tabs">
            {Tab::ALL
                .into_iter()
                .map(|t| {
                    let selected = move || p.tab.get() == t;
                    view! {
                        <button type="button" role="tab" id=format!("tab-{}", t.key())
                            data-testid=format!("tab-{}", t.key())
                            aria-controls=format!("tabpanel-{}", t.key())
                            aria-selected=move || selected().to_string()
                            tabindex=move || if selected() { "0" } else { "-1" }
                            on:click=move |_| p.tab.set(t)
                            on:keydown=move |ev| {
                                let next = match ev.key().as_str() {
                                    "ArrowRight" => Some(t.beside(1)),
                                    "ArrowLeft" => Some(t.beside(-1)),
                                    "Home" => Some(Tab::ALL[0]),
                                    "End" => Some(Tab::ALL[Tab::ALL.len() - 1]),
                                    _ => None,
                                };
                                if let Some(next) = next {
                                    ev.prevent_default();
                                    p.tab.set(next);
                                    focus_tab(next);
                                }
                            }>
                            {t.label()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// One tab's panel: in the page all along (its views keep their state), shown when its tab is
/// open.
#[component]
pub fn TabPanel(tab: Tab, children: Children) -> impl IntoView {
    let p = expect_context::<Playground>();
    view! {
        // Focusable (as the ARIA tabs pattern has it): its box scrolls, and a keyboard must
        // reach that scroll.
        <div class="tabpanel" role="tabpanel" tabindex="0" id=format!("tabpanel-{}", tab.key())
            aria-labelledby=format!("tab-{}", tab.key())
            hidden=move || p.tab.get() != tab>
            {children()}
        </div>
    }
}
