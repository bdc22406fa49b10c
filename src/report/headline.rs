//! The verdict of a comparison in one line: who wins, by how much, and why.
//!
//! Shared by the HTML and Markdown renderings so both say the same thing. Names are
//! returned raw; each renderer escapes them for its own format.

use crate::results::{CheckStatus, ComparisonResult, ResultOrder, VariantResult, VariantStatus};

use crate::units::{count, duration_ns, speedup_words, times};

/// The headline of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Headline<'a> {
    /// `winner` beats `loser` by `factor` (loser median / winner median). The loser is
    /// the reference, or the runner-up when the reference itself wins.
    Wins {
        /// The fastest variant.
        winner: &'a VariantResult,
        /// What it is compared with.
        loser: &'a VariantResult,
        /// `loser median / winner median`; `None` when the loser has no timings
        /// (timed out or failed).
        factor: Option<f64>,
        /// True when the medians' 95% confidence intervals overlap: the difference
        /// may be noise.
        within_noise: bool,
    },
    /// One variant finished; there is nothing to compare it with.
    Alone {
        /// The only variant with timings.
        winner: &'a VariantResult,
    },
    /// No variant finished with matching results.
    NoWinner,
}

/// Computes the headline of `c`.
pub fn headline(c: &ComparisonResult) -> Headline<'_> {
    let Some(winner) = c.winner.as_deref().and_then(|w| c.variant(w)) else {
        return Headline::NoWinner;
    };
    let reference = c.variant(&c.reference);
    let loser = match reference {
        Some(r) if r.name != winner.name => Some(r),
        // The reference won: compare it with the fastest of the others.
        _ => c
            .variants
            .iter()
            .filter(|v| {
                v.name != winner.name
                    && v.stats.is_some()
                    && v.status == VariantStatus::Ok
                    && !mismatched(c, v)
            })
            .min_by(|a, b| median(a).total_cmp(&median(b))),
    };
    let Some(loser) = loser else {
        return Headline::Alone { winner };
    };
    let (factor, within_noise) = match (winner.stats, loser.stats) {
        (Some(w), Some(l)) if w.median_ns > 0.0 && loser.status == VariantStatus::Ok => (
            Some(l.median_ns / w.median_ns),
            w.median_ci_high_ns >= l.median_ci_low_ns,
        ),
        _ => (None, false),
    };
    Headline::Wins {
        winner,
        loser,
        factor,
        within_noise,
    }
}

/// True when the variant's rows differ from the reference's (so its timing answers
/// another question and it cannot win or be the yardstick).
pub fn mismatched(c: &ComparisonResult, v: &VariantResult) -> bool {
    if c.result_order == ResultOrder::None || c.result_check.status == CheckStatus::Skipped {
        return false;
    }
    match (
        c.variant(&c.reference).and_then(|r| r.result.as_ref()),
        &v.result,
    ) {
        (Some(r), Some(mine)) => r.hash != mine.hash || r.rows != mine.rows,
        _ => false,
    }
}

fn median(v: &VariantResult) -> f64 {
    v.stats.map(|s| s.median_ns).unwrap_or(f64::INFINITY)
}

/// The verb phrase of a `Wins` headline: `38× faster than`, `faster than (timed out)`.
pub fn phrase(factor: Option<f64>, loser: &VariantResult) -> String {
    match factor {
        Some(f) => format!("{} than", speedup_words(f)),
        None => match &loser.status {
            VariantStatus::TimedOut { timeout_ns } => {
                format!(
                    "wins; it timed out after {}:",
                    duration_ns(*timeout_ns as f64)
                )
            }
            VariantStatus::Failed { .. } => "wins; it failed:".into(),
            VariantStatus::Ok => "wins over".into(),
        },
    }
}

/// One short line saying why, from the deterministic plan counters:
/// `(plan head, shared blocks)` of a variant, when its plan was taken.
pub fn plan_reason(v: &VariantResult) -> Option<(String, u64)> {
    let c = v.counters.as_ref()?;
    Some((c.plan_head.clone(), c.shared_blocks()))
}

/// One reason in a verdict's "why".
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// A variant's plan and the shared blocks it touched.
    Plan {
        /// Variant name.
        variant: String,
        /// One-line plan summary.
        head: String,
        /// Shared blocks touched.
        blocks: u64,
        /// For the loser: how many times the winner's blocks, when over 2×.
        more: Option<f64>,
    },
    /// A finding in the loser's plan (a large sequential scan, a misestimate).
    Finding(String),
}

/// Why the winner wins, from the plan counters and findings: each side's plan and
/// blocks, then the first finding of the loser's plan. Empty when neither side has
/// a plan.
pub fn why(winner: &VariantResult, loser: &VariantResult) -> Vec<Why> {
    let mut lines = Vec::new();
    let w = plan_reason(winner);
    if let Some((head, blocks)) = &w {
        lines.push(Why::Plan {
            variant: winner.name.clone(),
            head: head.clone(),
            blocks: *blocks,
            more: None,
        });
    }
    if let Some((head, blocks)) = plan_reason(loser) {
        let wb = w.as_ref().map(|(_, b)| (*b).max(1));
        lines.push(Why::Plan {
            variant: loser.name.clone(),
            head,
            blocks,
            more: wb
                .filter(|wb| blocks > 2 * wb)
                .map(|wb| blocks as f64 / wb as f64),
        });
    }
    if let Some(f) = loser
        .plan
        .as_ref()
        .and_then(|p| crate::explain::findings(p).into_iter().next())
    {
        lines.push(Why::Finding(f.describe()));
    }
    lines
}

/// A [`Why`] as HTML: names bold, plan heads as code, findings as a warning badge
/// when `badge`.
pub fn why_html(w: &Why, badge: bool) -> String {
    use crate::escape::html as esc;
    match w {
        Why::Plan {
            variant,
            head,
            blocks,
            more,
        } => format!(
            "<b>{}</b> runs <code>{}</code> and touches {} blocks{}",
            esc(variant),
            esc(head),
            count(*blocks),
            more.map(|m| format!(" ({} more)", times(m)))
                .unwrap_or_default()
        ),
        Why::Finding(f) if badge => format!("<span class=\"badge warn\">⚠ {}</span>", esc(f)),
        Why::Finding(f) => esc(f),
    }
}

/// Expectations that held, out of how many.
pub fn expectations(c: &ComparisonResult) -> (usize, usize) {
    let held = c.expectations.iter().filter(|e| e.held).count();
    (held, c.expectations.len())
}

/// Short status of a variant: `ok`, `timed out after 30 s`, `failed: …`.
pub fn status_text(v: &VariantResult) -> String {
    match &v.status {
        VariantStatus::Ok => "ok".into(),
        VariantStatus::TimedOut { timeout_ns } => {
            format!("timed out after {}", duration_ns(*timeout_ns as f64))
        }
        VariantStatus::Failed { message } => format!("failed: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CheckStatus, ResultCheck, ResultDigest, Stats};

    fn variant(name: &str, median: f64, half_ci: f64, hash: &str) -> VariantResult {
        VariantResult {
            sql: "SELECT 1".into(),
            samples_ns: vec![median as u64],
            stats: Some(Stats {
                n: 1,
                median_ns: median,
                median_ci_low_ns: median - half_ci,
                median_ci_high_ns: median + half_ci,
                ..Stats::default()
            }),
            result: Some(ResultDigest {
                rows: 1,
                hash: hash.into(),
                ordered: true,
            }),
            ..VariantResult::new(name)
        }
    }

    fn comparison(variants: Vec<VariantResult>, winner: &str) -> ComparisonResult {
        let reference = variants[0].name.clone();
        ComparisonResult {
            title: "C".into(),
            result_check: ResultCheck {
                status: CheckStatus::Match,
                details: vec![],
            },
            winner: Some(winner.into()),
            seconds: 1.0,
            ..ComparisonResult::new("c", &reference, variants)
        }
    }

    #[test]
    fn winner_is_compared_with_the_reference() {
        let c = comparison(
            vec![
                variant("seq", 3800.0, 10.0, "h"),
                variant("idx", 100.0, 5.0, "h"),
            ],
            "idx",
        );
        match headline(&c) {
            Headline::Wins {
                winner,
                loser,
                factor,
                within_noise,
            } => {
                assert_eq!((winner.name.as_str(), loser.name.as_str()), ("idx", "seq"));
                assert_eq!(factor, Some(38.0));
                assert!(!within_noise);
                assert_eq!(phrase(factor, loser), "38× faster than");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_winning_reference_is_compared_with_the_best_correct_other() {
        let mut c = comparison(
            vec![
                variant("ref", 100.0, 20.0, "h"),
                variant("wrong_but_fast", 10.0, 1.0, "other"),
                variant("close", 110.0, 20.0, "h"),
            ],
            "ref",
        );
        c.result_check.status = CheckStatus::Mismatch;
        match headline(&c) {
            Headline::Wins {
                loser,
                within_noise,
                ..
            } => {
                assert_eq!(loser.name, "close", "a mismatched variant is no yardstick");
                assert!(within_noise, "overlapping intervals are noise");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lone_and_missing_winners() {
        let mut failed = variant("b", 1.0, 0.0, "h");
        failed.status = VariantStatus::Failed {
            message: "boom".into(),
        };
        failed.stats = None;
        let c = comparison(vec![variant("a", 5.0, 1.0, "h"), failed], "a");
        assert!(matches!(headline(&c), Headline::Alone { .. }));
        let mut none = c.clone();
        none.winner = None;
        assert_eq!(headline(&none), Headline::NoWinner);
    }
}
