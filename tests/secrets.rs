//! Secrets: a password given in the URL, in PGPASSWORD or in DATABASE_URL never
//! appears in stdout, stderr, results.json, the HTML or the Markdown — on success,
//! on failure, and in `load`, `run`, `report` and `check`. The server checks the
//! password (SCRAM), so a run that succeeds proves the secret was really used.
use crate::common;

use std::path::Path;
use std::time::Duration;

use common::cli;
use common::cluster::TestCluster;

/// The planted password: distinctive, so any trace of it is found.
const SECRET: &str = "Pl4nted-QL-s3cret-7f3a9c";
const ROLE: &str = "ql_planted";

/// Every file under `dir`, as (path, text).
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((
                p.display().to_string(),
                String::from_utf8_lossy(&bytes).to_string(),
            ));
        }
    }
    out
}

/// Asserts the secret is nowhere in `out` or under `dir`; returns how many files
/// were searched.
fn assert_no_secret(what: &str, out: &cli::Output, dir: &Path) -> usize {
    assert!(!out.stdout.contains(SECRET), "{what}: stdout has it");
    assert!(!out.stderr.contains(SECRET), "{what}: stderr has it");
    let files = files_under(dir);
    for (path, text) in &files {
        assert!(!text.contains(SECRET), "{what}: {path} has it");
    }
    files.len()
}

#[tokio::test]
async fn a_planted_password_never_appears_in_any_output() {
    let cluster = TestCluster::start();
    let admin = cluster.admin("postgres").await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{SECRET}'"
        ))
        .await
        .unwrap();
    let with_pw = cluster.url(ROLE, Some(SECRET), "postgres");
    let without_pw = cluster.url(ROLE, None, "postgres");
    let tmp = cli::shared_tempdir();
    let t = tmp.path();
    let limit = Duration::from_secs(180);
    let run_args = [
        "run",
        "--rows",
        "5000",
        "--only",
        "pagination.offset_vs_keyset.shallow",
        "--min-time",
        "0.2",
        "--quiet",
    ];

    // A password in the URL given as a flag: run, then report and check on it.
    let out = cli::run(
        cli::querylab(t)
            .args(run_args)
            .args(["--backend", "url", "--database-url", &with_pw, "--out"])
            .arg(t.join("run-url")),
        limit,
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(t.join("run-url/index.html").exists());
    assert!(t.join("run-url/summary.md").exists());
    let mut searched = assert_no_secret("run with the password in --database-url", &out, t);

    let out = cli::run(
        cli::querylab(t)
            .args(["report"])
            .arg(t.join("run-url/results.json"))
            .arg("--out")
            .arg(t.join("report")),
        limit,
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    searched += assert_no_secret("report", &out, t);

    let out = cli::run(
        cli::querylab(t)
            .args(["check", "--baseline"])
            .arg(t.join("run-url/results.json"))
            .args([
                "--format",
                "markdown",
                "--quiet",
                "--database-url",
                &with_pw,
            ])
            .arg("--out")
            .arg(t.join("check"))
            .arg("--verdicts")
            .arg(t.join("verdicts.json"))
            .env("GITHUB_STEP_SUMMARY", t.join("step-summary.md")),
        limit,
    );
    assert!(matches!(out.code(), Some(0 | 1)), "{}", out.stderr);
    assert!(t.join("verdicts.json").exists() && t.join("step-summary.md").exists());
    searched += assert_no_secret("check", &out, t);

    // The password in PGPASSWORD: load (human and JSON output).
    for json in [false, true] {
        let mut cmd = cli::querylab(t);
        cmd.args([
            "load",
            "--rows",
            "5000",
            "--quiet",
            "--database-url",
            &without_pw,
        ])
        .env("PGPASSWORD", SECRET);
        if json {
            cmd.arg("--json");
        }
        let out = cli::run(&mut cmd, limit);
        assert_eq!(out.code(), Some(0), "{}", out.stderr);
        searched += assert_no_secret("load with PGPASSWORD", &out, t);
    }

    // The password in the environment (DATABASE_URL), backend chosen by auto.
    let out = cli::run(
        cli::querylab(t)
            .args(run_args)
            .arg("--out")
            .arg(t.join("run-env"))
            .env("DATABASE_URL", &with_pw),
        limit,
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    searched += assert_no_secret("run with DATABASE_URL", &out, t);

    // Failures: a database that does not exist, the secret as a wrong password,
    // a URL that does not parse, and the secret wrong in PGPASSWORD.
    let port = cluster.port();
    let failing = [
        (
            "wrong database",
            format!("postgres://{ROLE}:{SECRET}@127.0.0.1:{port}/nosuchdb"),
            None,
        ),
        (
            "wrong password",
            format!("postgres://postgres:{SECRET}@127.0.0.1:{port}/postgres"),
            None,
        ),
        (
            "bad port",
            format!("postgres://{ROLE}:{SECRET}@127.0.0.1:notaport/postgres"),
            None,
        ),
        (
            "bad option",
            format!("postgres://{ROLE}:{SECRET}@127.0.0.1:{port}/postgres?sslmode=sometimes"),
            None,
        ),
        (
            "keyword string, quoted wrong password",
            format!(
                "host=127.0.0.1 port={port} user=postgres password='x {SECRET}\\'y' dbname=postgres"
            ),
            None,
        ),
        (
            "keyword string, spaced wrong password",
            format!("host=127.0.0.1 port={port} user=postgres password = {SECRET} dbname=postgres"),
            None,
        ),
        (
            "wrong PGPASSWORD",
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            Some(SECRET),
        ),
    ];
    for (what, url, pgpassword) in failing {
        for cmd_args in [&run_args[..], &["load", "--rows", "5000", "--quiet"][..]] {
            let mut cmd = cli::querylab(t);
            cmd.args(cmd_args)
                .args(["--backend", "url", "--database-url", &url, "--out"])
                .arg(t.join("failing"));
            if cmd_args[0] == "load" {
                // load has no --out
                cmd = cli::querylab(t);
                cmd.args(cmd_args)
                    .args(["--backend", "url", "--database-url", &url]);
            }
            if let Some(pw) = pgpassword {
                cmd.env("PGPASSWORD", pw);
            }
            let out = cli::run(&mut cmd, limit);
            assert_eq!(out.code(), Some(2), "{what}: {}", out.stderr);
            assert_eq!(out.error_lines().len(), 1, "{what}: {}", out.stderr);
            searched += assert_no_secret(what, &out, t);
        }
    }
    assert!(searched > 10, "searched {searched} files");
    assert!(cluster.querylab_databases().await.is_empty());
}
