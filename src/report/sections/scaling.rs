//! Scaling curves: one server, several sizes (servers side by side, one size on
//! several servers, are in `servers`); the chart is [`super::super::plot::curves`].

use std::fmt::Write as _;

use crate::results::{Dataset, RunResults, VariantStatus};
use crate::stats::growth_exponent;

use crate::escape::html as esc;

use super::super::plot::curves::{self as chart, Series};
use super::super::plot::{PALETTE, Role};

/// Colours for variants that are neither winner nor reference: blue, purple,
/// orange, teal (green and grey are taken by winner and reference).
const OTHER_COLORS: [plotters::style::RGBColor; 4] =
    [PALETTE[0], PALETTE[3], PALETTE[6], PALETTE[5]];

/// The curves of one comparison on one server.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::report) struct Curve {
    /// Comparison id.
    pub id: String,
    /// Comparison title.
    pub title: String,
    /// Server label.
    pub server: String,
    /// One series per variant with at least two sizes measured.
    pub series: Vec<Series>,
}

/// Server labels in first-seen order.
fn servers(run: &RunResults) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for d in &run.datasets {
        if !out.contains(&d.server.label.as_str()) {
            out.push(&d.server.label);
        }
    }
    out
}

/// Every scaling curve in `run`: for each server measured at two or more sizes,
/// each comparison's variants' medians against rows.
pub(in crate::report) fn curves(run: &RunResults) -> Vec<Curve> {
    let mut out = Vec::new();
    for server in servers(run) {
        let mut sets: Vec<&Dataset> = run
            .datasets
            .iter()
            .filter(|d| d.server.label == server)
            .collect();
        sets.sort_by_key(|d| d.rows);
        let mut sizes: Vec<u64> = sets.iter().map(|d| d.rows).collect();
        sizes.dedup();
        if sizes.len() < 2 {
            continue;
        }
        let mut ids: Vec<(&str, &str)> = Vec::new();
        for d in &sets {
            for c in &d.comparisons {
                if !ids.iter().any(|(id, _)| *id == c.id) {
                    ids.push((&c.id, &c.title));
                }
            }
        }
        for (id, title) in ids {
            let mut series: Vec<Series> = Vec::new();
            for d in &sets {
                let Some(c) = d.comparisons.iter().find(|c| c.id == id) else {
                    continue;
                };
                let mut others = 0;
                for v in &c.variants {
                    // Datasets come by increasing rows, so the largest one sets the colour.
                    let color = match Role::of(c, v) {
                        Role::Other => {
                            others += 1;
                            OTHER_COLORS[(others - 1) % OTHER_COLORS.len()]
                        }
                        role => role.color(),
                    };
                    let Some(s) = v.stats.filter(|_| v.status == VariantStatus::Ok) else {
                        continue;
                    };
                    let point = (d.rows as f64, s.median_ns);
                    match series.iter_mut().find(|s| s.name == v.name) {
                        Some(existing) => {
                            existing.points.push(point);
                            existing.color = color;
                        }
                        None => series.push(Series {
                            name: v.name.clone(),
                            points: vec![point],
                            exponent: None,
                            color,
                        }),
                    }
                }
            }
            series.retain(|s| s.points.len() >= 2);
            for s in &mut series {
                s.exponent = growth_exponent(&s.points);
            }
            if !series.is_empty() {
                out.push(Curve {
                    id: id.to_string(),
                    title: title.to_string(),
                    server: server.to_string(),
                    series,
                });
            }
        }
    }
    out
}

/// The scaling section, or an empty string when no server has two sizes.
pub(in crate::report) fn render(run: &RunResults) -> String {
    let curves = curves(run);
    if curves.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section id=\"scaling\"><h2>Scaling</h2><p class=\"desc\">Median latency against table size, \
         log–log. The slope is the growth exponent: ≈ 1 means the cost grows with the table \
         (a scan, an OFFSET), ≈ 0 means it stays flat (an index lookup, keyset pagination).</p>",
    );
    // One grid in comparison order, then server order: the same comparison on two
    // servers lands side by side, and a single server gets two charts per row.
    let mut ids: Vec<&str> = Vec::new();
    for c in &curves {
        if !ids.contains(&c.id.as_str()) {
            ids.push(&c.id);
        }
    }
    out.push_str("<div class=\"side\">");
    for id in ids {
        for c in curves.iter().filter(|c| c.id == id) {
            let _ = write!(
                out,
                "<figure>{}<figcaption><span class=\"cid\">{}</span></figcaption></figure>",
                chart::draw(&format!("{} · {}", c.title, c.server), &c.series),
                esc(id)
            );
        }
    }
    out.push_str("</div>");
    out.push_str("</section>");
    out
}
