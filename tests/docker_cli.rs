//! The `querylab` binary end to end on the docker backend: `load` and `run` with
//! `--pg-image`, two images compared in one run, Ctrl-C / SIGTERM and a server that
//! will not start (exit 2, nothing left: labelled containers, volumes and networks
//! counted before and after), and `auto` falling back to `local` with one line.
//!
//! Skipped, with a line saying so, only when no Docker engine answers (the fallback
//! from a missing engine runs everywhere). The image is the one of
//! `tests/common/docker.rs`; the tests count what is on the engine, so they run one
//! at a time, also against other test runs on the same engine.

use crate::common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::docker::{engine_with_image, footprint, image_major, lock_engine, second_image};
use querylab::provision::{BackendKind, ProvisionConfig, ServerSettings, provision};
use querylab::results::{LoadReport, RunResults, RunStatus, VariantStatus};

/// Two cheap comparisons (one with three variants, one with two).
const ONLY: &str = "index.lower_name,pagination.offset_vs_keyset.medium";
/// Few samples: these tests check what is recorded, not how fast anything is.
const QUICK: &[&str] = &[
    "--min-samples",
    "3",
    "--min-time",
    "0",
    "--max-time",
    "1",
    "--warmup",
    "1",
];

fn querylab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_querylab"))
}

/// Runs the binary to the end, off the runtime's threads.
async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("waiter")
        .expect("running querylab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `querylab run` on the docker backend with `images`, quick sampling, into `out`.
fn run_cmd(images: &[&str], out: &Path) -> Command {
    run_only(images, out, ONLY)
}

/// The same for the comparisons `only`.
fn run_only(images: &[&str], out: &Path, only: &str) -> Command {
    let mut cmd = querylab();
    cmd.args([
        "run",
        "--backend",
        "docker",
        "--rows",
        "20000",
        "--only",
        only,
    ])
    .args(QUICK)
    .arg("--out")
    .arg(out);
    for image in images {
        cmd.args(["--pg-image", image]);
    }
    cmd
}

/// What a throwaway `local` server records: the docker one must record the same.
async fn local_settings() -> std::collections::BTreeMap<String, String> {
    let local = provision(&ProvisionConfig {
        backend: BackendKind::Local,
        quiet: true,
        ..ProvisionConfig::default()
    })
    .await
    .expect("a local server to compare settings with");
    let settings = local.info().settings.clone();
    local.shutdown().await.expect("local shutdown");
    settings
}

#[tokio::test]
async fn load_and_run_through_the_binary_on_docker() {
    let _engine = lock_engine().await;
    let Some(image) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;

    let mut load = querylab();
    load.args(["load", "--backend", "docker", "--pg-image", &image])
        .args(["--rows", "20000", "--json", "--quiet"]);
    let out = output(load).await;
    assert_ok(&out, "querylab load");
    let report: LoadReport = serde_json::from_slice(&out.stdout).expect("load --json");
    assert_eq!(report.backend, "docker");
    assert!(!report.reused, "a fresh container has no template to reuse");
    assert!(report.rows > 20_000, "{} rows", report.rows);
    let ml_jobs = report.tables.iter().find(|t| t.name == "jobs.ml_jobs");
    assert_eq!(ml_jobs.map(|t| t.rows), Some(20_000));
    assert_eq!(footprint().await, before, "nothing left after load");

    let dir = tempfile::tempdir().expect("temp dir");
    // With a short workload: its clients connect over TCP (the container's port),
    // through their own read-watched sockets (src/workload/socket.rs).
    let mut run = run_only(&[&image], dir.path(), &format!("{ONLY},upsert.contention"));
    run.args(["--clients", "2", "--duration-factor", "0.2"]);
    let out = output(run).await;
    assert_ok(&out, "querylab run");
    let results = RunResults::read(&dir.path().join("results.json")).expect("results.json");
    assert_eq!(results.status, RunStatus::Complete);
    let [ds] = results.datasets.as_slice() else {
        panic!("one dataset: {:?}", results.datasets.len());
    };
    assert_eq!(ds.server.backend, "docker");
    assert_eq!(ds.server.image.as_deref(), Some(image.as_str()));
    assert_eq!(ds.server.label, image);
    assert_eq!(ds.key, format!("{image}/rows=20000"));
    if let Some(major) = image_major(&image) {
        assert_eq!(
            ds.server.version_num / 10000,
            major,
            "{}",
            ds.server.version
        );
    }
    let ids: Vec<&str> = ds.comparisons.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "pagination.offset_vs_keyset.medium",
            "index.lower_name",
            "upsert.contention"
        ]
    );
    let (workloads, reads): (Vec<_>, Vec<_>) = ds
        .comparisons
        .iter()
        .flat_map(|c| &c.variants)
        .partition(|v| v.workload.is_some());
    assert!(
        reads
            .iter()
            .all(|v| v.status == VariantStatus::Ok && v.stats.is_some()),
        "every variant measured"
    );
    assert_eq!(workloads.len(), 2, "upsert.contention's two variants");
    for v in workloads {
        assert_eq!(v.status, VariantStatus::Ok, "{}", v.name);
        let level = v.workload.as_ref().and_then(|w| w.level(2));
        let level = level.unwrap_or_else(|| panic!("{}: no level at 2 clients", v.name));
        assert!(level.committed > 0, "{}: nothing committed", v.name);
        assert!(level.verify.as_ref().is_some_and(|r| r.ok), "{}", v.name);
    }
    // The settings are set and recorded exactly as for local: fsync is off because
    // we say so (the documented default), not because testcontainers' module does.
    assert_eq!(ds.server.settings, local_settings().await);
    let defaults = ServerSettings::default();
    for name in ["fsync", "synchronous_commit", "full_page_writes", "jit"] {
        assert_eq!(ds.server.settings[name], defaults.0[name], "{name}");
    }
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).expect("summary.md");
    assert!(
        summary.contains(&format!("### {image} · 20,000 rows")),
        "{summary}"
    );
    assert!(dir.path().join("index.html").exists());
    assert_eq!(footprint().await, before, "nothing left after run");
}

#[tokio::test]
async fn two_images_in_one_run_are_measured_and_compared_side_by_side() {
    let _engine = lock_engine().await;
    let Some(first) = engine_with_image().await else {
        return;
    };
    let second = second_image(&first);
    let before = footprint().await;

    let dir = tempfile::tempdir().expect("temp dir");
    let out = output(run_cmd(&[&first, &second], dir.path())).await;
    assert_ok(&out, "querylab run with two images");
    let results = RunResults::read(&dir.path().join("results.json")).expect("results.json");
    assert_eq!(results.status, RunStatus::Complete);
    let labels: Vec<&str> = results
        .datasets
        .iter()
        .map(|d| d.server.label.as_str())
        .collect();
    assert_eq!(
        labels,
        [first.as_str(), second.as_str()],
        "one dataset per image"
    );
    let settings = &results.datasets[0].server.settings;
    for (ds, image) in results.datasets.iter().zip([&first, &second]) {
        assert_eq!(ds.server.backend, "docker");
        assert_eq!(ds.server.image.as_deref(), Some(image.as_str()));
        // Each server's own version, read from that server.
        assert!(ds.server.version_num >= 100000, "{}", ds.server.version);
        if let Some(major) = image_major(image) {
            assert_eq!(ds.server.version_num / 10000, major, "{image}");
        }
        assert_eq!(&ds.server.settings, settings, "same settings on both");
        assert_eq!(ds.comparisons.len(), 2, "{image}: both comparisons");
    }

    // The reports put them side by side.
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).expect("summary.md");
    let header = summary
        .lines()
        .skip_while(|l| *l != "### Servers side by side · 20,000 rows")
        .find(|l| l.starts_with("| Comparison | Variant |"))
        .unwrap_or_else(|| panic!("no servers side by side in the summary:\n{summary}"));
    for ds in &results.datasets {
        let short = ds.server.version.split_whitespace().next().unwrap();
        let column = format!("{} (PostgreSQL {short})", ds.server.label);
        assert!(header.contains(&column.replace('_', "\\_")), "{header}");
    }
    let html = std::fs::read_to_string(dir.path().join("index.html")).expect("index.html");
    let servers = html
        .split("<section id=\"servers\">")
        .nth(1)
        .expect("servers side by side in the HTML");
    assert!(servers.contains(&format!("<th class=\"num\">{first}<div")));
    assert!(servers.contains(&format!("<th class=\"num\">{second}<div")));
    assert_eq!(footprint().await, before, "nothing left after run");
}

/// Starts `cmd`, waits until its container exists, lets it work a moment, sends
/// `signal`, and returns how it ended.
async fn interrupt(
    mut cmd: Command,
    signal: nix::sys::signal::Signal,
    containers: usize,
) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning querylab");
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("querylab ended before it was interrupted: {status}\n{err}");
        }
        if footprint().await.containers.len() > containers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Into the load (3M rows take far longer than this), past the start.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).expect("signal");
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("waiter")
        .expect("child exit")
}

#[tokio::test]
async fn ctrl_c_and_sigterm_stop_the_binary_and_leave_nothing() {
    use nix::sys::signal::Signal;
    let _engine = lock_engine().await;
    let Some(image) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;
    let dir = tempfile::tempdir().expect("temp dir");
    for (command, signal) in [("run", Signal::SIGINT), ("load", Signal::SIGTERM)] {
        let mut cmd = querylab();
        cmd.args([command, "--backend", "docker", "--pg-image", &image])
            .args(["--rows", "3000000", "--quiet"]);
        if command == "run" {
            cmd.args(["--only", ONLY, "--out"]).arg(dir.path());
        }
        let out = interrupt(cmd, signal, before.containers.len()).await;
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command} after {signal}: {stderr}"
        );
        assert!(stderr.contains("Error: interrupted"), "{command}: {stderr}");
        assert_eq!(footprint().await, before, "{command} after {signal}");
    }
}

#[tokio::test]
async fn a_server_that_will_not_start_is_exit_2_and_leaves_nothing() {
    let _engine = lock_engine().await;
    let Some(image) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = run_cmd(&[&image], dir.path());
    cmd.args(["--set", "no_such_setting=1", "--quiet"]);
    let out = output(cmd).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let error: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("Error: "))
        .collect();
    let [line] = error.as_slice() else {
        panic!("one error line: {stderr}");
    };
    assert!(line.starts_with("Error: docker backend: "), "{line}");
    assert!(line.contains("no_such_setting"), "{line}");
    assert_eq!(footprint().await, before);
}

/// `querylab load --backend auto` with `env` set: exit 0 on `local`, and stderr is
/// exactly one line, which says why docker was not used.
async fn falls_back_with_one_line(image: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = querylab();
    cmd.args(["load", "--backend", "auto", "--pg-image", image])
        .args(["--rows", "1000"])
        .envs(env.iter().copied());
    let out = output(cmd).await;
    assert_ok(&out, "querylab load --backend auto");
    assert!(
        text(&out.stdout).contains(" on local ("),
        "{}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let [line] = lines.as_slice() else {
        panic!("one line on stderr, got:\n{stderr}");
    };
    assert!(line.starts_with("querylab: not using docker: "), "{line}");
    assert!(line.ends_with("; trying local"), "{line}");
    line.to_string()
}

#[tokio::test]
async fn auto_falls_back_to_local_with_one_line_when_the_image_is_missing() {
    let _engine = lock_engine().await;
    let Some(_) = engine_with_image().await else {
        return;
    };
    let missing = "querylab/postgres:no-such-tag-for-tests";
    let line = falls_back_with_one_line(missing, &[]).await;
    assert!(
        line.contains(&format!("image {missing} is not present locally")),
        "{line}"
    );
}

#[tokio::test]
async fn auto_falls_back_to_local_with_one_line_when_no_engine_answers() {
    // Runs with or without an engine: DOCKER_HOST points at nothing.
    let line = falls_back_with_one_line(
        &common::docker::image(),
        &[(
            "DOCKER_HOST",
            "unix:///nonexistent/querylab-test/docker.sock",
        )],
    )
    .await;
    assert!(line.contains("no Docker engine"), "{line}");
}

#[tokio::test]
async fn auto_uses_a_locally_built_image_when_the_default_one_is_absent() {
    let _engine = lock_engine().await;
    let Some(image) = engine_with_image().await else {
        return;
    };
    let default = querylab::provision::DEFAULT_PG_IMAGE;
    if docker_cli_has_image(default) {
        eprintln!("skipping: {default} is present locally, so it is the one used");
        return;
    }
    assert!(
        image.starts_with(querylab::provision::docker::LOCAL_BUILD_REPO),
        "the image under test ({image}) is not one built by scripts/build-postgres-image.sh"
    );
    let before = footprint().await;
    let mut cmd = querylab();
    cmd.args(["load", "--backend", "auto", "--rows", "1000", "--json"])
        .env_remove("QUERYLAB_PG_IMAGE");
    let out = output(cmd).await;
    assert_ok(&out, "querylab load --backend auto, no --pg-image");
    let report: LoadReport = serde_json::from_slice(&out.stdout).expect("load --json");
    assert_eq!(report.backend, "docker", "docker, not the local fallback");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let [line] = lines.as_slice() else {
        panic!("one line on stderr, got:\n{stderr}");
    };
    let prefix = format!(
        "querylab: {default} is not present locally; using the locally built {}:",
        querylab::provision::docker::LOCAL_BUILD_REPO
    );
    assert!(line.starts_with(&prefix), "{line}");
    assert!(!line.contains("registry"), "{line}");
    assert_eq!(footprint().await, before, "the container is removed");
}

/// Whether the engine has `image` locally (`docker image inspect`).
fn docker_cli_has_image(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
