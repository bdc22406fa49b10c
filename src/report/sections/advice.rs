//! `querylab advise`'s section: the recommended set with its whole-set round, each
//! statement's candidates (how screened, built or not, measured speed-up, size,
//! write cost, same rows), the `[index_sets.advised]` block and the health
//! findings — HTML and Markdown from one row model, read from `results.json`'s
//! `advice`.

use std::fmt::Write as _;

use crate::escape::{html as esc, md_cell};
use crate::results::RunResults;
use crate::results::advice::{Advice, HealthKind};
use crate::units::{bytes, duration_ns, times};

/// One table: header and rows of plain text cells.
struct Table {
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn dash() -> String {
    "–".into()
}

fn write_ratio(w: Option<(f64, f64)>) -> String {
    match w {
        Some((with, without)) if with > 0.0 && without > 0.0 => {
            format!("{} slower inserts", times(without / with))
        }
        _ => dash(),
    }
}

fn whole_set(a: &Advice) -> Table {
    Table {
        head: vec![
            "Statement",
            "As is",
            "Advised set",
            "Speed-up",
            "Same rows",
            "Plan",
            "Writes",
            "Size",
        ],
        rows: a
            .whole_set
            .iter()
            .map(|w| {
                vec![
                    w.statement.clone(),
                    w.as_is_median_ns.map(duration_ns).unwrap_or_else(dash),
                    w.advised_median_ns.map(duration_ns).unwrap_or_else(dash),
                    w.speedup.map(times).unwrap_or_else(dash),
                    yes_no(w.same_rows),
                    w.plan_head.clone().unwrap_or_else(dash),
                    write_ratio(w.write_rows_per_second),
                    bytes(w.bytes),
                ]
            })
            .collect(),
    }
}

fn yes_no(b: Option<bool>) -> String {
    match b {
        Some(true) => "yes".into(),
        Some(false) => "NO".into(),
        None => dash(),
    }
}

fn candidates(a: &Advice) -> Table {
    let mut rows = Vec::new();
    for s in &a.statements {
        for c in &s.candidates {
            rows.push(vec![
                s.id.clone(),
                c.ddl.join("; "),
                c.screened.clone(),
                if c.built {
                    c.name.clone().unwrap_or_default()
                } else {
                    "not built".into()
                },
                c.median_ns.map(duration_ns).unwrap_or_else(dash),
                c.speedup.map(times).unwrap_or_else(dash),
                if c.built {
                    yes_no(Some(c.used))
                } else {
                    dash()
                },
                yes_no(c.same_rows),
                c.bytes.map(bytes).unwrap_or_else(dash),
                write_ratio(c.write_rows_per_second),
            ]);
        }
    }
    Table {
        head: vec![
            "Statement",
            "Candidate",
            "Screening",
            "Built",
            "Median",
            "Speed-up",
            "Used",
            "Same rows",
            "Size",
            "Writes",
        ],
        rows,
    }
}

fn health(a: &Advice) -> Table {
    Table {
        head: vec![
            "Index set",
            "Index",
            "Finding",
            "Size",
            "Writes (with → without the flagged)",
        ],
        rows: a
            .health
            .iter()
            .map(|h| {
                let what = match h.kind {
                    HealthKind::Duplicate => {
                        format!("duplicates {}", h.covered_by.as_deref().unwrap_or(""))
                    }
                    HealthKind::PrefixRedundant => {
                        format!("prefix of {}", h.covered_by.as_deref().unwrap_or(""))
                    }
                    HealthKind::PrimaryKey => {
                        format!(
                            "repeats the primary key ({})",
                            h.covered_by.as_deref().unwrap_or("")
                        )
                    }
                    HealthKind::Unused => h.why_unused(),
                };
                let writes = match h.write_rows_per_second {
                    Some((with, without)) if with > 0.0 => format!(
                        "{:.0} → {:.0} rows/s ({} faster without)",
                        with,
                        without,
                        times(without / with)
                    ),
                    _ => dash(),
                };
                vec![
                    h.index_set.clone(),
                    h.index.clone(),
                    what,
                    bytes(h.bytes),
                    writes,
                ]
            })
            .collect(),
    }
}

fn html_table(t: &Table, out: &mut String) {
    out.push_str("<table><thead><tr>");
    for h in &t.head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn md_table(t: &Table, out: &mut String) {
    let _ = writeln!(out, "| {} |", t.head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(t.head.len()));
    for r in &t.rows {
        let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// The advice section of the HTML page (nothing when the run has no advice).
pub(in crate::report) fn render_html(run: &RunResults, out: &mut String) {
    let Some(a) = &run.advice else {
        return;
    };
    out.push_str("<section id=\"advice\"><h2>Index advice</h2>");
    let _ = write!(
        out,
        "<p class=\"muted\">Screening: {}.</p>",
        esc(&a.screening)
    );
    if let Some(n) = &a.note {
        let _ = write!(out, "<p><strong>{}</strong></p>", esc(n));
    }
    if !a.whole_set.is_empty() {
        out.push_str("<h3>The advised set, measured as a whole</h3>");
        html_table(&whole_set(a), out);
        let _ = write!(out, "<pre><code>{}</code></pre>", esc(&a.toml));
    }
    out.push_str("<h3>Candidates</h3>");
    html_table(&candidates(a), out);
    if !a.health.is_empty() {
        out.push_str("<h3>Health of the scenario's index sets</h3>");
        html_table(&health(a), out);
    }
    out.push_str("</section>");
}

/// The advice section of the Markdown summary.
pub(in crate::report) fn render_markdown(run: &RunResults, out: &mut String) {
    let Some(a) = &run.advice else {
        return;
    };
    let _ = writeln!(
        out,
        "### Index advice\n\nScreening: {}.\n",
        md_cell(&a.screening)
    );
    if let Some(n) = &a.note {
        let _ = writeln!(out, "**{}**\n", md_cell(n));
    }
    if !a.whole_set.is_empty() {
        md_table(&whole_set(a), out);
        let _ = writeln!(out, "```toml\n{}```\n", a.toml);
    }
    md_table(&candidates(a), out);
    if !a.health.is_empty() {
        md_table(&health(a), out);
    }
}
