//! The docker backend against a real Docker engine, with real PostgreSQL in the
//! container: provisioning, recorded settings, and no leaks after a normal exit, an
//! error, a panic or SIGTERM (labelled containers, volumes and networks counted
//! before and after).
//!
//! Skipped, with a line saying so, only when no Docker engine answers. The image is
//! `QUERYLAB_TEST_PG_IMAGE` or `querylab/postgres:15-bookworm`, built with
//! `scripts/build-postgres-image.sh` first when it is missing (needs root); see
//! `tests/common/docker.rs`. The tests count what is on the engine, so they run
//! one at a time, also against other test runs on the same engine
//! ([`common::docker::lock_engine`]). The binary end to end is in
//! `tests/docker_cli.rs`.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::docker::{
    config, container_ip, engine_with_image, footprint, image_volumes, lock_engine,
};
use querylab::Error;
use querylab::provision::{BackendKind, ProvisionConfig, Server, docker, provision};
use querylab::shutdown::Shutdown;

const CHILD_ENV: &str = "QUERYLAB_DOCKER_TEST_CHILD";

async fn show(server: &Server, name: &str) -> String {
    let c = server.admin().await.expect("admin connection");
    c.query_one(&format!("SHOW {name}"), &[])
        .await
        .expect("SHOW")
        .get(0)
}

#[tokio::test]
async fn provisions_records_settings_and_removes_everything_on_shutdown() {
    let _engine = lock_engine().await;
    let Some(image) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;

    let started = Instant::now();
    let server = provision(&config(BackendKind::Docker))
        .await
        .expect("docker server");
    eprintln!(
        "docker backend: {image} from start to a real connection in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(server.backend(), "docker");
    assert_eq!(server.info().image.as_deref(), Some(image.as_str()));
    assert_eq!(server.info().label, image);
    assert!(
        server.info().version_num >= 100000,
        "{:?}",
        server.info().version
    );
    let during = footprint().await;
    assert_eq!(during.containers.len(), before.containers.len() + 1);
    // The image's VOLUMEs (PGDATA, for ours as for the official image) are anonymous
    // volumes of this container: the count after shutdown proves they went with it.
    assert_eq!(during.volumes, before.volumes + image_volumes(&image));

    // Measured without a port forwarder in the path: querylab connects to the
    // container's own address whenever this host can reach it.
    let id = during
        .containers
        .iter()
        .find(|c| !before.containers.contains(c))
        .expect("the new container");
    let ip = container_ip(id).expect("the container's address");
    let reachable =
        std::net::TcpStream::connect_timeout(&(ip, 5432).into(), Duration::from_secs(1)).is_ok();
    let cfg = server.config_for("postgres");
    if reachable {
        assert_eq!(
            cfg.get_hosts(),
            [tokio_postgres::config::Host::Tcp(ip.to_string())]
        );
        assert_eq!(cfg.get_ports(), [5432]);
    } else {
        eprintln!("{ip}:5432 is not reachable from here: querylab uses the published port");
    }

    // Recorded settings are the live ones, and they are ours (fsync included).
    let defaults = querylab::provision::ServerSettings::default();
    for name in [
        "fsync",
        "shared_buffers",
        "jit",
        "synchronous_commit",
        "wal_level",
    ] {
        let recorded = &server.info().settings[name];
        assert_eq!(recorded, &defaults.0[name], "{name} as set");
        assert_eq!(recorded, &show(&server, name).await, "{name} as recorded");
    }

    // The server is usable the way the rest of querylab uses it.
    let db = format!("{}_probe", server.run_prefix());
    server
        .create_database(&db, None)
        .await
        .expect("create database");
    let c = server.connect(&db).await.expect("connect");
    let n: i32 = c
        .query_one("SELECT 41 + 1", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(n, 42);
    drop(c);

    server.shutdown().await.expect("shutdown");
    assert_eq!(footprint().await, before, "nothing left after shutdown");
}

#[tokio::test]
async fn a_setting_we_change_is_what_the_container_runs_with() {
    let _engine = lock_engine().await;
    let Some(_) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;
    let mut cfg = config(BackendKind::Docker);
    // testcontainers' Postgres module would force fsync=off; we must not.
    cfg.settings
        .apply_overrides(&["fsync=on".into(), "work_mem=24MB".into()])
        .expect("overrides");
    let server = provision(&cfg).await.expect("docker server");
    assert_eq!(server.info().settings["fsync"], "on");
    assert_eq!(show(&server, "fsync").await, "on");
    assert_eq!(show(&server, "work_mem").await, "24MB");
    server.shutdown().await.expect("shutdown");
    assert_eq!(footprint().await, before);
}

/// A stage that fails half-way: the error returns through `?` and the server guard
/// is dropped, not shut down.
async fn failing_stage(cfg: &ProvisionConfig) -> querylab::Result<()> {
    let server = provision(cfg).await?;
    assert_eq!(server.backend(), "docker", "auto picks docker when usable");
    server.create_database("not_ours", None).await?;
    Ok(())
}

#[tokio::test]
async fn an_error_half_way_leaves_nothing() {
    let _engine = lock_engine().await;
    let Some(_) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;
    let err = failing_stage(&config(BackendKind::Auto))
        .await
        .expect_err("the stage fails");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(footprint().await, before);
}

#[tokio::test]
async fn a_server_that_will_not_start_is_one_clear_error_and_leaves_nothing() {
    let _engine = lock_engine().await;
    let Some(_) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;
    let mut cfg = config(BackendKind::Docker);
    cfg.settings
        .apply_overrides(&["no_such_setting=1".into()])
        .expect("overrides");
    let err = provision(&cfg)
        .await
        .expect_err("postgres refuses the setting");
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.starts_with("docker backend: "), "{msg}");
    assert!(
        msg.contains("no_such_setting"),
        "says what went wrong: {msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert_eq!(footprint().await, before);
}

#[tokio::test]
async fn a_panic_leaves_nothing() {
    let _engine = lock_engine().await;
    let Some(_) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;
    for flavor in ["current_thread", "multi_thread"] {
        let cfg = config(BackendKind::Docker);
        let joined = std::thread::spawn(move || {
            let rt = if flavor == "current_thread" {
                tokio::runtime::Builder::new_current_thread()
            } else {
                tokio::runtime::Builder::new_multi_thread()
            }
            .enable_all()
            .build()
            .expect("runtime");
            rt.block_on(async move {
                let server = provision(&cfg).await.expect("docker server");
                let _c = server.admin().await.expect("connect");
                panic!("deliberate panic while holding a docker server ({flavor})");
            })
        })
        .join();
        assert!(joined.is_err(), "the thread panicked");
        assert_eq!(footprint().await, before, "after a panic ({flavor})");
    }
}

#[tokio::test]
async fn sigterm_leaves_nothing() {
    let _engine = lock_engine().await;
    let Some(_) = engine_with_image().await else {
        return;
    };
    let before = footprint().await;
    // This test binary again, running only `sigterm_child` below.
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "docker::sigterm_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning the child");
    let stdout = child.stdout.take().expect("child stdout");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    // Reads the child's stdout to the end: a closed pipe would make the child's test
    // harness fail on its next line of output.
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if line.contains("CHILD_READY") {
                let _ = ready_tx.send(());
            }
        }
    });
    let ready = tokio::task::spawn_blocking(move || ready_rx.recv().is_ok())
        .await
        .expect("waiting for the child");
    assert!(ready, "the child provisioned a server");
    assert_eq!(
        footprint().await.containers.len(),
        before.containers.len() + 1
    );

    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("waiter")
        .expect("child exit");
    reader.join().expect("reader thread");
    assert!(status.success(), "the child handled SIGTERM: {status}");
    assert_eq!(footprint().await, before, "after SIGTERM");
}

/// Not a test on its own: the child process of `sigterm_leaves_nothing`, which runs
/// it with `--ignored`. It behaves like a querylab command: a server, a long stage
/// that stops on the shutdown signal with `Interrupted`, and the guard dropped.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "child process of sigterm_leaves_nothing"]
async fn sigterm_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let shutdown = Shutdown::on_signals();
    let server = provision(&config(BackendKind::Docker))
        .await
        .expect("docker server");
    println!("CHILD_READY");
    let stage: querylab::Result<()> = tokio::select! {
        _ = shutdown.cancelled() => Err(Error::Interrupted),
        _ = tokio::time::sleep(Duration::from_secs(300)) => Ok(()),
    };
    assert!(matches!(stage, Err(Error::Interrupted)));
    drop(server);
}

#[tokio::test]
async fn a_missing_image_is_refused_quickly_with_what_to_do() {
    let _engine = lock_engine().await;
    if let Err(why) = docker::engine_answers().await {
        eprintln!("skipping docker test: {why}");
        return;
    }
    let mut cfg = config(BackendKind::Docker);
    cfg.pg_image = Some("postgres:does-not-exist".into());
    let why = docker::usable(&cfg).await.expect_err("no such image");
    assert!(why.contains("postgres:does-not-exist"), "{why}");

    let before = footprint().await;
    let started = Instant::now();
    let err = provision(&cfg).await.expect_err("no such image");
    let msg = err.to_string();
    eprintln!(
        "{msg} (decided in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    assert!(msg.contains("build-postgres-image.sh"), "{msg}");
    assert!(msg.contains("--backend local"), "{msg}");
    assert_eq!(footprint().await, before);
}

#[test]
fn no_engine_is_one_clear_error() {
    // A child process, because testcontainers reads DOCKER_HOST once per process.
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "docker::no_engine_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .env(
            "DOCKER_HOST",
            "unix:///nonexistent/querylab-test/docker.sock",
        )
        .output()
        .expect("running the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD_OK"),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Not a test on its own: the child process of `no_engine_is_one_clear_error`, run
/// with DOCKER_HOST pointing at a socket that does not exist.
#[tokio::test]
#[ignore = "child process of no_engine_is_one_clear_error"]
async fn no_engine_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let why = docker::usable(&config(BackendKind::Docker))
        .await
        .expect_err("no engine");
    assert!(why.contains("no Docker engine"), "{why}");
    let msg = provision(&config(BackendKind::Docker))
        .await
        .expect_err("no engine")
        .to_string();
    assert!(msg.starts_with("docker backend: no Docker engine"), "{msg}");
    assert!(msg.contains("start Docker"), "{msg}");
    assert!(msg.contains("--backend local"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    println!("{msg}");
    println!("CHILD_OK");
}
