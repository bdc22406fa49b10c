//! Bulk-load figures: `cargo bench --bench load`.
//!
//! 1. Throughput of querylab's streaming binary COPY of `jobs.ml_jobs` against the
//!    server's own `COPY … FROM 'file' (FORMAT binary)` of the same rows into the
//!    same table in the same state (keys set aside, truncated in the transaction,
//!    FREEZE), alternating the two a few times in one run; medians compared.
//! 2. A whole built-in load of about 10 million rows in all, with every documented
//!    index set, VACUUM included: wall clock, steps, and the process's peak memory.
//!
//! Environment: as for every bench ([`querylab::env`]: `QUERYLAB_BACKEND`,
//! `DATABASE_URL`, `QUERYLAB_SEED`, and `QUERYLAB_ROWS`, the `--rows` of the full
//! load, here 3,920,000 by default = 10.2 million rows in all), plus
//! `QUERYLAB_BENCH_COPY_ROWS` (rows of the COPY comparison, default 1,000,000) and
//! `QUERYLAB_BENCH_REPEATS` (rounds of it, default 5). The server-side COPY writes a file the
//! server can read (`/tmp/querylab_bench_*.bin` on the server's machine); it is
//! removed afterwards when the server runs on this machine.

use std::time::Instant;

use anyhow::{Context, Result};
use bytes::BytesMut;
use indicatif::ProgressBar;
use querylab::env::EnvConfig;
use querylab::generate::{Sizes, builtin_tables, chunk_count, write_chunk};
use querylab::load::copy::{copy_generated, quote_qualified};
use querylab::load::{LoadOptions, LoadSpec, constraints, load};
use querylab::provision::{Server, provision};
use querylab::schema::{apply, builtin_index_sets, builtin_schema};
use querylab::shutdown::Shutdown;

#[path = "common/procstat.rs"]
mod procstat;
use procstat::cpu_seconds;

const TABLE: &str = "jobs.ml_jobs";
/// `--rows` of the full load: 10.2 million rows in all.
const DEFAULT_ROWS: u64 = 3_920_000;

fn env_u64(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .with_context(|| format!("{name}={v} is not a number")),
        Err(_) => Ok(default),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The server's postmaster, when it runs on this machine (the parent of a backend).
async fn postmaster_pid(server: &Server) -> Option<String> {
    procstat::postmaster(&server.admin().await.ok()?).await
}

/// Peak resident memory of this process, from /proc (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<()> {
    let rt = querylab::runtime::build()?;
    rt.block_on(async {
        let env = EnvConfig::from_env(DEFAULT_ROWS)?;
        let server = provision(&env.provision).await?;
        println!(
            "server: {} {} ({} cores here)",
            server.backend(),
            server.info().version,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let outcome = async {
            copy_vs_server(&server, env.seed).await?;
            full_load(&server, env.rows, env.seed).await
        }
        .await;
        server.shutdown().await?;
        outcome
    })
}

/// Part 1: querylab's COPY against the server's own, same rows, same table state.
async fn copy_vs_server(server: &Server, seed: u64) -> Result<()> {
    let rows = env_u64("QUERYLAB_BENCH_COPY_ROWS", 1_000_000)?;
    let repeats = env_u64("QUERYLAB_BENCH_REPEATS", 5)?.max(1);
    let table = builtin_tables(rows, seed)
        .into_iter()
        .find(|t| t.name() == TABLE)
        .context("no ml_jobs generator")?;

    // Generation alone, to show it is not what limits the COPY.
    let t = Instant::now();
    let mut buf = BytesMut::new();
    let mut bytes = 0;
    for chunk in 0..chunk_count(table.row_count()) {
        buf.clear();
        write_chunk(table.as_ref(), seed, chunk, &mut buf);
        bytes += buf.len();
    }
    let gen_secs = t.elapsed().as_secs_f64();
    println!(
        "generate {TABLE}: {rows} rows, {:.0} MB in {gen_secs:.2} s = {:.0} rows/s (one core)",
        bytes as f64 / 1e6,
        rows as f64 / gen_secs
    );

    let db = format!("{}_bench_copy", server.run_prefix());
    server.create_database(&db, None).await?;
    let client = server.connect(&db).await?;
    apply(&client, &builtin_schema()).await?;
    // The state querylab loads into: keys and indexes set aside.
    constraints::defer(&client).await?;
    let file = format!("/tmp/{db}.bin");
    let shutdown = Shutdown::new();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    // The file the server reads: the same rows, written by the server itself.
    copy_generated(
        &client,
        table.clone(),
        seed,
        &shutdown,
        &ProgressBar::hidden(),
    )
    .await?;
    client
        .batch_execute(&format!(
            "COPY {} TO '{file}' (FORMAT binary)",
            quote_qualified(TABLE)
        ))
        .await
        .context(
            "writing the rows to a server-side file (needs superuser or pg_write_server_files)",
        )?;
    let server_copy = format!(
        "BEGIN; TRUNCATE {q}; COPY {q} FROM '{file}' (FORMAT binary, FREEZE); COMMIT",
        q = quote_qualified(TABLE)
    );
    // CPU seconds of the backend doing the COPY and of this process, per side.
    let backend: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .get(0);
    let backend = backend.to_string();
    let cpu = || (cpu_seconds(&backend, false), cpu_seconds("self", false));
    let mut cpu_ours = (0.0, 0.0);
    let mut cpu_theirs = 0.0;
    for round in 0..repeats {
        // Alternate who goes first, so that a drift in machine load hits both alike.
        for ours_turn in [round % 2 == 0, round % 2 == 1] {
            let before = cpu();
            let t = Instant::now();
            if ours_turn {
                let n = copy_generated(
                    &client,
                    table.clone(),
                    seed,
                    &shutdown,
                    &ProgressBar::hidden(),
                )
                .await?;
                ours.push(n as f64 / t.elapsed().as_secs_f64());
            } else {
                client
                    .batch_execute(&server_copy)
                    .await
                    .context("server-side COPY FROM file")?;
                theirs.push(rows as f64 / t.elapsed().as_secs_f64());
            }
            if let ((Some(s0), Some(c0)), (Some(s1), Some(c1))) = (before, cpu()) {
                if ours_turn {
                    cpu_ours = (cpu_ours.0 + s1 - s0, cpu_ours.1 + c1 - c0);
                } else {
                    cpu_theirs += s1 - s0;
                }
            }
        }
    }
    let _ = std::fs::remove_file(&file);
    drop(client);
    server.drop_database(&db).await?;
    let (q, s) = (median(ours.clone()), median(theirs.clone()));
    println!("copy {TABLE}, {rows} rows, {repeats} rounds each, alternating:");
    println!("  querylab streaming COPY FROM STDIN (binary): median {q:.0} rows/s  {ours:.0?}");
    println!("  server COPY FROM 'file' (binary):            median {s:.0} rows/s  {theirs:.0?}");
    let per_row = |cpu: f64| 1e9 * cpu / (rows * repeats) as f64;
    println!(
        "  CPU per row: querylab {:.0} ns in the server + {:.0} ns in querylab; server COPY FROM file {:.0} ns",
        per_row(cpu_ours.0),
        per_row(cpu_ours.1),
        per_row(cpu_theirs)
    );
    println!(
        "  ratio: {:.0}% of the server's own COPY (target >= 90%)",
        100.0 * q / s
    );
    Ok(())
}

/// Part 2: the whole built-in load at about 10 million rows in all.
async fn full_load(server: &Server, rows: u64, seed: u64) -> Result<()> {
    let total = Sizes::new(rows).total();
    let spec = LoadSpec::builtin(builtin_index_sets());
    let opts = LoadOptions {
        rows,
        seed,
        quiet: true,
        clones: 0,
    };
    // A template left by an earlier run would be reused: start from scratch.
    let name = querylab::load::template::name(&querylab::load::template::hash(&spec, &opts)?);
    server.drop_database(&name).await?;
    let postmaster = postmaster_pid(server).await;
    let server_cpu = || postmaster.as_deref().and_then(|p| cpu_seconds(p, true));
    let (client0, server0) = (cpu_seconds("self", false), server_cpu());
    let t = Instant::now();
    let loaded = load(server, &spec, &opts, &Shutdown::new()).await?;
    let secs = t.elapsed().as_secs_f64();
    // Backends are reaped once their connection closes, so their time shows up in
    // the postmaster's children's times by now.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let cpu = match (client0, cpu_seconds("self", false), server0, server_cpu()) {
        (Some(c0), Some(c1), Some(s0), Some(s1)) => {
            format!(
                "CPU used: querylab {:.1} s, server {:.1} s (other work on the machine competes for the same cores)",
                c1 - c0,
                s1 - s0
            )
        }
        _ => "CPU used: unknown (server not on this machine)".to_string(),
    };
    println!(
        "full load, --rows {rows}: {total} rows in all, every documented index set, VACUUM (FREEZE, ANALYZE):"
    );
    println!(
        "  wall clock {secs:.1} s (target <= 60 s), {:.0} rows/s overall",
        total as f64 / secs
    );
    println!("  {cpu}");
    for (step, s) in &loaded.steps {
        println!("  {step:<32} {s:6.2} s");
    }
    for t in &loaded.report.tables {
        println!(
            "  {:<34} {:>10} rows {:6.2} s {:>8.1} MB",
            t.name,
            t.rows,
            t.seconds,
            t.bytes as f64 / 1e6
        );
    }
    match peak_rss_mb() {
        Some(mb) => println!("peak memory of this process (VmHWM): {mb:.0} MB (target <= 300 MB)"),
        None => println!("peak memory: /proc/self/status not readable"),
    }
    Ok(())
}
