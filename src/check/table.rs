//! The terminal rendering: one aligned table per dataset, then the findings that
//! matter spelled out, then the notes and a one-line summary.

use super::cells::Cells;
use super::verdict::{Outcome, Severity};
use super::{CheckReport, Drift};
use crate::columns::align;
use crate::units::level;

/// Renders the report for a terminal (plain text, no colour codes, so it also reads
/// well in CI logs).
pub fn render_table(report: &CheckReport) -> String {
    let mut out = format!(
        "querylab check: baseline {} vs current {}\n",
        report.baseline.label(),
        report.current.label()
    );
    let o = &report.options;
    out.push_str(&format!(
        "gates: plan shape{}, shared blocks ±{:.0}% (min {}), rows, results; timing ≥ +{:.0}% and significant at {} over the whole check{}\n",
        if o.allow_plan_change { " (reported only)" } else { "" },
        o.buffers_tolerance * 100.0,
        o.buffers_floor,
        o.time_threshold * 100.0,
        level(o.confidence),
        if o.ignore_timing { " (timing ignored)" } else { "" },
    ));

    let mut datasets: Vec<&str> = Vec::new();
    for v in &report.verdicts {
        if !datasets.contains(&v.dataset.as_str()) {
            datasets.push(&v.dataset);
        }
    }
    let header = [
        "STATUS".to_string(),
        "COMPARISON / VARIANT".into(),
        "MEDIAN base → current".into(),
        format!("CHANGE ({} CI)", level(o.confidence)),
        "BLOCKS base → current".into(),
        "WHY".into(),
    ];
    for ds in datasets {
        out.push('\n');
        out.push_str(&dataset_title(
            ds,
            report.drift.iter().find(|d| d.dataset == ds),
        ));
        out.push('\n');
        let rows: Vec<Vec<String>> = report
            .verdicts
            .iter()
            .filter(|v| v.dataset == ds)
            .map(|v| {
                let c = Cells::of(v);
                vec![
                    v.outcome.label().to_string(),
                    v.name(),
                    c.median,
                    c.change,
                    c.blocks,
                    c.why,
                ]
            })
            .collect();
        out.push_str(&align(&header, &rows, &[], false));
    }

    let notable: Vec<_> = report
        .verdicts
        .iter()
        .filter(|v| {
            !matches!(
                v.outcome,
                Outcome::Unchanged | Outcome::Skipped | Outcome::New
            )
        })
        .collect();
    if !notable.is_empty() {
        out.push_str("\nfindings:\n");
        let mut sorted = notable;
        sorted.sort_by_key(|v| v.outcome);
        for v in sorted {
            for f in v.findings.iter().filter(|f| f.severity != Severity::Info) {
                out.push_str(&format!(
                    "  {:<10} {} [{}]: {}\n",
                    v.outcome.label(),
                    v.name(),
                    v.dataset,
                    f.message
                ));
            }
        }
    }
    if !report.notes.is_empty() {
        out.push_str("\nnotes:\n");
        for n in &report.notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    out.push_str(&format!(
        "\n{}: {}\n",
        if report.regressions > 0 {
            "FAIL"
        } else {
            "PASS"
        },
        report.summary_line()
    ));
    out
}

/// `dataset pg15/rows=10000 (machine factor 1.03× from 12 stable variants)`.
pub(crate) fn dataset_title(key: &str, drift: Option<&Drift>) -> String {
    match drift {
        Some(Drift {
            factor: Some(f),
            scatter,
            stable_variants,
            ..
        }) => format!(
            "dataset {key} (machine factor {f:.2}×{} from {stable_variants} stable variants)",
            scatter
                .map(|s| format!(", run scatter ±{:.1}%", s * 100.0))
                .unwrap_or_default()
        ),
        Some(d) if !d.same_environment => format!(
            "dataset {key} (different environment, machine factor unknown: timing not gated)"
        ),
        _ => format!("dataset {key}"),
    }
}
