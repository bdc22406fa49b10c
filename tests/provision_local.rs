//! The `local` backend against the machine's real PostgreSQL binaries: a cluster
//! comes up, records its settings, and leaves no process and no directory behind —
//! after shutdown, a plain drop, a panic, or a failed start.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::common;

use common::cluster::children_of;
use querylab::provision::{self, BackendKind, ProvisionConfig, Server, local};

fn local_config() -> ProvisionConfig {
    ProvisionConfig {
        backend: BackendKind::Local,
        quiet: true,
        ..ProvisionConfig::default()
    }
}

/// What a running cluster consists of: its temp dir, postmaster and the
/// postmaster's children, read before teardown so we can check they are gone.
#[derive(Debug)]
struct Footprint {
    dir: PathBuf,
    postmaster: i32,
    children: Vec<i32>,
}

async fn footprint(server: &Server) -> Footprint {
    let admin = server.admin().await.unwrap();
    let data: String = admin
        .query_one("SHOW data_directory", &[])
        .await
        .unwrap()
        .get(0);
    footprint_of(Path::new(&data))
}

fn footprint_of(data: &Path) -> Footprint {
    let pidfile = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
    let postmaster: i32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
    assert!(alive(postmaster), "postmaster {postmaster} runs");
    let children = children_of(postmaster);
    assert!(
        !children.is_empty(),
        "a running postmaster has helper processes"
    );
    Footprint {
        dir: data.parent().unwrap().to_path_buf(),
        postmaster,
        children,
    }
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Every process of the cluster has exited and its directory is gone.
fn assert_gone(f: &Footprint) {
    assert!(
        !alive(f.postmaster),
        "postmaster {} still running",
        f.postmaster
    );
    for c in &f.children {
        assert!(!alive(*c), "server process {c} still running");
    }
    assert!(!f.dir.exists(), "{} still exists", f.dir.display());
}

/// A parent directory the server's user (maybe `postgres`, when we are root) can
/// traverse, to watch for leftovers of one provisioning.
fn watched_parent() -> tempfile::TempDir {
    let parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    parent
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

fn bindir() -> PathBuf {
    local::find_bindir(local::candidate_bindirs()).unwrap()
}

#[tokio::test]
async fn provisions_runs_queries_records_settings_and_shuts_down_clean() {
    let started = Instant::now();
    let server = provision::provision(&local_config()).await.unwrap();
    // Not asserted (tests never assert timing): shown with --nocapture.
    println!(
        "local backend: start to ready (initdb + start + connect + settings read): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(server.backend(), "local");
    let info = server.info();
    assert!(
        info.label.starts_with("local-pg") && info.label.len() > "local-pg".len(),
        "label {}",
        info.label
    );
    assert!(info.image.is_none());
    assert!(info.version_num >= 100_000, "version {}", info.version_num);
    assert_eq!(info.label, format!("local-pg{}", info.version_num / 10_000));
    for (name, want) in [
        ("fsync", "off"),
        ("shared_buffers", "1GB"),
        ("work_mem", "16MB"),
        ("maintenance_work_mem", "512MB"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("jit", "off"),
        ("random_page_cost", "1.1"),
        ("wal_level", "minimal"),
        ("max_parallel_workers_per_gather", "2"),
        ("max_connections", "100"),
    ] {
        assert_eq!(
            info.settings.get(name).map(String::as_str),
            Some(want),
            "setting {name}"
        );
    }

    let c = server.admin().await.unwrap();
    let n: i64 = c
        .query_one("SELECT sum(g)::bigint FROM generate_series(1, 100) g", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 5050);
    // NULL for a unix-socket connection: querylab talks to its own cluster through
    // the socket in the temp dir, not loopback TCP.
    let tcp: Option<String> = c
        .query_one("SELECT inet_server_addr()::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tcp, None, "connected through the cluster's unix socket");
    drop(c);

    let name = format!("{}_probe", server.run_prefix());
    server.create_database(&name, None).await.unwrap();
    server.connect(&name).await.unwrap();

    let f = footprint(&server).await;
    let meta = std::fs::metadata(&f.dir).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o700, "temp dir is private");
    if nix::unistd::geteuid().is_root() {
        assert_ne!(
            meta.uid(),
            0,
            "as root, the cluster belongs to an unprivileged user"
        );
    }
    server.shutdown().await.unwrap();
    assert_gone(&f);
}

#[tokio::test]
async fn plain_drop_cleans_up() {
    let server = provision::provision(&local_config()).await.unwrap();
    let f = footprint(&server).await;
    drop(server);
    assert_gone(&f);
}

#[test]
fn panic_in_test_body_cleans_up() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let server = provision::provision(&local_config()).await.unwrap();
            tx.send(footprint(&server).await).unwrap();
            panic!("simulated failure in a test body while the server runs");
        })
    })
    .join();
    assert!(outcome.is_err(), "the body panicked");
    let f = rx.recv().unwrap();
    assert_gone(&f);
}

#[test]
fn missing_binaries_give_one_clear_error() {
    let incomplete = tempfile::tempdir().unwrap();
    let initdb = incomplete.path().join("initdb");
    std::fs::write(&initdb, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&initdb, std::fs::Permissions::from_mode(0o755)).unwrap();
    for candidates in [
        vec![],
        vec![PathBuf::from("/nonexistent/querylab/bin")],
        vec![incomplete.path().to_path_buf()],
    ] {
        let err = local::find_bindir(candidates).unwrap_err().to_string();
        assert!(err.starts_with("local backend: "), "{err}");
        assert!(err.contains("apt-get install postgresql"), "{err}");
        assert!(err.contains("--backend docker"), "{err}");
        assert!(err.contains("--database-url"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
    assert_eq!(local::find_bindir([bindir()]).unwrap(), bindir());
}

#[tokio::test]
async fn failed_start_quotes_the_log_and_leaves_nothing() {
    let parent = watched_parent();
    let mut config = local_config();
    config
        .settings
        .0
        .insert("shared_buffers".into(), "lots".into());
    let err = match local::provision_with(&config, &bindir(), parent.path()).await {
        Ok(_) => panic!("a server with shared_buffers=lots must not start"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("local backend: postgres exited"), "{err}");
    assert!(err.contains("shared_buffers"), "log tail quoted: {err}");
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(
        entries(parent.path()).is_empty(),
        "left behind: {:?}",
        entries(parent.path())
    );
}

#[tokio::test]
async fn failed_initdb_quotes_its_output_and_leaves_nothing() {
    let fake = watched_parent();
    for bin in ["initdb", "postgres", "pg_ctl"] {
        let p = fake.path().join(bin);
        std::fs::write(
            &p,
            "#!/bin/sh\necho \"$0: simulated failure\" >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let parent = watched_parent();
    let err = match local::provision_with(&local_config(), fake.path(), parent.path()).await {
        Ok(_) => panic!("a failing initdb must fail provisioning"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("local backend: initdb failed"), "{err}");
    assert!(err.contains("simulated failure"), "{err}");
    assert!(
        entries(parent.path()).is_empty(),
        "left behind: {:?}",
        entries(parent.path())
    );
}

#[tokio::test]
async fn three_servers_in_parallel_get_distinct_ports_and_all_work() {
    let config = local_config();
    let (a, b, c) = tokio::join!(
        provision::provision(&config),
        provision::provision(&config),
        provision::provision(&config)
    );
    let servers = [a.unwrap(), b.unwrap(), c.unwrap()];
    let mut ports: Vec<u16> = servers
        .iter()
        .map(|s| s.config_for("postgres").get_ports()[0])
        .collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 3, "distinct ports");
    let mut footprints = Vec::new();
    for s in &servers {
        let port: String = s
            .admin()
            .await
            .unwrap()
            .query_one("SHOW port", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(port, s.config_for("postgres").get_ports()[0].to_string());
        footprints.push(footprint(s).await);
    }
    let dirs: std::collections::BTreeSet<_> = footprints.iter().map(|f| f.dir.clone()).collect();
    assert_eq!(dirs.len(), 3, "distinct dirs");
    for s in servers {
        s.shutdown().await.unwrap();
    }
    footprints.iter().for_each(assert_gone);
}

#[tokio::test]
async fn keep_leaves_the_server_running_after_drop() {
    let config = ProvisionConfig {
        keep: true,
        ..local_config()
    };
    let provisioned = local::provision(&config).await.unwrap();
    let mut url = provisioned.base.clone();
    url.dbname("postgres");
    let client = provision::connect_with(&url, "postgres").await.unwrap();
    let data: String = client
        .query_one("SHOW data_directory", &[])
        .await
        .unwrap()
        .get(0);
    drop(client);
    let f = footprint_of(Path::new(&data));
    // What happens to a kept server: teardown is never called, the handle goes away.
    drop(provisioned);
    assert!(alive(f.postmaster), "kept server still runs");
    let client = provision::connect_with(&url, "postgres").await.unwrap();
    client.query_one("SELECT 1", &[]).await.unwrap();
    drop(client);

    // Stop it as a user would, then reap it: it is still this process's child.
    let pid = nix::unistd::Pid::from_raw(f.postmaster);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGQUIT).unwrap();
    nix::sys::wait::waitpid(pid, None).unwrap();
    std::fs::remove_dir_all(&f.dir).unwrap();
    assert_gone(&f);
}
