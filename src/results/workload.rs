//! The `workload` block of a variant (version 3): what N concurrent clients
//! achieved at each client level. Durations in nanoseconds, like the rest of the file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A variant's concurrent workload: how it was run and one entry per client level.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct WorkloadResult {
    /// Measured window per level.
    pub duration_ns: u64,
    /// Untimed warm-up per level.
    pub warmup_ns: u64,
    /// Open-loop rate (transactions/s over all clients); absent for closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Transaction names and weights of the mix.
    pub mix: Vec<MixEntry>,
    /// SQLSTATEs retried, and the most tries per transaction.
    pub retry_on: Vec<String>,
    /// Most tries of one transaction.
    pub max_tries: u32,
    /// Length of the windows in `LevelResult::windows`.
    pub window_ns: u64,
    /// One entry per client count, in the scenario's order.
    pub levels: Vec<LevelResult>,
}

/// One transaction of the mix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct MixEntry {
    /// Name (`tx`, or as the scenario names it).
    pub name: String,
    /// Relative weight.
    pub weight: f64,
}

/// What `clients` concurrent clients did in the measured window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LevelResult {
    /// Concurrent clients (one connection each).
    pub clients: u32,
    /// Transactions committed in the window (started in it, retries included once).
    pub committed: u64,
    /// `committed` per second of the window.
    pub tx_per_second: f64,
    /// Rows affected or returned by the last statement of committed transactions,
    /// per second (jobs/s for a queue claim that returns the job).
    pub rows_per_second: f64,
    /// Latency of committed transactions (from the scheduled start in open loop).
    pub latency: Latency,
    /// Log-scale histogram of the latencies: (upper bound ns, count), non-empty buckets.
    pub histogram: Vec<(u64, u64)>,
    /// Slowest and fastest client, in committed transactions per second (fairness).
    pub client_tx_per_second_min: f64,
    /// See `client_tx_per_second_min`.
    pub client_tx_per_second_max: f64,
    /// Transactions given up, by SQLSTATE (after their last try).
    pub errors: BTreeMap<String, u64>,
    /// Tries repeated because of a `retry_on` SQLSTATE.
    pub retries: u64,
    /// Retries by SQLSTATE.
    pub retries_by_code: BTreeMap<String, u64>,
    /// Sessions waiting on a lock, sampled from `pg_stat_activity`.
    pub lock_waits: LockWaits,
    /// `pg_stat_database.deadlocks` delta over the level (absent when not readable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlocks: Option<u64>,
    /// `pg_stat_database.conflicts` delta over the level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<u64>,
    /// Open loop: transactions scheduled to start in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<u64>,
    /// querylab's own CPU time (user + system) over the level, warm-up included.
    pub client_cpu_ns: u64,
    /// `client_cpu_ns` per transaction started (warm-up and retries included).
    pub client_cpu_per_tx_ns: f64,
    /// CPU time of the clients' server backends over the level, when the server
    /// runs on this machine (`local` backend); absent when it cannot be seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpu_ns: Option<u64>,
    /// Committed transactions per window of `WorkloadResult::window_ns`: the
    /// samples `querylab check` judges throughput by.
    pub windows: Vec<u64>,
    /// p99 latency per window (0 for a window without a commit).
    pub window_p99_ns: Vec<u64>,
    /// The invariant check after the level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyOutcome>,
    /// Threads the clients ran on, each owning its clients' connections
    /// (pgbench's `-j`); absent in files before version 4, whose clients all
    /// shared querylab's one runtime thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_threads: Option<u32>,
}

/// Latency percentiles from an HDR histogram (3 significant digits).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Latency {
    /// Transactions recorded.
    pub count: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Slowest.
    pub max_ns: u64,
}

/// Lock waits seen in `pg_stat_activity` (`wait_event_type = 'Lock'`) on the
/// workload's database.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct LockWaits {
    /// Samples taken.
    pub samples: u64,
    /// Samples in which at least one session waited.
    pub samples_waiting: u64,
    /// Mean sessions waiting per sample.
    pub mean_waiting: f64,
    /// Most sessions waiting in one sample.
    pub max_waiting: u64,
}

/// The `verify` query's outcome: its rows are broken invariants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct VerifyOutcome {
    /// Whether it returned no row.
    pub ok: bool,
    /// Rows it returned.
    pub violations: u64,
    /// The first few rows, as text.
    pub sample: Vec<String>,
}

impl WorkloadResult {
    /// The level with `clients` clients.
    pub fn level(&self, clients: u32) -> Option<&LevelResult> {
        self.levels.iter().find(|l| l.clients == clients)
    }
}

/// How workloads were run (`--clients`, `--duration-factor`), recorded in the
/// run's settings (version 3) so a check re-measures them the same way.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkloadSettings {
    /// Client counts replacing every workload's own (`--clients 1,8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<u32>>,
    /// Every workload's duration and warm-up multiplied by this.
    #[serde(default = "one")]
    pub duration_factor: f64,
    /// Threads the clients of a level run on (`--client-threads`, pgbench's `-j`);
    /// absent: one per core, at most one per client (version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_threads: Option<u32>,
}

fn one() -> f64 {
    1.0
}

impl Default for WorkloadSettings {
    fn default() -> Self {
        WorkloadSettings {
            clients: None,
            duration_factor: 1.0,
            client_threads: None,
        }
    }
}

impl WorkloadSettings {
    /// Whether nothing is overridden (then results.json leaves it out).
    pub fn is_default(&self) -> bool {
        *self == WorkloadSettings::default()
    }
}
