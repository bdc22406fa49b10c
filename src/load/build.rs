//! Everything between creating the template database and marking it complete.

use std::sync::Arc;
use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use tokio_postgres::Client;

use super::finish::{self, Job, Sql};
use super::{DataSource, Fixture, FixtureKind, LoadOptions, LoadSpec, workers};
use super::{constraints, copy};
use crate::error::{Error, Result};
use crate::generate::{TableGen, builtin_tables, table_sizes};
use crate::progress::Progress;
use crate::provision::Server;
use crate::results::TableLoad;
use crate::schema::{self, SqlFile};
use crate::shutdown::Shutdown;

/// Seconds per load step, in order.
#[derive(Default)]
struct Steps(Vec<(String, f64)>);

impl Steps {
    fn done(&mut self, name: &str, since: Instant) {
        self.0
            .push((name.to_string(), since.elapsed().as_secs_f64()));
    }
}

/// Builds the template `name`: returns the tables loaded and the step timings.
pub(super) async fn build(
    server: &Server,
    name: &str,
    spec: &LoadSpec,
    opts: &LoadOptions,
    shutdown: &Shutdown,
    progress: &Progress,
) -> Result<(Vec<TableLoad>, Vec<(String, f64)>)> {
    let mut steps = Steps::default();
    let client = server.connect(name).await?;
    let t = Instant::now();
    let step = progress.step("schema");
    schema::apply(&client, &spec.schema).await?;
    step.finish_and_clear();
    steps.done("schema", t);
    shutdown.check()?;

    let t = Instant::now();
    let (mut loads, deferred) = match &spec.data {
        DataSource::Builtin => {
            let deferred = constraints::defer(&client).await?;
            let loads = copy_builtin(server, name, opts, shutdown, progress).await?;
            steps.done("copy", t);
            (loads, Some(deferred))
        }
        DataSource::Fixtures(fixtures) => {
            load_fixtures(&client, fixtures, shutdown).await?;
            steps.done("fixtures", t);
            (Vec::new(), None)
        }
    };

    // Every index at once: the schema's own (set aside for the load) and the index
    // sets', when they are plain index builds that cannot depend on each other.
    let sets: Vec<Arc<SqlFile>> = spec.index_sets.iter().cloned().map(Arc::new).collect();
    let sets_in_parallel = sets.iter().all(|f| {
        f.statements()
            .iter()
            .all(|s| finish::is_plain_create_index(&s.text))
    });
    let t = Instant::now();
    let step = progress.step("indexes");
    let mut jobs = Vec::new();
    for (table, sql) in deferred.iter().flat_map(|d| &d.indexes) {
        let cost = finish::relation_size(&client, table).await?;
        let label = format!("re-creating an index of {table}");
        jobs.push(Job::plain(cost, sql.clone(), label));
    }
    if sets_in_parallel {
        for set in &sets {
            for statement in set.statements() {
                let cost = match finish::index_target(&statement.text) {
                    Some(table) => finish::relation_size(&client, &table).await?,
                    None => 0,
                };
                jobs.push(Job {
                    cost,
                    statements: vec![Sql::InFile(set.clone(), statement)],
                });
            }
        }
    }
    finish::run_parallel(server, name, jobs, workers(), shutdown).await?;
    step.finish_and_clear();
    steps.done("indexes", t);

    let autovacuum = deferred
        .as_ref()
        .map(|d| d.autovacuum.clone())
        .unwrap_or_default();
    if let Some(deferred) = deferred {
        let t = Instant::now();
        let step = progress.step("keys and foreign keys");
        for sql in deferred.keys {
            let label = "re-attaching a key to its index".to_string();
            finish::run_sql(&client, &Sql::Plain { sql, label }, shutdown).await?;
        }
        let mut fks = Vec::new();
        for (table, sql) in deferred.foreign_keys {
            let cost = finish::relation_size(&client, &table).await?;
            fks.push(Job::plain(
                cost,
                sql,
                format!("adding a foreign key to {table}"),
            ));
        }
        finish::run_parallel(server, name, fks, workers(), shutdown).await?;
        step.finish_and_clear();
        steps.done("constraints", t);
    }

    if !sets_in_parallel {
        let t = Instant::now();
        for set in &sets {
            let step = progress.step(&format!("index set {}", set.stem()));
            for statement in set.statements() {
                finish::run_sql(&client, &Sql::InFile(set.clone(), statement), shutdown).await?;
            }
            step.finish_and_clear();
        }
        steps.done("index sets", t);
    }

    let t = Instant::now();
    finish::reset_sequences(&client, shutdown).await?;
    steps.done("sequences", t);

    let t = Instant::now();
    let step = progress.step("vacuum (freeze, analyze)");
    let vacuums = finish::tables(&client)
        .await?
        .into_iter()
        .map(|(table, quoted, bytes)| {
            let sql = format!("VACUUM (FREEZE, ANALYZE) {quoted}");
            Job::plain(bytes as i64, sql, format!("vacuuming {table}"))
        })
        .collect();
    finish::run_parallel(server, name, vacuums, workers(), shutdown).await?;
    for sql in autovacuum {
        let label = "turning autovacuum back on".to_string();
        finish::run_sql(&client, &Sql::Plain { sql, label }, shutdown).await?;
    }
    step.finish_and_clear();
    steps.done("vacuum", t);

    let tables = finish::tables(&client).await?;
    if matches!(spec.data, DataSource::Fixtures(_)) {
        // Fixtures: rows are counted once everything is in (an SQL fixture may fill any table).
        for (table, quoted, _) in &tables {
            loads.push(TableLoad {
                name: table.clone(),
                rows: finish::count_rows(&client, quoted).await?,
                ..TableLoad::default()
            });
        }
    }
    for load in &mut loads {
        load.bytes = tables
            .iter()
            .find(|(t, _, _)| *t == load.name)
            .map_or(0, |(_, _, b)| *b);
    }
    Ok((loads, steps.0))
}

/// COPYs every built-in table, [`workers`] at a time, biggest first.
async fn copy_builtin(
    server: &Server,
    name: &str,
    opts: &LoadOptions,
    shutdown: &Shutdown,
    progress: &Progress,
) -> Result<Vec<TableLoad>> {
    let mut order: Vec<Arc<dyn TableGen>> = builtin_tables(opts.rows, opts.seed);
    // Biggest first, so the long COPYs start at once and the small ones fill in.
    order.sort_by_key(|t| std::cmp::Reverse(t.row_count()));
    let copies = futures_util::stream::iter(order.into_iter().map(|table| {
        let bar = progress.rows(table.name(), table.row_count());
        async move {
            let t0 = Instant::now();
            let client = server.connect(name).await?;
            let rows =
                copy::copy_generated(&client, table.clone(), opts.seed, shutdown, &bar).await?;
            bar.finish_and_clear();
            Ok::<_, Error>(TableLoad {
                name: table.name().to_string(),
                rows,
                seconds: t0.elapsed().as_secs_f64(),
                bytes: 0,
            })
        }
    }))
    .buffer_unordered(workers());
    // The first failure stops the others (dropping a COPY aborts it).
    let mut done: Vec<TableLoad> = copies.try_collect().await?;
    // Report in the documented table order.
    let order = table_sizes(opts.rows);
    done.sort_by_key(|t| order.iter().position(|(n, _)| *n == t.name));
    Ok(done)
}

/// Runs SQL fixtures and COPYs CSV ones, in order.
async fn load_fixtures(client: &Client, fixtures: &[Fixture], shutdown: &Shutdown) -> Result<()> {
    for fixture in fixtures {
        shutdown.check()?;
        match fixture.kind {
            FixtureKind::Sql => schema::apply(client, &[SqlFile::read(&fixture.path)?]).await?,
            FixtureKind::Csv => {
                let table = fixture.table.as_deref().ok_or_else(|| {
                    Error::Invalid(format!(
                        "{}: a CSV fixture needs the table it fills (table = \"schema.table\")",
                        fixture.path.display()
                    ))
                })?;
                copy::copy_csv(client, table, &fixture.path, shutdown).await?;
            }
        }
    }
    Ok(())
}
