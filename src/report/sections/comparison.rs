//! One comparison's section: verdict, variant table, latency and buffers charts,
//! expectations, result check, index-set costs, and per variant its SQL, DDL and
//! plan tree.

use std::fmt::Write as _;

use crate::results::{
    CheckStatus, ComparisonResult, Dataset, ResultOrder, VariantResult, VariantStatus,
};

use crate::escape::html as esc;
use crate::units::{bytes, count, duration_ns, percent, seconds, speedup_words};

use super::super::headline::{self, Headline, mismatched};
use super::super::parts::{check_cell, expectations_cell, wrapping};
use super::super::plan;
use super::super::plot::{self, Role, short};

/// Renders the section with id `anchor`.
pub(in crate::report) fn render(d: &Dataset, c: &ComparisonResult, anchor: &str) -> String {
    let mut out = format!("<section class=\"comparison\" id=\"{anchor}\">");
    let _ = write!(
        out,
        "<h3>{} <span class=\"cid\">{}</span></h3>",
        esc(&c.title),
        esc(&c.id)
    );
    headline(c, &mut out);
    if !c.description.is_empty() {
        let sources = if c.sources.is_empty() {
            String::new()
        } else {
            format!(
                " <span class=\"muted\">(seed documents: {})</span>",
                esc(&c.sources.join(", "))
            )
        };
        let _ = write!(
            out,
            "<p class=\"desc\">{}{sources}</p>",
            esc(&c.description)
        );
    }
    problems(c, &mut out);
    if super::workload::is_workload(c) {
        super::workload::render(c, &mut out);
    } else {
        variant_table(c, &mut out);
        let role = |v: &VariantResult| Role::of(c, v);
        let _ = write!(
            out,
            "<figure>{}<figcaption>Each dot is one sample; the box spans the middle half (p25–p75), \
             whiskers p5–p95; the thick bar is the median and the shaded band its 95% confidence interval.</figcaption></figure>",
            plot::latency::draw(c, &role)
        );
        if let Some(svg) = plot::buffers::draw(c, &role) {
            let _ = write!(out, "<figure>{svg}</figure>");
        }
    }
    expectations(c, &mut out);
    super::layouts::render(d, c, &mut out);
    index_sets(d, c, &mut out);
    for v in &c.variants {
        variant_details(v, &mut out);
    }
    out.push_str("</section>");
    out
}

fn headline(c: &ComparisonResult, out: &mut String) {
    match headline::headline(c) {
        Headline::Wins {
            winner,
            loser,
            factor,
            within_noise,
        } => {
            let reference = if loser.name == c.reference {
                " (the reference)"
            } else {
                " (the runner-up)"
            };
            let noise = if within_noise {
                " — <span class=\"muted\">the confidence intervals overlap: this may be noise</span>"
            } else {
                ""
            };
            let class = if within_noise { "verdict even" } else { "verdict" };
            let _ = write!(
                out,
                "<p class=\"{class}\"><span class=\"win\">{}</span> {} <span class=\"lose\">{}</span>{reference}{noise}</p>",
                esc(&winner.name),
                esc(&headline::phrase(factor, loser)),
                esc(&loser.name)
            );
            let why: Vec<String> = headline::why(winner, loser)
                .iter()
                .map(|w| headline::why_html(w, false))
                .collect();
            if !why.is_empty() {
                let _ = write!(out, "<p class=\"why\">Why: {}.</p>", why.join("; "));
            }
        }
        Headline::Alone { winner } => {
            let _ = write!(
                out,
                "<p class=\"verdict even\"><span class=\"win\">{}</span> wins by default: every other variant timed out, failed or returned other rows.</p>",
                esc(&winner.name)
            );
        }
        Headline::NoWinner => out.push_str(
            "<p class=\"verdict none\">No winner: no variant finished with the reference's rows.</p>",
        ),
    }
}

fn problems(c: &ComparisonResult, out: &mut String) {
    if c.result_check.status == CheckStatus::Mismatch {
        out.push_str("<div class=\"alert\"><b>✘ Result check failed:</b> some variants return different rows than the reference, so their timings do not answer the same question.<ul>");
        for d in &c.result_check.details {
            let _ = write!(out, "<li>{}</li>", esc(d));
        }
        out.push_str("</ul></div>");
    }
    for v in &c.variants {
        match &v.status {
            VariantStatus::Ok => {}
            VariantStatus::TimedOut { timeout_ns } => {
                let _ = write!(
                    out,
                    "<div class=\"alert warn\"><b>{}</b> timed out after {}.</div>",
                    esc(&v.name),
                    duration_ns(*timeout_ns as f64)
                );
            }
            VariantStatus::Failed { message } => {
                let _ = write!(
                    out,
                    "<div class=\"alert\"><b>{}</b> failed: <code>{}</code></div>",
                    esc(&v.name),
                    esc(message)
                );
            }
        }
    }
}

fn variant_table(c: &ComparisonResult, out: &mut String) {
    out.push_str(
        "<table class=\"variants\"><thead><tr><th>Variant</th><th class=\"num\">Median (95% CI)</th>\
         <th class=\"num\">p95</th><th class=\"num\">vs reference</th><th class=\"num\">Buffers hit / read</th>\
         <th class=\"num\">Rows</th><th>Plan</th></tr></thead><tbody>",
    );
    for v in &c.variants {
        let role = Role::of(c, v);
        let class = match role {
            Role::Winner => "win",
            Role::Problem => "problem",
            _ => "",
        };
        let mut name = format!("<span class=\"vname\">{}</span>", esc(&v.name));
        if role == Role::Winner {
            name.push_str(" <span class=\"badge good\">winner</span>");
        }
        if v.name == c.reference {
            name.push_str(" <span class=\"badge\">reference</span>");
        }
        if v.executions_per_sample > 1 {
            let _ = write!(
                name,
                "<div class=\"muted\">{} executions per sample</div>",
                v.executions_per_sample
            );
        }
        let (median, p95) = match (&v.status, v.stats) {
            (VariantStatus::Ok, Some(s)) => (
                format!(
                    "<b>{}</b><div class=\"muted\">{} – {}</div>{}",
                    duration_ns(s.median_ns),
                    duration_ns(s.median_ci_low_ns),
                    duration_ns(s.median_ci_high_ns),
                    v.planning_ms
                        .map(|p| format!(
                            "<div class=\"muted\">planning {}</div>",
                            duration_ns(p * 1e6)
                        ))
                        .unwrap_or_default()
                ),
                duration_ns(s.p95_ns),
            ),
            _ => (
                format!(
                    "<span class=\"bad\">{}</span>",
                    esc(&headline::status_text(v))
                ),
                "–".into(),
            ),
        };
        let vs_ref = if v.name == c.reference {
            "<span class=\"muted\">reference</span>".to_string()
        } else {
            v.speedup.map(speedup_words).unwrap_or_else(|| "–".into())
        };
        let buffers = v
            .counters
            .as_ref()
            .map(|k| format!("{} / {}", count(k.shared_hit), count(k.shared_read)))
            .unwrap_or_else(|| "–".into());
        let rows = match &v.result {
            Some(r) if mismatched(c, v) => {
                format!(
                    "<span class=\"badge bad\">✘ {} (differs)</span>",
                    count(r.rows)
                )
            }
            Some(r) => count(r.rows),
            None => "–".into(),
        };
        let mut plan_cell = v
            .counters
            .as_ref()
            .map(|k| format!("<code>{}</code>", esc(&k.plan_head)))
            .unwrap_or_default();
        if let Some(p) = &v.plan {
            for f in crate::explain::findings(p) {
                let _ = write!(
                    plan_cell,
                    "<div class=\"badge warn\">⚠ {}</div>",
                    esc(&f.describe())
                );
            }
        }
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td>{name}</td><td class=\"num\">{median}</td><td class=\"num\">{p95}</td>\
             <td class=\"num\">{vs_ref}</td><td class=\"num\">{buffers}</td><td class=\"num\">{rows}</td><td>{plan_cell}</td></tr>"
        );
    }
    out.push_str("</tbody></table>");
}

fn expectations(c: &ComparisonResult, out: &mut String) {
    let _ = write!(
        out,
        "<div class=\"checks\"><div><h4>Expectations</h4>{}",
        expectations_cell(c, false)
    );
    if !c.expectations.is_empty() {
        out.push_str("<ul class=\"expect\">");
        for e in &c.expectations {
            let (mark, class) = if e.held {
                ("✔", "good")
            } else {
                ("✘", "bad")
            };
            let about = e
                .variant
                .as_deref()
                .map(|v| format!("<b>{}</b>: ", esc(v)))
                .unwrap_or_default();
            let detail = e
                .detail
                .as_deref()
                .filter(|_| !e.held)
                .map(|d| format!(" <span class=\"muted\">— {}</span>", esc(d)))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<li><span class=\"{class}\">{mark}</span> {about}{}{detail}</li>",
                esc(&e.description)
            );
        }
        out.push_str("</ul>");
    }
    let order = match c.result_order {
        ResultOrder::Ordered => "same rows in the same order",
        ResultOrder::Multiset => "same rows in any order",
        ResultOrder::None => "not compared",
    };
    let _ = write!(
        out,
        "</div><div><h4>Result check</h4>{} <span class=\"muted\">({order}, against {})</span>",
        check_cell(c.result_check.status),
        esc(&c.reference)
    );
    if c.result_check.status != CheckStatus::Mismatch && !c.result_check.details.is_empty() {
        out.push_str("<ul class=\"expect\">");
        for d in &c.result_check.details {
            let _ = write!(out, "<li class=\"muted\">{}</li>", esc(d));
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<p class=\"muted\">Measured in {}.</p></div></div>",
        seconds(c.seconds)
    );
}

fn index_sets(d: &Dataset, c: &ComparisonResult, out: &mut String) {
    let mut names: Vec<&str> = c.variants.iter().map(|v| v.index_set.as_str()).collect();
    names.dedup();
    let mut seen = Vec::new();
    let sets: Vec<_> = names
        .into_iter()
        .filter(|n| {
            let fresh = !seen.contains(n);
            seen.push(*n);
            fresh
        })
        .filter_map(|n| d.index_sets.iter().find(|s| s.name == n))
        .collect();
    if sets.is_empty() {
        return;
    }
    out.push_str(
        "<h4>Index sets: space and write cost</h4><table class=\"indexes\"><thead><tr><th>Index set</th>\
         <th>Indexes</th><th class=\"num\">Size</th><th class=\"num\">Build</th><th class=\"num\">Insert rate</th>\
         <th class=\"num\">vs no index</th><th>Update (per change)</th></tr></thead><tbody>",
    );
    for s in sets {
        let indexes = if s.indexes.is_empty() {
            "<span class=\"muted\">none</span>".to_string()
        } else {
            s.indexes
                .iter()
                .map(|i| format!("<code>{}</code> {}", esc(&i.name), bytes(i.bytes)))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let (rate, cost) = if s.indexes.is_empty() && s.write_rows_per_second > 0.0 {
            (
                format!("{} rows/s", count(s.write_rows_per_second as u64)),
                "<span class=\"muted\">baseline</span>".to_string(),
            )
        } else if s.write_rows > 0 && s.write_rows_per_second > 0.0 {
            (
                match &s.writes {
                    // Version 3: writes on the loaded table, with intervals and WAL.
                    Some(w) => format!(
                        "{}<div class=\"muted\">multi-row {}; single-row {}; {} rows into {}; WAL {}</div>",
                        count(s.write_rows_per_second as u64),
                        esc(&super::layouts::rate(w, false)),
                        esc(&super::layouts::rate(w, true)),
                        count(w.batch_rows),
                        esc(&w.table),
                        esc(&super::layouts::wal(w))
                    ),
                    None => format!(
                        "{} rows/s<div class=\"muted\">{} rows into {}</div>",
                        count(s.write_rows_per_second as u64),
                        count(s.write_rows),
                        esc(s.write_table.as_deref().unwrap_or("?"))
                    ),
                },
                if s.baseline_rows_per_second > 0.0 {
                    percent(s.write_rows_per_second / s.baseline_rows_per_second)
                } else {
                    "–".into()
                },
            )
        } else {
            ("–".into(), "–".into())
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{indexes}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{rate}</td><td class=\"num\">{cost}</td><td>{}</td></tr>",
            esc(&s.name),
            bytes(s.bytes),
            seconds(s.build_seconds),
            s.updates
                .as_ref()
                .map_or_else(|| "–".into(), |w| esc(&super::layouts::update(w)))
        );
    }
    out.push_str("</tbody></table>");
}

fn variant_details(v: &VariantResult, out: &mut String) {
    let _ = write!(
        out,
        "<details class=\"variant\"><summary><b>{}</b> — SQL, index set <code>{}</code>, plan</summary>",
        esc(&v.name),
        esc(&short(&v.index_set, 40))
    );
    if !v.description.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(&v.description));
    }
    let _ = write!(
        out,
        "<h5>SQL</h5><pre class=\"sql\">{}</pre>",
        esc(v.sql.trim())
    );
    if !v.params.is_empty() {
        let params: Vec<String> = v
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| format!("<code>${}</code> = <code>{}</code>", i + 1, wrapping(p)))
            .collect();
        let _ = write!(out, "<p class=\"params\">{}</p>", params.join(" · "));
    }
    let _ = write!(
        out,
        "<p class=\"muted\">{} protocol{}</p>",
        esc(v.protocol.as_str()),
        if v.fresh_clone_per_sample {
            "; each sample on a fresh clone"
        } else {
            ""
        }
    );
    let _ = write!(out, "<h5>Index set <code>{}</code></h5>", esc(&v.index_set));
    if v.index_ddl.is_empty() {
        out.push_str("<p class=\"muted\">No secondary indexes.</p>");
    } else {
        // One statement per line, each ending in exactly one semicolon.
        let ddl: Vec<String> = v
            .index_ddl
            .iter()
            .map(|d| format!("{};", d.trim().trim_end_matches(';').trim_end()))
            .collect();
        let _ = write!(out, "<pre class=\"sql\">{}</pre>", esc(&ddl.join("\n")));
    }
    out.push_str("<h5>Plan</h5>");
    match &v.plan {
        Some(p) => out.push_str(&plan::render_html(p)),
        None => out.push_str("<p class=\"muted\">No plan was taken.</p>"),
    }
    out.push_str("</details>");
}
