//! Client threads: a level's clients spread over T threads, pgbench's `-j`.
//!
//! Each thread is a one-thread runtime that owns its clients *and* their
//! connection tasks, so a round trip never hops between threads (why querylab runs
//! on one thread, see [`crate::runtime`]); between threads, the kernel shares the
//! cores per thread, as it does for pgbench's. With every client on querylab's one
//! runtime thread, 8 clients got one thread's share of a loaded machine where
//! `pgbench -c 8 -j 8` got eight, and measured 0.57–0.70 of its transactions/s.
//! The rest of querylab (the lock-wait sampler, setup, verify) stays on its own
//! runtime.
//!
//! A level goes: every thread connects and prepares its clients and says so
//! ([`ClientThreads::ready`]); the caller reads its counters and
//! releases all clients at one start instant ([`ClientThreads::go`]); each thread
//! reads its backends' CPU time at the start and the end, and drops its
//! connections before it hands back its clients' outcomes, so the sessions are
//! gone when the caller reads the statistics again. Dropping
//! [`ClientThreads`] (Ctrl-C drops the comparison) stops every thread and waits
//! for it, so no connection outlives the level.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::future::join_all;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::client::{self, Chooser, ClientOutcome, PrepareFailure, Schedule, WorkloadClient};
use super::cpu;
use crate::catalog::Workload;
use crate::error::{Error, Result};
use crate::measure::exec::TextParam;

/// What every client thread shares.
pub(super) struct Shared {
    /// Connection settings of the level's database.
    pub config: tokio_postgres::Config,
    /// The database's name (for errors).
    pub database: String,
    /// `SET …;` lines for each client's session.
    pub session_sql: String,
    pub workload: Workload,
    pub params: Arc<[Vec<TextParam>]>,
    /// Column names of the params rows.
    pub columns: Vec<String>,
    /// Whether the backends' CPU can be read (see [`cpu::visible`]).
    pub server_cpu: bool,
}

/// What one thread's clients did, and their backends' CPU time over the run.
#[derive(Default)]
struct ThreadOutcome {
    clients: Vec<ClientOutcome>,
    server_cpu: Option<Duration>,
}

/// When the measurement runs, as [`ClientThreads::go`] announces it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    pub start: Instant,
    pub measured_from: Instant,
    pub end: Instant,
    pub window: Duration,
    pub windows: usize,
}

/// Whether one thread's clients prepared, or why they could not.
type Ready = std::result::Result<(), PrepareFailure>;

/// The running client threads of one level; dropping it stops and joins them.
pub(super) struct ClientThreads {
    handles: Vec<JoinHandle<()>>,
    stop: CancellationToken,
    ready: Vec<oneshot::Receiver<Ready>>,
    go: Vec<oneshot::Sender<Timing>>,
    done: Vec<oneshot::Receiver<Result<ThreadOutcome>>>,
}

/// Threads for `clients` clients: `requested` (capped at `clients`), or else one
/// per core up to one per client.
pub fn count(clients: u32, requested: Option<u32>) -> u32 {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    requested.unwrap_or(cores).clamp(1, clients.max(1))
}

impl ClientThreads {
    /// Starts `threads` threads for `clients` clients: thread `t` takes a
    /// contiguous run of client indices, as pgbench deals them.
    pub(super) fn spawn(shared: Arc<Shared>, clients: u32, threads: u32) -> Result<ClientThreads> {
        let stop = CancellationToken::new();
        let mut me = ClientThreads {
            handles: Vec::new(),
            stop: stop.clone(),
            ready: Vec::new(),
            go: Vec::new(),
            done: Vec::new(),
        };
        let (base, extra) = (clients / threads, clients % threads);
        let mut first = 0;
        for t in 0..threads {
            let n = base + u32::from(t < extra);
            let indices = first..first + n;
            first += n;
            let (ready_tx, ready_rx) = oneshot::channel();
            let (go_tx, go_rx) = oneshot::channel();
            let (done_tx, done_rx) = oneshot::channel();
            let (shared, stop) = (shared.clone(), stop.clone());
            let handle = std::thread::Builder::new()
                .name(format!("querylab-client-{t}"))
                .spawn(move || {
                    let outcome = match crate::runtime::build() {
                        Ok(rt) => {
                            let out = rt.block_on(async {
                                // The clients run as a task of their own, so the stop
                                // token is polled when it fires or they end, not at
                                // every round trip (its check takes a lock).
                                let mut clients = tokio::spawn(thread_main(
                                    shared, clients, indices, ready_tx, go_rx,
                                ));
                                tokio::select! {
                                    r = &mut clients => r.unwrap_or_else(|_| Err(lost_thread())),
                                    _ = stop.cancelled() => Ok(ThreadOutcome::default()),
                                }
                            });
                            // The connection tasks die with the runtime: the
                            // sessions close before the outcome is handed back.
                            drop(rt);
                            out
                        }
                        Err(e) => Err(Error::Internal {
                            context: "starting a workload client thread".into(),
                            message: e.to_string(),
                        }),
                    };
                    let _ = done_tx.send(outcome);
                })
                .map_err(|e| Error::Internal {
                    context: "starting a workload client thread".into(),
                    message: e.to_string(),
                })?;
            me.handles.push(handle);
            me.ready.push(ready_rx);
            me.go.push(go_tx);
            me.done.push(done_rx);
        }
        Ok(me)
    }

    /// Waits until every thread has its clients connected and prepared.
    pub(super) async fn ready(&mut self) -> std::result::Result<(), PrepareFailure> {
        for (rx, done) in self.ready.drain(..).zip(&mut self.done) {
            match rx.await {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => return Err(failure),
                // The thread ended before it was ready: its outcome says why.
                Err(_) => {
                    return Err(PrepareFailure::Run(match done.await {
                        Ok(Err(e)) => e,
                        _ => lost_thread(),
                    }));
                }
            }
        }
        Ok(())
    }

    /// Releases every client at `timing.start` and waits for all of them to end;
    /// returns their outcomes and their backends' summed CPU time from the
    /// release to the end (`None` when not visible).
    pub(super) async fn go(
        mut self,
        timing: Timing,
    ) -> Result<(Vec<ClientOutcome>, Option<Duration>)> {
        for tx in self.go.drain(..) {
            let _ = tx.send(timing);
        }
        let mut clients = Vec::new();
        let mut server_cpu = Some(Duration::ZERO);
        for rx in std::mem::take(&mut self.done) {
            let t = rx.await.unwrap_or_else(|_| Err(lost_thread()))?;
            clients.extend(t.clients);
            server_cpu = server_cpu.zip(t.server_cpu).map(|(a, b)| a + b);
        }
        Ok((clients, server_cpu))
    }
}

impl Drop for ClientThreads {
    fn drop(&mut self) {
        self.stop.cancel();
        for h in self.handles.drain(..) {
            // A thread stops at its next await once cancelled: milliseconds.
            let _ = h.join();
        }
    }
}

fn lost_thread() -> Error {
    Error::Internal {
        context: "running a workload client thread".into(),
        message: "the thread ended without an outcome (it panicked)".into(),
    }
}

/// One thread: connect and prepare clients `indices`, report ready, wait for the
/// start, run them all on this thread.
async fn thread_main(
    shared: Arc<Shared>,
    clients: u32,
    indices: std::ops::Range<u32>,
    ready: oneshot::Sender<Ready>,
    go: oneshot::Receiver<Timing>,
) -> Result<ThreadOutcome> {
    let connections = join_all(
        indices
            .clone()
            .map(|_| super::socket::connect(&shared.config, &shared.database)),
    )
    .await;
    let mut prepared = Vec::new();
    for c in connections {
        let c = match c {
            Ok(c) => c,
            Err(e) => {
                let _ = ready.send(Err(PrepareFailure::Run(e)));
                return Ok(ThreadOutcome::default());
            }
        };
        match WorkloadClient::prepare(c, &shared.session_sql, &shared.workload, &shared.columns)
            .await
        {
            Ok(c) => prepared.push(c),
            Err(failure) => {
                let _ = ready.send(Err(failure));
                return Ok(ThreadOutcome::default());
            }
        }
    }
    let _ = ready.send(Ok(()));
    let Ok(t) = go.await else {
        return Ok(ThreadOutcome::default());
    };
    let pids = || prepared.iter().map(|c| c.pid);
    let cpu_before = shared.server_cpu.then(|| cpu::backends(pids())).flatten();
    let w = &shared.workload;
    let chooser = &Chooser::new(w, shared.params.len());
    let params = &shared.params;
    // Polled as they wake, not all of them at every wake (as join_all does).
    let mut runs: FuturesUnordered<_> = prepared
        .iter()
        .zip(indices)
        .map(|(c, index)| {
            let s = Schedule {
                index,
                start: t.start,
                measured_from: t.measured_from,
                end: t.end,
                rate: w.rate.map(|r| r / f64::from(clients)),
                window: t.window,
                windows: t.windows,
            };
            async move { (index, client::run(c, w, chooser, params, s).await) }
        })
        .collect();
    let mut clients = Vec::with_capacity(prepared.len());
    while let Some((index, outcome)) = runs.next().await {
        clients.push((index, outcome?));
    }
    drop(runs);
    clients.sort_by_key(|(index, _)| *index);
    let clients = clients.into_iter().map(|(_, c)| c).collect();
    // Before the sessions close: a backend's /proc entry goes with it.
    let cpu_after = shared.server_cpu.then(|| cpu::backends(pids())).flatten();
    Ok(ThreadOutcome {
        clients,
        server_cpu: cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a)),
    })
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn threads_follow_the_request_capped_at_one_per_client() {
        assert_eq!(count(16, Some(4)), 4);
        assert_eq!(count(2, Some(8)), 2);
        assert_eq!(count(1, None), 1);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        assert_eq!(count(64, None), cores.min(64));
    }
}
