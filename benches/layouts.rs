//! Layout figures for issue 12: `cargo bench --bench layouts`.
//!
//! 1. **Write repeatability.** The `schema.primary_key.lookup` comparison measured
//!    `QUERYLAB_BENCH_REPEATS` times (default 3), each time by a new measurer, so every
//!    layout is built again and its writes are the first on a fresh clone: the WAL
//!    records, WAL bytes and buffers dirtied of each layout's first write, per
//!    repeat, with their spread; and the rows/s of the batches.
//! 2. **The default `querylab run`**: every comparison of the built-in scenario at
//!    `QUERYLAB_ROWS` (default 1,000,000), default sampling, timed wall clock, with
//!    the count of layout builds and the time of the `schema.*` comparisons. Skipped
//!    with `QUERYLAB_BENCH_SKIP_RUN=1`.
//!
//! Environment: as for every bench ([`querylab::env`]).

use std::time::Instant;

use anyhow::{Context, Result};
use querylab::catalog;
use querylab::env::EnvConfig;
use querylab::load::{LoadOptions, load};
use querylab::measure::{MeasureConfig, Measurer};
use querylab::progress::Progress;
use querylab::provision::provision;
use querylab::run::{RunConfig, run};
use querylab::shutdown::Shutdown;
use querylab::units::{bytes, count, seconds};

fn main() -> Result<()> {
    let env = EnvConfig::from_env(1_000_000).context("reading the environment")?;
    let repeats: usize = std::env::var("QUERYLAB_BENCH_REPEATS")
        .ok()
        .map(|v| v.parse())
        .transpose()
        .context("QUERYLAB_BENCH_REPEATS")?
        .unwrap_or(3);
    // current_thread, as `querylab run` measures.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    let shutdown = rt.block_on(async { Shutdown::on_signals() });
    let scenario = catalog::builtin("seeds")?;
    rt.block_on(repeatability(&env, &scenario, repeats, &shutdown))?;
    if std::env::var("QUERYLAB_BENCH_SKIP_RUN").is_err() {
        rt.block_on(default_run(&env, &scenario, &shutdown))?;
    }
    Ok(())
}

async fn repeatability(
    env: &EnvConfig,
    scenario: &catalog::Scenario,
    repeats: usize,
    shutdown: &Shutdown,
) -> Result<()> {
    let server = provision(&env.provision).await?;
    let r = async {
        let opts = LoadOptions {
            rows: env.rows,
            seed: env.seed,
            quiet: true,
            clones: 2,
        };
        let loaded = load(&server, &scenario.load, &opts, shutdown).await?;
        let c = scenario
            .comparisons
            .iter()
            .find(|c| c.id == "schema.primary_key.lookup")
            .context("schema.primary_key.lookup in the built-in scenario")?;
        let config = MeasureConfig::default();
        let progress = Progress::new(false);
        let mut per_layout: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut spread: std::collections::BTreeMap<String, Vec<(u64, u64, u64)>> =
            Default::default();
        for _ in 0..repeats {
            let mut m = Measurer::new(&server, &loaded.template, scenario, &config, shutdown, &progress);
            m.comparison(c).await?;
            for l in m.layout_costs() {
                let Some(w) = &l.writes else { continue };
                let k = w.counters;
                let rate = |s: bool| {
                    let side = if s { &w.single } else { &w.multi };
                    side.rows_per_second(w.batch_rows)
                        .map(|r| count(r.1 as u64))
                        .unwrap_or_default()
                };
                per_layout.entry(l.name.clone()).or_default().push(format!(
                    "{} records, {} B, {} dirtied; single-row {} rows/s, multi-row {} rows/s; pkey {}",
                    count(k.wal_records),
                    count(k.wal_bytes),
                    count(k.shared_dirtied),
                    rate(true),
                    rate(false),
                    bytes(l.tables.first().map(|t| t.index_bytes()).unwrap_or(0)),
                ));
                spread
                    .entry(l.name.clone())
                    .or_default()
                    .push((k.wal_records, k.wal_bytes, k.shared_dirtied));
            }
            m.finish().await?;
        }
        println!(
            "\nWrite repeatability: first write of {} rows on a fresh clone, {repeats} repeats, --rows {}",
            count(config.write_cost_rows),
            count(env.rows)
        );
        for (layout, lines) in &per_layout {
            println!("  {layout}");
            for l in lines {
                println!("    {l}");
            }
            let s = &spread[layout];
            let range = |f: &dyn Fn(&(u64, u64, u64)) -> u64| {
                let lo = s.iter().map(f).min().unwrap_or(0);
                let hi = s.iter().map(f).max().unwrap_or(0);
                format!("{}–{} (±{:.2} %)", count(lo), count(hi), (hi - lo) as f64 / (hi + lo).max(1) as f64 * 100.0)
            };
            println!(
                "    spread: records {}, bytes {}, dirtied {}",
                range(&|t| t.0),
                range(&|t| t.1),
                range(&|t| t.2)
            );
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    server.shutdown().await?;
    r
}

async fn default_run(
    env: &EnvConfig,
    scenario: &catalog::Scenario,
    shutdown: &Shutdown,
) -> Result<()> {
    let out = tempfile::tempdir()?;
    let cfg = RunConfig {
        provision: env.provision.clone(),
        images: Vec::new(),
        rows: vec![env.rows],
        seed: env.seed,
        only: env.only.clone(),
        out_dir: out.path().to_path_buf(),
        measure: MeasureConfig::default(),
        quiet: true,
    };
    let started = Instant::now();
    let results = run(&cfg, scenario, shutdown).await?;
    let wall = started.elapsed().as_secs_f64();
    let ds = &results.datasets[0];
    let builds = ds
        .layouts
        .iter()
        .filter(|l| !l.statements.is_empty())
        .count();
    println!(
        "\nDefault run: {} comparisons at --rows {} in {} wall clock (load {}); {builds} layout builds for {} layouts used",
        ds.comparisons.len(),
        count(env.rows),
        seconds(wall),
        seconds(ds.load.as_ref().map(|l| l.seconds).unwrap_or(0.0)),
        ds.layouts.len()
    );
    let schema: f64 = ds
        .comparisons
        .iter()
        .filter(|c| c.id.starts_with("schema."))
        .map(|c| c.seconds)
        .sum();
    println!("  schema.* comparisons: {} in all", seconds(schema));
    for l in &ds.layouts {
        println!("  layout {}: built in {}", l.name, seconds(l.build_seconds));
    }
    Ok(())
}
