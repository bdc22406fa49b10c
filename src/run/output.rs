//! Where a run's files go and what is left when it fails: the output directory
//! (by default `reports/<timestamp>`, with `reports/latest` pointing at it), the
//! reports rendered from results.json, and — when the run stops early — the partial
//! results rendered too, so that whatever was measured can be read.

use std::path::{Path, PathBuf};

use super::{RunConfig, run};
use crate::catalog::Scenario;
use crate::error::{Error, Result};
use crate::report::{ReportFiles, write_reports};
use crate::results::RunResults;
use crate::shutdown::Shutdown;

/// A finished run and the reports rendered from it.
#[derive(Debug, Clone)]
pub struct Finished {
    /// What was measured (also in `out_dir/results.json`).
    pub results: RunResults,
    /// Path of `out_dir/results.json`.
    pub results_path: PathBuf,
    /// The HTML and Markdown reports.
    pub files: ReportFiles,
}

/// `reports/<prefix><timestamp>`: a new directory per run, in local time.
pub fn timestamped_dir(prefix: &str) -> PathBuf {
    PathBuf::from("reports").join(format!(
        "{prefix}{}",
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    ))
}

/// Runs `scenario` as `cfg` says and renders the reports next to results.json.
/// With `link_latest` (the default output directory), `reports/latest` points at
/// the run's directory from the start. On an error, the partial results are
/// rendered and one line on stderr says where they are, before the error returns.
pub async fn run_and_report(
    cfg: &RunConfig,
    scenario: &Scenario,
    link_latest: bool,
    shutdown: &Shutdown,
) -> Result<Finished> {
    // Refused before anything is created or provisioned.
    super::check_images(&cfg.images)?;
    scenario.select(cfg.only.as_deref())?;
    if link_latest {
        std::fs::create_dir_all(&cfg.out_dir).map_err(|e| Error::io(&cfg.out_dir, e))?;
        point_latest_at(&cfg.out_dir);
    }
    let results_path = cfg.out_dir.join("results.json");
    let results = match run(cfg, scenario, shutdown).await {
        Ok(r) => r,
        Err(e) => {
            keep_partial(&results_path, &cfg.out_dir);
            return Err(e);
        }
    };
    let files = write_reports(std::slice::from_ref(&results), &cfg.out_dir)?;
    Ok(Finished {
        results,
        results_path,
        files,
    })
}

/// Renders the partial results in `results_path`, if any, and says where they are.
fn keep_partial(results_path: &Path, out_dir: &Path) {
    let Ok(partial) = RunResults::read(results_path) else {
        return;
    };
    let measured: usize = partial.datasets.iter().map(|d| d.comparisons.len()).sum();
    let report = write_reports(&[partial], out_dir);
    eprintln!(
        "querylab: partial results ({measured} comparisons measured) kept in {}{}",
        results_path.display(),
        report
            .map(|f| format!(" (report: {})", f.html.display()))
            .unwrap_or_default()
    );
}

/// Points `latest` beside `dir` at `dir` (best effort: a symlink where supported).
fn point_latest_at(dir: &Path) {
    let Some(parent) = dir.parent() else { return };
    let latest = parent.join("latest");
    let _ = std::fs::remove_file(&latest);
    #[cfg(unix)]
    if let Some(name) = dir.file_name() {
        let _ = std::os::unix::fs::symlink(name, &latest);
    }
}
