//! The Markdown summary: short enough for a CI job summary or a pull-request
//! comment, a table per dataset (and servers side by side when several were
//! measured), details left to the HTML report.

use std::fmt::Write as _;

use crate::check::Outcome;
use crate::results::{CheckStatus, RunResults, RunStatus, VariantStatus};

use crate::escape::md_cell as md;
use crate::units::{count, times};

use super::headline::{self, Headline};
use super::parts::short_rev;
use super::plot::curves::growth_word;
use super::sections::changes::{self, Direction};
use super::sections::{advice, layouts, scaling, servers, workload};

pub(super) fn render(runs: &[RunResults]) -> String {
    match runs {
        [] => "No results.\n".into(),
        [run] => single(run),
        [base, rest @ ..] => {
            let mut out = String::new();
            for new in rest {
                changes(base, new, &mut out);
            }
            if let Some(last) = rest.last() {
                out.push_str(&single(last));
            }
            out
        }
    }
}

fn single(run: &RunResults) -> String {
    let mut out = format!("## querylab: {}\n\n", md(&run.settings.scenario));
    let servers: Vec<String> = {
        let mut s: Vec<String> = run
            .datasets
            .iter()
            .map(|d| format!("PostgreSQL {} ({})", d.server.version, d.server.label))
            .collect();
        let mut unique: Vec<String> = Vec::new();
        for x in s.drain(..) {
            if !unique.contains(&x) {
                unique.push(x);
            }
        }
        unique
    };
    let _ = writeln!(
        out,
        "{} · seed {} · querylab {}{}\n",
        md(&servers.join(", ")),
        run.settings.seed,
        md(&run.querylab_version),
        run.git_revision
            .as_deref()
            .map(|g| format!(" @ {}", md(short_rev(g))))
            .unwrap_or_default()
    );
    match &run.status {
        RunStatus::Complete => {}
        RunStatus::Running => {
            out.push_str("> **Run still in progress**: some comparisons may be missing.\n\n")
        }
        RunStatus::Partial { reason } => {
            let _ = writeln!(
                out,
                "> **Partial run**: {}. Results below were measured before it stopped.\n",
                md(reason)
            );
        }
    }
    tally(run, &mut out);
    advice::render_markdown(run, &mut out);
    let mut notes: Vec<String> = Vec::new();
    for d in &run.datasets {
        let _ = writeln!(
            out,
            "### {} · {} rows\n\n| Comparison | Winner | Speed-up | Expectations | Result check |\n|---|---|---:|---|---|",
            md(&d.server.label),
            count(d.rows)
        );
        for c in &d.comparisons {
            let (winner, speedup) = match headline::headline(c) {
                Headline::Wins {
                    winner,
                    loser,
                    factor,
                    within_noise,
                } => (
                    format!("**{}**", md(&winner.name)),
                    format!(
                        "{} vs {}{}",
                        factor.map(times).unwrap_or_else(|| "–".into()),
                        md(&loser.name),
                        if within_noise { " (within noise)" } else { "" }
                    ),
                ),
                Headline::Alone { winner } => (format!("**{}**", md(&winner.name)), "–".into()),
                Headline::NoWinner => ("none".into(), "–".into()),
            };
            let (held, total) = headline::expectations(c);
            let expectations = if total == 0 {
                "–".to_string()
            } else if held == total {
                format!("✅ {held}/{total}")
            } else {
                format!("❌ {held}/{total}")
            };
            let check = match c.result_check.status {
                CheckStatus::Match => "✅ match",
                CheckStatus::Mismatch => "❌ **mismatch**",
                CheckStatus::Skipped => "skipped",
            };
            let _ = writeln!(
                out,
                "| {} | {winner} | {speedup} | {expectations} | {check} |",
                md(&c.title)
            );
            for e in c.expectations.iter().filter(|e| !e.held) {
                notes.push(format!(
                    "❌ {}: {}{}",
                    md(&c.title),
                    md(&e.description),
                    e.detail
                        .as_deref()
                        .map(|d| format!(" — {}", md(d)))
                        .unwrap_or_default()
                ));
            }
            if c.result_check.status == CheckStatus::Mismatch {
                for line in &c.result_check.details {
                    notes.push(format!("❌ {}: rows differ: {}", md(&c.title), md(line)));
                }
            }
            for v in &c.variants {
                if v.status != VariantStatus::Ok {
                    notes.push(format!(
                        "⚠️ {} / {}: {}",
                        md(&c.title),
                        md(&v.name),
                        md(&headline::status_text(v))
                    ));
                }
                if let Some(f) = v
                    .plan
                    .as_ref()
                    .and_then(|p| crate::explain::findings(p).into_iter().next())
                {
                    notes.push(format!(
                        "🔎 {} / {}: {}",
                        md(&c.title),
                        md(&v.name),
                        md(&f.describe())
                    ));
                }
            }
        }
        out.push('\n');
        for c in &d.comparisons {
            let mut block = String::new();
            layouts::markdown(d, c, &mut block);
            if !block.is_empty() {
                let _ = writeln!(out, "#### Layouts: {}\n{block}", md(&c.title));
            }
        }
    }
    out.push_str(&servers::render_markdown(run));
    workloads(run, &mut out);
    let curves = scaling::curves(run);
    if !curves.is_empty() {
        out.push_str(
            "### Scaling: growth exponent of median latency with rows (≈1 linear, ≈0 flat)\n\n\
             | Comparison | Server | Variants |\n|---|---|---|\n",
        );
        for c in &curves {
            let variants: Vec<String> = c
                .series
                .iter()
                .map(|s| match s.exponent {
                    Some(e) => format!("{} {} ({})", md(&s.name), exponent(e), growth_word(e)),
                    None => md(&s.name),
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                md(&c.title),
                md(&c.server),
                variants.join(" · ")
            );
        }
        out.push('\n');
    }
    // Larger datasets repeat the smaller ones' notes word for word.
    let mut unique: Vec<String> = Vec::new();
    for n in notes {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    let notes = unique;
    if !notes.is_empty() {
        out.push_str("<details><summary>Notes</summary>\n\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// The workload comparisons' tables: one row per variant and client level.
fn workloads(run: &RunResults, out: &mut String) {
    for d in &run.datasets {
        for c in d.comparisons.iter().filter(|c| workload::is_workload(c)) {
            let _ = writeln!(
                out,
                "### Workload: {} · {} · {} rows\n\n| {} | invariant |\n|{}---|",
                md(&c.title),
                md(&d.server.label),
                count(d.rows),
                workload::COLUMNS.join(" | "),
                "---|".repeat(workload::COLUMNS.len())
            );
            for (cells, ok) in workload::rows(c) {
                let cells: Vec<String> = cells.iter().map(|x| md(x)).collect();
                let verdict = match ok {
                    Some(true) => "✅ holds",
                    Some(false) => "❌ **broken**",
                    None => "–",
                };
                let _ = writeln!(out, "| {} | {verdict} |", cells.join(" | "));
            }
            out.push('\n');
        }
    }
}

/// An exponent with two decimals, never `-0.00`.
fn exponent(e: f64) -> String {
    let s = format!("{e:.2}");
    if s == "-0.00" { "0.00".into() } else { s }
}

/// One line counting what needs attention over all datasets, so a PR comment says
/// at once whether anything is wrong.
fn tally(run: &RunResults, out: &mut String) {
    let comparisons: Vec<_> = run.datasets.iter().flat_map(|d| &d.comparisons).collect();
    let mismatches = comparisons
        .iter()
        .filter(|c| c.result_check.status == CheckStatus::Mismatch)
        .count();
    let failed_expectations: usize = comparisons
        .iter()
        .map(|c| c.expectations.iter().filter(|e| !e.held).count())
        .sum();
    let variants: Vec<_> = comparisons.iter().flat_map(|c| &c.variants).collect();
    let timeouts = variants
        .iter()
        .filter(|v| matches!(v.status, VariantStatus::TimedOut { .. }))
        .count();
    let failures = variants
        .iter()
        .filter(|v| matches!(v.status, VariantStatus::Failed { .. }))
        .count();
    let mut parts = vec![format!("{} comparisons", comparisons.len())];
    for (n, what) in [
        (mismatches, "result mismatches"),
        (failed_expectations, "failed expectations"),
        (timeouts, "timed-out variants"),
        (failures, "failed variants"),
    ] {
        if n > 0 {
            let mark = if what.starts_with("timed") {
                "⚠️"
            } else {
                "❌"
            };
            parts.push(format!("{mark} {n} {what}"));
        }
    }
    if parts.len() == 1 {
        parts.push("✅ every expectation held, every result matched".into());
    }
    let _ = writeln!(out, "{}\n", parts.join(" · "));
}

fn changes(base: &RunResults, new: &RunResults, out: &mut String) {
    let all = changes::changes(base, new);
    let _ = writeln!(
        out,
        "## querylab: {} — run against run\n\n{}\n",
        md(&new.settings.scenario),
        md(&all.tally())
    );
    // Unchanged variants make a PR comment long and say nothing; they are counted above.
    let listed: Vec<_> = all
        .variants()
        .filter(|(_, v)| {
            v.direction() != Direction::Same
                || v.plan().is_some()
                || v.verdict
                    .as_ref()
                    .is_some_and(|x| x.outcome != Outcome::Unchanged)
        })
        .collect();
    if listed.is_empty() {
        out.push_str("No variant changed detectably.\n\n");
        return;
    }
    out.push_str(
        "| Comparison | Variant | Base | New | Change | Plan | Check |\n|---|---|---:|---:|---|---|---|\n",
    );
    for (c, v) in listed {
        let plan = v
            .plan()
            .map(|(a, b)| format!("⚠️ {} → {}", md(a), md(b)))
            .unwrap_or_else(|| if v.blocks().is_some() { "same" } else { "–" }.into());
        let change = md(&v.change_text());
        let change = if v.direction() == Direction::Slower {
            format!("**{change}**")
        } else {
            change
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {change} | {plan} | {} |",
            md(&c.title),
            md(&v.name),
            md(&changes::median_text(v.base)),
            md(&changes::median_text(v.new)),
            md(&v.verdict_text())
        );
    }
    out.push('\n');
}
