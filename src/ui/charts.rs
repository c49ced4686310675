//! Lean SVG views over plain numbers: a line chart and the gate heatmap. Scales, ticks and
//! colours come from [`crate::chart`]; these components only place them.

use leptos::prelude::*;

use super::Playground;
use crate::plot::{
    LinearScale, extent, format_tick, ink_on_viridis, nice_ticks, series_colour, series_dash,
    viridis,
};

const W: f64 = 560.0;
const H: f64 = 250.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 44.0;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Index into the colour-blind-safe palette and dash patterns.
    pub style: usize,
}

/// A line chart with labelled axes and a legend.
#[component]
pub fn LineChart(
    /// Heading above the chart.
    title: &'static str,
    /// The `data-testid` of the chart's container.
    testid: &'static str,
    x_label: &'static str,
    y_label: &'static str,
    /// The lines to draw, re-read whenever they change.
    #[prop(into)]
    series: Signal<Vec<Series>>,
    /// A fixed y range, such as `(0.5, 1.0)` for AUC; otherwise the data's range.
    #[prop(optional)]
    y_domain: Option<(f64, f64)>,
) -> impl IntoView {
    let geometry = Memo::new(move |_| {
        let all = series.get();
        let xs =
            extent(all.iter().flat_map(|s| s.points.iter().map(|p| p.0))).unwrap_or((0.0, 1.0));
        let data_y = extent(all.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
        let ys = match (y_domain, data_y) {
            // A fixed range still widens for data outside it (an AUC below 0.4 early on).
            (Some((lo, hi)), Some((dlo, dhi))) => (lo.min(dlo - 0.02), hi.max(dhi)),
            (Some(fixed), None) => fixed,
            (None, Some((lo, hi))) => {
                let pad = ((hi - lo) * 0.05).max(1e-3);
                (lo - pad, hi + pad)
            }
            (None, None) => (0.0, 1.0),
        };
        let x = LinearScale::new((xs.0.min(0.0), xs.1.max(1.0)), (LEFT, W - RIGHT));
        let y = LinearScale::new(ys, (H - BOTTOM, TOP));
        let lines: Vec<(String, String, &'static str, &'static str)> = all
            .iter()
            .map(|s| {
                let points = s
                    .points
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
                    .join(" ");
                (
                    s.name.clone(),
                    points,
                    series_colour(s.style),
                    series_dash(s.style),
                )
            })
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
        (lines, x_ticks, y_ticks)
    });
    let empty = move || series.with(|s| s.iter().all(|s| s.points.is_empty()));
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=title preserveAspectRatio="xMidYMid meet">
                <line class="axis" x1=LEFT y1=H - BOTTOM x2=W - RIGHT y2=H - BOTTOM />
                <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=H - BOTTOM />
                {move || {
                    let (_, x_ticks, y_ticks) = geometry.get();
                    let xs = x_ticks
                        .into_iter()
                        .map(|(px, label)| {
                            view! {
                                <line class="grid" x1=px y1=TOP x2=px y2=H - BOTTOM />
                                <text class="tick" x=px y=H - BOTTOM + 16.0 text-anchor="middle">{label}</text>
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
                <text class="axis-label" x=(LEFT + W - RIGHT) / 2.0 y=H - 6.0 text-anchor="middle">{x_label}</text>
                <text class="axis-label" x=14.0 y=(TOP + H - BOTTOM) / 2.0 text-anchor="middle"
                    transform=format!("rotate(-90 14 {})", (TOP + H - BOTTOM) / 2.0)>{y_label}</text>
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
                    <text class="empty" x=(LEFT + W) / 2.0 y=H / 2.0 text-anchor="middle">"No data yet: press Play or Step."</text>
                </Show>
            </svg>
            <ul class="legend">
                {move || {
                    series
                        .get()
                        .into_iter()
                        .map(|s| {
                            let colour = series_colour(s.style);
                            let dash = series_dash(s.style);
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

/// Training (smoothed) and validation loss per task.
#[component]
pub fn LossChart() -> impl IntoView {
    let p = expect_context::<Playground>();
    let series = Signal::derive(move || {
        p.dashboard.with(|d| {
            d.tasks
                .iter()
                .enumerate()
                .flat_map(|(t, c)| {
                    [
                        Series {
                            name: format!("{} train (smoothed)", c.name),
                            points: c.train_loss.clone(),
                            style: t * 2,
                        },
                        Series {
                            name: format!("{} validation", c.name),
                            points: c.valid_loss.clone(),
                            style: t * 2 + 1,
                        },
                    ]
                })
                .collect()
        })
    });
    view! { <LineChart title="Loss" testid="loss-chart" x_label="step" y_label="log loss" series=series /> }
}

/// Validation AUC per task.
#[component]
pub fn AucChart() -> impl IntoView {
    let p = expect_context::<Playground>();
    let series = Signal::derive(move || {
        p.dashboard.with(|d| {
            d.tasks
                .iter()
                .enumerate()
                .map(|(t, c)| Series {
                    name: format!("{} validation AUC", c.name),
                    points: c.valid_auc.clone(),
                    style: t * 2 + 1,
                })
                .collect()
        })
    });
    view! {
        <LineChart title="Validation AUC" testid="auc-chart" x_label="step" y_label="AUC" series=series y_domain=(0.4, 1.0) />
    }
}

/// The mean gate weight per expert, one row per gate, updated live.
#[component]
pub fn GateHeatmap() -> impl IntoView {
    let p = expect_context::<Playground>();
    let model = move || p.experiment.with(|e| e.model);
    let rows = move || {
        p.dashboard.with(|d| {
            let Some(info) = &d.info else {
                return Vec::new();
            };
            let max = d
                .gates
                .iter()
                .flatten()
                .fold(0.0f32, |m, &w| m.max(w))
                .max(1e-6);
            let layout = &info.gates;
            layout
                .gates
                .iter()
                .zip(&d.gates)
                .map(|(g, w)| {
                    let cells: Vec<(String, f32, f64)> = g
                        .experts
                        .iter()
                        .zip(w)
                        .map(|(x, &v)| (layout.expert_name(x), v, (v / max) as f64))
                        .collect();
                    // CGC/PLE: how much of this gate goes to the shared experts.
                    let share = g.shared_share(w);
                    (layout.gate_label(g, &info.tasks), cells, share)
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="panel" aria-labelledby="gates-title">
            <h2 id="gates-title">"Gate weights"</h2>
            <div data-testid="gate-heatmap" class="heatmap">
                {move || {
                    let m = model();
                    if !m.has_gates() {
                        let why = match m {
                            crate::experiment::ModelKind::Esmm => "ESMM has no gates: its CTR and CVR towers share the embeddings and nothing else.",
                            crate::experiment::ModelKind::SharedBottom => "Shared-Bottom has no gates: every task reads the same bottom network.",
                            _ => "Single-task models share nothing, so there is nothing to gate.",
                        };
                        return view! { <p class="none">{why}</p> }.into_any();
                    }
                    let rows = rows();
                    if rows.is_empty() {
                        return view! { <p class="none">"The gates appear once the model is built."</p> }.into_any();
                    }
                    view! {
                        <p class="hint">
                            "Each row is one gate; each cell is the mean weight it gives one expert (E = pooled, T = task-specific, S = shared). Brighter is heavier, scaled to the largest weight shown."
                        </p>
                        <table>
                            <tbody>
                                {rows
                                    .into_iter()
                                    .map(|(label, cells, share)| {
                                        view! {
                                            <tr>
                                                <th scope="row">{label}</th>
                                                {cells
                                                    .into_iter()
                                                    .map(|(name, v, t)| {
                                                        let style = format!("background:{};color:{}", viridis(t), ink_on_viridis(t));
                                                        let title = format!("{name}: {v:.3}");
                                                        view! {
                                                            <td style=style title=title.clone() aria-label=title>
                                                                <span class="expert">{name}</span>
                                                                <span class="weight">{format!("{v:.2}")}</span>
                                                            </td>
                                                        }
                                                    })
                                                    .collect_view()}
                                                {share.map(|v| view! {
                                                    <td class="share" title="the share of this gate's weight on the shared experts">
                                                        <span class="expert">"shared"</span>
                                                        <span class="weight">{format!("{:.0}%", v * 100.0)}</span>
                                                    </td>
                                                })}
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                    .into_any()
                }}
            </div>
        </section>
    }
}

/// One gate's weights over training, a line per expert; the learner picks the gate.
#[component]
pub fn GateHistoryChart() -> impl IntoView {
    let p = expect_context::<Playground>();
    let selected = RwSignal::new(0usize);
    let labels = move || {
        p.dashboard
            .with(|d| d.info.as_ref().map(|i| i.gate_labels()))
            .unwrap_or_default()
    };
    let series = Signal::derive(move || {
        let g = selected.get();
        p.dashboard.with(|d| {
            let (Some(info), Some(history)) = (&d.info, d.gate_history.get(g)) else {
                return Vec::new();
            };
            let Some(gate) = info.gates.gates.get(g) else {
                return Vec::new();
            };
            gate.experts
                .iter()
                .enumerate()
                .map(|(e, x)| Series {
                    name: info.gates.expert_name(x),
                    points: history
                        .points
                        .iter()
                        .map(|(s, w)| (*s, w.get(e).copied().unwrap_or(0.0) as f64))
                        .collect(),
                    style: e,
                })
                .collect()
        })
    });
    view! {
        <Show when=move || !labels().is_empty()>
            <section class="panel">
                <label class="inline">
                    "Gate history for "
                    <select on:change=move |ev| selected.set(event_target_value(&ev).parse().unwrap_or(0))
                        prop:value=move || selected.get().to_string()>
                        {move || labels()
                            .into_iter()
                            .enumerate()
                            .map(|(i, l)| view! { <option value=i.to_string()>{l}</option> })
                            .collect_view()}
                    </select>
                </label>
                <LineChart title="Gate weight per expert over training" testid="gate-history" x_label="step" y_label="mean gate weight" series=series />
            </section>
        </Show>
    }
}
