//! The deterministic gates: status, plan shape, shared blocks, rows, result digests.
//!
//! Counters come from a plan pass with parallelism and JIT off on frozen, analyzed
//! data, so on the same data, seed and server version they repeat exactly; any
//! difference beyond a small tolerance is a real change, whatever the clock says.

use super::CheckOptions;
use super::timing::{self, RawTiming};
use super::verdict::{CounterChange, FindingKind, PlanChange, Severity, Verdict};
use crate::results::{
    CheckStatus, ComparisonResult, Counters, ResultOrder, VariantResult, VariantStatus,
};
use crate::units::{count, duration_ns, percent};

/// A verdict in the making: deterministic findings are in; timing waits for the
/// dataset's machine factor.
pub(crate) struct Draft {
    pub verdict: Verdict,
    /// Timing of both runs, when both finished with samples.
    pub raw: Option<RawTiming>,
    /// No deterministic change and enough samples: usable to estimate the machine factor.
    pub stable: bool,
}

/// Judges a variant present in both runs.
pub(crate) fn judge_pair(
    dataset: &str,
    cur_cmp: &ComparisonResult,
    base: &VariantResult,
    cur: &VariantResult,
    opts: &CheckOptions,
) -> Draft {
    let mut v = Verdict::new(dataset, &cur_cmp.id, &cur.name);
    result_mismatch(&mut v, cur_cmp, cur);
    let both_ok = status(&mut v, Some(base), cur);
    if !both_ok {
        return Draft {
            verdict: v,
            raw: None,
            stable: false,
        };
    }
    definition(&mut v, base, cur);
    if let (Some(b), Some(c)) = (&base.workload, &cur.workload) {
        super::workload::judge(&mut v, b, c, opts);
        return Draft {
            verdict: v,
            raw: None,
            stable: false,
        };
    }
    match (&base.counters, &cur.counters) {
        (Some(b), Some(c)) => {
            plan(&mut v, b, c, opts);
            blocks(&mut v, b, c, opts);
            rows(&mut v, b, c, opts);
        }
        (b, c) => {
            let side = match (b, c) {
                (None, None) => "either run",
                (None, _) => "the baseline",
                _ => "the current run",
            };
            v.push(
                FindingKind::NoCounters,
                Severity::Warning,
                format!(
                    "no plan counters in {side}: plan shape and shared blocks were not compared"
                ),
            );
        }
    }
    if opts.check_results {
        digest(&mut v, base, cur);
    }
    let raw = timing::measure(&base.samples_ns, &cur.samples_ns);
    let stable = v.findings.is_empty()
        && raw.is_some_and(|r| r.base_n >= opts.min_samples && r.cur_n >= opts.min_samples);
    Draft {
        verdict: v,
        raw,
        stable,
    }
}

/// Judges a variant only the current run has: new, unless it is broken.
pub(crate) fn judge_new(dataset: &str, cur_cmp: &ComparisonResult, cur: &VariantResult) -> Verdict {
    let mut v = Verdict::new(dataset, &cur_cmp.id, &cur.name);
    v.push(FindingKind::New, Severity::Info, "new: not in the baseline");
    result_mismatch(&mut v, cur_cmp, cur);
    status(&mut v, None, cur);
    v.settle();
    v
}

/// Judges a variant only the baseline has.
pub(crate) fn judge_missing(
    dataset: &str,
    comparison: &str,
    variant: &str,
    selected: bool,
) -> Verdict {
    let mut v = Verdict::new(dataset, comparison, variant);
    if selected {
        v.push(
            FindingKind::Missing,
            Severity::Regression,
            "missing from the current run (it is in the baseline)",
        );
    } else {
        v.push(
            FindingKind::NotSelected,
            Severity::Info,
            "not selected by the current run's --only",
        );
    }
    v.settle();
    v
}

/// Status gate; returns true when both runs finished normally and can be compared further.
fn status(v: &mut Verdict, base: Option<&VariantResult>, cur: &VariantResult) -> bool {
    use VariantStatus::{Failed, Ok, TimedOut};
    match (base.map(|b| &b.status), &cur.status) {
        (_, Failed { message }) => {
            v.push(
                FindingKind::Failed,
                Severity::Regression,
                format!("failed: {message}"),
            );
            false
        }
        (Some(TimedOut { .. }), TimedOut { timeout_ns }) => {
            v.push(
                FindingKind::StillTimedOut,
                Severity::Info,
                format!(
                    "timed out in both runs (statement_timeout {})",
                    duration_ns(*timeout_ns as f64)
                ),
            );
            false
        }
        (_, TimedOut { timeout_ns }) => {
            v.push(
                FindingKind::TimedOut,
                Severity::Regression,
                format!(
                    "timed out (statement_timeout {})",
                    duration_ns(*timeout_ns as f64)
                ),
            );
            false
        }
        (Some(Failed { .. } | TimedOut { .. }), Ok) => {
            v.push(
                FindingKind::Recovered,
                Severity::Improvement,
                "finishes now (the baseline failed or timed out)",
            );
            false
        }
        (None, Ok) => false,
        (Some(Ok), Ok) => true,
    }
}

/// Result cross-check of the current comparison: a variant whose rows differ from
/// the reference variant's is a regression, with or without a baseline.
fn result_mismatch(v: &mut Verdict, cmp: &ComparisonResult, cur: &VariantResult) {
    if cmp.result_check.status != CheckStatus::Mismatch || cmp.result_order == ResultOrder::None {
        return;
    }
    let reference = cmp.variant(&cmp.reference).and_then(|r| r.result.as_ref());
    let attributable = reference.is_some()
        && cmp.variants.iter().any(|x| {
            x.result
                .as_ref()
                .is_some_and(|d| Some(&d.hash) != reference.map(|r| &r.hash))
        });
    let differs = match (reference, &cur.result) {
        _ if !attributable => true,
        (Some(r), Some(d)) => r.hash != d.hash,
        _ => false,
    };
    if differs {
        let details = if cmp.result_check.details.is_empty() {
            String::new()
        } else {
            format!(": {}", cmp.result_check.details.join("; "))
        };
        v.push(
            FindingKind::ResultMismatch,
            Severity::Regression,
            format!(
                "rows differ from the reference variant {}'s{details}",
                cmp.reference
            ),
        );
    }
}

/// Notes what changed in the variant's definition (a rewrite is the point of many
/// pull requests; the gates still apply to it).
fn definition(v: &mut Verdict, b: &VariantResult, c: &VariantResult) {
    let mut what = Vec::new();
    if b.sql != c.sql {
        what.push("SQL");
    }
    if b.params != c.params {
        what.push("parameters");
    }
    if b.index_set != c.index_set || b.index_ddl != c.index_ddl {
        what.push("index set");
    }
    if b.protocol != c.protocol {
        what.push("protocol");
    }
    if b.executions_per_sample != c.executions_per_sample {
        what.push("executions per sample");
    }
    if !what.is_empty() {
        v.push(
            FindingKind::DefinitionChanged,
            Severity::Info,
            format!("changed since the baseline: {}", what.join(", ")),
        );
    }
}

/// Plan shape gate: node types (as a set, then order), indexes, join types.
fn plan(v: &mut Verdict, b: &Counters, c: &Counters, opts: &CheckOptions) {
    let mut diff = Vec::new();
    set_diff(&mut diff, "node", &b.node_types, &c.node_types);
    set_diff(&mut diff, "index", &b.indexes, &c.indexes);
    set_diff(&mut diff, "join", &b.joins, &c.joins);
    if diff.is_empty() && b.node_types != c.node_types {
        diff.push(format!(
            "node order {} → {}",
            b.node_types.join(", "),
            c.node_types.join(", ")
        ));
    }
    if diff.is_empty() {
        return;
    }
    let text = format!(
        "plan changed: `{}` → `{}` ({})",
        b.plan_head,
        c.plan_head,
        diff.join(", ")
    );
    if opts.allow_plan_change {
        v.push(
            FindingKind::PlanChanged,
            Severity::Info,
            format!("{text}; allowed"),
        );
    } else {
        v.push(FindingKind::PlanChanged, Severity::Regression, text);
    }
    v.plan = Some(PlanChange {
        baseline: b.plan_head.clone(),
        current: c.plan_head.clone(),
        differences: diff,
    });
}

fn set_diff(out: &mut Vec<String>, what: &str, b: &[String], c: &[String]) {
    out.extend(
        b.iter()
            .filter(|x| !c.contains(x))
            .map(|x| format!("-{what} {x}")),
    );
    out.extend(
        c.iter()
            .filter(|x| !b.contains(x))
            .map(|x| format!("+{what} {x}")),
    );
}

/// Allowed absolute difference: `relative` of the baseline value, at least `floor`.
fn allowance(base: u64, relative: f64, floor: u64) -> f64 {
    (base as f64 * relative).max(floor as f64)
}

/// Shared blocks gate: up beyond tolerance regresses, down beyond it improves.
fn blocks(v: &mut Verdict, b: &Counters, c: &Counters, opts: &CheckOptions) {
    let ch = CounterChange {
        baseline: b.shared_blocks(),
        current: c.shared_blocks(),
    };
    v.blocks = Some(ch);
    let allowed = allowance(ch.baseline, opts.buffers_tolerance, opts.buffers_floor);
    let delta = ch.current as f64 - ch.baseline as f64;
    let text = format!(
        "shared blocks {} → {} ({}; tolerance {:.0}% or {} blocks)",
        count(ch.baseline),
        count(ch.current),
        percent(ch.relative() + 1.0),
        opts.buffers_tolerance * 100.0,
        opts.buffers_floor
    );
    if delta > allowed {
        v.push(
            FindingKind::BlocksUp,
            Severity::Regression,
            format!("more {text}"),
        );
    } else if -delta > allowed {
        v.push(
            FindingKind::BlocksDown,
            Severity::Improvement,
            format!("fewer {text}"),
        );
    }
}

/// Rows gate: the top node returning a different number of rows means the query
/// does something else now.
fn rows(v: &mut Verdict, b: &Counters, c: &Counters, opts: &CheckOptions) {
    let ch = CounterChange {
        baseline: b.rows,
        current: c.rows,
    };
    v.rows = Some(ch);
    let allowed = allowance(ch.baseline, opts.rows_tolerance, opts.rows_floor);
    if (ch.current as f64 - ch.baseline as f64).abs() > allowed {
        v.push(
            FindingKind::RowsChanged,
            Severity::Regression,
            format!(
                "rows returned {} → {}",
                count(ch.baseline),
                count(ch.current)
            ),
        );
    }
}

/// Result digest gate: same data and seed, so the same query must return the same rows.
fn digest(v: &mut Verdict, b: &VariantResult, c: &VariantResult) {
    if let (Some(bd), Some(cd)) = (&b.result, &c.result)
        && bd.ordered == cd.ordered
        && bd.hash != cd.hash
    {
        v.push(
            FindingKind::ResultChanged,
            Severity::Regression,
            format!(
                "returns different rows than in the baseline ({} → {} rows, digest {} → {})",
                count(bd.rows),
                count(cd.rows),
                short(&bd.hash),
                short(&cd.hash)
            ),
        );
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
