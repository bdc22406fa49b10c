//! `querylab load`: provision, load the scenario's schema and rows into a template,
//! and tear down (or keep, with `--keep`), through the same [`super::on_server`]
//! sequence as a run.

use crate::catalog::Scenario;
use crate::error::{Error, Result};
use crate::load::{LoadOptions, load};
use crate::provision::ProvisionConfig;
use crate::results::LoadReport;
use crate::shutdown::Shutdown;

/// Everything `querylab load` needs. Plain data; the binary fills it.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// How to get the server (one image at most).
    pub provision: ProvisionConfig,
    /// Rows of the largest table.
    pub rows: u64,
    /// Generator seed.
    pub seed: u64,
    /// No progress output.
    pub quiet: bool,
}

/// Loads `scenario`'s data on a server from `cfg.provision` and reports. With
/// `keep`, the server and the loaded template stay for later runs to reuse.
pub async fn load_only(
    cfg: &LoadConfig,
    scenario: &Scenario,
    shutdown: &Shutdown,
) -> Result<LoadReport> {
    // Refused before provisioning anything (the load itself refuses it too).
    if cfg.rows == 0 {
        return Err(Error::Invalid("--rows must be at least 1".into()));
    }
    let opts = LoadOptions {
        rows: cfg.rows,
        seed: cfg.seed,
        quiet: cfg.quiet,
        clones: 0,
    };
    super::on_server(&cfg.provision, shutdown, async |server| {
        let loaded = load(server, &scenario.load, &opts, shutdown).await?;
        if cfg.provision.keep {
            server.forget_database(&loaded.template);
        }
        Ok(loaded.report)
    })
    .await
}

/// The lines `querylab load` prints: the whole load, then one line per table.
pub fn render(r: &LoadReport) -> String {
    let mut out = format!(
        "loaded {} rows in {:.1}s ({:.0} rows/s) into {} on {} ({})\n",
        r.rows, r.seconds, r.rows_per_second, r.database, r.backend, r.server_version
    );
    for t in &r.tables {
        out.push_str(&format!(
            "  {:<36} {:>10} rows {:>7.2}s {:>9.1} MiB\n",
            t.name,
            t.rows,
            t.seconds,
            t.bytes as f64 / 1048576.0
        ));
    }
    out
}
