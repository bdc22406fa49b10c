//! Server faults: the server dies mid-run, or connections drop mid-load. querylab
//! stops with one clear error and exit code 2, keeps results.json with what it
//! measured before, and never leaves a template that a later load takes as complete.
use crate::common;

use std::path::Path;
use std::time::Duration;

use common::cli::{self, Running};
use common::cluster::TestCluster;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use querylab::load::{LoadOptions, LoadSpec, load, template};
use querylab::provision::{BackendKind, ProvisionConfig, provision};
use querylab::results::RunStatus;
use querylab::shutdown::Shutdown;

/// Three comparisons, each sampled for about two seconds: killing the server after
/// the first one finished lands in the middle of measuring.
const ONLY: &str = "pagination";
const COMPARISONS: usize = 3;

fn run_args(out: &Path) -> Vec<String> {
    [
        "run",
        "--rows",
        "20000",
        "--only",
        ONLY,
        "--min-time",
        "2",
        "--max-time",
        "3",
        "--quiet",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([out.display().to_string()])
    .collect()
}

/// Waits until results.json lists at least one finished comparison; returns them.
async fn first_comparison_done(out: &Path, p: &mut Running) -> Vec<String> {
    let path = out.join("results.json");
    cli::wait_for(Duration::from_secs(120), "a finished comparison", || {
        let done = cli::results(&path)
            .map(|r| cli::finished_comparisons(&r))
            .filter(|d| !d.is_empty());
        assert!(p.running(), "querylab exited early: {}", p.stderr_so_far());
        async move { done }
    })
    .await
}

/// What must hold after the server died mid-measure.
fn assert_stopped_with_partial_results(out: &cli::Output, results_dir: &Path, before: &[String]) {
    assert_eq!(out.code(), Some(2), "exit code; stderr: {}", out.stderr);
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "one error line: {}", out.stderr);
    assert!(
        errors[0].contains("server") && errors[0].contains("lost"),
        "the error says the server was lost: {}",
        errors[0]
    );
    let r = cli::results(&results_dir.join("results.json")).expect("results.json kept");
    let kept = cli::finished_comparisons(&r);
    assert!(
        kept.len() >= before.len() && kept.len() < COMPARISONS,
        "kept {kept:?}, finished before the kill {before:?}"
    );
    assert_eq!(&kept[..before.len()], before);
    match &r.status {
        RunStatus::Partial { reason } => assert!(reason.contains("lost"), "{reason}"),
        other => panic!("status {other:?}"),
    }
    // Every kept comparison is whole: all its variants measured.
    for c in r.datasets.iter().flat_map(|d| &d.comparisons) {
        assert!(c.variants.iter().all(|v| v.stats.is_some()), "{}", c.id);
    }
    assert!(
        results_dir.join("index.html").exists(),
        "partial results are rendered"
    );
}

#[tokio::test]
async fn the_server_dying_mid_measure_stops_the_run_with_partial_results() {
    let mut cluster = TestCluster::start();
    let tmp = cli::shared_tempdir();
    let out = tmp.path().join("out");
    let mut p = Running::spawn(
        cli::querylab(tmp.path())
            .args(run_args(&out))
            .args(["--backend", "url", "--database-url"])
            .arg(cluster.superuser_url("postgres")),
    );
    let before = first_comparison_done(&out, &mut p).await;
    cluster.kill();
    let out_put = p
        .wait(Duration::from_secs(60))
        .expect("querylab stops after the server died");
    assert_stopped_with_partial_results(&out_put, &out, &before);
}

/// The postmaster of the local cluster a running querylab started in `tmp`.
fn local_postmaster(tmp: &Path) -> Option<(i32, std::path::PathBuf)> {
    for entry in std::fs::read_dir(tmp).ok()?.flatten() {
        let dir = entry.path();
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with("querylab-local-")
        {
            continue;
        }
        let pidfile = std::fs::read_to_string(dir.join("data/postmaster.pid")).ok()?;
        let pid = pidfile.lines().next()?.trim().parse().ok()?;
        return Some((pid, dir));
    }
    None
}

#[tokio::test]
async fn the_local_cluster_dying_mid_measure_stops_the_run_and_leaves_nothing() {
    let tmp = cli::shared_tempdir();
    let out = tmp.path().join("out");
    let mut p = Running::spawn(
        cli::querylab(tmp.path())
            .args(run_args(&out))
            .args(["--backend", "local"]),
    );
    let before = first_comparison_done(&out, &mut p).await;
    let (pid, dir) = local_postmaster(tmp.path()).expect("the local cluster's postmaster");
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    let output = p
        .wait(Duration::from_secs(60))
        .expect("querylab stops after its server died");
    assert_stopped_with_partial_results(&output, &out, &before);
    assert!(!dir.exists(), "{} removed", dir.display());
    let left = common::cluster::processes_mentioning(tmp.path());
    assert!(left.is_empty(), "processes left: {left:?}");
}

fn url_config(cluster: &TestCluster) -> ProvisionConfig {
    ProvisionConfig {
        backend: BackendKind::Url,
        database_url: Some(cluster.superuser_url("postgres")),
        quiet: true,
        ..ProvisionConfig::default()
    }
}

/// Loads `opts` on `cluster` and runs `cut` once rows are streaming into the
/// template database.
async fn load_with_cut(
    cluster: &mut TestCluster,
    opts: &LoadOptions,
    cut: impl AsyncFnOnce(&mut TestCluster),
) -> querylab::Result<querylab::load::Loaded> {
    let spec = LoadSpec::builtin(Vec::new());
    let name = template::name(&template::hash(&spec, opts).unwrap());
    let server = provision(&url_config(cluster)).await.unwrap();
    let shutdown = Shutdown::new();
    let r = {
        let loading = load(&server, &spec, opts, &shutdown);
        tokio::pin!(loading);
        let admin = cluster.admin("postgres").await;
        let copying = async {
            loop {
                let n: i64 = admin
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY%'",
                        &[&name],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if n > 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::select! {
            r = &mut loading => panic!("the load finished before the cut: make it bigger ({r:?})"),
            _ = copying => {}
        }
        drop(admin);
        cut(cluster).await;
        loading.await
    };
    drop(server);
    r
}

#[tokio::test]
async fn a_crash_during_loading_leaves_no_template_taken_as_complete() {
    let mut cluster = TestCluster::start();
    let opts = LoadOptions {
        rows: 300_000,
        seed: 801,
        quiet: true,
        clones: 0,
    };
    let spec = LoadSpec::builtin(Vec::new());
    let hash = template::hash(&spec, &opts).unwrap();
    let r = load_with_cut(&mut cluster, &opts, async |c| c.kill()).await;
    let err = r.expect_err("the load fails when the server dies");
    assert!(err.is_connection_lost(), "{err}");
    // The server comes back after crash recovery: whatever the half-made template
    // left, it is not complete …
    cluster.spawn();
    let admin = cluster.admin("postgres").await;
    let state = template::state(&admin, &hash).await.unwrap();
    assert_ne!(state, template::State::Complete);
    // … so the next load builds it anew, and the one after reuses it.
    let server = provision(&url_config(&cluster)).await.unwrap();
    let rebuilt = load(&server, &spec, &opts, &Shutdown::new()).await.unwrap();
    assert!(!rebuilt.report.reused, "an incomplete template is rebuilt");
    let c = server.connect(&rebuilt.template).await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM jobs.ml_jobs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 300_000);
    drop(c);
    let again = load(&server, &spec, &opts, &Shutdown::new()).await.unwrap();
    assert!(again.report.reused);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn connections_cut_during_loading_leave_no_template_taken_as_complete() {
    let mut cluster = TestCluster::start();
    let opts = LoadOptions {
        rows: 300_000,
        seed: 802,
        quiet: true,
        clones: 0,
    };
    let spec = LoadSpec::builtin(Vec::new());
    let hash = template::hash(&spec, &opts).unwrap();
    // Every querylab connection is terminated, as a proxy or a DBA would; the
    // server itself stays up.
    let r = load_with_cut(&mut cluster, &opts, async |c| {
        let admin = c.admin("postgres").await;
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
                &[],
            )
            .await
            .unwrap();
    })
    .await;
    let err = r.expect_err("the load fails when its connections are cut");
    assert!(err.is_connection_lost(), "{err}");
    let admin = cluster.admin("postgres").await;
    assert_ne!(
        template::state(&admin, &hash).await.unwrap(),
        template::State::Complete
    );
    let server = provision(&url_config(&cluster)).await.unwrap();
    let rebuilt = load(&server, &spec, &opts, &Shutdown::new()).await.unwrap();
    assert!(!rebuilt.report.reused);
    server.shutdown().await.unwrap();
    assert!(cluster.querylab_databases().await.is_empty());
}
