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
    let weights = move || p.dashboard.with(|d| d.gates.clone());
    view! {
        <section class="panel" aria-labelledby="diagram-title">
            <h2 id="diagram-title">"Architecture"</h2>
            <p class="hint">
                "Data flows down. Edges into a gate are as thick as the weight it gives that expert, live. Hover a node for its numbers."
            </p>
            <div class="diagram" data-testid="architecture">
                {move || {
                    let d = diagram.get();
                    let w = weights();
                    let weight = |g: usize, i: usize| w.get(g).and_then(|r| r.get(i)).copied();
                    let edges = d
                        .edges
                        .iter()
                        .map(|edge| {
                            let (a, b) = (&d.nodes[edge.from], &d.nodes[edge.to]);
                            let (stroke, width, opacity, title) = match edge.weight.and_then(|(g, i)| weight(g, i).map(|v| (v, g, i))) {
                                Some((v, _, _)) => (
                                    "#d55e00",
                                    0.5 + 6.0 * v as f64,
                                    (0.15 + 0.85 * v as f64).min(1.0),
                                    format!("{} → {}: {v:.3}", a.label, b.label),
                                ),
                                None => ("#8c959f", 1.0, 0.6, format!("{} → {}", a.label, b.label)),
                            };
                            view! {
                                <line x1=a.x y1=a.y + NODE_H / 2.0 x2=b.x y2=b.y - NODE_H / 2.0
                                    stroke=stroke stroke-width=width stroke-opacity=opacity
                                    class:weighted=edge.weight.is_some()>
                                    <title>{title}</title>
                                </line>
                            }
                        })
                        .collect_view();
                    let nodes = d
                        .nodes
                        .iter()
                        .enumerate()
                        .map(|(n, node)| {
                            // An expert lists the weight every gate gives it; a gate lists its own.
                            let numbers: Vec<String> = d
                                .edges
                                .iter()
                                .filter(|e| (e.from == n || e.to == n) && e.weight.is_some())
                                .filter_map(|e| {
                                    let (g, i) = e.weight?;
                                    let v = weight(g, i)?;
                                    let other = if e.from == n { &d.nodes[e.to].label } else { &d.nodes[e.from].label };
                                    Some(format!("{other}: {v:.3}"))
                                })
                                .collect();
                            let title = if numbers.is_empty() {
                                format!("{}: {}", node.label, node.title)
                            } else {
                                format!("{}: {}\n{}", node.label, node.title, numbers.join("\n"))
                            };
                            let small = node.w < 40.0;
                            let text = if small { node.label.split(' ').next().unwrap_or_default().to_string() } else { node.label.clone() };
                            let label = title.clone();
                            view! {
                                <g class="node" tabindex="0" role="img" aria-label=label>
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
