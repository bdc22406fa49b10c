//! Reports people read: one self-contained HTML file and a Markdown summary,
//! rendered from `results.json` alone (no database).
//!
//! # Layout
//!
//! - [`render_html`]: the HTML page. One run gives the normal report; two or more
//!   give a run-against-run report (the first run is the base).
//! - [`render_markdown`]: the short summary for CI job summaries and PR comments.
//! - [`write_reports`]: both, as `DIR/index.html` and `DIR/summary.md`.
//! - [`terminal`]: the table `querylab run` prints.
//! - Inside, in layers that only point down: `page` (the HTML document and its
//!   layout) composes `sections` (summary, one comparison, scaling, servers,
//!   environment, run-against-run changes), which build on `parts` (leaf cells),
//!   [`plan`] (the EXPLAIN tree of [`crate::explain`], rendered) and [`plot`] (one
//!   file per chart, plotters on an SVG string); `markdown` uses the same section
//!   models; `headline` is the one-line verdict of a comparison both formats share.
//!   Units come from [`crate::units`], escaping from [`crate::escape`].
//!
//! The HTML is one file with inline CSS and inline SVG and no JavaScript, so it
//! opens offline from `file://`, survives being attached to a CI run, and cannot be
//! made to run a script by a hostile scenario name: every string that came from a
//! scenario or the database goes through [`crate::escape`].

pub mod plan;
pub mod plot;

pub mod terminal;

mod headline;
mod markdown;
mod page;
mod parts;
mod sections;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::results::RunResults;

/// Paths of the files written by [`write_reports`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// `DIR/index.html`.
    pub html: PathBuf,
    /// `DIR/summary.md`.
    pub markdown: PathBuf,
}

/// Renders the HTML report: a normal report for one run; for two or more, the
/// change of every later run against the first (the base), followed by the full
/// report of the last run.
pub fn render_html(runs: &[RunResults]) -> String {
    page::render(runs)
}

/// Renders the Markdown summary: a table per dataset (comparison, winner,
/// speed-up, expectations, result check), medians side by side when one size was
/// measured on several servers; for two or more runs, the changes against the
/// first run.
pub fn render_markdown(runs: &[RunResults]) -> String {
    markdown::render(runs)
}

/// Writes `out_dir/index.html` and `out_dir/summary.md`, creating `out_dir`.
/// Each file is written to a temporary name and renamed, so a reader never sees a
/// half-written report.
pub fn write_reports(runs: &[RunResults], out_dir: &Path) -> Result<ReportFiles> {
    if runs.is_empty() {
        return Err(Error::Invalid(
            "no results to report: pass at least one results.json".into(),
        ));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let files = ReportFiles {
        html: out_dir.join("index.html"),
        markdown: out_dir.join("summary.md"),
    };
    write_atomic(&files.html, &render_html(runs))?;
    write_atomic(&files.markdown, &render_markdown(runs))?;
    Ok(files)
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}
