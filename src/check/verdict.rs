//! The verdict types: one [`Verdict`] per variant, made of [`Finding`]s.
//!
//! A verdict's [`Outcome`] is derived from its findings, never set by hand, so the
//! rule "any regression-level finding fails the check" lives in one place
//! ([`Verdict::outcome_of`]).

use serde::{Deserialize, Serialize};

/// The overall call on one variant, most severe first (the derived order sorts
/// regressions to the top of a report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// At least one gated finding: the check fails.
    Regression,
    /// Something worth a look that does not fail the check (a possible slowdown that is
    /// not significant, timing that could not be gated).
    Warning,
    /// Faster, fewer blocks, or recovered from a failure; nothing got worse.
    Improvement,
    /// In the current run only: nothing to compare against, never a failure.
    New,
    /// Nothing changed beyond tolerance and noise.
    Unchanged,
    /// In the baseline only, but the current run did not select it (`--only`).
    Skipped,
}

impl Outcome {
    /// Short lower-case label used in tables.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Regression => "REGRESSION",
            Outcome::Warning => "warning",
            Outcome::Improvement => "improved",
            Outcome::New => "new",
            Outcome::Unchanged => "ok",
            Outcome::Skipped => "skipped",
        }
    }
}

/// How much a finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Fails the check.
    Regression,
    /// Reported, does not fail the check.
    Warning,
    /// Something got better.
    Improvement,
    /// Context (a changed definition, a timing that was not gated and why).
    Info,
}

/// What a finding is about; tests and the CLI match on this rather than on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// In the baseline, absent from the current run.
    Missing,
    /// The current run reports the variant as failed.
    Failed,
    /// A current sample hit `statement_timeout` (the baseline's did not).
    TimedOut,
    /// Timed out in both runs: unchanged, reported for context.
    StillTimedOut,
    /// The current comparison's result cross-check found this variant's rows differ
    /// from the reference variant's.
    ResultMismatch,
    /// The variant's result digest differs from the baseline's.
    ResultChanged,
    /// Plan shape (node types, indexes, join types) differs from the baseline's.
    PlanChanged,
    /// Shared blocks (hit + read) went up beyond tolerance.
    BlocksUp,
    /// Shared blocks went down beyond tolerance.
    BlocksDown,
    /// Rows returned by the plan's top node changed beyond tolerance.
    RowsChanged,
    /// A layout's or index set's table grew beyond `--bytes-tolerance`.
    BytesUp,
    /// A layout's or index set's table shrank beyond `--bytes-tolerance`.
    BytesDown,
    /// WAL records or bytes of a write grew beyond `--wal-tolerance`.
    WalUp,
    /// WAL records or bytes of a write shrank beyond `--wal-tolerance`.
    WalDown,
    /// Median slower beyond the threshold, and significantly so.
    Slower,
    /// Median slower beyond the threshold, but not significantly (or too few samples).
    PossiblySlower,
    /// Median faster beyond the threshold, and significantly so.
    Faster,
    /// A timing-only slowdown that a second measurement showed again.
    Confirmed,
    /// Failed or timed out in the baseline, finishes now.
    Recovered,
    /// SQL, parameters, index set, protocol or executions per sample differ.
    DefinitionChanged,
    /// Timing was compared but could not be gated (why is in the message).
    TimingNotGated,
    /// One run has no plan counters, so plan and blocks could not be compared.
    NoCounters,
    /// Only in the current run.
    New,
    /// Only in the baseline, and the current run's `--only` did not select it.
    NotSelected,
    /// A workload level gave up transactions with a SQLSTATE the baseline's did not
    /// (or lost a client level the baseline measured).
    WorkloadErrors,
}

impl FindingKind {
    /// Short label for table cells.
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::Missing => "missing",
            FindingKind::Failed => "failed",
            FindingKind::TimedOut => "timed out",
            FindingKind::StillTimedOut => "timed out (both)",
            FindingKind::ResultMismatch => "result mismatch",
            FindingKind::ResultChanged => "result changed",
            FindingKind::PlanChanged => "plan changed",
            FindingKind::BlocksUp => "more blocks",
            FindingKind::BlocksDown => "fewer blocks",
            FindingKind::RowsChanged => "rows changed",
            FindingKind::BytesUp => "more bytes",
            FindingKind::BytesDown => "fewer bytes",
            FindingKind::WalUp => "more WAL",
            FindingKind::WalDown => "less WAL",
            FindingKind::Slower => "slower",
            FindingKind::PossiblySlower => "possible slowdown",
            FindingKind::Faster => "faster",
            FindingKind::Confirmed => "confirmed",
            FindingKind::Recovered => "recovered",
            FindingKind::DefinitionChanged => "edited",
            FindingKind::TimingNotGated => "timing not gated",
            FindingKind::NoCounters => "no counters",
            FindingKind::New => "new",
            FindingKind::NotSelected => "not selected",
            FindingKind::WorkloadErrors => "workload errors",
        }
    }
}

/// One observation about a variant, with its weight and a one-line explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// How much it weighs.
    pub severity: Severity,
    /// One line a person can act on.
    pub message: String,
}

impl Finding {
    /// Builds a finding.
    pub fn new(kind: FindingKind, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            kind,
            severity,
            message: message.into(),
        }
    }
}

/// A counter in both runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterChange {
    /// Baseline value.
    pub baseline: u64,
    /// Current value.
    pub current: u64,
}

impl CounterChange {
    /// `current / baseline - 1` (0 when both are 0, infinite when only the baseline is).
    pub fn relative(&self) -> f64 {
        if self.baseline == 0 {
            if self.current == 0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            self.current as f64 / self.baseline as f64 - 1.0
        }
    }
}

/// How the plan changed, when it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChange {
    /// Baseline plan head, e.g. `Limit > Index Scan using idx on t`.
    pub baseline: String,
    /// Current plan head.
    pub current: String,
    /// The differences, e.g. `node -Index Scan`, `node +Seq Scan`, `index -idx`.
    pub differences: Vec<String>,
}

/// The timing comparison of one variant (all ratios are current / baseline).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimingChange {
    /// Baseline median per sample.
    pub baseline_median_ns: f64,
    /// Current median per sample.
    pub current_median_ns: f64,
    /// Baseline sample count.
    pub baseline_n: usize,
    /// Current sample count.
    pub current_n: usize,
    /// Raw ratio of medians, before removing the machine factor.
    pub raw_ratio: f64,
    /// Machine factor divided out (1 when none was estimated).
    pub drift: f64,
    /// Log-scale standard deviation added to the interval for the between-run
    /// scatter of unchanged variants (with the machine factor's own uncertainty).
    pub run_scatter: f64,
    /// `raw_ratio / drift`: the figure the verdict is about.
    pub ratio: f64,
    /// Lower bound of the confidence interval of `ratio`: bootstrap and run scatter
    /// combined, at the check's confidence shared over every timed variant.
    pub ci_low: f64,
    /// Upper bound of the confidence interval of `ratio`.
    pub ci_high: f64,
    /// Whether the interval excludes 1.
    pub significant: bool,
    /// Whether a slowdown here could fail the check.
    pub gated: bool,
}

/// The call on one variant of one comparison on one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Dataset key (the current run's; the baseline's when missing from the current run).
    pub dataset: String,
    /// Comparison id.
    pub comparison: String,
    /// Variant name.
    pub variant: String,
    /// The call, derived from `findings`.
    pub outcome: Outcome,
    /// Everything noticed, most severe first.
    pub findings: Vec<Finding>,
    /// Timing, when both runs have samples.
    pub timing: Option<TimingChange>,
    /// Shared blocks hit + read, when both runs have counters.
    pub blocks: Option<CounterChange>,
    /// Rows of the plan's top node, when both runs have counters.
    pub rows: Option<CounterChange>,
    /// The plan difference, when the plan shape changed.
    pub plan: Option<PlanChange>,
}

impl Verdict {
    /// An empty verdict for a variant; findings are added, then [`Verdict::settle`] is called.
    pub(crate) fn new(dataset: &str, comparison: &str, variant: &str) -> Self {
        Verdict {
            dataset: dataset.to_string(),
            comparison: comparison.to_string(),
            variant: variant.to_string(),
            outcome: Outcome::Unchanged,
            findings: Vec::new(),
            timing: None,
            blocks: None,
            rows: None,
            plan: None,
        }
    }

    /// Adds a finding.
    pub(crate) fn push(
        &mut self,
        kind: FindingKind,
        severity: Severity,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding::new(kind, severity, message));
    }

    /// Sorts findings by severity and derives the outcome from them.
    pub(crate) fn settle(&mut self) {
        self.findings.sort_by_key(|f| f.severity);
        self.outcome = Self::outcome_of(&self.findings);
    }

    /// The rule: a regression-level finding makes a regression; otherwise a new or
    /// unselected variant says so; otherwise warnings, then improvements, win.
    pub fn outcome_of(findings: &[Finding]) -> Outcome {
        let any = |s: Severity| findings.iter().any(|f| f.severity == s);
        let kind = |k: FindingKind| findings.iter().any(|f| f.kind == k);
        if any(Severity::Regression) {
            Outcome::Regression
        } else if kind(FindingKind::New) {
            Outcome::New
        } else if kind(FindingKind::NotSelected) {
            Outcome::Skipped
        } else if any(Severity::Warning) {
            Outcome::Warning
        } else if any(Severity::Improvement) {
            Outcome::Improvement
        } else {
            Outcome::Unchanged
        }
    }

    /// True when a finding of this kind was made.
    pub fn has(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }

    /// `comparison / variant`, the name used in tables.
    pub fn name(&self) -> String {
        format!("{} / {}", self.comparison, self.variant)
    }

    /// The labels of the findings, most severe first and without repeats:
    /// `plan changed, more blocks, edited`.
    pub fn why(&self) -> String {
        // Findings are sorted by severity, so the label that decided the outcome leads.
        let mut labels: Vec<&str> = self.findings.iter().map(|f| f.kind.label()).collect();
        labels.dedup();
        labels.join(", ")
    }

    /// The most severe finding that is not context, if any: the "why" column.
    pub fn headline(&self) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| f.severity != Severity::Info)
            .or_else(|| self.findings.first())
    }
}
