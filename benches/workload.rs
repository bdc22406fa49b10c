//! Workload fidelity: are querylab's transactions/s what pgbench measures?
//!
//! For a simple read (one row by key) and for the queue claim of
//! `jobs.queue_workers/skip_locked_partial`, at 1 and 8 clients, on the same clone
//! (with the claim's index set), side by side and alternating: querylab's
//! closed-loop workload (one connection per client, prepared statements, N client
//! threads, no warm-up) and `pgbench -n -M prepared -c N -j N -T S -f same.sql`.
//! The claim's `setup` (30,000 new pending jobs per second of the side) runs before
//! each side, followed by a VACUUM of the queue, so that each side starts from the
//! same state; the sides take turns going first. Printed: transactions/s
//! of each side (medians over rounds), the median of the rounds' ratios, and
//! whether it is within ±10 %; and each side's own
//! CPU time per transaction (querylab's `getrusage`, pgbench's as a waited-for
//! child). Then querylab's own CPU time per transaction at 16 clients against the
//! server backends' (local backend), on 1 client thread (all clients on one, as
//! before client threads), on the default threads and on 16.
//!
//! `cargo bench --bench workload` (env: `QUERYLAB_ROWS`, default 100000;
//! `QUERYLAB_BENCH_SECONDS`, default 30, the length of each side's run;
//! `QUERYLAB_BENCH_ROUNDS`, default 1; `QUERYLAB_BENCH_THREADS`, querylab's client
//! threads when not N (`0`: as `querylab run` sets them, one per core);
//! `QUERYLAB_BENCH_PART=cpu` for the CPU figures alone, e.g. under a profiler;
//! backend variables as for the other benches).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

#[path = "common/pgbench.rs"]
mod pgbench;
#[path = "common/procstat.rs"]
mod procstat;

use querylab::catalog::workload::{Distribution, Transaction};
use querylab::catalog::{self, Workload};
use querylab::env::EnvConfig;
use querylab::load::{LoadOptions, load};
use querylab::provision::{Server, provision};
use querylab::shutdown::Shutdown;
use querylab::stats::median;
use querylab::workload::run_level;

const ROWS: u64 = 100_000;
/// The simple read: one row by primary key.
const READ: &str = "SELECT id, status, created_at FROM jobs.ml_jobs WHERE id = 1000";

fn main() {
    if let Err(e) = real_main() {
        eprintln!("Error: {e:#}");
        std::process::exit(2);
    }
}

fn number(var: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(var) {
        Ok(v) => v
            .parse::<u64>()
            .with_context(|| format!("{var}={v} is not a number"))
            .map(|n| n.max(1)),
        Err(_) => Ok(default),
    }
}

fn real_main() -> anyhow::Result<()> {
    let env = EnvConfig::from_env(ROWS)?;
    let seconds = number("QUERYLAB_BENCH_SECONDS", 30)?;
    let rounds = number("QUERYLAB_BENCH_ROUNDS", 1)? as usize;
    let threads = match std::env::var("QUERYLAB_BENCH_THREADS") {
        Ok(_) => Some(number("QUERYLAB_BENCH_THREADS", 0)? as u32),
        Err(_) => None,
    };
    // pgbench -j N: as many client threads on both sides unless told otherwise.
    let our_threads_for = |clients: u32| match threads {
        None => Some(clients),
        Some(0) => None,
        Some(t) => Some(t),
    };
    let fidelity = std::env::var("QUERYLAB_BENCH_PART").map_or(true, |p| p != "cpu");
    let scenario = catalog::builtin("seeds")?;
    let queue = scenario
        .comparisons
        .iter()
        .find(|c| c.id == "jobs.queue_workers")
        .and_then(|c| c.variants.iter().find(|v| v.name == "skip_locked_partial"))
        .context("the catalog lost jobs.queue_workers/skip_locked_partial")?;
    let duration = Duration::from_secs(seconds);
    let claim = Workload {
        duration,
        // No warm-up, as pgbench -T has none: both sides measure the same span from
        // the same state. A claim costs more as the queue is consumed (its partial
        // index gathers dead entries at the head), so a warm-up would set a later,
        // slower span against pgbench's whole run: by hand at 8 clients, 0.83, 0.73
        // and 0.68 of pgbench with a 1 s warm-up, 1.08, 0.86 and 0.88 without.
        warmup: Duration::ZERO,
        ..queue
            .workload
            .clone()
            .context("the queue claim has no workload")?
    };
    let read = Workload {
        mix: vec![Transaction {
            name: "read".into(),
            weight: 1.0,
            statements: vec![READ.into()],
            params: None,
        }],
        setup: Vec::new(),
        verify: None,
        params: None,
        distribution: Distribution::Uniform,
        ..claim.clone()
    };
    let pgbench = pgbench::find()?;
    // One thread for every client and its connection task, as querylab's runtime:
    // no cross-thread wake-up per round trip.
    let rt = querylab::runtime::build()?;
    let shutdown = rt.block_on(async { Shutdown::on_signals() });
    let server = rt.block_on(provision(&env.provision))?;
    let out = rt.block_on(async {
        let opts = LoadOptions {
            rows: env.rows,
            seed: env.seed,
            quiet: true,
            clones: 2,
        };
        let loaded = load(&server, &scenario.load, &opts, &shutdown).await?;
        println!(
            "workload fidelity: {} rows on {} ({}); each side {seconds} s per round, {rounds} round(s), sides alternating; transactions/s",
            loaded.report.rows,
            server.info().label,
            server.info().version,
        );
        if fidelity {
        println!(
            "{:<34} {:>7} {:>10} {:>14} {:>6} {:>16}",
            "transaction", "clients", "pgbench -jN", "querylab (-j)", "ratio", "own CPU µs/tx"
        );
        let dir = tempfile::tempdir()?;
        let mut within = (0, 0);
        let ddl = &scenario.index_sets[&queue.index_set].ddl;
        for (name, w, index_ddl) in [
            ("simple read (one row by key)", &read, &[][..]),
            ("queue claim (SKIP LOCKED, partial)", &claim, &ddl[..]),
        ] {
            let db = server.unique_name("c");
            server.create_database(&db, Some(&loaded.template)).await?;
            let client = server.connect(&db).await?;
            let pm = procstat::postmaster(&client).await;
            for stmt in index_ddl {
                client.batch_execute(stmt).await?;
            }
            let script = dir.path().join("same.sql");
            std::fs::write(&script, format!("{};\n", w.mix[0].statements[0]))?;
            // The claim's setup sizes the queue to the level's length (read from
            // this setting, which querylab's level sets itself): pgbench's side
            // gets as many jobs for as long a run.
            client
                .batch_execute(&format!("SET querylab.level_seconds = '{seconds}'"))
                .await?;
            for clients in [1u32, 8] {
                let mut our_threads = 0;
                let (mut ours, mut theirs) = (Vec::new(), Vec::new());
                let (mut our_cpu, mut their_cpu) = (Vec::new(), Vec::new());
                let (mut our_server, mut their_server) = (Vec::new(), Vec::new());
                for round in 0..rounds {
                    // The sides take turns going first, and each starts from the same
                    // state: the claim's setup queues its jobs, then VACUUM clears the
                    // dead entries the earlier side left at the head of the partial
                    // index (a claim walks past each one). Without it the second side
                    // always started behind the first's dead entries.
                    for ours_turn in [round % 2 == 0, round % 2 == 1] {
                        shutdown.check()?;
                        for stmt in &w.setup {
                            client.batch_execute(stmt).await?;
                        }
                        if !w.setup.is_empty() {
                            client.batch_execute("VACUUM jobs.ml_jobs").await?;
                        }
                        let cpu0 = reaped_cpu(pm.as_deref());
                        let done = if ours_turn {
                            let l = run_level(
                                &server,
                                &db,
                                // Setup done above; verify once at the end, so
                                // that its scan of every claim so far is not in
                                // this side's server CPU.
                                &Workload {
                                    setup: Vec::new(),
                                    verify: None,
                                    ..w.clone()
                                },
                                &BTreeMap::new(),
                                clients,
                                our_threads_for(clients),
                            )
                            .await?;
                            our_threads = l.client_threads.unwrap_or(0);
                            anyhow::ensure!(
                                w.setup.is_empty() || l.rows_per_second >= 0.99 * l.tx_per_second,
                                "{name} at {clients} clients: the queue ran dry ({:.0} claims/s, {:.0} jobs/s); the setup queues too few jobs",
                                l.tx_per_second,
                                l.rows_per_second
                            );
                            ours.push(l.tx_per_second);
                            our_cpu.push(l.client_cpu_per_tx_ns / 1e3);
                            l.committed as f64
                        } else {
                            let run = run_pgbench(
                                &pgbench, &server, &db, &script, clients, clients, seconds,
                                dir.path(),
                            )?;
                            theirs.push(run.tps);
                            their_cpu.push(run.cpu_per_tx_us);
                            run.processed
                        };
                        // The side's backends have exited (querylab's level waits
                        // for them; pgbench's are given a moment to be reaped).
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        if let Some(us) = server_us(cpu0, reaped_cpu(pm.as_deref()), done) {
                            if ours_turn { &mut our_server } else { &mut their_server }.push(us);
                        }
                    }
                }
                let (q, p) = (median(&ours), median(&theirs));
                // The median of each round's ratio: a round's two sides run back
                // to back, so a burst of load on the machine hits both.
                let ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(q, p)| q / p).collect();
                let ratio = median(&ratios);
                let ok = (0.9..=1.1).contains(&ratio);
                within.1 += 1;
                within.0 += usize::from(ok);
                println!(
                    "{:<34} {:>7} {:>10.0} {:>14} {:>6.2} {:>7.1} vs {:>5.1}{}",
                    name,
                    clients,
                    p,
                    format!("{q:.0} ({our_threads})"),
                    ratio,
                    median(&our_cpu),
                    median(&their_cpu),
                    if ok { "" } else { " !" }
                );
                if rounds > 1 {
                    println!(
                        "{:<34} rounds: querylab {}; pgbench {}; ratios {}",
                        "",
                        list(&ours, 0),
                        list(&theirs, 0),
                        list(&ratios, 2)
                    );
                }
                if !our_server.is_empty() && !their_server.is_empty() {
                    println!(
                        "{:<34} server CPU µs/tx: querylab's side {:.1} [{}], pgbench's {:.1} [{}]",
                        "",
                        median(&our_server),
                        list(&our_server, 1),
                        median(&their_server),
                        list(&their_server, 1)
                    );
                }
            }
            // The workload's invariant, over every side of every round.
            if let Some((sql, _)) = &w.verify {
                let broken = client
                    .simple_query(sql)
                    .await?
                    .iter()
                    .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
                    .count();
                anyhow::ensure!(broken == 0, "{name}: the invariant broke ({broken} rows)");
            }
            drop(client);
            server.drop_database(&db).await?;
        }
        println!(
            "within ±10% of pgbench: {} of {} (! marks the others)",
            within.0, within.1
        );
        }

        // The load generator must not be what is measured: CPU per transaction.
        let db = server.unique_name("c");
        server.create_database(&db, Some(&loaded.template)).await?;
        let short = Workload {
            duration: Duration::from_secs(seconds.min(10)),
            ..read.clone()
        };
        for threads in [Some(1), None, Some(16)] {
            let l = run_level(&server, &db, &short, &BTreeMap::new(), 16, threads).await?;
            let started = l.client_cpu_ns as f64 / l.client_cpu_per_tx_ns.max(1.0);
            let server_per_tx = l.server_cpu_ns.map(|ns| ns as f64 / started.max(1.0));
            println!(
                "CPU per transaction at 16 clients on {} client thread(s) (simple read, {:.0} tx/s): querylab {:.1} µs, server backends {}",
                l.client_threads.unwrap_or(0),
                l.tx_per_second,
                l.client_cpu_per_tx_ns / 1e3,
                server_per_tx
                    .map(|ns| format!("{:.1} µs", ns / 1e3))
                    .unwrap_or_else(|| "unknown (not a local backend)".into())
            );
        }
        server.drop_database(&db).await?;
        anyhow::Ok(())
    });
    let down = rt.block_on(server.shutdown());
    out?;
    down?;
    Ok(())
}

/// CPU seconds of the postmaster's reaped children: backends count once their
/// connection has closed.
fn reaped_cpu(postmaster: Option<&str>) -> Option<f64> {
    let pm = postmaster?;
    Some(procstat::cpu_seconds(pm, true)? - procstat::cpu_seconds(pm, false)?)
}

/// Server CPU µs per transaction from two [`reaped_cpu`] readings around a side
/// (after its backends exited; autovacuum workers that ended within count too).
fn server_us(before: Option<f64>, after: Option<f64>, tx: f64) -> Option<f64> {
    Some((after? - before?) * 1e6 / tx.max(1.0))
}

/// Figures as `a, b, c`, with `decimals`.
fn list(xs: &[f64], decimals: usize) -> String {
    xs.iter()
        .map(|x| format!("{x:.decimals$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one pgbench run measured.
struct PgbenchRun {
    /// Transactions/s (without the initial connection time).
    tps: f64,
    /// pgbench's own CPU time per transaction processed, µs.
    cpu_per_tx_us: f64,
    /// Transactions processed.
    processed: f64,
}

/// One pgbench run of `seconds` at `clients` clients on `threads` threads.
#[allow(clippy::too_many_arguments)]
fn run_pgbench(
    pgbench_bin: &Path,
    server: &Server,
    db: &str,
    script: &Path,
    clients: u32,
    threads: u32,
    seconds: u64,
    dir: &Path,
) -> anyhow::Result<PgbenchRun> {
    let mut cmd = pgbench::command(pgbench_bin, server, db, dir);
    cmd.args(["-n", "-M", "prepared"])
        .args(["-c", &clients.to_string(), "-j", &threads.to_string()])
        .arg(format!("-T{seconds}"))
        .arg("-f")
        .arg(script)
        .arg(db);
    // querylab's workload session: the statement timeout (src/workload/mod.rs).
    let timeout_ms = querylab::measure::default_sampling().statement_timeout_ns / 1_000_000;
    cmd.env("PGOPTIONS", format!("-c statement_timeout={timeout_ms}"));
    let cpu_before = querylab::workload::children_cpu();
    let out = cmd.output()?;
    let cpu = querylab::workload::children_cpu().saturating_sub(cpu_before);
    anyhow::ensure!(
        out.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| -> Option<f64> {
        stdout.lines().find_map(|l| {
            l.strip_prefix(prefix)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
    };
    let tps = field("tps = ").context("pgbench printed no tps")?;
    let processed = field("number of transactions actually processed: ")
        .context("pgbench printed no transaction count")?;
    Ok(PgbenchRun {
        tps,
        cpu_per_tx_us: cpu.as_secs_f64() * 1e6 / processed.max(1.0),
        processed,
    })
}
