//! The terminal rendering of one run: the table `querylab run` prints, one line per
//! variant, and the lines that say why a variant failed or rows did not match.

use crate::columns::{Align, align};
use crate::results::{CheckStatus, RunResults, VariantStatus};
use crate::units::{count, duration_ns, sig3, times};

/// Renders every dataset's comparisons as an aligned text table: comparison,
/// variant, median, p95, speed-up against the reference, shared buffers, plan
/// head, result check.
pub fn render(results: &RunResults) -> String {
    let header = [
        "comparison",
        "variant",
        "median",
        "p95",
        "speed-up",
        "buffers",
        "plan",
        "result",
    ]
    .map(String::from);
    let mut rows: Vec<[String; 8]> = Vec::new();
    let multi = results.datasets.len() > 1;
    for ds in &results.datasets {
        for c in &ds.comparisons {
            for (i, v) in c.variants.iter().enumerate() {
                let name = if i == 0 {
                    if multi {
                        format!("{} [{}]", c.id, ds.key)
                    } else {
                        c.id.clone()
                    }
                } else {
                    String::new()
                };
                let mut variant = v.name.clone();
                if c.winner.as_deref() == Some(&v.name) {
                    variant.push_str(" *");
                }
                // A workload has no samples: its busiest level's throughput and p99
                // (the report has every level).
                let busiest = v.workload.as_ref().and_then(|w| w.levels.last());
                let (median, p95) = match (&v.status, v.stats, busiest) {
                    (VariantStatus::Ok, _, Some(l)) => (
                        format!("{} tx/s @{}", sig3(l.tx_per_second), l.clients),
                        format!("p99 {}", duration_ns(l.latency.p99_ns as f64)),
                    ),
                    (VariantStatus::Ok, Some(s), _) => {
                        (duration_ns(s.median_ns), duration_ns(s.p95_ns))
                    }
                    (VariantStatus::TimedOut { .. }, _, _) => ("timeout".into(), String::new()),
                    (VariantStatus::Failed { .. }, _, _) => ("FAILED".into(), String::new()),
                    _ => ("-".into(), String::new()),
                };
                let speedup = match (v.name == c.reference, v.speedup) {
                    (true, _) => "ref".into(),
                    (false, Some(s)) => times(s),
                    (false, None) => "-".into(),
                };
                let buffers = v
                    .counters
                    .as_ref()
                    .map(|k| count(k.shared_blocks()))
                    .unwrap_or_else(|| "-".into());
                let mut plan = v
                    .counters
                    .as_ref()
                    .map(|k| k.plan_head.clone())
                    .unwrap_or_default();
                if plan.chars().count() > 60 {
                    plan = plan.chars().take(59).collect::<String>() + "…";
                }
                let result = if i == 0 {
                    match c.result_check.status {
                        CheckStatus::Match => "match".into(),
                        CheckStatus::Mismatch => "MISMATCH".into(),
                        CheckStatus::Skipped => "skipped".into(),
                    }
                } else {
                    String::new()
                };
                rows.push([name, variant, median, p95, speedup, buffers, plan, result]);
            }
        }
    }
    use Align::{Left, Right};
    let mut out = align(
        &header,
        &rows,
        &[Left, Left, Right, Right, Right, Right, Left, Left],
        true,
    );
    out.push_str("* = winner (fastest variant returning the reference's rows)\n");
    out
}

/// One line per variant that failed and per comparison whose rows did not match,
/// saying why: the table only marks them, and a user must not have to open
/// results.json to learn that an index set did not build.
pub fn problems(results: &RunResults) -> Vec<String> {
    let mut out = Vec::new();
    let multi = results.datasets.len() > 1;
    for ds in &results.datasets {
        let at = if multi {
            format!(" [{}]", ds.key)
        } else {
            String::new()
        };
        for c in &ds.comparisons {
            for v in &c.variants {
                if let VariantStatus::Failed { message } = &v.status {
                    out.push(format!("{}{at} / {}: FAILED: {message}", c.id, v.name));
                }
            }
            if c.result_check.status == CheckStatus::Mismatch {
                out.push(format!(
                    "{}{at}: MISMATCH: {}",
                    c.id,
                    c.result_check.details.join("; ")
                ));
            }
        }
    }
    out
}
