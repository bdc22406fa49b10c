//! A PostgreSQL cluster the test itself runs, for what the library's `local`
//! backend deliberately hides: the postmaster's pid (to kill it), a restart on the
//! same data directory (to see what a crash left), and password authentication (to
//! plant a secret). querylab reaches it through the `url` backend.
//!
//! TCP connections need a SCRAM password; the unix socket (inside the cluster's
//! 0700-ish temp dir, used only by the test's own [`TestCluster::admin`]) is trusted.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, User, chown, geteuid};
use querylab::provision::local::{candidate_bindirs, find_bindir};

/// The superuser's password for TCP connections (not a planted secret).
pub const SUPERUSER_PASSWORD: &str = "test-superuser-pw";

/// A running cluster and its directory; dropping it stops the server and removes
/// the directory.
pub struct TestCluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    postmaster: Option<Child>,
    run_as: Option<(u32, u32)>,
}

impl TestCluster {
    /// initdb + start, with SCRAM on 127.0.0.1 and trust on the socket.
    pub fn start() -> TestCluster {
        let bindir = find_bindir(candidate_bindirs()).expect("PostgreSQL server binaries");
        let run_as = if geteuid().is_root() {
            let u = User::from_name("postgres")
                .ok()
                .flatten()
                .or_else(|| User::from_name("nobody").ok().flatten())
                .expect("a postgres or nobody user to run the server as");
            Some((u.uid.as_raw(), u.gid.as_raw()))
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("querylab-testpg-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        if let Some((uid, gid)) = run_as {
            chown(
                &dir,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .unwrap();
        }
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).unwrap();
        if let Some((uid, gid)) = run_as {
            chown(
                &pwfile,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .unwrap();
        }
        let mut cluster = TestCluster {
            dir,
            bindir,
            port: 0,
            postmaster: None,
            run_as,
        };
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.data())
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        cluster.spawn();
        cluster
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Starts the postmaster (again) on the same data dir and port; waits until
    /// it accepts connections (after crash recovery, if there was a crash).
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .unwrap();
        let mut cmd = self.command("postgres");
        cmd.arg("-D")
            .arg(self.data())
            .arg("-k")
            .arg(&self.dir)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "shared_buffers=128MB", "-c", "max_connections=100"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // Signals the test sends to a querylab process group never reach it.
            .process_group(0);
        self.postmaster = Some(cmd.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new(self.bindir.join("pg_isready"))
                .args(["-q", "-h"])
                .arg(&self.dir)
                .args(["-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            if let Some(status) = self.postmaster.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "test postgres exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "test postgres did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's pid.
    pub fn pid(&self) -> i32 {
        self.postmaster.as_ref().expect("running").id() as i32
    }

    /// `postgres://USER:PASSWORD@127.0.0.1:PORT/DB`.
    pub fn url(&self, user: &str, password: Option<&str>, db: &str) -> String {
        match password {
            Some(pw) => format!("postgres://{user}:{pw}@127.0.0.1:{}/{db}", self.port),
            None => format!("postgres://{user}@127.0.0.1:{}/{db}", self.port),
        }
    }

    /// The superuser's URL (with its password).
    pub fn superuser_url(&self, db: &str) -> String {
        self.url("postgres", Some(SUPERUSER_PASSWORD), db)
    }

    /// A superuser connection through the trusted unix socket.
    pub async fn admin(&self, db: &str) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::Config::new()
            .host_path(&self.dir)
            .port(self.port)
            .user("postgres")
            .dbname(db)
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test cluster: {e}"));
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }

    /// Database names, sorted.
    pub async fn databases(&self) -> Vec<String> {
        self.admin("postgres")
            .await
            .query("SELECT datname FROM pg_database ORDER BY 1", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// Databases whose name starts with `querylab_`.
    pub async fn querylab_databases(&self) -> Vec<String> {
        self.databases()
            .await
            .into_iter()
            .filter(|d| d.starts_with("querylab_"))
            .collect()
    }

    /// The server dies: SIGKILL to the postmaster and every process it started, as
    /// the OOM killer or a power cut would leave it. The data dir stays.
    pub fn kill(&mut self) {
        let Some(mut child) = self.postmaster.take() else {
            return;
        };
        let pid = child.id() as i32;
        let children = children_of(pid);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        for c in &children {
            let _ = kill(Pid::from_raw(*c), Signal::SIGKILL);
        }
        let _ = child.wait();
        // A restart refuses to start while old backends still hold shared memory.
        let deadline = Instant::now() + Duration::from_secs(10);
        while children.iter().any(|c| running(*c)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.postmaster.take() {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGQUIT);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Pids whose parent is `pid`, from /proc.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the parenthesised command name: state, ppid, ...
        let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else {
            continue;
        };
        let ppid: Option<i32> = after.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// The process exists and is not a zombie.
pub fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, a)| a.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Pids of live processes whose command line mentions `needle` (e.g. a temp dir).
pub fn processes_mentioning(needle: &Path) -> Vec<(i32, String)> {
    let needle = needle.to_string_lossy().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && running(pid) {
            out.push((pid, cmdline));
        }
    }
    out
}
