//! Lean SVG views over plain numbers: a line chart and the gate heatmap. Scales, ticks and
//! colours come from [`crate::page::plot`]; these components only place them.

use leptos::prelude::*;
use mtl_vocab::GateLayout;
use mtl_vocab::palette::{series_colour, series_dash};

use super::Playground;
use crate::page::dashboard::{Curve, LOSS_SMOOTHING_STEPS, Parts, ReplicaCurves, upto};
use crate::page::lessons::note;
use crate::page::plot::{
    LinearScale, against_even, diverging, expert_style, extent, format_tick, nice_ticks, y_range,
};
use crate::protocol::CVR_ALL;
use crate::protocol::experiment::ModelKind;

const W: f64 = 560.0;
const H: f64 = 250.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 44.0;
/// The stage's charts are flatter, so the data, the model and both curves fit one screen.
const STAGE_H: f64 = 190.0;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Index into the colour-blind-safe palette and dash patterns.
    pub style: usize,
    /// A shaded band around the line: (step, low, high), such as ± 1 sd over seeds.
    pub band: Vec<(f64, f64, f64)>,
    /// The dash pattern's index when it should differ from the colour's (a run's tasks: one
    /// colour per run, one dash per task); `None` pairs it with `style`.
    pub dash: Option<usize>,
    /// The seeds' own lines when the line is their mean: drawn thin and faint in its colour,
    /// under it, and not in the legend.
    pub replicas: Vec<Vec<(f64, f64)>>,
}

/// A line chart with labelled axes and a legend.
#[component]
pub fn LineChart(
    /// Heading above the chart.
    #[prop(into)]
    title: String,
    /// The `data-testid` of the chart's container.
    #[prop(into)]
    testid: String,
    x_label: &'static str,
    y_label: &'static str,
    /// The lines to draw, re-read whenever they change.
    #[prop(into)]
    series: Signal<Vec<Series>>,
    /// A fixed y range, such as `(0.5, 1.0)` for AUC; otherwise the data's range.
    #[prop(optional)]
    y_domain: Option<(f64, f64)>,
    /// The view box's height, for a flatter chart than the default (the stage's).
    #[prop(optional)]
    height: Option<f64>,
) -> impl IntoView {
    let h = height.unwrap_or(H);
    let geometry = Memo::new(move |_| {
        let all = series.get();
        let xs =
            extent(all.iter().flat_map(|s| s.points.iter().map(|p| p.0))).unwrap_or((0.0, 1.0));
        let data_y = extent(all.iter().flat_map(|s| {
            s.points
                .iter()
                .chain(s.replicas.iter().flatten())
                .map(|p| p.1)
                .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
        }));
        let ys = y_range(y_domain, data_y);
        let x = LinearScale::new((xs.0.min(0.0), xs.1.max(1.0)), (LEFT, W - RIGHT));
        let y = LinearScale::new(ys, (h - BOTTOM, TOP));
        // Each band as a closed polygon: along the highs, back along the lows.
        let bands: Vec<(String, &'static str)> = all
            .iter()
            .filter(|s| !s.band.is_empty())
            .map(|s| {
                let at = |step: f64, v: f64| {
                    format!(
                        "{:.1},{:.1}",
                        x.map(step),
                        y.map(v.clamp(y.domain.0, y.domain.1))
                    )
                };
                let upper = s.band.iter().map(|&(step, _, hi)| at(step, hi));
                let lower = s.band.iter().rev().map(|&(step, lo, _)| at(step, lo));
                (
                    upper.chain(lower).collect::<Vec<_>>().join(" "),
                    series_colour(s.style),
                )
            })
            .collect();
        let polyline = |points: &[(f64, f64)]| {
            points
                .iter()
                .filter(|p| p.1.is_finite())
                .map(|p| {
                    format!(
                        "{:.1},{:.1}",
                        x.map(p.0),
                        y.map(p.1.clamp(y.domain.0, y.domain.1))
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let lines: Vec<(String, String, &'static str, &'static str)> = all
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    polyline(&s.points),
                    series_colour(s.style),
                    series_dash(s.dash.unwrap_or(s.style)),
                )
            })
            .collect();
        let faint: Vec<(String, &'static str)> = all
            .iter()
            .flat_map(|s| s.replicas.iter().map(move |r| (r, series_colour(s.style))))
            .map(|(r, colour)| (polyline(r), colour))
            .collect();
        let xt = nice_ticks(x.domain.0, x.domain.1, 5);
        let yt = nice_ticks(y.domain.0, y.domain.1, 5);
        let x_ticks: Vec<(f64, String)> = xt
            .iter()
            .map(|&t| (x.map(t), format_tick(t, &xt)))
            .collect();
        let y_ticks: Vec<(f64, String)> = yt
            .iter()
            .map(|&t| (y.map(t), format_tick(t, &yt)))
            .collect();
        (lines, x_ticks, y_ticks, bands, faint)
    });
    let empty = move || series.with(|s| s.iter().all(|s| s.points.is_empty()));
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {W} {h}") role="img" aria-label=title preserveAspectRatio="xMidYMid meet">
                <line class="axis" x1=LEFT y1=h - BOTTOM x2=W - RIGHT y2=h - BOTTOM />
                <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=h - BOTTOM />
                {move || {
                    let (_, x_ticks, y_ticks, _, _) = geometry.get();
                    let xs = x_ticks
                        .into_iter()
                        .map(|(px, label)| {
                            view! {
                                <line class="grid" x1=px y1=TOP x2=px y2=h - BOTTOM />
                                <text class="tick" x=px y=h - BOTTOM + 16.0 text-anchor="middle">{label}</text>
                            }
                        })
                        .collect_view();
                    let ys = y_ticks
                        .into_iter()
                        .map(|(py, label)| {
                            view! {
                                <line class="grid" x1=LEFT y1=py x2=W - RIGHT y2=py />
                                <text class="tick" x=LEFT - 6.0 y=py + 4.0 text-anchor="end">{label}</text>
                            }
                        })
                        .collect_view();
                    (xs, ys)
                }}
                <text class="axis-label" x=(LEFT + W - RIGHT) / 2.0 y=h - 6.0 text-anchor="middle">{x_label}</text>
                <text class="axis-label y" x=14.0 y=(TOP + h - BOTTOM) / 2.0 text-anchor="middle"
                    transform=format!("rotate(-90 14 {})", (TOP + h - BOTTOM) / 2.0)>{y_label}</text>
                {move || {
                    geometry
                        .get()
                        .3
                        .into_iter()
                        .map(|(points, colour)| {
                            view! { <polygon class="band" points=points fill=colour fill-opacity="0.18" stroke="none" /> }
                        })
                        .collect_view()
                }}
                {move || {
                    geometry
                        .get()
                        .4
                        .into_iter()
                        .map(|(points, colour)| {
                            view! {
                                <polyline class="replica" points=points fill="none" stroke=colour
                                    stroke-width="1" stroke-opacity="0.3" />
                            }
                        })
                        .collect_view()
                }}
                {move || {
                    geometry
                        .get()
                        .0
                        .into_iter()
                        .map(|(name, points, colour, dash)| {
                            view! {
                                <polyline class="series" points=points fill="none" stroke=colour
                                    stroke-width="2" stroke-dasharray=dash data-series=name />
                            }
                        })
                        .collect_view()
                }}
                <Show when=empty>
                    <text class="empty" x=(LEFT + W) / 2.0 y=h / 2.0 text-anchor="middle">"No data yet: press Play or Step."</text>
                </Show>
            </svg>
            <ul class="legend">
                {move || {
                    series
                        .get()
                        .into_iter()
                        .map(|s| {
                            let colour = series_colour(s.style);
                            let dash = series_dash(s.dash.unwrap_or(s.style));
                            view! {
                                <li>
                                    <svg width="28" height="10" aria-hidden="true">
                                        <line x1="0" y1="5" x2="28" y2="5" stroke=colour stroke-width="2" stroke-dasharray=dash />
                                    </svg>
                                    {s.name}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </figure>
    }
}

/// A legend's note that a line is the mean of `n` seeds, where nothing of it is drawn faintly.
fn mean_of_short(n: usize) -> String {
    if n > 1 {
        format!(" (mean of {n} seeds)")
    } else {
        String::new()
    }
}

/// A legend's note that a line is the mean of `n` seeds (each drawn faintly); nothing for one.
fn mean_of(n: usize) -> String {
    if n > 1 {
        format!(", mean of {n} seeds (each faint)")
    } else {
        String::new()
    }
}

/// Training (smoothed) and validation loss per task.
#[component]
pub fn LossChart() -> impl IntoView {
    let p = expect_context::<Playground>();
    let series = Memo::new(move |_| {
        let at = p.replay_at.get();
        p.dashboard.with(Parts::LOSS | Parts::VALIDATION, |d| {
            d.tasks
                .iter()
                .enumerate()
                .flat_map(|(t, c)| {
                    let of = mean_of(c.replicas.len());
                    let each = |get: fn(&ReplicaCurves) -> &Curve| {
                        c.replicas.iter().map(|r| upto(get(r), at)).collect()
                    };
                    [
                        Series {
                            name: format!(
                                "{} train{of} (smoothed over ~{LOSS_SMOOTHING_STEPS} steps: lags)",
                                p.experiment.with_untracked(|e| e.train_loss_title(&c.name))
                            ),
                            points: upto(&c.train_loss, at),
                            style: t * 2,
                            replicas: each(|r| &r.train_loss),
                            ..Series::default()
                        },
                        Series {
                            name: format!(
                                "{} validation{of}",
                                p.experiment.with_untracked(|e| e.task_title(&c.name))
                            ),
                            points: upto(&c.valid_loss, at),
                            style: valid_style(t),
                            replicas: each(|r| &r.valid_loss),
                            ..Series::default()
                        },
                    ]
                })
                .collect()
        })
    });
    view! { <LineChart title="Loss" testid="loss-chart" x_label="step" y_label="log loss or MSE" series=series height=STAGE_H /> }
}

/// The palette index of a lesson's previous step on the metric chart: black.
const PREVIOUS_STEP_STYLE: usize = 7;

/// The palette index of the CVR head's curve on the metric chart (its dash in a previous
/// step's black).
const CVR_STYLE: usize = 4;

/// The palette index of task `t`'s validation curves (on the loss and the metric chart); its
/// training loss takes the one before.
fn valid_style(t: usize) -> usize {
    t * 2 + 1
}

/// Validation AUC per task (R² on the correlated tasks), and on the funnel the CVR head's AUC
/// over every impression, the funnel lessons' subject; during a lesson step after the first,
/// the previous step's beside them.
#[component]
pub fn AucChart() -> impl IntoView {
    let p = expect_context::<Playground>();
    // At a lesson step after the first, while the page shows that step's setup: the previous
    // step's curves (the mean over its seeds), so the two setups the step compares end in one
    // picture.
    let previous = Memo::new(move |_| p.previous_step_curves());
    // Re-run only by a validation point: the training reports between them leave it alone.
    let series = Memo::new(move |_| {
        let at = p.replay_at.get();
        // In black, each curve in the dash of the run's own line of it.
        let before: Vec<Series> = previous.get().map_or_else(Vec::new, |prev| {
            prev.tasks
                .iter()
                .enumerate()
                .map(|(t, (name, points))| Series {
                    // Short, so the legend stays one line a series: the card names the step.
                    name: format!(
                        "{} validation, step {}{}",
                        p.experiment.with_untracked(|e| e.task_title(name)),
                        prev.number,
                        mean_of_short(prev.seeds)
                    ),
                    points: points.clone(),
                    style: PREVIOUS_STEP_STYLE,
                    dash: Some(if name == CVR_ALL {
                        CVR_STYLE
                    } else {
                        valid_style(t)
                    }),
                    ..Series::default()
                })
                .collect()
        });
        p.dashboard.with(Parts::VALIDATION, |d| {
            let tasks = d.tasks.iter().enumerate().map(|(t, c)| Series {
                name: format!(
                    "{} validation{}",
                    p.experiment.with_untracked(|e| e.task_title(&c.name)),
                    mean_of(c.replicas.len())
                ),
                points: upto(&c.valid_auc, at),
                style: valid_style(t),
                replicas: c.replicas.iter().map(|r| upto(&r.valid_auc, at)).collect(),
                ..Series::default()
            });
            let cvr = (!d.cvr_auc.is_empty()).then(|| Series {
                name: format!("{CVR_ALL} validation{}", mean_of(d.cvr_replicas.len())),
                points: upto(&d.cvr_auc, at),
                style: CVR_STYLE,
                replicas: d.cvr_replicas.iter().map(|r| upto(r, at)).collect(),
                ..Series::default()
            });
            tasks.chain(cvr).chain(before).collect()
        })
    });
    // The score's name follows the data set: the chart is drawn again only when it changes.
    let metric = Memo::new(move |_| p.experiment.with(|e| e.data.task_kind().headline_name()));
    move || {
        let name = metric.get();
        view! {
            <LineChart title=format!("Validation {name}") testid="metric-chart" x_label="step" y_label=name series=series y_domain=(0.4, 1.0) height=STAGE_H />
        }
    }
}

/// The cosine between the two tasks' loss gradients over the parameters both reach, as the
/// worker measures it every few dozen steps: the quantity behind negative transfer.
#[component]
pub fn GradientConflictChart() -> impl IntoView {
    let p = expect_context::<Playground>();
    let series = Memo::new(move |_| {
        let at = p.replay_at.get();
        p.dashboard.with(Parts::CONFLICT, |d| {
            vec![Series {
                name: "cosine of the task gradients".into(),
                points: upto(&d.grad_cosine, at),
                style: 2,
                band: Vec::new(),
                dash: None,
                replicas: Vec::new(),
            }]
        })
    });
    // The worker says whether the tasks share a parameter, and how often it measures.
    let every = move || {
        p.dashboard.with(Parts::MODEL, |d| {
            d.info.as_ref().map(|i| i.grad_cosine_every)
        })
    };
    let shares_nothing = move || every() == Some(None);
    let summary = move || {
        p.dashboard.with(Parts::CONFLICT, |d| match d.grad_cosine.last() {
            Some(&(step, latest)) => {
                let mean =
                    d.grad_cosine.iter().map(|p| p.1).sum::<f64>() / d.grad_cosine.len() as f64;
                format!(
                    "Latest {latest:.2} at step {step}; mean over the run {mean:.2} ({} measurements).",
                    d.grad_cosine.len()
                )
            }
            None => "The first measurement comes with the first report past its step.".into(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="conflict-title" data-testid="grad-conflict">
            <h2 id="conflict-title">"Task-gradient conflict"</h2>
            <p class="hint">
                "The cosine between the two tasks' loss gradients over the parameters both reach (embeddings, a shared bottom, shared experts), measured every "
                {move || every().flatten().map_or("a few dozen".to_string(), |n| n.to_string())}
                " steps on the next batch. Near 1 the tasks pull the shared parameters the same way; near 0 they ignore each other; below 0 they pull against each other, which is negative transfer seen from inside. On the correlated tasks, compare p = 1 with p = 0."
            </p>
            <Show when=move || !shares_nothing() fallback=|| view! { <p class="none">"This model's two tasks share no parameter, so there is no conflict to measure."</p> }>
                <LineChart title="Cosine of the two tasks' gradients" testid="grad-conflict-chart" x_label="step" y_label="cosine" series=series y_domain=(-1.0, 1.0) />
                <p class="hint" data-testid="grad-conflict-summary">{summary}</p>
            </Show>
        </section>
    }
}

/// The mean gate weight per expert, one row per gate, updated live: the page's data, handed to
/// [`Heatmap`] as plain values.
#[component]
pub fn GateHeatmap() -> impl IntoView {
    let p = expect_context::<Playground>();
    let model = Signal::derive(move || p.experiment.with(|e| e.model));
    // The rows change once per build; the weights with every report.
    let layout = Memo::new(move |_| {
        p.dashboard.with(Parts::MODEL, |d| {
            d.info.as_ref().map(|i| (i.gates.clone(), i.tasks.clone()))
        })
    });
    // Live, or as they were at the replayed step.
    let weights = Memo::new(move |_| {
        let at = p.replay_at.get();
        p.dashboard.with(Parts::GATES, |d| d.gates_at(at))
    });
    let spread = Memo::new(move |_| {
        let at = p.replay_at.get();
        p.dashboard.with(Parts::GATES, |d| d.spread_at(at))
    });
    // The shared share has a mean over seeds side by side (it does not depend on how each
    // seed numbered its experts), with their sd.
    let share_seeds = Memo::new(move |_| {
        let at = p.replay_at.get();
        p.dashboard.with(Parts::GATES, |d| d.shared_share_at(at))
    });
    // With seeds side by side the weights are the first seed's (experts have no common
    // numbering across seeds, so they have no mean): say so.
    let which = Memo::new(move |_| {
        p.dashboard.with(Parts::MODEL, |d| {
            let info = d.info.as_ref().filter(|i| i.seeds.len() > 1)?;
            let first = info.seeds.first()?;
            let shared = if info.gates.gates.iter().any(|g| g.is_mixed()) {
                format!(
                    " The shared column is the mean ± sd over all {} seeds, once validated: a share does not depend on how each seed numbered its experts.",
                    info.seeds.len()
                )
            } else {
                String::new()
            };
            Some(format!(
                "Seed {first}'s gates, the first of the seeds side by side.{shared}"
            ))
        })
    });
    view! {
        <Heatmap model layout=layout weights=weights spread=spread share_seeds=share_seeds />
        {move || which.get().map(|t| view! { <p class="hint" data-testid="gate-seed">{t}</p> })}
    }
}

/// A gate heatmap over plain data. Its table is built when the layout changes; a report only
/// updates the cells' colours and numbers, so the page does not rebuild it ten times a second.
#[component]
pub fn Heatmap(
    /// The model, to say why a model has no gates.
    #[prop(into)]
    model: Signal<ModelKind>,
    /// The built model's gates and its tasks' names; `None` until it is built.
    #[prop(into)]
    layout: Signal<Option<(GateLayout, Vec<String>)>>,
    /// Per gate, the mean weight per expert, in layout order.
    #[prop(into)]
    weights: Signal<Vec<Vec<f32>>>,
    /// Per gate, how evenly each validation row spreads its weight (1 = alike for every row).
    #[prop(into)]
    spread: Signal<Vec<f32>>,
    /// Per gate of a run over several seeds, the shared share's mean and sd over them; empty
    /// for one seed (the share is then that seed's, from `weights`).
    #[prop(into)]
    share_seeds: Signal<Vec<Option<[f32; 2]>>>,
) -> impl IntoView {
    // None until the worker has measured the gate (the untrained model's weights come with
    // its first validation point).
    let weight =
        move |g: usize, e: usize| weights.with(|w| w.get(g).and_then(|r| r.get(e)).copied());
    view! {
        <section class="panel" aria-labelledby="gates-title">
            <h2 id="gates-title">"Gate weights"</h2>
            <div data-testid="gate-heatmap" class="heatmap">
                {move || {
                    if let Some(why) = note(model.get()).no_gates {
                        return view! { <p class="none">{why}</p> }.into_any();
                    }
                    let Some((gates, tasks)) = layout.get() else {
                        return view! { <p class="none">"The gates appear once the model is built."</p> }.into_any();
                    };
                    let any_mixed = gates.gates.iter().any(|g| g.is_mixed());
                    let rows = gates
                        .gates
                        .iter()
                        .enumerate()
                        .map(|(g, gate)| {
                            let label = gates.gate_label(gate, &tasks);
                            let cells = gate
                                .experts
                                .iter()
                                .enumerate()
                                .map(|(e, x)| {
                                    let name = gates.expert_name(x);
                                    // Each as shown (two decimals, colour in hundredths of the
                                    // scale): a report that moves a weight less than that touches
                                    // nothing. The colour is the weight against this gate's even
                                    // split 1/n, so an even gate is white for any n.
                                    let even = 1.0 / gate.experts.len().max(1) as f64;
                                    let shown = Memo::new(move |_| {
                                        weight(g, e).map(|v| {
                                            let t = against_even(v as f64, even);
                                            ((v * 100.0).round() as i32, (t * 100.0).round() as i32)
                                        })
                                    });
                                    let style = move || {
                                        let t = shown.get().map_or(0.0, |s| s.1 as f64 / 100.0);
                                        let (background, ink) = diverging(t);
                                        format!("background:{background};color:{ink}")
                                    };
                                    let title = {
                                        let name = name.clone();
                                        Memo::new(move |_| match weight(g, e) {
                                            Some(v) => format!("{name}: {v:.3} (even split {even:.3})"),
                                            None => format!("{name}: not measured yet"),
                                        })
                                    };
                                    view! {
                                        <td style=style title=title aria-label=title>
                                            <span class="expert">{name}</span>
                                            <span class="weight">{move || shown.get().map_or("–".to_string(), |s| format!("{:.2}", s.0 as f32 / 100.0))}</span>
                                        </td>
                                    }
                                })
                                .collect_view();
                            // CGC/PLE: how much of this gate goes to the shared experts.
                            let mixed = gate.is_mixed();
                            let info = gate.clone();
                            let share = move || {
                                weights.with(|w| info.shared_share(w.get(g).map_or(&[], |r| r.as_slice())))
                            };
                            // Over every seed where several train side by side, else this one's.
                            let share_text = move || match share_seeds.with(|s| s.get(g).copied().flatten()) {
                                Some([mean, sd]) => format!("{:.0}% ± {:.0}", mean * 100.0, sd * 100.0),
                                None => share().map_or("–".to_string(), |s| format!("{:.0}%", s * 100.0)),
                            };
                            // The share an even gate gives the shared experts: their count over all.
                            let shared_count = gate.experts.iter().filter(|x| x.owner == mtl_vocab::Owner::Shared).count();
                            let even_share = shared_count as f64 / gate.experts.len().max(1) as f64;
                            let row_spread = move || spread.with(|s| s.get(g).copied());
                            view! {
                                <tr>
                                    <th scope="row">{label}</th>
                                    <td class="spread" data-testid="gate-spread"
                                        title="How each validation row spreads this gate's weight: 1.00 when every row weighs every expert alike, near 0 when each row picks one expert (the mean per-row entropy over ln n)">
                                        <span class="expert">"per row"</span>
                                        <span class="weight">{move || row_spread().map_or("–".to_string(), |h| format!("{h:.2}"))}</span>
                                    </td>
                                    // The shared share sits before the experts, so it lines
                                    // up whatever the gate's length; a gate without shared
                                    // experts leaves the column empty where others have it.
                                    {match (mixed, any_mixed) {
                                        (true, _) => view! {
                                            <td class="share" title=format!("the share of this gate's weight on the shared experts; an even gate gives them {:.0}%", even_share * 100.0)>
                                                <span class="expert">"shared"</span>
                                                <span class="weight" data-testid="gate-share">{share_text}</span>
                                                <span class="even">{format!("even {:.0}%", even_share * 100.0)}</span>
                                            </td>
                                        }.into_any(),
                                        (false, true) => view! { <td class="share empty" aria-hidden="true"></td> }.into_any(),
                                        (false, false) => ().into_any(),
                                    }}
                                    {cells}
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <p class="hint">
                            "Each row is one gate; each cell is the mean weight it gives one expert (E = pooled, T = task-specific, S = shared)."
                        </p>
                        <p class="hint gate-legend" data-testid="gate-legend">
                            <span class="swatch" style=format!("background:{}", diverging(-1.0).0)></span>" ¼ of 1/n or less "
                            <span class="swatch" style="background:#fff"></span>" 1/n, the even split (every expert weighed alike) "
                            <span class="swatch" style=format!("background:{}", diverging(1.0).0)></span>" 4× 1/n or more. The colour is each weight against its own gate's 1/n (n = its experts); the shared column gives the share an even gate would put on the shared experts. \"Per row\" is how each validation row spreads the gate's weight (1.00: every row weighs every expert alike; lower: rows are routed apart), which the mean weights cannot show."
                        </p>
                        <div class="table-wrap">
                            <table>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                    }
                    .into_any()
                }}
            </div>
        </section>
    }
}

/// Every gate's weights over training, one small chart per gate, a line per expert (the
/// task's own experts in cool colours, the shared ones in warm colours, none alike), with the
/// gate's even split 1/n dashed.
#[component]
pub fn GateHistoryChart() -> impl IntoView {
    let p = expect_context::<Playground>();
    let labels = Memo::new(move |_| {
        p.dashboard
            .with(Parts::MODEL, |d| d.info.as_ref().map(|i| i.gate_labels()))
            .unwrap_or_default()
    });
    let series = move |g: usize| {
        Signal::derive(move || {
            let at = p.replay_at.get();
            p.dashboard.with(Parts::MODEL | Parts::GATES, |d| {
                let (Some(info), Some(history)) = (&d.info, d.gate_history.get(g)) else {
                    return Vec::new();
                };
                let Some(gate) = info.gates.gates.get(g) else {
                    return Vec::new();
                };
                let points = upto(&history.points, at);
                let mut counts = [0usize; 2];
                let mut lines: Vec<Series> = gate
                    .experts
                    .iter()
                    .enumerate()
                    .map(|(e, x)| {
                        let shared = gate.is_mixed() && x.owner == mtl_vocab::Owner::Shared;
                        let (style, dash) = expert_style(shared, counts[shared as usize]);
                        counts[shared as usize] += 1;
                        Series {
                            name: info.gates.expert_name(x),
                            points: points
                                .iter()
                                .map(|(s, w)| (*s, w.get(e).copied().unwrap_or(0.0) as f64))
                                .collect(),
                            style,
                            band: Vec::new(),
                            dash: Some(dash),
                            replicas: Vec::new(),
                        }
                    })
                    .collect();
                let even = 1.0 / gate.experts.len().max(1) as f64;
                if let (Some(first), Some(last)) = (points.first(), points.last()) {
                    lines.push(Series {
                        name: format!("even split 1/n = {even:.3}"),
                        points: vec![(first.0, even), (last.0.max(first.0 + 1.0), even)],
                        style: 7,
                        band: Vec::new(),
                        dash: Some(1),
                        replicas: Vec::new(),
                    });
                }
                lines
            })
        })
    };
    view! {
        <Show when=move || labels.with(|l| !l.is_empty())>
            <section class="panel" aria-labelledby="gate-history-title">
                <h2 id="gate-history-title">"Gate weights over training"</h2>
                <p class="hint">"One chart per gate; the dashed line is its even split 1/n. A task's own experts are drawn in cool colours, the shared ones in warm colours."</p>
                <div class="charts gate-multiples">
                    {move || labels.get()
                        .into_iter()
                        .enumerate()
                        .map(|(g, label)| {
                            // From 0 to three times the even split (or more, if a weight
                            // climbs past it), so weights near 1/n are not blown up.
                            let n = p.dashboard.with_untracked(|d| {
                                d.info.as_ref().and_then(|i| i.gates.gates.get(g)).map_or(1, |x| x.experts.len())
                            });
                            let top = (3.0 / n.max(1) as f64).min(1.0);
                            view! {
                                <LineChart title=label testid=format!("gate-history-{g}") x_label="step" y_label="mean gate weight" series=series(g) y_domain=(0.0, top) />
                            }
                        })
                        .collect_view()}
                </div>
            </section>
        </Show>
    }
}

/// The data view: what the two tasks are, drawn from the training split the worker built
/// ([`crate::page::dataview::sketch`] lays it out), with one sentence of what it shows.
#[component]
pub fn DataView() -> impl IntoView {
    use crate::page::dataview::{Mark, VIEW_H, VIEW_W, sketch};
    let p = expect_context::<Playground>();
    let picture = Memo::new(move |_| {
        p.dashboard.with(Parts::MODEL, |d| {
            d.info.as_ref().and_then(|i| {
                let tasks: Vec<String> = i
                    .tasks
                    .iter()
                    .map(|t| p.experiment.with_untracked(|e| e.task_title(t)))
                    .collect();
                i.data_picture
                    .as_ref()
                    .map(|pic| sketch(pic, &tasks, i.label_correlation))
            })
        })
    });
    let data_name = move || p.experiment.with(|e| e.data.label());
    view! {
        <section class="panel stage-data" aria-labelledby="data-title" data-testid="data-view">
            <h2 id="data-title">{move || format!("Data: {}", data_name())}</h2>
            {move || match picture.get() {
                None => view! { <p class="none">"The picture of the data appears once it is loaded."</p> }.into_any(),
                Some(s) => {
                    let marks = s
                        .marks
                        .into_iter()
                        .map(|m| match m {
                            Mark::Dot { x, y } => view! { <circle class="dot" cx=x cy=y r="1.6" /> }.into_any(),
                            Mark::Rect { x, y, w, h, tone } => view! {
                                <rect class=format!("tone{tone}") x=x y=y width=w height=h rx="2" />
                            }
                            .into_any(),
                            Mark::Text { x, y, text, anchor } => view! {
                                <text x=x y=y text-anchor=anchor.as_str()>{text}</text>
                            }
                            .into_any(),
                            Mark::Line { x1, y1, x2, y2 } => view! {
                                <line class="diagonal" x1=x1 y1=y1 x2=x2 y2=y2 />
                            }
                            .into_any(),
                        })
                        .collect_view();
                    view! {
                        <svg viewBox=format!("0 0 {VIEW_W} {VIEW_H}") role="img" aria-label=s.label>{marks}</svg>
                        <p class="hint" data-testid="data-caption">{s.caption}</p>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}

/// The task-gradient conflict as one number on a scale from −1 to 1, beside the diagram: the
/// latest measurement, and in words what its sign means.
#[component]
pub fn ConflictMeter() -> impl IntoView {
    let p = expect_context::<Playground>();
    let shares = move || {
        p.dashboard.with(Parts::MODEL, |d| {
            d.info.as_ref().map(|i| i.grad_cosine_every.is_some())
        })
    };
    let latest = move || {
        let at = p.replay_at.get();
        p.dashboard.with(Parts::CONFLICT, |d| {
            upto(&d.grad_cosine, at).last().copied()
        })
    };
    view! {
        <div class="conflict-meter" data-testid="conflict-meter">
            {move || match (shares(), latest()) {
                (Some(false), _) => view! { <p class="hint">"Gradient conflict: the two tasks share no parameter."</p> }.into_any(),
                (_, None) => view! { <p class="hint">"Gradient conflict: measured once training starts."</p> }.into_any(),
                (_, Some((step, cos))) => {
                    let x = 50.0 + 50.0 * cos.clamp(-1.0, 1.0);
                    let words = crate::page::plot::conflict_words(cos);
                    view! {
                        <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                            <rect class="scale" x="0" y="3" width="100" height="4" />
                            <line class="zero" x1="50" y1="0" x2="50" y2="10" />
                            <rect class="mark" x=x - 1.5 y="0" width="3" height="10" />
                        </svg>
                        <p class="hint">
                            <strong>{format!("Task gradients: cosine {cos:.2}")}</strong>
                            {format!(" at step {step:.0}: {words}")}
                        </p>
                    }
                    .into_any()
                }
            }}
        </div>
    }
}
