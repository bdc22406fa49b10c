//! Server settings that matter for benchmarks: set explicitly, recorded with results.
//!
//! Defaults suit a throwaway server on a 2-core, 24 GiB machine and are the same for
//! every backend we start (`local`, `docker`); on a `url` server we cannot restart,
//! the per-database ones are set with `ALTER DATABASE … SET` on querylab's own
//! databases and the rest are only recorded.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::error::{Error, Result};

/// Settings recorded for every server (read back with `SHOW`).
pub const RECORDED: &[&str] = &[
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "max_parallel_workers_per_gather",
    "max_parallel_maintenance_workers",
    "jit",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "random_page_cost",
    "effective_cache_size",
    "max_wal_size",
    "wal_level",
    "max_connections",
];

/// Settings that can be changed per database (`ALTER DATABASE … SET`), so they apply
/// even on a server querylab did not start.
pub const PER_DATABASE: &[&str] = &[
    "work_mem",
    "maintenance_work_mem",
    "max_parallel_workers_per_gather",
    "jit",
    "synchronous_commit",
    "random_page_cost",
    "effective_cache_size",
];

/// Name → value, as given to `postgres -c name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings(pub BTreeMap<String, String>);

impl Default for ServerSettings {
    /// The documented defaults. `fsync`/`synchronous_commit`/`full_page_writes` are
    /// off because the servers querylab starts are disposable and durability is not
    /// what is measured: it removes disk-flush noise from loads and writing variants.
    fn default() -> Self {
        let pairs = [
            ("shared_buffers", "1GB"),
            ("work_mem", "16MB"),
            ("maintenance_work_mem", "512MB"),
            ("max_parallel_workers_per_gather", "2"),
            ("max_parallel_maintenance_workers", "2"),
            ("jit", "off"),
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("random_page_cost", "1.1"),
            ("effective_cache_size", "8GB"),
            ("max_wal_size", "4GB"),
            ("wal_level", "minimal"),
            ("max_wal_senders", "0"),
            // Explicit, for workloads of up to 64 clients plus querylab's own.
            ("max_connections", "100"),
        ];
        ServerSettings(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl ServerSettings {
    /// Applies `name=value` overrides (from `--set`). Names and values are checked to
    /// be plain (letters, digits, `_ . -`) because they end up on a command line.
    pub fn apply_overrides(&mut self, overrides: &[String]) -> Result<()> {
        for o in overrides {
            let (k, v) = o.split_once('=').ok_or_else(|| {
                Error::Invalid(format!(
                    "--set {o}: expected name=value, e.g. --set work_mem=64MB"
                ))
            })?;
            let plain = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            };
            if !plain(k) || !plain(v) {
                return Err(Error::Invalid(format!(
                    "--set {o}: name and value may only hold letters, digits, '_', '.', '-'"
                )));
            }
            self.0.insert(k.to_string(), v.to_string());
        }
        Ok(())
    }

    /// `-c name=value` arguments for `postgres`.
    pub fn as_args(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(k, v)| ["-c".to_string(), format!("{k}={v}")])
            .collect()
    }

    /// The subset that can be set per database.
    pub fn per_database(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0
            .iter()
            .filter(|(k, _)| PER_DATABASE.contains(&k.as_str()))
    }
}

/// Reads the recorded settings from a live server.
pub async fn read(client: &Client) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for name in RECORDED {
        let v: String = client
            .query_one(&format!("SHOW {name}"), &[])
            .await
            .map_err(|e| Error::db(format!("reading setting {name}"), e))?
            .get(0);
        out.insert(name.to_string(), v);
    }
    Ok(out)
}
