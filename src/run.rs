//! `querylab run`: provision → load (or reuse a template) → measure → results.json.
//!
//! One dataset per (server, size). `results.json` is rewritten after every
//! comparison, so a crash or an interrupt keeps what was measured; on an error the
//! file is marked `partial` with the reason before the error is returned.

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::catalog::Scenario;
use crate::error::{Error, Result};
use crate::load::{LoadOptions, load};
use crate::measure::{MeasureConfig, Measurer};
use crate::progress::Progress;
use crate::provision::{Cleanup, ProvisionConfig, Server, provision};
use crate::results::{Dataset, Machine, RunResults, RunSettings, RunStatus, SCHEMA_VERSION};
use crate::shutdown::Shutdown;

/// Everything `querylab run` needs. Plain data; the binary fills it.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// How to get servers. With several `images`, one server per image.
    pub provision: ProvisionConfig,
    /// Docker images to compare (`--pg-image` repeated); empty = one server as
    /// `provision` says.
    pub images: Vec<String>,
    /// Sizes to measure (largest table's rows), ascending.
    pub rows: Vec<u64>,
    /// Generator seed.
    pub seed: u64,
    /// `--only` glob.
    pub only: Option<String>,
    /// Where results.json goes.
    pub out_dir: PathBuf,
    /// Sampling and protocol.
    pub measure: MeasureConfig,
    /// No progress output.
    pub quiet: bool,
}

/// Default size of the largest table.
pub const DEFAULT_ROWS: u64 = 1_000_000;

/// Default generator seed.
pub const DEFAULT_SEED: u64 = 42;

/// Runs the scenario and returns the results (also written to
/// `out_dir/results.json` after each comparison).
pub async fn run(cfg: &RunConfig, scenario: &Scenario, shutdown: &Shutdown) -> Result<RunResults> {
    check_images(&cfg.images)?;
    let selected = scenario.select(cfg.only.as_deref())?;
    std::fs::create_dir_all(&cfg.out_dir).map_err(|e| Error::io(&cfg.out_dir, e))?;
    let path = cfg.out_dir.join("results.json");
    let mut results = new_results(
        scenario,
        cfg.seed,
        cfg.rows.clone(),
        cfg.only.clone(),
        &cfg.measure,
    );
    results.write(&path)?;
    let progress = Progress::new(cfg.quiet);
    let outcome = run_all(
        cfg,
        scenario,
        &selected,
        shutdown,
        &progress,
        &mut results,
        &path,
    )
    .await
    // A server stopped by the same Ctrl-C (a local cluster shares the terminal's
    // process group) is part of the interrupt, not a fault of its own.
    .map_err(|e| {
        if shutdown.is_triggered() {
            Error::Interrupted
        } else {
            e
        }
    });
    results.updated_at = Utc::now();
    results.status = match &outcome {
        Ok(()) => RunStatus::Complete,
        Err(e) => RunStatus::Partial {
            reason: e.to_string(),
        },
    };
    results.write(&path)?;
    outcome.map(|()| results)
}

async fn run_all(
    cfg: &RunConfig,
    scenario: &Scenario,
    selected: &[&crate::catalog::Comparison],
    shutdown: &Shutdown,
    progress: &Progress,
    results: &mut RunResults,
    path: &Path,
) -> Result<()> {
    let images: Vec<Option<String>> = if cfg.images.is_empty() {
        vec![cfg.provision.pg_image.clone()]
    } else {
        cfg.images.iter().cloned().map(Some).collect()
    };
    // Every image present (or pulled) before the first is measured: a typo in the
    // last of four images must not cost the time of the first three.
    if images.len() > 1 {
        for image in &images {
            let mut pc = cfg.provision.clone();
            pc.pg_image = image.clone();
            tokio::select! {
                r = crate::provision::docker::ensure_image(&pc) => r?,
                _ = shutdown.cancelled() => return Err(Error::Interrupted),
            }
        }
    }
    for image in images {
        shutdown.check()?;
        let mut pc = cfg.provision.clone();
        if image.is_some() {
            pc.pg_image = image;
        }
        let server = tokio::select! {
            s = provision(&pc) => s?,
            _ = shutdown.cancelled() => return Err(Error::Interrupted),
        };
        let r = measure_server(
            cfg, scenario, selected, shutdown, progress, results, path, &server,
        )
        .await
        .map_err(|e| e.or_server_lost(&server.info().label));
        let down = server.shutdown_with(cleanup(shutdown)).await;
        r?;
        down?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn measure_server(
    cfg: &RunConfig,
    scenario: &Scenario,
    selected: &[&crate::catalog::Comparison],
    shutdown: &Shutdown,
    progress: &Progress,
    results: &mut RunResults,
    path: &Path,
    server: &Server,
) -> Result<()> {
    for &rows in &cfg.rows {
        shutdown.check()?;
        let opts = LoadOptions {
            rows,
            seed: cfg.seed,
            quiet: cfg.quiet,
            clones: clones_at_once(selected),
        };
        let loaded = load(server, &scenario.load, &opts, shutdown).await?;
        let info = server.info().clone();
        results.datasets.push(Dataset {
            key: format!("{}/rows={rows}", info.label),
            server: info,
            rows,
            load: Some(loaded.report.clone()),
            index_sets: Vec::new(),
            comparisons: Vec::new(),
        });
        let idx = results.datasets.len() - 1;
        let mut measurer = Measurer::new(
            server,
            &loaded.template,
            scenario,
            &cfg.measure,
            shutdown,
            progress,
        );
        for c in selected {
            let r = measurer.comparison(c).await;
            let ds = &mut results.datasets[idx];
            ds.index_sets = measurer.index_set_costs();
            match r {
                Ok(cr) => {
                    progress.println(&format!("{}: done in {:.1}s", cr.id, cr.seconds));
                    ds.comparisons.push(cr);
                    results.updated_at = Utc::now();
                    results.write(path)?;
                }
                Err(e) => {
                    results.write(path)?;
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// Each image once: datasets are keyed by image, so a repeated one would mix two
/// servers' results under one name.
pub fn check_images(images: &[String]) -> Result<()> {
    for (i, image) in images.iter().enumerate() {
        if images[..i].contains(image) {
            return Err(Error::Invalid(format!(
                "--pg-image {image} is given twice: name each image once (to measure one image twice, tag it again: docker tag {image} {image}-b)"
            )));
        }
    }
    Ok(())
}

/// After an interrupt, the server's files are removed in the background so that
/// querylab exits at once (see [`Cleanup::Detach`]).
pub fn cleanup(shutdown: &Shutdown) -> Cleanup {
    if shutdown.is_triggered() {
        Cleanup::Detach
    } else {
        Cleanup::Wait
    }
}

/// Clones of the template held at once while measuring `selected`: one per variant
/// of the largest comparison (all are set up before sampling in rounds), plus one
/// for a `fresh_clone` variant's per-sample clone.
pub fn clones_at_once(selected: &[&crate::catalog::Comparison]) -> u32 {
    selected
        .iter()
        .map(|c| {
            let fresh = c
                .variants
                .iter()
                .any(|v| v.mode == crate::catalog::Mode::FreshClone);
            c.variants.len() as u32 + u32::from(fresh)
        })
        .max()
        .unwrap_or(0)
}

/// An empty, `running` results value recording how the run is configured.
pub fn new_results(
    scenario: &Scenario,
    seed: u64,
    rows: Vec<u64>,
    only: Option<String>,
    measure: &MeasureConfig,
) -> RunResults {
    RunResults {
        schema_version: SCHEMA_VERSION,
        querylab_version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: git_revision(),
        started_at: Utc::now(),
        updated_at: Utc::now(),
        status: RunStatus::Running,
        machine: machine(),
        settings: RunSettings {
            seed,
            rows,
            scenario: scenario.name.clone(),
            scenario_source: scenario.source.clone(),
            scenario_hash: scenario.hash.clone(),
            only,
            protocol: measure.protocol.as_str().to_string(),
            sampling: measure.sampling.clone(),
        },
        datasets: Vec::new(),
    }
}

/// `git rev-parse HEAD` of the current directory, when it is a checkout.
pub fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Cores, memory and OS of this machine.
pub fn machine() -> Machine {
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0);
    Machine {
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_bytes,
        os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        hostname: std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty()),
    }
}
