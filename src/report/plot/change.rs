//! Run against run: the change of every variant's median as a ratio new / base on a
//! log axis centred on 1, with the bootstrap 95% interval of the ratio. Left of the
//! line is faster, right is slower; colour says whether the change is significant.

use plotters::prelude::*;

use super::right_labels;

use super::latency::label_at;
use super::{Axis, FONT, Quantity, Ticked, short, svg};
use crate::report::format::change_words;

/// One variant's change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Variant name.
    pub name: String,
    /// `(ratio, ci_low, ci_high)` of new median / base median, when both have samples.
    pub ratio: Option<(f64, f64, f64)>,
}

/// Draws the change chart for one comparison.
pub fn draw(caption: &str, changes: &[Change]) -> String {
    let n = changes.len().max(1);
    let spread = changes
        .iter()
        .filter_map(|c| c.ratio)
        .flat_map(|(r, lo, hi)| [r, lo, hi])
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(|v| if v < 1.0 { 1.0 / v } else { v })
        .fold(1.5f64, f64::max)
        * 1.15;
    let axis = Axis {
        log: true,
        lo: 1.0 / spread,
        hi: spread,
        quantity: Quantity::Ratio,
        unit: crate::report::format::TimeUnit::Ns,
    };
    let label = format!("Change of median per variant: {caption}");
    svg(1100, 80 + 44 * n as u32, &label, |root| {
        let centers: Vec<f64> = (0..n).map(|i| (n - i) as f64 - 0.5).collect();
        let names: Vec<String> = changes.iter().map(|c| short(&c.name, 26)).collect();
        let words: Vec<String> = changes
            .iter()
            .map(|c| match c.ratio {
                Some((r, lo, hi)) if lo > 1.0 || hi < 1.0 => change_words(r),
                Some(_) => "no change".into(),
                None => "not comparable".into(),
            })
            .collect();
        let name_at = |y: &f64| label_at(&centers, &names, *y);
        let mut ticks: Vec<f64> = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
            .into_iter()
            .filter(|t| *t >= axis.lo && *t <= axis.hi)
            .map(f64::log10)
            .collect();
        if ticks.len() < 3 {
            ticks = vec![(1.0 / 1.25f64).log10(), 0.0, 1.25f64.log10()];
        }
        let x_label = |x: &f64| axis.label(*x);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_right(170)
            .x_label_area_size(44)
            .y_label_area_size(190)
            .build_cartesian_2d(
                Ticked::new(axis.range(), ticks.clone()),
                Ticked::new(0.0..n as f64, centers.clone()),
            )?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xe6, 0xe8, 0xeb))
            .x_desc("new median / base median (log scale) — left is faster, right is slower")
            .x_label_formatter(&x_label)
            .y_label_formatter(&name_at)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
            .draw()?;
        right_labels(root, &chart, &centers, &words)?;
        chart.draw_series([PathElement::new(
            vec![(0.0, 0.0), (0.0, n as f64)],
            BLACK.stroke_width(1),
        )])?;
        for (i, c) in changes.iter().enumerate() {
            let Some((r, lo, hi)) = c.ratio else { continue };
            let y = centers[i];
            let color = if lo > 1.0 {
                RGBColor(0xcf, 0x22, 0x2e)
            } else if hi < 1.0 {
                RGBColor(0x1a, 0x7f, 0x37)
            } else {
                RGBColor(0x57, 0x60, 0x6a)
            };
            let x = |v: f64| axis.pos(v);
            chart.draw_series([
                PathElement::new(vec![(x(lo), y), (x(hi), y)], color.stroke_width(3)),
                PathElement::new(
                    vec![(x(lo), y - 0.15), (x(lo), y + 0.15)],
                    color.stroke_width(2),
                ),
                PathElement::new(
                    vec![(x(hi), y - 0.15), (x(hi), y + 0.15)],
                    color.stroke_width(2),
                ),
            ])?;
            chart.draw_series([Circle::new((x(r), y), 6, color.filled())])?;
        }
        Ok(())
    })
}
