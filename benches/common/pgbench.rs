//! pgbench, as the fidelity benches run it: found among the server binaries, and
//! pointed at one database of a querylab server (host, port, user, password from
//! the server's own connection config). Shared by `fidelity` and `workload`.

use std::path::{Path, PathBuf};
use std::process::Command;

use querylab::provision::Server;

/// A pgbench command connected to `db` on `server`, run in `dir`; the caller adds
/// the mode, clients, duration and script.
pub fn command(pgbench: &Path, server: &Server, db: &str, dir: &Path) -> Command {
    let cfg = server.config_for(db);
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let mut cmd = Command::new(pgbench);
    cmd.current_dir(dir)
        .args(["-h", &host, "-p", &port.to_string()])
        .args(["-U", cfg.get_user().unwrap_or("postgres")]);
    if let Some(pw) = cfg.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).to_string());
    }
    cmd
}

/// pgbench from the server binaries' directory (it ships with the server packages).
pub fn find() -> anyhow::Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.reverse();
    dirs.extend(versions);
    dirs.into_iter()
        .map(|d| d.join("pgbench"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "pgbench not found: install PostgreSQL server packages (apt-get install postgresql)"
            )
        })
}
