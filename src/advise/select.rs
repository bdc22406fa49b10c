//! One index set for the whole workload: a greedy set cover. Each proven candidate
//! covers the statements it was proven on where it is within [`NEAR_BEST`] of that
//! statement's best; the candidate covering the most uncovered statements is taken
//! first (an index serving several counts once), then the faster, then the smaller;
//! every pick must fit what is left of the budget.

use std::collections::BTreeMap;

use crate::results::advice::{AdvisedStatement, CandidateResult, ChosenIndex};

/// A candidate "serves" a statement when its median is within this factor of the
/// statement's best candidate (the bar: 1.25×).
pub const NEAR_BEST: f64 = 1.25;

/// A candidate is proven only when it is at least this much faster than as is and
/// its interval lies below the as-is median.
pub const MIN_SPEEDUP: f64 = 1.1;

/// Whether `c` is a proven improvement: built, same rows, its plan uses it, faster.
pub fn proven(c: &CandidateResult, as_is_median: Option<f64>) -> bool {
    c.built
        && c.failure.is_none()
        && c.same_rows != Some(false)
        && c.used
        && c.speedup.is_some_and(|s| s >= MIN_SPEEDUP)
        && match (c.median_ci_ns, as_is_median) {
            (Some((_, high)), Some(m)) => high < m,
            _ => true,
        }
}

/// The chosen indexes, and the statements no proven candidate fits the budget for.
pub struct Selection {
    /// Chosen indexes, in pick order.
    pub chosen: Vec<ChosenIndex>,
    /// Statement ids with a proven candidate but none within the budget.
    pub over_budget: Vec<String>,
    /// Smallest proven candidate of an over-budget statement, bytes.
    pub smallest_over: Option<u64>,
}

/// Picks the set for `statements` within `budget` bytes.
pub fn select(statements: &[AdvisedStatement], budget: Option<u64>) -> Selection {
    // Candidate key (its DDL) → (statement index, median, bytes).
    let mut offers: BTreeMap<Vec<String>, Vec<(usize, f64, u64)>> = BTreeMap::new();
    let mut table_of: BTreeMap<Vec<String>, String> = BTreeMap::new();
    let mut best: BTreeMap<usize, f64> = BTreeMap::new();
    for (si, s) in statements.iter().enumerate() {
        for c in &s.candidates {
            if !proven(c, s.as_is_median_ns) {
                continue;
            }
            let m = c.median_ns.unwrap_or(f64::MAX);
            offers
                .entry(c.ddl.clone())
                .or_default()
                .push((si, m, c.bytes.unwrap_or(0)));
            table_of.insert(c.ddl.clone(), c.table.clone());
            let b = best.entry(si).or_insert(m);
            *b = b.min(m);
        }
    }
    let mut uncovered: Vec<usize> = best.keys().copied().collect();
    let mut left = budget.unwrap_or(u64::MAX);
    let mut picks: Vec<(Vec<String>, Vec<usize>, u64)> = Vec::new();
    loop {
        // (covers, speed score, bytes, key)
        let mut top: Option<(usize, f64, u64, Vec<String>)> = None;
        for (key, list) in &offers {
            let bytes = list.iter().map(|o| o.2).max().unwrap_or(0);
            if bytes > left || picks.iter().any(|p| &p.0 == key) {
                continue;
            }
            let covers: Vec<&(usize, f64, u64)> = list
                .iter()
                .filter(|(si, m, _)| uncovered.contains(si) && *m <= best[si] * NEAR_BEST)
                .collect();
            if covers.is_empty() {
                continue;
            }
            // Speed: how close to each statement's best (1 = the best).
            let score: f64 = covers.iter().map(|(si, m, _)| best[si] / m.max(1.0)).sum();
            let better = match &top {
                None => true,
                Some((n, sc, b, _)) => {
                    covers.len() > *n
                        || (covers.len() == *n && score > *sc + 1e-9)
                        || (covers.len() == *n && (score - *sc).abs() <= 1e-9 && bytes < *b)
                }
            };
            if better {
                top = Some((covers.len(), score, bytes, key.clone()));
            }
        }
        let Some((_, _, bytes, key)) = top else {
            break;
        };
        let covered: Vec<usize> = offers[&key]
            .iter()
            .filter(|(si, m, _)| uncovered.contains(si) && *m <= best[si] * NEAR_BEST)
            .map(|o| o.0)
            .collect();
        uncovered.retain(|s| !covered.contains(s));
        left = left.saturating_sub(bytes);
        picks.push((key, covered, bytes));
    }
    // Statements the near-best could not cover within the budget: any proven
    // candidate that still fits.
    let mut over_budget = Vec::new();
    let mut smallest_over: Option<u64> = None;
    for si in uncovered.clone() {
        let fitting = offers
            .iter()
            .filter(|(_, list)| list.iter().any(|o| o.0 == si))
            .filter(|(_, list)| list.iter().map(|o| o.2).max().unwrap_or(0) <= left)
            .min_by(|a, b| {
                let m = |l: &Vec<(usize, f64, u64)>| {
                    l.iter()
                        .find(|o| o.0 == si)
                        .map(|o| o.1)
                        .unwrap_or(f64::MAX)
                };
                m(a.1).total_cmp(&m(b.1))
            })
            .map(|(k, l)| (k.clone(), l.iter().map(|o| o.2).max().unwrap_or(0)));
        match fitting {
            Some((key, bytes)) if !picks.iter().any(|p| p.0 == key) => {
                left = left.saturating_sub(bytes);
                picks.push((key, vec![si], bytes));
            }
            Some((key, _)) => {
                if let Some(p) = picks.iter_mut().find(|p| p.0 == key) {
                    p.1.push(si);
                }
            }
            None => {
                let smallest = offers
                    .values()
                    .filter(|l| l.iter().any(|o| o.0 == si))
                    .map(|l| l.iter().map(|o| o.2).max().unwrap_or(0))
                    .min();
                smallest_over = match (smallest_over, smallest) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                over_budget.push(statements[si].id.clone());
            }
        }
    }
    let mut chosen = Vec::new();
    for (key, covered, bytes) in picks {
        let n = key.len() as u64;
        for ddl in &key {
            chosen.push(ChosenIndex {
                ddl: ddl.clone(),
                table: table_of[&key].clone(),
                serves: covered
                    .iter()
                    .map(|&si| statements[si].id.clone())
                    .collect(),
                bytes: bytes / n.max(1),
            });
        }
    }
    Selection {
        chosen,
        over_budget,
        smallest_over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::advice::CandidateKind;

    fn cand(ddl: &str, median: f64, bytes: u64) -> CandidateResult {
        CandidateResult {
            name: Some("c".into()),
            kind: CandidateKind::Btree,
            table: "t".into(),
            ddl: vec![ddl.into()],
            reason: String::new(),
            screened: String::new(),
            hypothetical_cost: None,
            as_is_cost: None,
            built: true,
            median_ns: Some(median),
            median_ci_ns: Some((median * 0.9, median * 1.1)),
            speedup: Some(1000.0 / median),
            shared_blocks: None,
            plan_head: None,
            used: true,
            same_rows: Some(true),
            bytes: Some(bytes),
            write_rows_per_second: None,
            failure: None,
        }
    }

    fn stmt(id: &str, candidates: Vec<CandidateResult>) -> AdvisedStatement {
        AdvisedStatement {
            id: id.into(),
            as_is_median_ns: Some(1000.0),
            candidates,
            ..AdvisedStatement::default()
        }
    }

    #[test]
    fn an_index_serving_two_statements_counts_once_and_is_preferred() {
        let s = vec![
            stmt("a", vec![cand("ab", 100.0, 10), cand("a", 90.0, 5)]),
            stmt("b", vec![cand("ab", 110.0, 10), cand("b", 100.0, 5)]),
        ];
        let sel = select(&s, None);
        assert_eq!(sel.chosen.len(), 1, "one shared index instead of two");
        assert_eq!(sel.chosen[0].ddl, "ab");
        assert_eq!(sel.chosen[0].serves, vec!["a", "b"]);
    }

    #[test]
    fn the_budget_bounds_the_set_and_says_who_is_left_out() {
        let s = vec![
            stmt("a", vec![cand("big", 100.0, 100), cand("small", 200.0, 10)]),
            stmt("b", vec![cand("huge", 100.0, 1000)]),
        ];
        let sel = select(&s, Some(50));
        assert_eq!(sel.chosen.len(), 1);
        assert_eq!(sel.chosen[0].ddl, "small", "the fastest that fits");
        assert_eq!(sel.over_budget, vec!["b"]);
        assert_eq!(sel.smallest_over, Some(1000));
        // A candidate that returns other rows, or that its plan does not use, is never chosen.
        let mut wrong = cand("w", 10.0, 1);
        wrong.same_rows = Some(false);
        let mut unused = cand("u", 10.0, 1);
        unused.used = false;
        assert!(
            select(&[stmt("c", vec![wrong, unused])], None)
                .chosen
                .is_empty()
        );
    }
}
