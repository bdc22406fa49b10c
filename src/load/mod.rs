//! Bulk load: schema, rows, keys, index sets, VACUUM — into a database kept as a
//! template so later stages clone it instead of loading again.
//!
//! Steps of [`load`]:
//! 1. Hash the inputs; under an advisory lock, reuse a complete template of that
//!    hash, or drop an incomplete one (an interrupted load) and build it anew.
//! 2. Create the database and apply the schema files.
//! 3. Built-in data: set keys, uniques, foreign keys and indexes aside
//!    ([`constraints`]), COPY every table in binary format, a few tables at a time,
//!    biggest first, each generated as it streams ([`copy`]).
//!    Fixtures: run SQL files and COPY CSV files, in the order given, constraints on.
//! 4. Build the indexes — the schema's and the index sets' — on a few connections
//!    at once, biggest tables first (index sets that are not all plain
//!    `CREATE INDEX` statements run afterwards, in order); re-attach keys and add
//!    the foreign keys, which checks every row.
//! 5. Move sequences past the loaded ids; `VACUUM (FREEZE, ANALYZE)` every table.
//! 6. Mark the database complete ([`template`]).
//!
//! Any error or Ctrl-C drops the half-made database. The database stays tracked by
//! the [`Server`] (so it is dropped at teardown) unless the caller keeps it with
//! [`Server::forget_database`]; a reused template was not created by this server
//! handle and is never dropped by it.

mod build;
pub mod constraints;
pub mod copy;
pub mod finish;
pub mod space;
pub mod template;

use std::path::PathBuf;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::generate::table_sizes;
use crate::progress::Progress;
use crate::provision::Server;
use crate::results::{LoadReport, TableLoad};
use crate::schema::{self, SqlFile};
use crate::shutdown::Shutdown;

/// What to load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Schema files, applied in order.
    pub schema: Vec<SqlFile>,
    /// Where the rows come from.
    pub data: DataSource,
    /// Index sets built after the data, in order.
    pub index_sets: Vec<SqlFile>,
}

impl LoadSpec {
    /// The built-in seed schemas and generated data, with `index_sets` built after.
    pub fn builtin(index_sets: Vec<SqlFile>) -> LoadSpec {
        LoadSpec {
            schema: schema::builtin_schema(),
            data: DataSource::Builtin,
            index_sets,
        }
    }
}

/// Source of the rows.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// Generated from `--rows` and `--seed` for the built-in schema's tables.
    Builtin,
    /// User files, loaded in order.
    Fixtures(Vec<Fixture>),
}

/// One user data file.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Target table (`schema.table`, unquoted) for CSV; unused for SQL.
    pub table: Option<String>,
    /// The file.
    pub path: PathBuf,
    /// How to load it.
    pub kind: FixtureKind,
}

/// How a fixture is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureKind {
    /// Executed statement by statement.
    Sql,
    /// `COPY table (columns named on the first line) FROM STDIN (FORMAT csv, HEADER)`.
    Csv,
}

/// How much and which data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Size of the largest table (see [`crate::generate::Sizes`]).
    pub rows: u64,
    /// Generator seed.
    pub seed: u64,
    /// No progress bars.
    pub quiet: bool,
    /// Clones of the template the caller will hold at once (the variants of its
    /// largest comparison): counted in the disk space a load must find free.
    pub clones: u32,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            rows: crate::generate::DEFAULT_ROWS,
            seed: 42,
            quiet: false,
            clones: 0,
        }
    }
}

/// A loaded (or reused) template.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Name of the template database; clone it with `create_database(name, Some(template))`.
    pub template: String,
    /// What the load did.
    pub report: LoadReport,
    /// Seconds per step (`schema`, `copy` or `fixtures`, `indexes`, `constraints`,
    /// `index sets` when they ran apart, `sequences`, `vacuum`), in order; empty
    /// when reused.
    pub steps: Vec<(String, f64)>,
}

/// Concurrent COPY streams and connections building indexes or vacuuming: one per
/// core of this machine (the server's, for the local and docker backends), at least
/// two so that a long table never holds up all the short ones, at most eight.
/// Each COPY stream keeps one server core parsing; generation takes a fraction of
/// a client core.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// Loads `spec` into a template database (or reuses a complete one) and reports.
pub async fn load(
    server: &Server,
    spec: &LoadSpec,
    opts: &LoadOptions,
    shutdown: &Shutdown,
) -> Result<Loaded> {
    if opts.rows == 0 && matches!(spec.data, DataSource::Builtin) {
        return Err(Error::Invalid("--rows must be at least 1".into()));
    }
    let started = Instant::now();
    let hash = template::hash(spec, opts)?;
    let name = template::name(&hash);
    let admin = server.admin().await?;
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => return Err(Error::Interrupted),
        r = template::lock(&admin, &hash) => r?,
    }
    let state = template::state(&admin, &hash).await?;
    if let Some(dir) = server.data_dir() {
        let template = space::template_bytes(spec, opts.rows);
        let build = state != template::State::Complete;
        let what = match (&spec.data, build) {
            (DataSource::Builtin, true) => format!(
                "loading --rows {} (a template of about {}, the WAL its load writes, and {} clone(s) of it while measuring)",
                opts.rows,
                crate::units::bytes(template),
                opts.clones
            ),
            (DataSource::Fixtures(_), true) => format!(
                "loading the fixtures (a template of about {}, the WAL its load writes, and {} clone(s) of it while measuring)",
                crate::units::bytes(template),
                opts.clones
            ),
            (_, false) => format!(
                "measuring on {} clone(s) of the template of about {}",
                opts.clones,
                crate::units::bytes(template)
            ),
        };
        space::ensure(dir, space::needed(template, build, opts.clones), &what)?;
    }
    match state {
        template::State::Complete => {
            let tables = reused_tables(server, &name, spec, opts).await?;
            return Ok(Loaded {
                report: report(server, &name, started, tables, true),
                template: name,
                steps: Vec::new(),
            });
        }
        template::State::Incomplete => server.drop_database(&name).await?,
        template::State::Missing => {}
    }
    let progress = Progress::new(opts.quiet);
    let outcome = async {
        server.create_database(&name, None).await?;
        let built = build::build(server, &name, spec, opts, shutdown, &progress).await?;
        template::mark_complete(&admin, &hash).await?;
        Ok::<_, Error>(built)
    }
    .await;
    match outcome {
        Ok((tables, steps)) => Ok(Loaded {
            report: report(server, &name, started, tables, false),
            template: name,
            steps,
        }),
        Err(e) => {
            // Dropping with FORCE also ends statements still running on it.
            let _ = server.drop_database(&name).await;
            Err(e)
        }
    }
}

fn report(
    server: &Server,
    name: &str,
    started: Instant,
    tables: Vec<TableLoad>,
    reused: bool,
) -> LoadReport {
    let seconds = started.elapsed().as_secs_f64();
    let rows = tables.iter().map(|t| t.rows).sum();
    LoadReport {
        backend: server.backend().to_string(),
        server_version: server.info().version.clone(),
        database: name.to_string(),
        seconds,
        rows,
        rows_per_second: if seconds > 0.0 {
            rows as f64 / seconds
        } else {
            0.0
        },
        reused,
        tables,
    }
}

/// The table list of a reused template: generated sizes for built-in data (the
/// hash guarantees them), exact counts for fixtures; sizes from the server.
async fn reused_tables(
    server: &Server,
    name: &str,
    spec: &LoadSpec,
    opts: &LoadOptions,
) -> Result<Vec<TableLoad>> {
    let client = server.connect(name).await?;
    let sizes = finish::tables(&client).await?;
    let mut tables = Vec::new();
    match spec.data {
        DataSource::Builtin => {
            for (table, rows) in table_sizes(opts.rows) {
                let bytes = sizes
                    .iter()
                    .find(|(t, _, _)| *t == table)
                    .map_or(0, |(_, _, b)| *b);
                tables.push(TableLoad {
                    name: table,
                    rows,
                    seconds: 0.0,
                    bytes,
                });
            }
        }
        DataSource::Fixtures(_) => {
            for (table, quoted, bytes) in sizes {
                let rows = finish::count_rows(&client, &quoted).await?;
                tables.push(TableLoad {
                    name: table,
                    rows,
                    seconds: 0.0,
                    bytes,
                });
            }
        }
    }
    Ok(tables)
}
