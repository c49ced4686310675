//! The architecture diagram: [`crate::diagram::layout`] places it; this draws it, with each
//! expert → gate edge as thick and as opaque as the live gate weight.

use leptos::prelude::*;

use super::Playground;
use crate::diagram::{NODE_H, NodeKind, layout};

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
        p.dashboard.with(|d| {
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
                let heading = format!(
                    "Inputs every part reads ({}: {} categorical, {numeric} numeric)",
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
        p.dashboard.with(|d| d.gates_at(at))
    });
    let weight =
        move |g: usize, i: usize| weights.with(|w| w.get(g).and_then(|r| r.get(i)).copied());
    view! {
        <section class="panel" aria-labelledby="diagram-title">
            <h2 id="diagram-title">"Architecture"</h2>
            <p class="hint">
                "Data flows down. Edges into a gate are as thick as the weight it gives that expert, live. Hover a node for its numbers."
            </p>
            <div class="input-fields" data-testid="input-fields">
                {move || inputs.get().map(|(heading, fields)| view! {
                    <p class="hint">{heading}</p>
                    <ul class="field-list">
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
                                        <line x1=x1 y1=y1 x2=x2 y2=y2 class="weighted" stroke="#d55e00"
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
                            let links: Vec<(String, usize, usize)> = d
                                .edges
                                .iter()
                                .filter(|e| e.from == n || e.to == n)
                                .filter_map(|e| {
                                    let (g, i) = e.weight?;
                                    let other = if e.from == n { e.to } else { e.from };
                                    Some((d.nodes[other].label.clone(), g, i))
                                })
                                .collect();
                            let head = format!("{}: {}", node.label, node.title);
                            let title = {
                                let head = head.clone();
                                move || {
                                    let numbers: Vec<String> = links
                                        .iter()
                                        .filter_map(|(other, g, i)| Some(format!("{other}: {:.3}", weight(*g, *i)?)))
                                        .collect();
                                    if numbers.is_empty() {
                                        head.clone()
                                    } else {
                                        format!("{head}\n{}", numbers.join("\n"))
                                    }
                                }
                            };
                            let small = node.w < 40.0;
                            let text = if small { node.label.split(' ').next().unwrap_or_default().to_string() } else { node.label.clone() };
                            view! {
                                <g class="node" tabindex="0" role="img" aria-label=head>
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
                            role="group" aria-label="Architecture diagram">
                            <g class="edges">{edges}</g>
                            <g class="nodes">{nodes}</g>
                        </svg>
                    }
                }}
            </div>
        </section>
    }
}
