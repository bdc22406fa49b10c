//! The `docker` backend: PostgreSQL in a throwaway container started by testcontainers.
//!
//! The image comes from `--pg-image` (default [`super::DEFAULT_PG_IMAGE`]); any image
//! that behaves like the official `postgres` one works, including the one
//! `scripts/build-postgres-image.sh` builds without a registry. The container gets:
//! - our server settings as `postgres -c name=value` arguments, all of them explicit
//!   (testcontainers-modules' Postgres would otherwise add `fsync=off` on its own;
//!   what we record is read back from the live server);
//! - a random superuser password, never printed (tokio-postgres' `Config` hides it);
//! - port 5432 published on 127.0.0.1 only, on a free port; querylab itself
//!   connects to the container's own address when it can (a local engine), so no
//!   port forwarder adds latency to what is measured;
//! - the labels [`MANAGED_LABEL`], [`PID_LABEL`] and [`INSTANCE_LABEL`], so that
//!   everything querylab starts can be found, counted and removed.
//!
//! Ready means a real connection succeeded. Teardown force-removes the container and
//! its anonymous volumes synchronously, from a thread with its own runtime, so it
//! works from `Drop` in any context: inside or outside a runtime, while one shuts
//! down, or while a panic unwinds. Anything labelled with this instance is removed
//! too, which covers a start that failed or was cancelled half-way.

mod connect;
mod engine;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use testcontainers::core::IntoContainerPort;
use testcontainers::core::logs::LogFrame;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ImageExt};
use testcontainers_modules::postgres::Postgres;

use super::{DEFAULT_PG_IMAGE, ProvisionConfig, Provisioned};
use crate::error::{Error, Result};
use connect::{client_config, direct_config, is_loopback, wait_for_connection};
use engine::Unusable;

/// Label on every container querylab starts (value `true`).
pub const MANAGED_LABEL: &str = "org.querylab.managed";
/// Label holding the id of the querylab process that started the container.
pub const PID_LABEL: &str = "org.querylab.pid";
/// Label unique to one provisioned server: what teardown removes by.
pub const INSTANCE_LABEL: &str = "org.querylab.instance";

/// How long the container may take from start to the readiness message. initdb runs
/// on first start and takes several seconds on a busy 2-core machine.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// /dev/shm for parallel query: Docker's default of 64 MB is too small for parallel
/// hash joins with our work_mem. tmpfs, so only what is used costs memory.
const SHM_BYTES: u64 = 1 << 30;

/// Starts a PostgreSQL container and waits until a connection succeeds.
pub async fn provision(config: &ProvisionConfig) -> Result<Provisioned> {
    let image = config.pg_image.as_deref().unwrap_or(DEFAULT_PG_IMAGE);
    ensure_image(config).await?;

    let (name, tag) = split_image(image);
    let instance = uuid::Uuid::new_v4().simple().to_string();
    // 122 random bits; only ever held in memory and in the container's environment.
    let password = uuid::Uuid::new_v4().simple().to_string();
    // Armed before the container exists: if this future is dropped half-way (Ctrl-C)
    // or start fails, the guard removes whatever carries our instance label.
    let mut guard = Cleanup {
        instance: instance.clone(),
        container: None,
        keep: false,
        quiet: config.quiet,
        endpoint: String::new(),
    };
    // The container is gone by the time a failed start returns: keep its last words.
    let tail = LogTail::default();
    let request = Postgres::default()
        .with_user("postgres")
        .with_password(&password)
        .with_db_name("postgres")
        // Only stops the module from adding `-c fsync=off` itself: the command below
        // carries every setting, fsync included, exactly as for `local`.
        .with_fsync_enabled()
        // Skips initdb's final sync of the new cluster: the server is disposable.
        .with_env_var("POSTGRES_INITDB_ARGS", "--no-sync")
        .with_name(name)
        .with_tag(tag)
        .with_cmd(config.settings.as_args())
        .with_label(MANAGED_LABEL, "true")
        .with_label(PID_LABEL, std::process::id().to_string())
        .with_label(INSTANCE_LABEL, &instance)
        .with_mapped_port(0, 5432.tcp())
        .with_host_config_modifier(|host| {
            // Publish on loopback only, on a port the engine picks.
            if let Some(bindings) = host.port_bindings.as_mut() {
                for binding in bindings.values_mut().flatten().flatten() {
                    binding.host_ip = Some("127.0.0.1".into());
                    binding.host_port = Some(String::new());
                }
            }
        })
        .with_shm_size(SHM_BYTES)
        .with_log_consumer({
            let tail = tail.clone();
            move |frame: &LogFrame| tail.push(frame)
        })
        .with_startup_timeout(STARTUP_TIMEOUT);

    let container = match request.start().await {
        Ok(c) => c,
        Err(e) => return Err(start_error(image, &e.to_string(), &tail)),
    };
    let id = container.id().to_string();
    let container = guard.container.insert(container);
    let port = container
        .get_host_port_ipv4(5432.tcp())
        .await
        .map_err(|e| docker_error(format!("reading the published port of {image}: {e}")))?;
    let host = container
        .get_host()
        .await
        .map_err(|e| docker_error(format!("reading the Docker host: {e}")))?
        .to_string();
    // The port is published on IPv4 loopback only; "localhost" may resolve to ::1.
    let host = if host == "localhost" {
        "127.0.0.1".to_string()
    } else {
        host
    };

    let published = client_config(&host, port, &password);
    wait_for_connection(&published).await.map_err(|why| {
        docker_error(format!(
            "{image} started but no connection to {host}:{port} succeeded within {} s ({why}); container {id}",
            connect::CONNECT_TIMEOUT.as_secs()
        ))
    })?;
    // Measure without the engine's port forwarder in the path when possible: on a
    // local Linux engine the published port goes through docker-proxy, which adds
    // about 0.1–0.25 ms to every round trip (pgbench -S here: 162–309 µs through the
    // published port, 57 µs to the container's address), as much as the queries
    // being compared take. Only for a local engine (elsewhere the container's
    // address belongs to another machine); where it is not reachable (Docker
    // Desktop, rootless) the probe gives up within a second.
    let direct = if is_loopback(&host) {
        direct_config(&id, &password).await
    } else {
        None
    };
    let base = direct.unwrap_or(published);

    guard.keep = config.keep;
    guard.endpoint = format!("{image} on {host}:{port}");
    Ok(Provisioned {
        base,
        maintenance_db: "postgres".into(),
        backend: "docker",
        label: image.to_string(),
        image: Some(image.to_string()),
        data_dir: None,
        // Removing the container is the engine's work either way.
        teardown: Some(Box::new(move |_| drop(guard))),
    })
}

/// Ok when a Docker engine answers and the image is present locally or was just
/// pulled; else the error `provision` would give, with what to do. Lets a run that
/// compares several images refuse a missing one before measuring the others.
pub async fn ensure_image(config: &ProvisionConfig) -> Result<()> {
    let image = config.pg_image.as_deref().unwrap_or(DEFAULT_PG_IMAGE);
    let docker = engine::engine().await.map_err(unusable_error)?;
    engine::ensure_image(&docker, image, config.quiet)
        .await
        .map_err(unusable_error)
}

/// Ok when a Docker engine answers and `image` is present locally or could be pulled
/// (deciding within a few seconds when no registry answers); else why not, briefly.
pub async fn usable(config: &ProvisionConfig) -> std::result::Result<(), String> {
    let image = config.pg_image.as_deref().unwrap_or(DEFAULT_PG_IMAGE);
    let docker = engine::engine().await.map_err(reason)?;
    engine::ensure_image(&docker, image, config.quiet)
        .await
        .map_err(reason)
}

/// Repository of the images `scripts/build-postgres-image.sh` builds.
pub const LOCAL_BUILD_REPO: &str = "querylab/postgres";

/// With no `--pg-image`, on a machine where [`DEFAULT_PG_IMAGE`] is not present but
/// an image built by `scripts/build-postgres-image.sh` is, that image (the newest):
/// a machine without registry access then uses what it built instead of failing
/// to pull the default. `None` otherwise — an image was named, no engine answers,
/// the default is present, or nothing was built — and the default applies as before.
pub async fn local_stand_in(config: &ProvisionConfig) -> Option<String> {
    if config.pg_image.is_some() {
        return None;
    }
    let docker = engine::engine().await.ok()?;
    if engine::has_image(&docker, DEFAULT_PG_IMAGE).await {
        return None;
    }
    engine::local_tags(&docker, LOCAL_BUILD_REPO)
        .await
        .ok()?
        .into_iter()
        .next()
}

/// Ok when a Docker engine answers; else why not.
pub async fn engine_answers() -> std::result::Result<(), String> {
    engine::engine().await.map(drop).map_err(reason)
}

/// Ids of the containers labelled [`MANAGED_LABEL`], running or not: what querylab
/// has started and not yet removed (anything left after querylab exits is a leak;
/// remove it with `docker rm -f -v $(docker ps -aq --filter label=org.querylab.managed)`).
pub async fn managed_containers() -> std::result::Result<Vec<String>, String> {
    let docker = engine::engine().await.map_err(reason)?;
    engine::containers_labelled(&docker, MANAGED_LABEL, "true").await
}

/// How many volumes and networks the engine has (for leak checks).
pub async fn volume_and_network_counts() -> std::result::Result<(usize, usize), String> {
    let docker = engine::engine().await.map_err(reason)?;
    engine::volumes_and_networks(&docker).await
}

/// Splits `repo[:tag]` or `repo@digest` into what testcontainers joins with `:`.
/// A `:` before the last `/` belongs to a registry host (`localhost:5000/pg`).
pub(crate) fn split_image(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        // testcontainers builds `name:tag`; `repo@sha256` + `:` + hex is the digest
        // reference again, and the engine takes the digest as the pull "tag".
        return match digest.split_once(':') {
            Some((algo, hex)) => (&image[..repo.len() + 1 + algo.len()], hex),
            None => (repo, digest),
        };
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (&image[..last_slash + i], &image[last_slash + i + 1..]),
        None => (image, "latest"),
    }
}

/// Removes the container (and anything else labelled with its instance) when
/// dropped, unless `keep`; see the module doc for why from its own thread.
struct Cleanup {
    instance: String,
    container: Option<ContainerAsync<Postgres>>,
    keep: bool,
    quiet: bool,
    /// `image on host:port`, for the line printed when the container is kept.
    endpoint: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let container = self.container.take();
        if self.keep {
            if let Some(c) = container {
                if !self.quiet {
                    let id = &c.id()[..c.id().len().min(12)];
                    eprintln!(
                        "querylab: keeping container {id} ({}); connect with `docker exec -it {id} psql -U postgres`, remove with `docker rm -f -v {id}`",
                        self.endpoint
                    );
                }
                // testcontainers removes on drop and has no per-container opt-out.
                std::mem::forget(c);
            }
            return;
        }
        let instance = std::mem::take(&mut self.instance);
        let quiet = self.quiet;
        let worker = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!(
                        "querylab: cannot remove containers labelled {INSTANCE_LABEL}={instance}: {e}"
                    );
                    return;
                }
            };
            runtime.block_on(remove_instance(container, &instance, quiet));
        });
        let _ = worker.join();
    }
}

/// Removes the container and anything else labelled with `instance`; a failure is
/// reported with the command that finishes the job.
async fn remove_instance(container: Option<ContainerAsync<Postgres>>, instance: &str, quiet: bool) {
    let docker = match engine::engine().await {
        Ok(d) => d,
        Err(u) => {
            eprintln!(
                "querylab: cannot remove containers labelled {INSTANCE_LABEL}={instance}: {}",
                reason(u)
            );
            return;
        }
    };
    // A start cancelled half-way may have a create request still in flight: look
    // again a moment later for a container the engine finished creating meanwhile.
    let passes = if container.is_some() { 1 } else { 2 };
    if let Some(c) = container {
        let id = c.id().to_string();
        // testcontainers' own removal (force, with volumes); by id if that fails.
        if c.rm().await.is_err() {
            remove_or_say(&docker, &id).await;
        }
    }
    for pass in 0..passes {
        if pass > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        match engine::containers_labelled(&docker, INSTANCE_LABEL, instance).await {
            Ok(found) => {
                for id in found {
                    remove_or_say(&docker, &id).await;
                }
            }
            Err(e) if !quiet => eprintln!("querylab: listing containers of {instance}: {e}"),
            Err(_) => {}
        }
    }
}

async fn remove_or_say(docker: &testcontainers::bollard::Docker, id: &str) {
    if let Err(e) = engine::remove(docker, id).await {
        eprintln!(
            "querylab: could not remove container {id} ({e}); remove it with `docker rm -f -v {id}`"
        );
    }
}

/// The error for a failed start, with what the server said before it died. The
/// guard in `provision` removes the container afterwards.
fn start_error(image: &str, what: &str, tail: &LogTail) -> Error {
    // testcontainers' own message for a log stream that ended is the whole log as
    // bytes: the container's last words say the same, readably.
    let what = if what.contains("End of stream") {
        "the container exited before PostgreSQL was ready"
    } else {
        what
    };
    let said = tail.summary();
    let said = if said.is_empty() {
        String::new()
    } else {
        format!("; it said: {said}")
    };
    docker_error(format!(
        "starting {image} failed: {what}{said}. Check --pg-image (an image that behaves like the official postgres one) and --set values"
    ))
}

/// The last lines a container printed, for error messages.
#[derive(Clone, Default)]
struct LogTail(Arc<Mutex<VecDeque<String>>>);

impl LogTail {
    const LINES: usize = 40;

    fn push(&self, frame: &LogFrame) {
        let text = String::from_utf8_lossy(frame.bytes());
        if let Ok(mut lines) = self.0.lock() {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if lines.len() == Self::LINES {
                    lines.pop_front();
                }
                lines.push_back(line.to_string());
            }
        }
    }

    /// PostgreSQL's last `FATAL`/`ERROR` lines when there are any, else the last
    /// lines, joined on one line.
    fn summary(&self) -> String {
        let Ok(lines) = self.0.lock() else {
            return String::new();
        };
        let fatal: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| l.contains("FATAL") || l.contains("ERROR") || l.starts_with("Error"))
            .collect();
        let all: Vec<&str> = lines.iter().map(String::as_str).collect();
        let chosen = if fatal.is_empty() { all } else { fatal };
        chosen[chosen.len().saturating_sub(3)..].join(" | ")
    }
}

fn unusable_error(u: Unusable) -> Error {
    docker_error(match u {
        Unusable::NoEngine(why) => {
            format!("{why}; start Docker (e.g. `systemctl start docker`) or use --backend local")
        }
        Unusable::NoImage(why) => format!(
            "{why}; pull it where a registry is reachable, or build one with no registry: `scripts/build-postgres-image.sh` then --pg-image querylab/postgres:15-bookworm; or use --backend local"
        ),
    })
}

fn reason(u: Unusable) -> String {
    match u {
        Unusable::NoEngine(s) | Unusable::NoImage(s) => s,
    }
}

fn docker_error(message: String) -> Error {
    Error::Provision {
        backend: "docker",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn splits_image_references() {
        assert_eq!(split_image("postgres:16"), ("postgres", "16"));
        assert_eq!(split_image("postgres"), ("postgres", "latest"));
        assert_eq!(
            split_image("querylab/postgres:15-bookworm"),
            ("querylab/postgres", "15-bookworm")
        );
        assert_eq!(
            split_image("localhost:5000/pg"),
            ("localhost:5000/pg", "latest")
        );
        assert_eq!(
            split_image("localhost:5000/pg:17"),
            ("localhost:5000/pg", "17")
        );
        assert_eq!(
            split_image("postgres@sha256:abc"),
            ("postgres@sha256", "abc")
        );
    }
}
