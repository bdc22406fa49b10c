//! Deterministic synthetic rows for every seed table, streamed in binary COPY format.
//!
//! Same seed and size → byte-identical rows (on one platform: float curves use the
//! system `exp`). Each table is generated on its own, chunk by chunk: chunk `c` of a
//! table is a pure function of (seed, table, c), drawn from a ChaCha8 stream keyed by
//! exactly that, so tables load concurrently and memory does not grow with size.
//! Foreign keys are recomputed from the parent's index (the UUID of experiment `i` is
//! a function of (seed, `i`)), so no table keeps its parents in memory.
//!
//! # Sizes
//!
//! `rows` (`--rows N`) is the size of the largest tables; the others scale from it
//! (integer division, with floors so that tiny sizes still make every table
//! non-trivial). See [`Sizes::new`] for the rule of every table and [`table_sizes`]
//! for the list. In all about 2.6 × N rows: N = 3,920,000 gives 10.2 million.
//!
//! # Distributions
//!
//! Statuses are skewed (few pending, most completed); owners, tags, models and
//! webhooks are Zipf-like (a few account for most rows); timestamps cover the year
//! 2024 (fixed, not `now()`) with created ≤ started ≤ completed; JSONB parameters
//! vary by model family; metric curves fall (loss) or rise (accuracy) with noise;
//! free text comes from `fake`. The per-table modules document the details.

pub mod binary;
pub mod catalog;
pub mod common;
mod jobs;
mod platform;
mod platform_hpo;
mod platform_ops;
mod registry;
mod tracking;

use std::ops::Range;
use std::sync::Arc;

use bytes::BytesMut;
use rand_chacha::ChaCha8Rng;

use binary::RowWriter;
use catalog::Pools;
use common::{Key, chunk_rng};

/// Changes whenever generated rows change for a given (seed, rows): part of the
/// template hash, so a stale template is never reused.
pub const GENERATOR_VERSION: u32 = 1;

/// Default `--rows`.
pub const DEFAULT_ROWS: u64 = 1_000_000;

/// Rows per chunk: the unit of generation, of RNG seeding and of shutdown checks.
/// Part of the data's definition (changing it changes the rows).
pub const CHUNK_ROWS: u64 = 8192;

/// `tracking.metrics` rows per run: 4 metric names × 25 steps.
pub const METRICS_PER_RUN: u64 = 100;
/// `registry.training_runs` rows per experiment name (one per day on 50 days).
pub const REGISTRY_RUNS_PER_EXPERIMENT: u64 = 50;
/// `platform.nas_trials` per HPO campaign.
pub const TRIALS_PER_CAMPAIGN: u64 = 40;
/// `platform.training_runs` (epochs) per experiment.
pub const EPOCHS_PER_EXPERIMENT: u64 = 20;

/// Row counts of every built-in table for one `--rows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// `--rows`: size of the largest tables.
    pub rows: u64,
    /// Distinct users (owners, `created_by`, `user_id`): N/1000, at least 50.
    pub users: u64,
    /// `tracking.experiments`: N/20, at least 10 (seed 000 puts many index lessons
    /// on this table: it must be big enough for plans to differ).
    pub tracking_experiments: u64,
    /// `tracking.runs`: N/100, at least 10.
    pub tracking_runs: u64,
    /// `tracking.metrics`: 100 per run (= N when N is a multiple of 100).
    pub tracking_metrics: u64,
    /// `registry.training_runs`: N/10, at least 100.
    pub registry_training_runs: u64,
    /// `jobs.ml_jobs`: N.
    pub jobs_ml_jobs: u64,
    /// `jobs.ml_jobs_archive`: N/10 (jobs of the previous year, archived).
    pub jobs_ml_jobs_archive: u64,
    /// `platform.hpo_campaigns`: N/20,000, at least 5.
    pub platform_hpo_campaigns: u64,
    /// `platform.nas_trials`: 40 per campaign.
    pub platform_nas_trials: u64,
    /// `platform.experiments`: N/100, at least 20.
    pub platform_experiments: u64,
    /// `platform.tags`: N/2000, between 50 and 2000.
    pub platform_tags: u64,
    /// `platform.experiment_tags`: 0–8 per experiment, 3.05 on average (the count
    /// of each experiment is fixed, so the total is exact for every seed).
    pub platform_experiment_tags: u64,
    /// `platform.training_runs`: 20 epochs per experiment.
    pub platform_training_runs: u64,
    /// `platform.webhook_configurations`: N/2000, at least 10.
    pub platform_webhook_configurations: u64,
    /// `platform.webhook_logs`: N/10, at least 100.
    pub platform_webhook_logs: u64,
    /// `platform.api_keys`: N/1000, at least 10.
    pub platform_api_keys: u64,
    /// `platform.datasets`: N/1000, at least 10.
    pub platform_datasets: u64,
}

impl Sizes {
    /// The sizes for `--rows rows`, by the rules documented on each field.
    pub fn new(rows: u64) -> Sizes {
        let runs = (rows / 100).max(10);
        let campaigns = (rows / 20_000).max(5);
        let experiments = (rows / 100).max(20);
        Sizes {
            rows,
            users: (rows / 1000).max(50),
            tracking_experiments: (rows / 20).max(10),
            tracking_runs: runs,
            tracking_metrics: runs * METRICS_PER_RUN,
            registry_training_runs: (rows / 10).max(100),
            jobs_ml_jobs: rows,
            jobs_ml_jobs_archive: rows / 10,
            platform_hpo_campaigns: campaigns,
            platform_nas_trials: campaigns * TRIALS_PER_CAMPAIGN,
            platform_experiments: experiments,
            platform_tags: (rows / 2000).clamp(50, 2000),
            platform_experiment_tags: (0..experiments).map(platform::tag_count).sum(),
            platform_training_runs: experiments * EPOCHS_PER_EXPERIMENT,
            platform_webhook_configurations: (rows / 2000).max(10),
            platform_webhook_logs: (rows / 10).max(100),
            platform_api_keys: (rows / 1000).max(10),
            platform_datasets: (rows / 1000).max(10),
        }
    }

    /// (schema-qualified table, rows), parents before children.
    pub fn list(&self) -> Vec<(String, u64)> {
        [
            ("tracking.experiments", self.tracking_experiments),
            ("tracking.runs", self.tracking_runs),
            ("tracking.metrics", self.tracking_metrics),
            ("registry.training_runs", self.registry_training_runs),
            ("jobs.ml_jobs", self.jobs_ml_jobs),
            ("jobs.ml_jobs_archive", self.jobs_ml_jobs_archive),
            ("platform.hpo_campaigns", self.platform_hpo_campaigns),
            ("platform.nas_trials", self.platform_nas_trials),
            ("platform.experiments", self.platform_experiments),
            ("platform.tags", self.platform_tags),
            ("platform.experiment_tags", self.platform_experiment_tags),
            ("platform.training_runs", self.platform_training_runs),
            (
                "platform.webhook_configurations",
                self.platform_webhook_configurations,
            ),
            ("platform.webhook_logs", self.platform_webhook_logs),
            ("platform.api_keys", self.platform_api_keys),
            ("platform.datasets", self.platform_datasets),
        ]
        .into_iter()
        .map(|(name, n)| (name.to_string(), n))
        .collect()
    }

    /// Rows over all tables.
    pub fn total(&self) -> u64 {
        self.list().iter().map(|(_, n)| n).sum()
    }
}

/// (schema-qualified table, rows) of every built-in table for `--rows rows`; the
/// rules are on the fields of [`Sizes`].
pub fn table_sizes(rows: u64) -> Vec<(String, u64)> {
    Sizes::new(rows).list()
}

/// What every table generator gets: the seed, the sizes and the text pools.
#[derive(Debug)]
pub struct Context {
    /// `--seed`.
    pub seed: u64,
    /// Row counts.
    pub sizes: Sizes,
    /// Text and user handles.
    pub pools: Pools,
}

/// One generated table.
pub trait TableGen: Send + Sync {
    /// Schema-qualified name, e.g. `jobs.ml_jobs`.
    fn name(&self) -> &'static str;
    /// The columns written, in order (the COPY column list).
    fn columns(&self) -> &'static [&'static str];
    /// Number of rows.
    fn row_count(&self) -> u64;
    /// Writes rows `rows` (0-based indexes) with `rng`, the chunk's stream.
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, out: &mut RowWriter<'_>);
}

/// The generators of every built-in table, parents before children.
pub fn builtin_tables(rows: u64, seed: u64) -> Vec<Arc<dyn TableGen>> {
    let sizes = Sizes::new(rows);
    let ctx = Arc::new(Context {
        seed,
        sizes,
        pools: Pools::new(seed, sizes.users),
    });
    let mut tables: Vec<Arc<dyn TableGen>> = Vec::new();
    tables.extend(tracking::tables(&ctx));
    tables.extend(registry::tables(&ctx));
    tables.extend(jobs::tables(&ctx));
    tables.extend(platform_hpo::tables(&ctx));
    tables.extend(platform::tables(&ctx));
    tables.extend(platform_ops::tables(&ctx));
    debug_assert_eq!(
        tables
            .iter()
            .map(|t| (t.name().to_string(), t.row_count()))
            .collect::<Vec<_>>(),
        sizes.list()
    );
    tables
}

/// Number of chunks of a table of `rows` rows.
pub fn chunk_count(rows: u64) -> u64 {
    rows.div_ceil(CHUNK_ROWS)
}

/// Appends chunk `chunk` of `table` to `buf` (rows only: no COPY header or trailer)
/// and returns the number of rows written.
pub fn write_chunk(table: &dyn TableGen, seed: u64, chunk: u64, buf: &mut BytesMut) -> u64 {
    ChunkCursor::new(table, seed, chunk).write(table, CHUNK_ROWS, buf)
}

/// Chunk `chunk` of a table, written in pieces: the same bytes as [`write_chunk`]
/// (one random stream per chunk, continued from piece to piece), in buffers as
/// small as the caller likes.
pub struct ChunkCursor {
    rng: ChaCha8Rng,
    next: u64,
    end: u64,
}

impl ChunkCursor {
    /// The cursor at the start of chunk `chunk` of `table` generated from `seed`.
    pub fn new(table: &dyn TableGen, seed: u64, chunk: u64) -> Self {
        let start = chunk * CHUNK_ROWS;
        ChunkCursor {
            rng: chunk_rng(Key::new(seed, table.name()), chunk),
            next: start,
            end: (start + CHUNK_ROWS).min(table.row_count()).max(start),
        }
    }

    /// Appends the chunk's next `rows` rows at most to `buf`; returns how many
    /// (0 once the chunk is written).
    pub fn write(&mut self, table: &dyn TableGen, rows: u64, buf: &mut BytesMut) -> u64 {
        let to = self.end.min(self.next.saturating_add(rows));
        if self.next >= to {
            return 0;
        }
        table.write_rows(self.next..to, &mut self.rng, &mut RowWriter::new(buf));
        let n = to - self.next;
        self.next = to;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every generator continues its chunk's stream from piece to piece: written in
    /// pieces of any size, a chunk is byte for byte the chunk written at once.
    #[test]
    fn a_chunk_written_in_pieces_is_the_chunk() {
        for table in builtin_tables(20_000, 7) {
            let chunk = chunk_count(table.row_count()) - 1;
            let mut whole = BytesMut::new();
            write_chunk(table.as_ref(), 7, chunk, &mut whole);
            for piece in [1, 37, 1000] {
                let mut cursor = ChunkCursor::new(table.as_ref(), 7, chunk);
                let mut pieces = BytesMut::new();
                let mut buf = BytesMut::new();
                while cursor.write(table.as_ref(), piece, &mut buf) > 0 {
                    pieces.extend_from_slice(&buf);
                    buf.clear();
                }
                assert!(!whole.is_empty(), "{}", table.name());
                assert!(pieces == whole, "{} in pieces of {piece}", table.name());
            }
        }
    }

    #[test]
    fn sizes_follow_the_documented_rules() {
        let s = Sizes::new(1_000_000);
        assert_eq!(s.jobs_ml_jobs, 1_000_000);
        assert_eq!(s.tracking_metrics, 1_000_000);
        assert_eq!(s.tracking_runs, 10_000);
        assert_eq!(s.tracking_experiments, 50_000);
        assert!(Sizes::new(3_920_000).total() >= 10_000_000);
        let tiny = Sizes::new(1);
        assert!(
            tiny.list()
                .iter()
                .filter(|(n, _)| !n.starts_with("jobs."))
                .all(|(_, r)| *r >= 5)
        );
    }

    #[test]
    fn chunks_are_deterministic_and_seed_dependent() {
        for table in builtin_tables(20_000, 1) {
            let mut a = BytesMut::new();
            let mut b = BytesMut::new();
            let n = write_chunk(table.as_ref(), 1, 0, &mut a);
            write_chunk(table.as_ref(), 1, 0, &mut b);
            assert_eq!(n, table.row_count().min(CHUNK_ROWS), "{}", table.name());
            assert_eq!(a, b, "{}", table.name());
        }
        let other = builtin_tables(20_000, 2);
        let mut a = BytesMut::new();
        let mut b = BytesMut::new();
        write_chunk(builtin_tables(20_000, 1)[0].as_ref(), 1, 0, &mut a);
        write_chunk(other[0].as_ref(), 2, 0, &mut b);
        assert_ne!(a, b);
    }
}
