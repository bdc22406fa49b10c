//! Concurrent workloads in the scenario format: `[comparison.workload]` (and a
//! variant's own `[comparison.variant.workload]` over it), `[[comparison.variant.mix]]`.
//!
//! A workload runs a variant's transactions from N clients at once, for each entry of
//! `clients`, closed loop (each client starts its next transaction when the last one
//! ends) or open loop (`rate`: Poisson arrivals, latency from the scheduled start).
//! The runner is [`crate::workload`]; here is only the format and its checks, each
//! mistake reported at its `file:line:column`.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::Pos;

/// Seconds each client level runs when the scenario says nothing (closed loop).
pub const DEFAULT_DURATION_S: f64 = 3.0;
/// Warm-up seconds before each level's measured window.
pub const DEFAULT_WARMUP_S: f64 = 1.0;
/// Tries of a transaction that fails with a `retry_on` SQLSTATE.
pub const DEFAULT_MAX_TRIES: u32 = 10;

/// `[comparison.workload]` as written. Every field is optional so that a variant's
/// table can override only some of the comparison's.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct WorkloadDef {
    /// Client counts: one measurement per entry (`[1, 4, 16]`), a curve.
    pub clients: Option<Spanned<Vec<Spanned<i64>>>>,
    /// Measured seconds per level.
    pub duration_s: Option<Spanned<f64>>,
    /// Untimed seconds before the measured window of each level.
    pub warmup_s: Option<Spanned<f64>>,
    /// Open loop: transactions per second over all clients (Poisson arrivals).
    pub rate: Option<Spanned<f64>>,
    /// SQLSTATEs after which a transaction is rolled back and tried again.
    pub retry_on: Option<Vec<Spanned<String>>>,
    /// Most tries of one transaction (first try included).
    pub max_tries: Option<Spanned<i64>>,
    /// SQL whose rows are the per-transaction parameters: `$n` is column n.
    pub params: Option<Spanned<String>>,
    /// `uniform` (default) or `zipf`: how a transaction picks its params row.
    pub distribution: Option<Spanned<String>>,
    /// Statements run on the variant's clone before each level (untimed).
    pub setup: Option<Vec<String>>,
    /// SQL run after each level: every row it returns is a broken invariant.
    pub verify: Option<Spanned<String>>,
}

/// `[[comparison.variant.mix]]`: one transaction of a weighted mix.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MixDef {
    /// Name shown in results (default `tx1`, `tx2`, …).
    pub name: Option<String>,
    /// Relative weight (> 0).
    #[serde(default = "one")]
    pub weight: Spanned<f64>,
    /// The statements of the transaction, in order.
    pub statements: Vec<String>,
    /// Columns of the workload's params rows bound to `$1`, `$2`, … (default: the
    /// row's columns in order).
    pub params: Option<Vec<String>>,
}

fn one() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}

/// How a transaction picks its parameters row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Every row equally likely.
    Uniform,
    /// Row k (0-based, in the query's order) with weight 1/(k+1): the first rows hot.
    Zipf,
}

/// One transaction of a mix, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Name.
    pub name: String,
    /// Relative weight, > 0.
    pub weight: f64,
    /// Statements; more than one run between BEGIN and COMMIT.
    pub statements: Vec<String>,
    /// Params-row columns bound to `$1…` (`None`: the row's columns in order).
    pub params: Option<Vec<String>>,
}

/// A variant's workload, resolved (comparison's fields under the variant's own).
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Client counts, in order.
    pub clients: Vec<u32>,
    /// Measured time per level.
    pub duration: Duration,
    /// Warm-up per level.
    pub warmup: Duration,
    /// Open-loop rate (transactions/s over all clients), if any.
    pub rate: Option<f64>,
    /// The transactions and their weights.
    pub mix: Vec<Transaction>,
    /// SQLSTATEs that are retried.
    pub retry_on: Vec<String>,
    /// Most tries per transaction.
    pub max_tries: u32,
    /// Parameter rows query and its position.
    pub params: Option<(String, Pos)>,
    /// How rows are picked.
    pub distribution: Distribution,
    /// Per-level setup statements.
    pub setup: Vec<String>,
    /// Invariant query (rows = violations) and its position.
    pub verify: Option<(String, Pos)>,
}

/// A variant's side of its workload, as written.
pub(super) struct VariantSide<'a> {
    /// `[comparison.variant.workload]`.
    pub workload: Option<&'a Spanned<WorkloadDef>>,
    /// `[[comparison.variant.mix]]`.
    pub mix: &'a [Spanned<MixDef>],
    /// Its own `sql`/`statements` (the one-transaction mix when it has no `mix`).
    pub statements: Option<&'a [String]>,
    /// Its `params` names (bound to the one transaction).
    pub params: &'a [String],
    /// Where the variant is (its name), for errors about the whole variant.
    pub span: std::ops::Range<usize>,
}

/// Resolves a variant's workload: the comparison's fields under the variant's own.
/// `at` turns a span into a position; `err` builds a positioned error.
pub(super) fn resolve(
    comparison: Option<&Spanned<WorkloadDef>>,
    side: VariantSide<'_>,
    at: &dyn Fn(std::ops::Range<usize>) -> Pos,
    err: &dyn Fn(std::ops::Range<usize>, String) -> crate::Error,
) -> crate::Result<Option<Workload>> {
    let VariantSide {
        workload: variant,
        mix,
        statements,
        params: variant_params,
        span: variant_span,
    } = side;
    let (c, v) = (
        comparison.map(|s| s.get_ref()),
        variant.map(|s| s.get_ref()),
    );
    if c.is_none() && v.is_none() {
        if let Some(m) = mix.first() {
            return Err(err(
                m.span(),
                "a mix is for workloads: add [comparison.workload] with clients = [...]".into(),
            ));
        }
        return Ok(None);
    }
    // The variant's field if it has it, else the comparison's.
    macro_rules! pick {
        ($f:ident) => {
            v.and_then(|v| v.$f.clone())
                .or_else(|| c.and_then(|c| c.$f.clone()))
        };
    }
    let whole = variant.or(comparison).expect("one is set").span();
    let clients = match pick!(clients) {
        None => {
            return Err(err(
                whole,
                "a workload needs clients = [1, 4, 16] (one measurement per client count)".into(),
            ));
        }
        Some(list) if list.get_ref().is_empty() => {
            return Err(err(
                list.span(),
                "clients is empty; give at least one client count, e.g. clients = [1, 4]".into(),
            ));
        }
        Some(list) => {
            let mut out = Vec::new();
            for n in list.get_ref() {
                let k = *n.get_ref();
                if !(1..=10_000).contains(&k) {
                    return Err(err(
                        n.span(),
                        format!(
                            "clients = {k}: each client count must be at least 1 (and at most 10000)"
                        ),
                    ));
                }
                out.push(k as u32);
            }
            out
        }
    };
    let rate = pick!(rate);
    let duration = pick!(duration_s);
    if let (Some(r), None) = (&rate, &duration) {
        return Err(err(
            r.span(),
            "a rate needs a duration: add duration_s = N (the run issues about rate × duration transactions)".into(),
        ));
    }
    if let Some(r) = &rate
        && !(r.get_ref().is_finite() && *r.get_ref() > 0.0)
    {
        return Err(err(
            r.span(),
            format!(
                "rate = {}: transactions per second must be above 0",
                r.get_ref()
            ),
        ));
    }
    let seconds = |f: Option<Spanned<f64>>, default: f64, name: &str, min: f64| match f {
        None => Ok(default),
        Some(s) if s.get_ref().is_finite() && *s.get_ref() >= min && *s.get_ref() <= 86_400.0 => {
            Ok(*s.get_ref())
        }
        Some(s) => Err(err(
            s.span(),
            format!(
                "{name} = {}: give seconds {} 0 (and at most a day)",
                s.get_ref(),
                if min > 0.0 { "above" } else { "of at least" }
            ),
        )),
    };
    let duration_s = seconds(
        duration,
        DEFAULT_DURATION_S,
        "duration_s",
        f64::MIN_POSITIVE,
    )?;
    let warmup_s = seconds(pick!(warmup_s), DEFAULT_WARMUP_S, "warmup_s", 0.0)?;
    let mut retry_on = Vec::new();
    for code in pick!(retry_on).unwrap_or_default() {
        let s = code.get_ref();
        if s.len() != 5
            || !s
                .chars()
                .all(|ch| ch.is_ascii_digit() || ch.is_ascii_uppercase())
        {
            return Err(err(
                code.span(),
                format!(
                    "retry_on {s:?} is not a SQLSTATE: give five digits or capital letters, e.g. \"40001\" (serialization failure) or \"40P01\" (deadlock)"
                ),
            ));
        }
        retry_on.push(s.clone());
    }
    let max_tries = match pick!(max_tries) {
        None => DEFAULT_MAX_TRIES,
        Some(t) if (1..=1000).contains(t.get_ref()) => *t.get_ref() as u32,
        Some(t) => {
            return Err(err(
                t.span(),
                format!(
                    "max_tries = {}: give 1 to 1000 (1 means no retry)",
                    t.get_ref()
                ),
            ));
        }
    };
    let distribution = match pick!(distribution) {
        None => Distribution::Uniform,
        Some(d) => match d.get_ref().as_str() {
            "uniform" => Distribution::Uniform,
            "zipf" => Distribution::Zipf,
            other => {
                return Err(err(
                    d.span(),
                    format!("distribution {other:?}: expected \"uniform\" or \"zipf\""),
                ));
            }
        },
    };
    let mix = match (mix.is_empty(), statements) {
        (false, Some(_)) => {
            return Err(err(
                mix[0].span(),
                "a variant has either sql/statements (one transaction) or [[comparison.variant.mix]]; not both".into(),
            ));
        }
        (true, None) => {
            return Err(err(
                variant_span,
                "a workload variant needs sql, statements or [[comparison.variant.mix]]".into(),
            ));
        }
        (true, Some(st)) => vec![Transaction {
            name: "tx".into(),
            weight: 1.0,
            statements: st.to_vec(),
            params: (!variant_params.is_empty()).then(|| variant_params.to_vec()),
        }],
        (false, None) => {
            let mut out = Vec::new();
            for (i, m) in mix.iter().enumerate() {
                let d = m.get_ref();
                let w = *d.weight.get_ref();
                if !(w.is_finite() && w > 0.0) {
                    let span = if d.weight.span().is_empty() {
                        m.span()
                    } else {
                        d.weight.span()
                    };
                    return Err(err(
                        span,
                        format!(
                            "mix weight {w}: a weight must be above 0 (drop the transaction instead)"
                        ),
                    ));
                }
                if d.statements.is_empty() {
                    return Err(err(
                        m.span(),
                        "a mix transaction needs statements = [\"…\"]".into(),
                    ));
                }
                out.push(Transaction {
                    name: d.name.clone().unwrap_or_else(|| format!("tx{}", i + 1)),
                    weight: w,
                    statements: d.statements.iter().map(|s| s.trim().to_string()).collect(),
                    params: d.params.clone(),
                });
            }
            out
        }
    };
    Ok(Some(Workload {
        clients,
        duration: Duration::from_secs_f64(duration_s),
        warmup: Duration::from_secs_f64(warmup_s),
        rate: rate.map(|r| *r.get_ref()),
        mix,
        retry_on,
        max_tries,
        params: pick!(params).map(|p| (p.get_ref().clone(), at(p.span()))),
        distribution,
        setup: pick!(setup).unwrap_or_default(),
        verify: pick!(verify).map(|p| (p.get_ref().clone(), at(p.span()))),
    }))
}

impl Workload {
    /// This workload with `--clients` and `--duration-factor` applied.
    pub fn adjusted(&self, clients: Option<&[u32]>, duration_factor: f64) -> Workload {
        let mut w = self.clone();
        if let Some(c) = clients {
            w.clients = c.to_vec();
        }
        w.duration = w.duration.mul_f64(duration_factor);
        w.warmup = w.warmup.mul_f64(duration_factor);
        w
    }

    /// Wall time of all levels (warm-up and measured window), without setup.
    pub fn wall_time(&self) -> Duration {
        (self.duration + self.warmup) * self.clients.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Distribution;

    const TEXT: &str = r#"
name = "w"
[schema]
builtin = true
[[comparison]]
id = "w"
title = "t"
reference = "a"
result = "none"
[comparison.workload]
clients = [1, 4]
duration_s = 2
retry_on = ["40001"]
params = "SELECT 1 AS x, 2 AS y"
distribution = "zipf"
[[comparison.variant]]
name = "a"
sql = "SELECT $1::int"
[[comparison.variant]]
name = "b"
workload = { clients = [8], rate = 50 }
[[comparison.variant.mix]]
weight = 3
params = ["y"]
statements = ["SELECT $1::int", "SELECT 2"]
[[comparison.variant.mix]]
name = "other"
statements = ["SELECT 3"]
"#;

    #[test]
    fn a_variant_takes_the_comparisons_fields_under_its_own() {
        let s = crate::catalog::parse(TEXT, "w.toml", None).unwrap();
        let c = &s.comparisons[0];
        let a = c.variants[0].workload.as_ref().unwrap();
        assert_eq!(a.clients, [1, 4]);
        assert_eq!(a.duration, Duration::from_secs(2));
        assert_eq!(a.warmup, Duration::from_secs(1), "default warm-up");
        assert_eq!(a.rate, None);
        assert_eq!(a.retry_on, ["40001"]);
        assert_eq!(a.distribution, Distribution::Zipf);
        assert_eq!(a.mix.len(), 1);
        assert_eq!(a.mix[0].statements, ["SELECT $1::int"]);
        let b = c.variants[1].workload.as_ref().unwrap();
        assert_eq!((b.clients.as_slice(), b.rate), ([8].as_slice(), Some(50.0)));
        assert_eq!(b.duration, Duration::from_secs(2), "the comparison's");
        assert_eq!(b.mix.len(), 2);
        assert_eq!((b.mix[0].name.as_str(), b.mix[0].weight), ("tx1", 3.0));
        assert_eq!(b.mix[0].params.as_deref(), Some(&["y".to_string()][..]));
        assert_eq!((b.mix[1].name.as_str(), b.mix[1].weight), ("other", 1.0));
        assert_eq!(
            c.variants[1].statements.len(),
            3,
            "the mix's statements, for results"
        );
        let longer = b.adjusted(Some(&[2, 16]), 10.0);
        assert_eq!(longer.clients, [2, 16]);
        assert_eq!(longer.duration, Duration::from_secs(20));
        assert_eq!(longer.wall_time(), Duration::from_secs(2 * 30));
    }

    #[test]
    fn a_mix_without_a_workload_is_refused_at_its_position() {
        let text = TEXT.replace(
            "[comparison.workload]\nclients = [1, 4]\nduration_s = 2\nretry_on = [\"40001\"]\nparams = \"SELECT 1 AS x, 2 AS y\"\ndistribution = \"zipf\"\n",
            "",
        )
        .replace("workload = { clients = [8], rate = 50 }\n", "");
        let e = crate::catalog::parse(&text, "w.toml", None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("w.toml:"), "{e}");
        assert!(e.contains("a mix is for workloads"), "{e}");
    }
}
