//! Which expert each gate weight belongs to, as data. The core's forward returns the gate
//! weights in [`GateLayout`] order; the page labels, draws and joins them by it.

use serde::{Deserialize, Serialize};

use crate::kind::ModelKind;
use crate::settings::ModelSettings;

/// Whose an expert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Owner {
    /// Only this task's gate (and PLE's shared gate) reads it.
    Task(usize),
    /// Every gate of its level reads it (all MMoE/OMoE experts, CGC/PLE shared experts).
    Shared,
}

/// One expert: its level (0-based), its owner and its index among its owner's experts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExpertRef {
    pub level: usize,
    pub owner: Owner,
    pub index: usize,
}

/// What one gate mixes: its level, its task (`None` for a shared gate: OMoE's one gate, PLE's
/// gate between levels) and its experts, in the order of its weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateInfo {
    pub level: usize,
    pub task: Option<usize>,
    pub experts: Vec<ExpertRef>,
}

impl GateInfo {
    /// Whether the gate mixes shared experts with task-specific ones (CGC, PLE).
    pub fn is_mixed(&self) -> bool {
        let shared = |x: &ExpertRef| x.owner == Owner::Shared;
        self.experts.iter().any(shared) && !self.experts.iter().all(shared)
    }

    /// The part of `weights` (this gate's, in its expert order) that goes to shared experts, for
    /// a mixed gate ([`GateInfo::is_mixed`]); `None` for the others.
    pub fn shared_share(&self, weights: &[f32]) -> Option<f32> {
        self.is_mixed().then(|| {
            self.experts
                .iter()
                .zip(weights)
                .filter(|(x, _)| x.owner == Owner::Shared)
                .map(|(_, w)| w)
                .sum()
        })
    }
}

/// A model's gates, in the order its forward returns their weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateLayout {
    pub kind: ModelKind,
    pub gates: Vec<GateInfo>,
}

impl GateLayout {
    /// The gates of `kind` with `settings` over `tasks` tasks. PLE's wiring: on each level a gate
    /// per task mixes that task's experts and the shared ones; below the last level a shared
    /// gate mixes every expert of the level into the next level's shared input.
    pub fn new(kind: ModelKind, settings: &ModelSettings, tasks: usize) -> Self {
        let shared = |level, n: usize| {
            (0..n).map(move |index| ExpertRef {
                level,
                owner: Owner::Shared,
                index,
            })
        };
        let own = |level, task, n: usize| {
            (0..n).map(move |index| ExpertRef {
                level,
                owner: Owner::Task(task),
                index,
            })
        };
        let gate = |level, task, experts| GateInfo {
            level,
            task,
            experts,
        };
        let gates = match kind {
            ModelKind::Mmoe => (0..tasks)
                .map(|t| gate(0, Some(t), shared(0, settings.experts).collect()))
                .collect(),
            ModelKind::Omoe => vec![gate(0, None, shared(0, settings.experts).collect())],
            ModelKind::Cgc | ModelKind::Ple => {
                let (s, h) = (settings.specific_experts, settings.shared_experts);
                let levels = kind.levels(settings.levels);
                let mut gates = Vec::new();
                for level in 0..levels {
                    for t in 0..tasks {
                        gates.push(gate(
                            level,
                            Some(t),
                            own(level, t, s).chain(shared(level, h)).collect(),
                        ));
                    }
                    if level + 1 < levels {
                        let experts = (0..tasks)
                            .flat_map(|t| own(level, t, s))
                            .chain(shared(level, h))
                            .collect();
                        gates.push(gate(level, None, experts));
                    }
                }
                gates
            }
            ModelKind::SingleTask
            | ModelKind::SharedBottom
            | ModelKind::Esmm
            | ModelKind::NaiveCvr
            | ModelKind::IpwCvr => Vec::new(),
        };
        Self { kind, gates }
    }

    pub fn len(&self) -> usize {
        self.gates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.gates.is_empty()
    }

    /// Extraction levels (0 without gates).
    pub fn levels(&self) -> usize {
        self.gates.iter().map(|g| g.level + 1).max().unwrap_or(0)
    }

    /// A gate's label: `"task 1 (income) · level 2"`, `"shared gate · level 1"`, or for OMoE
    /// `"one gate for all tasks"`. `task_names` are the tasks' names in task order.
    pub fn gate_label(&self, gate: &GateInfo, task_names: &[String]) -> String {
        let owner = match gate.task {
            Some(t) => format!(
                "task {} ({})",
                t + 1,
                task_names.get(t).map(String::as_str).unwrap_or("?")
            ),
            None if self.kind == ModelKind::Omoe => "one gate for all tasks".to_string(),
            None => "shared gate".to_string(),
        };
        if self.levels() > 1 {
            format!("{owner} · level {}", gate.level + 1)
        } else {
            owner
        }
    }

    /// An expert's short name within its level: `E0` (MMoE, OMoE), `T1.3` (task 1's fourth
    /// expert), `S2` (a shared CGC/PLE expert).
    pub fn expert_name(&self, expert: &ExpertRef) -> String {
        match expert.owner {
            Owner::Task(t) => format!("T{}.{}", t + 1, expert.index),
            Owner::Shared if matches!(self.kind, ModelKind::Mmoe | ModelKind::Omoe) => {
                format!("E{}", expert.index)
            }
            Owner::Shared => format!("S{}", expert.index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(kind: ModelKind, levels: usize) -> GateLayout {
        let settings = ModelSettings {
            levels,
            specific_experts: 2,
            shared_experts: 3,
            experts: 4,
            ..ModelSettings::tutorial(kind)
        };
        GateLayout::new(kind, &settings, 2)
    }

    #[test]
    fn gates_follow_the_papers_wiring() {
        let mmoe = layout(ModelKind::Mmoe, 1);
        assert_eq!(mmoe.len(), 2);
        assert!(mmoe.gates.iter().all(|g| g.experts.len() == 4));
        assert_eq!(mmoe.gates[1].task, Some(1));
        assert_eq!(layout(ModelKind::Omoe, 1).len(), 1);
        assert!(layout(ModelKind::SharedBottom, 1).is_empty());
        // CGC is one level whatever is asked.
        let cgc = layout(ModelKind::Cgc, 3);
        assert_eq!((cgc.len(), cgc.levels()), (2, 1));
        // PLE, 3 levels: two task gates per level and a shared gate below the last one.
        let ple = layout(ModelKind::Ple, 3);
        assert_eq!((ple.len(), ple.levels()), (8, 3));
        let task1_l2 = &ple.gates[4];
        assert_eq!((task1_l2.level, task1_l2.task), (1, Some(1)));
        // Task 2's gate sees its own experts, then the shared ones, all of its level.
        let expected: Vec<ExpertRef> = [(Owner::Task(1), 0), (Owner::Task(1), 1)]
            .into_iter()
            .chain((0..3).map(|i| (Owner::Shared, i)))
            .map(|(owner, index)| ExpertRef {
                level: 1,
                owner,
                index,
            })
            .collect();
        assert_eq!(task1_l2.experts, expected);
        // The shared gate sees every expert of its level: 2 + 2 specific and 3 shared.
        let shared = &ple.gates[2];
        assert_eq!((shared.task, shared.experts.len()), (None, 7));
        assert!(!ple.gates.iter().any(|g| g.level == 2 && g.task.is_none()));
    }

    #[test]
    fn gates_are_labelled_and_experts_named() {
        let names = ["income".to_string(), "never_married".to_string()];
        let ple = layout(ModelKind::Ple, 2);
        let labels: Vec<String> = ple
            .gates
            .iter()
            .map(|g| ple.gate_label(g, &names))
            .collect();
        assert_eq!(
            labels,
            [
                "task 1 (income) · level 1",
                "task 2 (never_married) · level 1",
                "shared gate · level 1",
                "task 1 (income) · level 2",
                "task 2 (never_married) · level 2",
            ]
        );
        let names_of = |l: &GateLayout, g: usize| -> Vec<String> {
            l.gates[g]
                .experts
                .iter()
                .map(|e| l.expert_name(e))
                .collect()
        };
        assert_eq!(names_of(&ple, 1), ["T2.0", "T2.1", "S0", "S1", "S2"]);
        let omoe = layout(ModelKind::Omoe, 1);
        assert_eq!(
            omoe.gate_label(&omoe.gates[0], &names),
            "one gate for all tasks"
        );
        assert_eq!(names_of(&omoe, 0), ["E0", "E1", "E2", "E3"]);
        let mmoe = layout(ModelKind::Mmoe, 1);
        assert_eq!(
            mmoe.gate_label(&mmoe.gates[1], &names),
            "task 2 (never_married)"
        );
    }

    #[test]
    fn gates_share_on_shared_experts() {
        let cgc = layout(ModelKind::Cgc, 1);
        // Task 1's gate: T1.0, T1.1, then S0, S1, S2.
        let share = cgc.gates[0]
            .shared_share(&[0.1, 0.2, 0.3, 0.25, 0.15])
            .unwrap();
        assert!((share - 0.7).abs() < 1e-6, "{share}");
        // MMoE's experts are all shared: there is nothing to compare.
        let mmoe = layout(ModelKind::Mmoe, 1);
        assert_eq!(mmoe.gates[0].shared_share(&[0.25; 4]), None);
    }
}
