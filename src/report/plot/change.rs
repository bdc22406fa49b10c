//! Run against run: the change of every variant's median as a ratio new / base on a
//! log axis centred on 1, with its interval. Left of the line is faster, right is
//! slower. The chart judges nothing: the words and the colour of each row are the
//! caller's (the report takes them from `querylab check`'s verdicts).

use plotters::prelude::*;

use super::{Axis, Quantity, Role, Ticked, row_chart, svg};
use crate::units::TimeUnit;

/// The colour of a row, as the caller judged the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Worse (red).
    Bad,
    /// Possibly worse (amber).
    Warn,
    /// Better (green).
    Good,
    /// No change worth a word (grey).
    Neutral,
}

impl Tone {
    fn color(self) -> RGBColor {
        match self {
            Tone::Bad => Role::Problem.color(),
            Tone::Warn => RGBColor(0xbf, 0x87, 0x00),
            Tone::Good => Role::Winner.color(),
            Tone::Neutral => Role::Reference.color(),
        }
    }
}

/// One variant's change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Variant name.
    pub name: String,
    /// `(ratio, low, high)` of new median / base median, when both have samples.
    pub ratio: Option<(f64, f64, f64)>,
    /// The change in words, right of the row: `1.5× slower`, `no change`.
    pub words: String,
    /// The row's colour.
    pub tone: Tone,
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
        unit: TimeUnit::Ns,
    };
    let label = format!("Change of median per variant: {caption}");
    svg(1100, 80 + 44 * n as u32, &label, |root| {
        let names: Vec<String> = changes.iter().map(|c| c.name.clone()).collect();
        let words: Vec<String> = changes.iter().map(|c| c.words.clone()).collect();
        let mut ticks: Vec<f64> = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
            .into_iter()
            .filter(|t| *t >= axis.lo && *t <= axis.hi)
            .map(f64::log10)
            .collect();
        if ticks.len() < 3 {
            ticks = vec![(1.0 / 1.25f64).log10(), 0.0, 1.25f64.log10()];
        }
        let (mut chart, centers) = row_chart(
            root,
            root,
            Ticked::new(axis.range(), ticks),
            "new median / base median (log scale) — left is faster, right is slower",
            &|x| axis.label(*x),
            &names,
            &words,
        )?;
        chart.draw_series([PathElement::new(
            vec![(0.0, 0.0), (0.0, n as f64)],
            BLACK.stroke_width(1),
        )])?;
        for (i, c) in changes.iter().enumerate() {
            let Some((r, lo, hi)) = c.ratio else { continue };
            let y = centers[i];
            let color = c.tone.color();
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
