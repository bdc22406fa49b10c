//! Bytes of each variant's design: stacked bars of heap, TOAST and indexes, summed
//! over the tables its layout (or index set) is about. Sizes repeat exactly on the
//! same data, so they sit beside the read speed-up as the design's price.

use plotters::prelude::*;

use super::{Axis, Role, Ticked, legend, row_chart, svg};
use crate::results::{ComparisonResult, TableBytes, VariantResult};
use crate::units::bytes;

/// Pixel height of one variant's bar.
const ROW_PX: u32 = 40;

/// Draws the chart for the variants `tables` gives bytes for, or `None` if none.
pub fn draw(
    c: &ComparisonResult,
    tables: &dyn Fn(&VariantResult) -> Option<Vec<TableBytes>>,
    role: &dyn Fn(&VariantResult) -> Role,
) -> Option<String> {
    let rows: Vec<(&VariantResult, [u64; 3])> = c
        .variants
        .iter()
        .filter_map(|v| {
            let t = tables(v)?;
            let sum = |f: &dyn Fn(&TableBytes) -> u64| t.iter().map(f).sum::<u64>();
            Some((
                v,
                [
                    sum(&|t| t.heap_bytes),
                    sum(&|t| t.toast_bytes),
                    sum(&|t| t.index_bytes()),
                ],
            ))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let max = rows
        .iter()
        .map(|(_, b)| b.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let height = 92 + ROW_PX * rows.len() as u32;
    let label = format!("Bytes of each variant's tables in {}", c.title);
    Some(svg(1100, height, &label, |root| {
        let names: Vec<String> = rows.iter().map(|(v, _)| v.name.clone()).collect();
        let totals: Vec<String> = rows.iter().map(|(_, b)| bytes(b.iter().sum())).collect();
        let colors = [
            RGBColor(0x54, 0xae, 0xff),
            RGBColor(0x9b, 0x6b, 0xd6),
            RGBColor(0xe1, 0x6f, 0x24),
        ];
        legend(
            root,
            (202, 16),
            &[
                ("heap", colors[0].to_rgba()),
                ("TOAST", colors[1].to_rgba()),
                ("indexes", colors[2].to_rgba()),
            ],
        )?;
        let area = root.margin(28, 0, 0, 0);
        let axis = Axis::linear_from_zero(max);
        let (mut chart, centers) = row_chart(
            &area,
            root,
            Ticked::new(axis.range(), axis.ticks()),
            "bytes on disk (heap, TOAST, indexes) — the same on every repeat",
            &|x| bytes(x.max(0.0).round() as u64),
            &names,
            &totals,
        )?;
        for (i, (v, parts)) in rows.iter().enumerate() {
            let y = centers[i];
            let mut x0 = 0.0;
            for (part, color) in parts.iter().zip(colors) {
                let x1 = x0 + *part as f64;
                chart.draw_series([Rectangle::new(
                    [(x0, y - 0.3), (x1, y + 0.3)],
                    color.filled(),
                )])?;
                x0 = x1;
            }
            chart.draw_series([Rectangle::new(
                [(0.0, y - 0.3), (x0, y + 0.3)],
                role(v).color().stroke_width(2),
            )])?;
        }
        Ok(())
    }))
}
