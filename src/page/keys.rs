//! The page's keyboard shortcuts, as plain data: which key does what, and when a key press is
//! the learner typing rather than a shortcut. The page lists [`SHORTCUTS`] and asks
//! [`shortcut`] about every key press.

/// What a shortcut does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    PlayPause,
    Step,
    FinishAndTest,
    Reset,
}

/// Every shortcut: the key as the page names it, the `KeyboardEvent.key` values, and what it
/// does.
pub const SHORTCUTS: [(&str, &[&str], Shortcut, &str); 4] = [
    (
        "Space",
        &[" ", "Spacebar"],
        Shortcut::PlayPause,
        "play / pause",
    ),
    ("S", &["s", "S"], Shortcut::Step, "one step"),
    ("F", &["f", "F"], Shortcut::FinishAndTest, "finish and test"),
    ("R", &["r", "R"], Shortcut::Reset, "reset"),
];

/// The shortcut a key press means, if any. None while the focus is in something that takes
/// keys itself (a field, a list, a button or a link, where Space is its own click), or with a
/// modifier held (the browser's own shortcuts).
pub fn shortcut(key: &str, target_tag: &str, editable: bool, modifiers: bool) -> Option<Shortcut> {
    let takes_keys = editable
        || matches!(
            target_tag.to_ascii_lowercase().as_str(),
            "input" | "select" | "textarea" | "button" | "a" | "summary" | "option"
        );
    if takes_keys || modifiers {
        return None;
    }
    SHORTCUTS
        .iter()
        .find(|(_, keys, _, _)| keys.contains(&key))
        .map(|(_, _, s, _)| *s)
}

/// The legend the page shows: "Space play / pause · S one step · …".
pub fn legend() -> String {
    SHORTCUTS
        .iter()
        .map(|(name, _, _, what)| format!("{name} {what}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_fire_outside_fields_only() {
        assert_eq!(
            shortcut(" ", "body", false, false),
            Some(Shortcut::PlayPause)
        );
        assert_eq!(shortcut("s", "DIV", false, false), Some(Shortcut::Step));
        assert_eq!(shortcut("R", "svg", false, false), Some(Shortcut::Reset));
        assert_eq!(
            shortcut("f", "main", false, false),
            Some(Shortcut::FinishAndTest)
        );
        // Typing a value, choosing from a list, pressing a focused button: not shortcuts.
        for tag in ["INPUT", "select", "textarea", "button", "a"] {
            assert_eq!(shortcut("s", tag, false, false), None, "{tag}");
        }
        assert_eq!(shortcut("s", "div", true, false), None, "contenteditable");
        assert_eq!(
            shortcut("r", "body", false, true),
            None,
            "Ctrl+R reloads, as ever"
        );
        assert_eq!(shortcut("x", "body", false, false), None);
        assert_eq!(
            legend(),
            "Space play / pause · S one step · F finish and test · R reset"
        );
    }
}
