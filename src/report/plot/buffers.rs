//! Shared buffers each variant touched, from the deterministic plan counters:
//! stacked bars of blocks found in shared buffers (hit) and blocks read in. Unlike
//! latency, these numbers repeat exactly, so they show *why* one plan is cheaper.

use plotters::prelude::*;

use super::{Axis, Role, Ticked, legend, row_chart, svg};
use crate::results::{ComparisonResult, VariantResult};
use crate::units::{bytes, count};

/// Pixel height of one variant's bar.
const ROW_PX: u32 = 40;

/// PostgreSQL's default block size; counters are in blocks.
const BLOCK_BYTES: u64 = 8192;

/// Draws the buffers chart of `c`, or `None` when no variant has counters.
pub fn draw(c: &ComparisonResult, role: &dyn Fn(&VariantResult) -> Role) -> Option<String> {
    if c.variants.iter().all(|v| v.counters.is_none()) {
        return None;
    }
    let n = c.variants.len();
    let max = c
        .variants
        .iter()
        .filter_map(|v| v.counters.as_ref().map(|k| k.shared_blocks()))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let height = 92 + ROW_PX * n as u32;
    let label = format!("Shared buffers touched by each variant of {}", c.title);
    Some(svg(1100, height, &label, |root| {
        let names: Vec<String> = c.variants.iter().map(|v| v.name.clone()).collect();
        let totals: Vec<String> = c
            .variants
            .iter()
            .map(|v| match &v.counters {
                Some(k) => format!(
                    "{} blocks · {}",
                    count(k.shared_blocks()),
                    bytes(k.shared_blocks() * BLOCK_BYTES)
                ),
                None => "no plan".into(),
            })
            .collect();
        let hit = RGBColor(0x54, 0xae, 0xff);
        let read = RGBColor(0xe1, 0x6f, 0x24);
        legend(
            root,
            (202, 16),
            &[
                ("hit (found in shared buffers)", hit.to_rgba()),
                ("read (from OS cache or disk)", read.to_rgba()),
            ],
        )?;
        let area = root.margin(28, 0, 0, 0);
        let axis = Axis::linear_from_zero(max);
        let (mut chart, centers) = row_chart(
            &area,
            root,
            Ticked::new(axis.range(), axis.ticks()),
            "shared buffers touched (8 KiB blocks) — the same on every repeat",
            &|x| count(x.round() as u64),
            &names,
            &totals,
        )?;
        for (i, v) in c.variants.iter().enumerate() {
            let Some(k) = &v.counters else { continue };
            let y = centers[i];
            let (h, r) = (k.shared_hit as f64, k.shared_read as f64);
            chart.draw_series([
                Rectangle::new([(0.0, y - 0.3), (h, y + 0.3)], hit.filled()),
                Rectangle::new([(h, y - 0.3), (h + r, y + 0.3)], read.filled()),
            ])?;
            // Outline in the variant's colour ties the bar to the latency chart.
            chart.draw_series([Rectangle::new(
                [(0.0, y - 0.3), (h + r, y + 0.3)],
                role(v).color().stroke_width(2),
            )])?;
        }
        Ok(())
    }))
}
