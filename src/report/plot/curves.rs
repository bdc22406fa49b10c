//! Scaling curves: median latency against table size on log–log axes, one line
//! per variant, labelled with its fitted growth exponent. A slope near 1 is a cost
//! that grows with the table (OFFSET, sequential scans); near 0 is flat (keyset,
//! index lookups).

use plotters::prelude::*;

use super::{Axis, FONT, Quantity, Ticked, left_text, short, svg};
use crate::units::sig3;

/// One variant's curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Variant name.
    pub name: String,
    /// `(rows, median_ns)` points, by increasing rows.
    pub points: Vec<(f64, f64)>,
    /// Least-squares slope of log(median) on log(rows).
    pub exponent: Option<f64>,
    /// Line colour (the variant's role colour, so the winner is green here too).
    pub color: RGBColor,
}

/// Legend text of a series: `offset — slope 0.98 (linear)`.
pub fn legend_text(s: &Series) -> String {
    match s.exponent {
        Some(e) => format!(
            "{} — slope {} ({})",
            short(&s.name, 28),
            sig3(e),
            growth_word(e)
        ),
        None => short(&s.name, 28),
    }
}

/// A word for a growth exponent.
pub fn growth_word(e: f64) -> &'static str {
    if e < 0.2 {
        "flat"
    } else if e < 0.8 {
        "sublinear"
    } else if e < 1.2 {
        "linear"
    } else {
        "superlinear"
    }
}

/// Draws the curves; `caption` names the comparison and server.
pub fn draw(caption: &str, series: &[Series]) -> String {
    draw_frame(
        caption,
        &Frame {
            label: format!("Median latency against rows: {caption}"),
            x_desc: "rows in the table (log scale)",
            y_desc: "median latency (log scale)",
            x: Quantity::Count,
            y: Quantity::Time,
        },
        series,
    )
}

/// What a curve chart plots: its accessible label, axis titles and quantities
/// (both axes log scale).
pub struct Frame {
    /// The chart's accessible label.
    pub label: String,
    /// X axis title.
    pub x_desc: &'static str,
    /// Y axis title.
    pub y_desc: &'static str,
    /// What x measures.
    pub x: Quantity,
    /// What y measures.
    pub y: Quantity,
}

/// Draws `series` (`(x, y)` points) on log–log axes as `frame` says, with a legend
/// line per series: the one line chart of the report (scaling and workload curves).
pub fn draw_frame(caption: &str, frame: &Frame, series: &[Series]) -> String {
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .collect();
    let xa = Axis::fit(&xs, frame.x, true);
    let ya = Axis::fit(&ys, frame.y, true);
    let label = &frame.label;
    let legend_rows = series.len() as u32;
    svg(620, 380 + 20 * legend_rows, label, |root| {
        let (plot, legend_area) = root.split_vertically(380);
        let x_ticks = xa.ticks();
        let y_ticks = ya.ticks();
        let x_label = |x: &f64| xa.label(*x);
        let y_label = |y: &f64| ya.label(*y);
        let mut chart = ChartBuilder::on(&plot)
            .caption(caption, (FONT, 16))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(
                Ticked::new(xa.range(), x_ticks),
                Ticked::new(ya.range(), y_ticks),
            )?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xe6, 0xe8, 0xeb))
            .x_desc(frame.x_desc)
            .y_desc(frame.y_desc)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .draw()?;
        for s in series {
            let color = s.color;
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .map(|(x, y)| (xa.pos(*x), ya.pos(*y)))
                .collect();
            chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
        }
        for (i, s) in series.iter().enumerate() {
            let color = s.color;
            let y = 10 + 20 * i as i32;
            legend_area.draw(&PathElement::new(
                vec![(80, y), (104, y)],
                color.stroke_width(3),
            ))?;
            legend_area.draw(&Circle::new((92, y), 4, color.filled()))?;
            legend_area.draw(&Text::new(legend_text(s), (112, y), left_text(13, &BLACK)))?;
        }
        Ok(())
    })
}
