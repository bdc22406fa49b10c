//! One client level of a workload: N connections behind a barrier, a lock-wait
//! sampler on the variant's own connection, CPU on both sides, and the figures
//! merged into a [`LevelResult`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::client::{ClientOutcome, PrepareFailure};
use super::cpu;
use super::threads::{self, ClientThreads, Shared, Timing};
use crate::catalog::Workload;
use crate::error::{Error, Result};
use crate::measure::exec::TextParam;
use crate::provision::Server;
use crate::results::workload::{LevelResult, LockWaits};

/// Width of the windows whose throughput and p99 `querylab check` compares.
pub const WINDOW: Duration = Duration::from_millis(250);

/// How often `pg_stat_activity` is sampled for lock waits.
const LOCK_SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// What a level needs besides the workload.
pub(super) struct LevelInput<'a> {
    pub server: &'a Server,
    pub database: &'a str,
    /// The variant's own connection: sampler, statistics, setup, verify.
    pub admin: &'a Client,
    /// `SET …;` lines for each client's session.
    pub session_sql: &'a str,
    pub params: &'a Arc<[Vec<TextParam>]>,
    /// Column names of the params rows.
    pub columns: &'a [String],
    /// Client threads (pgbench `-j`); `None`: one per core, at most one per client.
    pub client_threads: Option<u32>,
}

/// Why a level stopped.
pub(super) enum LevelFailure {
    Run(Error),
    Scenario(String),
}

impl From<Error> for LevelFailure {
    fn from(e: Error) -> Self {
        LevelFailure::Run(e)
    }
}

/// Runs `w` at `clients` clients on client threads (see [`threads`]) and
/// returns what it measured.
pub(super) async fn run(
    input: &LevelInput<'_>,
    w: &Workload,
    clients: u32,
) -> std::result::Result<LevelResult, LevelFailure> {
    let threads = threads::count(clients, input.client_threads);
    let shared = Arc::new(Shared {
        config: input.server.config_for(input.database),
        database: input.database.to_string(),
        session_sql: input.session_sql.to_string(),
        workload: w.clone(),
        params: input.params.clone(),
        columns: input.columns.to_vec(),
        server_cpu: cpu::visible(input.server),
    });
    let mut running = ClientThreads::spawn(shared, clients, threads)?;
    match running.ready().await {
        Ok(()) => {}
        Err(PrepareFailure::Run(e)) => return Err(LevelFailure::Run(e)),
        Err(PrepareFailure::Scenario(m)) => return Err(LevelFailure::Scenario(m)),
    }
    let before = stat_database(input.admin).await?;
    let client_cpu_before = cpu::own();

    let start = Instant::now();
    let measured_from = start + w.warmup;
    let timing = Timing {
        start,
        measured_from,
        end: measured_from + w.duration,
        window: WINDOW,
        windows: (w.duration.as_nanos().div_ceil(WINDOW.as_nanos())).max(1) as usize,
    };
    let done = CancellationToken::new();
    let runs = async {
        let r = running.go(timing).await;
        done.cancel();
        r
    };
    let (outcomes, waits) =
        tokio::join!(runs, sample_lock_waits(input.admin, measured_from, &done));
    let (outcomes, server_cpu) = outcomes?;
    let waits = waits?;
    let client_cpu = cpu::own().saturating_sub(client_cpu_before);
    let after = stat_database_settled(input.admin).await?;
    let mut result = summarize(
        clients,
        w,
        outcomes,
        waits,
        (before, after),
        client_cpu,
        server_cpu,
    );
    result.client_threads = Some(threads);
    Ok(result)
}

/// Samples the sessions waiting on a lock in this database until `done`.
async fn sample_lock_waits(
    admin: &Client,
    from: Instant,
    done: &CancellationToken,
) -> Result<LockWaits> {
    let st = admin
        .prepare(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await
        .map_err(|e| Error::db("preparing the lock-wait sampler", e))?;
    let mut waits = LockWaits::default();
    let mut sum = 0u64;
    let mut tick = tokio::time::interval(LOCK_SAMPLE_EVERY);
    loop {
        tokio::select! {
            _ = done.cancelled() => break,
            _ = tick.tick() => {}
        }
        if Instant::now() < from {
            continue;
        }
        let n: i64 = admin
            .query_one(&st, &[])
            .await
            .map_err(|e| Error::db("sampling lock waits", e))?
            .get(0);
        let n = n.max(0) as u64;
        waits.samples += 1;
        waits.samples_waiting += u64::from(n > 0);
        waits.max_waiting = waits.max_waiting.max(n);
        sum += n;
    }
    if waits.samples > 0 {
        waits.mean_waiting = sum as f64 / waits.samples as f64;
    }
    Ok(waits)
}

/// (deadlocks, conflicts) of this database.
async fn stat_database(admin: &Client) -> Result<(i64, i64)> {
    let row = admin
        .query_one(
            "SELECT deadlocks, conflicts FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .map_err(|e| Error::db("reading pg_stat_database", e))?;
    Ok((row.get(0), row.get(1)))
}

/// The counters once the clients' backends have exited (a backend reports its
/// counts when it ends), waiting at most two seconds for them.
async fn stat_database_settled(admin: &Client) -> Result<(i64, i64)> {
    let give_up = Instant::now() + Duration::from_secs(2);
    loop {
        let others: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .map_err(|e| Error::db("waiting for the workload's sessions to end", e))?
            .get(0);
        if others == 0 || Instant::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    admin
        .batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .map_err(|e| Error::db("clearing the statistics snapshot", e))?;
    stat_database(admin).await
}

fn summarize(
    clients: u32,
    w: &Workload,
    outcomes: Vec<ClientOutcome>,
    lock_waits: LockWaits,
    (before, after): ((i64, i64), (i64, i64)),
    client_cpu: Duration,
    server_cpu: Option<Duration>,
) -> LevelResult {
    let secs = w.duration.as_secs_f64();
    let mut all = Histogram::<u64>::new(3).expect("valid");
    let windows = outcomes.first().map(|o| o.windows.len()).unwrap_or(0);
    let mut per_window: Vec<Histogram<u64>> = (0..windows)
        .map(|_| Histogram::new(3).expect("valid"))
        .collect();
    let mut errors = BTreeMap::new();
    let mut retries_by_code: BTreeMap<String, u64> = BTreeMap::new();
    let (mut rows, mut started, mut scheduled) = (0, 0, 0);
    let mut per_client = Vec::new();
    for o in &outcomes {
        all.add(&o.latency).expect("same bounds");
        for (acc, h) in per_window.iter_mut().zip(&o.windows) {
            acc.add(h).expect("same bounds");
        }
        for (k, n) in &o.errors {
            *errors.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &o.retries {
            *retries_by_code.entry(k.clone()).or_default() += n;
        }
        rows += o.rows;
        started += o.started;
        scheduled += o.scheduled;
        per_client.push(o.latency.len() as f64 / secs);
    }
    let committed = all.len();
    let q = |p: f64| {
        if committed == 0 {
            0
        } else {
            all.value_at_quantile(p)
        }
    };
    let histogram = if committed == 0 {
        Vec::new()
    } else {
        all.iter_log(1_000, 2.0)
            .filter(|v| v.count_since_last_iteration() > 0)
            .map(|v| (v.value_iterated_to(), v.count_since_last_iteration()))
            .collect()
    };
    LevelResult {
        clients,
        committed,
        tx_per_second: committed as f64 / secs,
        rows_per_second: rows as f64 / secs,
        latency: crate::results::workload::Latency {
            count: committed,
            mean_ns: if committed == 0 { 0.0 } else { all.mean() },
            p50_ns: q(0.5),
            p90_ns: q(0.9),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            max_ns: if committed == 0 { 0 } else { all.max() },
        },
        histogram,
        client_tx_per_second_min: per_client
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(f64::MAX),
        client_tx_per_second_max: per_client.iter().copied().fold(0.0, f64::max),
        errors,
        retries: retries_by_code.values().sum(),
        retries_by_code,
        lock_waits,
        deadlocks: u64::try_from(after.0 - before.0).ok(),
        conflicts: u64::try_from(after.1 - before.1).ok(),
        scheduled: w.rate.map(|_| scheduled),
        client_cpu_ns: client_cpu.as_nanos() as u64,
        client_cpu_per_tx_ns: client_cpu.as_nanos() as f64 / started.max(1) as f64,
        server_cpu_ns: server_cpu.map(|d| d.as_nanos() as u64),
        windows: per_window.iter().map(|h| h.len()).collect(),
        window_p99_ns: per_window
            .iter()
            .map(|h| {
                if h.is_empty() {
                    0
                } else {
                    h.value_at_quantile(0.99)
                }
            })
            .collect(),
        verify: None,
        // Set by `run`, which chose them.
        client_threads: None,
    }
}
