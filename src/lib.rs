//! querylab: measured, reproducible answers to "which schema, index and query shape
//! is fastest on PostgreSQL for my data — and did my change make it slower?".
//!
//! # Layout
//!
//! The library owns the pipeline; each stage is one module and stages meet at small
//! plain-data types:
//!
//! - [`provision`]: a running PostgreSQL from `docker`, `local` or `url`, as a guard
//!   ([`provision::Server`]) that tears down what it started.
//! - [`schema`]: the seed schemas (`schema/*.sql`) and named index sets.
//! - [`generate`]: deterministic synthetic rows from a seed, streamed.
//! - [`load`]: binary COPY of generated rows, index builds, VACUUM, and the loaded
//!   database kept as a template for clones.
//! - [`catalog`]: scenario files (TOML) — schema, data, index sets, comparisons,
//!   variants, expectations. The built-in ones live in `fixtures/scenarios/`.
//! - [`measure`]: runs each variant on its own clone, one direction per variant
//!   (set up → sample → explain → close), then judges the comparison (speed-ups,
//!   result check, winner, expectations).
//! - [`explain`]: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` parsed into one typed plan
//!   tree ([`explain::PlanNode`]), from which come the counters CI gates on and the
//!   findings the report flags.
//! - [`stats`]: medians, percentiles, bootstrap intervals, growth exponents, and
//!   the normal and t quantiles of the check's intervals.
//! - [`results`]: `results.json`, the contract read by reports and checks, and how
//!   a new one is started ([`results::RunResults::new`]).
//! - [`report`]: the renderings of results: HTML (inline SVG plots), Markdown, and the
//!   terminal table printed by `querylab run`; run against run with `check`'s verdicts.
//! - [`check`]: baseline comparison for CI: plan/buffer gates and significant slowdowns.
//! - [`workload`]: concurrent workloads — N clients, closed or open loop, retries,
//!   lock waits, CPU on both sides, an invariant checked after each client level.
//! - [`advise`]: `querylab advise`: candidate indexes from each statement and its
//!   data, screened with HypoPG, built on clones and measured through [`measure`],
//!   one set chosen for the whole workload, and health findings on the scenario's
//!   own index sets.
//! - [`run`]: the orchestration of `querylab run` (provision → load → measure → write)
//!   and of `querylab load`, the output directory and the partial report on failure:
//!   everything the binary does but parse flags.
//! - [`env`]: the one place that reads environment variables (for benches and tests).
//!
//! Supporting modules: [`error`], [`secret`] (password redaction), [`shutdown`]
//! (Ctrl-C / SIGTERM), [`progress`] (indicatif bars on stderr), [`runtime`] (the
//! one-thread async runtime every timed round trip runs on, and why), and three that every
//! stage may use because they use nothing else of the crate: [`units`] (durations,
//! counts, sizes, ratios for people), [`escape`] (HTML and Markdown escaping) and
//! [`columns`] (the terminal column aligner).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod advise;
pub mod catalog;
pub mod check;
pub mod columns;
pub mod env;
pub mod error;
pub mod escape;
pub mod explain;
pub mod generate;
pub mod load;
pub mod measure;
pub mod progress;
pub mod provision;
pub mod report;
pub mod results;
pub mod run;
pub mod runtime;
pub mod schema;
pub mod secret;
pub mod shutdown;
pub mod stats;
pub mod units;
pub mod workload;

pub use error::{Error, Result};
