//! Talking to the Docker engine directly (through testcontainers' own bollard client)
//! for what testcontainers does not do: a time-boxed ping, an image check with a
//! time-boxed pull, and finding, reading and removing containers by label.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use testcontainers::bollard::Docker;
use testcontainers::bollard::errors::Error as BollardError;
use testcontainers::bollard::query_parameters::{
    CreateImageOptions, InspectContainerOptions, ListContainersOptions, ListImagesOptions,
    ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
};

/// How long the engine may take to answer a ping before we call it absent.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a registry may take to start answering a pull. Machines without registry
/// access must fall back to `local` within a few seconds, not after a DNS timeout.
pub(super) const PULL_DECIDE: Duration = Duration::from_secs(5);
/// Once a pull is under way, how long it may go without any progress message.
const PULL_IDLE: Duration = Duration::from_secs(120);
/// Upper bound for one removal request, so teardown can never hang.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the docker backend cannot be used.
#[derive(Debug)]
pub(super) enum Unusable {
    /// No engine answered.
    NoEngine(String),
    /// The image is not local and could not be pulled.
    NoImage(String),
}

/// A client for the engine testcontainers would use, once it answers a ping.
pub(super) async fn engine() -> Result<Docker, Unusable> {
    let docker = testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| Unusable::NoEngine(format!("no Docker engine answers ({e})")))?;
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(docker),
        Ok(Err(e)) => Err(Unusable::NoEngine(format!(
            "no Docker engine answers ({})",
            short(&e)
        ))),
        Err(_) => Err(Unusable::NoEngine(format!(
            "no Docker engine answered within {} s",
            PING_TIMEOUT.as_secs()
        ))),
    }
}

/// Ok when `reference` is present locally, or after pulling it when a registry
/// starts answering within [`PULL_DECIDE`].
pub(super) async fn ensure_image(
    docker: &Docker,
    reference: &str,
    quiet: bool,
) -> Result<(), Unusable> {
    if docker.inspect_image(reference).await.is_ok() {
        return Ok(());
    }
    let (name, tag) = match reference.split_once('@') {
        // A digest goes where the tag would: the engine accepts either.
        Some((repo, digest)) => (repo, digest),
        None => super::split_image(reference),
    };
    let options = CreateImageOptions {
        from_image: Some(name.to_string()),
        // Always explicit: an empty tag would pull every tag of the repository.
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut pull = docker.create_image(Some(options), None, None);
    let not_pullable = |why: String| {
        Unusable::NoImage(format!(
            "image {reference} is not present locally and cannot be pulled ({why})"
        ))
    };
    match tokio::time::timeout(PULL_DECIDE, pull.next()).await {
        Err(_) => {
            return Err(Unusable::NoImage(format!(
                "image {reference} is not present locally and no registry answered within {} s",
                PULL_DECIDE.as_secs()
            )));
        }
        Ok(Some(Err(e))) => return Err(not_pullable(short(&e))),
        Ok(Some(Ok(info))) => {
            if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                return Err(not_pullable(detail));
            }
        }
        Ok(None) => {}
    }
    // A registry answered: let the pull finish, however long the image takes, as
    // long as it keeps making progress.
    if !quiet {
        eprintln!("querylab: pulling {reference}");
    }
    let started = Instant::now();
    loop {
        match tokio::time::timeout(PULL_IDLE, pull.next()).await {
            Err(_) => {
                return Err(not_pullable(format!(
                    "the pull stalled for {} s",
                    PULL_IDLE.as_secs()
                )));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(not_pullable(short(&e))),
            Ok(Some(Ok(info))) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    return Err(not_pullable(detail));
                }
            }
        }
    }
    docker
        .inspect_image(reference)
        .await
        .map_err(|e| not_pullable(short(&e)))?;
    if !quiet {
        eprintln!(
            "querylab: pulled {reference} in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Whether `reference` is present locally (no pull).
pub(super) async fn has_image(docker: &Docker, reference: &str) -> bool {
    docker.inspect_image(reference).await.is_ok()
}

/// The local tags of repository `repo` (`repo:tag`), newest image first.
pub(super) async fn local_tags(docker: &Docker, repo: &str) -> Result<Vec<String>, String> {
    let filters = HashMap::from([("reference".to_string(), vec![format!("{repo}:*")])]);
    let options = ListImagesOptions {
        filters: Some(filters),
        ..Default::default()
    };
    let mut images = docker
        .list_images(Some(options))
        .await
        .map_err(|e| short(&e))?;
    images.sort_by_key(|i| std::cmp::Reverse(i.created));
    let prefix = format!("{repo}:");
    Ok(images
        .into_iter()
        .flat_map(|i| {
            let mut tags = i.repo_tags;
            tags.sort();
            tags
        })
        .filter(|t| t.starts_with(&prefix))
        .collect())
}

/// Ids of all containers (running or not) carrying `label=value`.
pub async fn containers_labelled(
    docker: &Docker,
    label: &str,
    value: &str,
) -> Result<Vec<String>, String> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{label}={value}")])]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    let list = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| short(&e))?;
    Ok(list.into_iter().filter_map(|c| c.id).collect())
}

/// The container's own IP address on its network (the default bridge for ours).
/// Read from the engine directly: testcontainers' helper looks the network up by the
/// container's network mode, which is `default`, not a network's name.
pub(super) async fn container_ip(docker: &Docker, id: &str) -> Option<std::net::IpAddr> {
    let info = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .ok()?;
    let networks = info.network_settings?.networks?;
    // The default bridge first; a container on one network has one entry anyway.
    let mut entries: Vec<_> = networks.into_iter().collect();
    entries.sort_by_key(|(name, _)| name != "bridge");
    entries
        .into_iter()
        .filter_map(|(_, n)| n.ip_address?.parse().ok())
        .find(|ip: &std::net::IpAddr| !ip.is_unspecified())
}

/// Number of volumes and networks on the engine (tests compare before and after).
pub async fn volumes_and_networks(docker: &Docker) -> Result<(usize, usize), String> {
    let volumes = docker
        .list_volumes(None::<ListVolumesOptions>)
        .await
        .map_err(|e| short(&e))?
        .volumes
        .map_or(0, |v| v.len());
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(|e| short(&e))?
        .len();
    Ok((volumes, networks))
}

/// Force-removes container `id` with its anonymous volumes. A container that is
/// already gone counts as removed.
pub(super) async fn remove(docker: &Docker, id: &str) -> Result<(), String> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match tokio::time::timeout(REMOVE_TIMEOUT, docker.remove_container(id, Some(options))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(()),
        Ok(Err(e)) => Err(short(&e)),
        Err(_) => Err(format!(
            "the engine did not answer within {} s",
            REMOVE_TIMEOUT.as_secs()
        )),
    }
}

/// The engine's own message when there is one (bollard's Display adds noise).
pub(super) fn short(e: &BollardError) -> String {
    match e {
        BollardError::DockerResponseServerError { message, .. } => message.trim().to_string(),
        BollardError::DockerStreamError { error } => error.trim().to_string(),
        other => {
            use std::error::Error as _;
            let mut s = other.to_string();
            let mut source = other.source();
            while let Some(inner) = source {
                s.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            s
        }
    }
}
