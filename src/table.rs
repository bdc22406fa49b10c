//! The terminal table `querylab run` prints: one line per variant.

use crate::measure::fmt_ns;
use crate::results::{CheckStatus, RunResults, VariantStatus};

/// Renders every dataset's comparisons as an aligned text table: comparison,
/// variant, median, p95, speed-up against the reference, shared buffers, plan
/// head, result check.
pub fn render(results: &RunResults) -> String {
    let mut rows: Vec<[String; 8]> = vec![[
        "comparison".into(),
        "variant".into(),
        "median".into(),
        "p95".into(),
        "speed-up".into(),
        "buffers".into(),
        "plan".into(),
        "result".into(),
    ]];
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
                let (median, p95) = match (&v.status, v.stats) {
                    (VariantStatus::Ok, Some(s)) => (fmt_ns(s.median_ns), fmt_ns(s.p95_ns)),
                    (VariantStatus::TimedOut { .. }, _) => ("timeout".into(), String::new()),
                    (VariantStatus::Failed { .. }, _) => ("FAILED".into(), String::new()),
                    _ => ("-".into(), String::new()),
                };
                let speedup = match (v.name == c.reference, v.speedup) {
                    (true, _) => "ref".into(),
                    (false, Some(s)) => format!("{s:.2}x"),
                    (false, None) => "-".into(),
                };
                let buffers = v
                    .counters
                    .as_ref()
                    .map(|k| k.shared_blocks().to_string())
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
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let pad = widths[i] - cell.chars().count();
                if (2..=5).contains(&i) {
                    format!("{}{cell}", " ".repeat(pad))
                } else {
                    format!("{cell}{}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 14));
            out.push('\n');
        }
    }
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
