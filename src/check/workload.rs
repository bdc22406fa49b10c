//! Gates of a workload variant, level by level (client counts in both runs):
//! errors strictly — a SQLSTATE the baseline's level did not give up on is a
//! regression, as is a level the baseline measured and this run did not — and
//! throughput and p99 statistically, by the latency rule of [`super::timing`]
//! over the measurement windows. A broken invariant already failed the variant
//! (the status gate).

use super::CheckOptions;
use super::timing::{self, Noise};
use super::verdict::{FindingKind, Severity, Verdict};
use crate::results::WorkloadResult;
use crate::results::workload::LevelResult;

/// Adds the workload findings of one variant.
pub(crate) fn judge(
    v: &mut Verdict,
    base: &WorkloadResult,
    cur: &WorkloadResult,
    opts: &CheckOptions,
) {
    let pairs: Vec<(&LevelResult, Option<&LevelResult>)> = base
        .levels
        .iter()
        .map(|b| (b, cur.level(b.clients)))
        .collect();
    // Two metrics per level share the check's confidence.
    let noise = Noise::new(None, None, 0, 2 * pairs.len().max(1), opts);
    for (b, c) in pairs {
        let Some(c) = c else {
            v.push(
                FindingKind::WorkloadErrors,
                Severity::Regression,
                format!("{} clients: measured in the baseline, not now", b.clients),
            );
            continue;
        };
        for (code, n) in &c.errors {
            if !b.errors.contains_key(code) {
                v.push(
                    FindingKind::WorkloadErrors,
                    Severity::Regression,
                    format!(
                        "{} clients: {n} transaction(s) given up with SQLSTATE {code}, which the baseline never gave up on",
                        c.clients
                    ),
                );
            }
        }
        let per_tx = |l: &LevelResult, window_ns: u64| -> Vec<u64> {
            l.windows
                .iter()
                .filter(|&&n| n > 0)
                .map(|&n| window_ns / n)
                .collect()
        };
        if let Some(raw) = timing::measure(&per_tx(b, base.window_ns), &per_tx(c, cur.window_ns)) {
            timing::judge_metric(
                v,
                &raw,
                &noise,
                opts,
                &format!(
                    "{} clients, time per committed transaction (1 / throughput)",
                    c.clients
                ),
            );
        }
        let p99 = |l: &LevelResult| -> Vec<u64> {
            l.window_p99_ns.iter().copied().filter(|&p| p > 0).collect()
        };
        if let Some(raw) = timing::measure(&p99(b), &p99(c)) {
            timing::judge_metric(
                v,
                &raw,
                &noise,
                opts,
                &format!("{} clients, p99 latency", c.clients),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::verdict::Outcome;

    fn level(clients: u32, per_window: u64, p99_ns: u64, errors: &[(&str, u64)]) -> LevelResult {
        LevelResult {
            clients,
            windows: vec![per_window; 12],
            window_p99_ns: (0..12).map(|i| p99_ns + i * p99_ns / 100).collect(),
            errors: errors.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            ..LevelResult::default()
        }
    }

    fn workload(levels: Vec<LevelResult>) -> WorkloadResult {
        WorkloadResult {
            window_ns: 250_000_000,
            levels,
            ..WorkloadResult::default()
        }
    }

    fn judged(base: &WorkloadResult, cur: &WorkloadResult) -> Verdict {
        let mut v = Verdict::new("d", "c", "v");
        judge(&mut v, base, cur, &CheckOptions::default());
        v.settle();
        v
    }

    #[test]
    fn an_unchanged_workload_is_unchanged() {
        let w = workload(vec![
            level(1, 500, 1_000_000, &[]),
            level(8, 900, 4_000_000, &[]),
        ]);
        assert_eq!(judged(&w, &w).outcome, Outcome::Unchanged);
    }

    #[test]
    fn half_the_throughput_or_twice_the_p99_is_a_regression() {
        let base = workload(vec![level(8, 900, 4_000_000, &[])]);
        let slower = workload(vec![level(8, 450, 4_000_000, &[])]);
        let v = judged(&base, &slower);
        assert_eq!(v.outcome, Outcome::Regression, "{:?}", v.findings);
        assert!(
            v.findings[0]
                .message
                .contains("8 clients, time per committed")
        );
        let tail = workload(vec![level(8, 900, 8_000_000, &[])]);
        let v = judged(&base, &tail);
        assert_eq!(v.outcome, Outcome::Regression, "{:?}", v.findings);
        assert!(v.findings[0].message.contains("p99"));
        let faster = judged(&slower, &base);
        assert_eq!(
            faster.outcome,
            Outcome::Improvement,
            "{:?}",
            faster.findings
        );
    }

    #[test]
    fn a_new_sqlstate_or_a_lost_level_fails_strictly() {
        let base = workload(vec![level(8, 900, 4_000_000, &[("40001", 5)])]);
        let same_code = workload(vec![level(8, 900, 4_000_000, &[("40001", 50)])]);
        assert_eq!(judged(&base, &same_code).outcome, Outcome::Unchanged);
        let new_code = workload(vec![level(8, 900, 4_000_000, &[("23505", 1)])]);
        let v = judged(&base, &new_code);
        assert!(v.has(FindingKind::WorkloadErrors) && v.outcome == Outcome::Regression);
        let lost = workload(vec![level(4, 900, 4_000_000, &[])]);
        assert!(judged(&base, &lost).has(FindingKind::WorkloadErrors));
    }
}
