//! Provisioning: a handle to a running PostgreSQL, whatever its origin.
//!
//! Three backends produce a [`Server`]: `docker` (testcontainers), `local` (a
//! throwaway cluster from the machine's server binaries) and `url` (an existing
//! server, where querylab only ever touches databases it created). `auto` picks one.
//! A [`Server`] is a guard: dropping it tears down what querylab started (container,
//! cluster and temp dir, or the databases it created on a `url` server) unless
//! `keep` was asked for.

pub mod docker;
pub mod local;
pub mod settings;
pub mod url;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio_postgres::{Client, NoTls};

use crate::error::{Error, Result};
use crate::results::ServerInfo;
pub use settings::ServerSettings;

/// Which backend to provision with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// `url` if a URL is given, else `docker` if usable, else `local`.
    #[default]
    Auto,
    /// testcontainers.
    Docker,
    /// Throwaway cluster from local server binaries.
    Local,
    /// Existing server by URL.
    Url,
}

impl BackendKind {
    /// Lower-case name, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Auto => "auto",
            BackendKind::Docker => "docker",
            BackendKind::Local => "local",
            BackendKind::Url => "url",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;

    /// The one parser of a backend name: `--backend` (clap's `value_parser`) and
    /// `QUERYLAB_BACKEND`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(BackendKind::Auto),
            "docker" => Ok(BackendKind::Docker),
            "local" => Ok(BackendKind::Local),
            "url" => Ok(BackendKind::Url),
            other => Err(format!(
                "unknown backend {other}: expected auto, docker, local or url"
            )),
        }
    }
}

/// Default image for the docker backend.
pub const DEFAULT_PG_IMAGE: &str = "postgres:16";

/// How to get a server. Plain data; the binary fills it from flags and environment.
/// Its `Debug` shows the URL redacted.
#[derive(Clone, Default)]
pub struct ProvisionConfig {
    /// Backend choice.
    pub backend: BackendKind,
    /// `--database-url` / `DATABASE_URL` (may hold a password: never print it raw).
    pub database_url: Option<String>,
    /// `--pg-image` / `QUERYLAB_PG_IMAGE`; `None` means [`DEFAULT_PG_IMAGE`].
    pub pg_image: Option<String>,
    /// Keep the server / databases after exit.
    pub keep: bool,
    /// Server settings to apply (defaults plus `--set` overrides).
    pub settings: ServerSettings,
    /// No informational lines on stderr.
    pub quiet: bool,
}

impl std::fmt::Debug for ProvisionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // RunConfig and Remeasure derive Debug over this: never the raw URL.
        f.debug_struct("ProvisionConfig")
            .field("backend", &self.backend)
            .field(
                "database_url",
                &self.database_url.as_deref().map(crate::secret::redact_url),
            )
            .field("pg_image", &self.pg_image)
            .field("keep", &self.keep)
            .field("settings", &self.settings)
            .field("quiet", &self.quiet)
            .finish()
    }
}

/// How a torn-down server's files are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// Remove everything before returning (the default: nothing is left when
    /// querylab exits).
    Wait,
    /// After Ctrl-C / SIGTERM: stop the server at once, and leave removing its
    /// files to a detached process. Unlinking gigabytes that the kernel is still
    /// writing back (the servers run with fsync off) takes seconds — 8 s for a
    /// 1M-row run with its clones on the machine this was measured on — and
    /// querylab must stop within 2 s; a CI runner's SIGKILL after its grace period
    /// would also leave a half-removed directory behind.
    Detach,
}

/// Tears a server down (stop cluster and remove its dir, remove container).
pub type Teardown = Box<dyn FnOnce(Cleanup) + Send>;

/// What a backend hands back: how to connect, plus how to tear down.
pub struct Provisioned {
    /// Connection config without a database name (one is set per connection).
    pub base: tokio_postgres::Config,
    /// Database to connect to for administrative statements (`postgres`, or the URL's).
    pub maintenance_db: String,
    /// `docker`, `local` or `url`.
    pub backend: &'static str,
    /// Label for reports, e.g. `local-pg15` or the image name.
    pub label: String,
    /// Docker image, when docker.
    pub image: Option<String>,
    /// The directory on this machine holding the server's data, when querylab
    /// knows it (`local`): where free disk space is checked before a load.
    pub data_dir: Option<std::path::PathBuf>,
    /// Tears the server down (stop cluster and remove its dir, remove container).
    /// `None` for `url`, whose server querylab does not own.
    pub teardown: Option<Teardown>,
}

/// A running PostgreSQL and everything querylab created on it.
pub struct Server {
    base: tokio_postgres::Config,
    maintenance_db: String,
    info: ServerInfo,
    keep: bool,
    /// Databases created through [`Server::create_database`] and not yet dropped.
    created: Arc<Mutex<BTreeSet<String>>>,
    /// In a mutex only so that `Server` is `Sync` (shared by reference across tasks).
    teardown: Mutex<Option<Teardown>>,
    /// Prefix of every database this server handle creates: `querylab_<run id>`.
    run_prefix: String,
    /// Settings applied per database on every database querylab creates.
    settings: ServerSettings,
    /// Last number handed out by [`Server::unique_name`].
    names: std::sync::atomic::AtomicU64,
    /// See [`Provisioned::data_dir`].
    data_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print `base`: it may hold a password.
        f.debug_struct("Server")
            .field("backend", &self.info.backend)
            .field("label", &self.info.label)
            .field("version", &self.info.version)
            .finish()
    }
}

/// Provisions a server as `config` says. With `auto`, each fallback prints one line
/// on stderr (unless quiet) saying why.
pub async fn provision(config: &ProvisionConfig) -> Result<Server> {
    let provisioned = match config.backend {
        BackendKind::Url => url::provision(config).await?,
        BackendKind::Local => local::provision(config).await?,
        BackendKind::Docker => docker::provision(config).await?,
        BackendKind::Auto => auto(config).await?,
    };
    Server::start(provisioned, config).await
}

async fn auto(config: &ProvisionConfig) -> Result<Provisioned> {
    if config.database_url.is_some() {
        return url::provision(config).await;
    }
    let say = |line: String| {
        if !config.quiet {
            eprintln!("{line}");
        }
    };
    match docker::usable(config).await {
        Ok(()) => return docker::provision(config).await,
        Err(why) => say(format!("querylab: not using docker: {why}; trying local")),
    }
    match local::provision(config).await {
        Ok(p) => Ok(p),
        Err(local_err) => Err(Error::Provision {
            backend: "auto",
            message: format!(
                "no PostgreSQL available ({local_err}). Get one of: a Docker engine with a postgres image (--backend docker --pg-image IMG), PostgreSQL server binaries (apt-get install postgresql) for --backend local, or an existing server via --database-url postgres://user@host/db"
            ),
        }),
    }
}

impl Server {
    async fn start(p: Provisioned, config: &ProvisionConfig) -> Result<Server> {
        let run_prefix = format!("querylab_{}", run_id());
        let mut server = Server {
            base: p.base,
            maintenance_db: p.maintenance_db,
            info: ServerInfo {
                backend: p.backend.to_string(),
                label: p.label,
                image: p.image,
                ..ServerInfo::default()
            },
            keep: config.keep,
            created: Arc::default(),
            teardown: Mutex::new(p.teardown),
            run_prefix,
            settings: config.settings.clone(),
            names: Default::default(),
            data_dir: p.data_dir,
        };
        let admin = server.admin().await?;
        let version: String = admin
            .query_one("SHOW server_version", &[])
            .await
            .map_err(|e| Error::db("reading server_version", e))?
            .get(0);
        let num: String = admin
            .query_one("SHOW server_version_num", &[])
            .await
            .map_err(|e| Error::db("reading server_version_num", e))?
            .get(0);
        server.info.version = version;
        server.info.version_num = num.parse().unwrap_or(0);
        server.info.settings = settings::read(&admin).await?;
        Ok(server)
    }

    /// What to record about this server in results.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The backend that provided it (`docker`, `local`, `url`).
    pub fn backend(&self) -> &str {
        &self.info.backend
    }

    /// The directory on this machine holding the server's data, when known.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }

    /// Prefix of every database this handle creates (`querylab_<run id>`).
    pub fn run_prefix(&self) -> &str {
        &self.run_prefix
    }

    /// A database name no other caller of this handle gets: `<run prefix>_<kind><n>`.
    /// Kept here, not by each user, so that several measurers on one server (the
    /// benches make one per group) never reuse a name.
    pub fn unique_name(&self, kind: &str) -> String {
        let n = self
            .names
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        format!("{}_{kind}{n}", self.run_prefix)
    }

    /// Connection config for `database` (contains the password: do not print).
    pub fn config_for(&self, database: &str) -> tokio_postgres::Config {
        let mut c = self.base.clone();
        c.dbname(database);
        c
    }

    /// Opens a connection to `database`; the connection task runs on the current runtime.
    pub async fn connect(&self, database: &str) -> Result<Client> {
        connect_with(&self.config_for(database), database).await
    }

    /// Connection to the maintenance database, for CREATE/DROP DATABASE.
    pub async fn admin(&self) -> Result<Client> {
        self.connect(&self.maintenance_db).await
    }

    /// Creates database `name` (optionally as a copy of `template`) and remembers it
    /// so that it is dropped on teardown. `name` must start with `querylab_`.
    pub async fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        if !name.starts_with("querylab_") {
            return Err(Error::Invalid(format!(
                "refusing to create database {name}: querylab only creates databases named querylab_*"
            )));
        }
        let admin = self.admin().await?;
        let sql = match template {
            // FILE_COPY (PostgreSQL 15+) copies files instead of WAL-logging every
            // block: a clone of a loaded database takes about a second, not tens.
            Some(t) if self.info.version_num >= 150000 => format!(
                "CREATE DATABASE {} TEMPLATE {} STRATEGY = FILE_COPY",
                quote_ident(name),
                quote_ident(t)
            ),
            Some(t) => format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident(name),
                quote_ident(t)
            ),
            None => format!("CREATE DATABASE {} TEMPLATE template0", quote_ident(name)),
        };
        self.created.lock().unwrap().insert(name.to_string());
        admin
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::db(format!("creating database {name}"), e))?;
        // Per-database settings are not copied from a template: set them every time,
        // so they hold even on a server querylab did not start.
        for (k, v) in self.settings.per_database() {
            admin
                .batch_execute(&format!(
                    "ALTER DATABASE {} SET {k} = '{}'",
                    quote_ident(name),
                    v.replace('\'', "''")
                ))
                .await
                .map_err(|e| Error::db(format!("setting {k} on database {name}"), e))?;
        }
        Ok(())
    }

    /// Drops database `name` if querylab created it (or it is a `querylab_` database
    /// found by [`Server::adopt_database`]). Any other name is refused.
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        if !name.starts_with("querylab_") {
            return Err(Error::Invalid(format!(
                "refusing to drop database {name}: querylab only drops databases named querylab_*"
            )));
        }
        let admin = self.admin().await?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(name)
            ))
            .await
            .map_err(|e| Error::db(format!("dropping database {name}"), e))?;
        self.created.lock().unwrap().remove(name);
        Ok(())
    }

    /// Stops tracking `name` so teardown leaves it in place (a kept template).
    pub fn forget_database(&self, name: &str) {
        self.created.lock().unwrap().remove(name);
    }

    /// Databases created and not yet dropped.
    pub fn created_databases(&self) -> Vec<String> {
        self.created.lock().unwrap().iter().cloned().collect()
    }

    /// Whether querylab started this server (and tears it down whole).
    fn owns_server(&self) -> bool {
        self.teardown.lock().map(|t| t.is_some()).unwrap_or(false)
    }

    fn take_teardown(&mut self) -> Option<Teardown> {
        match self.teardown.get_mut() {
            Ok(t) => t.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }

    /// Orderly teardown: drops the databases querylab created (on a `url` server) and
    /// stops what the backend started. Prefer this to a plain drop where possible;
    /// drop does the same, synchronously, as a fallback.
    pub async fn shutdown(self) -> Result<()> {
        self.shutdown_with(Cleanup::Wait).await
    }

    /// [`Server::shutdown`], with the files of a server querylab started removed
    /// as `cleanup` says.
    pub async fn shutdown_with(mut self, cleanup: Cleanup) -> Result<()> {
        if !self.keep && !self.owns_server() {
            for db in self.created_databases() {
                self.drop_database(&db).await?;
            }
        }
        if let Some(t) = self.take_teardown().filter(|_| !self.keep) {
            tokio::task::spawn_blocking(move || t(cleanup)).await.ok();
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Some(t) = self.take_teardown() {
            t(Cleanup::Wait);
            return;
        }
        // url backend: drop the databases we created, on a thread with its own
        // runtime because Drop cannot await.
        let dbs = self.created_databases();
        if dbs.is_empty() {
            return;
        }
        let mut cfg = self.base.clone();
        cfg.dbname(&self.maintenance_db);
        let _ = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(_) => return,
            };
            rt.block_on(async move {
                if let Ok((client, conn)) = cfg.connect(NoTls).await {
                    tokio::spawn(conn);
                    for db in dbs {
                        let _ = client
                            .batch_execute(&format!(
                                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                                quote_ident(&db)
                            ))
                            .await;
                    }
                }
            });
        })
        .join();
    }
}

/// Connects with `config`, spawning the connection task. `what` names the database
/// in errors (never the URL, which may hold a password).
pub async fn connect_with(config: &tokio_postgres::Config, what: &str) -> Result<Client> {
    let (client, conn) = config
        .connect(NoTls)
        .await
        .map_err(|e| Error::db(format!("connecting to database {what}"), e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Quotes an SQL identifier (doubles embedded quotes).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A short unique id for this process's databases: time + pid, lower-case hex.
pub fn run_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:x}{:04x}", t.as_secs(), std::process::id() & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::BackendKind;

    #[test]
    fn backends_parse_as_written_on_the_command_line() {
        for b in [
            BackendKind::Auto,
            BackendKind::Docker,
            BackendKind::Local,
            BackendKind::Url,
        ] {
            assert_eq!(b.as_str().parse::<BackendKind>(), Ok(b));
            assert_eq!(b.to_string(), b.as_str());
        }
        let e = "podman".parse::<BackendKind>().unwrap_err();
        assert!(
            e.contains("podman") && e.contains("auto, docker, local or url"),
            "{e}"
        );
    }
}
