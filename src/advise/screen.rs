//! Screening: which candidates are worth a real build. With HypoPG, each B-tree
//! candidate gets the planner's cost with it as a hypothetical index (cheap: no
//! build); those the planner would not use, or that do not lower the cost, are cut.
//! GIN, BRIN, partial and expression candidates (HypoPG does not model GIN, and
//! misjudges the others' sizes), and every candidate on a server without HypoPG,
//! go straight to the build queue. Each candidate records how it was screened.

use super::candidates::Candidate;
use super::scratch::Scratch;
use crate::results::advice::CandidateKind;

/// A candidate after screening.
#[derive(Debug, Clone)]
pub struct Screened {
    /// The candidate.
    pub candidate: Candidate,
    /// How it was screened, for the results.
    pub how: String,
    /// Hypothetical cost, when screened by HypoPG.
    pub cost: Option<f64>,
    /// Cost as it is, next to `cost`.
    pub as_is_cost: Option<f64>,
    /// Still in the running for a real build.
    pub keep: bool,
}

/// A hypothetical plan must cost less than this share of the plan as it is.
const KEEP_BELOW: f64 = 0.9;

/// Screens `candidates` for `sql` (parameters inlined; `None` when the statement
/// cannot be planned alone, e.g. its parameters come from `for_each` rows) on
/// `scratch`.
pub async fn screen(
    scratch: &Scratch,
    sql: Option<&str>,
    candidates: Vec<Candidate>,
) -> Vec<Screened> {
    let as_is = match (&scratch.hypopg, sql) {
        (Some(_), Some(q)) => scratch.cost(q).await.ok().map(|c| c.0),
        _ => None,
    };
    let mut out = Vec::new();
    for c in candidates {
        let s = match (&scratch.hypopg, c.screenable(), as_is) {
            (Some(v), true, Some(base)) => match scratch
                .hypothetical_cost(sql.unwrap_or_default(), &c.ddl)
                .await
            {
                Ok((cost, used)) => Screened {
                    how: format!(
                        "hypopg {v}: cost {cost:.0} against {base:.0} as is{}",
                        if used {
                            ""
                        } else {
                            "; the plan does not use it"
                        }
                    ),
                    keep: used && cost < base * KEEP_BELOW,
                    cost: Some(cost),
                    as_is_cost: Some(base),
                    candidate: c,
                },
                Err(msg) => Screened {
                    how: format!("not screened: hypopg refused it ({msg})"),
                    keep: true,
                    cost: None,
                    as_is_cost: None,
                    candidate: c,
                },
            },
            (Some(_), false, _) => Screened {
                how: format!(
                    "not screened: {} indexes go straight to a real build",
                    kind_word(c.kind)
                ),
                keep: true,
                cost: None,
                as_is_cost: None,
                candidate: c,
            },
            (Some(_), true, None) => Screened {
                how: "not screened: the statement cannot be planned alone".into(),
                keep: true,
                cost: None,
                as_is_cost: None,
                candidate: c,
            },
            _ => Screened {
                how: "not screened: screening is off (no HypoPG)".into(),
                keep: true,
                cost: None,
                as_is_cost: None,
                candidate: c,
            },
        };
        out.push(s);
    }
    out
}

fn kind_word(k: CandidateKind) -> &'static str {
    match k {
        CandidateKind::Partial => "partial",
        CandidateKind::Expression => "expression",
        CandidateKind::GinJsonbPathOps | CandidateKind::GinTrigram | CandidateKind::GinTsvector => {
            "GIN"
        }
        CandidateKind::Brin => "BRIN",
        _ => "these",
    }
}

/// The `k` candidates to build: the ones only a real build can judge (in the order
/// proposed) interleaved with the screened B-trees by hypothetical cost, the
/// cheapest first; without HypoPG, in the order proposed.
pub fn pick(screened: &[Screened], k: usize) -> Vec<usize> {
    let mut btrees: Vec<usize> = (0..screened.len())
        .filter(|&i| screened[i].keep && screened[i].cost.is_some())
        .collect();
    btrees.sort_by(|&a, &b| {
        screened[a]
            .cost
            .unwrap_or(f64::MAX)
            .total_cmp(&screened[b].cost.unwrap_or(f64::MAX))
    });
    let others: Vec<usize> = (0..screened.len())
        .filter(|&i| screened[i].keep && screened[i].cost.is_none())
        .collect();
    let mut out = Vec::new();
    let (mut b, mut o) = (btrees.into_iter(), others.into_iter());
    // The cheapest screened B-tree first: the planner has already vouched for it.
    while out.len() < k {
        let next = if out.len() % 2 == 0 {
            b.next().or_else(|| o.next())
        } else {
            o.next().or_else(|| b.next())
        };
        match next {
            Some(i) => out.push(i),
            None => break,
        }
    }
    out
}
