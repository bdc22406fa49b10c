//! Shared helpers for the tests that need a Docker engine (`tests/docker.rs`, the
//! backend through the library; `tests/docker_cli.rs`, the binary end to end).
//!
//! The image is `QUERYLAB_TEST_PG_IMAGE` or `querylab/postgres:15-bookworm`, built
//! with `scripts/build-postgres-image.sh` when it is missing (needs root). A test
//! skips, saying so, only when no Docker engine answers.

use std::process::Command;

use querylab::provision::{BackendKind, ProvisionConfig, docker};

/// Serialises the docker tests of one test binary.
static ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The engine held for one test; released on drop.
pub struct EngineLock {
    _in_process: tokio::sync::MutexGuard<'static, ()>,
    _across_processes: nix::fcntl::Flock<std::fs::File>,
}

/// Holds the engine for one test, in this process and across processes (an
/// exclusive `flock` on a file in the temp dir): the tests count what is on the
/// engine, and another test run on the same engine (another checkout, another CI
/// job) would change the count under them.
pub async fn lock_engine() -> EngineLock {
    let in_process = ENGINE.lock().await;
    let path = std::env::temp_dir().join("querylab-docker-tests.lock");
    let across = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .unwrap_or_else(|(_, e)| panic!("locking {}: {e}", path.display()))
    })
    .await
    .expect("lock thread");
    EngineLock {
        _in_process: in_process,
        _across_processes: across,
    }
}

/// The image the docker tests use when `QUERYLAB_TEST_PG_IMAGE` is not set.
pub const DEFAULT_TEST_IMAGE: &str = "querylab/postgres:15-bookworm";

/// The image under test.
pub fn image() -> String {
    std::env::var("QUERYLAB_TEST_PG_IMAGE").unwrap_or_else(|_| DEFAULT_TEST_IMAGE.into())
}

/// A quiet provision config for `backend` with the image under test.
pub fn config(backend: BackendKind) -> ProvisionConfig {
    ProvisionConfig {
        backend,
        pg_image: Some(image()),
        quiet: true,
        ..ProvisionConfig::default()
    }
}

/// `Some(image)` when an engine answers and the image exists (built here if it was
/// missing); `None` after printing why the test is skipped.
pub async fn engine_with_image() -> Option<String> {
    if let Err(why) = docker::engine_answers().await {
        eprintln!("skipping docker test: {why}");
        return None;
    }
    let image = image();
    if docker::usable(&config(BackendKind::Docker)).await.is_err() {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/build-postgres-image.sh"
        );
        let arg = image.clone();
        let status = tokio::task::spawn_blocking(move || Command::new(script).arg(arg).status())
            .await
            .expect("build thread")
            .expect("running scripts/build-postgres-image.sh");
        assert!(status.success(), "building {image} failed: {status}");
    }
    Some(image)
}

/// A second image for comparing servers in one run: `QUERYLAB_TEST_PG_IMAGE_B` when
/// set (e.g. `querylab/postgres:17-trixie`, which must exist), else the image under
/// test tagged again as `<image>-b` (here, and by `.ci/run`). A second tag costs nothing, where building a PostgreSQL 17 image costs
/// minutes of CI; what differs between servers is read from the servers either way.
pub fn second_image(first: &str) -> String {
    if let Ok(b) = std::env::var("QUERYLAB_TEST_PG_IMAGE_B") {
        assert!(
            docker_cli(&["image", "inspect", "-f", "{{.Id}}", &b]).is_some(),
            "QUERYLAB_TEST_PG_IMAGE_B={b} is not present locally: build or pull it first"
        );
        return b;
    }
    let b = format!("{first}-b");
    // Every time (instant, idempotent): the tag follows a rebuilt first image.
    docker_cli(&["tag", first, &b]).unwrap_or_else(|| panic!("docker tag {first} {b}"));
    b
}

/// How many volumes an image declares (`VOLUME`): each container of it gets as
/// many anonymous volumes, which its removal must remove too.
pub fn image_volumes(image: &str) -> usize {
    docker_cli(&[
        "image",
        "inspect",
        "-f",
        "{{range $v, $_ := .Config.Volumes}}{{println $v}}{{end}}",
        image,
    ])
    .map_or(0, |v| v.lines().filter(|l| !l.is_empty()).count())
}

/// The IP address of container `id` on its network, as the engine reports it.
pub fn container_ip(id: &str) -> Option<std::net::IpAddr> {
    docker_cli(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}",
        id,
    ])?
    .lines()
    .find_map(|l| l.trim().parse().ok())
}

/// The PostgreSQL major version an image says it carries: the label set by
/// `scripts/build-postgres-image.sh`, or `PG_MAJOR` of the official images.
pub fn image_major(image: &str) -> Option<u32> {
    let label = docker_cli(&[
        "image",
        "inspect",
        "-f",
        "{{index .Config.Labels \"org.querylab.image.postgresql\"}}",
        image,
    ])?;
    if let Ok(m) = label.parse() {
        return Some(m);
    }
    let env = docker_cli(&[
        "image",
        "inspect",
        "-f",
        "{{range .Config.Env}}{{println .}}{{end}}",
        image,
    ])?;
    env.lines()
        .find_map(|l| l.strip_prefix("PG_MAJOR="))
        .and_then(|m| m.parse().ok())
}

/// Runs the docker CLI; its trimmed stdout on success.
fn docker_cli(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What querylab may leave on the engine: labelled containers, volumes, networks.
#[derive(Debug, PartialEq)]
pub struct Footprint {
    /// Ids of the containers labelled `org.querylab.managed=true`, sorted.
    pub containers: Vec<String>,
    /// Volumes on the engine.
    pub volumes: usize,
    /// Networks on the engine.
    pub networks: usize,
}

/// The engine's current [`Footprint`].
pub async fn footprint() -> Footprint {
    let mut containers = docker::managed_containers()
        .await
        .expect("listing containers");
    containers.sort();
    let (volumes, networks) = docker::volume_and_network_counts()
        .await
        .expect("counting volumes and networks");
    Footprint {
        containers,
        volumes,
        networks,
    }
}
