//! Shared helpers for integration tests: every test runs against a real PostgreSQL.
//!
//! By default a throwaway `local` cluster is provisioned (the machine's server
//! binaries, run as an unprivileged user when the tests run as root). Set
//! `QUERYLAB_TEST_DATABASE_URL` to use an existing server through the `url` backend
//! instead (querylab then only creates and drops its own `querylab_*` databases).
#![allow(dead_code)]

pub mod docker;
pub mod results;

use querylab::provision::{BackendKind, ProvisionConfig, Server, provision};

/// Provision configuration used by tests.
pub fn provision_config() -> ProvisionConfig {
    let url = std::env::var("QUERYLAB_TEST_DATABASE_URL").ok();
    ProvisionConfig {
        backend: if url.is_some() {
            BackendKind::Url
        } else {
            BackendKind::Local
        },
        database_url: url,
        quiet: true,
        ..ProvisionConfig::default()
    }
}

/// A fresh server (or a handle on the test server) for one test.
pub async fn server() -> Server {
    provision(&provision_config())
        .await
        .unwrap_or_else(|e| panic!("provisioning a test server: {e}"))
}

pub mod cli;
pub mod cluster;

/// The `.toml` files of `tests/scenarios/<dir>`, sorted: a corpus of scenario files.
pub fn scenario_corpus(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(dir);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}
