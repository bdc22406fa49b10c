//! Fidelity: is querylab's median what PostgreSQL's own pgbench measures?
//!
//! For reference statements of the built-in catalog (index lookups, small and large
//! scans, a parallel plan, a join: 0.1 to 100 ms), runs the same prepared statement
//! with the same parameters on the same clone, in alternating rounds, three ways:
//!
//! - `pgbench -n -M prepared -c 1 -f query.sql -D name=value…` with the parameters
//!   bound as `:name` variables and querylab's session settings (`PGOPTIONS`), its
//!   per-transaction log giving the latencies;
//! - querylab **back to back**: the statement alone, sample after sample, as
//!   pgbench runs it (`--sampling-order back-to-back`);
//! - querylab **interleaved**: one sample of every variant of the comparison per
//!   round, each on its own clone, as `querylab run` does by default; only the
//!   reference statement's samples are kept.
//!
//! Each side takes [`ROUND_TIME`] per round; the order of the sides rotates from
//! round to round so that a drift in machine load hits all alike. Printed per
//! statement: the median of the round medians and their spread (lowest–highest),
//! whether the plan has parallel workers, and querylab's ratio to pgbench. When
//! pgbench's log cannot be trusted (it logs fast transactions as 0 µs, see
//! `real_main`), the round means are compared instead, and the line says so.
//!
//! `cargo bench --bench fidelity` (env: `QUERYLAB_ROWS`, default 200000;
//! `QUERYLAB_ONLY` to choose comparisons, each measured with its first
//! single-statement read variant; `QUERYLAB_BENCH_ROUNDS`, default 9; backend
//! variables as for the other benches).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

#[path = "common/pgbench.rs"]
mod pgbench;
use querylab::catalog::{self, Comparison, Mode, Variant};
use querylab::env::EnvConfig;
use querylab::load::{LoadOptions, load};
use querylab::measure::session::{self, Session};
use querylab::measure::{MeasureConfig, Measurer};
use querylab::progress::Progress;
use querylab::provision::{Server, provision};
use querylab::shutdown::Shutdown;
use querylab::stats::median;

const ROWS: u64 = 200_000;
/// Alternating rounds per statement (each side). A round's median moves by up to
/// ±20 % on the shared 2-core machine, pgbench's as much as querylab's: with 5
/// rounds the median of the round medians still moved by ±10 % from run to run
/// (7 of 9 statements within ±10 % of pgbench in one run, 4 of 9 in another).
const ROUNDS: usize = 9;
/// Sampling time per side and round.
const ROUND_TIME: Duration = Duration::from_secs(1);

/// (comparison id, variant, what it stands for) measured by default.
const DEFAULT_PICKS: &[(&str, &str, &str)] = &[
    ("index.lower_name", "expression_index", "index lookup"),
    ("query.metric_aggregate", "run_name_index", "index lookup"),
    (
        "jobs.pending.first_page",
        "pending_partial",
        "partial index",
    ),
    ("index.lower_name", "no_index", "small scan"),
    ("query.metric_aggregate", "no_index", "scan"),
    ("jobs.count_by_status", "group_by", "large scan"),
    (
        "pagination.offset_vs_keyset.shallow",
        "offset_no_index",
        "large scan, top-N",
    ),
    ("query.experiment_summary", "left_join_group_by", "join"),
    ("query.experiment_summary", "correlated_subqueries", "join"),
];

/// Round medians and round means (ns) of one side.
#[derive(Default)]
struct Side {
    medians: Vec<f64>,
    means: Vec<f64>,
}

impl Side {
    fn push_round(&mut self, samples: &[f64]) {
        if !samples.is_empty() {
            self.medians.push(median(samples));
            self.means
                .push(samples.iter().sum::<f64>() / samples.len() as f64);
        }
    }
    fn rounds(&self, means: bool) -> &[f64] {
        if means { &self.means } else { &self.medians }
    }
    fn median(&self, means: bool) -> f64 {
        median(self.rounds(means))
    }
    /// `1.23 [1.20–1.31]` (ms): the median of the round figures and their range.
    fn show(&self, means: bool) -> String {
        let r = self.rounds(means);
        let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = r.iter().copied().fold(0.0, f64::max);
        format!("{} [{}–{}]", ms(self.median(means)), ms(lo), ms(hi))
    }
}

fn ms(ns: f64) -> String {
    format!("{:.3}", ns / 1e6)
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("Error: {e:#}");
        std::process::exit(2);
    }
}

fn real_main() -> anyhow::Result<()> {
    let env = EnvConfig::from_env(ROWS)?;
    let rounds = match std::env::var("QUERYLAB_BENCH_ROUNDS") {
        Ok(v) => v
            .parse::<usize>()
            .with_context(|| format!("QUERYLAB_BENCH_ROUNDS={v} is not a number"))?
            .max(1),
        Err(_) => ROUNDS,
    };
    let scenario = catalog::from_arg(env.scenario.as_deref())?;
    let picks: Vec<(&Comparison, &Variant, &str)> = match &env.only {
        Some(_) => scenario
            .select(env.only.as_deref())?
            .into_iter()
            .filter_map(|c| c.variants.iter().find(|v| fits(v)).map(|v| (c, v, "")))
            .collect(),
        None => DEFAULT_PICKS
            .iter()
            .filter_map(|(id, name, kind)| {
                let c = scenario.comparisons.iter().find(|c| c.id == *id)?;
                let v = c.variants.iter().find(|v| v.name == *name && fits(v))?;
                Some((c, v, *kind))
            })
            .collect(),
    };
    anyhow::ensure!(
        !picks.is_empty(),
        "no reference statement found; set QUERYLAB_ONLY to comparisons with a single-statement read variant"
    );
    let pgbench = pgbench::find()?;
    let rt = querylab::runtime::build()?;
    let shutdown = rt.block_on(async { Shutdown::on_signals() });
    let server = rt.block_on(provision(&env.provision))?;
    let out = rt.block_on(async {
        let opts = LoadOptions {
            rows: env.rows,
            seed: env.seed,
            quiet: true,
            clones: 6,
        };
        let loaded = load(&server, &scenario.load, &opts, &shutdown).await?;
        println!(
            "fidelity: {} rows on {} ({}), {rounds} rounds of {:?} per side, sides rotating; times in ms: median of round medians [lowest–highest round median]",
            loaded.report.rows,
            server.info().label,
            server.info().version,
            ROUND_TIME
        );
        println!(
            "{:<58} {:<8} {:>26} {:>26} {:>6} {:>26} {:>6}",
            "statement",
            "workers",
            "pgbench",
            "querylab back-to-back",
            "ratio",
            "querylab interleaved",
            "ratio"
        );
        let config = MeasureConfig::default();
        let progress = Progress::new(true);
        let mut m = Measurer::new(
            &server,
            &loaded.template,
            &scenario,
            &config,
            &shutdown,
            &progress,
        );
        let mut within = (0, 0);
        let mut done: Vec<&str> = Vec::new();
        for (c, _, _) in &picks {
            if done.contains(&c.id.as_str()) {
                continue;
            }
            done.push(&c.id);
            let mine: Vec<_> = picks.iter().filter(|p| p.0.id == c.id).collect();
            let sessions = open_all(&mut m, c).await?;
            for (_, v, kind) in mine {
                let Some(target) = sessions.iter().position(|(name, _)| *name == v.name) else {
                    bail!("{}/{}: no session", c.id, v.name);
                };
                let f = compare(&mut m, &server, &pgbench, v, &sessions, target, rounds).await?;
                // pgbench's per-transaction log reads a clock it refreshes only after
                // waiting on the socket: a statement that is answered before pgbench
                // waits is logged as 0 µs. Then only its round means (transactions
                // over time) are right, and all three sides are compared by means.
                let means = f.pgbench_zeros;
                let b2b = f.back_to_back.median(means) / f.pgbench.median(means);
                let inter = f.interleaved.median(means) / f.pgbench.median(means);
                let ok = |r: f64| (r - 1.0).abs() <= 0.10;
                within.0 += usize::from(ok(b2b));
                within.1 += usize::from(ok(inter));
                let label = format!("{}/{}", c.id, v.name);
                let label = match (kind.is_empty(), means) {
                    (true, false) => label,
                    (true, true) => format!("{label} (means)"),
                    (false, false) => format!("{label} ({kind})"),
                    (false, true) => format!("{label} ({kind}; means)"),
                };
                println!(
                    "{label:<58} {:<8} {:>26} {:>26} {:>5.3}{} {:>26} {:>5.3}{}",
                    f.workers,
                    f.pgbench.show(means),
                    f.back_to_back.show(means),
                    b2b,
                    if ok(b2b) { " " } else { "!" },
                    f.interleaved.show(means),
                    inter,
                    if ok(inter) { " " } else { "!" },
                );
            }
            for (_, s) in sessions {
                session::close(&mut m, s).await?;
            }
        }
        println!(
            "within ±10% of pgbench: back-to-back {} of {n}, interleaved {} of {n} (! marks the others)",
            within.0,
            within.1,
            n = picks.len()
        );
        Ok::<_, anyhow::Error>(())
    });
    rt.block_on(server.shutdown())?;
    out
}

/// A single read statement without N+1 repetition: what pgbench can run as is.
fn fits(v: &Variant) -> bool {
    v.mode == Mode::Read && v.statements.len() == 1 && v.for_each.is_none() && v.settings.is_empty()
}

/// Sessions (each on its own clone, warmed up) of every variant of `c` that
/// `querylab run` samples in rounds, in catalog order; fresh-clone variants are left
/// out (each of their samples clones a database).
async fn open_all(m: &mut Measurer<'_>, c: &Comparison) -> anyhow::Result<Vec<(String, Session)>> {
    let mut params = None;
    let mut out = Vec::new();
    for v in c.variants.iter().filter(|v| v.mode != Mode::FreshClone) {
        let s = match session::open(m, c, v, &mut params).await {
            Ok(s) => s,
            Err(stop) => bail!("{}/{}: {:?}", c.id, v.name, session::status_of(m, c, stop)?),
        };
        for _ in 0..3 {
            if session::sample(m, &s).await.is_err() {
                bail!("{}/{}: warm-up failed", c.id, v.name);
            }
        }
        out.push((v.name.clone(), s));
    }
    Ok(out)
}

/// One statement's figures.
struct Figures {
    pgbench: Side,
    back_to_back: Side,
    interleaved: Side,
    /// `Workers Planned` of the plan's Gather nodes (`-` for none).
    workers: String,
    /// pgbench logged some transaction as taking 0 µs (see the caller).
    pgbench_zeros: bool,
}

/// Alternating rounds of the three sides for `sessions[target]`.
async fn compare(
    m: &mut Measurer<'_>,
    server: &Server,
    pgbench: &Path,
    v: &Variant,
    sessions: &[(String, Session)],
    target: usize,
    rounds: usize,
) -> anyhow::Result<Figures> {
    let s = &sessions[target].1;
    let names: Vec<&str> = v.params.iter().map(|(n, _)| n.as_str()).collect();
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("query.sql");
    std::fs::write(&script, pgbench_sql(&v.statements[0], &names) + ";\n")?;
    let bind: Vec<(&str, &str)> = names
        .iter()
        .copied()
        .zip(s.params.iter().map(String::as_str))
        .collect();
    let failed = |what: &str| anyhow::anyhow!("{}: {what} failed", v.name);
    let workers = match session::plans(m, s).await {
        Ok((plan, _)) => workers_planned(&plan),
        Err(_) => return Err(failed("EXPLAIN")),
    };
    let mut f = Figures {
        pgbench: Side::default(),
        back_to_back: Side::default(),
        interleaved: Side::default(),
        workers,
        pgbench_zeros: false,
    };
    for round in 0..rounds {
        for turn in 0..3 {
            match (round + turn) % 3 {
                0 => {
                    let (logged, mean) =
                        run_pgbench(pgbench, server, s.database(), &script, &bind, dir.path())?;
                    f.pgbench_zeros |= logged.contains(&0.0);
                    f.pgbench.medians.push(median(&logged));
                    f.pgbench.means.push(mean);
                }
                1 => {
                    let mut ns = Vec::new();
                    let t = Instant::now();
                    while t.elapsed() < ROUND_TIME {
                        let one = session::sample(m, s).await;
                        ns.push(one.map_err(|_| failed("sample"))? as f64);
                    }
                    f.back_to_back.push_round(&ns);
                }
                _ => {
                    // As `querylab run` samples: one sample of each variant in turn,
                    // until the target has had its time (or the wall clock twice that).
                    let mut ns = Vec::new();
                    let (t, mut spent) = (Instant::now(), 0.0);
                    while spent < ROUND_TIME.as_nanos() as f64
                        && (ns.len() < 5 || t.elapsed() < 2 * ROUND_TIME)
                    {
                        for (i, (_, other)) in sessions.iter().enumerate() {
                            let one = session::sample(m, other).await;
                            let one = one.map_err(|_| failed("sample"))? as f64;
                            if i == target {
                                ns.push(one);
                                spent += one;
                            }
                        }
                    }
                    f.interleaved.push_round(&ns);
                }
            }
        }
    }
    Ok(f)
}

/// The `Workers Planned` of every Gather in an EXPLAIN (FORMAT JSON) array.
fn workers_planned(plan: &serde_json::Value) -> String {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(n) = o.get("Workers Planned") {
                    out.push(n.to_string());
                }
                o.values().for_each(|x| walk(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(plan, &mut out);
    if out.is_empty() {
        "-".into()
    } else {
        out.join("+")
    }
}

/// `$n` → `:name` of the n-th parameter (pgbench binds each `:name` as a parameter
/// under `-M prepared`).
fn pgbench_sql(sql: &str, names: &[&str]) -> String {
    let mut out = sql.trim().trim_end_matches(';').to_string();
    for (n, name) in names.iter().enumerate().rev() {
        out = out.replace(&format!("${}", n + 1), &format!(":{name}"));
    }
    out
}

/// One pgbench round of [`ROUND_TIME`]; returns the per-transaction latencies in
/// ns from its log and the mean from its summary (`latency average`).
fn run_pgbench(
    pgbench_bin: &Path,
    server: &Server,
    db: &str,
    script: &Path,
    bind: &[(&str, &str)],
    dir: &Path,
) -> anyhow::Result<(Vec<f64>, f64)> {
    let mut cmd = pgbench::command(pgbench_bin, server, db, dir);
    cmd.args(["-n", "-M", "prepared", "-c", "1", "-l", "--log-prefix=ql"])
        .arg(format!("-T{}", ROUND_TIME.as_secs().max(1)))
        .arg("-f")
        .arg(script);
    for (name, value) in bind {
        cmd.arg("-D").arg(format!("{name}={value}"));
    }
    cmd.arg(db);
    // querylab's session settings (setup.rs): custom plans, the statement timeout.
    let timeout_ms = MeasureConfig::default().sampling.statement_timeout_ns / 1_000_000;
    cmd.env(
        "PGOPTIONS",
        format!("-c plan_cache_mode=force_custom_plan -c statement_timeout={timeout_ms}"),
    );
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
    );
    let mut lat = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ql."))
        {
            for line in std::fs::read_to_string(&path)?.lines() {
                if let Some(us) = line
                    .split_whitespace()
                    .nth(2)
                    .and_then(|x| x.parse::<f64>().ok())
                {
                    lat.push(us * 1e3);
                }
            }
            std::fs::remove_file(&path)?;
        }
    }
    anyhow::ensure!(!lat.is_empty(), "pgbench logged no transaction");
    let mean_ms = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("latency average = ")?
                .strip_suffix(" ms")?
                .parse::<f64>()
                .ok()
        })
        .context("pgbench printed no latency average")?;
    Ok((lat, mean_ms * 1e6))
}
