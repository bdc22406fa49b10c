//! Concurrent workloads against a real PostgreSQL, through the binary: queue claims
//! never double-claim, a planted racy upsert is caught by its `verify`, open loop
//! issues rate × duration transactions, SERIALIZABLE retries are counted, too many
//! clients are refused up front, and Ctrl-C mid-workload leaves nothing behind.
//! The scenario is `tests/scenarios/workloads.toml` (a tiny schema of its own).
use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cli::{self, Running};
use common::cluster::TestCluster;
use nix::sys::signal::Signal;
use querylab::results::workload::LevelResult;
use querylab::results::{RunResults, VariantResult, VariantStatus};

fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/workloads.toml")
}

/// `querylab run` of the workload scenario's `only` comparisons on a local
/// cluster; returns the output and the results.
fn run(tmp: &Path, only: &str, extra: &[&str]) -> (cli::Output, RunResults) {
    let out = tmp.join("out");
    let output = cli::run(
        cli::querylab(tmp)
            .args(["run", "--backend", "local", "--quiet", "--rows", "100"])
            .arg("--scenario")
            .arg(scenario())
            .args(["--only", only])
            .arg("--out")
            .arg(&out)
            .args(extra),
        Duration::from_secs(300),
    );
    let results = cli::results(&out.join("results.json"))
        .unwrap_or_else(|| panic!("no results.json; stderr: {}", output.stderr));
    (output, results)
}

fn variant<'a>(r: &'a RunResults, comparison: &str, name: &str) -> &'a VariantResult {
    r.datasets[0]
        .comparisons
        .iter()
        .find(|c| c.id == comparison)
        .and_then(|c| c.variant(name))
        .unwrap_or_else(|| panic!("no {comparison}/{name} in the results"))
}

fn level(v: &VariantResult, clients: u32) -> &LevelResult {
    v.workload
        .as_ref()
        .and_then(|w| w.level(clients))
        .unwrap_or_else(|| panic!("{}: no level at {clients} clients", v.name))
}

#[test]
fn queue_workers_at_four_clients_never_double_claim_under_either_lock() {
    let tmp = cli::shared_tempdir();
    // Four workers on two client threads, two per thread: claims race both
    // within a thread and across threads.
    let (output, r) = run(tmp.path(), "queue.claims", &["--client-threads", "2"]);
    assert_eq!(output.code(), Some(0), "stderr: {}", output.stderr);
    assert_eq!(r.settings.workload.client_threads, Some(2));
    for name in ["for_update", "skip_locked"] {
        let v = variant(&r, "queue.claims", name);
        assert_eq!(v.status, VariantStatus::Ok, "{name}");
        let l = level(v, 4);
        assert_eq!(l.client_threads, Some(2), "{name}");
        let verify = l.verify.as_ref().expect("verify ran");
        assert!(verify.ok, "{name}: {:?}", verify.sample);
        // Jobs really were claimed (the claim's INSERT reports one row per job),
        // by every worker.
        assert!(l.committed > 0 && l.rows_per_second > 0.0, "{name}: {l:?}");
        assert!(l.client_tx_per_second_min > 0.0, "{name}: a worker starved");
        assert!(l.latency.p99_ns >= l.latency.p50_ns && l.latency.p50_ns > 0);
        assert!(l.errors.is_empty(), "{name}: {:?}", l.errors);
    }
}

#[test]
fn a_planted_racy_upsert_is_caught_by_its_verify() {
    let tmp = cli::shared_tempdir();
    let (output, r) = run(tmp.path(), "upsert.racy", &[]);
    assert_eq!(
        output.code(),
        Some(1),
        "a broken invariant fails the run; stderr: {}",
        output.stderr
    );
    let v = variant(&r, "upsert.racy", "racy");
    match &v.status {
        VariantStatus::Failed { message } => {
            assert!(message.contains("workloads.toml:"), "{message}");
            assert!(message.contains("broken invariant"), "{message}");
        }
        other => panic!("racy upsert not failed: {other:?}"),
    }
    let verify = level(v, 8).verify.as_ref().expect("verify ran");
    assert!(!verify.ok && verify.violations > 0, "{verify:?}");
}

#[test]
fn open_loop_issues_rate_times_duration_transactions() {
    let tmp = cli::shared_tempdir();
    let (output, r) = run(tmp.path(), "open.loop", &[]);
    assert_eq!(output.code(), Some(0), "stderr: {}", output.stderr);
    let l = level(variant(&r, "open.loop", "poisson"), 4);
    // 200/s for 2 s: 400 expected. A Poisson count has a standard deviation of
    // √400 = 20; the schedule is seeded, so this is one fixed draw, and ±15 % (three
    // standard deviations) is the tolerance. Counted, not timed.
    let scheduled = l.scheduled.expect("open loop records its schedule");
    assert!(
        (340..=460).contains(&scheduled),
        "{scheduled} scheduled, 400 ± 60 expected"
    );
    assert_eq!(l.committed, scheduled, "every scheduled SELECT 1 commits");
    // Its setup read the level's clients and seconds (querylab.level_*).
    let verify = l.verify.as_ref().expect("verify ran");
    assert!(verify.ok, "{:?}", verify.sample);
}

#[test]
fn serializable_transfers_are_retried_and_counted() {
    let tmp = cli::shared_tempdir();
    let (output, r) = run(tmp.path(), "serializable.retries", &[]);
    assert_eq!(output.code(), Some(0), "stderr: {}", output.stderr);
    let l = level(variant(&r, "serializable.retries", "serializable"), 8);
    assert!(l.retries > 0, "8 clients on 2 rows must conflict: {l:?}");
    // By default one client thread per core, here at most 8.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    assert_eq!(l.client_threads, Some(cores.min(8)));
    assert_eq!(l.retries_by_code.get("40001").copied(), Some(l.retries));
    assert!(l.verify.as_ref().is_some_and(|v| v.ok), "balances sum kept");
    assert!(l.committed > 0);
}

#[test]
fn too_many_clients_are_refused_before_loading_with_what_to_raise() {
    let tmp = cli::shared_tempdir();
    let out = tmp.path().join("out");
    let output = cli::run(
        cli::querylab(tmp.path())
            .args(["run", "--backend", "local", "--quiet", "--rows", "100"])
            .arg("--scenario")
            .arg(scenario())
            .args(["--only", "open.loop", "--clients", "150"])
            .arg("--out")
            .arg(&out),
        Duration::from_secs(120),
    );
    assert_eq!(output.code(), Some(2), "stderr: {}", output.stderr);
    let errors = output.error_lines();
    assert_eq!(errors.len(), 1, "{}", output.stderr);
    assert!(
        errors[0].contains("150 clients") && errors[0].contains("raise max_connections"),
        "{}",
        errors[0]
    );
    let r = cli::results(&out.join("results.json")).expect("results.json written");
    assert!(r.datasets.is_empty(), "nothing was loaded");
}

#[tokio::test]
async fn ctrl_c_mid_workload_stops_every_client_and_leaves_nothing_behind() {
    let cluster = TestCluster::start();
    let admin = cluster.admin("postgres").await;
    let tmp = cli::shared_tempdir();
    let mut p = Running::spawn(
        cli::querylab(tmp.path())
            .args(["run", "--backend", "url", "--quiet", "--rows", "100"])
            .arg("--database-url")
            .arg(cluster.superuser_url("postgres"))
            .arg("--scenario")
            .arg(scenario())
            .args(["--only", "long.running"])
            .arg("--out")
            .arg(tmp.path().join("out")),
    );
    let clients = "SELECT count(*) FROM pg_stat_activity \
                   WHERE datname LIKE 'querylab_%' AND query LIKE '%pg_sleep%'";
    let admin = &admin;
    cli::wait_for(Duration::from_secs(120), "eight clients running", || {
        let running = p.running();
        let stderr = p.stderr_so_far();
        async move {
            assert!(running, "querylab exited before its workload ran: {stderr}");
            let n: i64 = admin.query_one(clients, &[]).await.ok()?.get(0);
            (n >= 8).then_some(())
        }
    })
    .await;
    p.signal(Signal::SIGINT);
    let (latency, output) = p
        .time_to_exit(Duration::from_secs(10))
        .expect("querylab still ran 10 s after Ctrl-C mid-workload");
    eprintln!("stop latency mid-workload: {latency:?}");
    assert_eq!(output.code(), Some(2), "stderr: {}", output.stderr);
    assert!(output.error_lines()[0].contains("interrupted"));
    let sessions = "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'querylab_%'";
    cli::wait_for(
        Duration::from_secs(10),
        "no querylab session left",
        || async move {
            let n: i64 = admin.query_one(sessions, &[]).await.ok()?.get(0);
            (n == 0).then_some(())
        },
    )
    .await;
    assert_eq!(cluster.querylab_databases().await, Vec::<String>::new());
}
