//! The first step of a variant's path: a clone made ready for it — parameters,
//! index set (with its size and write cost the first time it is seen), session
//! settings and prepared statements — as a [`Session`]; and the last step,
//! [`close`]. Writing variants get a fresh clone set up the same way per execution
//! ([`with_fresh_clone`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::exec::{Execution, PrepareError, TextParam, text_rows};
use super::stop::{Failed, Stop, pos_str};
use super::{Measurer, cost};
use crate::catalog::{Comparison, Mode, Variant};
use crate::error::{Error, Result};
use crate::provision::quote_ident;
use crate::results::ResultOrder;

/// Named parameter values of a comparison (text form; `None` = NULL).
pub type Params = BTreeMap<String, Option<String>>;

/// A variant ready to run: its clone, connection and prepared statements.
pub struct Session {
    db: String,
    pub(super) client: Client,
    pub(super) exec: Execution,
    pub(super) variant: Variant,
    pub(super) comparison: Comparison,
    pub(super) ordered: bool,
    /// Parameter values of the first execution, as text (for results).
    pub params: Vec<String>,
    /// A `fresh_clone` variant's own clone, set up like a fresh one and not yet run
    /// on: the first fresh clone it asks for ([`with_fresh_clone`]).
    unused: std::sync::atomic::AtomicBool,
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

/// A clone for `v` (a read-only variant shares one with the others of its layout and
/// index set: [`super::clones`]), the comparison's parameters (computed once, cached
/// in `params`), the index set applied, and the statements prepared.
pub async fn open(
    m: &mut Measurer<'_>,
    c: &Comparison,
    v: &Variant,
    params: &mut Option<Params>,
) -> std::result::Result<Session, Stop> {
    let source = super::layout::source_for(m, v).await?;
    let key = (v.layout.clone(), v.index_set.clone());
    let shared = if v.mode == Mode::Read {
        m.mem.clones.share(&key)
    } else {
        None
    };
    if let Some(db) = shared {
        let r = open_on(m, c, v, params, &db, false).await;
        if r.is_err() {
            release_shared(m, &db);
        }
        return r;
    }
    let db = m.next_clone();
    m.make_clone(&db, &source).await?;
    match open_on(m, c, v, params, &db, true).await {
        Ok(s) => {
            if v.mode == Mode::Read {
                m.mem.clones.add(key, &db);
            }
            Ok(s)
        }
        Err(e) => {
            m.server.drop_database(&db).await?;
            Err(e)
        }
    }
}

/// Sets `v` up on `db`; `build`: the clone is new, its index set is still to apply.
async fn open_on(
    m: &mut Measurer<'_>,
    c: &Comparison,
    v: &Variant,
    params: &mut Option<Params>,
    db: &str,
    build: bool,
) -> std::result::Result<Session, Stop> {
    let client = m.server.connect(db).await?;
    bound_setup(m, &client).await?;
    if params.is_none() {
        *params = Some(comparison_params(m, c, &client).await?);
    }
    let params = params.as_ref().expect("set above");
    super::layout::record_bytes(m, v, &client).await?;
    if build {
        apply_index_set(m, v, &client).await?;
    }
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
        unused: (v.mode == Mode::FreshClone).into(),
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
/// The first one (when not `deterministic`) is the session's own clone, which is
/// set up exactly so and has not been run on.
pub(super) async fn with_fresh_clone<T>(
    m: &mut Measurer<'_>,
    s: &Session,
    deterministic: bool,
    f: impl AsyncFnOnce(&Measurer<'_>, &Client, Execution) -> std::result::Result<T, Stop>,
) -> std::result::Result<T, Stop> {
    if !deterministic && s.unused.swap(false, std::sync::atomic::Ordering::Relaxed) {
        return f(m, &s.client, s.exec.clone()).await;
    }
    let source = super::layout::source_for(m, &s.variant).await?;
    let db = m.next_clone();
    m.make_clone(&db, &source).await?;
    let r = async {
        let client = m.server.connect(&db).await?;
        bound_setup(m, &client).await?;
        apply_ddl(m, &s.variant, &client).await?;
        session(m, &s.comparison, &s.variant, &client, deterministic).await?;
        let exec = prepare(m, &s.variant, &client, s.exec.param_sets().to_vec()).await?;
        f(m, &client, exec).await
    }
    .await;
    m.retire(db);
    r
}

/// Measures the writes of the variant's layout or index set if they are not yet
/// (read-only variants only, after their samples and plans; see `layout`).
pub async fn write_costs(m: &mut Measurer<'_>, s: &Session) -> std::result::Result<(), Stop> {
    super::layout::write_costs(m, s).await
}

/// Closes the connection and retires the clone (dropped while the next one is made:
/// [`Measurer::make_clone`]), unless it is a shared one that others use or later
/// variants will (then it is only released).
pub async fn close(m: &mut Measurer<'_>, s: Session) -> Result<()> {
    drop(s.client);
    if m.mem.clones.contains(&s.db) {
        release_shared(m, &s.db);
    } else {
        m.retire(s.db);
    }
    Ok(())
}

/// One user fewer of the shared clone `db`; retires what the pool lets go.
fn release_shared(m: &mut Measurer<'_>, db: &str) {
    for db in m.mem.clones.release(db) {
        m.retire(db);
    }
}

/// Before writes are measured on `s`'s clone: no other variant gets it from now on,
/// and its session may write again.
pub(super) async fn for_writing(m: &mut Measurer<'_>, s: &Session) -> Result<()> {
    m.mem.clones.spoil(&s.db);
    s.client
        .batch_execute("SET default_transaction_read_only = off")
        .await
        .map_err(|e| Error::db("allowing writes to measure them", e))
}

fn prepare_message(m: &Measurer<'_>, v: &Variant, e: PrepareError) -> String {
    let at = pos_str(m, v);
    match e {
        PrepareError::Sql { index, source } => format!(
            "{at}: variant {}{}: statement {} failed to prepare: {}; fix the SQL in the scenario",
            v.name,
            // A table the layout dropped or renamed shows up here.
            v.layout
                .as_ref()
                .map(|l| format!(" (on layout {l})"))
                .unwrap_or_default(),
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

/// Bounds the untimed setup statements on `client` (the params and for_each
/// queries, the index set's DDL, the write-cost inserts) by what is left of the
/// comparison's time budget, so that a pathological one fails instead of hanging
/// the run. [`session`] then sets the per-sample timeout.
pub(crate) async fn bound_setup(
    m: &Measurer<'_>,
    client: &Client,
) -> std::result::Result<(), Stop> {
    let left = m
        .deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1));
    client
        .batch_execute(&format!("SET statement_timeout = {}", left.as_millis()))
        .await
        .map_err(|e| {
            Stop::from(Error::db(
                "bounding setup by the comparison's time budget",
                e,
            ))
        })
}

/// Why a setup statement (`what`: "the params query", …) failed, and what to do.
pub(crate) fn setup_failure(m: &Measurer<'_>, e: &tokio_postgres::Error, what: &str) -> String {
    if e.code() == Some(&SqlState::QUERY_CANCELED) {
        format!(
            "cancelled: the comparison's time budget of {} s ran out; make {what} cheaper or raise --comparison-budget",
            m.config.comparison_budget.as_secs_f64()
        )
    } else {
        format!(
            "{}; fix {what} in the scenario",
            crate::error::pg_message(e)
        )
    }
}

/// The comparison's named parameters, from its `params` query (on a clone, so the
/// template is never connected to).
pub(super) async fn comparison_params(
    m: &Measurer<'_>,
    c: &Comparison,
    client: &Client,
) -> std::result::Result<Params, Stop> {
    let Some((sql, pos)) = &c.params_sql else {
        return Ok(Params::new());
    };
    let msgs = client.simple_query(sql).await.map_err(|e| {
        if crate::error::connection_lost(&e) {
            // The server went away: the run stops, not the scenario's fault.
            return Stop::Run(Error::db("running the params query", e));
        }
        Stop::Run(m.scenario.error_at(
            *pos,
            format!(
                "comparison {}: params query failed: {}",
                c.id,
                setup_failure(m, &e, "the params query")
            ),
        ))
    })?;
    let row = msgs.iter().find_map(|msg| match msg {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    let Some(row) = row else {
        return Err(Stop::Run(m.scenario.error_at(
            *pos,
            format!(
                "comparison {}: params query returned no row; it must return exactly one",
                c.id
            ),
        )));
    };
    Ok(row
        .columns()
        .iter()
        .enumerate()
        .map(|(i, col)| (col.name().to_string(), row.get(i).map(str::to_string)))
        .collect())
}

/// The parameter lists of one sample: the bound params once, or one list per
/// `for_each` row.
pub(super) async fn param_sets(
    m: &Measurer<'_>,
    v: &Variant,
    params: &Params,
    client: &Client,
) -> std::result::Result<Vec<Vec<TextParam>>, Stop> {
    if let Some(sql) = &v.for_each {
        let msgs = client.simple_query(sql).await.map_err(|e| {
            if crate::error::connection_lost(&e) {
                return Stop::Run(Error::db("running the for_each query", e));
            }
            Stop::Run(m.scenario.error_at(
                v.pos,
                format!(
                    "variant {}: for_each query failed: {}",
                    v.name,
                    setup_failure(m, &e, "the for_each query")
                ),
            ))
        })?;
        return Ok(text_rows(&msgs).1);
    }
    let mut list = Vec::new();
    for (name, pos) in &v.params {
        let value = params.get(name).ok_or_else(|| {
            Stop::Run(m.scenario.error_at(
                *pos,
                format!(
                    "variant {}: no parameter {name}; the params query returns: {} — use one of those names or add a column {name} to the params query",
                    v.name,
                    params.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ))
        })?;
        list.push(TextParam(value.clone()));
    }
    Ok(vec![list])
}

/// Applies the variant's index set; the first time a set is seen, records its sizes,
/// build time and write cost.
pub(crate) async fn apply_index_set(
    m: &mut Measurer<'_>,
    v: &Variant,
    client: &Client,
) -> std::result::Result<(), Stop> {
    let set = m.scenario.index_sets[&v.index_set].clone();
    if set.ddl.is_empty() || m.mem.costs.contains_key(&set.name) {
        return apply_ddl(m, v, client).await;
    }
    let before = cost::relations(client).await?;
    let t = Instant::now();
    let analyze = apply_ddl_inner(m, v, client, Some(&before)).await?;
    let build_seconds = t.elapsed().as_secs_f64();
    let tables = match &set.write_table {
        Some(t) => vec![super::storage::table_bytes(client, t).await.map_err(|e| match e {
            Error::NoSuchTable { table } => Stop::Variant(Failed(format!(
                "{}:{}:{}: index set {}: write_table {table} does not exist; name an existing schema-qualified table",
                m.scenario.source, set.pos.line, set.pos.column, set.name
            ))),
            e => Stop::from(e),
        })?],
        None => Vec::new(),
    };
    let indexes = analyze.unwrap_or_default();
    // Writes are measured at the end of a read-only variant with the set, in the
    // last comparison reading on it (`write_costs`), on the loaded table.
    m.mem.costs.insert(
        set.name.clone(),
        crate::results::IndexSetCost {
            name: set.name.clone(),
            ddl: set.ddl.clone(),
            bytes: indexes.iter().map(|i| i.bytes).sum(),
            indexes,
            build_seconds,
            write_table: tables.first().map(|t| t.name.clone()),
            tables,
            ..Default::default()
        },
    );
    Ok(())
}

pub(super) async fn apply_ddl(
    m: &Measurer<'_>,
    v: &Variant,
    client: &Client,
) -> std::result::Result<(), Stop> {
    let before = cost::relations(client).await?;
    apply_ddl_inner(m, v, client, Some(&before))
        .await
        .map(|_| ())
}

/// Runs the set's DDL, then ANALYZE only where new statistics are needed
/// (expression indexes, materialized views): re-analyzing whole tables would
/// resample them and make plans differ from clone to clone.
pub(super) async fn apply_ddl_inner(
    m: &Measurer<'_>,
    v: &Variant,
    client: &Client,
    before: Option<&[(u32, String, bool)]>,
) -> std::result::Result<Option<Vec<crate::results::IndexSize>>, Stop> {
    let set = &m.scenario.index_sets[&v.index_set];
    for (i, stmt) in set.ddl.iter().enumerate() {
        client.batch_execute(stmt).await.map_err(|e| {
            if e.code() == Some(&SqlState::QUERY_CANCELED) {
                return Stop::Variant(Failed(format!(
                    "{}:{}:{}: index set {} statement {}: {}",
                    m.scenario.source,
                    set.pos.line,
                    set.pos.column,
                    set.name,
                    i + 1,
                    setup_failure(m, &e, "the index set")
                )));
            }
            if crate::error::connection_lost(&e) {
                return Stop::Run(Error::db(format!("building index set {}", set.name), e));
            }
            Stop::Variant(Failed(format!(
                    "{}:{}:{}: index set {} statement {} failed to build: {}; fix the index set in the scenario",
                    m.scenario.source,
                    set.pos.line,
                    set.pos.column,
                    set.name,
                    i + 1,
                crate::error::pg_message(&e)
            )))
        })?;
    }
    let Some(before) = before else {
        return Ok(None);
    };
    let (sizes, analyze) = cost::created_since(client, before).await?;
    for target in analyze {
        client
            .batch_execute(&format!("ANALYZE {target}"))
            .await
            .map_err(|e| Error::db(format!("analyzing {target}"), e))?;
    }
    Ok(Some(sizes))
}

/// Session settings: timeout, the variant's own settings, and for the deterministic
/// pass, no parallel workers and no JIT.
pub(super) async fn session(
    m: &Measurer<'_>,
    c: &Comparison,
    v: &Variant,
    client: &Client,
    deterministic: bool,
) -> std::result::Result<(), Stop> {
    let timeout_ms = c
        .timeout
        .map(|d| d.as_millis() as u64)
        .unwrap_or(m.config.sampling.statement_timeout_ns / 1_000_000);
    // RESET first so the variant's own settings win; the deterministic pass last so
    // nothing can turn parallelism or JIT back on for the counters.
    // Custom plans for every execution: what EXPLAIN shows (a custom plan for the
    // given parameters) is then exactly what was timed, instead of a generic plan the
    // plan cache may switch to after five executions.
    let mut sql = format!(
        "SET statement_timeout = {timeout_ms}; SET plan_cache_mode = force_custom_plan; \
         RESET max_parallel_workers_per_gather; RESET jit;"
    );
    for (k, val) in &v.settings {
        sql.push_str(&format!(
            "SET {} = '{}';",
            quote_ident(k),
            val.replace('\'', "''")
        ));
    }
    if deterministic {
        sql.push_str("SET max_parallel_workers_per_gather = 0; SET jit = off;");
    }
    // A read-only variant shares its clone ([`super::clones`]): it must not write.
    sql.push_str(if v.mode == Mode::Read {
        "SET default_transaction_read_only = on;"
    } else {
        "SET default_transaction_read_only = off;"
    });
    client.batch_execute(&sql).await.map_err(|e| {
        if crate::error::connection_lost(&e) {
            return Stop::Run(Error::db("setting the variant's session", e));
        }
        Stop::Variant(Failed(format!(
            "{}: variant {}: settings rejected: {}",
            pos_str(m, v),
            v.name,
            crate::error::pg_message(&e)
        )))
    })
}
