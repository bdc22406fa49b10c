//! Confirming timing-only regressions with a second measurement.
//!
//! Deterministic findings repeat exactly, so they need no second look. A slowdown
//! seen on the clock alone can come from the run rather than the change: on a busy
//! machine one variant of an unchanged scenario was measured 5× slower for its whole
//! sampling window, with the same plan and the same blocks, while the variant sampled
//! in the same rounds was not. No statistic over one run tells that apart from a
//! regression; measuring the comparison again, later, does. When the check measures
//! the current run itself, it re-measures the comparisons whose only regressions are
//! timing, and a slowdown fails only if the re-measurement shows it too.

use super::verdict::{FindingKind, Severity};
use super::{CheckOptions, CheckReport, compare};
use crate::results::RunResults;
use crate::units::percent;

impl CheckReport {
    /// `(dataset key, comparison id)` of every comparison with a timing-only
    /// regression (a significant slowdown and no other regression in that variant):
    /// what to re-measure before failing, with `--only` set to the ids.
    pub fn timing_only_regressions(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for v in &self.verdicts {
            let timing_only = v.has(FindingKind::Slower)
                && v.findings
                    .iter()
                    .filter(|f| f.severity == Severity::Regression)
                    .all(|f| f.kind == FindingKind::Slower);
            let key = (v.dataset.clone(), v.comparison.clone());
            if timing_only && !out.contains(&key) {
                out.push(key);
            }
        }
        out
    }
}

/// Re-judges timing-only regressions with `rerun`, a second measurement of (at
/// least) the comparisons [`CheckReport::timing_only_regressions`] named, made with
/// the same settings. The re-measured comparisons replace the first ones in a copy
/// of `current`, the copy is compared with the baseline, and a slowdown stands only
/// if it is a significant slowdown there too; otherwise it becomes a warning. Other
/// findings are kept as they were.
pub fn confirm(
    report: &CheckReport,
    baseline: &RunResults,
    current: &RunResults,
    rerun: &RunResults,
    opts: &CheckOptions,
) -> CheckReport {
    let mut merged = current.clone();
    for rd in &rerun.datasets {
        let Some(md) = merged.datasets.iter_mut().find(|d| d.key == rd.key) else {
            continue;
        };
        for rc in &rd.comparisons {
            if let Some(mc) = md.comparisons.iter_mut().find(|c| c.id == rc.id) {
                *mc = rc.clone();
            }
        }
    }
    let second = compare(baseline, &merged, opts);
    let mut out = report.clone();
    let (mut confirmed, mut withdrawn) = (0, 0);
    for v in &mut out.verdicts {
        if !v.has(FindingKind::Slower) {
            continue;
        }
        let again = second.verdict_in(&v.dataset, &v.comparison, &v.variant);
        let ratio = again.and_then(|a| a.timing).map(|t| percent(t.ratio));
        let ratio = ratio.unwrap_or_else(|| "not measured".into());
        if again.is_some_and(|a| a.has(FindingKind::Slower)) {
            confirmed += 1;
            v.push(
                FindingKind::Confirmed,
                Severity::Info,
                format!("confirmed by a second measurement ({ratio})"),
            );
        } else {
            withdrawn += 1;
            for f in v
                .findings
                .iter_mut()
                .filter(|f| f.kind == FindingKind::Slower)
            {
                f.kind = FindingKind::PossiblySlower;
                f.severity = Severity::Warning;
                f.message = format!(
                    "{}; not confirmed by a second measurement ({ratio}): not a failure",
                    f.message
                );
            }
            if let Some(t) = v.timing.as_mut() {
                t.gated = false;
            }
        }
        v.settle();
    }
    if confirmed + withdrawn > 0 {
        out.notes.push(format!(
            "timing-only slowdowns re-measured: {confirmed} confirmed, {withdrawn} not confirmed (now warnings)"
        ));
    }
    out.count();
    out
}
