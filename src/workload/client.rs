//! One workload client: its own connection with prepared statements, a seeded
//! choice of transaction and parameters, closed or open loop, retries by SQLSTATE.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio_postgres::{Client, Statement};

use crate::catalog::workload::{Distribution, Workload};
use crate::error::{Error, Result};
use crate::measure::exec::TextParam;

/// Seeds of the per-client generators: the same client index draws the same
/// transactions, parameters and arrivals in every run and every variant.
const CHOICE_SEED: u64 = 0x5eed_c11e_0000_0000;
const ARRIVAL_SEED: u64 = 0xa771_0a15_0000_0000;

/// A transaction prepared on one client's connection.
struct PreparedTx {
    /// Each statement with the number of parameters it takes.
    statements: Vec<(Statement, usize)>,
    /// Params-row column bound to `$k+1`.
    columns: Vec<usize>,
}

/// A connected client, ready to run.
pub(super) struct WorkloadClient {
    client: Client,
    txs: Vec<PreparedTx>,
    begin: Statement,
    commit: Statement,
    rollback: Statement,
    /// The server backend serving this client (for its CPU time).
    pub pid: i32,
}

/// Why preparing a client failed: the run's problem, or the scenario's.
pub(super) enum PrepareFailure {
    /// Connection lost, interrupted…
    Run(Error),
    /// SQL that does not prepare, params that do not fit (one line, no position).
    Scenario(String),
}

impl WorkloadClient {
    /// Sets the session (`settings` as `SET` lines) and prepares every statement of
    /// the mix, checking that each takes no more parameters than a params row has.
    pub(super) async fn prepare(
        client: Client,
        session_sql: &str,
        w: &Workload,
        param_columns: &[String],
    ) -> std::result::Result<WorkloadClient, PrepareFailure> {
        let run = |e: tokio_postgres::Error, what: &str| {
            if crate::error::connection_lost(&e) {
                PrepareFailure::Run(Error::db(what.to_string(), e))
            } else {
                PrepareFailure::Scenario(format!("{what}: {}", crate::error::pg_message(&e)))
            }
        };
        client
            .batch_execute(session_sql)
            .await
            .map_err(|e| run(e, "setting the workload session"))?;
        let mut txs = Vec::new();
        for tx in &w.mix {
            let columns: Vec<usize> = match &tx.params {
                None => (0..param_columns.len()).collect(),
                Some(names) => {
                    let mut out = Vec::new();
                    for n in names {
                        let i = param_columns.iter().position(|c| c == n).ok_or_else(|| {
                            PrepareFailure::Scenario(format!(
                                "transaction {} binds {n:?} but the workload's params query returns: {}; name one of those columns",
                                tx.name,
                                param_columns.join(", ")
                            ))
                        })?;
                        out.push(i);
                    }
                    out
                }
            };
            let mut statements = Vec::new();
            for (i, sql) in tx.statements.iter().enumerate() {
                let st = client.prepare(sql).await.map_err(|e| {
                    run(
                        e,
                        &format!(
                            "transaction {} statement {} failed to prepare",
                            tx.name,
                            i + 1
                        ),
                    )
                })?;
                let n = st.params().len();
                if n > columns.len() {
                    return Err(PrepareFailure::Scenario(format!(
                        "transaction {} statement {} uses {n} parameter(s) but {} are bound; list the params-row columns in params = [...] (without it, $n is column n of the workload's params query)",
                        tx.name,
                        i + 1,
                        columns.len()
                    )));
                }
                statements.push((st, n));
            }
            txs.push(PreparedTx {
                statements,
                columns,
            });
        }
        let begin = client.prepare("BEGIN").await.map_err(|e| run(e, "BEGIN"))?;
        let commit = client
            .prepare("COMMIT")
            .await
            .map_err(|e| run(e, "COMMIT"))?;
        let rollback = client
            .prepare("ROLLBACK")
            .await
            .map_err(|e| run(e, "ROLLBACK"))?;
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(|e| run(e, "reading the backend pid"))?
            .get(0);
        Ok(WorkloadClient {
            client,
            txs,
            begin,
            commit,
            rollback,
            pid,
        })
    }

    /// Runs transaction `t` once: alone when it is one statement, else between
    /// BEGIN and COMMIT. Returns the rows of its last statement.
    async fn run_tx(
        &self,
        t: usize,
        row: &[TextParam],
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        let tx = &self.txs[t];
        let explicit = tx.statements.len() > 1;
        if explicit {
            self.client.execute(&self.begin, &[]).await?;
        }
        let mut rows = 0;
        for (st, n) in &tx.statements {
            // Bound straight from the row: no vector of parameters per statement.
            rows = self
                .client
                .execute_raw(st, tx.columns[..*n].iter().map(|&i| &row[i]))
                .await?;
        }
        if explicit {
            self.client.execute(&self.commit, &[]).await?;
        }
        Ok(rows)
    }

    /// Leaves a failed explicit transaction (a single statement needs nothing).
    async fn abort(&self, t: usize) -> std::result::Result<(), tokio_postgres::Error> {
        if self.txs[t].statements.len() > 1 {
            self.client.execute(&self.rollback, &[]).await?;
        }
        Ok(())
    }
}

/// When a client starts and stops, and how it schedules.
#[derive(Debug, Clone, Copy)]
pub(super) struct Schedule {
    /// Client index (seeds its generators).
    pub index: u32,
    /// Common start (every client is released at it).
    pub start: Instant,
    /// End of warm-up: transactions started from here on are measured.
    pub measured_from: Instant,
    /// No transaction starts at or after this.
    pub end: Instant,
    /// Open loop: this client's share of the rate (transactions/s).
    pub rate: Option<f64>,
    /// Width of the measurement windows.
    pub window: Duration,
    /// Windows in the measured span.
    pub windows: usize,
}

/// What one client did.
pub(super) struct ClientOutcome {
    /// Latencies of measured committed transactions (ns).
    pub latency: Histogram<u64>,
    /// Same, per window.
    pub windows: Vec<Histogram<u64>>,
    /// Measured rows of the last statements.
    pub rows: u64,
    /// Measured transactions given up, by SQLSTATE.
    pub errors: BTreeMap<String, u64>,
    /// Measured retries, by SQLSTATE.
    pub retries: BTreeMap<String, u64>,
    /// Transactions started, warm-up included (for CPU per transaction).
    pub started: u64,
    /// Open loop: transactions scheduled in the measured span.
    pub scheduled: u64,
}

/// Picks transactions by weight and params rows by distribution.
pub(super) struct Chooser {
    /// Cumulative transaction weights.
    tx_cdf: Vec<f64>,
    /// Cumulative row weights (Zipf), or empty for uniform.
    row_cdf: Vec<f64>,
    rows: usize,
}

impl Chooser {
    /// For `w` over `rows` params rows (0 = no params).
    pub(super) fn new(w: &Workload, rows: usize) -> Chooser {
        let cdf = |ws: &mut dyn Iterator<Item = f64>| {
            let mut acc = 0.0;
            ws.map(|x| {
                acc += x;
                acc
            })
            .collect::<Vec<f64>>()
        };
        let tx_cdf = cdf(&mut w.mix.iter().map(|t| t.weight));
        let row_cdf = match w.distribution {
            Distribution::Uniform => Vec::new(),
            Distribution::Zipf => cdf(&mut (0..rows).map(|k| 1.0 / (k as f64 + 1.0))),
        };
        Chooser {
            tx_cdf,
            row_cdf,
            rows,
        }
    }

    fn pick(cdf: &[f64], rng: &mut ChaCha8Rng) -> usize {
        let total = *cdf.last().expect("non-empty");
        let x = rng.random::<f64>() * total;
        cdf.partition_point(|&c| c <= x).min(cdf.len() - 1)
    }

    /// (transaction, params row).
    pub(super) fn next(&self, rng: &mut ChaCha8Rng) -> (usize, usize) {
        let t = Self::pick(&self.tx_cdf, rng);
        let r = match (self.rows, self.row_cdf.is_empty()) {
            (0, _) => 0,
            (n, true) => rng.random_range(0..n),
            (_, false) => Self::pick(&self.row_cdf, rng),
        };
        (t, r)
    }
}

/// Records a latency; the histograms resize themselves (they start tiny, so a
/// client's per-window histograms cost only what their range needs).
fn record(h: &mut Histogram<u64>, ns: u64) {
    h.record(ns.max(1))
        .expect("an auto-resizing histogram takes any u64");
}

/// Draws an exponential inter-arrival time for `rate` per second.
fn exponential(rng: &mut ChaCha8Rng, rate: f64) -> Duration {
    let u: f64 = rng.random::<f64>();
    Duration::from_secs_f64(-(1.0 - u).ln() / rate)
}

/// Runs one client until `s.end`. Closed loop: the next transaction starts when the
/// last one ends. Open loop: transactions start on a seeded Poisson schedule and
/// latency counts from the scheduled start, so a client that falls behind reports
/// the queueing (pgbench `-R`, no coordinated omission).
pub(super) async fn run(
    c: &WorkloadClient,
    w: &Workload,
    chooser: &Chooser,
    params: &[Vec<TextParam>],
    s: Schedule,
) -> Result<ClientOutcome> {
    let mut choice = ChaCha8Rng::seed_from_u64(CHOICE_SEED + u64::from(s.index));
    let mut arrivals = ChaCha8Rng::seed_from_u64(ARRIVAL_SEED + u64::from(s.index));
    let hist = || Histogram::<u64>::new(3).expect("3 significant digits is valid");
    // Each latency goes into its window's histogram alone; the whole run's is
    // their sum, made once at the end (one record per transaction, not two).
    let mut out = ClientOutcome {
        latency: hist(),
        windows: (0..s.windows.max(1)).map(|_| hist()).collect(),
        rows: 0,
        errors: BTreeMap::new(),
        retries: BTreeMap::new(),
        started: 0,
        scheduled: 0,
    };
    let empty: Vec<TextParam> = Vec::new();
    let mut next = s.start;
    // Closed loop: when the last transaction ended, which is when the next starts
    // (one clock read per transaction, not two).
    let mut ended: Option<Instant> = None;
    loop {
        let scheduled = match s.rate {
            Some(rate) => {
                next += exponential(&mut arrivals, rate);
                if next >= s.end {
                    break;
                }
                tokio::time::sleep_until(next.into()).await;
                next
            }
            None => {
                let now = ended.take().unwrap_or_else(Instant::now);
                if now >= s.end {
                    break;
                }
                now
            }
        };
        let measured = scheduled >= s.measured_from;
        if measured {
            out.scheduled += 1;
        }
        let (t, r) = chooser.next(&mut choice);
        let row = params.get(r).unwrap_or(&empty);
        let mut tries = 0;
        loop {
            tries += 1;
            out.started += 1;
            match c.run_tx(t, row).await {
                Ok(rows) => {
                    if measured {
                        let end = Instant::now();
                        let ns = end.duration_since(scheduled).as_nanos() as u64;
                        let k = (scheduled.duration_since(s.measured_from).as_nanos()
                            / s.window.as_nanos().max(1)) as usize;
                        let last = out.windows.len() - 1;
                        record(&mut out.windows[k.min(last)], ns);
                        out.rows += rows;
                        if s.rate.is_none() {
                            ended = Some(end);
                        }
                    }
                    break;
                }
                Err(e) => {
                    if crate::error::connection_lost(&e) {
                        return Err(Error::db("running a workload transaction", e));
                    }
                    let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
                    c.abort(t)
                        .await
                        .map_err(|e| Error::db("rolling back a failed workload transaction", e))?;
                    let retry = tries < w.max_tries && w.retry_on.contains(&code);
                    if measured {
                        let map = if retry {
                            &mut out.retries
                        } else {
                            &mut out.errors
                        };
                        *map.entry(code).or_default() += 1;
                    }
                    if !retry {
                        break;
                    }
                }
            }
        }
    }
    for h in &out.windows {
        out.latency
            .add(h)
            .expect("an auto-resizing histogram takes any other");
    }
    Ok(out)
}
