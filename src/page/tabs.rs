//! The views below the stage, one at a time: the page keeps the data, the model and the curves
//! on one screen and puts everything else one click away ([`Tab`]), so it does not grow as
//! runs accumulate. Which tab holds which view is said here once: a lesson step that watches a
//! view, and its "Show me", open the tab that holds it.

/// A tab under the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    Lessons,
    Scores,
    Gates,
    Conflict,
    Race,
    Figure,
    Runs,
    Code,
}

impl Tab {
    pub const ALL: [Tab; 8] = [
        Tab::Lessons,
        Tab::Scores,
        Tab::Gates,
        Tab::Conflict,
        Tab::Race,
        Tab::Figure,
        Tab::Runs,
        Tab::Code,
    ];

    /// The tab's name on its button.
    pub const fn label(self) -> &'static str {
        match self {
            Tab::Lessons => "Lessons",
            Tab::Scores => "Scores",
            Tab::Gates => "Gates over time",
            Tab::Conflict => "Gradient conflict",
            Tab::Race => "Race",
            Tab::Figure => "Paper figure",
            Tab::Runs => "Runs",
            Tab::Code => "Code",
        }
    }

    /// The part of its element ids and test ids (`tab-{key}`, `tabpanel-{key}`).
    pub const fn key(self) -> &'static str {
        match self {
            Tab::Lessons => "lessons",
            Tab::Scores => "scores",
            Tab::Gates => "gates",
            Tab::Conflict => "conflict",
            Tab::Race => "race",
            Tab::Figure => "figure",
            Tab::Runs => "runs",
            Tab::Code => "code",
        }
    }

    /// The tab that holds the view with this `data-testid`, or `None` for the views always in
    /// sight (the stage: the data, the diagram with its inputs and the conflict meter, the
    /// curves).
    pub fn holding(testid: &str) -> Option<Tab> {
        Some(match testid {
            "lessons" => Tab::Lessons,
            "metrics-table" => Tab::Scores,
            "gate-heatmap" | "gate-history" => Tab::Gates,
            "grad-conflict" => Tab::Conflict,
            "race" => Tab::Race,
            "paper-figure" => Tab::Figure,
            "runs" | "seed-spread" | "runs-table" => Tab::Runs,
            "code" => Tab::Code,
            _ => return None,
        })
    }

    /// The tab after (`+1`) or before (`-1`) this one, wrapping: the arrow keys on the tab bar.
    pub fn beside(self, by: isize) -> Tab {
        let n = Tab::ALL.len() as isize;
        let at = Tab::ALL.iter().position(|&t| t == self).unwrap_or(0) as isize;
        Tab::ALL[(at + by).rem_euclid(n) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::lessons::lessons;

    /// The views on the stage, which need no tab.
    const STAGE: [&str; 6] = [
        "data-view",
        "architecture",
        "input-fields",
        "conflict-meter",
        "loss-chart",
        "metric-chart",
    ];

    #[test]
    fn every_view_a_lesson_watches_is_on_the_stage_or_in_a_tab() {
        for lesson in lessons() {
            for step in &lesson.steps {
                if let Some(w) = step.watch {
                    assert!(
                        STAGE.contains(&w) || Tab::holding(w).is_some(),
                        "{}: {w} is in no tab",
                        lesson.title
                    );
                }
            }
        }
        assert_eq!(Tab::holding("seed-spread"), Some(Tab::Runs));
        assert_eq!(Tab::holding("gate-heatmap"), Some(Tab::Gates));
        assert_eq!(Tab::holding("data-view"), None);
    }

    #[test]
    fn arrows_walk_the_tabs_and_wrap() {
        assert_eq!(Tab::Lessons.beside(1), Tab::Scores);
        assert_eq!(Tab::Lessons.beside(-1), Tab::Code);
        assert_eq!(Tab::Code.beside(1), Tab::Lessons);
        let keys: std::collections::HashSet<_> = Tab::ALL.iter().map(|t| t.key()).collect();
        assert_eq!(keys.len(), Tab::ALL.len(), "keys are unique ids");
    }
}
