//! Results across datasets: scaling curves (one server, several sizes) and servers
//! side by side (several servers, same size).

use std::fmt::Write as _;

use crate::results::{Dataset, RunResults, VariantStatus};
use crate::stats::growth_exponent;

use super::escape::html as esc;
use super::format::{count, duration_ns, times};
use super::plot::scaling::{self as chart, Series};
use super::plot::{PALETTE, Role};
use super::section::role_of;

/// Colours for variants that are neither winner nor reference: blue, purple,
/// orange, teal (green and grey are taken by winner and reference).
const OTHER_COLORS: [plotters::style::RGBColor; 4] =
    [PALETTE[0], PALETTE[3], PALETTE[6], PALETTE[5]];

/// The curves of one comparison on one server.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Curve {
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
pub(super) fn curves(run: &RunResults) -> Vec<Curve> {
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
                    let color = match role_of(c, v) {
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
pub(super) fn render(run: &RunResults) -> String {
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

/// Servers side by side: for each size measured on two or more servers, every
/// variant's median on each server. Empty when there is only one server per size.
pub(super) fn render_servers(run: &RunResults) -> String {
    let mut sizes: Vec<u64> = run.datasets.iter().map(|d| d.rows).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut out = String::new();
    for rows in sizes {
        let sets: Vec<&Dataset> = run.datasets.iter().filter(|d| d.rows == rows).collect();
        if sets.len() < 2 {
            continue;
        }
        if out.is_empty() {
            out.push_str(
                "<section id=\"servers\"><h2>Servers side by side</h2><p class=\"desc\">The same \
                 comparisons on each server; the last column is the last server's median over the first's.</p>",
            );
        }
        let _ = write!(
            out,
            "<h3>{} rows</h3><table class=\"servers\"><thead><tr><th>Comparison</th><th>Variant</th>",
            count(rows)
        );
        for d in &sets {
            let _ = write!(
                out,
                "<th class=\"num\">{}<div class=\"muted\">{}</div></th>",
                esc(&d.server.label),
                esc(&d.server.version)
            );
        }
        out.push_str("<th class=\"num\">last / first</th></tr></thead><tbody>");
        for c in &sets[0].comparisons {
            for (vi, v) in c.variants.iter().enumerate() {
                let medians: Vec<Option<f64>> = sets
                    .iter()
                    .map(|d| {
                        let other = d.comparisons.iter().find(|x| x.id == c.id)?;
                        let ov = other.variant(&v.name)?;
                        ov.stats
                            .filter(|_| ov.status == VariantStatus::Ok)
                            .map(|s| s.median_ns)
                    })
                    .collect();
                let first = if vi == 0 {
                    format!(
                        "<td rowspan=\"{}\">{}</td>",
                        c.variants.len(),
                        esc(&c.title)
                    )
                } else {
                    String::new()
                };
                let _ = write!(out, "<tr>{first}<td>{}</td>", esc(&v.name));
                for m in &medians {
                    let _ = write!(
                        out,
                        "<td class=\"num\">{}</td>",
                        m.map(duration_ns).unwrap_or_else(|| "–".into())
                    );
                }
                let ratio = match (
                    medians.first().copied().flatten(),
                    medians.last().copied().flatten(),
                ) {
                    (Some(a), Some(b)) if a > 0.0 => times(b / a),
                    _ => "–".into(),
                };
                let _ = write!(out, "<td class=\"num\">{ratio}</td></tr>");
            }
        }
        out.push_str("</tbody></table>");
    }
    if !out.is_empty() {
        out.push_str("</section>");
    }
    out
}
