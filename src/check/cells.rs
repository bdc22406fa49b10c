//! The cells of a verdict's row, shared by the terminal table and the Markdown, so
//! both print the same figures (units from [`crate::units`]).

use super::verdict::Verdict;
use crate::units::{count, duration_ns, percent};

/// The cells of one verdict's row, shared by the terminal table and Markdown.
pub(crate) struct Cells {
    /// `1.20 ms → 1.50 ms`, or `1.50 ms` with no baseline.
    pub median: String,
    /// `+25.0% (+21.3% … +28.9%)`, the machine-factor-adjusted change with its interval.
    pub change: String,
    /// `1,200 → 1,800`.
    pub blocks: String,
    /// Labels of the findings, e.g. `plan changed, more blocks, edited`.
    pub why: String,
}

impl Cells {
    pub(crate) fn of(v: &Verdict) -> Self {
        let median = match &v.timing {
            Some(t) => format!(
                "{} → {}",
                duration_ns(t.baseline_median_ns),
                duration_ns(t.current_median_ns)
            ),
            None => String::new(),
        };
        let change = match &v.timing {
            Some(t) => format!(
                "{} ({} … {})",
                percent(t.ratio),
                percent(t.ci_low),
                percent(t.ci_high)
            ),
            None => String::new(),
        };
        let blocks = match &v.blocks {
            Some(b) => format!("{} → {}", count(b.baseline), count(b.current)),
            None => String::new(),
        };
        Cells {
            median,
            change,
            blocks,
            why: v.why(),
        }
    }
}
