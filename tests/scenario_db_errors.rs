//! Scenario mistakes only a server can find — an index set that does not build, SQL
//! that does not prepare, a parameter the params query does not return, a params
//! query that fails, a missing write table — each give one stderr line with the
//! file, line and column, what is wrong and what to do, from the real binary against
//! a real PostgreSQL. Nothing is left on the server.
use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::cli;
use common::cluster::TestCluster;

fn corpus() -> Vec<PathBuf> {
    common::scenario_corpus("bad_db")
}

#[tokio::test]
async fn each_scenario_that_fails_on_the_server_gets_one_precise_line() {
    let files = corpus();
    assert!(files.len() >= 5, "corpus too small: {files:?}");
    let cluster = TestCluster::start();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let want = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks an '# expect: ' first line", path.display()));
        let tmp = cli::shared_tempdir();
        let out = cli::run(
            cli::querylab(tmp.path())
                .args(["run", "--quiet", "--min-time", "0", "--min-samples", "1"])
                .args(["--warmup", "1", "--backend", "url", "--database-url"])
                .arg(cluster.superuser_url("postgres"))
                .arg("--scenario")
                .arg(&path)
                .arg("--out")
                .arg(tmp.path().join("out")),
            Duration::from_secs(120),
        );
        let name = path.display();
        assert!(
            matches!(out.code(), Some(1 | 2)),
            "{name}: exit {:?}; stderr: {}",
            out.code(),
            out.stderr
        );
        let hits: Vec<&str> = out.stderr.lines().filter(|l| l.contains(want)).collect();
        assert_eq!(
            hits.len(),
            1,
            "{name}: want one line with …{want}…\nstderr:\n{}",
            out.stderr
        );
        // Where: the file as given, then line and column.
        assert!(
            hits[0].contains(&format!("{}:", path.display())),
            "{name}: {}",
            hits[0]
        );
        assert!(
            hits[0].starts_with("Error: ") || hits[0].starts_with("querylab: "),
            "{}",
            hits[0]
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert_eq!(
            cluster.querylab_databases().await,
            Vec::<String>::new(),
            "{name}"
        );
    }
}
