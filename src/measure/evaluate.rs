//! The judgement of a measured comparison — speed-ups against the reference, the
//! result check, the winner and the scenario's expectations — from its variants'
//! results alone: pure logic, no database.

use std::collections::BTreeMap;

use crate::catalog::{Comparison, ResultExpectation};
use crate::results::{
    CheckStatus, ComparisonResult, ExpectationOutcome, ResultCheck, ResultOrder, VariantResult,
    VariantStatus,
};

/// Result check, speed-ups, winner and expectations of a measured comparison.
pub fn evaluate(c: &Comparison, mut variants: Vec<VariantResult>) -> ComparisonResult {
    let reference = variants.iter().find(|v| v.name == c.reference).cloned();
    let ref_median = reference
        .as_ref()
        .and_then(|r| r.stats.map(|s| s.median_ns));
    for v in &mut variants {
        v.speedup = match (ref_median, v.stats) {
            (Some(r), Some(s)) if s.median_ns > 0.0 => Some(r / s.median_ns),
            _ => None,
        };
    }

    // Result cross-check against the reference's digest.
    let mut details = Vec::new();
    let mut mismatch = false;
    let mut differs: BTreeMap<String, bool> = BTreeMap::new();
    let status = if c.result_order == ResultOrder::None {
        details.push("results not compared (result = \"none\")".to_string());
        CheckStatus::Skipped
    } else {
        match reference.as_ref().and_then(|r| r.result.clone()) {
            None => {
                details.push(format!(
                    "reference {} produced no result to compare",
                    c.reference
                ));
                CheckStatus::Skipped
            }
            Some(want) => {
                for (def, v) in c.variants.iter().zip(&variants) {
                    if v.name == c.reference {
                        continue;
                    }
                    let Some(got) = &v.result else {
                        details.push(format!("{}: no result (variant did not finish)", v.name));
                        continue;
                    };
                    let same = got.hash == want.hash;
                    differs.insert(v.name.clone(), !same);
                    match (same, def.result) {
                        (true, ResultExpectation::Same) => {}
                        (false, ResultExpectation::Same) => {
                            mismatch = true;
                            details.push(format!(
                                "{}: returns different rows than {} ({} rows vs {})",
                                v.name, c.reference, got.rows, want.rows
                            ));
                        }
                        (false, ResultExpectation::Differs) => details.push(format!(
                            "{}: differs from {} as expected ({} rows vs {})",
                            v.name, c.reference, got.rows, want.rows
                        )),
                        (true, ResultExpectation::Differs) => details.push(format!(
                            "{}: expected to differ from {} but returned the same rows",
                            v.name, c.reference
                        )),
                    }
                }
                if mismatch {
                    CheckStatus::Mismatch
                } else {
                    CheckStatus::Match
                }
            }
        }
    };

    // Winner: fastest variant that finished and returned the reference's rows.
    let winner = variants
        .iter()
        .filter(|v| {
            v.status == VariantStatus::Ok && !differs.get(&v.name).copied().unwrap_or(false)
        })
        .filter_map(|v| v.stats.map(|s| (v, s.median_ns)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(v, _)| v.name.clone());

    let mut expectations = Vec::new();
    for (def, v) in c.variants.iter().zip(&variants) {
        let relations = v
            .plan
            .as_ref()
            .map(crate::explain::relations)
            .unwrap_or_default();
        let counters = v.counters.clone().unwrap_or_default();
        let seen = || {
            format!(
                "plan has {}; indexes [{}]",
                counters.node_types.join(", "),
                counters.indexes.join(", ")
            )
        };
        for want in &def.plan_contains {
            let held =
                v.counters.is_some() && crate::explain::plan_mentions(&counters, &relations, want);
            expectations.push(outcome(
                &v.name,
                format!("plan contains {want}"),
                held,
                seen(),
            ));
        }
        for bad in &def.plan_lacks {
            let held =
                v.counters.is_some() && !crate::explain::plan_mentions(&counters, &relations, bad);
            expectations.push(outcome(&v.name, format!("plan lacks {bad}"), held, seen()));
        }
        if v.name != c.reference && c.result_order != ResultOrder::None {
            let (desc, held) = match def.result {
                ResultExpectation::Same => (
                    format!("same rows as {}", c.reference),
                    differs.get(&v.name) == Some(&false),
                ),
                ResultExpectation::Differs => (
                    format!("different rows from {}", c.reference),
                    differs.get(&v.name) == Some(&true),
                ),
            };
            if def.result == ResultExpectation::Differs {
                expectations.push(outcome(&v.name, desc, held, "compared by digest".into()));
            }
        }
        for other in &def.faster_than {
            let mine = v.stats.map(|s| s.median_ns);
            let theirs = variants
                .iter()
                .find(|o| &o.name == other)
                .and_then(|o| o.stats.map(|s| s.median_ns));
            let held = matches!((mine, theirs), (Some(a), Some(b)) if a < b);
            expectations.push(ExpectationOutcome {
                timing: true,
                ..outcome(
                    &v.name,
                    format!("faster than {other}"),
                    held,
                    format!("median {} vs {}", fmt_opt_ns(mine), fmt_opt_ns(theirs)),
                )
            });
        }
    }
    if let Some(w) = &c.expect_winner {
        let held = winner.as_deref() == Some(w.as_str());
        expectations.push(ExpectationOutcome {
            variant: None,
            description: format!("{w} wins"),
            held,
            detail: (!held)
                .then(|| format!("winner was {}", winner.as_deref().unwrap_or("nobody"))),
            timing: true,
        });
    }

    ComparisonResult {
        title: c.title.clone(),
        description: c.description.clone(),
        sources: c.sources.clone(),
        result_order: c.result_order,
        result_check: ResultCheck { status, details },
        expectations,
        winner,
        ..ComparisonResult::new(&c.id, &c.reference, variants)
    }
}

fn outcome(variant: &str, description: String, held: bool, detail: String) -> ExpectationOutcome {
    ExpectationOutcome {
        variant: Some(variant.to_string()),
        description,
        held,
        detail: (!held).then_some(detail),
        timing: false,
    }
}

fn fmt_opt_ns(ns: Option<f64>) -> String {
    ns.map(crate::units::duration_ns)
        .unwrap_or_else(|| "n/a".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Counters, ResultDigest, Stats};

    /// A comparison with reference `a`, a variant `b` that must return the same
    /// rows, use an index scan and beat `a`, a variant `c` expected to return other
    /// rows, and `b` expected to win.
    fn comparison() -> Comparison {
        let text = r#"
name = "t"
[schema]
builtin = true
[data]
generator = "builtin"
[[comparison]]
id = "t.c"
title = "T"
reference = "a"
expect_winner = "b"
[[comparison.variant]]
name = "a"
sql = "SELECT 1"
[[comparison.variant]]
name = "b"
sql = "SELECT 1"
[comparison.variant.expect]
plan_contains = ["Index Scan"]
plan_lacks = ["Seq Scan"]
faster_than = ["a"]
[[comparison.variant]]
name = "c"
sql = "SELECT 2"
[comparison.variant.expect]
result = "differs"
"#;
        let s = crate::catalog::parse(text, "test.toml", None).expect("parses");
        s.comparisons.into_iter().next().expect("one comparison")
    }

    fn measured(name: &str, median_ns: f64, hash: &str, node: &str) -> VariantResult {
        VariantResult {
            sql: "SELECT 1".into(),
            index_set: "default".into(),
            samples_ns: vec![median_ns as u64],
            stats: Some(Stats {
                n: 1,
                median_ns,
                ..Stats::default()
            }),
            counters: Some(Counters {
                node_types: vec![node.into()],
                ..Counters::default()
            }),
            result: Some(ResultDigest {
                rows: 1,
                hash: hash.into(),
                ordered: true,
            }),
            ..VariantResult::new(name)
        }
    }

    fn held(r: &ComparisonResult, variant: Option<&str>, description: &str) -> bool {
        r.expectations
            .iter()
            .find(|e| e.variant.as_deref() == variant && e.description == description)
            .unwrap_or_else(|| panic!("no expectation {description}: {:?}", r.expectations))
            .held
    }

    #[test]
    fn speedups_winner_and_expectations_of_a_clean_comparison() {
        let c = comparison();
        let r = evaluate(
            &c,
            vec![
                measured("a", 400.0, "h1", "Seq Scan"),
                measured("b", 100.0, "h1", "Index Scan"),
                // Fastest, but it returns other rows (as expected): it cannot win.
                measured("c", 50.0, "h2", "Seq Scan"),
            ],
        );
        let speedups: Vec<Option<f64>> = r.variants.iter().map(|v| v.speedup).collect();
        assert_eq!(speedups, vec![Some(1.0), Some(4.0), Some(8.0)]);
        assert_eq!(r.result_check.status, CheckStatus::Match);
        assert_eq!(r.winner.as_deref(), Some("b"));
        assert!(held(&r, Some("b"), "plan contains Index Scan"));
        assert!(held(&r, Some("b"), "plan lacks Seq Scan"));
        assert!(held(&r, Some("b"), "faster than a"));
        assert!(held(&r, Some("c"), "different rows from a"));
        assert!(held(&r, None, "b wins"));
        assert!(r.expectations.iter().all(|e| e.detail.is_none()));
        let timing: Vec<&str> = r
            .expectations
            .iter()
            .filter(|e| e.timing)
            .map(|e| e.description.as_str())
            .collect();
        assert_eq!(timing, vec!["faster than a", "b wins"]);
        assert_eq!((r.id.as_str(), r.reference.as_str()), ("t.c", "a"));
    }

    #[test]
    fn other_rows_are_a_mismatch_and_lose_the_win() {
        let c = comparison();
        let r = evaluate(
            &c,
            vec![
                measured("a", 400.0, "h1", "Seq Scan"),
                measured("b", 100.0, "wrong", "Seq Scan"),
                measured("c", 300.0, "h1", "Seq Scan"),
            ],
        );
        assert_eq!(r.result_check.status, CheckStatus::Mismatch);
        assert!(
            r.result_check
                .details
                .iter()
                .any(|d| d == "b: returns different rows than a (1 rows vs 1)"),
            "{:?}",
            r.result_check.details
        );
        assert!(
            r.result_check
                .details
                .iter()
                .any(|d| d == "c: expected to differ from a but returned the same rows"),
            "{:?}",
            r.result_check.details
        );
        // b is out; c returns a's rows and is faster than a.
        assert_eq!(r.winner.as_deref(), Some("c"));
        assert!(!held(&r, Some("b"), "plan contains Index Scan"));
        assert!(!held(&r, Some("b"), "plan lacks Seq Scan"));
        assert!(!held(&r, Some("c"), "different rows from a"));
        let wins = r.expectations.iter().find(|e| e.description == "b wins");
        assert_eq!(wins.and_then(|e| e.detail.as_deref()), Some("winner was c"));
    }

    #[test]
    fn failed_variants_and_a_missing_reference_result() {
        let c = comparison();
        let mut a = measured("a", 400.0, "h1", "Seq Scan");
        a.result = None;
        let mut b = measured("b", 100.0, "h1", "Index Scan");
        b.status = VariantStatus::Failed {
            message: "boom".into(),
        };
        b.stats = None;
        b.counters = None;
        let r = evaluate(&c, vec![a, b, measured("c", 50.0, "h2", "Seq Scan")]);
        assert_eq!(r.result_check.status, CheckStatus::Skipped);
        assert_eq!(
            r.result_check.details,
            vec!["reference a produced no result to compare".to_string()]
        );
        assert_eq!(r.variants[1].speedup, None);
        // Nothing compared, so c (fastest, finished) wins; b has no plan to judge.
        assert_eq!(r.winner.as_deref(), Some("c"));
        assert!(!held(&r, Some("b"), "plan lacks Seq Scan"));
        let faster = r
            .expectations
            .iter()
            .find(|e| e.description == "faster than a")
            .expect("faster_than judged");
        assert!(!faster.held);
        assert_eq!(faster.detail.as_deref(), Some("median n/a vs 400 ns"));
    }

    #[test]
    fn results_not_compared_when_the_comparison_says_none() {
        let mut c = comparison();
        c.result_order = ResultOrder::None;
        let r = evaluate(
            &c,
            vec![
                measured("a", 400.0, "h1", "Seq Scan"),
                measured("b", 100.0, "h2", "Index Scan"),
                measured("c", 50.0, "h3", "Seq Scan"),
            ],
        );
        assert_eq!(r.result_check.status, CheckStatus::Skipped);
        assert_eq!(r.winner.as_deref(), Some("c"));
        assert!(
            !r.expectations
                .iter()
                .any(|e| e.description.contains("rows from"))
        );
    }
}
