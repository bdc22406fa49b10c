//! Latency distribution of every variant of a comparison, one row per variant on a
//! shared axis: the samples as a strip of dots, the interquartile box with p5–p95
//! whiskers, and the median as a bar with its 95% confidence interval shaded.

use plotters::prelude::*;

use super::{Axis, FONT, Quantity, Role, Ticked, row_chart, svg};
use crate::results::{ComparisonResult, VariantResult, VariantStatus};
use crate::stats::percentile_sorted;
use crate::units::duration_ns;

/// Dots drawn per variant at most; more only thickens the strip and the file.
const MAX_DOTS: usize = 400;

/// Pixel height of one variant's row.
const ROW_PX: u32 = 54;

/// Draws the latency chart of `c`; `role` gives each variant's colour.
pub fn draw(c: &ComparisonResult, role: &dyn Fn(&VariantResult) -> Role) -> String {
    let all: Vec<f64> = c
        .variants
        .iter()
        .flat_map(|v| v.samples_ns.iter().map(|s| *s as f64))
        .collect();
    let axis = Axis::fit(&all, Quantity::Time, false);
    let n = c.variants.len().max(1);
    let height = 70 + ROW_PX * n as u32;
    let what = "latency per sample";
    let label = format!("Latency of each variant of {}", c.title);
    svg(1100, height, &label, |root| {
        let names: Vec<String> = c.variants.iter().map(|v| v.name.clone()).collect();
        let medians: Vec<String> = c.variants.iter().map(right_label).collect();
        let (mut chart, centers) = row_chart(
            root,
            root,
            Ticked::new(axis.range(), axis.ticks()),
            &axis.title(what),
            &|x| axis.label(*x),
            &names,
            &medians,
        )?;
        for (i, v) in c.variants.iter().enumerate() {
            let y = centers[i];
            let color = role(v).color();
            let mut sorted: Vec<f64> = v.samples_ns.iter().map(|s| *s as f64).collect();
            sorted.sort_by(f64::total_cmp);
            if sorted.is_empty() {
                chart.draw_series(std::iter::once(Text::new(
                    match &v.status {
                        VariantStatus::Ok => "no samples".to_string(),
                        _ => crate::report::headline::status_text(v),
                    },
                    (axis.range().start, y),
                    (FONT, 14).into_font().color(&color).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Left,
                            plotters::style::text_anchor::VPos::Center,
                        ),
                    ),
                )))?;
                continue;
            }
            let x = |v: f64| axis.pos(v);
            // Strip of samples, jittered vertically by a fixed low-discrepancy sequence
            // so the picture is the same on every render.
            let step = (sorted.len() / MAX_DOTS).max(1);
            let dots = v.samples_ns.iter().step_by(step).enumerate().map(|(k, s)| {
                let jitter = ((k as f64 * 0.618_034) % 1.0 - 0.5) * 0.5;
                Circle::new((x(*s as f64), y + jitter), 2, color.mix(0.35).filled())
            });
            chart.draw_series(dots)?;
            let p = |q: f64| percentile_sorted(&sorted, q);
            let (p5, p25, p75, p95) = (p(5.0), p(25.0), p(75.0), p(95.0));
            chart.draw_series([
                PathElement::new(vec![(x(p5), y), (x(p25), y)], color.stroke_width(1)),
                PathElement::new(vec![(x(p75), y), (x(p95), y)], color.stroke_width(1)),
                PathElement::new(
                    vec![(x(p5), y - 0.1), (x(p5), y + 0.1)],
                    color.stroke_width(1),
                ),
                PathElement::new(
                    vec![(x(p95), y - 0.1), (x(p95), y + 0.1)],
                    color.stroke_width(1),
                ),
            ])?;
            chart.draw_series([
                Rectangle::new(
                    [(x(p25), y - 0.2), (x(p75), y + 0.2)],
                    color.mix(0.12).filled(),
                ),
                Rectangle::new(
                    [(x(p25), y - 0.2), (x(p75), y + 0.2)],
                    color.stroke_width(1),
                ),
            ])?;
            if let Some(s) = v.stats {
                chart.draw_series([Rectangle::new(
                    [
                        (x(s.median_ci_low_ns), y - 0.3),
                        (x(s.median_ci_high_ns), y + 0.3),
                    ],
                    color.mix(0.45).filled(),
                )])?;
                chart.draw_series([PathElement::new(
                    vec![(x(s.median_ns), y - 0.34), (x(s.median_ns), y + 0.34)],
                    color.stroke_width(3),
                )])?;
            }
        }
        Ok(())
    })
}

/// Text right of a row: the median, or what happened instead.
fn right_label(v: &VariantResult) -> String {
    match (&v.status, v.stats) {
        (VariantStatus::Ok, Some(s)) => format!("median {}", duration_ns(s.median_ns)),
        (VariantStatus::TimedOut { .. }, _) => "timed out".into(),
        (VariantStatus::Failed { .. }, _) => "failed".into(),
        (VariantStatus::Ok, None) => "no samples".into(),
    }
}
