//! Number formatting shared by the renderings (table, Markdown, finding messages).

use super::verdict::Verdict;

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
            Some(t) => format!("{} → {}", ns(t.baseline_median_ns), ns(t.current_median_ns)),
            None => String::new(),
        };
        let change = match &v.timing {
            Some(t) => format!(
                "{} ({} … {})",
                change(t.ratio),
                change(t.ci_low),
                change(t.ci_high)
            ),
            None => String::new(),
        };
        let blocks = match &v.blocks {
            Some(b) => format!("{} → {}", int(b.baseline), int(b.current)),
            None => String::new(),
        };
        // Findings are sorted by severity, so the label that decided the outcome leads.
        let mut labels: Vec<&str> = v.findings.iter().map(|f| f.kind.label()).collect();
        labels.dedup();
        Cells {
            median,
            change,
            blocks,
            why: labels.join(", "),
        }
    }
}

/// A duration in nanoseconds with a unit that keeps three significant figures.
pub(crate) fn ns(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2} s", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1} µs", v / 1e3)
    } else {
        format!("{v:.0} ns")
    }
}

/// A ratio as a signed percentage change: 1.25 → `+25.0%`; from 3× up as a
/// factor (`×72.5`), which reads better than `+7150.0%`.
pub(crate) fn change(ratio: f64) -> String {
    if !ratio.is_finite() {
        "-".into()
    } else if ratio >= 3.0 {
        format!("×{ratio:.1}")
    } else {
        format!("{:+.1}%", (ratio - 1.0) * 100.0)
    }
}

/// An integer with thousands separators: 1234567 → `1,234,567`.
pub(crate) fn int(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A confidence level as a percentage label: 0.95 → `95%`.
pub(crate) fn level(confidence: f64) -> String {
    let p = confidence * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(ns(812.0), "812 ns");
        assert_eq!(ns(1_234_000.0), "1.23 ms");
        assert_eq!(ns(2.5e9), "2.50 s");
        assert_eq!(change(1.25), "+25.0%");
        assert_eq!(change(0.8), "-20.0%");
        assert_eq!(change(72.49), "×72.5");
        assert_eq!(int(1_234_567), "1,234,567");
        assert_eq!(int(12), "12");
        assert_eq!(level(0.95), "95%");
        assert_eq!(level(0.975), "97.5%");
    }
}
