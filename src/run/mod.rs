//! `querylab run`: provision → load (or reuse a template) → measure → results.json.
//!
//! One dataset per (server, size). `results.json` is rewritten after every
//! comparison, so a crash or an interrupt keeps what was measured; on an error the
//! file is marked `partial` with the reason before the error is returned.
//!
//! The commands as the binary runs them live here too, so that it only parses
//! flags: [`output`] (`querylab run`: the output directory, `reports/latest`, the
//! reports, and the partial report when a run fails) and [`load_only`]
//! (`querylab load`). Both go through [`on_server`], the one provision → work →
//! teardown sequence.

mod load_only;
pub mod output;

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::catalog::Scenario;
use crate::error::{Error, Result};
use crate::load::{LoadOptions, load};
use crate::measure::{MeasureConfig, Measurer};
use crate::progress::Progress;
use crate::provision::{Cleanup, ProvisionConfig, Server, provision};
use crate::results::{Dataset, RunResults, RunSettings, RunStatus};
use crate::shutdown::Shutdown;
/// The lines `querylab load` prints.
pub use load_only::render as render_load;
pub use load_only::{LoadConfig, load_only};
pub use output::{Finished, run_and_report};

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
    let mut results = RunResults::new(cfg.settings(scenario));
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
    .map_err(|e| interrupted_or(e, shutdown));
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
        on_server(&pc, shutdown, async |server| {
            measure_server(
                cfg, scenario, selected, shutdown, progress, results, path, server,
            )
            .await
        })
        .await?;
    }
    Ok(())
}

/// Provisions a server as `pc` says, runs `work` on it and tears the server down
/// however `work` ended: the one sequence behind `querylab run` and `querylab load`.
/// An error from `work` names the server when the server went away, and is
/// [`Error::Interrupted`] when Ctrl-C or SIGTERM caused it.
pub async fn on_server<T>(
    pc: &ProvisionConfig,
    shutdown: &Shutdown,
    work: impl AsyncFnOnce(&Server) -> Result<T>,
) -> Result<T> {
    let server = tokio::select! {
        s = provision(pc) => s?,
        _ = shutdown.cancelled() => return Err(Error::Interrupted),
    };
    let r = work(&server)
        .await
        .map_err(|e| interrupted_or(e.or_server_lost(&server.info().label), shutdown));
    let down = server.shutdown_with(cleanup(shutdown)).await;
    let value = r?;
    down?;
    Ok(value)
}

/// `e`, or [`Error::Interrupted`] when a signal arrived meanwhile (whatever failed
/// then failed because of it).
fn interrupted_or(e: Error, shutdown: &Shutdown) -> Error {
    if shutdown.is_triggered() {
        Error::Interrupted
    } else {
        e
    }
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
    crate::workload::check_capacity(server, selected, &cfg.measure.workload).await?;
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
            key: Dataset::key_for(&info.label, rows),
            server: info,
            rows,
            load: Some(loaded.report.clone()),
            index_sets: Vec::new(),
            layouts: Vec::new(),
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
        for (i, c) in selected.iter().enumerate() {
            measurer.upcoming(&selected[i + 1..]);
            let r = measurer.comparison(c).await;
            if r.is_ok() {
                measurer.release().await?;
            }
            let ds = &mut results.datasets[idx];
            ds.index_sets = measurer.index_set_costs();
            ds.layouts = measurer.layout_costs();
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
        let (made, shared) = measurer.clones_made_and_shared();
        progress.println(&format!(
            "clones: {made} made for read-only variants, shared {shared} times (one per layout and index set)"
        ));
        if !scenario.layouts.is_empty() {
            progress.println(&format!(
                "layouts: {} built for {} rows (each once, shared by its variants)",
                measurer.layout_builds(),
                rows
            ));
        }
        measurer.finish().await?;
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
/// for a `fresh_clone` variant's per-sample clone, plus the idle shared clones kept
/// for later comparisons, plus one: a clone is made while the ones retired before it
/// are dropped.
pub fn clones_at_once(selected: &[&crate::catalog::Comparison]) -> u32 {
    selected
        .iter()
        .map(|c| {
            let fresh = c
                .variants
                .iter()
                .any(|v| v.mode == crate::catalog::Mode::FreshClone);
            // Each layout of the comparison is a template of its own meanwhile.
            let mut layouts: Vec<&str> = c
                .variants
                .iter()
                .filter_map(|v| v.layout.as_deref())
                .collect();
            layouts.sort_unstable();
            layouts.dedup();
            c.variants.len() as u32 + u32::from(fresh) + layouts.len() as u32
        })
        .max()
        .map_or(0, |n| n + crate::measure::KEEP_IDLE_CLONES as u32 + 1)
}

impl RunConfig {
    /// What results.json records about this run of `scenario`.
    pub fn settings(&self, scenario: &Scenario) -> RunSettings {
        recorded_settings(
            scenario,
            self.seed,
            self.rows.clone(),
            self.only.clone(),
            &self.measure,
        )
    }

    /// The run that `settings` records — its seed, sizes, selection, sampling and
    /// protocol — on a server from `provision`, written to `out_dir`: the inverse of
    /// [`RunConfig::settings`], so that `querylab check` re-measures a baseline
    /// exactly as it was made.
    pub fn from_settings(
        settings: &RunSettings,
        provision: ProvisionConfig,
        out_dir: PathBuf,
        quiet: bool,
    ) -> RunConfig {
        RunConfig {
            provision,
            images: Vec::new(),
            rows: settings.rows.clone(),
            seed: settings.seed,
            only: settings.only.clone(),
            out_dir,
            measure: MeasureConfig {
                sampling: settings.sampling.clone(),
                protocol: settings.protocol,
                workload: settings.workload.clone(),
                ..MeasureConfig::default()
            },
            quiet,
        }
    }
}

/// What results.json records about a run of `scenario` (also for the benches,
/// which measure without a [`RunConfig`]).
pub fn recorded_settings(
    scenario: &Scenario,
    seed: u64,
    rows: Vec<u64>,
    only: Option<String>,
    measure: &MeasureConfig,
) -> RunSettings {
    RunSettings {
        seed,
        rows,
        scenario: scenario.name.clone(),
        scenario_source: scenario.source.clone(),
        scenario_hash: scenario.hash.clone(),
        only,
        protocol: measure.protocol,
        sampling: measure.sampling.clone(),
        workload: measure.workload.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Protocol;

    #[test]
    fn a_config_survives_its_round_trip_through_results() {
        let scenario = crate::catalog::builtin("seeds").unwrap();
        let mut measure = MeasureConfig {
            protocol: Protocol::Simple,
            ..MeasureConfig::default()
        };
        measure.sampling.min_samples = 7;
        measure.sampling.max_time_ns = 123;
        let cfg = RunConfig {
            provision: ProvisionConfig::default(),
            images: Vec::new(),
            rows: vec![10, 1000],
            seed: 9,
            only: Some("pagination".into()),
            out_dir: PathBuf::from("a"),
            measure,
            quiet: true,
        };
        let settings = cfg.settings(&scenario);
        assert_eq!(settings.scenario_source, "builtin:seeds");
        let back = RunConfig::from_settings(
            &settings,
            ProvisionConfig::default(),
            PathBuf::from("b"),
            true,
        );
        assert_eq!(back.rows, cfg.rows);
        assert_eq!(back.seed, cfg.seed);
        assert_eq!(back.only, cfg.only);
        assert_eq!(back.measure.protocol, Protocol::Simple);
        assert_eq!(back.measure.sampling, cfg.measure.sampling);
        assert_eq!(back.settings(&scenario), settings);
    }

    #[test]
    fn repeated_images_are_refused() {
        assert!(check_images(&["a".into(), "b".into()]).is_ok());
        let e = check_images(&["a".into(), "a".into()]).unwrap_err();
        assert!(e.to_string().contains("--pg-image a is given twice"), "{e}");
    }
}
