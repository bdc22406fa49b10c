//! The one place the library reads environment variables: configuration for
//! `cargo bench` and tests, where there are no flags.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `QUERYLAB_ROWS` | size of the largest table | 100000 (benches) |
//! | `QUERYLAB_SEED` | generator seed | 42 |
//! | `QUERYLAB_BACKEND` | `auto`, `docker`, `local` or `url` | `auto` |
//! | `DATABASE_URL` | existing server for the `url` backend | — |
//! | `QUERYLAB_PG_IMAGE` | image for the `docker` backend | `postgres:16` |
//! | `QUERYLAB_SCENARIO` | scenario file or `builtin:NAME` | `builtin:seeds` |
//! | `QUERYLAB_ONLY` | glob of comparison ids | all |
//! | `QUERYLAB_OUT` | where bench explanations go | `reports/bench` |

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::provision::{BackendKind, ProvisionConfig};

/// Configuration read from the environment.
#[derive(Debug, Clone)]
pub struct EnvConfig {
    /// Provisioning.
    pub provision: ProvisionConfig,
    /// Rows of the largest table.
    pub rows: u64,
    /// Seed.
    pub seed: u64,
    /// Scenario argument (path or `builtin:NAME`).
    pub scenario: Option<String>,
    /// Comparison id glob.
    pub only: Option<String>,
    /// Output directory for explanations.
    pub out: PathBuf,
}

impl EnvConfig {
    /// Reads the process environment; `default_rows` applies when `QUERYLAB_ROWS` is unset.
    pub fn from_env(default_rows: u64) -> Result<Self> {
        Self::from_lookup(default_rows, |k| std::env::var(k).ok())
    }

    /// Same, from any lookup (for tests).
    pub fn from_lookup(default_rows: u64, get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let num = |k: &str, d: u64| -> Result<u64> {
            match get(k) {
                None => Ok(d),
                Some(v) => v.replace('_', "").parse().map_err(|_| {
                    Error::Invalid(format!("{k}={v}: expected a whole number, e.g. {k}={d}"))
                }),
            }
        };
        let backend = match get("QUERYLAB_BACKEND") {
            None => BackendKind::Auto,
            Some(v) => v
                .parse()
                .map_err(|why| Error::Invalid(format!("QUERYLAB_BACKEND={v}: {why}")))?,
        };
        Ok(EnvConfig {
            provision: ProvisionConfig {
                backend,
                database_url: get("DATABASE_URL"),
                pg_image: get("QUERYLAB_PG_IMAGE"),
                // A bench says which backend it fell back to, and why, on stderr.
                quiet: false,
                ..ProvisionConfig::default()
            },
            rows: num("QUERYLAB_ROWS", default_rows)?,
            seed: num("QUERYLAB_SEED", crate::run::DEFAULT_SEED)?,
            scenario: get("QUERYLAB_SCENARIO"),
            only: get("QUERYLAB_ONLY"),
            out: get("QUERYLAB_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("reports/bench")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_validates() {
        let c = EnvConfig::from_lookup(1000, |k| match k {
            "QUERYLAB_ROWS" => Some("20_000".into()),
            "QUERYLAB_BACKEND" => Some("local".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.rows, 20_000);
        assert_eq!(c.seed, 42);
        assert_eq!(c.provision.backend, BackendKind::Local);
        let bad = EnvConfig::from_lookup(1, |k| (k == "QUERYLAB_ROWS").then(|| "ten".into()));
        assert!(bad.unwrap_err().to_string().contains("QUERYLAB_ROWS=ten"));
        let bad = EnvConfig::from_lookup(1, |k| (k == "QUERYLAB_BACKEND").then(|| "podman".into()));
        let e = bad.unwrap_err().to_string();
        assert!(
            e.starts_with("QUERYLAB_BACKEND=podman: unknown backend"),
            "{e}"
        );
    }
}
