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
