//! `querylab check`: regression verdicts between a baseline and a current results file.
//!
//! Two kinds of signal, gated differently (the full rules are in `docs/check.md`):
//!
//! - **deterministic**, gated strictly: plan shape (node types, indexes, join
//!   types), shared blocks hit + read, rows, result digests, status. These repeat
//!   exactly on the same data, seed and server version, so a change beyond a small
//!   tolerance is real whatever the clock says.
//! - **timing**, gated statistically: a slowdown fails only when it is both beyond
//!   `time_threshold` and significant, with an interval that accounts for noise within
//!   the run, scatter between runs and the number of variants, after removing the
//!   machine factor that makes every variant slower on another runner.
//!
//! Typical use (the CLI does the same; tests match on [`FindingKind`]):
//!
//! ```no_run
//! # fn main() -> querylab::Result<()> {
//! use querylab::check::{self, CheckOptions};
//! use querylab::results::RunResults;
//! let base = RunResults::read("fixtures/baselines/ci/results.json".as_ref())?;
//! let cur = RunResults::read("reports/latest/results.json".as_ref())?;
//! check::compatibility(&base, &cur)?;
//! let report = check::compare(&base, &cur, &CheckOptions::default());
//! print!("{}", check::render_table(&report));
//! std::process::exit(report.exit_code());
//! # }
//! ```
//!
//! # Layout
//!
//! - this file: [`CheckOptions`], [`CheckReport`], [`compatibility`];
//! - `compare.rs`: [`compare`], pairing datasets, comparisons and variants present on
//!   either side, then the two passes (deterministic, timing);
//! - `confirm.rs`: [`confirm`], a second measurement for timing-only regressions;
//! - `now.rs`: [`check()`], the whole check as the CLI makes it (measure now, confirm);
//! - `verdict.rs`: [`Verdict`], [`Finding`], [`Outcome`];
//! - `gates.rs`: the deterministic gates; `timing.rs`: the statistical gate;
//! - `table.rs`, `markdown.rs`, `json.rs`, `bmf.rs`: one file per output format.

mod bmf;
mod cells;
mod compare;
mod confirm;
mod gates;
mod json;
mod markdown;
mod now;
mod prices;
mod table;
mod timing;
mod verdict;
mod workload;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::results::{RunResults, RunStatus};

pub use bmf::render_bmf;
pub use compare::compare;
pub(crate) use compare::pair_datasets;
pub use confirm::confirm;
pub use json::render_json;
pub use markdown::{append_step_summary, render_markdown};
pub use now::{Checked, Current, Remeasure, check};
pub use table::render_table;
pub use verdict::{
    CounterChange, Finding, FindingKind, Outcome, PlanChange, Severity, TimingChange, Verdict,
};

/// Exit code: no regression.
pub const EXIT_OK: i32 = 0;
/// Exit code: at least one regression.
pub const EXIT_REGRESSION: i32 = 1;
/// Exit code: the check could not be made (unreadable or incompatible files, no database).
pub const EXIT_ERROR: i32 = 2;

/// How strict the check is. Plain data, serialized into the verdicts file so a
/// verdict says how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckOptions {
    /// Smallest median slowdown that can fail the check, as a fraction (default 0.10 = 10%).
    pub time_threshold: f64,
    /// Confidence level of the timing intervals (default 0.95), for the check as a
    /// whole: it is shared out over every timed variant (Bonferroni), so noise alone
    /// fails a check with at most `1 - confidence` probability however many variants
    /// there are. A slowdown is significant when its whole interval lies above 1.
    pub confidence: f64,
    /// Fewest samples per side for timing to be gated (default 5); below it a slowdown
    /// is only a warning, because a bootstrap over a handful of samples is too sure of itself.
    pub min_samples: usize,
    /// Allowed relative change in shared blocks hit + read (default 0.10).
    pub buffers_tolerance: f64,
    /// Allowed absolute change in shared blocks, whatever the relative one (default 8):
    /// a point lookup going from 3 to 5 blocks is not a regression.
    pub buffers_floor: u64,
    /// Allowed relative change in rows returned (default 0: rows must match).
    pub rows_tolerance: f64,
    /// Allowed absolute change in rows returned (default 0).
    pub rows_floor: u64,
    /// Report timing, never gate on it, and report no timing improvements (default false).
    pub ignore_timing: bool,
    /// Report plan changes without failing on them (default false: a plan change fails
    /// the check, even a faster one, so the new plan is reviewed and the baseline
    /// re-recorded in the same pull request).
    pub allow_plan_change: bool,
    /// Fail when a variant's result digest differs from the baseline's (default true).
    pub check_results: bool,
    /// Divide out the machine factor before judging timing (default true).
    pub normalize_drift: bool,
    /// Fewest stable variants in a dataset to estimate the machine factor and the run
    /// scatter (default 5).
    pub min_drift_variants: usize,
    /// Widen each variant's interval by the run scatter: how much unchanged variants'
    /// ratios spread between these two runs (default true). The bootstrap only sees
    /// noise within one run; this adds the noise between runs.
    pub run_scatter: bool,
    /// Least run scatter assumed, as a log-scale standard deviation (default 0.02,
    /// about ±2%): the clock never repeats better than that between two runs, and
    /// with too few stable variants to measure the scatter it is all there is.
    pub run_scatter_floor: f64,
    /// Allowed relative change in a layout's or index set's table bytes (default
    /// 0.01): sizes repeat exactly on the same data, seed and server version.
    pub bytes_tolerance: f64,
    /// Allowed relative change in the WAL records and bytes of a measured write
    /// (default 0.05; see docs/check.md for how exactly they repeat).
    pub wal_tolerance: f64,
    /// Smallest slowdown, in nanoseconds per execution after the machine factor, that
    /// can fail the check (default 100,000 = 100 µs). Below it a sample's time on a
    /// shared runner is the client round trip and the scheduler more than the query
    /// (seen: an unchanged 78 µs lookup measured at 154 µs on a fresh server, twice);
    /// a sub-millisecond query that really got worse shows in its plan or blocks,
    /// which are gated whatever the clock says. Smaller slowdowns are warnings.
    pub time_floor_ns: f64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            time_threshold: 0.10,
            confidence: 0.95,
            min_samples: 5,
            buffers_tolerance: 0.10,
            buffers_floor: 8,
            rows_tolerance: 0.0,
            rows_floor: 0,
            ignore_timing: false,
            allow_plan_change: false,
            check_results: true,
            normalize_drift: true,
            min_drift_variants: 5,
            run_scatter: true,
            run_scatter_floor: 0.02,
            time_floor_ns: 100_000.0,
            bytes_tolerance: 0.01,
            wal_tolerance: 0.05,
        }
    }
}

impl CheckOptions {
    /// Refuses values that would make the check meaningless, naming the flag.
    pub fn validate(&self) -> Result<()> {
        let bad = |flag: &str, v: f64, want: &str| {
            Err(Error::Invalid(format!("--{flag} {v}: must be {want}")))
        };
        if !(self.time_threshold.is_finite() && self.time_threshold >= 0.0) {
            return bad(
                "time-threshold",
                self.time_threshold,
                "a fraction ≥ 0, e.g. 0.10 for 10%",
            );
        }
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return bad(
                "confidence",
                self.confidence,
                "between 0.5 and 1, e.g. 0.95",
            );
        }
        if !(self.buffers_tolerance.is_finite() && self.buffers_tolerance >= 0.0) {
            return bad(
                "buffers-tolerance",
                self.buffers_tolerance,
                "a fraction ≥ 0, e.g. 0.10",
            );
        }
        if !(self.rows_tolerance.is_finite() && self.rows_tolerance >= 0.0) {
            return bad(
                "rows-tolerance",
                self.rows_tolerance,
                "a fraction ≥ 0, e.g. 0",
            );
        }
        for (flag, v) in [
            ("bytes-tolerance", self.bytes_tolerance),
            ("wal-tolerance", self.wal_tolerance),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(flag, v, "a fraction ≥ 0, e.g. 0.01");
            }
        }
        if !(self.time_floor_ns.is_finite() && self.time_floor_ns >= 0.0) {
            return bad(
                "time-floor-us",
                self.time_floor_ns / 1000.0,
                "microseconds ≥ 0, e.g. 100",
            );
        }
        Ok(())
    }
}

/// Who made a results file, for the report header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Git revision the run was made from.
    pub git_revision: Option<String>,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// querylab version.
    pub querylab_version: String,
    /// Host name of the machine.
    pub hostname: Option<String>,
    /// Scenario name.
    pub scenario: String,
    /// Scenario text hash.
    pub scenario_hash: String,
    /// `complete`, `running` or `partial: reason`.
    pub status: String,
}

impl RunSummary {
    pub(crate) fn of(r: &RunResults) -> Self {
        RunSummary {
            git_revision: r.git_revision.clone(),
            started_at: r.started_at,
            querylab_version: r.querylab_version.clone(),
            hostname: r.machine.hostname.clone(),
            scenario: r.settings.scenario.clone(),
            scenario_hash: r.settings.scenario_hash.clone(),
            status: match &r.status {
                RunStatus::Complete => "complete".into(),
                RunStatus::Running => "running".into(),
                RunStatus::Partial { reason } => format!("partial: {reason}"),
            },
        }
    }

    /// Short label: abbreviated revision, or the start time.
    pub fn label(&self) -> String {
        match &self.git_revision {
            Some(rev) => rev.get(..10).unwrap_or(rev).to_string(),
            None => self.started_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

/// The machine factor estimated for one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Current dataset key.
    pub dataset: String,
    /// Median raw ratio (current / baseline) over stable variants; `None` when too few.
    pub factor: Option<f64>,
    /// Measured log-scale spread of the stable variants' ratios around the factor
    /// (0.03 ≈ unchanged variants moved by about ±3% between the runs).
    pub scatter: Option<f64>,
    /// Between-run standard deviation actually added to every interval: the scatter
    /// (at least the floor), inflated for the machine factor's own uncertainty.
    pub run_scatter: Option<f64>,
    /// Stable variants they were estimated from.
    pub stable_variants: usize,
    /// Whether baseline and current ran on the same machine and server version.
    pub same_environment: bool,
}

/// Everything `querylab check` concluded; serialized as the JSON verdicts file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The baseline run.
    pub baseline: RunSummary,
    /// The current run.
    pub current: RunSummary,
    /// Options in force.
    pub options: CheckOptions,
    /// One verdict per variant in either run, in catalog order (current first, then
    /// what only the baseline has).
    pub verdicts: Vec<Verdict>,
    /// Verdicts that fail the check.
    pub regressions: usize,
    /// Verdicts with a warning (possible slowdowns and the like), not failing.
    pub warnings: usize,
    /// Verdicts that improved.
    pub improvements: usize,
    /// Verdicts for variants only the current run has.
    pub new: usize,
    /// Verdicts with nothing to report.
    pub unchanged: usize,
    /// Baseline variants the current run did not select.
    pub skipped: usize,
    /// Machine factor per dataset.
    pub drift: Vec<Drift>,
    /// Differences between the runs' environments worth knowing when reading the verdicts.
    pub notes: Vec<String>,
}

impl CheckReport {
    /// [`EXIT_REGRESSION`] when any verdict is a regression, else [`EXIT_OK`].
    pub fn exit_code(&self) -> i32 {
        if self.regressions > 0 {
            EXIT_REGRESSION
        } else {
            EXIT_OK
        }
    }

    /// The first verdict for `comparison` / `variant` (any dataset).
    pub fn verdict(&self, comparison: &str, variant: &str) -> Option<&Verdict> {
        self.verdicts
            .iter()
            .find(|v| v.comparison == comparison && v.variant == variant)
    }

    /// The verdict for `comparison` / `variant` on dataset `dataset`.
    pub fn verdict_in(&self, dataset: &str, comparison: &str, variant: &str) -> Option<&Verdict> {
        self.verdicts
            .iter()
            .find(|v| v.dataset == dataset && v.comparison == comparison && v.variant == variant)
    }

    /// One line: `2 regressions, 1 warning, 3 improved, 40 unchanged, 1 new`.
    pub fn summary_line(&self) -> String {
        let mut parts = vec![plural(self.regressions, "regression", "regressions")];
        for (n, one, many) in [
            (self.warnings, "warning", "warnings"),
            (self.improvements, "improvement", "improvements"),
            (self.unchanged, "unchanged", "unchanged"),
            (self.new, "new", "new"),
            (self.skipped, "skipped", "skipped"),
        ] {
            if n > 0 {
                parts.push(plural(n, one, many));
            }
        }
        parts.join(", ")
    }

    pub(crate) fn count(&mut self) {
        let n = |o: Outcome| self.verdicts.iter().filter(|v| v.outcome == o).count();
        (
            self.regressions,
            self.warnings,
            self.improvements,
            self.new,
            self.unchanged,
            self.skipped,
        ) = (
            n(Outcome::Regression),
            n(Outcome::Warning),
            n(Outcome::Improvement),
            n(Outcome::New),
            n(Outcome::Unchanged),
            n(Outcome::Skipped),
        );
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Refuses a baseline that cannot be compared with the current run: a different
/// seed, different sizes or a different scenario make every counter differ for
/// reasons unrelated to the change under review.
///
/// A scenario with the same name whose text changed (a rewritten query, a new
/// index set) is accepted on purpose: checking such edits is what the gate is for.
/// [`compare`] notes the change and marks the variants whose definition moved.
pub fn compatibility(baseline: &RunResults, current: &RunResults) -> Result<()> {
    let (b, c) = (&baseline.settings, &current.settings);
    // Sizes as a set: `--rows 1e5,1e4` and `--rows 1e4,1e5` measure the same thing.
    let sizes = |r: &[u64]| {
        let mut v = r.to_vec();
        v.sort_unstable();
        v.dedup();
        v.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
    };
    let mut problems = Vec::new();
    if b.scenario != c.scenario {
        problems.push(format!(
            "scenario `{}` (baseline) vs `{}` (current)",
            b.scenario, c.scenario
        ));
    }
    if b.seed != c.seed {
        problems.push(format!(
            "seed {} (baseline) vs {} (current)",
            b.seed, c.seed
        ));
    }
    if sizes(&b.rows) != sizes(&c.rows) {
        problems.push(format!(
            "rows {} (baseline) vs {} (current)",
            sizes(&b.rows),
            sizes(&c.rows)
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "baseline does not match the current run: {}; re-record the baseline with the current settings (`querylab run --scenario {} --seed {} --rows {} --out fixtures/baselines/<name>`, then commit its results.json) or run the check with the baseline's (--scenario {} --seed {} --rows {})",
        problems.join(", "),
        c.scenario_source,
        c.seed,
        sizes(&c.rows),
        b.scenario_source,
        b.seed,
        sizes(&b.rows),
    )))
}
