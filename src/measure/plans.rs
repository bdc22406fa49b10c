//! The third step of a variant's path, outside any timing: the kept plan and the
//! deterministic counters.

use serde_json::Value;
use tokio_postgres::Client;

use super::Measurer;
use super::exec::Execution;
use super::setup::{Session, session, with_fresh_clone};
use super::stop::Stop;
use crate::catalog::Mode;
use crate::error::Error;
use crate::explain;
use crate::results::Counters;

/// The kept plan (normal settings) and the deterministic counters (no parallel
/// workers, no JIT), both outside any timing. Writing variants are explained inside
/// a rolled-back transaction.
pub async fn plans(
    m: &mut Measurer<'_>,
    s: &Session,
) -> std::result::Result<(Value, Counters), Stop> {
    match s.variant.mode {
        Mode::FreshClone => {
            let plan = with_fresh_clone(m, s, false, async |_, client, exec| {
                explain_all(client, &exec, true, true).await
            })
            .await?;
            let det = with_fresh_clone(m, s, true, async |_, client, exec| {
                explain_all(client, &exec, true, false).await
            })
            .await?;
            Ok((plan, counters_of(&det)))
        }
        mode => {
            let rollback = mode == Mode::Rollback;
            let plan = explain_all(&s.client, &s.exec, rollback, true).await?;
            session(m, &s.comparison, &s.variant, &s.client, true).await?;
            let det = explain_all(&s.client, &s.exec, rollback, false).await?;
            session(m, &s.comparison, &s.variant, &s.client, false).await?;
            Ok((plan, counters_of(&det)))
        }
    }
}

/// Plain `EXPLAIN`s per variant for its planning time: planning repeats within a
/// few percent once the session's caches are warm, so a median of five is steady.
const PLANNING_ROUNDS: usize = 5;

/// Planning time of one sample's statements (summed), milliseconds: the median of
/// [`PLANNING_ROUNDS`] `EXPLAIN (SUMMARY ON, FORMAT JSON)` passes on the variant's
/// session, after its plans. A plain EXPLAIN plans without executing, so writing
/// variants are safe; a fresh-clone variant (whose statements may need the ones
/// before them to have run) takes it from the kept plan's capture instead. `None`
/// when a statement cannot be planned on its own (it needs an earlier one to run).
pub async fn planning_ms(s: &Session, kept_plan: &Value) -> Option<f64> {
    if s.variant.mode == Mode::FreshClone {
        return planning_of(kept_plan);
    }
    let units = s.exec.explain_units();
    let mut rounds = Vec::with_capacity(PLANNING_ROUNDS);
    for _ in 0..PLANNING_ROUNDS {
        let mut total = 0.0;
        for (sql, params) in units.iter().take(s.exec.statements_per_repetition()) {
            if !explainable(sql) {
                continue;
            }
            let refs: Vec<&(dyn postgres_types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn postgres_types::ToSql + Sync))
                .collect();
            let explained = format!("EXPLAIN (SUMMARY ON, FORMAT JSON) {sql}");
            let v: Value = s.client.query_one(&explained, &refs).await.ok()?.get(0);
            total += planning_of(&v)?;
        }
        rounds.push(total);
    }
    Some(crate::stats::median(&rounds))
}

/// Sum of the `Planning Time`s of an EXPLAIN output (`None` when it has none).
fn planning_of(explain: &Value) -> Option<f64> {
    let times: Vec<f64> = explain::parse(explain)
        .iter()
        .filter_map(|p| p.planning_ms)
        .collect();
    (!times.is_empty()).then(|| times.iter().sum())
}

/// `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of every statement execution of one
/// sample, concatenated into one array. With `first_only`, N+1 repetitions are
/// explained once (the kept plan); without, all are (for summed counters).
async fn explain_all(
    client: &Client,
    exec: &Execution,
    rollback: bool,
    first_only: bool,
) -> std::result::Result<Value, Stop> {
    let mut all = Vec::new();
    let units = exec.explain_units();
    let statements = if first_only {
        exec.statements_per_repetition()
    } else {
        units.len()
    };
    if rollback {
        client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| Error::db("explain", e))?;
    }
    for (sql, params) in units.iter().take(statements) {
        let refs: Vec<&(dyn postgres_types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres_types::ToSql + Sync))
            .collect();
        if !explainable(sql) {
            // DDL (DETACH PARTITION, DROP TABLE …) has no plan; it still runs, so the
            // statements after it see what it did.
            let r = client.execute(sql.as_str(), &refs).await;
            if let Err(e) = r {
                if rollback {
                    let _ = client.batch_execute("ROLLBACK").await;
                }
                return Err(Error::db(format!("running {sql}"), e).into());
            }
            continue;
        }
        let explained = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}");
        let r = client.query_one(&explained, &refs).await;
        let row = match r {
            Ok(row) => row,
            Err(e) => {
                if rollback {
                    let _ = client.batch_execute("ROLLBACK").await;
                }
                return Err(Error::db(format!("explaining {sql}"), e).into());
            }
        };
        let v: Value = row.get(0);
        if let Value::Array(items) = v {
            all.extend(items);
        }
    }
    if rollback {
        client
            .batch_execute("ROLLBACK")
            .await
            .map_err(|e| Error::db("explain", e))?;
    }
    Ok(Value::Array(all))
}

/// Whether EXPLAIN takes the statement: queries and DML, not utility statements.
fn explainable(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        first.as_str(),
        "select" | "insert" | "update" | "delete" | "with" | "values" | "table" | "merge"
    )
}

fn counters_of(explain: &Value) -> Counters {
    let mut acc = Counters::default();
    for item in explain.as_array().into_iter().flatten() {
        explain::accumulate(
            &mut acc,
            &explain::counters(&Value::Array(vec![item.clone()])),
        );
    }
    acc
}
