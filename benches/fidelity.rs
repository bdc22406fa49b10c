//! Fidelity: is querylab's median what PostgreSQL's own pgbench measures?
//!
//! For reference queries of the built-in catalog, runs the same prepared statement
//! with the same parameters on the same clone, alternating querylab's sampler and
//! `pgbench -n -M prepared -f query.sql` (per-transaction log, so medians are
//! compared with medians), and prints both medians and their ratio.
//!
//! `cargo bench --bench fidelity` (env: `QUERYLAB_ROWS`, default 200000;
//! `QUERYLAB_ONLY` to choose comparisons; backend variables as for the other benches).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use querylab::catalog::{self, Comparison, Mode, Variant};
use querylab::env::EnvConfig;
use querylab::load::{LoadOptions, load};
use querylab::measure::{MeasureConfig, Measurer, session};
use querylab::progress::Progress;
use querylab::provision::{Server, provision};
use querylab::shutdown::Shutdown;
use querylab::stats::median;

const ROWS: u64 = 200_000;
/// Alternating rounds per query; each round samples for this long on each side.
const ROUNDS: usize = 3;
const ROUND_TIME: Duration = Duration::from_secs(2);

/// (comparison id, variant) pairs measured by default: millisecond-scale scans,
/// aggregates and a join, plus one sub-millisecond index lookup where the client's
/// own overhead shows.
const DEFAULT_PICKS: &[(&str, &str)] = &[
    ("jobs.count_by_status", "group_by"),
    ("jobs.pending.all", "no_index"),
    ("jobs.date_range_status", "no_index"),
    ("query.experiment_summary", "left_join_group_by_indexed"),
    ("jobs.pending.first_page", "pending_partial"),
];

fn main() {
    if let Err(e) = real_main() {
        eprintln!("Error: {e:#}");
        std::process::exit(2);
    }
}

fn real_main() -> anyhow::Result<()> {
    let env = EnvConfig::from_env(ROWS)?;
    let scenario = catalog::from_arg(env.scenario.as_deref())?;
    let picks: Vec<(&Comparison, &Variant)> = match &env.only {
        Some(_) => scenario
            .select(env.only.as_deref())?
            .into_iter()
            .filter_map(|c| c.variants.iter().find(|v| fits(v)).map(|v| (c, v)))
            .collect(),
        None => DEFAULT_PICKS
            .iter()
            .filter_map(|(id, name)| {
                let c = scenario.comparisons.iter().find(|c| c.id == *id)?;
                let v = c.variants.iter().find(|v| v.name == *name && fits(v))?;
                Some((c, v))
            })
            .collect(),
    };
    anyhow::ensure!(
        !picks.is_empty(),
        "no reference query found; set QUERYLAB_ONLY to comparisons with a single-statement read variant"
    );
    let pgbench = find_pgbench()?;
    let rt = tokio::runtime::Runtime::new()?;
    let shutdown = rt.block_on(async { Shutdown::on_signals() });
    let server = rt.block_on(provision(&env.provision))?;
    let out = rt.block_on(async {
        let opts = LoadOptions {
            rows: env.rows,
            seed: env.seed,
            quiet: true,
            clones: 1,
        };
        let loaded = load(&server, &scenario.load, &opts, &shutdown).await?;
        println!(
            "fidelity: {} rows on {} ({}), {} rounds of {:?} per side, alternating",
            loaded.report.rows,
            server.info().label,
            server.info().version,
            ROUNDS,
            ROUND_TIME
        );
        println!(
            "{:<44} {:>14} {:>14} {:>8}  within ±10%",
            "comparison/variant", "querylab p50", "pgbench p50", "ratio"
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
        let mut within = 0;
        for (c, v) in &picks {
            let (ql, pg) = compare(&mut m, &server, &pgbench, c, v).await?;
            let ratio = ql / pg;
            let ok = (ratio - 1.0).abs() <= 0.10;
            within += usize::from(ok);
            println!(
                "{:<44} {:>11.1} µs {:>11.1} µs {:>8.3}  {}",
                format!("{}/{}", c.id, v.name),
                ql / 1e3,
                pg / 1e3,
                ratio,
                if ok { "yes" } else { "NO" }
            );
        }
        println!(
            "{within} of {} reference queries within ±10% of pgbench",
            picks.len()
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

/// Medians (ns) of querylab and pgbench for one variant, alternating rounds.
async fn compare(
    m: &mut Measurer<'_>,
    server: &Server,
    pgbench: &Path,
    c: &Comparison,
    v: &Variant,
) -> anyhow::Result<(f64, f64)> {
    let mut params = None;
    let s = match session::open(m, c, v, &mut params).await {
        Ok(s) => s,
        Err(stop) => anyhow::bail!("{}/{}: {:?}", c.id, v.name, session::status_of(m, c, stop)?),
    };
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("query.sql");
    std::fs::write(
        &script,
        pgbench_sql(&v.statements[0], s.params.len()) + ";\n",
    )?;
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    // Warm both paths once.
    for _ in 0..3 {
        session::sample(m, &s)
            .await
            .map_err(|_| anyhow::anyhow!("warm-up failed"))?;
    }
    for _ in 0..ROUNDS {
        let t = Instant::now();
        while t.elapsed() < ROUND_TIME {
            match session::sample(m, &s).await {
                Ok(ns) => ours.push(ns as f64),
                Err(_) => anyhow::bail!("{}/{}: sample failed", c.id, v.name),
            }
        }
        theirs.extend(run_pgbench(
            pgbench,
            server,
            s.database(),
            &script,
            &s.params,
            dir.path(),
        )?);
    }
    session::close(m, s).await?;
    Ok((median(&ours), median(&theirs)))
}

/// `$n` → `:pn` (pgbench binds `:pn` as the n-th parameter under `-M prepared`).
fn pgbench_sql(sql: &str, nparams: usize) -> String {
    let mut out = sql.trim().trim_end_matches(';').to_string();
    for n in (1..=nparams).rev() {
        out = out.replace(&format!("${n}"), &format!(":p{n}"));
    }
    out
}

/// One pgbench round; returns per-transaction latencies in ns from its log.
fn run_pgbench(
    pgbench: &Path,
    server: &Server,
    db: &str,
    script: &Path,
    params: &[String],
    dir: &Path,
) -> anyhow::Result<Vec<f64>> {
    let cfg = server.config_for(db);
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let mut cmd = Command::new(pgbench);
    cmd.current_dir(dir)
        .args(["-n", "-M", "prepared", "-c", "1", "-l", "--log-prefix=ql"])
        .arg(format!("-T{}", ROUND_TIME.as_secs()))
        .arg("-f")
        .arg(script)
        .args(["-h", &host, "-p", &port.to_string()])
        .args(["-U", cfg.get_user().unwrap_or("postgres")]);
    for (i, p) in params.iter().enumerate() {
        cmd.arg("-D").arg(format!("p{}={p}", i + 1));
    }
    cmd.arg(db);
    if let Some(pw) = cfg.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).to_string());
    }
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
    Ok(lat)
}

/// pgbench from the server binaries' directory (it ships with the server packages).
fn find_pgbench() -> anyhow::Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.reverse();
    dirs.extend(versions);
    dirs.into_iter()
        .map(|d| d.join("pgbench"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "pgbench not found: install PostgreSQL server packages (apt-get install postgresql)"
            )
        })
}
