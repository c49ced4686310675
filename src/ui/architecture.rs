//! The architecture diagram: [`crate::page::diagram::layout`] places it; this draws it, with each
//! expert → gate edge as thick and as opaque as the live gate weight.

use leptos::prelude::*;

use super::Playground;
use crate::page::dashboard::Parts;
use crate::page::diagram::{NODE_H, NodeKind, layout};
use crate::page::plot::GATE_EDGE;
use wasm_bindgen::JsCast;

fn fill(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Input | NodeKind::Embedding => "#e8eef5",
        NodeKind::Bottom => "#d9e8f5",
        NodeKind::Expert => "#cde5d9",
        NodeKind::Gate => "#f6dfc7",
        NodeKind::Tower => "#e6dcef",
        NodeKind::Output | NodeKind::Product => "#fff3bf",
    }
}

#[component]
pub fn ArchitectureDiagram() -> impl IntoView {
    let p = expect_context::<Playground>();
    // The layout changes only with the architecture, not with every training report.
    let diagram = Memo::new(move |_| {
        let e = p.experiment.get();
        layout(&e)
    });
    // What the built model reads, as the worker reports it, with each field that alone gives a
    // label away marked.
    let inputs = Memo::new(move |_| {
        p.dashboard.with(Parts::MODEL, |d| {
            d.info.as_ref().map(|i| {
                let fields: Vec<(String, bool, Option<String>)> = i
                    .input_fields
                    .iter()
                    .enumerate()
                    .map(|(n, f)| {
                        let proxy = i.proxies.iter().find(|x| x.field == *f).map(|x| {
                            format!(
                                "a proxy for {}: alone it scores AUC {:.2} on validation",
                                x.task, x.auc
                            )
                        });
                        (f.clone(), n < i.categorical_fields, proxy)
                    })
                    .collect();
                let numeric = i.input_fields.len() - i.categorical_fields.min(i.input_fields.len());
                let leaks: String = i
                    .proxies
                    .iter()
                    .map(|x| {
                        format!(
                            " ⚠ {} gives {} away (AUC {:.2} alone).",
                            x.field, x.task, x.auc
                        )
                    })
                    .collect();
                let heading = format!(
                    "Inputs every part reads ({}: {} categorical, {numeric} numeric).{leaks}",
                    i.input_fields.len(),
                    i.categorical_fields
                );
                (heading, fields)
            })
        })
    });
    // The weights change with every report; only the edges' widths and the titles follow them.
    let weights = Memo::new(move |_| {
        let at = p.replay_at.get();
        p.dashboard.with(Parts::GATES, |d| d.gates_at(at))
    });
    let weight =
        move |g: usize, i: usize| weights.with(|w| w.get(g).and_then(|r| r.get(i)).copied());
    // The diagram is one Tab stop: the node with `focused` takes it, and the arrow keys move it
    // (a roving tab index). Focusing or tapping a node shows its numbers under the diagram.
    let focused = RwSignal::new(0usize);
    let inspected = RwSignal::new(None::<usize>);
    let describe = move |n: usize| -> String {
        diagram.with(|d| {
            let Some(node) = d.nodes.get(n) else {
                return String::new();
            };
            let numbers: Vec<String> = d
                .edges
                .iter()
                .filter(|e| e.from == n || e.to == n)
                .filter_map(|e| {
                    let (g, i) = e.weight?;
                    let other = if e.from == n { e.to } else { e.from };
                    Some(format!("{}: {:.3}", d.nodes[other].label, weight(g, i)?))
                })
                .collect();
            let head = format!("{}: {}", node.label, node.title);
            if numbers.is_empty() {
                head
            } else {
                format!("{head}. Gate weights: {}", numbers.join(", "))
            }
        })
    };
    let move_focus = move |n: usize| {
        focused.set(n);
        inspected.set(Some(n));
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&format!("diagram-node-{n}")))
            && let Ok(f) = js_sys::Reflect::get(&el, &"focus".into())
            && let Ok(f) = f.dyn_into::<js_sys::Function>()
        {
            let _ = f.call0(&el);
        }
    };
    view! {
        <section class="panel" aria-labelledby="diagram-title">
            <h2 id="diagram-title">"Architecture"</h2>
            <p class="hint diagram-help">
                "Data flows down; an edge into a gate is as thick as its weight, live. Tap a node for its numbers."
            </p>
            <div class="input-fields" data-testid="input-fields">
                // Folded unless a field gives a label away: then it is the point.
                {move || inputs.get().map(|(heading, fields)| {
                    let leaks = fields.iter().any(|f| f.2.is_some());
                    view! {
                    <details class="inputs" open=leaks>
                    <summary class="hint">{heading}</summary>
                    // It scrolls sideways on the stage: a Tab stop, so a keyboard scrolls it too.
                    <ul class="field-list" tabindex="0" aria-label="Input fields">
                        {fields.into_iter().map(|(name, categorical, proxy)| {
                            let kind = if categorical { "categorical" } else { "numeric" };
                            let class = match (&proxy, categorical) {
                                (Some(_), _) => "field proxy",
                                (None, true) => "field categorical",
                                (None, false) => "field numeric",
                            };
                            let title = proxy.clone().unwrap_or_else(|| format!("{kind} field"));
                            let field = name.clone();
                            view! {
                                <li class=class title=title data-field=field>
                                    {name}
                                    {proxy.map(|text| view! { <span class="proxy-note">{format!(" ⚠ {text}")}</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    </details>
                    }
                })}
            </div>
            <div class="diagram" data-testid="architecture">
                {move || {
                    let d = diagram.get();
                    let edges = d
                        .edges
                        .iter()
                        .map(|edge| {
                            let (a, b) = (&d.nodes[edge.from], &d.nodes[edge.to]);
                            let name = format!("{} → {}", a.label, b.label);
                            let (x1, y1, x2, y2) = (a.x, a.y + NODE_H / 2.0, b.x, b.y - NODE_H / 2.0);
                            match edge.weight {
                                Some((g, i)) => {
                                    // Widths in quarter pixels and opacities in twentieths: most
                                    // reports then leave most edges as they were, and the browser
                                    // restyles only the ones that moved (a PLE has hundreds).
                                    let look = Memo::new(move |_| {
                                        let v = weight(g, i).unwrap_or(0.0) as f64;
                                        let width = ((0.5 + 6.0 * v) * 4.0).round() / 4.0;
                                        let opacity = ((0.15 + 0.85 * v).min(1.0) * 20.0).round() / 20.0;
                                        (width, opacity)
                                    });
                                    let title = Memo::new(move |_| match weight(g, i) {
                                        Some(v) => format!("{name}: {v:.3}"),
                                        None => name.clone(),
                                    });
                                    view! {
                                        <line x1=x1 y1=y1 x2=x2 y2=y2 class="weighted" stroke=GATE_EDGE
                                            stroke-width=move || look.get().0
                                            stroke-opacity=move || look.get().1>
                                            <title>{title}</title>
                                        </line>
                                    }
                                    .into_any()
                                }
                                None => view! {
                                    <line x1=x1 y1=y1 x2=x2 y2=y2 stroke="#8c959f" stroke-width="1" stroke-opacity="0.6">
                                        <title>{name}</title>
                                    </line>
                                }
                                .into_any(),
                            }
                        })
                        .collect_view();
                    let nodes = d
                        .nodes
                        .iter()
                        .enumerate()
                        .map(|(n, node)| {
                            // An expert lists the weight every gate gives it; a gate lists its own.
                            let head = format!("{}: {}", node.label, node.title);
                            let count = d.nodes.len();
                            let title = move || describe(n);
                            let small = node.w < 40.0;
                            let text = if small { node.label.split(' ').next().unwrap_or_default().to_string() } else { node.label.clone() };
                            view! {
                                <g class="node" id=format!("diagram-node-{n}") role="img" aria-label=head
                                    tabindex=move || if focused.get() == n { "0" } else { "-1" }
                                    on:focus=move |_| { focused.set(n); inspected.set(Some(n)); }
                                    on:click=move |_| move_focus(n)
                                    on:keydown=move |ev| {
                                        let next = match ev.key().as_str() {
                                            "ArrowRight" | "ArrowDown" => Some((n + 1) % count),
                                            "ArrowLeft" | "ArrowUp" => Some((n + count - 1) % count),
                                            "Home" => Some(0),
                                            "End" => Some(count - 1),
                                            _ => None,
                                        };
                                        if let Some(next) = next {
                                            ev.prevent_default();
                                            move_focus(next);
                                        }
                                    }>
                                    <title>{title}</title>
                                    <rect x=node.x - node.w / 2.0 y=node.y - NODE_H / 2.0 width=node.w height=NODE_H rx="4"
                                        fill=fill(node.kind) stroke="#57606a" stroke-width="0.8" />
                                    <text x=node.x y=node.y + 4.0 text-anchor="middle" class:small=small>{text}</text>
                                </g>
                            }
                        })
                        .collect_view();
                    view! {
                        <svg viewBox=format!("0 0 {:.0} {:.0}", d.width, d.height) width=format!("{:.0}", d.width)
                            role="group" aria-label="Architecture diagram: the arrow keys move between its nodes">
                            <g class="edges">{edges}</g>
                            <g class="nodes">{nodes}</g>
                        </svg>
                    }
                }}
            </div>
            <p class="hint node-inspector" data-testid="node-inspector" aria-live="polite">
                {move || inspected.get().map(describe).unwrap_or_default()}
            </p>
        </section>
    }
}
