//! Measuring: every variant of a comparison on a clone of the loaded template with its
//! index set (shared by the read-only variants of the same layout and index set).
//!
//! For each variant: clone the template (or its layout's, built once per dataset:
//! `layout`; read-only variants of the same layout and index set share one clone:
//! `clones`), apply its index set (sizes recorded the first time a set is seen),
//! warm up, take timed samples until both a minimum time and a minimum count are
//! reached (capped for slow variants), then, outside the samples, capture the full
//! `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` and the deterministic counters
//! (parallelism and JIT off), digest the rows for the cross-check against the
//! reference variant, and, once per layout or index set (on a read-only variant of
//! the last comparison reading on it), measure writes into its table ([`writes`]).

mod clones;
pub mod cost;
mod evaluate;
pub mod exec;
mod layout;
mod plans;
mod sample;
pub mod session;
pub(crate) mod setup;
mod stop;
pub mod storage;
mod variant;
pub mod writes;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::catalog::{Comparison, Scenario};
use crate::error::Result;
use crate::progress::Progress;
use crate::provision::Server;
pub use crate::results::SamplingOrder;
use crate::results::{
    ComparisonResult, IndexSetCost, LayoutCost, Sampling, VariantResult, WriteCost,
};
use crate::shutdown::Shutdown;
pub use clones::KEEP_IDLE as KEEP_IDLE_CLONES;
pub use evaluate::evaluate;
pub use exec::Protocol;

/// How to measure. Plain data with documented defaults.
#[derive(Debug, Clone)]
pub struct MeasureConfig {
    /// Sampling rules.
    pub sampling: Sampling,
    /// Wire protocol for timed statements.
    pub protocol: Protocol,
    /// Rows per batch when measuring writes into a layout's or index set's table.
    pub write_cost_rows: u64,
    /// Timed repetitions of each write (single-row and multi-row), for an interval.
    pub write_repetitions: u32,
    /// Cap on samples for `fresh_clone` variants (each sample clones the database).
    pub fresh_clone_max_samples: u32,
    /// Time budget per comparison: variants not started when it is spent are
    /// recorded as failed ("budget exceeded") and the run goes on.
    pub comparison_budget: Duration,
    /// Workload overrides (`--clients`, `--duration-factor`).
    pub workload: crate::results::WorkloadSettings,
}

impl Default for MeasureConfig {
    fn default() -> Self {
        MeasureConfig {
            sampling: default_sampling(),
            protocol: Protocol::Prepared,
            // 250 rows: at 1M rows on a busy 2-core machine, 1,000-row batches (5
            // single-row and 5 multi-row per index set, and baselines) took 380 s of a
            // 951 s default run; per-row rates and WAL are as clear from 250.
            write_cost_rows: 250,
            write_repetitions: 5,
            fresh_clone_max_samples: 5,
            comparison_budget: Duration::from_secs(300),
            workload: crate::results::WorkloadSettings::default(),
        }
    }
}

/// Default sampling: 3 warm-up runs; at least 10 samples and 1 s; at most 500
/// samples or 5 s per variant; 30 s statement timeout.
pub fn default_sampling() -> Sampling {
    Sampling {
        warmup_runs: 3,
        min_samples: 10,
        min_time_ns: 1_000_000_000,
        max_samples: 500,
        max_time_ns: 5_000_000_000,
        statement_timeout_ns: 30_000_000_000,
        order: SamplingOrder::Interleaved,
    }
}

/// What a measurer remembers from comparison to comparison of one dataset: index-set
/// and layout costs, and the layout templates built. Callers that make a
/// [`Measurer`] per call (the criterion benches) carry it over with
/// [`Measurer::remember`] and [`Measurer::forget`].
#[derive(Default)]
pub struct Memory {
    costs: BTreeMap<String, IndexSetCost>,
    /// Writes per table with its secondary indexes dropped (the index sets' baseline).
    write_baselines: BTreeMap<String, WriteCost>,
    /// Layouts of this dataset: built templates, or why they failed.
    layouts: BTreeMap<String, layout::Built>,
    /// What each layout cost (build time, bytes, writes).
    layout_costs: BTreeMap<String, LayoutCost>,
    /// Layouts built so far (one per layout with statements, however many variants).
    layout_builds: u32,
    /// Clones shared by read-only variants with the same layout and index set.
    clones: clones::Pool,
    /// Clones done with, dropped while the next one is made ([`Measurer::make_clone`]).
    retired: Vec<String>,
}

impl Memory {
    /// Layout costs measured so far, in name order.
    pub fn layout_costs(&self) -> Vec<LayoutCost> {
        self.layout_costs.values().cloned().collect()
    }

    /// How many layout templates were built (each layout once, however many
    /// variants run on it).
    pub fn layout_builds(&self) -> u32 {
        self.layout_builds
    }

    /// Clones made for read-only variants, and how many times a variant ran on one
    /// made before instead of a clone of its own.
    pub fn clones_made_and_shared(&self) -> (u32, u32) {
        (self.clones.made, self.clones.shared)
    }
}

/// The clones (layout and index set) and layouts the comparisons after the current
/// one need.
#[derive(Default)]
struct Later {
    keys: Vec<clones::Key>,
    layouts: std::collections::BTreeSet<String>,
}

/// Runs the comparisons of one scenario against one loaded template, remembering
/// index-set costs across comparisons.
pub struct Measurer<'a> {
    pub(crate) server: &'a Server,
    pub(crate) template: &'a str,
    pub(crate) scenario: &'a Scenario,
    pub(crate) config: &'a MeasureConfig,
    pub(crate) shutdown: &'a Shutdown,
    pub(crate) progress: &'a Progress,
    mem: Memory,
    /// What the comparisons after the current one need.
    later: Later,
    /// When the current comparison's time budget runs out.
    pub(crate) deadline: Instant,
}

impl<'a> Measurer<'a> {
    /// A measurer for `scenario` on `template` (a loaded database on `server`).
    pub fn new(
        server: &'a Server,
        template: &'a str,
        scenario: &'a Scenario,
        config: &'a MeasureConfig,
        shutdown: &'a Shutdown,
        progress: &'a Progress,
    ) -> Self {
        Measurer {
            server,
            template,
            scenario,
            config,
            shutdown,
            progress,
            mem: Memory::default(),
            later: Later::default(),
            deadline: Instant::now() + config.comparison_budget,
        }
    }

    /// This measurer with what an earlier one of the same dataset remembered.
    pub fn remember(mut self, mem: Memory) -> Self {
        self.mem = mem;
        self
    }

    /// What this measurer remembers, for the next one of the same dataset.
    pub fn forget(self) -> Memory {
        self.mem
    }

    /// Index-set costs measured so far, in name order.
    pub fn index_set_costs(&self) -> Vec<IndexSetCost> {
        self.mem.costs.values().cloned().collect()
    }

    /// Layout costs measured so far, in name order.
    pub fn layout_costs(&self) -> Vec<LayoutCost> {
        self.mem.layout_costs()
    }

    /// How many layout templates were built (each layout once, however many
    /// variants run on it).
    pub fn layout_builds(&self) -> u32 {
        self.mem.layout_builds()
    }

    /// Clones made for read-only variants, and how many times one was shared.
    pub fn clones_made_and_shared(&self) -> (u32, u32) {
        self.mem.clones_made_and_shared()
    }

    /// Drops the layout templates and shared clones this measurer made; call when
    /// the dataset is done (the server's teardown drops them too, should a run stop
    /// before).
    pub async fn finish(&mut self) -> Result<()> {
        for db in self.mem.clones.idle() {
            self.retire(db);
        }
        layout::drop_templates(self, &Default::default()).await?;
        self.drop_retired().await
    }

    /// Makes clone `db` of `source`, dropping the clones retired since the last one
    /// meanwhile, on another connection: copying one database while another's files
    /// are deleted took 1.0 s where one after the other took 1.5 s (500 MB clones on
    /// the 2-core machine). Nothing timed runs then, and nothing runs in the
    /// background: a retired clone is dropped here or in [`Self::drop_retired`].
    pub(crate) async fn make_clone(&mut self, db: &str, source: &str) -> Result<()> {
        let retired = std::mem::take(&mut self.mem.retired);
        let server = self.server;
        let drops = async move {
            for d in &retired {
                server.drop_database(d).await?;
            }
            Ok::<_, crate::Error>(())
        };
        let (made, dropped) = tokio::join!(server.create_database(db, Some(source)), drops);
        made?;
        dropped
    }

    /// A clone this measurer is done with: dropped with the next [`Self::make_clone`].
    pub(crate) fn retire(&mut self, db: String) {
        self.mem.retired.push(db);
    }

    /// Drops the retired clones now (before timed work, and when the dataset is done).
    pub(crate) async fn drop_retired(&mut self) -> Result<()> {
        for db in std::mem::take(&mut self.mem.retired) {
            self.server.drop_database(&db).await?;
        }
        Ok(())
    }

    /// Tells the measurer which comparisons come after the next one: the clones and
    /// layout templates they need are kept ([`Self::release`]), and the writes of an
    /// index set or layout they read on again are measured at its last use rather
    /// than its first (measuring writes spoils a clone, which would then be made and
    /// set up again). Without it, every clone may go and writes are measured at once.
    pub fn upcoming(&mut self, later: &[&Comparison]) {
        let variants = || later.iter().flat_map(|c| &c.variants);
        self.later = Later {
            // Workloads make clones of their own and measure no writes.
            keys: later
                .iter()
                .filter(|c| !crate::workload::is_workload(c))
                .flat_map(|c| &c.variants)
                .filter(|v| v.mode == crate::catalog::Mode::Read)
                .map(|v| (v.layout.clone(), v.index_set.clone()))
                .collect(),
            layouts: variants().filter_map(|v| v.layout.clone()).collect(),
        };
    }

    /// Drops the layout templates and the shared clones that none of the comparisons
    /// still to measure ([`Self::upcoming`]) runs on: each is a whole copy of the
    /// loaded database.
    pub async fn release(&mut self) -> Result<()> {
        for db in self.mem.clones.surplus(&self.later.keys) {
            self.retire(db);
        }
        let keep = self.later.layouts.clone();
        layout::drop_templates(self, &keep).await
    }

    /// Whether a comparison after this one reads on `key` (its writes wait for it).
    pub(crate) fn read_later(&self, key: &clones::Key) -> bool {
        self.later.keys.contains(key)
    }

    /// A fresh clone name under this run's prefix.
    fn next_clone(&self) -> String {
        self.server.unique_name("c")
    }

    /// Measures every variant of `c` and evaluates its checks and expectations.
    /// Errors are returned only for what stops the run (server gone, interrupt);
    /// a variant that fails is recorded as failed.
    pub async fn comparison(&mut self, c: &Comparison) -> Result<ComparisonResult> {
        let started = Instant::now();
        self.deadline = started + self.config.comparison_budget;
        let bar = self.progress.step(&c.id);
        bar.set_message(format!("{} variants", c.variants.len()));
        // Setting a variant up (clone, index build, write cost) and explaining it
        // run for seconds on big tables without a sample's own cancellation point:
        // on Ctrl-C the whole comparison is dropped here, its connections close, and
        // the server's teardown drops the clones it made.
        let shutdown = self.shutdown;
        let variants = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Err(crate::Error::Interrupted),
            r = async {
                if crate::workload::is_workload(c) {
                    crate::workload::measure_all(self, c, started).await
                } else {
                    variant::measure_all(self, c, started).await
                }
            } => r?,
        };
        bar.finish_and_clear();
        let mut result = evaluate(c, variants);
        result.seconds = started.elapsed().as_secs_f64();
        Ok(result)
    }
}

/// A variant's result before anything is measured: its definition, no samples.
pub fn blank_result(
    scenario: &Scenario,
    v: &crate::catalog::Variant,
    config: &MeasureConfig,
) -> VariantResult {
    let set = &scenario.index_sets[&v.index_set];
    VariantResult {
        description: v.description.clone(),
        sql: v.statements.join(";\n"),
        index_set: set.name.clone(),
        layout: v.layout.clone(),
        index_ddl: set.ddl.clone(),
        protocol: config.protocol,
        fresh_clone_per_sample: v.mode == crate::catalog::Mode::FreshClone,
        ..VariantResult::new(&v.name)
    }
}

/// Converts a sampling duration field.
fn dur(ns: u64) -> Duration {
    Duration::from_nanos(ns)
}
