//! The Markdown rendering for a CI job summary (`$GITHUB_STEP_SUMMARY`) or a pull
//! request comment: what needs attention first, every variant in a folded table.

use std::io::Write as _;
use std::path::Path;

use super::CheckReport;
use super::cells::Cells;
use super::table::dataset_title;
use super::verdict::{Outcome, Severity, Verdict};
use crate::error::{Error, Result};
use crate::escape::{md_cell, md_code, md_text};
use crate::units::level;

/// Renders the report as GitHub-flavoured Markdown.
pub fn render_markdown(report: &CheckReport) -> String {
    let o = &report.options;
    let icon = if report.regressions > 0 { "❌" } else { "✅" };
    let mut out = format!(
        "## {icon} querylab check: {}\n\nBaseline {} vs current {}. Gates: plan shape{}, shared blocks ±{:.0}% (min {} blocks), rows, results; timing slower by ≥ {:.0}% **and** significant at {} confidence over the whole check{}.\n",
        report.summary_line(),
        md_code(&report.baseline.label()),
        md_code(&report.current.label()),
        if o.allow_plan_change {
            " (reported only)"
        } else {
            ""
        },
        o.buffers_tolerance * 100.0,
        o.buffers_floor,
        o.time_threshold * 100.0,
        level(o.confidence),
        if o.ignore_timing {
            " (timing ignored)"
        } else {
            ""
        },
    );

    let mut notable: Vec<&Verdict> = report
        .verdicts
        .iter()
        .filter(|v| {
            matches!(
                v.outcome,
                Outcome::Regression | Outcome::Warning | Outcome::Improvement
            )
        })
        .collect();
    notable.sort_by_key(|v| v.outcome);
    if !notable.is_empty() {
        out.push_str("\n| | Comparison / variant | Dataset | Median (base → current) | Change (CI) | Shared blocks | Why |\n|---|---|---|---|---|---|---|\n");
        for v in notable {
            let c = Cells::of(v);
            let why: Vec<String> = v
                .findings
                .iter()
                .filter(|f| f.severity != Severity::Info || v.findings.len() == 1)
                .map(|f| md_cell(&f.message))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                icon_of(v.outcome),
                md_code(&v.name()),
                md_cell(&v.dataset),
                c.median,
                c.change,
                c.blocks,
                why.join("<br>")
            ));
        }
    }

    out.push_str(&format!(
        "\n<details><summary>All {} variants</summary>\n\n",
        report.verdicts.len()
    ));
    let mut datasets: Vec<&str> = Vec::new();
    for v in &report.verdicts {
        if !datasets.contains(&v.dataset.as_str()) {
            datasets.push(&v.dataset);
        }
    }
    for ds in datasets {
        let drift = report.drift.iter().find(|d| d.dataset == ds);
        out.push_str(&format!(
            "**{}**\n\n| | Comparison / variant | Median (base → current) | Change (CI) | Shared blocks | Findings |\n|---|---|---|---|---|---|\n",
            md_text(&dataset_title(ds, drift))
        ));
        for v in report.verdicts.iter().filter(|v| v.dataset == ds) {
            let c = Cells::of(v);
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                icon_of(v.outcome),
                md_code(&v.name()),
                c.median,
                c.change,
                c.blocks,
                md_cell(&c.why)
            ));
        }
        out.push('\n');
    }
    out.push_str("</details>\n");

    if !report.notes.is_empty() {
        out.push_str("\n**Notes**\n\n");
        for n in &report.notes {
            out.push_str(&format!("- {}\n", md_text(n)));
        }
    }
    out
}

/// Appends `markdown` to the job summary file (the value of `$GITHUB_STEP_SUMMARY`,
/// which the caller reads: the library does not read the environment). The file is
/// created when missing, as GitHub does.
pub fn append_step_summary(summary_path: &Path, markdown: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(summary_path)
        .map_err(|e| Error::io(summary_path, e))?;
    f.write_all(markdown.as_bytes())
        .and_then(|()| {
            if markdown.ends_with('\n') {
                Ok(())
            } else {
                f.write_all(b"\n")
            }
        })
        .map_err(|e| Error::io(summary_path, e))
}

fn icon_of(o: Outcome) -> &'static str {
    match o {
        Outcome::Regression => "❌",
        Outcome::Warning => "⚠️",
        Outcome::Improvement => "🚀",
        Outcome::New => "🆕",
        Outcome::Unchanged => "✅",
        Outcome::Skipped => "⏭️",
    }
}
