//! Concurrent workloads: a variant's transactions from N clients at once.
//!
//! For each variant of a workload comparison: a clone with its index set (as for
//! single-client variants), the `params` rows, and then one measurement per client
//! count ([`level`]): the `setup` statements, N connections with prepared
//! statements started behind a barrier ([`client`]), warm-up, the measured window,
//! and the `verify` query, whose rows are broken invariants and fail the variant
//! like a result mismatch. Ctrl-C drops the whole comparison (see
//! [`crate::measure::Measurer::comparison`]): every client's connection closes at
//! once and the server's teardown drops the clone.

mod client;
mod cpu;
pub mod level;
mod socket;
mod threads;

pub use cpu::children as children_cpu;
pub use threads::count as client_threads;

use std::sync::Arc;
use std::time::Instant;

use tokio_postgres::{Client, SimpleQueryMessage};

use crate::catalog::{Comparison, Variant, Workload};
use crate::error::{Error, Result};
use crate::measure::exec::{TextParam, text_rows};
use crate::measure::session::{Failed, Stop};
use crate::measure::setup::{apply_index_set, bound_setup, setup_failure};
use crate::measure::{Measurer, blank_result};
use crate::provision::{Server, quote_ident};
use crate::results::workload::{MixEntry, VerifyOutcome, WorkloadResult};
use crate::results::{VariantResult, VariantStatus, WorkloadSettings};

/// Connections querylab itself holds besides the clients: the variant's own
/// (sampler, setup, verify), the maintenance one that clones, and one spare.
const OWN_CONNECTIONS: u32 = 3;

/// Whether `c` is a workload comparison (any variant runs a workload).
pub fn is_workload(c: &Comparison) -> bool {
    c.variants.iter().any(|v| v.workload.is_some())
}

/// The workload `v` runs with the run's overrides applied.
pub fn effective(v: &Variant, settings: &WorkloadSettings) -> Option<Workload> {
    v.workload
        .as_ref()
        .map(|w| w.adjusted(settings.clients.as_deref(), settings.duration_factor))
}

/// Checks `--clients`, `--duration-factor` and `--client-threads`.
pub fn check_settings(s: &WorkloadSettings) -> Result<()> {
    if let Some(c) = &s.clients
        && (c.is_empty() || c.contains(&0))
    {
        return Err(Error::Invalid(
            "--clients: give client counts of at least 1, comma-separated (e.g. --clients 1,8)"
                .into(),
        ));
    }
    if s.client_threads == Some(0) {
        return Err(Error::Invalid(
            "--client-threads 0: give at least 1 thread (like pgbench -j)".into(),
        ));
    }
    if !(s.duration_factor.is_finite() && s.duration_factor > 0.0 && s.duration_factor <= 1000.0) {
        return Err(Error::Invalid(format!(
            "--duration-factor {}: give a number above 0 (1 = the scenario's durations)",
            s.duration_factor
        )));
    }
    Ok(())
}

/// Refuses, before anything is loaded, a selection whose largest client count the
/// server cannot accept, saying what to raise.
pub async fn check_capacity(
    server: &Server,
    selected: &[&Comparison],
    settings: &WorkloadSettings,
) -> Result<()> {
    let most = selected
        .iter()
        .flat_map(|c| &c.variants)
        .filter_map(|v| effective(v, settings))
        .flat_map(|w| w.clients)
        .max();
    let Some(most) = most else { return Ok(()) };
    let admin = server.admin().await?;
    let row = admin
        .query_one(
            "SELECT current_setting('max_connections')::int, \
                    current_setting('superuser_reserved_connections')::int, \
                    (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend')",
            &[],
        )
        .await
        .map_err(|e| Error::db("reading max_connections", e))?;
    let (max, reserved, used): (i32, i32, i32) = (row.get(0), row.get(1), row.get(2));
    let free = (max - reserved - used).max(0) as u32;
    if most + OWN_CONNECTIONS > free {
        let want = most + OWN_CONNECTIONS + reserved.max(0) as u32 + used.max(0) as u32;
        return Err(Error::Invalid(format!(
            "a workload runs {most} clients but the server accepts {free} more connections (max_connections = {max}, {reserved} reserved, {used} in use; querylab needs {OWN_CONNECTIONS} of its own): raise max_connections to at least {want} (--set max_connections={want} for a server querylab starts, ALTER SYSTEM and a restart for a url server) or pass fewer --clients"
        )));
    }
    Ok(())
}

/// Measures every variant of workload comparison `c`.
pub(crate) async fn measure_all(
    m: &mut Measurer<'_>,
    c: &Comparison,
    started: Instant,
) -> Result<Vec<VariantResult>> {
    let mut out = Vec::new();
    for v in &c.variants {
        m.shutdown.check()?;
        let mut r = blank_result(m.scenario, v, m.config);
        let Some(w) = effective(v, &m.config.workload) else {
            r.status = VariantStatus::Failed {
                message: format!(
                    "{}:{}:{}: variant {} has no workload in a workload comparison; give the comparison a [comparison.workload]",
                    m.scenario.source, v.pos.line, v.pos.column, v.name
                ),
            };
            out.push(r);
            continue;
        };
        r.executions_per_sample = 0;
        r.workload = Some(WorkloadResult {
            duration_ns: w.duration.as_nanos() as u64,
            warmup_ns: w.warmup.as_nanos() as u64,
            rate: w.rate,
            mix: w
                .mix
                .iter()
                .map(|t| MixEntry {
                    name: t.name.clone(),
                    weight: t.weight,
                })
                .collect(),
            retry_on: w.retry_on.clone(),
            max_tries: w.max_tries,
            window_ns: level::WINDOW.as_nanos() as u64,
            levels: Vec::new(),
        });
        if started.elapsed() > m.config.comparison_budget {
            r.status = VariantStatus::Failed {
                message: format!(
                    "not run: comparison {} exceeded its time budget of {:?}",
                    c.id, m.config.comparison_budget
                ),
            };
            out.push(r);
            continue;
        }
        let db = m.server.unique_name("c");
        let template = m.template;
        m.make_clone(&db, template).await?;
        let outcome = variant(m, c, v, &w, &db, &mut r).await;
        m.retire(db);
        match outcome {
            Ok(()) => {}
            Err(Stop::Run(e)) => return Err(e),
            Err(Stop::Variant(Failed(message))) => r.status = VariantStatus::Failed { message },
            Err(Stop::Timeout) => {
                r.status = VariantStatus::TimedOut {
                    timeout_ns: m.config.sampling.statement_timeout_ns,
                }
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// `FILE:LINE:COLUMN` of variant `v`.
fn at(m: &Measurer<'_>, v: &Variant) -> String {
    format!("{}:{}:{}", m.scenario.source, v.pos.line, v.pos.column)
}

/// One variant on its clone `db`: index set, params, then every level.
async fn variant(
    m: &mut Measurer<'_>,
    c: &Comparison,
    v: &Variant,
    w: &Workload,
    db: &str,
    r: &mut VariantResult,
) -> std::result::Result<(), Stop> {
    let admin = m.server.connect(db).await?;
    bound_setup(m, &admin).await?;
    apply_index_set(m, v, &admin).await?;
    let (columns, params) = params(m, v, w, &admin).await?;
    let params: Arc<[Vec<TextParam>]> = params.into();
    r.params = params
        .first()
        .map(|row| {
            row.iter()
                .map(|p| p.0.clone().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .unwrap_or_default();
    let session_sql = session_sql(m, c, v);
    let mut broken = Vec::new();
    for &clients in &w.clients {
        m.shutdown.check()?;
        m.progress
            .println(&format!("{} / {}: {clients} clients", c.id, v.name));
        run_setup(&admin, w, clients).await.map_err(|(i, e)| {
            lost_or(e, "running workload setup", |e| {
                format!(
                    "{}: variant {}: workload setup statement {} failed: {}",
                    at(m, v),
                    v.name,
                    i + 1,
                    setup_failure(m, e, "the workload's setup")
                )
            })
        })?;
        // Setup ran under the comparison's budget; the level runs unbounded
        // by it (each client's statement_timeout still holds).
        admin
            .batch_execute("SET statement_timeout = 0")
            .await
            .map_err(|e| Stop::from(Error::db("clearing the setup timeout", e)))?;
        let input = level::LevelInput {
            server: m.server,
            database: db,
            admin: &admin,
            session_sql: &session_sql,
            params: &params,
            columns: &columns,
            client_threads: m.config.workload.client_threads,
        };
        let mut result = match level::run(&input, w, clients).await {
            Ok(l) => l,
            Err(level::LevelFailure::Run(e)) => return Err(Stop::from(e)),
            Err(level::LevelFailure::Scenario(msg)) => {
                return Err(Stop::Variant(Failed(format!(
                    "{}: variant {}: {msg}; fix the scenario",
                    at(m, v),
                    v.name
                ))));
            }
        };
        if let Some((sql, pos)) = &w.verify {
            let outcome = verify(&admin, sql).await.map_err(|e| {
                lost_or(e, "running the workload's verify query", |e| {
                    format!(
                        "{}:{}:{}: variant {}: verify query failed: {}; fix it in the scenario",
                        m.scenario.source,
                        pos.line,
                        pos.column,
                        v.name,
                        crate::error::pg_message(e)
                    )
                })
            })?;
            if !outcome.ok {
                broken.push(format!(
                    "{}:{}:{}: variant {} at {clients} clients: verify returned {} row(s), each a broken invariant (first: {})",
                    m.scenario.source,
                    pos.line,
                    pos.column,
                    v.name,
                    outcome.violations,
                    outcome.sample.first().cloned().unwrap_or_default()
                ));
            }
            result.verify = Some(outcome);
        }
        if let Some(wr) = r.workload.as_mut() {
            wr.levels.push(result);
        }
    }
    if let Some(first) = broken.into_iter().next() {
        return Err(Stop::Variant(Failed(first)));
    }
    Ok(())
}

/// A driver error as what stops the run (server gone) or as this variant's failure.
fn lost_or(
    e: tokio_postgres::Error,
    what: &str,
    message: impl FnOnce(&tokio_postgres::Error) -> String,
) -> Stop {
    if crate::error::connection_lost(&e) {
        Stop::Run(Error::db(what.to_string(), e))
    } else {
        Stop::Variant(Failed(message(&e)))
    }
}

/// The column names and rows of the workload's params query, as text parameters.
async fn params(
    m: &Measurer<'_>,
    v: &Variant,
    w: &Workload,
    admin: &Client,
) -> std::result::Result<(Vec<String>, Vec<Vec<TextParam>>), Stop> {
    let Some((sql, pos)) = &w.params else {
        return Ok((Vec::new(), Vec::new()));
    };
    let rows = admin.simple_query(sql).await.map_err(|e| {
        lost_or(e, "running the workload's params query", |e| {
            format!(
                "{}:{}:{}: variant {}: workload params query failed: {}",
                m.scenario.source,
                pos.line,
                pos.column,
                v.name,
                setup_failure(m, e, "the params query")
            )
        })
    })?;
    let (columns, rows) = text_rows(&rows);
    if rows.is_empty() {
        return Err(Stop::Variant(Failed(format!(
            "{}:{}:{}: variant {}: the workload's params query returned no row; each transaction draws one",
            m.scenario.source, pos.line, pos.column, v.name
        ))));
    }
    Ok((columns, rows))
}

/// Runs a level's `setup` statements on `admin`, after setting what the level
/// will be as session settings its SQL can read, so a setup can size what it
/// prepares to the level (the job queue: enough jobs that the claims never run
/// dry, at any `--duration-factor`): `querylab.level_clients` (the client
/// count) and `querylab.level_seconds` (warm-up plus measured span, seconds).
/// A failed statement comes back with its index.
async fn run_setup(
    admin: &tokio_postgres::Client,
    w: &Workload,
    clients: u32,
) -> std::result::Result<(), (usize, tokio_postgres::Error)> {
    let seconds = (w.warmup + w.duration).as_secs_f64();
    admin
        .batch_execute(&format!(
            "SET querylab.level_clients = '{clients}'; SET querylab.level_seconds = '{seconds}'"
        ))
        .await
        .map_err(|e| (0, e))?;
    for (i, stmt) in w.setup.iter().enumerate() {
        admin.batch_execute(stmt).await.map_err(|e| (i, e))?;
    }
    Ok(())
}

/// Runs one level of `w` at `clients` clients on `client_threads` threads (see
/// [`client_threads`]) on an existing database `db` (its setup first, its verify
/// after), outside a comparison: for the workload bench, which runs pgbench on the
/// same database between querylab's levels.
pub async fn run_level(
    server: &Server,
    db: &str,
    w: &Workload,
    settings: &std::collections::BTreeMap<String, String>,
    clients: u32,
    client_threads: Option<u32>,
) -> Result<crate::results::workload::LevelResult> {
    let admin = server.connect(db).await?;
    run_setup(&admin, w, clients)
        .await
        .map_err(|(_, e)| Error::db("running workload setup", e))?;
    let (columns, params) = match &w.params {
        Some((sql, _)) => text_rows(
            &admin
                .simple_query(sql)
                .await
                .map_err(|e| Error::db("running the workload's params query", e))?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let params: Arc<[Vec<TextParam>]> = params.into();
    let timeout_ms = crate::measure::default_sampling().statement_timeout_ns / 1_000_000;
    let input = level::LevelInput {
        server,
        database: db,
        admin: &admin,
        session_sql: &session_settings(timeout_ms, settings),
        params: &params,
        columns: &columns,
        client_threads,
    };
    let mut result = match level::run(&input, w, clients).await {
        Ok(l) => l,
        Err(level::LevelFailure::Run(e)) => return Err(e),
        Err(level::LevelFailure::Scenario(m)) => return Err(Error::Invalid(m)),
    };
    if let Some((sql, _)) = &w.verify {
        result.verify = Some(
            verify(&admin, sql)
                .await
                .map_err(|e| Error::db("running the workload's verify query", e))?,
        );
    }
    Ok(result)
}

/// Each client's session: the statement timeout and the variant's settings.
fn session_sql(m: &Measurer<'_>, c: &Comparison, v: &Variant) -> String {
    let timeout_ms = c
        .timeout
        .map(|d| d.as_millis() as u64)
        .unwrap_or(m.config.sampling.statement_timeout_ns / 1_000_000);
    session_settings(timeout_ms, &v.settings)
}

/// `SET` lines: the statement timeout, then `settings`.
fn session_settings(
    timeout_ms: u64,
    settings: &std::collections::BTreeMap<String, String>,
) -> String {
    let mut sql = format!("SET statement_timeout = {timeout_ms};");
    for (k, val) in settings {
        sql.push_str(&format!(
            "SET {} = '{}';",
            quote_ident(k),
            val.replace('\'', "''")
        ));
    }
    sql
}

/// Runs the verify query: no row means the invariant holds.
async fn verify(
    admin: &Client,
    sql: &str,
) -> std::result::Result<VerifyOutcome, tokio_postgres::Error> {
    let msgs = admin.simple_query(sql).await?;
    let rows: Vec<String> = msgs
        .iter()
        .filter_map(|msg| match msg {
            SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => None,
        })
        .collect();
    Ok(VerifyOutcome {
        ok: rows.is_empty(),
        violations: rows.len() as u64,
        sample: rows.into_iter().take(5).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::check_settings;
    use crate::results::WorkloadSettings;

    #[test]
    fn zero_clients_or_threads_are_refused_naming_the_flag() {
        for (s, flag) in [
            (
                WorkloadSettings {
                    clients: Some(vec![1, 0]),
                    ..WorkloadSettings::default()
                },
                "--clients",
            ),
            (
                WorkloadSettings {
                    client_threads: Some(0),
                    ..WorkloadSettings::default()
                },
                "--client-threads",
            ),
            (
                WorkloadSettings {
                    duration_factor: 0.0,
                    ..WorkloadSettings::default()
                },
                "--duration-factor",
            ),
        ] {
            let e = check_settings(&s).expect_err(flag).to_string();
            assert!(e.starts_with(flag), "{e}");
        }
        assert!(check_settings(&WorkloadSettings::default()).is_ok());
    }
}
