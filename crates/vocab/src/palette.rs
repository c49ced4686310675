//! The project's one palette: Okabe–Ito colours, distinguishable with the common forms of
//! colour blindness, in the order every chart (the page's and the CLI's SVG figures) assigns
//! them. Lines also differ by dash pattern ([`DASHES`]), so they never rely on colour alone.

/// Okabe–Ito colours, most distinct first.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
];

/// SVG `stroke-dasharray` values paired with [`PALETTE`] when colours run out.
pub const DASHES: [&str; 4] = ["", "6 3", "2 2", "8 3 2 3"];

/// The `i`-th series' colour, cycling through [`PALETTE`].
pub fn series_colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The `i`-th series' dash, cycling through [`DASHES`] beside the colours.
pub fn series_dash(i: usize) -> &'static str {
    DASHES[i % DASHES.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_series_look_different_up_to_the_palettes_length() {
        let styles: Vec<_> = (0..PALETTE.len())
            .map(|i| (series_colour(i), series_dash(i)))
            .collect();
        for (i, a) in styles.iter().enumerate() {
            assert!(styles[i + 1..].iter().all(|b| b != a), "{a:?} repeats");
        }
    }
}
