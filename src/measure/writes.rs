//! Writes measured on the loaded table: a fixed batch inserted into the table of the
//! variant's own clone, in transactions that are rolled back, so the table the
//! application would write to — with its real B-trees, full pages and foreign keys —
//! is what is measured, not an empty copy.
//!
//! The batch is built once per measurement into a temp table: copies of the first
//! rows of the table itself (columns of a unique key that have a default — serial,
//! identity, `gen_random_uuid()` — are left to that default, as an application's
//! insert leaves them; a unique text column with no default gets its first
//! characters replaced by a hash of the value, same length; a unique integer column
//! with no default that is not part of a foreign key is shifted past the table's range
//! of it), or the rows of the scenario's `write_rows` query.
//!
//! Order, on a clone no write touched yet:
//! 1. one rolled-back `EXPLAIN (ANALYZE, VERBOSE, TIMING OFF, WAL, BUFFERS, FORMAT
//!    JSON)` of the multi-row INSERT: the deterministic counters (WAL records and bytes,
//!    full-page images, buffers dirtied). Being first on an identical clone, it
//!    repeats from run to run (see `docs/check.md`);
//! 2. `repetitions` rounds of: the batch as single-row prepared INSERTs, then as one
//!    multi-row INSERT … SELECT, each timed and rolled back, with the WAL bytes from
//!    `pg_current_wal_insert_lsn()` before and after.
//!
//! A scenario's `update` (a change to existing rows, [`measure_update`]) goes the
//! same way with its own batch (`rows`) and statements (`single` per batch row,
//! `multi` for the batch), and its EXPLAIN also counts the rows updated and how many
//! were HOT. Its counters repeat as exactly as the inserts' (see `docs/check.md`).

use std::time::Instant;

use tokio_postgres::Client;

use super::exec::{TextParam, text_rows};
use crate::catalog::Update;
use crate::error::{Error, Result};
use crate::provision::quote_ident;
use crate::results::{WriteCost, WriteCounters, WriteSide};

/// What to write and how often.
#[derive(Debug, Clone, Copy)]
pub struct WriteSpec<'a> {
    /// Table, as the scenario names it.
    pub table: &'a str,
    /// Query returning the rows to insert (`None`: copies of the table's rows).
    pub rows_sql: Option<&'a str>,
    /// Rows per batch (a `rows_sql` returns what it returns).
    pub batch_rows: u64,
    /// Timed repetitions of each side.
    pub repetitions: u32,
}

/// Measures `spec` on `client`'s database and leaves it as it was (every write is
/// rolled back; the temp batch is dropped).
pub async fn measure(client: &Client, spec: WriteSpec<'_>) -> Result<WriteCost> {
    let table = super::cost::regclass(client, spec.table).await?;
    let ctx = |what: &str| format!("measuring writes into {table}: {what}");
    let select = match spec.rows_sql {
        Some(sql) => sql.trim().trim_end_matches(';').to_string(),
        None => copy_select(client, &table, spec.batch_rows).await?,
    };
    let (columns, rows) = load_batch(client, &select, &ctx).await?;
    let list = columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let placeholders = (1..=columns.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let statements = Statements {
        single: format!("INSERT INTO {table} ({list}) VALUES ({placeholders})"),
        multi: format!("INSERT INTO {table} ({list}) SELECT {list} FROM pg_temp.querylab_batch"),
        kind: "INSERT",
        count_updates: false,
    };
    let (single, multi, counters, _) =
        run_sides(client, &statements, &rows, spec.repetitions, &ctx).await?;
    drop_batch(client, &ctx).await?;
    Ok(WriteCost {
        table,
        batch_rows: rows.len() as u64,
        single,
        multi,
        counters,
        description: String::new(),
    })
}

/// Measures a scenario's `update` the way [`measure`] measures inserts: its `rows`
/// into the temp batch, then `repetitions` rounds of `single` once per batch row and
/// `multi` once, each rolled back, after one rolled-back EXPLAIN of `multi` that also
/// counts the rows it updated and how many of those were HOT (from
/// `pg_stat_xact_user_tables`, read before and after inside that transaction).
/// The result names the table `multi` writes (its plan's top node), else `table`.
pub async fn measure_update(
    client: &Client,
    update: &Update,
    table: &str,
    repetitions: u32,
) -> Result<WriteCost> {
    let ctx = |what: &str| format!("measuring the update ({}): {what}", update.description);
    let (_, rows) = load_batch(client, &update.rows, &ctx).await?;
    let statements = Statements {
        single: update.single.clone(),
        multi: update.multi.clone(),
        kind: "update",
        count_updates: true,
    };
    let (single, multi, mut counters, written) =
        run_sides(client, &statements, &rows, repetitions, &ctx).await?;
    // Per change: an update's plan top is not the batch (a CTE, a join).
    counters.rows = rows.len() as u64;
    drop_batch(client, &ctx).await?;
    Ok(WriteCost {
        table: written.unwrap_or_else(|| table.to_string()),
        batch_rows: rows.len() as u64,
        single,
        multi,
        counters,
        description: update.description.clone(),
    })
}

/// The two ways of writing one batch.
struct Statements {
    /// One batch row's write, `$1`, `$2`, … bound to its columns.
    single: String,
    /// The whole batch's write, reading `pg_temp.querylab_batch`.
    multi: String,
    /// `INSERT` or `update`, for messages.
    kind: &'static str,
    /// Count updated and HOT-updated rows around the explained write.
    count_updates: bool,
}

/// `CREATE TEMP TABLE querylab_batch AS {select}`, and its columns and rows in text form.
async fn load_batch(
    client: &Client,
    select: &str,
    ctx: &impl Fn(&str) -> String,
) -> Result<(Vec<String>, Vec<Vec<TextParam>>)> {
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS pg_temp.querylab_batch; \
             CREATE TEMP TABLE querylab_batch AS {select}"
        ))
        .await
        .map_err(|e| Error::db(ctx("building the batch"), e))?;
    let msgs = client
        .simple_query("SELECT * FROM pg_temp.querylab_batch")
        .await
        .map_err(|e| Error::db(ctx("reading the batch"), e))?;
    Ok(text_rows(&msgs))
}

async fn drop_batch(client: &Client, ctx: &impl Fn(&str) -> String) -> Result<()> {
    client
        .batch_execute("DROP TABLE pg_temp.querylab_batch")
        .await
        .map_err(|e| Error::db(ctx("dropping the batch"), e))
}

/// The counters (one rolled-back EXPLAIN of the multi-row statement, first), then
/// `repetitions` timed rounds of single-row and multi-row writes, each rolled back.
async fn run_sides(
    client: &Client,
    st: &Statements,
    rows: &[Vec<TextParam>],
    repetitions: u32,
    ctx: &impl Fn(&str) -> String,
) -> Result<(WriteSide, WriteSide, WriteCounters, Option<String>)> {
    let kind = st.kind;
    let single = client
        .prepare(&st.single)
        .await
        .map_err(|e| Error::db(ctx(&format!("preparing the single-row {kind}")), e))?;
    let mut written = None;
    let counters = in_rollback(client, async || {
        let before = if st.count_updates {
            Some(updated_so_far(client).await?)
        } else {
            None
        };
        let explain: serde_json::Value = client
            .query_one(
                &format!(
                    "EXPLAIN (ANALYZE, VERBOSE, TIMING OFF, WAL, BUFFERS, FORMAT JSON) {}",
                    st.multi
                ),
                &[],
            )
            .await?
            .get(0);
        let mut counters = write_counters(&explain);
        written = written_table(&explain);
        if let Some((upd, hot)) = before {
            let (upd2, hot2) = updated_so_far(client).await?;
            counters.tuples_updated = Some(upd2.saturating_sub(upd));
            counters.hot_updated = Some(hot2.saturating_sub(hot));
        }
        Ok(counters)
    })
    .await
    .map_err(|e| Error::db(ctx(&format!("explaining the multi-row {kind}")), e))?;

    let mut single_side = WriteSide::default();
    let mut multi_side = WriteSide::default();
    for _ in 0..repetitions {
        let (ns, wal) = in_rollback(client, async || {
            timed_wal(client, async || {
                for row in rows {
                    client.execute(&single, &as_params(row)).await?;
                }
                Ok(())
            })
            .await
        })
        .await
        .map_err(|e| Error::db(ctx(&format!("single-row {kind}s")), e))?;
        single_side.samples_ns.push(ns);
        single_side.wal_bytes.push(wal);
        let (ns, wal) = in_rollback(client, async || {
            timed_wal(client, async || {
                client.execute(st.multi.as_str(), &[]).await.map(|_| ())
            })
            .await
        })
        .await
        .map_err(|e| Error::db(ctx(&format!("the multi-row {kind}")), e))?;
        multi_side.samples_ns.push(ns);
        multi_side.wal_bytes.push(wal);
    }
    single_side.stats = crate::stats::summarize(&single_side.samples_ns);
    multi_side.stats = crate::stats::summarize(&multi_side.samples_ns);
    Ok((single_side, multi_side, counters, written))
}

/// `schema.table` the top node of an EXPLAIN output modifies, if it is a write (the
/// schema is in VERBOSE output only).
fn written_table(explain: &serde_json::Value) -> Option<String> {
    let plan = explain.get(0)?.get("Plan")?;
    if plan.get("Node Type")?.as_str()? != "ModifyTable" {
        return None;
    }
    Some(format!(
        "{}.{}",
        plan.get("Schema")?.as_str()?,
        plan.get("Relation Name")?.as_str()?
    ))
}

/// Rows updated and HOT-updated by this transaction so far, over every user table.
/// The HOT count is not transactional (it is kept by the backend until its stats
/// are flushed), so only a difference inside one transaction is meaningful.
async fn updated_so_far(client: &Client) -> std::result::Result<(u64, u64), tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT coalesce(sum(n_tup_upd), 0)::bigint, coalesce(sum(n_tup_hot_upd), 0)::bigint \
             FROM pg_stat_xact_user_tables",
            &[],
        )
        .await?;
    Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
}

/// The deterministic counters of one `EXPLAIN (ANALYZE, WAL, BUFFERS)` of a write:
/// the top node's (which include its children's).
pub fn write_counters(explain: &serde_json::Value) -> WriteCounters {
    let Some(top) = crate::explain::parse(explain).into_iter().next() else {
        return WriteCounters::default();
    };
    let input_rows = top
        .root
        .children
        .first()
        .and_then(|c| c.actual_rows)
        .unwrap_or(0.0);
    WriteCounters {
        rows: input_rows as u64,
        tuples_updated: None,
        hot_updated: None,
        wal_records: top.root.wal_records.unwrap_or(0),
        wal_bytes: top.root.wal_bytes.unwrap_or(0),
        wal_fpi: top.root.wal_fpi.unwrap_or(0),
        shared_dirtied: top.root.shared_dirtied.unwrap_or(0),
    }
}

/// `SELECT …` of `batch` copies of `table`'s first rows that its unique keys accept.
async fn copy_select(client: &Client, table: &str, batch: u64) -> Result<String> {
    let ctx = |what: &str| format!("measuring writes into {table}: {what}");
    let cols = client
        .query(
            "SELECT a.attnum, a.attname::text, (a.atthasdef OR a.attidentity <> ''), \
                    t.typcategory = 'S', \
                    t.typname IN ('int2', 'int4', 'int8') AND NOT EXISTS ( \
                      SELECT 1 FROM pg_constraint f WHERE f.conrelid = a.attrelid \
                        AND f.contype = 'f' AND a.attnum = ANY (f.conkey)) \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
               AND a.attgenerated = '' ORDER BY a.attnum",
            &[&table],
        )
        .await
        .map_err(|e| Error::db(ctx("listing columns"), e))?;
    let uniques = client
        .query(
            "SELECT indexrelid::regclass::text, indkey::int2[] FROM pg_index \
             WHERE indrelid = $1::text::regclass AND indisunique ORDER BY indexrelid",
            &[&table],
        )
        .await
        .map_err(|e| Error::db(ctx("listing unique indexes"), e))?;
    let attnum = |r: &tokio_postgres::Row| r.get::<_, i16>(0);
    let mut omit = Vec::new();
    let mut rehash = Vec::new();
    let mut shift = Vec::new();
    for u in &uniques {
        let keys: Vec<i16> = u.get(1);
        let in_key: Vec<&tokio_postgres::Row> =
            cols.iter().filter(|c| keys.contains(&attnum(c))).collect();
        if in_key.iter().any(|c| omit.contains(&attnum(c))) {
            continue;
        }
        let defaulted: Vec<i16> = in_key
            .iter()
            .filter(|c| c.get::<_, bool>(2))
            .map(|c| attnum(c))
            .collect();
        if !defaulted.is_empty() {
            omit.extend(defaulted);
        } else if let Some(text) = in_key.iter().find(|c| c.get::<_, bool>(3)) {
            rehash.push(attnum(text));
        } else if let Some(int) = in_key.iter().find(|c| c.get::<_, bool>(4)) {
            shift.push(attnum(int));
        } else {
            return Err(Error::Invalid(format!(
                "measuring writes into {table}: copies of its rows would collide on unique index {} (no column of it has a default, is text, or is an integer outside a foreign key); give the index set or layout write_rows = \"SELECT … new rows …\"",
                u.get::<_, String>(0)
            )));
        }
    }
    let exprs: Vec<String> = cols
        .iter()
        .filter(|c| !omit.contains(&attnum(c)))
        .map(|c| {
            let name = quote_ident(&c.get::<_, String>(1));
            if rehash.contains(&attnum(c)) {
                format!(
                    "overlay({name} placing left(md5({name}::text), least(8, length({name}))) from 1) AS {name}"
                )
            } else if shift.contains(&attnum(c)) {
                // Past the table's range of the key: new values, as distinct as the old.
                format!(
                    "{name} + (SELECT max({name}) - min({name}) + 1 FROM {table}) AS {name}"
                )
            } else {
                name
            }
        })
        .collect();
    if exprs.is_empty() {
        return Err(Error::Invalid(format!(
            "measuring writes into {table}: every column is a defaulted key; give write_rows = \"SELECT …\""
        )));
    }
    Ok(format!(
        "SELECT {} FROM {table} LIMIT {batch}",
        exprs.join(", ")
    ))
}

/// A row's values as parameters, bound in text format whatever the column's type.
fn as_params(row: &[TextParam]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    row.iter()
        .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

/// Runs `f` in a transaction that is rolled back whatever happens.
async fn in_rollback<T>(
    client: &Client,
    f: impl AsyncFnOnce() -> std::result::Result<T, tokio_postgres::Error>,
) -> std::result::Result<T, tokio_postgres::Error> {
    client.batch_execute("BEGIN").await?;
    let r = f().await;
    let rb = client.batch_execute("ROLLBACK").await;
    let v = r?;
    rb?;
    Ok(v)
}

/// Wall time of `f` and the WAL the server wrote meanwhile.
async fn timed_wal(
    client: &Client,
    f: impl AsyncFnOnce() -> std::result::Result<(), tokio_postgres::Error>,
) -> std::result::Result<(u64, u64), tokio_postgres::Error> {
    const LSN: &str = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint";
    let before: i64 = client.query_one(LSN, &[]).await?.get(0);
    let t = Instant::now();
    f().await?;
    let ns = t.elapsed().as_nanos() as u64;
    let after: i64 = client.query_one(LSN, &[]).await?.get(0);
    Ok((ns, (after - before).max(0) as u64))
}
