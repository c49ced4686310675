//! The architecture diagram's layout: nodes and edges placed from the experiment and its gates.
//! Plain numbers, so the layout is tested natively; `ui::diagram` only draws it and colours the
//! expert → gate edges with the live gate weights.

use crate::protocol::experiment::{DataKind, Experiment, ModelKind};
use crate::protocol::{ExpertRef, GateInfo, GateLayout, Owner};

pub const NODE_W: f64 = 30.0;
pub const NODE_H: f64 = 22.0;
pub const GAP: f64 = 6.0;
pub const ROW: f64 = 58.0;
pub const MARGIN: f64 = 12.0;
/// Wide nodes (input, embeddings, bottoms, towers) span this many narrow ones.
const WIDE: f64 = 4.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Input,
    Embedding,
    Bottom,
    Expert,
    Gate,
    Tower,
    Output,
    Product,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub label: String,
    /// A longer description, shown on hover.
    pub title: String,
    pub kind: NodeKind,
    /// Centre.
    pub x: f64,
    pub y: f64,
    pub w: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    /// For an expert → gate edge: which gate, and the expert's position in that gate.
    pub weight: Option<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagram {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub width: f64,
    pub height: f64,
}

impl Diagram {
    /// The nodes of one kind, in order.
    pub fn count(&self, kind: NodeKind) -> usize {
        self.nodes.iter().filter(|n| n.kind == kind).count()
    }

    pub fn find(&self, label: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.label == label)
    }
}

/// An edge by node labels, with its gate weight index if it has one.
type Link = (String, String, Option<(usize, usize)>);

/// One row of nodes being laid out, centred later.
struct Row {
    items: Vec<(String, String, NodeKind, f64)>,
}

impl Row {
    fn new() -> Self {
        Self { items: Vec::new() }
    }

    fn push(&mut self, label: impl Into<String>, title: impl Into<String>, kind: NodeKind) {
        let w = match kind {
            NodeKind::Expert | NodeKind::Gate | NodeKind::Product => NODE_W,
            // Wide enough for "never_married" at the diagram's 11 px.
            NodeKind::Output => NODE_W * 3.0,
            _ => NODE_W * WIDE,
        };
        self.items.push((label.into(), title.into(), kind, w));
    }

    fn width(&self) -> f64 {
        self.items.iter().map(|i| i.3).sum::<f64>()
            + GAP * self.items.len().saturating_sub(1) as f64
    }
}

fn units(u: &[usize]) -> String {
    crate::protocol::experiment::format_units(u)
}

/// Lays out `e`'s architecture. Its gates come from the same [`GateLayout`] the core builds the
/// model with, so each expert → gate edge's weight index is the index of that weight in the
/// worker's reports.
pub fn layout(e: &Experiment) -> Diagram {
    let tasks = e.task_names();
    let task_names: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
    let gates = GateLayout::new(e.model, &e.arch, tasks.len());
    let mut rows: Vec<Row> = Vec::new();
    // Edges by label, resolved once the nodes exist.
    let mut links: Vec<Link> = Vec::new();
    let link =
        |links: &mut Vec<_>, a: &str, b: &str| links.push((a.to_string(), b.to_string(), None));

    // The correlated tasks have no categorical field: their numbers go straight in.
    let synthetic = e.data == DataKind::Correlated;
    let root = if synthetic { "features" } else { "embeddings" };
    let mut input = Row::new();
    input.push(
        "input",
        match e.data {
            DataKind::Correlated => {
                "16 numeric inputs x1…x16 ~ N(0, I), no categorical field".to_string()
            }
            DataKind::Funnel => {
                "impressions: the item id (one of 400) and 4 numeric context features".to_string()
            }
            DataKind::Adult => format!(
                "{} categorical fields and 6 numeric ones (min-max scaled){}",
                if e.relationship { 7 } else { 6 },
                if e.relationship {
                    ""
                } else {
                    "; relationship left out"
                }
            ),
        },
        NodeKind::Input,
    );
    rows.push(input);
    let mut emb = Row::new();
    let embedding = |what: &str| {
        if synthetic {
            "the numeric inputs, as they are (nothing to embed)".to_string()
        } else {
            format!(
                "{what}: one {}-wide embedding per categorical field, concatenated with the numeric fields",
                e.arch.embedding_dim
            )
        }
    };
    // ESMM-NS and the naive CVR model (by default) share nothing: each tower has its own
    // embeddings.
    let roots: [&str; 2] = if e.model.predicts_cvr() && !e.arch.shared_embedding {
        ["CTR embeddings", "CVR embeddings"]
    } else {
        [root, root]
    };
    if roots[0] == roots[1] {
        emb.push(root, embedding("shared by every part"), NodeKind::Embedding);
    } else {
        for r in roots {
            emb.push(r, embedding("this tower's own"), NodeKind::Embedding);
        }
    }
    rows.push(emb);
    for r in roots {
        link(&mut links, "input", r);
    }

    // What each task's tower reads.
    let mut tower_inputs: Vec<Vec<String>> = vec![Vec::new(); 2];
    match e.model {
        ModelKind::SingleTask => {
            let mut row = Row::new();
            for (t, name) in tasks.iter().enumerate() {
                let label = format!("bottom {}", t + 1);
                row.push(
                    &label,
                    format!("{name}'s own network [{}]", units(&e.arch.bottom_units)),
                    NodeKind::Bottom,
                );
                link(&mut links, root, &label);
                tower_inputs[t].push(label);
            }
            rows.push(row);
        }
        ModelKind::SharedBottom => {
            let mut row = Row::new();
            row.push(
                "shared bottom",
                format!(
                    "one network for both tasks [{}]",
                    units(&e.arch.bottom_units)
                ),
                NodeKind::Bottom,
            );
            rows.push(row);
            link(&mut links, root, "shared bottom");
            for t in &mut tower_inputs {
                t.push("shared bottom".into());
            }
        }
        ModelKind::Esmm | ModelKind::NaiveCvr | ModelKind::IpwCvr => {}
        ModelKind::Omoe | ModelKind::Mmoe | ModelKind::Cgc | ModelKind::Ple => {
            let levels = gates.levels();
            // What each expert group reads at the current level: the embeddings at level 1.
            let mut feeds: Vec<String> = vec![root.to_string(); 3]; // task 1, task 2, shared
            for level in 0..levels {
                let level_gates: Vec<(usize, &GateInfo)> = gates
                    .gates
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| g.level == level)
                    .collect();
                // Experts in a stable order: task 1's, the shared ones, task 2's.
                let mut experts: Vec<ExpertRef> = Vec::new();
                for (_, g) in &level_gates {
                    for x in &g.experts {
                        if !experts.contains(x) {
                            experts.push(*x);
                        }
                    }
                }
                let rank = |x: &ExpertRef| match x.owner {
                    Owner::Task(0) => 0,
                    Owner::Shared => 1,
                    Owner::Task(_) => 2,
                };
                experts.sort_by_key(rank);
                let suffix = if levels > 1 {
                    format!(" L{}", level + 1)
                } else {
                    String::new()
                };
                let node = |x: &ExpertRef| format!("{}{suffix}", gates.expert_name(x));
                let mut row = Row::new();
                for x in &experts {
                    let label = node(x);
                    let name = gates.expert_name(x);
                    let feed = match rank(x) {
                        0 => &feeds[0],
                        2 => &feeds[1],
                        _ => &feeds[2],
                    };
                    row.push(
                        &label,
                        format!("expert {name}{suffix} [{}]", units(&e.arch.expert_units)),
                        NodeKind::Expert,
                    );
                    link(&mut links, &feed.clone(), &label);
                }
                rows.push(row);
                let mut row = Row::new();
                let mut ordered = level_gates.clone();
                ordered.sort_by_key(|(_, g)| match g.task {
                    Some(0) => 0,
                    None => 1,
                    Some(_) => 2,
                });
                for (gi, g) in &ordered {
                    let label = match g.task {
                        Some(t) => format!("G{}{suffix}", t + 1),
                        None => format!("GS{suffix}"),
                    };
                    let title = format!("gate of {}", gates.gate_label(g, &task_names));
                    row.push(&label, title, NodeKind::Gate);
                    for (ei, x) in g.experts.iter().enumerate() {
                        links.push((node(x), label.clone(), Some((*gi, ei))));
                    }
                    match g.task {
                        Some(t) => feeds[t.min(1)] = label.clone(),
                        None => feeds[2] = label.clone(),
                    }
                    if level + 1 == levels {
                        match g.task {
                            Some(t) => tower_inputs[t.min(1)].push(label.clone()),
                            // OMoE: one gate feeds both towers.
                            None => {
                                for t in &mut tower_inputs {
                                    t.push(label.clone());
                                }
                            }
                        }
                    }
                }
                rows.push(row);
                // Without a shared gate (the last level of PLE), shared experts feed nothing further.
                if !ordered.iter().any(|(_, g)| g.task.is_none()) {
                    feeds[2] = root.into();
                }
            }
            if levels == 0 {
                for t in &mut tower_inputs {
                    t.push(root.into());
                }
            }
        }
    }

    let mut towers = Row::new();
    let mut outputs = Row::new();
    if e.model.predicts_cvr() {
        // The naive and IPW models train their CVR tower on the clicked impressions; ESMM does not.
        let naive = matches!(e.model, ModelKind::NaiveCvr | ModelKind::IpwCvr);
        let [click, convert] = match e.data {
            DataKind::Adult => ["income > 50K", "never married"],
            _ => ["click", "click and conversion"],
        };
        for (tower, from) in [("CTR tower", roots[0]), ("CVR tower", roots[1])] {
            towers.push(
                tower,
                format!("[{}]", units(&e.arch.tower_units)),
                NodeKind::Tower,
            );
            link(&mut links, from, tower);
        }
        outputs.push(
            "pCTR",
            format!("click probability, trained on every impression's CTR label ({click})"),
            NodeKind::Output,
        );
        outputs.push(
            "pCVR",
            if e.model == ModelKind::IpwCvr {
                "conversion given click, trained on the clicked impressions, each weighted by 1 / pCTR"
                    .to_string()
            } else if naive {
                "conversion given click, trained on the clicked impressions only".to_string()
            } else {
                "conversion given click: never trained directly".to_string()
            },
            NodeKind::Output,
        );
        link(&mut links, "CTR tower", "pCTR");
        link(&mut links, "CVR tower", "pCVR");
        rows.push(towers);
        rows.push(outputs);
        let mut product = Row::new();
        product.push(
            "×",
            if naive {
                "pCTCVR = pCTR × pCVR, reported only: nothing trains on it".to_string()
            } else {
                format!("pCTCVR = pCTR × pCVR, trained on the CTCVR label ({convert})")
            },
            NodeKind::Product,
        );
        rows.push(product);
        link(&mut links, "pCTR", "×");
        link(&mut links, "pCVR", "×");
        let mut last = Row::new();
        last.push(
            "pCTCVR",
            if naive {
                "the product, scored against the CTCVR label"
            } else {
                "the product, trained on the CTCVR label"
            },
            NodeKind::Output,
        );
        rows.push(last);
        link(&mut links, "×", "pCTCVR");
    } else {
        for (t, name) in tasks.iter().enumerate() {
            let tower = format!("tower {}", t + 1);
            towers.push(
                &tower,
                format!("{name}'s tower [{}]", units(&e.arch.tower_units)),
                NodeKind::Tower,
            );
            for from in &tower_inputs[t] {
                link(&mut links, from, &tower);
            }
            outputs.push(
                name.to_string(),
                format!("sigmoid output: P({name})"),
                NodeKind::Output,
            );
            link(&mut links, &tower, name);
        }
        rows.push(towers);
        rows.push(outputs);
    }

    let width = rows.iter().map(Row::width).fold(0.0, f64::max) + 2.0 * MARGIN;
    let mut nodes = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let mut x = (width - row.width()) / 2.0;
        let y = MARGIN + NODE_H / 2.0 + r as f64 * ROW;
        for (label, title, kind, w) in &row.items {
            nodes.push(Node {
                label: label.clone(),
                title: title.clone(),
                kind: *kind,
                x: x + w / 2.0,
                y,
                w: *w,
            });
            x += w + GAP;
        }
    }
    let index = |label: &str| nodes.iter().position(|n: &Node| n.label == label);
    let edges = links
        .iter()
        .filter_map(|(a, b, weight)| {
            Some(Edge {
                from: index(a)?,
                to: index(b)?,
                weight: *weight,
            })
        })
        .collect();
    let height = MARGIN * 2.0 + NODE_H + (rows.len().saturating_sub(1)) as f64 * ROW;
    Diagram {
        nodes,
        edges,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(e: &Experiment) -> GateLayout {
        GateLayout::new(e.model, &e.arch, 2)
    }

    #[test]
    fn diagram_counts_follow_the_config() {
        let mmoe = Experiment::tutorial(ModelKind::Mmoe);
        let d = layout(&mmoe);
        assert_eq!((d.count(NodeKind::Expert), d.count(NodeKind::Gate)), (4, 2));
        assert_eq!(d.edges.iter().filter(|e| e.weight.is_some()).count(), 8);
        let mut more = mmoe.clone();
        more.arch.experts = 7;
        let d7 = layout(&more);
        assert_eq!(d7.count(NodeKind::Expert), 7, "redraws when experts change");

        let ple = Experiment::tutorial(ModelKind::Ple);
        let d = layout(&ple);
        assert_eq!(d.count(NodeKind::Expert), 2 * (8 + 8 + 4));
        assert_eq!(d.count(NodeKind::Gate), 5);
        // Level 2's task-1 experts read level 1's task-1 gate (the paper's wiring).
        let g1 = d.find("G1 L1").expect("gate");
        let e2 = d.find("T1.0 L2").expect("expert");
        assert!(d.edges.iter().any(|e| e.from == g1 && e.to == e2));
        let gs = d.find("GS L1").expect("shared gate");
        let s2 = d.find("S0 L2").expect("shared expert");
        assert!(d.edges.iter().any(|e| e.from == gs && e.to == s2));

        let cgc = Experiment::tutorial(ModelKind::Cgc);
        let d = layout(&cgc);
        assert_eq!(
            (d.count(NodeKind::Expert), d.count(NodeKind::Gate)),
            (20, 2)
        );

        let omoe = Experiment::tutorial(ModelKind::Omoe);
        let d = layout(&omoe);
        let g = d.find("GS").expect("the one gate");
        assert_eq!(
            d.edges.iter().filter(|e| e.from == g).count(),
            2,
            "one gate feeds both towers"
        );
    }

    #[test]
    fn diagram_weighted_edges_point_into_their_gate() {
        for model in [
            ModelKind::Mmoe,
            ModelKind::Omoe,
            ModelKind::Cgc,
            ModelKind::Ple,
        ] {
            let e = Experiment::tutorial(model);
            let gs = gates(&e);
            let d = layout(&e);
            for edge in d.edges.iter().filter(|e| e.weight.is_some()) {
                let (g, i) = edge.weight.expect("weighted");
                let expert = gs.gates[g].experts[i];
                assert_eq!(d.nodes[edge.to].kind, NodeKind::Gate);
                assert!(
                    d.nodes[edge.from]
                        .label
                        .starts_with(&gs.expert_name(&expert))
                );
            }
            let weighted = d.edges.iter().filter(|e| e.weight.is_some()).count();
            assert_eq!(
                weighted,
                gs.gates.iter().map(|g| g.experts.len()).sum::<usize>(),
                "{model}"
            );
        }
    }

    #[test]
    fn diagram_nodes_never_overlap_and_fit() {
        for model in ModelKind::ALL {
            let mut e = Experiment::tutorial(model);
            e.arch.specific_experts = 16;
            e.arch.shared_experts = 16;
            e.arch.levels = 4;
            let d = layout(&e);
            for (i, a) in d.nodes.iter().enumerate() {
                assert!(
                    a.x - a.w / 2.0 >= 0.0 && a.x + a.w / 2.0 <= d.width,
                    "{model}: {} inside",
                    a.label
                );
                assert!(a.y + NODE_H / 2.0 <= d.height);
                for b in &d.nodes[i + 1..] {
                    let apart =
                        (a.y - b.y).abs() >= NODE_H || (a.x - b.x).abs() >= (a.w + b.w) / 2.0;
                    assert!(apart, "{model}: {} overlaps {}", a.label, b.label);
                }
            }
        }
        let esmm = Experiment::tutorial(ModelKind::Esmm);
        let d = layout(&esmm);
        assert!(d.find("×").is_some() && d.find("pCVR").is_some());
        // The correlated tasks have nothing to embed: their inputs feed the experts directly.
        let c = Experiment::tutorial(ModelKind::Mmoe).with_data(DataKind::Correlated);
        let d = layout(&c);
        assert!(d.find("embeddings").is_none() && d.find("features").is_some());
        assert_eq!(d.count(NodeKind::Expert), 4);
        let sb = Experiment::tutorial(ModelKind::SharedBottom);
        assert_eq!(layout(&sb).count(NodeKind::Bottom), 1);
        // The naive CVR model's towers read their own embeddings; ESMM's share one.
        let naive = Experiment::tutorial(ModelKind::NaiveCvr).with_data(DataKind::Funnel);
        let d = layout(&naive);
        assert_eq!(d.count(NodeKind::Embedding), 2);
        let cvr = d.find("CVR tower").expect("a CVR tower");
        let from: Vec<&str> = d
            .edges
            .iter()
            .filter(|e| e.to == cvr)
            .map(|e| d.nodes[e.from].label.as_str())
            .collect();
        assert_eq!(from, ["CVR embeddings"]);
        let mut esmm = Experiment::tutorial(ModelKind::Esmm).with_data(DataKind::Funnel);
        assert_eq!(layout(&esmm).count(NodeKind::Embedding), 1);
        esmm.arch.shared_embedding = false;
        assert_eq!(layout(&esmm).count(NodeKind::Embedding), 2);
    }
}
