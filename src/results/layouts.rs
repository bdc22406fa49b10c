//! Version 3 of the contract: table designs (layouts), bytes per table, and writes
//! measured on the loaded table. Every field is optional in the file, so version 1
//! and 2 files read unchanged (see `docs/results.md`, "Version 3").

use serde::{Deserialize, Serialize};

use super::{IndexSize, Stats};

/// A layout as built in one run: how long it took and what it weighs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LayoutCost {
    /// Layout name.
    pub name: String,
    /// What the design is.
    #[serde(default)]
    pub description: String,
    /// Its statements as run.
    #[serde(default)]
    pub statements: Vec<String>,
    /// Seconds to build it once on a clone of the loaded template (statements,
    /// then VACUUM (FREEZE, ANALYZE) of its tables); 0 for a layout of no statements.
    #[serde(default)]
    pub build_seconds: f64,
    /// Bytes of each table it is about.
    #[serde(default)]
    pub tables: Vec<TableBytes>,
    /// Writes into its `write_table`, measured with no extra index set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writes: Option<WriteCost>,
    /// Its `update`: a change to existing rows, measured like the writes (version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updates: Option<WriteCost>,
}

/// One table's bytes, split the way the report stacks them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TableBytes {
    /// Schema-qualified table name.
    pub name: String,
    /// `pg_relation_size` of the table (all partitions for a partitioned table).
    pub heap_bytes: u64,
    /// The TOAST relation and its index.
    pub toast_bytes: u64,
    /// Each index of the table (of all partitions), with its size.
    pub indexes: Vec<IndexSize>,
}

impl TableBytes {
    /// Sum of the index sizes.
    pub fn index_bytes(&self) -> u64 {
        self.indexes.iter().map(|i| i.bytes).sum()
    }

    /// Heap + TOAST + indexes.
    pub fn total_bytes(&self) -> u64 {
        self.heap_bytes + self.toast_bytes + self.index_bytes()
    }
}

/// Writes of a fixed batch into the loaded table, each in a rolled-back transaction:
/// inserts, or (version 4) the scenario's `update` of existing rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct WriteCost {
    /// The table written (schema-qualified, quoted as PostgreSQL prints it; for an
    /// update, as `schema.table` from the top node of its plan).
    pub table: String,
    /// Rows per batch (for an update: changes, one per key row).
    pub batch_rows: u64,
    /// The batch as single-row prepared statements, one round trip per row.
    pub single: WriteSide,
    /// The batch as one multi-row (set-based) statement.
    pub multi: WriteSide,
    /// The deterministic side, from `EXPLAIN (ANALYZE, WAL, BUFFERS)` of the
    /// multi-row statement, the first of its kind on the clone.
    pub counters: WriteCounters,
    /// What the update does, as the scenario describes it (version 4; empty for inserts).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// Timed repetitions of one way of writing the batch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct WriteSide {
    /// Time per batch, one per repetition, in the order taken.
    pub samples_ns: Vec<u64>,
    /// Summary of `samples_ns`.
    pub stats: Option<Stats>,
    /// WAL bytes per repetition, from `pg_current_wal_insert_lsn()` before and after
    /// (the whole server's WAL: triggers and foreign-key checks included).
    pub wal_bytes: Vec<u64>,
}

impl WriteSide {
    /// Rows per second at the median batch time, with the median's 95 % interval
    /// (lower, median, upper rate).
    pub fn rows_per_second(&self, batch_rows: u64) -> Option<(f64, f64, f64)> {
        let s = self.stats?;
        let rate = |ns: f64| batch_rows as f64 * 1e9 / ns.max(1.0);
        Some((
            rate(s.median_ci_high_ns),
            rate(s.median_ns),
            rate(s.median_ci_low_ns),
        ))
    }
}

impl WriteCost {
    /// Rows per second of the multi-row INSERT at its median (0 when unmeasured): the
    /// one figure an index set's or an advised index's write price is quoted in.
    pub fn multi_rows_per_second(&self) -> f64 {
        self.multi
            .rows_per_second(self.batch_rows)
            .map_or(0.0, |r| r.1)
    }
}

/// What `EXPLAIN (ANALYZE, WAL, BUFFERS)` counts for one multi-row write.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct WriteCounters {
    /// Rows written.
    pub rows: u64,
    /// WAL records.
    pub wal_records: u64,
    /// WAL bytes.
    pub wal_bytes: u64,
    /// Full-page images (0 with `full_page_writes=off`, querylab's default).
    pub wal_fpi: u64,
    /// Shared buffers dirtied.
    pub shared_dirtied: u64,
    /// Table rows the statement updated, any table (version 4; updates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuples_updated: Option<u64>,
    /// Of those, heap-only (HOT) updates: no index entry written (version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_updated: Option<u64>,
}

impl WriteCounters {
    /// WAL bytes per row written.
    pub fn wal_bytes_per_row(&self) -> f64 {
        self.wal_bytes as f64 / self.rows.max(1) as f64
    }
}
