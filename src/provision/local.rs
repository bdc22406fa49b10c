//! The `local` backend: a throwaway cluster from the machine's PostgreSQL server
//! binaries.
//!
//! `initdb` writes a fresh cluster into a temp dir; `postgres` is spawned directly
//! (not through `pg_ctl`) so querylab holds the postmaster as a child process: it
//! sees at once when the server dies during startup, and teardown is a signal plus a
//! `wait`, with no pid file to trust. The server listens on 127.0.0.1 at a free port
//! and on a unix socket inside the temp dir; readiness is checked, and every
//! connection made, through that socket, which only *our* postmaster can have
//! created (a port taken by someone else therefore cannot pass for ours).
//!
//! `initdb` and `postgres` refuse to run as root, and CI runs as root: then both run
//! as an unprivileged system user (`postgres` where it exists, else `nobody`) that
//! owns the temp dir.
//!
//! A [`Cluster`] guard owns the directory and the postmaster from the moment the
//! directory exists, so an error, a panic or a dropped future anywhere in between
//! stops the server and removes the directory.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User, chown, geteuid};
use tokio_postgres::NoTls;

use super::{Cleanup, ProvisionConfig, Provisioned};
use crate::error::{Error, Result};

/// Superuser created by `initdb -U`.
const SUPERUSER: &str = "postgres";
/// How long a fresh cluster may take to accept connections before we give up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an immediate shutdown may take before the postmaster is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Start attempts: a free port can be taken between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 5;
/// Server log lines quoted in a startup error.
const LOG_TAIL_LINES: usize = 5;
/// The three executables a bin dir must hold to be usable.
const REQUIRED: [&str; 3] = ["initdb", "postgres", "pg_ctl"];

/// Provisions a throwaway cluster with the machine's server binaries, found by
/// [`candidate_bindirs`].
pub async fn provision(config: &ProvisionConfig) -> Result<Provisioned> {
    let bindir = find_bindir(candidate_bindirs())?;
    let run_as = RunAs::for_current_user()?;
    let parent = temp_parent(run_as.is_some());
    provision_with(config, &bindir, &parent).await
}

/// Where to look for server binaries, in order: `pg_config --bindir`, each `PATH`
/// entry, then `/usr/lib/postgresql/<version>/bin`, newest version first.
///
/// Reads `PATH` (as a shell would to run a command); nothing else from the
/// environment.
pub fn candidate_bindirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !dir.is_empty() {
            dirs.push(PathBuf::from(dir));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(versioned_bindirs(Path::new("/usr/lib/postgresql")));
    dirs
}

/// `<root>/<version>/bin` for every version directory under `root` (Debian's
/// layout), newest first; versions compare numerically (`9.6` < `10` < `15`).
pub fn versioned_bindirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let version: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            Some((version?, e.path().join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

/// The first of `candidates` holding executable `initdb`, `postgres` and `pg_ctl`.
/// None → one error line saying how to get binaries or another backend.
pub fn find_bindir(candidates: impl IntoIterator<Item = PathBuf>) -> Result<PathBuf> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    candidates
        .into_iter()
        .find(|dir| REQUIRED.iter().all(|b| executable(&dir.join(b))))
        .ok_or_else(|| Error::Provision {
            backend: "local",
            message: "no PostgreSQL server binaries (initdb, postgres, pg_ctl) found via pg_config --bindir, PATH or /usr/lib/postgresql/*/bin; install them (e.g. apt-get install postgresql) or use --backend docker or --database-url postgres://user@host/db".into(),
        })
}

/// Like [`provision`], with the bin dir and the temp dir's parent chosen by the
/// caller (tests use it to inject binaries and watch the parent for leftovers).
/// `parent` must be traversable by the user the server runs as.
pub async fn provision_with(
    config: &ProvisionConfig,
    bindir: &Path,
    parent: &Path,
) -> Result<Provisioned> {
    let run_as = RunAs::for_current_user()?;
    let dir = tempfile::Builder::new()
        .prefix("querylab-local-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
        .map_err(|e| {
            fail(format!(
                "cannot create a temp dir in {}: {e}",
                parent.display()
            ))
        })?
        .keep();
    // From here on the guard removes the dir (and stops the server) on any exit.
    let mut cluster = Cluster {
        dir,
        postmaster: None,
        keep: false,
    };
    if let Some(user) = &run_as {
        // The dir is 0700: hand it to the user the server runs as.
        chown(&cluster.dir, Some(user.uid), Some(user.gid)).map_err(|e| {
            fail(format!(
                "cannot hand {} to user {}: {e}",
                cluster.dir.display(),
                user.name
            ))
        })?;
    }
    let data = cluster.dir.join("data");
    initdb(bindir, &data, &cluster.dir, run_as.as_ref()).await?;
    let major = std::fs::read_to_string(data.join("PG_VERSION"))
        .map(|v| v.trim().to_string())
        .map_err(|e| {
            fail(format!(
                "initdb wrote no PG_VERSION in {}: {e}",
                data.display()
            ))
        })?;
    let port = start(&mut cluster, bindir, &data, config, run_as.as_ref()).await?;

    // Through the unix socket, not TCP on 127.0.0.1: on loopback TCP the sender's
    // own CPU runs the receiving side of the TCP stack, so every COPY byte and every
    // sample's round trip cost both processes more (load: ~160 ns per ml_jobs row in
    // querylab, on the two cores the server needs too).
    let mut base = tokio_postgres::Config::new();
    base.host_path(&cluster.dir)
        .port(port)
        .user(SUPERUSER)
        .connect_timeout(Duration::from_secs(10));
    if config.keep {
        cluster.keep = true;
        if !config.quiet {
            eprintln!(
                "querylab: keeping local server: data dir {}, url postgres://{SUPERUSER}@127.0.0.1:{port}/postgres; stop it with: {}",
                data.display(),
                stop_command(bindir, &data, &cluster.dir, run_as.as_ref())
            );
        }
    }
    // The dir the user chose (TMPDIR), on the same filesystem: what an error names.
    let data_dir = Some(parent.to_path_buf());
    Ok(Provisioned {
        data_dir,
        base,
        maintenance_db: "postgres".into(),
        backend: "local",
        label: format!("local-pg{major}"),
        image: None,
        teardown: Some(Box::new(move |cleanup| {
            let mut cluster = cluster;
            cluster.stop(cleanup);
        })),
    })
}

/// The unprivileged user the server runs as when querylab runs as root.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: Uid,
    gid: Gid,
}

impl RunAs {
    /// `None` when not root (the server runs as us); else `postgres` or `nobody`.
    fn for_current_user() -> Result<Option<RunAs>> {
        if !geteuid().is_root() {
            return Ok(None);
        }
        for name in ["postgres", "nobody"] {
            if let Ok(Some(u)) = User::from_name(name) {
                return Ok(Some(RunAs {
                    name: u.name,
                    uid: u.uid,
                    gid: u.gid,
                }));
            }
        }
        Err(fail(
            "running as root, and PostgreSQL refuses root, but neither a postgres nor a nobody user exists to run it as; create one (useradd --system postgres) or run as a non-root user".into(),
        ))
    }
}

/// The parent for the temp dir: the system temp dir, unless the server's user could
/// not reach into it (root with a private `TMPDIR`) or the unix socket path would be
/// too long (the kernel limit is 107 bytes), in which case `/tmp`.
fn temp_parent(as_other_user: bool) -> PathBuf {
    let tmp = std::env::temp_dir();
    // "/querylab-local-XXXXXX/.s.PGSQL.65535.lock"
    let too_long = tmp.as_os_str().len() + 42 > 107;
    let traversable = || {
        tmp.ancestors()
            .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
    };
    if too_long || (as_other_user && !traversable()) {
        PathBuf::from("/tmp")
    } else {
        tmp
    }
}

/// Builds a command for a server binary, run as `run_as` when given, from inside
/// the temp dir (the server user may not be allowed into our working directory).
fn server_command(program: PathBuf, cwd: &Path, run_as: Option<&RunAs>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd).stdin(Stdio::null());
    if let Some(user) = run_as {
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    cmd
}

/// Runs `initdb` for `data`: superuser `postgres`, trust auth (the server listens
/// only on 127.0.0.1 and a socket in a 0700 dir), UTF8, locale C and UTC for
/// speed and determinism, no fsync because the cluster is disposable.
async fn initdb(bindir: &Path, data: &Path, cwd: &Path, run_as: Option<&RunAs>) -> Result<()> {
    let mut cmd = server_command(bindir.join("initdb"), cwd, run_as);
    cmd.arg("-D")
        .arg(data)
        .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C"])
        .args(["--no-sync", "--no-instructions"])
        .env("TZ", "UTC");
    let mut cmd = tokio::process::Command::from(cmd);
    // A dropped provision future must not leave initdb writing into a removed dir.
    cmd.kill_on_drop(true);
    let out = cmd.output().await.map_err(|e| {
        fail(format!(
            "cannot run {}/initdb{}: {e}",
            bindir.display(),
            as_whom(run_as)
        ))
    })?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).to_string();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    Err(fail(format!(
        "initdb failed ({}){}: {}",
        out.status,
        as_whom(run_as),
        tail(&text, LOG_TAIL_LINES)
    )))
}

/// Starts the postmaster on a free port, retrying with another port when the one
/// probed was taken in the meantime. Returns the port once a connection succeeds.
async fn start(
    cluster: &mut Cluster,
    bindir: &Path,
    data: &Path,
    config: &ProvisionConfig,
    run_as: Option<&RunAs>,
) -> Result<u16> {
    let log_path = cluster.dir.join("server.log");
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_port()?;
        let log = File::create(&log_path)
            .map_err(|e| fail(format!("cannot create {}: {e}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(|e| fail(format!("cannot reopen {}: {e}", log_path.display())))?;
        let mut cmd = server_command(bindir.join("postgres"), &cluster.dir, run_as);
        cmd.arg("-D")
            .arg(data)
            .arg("-k")
            .arg(&cluster.dir)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(config.settings.as_args())
            .stdout(log)
            .stderr(log_err);
        if config.keep {
            // A kept server must outlive querylab and not get the terminal's Ctrl-C;
            // a throwaway one stays in our process group so that Ctrl-C reaches it
            // even if querylab dies without running its teardown.
            cmd.process_group(0);
        }
        let child = cmd.spawn().map_err(|e| {
            fail(format!(
                "cannot run {}/postgres{}: {e}",
                bindir.display(),
                as_whom(run_as)
            ))
        })?;
        cluster.postmaster = Some(child);
        match wait_ready(cluster, port, &log_path).await {
            Ok(()) => return Ok(port),
            Err(Started::PortTaken) if attempt < PORT_ATTEMPTS => cluster.stop_postmaster(),
            Err(Started::PortTaken) => {
                return Err(fail(format!(
                    "postgres could not bind a free port on 127.0.0.1 in {PORT_ATTEMPTS} attempts: {}",
                    log_tail(&log_path)
                )));
            }
            Err(Started::Failed(message)) => return Err(fail(message)),
        }
    }
}

/// Why a start attempt did not give a ready server.
enum Started {
    /// The port was taken between the probe and the bind: try another.
    PortTaken,
    /// Anything else: the message for the user.
    Failed(String),
}

/// Waits until a connection through the cluster's own unix socket succeeds, or the
/// postmaster exits, or [`START_TIMEOUT`] passes.
async fn wait_ready(
    cluster: &mut Cluster,
    port: u16,
    log_path: &Path,
) -> std::result::Result<(), Started> {
    let mut probe = tokio_postgres::Config::new();
    probe
        .host_path(&cluster.dir)
        .port(port)
        .user(SUPERUSER)
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(2));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(child) = cluster.postmaster.as_mut() {
            match child.try_wait() {
                Ok(None) => {}
                Ok(Some(status)) => {
                    let tail = log_tail(log_path);
                    if tail.contains("Address already in use")
                        || tail.contains("could not create any TCP/IP sockets")
                    {
                        return Err(Started::PortTaken);
                    }
                    return Err(Started::Failed(format!(
                        "postgres exited during startup ({status}): {tail}"
                    )));
                }
                Err(e) => {
                    return Err(Started::Failed(format!("cannot watch postgres: {e}")));
                }
            }
        }
        match probe.connect(NoTls).await {
            // Dropping client and connection closes the session.
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(Started::Failed(format!(
                    "postgres did not accept connections within {} s ({e}): {}",
                    START_TIMEOUT.as_secs(),
                    log_tail(log_path)
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// A port that was free on 127.0.0.1 a moment ago (the kernel's choice for port 0).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| fail(format!("cannot find a free TCP port on 127.0.0.1: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| fail(format!("cannot find a free TCP port on 127.0.0.1: {e}")))
}

/// A started cluster: its temp dir and postmaster. Dropping it stops the server and
/// removes the dir, unless `keep` (set only once provisioning succeeded with
/// `--keep`).
struct Cluster {
    dir: PathBuf,
    postmaster: Option<Child>,
    keep: bool,
}

impl Cluster {
    /// Stops the postmaster (if any) and removes the temp dir: now, or with
    /// [`Cleanup::Detach`] by an `rm -rf` in its own session that outlives us.
    fn stop(&mut self, cleanup: Cleanup) {
        if cleanup == Cleanup::Detach && self.stop_detached().is_ok() {
            return;
        }
        self.stop_postmaster();
        if let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!(
                "querylab: could not remove {}: {e}; remove it by hand",
                self.dir.display()
            );
        }
    }

    /// SIGQUIT to the postmaster now; then a detached shell waits for it to exit
    /// (up to 10 s, then SIGKILL) and removes the directory. The postmaster of a
    /// 1M-row run was seen to take over a second to exit after its last child.
    fn stop_detached(&mut self) -> std::io::Result<()> {
        let mut pid = String::new();
        if let Some(child) = self.postmaster.as_mut()
            && matches!(child.try_wait(), Ok(None))
        {
            let raw = i32::try_from(child.id()).unwrap_or(0);
            let _ = kill(Pid::from_raw(raw), Signal::SIGQUIT);
            let deadline = Instant::now() + Duration::from_millis(300);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if matches!(child.try_wait(), Ok(None)) {
                pid = raw.to_string();
            }
        }
        // $1: the postmaster's pid (empty when it is gone), $2: the directory. A
        // zombie (state Z: exited, reaped by init once we are gone) counts as gone.
        const SCRIPT: &str = r#"
            if [ -n "$1" ]; then
                i=0
                while [ $i -lt 200 ] && [ -d /proc/$1 ] && [ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" != Z ]; do
                    sleep 0.05; i=$((i+1))
                done
                [ $i -ge 200 ] && kill -9 "$1" 2>/dev/null
            fi
            rm -rf -- "$2""#;
        Command::new("sh")
            .args(["-c", SCRIPT, "querylab-cleanup", &pid])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Not in our process group: a second Ctrl-C must not stop it.
            .process_group(0)
            .spawn()?;
        // The shell owns the rest: dropping the handle neither kills nor waits, and
        // the guard's own drop must not remove the directory under it.
        self.postmaster = None;
        self.keep = true;
        Ok(())
    }

    /// Immediate shutdown (SIGQUIT: no checkpoint, the data is thrown away), then
    /// `wait`, which returns once the postmaster has reaped all its children.
    /// SIGKILL if it does not exit in time.
    fn stop_postmaster(&mut self) {
        let Some(mut child) = self.postmaster.take() else {
            return;
        };
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        // The child is not reaped yet, so its pid cannot have been reused.
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGQUIT);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                _ => return,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.keep {
            self.stop(Cleanup::Wait);
        }
    }
}

/// The command a user runs to stop a kept cluster (as the server's user when we
/// are root, since `pg_ctl` refuses root too).
fn stop_command(bindir: &Path, data: &Path, dir: &Path, run_as: Option<&RunAs>) -> String {
    let stop = format!(
        "{} -D {} stop",
        bindir.join("pg_ctl").display(),
        data.display()
    );
    let stop = match run_as {
        Some(u) => format!("su -s /bin/sh {} -c '{stop}'", u.name),
        None => stop,
    };
    format!("{stop} && rm -rf {}", dir.display())
}

/// " as user NAME" when running as another user, for error messages.
fn as_whom(run_as: Option<&RunAs>) -> String {
    run_as
        .map(|u| format!(" as user {}", u.name))
        .unwrap_or_default()
}

/// The last lines of the server log, on one line.
fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => tail(&String::from_utf8_lossy(&bytes), LOG_TAIL_LINES),
        Err(e) => format!("(no server log: {e})"),
    }
}

/// The last `n` non-empty lines of `text`, joined with " | " so an error stays one
/// line.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(n);
    if lines.is_empty() {
        "(no output)".into()
    } else {
        lines[start..].join(" | ")
    }
}

/// A `local` backend error.
fn fail(message: String) -> Error {
    Error::Provision {
        backend: "local",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_nonempty_lines_on_one_line() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(tail("", 3), "(no output)");
    }

    #[test]
    fn versions_sort_newest_first_numerically() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "10", "15", "notaversion"] {
            std::fs::create_dir(root.path().join(v)).unwrap();
        }
        let dirs = versioned_bindirs(root.path());
        let names: Vec<String> = dirs
            .iter()
            .map(|p| {
                p.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["15", "10", "9.6"]);
    }
}
