//! The other side of an index set: its size on disk and what it costs writes.
//!
//! Write cost is insert throughput of a fixed batch into a scratch copy of the
//! set's `write_table` (`CREATE TABLE … (LIKE t INCLUDING ALL)` copies every index
//! the table carries), once before the set is applied (keys and uniques only) and
//! once after. The batch is copied from the table itself into a temp table first,
//! so both timings insert exactly the same rows and read nothing from disk.

use std::time::Instant;

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::results::IndexSize;

/// Indexes and materialized views in the database, by OID, with kind and expression flag.
pub async fn relations(client: &Client) -> Result<Vec<(u32, String, bool)>> {
    let rows = client
        .query(
            "SELECT c.oid, c.oid::regclass::text, \
                    c.relkind = 'm' OR COALESCE(i.indexprs IS NOT NULL, false) \
             FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('i', 'I', 'm') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            &[],
        )
        .await
        .map_err(|e| Error::db("listing indexes", e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, u32>(0), r.get(1), r.get(2)))
        .collect())
}

/// Sizes of the relations created since `before` (a listing from [`relations`]),
/// and the tables/matviews that need fresh statistics (expression indexes, matviews).
pub async fn created_since(
    client: &Client,
    before: &[(u32, String, bool)],
) -> Result<(Vec<IndexSize>, Vec<String>)> {
    let now = relations(client).await?;
    let mut sizes = Vec::new();
    let mut analyze = Vec::new();
    for (oid, name, needs_stats) in now {
        if before.iter().any(|(o, _, _)| *o == oid) {
            continue;
        }
        let bytes: i64 = client
            .query_one("SELECT pg_total_relation_size($1::oid)", &[&oid])
            .await
            .map_err(|e| Error::db(format!("measuring the size of {name}"), e))?
            .get(0);
        if needs_stats {
            // For an expression index, its table; for a matview, itself.
            let target: String = client
                .query_one(
                    "SELECT COALESCE((SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = $1::oid), $1::oid::regclass::text)",
                    &[&oid],
                )
                .await
                .map_err(|e| Error::db("finding an index's table", e))?
                .get(0);
            if !analyze.contains(&target) {
                analyze.push(target);
            }
        }
        sizes.push(IndexSize {
            name,
            bytes: bytes.max(0) as u64,
        });
    }
    Ok((sizes, analyze))
}

/// Resolves a user-written table name to its quoted, schema-qualified form, or says
/// the table does not exist.
pub async fn regclass(client: &Client, table: &str) -> Result<String> {
    let row = client
        .query_one("SELECT to_regclass($1)::text", &[&table])
        .await
        .map_err(|e| Error::db(format!("looking up table {table}"), e))?;
    row.get::<_, Option<String>>(0)
        .ok_or_else(|| Error::NoSuchTable {
            table: table.to_string(),
        })
}

/// Insert throughput (rows/s, median of three) of `rows` rows copied from `table`
/// into a scratch table shaped like it, carrying whatever indexes `table` has now.
pub async fn insert_throughput(client: &Client, table: &str, rows: u64) -> Result<f64> {
    let ctx = |what: &str| format!("measuring write cost on {table}: {what}");
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS pg_temp.querylab_batch; \
             CREATE TEMP TABLE querylab_batch AS SELECT * FROM {table} LIMIT {rows}; \
             DROP TABLE IF EXISTS public.querylab_scratch; \
             CREATE TABLE public.querylab_scratch (LIKE {table} INCLUDING ALL)"
        ))
        .await
        .map_err(|e| Error::db(ctx("preparing the batch"), e))?;
    let mut rates = Vec::new();
    let mut inserted = 0u64;
    for _ in 0..3 {
        let t = Instant::now();
        inserted = client
            .execute(
                "INSERT INTO public.querylab_scratch SELECT * FROM pg_temp.querylab_batch",
                &[],
            )
            .await
            .map_err(|e| Error::db(ctx("inserting"), e))?;
        let secs = t.elapsed().as_secs_f64();
        rates.push(inserted as f64 / secs.max(1e-9));
        client
            .batch_execute("TRUNCATE public.querylab_scratch")
            .await
            .map_err(|e| Error::db(ctx("truncating"), e))?;
    }
    client
        .batch_execute("DROP TABLE public.querylab_scratch; DROP TABLE pg_temp.querylab_batch")
        .await
        .map_err(|e| Error::db(ctx("cleaning up"), e))?;
    if inserted == 0 {
        return Ok(0.0);
    }
    Ok(crate::stats::median(&rates))
}
