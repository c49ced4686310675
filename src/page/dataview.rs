//! The data view: what the two tasks are, drawn small beside the model and its curves. The
//! worker sends a [`DataPicture`] of the training split with the built model; this places it in
//! a fixed SVG box and words it, so the component only draws [`Mark`]s.
//!
//! - The correlated tasks: each dot a training row, task 1 against task 2. The cloud tightens
//!   onto the diagonal as p rises.
//! - Adult: a mosaic of the two labels, each column as wide as its share of income, split by
//!   never-married within it, so how far the two splits differ is how much the tasks share.
//! - The funnel: impressions → clicks → conversions, on a log scale, beside the conversions the
//!   logs never show (every impression's, had it been clicked).

use crate::page::plot::LinearScale;
use crate::protocol::DataPicture;

/// The SVG box every picture is laid out in.
pub const VIEW_W: f64 = 260.0;
pub const VIEW_H: f64 = 170.0;
/// Room for the axis labels.
const MARGIN_L: f64 = 30.0;
const MARGIN_B: f64 = 22.0;
const MARGIN_T: f64 = 6.0;
const MARGIN_R: f64 = 8.0;

/// One thing to draw, in the box's coordinates (y down).
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    Dot {
        x: f64,
        y: f64,
    },
    /// `tone` 0 is the background stage, 1 the highlighted one, 2 the hidden one (outlined).
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        tone: u8,
    },
    Text {
        x: f64,
        y: f64,
        text: String,
        anchor: Anchor,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    pub fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// A picture ready to draw: its marks, one sentence under it, and a label for screen readers.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    pub marks: Vec<Mark>,
    pub caption: String,
    pub label: String,
}

fn text(x: f64, y: f64, text: impl Into<String>, anchor: Anchor) -> Mark {
    Mark::Text {
        x,
        y,
        text: text.into(),
        anchor,
    }
}

/// The font size of the picture's text in the box's units (the stylesheet's `.stage-data text`).
const FONT: f64 = 9.0;

/// About how wide `text` is drawn, in the box's units: a generous average glyph width, so a
/// label judged to fit does fit.
fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * FONT * 0.6
}

/// The first of `choices` that fits in `width`, if any: a long task name gives way to a short
/// label rather than running into its neighbour or off the box.
fn fitting(width: f64, choices: impl IntoIterator<Item = String>) -> Option<String> {
    choices.into_iter().find(|t| text_width(t) <= width)
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Lays out a picture for tasks named `tasks` (task 1, task 2); `correlation` is the training
/// labels' Pearson correlation when the worker measured it.
pub fn sketch(picture: &DataPicture, tasks: &[String], correlation: Option<f64>) -> Sketch {
    let name = |t: usize| {
        tasks
            .get(t)
            .cloned()
            .unwrap_or_else(|| format!("task {}", t + 1))
    };
    match picture {
        DataPicture::Scatter { points } => scatter(points, &name(0), &name(1), correlation),
        DataPicture::Joint { counts } => mosaic(counts, &name(0), &name(1)),
        DataPicture::Funnel {
            impressions,
            clicks,
            conversions,
            would_convert,
        } => funnel(*impressions, *clicks, *conversions, *would_convert),
    }
}

fn scatter(points: &[[f32; 2]], t1: &str, t2: &str, correlation: Option<f64>) -> Sketch {
    // One range for both axes, so the diagonal is the line y1 = y2 and a tight cloud looks tight.
    let lo = points
        .iter()
        .flatten()
        .fold(f64::INFINITY, |m, &v| m.min(f64::from(v)));
    let hi = points
        .iter()
        .flatten()
        .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (-1.0, 1.0)
    };
    // A square plot area, left-aligned, so x and y have the same scale.
    let side = (VIEW_H - MARGIN_T - MARGIN_B).min(VIEW_W - MARGIN_L - MARGIN_R);
    let x = LinearScale::new((lo, hi), (MARGIN_L, MARGIN_L + side));
    let y = LinearScale::new((lo, hi), (MARGIN_T + side, MARGIN_T));
    let mut marks = vec![
        Mark::Line {
            x1: x.map(lo),
            y1: y.map(lo),
            x2: x.map(hi),
            y2: y.map(hi),
        },
        text(MARGIN_L + side / 2.0, VIEW_H - 4.0, t1, Anchor::Middle),
        text(MARGIN_L - 6.0, MARGIN_T + side / 2.0, t2, Anchor::End),
    ];
    marks.extend(
        points
            .iter()
            .filter(|p| p.iter().all(|v| v.is_finite()))
            .map(|&[a, b]| Mark::Dot {
                x: x.map(f64::from(a)),
                y: y.map(f64::from(b)),
            }),
    );
    let r = correlation.map_or(String::new(), |r| format!(" Their correlation: {r:.2}."));
    Sketch {
        marks,
        caption: format!(
            "Each dot is a training row, {t1} across and {t2} up: the tighter on the diagonal, \
             the more the tasks are one.{r}"
        ),
        label: format!(
            "Scatter of {} training rows, {t1} against {t2}.{r}",
            points.len()
        ),
    }
}

fn mosaic(counts: &[[u64; 2]; 2], t1: &str, t2: &str) -> Sketch {
    let total: u64 = counts.iter().flatten().sum();
    let col = [counts[0][0] + counts[0][1], counts[1][0] + counts[1][1]];
    let (left, top) = (MARGIN_L, MARGIN_T + 12.0);
    let (w, h) = (VIEW_W - MARGIN_L - MARGIN_R, VIEW_H - top - MARGIN_B);
    let gap = 3.0;
    let mut marks = Vec::new();
    let mut x = left;
    for a in 0..2 {
        let cw = (w - gap) * col[a] as f64 / total.max(1) as f64;
        // Within the column: task 2 = 1 on top (highlighted), task 2 = 0 below.
        let share_yes = col[a].max(1);
        let h_yes = (h - gap) * counts[a][1] as f64 / share_yes as f64;
        marks.push(Mark::Rect {
            x,
            y: top,
            w: cw,
            h: h_yes,
            tone: 1,
        });
        marks.push(Mark::Rect {
            x,
            y: top + h_yes + gap,
            w: cw,
            h: (h - gap) - h_yes,
            tone: 0,
        });
        // Each column's labels stay within its width (the caption says the rest).
        let under = fitting(cw, [format!("{t1} = {a}"), format!("= {a}")]);
        if let Some(label) = under {
            marks.push(text(x + cw / 2.0, VIEW_H - 6.0, label, Anchor::Middle));
        }
        let share = percent(counts[a][1], col[a]);
        let over = fitting(
            cw,
            [format!("{share:.0}% {t2} = 1"), format!("{share:.0}%")],
        );
        if let Some(label) = over {
            marks.push(text(x + cw / 2.0, top - 3.0, label, Anchor::Middle));
        }
        x += cw + gap;
    }
    let (p1, p0) = (percent(counts[1][1], col[1]), percent(counts[0][1], col[0]));
    // Ten points apart or more: the one label tells something about the other.
    let verdict = if (p1 - p0).abs() >= 10.0 {
        // What the labels say, no more: whether a shared model gains is for the run to show
        // (on Adult the tasks' gradients can still pull the shared layers apart).
        "The labels go together: one says something about the other."
    } else {
        "The labels barely go together."
    };
    Sketch {
        marks,
        caption: format!(
            "Training rows by their two labels: {:.0}% have {t1} = 1. Of those, {p1:.0}% have \
             {t2} = 1; of the rest, {p0:.0}%. {verdict}",
            percent(col[1], total)
        ),
        label: format!(
            "Mosaic of {total} training rows by {t1} and {t2}: {t2} = 1 in {p1:.0}% of rows with \
             {t1} = 1 and {p0:.0}% of the others."
        ),
    }
}

fn funnel(impressions: u64, clicks: u64, conversions: u64, would_convert: u64) -> Sketch {
    let stages = [
        ("impressions", impressions, 0u8),
        ("clicks", clicks, 0),
        ("conversions", conversions, 1),
        ("if clicked", would_convert, 2),
    ];
    let log = |v: u64| (v.max(1) as f64).log10();
    let top = log(impressions).ceil().max(1.0);
    let y = LinearScale::new((0.0, top), (VIEW_H - MARGIN_B, MARGIN_T + 12.0));
    let slot = (VIEW_W - MARGIN_L - MARGIN_R) / stages.len() as f64;
    let mut marks = Vec::new();
    for (i, (name, count, tone)) in stages.into_iter().enumerate() {
        let x = MARGIN_L + slot * i as f64 + 4.0;
        let y0 = y.map(log(count));
        marks.push(Mark::Rect {
            x,
            y: y0,
            w: slot - 8.0,
            h: (VIEW_H - MARGIN_B) - y0,
            tone,
        });
        marks.push(text(
            x + (slot - 8.0) / 2.0,
            y0 - 3.0,
            count.to_string(),
            Anchor::Middle,
        ));
        marks.push(text(
            x + (slot - 8.0) / 2.0,
            VIEW_H - 6.0,
            name,
            Anchor::Middle,
        ));
    }
    marks.push(text(MARGIN_L - 4.0, MARGIN_T + 20.0, "log", Anchor::End));
    let (seen, hidden) = (
        percent(conversions, clicks),
        percent(would_convert, impressions),
    );
    Sketch {
        marks,
        caption: format!(
            "Training impressions, clicks and conversions (log scale). The logs show conversions \
             only after a click: {seen:.1}% of clicks convert. The last bar (if clicked) is \
             what no log holds: {hidden:.1}% of all impressions would convert if clicked."
        ),
        label: format!(
            "Funnel of {impressions} impressions: {clicks} clicks, {conversions} conversions; \
             {would_convert} impressions would convert if clicked."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(m: &Mark) -> bool {
        let ok = |x: f64, y: f64| (0.0..=VIEW_W).contains(&x) && (0.0..=VIEW_H).contains(&y);
        match *m {
            Mark::Dot { x, y } | Mark::Text { x, y, .. } => ok(x, y),
            Mark::Rect { x, y, w, h, .. } => ok(x, y) && ok(x + w, y + h) && w >= 0.0 && h >= 0.0,
            Mark::Line { x1, y1, x2, y2 } => ok(x1, y1) && ok(x2, y2),
        }
    }

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn scatter_shares_one_scale_and_puts_the_larger_label_up_and_right() {
        let s = sketch(
            &DataPicture::Scatter {
                points: vec![[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [f32::NAN, 0.0]],
            },
            &names(),
            Some(0.5),
        );
        let dots: Vec<(f64, f64)> = s
            .marks
            .iter()
            .filter_map(|m| match *m {
                Mark::Dot { x, y } => Some((x, y)),
                _ => None,
            })
            .collect();
        assert_eq!(dots.len(), 3, "a non-finite row is not drawn");
        let (origin, one, right) = (dots[0], dots[1], dots[2]);
        assert!(one.0 > origin.0 && one.1 < origin.1, "up and right");
        // One scale: as far across as up.
        assert!(((one.0 - origin.0) - (origin.1 - one.1)).abs() < 1e-9);
        assert_eq!(right.1, origin.1);
        assert!(s.marks.iter().all(inside));
        assert!(s.caption.contains("0.50"), "{}", s.caption);
    }

    #[test]
    fn mosaic_areas_are_the_counts_shares() {
        let counts = [[300, 100], [50, 50]];
        let s = sketch(&DataPicture::Joint { counts }, &names(), None);
        let rects: Vec<(f64, f64)> = s
            .marks
            .iter()
            .filter_map(|m| match *m {
                Mark::Rect { w, h, .. } => Some((w, h)),
                _ => None,
            })
            .collect();
        assert_eq!(rects.len(), 4);
        // Column widths 400 : 100.
        assert!((rects[0].0 / rects[2].0 - 4.0).abs() < 1e-9);
        // Within column a = 0, b = 1 takes a quarter; within a = 1, a half.
        let share = |yes: (f64, f64), no: (f64, f64)| yes.1 / (yes.1 + no.1);
        assert!((share(rects[0], rects[1]) - 0.25).abs() < 1e-9);
        assert!((share(rects[2], rects[3]) - 0.5).abs() < 1e-9);
        assert!(s.marks.iter().all(inside));
        assert!(s.caption.contains("20% have a = 1"), "{}", s.caption);
        assert!(
            s.caption.contains("50% have b = 1; of the rest, 25%"),
            "{}",
            s.caption
        );
        assert!(s.caption.contains("go together: one says"), "{}", s.caption);
        let even = sketch(
            &DataPicture::Joint {
                counts: [[300, 100], [75, 25]],
            },
            &names(),
            None,
        );
        assert!(
            even.caption.contains("barely go together"),
            "{}",
            even.caption
        );
    }

    /// Each text mark's extent: left, right (by [`text_width`]) and baseline.
    fn text_spans(s: &Sketch) -> Vec<(f64, f64, f64, String)> {
        s.marks
            .iter()
            .filter_map(|m| match m {
                Mark::Text { x, y, text, anchor } => {
                    let w = text_width(text);
                    let left = match anchor {
                        Anchor::Start => *x,
                        Anchor::Middle => x - w / 2.0,
                        Anchor::End => x - w,
                    };
                    Some((left, left + w, *y, text.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn mosaic_labels_with_long_task_names_stay_apart_and_inside() {
        // Adult's shares (about a quarter earn > 50K) with ESMM's titles, as lesson 3 shows them.
        let long: Vec<String> = vec!["ctr (income > 50K)".into(), "ctcvr (never married)".into()];
        let s = sketch(
            &DataPicture::Joint {
                counts: [[11_000, 13_700], [7_400, 460]],
            },
            &long,
            None,
        );
        let spans = text_spans(&s);
        assert_eq!(spans.len(), 4, "{spans:?}");
        for (i, a) in spans.iter().enumerate() {
            assert!(a.0 >= 0.0 && a.1 <= VIEW_W, "outside the box: {a:?}");
            for b in &spans[i + 1..] {
                let same_line = (a.2 - b.2).abs() < FONT;
                assert!(
                    !same_line || a.1 <= b.0 || b.1 <= a.0,
                    "{a:?} runs into {b:?}"
                );
            }
        }
        // The wide column keeps its words; the narrow one its number.
        assert!(
            spans.iter().any(|t| t.3 == "55% ctcvr (never married) = 1"),
            "{spans:?}"
        );
        assert!(spans.iter().any(|t| t.3 == "6%"), "{spans:?}");
    }

    #[test]
    fn funnel_bars_fall_stage_by_stage_and_the_hidden_one_stands_apart() {
        let s = sketch(
            &DataPicture::Funnel {
                impressions: 20_000,
                clicks: 1_000,
                conversions: 50,
                would_convert: 800,
            },
            &names(),
            None,
        );
        let bars: Vec<(f64, u8)> = s
            .marks
            .iter()
            .filter_map(|m| match *m {
                Mark::Rect { h, tone, .. } => Some((h, tone)),
                _ => None,
            })
            .collect();
        assert_eq!(bars.iter().map(|b| b.1).collect::<Vec<_>>(), [0, 0, 1, 2]);
        assert!(bars[0].0 > bars[1].0 && bars[1].0 > bars[2].0 && bars[3].0 > bars[2].0);
        assert!(s.marks.iter().all(inside));
        assert!(
            s.caption.contains("5.0% of clicks convert"),
            "{}",
            s.caption
        );
        assert!(
            s.caption.contains("4.0% of all impressions"),
            "{}",
            s.caption
        );
        // Nothing to count draws nothing odd.
        let empty = sketch(
            &DataPicture::Funnel {
                impressions: 0,
                clicks: 0,
                conversions: 0,
                would_convert: 0,
            },
            &[],
            None,
        );
        assert!(empty.marks.iter().all(inside));
    }
}
