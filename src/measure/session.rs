//! A variant made ready to execute on its own clone, and the untimed work around
//! its samples: parameters, index set, result digest, plans.
//!
//! `querylab run` ([`super::variant`]) and the criterion benches drive the same
//! [`Session`], so a bench times exactly what a run times.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::Measurer;
use super::exec::{ExecError, Execution, PrepareError, RowDigest, TextParam};
use super::setup::{
    apply_ddl, apply_index_set, bound_setup, comparison_params, param_sets, session,
};
use crate::catalog::{Comparison, Mode, Variant};
use crate::error::{Error, Result};
use crate::explain;
use crate::results::{Counters, ResultOrder, VariantStatus};

/// Named parameter values of a comparison (text form; `None` = NULL).
pub type Params = BTreeMap<String, Option<String>>;

/// Outcome of a variant that could not be measured but does not stop the run.
pub struct Failed(pub String);

impl From<Failed> for VariantStatus {
    fn from(f: Failed) -> Self {
        VariantStatus::Failed { message: f.0 }
    }
}

/// Why measuring a variant stopped early.
pub enum Stop {
    /// The whole run must stop.
    Run(Error),
    /// Only this variant failed.
    Variant(Failed),
    /// A sample hit the statement timeout.
    Timeout,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        if e.is_connection_lost() || matches!(e, Error::Interrupted) {
            Stop::Run(e)
        } else {
            Stop::Variant(Failed(e.to_string()))
        }
    }
}

/// A variant ready to run: its clone, connection and prepared statements.
pub struct Session {
    db: String,
    client: Client,
    exec: Execution,
    variant: Variant,
    comparison: Comparison,
    ordered: bool,
    /// Parameter values of the first execution, as text (for results).
    pub params: Vec<String>,
}

impl Session {
    /// The clone this variant runs on.
    pub fn database(&self) -> &str {
        &self.db
    }

    /// Statement executions per sample.
    pub fn executions_per_sample(&self) -> u32 {
        self.exec.executions_per_sample()
    }
}

/// Clones the template, computes the comparison's parameters (once, cached in
/// `params`), applies the index set and prepares the statements.
pub async fn open(
    m: &mut Measurer<'_>,
    c: &Comparison,
    v: &Variant,
    params: &mut Option<Params>,
) -> std::result::Result<Session, Stop> {
    let db = m.next_clone();
    m.server.create_database(&db, Some(m.template)).await?;
    match open_on(m, c, v, params, &db).await {
        Ok(s) => Ok(s),
        Err(e) => {
            m.server.drop_database(&db).await?;
            Err(e)
        }
    }
}

async fn open_on(
    m: &mut Measurer<'_>,
    c: &Comparison,
    v: &Variant,
    params: &mut Option<Params>,
    db: &str,
) -> std::result::Result<Session, Stop> {
    let client = m.server.connect(db).await?;
    bound_setup(m, &client).await?;
    if params.is_none() {
        *params = Some(comparison_params(m, c, &client).await?);
    }
    let params = params.as_ref().expect("set above");
    apply_index_set(m, v, &client).await?;
    session(m, c, v, &client, false).await?;
    let param_sets = param_sets(m, v, params, &client).await?;
    let first = param_sets
        .first()
        .map(|p| {
            p.iter()
                .map(|t| t.0.clone().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .unwrap_or_default();
    let exec = prepare(m, v, &client, param_sets).await?;
    Ok(Session {
        db: db.to_string(),
        client,
        exec,
        variant: v.clone(),
        comparison: c.clone(),
        ordered: c.result_order != ResultOrder::Multiset,
        params: first,
    })
}

async fn prepare(
    m: &Measurer<'_>,
    v: &Variant,
    client: &Client,
    param_sets: Vec<Vec<TextParam>>,
) -> std::result::Result<Execution, Stop> {
    Execution::new(
        client,
        m.config.protocol,
        v.statements.clone(),
        param_sets,
        v.repeat_until_zero,
    )
    .await
    .map_err(|e| match e {
        PrepareError::Sql { source, .. } if crate::error::connection_lost(&source) => {
            Stop::Run(Error::db(format!("preparing variant {}", v.name), source))
        }
        e => Stop::Variant(Failed(prepare_message(m, v, e))),
    })
}

/// A fresh clone with the variant's index set and session, for writing variants.
async fn with_fresh_clone<T>(
    m: &mut Measurer<'_>,
    s: &Session,
    deterministic: bool,
    f: impl AsyncFnOnce(&Measurer<'_>, &Client, Execution) -> std::result::Result<T, Stop>,
) -> std::result::Result<T, Stop> {
    let db = m.next_clone();
    m.server.create_database(&db, Some(m.template)).await?;
    let r = async {
        let client = m.server.connect(&db).await?;
        bound_setup(m, &client).await?;
        apply_ddl(m, &s.variant, &client).await?;
        session(m, &s.comparison, &s.variant, &client, deterministic).await?;
        let exec = prepare(m, &s.variant, &client, s.exec.param_sets().to_vec()).await?;
        f(m, &client, exec).await
    }
    .await;
    m.server.drop_database(&db).await?;
    r
}

/// One timed sample, in nanoseconds. A `fresh_clone` variant gets a new clone
/// (made and dropped outside the timing).
pub async fn sample(m: &mut Measurer<'_>, s: &Session) -> std::result::Result<u64, Stop> {
    if s.variant.mode == Mode::FreshClone {
        return with_fresh_clone(m, s, false, async |m, client, exec| {
            one_sample(m, &s.variant, &exec, client, None).await
        })
        .await;
    }
    one_sample(m, &s.variant, &s.exec, &s.client, None).await
}

/// The variant's result digest, from an untimed execution (writing variants: the
/// `verify` query's rows after a run on a fresh clone).
pub async fn result(
    m: &mut Measurer<'_>,
    s: &Session,
) -> std::result::Result<crate::results::ResultDigest, Stop> {
    if s.variant.mode == Mode::FreshClone {
        return with_fresh_clone(m, s, false, async |m, client, exec| {
            one_sample(m, &s.variant, &exec, client, None).await?;
            verify(&s.variant, client, s.ordered).await
        })
        .await;
    }
    let mut digest = RowDigest::new(s.ordered);
    one_sample(m, &s.variant, &s.exec, &s.client, Some(&mut digest)).await?;
    Ok(digest.finish())
}

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

/// Closes the connection and drops the clone.
pub async fn close(m: &Measurer<'_>, s: Session) -> Result<()> {
    drop(s.client);
    m.server.drop_database(&s.db).await
}

/// The status to record for a variant that stopped with `stop`, or the error that
/// stops the run.
pub fn status_of(m: &Measurer<'_>, c: &Comparison, stop: Stop) -> Result<VariantStatus> {
    match stop {
        Stop::Run(e) => Err(e),
        Stop::Variant(f) => Ok(f.into()),
        Stop::Timeout => Ok(timed_out(m, c)),
    }
}

/// One timed execution (rollback mode: inside BEGIN … ROLLBACK, untimed).
async fn one_sample(
    m: &Measurer<'_>,
    v: &Variant,
    exec: &Execution,
    client: &Client,
    digest: Option<&mut RowDigest>,
) -> std::result::Result<u64, Stop> {
    let rollback = v.mode == Mode::Rollback;
    let stmt_err = |e: tokio_postgres::Error| Stop::from(Error::db("sample", e));
    if rollback {
        client.batch_execute("BEGIN").await.map_err(stmt_err)?;
    }
    let t = Instant::now();
    let r = tokio::select! {
        r = exec.run(client, digest) => r,
        _ = m.shutdown.cancelled() => return Err(Stop::Run(Error::Interrupted)),
    };
    let ns = t.elapsed().as_nanos() as u64;
    if rollback {
        // After an error the transaction is aborted; ROLLBACK still ends it.
        client.batch_execute("ROLLBACK").await.map_err(stmt_err)?;
    }
    match r {
        Ok(()) => Ok(ns),
        Err(ExecError { source, .. }) if source.code() == Some(&SqlState::QUERY_CANCELED) => {
            Err(Stop::Timeout)
        }
        Err(ExecError { index, source }) => {
            let e = Error::db(
                format!(
                    "{}: variant {}, statement {}",
                    pos_str(m, v),
                    v.name,
                    index + 1
                ),
                source,
            );
            Err(e.into())
        }
    }
}

fn timed_out(m: &Measurer<'_>, c: &Comparison) -> VariantStatus {
    VariantStatus::TimedOut {
        timeout_ns: c
            .timeout
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(m.config.sampling.statement_timeout_ns),
    }
}

pub(super) fn pos_str(m: &Measurer<'_>, v: &Variant) -> String {
    format!("{}:{}:{}", m.scenario.source, v.pos.line, v.pos.column)
}

fn prepare_message(m: &Measurer<'_>, v: &Variant, e: PrepareError) -> String {
    let at = pos_str(m, v);
    match e {
        PrepareError::Sql { index, source } => format!(
            "{at}: variant {}: statement {} failed to prepare: {}; fix the SQL in the scenario",
            v.name,
            index + 1,
            crate::error::pg_message(&source)
        ),
        PrepareError::ParamCount {
            index,
            expected,
            given,
        } => format!(
            "{at}: variant {}: statement {} uses {expected} parameter(s) but {given} are bound; list them in params = [...] (or for_each columns)",
            v.name,
            index + 1
        ),
    }
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
        let explained = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}");
        let refs: Vec<&(dyn postgres_types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres_types::ToSql + Sync))
            .collect();
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

/// The result of a writing variant: its `verify` query's rows after the sample.
async fn verify(
    v: &Variant,
    client: &Client,
    ordered: bool,
) -> std::result::Result<crate::results::ResultDigest, Stop> {
    let mut d = RowDigest::new(ordered);
    if let Some(sql) = &v.verify {
        let exec = Execution::new(
            client,
            super::Protocol::Prepared,
            vec![sql.clone()],
            vec![vec![]],
            false,
        )
        .await
        .map_err(|e| match e {
            PrepareError::Sql { source, .. } => Stop::Variant(Failed(format!(
                "variant {}: verify query failed: {}",
                v.name,
                crate::error::pg_message(&source)
            ))),
            PrepareError::ParamCount { .. } => Stop::Variant(Failed(format!(
                "variant {}: verify query must not use parameters",
                v.name
            ))),
        })?;
        exec.run(client, Some(&mut d))
            .await
            .map_err(|e| Stop::from(Error::db("verify query", e.source)))?;
    }
    Ok(d.finish())
}
