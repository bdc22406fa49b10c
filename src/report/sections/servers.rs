//! Servers side by side: the same comparisons measured on several servers at one
//! size (`--pg-image` repeated), every variant's median on each server and the last
//! server's median over the first's. One table per size, in HTML and in Markdown,
//! built from the same [`SideBySide`] so both formats say the same thing.

use std::fmt::Write as _;

use crate::results::{Dataset, RunResults, ServerInfo, VariantStatus};

use crate::escape::{html as esc, md_cell as md};
use crate::units::{count, duration_ns, times};

/// One size measured on two or more servers.
#[derive(Debug)]
pub(in crate::report) struct SideBySide<'a> {
    /// Rows of the largest table.
    pub rows: u64,
    /// The servers, in the order they were measured (the first is the base).
    pub servers: Vec<&'a ServerInfo>,
    /// One line per variant of the first server's comparisons.
    pub lines: Vec<Line<'a>>,
}

/// One variant's medians on every server.
#[derive(Debug)]
pub(in crate::report) struct Line<'a> {
    /// Comparison title.
    pub title: &'a str,
    /// Variants of this comparison: set on its first line only (HTML rowspan).
    pub first_of: Option<usize>,
    /// Variant name.
    pub variant: &'a str,
    /// Median on each server (`None`: not measured there, failed or timed out).
    pub medians: Vec<Option<f64>>,
}

impl Line<'_> {
    /// Last server's median over the first's, when both were measured.
    pub fn ratio(&self) -> Option<f64> {
        match (
            self.medians.first().copied().flatten(),
            self.medians.last().copied().flatten(),
        ) {
            (Some(a), Some(b)) if a > 0.0 => Some(b / a),
            _ => None,
        }
    }
}

/// Every size measured on two or more servers, smallest first. Empty when each size
/// has one server.
pub(in crate::report) fn side_by_side(run: &RunResults) -> Vec<SideBySide<'_>> {
    let mut sizes: Vec<u64> = run.datasets.iter().map(|d| d.rows).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut out = Vec::new();
    for rows in sizes {
        let sets: Vec<&Dataset> = run.datasets.iter().filter(|d| d.rows == rows).collect();
        if sets.len() < 2 {
            continue;
        }
        let mut lines = Vec::new();
        for c in &sets[0].comparisons {
            for (vi, v) in c.variants.iter().enumerate() {
                let medians = sets
                    .iter()
                    .map(|d| {
                        let other = d.comparisons.iter().find(|x| x.id == c.id)?;
                        let ov = other.variant(&v.name)?;
                        ov.stats
                            .filter(|_| ov.status == VariantStatus::Ok)
                            .map(|s| s.median_ns)
                    })
                    .collect();
                lines.push(Line {
                    title: &c.title,
                    first_of: (vi == 0).then_some(c.variants.len()),
                    variant: &v.name,
                    medians,
                });
            }
        }
        out.push(SideBySide {
            rows,
            servers: sets.iter().map(|d| &d.server).collect(),
            lines,
        });
    }
    out
}

/// The HTML section, or an empty string when there is nothing to put side by side.
pub(in crate::report) fn render_html(run: &RunResults) -> String {
    let tables = side_by_side(run);
    if tables.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section id=\"servers\"><h2>Servers side by side</h2><p class=\"desc\">The same \
         comparisons on each server; the last column is the last server's median over the first's.</p>",
    );
    for t in &tables {
        let _ = write!(
            out,
            "<h3>{} rows</h3><table class=\"servers\"><thead><tr><th>Comparison</th><th>Variant</th>",
            count(t.rows)
        );
        for s in &t.servers {
            let _ = write!(
                out,
                "<th class=\"num\">{}<div class=\"muted\">{}</div></th>",
                esc(&s.label),
                esc(&s.version)
            );
        }
        out.push_str("<th class=\"num\">last / first</th></tr></thead><tbody>");
        for l in &t.lines {
            let first = l
                .first_of
                .map(|n| format!("<td rowspan=\"{n}\">{}</td>", esc(l.title)))
                .unwrap_or_default();
            let _ = write!(out, "<tr>{first}<td>{}</td>", esc(l.variant));
            for m in &l.medians {
                let _ = write!(out, "<td class=\"num\">{}</td>", median(*m));
            }
            let ratio = l.ratio().map(times).unwrap_or_else(|| "–".into());
            let _ = write!(out, "<td class=\"num\">{ratio}</td></tr>");
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
    out
}

/// The Markdown tables, or an empty string when there is nothing to put side by side.
pub(in crate::report) fn render_markdown(run: &RunResults) -> String {
    let mut out = String::new();
    for t in side_by_side(run) {
        let _ = write!(
            out,
            "### Servers side by side · {} rows\n\nMedian latency on each server; the last column is the last server's median over the first's.\n\n| Comparison | Variant |",
            count(t.rows)
        );
        for s in &t.servers {
            let _ = write!(out, " {} (PostgreSQL {}) |", md(&s.label), md(short(s)));
        }
        out.push_str(" last / first |\n|---|---|");
        for _ in &t.servers {
            out.push_str("---:|");
        }
        out.push_str("---:|\n");
        for l in &t.lines {
            // The title on the first line of each comparison only, as in the HTML.
            let title = if l.first_of.is_some() {
                md(l.title)
            } else {
                String::new()
            };
            let _ = write!(out, "| {title} | {} |", md(l.variant));
            for m in &l.medians {
                let _ = write!(out, " {} |", median(*m));
            }
            let ratio = l.ratio().map(times).unwrap_or_else(|| "–".into());
            let _ = writeln!(out, " {ratio} |");
        }
        out.push('\n');
    }
    out
}

fn median(m: Option<f64>) -> String {
    m.map(duration_ns).unwrap_or_else(|| "–".into())
}

/// `15.18` from `15.18 (Debian 15.18-0+deb12u1)`: the column header stays short.
fn short(s: &ServerInfo) -> &str {
    s.version.split_whitespace().next().unwrap_or(&s.version)
}
