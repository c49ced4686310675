//! Race mode on screen: the setup to race against, one lane per setup (its own step counter,
//! speed, status, scores and gates), and each task's validation curves of every lane overlaid.
//! [`crate::page::race::Race`] holds the state; [`Playground::start_race`] owns the workers.

use leptos::prelude::*;

use super::Playground;
use super::charts::{LineChart, Series};
use super::panels::fmt_opt;
use crate::page::lessons::note;
use crate::protocol::experiment::{Experiment, ModelKind, models_on};
use mtl_vocab::palette::series_colour;

/// What the race select offers when the learner has not picked: MMoE, or Shared-Bottom when
/// MMoE is the current model (the comparison the lessons start with).
fn default_opponent(e: &Experiment) -> &'static str {
    let first = [ModelKind::Mmoe, ModelKind::SharedBottom, ModelKind::Esmm]
        .into_iter()
        .find(|&m| m != e.model && e.data.offers(m));
    first.map_or("alone", ModelKind::slug)
}

#[component]
pub fn RacePanel() -> impl IntoView {
    let p = expect_context::<Playground>();
    // The learner's pick ("" until they pick; reset when the setup changes what is offered).
    let picked = RwSignal::new(String::new());
    let options = Memo::new(move |_| {
        p.experiment.with(|e| {
            models_on(e.data)
                .filter(|&m| m != e.model)
                .map(|m| (m.slug(), m.label()))
                .collect::<Vec<_>>()
        })
    });
    let chosen = move || {
        let pick = picked.get();
        let offered = pick == "alone" || options.with(|o| o.iter().any(|(s, _)| *s == pick));
        if offered {
            pick
        } else {
            p.experiment.with(|e| default_opponent(e).to_string())
        }
    };
    let start = move |_| {
        let e = p.experiment.get_untracked();
        let mut setups = vec![e.clone()];
        if let Some(m) = ModelKind::from_slug(&chosen()) {
            setups.push(e.with_model(m));
        }
        // One setup and another model of it read the same rows; any other refusal (a worker
        // that cannot start) is in the notices.
        let _ = p.start_race(setups);
    };
    let racing = move || p.race.with(|r| r.as_ref().is_some_and(|r| !r.is_over()));
    // Rebuilt per race, not per report: the lanes' contents read the race by index.
    let lanes = Memo::new(move |_| {
        p.race
            .with(|r| r.as_ref().map(|r| (r.id.clone(), r.lanes.len())))
    });
    let lane_text = move |i: usize, f: fn(&crate::page::race::Lane) -> String| {
        p.race.with(|r| {
            r.as_ref()
                .and_then(|r| r.lanes.get(i))
                .map(f)
                .unwrap_or_default()
        })
    };
    let curves = move |task: usize, auc: bool| {
        Signal::derive(move || {
            p.race.with(|r| {
                r.as_ref()
                    .map(|r| {
                        r.lanes
                            .iter()
                            .enumerate()
                            .filter_map(|(i, l)| {
                                let c = l.dashboard.tasks.get(task)?;
                                Some(Series {
                                    name: format!("{} {}", l.label(), c.name),
                                    points: if auc {
                                        c.valid_auc.clone()
                                    } else {
                                        c.valid_loss.clone()
                                    },
                                    style: i,
                                    band: Vec::new(),
                                    dash: None,
                                    replicas: Vec::new(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            })
        })
    };
    view! {
        <section class="panel" aria-labelledby="race-title" data-testid="race">
            <h2 id="race-title">"Race"</h2>
            <p class="hint">
                "Train two setups at the same time, each in a CPU worker of its own, on the same data and seed, and watch their curves side by side. Each lane's run ends as any run does (its epochs or early stopping) and is kept in Runs."
            </p>
            <div class="row-buttons">
                <label for="race-opponent">"Race this setup against"</label>
                <select id="race-opponent" data-testid="race-opponent"
                    prop:value=chosen
                    on:change=move |ev| picked.set(event_target_value(&ev))>
                    {move || options.get().into_iter().map(|(slug, label)| view! { <option value=slug>{label}</option> }).collect_view()}
                    <option value="alone">"nothing (time it alone)"</option>
                </select>
                <button type="button" class="primary" data-testid="race-start" on:click=start>"Race"</button>
                <button type="button" data-testid="race-stop" disabled=move || !racing() on:click=move |_| p.stop_race()>"Stop the race"</button>
            </div>
            {move || lanes.get().map(|(_, n)| {
                // The lanes share their rows, so their tasks' score: AUC, or R² on the
                // correlated tasks.
                let metric = p.race.with_untracked(|r| {
                    r.as_ref()
                        .and_then(|r| r.lanes.first())
                        .map_or("AUC", |l| l.experiment.data.task_kind().headline_name())
                });
                view! {
                <div class="race-lanes">
                    {(0..n).map(|i| view! {
                        <div class="race-lane" data-testid="race-lane" data-lane=i style=format!("border-top-color: {}", series_colour(i))>
                            <h3>{lane_text(i, |l| l.label().to_string())}</h3>
                            <p class="hint setup">{lane_text(i, |l| l.experiment.summary())}</p>
                            <p>
                                <span data-testid="step-counter">{move || lane_text(i, |l| format!("Step {} · Epoch {}", l.dashboard.step, l.dashboard.epoch))}</span>
                                " · "
                                <span data-testid="lane-rate">{move || lane_text(i, |l| l.rate().map_or("– samples/s".into(), |r| format!("{r:.0} samples/s")))}</span>
                            </p>
                            <p class="status" role="status">{move || lane_text(i, |l| l.dashboard.status.clone())}</p>
                            <p class="error">{move || lane_text(i, |l| l.dashboard.error.clone().unwrap_or_default())}</p>
                            <p data-testid="lane-scores">{move || lane_text(i, lane_scores)}</p>
                            <p class="hint">{move || lane_text(i, |l| note(l.experiment.model).no_gates.unwrap_or("Mean gate weight per expert, brighter is heavier:").to_string())}</p>
                            <table class="metrics gate-mini" aria-label="Mean gate weight per expert">
                                <tbody>
                                    {move || p.race.with(|r| {
                                        let Some(l) = r.as_ref().and_then(|r| r.lanes.get(i)) else { return Vec::new() };
                                        let labels = l.dashboard.info.as_ref().map(|info| info.gate_labels()).unwrap_or_default();
                                        labels.into_iter().zip(l.dashboard.gates.clone()).map(|(label, weights)| view! {
                                            <tr>
                                                <th scope="row">{label}</th>
                                                {weights.into_iter().map(|w| view! {
                                                    <td style=format!("background: {}; color: {}", crate::page::plot::viridis(w as f64), crate::page::plot::ink_on_viridis(w as f64))>{format!("{w:.2}")}</td>
                                                }).collect_view()}
                                            </tr>
                                        }).collect::<Vec<_>>()
                                    })}
                                </tbody>
                            </table>
                        </div>
                    }).collect_view()}
                </div>
                <div class="charts race-charts">
                    <LineChart title=format!("Task 1: validation {metric}") testid="race-auc-1" x_label="step" y_label=metric series=curves(0, true) y_domain=(0.4, 1.0) />
                    <LineChart title=format!("Task 2: validation {metric}") testid="race-auc-2" x_label="step" y_label=metric series=curves(1, true) y_domain=(0.4, 1.0) />
                    <LineChart title="Task 1: validation loss" testid="race-loss-1" x_label="step" y_label="log loss or MSE" series=curves(0, false) />
                    <LineChart title="Task 2: validation loss" testid="race-loss-2" x_label="step" y_label="log loss or MSE" series=curves(1, false) />
                </div>
                <p class="hint" data-testid="race-summary">{move || p.race.with(|r| r.as_ref().filter(|r| r.is_over()).map(|r| r.summary()).unwrap_or_default())}</p>
            }})}
        </section>
    }
}

/// A lane's scores: the latest validation figure per task, and the final test ones once in.
fn lane_scores(l: &crate::page::race::Lane) -> String {
    let d = &l.dashboard;
    let valid: Vec<String> = d
        .tasks
        .iter()
        .map(|t| format!("{} {}", t.name, fmt_opt(t.valid_auc.last().map(|p| p.1), 4)))
        .collect();
    let mut text = format!("Validation: {}.", valid.join(", "));
    if let Some(t) = &d.test {
        let test: Vec<String> = t
            .tasks
            .iter()
            .map(|s| format!("{} {}", s.name, fmt_opt(s.headline(), 4)))
            .collect();
        text += &format!(" Test (final, step {}): {}.", t.step, test.join(", "));
    }
    text
}
