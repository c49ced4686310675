//! The Paper figure tab: the MMoE paper's figure trained in the browser. Workers of the
//! figure's own (two CPU workers, both cores; one WebGPU worker when the page trains on WebGPU)
//! each take a job ([`crate::protocol::FigureJob`]: a model at one p over every seed as
//! replicas), train it, and take the next; the points appear as jobs finish. Stop terminates
//! them. [`FigureRun`] holds the state; this file owns the workers and draws it.

use leptos::prelude::*;
use mtl_vocab::palette::series_colour;

use super::{Playground, worker_url};
use crate::page::figure::{
    BASELINE, CHART_H, CHART_W, DEFAULT_SEEDS, FIGURE_PS, FigurePair, FigurePlan, FigureRun,
    MAX_SEEDS, MIN_SEEDS, OPTIONAL_MODELS, geometry,
};
use crate::protocol::experiment::ModelKind;
use crate::protocol::{Backend, Command, Event, FIGURE_STEPS};
use crate::web::WorkerClient;

/// CPU workers of a figure: both cores of a 2-core machine. A run the learner trains meanwhile
/// shares them (nothing pauses it).
const CPU_WORKERS: usize = 2;

impl Playground {
    /// Starts a figure of `plan`, replacing any other: on WebGPU when the page trains there,
    /// otherwise on two CPU workers.
    pub fn start_figure(self, plan: FigurePlan) {
        self.stop_figure();
        let id = self.figure_id.get_value() + 1;
        self.figure_id.set_value(id);
        let backend = self.worker_backend.get_value().unwrap_or(Backend::Cpu);
        let (workers, on) = match backend {
            Backend::Webgpu => (1, "1 WebGPU worker".to_string()),
            Backend::Cpu => (CPU_WORKERS, format!("{CPU_WORKERS} CPU workers")),
        };
        self.figure
            .set(Some(FigureRun::new(plan, workers, on, crate::web::now())));
        let mut clients = Vec::new();
        for worker in 0..workers {
            let spawned = WorkerClient::spawn(
                worker_url(backend),
                move |event| self.on_figure_event(id, worker, event),
                move |message| self.figure_failed(id, message),
            );
            match spawned {
                Ok(client) => clients.push(client),
                Err(message) => return self.figure_failed(id, message),
            }
        }
        self.figure_workers.set_value(clients);
    }

    /// The learner's Stop: the workers go; the points drawn stay.
    pub fn stop_figure(self) {
        self.figure_workers.set_value(Vec::new());
        self.figure.update(|f| {
            if let Some(f) = f {
                f.stop(crate::web::now());
            }
        });
    }

    fn figure_failed(self, id: u32, message: String) {
        if self.figure_id.get_value() != id {
            return;
        }
        self.figure.update(|f| {
            if let Some(f) = f {
                f.fail(message, crate::web::now());
            }
        });
        self.release_figure_workers();
    }

    /// Drops the workers after the handler delivering the current event has returned.
    fn release_figure_workers(self) {
        let workers = self.figure_workers.try_update_value(std::mem::take);
        leptos::task::spawn_local(async move { drop(workers) });
    }

    /// Hands `worker` its next job, if any is left.
    fn feed_figure_worker(self, id: u32, worker: usize) {
        let job = self
            .figure
            .try_update(|f| f.as_mut().and_then(|f| f.assign(worker)))
            .flatten();
        let Some(job) = job else { return };
        let sent = self.figure_workers.with_value(|w| {
            w.get(worker)
                .map(|w| w.send(&Command::Figure { session: id, job }))
        });
        if let Some(Err(message)) = sent {
            self.figure_failed(id, message);
        }
    }

    fn on_figure_event(self, id: u32, worker: usize, event: Event) {
        if self.figure_id.get_value() != id {
            return;
        }
        let now = crate::web::now();
        match event {
            Event::Ready { .. } => self.feed_figure_worker(id, worker),
            Event::FigureProgress { session, done, of } if session == id => {
                self.figure.update(|f| {
                    if let Some(f) = f {
                        f.on_progress(worker, done, of);
                    }
                });
            }
            Event::FigureCells { session, cells } if session == id => {
                self.figure.update(|f| {
                    if let Some(f) = f {
                        f.on_cells(worker, cells, now);
                    }
                });
                let running = self
                    .figure
                    .with_untracked(|f| f.as_ref().is_some_and(FigureRun::is_running));
                if running {
                    self.feed_figure_worker(id, worker);
                } else {
                    self.release_figure_workers();
                }
            }
            Event::Error { message, .. } | Event::DeviceFailed { message, .. } => {
                self.figure_failed(id, message)
            }
            _ => {}
        }
    }
}

/// The panel: what the figure is, its settings, Run and Stop, progress, the chart and the
/// paired table.
#[component]
pub fn PaperFigurePanel() -> impl IntoView {
    let p = expect_context::<Playground>();
    let seeds = RwSignal::new(DEFAULT_SEEDS);
    let extra = RwSignal::new(Vec::<ModelKind>::new());
    let seeds_note = RwSignal::new(String::new());
    let plan = move || FigurePlan::new(&extra.get(), seeds.get());
    // A memo, so that only a change of state (not every progress report) re-runs what reads it.
    let running = Memo::new(move |_| {
        p.figure
            .with(|f| f.as_ref().is_some_and(FigureRun::is_running))
    });
    // The status reads the clock: a tick each second while training keeps "after N s" true.
    // One chain of timers: each tick re-runs this effect once, which waits for the next.
    let tick = RwSignal::new(0u32);
    Effect::new(move |_| {
        if running.get() {
            leptos::task::spawn_local(async move {
                crate::web::sleep(1000).await;
                tick.try_update(|t| *t += 1);
            });
        }
        tick.track();
    });
    let status = move || {
        tick.track();
        p.figure.with(|f| {
            f.as_ref().map_or_else(
                || "Not drawn yet: press “Draw the figure”.".to_string(),
                |f| f.status(crate::web::now()),
            )
        })
    };
    let drawn = Memo::new(move |_| {
        p.figure.with(|f| {
            f.as_ref()
                .map(|f| (f.plan.clone(), geometry(&f.plan, &f.points())))
        })
    });
    let pairs = Memo::new(move |_| {
        p.figure.with(|f| {
            f.as_ref()
                .map(|f| (f.plan.models.clone(), f.pairs(), f.changes_from_p1()))
        })
    });
    let on_seeds = move |ev| {
        let text = event_target_value(&ev);
        match text.trim().parse::<usize>() {
            Ok(n) => {
                let kept = n.clamp(MIN_SEEDS, MAX_SEEDS);
                seeds.set(kept);
                seeds_note.set(if kept == n {
                    String::new()
                } else {
                    format!("{n} is outside {MIN_SEEDS}–{MAX_SEEDS}: {kept} seeds.")
                });
            }
            Err(_) => seeds_note.set(format!(
                "“{text}” is not a whole number: {} seeds.",
                seeds.get_untracked()
            )),
        }
    };
    let toggle = move |m: ModelKind, on: bool| {
        extra.update(|e| {
            e.retain(|&x| x != m);
            if on {
                e.push(m);
            }
        })
    };
    let download = move |_| {
        let csv = p
            .figure
            .with_untracked(|f| f.as_ref().map(FigureRun::to_csv));
        if let Some(csv) = csv
            && let Err(e) = crate::web::download("mtl-paper-figure.csv", "text/csv", &csv)
        {
            p.notify(format!("The figure's cells could not be saved: {e}."));
        }
    };
    view! {
        <section class="panel" aria-labelledby="figure-title" data-testid="paper-figure">
            <h2 id="figure-title">"The MMoE paper's figure"</h2>
            <p class="hint">
                {format!(
                    "Test loss against the task correlation p on the correlated tasks: Shared-Bottom, OMoE and MMoE at p = 1, 0.9, 0.5 and 0, each over seeds 1 to N trained side by side ({FIGURE_STEPS} steps, the final weights, the mean of the two tasks' test MSE). The command below computes them natively at the same seeds, up to small float differences (wasm and native add in other orders; a test holds them far inside each interval). Each band is the 95% interval of a mean; the tables compare each model with MMoE, and with itself at p = 1, seed by seed."
                )}
            </p>
            <div class="row-buttons figure-controls">
                <label for="figure-seeds">"Seeds per point"</label>
                <input id="figure-seeds" data-testid="figure-seeds" type="number" inputmode="numeric"
                    min=MIN_SEEDS max=MAX_SEEDS step="1" prop:value=move || seeds.get().to_string()
                    on:change=on_seeds />
                {OPTIONAL_MODELS.into_iter().map(|m| view! {
                    <label class="check">
                        <input type="checkbox" data-testid=format!("figure-add-{}", m.slug())
                            prop:checked=move || extra.with(|e| e.contains(&m))
                            on:change=move |ev| toggle(m, event_target_checked(&ev)) />
                        {format!("add {}", m.label())}
                    </label>
                }).collect_view()}
                <button type="button" class="primary" data-testid="figure-run" disabled=move || running.get()
                    on:click=move |_| p.start_figure(plan())>"Draw the figure"</button>
                <button type="button" data-testid="figure-stop" disabled=move || !running.get()
                    on:click=move |_| p.stop_figure()>"Stop"</button>
            </div>
            <p class="hint" role="status">{move || seeds_note.get()}</p>
            <p class="hint">"The same numbers natively: " <code data-testid="figure-command">{move || {
                    // The figure on screen's command once there is one; the settings' before.
                    p.figure
                        .with(|f| f.as_ref().map(|f| f.plan.command()))
                        .unwrap_or_else(|| plan().command())
                }}</code></p>
            <progress data-testid="figure-progress" max="1" aria-label="Paper figure progress"
                prop:value=move || p.figure.with(|f| f.as_ref().map_or(0.0, FigureRun::fraction))></progress>
            <p class="status" role="status" data-testid="figure-status">{status}</p>
            {move || drawn.get().map(|(plan, g)| {
                let (left, right, bottom, top) = g.frame;
                let caption = if g.cut {
                    "Mean test MSE against p, with 95% intervals (cut at the chart's edges)"
                } else {
                    "Mean test MSE against p, with 95% intervals"
                };
                view! {
                <figure class="chart figure-chart">
                    <figcaption>{caption}</figcaption>
                    <svg data-testid="figure-chart" viewBox=format!("0 0 {CHART_W} {CHART_H}") role="img"
                        aria-label="Mean test loss of each model against the task correlation p" preserveAspectRatio="xMidYMid meet">
                        <line class="axis" x1=left y1=bottom x2=right y2=bottom />
                        <line class="axis" x1=left y1=top x2=left y2=bottom />
                        {g.y_ticks.into_iter().map(|(y, label)| view! {
                            <line class="grid" x1=left y1=y x2=right y2=y />
                            <text class="tick" x=left - 6.0 y=y + 4.0 text-anchor="end">{label}</text>
                        }).collect_view()}
                        {g.x_ticks.into_iter().map(|(x, label)| view! {
                            <text class="tick" x=x y=bottom + 16.0 text-anchor="middle">{label}</text>
                        }).collect_view()}
                        <text class="axis-label" x=(left + right) / 2.0 y=CHART_H - 6.0 text-anchor="middle">"task correlation p"</text>
                        <text class="axis-label y" x=14.0 y=(top + bottom) / 2.0 text-anchor="middle"
                            transform=format!("rotate(-90 14 {})", (top + bottom) / 2.0)>"test MSE"</text>
                        {g.models.into_iter().map(|m| {
                            let colour = series_colour(m.style);
                            let slug = m.model.slug();
                            view! {
                                <polygon class="band" data-model=slug points=m.band fill=colour fill-opacity="0.18" stroke="none" />
                                <polyline class="series" data-model=slug points=m.line fill="none" stroke=colour stroke-width="2" />
                                {m.points.into_iter().map(|k| {
                                    let [lo, hi] = k.point.ci95.unwrap_or([k.point.mean; 2]);
                                    view! {
                                        <line x1=k.x y1=k.y_low x2=k.x y2=k.y_high stroke=colour stroke-width="1.5" />
                                        <circle class="figure-point" cx=k.x cy=k.y r="3.5" fill=colour
                                            data-model=slug data-p=k.p data-n=k.point.n
                                            data-mean=k.point.mean data-lo=lo data-hi=hi>
                                            <title>{format!("{} at p = {}: {:.4} [{lo:.4}, {hi:.4}] over {} seeds", m.model.label(), k.p, k.point.mean, k.point.n)}</title>
                                        </circle>
                                    }
                                }).collect_view()}
                            }
                        }).collect_view()}
                    </svg>
                    <ul class="legend">
                        {plan.models.iter().enumerate().map(|(i, m)| view! {
                            <li>
                                <svg width="28" height="10" aria-hidden="true">
                                    <line x1="0" y1="5" x2="28" y2="5" stroke=series_colour(i) stroke-width="2" />
                                </svg>
                                {m.label()}
                            </li>
                        }).collect_view()}
                    </ul>
                </figure>
            }})}
            {move || pairs.get().filter(|(_, pairs, _)| !pairs.is_empty()).map(|(models, pairs, changes)| {
                let against: Vec<(String, ModelKind)> = models
                    .iter()
                    .filter(|&&m| m != BASELINE)
                    .map(|&m| (format!("{} − {}", m.label(), BASELINE.label()), m))
                    .collect();
                let own: Vec<(String, ModelKind)> = models.iter().map(|&m| (m.label().to_string(), m)).collect();
                view! {
                    {paired_table(
                        "figure-pairs",
                        format!("Test MSE minus {}'s, seed by seed: the mean difference ± its 95% interval (above 0: a higher loss than {})", BASELINE.label(), BASELINE.label()),
                        against,
                        &FIGURE_PS,
                        &pairs,
                    )}
                    {paired_table(
                        "figure-changes",
                        "Each model's test MSE at p minus its own at p = 1, seed by seed: how much it loses as the tasks diverge (the paper: MMoE loses least)".to_string(),
                        own,
                        &FIGURE_PS[1..],
                        &changes,
                    )}
                }
            })}
            <div class="row-buttons">
                <button type="button" data-testid="figure-csv" on:click=download
                    disabled=move || p.figure.with(|f| f.as_ref().is_none_or(|f| f.cells.is_empty()))>
                    "Download the cells (CSV)"
                </button>
            </div>
        </section>
    }
}

/// A table of paired differences: one row per `(label, model)`, one column per p, each cell
/// the mean difference ± its 95% interval, "within noise" where that holds 0.
fn paired_table(
    testid: &'static str,
    caption: String,
    rows: Vec<(String, ModelKind)>,
    ps: &[f64],
    pairs: &[FigurePair],
) -> impl IntoView + use<> {
    let ps = ps.to_vec();
    let cells = |m: ModelKind| {
        ps.iter()
            .map(|&q| {
                let pair = pairs.iter().find(|x| x.model == m && x.p == q);
                let text = pair.map_or("–".to_string(), |x| {
                    let noise = if x.paired.within_noise() {
                        " (within noise)"
                    } else {
                        ""
                    };
                    format!("{}{noise}", x.paired.display(4))
                });
                view! { <td data-model=m.slug() data-p=q>{text}</td> }
            })
            .collect_view()
    };
    let body = rows
        .into_iter()
        .map(|(label, m)| {
            view! {
                <tr>
                    <th scope="row">{label}</th>
                    {cells(m)}
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="metrics" data-testid=testid>
            <caption>{caption}</caption>
            <thead>
                <tr>
                    <th scope="col">"model"</th>
                    {ps.iter().map(|q| view! { <th scope="col">{format!("p = {q}")}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
}
