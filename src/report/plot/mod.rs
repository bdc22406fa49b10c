//! Charts, one file per chart, each a free function drawing with plotters onto an
//! SVG string that is inlined in the HTML report.
//!
//! Every chart maps its value axis through [`Axis`] so that linear and logarithmic
//! scales share one code path: coordinates are `log10(value)` on a log axis, and
//! tick positions and labels are chosen here rather than left to plotters, which
//! would label a log axis at awkward points.

pub mod buffers;
pub mod bytes;
pub mod change;
pub mod curves;
pub mod latency;

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;

use super::headline::mismatched;
use crate::escape::html;
use crate::results::{ComparisonResult, VariantResult, VariantStatus};
use crate::units::{TimeUnit, duration_ns, rows_short, sig3, times};

/// Value spread (max / min) beyond which an axis switches to a log scale: past
/// this, a linear axis squeezes the fast variants into a few pixels at zero.
pub const LOG_SPREAD: f64 = 20.0;

/// Whether values spanning `min..=max` need a log axis.
pub fn use_log_scale(min: f64, max: f64) -> bool {
    min > 0.0 && max.is_finite() && max / min > LOG_SPREAD
}

/// What an axis measures, which decides its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Nanoseconds, labelled in µs/ms/s.
    Time,
    /// A row or block count, labelled `10k`, `1M`.
    Count,
    /// A ratio, labelled `0.5×`, `2×`.
    Ratio,
}

/// A value axis: its scale, range and ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Logarithmic (coordinates are `log10(value)`).
    pub log: bool,
    /// Smallest value shown (data units).
    pub lo: f64,
    /// Largest value shown (data units).
    pub hi: f64,
    /// What the values are.
    pub quantity: Quantity,
    /// Unit of a linear time axis (log time axes label each tick in its own unit).
    pub unit: TimeUnit,
}

impl Axis {
    /// A linear count axis from zero to a little past `max`, so bar lengths compare
    /// honestly (blocks, bytes).
    pub fn linear_from_zero(max: f64) -> Axis {
        Axis {
            log: false,
            lo: 0.0,
            hi: max * 1.05,
            ..Axis::fit(&[max], Quantity::Count, false)
        }
    }

    /// An axis for `values`: log when their spread is wide (or `force_log`), else
    /// linear from zero so bar lengths and distances stay honest.
    pub fn fit(values: &[f64], quantity: Quantity, force_log: bool) -> Axis {
        let positive: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let min = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let max = positive.iter().copied().fold(0.0, f64::max);
        if positive.is_empty() {
            return Axis {
                log: false,
                lo: 0.0,
                hi: 1.0,
                quantity,
                unit: TimeUnit::Ms,
            };
        }
        let log = (force_log && min > 0.0) || use_log_scale(min, max);
        let (lo, hi) = if log {
            // Snapped outward to 1-2-5 steps so the edges carry round ticks.
            let (lo, hi) = (snap_down(min / 1.1), snap_up(max * 1.1));
            // A log axis needs some width even when all values are equal.
            if hi / lo < 4.0 {
                let mid = (lo * hi).sqrt();
                (mid / 2.0, mid * 2.0)
            } else {
                (lo, hi)
            }
        } else {
            (0.0, max * 1.08)
        };
        Axis {
            log,
            lo,
            hi,
            quantity,
            unit: TimeUnit::for_ns(max),
        }
    }

    /// Chart coordinate of a value.
    pub fn pos(&self, v: f64) -> f64 {
        if self.log { v.max(self.lo).log10() } else { v }
    }

    /// Coordinate range for plotters.
    pub fn range(&self) -> Range<f64> {
        self.pos(self.lo)..self.pos(self.hi)
    }

    /// Tick positions (coordinates): 1-2-5 steps on either scale.
    pub fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut decades = Vec::new();
            let (a, b) = (
                self.lo.log10().floor() as i32,
                self.hi.log10().ceil() as i32,
            );
            for e in a..=b {
                decades.push(10f64.powi(e));
            }
            let in_range = |v: &f64| *v >= self.lo && *v <= self.hi;
            let mut ticks: Vec<f64> = decades.iter().copied().filter(in_range).collect();
            if ticks.len() < 3 {
                ticks = decades
                    .iter()
                    .flat_map(|d| [*d, d * 2.0, d * 5.0])
                    .filter(in_range)
                    .collect();
            }
            // Very wide ranges: every other decade keeps labels from colliding.
            while ticks.len() > 9 {
                ticks = ticks.into_iter().step_by(2).collect();
            }
            ticks.into_iter().map(|v| v.log10()).collect()
        } else {
            let step = nice_step(self.hi / 5.0);
            (0..)
                .map(|i| i as f64 * step)
                .take_while(|v| *v <= self.hi)
                .collect()
        }
    }

    /// Label of a tick at coordinate `c`.
    pub fn label(&self, c: f64) -> String {
        let v = if self.log { 10f64.powf(c) } else { c };
        match self.quantity {
            Quantity::Time if self.log => duration_ns(v),
            Quantity::Time => sig3(v / self.unit.ns()),
            Quantity::Count => rows_short(v.round() as u64),
            Quantity::Ratio => times(v),
        }
    }

    /// Axis title: `what (ms)` on a linear time axis, `what, log scale` on a log one.
    pub fn title(&self, what: &str) -> String {
        match (self.log, self.quantity) {
            (true, _) => format!("{what} (log scale)"),
            (false, Quantity::Time) => format!("{what} ({})", self.unit.symbol()),
            (false, _) => what.to_string(),
        }
    }
}

/// A linear f64 coordinate whose tick marks are exactly `ticks`. (plotters'
/// `with_key_points` wrapper loses the f64 label formatter, so charts use this.)
#[derive(Debug, Clone)]
pub(crate) struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ticked {
    /// `range` with tick marks (and grid lines) at `ticks`.
    pub(crate) fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        Ticked { range, ticks }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        if span == 0.0 || !v.is_finite() {
            return (limit.0 + limit.1) / 2;
        }
        let frac = (v - self.range.start) / span;
        limit.0 + ((limit.1 - limit.0) as f64 * frac).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// The largest 1-2-5 step value at or below `v` (> 0).
fn snap_down(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s <= v)
        .unwrap_or(mag)
}

/// The smallest 1-2-5 step value at or above `v` (> 0).
fn snap_up(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * mag)
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// What a variant is in its comparison, which decides its colour everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The fastest variant with correct results.
    Winner,
    /// The reference variant (when it is not the winner).
    Reference,
    /// Any other variant that finished.
    Other,
    /// Timed out, failed, or returned wrong rows.
    Problem,
}

impl Role {
    /// The role of variant `v` in comparison `c`: a problem when it did not finish
    /// or returned other rows than the reference, else winner, reference or other.
    pub fn of(c: &ComparisonResult, v: &VariantResult) -> Role {
        if v.status != VariantStatus::Ok || mismatched(c, v) {
            Role::Problem
        } else if c.winner.as_deref() == Some(v.name.as_str()) {
            Role::Winner
        } else if v.name == c.reference {
            Role::Reference
        } else {
            Role::Other
        }
    }

    /// The colour of the role.
    pub fn color(self) -> RGBColor {
        match self {
            Role::Winner => RGBColor(0x1a, 0x7f, 0x37),
            Role::Reference => RGBColor(0x57, 0x60, 0x6a),
            Role::Other => RGBColor(0x09, 0x69, 0xda),
            Role::Problem => RGBColor(0xcf, 0x22, 0x2e),
        }
    }
}

/// Distinct colours for line charts with one series per variant.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x09, 0x69, 0xda),
    RGBColor(0xcf, 0x22, 0x2e),
    RGBColor(0x1a, 0x7f, 0x37),
    RGBColor(0x82, 0x50, 0xdf),
    RGBColor(0xbf, 0x87, 0x00),
    RGBColor(0x1b, 0x7c, 0x83),
    RGBColor(0xe1, 0x6f, 0x24),
    RGBColor(0x57, 0x60, 0x6a),
];

/// Font for chart text (the page's CSS may override the family).
pub(crate) const FONT: &str = "sans-serif";

/// Result of drawing: plotters' errors boxed, since a failed chart only ever
/// becomes a visible note in the report.
pub(crate) type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Draws onto a fresh `width × height` SVG and returns it, labelled for screen
/// readers with `label`. A drawing error becomes a visible note instead of a chart.
pub(crate) fn svg(
    width: u32,
    height: u32,
    label: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
) -> String {
    let mut buf = String::new();
    let outcome = {
        let root = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Into::into)
            .and_then(|_| draw(&root))
            .and_then(|_| root.present().map_err(Into::into))
    };
    match outcome {
        Ok(()) => buf.replacen(
            "<svg ",
            &format!(
                "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" ",
                html(label)
            ),
            1,
        ),
        Err(e) => format!(
            "<p class=\"warn\">chart could not be drawn: {}</p>",
            html(&e.to_string())
        ),
    }
}

/// Text style for labels that start at their anchor and are centred on it
/// vertically (legends, the labels right of a row chart, notes in a row).
pub(crate) fn left_text(size: u32, color: &RGBColor) -> TextStyle<'static> {
    (FONT, size)
        .into_font()
        .color(color)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Left,
            plotters::style::text_anchor::VPos::Center,
        ))
}

/// Draws a row of coloured legend swatches at pixel position `(x, y)` on `area`.
pub(crate) fn legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    (x, y): (i32, i32),
    items: &[(&str, RGBAColor)],
) -> Drawn {
    let mut cx = x;
    for (text, color) in items {
        area.draw(&Rectangle::new(
            [(cx, y - 6), (cx + 12, y + 6)],
            color.filled(),
        ))?;
        area.draw(&Text::new(
            text.to_string(),
            (cx + 17, y),
            left_text(13, &BLACK),
        ))?;
        // The SVG backend cannot measure text; 7 px per character is close enough
        // for the short legend words used here.
        cx += 17 + 7 * text.chars().count() as i32 + 22;
    }
    Ok(())
}

/// Writes `labels` right of a row chart's plotting area, one per row centre,
/// left-aligned. (A secondary axis would right-align them by an estimated text
/// width that the SVG backend cannot measure, so they would wander.)
fn right_labels<X: Ranged<ValueType = f64>>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Ticked>>,
    centers: &[f64],
    labels: &[String],
) -> Drawn {
    let x_right = chart.plotting_area().get_pixel_range().0.end;
    let x_any = chart.x_range().start;
    for (c, text) in centers.iter().zip(labels) {
        let (_, y) = chart.backend_coord(&(x_any, *c));
        root.draw(&Text::new(
            text.clone(),
            (x_right + 10, y),
            left_text(14, &BLACK),
        ))?;
    }
    Ok(())
}

/// Pixel margins and label areas shared by the row charts.
const ROW_CHART_RIGHT: u32 = 170;

/// The frame of a row chart (latency, buffers, change): one row per variant on a
/// shared value axis `x`, the variants' names left of the rows, `right` beside
/// them (a median, a total, a change in words), the axis described by `x_desc` and
/// its ticks labelled by `x_label`. The frame is drawn on `area`; the right-hand
/// labels go on `root`, outside the plotting area. Returns the chart to draw the
/// rows on and each row's centre on the y axis (first row on top).
#[allow(clippy::type_complexity)]
pub(crate) fn row_chart<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    root: &DrawingArea<SVGBackend<'b>, Shift>,
    x: Ticked,
    x_desc: &str,
    x_label: &dyn Fn(&f64) -> String,
    names: &[String],
    right: &[String],
) -> Result<
    (
        ChartContext<'a, SVGBackend<'b>, Cartesian2d<Ticked, Ticked>>,
        Vec<f64>,
    ),
    Box<dyn std::error::Error>,
> {
    let n = names.len().max(1);
    let centers: Vec<f64> = (0..n).map(|i| (n - i) as f64 - 0.5).collect();
    let name_at = |y: &f64| {
        centers
            .iter()
            .position(|c| (c - y).abs() < 1e-6)
            .and_then(|i| names.get(i))
            .map(|name| short(name, 26))
            .unwrap_or_default()
    };
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_right(ROW_CHART_RIGHT)
        .x_label_area_size(44)
        .y_label_area_size(190)
        .build_cartesian_2d(x, Ticked::new(0.0..n as f64, centers.clone()))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xe6, 0xe8, 0xeb))
        .x_desc(x_desc)
        .x_label_formatter(x_label)
        .y_label_formatter(&name_at)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 14))
        .draw()?;
    right_labels(root, &chart, &centers, right)?;
    Ok((chart, centers))
}

/// Shortens a label drawn inside a chart (tables show the full name).
pub(crate) fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_scale_only_for_wide_spreads() {
        assert!(!use_log_scale(1.0, 20.0));
        assert!(use_log_scale(1.0, 20.5));
        assert!(!use_log_scale(0.0, 1e9), "zero cannot sit on a log axis");
        let narrow = Axis::fit(&[1e6, 2e6, 3e6], Quantity::Time, false);
        assert!(!narrow.log);
        assert_eq!(narrow.lo, 0.0);
        assert_eq!(narrow.title("latency"), "latency (ms)");
        let wide = Axis::fit(&[2e4, 5e6, 9e7], Quantity::Time, false);
        assert!(wide.log);
        assert_eq!(wide.title("latency"), "latency (log scale)");
    }

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        let lin = Axis::fit(&[1e6, 4.2e6], Quantity::Time, false);
        let labels: Vec<String> = lin.ticks().iter().map(|t| lin.label(*t)).collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4"]);
        let log = Axis::fit(&[2e4, 9e7], Quantity::Time, false);
        let labels: Vec<String> = log.ticks().iter().map(|t| log.label(*t)).collect();
        assert_eq!(labels, ["10 µs", "100 µs", "1 ms", "10 ms", "100 ms"]);
        let rows = Axis::fit(&[1e4, 1e6], Quantity::Count, true);
        let labels: Vec<String> = rows.ticks().iter().map(|t| rows.label(*t)).collect();
        assert_eq!(labels, ["10k", "100k", "1M"]);
    }

    #[test]
    fn equal_values_on_a_log_axis_still_get_ticks() {
        let a = Axis::fit(&[5e6, 5e6], Quantity::Time, true);
        assert!(a.hi / a.lo >= 4.0);
        assert!(!a.ticks().is_empty());
    }
}
