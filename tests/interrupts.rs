//! Ctrl-C and SIGTERM, during loading and during measuring: querylab stops promptly,
//! tears down what it started (cluster, temp dir, cloned databases), keeps the
//! partial results, and exits 2. Ten interrupted runs in a row leave nothing behind.
//!
//! The time from the signal to the exit is printed (run with `--nocapture` to see
//! it); the assertions only bound it generously, since this machine is shared.
use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cli::{self, Running};
use common::cluster::TestCluster;
use nix::sys::signal::Signal;
use querylab::results::RunStatus;

/// When to interrupt.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Rows are being copied into the template.
    Load,
    /// A variant's clone exists.
    Measure,
    /// One comparison is in results.json and the next is being measured.
    AfterFirstComparison,
}

/// How the signal is sent.
#[derive(Debug, Clone, Copy)]
enum How {
    /// SIGINT to the whole process group, as a terminal's Ctrl-C.
    CtrlC,
    /// SIGINT to querylab only.
    Sigint,
    /// SIGTERM to querylab only, as CI runners and `kill` do.
    Sigterm,
}

/// Where the server is.
enum Backend<'a> {
    Local,
    Url(&'a TestCluster),
}

/// A superuser connection to the local cluster a running querylab started in
/// `tmp`, through its unix socket.
async fn local_admin(tmp: &Path) -> Option<tokio_postgres::Client> {
    for entry in std::fs::read_dir(tmp).ok()?.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with("querylab-local-")
        {
            continue;
        }
        let dir: PathBuf = entry.path();
        let pidfile = std::fs::read_to_string(dir.join("data/postmaster.pid")).ok()?;
        let port: u16 = pidfile.lines().nth(3)?.trim().parse().ok()?;
        let (client, conn) = tokio_postgres::Config::new()
            .host_path(&dir)
            .port(port)
            .user("postgres")
            .dbname("postgres")
            .connect(tokio_postgres::NoTls)
            .await
            .ok()?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        return Some(client);
    }
    None
}

/// Whether the server shows `phase` (Load or Measure).
async fn in_phase(admin: &tokio_postgres::Client, phase: Phase) -> bool {
    let sql = match phase {
        Phase::Load => {
            "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'querylab_tpl_%' AND query LIKE 'COPY%'"
        }
        _ => "SELECT count(*) FROM pg_database WHERE datname ~ '^querylab_[0-9a-f]+_c[0-9]+$'",
    };
    admin
        .query_one(sql, &[])
        .await
        .is_ok_and(|r| r.get::<_, i64>(0) > 0)
}

struct Interrupted {
    latency: Duration,
    output: cli::Output,
    out_dir: PathBuf,
}

/// Starts `querylab run`, waits for `phase`, sends the signal `how`, and waits for
/// the exit. `rows` and `only` size the run so the phase lasts long enough to hit.
async fn interrupt(
    tmp: &Path,
    backend: &Backend<'_>,
    rows: u64,
    only: &str,
    phase: Phase,
    how: How,
) -> Interrupted {
    let out_dir = tmp.join("out");
    let mut cmd = cli::querylab(tmp);
    cmd.args([
        "run",
        "--rows",
        &rows.to_string(),
        "--only",
        only,
        "--quiet",
    ])
    .args(["--min-time", "3", "--max-time", "4", "--out"])
    .arg(&out_dir);
    match backend {
        Backend::Local => cmd.args(["--backend", "local"]),
        Backend::Url(c) => cmd
            .args(["--backend", "url", "--database-url"])
            .arg(c.superuser_url("postgres")),
    };
    let mut p = Running::spawn(&mut cmd);
    let results = out_dir.join("results.json");
    cli::wait_for(Duration::from_secs(120), &format!("{phase:?}"), || {
        let running = p.running();
        let stderr = p.stderr_so_far();
        let results = results.clone();
        async move {
            assert!(running, "querylab exited before {phase:?}: {stderr}");
            if phase == Phase::AfterFirstComparison {
                return cli::results(&results)
                    .filter(|r| !cli::finished_comparisons(r).is_empty())
                    .map(|_| ());
            }
            let admin = match backend {
                Backend::Local => local_admin(tmp).await?,
                Backend::Url(c) => c.admin("postgres").await,
            };
            in_phase(&admin, phase).await.then_some(())
        }
    })
    .await;
    match how {
        How::CtrlC => p.signal_group(Signal::SIGINT),
        How::Sigint => p.signal(Signal::SIGINT),
        How::Sigterm => p.signal(Signal::SIGTERM),
    }
    let (latency, output) = p
        .time_to_exit(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("querylab still ran 10 s after {how:?} during {phase:?}"));
    eprintln!("stop latency: {how:?} during {phase:?}: {latency:?}");
    Interrupted {
        latency,
        output,
        out_dir,
    }
}

/// Exit 2 with one "interrupted" error, partial results kept, and nothing left in
/// `tmp` but the output directory: no cluster directory, no server process.
fn assert_clean_interrupt(tmp: &Path, i: &Interrupted, phase: Phase) {
    assert_eq!(i.output.code(), Some(2), "stderr: {}", i.output.stderr);
    let errors = i.output.error_lines();
    assert_eq!(errors.len(), 1, "{}", i.output.stderr);
    assert!(errors[0].contains("interrupted"), "{}", errors[0]);
    let r = cli::results(&i.out_dir.join("results.json")).expect("results.json kept");
    assert!(
        matches!(&r.status, RunStatus::Partial { reason } if reason.contains("interrupted")),
        "{:?}",
        r.status
    );
    let kept = cli::finished_comparisons(&r);
    match phase {
        Phase::Load => assert!(r.datasets.is_empty(), "nothing measured yet"),
        Phase::Measure => assert!(kept.is_empty(), "{kept:?}"),
        Phase::AfterFirstComparison => assert!(!kept.is_empty(), "finished ones kept"),
    }
    // The server is sent SIGQUIT before querylab exits; waiting for it to be gone
    // and removing its files is left to a detached shell (unlinking gigabytes takes
    // longer than a prompt stop allows), so give that a moment — but everything
    // must go.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left: Vec<_> = std::fs::read_dir(tmp)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n != "out")
            .collect();
        let procs = common::cluster::processes_mentioning(tmp);
        if left.is_empty() && procs.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "left in TMPDIR: {left:?}; processes: {procs:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = i.latency;
}

#[tokio::test]
async fn sigint_during_loading_stops_and_cleans_up() {
    let tmp = cli::shared_tempdir();
    let i = interrupt(
        tmp.path(),
        &Backend::Local,
        400_000,
        "pagination.offset_vs_keyset.shallow",
        Phase::Load,
        How::Sigint,
    )
    .await;
    assert_clean_interrupt(tmp.path(), &i, Phase::Load);
}

#[tokio::test]
async fn ctrl_c_to_the_process_group_during_loading_stops_and_cleans_up() {
    let tmp = cli::shared_tempdir();
    let i = interrupt(
        tmp.path(),
        &Backend::Local,
        400_000,
        "pagination.offset_vs_keyset.shallow",
        Phase::Load,
        How::CtrlC,
    )
    .await;
    assert_clean_interrupt(tmp.path(), &i, Phase::Load);
}

#[tokio::test]
async fn sigterm_during_measuring_keeps_finished_comparisons() {
    let tmp = cli::shared_tempdir();
    let i = interrupt(
        tmp.path(),
        &Backend::Local,
        20_000,
        "pagination",
        Phase::AfterFirstComparison,
        How::Sigterm,
    )
    .await;
    assert_clean_interrupt(tmp.path(), &i, Phase::AfterFirstComparison);
    assert!(i.out_dir.join("index.html").exists(), "partial report");
}

#[tokio::test]
async fn interrupts_on_a_url_server_drop_every_database_querylab_made() {
    let cluster = TestCluster::start();
    for (phase, how) in [(Phase::Load, How::Sigterm), (Phase::Measure, How::Sigint)] {
        let tmp = cli::shared_tempdir();
        let i = interrupt(
            tmp.path(),
            &Backend::Url(&cluster),
            200_000,
            "pagination.offset_vs_keyset.shallow",
            phase,
            how,
        )
        .await;
        assert_clean_interrupt(tmp.path(), &i, phase);
        assert_eq!(
            cluster.querylab_databases().await,
            Vec::<String>::new(),
            "after {how:?} during {phase:?}"
        );
    }
}

#[tokio::test]
async fn ten_interrupted_runs_in_a_row_leave_nothing_behind() {
    let tmp = cli::shared_tempdir();
    let hows = [How::CtrlC, How::Sigint, How::Sigterm];
    let mut latencies = Vec::new();
    for n in 0..10 {
        let phase = if n % 2 == 0 {
            Phase::Load
        } else {
            Phase::Measure
        };
        let how = hows[n % hows.len()];
        let i = interrupt(
            tmp.path(),
            &Backend::Local,
            // Big enough that the COPY is still running when it is seen.
            if phase == Phase::Load {
                150_000
            } else {
                20_000
            },
            "pagination.offset_vs_keyset.shallow",
            phase,
            how,
        )
        .await;
        assert_clean_interrupt(tmp.path(), &i, phase);
        latencies.push(i.latency);
        std::fs::remove_dir_all(tmp.path().join("out")).unwrap();
    }
    eprintln!("stop latencies of ten runs: {latencies:?}");
}
