//! The notices under the run bar: what the page did on its own, or refused, and why. Kept
//! newest last (the page lists them newest first), a few at most, and each said once: doing the same thing again moves its notice to the
//! end rather than stacking copies of it.

/// The most notices shown at once; older ones go.
pub const MAX_NOTICES: usize = 6;

/// Adds `message` as the newest notice: an equal one already shown moves to the end, and
/// beyond [`MAX_NOTICES`] the oldest go.
pub fn push_notice(notices: &mut Vec<String>, message: String) {
    notices.retain(|n| *n != message);
    notices.push(message);
    let excess = notices.len().saturating_sub(MAX_NOTICES);
    notices.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_notice_is_shown_once_newest_last() {
        let mut n = Vec::new();
        let sweep = "Trained 3 seeds side by side: the Runs panel shows their mean ± sd.";
        for _ in 0..4 {
            push_notice(&mut n, sweep.to_string());
        }
        push_notice(&mut n, "Race over.".to_string());
        assert_eq!(n, [sweep, "Race over."]);
        push_notice(&mut n, sweep.to_string());
        assert_eq!(n, ["Race over.", sweep]);
        for k in 0..10 {
            push_notice(&mut n, format!("notice {k}"));
        }
        assert_eq!(n.len(), MAX_NOTICES);
        assert_eq!(n.first().map(String::as_str), Some("notice 4"));
        assert_eq!(n.last().map(String::as_str), Some("notice 9"));
    }
}
