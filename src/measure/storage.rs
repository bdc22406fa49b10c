//! Bytes per table, split as the report stacks them: heap, TOAST, each index. A
//! partitioned table counts its partitions (and their indexes).

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::results::{IndexSize, TableBytes};

/// Heap, TOAST and index bytes of `table` (as the scenario names it).
pub async fn table_bytes(client: &Client, table: &str) -> Result<TableBytes> {
    let name = super::cost::regclass(client, table).await?;
    let ctx = || format!("measuring the size of {name}");
    let row = client
        .query_one(
            "WITH parts AS (SELECT c.oid AS relid, c.reltoastrelid FROM pg_class c \
                            WHERE c.oid IN (SELECT $1::text::regclass UNION \
                                            SELECT relid FROM pg_partition_tree($1::text::regclass))) \
             SELECT COALESCE(sum(pg_relation_size(relid)), 0)::bigint, \
                    COALESCE(sum(pg_total_relation_size(NULLIF(reltoastrelid, 0))), 0)::bigint \
             FROM parts",
            &[&name],
        )
        .await
        .map_err(|e| Error::db(ctx(), e))?;
    let indexes = client
        .query(
            "SELECT i.indexrelid::regclass::text, pg_relation_size(i.indexrelid) \
             FROM (SELECT $1::text::regclass AS relid UNION \
                   SELECT relid FROM pg_partition_tree($1::text::regclass)) p \
             JOIN pg_index i ON i.indrelid = p.relid \
             JOIN pg_class c ON c.oid = i.indexrelid AND c.relkind = 'i' \
             ORDER BY 1",
            &[&name],
        )
        .await
        .map_err(|e| Error::db(ctx(), e))?;
    Ok(TableBytes {
        heap_bytes: row.get::<_, i64>(0).max(0) as u64,
        toast_bytes: row.get::<_, i64>(1).max(0) as u64,
        indexes: indexes
            .iter()
            .map(|r| IndexSize {
                name: r.get(0),
                bytes: r.get::<_, i64>(1).max(0) as u64,
            })
            .collect(),
        name,
    })
}
