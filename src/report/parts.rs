//! The leaf cells of the HTML report: small pieces of markup that the page and
//! every section use. Nothing here imports a section or the page, so the page
//! composes sections, sections compose parts, and nothing points back up.

use std::fmt::Write as _;

use crate::escape::html as esc;
use crate::results::{CheckStatus, ComparisonResult, Dataset, RunResults, RunStatus};
use crate::units::count;

use super::headline;

/// Anchor of comparison `ci` of dataset `di`.
pub(super) fn anchor(di: usize, ci: usize) -> String {
    format!("c{di}-{ci}")
}

/// `pg15-local · 1,000,000 rows`.
pub(super) fn dataset_title(d: &Dataset) -> String {
    format!("{} · {} rows", d.server.label, count(d.rows))
}

/// The banner of a run that is partial or still running (nothing for a complete one).
pub(super) fn status_banner(run: &RunResults, out: &mut String) {
    match &run.status {
        RunStatus::Complete => {}
        RunStatus::Running => out.push_str(
            "<p class=\"banner warn\">This run was still in progress when the report was made: some comparisons may be missing.</p>",
        ),
        RunStatus::Partial { reason } => {
            let _ = write!(
                out,
                "<p class=\"banner bad\">Partial run: {}. Everything below was measured before it stopped.</p>",
                esc(reason)
            );
        }
    }
}

/// First 10 characters of a git revision.
pub(super) fn short_rev(rev: &str) -> &str {
    rev.get(..10).unwrap_or(rev)
}

/// `✔ 3/3 held` or `✘ 1 of 3 failed`, with the failed ones listed when `list`.
pub(super) fn expectations_cell(c: &ComparisonResult, list: bool) -> String {
    let (held, total) = headline::expectations(c);
    if total == 0 {
        return "<span class=\"muted\">none</span>".into();
    }
    if held == total {
        return format!("<span class=\"good\">✔ {held}/{total} held</span>");
    }
    let mut s = format!(
        "<span class=\"bad\">✘ {} of {total} failed</span>",
        total - held
    );
    if !list {
        return s;
    }
    s.push_str("<ul class=\"failed\">");
    for e in c.expectations.iter().filter(|e| !e.held) {
        let _ = write!(s, "<li>{}</li>", esc(&e.description));
    }
    s.push_str("</ul>");
    s
}

/// Result check status as a coloured word.
pub(super) fn check_cell(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Match => "<span class=\"good\">✔ same rows</span>",
        CheckStatus::Mismatch => "<span class=\"badge bad\">✘ MISMATCH</span>",
        CheckStatus::Skipped => "<span class=\"muted\">– skipped</span>",
    }
}

/// A two-column table; values are already HTML.
pub(super) fn kv_table(title: &str, rows: &[(&str, String)], out: &mut String) {
    let _ = write!(out, "<table class=\"kv\"><caption>{title}</caption><tbody>");
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    out.push_str("</tbody></table>");
}

/// `complete`, `running` or `partial: reason`.
pub(super) fn status_word(s: &RunStatus) -> String {
    match s {
        RunStatus::Complete => "complete".into(),
        RunStatus::Running => "running".into(),
        RunStatus::Partial { reason } => format!("partial: {reason}"),
    }
}
