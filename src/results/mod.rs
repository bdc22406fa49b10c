//! `results.json`: the contract between measuring and everything after it.
//!
//! Reports and regression checks read these types back from disk with no database,
//! so they are plain data: no handles, no lifetimes, every field documented. A run
//! writes the file after each comparison (see [`RunResults::write`]) so a crash keeps
//! what was measured.
//!
//! Versioning: [`SCHEMA_VERSION`] is bumped whenever the format grows or a field
//! changes meaning. This build reads every version from
//! [`OLDEST_READABLE_VERSION`] to [`SCHEMA_VERSION`]: a field an older file lacks
//! reads as its documented default (`#[serde(default)]`), so a baseline recorded by
//! an older querylab still checks. Newer versions are refused with a clear message.
//! What each version added is in `docs/results.md`.
//!
//! Units: every duration is in **nanoseconds** (`_ns`), sizes in bytes.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod advice;
mod layouts;
mod new;
pub mod workload;
pub use layouts::{LayoutCost, TableBytes, WriteCost, WriteCounters, WriteSide};
pub use new::{git_revision, machine};
pub use workload::{WorkloadResult, WorkloadSettings};

/// Version of the results format written by this build.
pub const SCHEMA_VERSION: u32 = 4;

/// Oldest results format this build reads (see `docs/results.md` for what each
/// version added and how older files read).
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// One `querylab run`: everything measured, and how.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResults {
    /// Always [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    /// `CARGO_PKG_VERSION` of the querylab that made the file.
    pub querylab_version: String,
    /// `git rev-parse HEAD` of the working directory, when it is a checkout.
    pub git_revision: Option<String>,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When the last comparison finished (updated on every incremental write).
    pub updated_at: DateTime<Utc>,
    /// `complete`, or `partial` with the reason (interrupted, server died, …).
    pub status: RunStatus,
    /// The machine querylab ran on.
    pub machine: Machine,
    /// How the run was configured.
    pub settings: RunSettings,
    /// One entry per (server, size): a run with `--rows 1e4,1e5` and two images has four.
    pub datasets: Vec<Dataset>,
    /// What `querylab advise` recommends, with its proof (version 3; absent from
    /// `querylab run`'s files and from older ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<advice::Advice>,
}

/// Whether the run finished.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunStatus {
    /// Every selected comparison ran.
    Complete,
    /// Still running (the file is rewritten after every comparison).
    Running,
    /// Stopped early; what is in the file was measured before the stop.
    Partial {
        /// Why the run stopped.
        reason: String,
    },
}

/// The machine the client ran on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Machine {
    /// Logical CPUs.
    pub cores: usize,
    /// Total memory in bytes (0 when unknown).
    pub memory_bytes: u64,
    /// `std::env::consts::OS` / ARCH.
    pub os: String,
    /// Host name, when known.
    pub hostname: Option<String>,
}

/// The run's configuration, recorded so a result says how it was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSettings {
    /// Generator seed.
    pub seed: u64,
    /// Sizes measured (`--rows`), the largest table's row count.
    pub rows: Vec<u64>,
    /// Scenario name (built-in or file stem).
    pub scenario: String,
    /// Where the scenario came from: `builtin:NAME` or a path.
    pub scenario_source: String,
    /// SHA-256 of the scenario text, so a baseline can refuse another scenario.
    pub scenario_hash: String,
    /// `--only` glob, if any.
    pub only: Option<String>,
    /// Wire protocol of the timed statements.
    pub protocol: Protocol,
    /// Sampling rules in force.
    pub sampling: Sampling,
    /// Workload overrides in force (version 3; absent when none).
    #[serde(default, skip_serializing_if = "WorkloadSettings::is_default")]
    pub workload: WorkloadSettings,
}

/// Wire protocol used for the timed statements. Written as `prepared` or `simple`,
/// the strings files have always held, so older files read unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Parse once, bind and execute per sample (what drivers with prepared statements do).
    #[default]
    Prepared,
    /// One simple-query message per execution, parameters inlined as quoted literals.
    Simple,
}

impl Protocol {
    /// `prepared` or `simple`: the flag value and the results-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Prepared => "prepared",
            Protocol::Simple => "simple",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;

    /// The one parser of a protocol name (`--protocol`, clap's `value_parser`).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "prepared" => Ok(Protocol::Prepared),
            "simple" => Ok(Protocol::Simple),
            other => Err(format!(
                "unknown protocol {other}: expected prepared or simple"
            )),
        }
    }
}

/// How many samples a variant gets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sampling {
    /// Untimed executions before sampling.
    pub warmup_runs: u32,
    /// Minimum number of timed samples.
    pub min_samples: u32,
    /// Keep sampling until this much time was spent (and `min_samples` reached).
    pub min_time_ns: u64,
    /// Never take more samples than this.
    pub max_samples: u32,
    /// Stop sampling a variant after this much time even if `min_samples` is not reached.
    pub max_time_ns: u64,
    /// `statement_timeout` per sample.
    pub statement_timeout_ns: u64,
    /// In which order the variants of a comparison were sampled (version 2;
    /// version-1 files read as `interleaved`, the only order they could have used).
    #[serde(default)]
    pub order: SamplingOrder,
}

/// In which order the variants of a comparison are sampled (`--sampling-order`).
///
/// The two measure slightly different things for a statement that reads more data
/// than the CPU caches hold between two of its executions: interleaved, the other
/// variants' samples (on their own clones) evict its pages from the caches; back to
/// back, it finds them there, as pgbench, which repeats one statement, does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SamplingOrder {
    /// One sample of each variant per round, round after round (the default): a
    /// burst of load on a shared machine hits every variant alike.
    #[default]
    Interleaved,
    /// Every sample of one variant, then the next variant's: what pgbench measures
    /// for one statement, but a burst of load lands on one variant only.
    BackToBack,
}

impl SamplingOrder {
    /// `interleaved` or `back-to-back`: the flag value and the results-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SamplingOrder::Interleaved => "interleaved",
            SamplingOrder::BackToBack => "back-to-back",
        }
    }
}

impl std::fmt::Display for SamplingOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SamplingOrder {
    type Err = String;

    /// The one parser of a sampling order (`--sampling-order`).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "interleaved" => Ok(SamplingOrder::Interleaved),
            "back-to-back" => Ok(SamplingOrder::BackToBack),
            _ => Err(format!(
                "unknown sampling order {s:?}: expected interleaved or back-to-back"
            )),
        }
    }
}

/// A PostgreSQL server as it was measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ServerInfo {
    /// `docker`, `local` or `url`.
    pub backend: String,
    /// A short label used to tell servers apart in reports (`pg15-local`, image name…).
    pub label: String,
    /// `SHOW server_version`.
    pub version: String,
    /// `SHOW server_version_num`.
    pub version_num: u32,
    /// Docker image, for the docker backend.
    pub image: Option<String>,
    /// Benchmark-relevant settings as the server reports them (`SHOW name`).
    pub settings: BTreeMap<String, String>,
}

/// All comparisons measured on one server at one size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dataset {
    /// Stable key: `"{server.label}/rows={rows}"`; check matches datasets by it.
    pub key: String,
    /// The server.
    pub server: ServerInfo,
    /// Size of the largest table.
    pub rows: u64,
    /// How the data got there.
    pub load: Option<LoadReport>,
    /// Size and write cost of every index set.
    pub index_sets: Vec<IndexSetCost>,
    /// Every layout built or used (version 3; absent before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layouts: Vec<LayoutCost>,
    /// The comparisons, in catalog order.
    pub comparisons: Vec<ComparisonResult>,
}

/// What `querylab load` did (also printed by `load --json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LoadReport {
    /// Backend used.
    pub backend: String,
    /// Server version string.
    pub server_version: String,
    /// Database holding the loaded data (the template).
    pub database: String,
    /// Wall clock for the whole load (schema, COPY, indexes, VACUUM).
    pub seconds: f64,
    /// Rows loaded over all tables.
    pub rows: u64,
    /// `rows / seconds`.
    pub rows_per_second: f64,
    /// True when an existing complete template was reused instead of loading.
    pub reused: bool,
    /// Per table.
    pub tables: Vec<TableLoad>,
}

/// One table's load.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TableLoad {
    /// Schema-qualified name, e.g. `jobs.ml_jobs`.
    pub name: String,
    /// Rows copied.
    pub rows: u64,
    /// Seconds spent copying this table.
    pub seconds: f64,
    /// `pg_total_relation_size` after the load.
    pub bytes: u64,
}

/// The price of an index set: disk and write throughput.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct IndexSetCost {
    /// Index set name.
    pub name: String,
    /// Its DDL statements.
    pub ddl: Vec<String>,
    /// Indexes it created with their sizes.
    pub indexes: Vec<IndexSize>,
    /// Sum of the index sizes.
    pub bytes: u64,
    /// Seconds to build the set on the loaded data.
    pub build_seconds: f64,
    /// Table the write cost was measured on (schema-qualified), if any.
    pub write_table: Option<String>,
    /// Rows inserted for the write-cost measurement.
    pub write_rows: u64,
    /// Insert throughput with this set in place.
    pub write_rows_per_second: f64,
    /// Insert throughput with no secondary index on the same table.
    pub baseline_rows_per_second: f64,
    /// Bytes of `write_table` with the set in place (version 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<TableBytes>,
    /// Writes into `write_table` on the loaded data with the set (version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writes: Option<WriteCost>,
    /// The same writes with the table's secondary indexes dropped (version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_writes: Option<WriteCost>,
    /// The set's `update` of existing rows, measured like the writes (version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updates: Option<WriteCost>,
}

/// One index and its size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct IndexSize {
    /// Schema-qualified index name.
    pub name: String,
    /// `pg_relation_size`.
    pub bytes: u64,
}

/// How the rows of two variants are compared.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResultOrder {
    /// Same rows in the same order.
    #[default]
    Ordered,
    /// Same rows, any order (duplicates count).
    Multiset,
    /// Not compared (writing variants whose effect is checked another way).
    None,
}

/// One comparison: variants of one question, side by side.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComparisonResult {
    /// Stable id, e.g. `pagination.offset_vs_keyset.deep`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// What the comparison shows and which seed document advises it.
    pub description: String,
    /// Seed documents it comes from (file stems like `002`).
    pub sources: Vec<String>,
    /// Name of the reference variant (speed-ups and result checks are against it).
    pub reference: String,
    /// How results are compared.
    pub result_order: ResultOrder,
    /// Result cross-check outcome.
    pub result_check: ResultCheck,
    /// Every expectation of the scenario and whether it held.
    pub expectations: Vec<ExpectationOutcome>,
    /// Variant with the lowest median among those that finished and passed the result check.
    pub winner: Option<String>,
    /// Seconds the comparison took in all (clones, index builds, samples, plans).
    pub seconds: f64,
    /// The variants.
    pub variants: Vec<VariantResult>,
}

/// Outcome of comparing every variant's rows to the reference's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResultCheck {
    /// `match`, `mismatch` or `skipped`.
    pub status: CheckStatus,
    /// One line per variant that differs (or why the check was skipped).
    pub details: Vec<String>,
}

/// Tri-state check status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// All compared variants returned the reference's rows.
    Match,
    /// At least one variant returned different rows.
    Mismatch,
    /// Not compared.
    Skipped,
}

/// One expectation from the scenario and its outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExpectationOutcome {
    /// Variant it is about (or the comparison, for `winner`).
    pub variant: Option<String>,
    /// Human description, e.g. `plan contains Index Only Scan`.
    pub description: String,
    /// Whether it held.
    pub held: bool,
    /// What was seen instead, when it did not hold.
    pub detail: Option<String>,
    /// Judged on the clock (`faster_than`, `expect_winner`) rather than on plans or
    /// rows: it can miss on a noisy machine without anything being wrong.
    #[serde(default)]
    pub timing: bool,
}

/// Whether a variant produced timings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VariantStatus {
    /// Sampled normally.
    Ok,
    /// A sample hit `statement_timeout`.
    TimedOut {
        /// The timeout in force.
        timeout_ns: u64,
    },
    /// The variant failed (SQL error, index set failed to build…).
    Failed {
        /// The error, one line.
        message: String,
    },
}

/// One variant's measurements.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VariantResult {
    /// Variant name, unique in its comparison.
    pub name: String,
    /// What it demonstrates.
    pub description: String,
    /// The SQL as written in the scenario (with `$n` placeholders).
    pub sql: String,
    /// Parameter values used, rendered as text, in `$n` order.
    pub params: Vec<String>,
    /// How many times the statement runs per sample (N+1 variants run it N times).
    pub executions_per_sample: u32,
    /// Index set name.
    pub index_set: String,
    /// Layout (table design) it ran on (version 3; absent: the loaded schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// The index set's DDL as applied.
    pub index_ddl: Vec<String>,
    /// Wire protocol the variant was timed with.
    pub protocol: Protocol,
    /// Whether each sample ran on a fresh clone (writing variants).
    pub fresh_clone_per_sample: bool,
    /// Outcome.
    pub status: VariantStatus,
    /// Raw timed samples, in order taken.
    pub samples_ns: Vec<u64>,
    /// Summary statistics of `samples_ns` (absent when there are none).
    pub stats: Option<Stats>,
    /// Reference median / this median (>1 means faster than the reference).
    pub speedup: Option<f64>,
    /// Deterministic counters from a plan taken with parallelism and JIT off.
    pub counters: Option<Counters>,
    /// The whole `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` output, taken outside the samples.
    pub plan: Option<serde_json::Value>,
    /// Planning time of one sample's statements, milliseconds: the median of a few
    /// `EXPLAIN (SUMMARY)` passes outside the samples (version 4; absent when not taken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planning_ms: Option<f64>,
    /// Digest of the rows the variant returned.
    pub result: Option<ResultDigest>,
    /// Concurrent workload measurements (version 3; absent for single-client variants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadResult>,
}

/// Summary statistics of a variant's samples (nanoseconds).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Stats {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub median_ns: f64,
    /// Mean.
    pub mean_ns: f64,
    /// 95th percentile.
    pub p95_ns: f64,
    /// 99th percentile.
    pub p99_ns: f64,
    /// Fastest sample.
    pub min_ns: f64,
    /// Slowest sample.
    pub max_ns: f64,
    /// Sample standard deviation.
    pub stddev_ns: f64,
    /// Bootstrap 95% confidence interval of the median, lower bound.
    pub median_ci_low_ns: f64,
    /// Bootstrap 95% confidence interval of the median, upper bound.
    pub median_ci_high_ns: f64,
}

/// Plan counters that do not depend on the clock: a repeat on the same data, seed
/// and server version gives the same values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Counters {
    /// Shared buffers hit, summed over the statements of one sample.
    pub shared_hit: u64,
    /// Shared buffers read.
    pub shared_read: u64,
    /// Rows returned by the top node(s).
    pub rows: u64,
    /// Distinct plan node types, in first-seen (pre-order) order.
    pub node_types: Vec<String>,
    /// Indexes used by any node, sorted.
    pub indexes: Vec<String>,
    /// Join node types with their join type, e.g. `Hash Join (Left)`.
    pub joins: Vec<String>,
    /// One-line summary of the top of the plan, e.g. `Limit > Index Scan using idx on t`.
    pub plan_head: String,
}

impl Counters {
    /// Shared blocks touched (hit + read): the deterministic cost measure gated in CI.
    pub fn shared_blocks(&self) -> u64 {
        self.shared_hit + self.shared_read
    }
}

/// Digest of a result set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ResultDigest {
    /// Number of rows.
    pub rows: u64,
    /// SHA-256 (hex) over the rows' text form, in order or sorted (see `ordered`).
    pub hash: String,
    /// Whether the hash is order-sensitive.
    pub ordered: bool,
}

impl RunResults {
    /// Reads and validates a results file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Results {
            path: path.to_path_buf(),
            message: format!("not a querylab results file: {e}"),
        })?;
        let version = value.get("schema_version").and_then(|v| v.as_u64());
        match version {
            Some(v)
                if (u64::from(OLDEST_READABLE_VERSION)..=u64::from(SCHEMA_VERSION))
                    .contains(&v) => {}
            Some(v) if v > u64::from(SCHEMA_VERSION) => {
                return Err(Error::Results {
                    path: path.to_path_buf(),
                    message: format!(
                        "schema_version {v} was written by a newer querylab (this one reads {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}); upgrade querylab to read it"
                    ),
                });
            }
            Some(v) => {
                return Err(Error::Results {
                    path: path.to_path_buf(),
                    message: format!(
                        "schema_version {v} is not supported by this querylab (it reads {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}); re-run `querylab run` with this version to make a new file"
                    ),
                });
            }
            None => {
                return Err(Error::Results {
                    path: path.to_path_buf(),
                    message: "no schema_version: not a querylab results file".into(),
                });
            }
        }
        serde_json::from_value(value).map_err(|e| Error::Results {
            path: path.to_path_buf(),
            message: format!("malformed results: {e}"),
        })
    }

    /// Writes the file atomically (temp file + rename) so a reader or a crash never
    /// sees half a file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("results serialize");
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// True when a variant failed or returned other rows than its reference: what
    /// makes `querylab run` exit 1.
    pub fn has_failures(&self) -> bool {
        self.datasets.iter().flat_map(|d| &d.comparisons).any(|c| {
            c.result_check.status == CheckStatus::Mismatch
                || c.variants
                    .iter()
                    .any(|v| matches!(v.status, VariantStatus::Failed { .. }))
        })
    }

    /// Finds a comparison by dataset key and id.
    pub fn comparison(&self, dataset: &str, id: &str) -> Option<&ComparisonResult> {
        self.datasets
            .iter()
            .find(|d| d.key == dataset)?
            .comparisons
            .iter()
            .find(|c| c.id == id)
    }
}

impl Dataset {
    /// The key of the dataset measured on the server labelled `label` at `rows`.
    pub fn key_for(label: &str, rows: u64) -> String {
        format!("{label}/rows={rows}")
    }
}

impl VariantResult {
    /// Variant `name` before anything is measured: one statement per sample, index
    /// set `none`, prepared, status ok; no SQL, parameters, samples, statistics,
    /// counters, plan or result yet. Whoever builds a result fills in what it knows
    /// (`VariantResult { samples_ns, ..VariantResult::new("v") }`), so a field the
    /// contract gains has its default in this one place.
    pub fn new(name: &str) -> VariantResult {
        VariantResult {
            name: name.into(),
            description: String::new(),
            sql: String::new(),
            params: Vec::new(),
            executions_per_sample: 1,
            index_set: "none".into(),
            layout: None,
            index_ddl: Vec::new(),
            protocol: Protocol::Prepared,
            fresh_clone_per_sample: false,
            status: VariantStatus::Ok,
            samples_ns: Vec::new(),
            stats: None,
            speedup: None,
            counters: None,
            plan: None,
            planning_ms: None,
            result: None,
            workload: None,
        }
    }
}

impl ComparisonResult {
    /// Comparison `id` of `variants` against `reference`, before it is judged: rows
    /// compared in order, result check skipped, no expectations, no winner. As with
    /// [`VariantResult::new`], builders fill in the rest with `..`.
    pub fn new(id: &str, reference: &str, variants: Vec<VariantResult>) -> ComparisonResult {
        ComparisonResult {
            id: id.into(),
            title: id.into(),
            description: String::new(),
            sources: Vec::new(),
            reference: reference.into(),
            result_order: ResultOrder::Ordered,
            result_check: ResultCheck {
                status: CheckStatus::Skipped,
                details: Vec::new(),
            },
            expectations: Vec::new(),
            winner: None,
            seconds: 0.0,
            variants,
        }
    }

    /// The variant called `name`.
    pub fn variant(&self, name: &str) -> Option<&VariantResult> {
        self.variants.iter().find(|v| v.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 results file written before the protocol was an enum: the
    /// committed CI baseline, as that build wrote it.
    const OLD_FILE: &str = "fixtures/baselines/ci/results.json";

    #[test]
    fn a_version_1_file_reads_with_the_defaults_of_version_2() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(OLD_FILE);
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(raw["schema_version"], 1, "the fixture is a version-1 file");
        assert!(raw["settings"]["sampling"].get("order").is_none());
        let r = RunResults::read(&path).expect("a version-1 file reads");
        assert_eq!(r.schema_version, 1, "the version read is the file's own");
        assert_eq!(r.settings.sampling.order, SamplingOrder::Interleaved);
    }

    #[test]
    fn a_newer_or_unknown_version_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        for (v, says) in [(SCHEMA_VERSION + 1, "upgrade querylab"), (0, "re-run")] {
            let path = dir.path().join(format!("v{v}.json"));
            std::fs::write(&path, format!("{{\"schema_version\": {v}}}")).unwrap();
            let e = RunResults::read(&path).unwrap_err().to_string();
            assert!(e.contains(&format!("schema_version {v}")), "{e}");
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn sampling_orders_parse_and_print_as_on_the_command_line() {
        for o in [SamplingOrder::Interleaved, SamplingOrder::BackToBack] {
            assert_eq!(o.as_str().parse::<SamplingOrder>(), Ok(o));
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
        assert!("rounds".parse::<SamplingOrder>().is_err());
    }

    #[test]
    fn an_old_file_reads_and_writes_back_the_same_protocol_strings() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(OLD_FILE);
        let r = RunResults::read(&path).expect("the old baseline reads");
        assert_eq!(r.settings.protocol, Protocol::Prepared);
        let variants: Vec<&VariantResult> = r
            .datasets
            .iter()
            .flat_map(|d| &d.comparisons)
            .flat_map(|c| &c.variants)
            .collect();
        assert!(!variants.is_empty());
        assert!(variants.iter().all(|v| v.protocol == Protocol::Prepared));
        // Written back, the file holds the strings it held.
        let old: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let new = serde_json::to_value(&r).unwrap();
        assert_eq!(new["settings"]["protocol"], "prepared");
        assert_eq!(new["settings"]["protocol"], old["settings"]["protocol"]);
        let first = |v: &serde_json::Value| {
            v["datasets"][0]["comparisons"][0]["variants"][0]["protocol"].clone()
        };
        assert_eq!(first(&new), first(&old));
    }

    #[test]
    fn protocols_parse_and_print_as_on_the_command_line() {
        for p in [Protocol::Prepared, Protocol::Simple] {
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
            assert_eq!(p.to_string(), p.as_str());
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        let simple: Protocol = serde_json::from_str("\"simple\"").unwrap();
        assert_eq!(simple, Protocol::Simple);
        let e = "extended".parse::<Protocol>().unwrap_err();
        assert!(e.contains("prepared or simple"), "{e}");
        assert!(serde_json::from_str::<Protocol>("\"extended\"").is_err());
    }
}
