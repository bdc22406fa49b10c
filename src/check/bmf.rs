//! Bencher Metric Format (<https://bencher.dev/docs/reference/bencher-metric-format>):
//! `{"<benchmark>": {"<measure>": {"value": n, "lower_value": n, "upper_value": n}}}`,
//! where `lower_value` and `upper_value` are optional.
//!
//! Benchmarks are named `<dataset key>/<comparison id>/<variant>`. Measures:
//! - `latency`: Bencher's built-in measure, in nanoseconds: the current median per
//!   sample, bounded by its bootstrap confidence interval;
//! - `shared-blocks`: shared blocks hit + read from the plan pass (a custom measure
//!   Bencher creates on first use), the deterministic figure worth a threshold.

use serde_json::{Map, Value, json};

use super::CheckReport;
use super::verdict::FindingKind;
use crate::results::RunResults;

/// Renders the current run's figures as BMF JSON, one benchmark per verdict whose
/// variant is in `current` and has timings or counters (missing variants have no figure).
pub fn render_bmf(current: &RunResults, report: &CheckReport) -> String {
    let mut out = Map::new();
    for v in report
        .verdicts
        .iter()
        .filter(|v| !v.has(FindingKind::Missing))
    {
        let Some(var) = current
            .comparison(&v.dataset, &v.comparison)
            .and_then(|c| c.variant(&v.variant))
        else {
            continue;
        };
        let mut measures = Map::new();
        if let Some(s) = var.stats.filter(|s| s.median_ns.is_finite()) {
            let mut m = Map::new();
            m.insert("value".into(), json!(s.median_ns));
            if s.median_ci_low_ns.is_finite() && s.median_ci_high_ns.is_finite() {
                m.insert("lower_value".into(), json!(s.median_ci_low_ns));
                m.insert("upper_value".into(), json!(s.median_ci_high_ns));
            }
            measures.insert("latency".into(), Value::Object(m));
        }
        if let Some(c) = &var.counters {
            measures.insert(
                "shared-blocks".into(),
                json!({ "value": c.shared_blocks() as f64 }),
            );
        }
        if !measures.is_empty() {
            out.insert(
                format!("{}/{}/{}", v.dataset, v.comparison, v.variant),
                Value::Object(measures),
            );
        }
    }
    serde_json::to_string_pretty(&Value::Object(out)).expect("BMF serializes")
}
