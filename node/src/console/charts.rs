//! Server-rendered SVG bar charts for the console's statistics page: pure functions from
//! labelled counts to `maud::Markup`, no JavaScript.
//!
//! Every chart is an `<svg role="img">` with a `<title>` and an `aria-label` that reads out
//! every bar, visible text labels and values, and a `viewBox` so it scales with the page.
//! A suppressed count (`None`: fewer than [`SMALL_COUNT_THRESHOLD`]) is drawn as a short
//! grey hatched bar of fixed size labelled [`SUPPRESSED_LABEL`], never in proportion to a
//! number. Labels and titles are escaped by maud like any other text.

use maud::{Markup, html};
use talent_core::statistics::{SMALL_COUNT_THRESHOLD, SUPPRESSED_LABEL};

/// Width of a horizontal bar chart, in SVG user units.
const BAR_CHART_WIDTH: u32 = 640;
/// Width of the label column of a horizontal bar chart.
const LABEL_WIDTH: u32 = 180;
/// Room right of the longest bar for its value.
const VALUE_WIDTH: u32 = 70;
/// Height of the visible title line.
const TITLE_HEIGHT: u32 = 32;
/// Height of one row of a horizontal bar chart.
const ROW_HEIGHT: u32 = 28;
/// Thickness of a bar.
const BAR_THICKNESS: u32 = 18;
/// Length of a suppressed bar (fixed: its true length would give the count away).
const SUPPRESSED_LENGTH: u32 = 24;
/// Labels longer than this many characters are shortened on the chart (the full label is
/// in the bar's tooltip and in the `aria-label`).
const MAX_LABEL_CHARS: usize = 14;

/// Width of one month's column slot in a month chart.
const COLUMN_SLOT: u32 = 40;
/// Width of a column.
const COLUMN_WIDTH: u32 = 26;
/// Height of the plotting area of a month chart.
const PLOT_HEIGHT: u32 = 160;
/// Room under the plot for the (slanted) month labels.
const AXIS_HEIGHT: u32 = 56;
/// Height of a suppressed column.
const SUPPRESSED_HEIGHT: u32 = 12;
/// Room left and right of a month chart's columns.
const SIDE_MARGIN: u32 = 16;

/// A horizontal bar chart: one bar per `(label, value)` in the given order, `None` values
/// drawn as suppressed ("<5").
pub fn bar_chart(title: &str, bars: &[(String, Option<u64>)]) -> Markup {
    let height = TITLE_HEIGHT + ROW_HEIGHT * (bars.len().max(1) as u32) + 8;
    let scale = Scale::of(bars);
    let pattern = pattern_id(title, "bar");
    let track = BAR_CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" role="img"
            viewBox=(format!("0 0 {BAR_CHART_WIDTH} {height}"))
            aria-label=(describe(title, bars)) {
            title { (title) }
            (hatch(&pattern))
            text class="chart-title" x="0" y="20" font-weight="bold" { (title) }
            @if bars.is_empty() {
                text x="0" y=(TITLE_HEIGHT + 18) fill="#666" { "暂无数据 No data" }
            }
            @for (row, (label, value)) in bars.iter().enumerate() {
                @let top = TITLE_HEIGHT + ROW_HEIGHT * row as u32;
                @let bar_y = top + (ROW_HEIGHT - BAR_THICKNESS) / 2;
                @let text_y = top + ROW_HEIGHT / 2 + 5;
                g class=(if value.is_some() { "bar" } else { "bar suppressed" }) {
                    title { (label) ": " (value_text(*value)) }
                    text x=(LABEL_WIDTH - 8) y=(text_y) text-anchor="end" { (shorten(label)) }
                    @match value {
                        Some(count) => {
                            @let length = scale.length(*count, track);
                            rect x=(LABEL_WIDTH) y=(bar_y) width=(length)
                                height=(BAR_THICKNESS) fill="#2f6db5" {}
                            text x=(LABEL_WIDTH + length + 6) y=(text_y) { (count) }
                        }
                        None => {
                            rect x=(LABEL_WIDTH) y=(bar_y) width=(SUPPRESSED_LENGTH)
                                height=(BAR_THICKNESS) fill=(format!("url(#{pattern})"))
                                stroke="#888" {}
                            text x=(LABEL_WIDTH + SUPPRESSED_LENGTH + 6) y=(text_y) fill="#555" {
                                (SUPPRESSED_LABEL)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A column chart of counts per month: one column per `(month, value)` in the given order
/// (normally `YYYY-MM` ascending), `None` values drawn as suppressed ("<5").
pub fn month_chart(title: &str, months: &[(String, Option<u64>)]) -> Markup {
    let width = (2 * SIDE_MARGIN + COLUMN_SLOT * months.len() as u32).max(320);
    let baseline = TITLE_HEIGHT + 20 + PLOT_HEIGHT;
    let height = baseline + AXIS_HEIGHT;
    let scale = Scale::of(months);
    let pattern = pattern_id(title, "month");
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart month-chart" role="img"
            viewBox=(format!("0 0 {width} {height}"))
            aria-label=(describe(title, months)) {
            title { (title) }
            (hatch(&pattern))
            text class="chart-title" x="0" y="20" font-weight="bold" { (title) }
            line x1=(SIDE_MARGIN) y1=(baseline) x2=(width - SIDE_MARGIN) y2=(baseline)
                stroke="#999" {}
            @if months.is_empty() {
                text x=(SIDE_MARGIN) y=(baseline - 8) fill="#666" { "暂无数据 No data" }
            }
            @for (slot, (month, value)) in months.iter().enumerate() {
                @let left = SIDE_MARGIN + COLUMN_SLOT * slot as u32 + (COLUMN_SLOT - COLUMN_WIDTH) / 2;
                @let middle = left + COLUMN_WIDTH / 2;
                @let column = match value {
                    Some(count) => scale.length(*count, PLOT_HEIGHT),
                    None => SUPPRESSED_HEIGHT,
                };
                g class=(if value.is_some() { "column" } else { "column suppressed" }) {
                    title { (month) ": " (value_text(*value)) }
                    @if value.is_some() {
                        rect x=(left) y=(baseline - column) width=(COLUMN_WIDTH) height=(column)
                            fill="#2f6db5" {}
                    } @else {
                        rect x=(left) y=(baseline - column) width=(COLUMN_WIDTH) height=(column)
                            fill=(format!("url(#{pattern})")) stroke="#888" {}
                    }
                    text x=(middle) y=(baseline - column - 4) text-anchor="middle" font-size="11" {
                        (value_text(*value))
                    }
                    text x=(middle) y=(baseline + 14) text-anchor="end" font-size="11"
                        transform=(format!("rotate(-40 {middle} {})", baseline + 14)) {
                        (shorten(month))
                    }
                }
            }
        }
    }
}

/// Bar lengths proportional to the largest disclosed value.
struct Scale {
    max: u64,
}

impl Scale {
    fn of(bars: &[(String, Option<u64>)]) -> Scale {
        let max = bars
            .iter()
            .filter_map(|(_, value)| *value)
            .max()
            .unwrap_or(SMALL_COUNT_THRESHOLD);
        Scale { max: max.max(1) }
    }

    /// The length of `count` on a track of `track` units: at least 1 so a bar is visible.
    fn length(&self, count: u64, track: u32) -> u32 {
        let length = u128::from(count) * u128::from(track) / u128::from(self.max);
        u32::try_from(length).unwrap_or(track).clamp(1, track)
    }
}

fn value_text(value: Option<u64>) -> String {
    value.map_or_else(|| SUPPRESSED_LABEL.to_owned(), |count| count.to_string())
}

/// What a screen reader says: the title, then every bar.
fn describe(title: &str, bars: &[(String, Option<u64>)]) -> String {
    let mut text = title.to_owned();
    if bars.is_empty() {
        text.push_str(": 暂无数据 No data");
    }
    for (position, (label, value)) in bars.iter().enumerate() {
        text.push_str(if position == 0 { ": " } else { "; " });
        text.push_str(label);
        text.push(' ');
        text.push_str(&value_text(*value));
    }
    text
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

/// The hatch pattern of suppressed bars, under an id unique to its chart (a page shows
/// several charts, and ids must not repeat).
fn hatch(id: &str) -> Markup {
    html! {
        defs {
            pattern id=(id) width="6" height="6" patternUnits="userSpaceOnUse"
                patternTransform="rotate(45)" {
                rect width="6" height="6" fill="#e4e4e4" {}
                line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2" {}
            }
        }
    }
}

/// A stable id for a chart's pattern (FNV-1a of the kind and title).
fn pattern_id(title: &str, kind: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in kind.bytes().chain([0]).chain(title.bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("hatch-{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars() -> Vec<(String, Option<u64>)> {
        vec![
            ("职称 ProfessionalTitleCredential".into(), Some(6)),
            ("<script>alert(1)</script>".into(), None),
            ("金凤凰".into(), Some(12)),
        ]
    }

    #[test]
    fn labels_and_titles_are_escaped() {
        let svg = bar_chart("按类型 <b>by type</b>", &bars()).into_string();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("&lt;b&gt;by type&lt;/b&gt;"), "{svg}");
        let svg = month_chart("<script>", &[("<script>".into(), Some(5))]).into_string();
        assert!(!svg.contains("<script"), "{svg}");
    }

    #[test]
    fn suppressed_bars_show_fewer_than_five() {
        let svg = bar_chart("按类型 By type", &bars()).into_string();
        assert!(svg.contains(r#"class="bar suppressed""#), "{svg}");
        // The visible value, the tooltip and the aria-label all say "<5".
        assert!(svg.contains(">&lt;5</text>"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &lt;5"),
            "{svg}"
        );
        assert!(svg.contains(&format!(r#"width="{SUPPRESSED_LENGTH}""#)));
        let svg = month_chart(
            "按月份 By month",
            &[("2025-01".into(), None), ("2025-02".into(), Some(9))],
        )
        .into_string();
        assert!(svg.contains(r#"class="column suppressed""#), "{svg}");
        assert!(svg.contains(">&lt;5</text>"), "{svg}");
        assert!(svg.contains(">9</text>"), "{svg}");
    }

    #[test]
    fn charts_are_accessible_scalable_svg_without_script() {
        for svg in [
            bar_chart("按类型 By type", &bars()).into_string(),
            month_chart("按月份 By month", &[("2025-01".into(), Some(7))]).into_string(),
            bar_chart("空 Empty", &[]).into_string(),
        ] {
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(svg.contains(r#"role="img""#), "{svg}");
            assert!(svg.contains("viewBox=\"0 0 "), "{svg}");
            assert!(svg.contains("aria-label=\""), "{svg}");
            assert!(svg.contains("<title>"), "{svg}");
            assert!(!svg.contains("<script"), "{svg}");
        }
        let svg = bar_chart("按类型 By type", &bars()).into_string();
        assert!(
            svg.contains(r#"aria-label="按类型 By type: 职称 ProfessionalTitleCredential 6; "#),
            "{svg}"
        );
    }

    #[test]
    fn bars_are_proportional_to_the_largest_count() {
        let scale = Scale::of(&bars());
        assert_eq!(scale.length(12, 390), 390);
        assert_eq!(scale.length(6, 390), 195);
        assert_eq!(scale.length(0, 390), 1, "a bar stays visible");
        let empty = Scale::of(&[("a".into(), None)]);
        assert!(empty.length(u64::MAX, 100) <= 100);
    }
}
