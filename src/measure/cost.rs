//! The other side of an index set: the relations it creates and their sizes. What
//! it costs writes is measured on the loaded table itself ([`super::writes`]).

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
