//! A whole check as `querylab check` makes it: against a current results file, or
//! measuring the baseline's comparisons now and re-measuring any timing-only
//! slowdown once before it can fail.

use std::path::PathBuf;

use super::{CheckOptions, CheckReport, compare, compatibility, confirm};
use crate::catalog::{self, Scenario};
use crate::error::Result;
use crate::provision::ProvisionConfig;
use crate::results::RunResults;
use crate::run::{RunConfig, run};
use crate::shutdown::Shutdown;

/// What the baseline is compared with.
#[derive(Debug)]
pub enum Current {
    /// A results file already measured (`--current`).
    Results(Box<RunResults>),
    /// Measure now, with this scenario and configuration.
    Measure(Box<Remeasure>),
}

/// A measurement made by the check itself.
#[derive(Debug, Clone)]
pub struct Remeasure {
    /// The scenario measured (the baseline's).
    pub scenario: Scenario,
    /// The run: the baseline's seed, sizes, selection, sampling and protocol.
    pub config: RunConfig,
}

impl Remeasure {
    /// The baseline's scenario, seed, sizes, selection, sampling and protocol, on a
    /// server from `provision`; at least `min_samples` timed samples per variant.
    pub fn from_baseline(
        baseline: &RunResults,
        provision: ProvisionConfig,
        out_dir: PathBuf,
        min_samples: u32,
        quiet: bool,
    ) -> Result<Self> {
        let scenario = catalog::from_arg(Some(&baseline.settings.scenario_source))?;
        let mut config = RunConfig::from_settings(&baseline.settings, provision, out_dir, quiet);
        let sampling = &mut config.measure.sampling;
        sampling.min_samples = sampling.min_samples.max(min_samples);
        Ok(Remeasure { scenario, config })
    }
}

/// A finished check: the verdicts and the current run they judged.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The verdicts, after any re-measurement.
    pub report: CheckReport,
    /// The current run as first measured (or read).
    pub current: RunResults,
}

/// Compares `baseline` with `current`. When the check measures the current run
/// itself, the comparisons whose only regressions are timing are measured once more
/// (into `out_dir/confirm`) and a slowdown fails only if that second measurement
/// shows it too: a burst of load during one variant's window, or one server's luck,
/// must not fail a build.
pub async fn check(
    baseline: &RunResults,
    current: Current,
    opts: &CheckOptions,
    shutdown: &Shutdown,
) -> Result<Checked> {
    opts.validate()?;
    let (current, remeasure) = match current {
        Current::Results(r) => (*r, None),
        Current::Measure(m) => (run(&m.config, &m.scenario, shutdown).await?, Some(m)),
    };
    compatibility(baseline, &current)?;
    let mut report = compare(baseline, &current, opts);
    let todo = report.timing_only_regressions();
    if let (Some(m), false) = (remeasure, todo.is_empty()) {
        let mut again = m.config.clone();
        let mut ids: Vec<&str> = todo.iter().map(|(_, id)| id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        again.only = Some(ids.join(","));
        again.out_dir = m.config.out_dir.join("confirm");
        let second = run(&again, &m.scenario, shutdown).await?;
        report = confirm(&report, baseline, &current, &second, opts);
    }
    Ok(Checked { report, current })
}
