//! Other people's databases: with --database-url, querylab creates and drops only
//! its own databases. Another database — including the one the URL names, which
//! querylab uses as its maintenance connection, and one whose name merely starts
//! with `querylab_` — is proven byte-for-byte untouched (row counts and checksums
//! of every table, sequences, relation files, database settings, roles) after
//! `run`, `check`, an interrupted `run` and `load`. A role without CREATEDB is
//! refused with a clear message and nothing is created.
use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::cli::{self, Running};
use common::cluster::TestCluster;
use nix::sys::signal::Signal;

/// Databases that are not querylab's, filled by the test.
const THEIRS: [&str; 3] = ["appdb", "otherdb", "querylab_not_ours"];

async fn fill(cluster: &TestCluster) {
    let admin = cluster.admin("postgres").await;
    for db in THEIRS {
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
    }
    admin
        .batch_execute(
            "COMMENT ON DATABASE appdb IS 'the application''s data';
             ALTER DATABASE appdb SET work_mem = '7MB';",
        )
        .await
        .unwrap();
    let app = cluster.admin("appdb").await;
    app.batch_execute(
        "CREATE SCHEMA app;
         CREATE TABLE app.users (id serial PRIMARY KEY, email text NOT NULL UNIQUE,
             created timestamptz NOT NULL);
         INSERT INTO app.users (email, created)
             SELECT 'user' || i || '@example.com', '2024-01-01'::timestamptz + i * interval '1 minute'
             FROM generate_series(1, 5000) i;
         CREATE TABLE app.events (id bigint PRIMARY KEY, user_id int REFERENCES app.users,
             payload jsonb);
         INSERT INTO app.events SELECT i, 1 + i % 5000, jsonb_build_object('n', i, 'k', md5(i::text))
             FROM generate_series(1, 20000) i;
         CREATE INDEX events_user ON app.events (user_id);
         CREATE TABLE public.settings (k text PRIMARY KEY, v text);
         INSERT INTO public.settings VALUES ('a', '1'), ('b', NULL);",
    )
    .await
    .unwrap();
    for db in ["otherdb", "querylab_not_ours"] {
        cluster
            .admin(db)
            .await
            .batch_execute(
                "CREATE TABLE t (id int PRIMARY KEY, v text);
                 INSERT INTO t SELECT i, repeat('x', i % 50) FROM generate_series(1, 1000) i;",
            )
            .await
            .unwrap();
    }
}

/// Everything about the databases that are not querylab's: per table its row
/// count and an md5 over its rows in order, sequences, relation file nodes (a
/// rewrite changes them), the database rows, comments and settings, and the roles.
async fn fingerprint(cluster: &TestCluster) -> BTreeMap<String, String> {
    let mut fp = BTreeMap::new();
    let admin = cluster.admin("postgres").await;
    for row in admin
        .query(
            "SELECT d.datname, d.datdba::regrole::text || ' ' || d.encoding || ' ' || d.datallowconn
                    || ' ' || d.datconnlimit || ' ' || coalesce(shobj_description(d.oid, 'pg_database'), '-')
                    || ' ' || coalesce((SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s
                                        WHERE s.setdatabase = d.oid AND s.setrole = 0), '-')
             FROM pg_database d WHERE d.datname = ANY($1)",
            &[&THEIRS.to_vec()],
        )
        .await
        .unwrap()
    {
        fp.insert(format!("database {}", row.get::<_, String>(0)), row.get(1));
    }
    let roles: Vec<String> = admin
        .query(
            "SELECT rolname || ' ' || rolsuper || rolcreatedb || rolcanlogin FROM pg_roles ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    fp.insert("roles".into(), roles.join(","));
    for db in THEIRS {
        let c = cluster.admin(db).await;
        let rels = c
            .query(
                "SELECT c.oid::regclass::text, c.relkind::text, c.relfilenode::text
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                 ORDER BY 1",
                &[],
            )
            .await
            .unwrap();
        for r in rels {
            let (name, kind, node): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            let what = match kind.as_str() {
                "r" => {
                    let row = c
                        .query_one(
                            &format!(
                                "SELECT count(*)::text || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} t"
                            ),
                            &[],
                        )
                        .await
                        .unwrap();
                    row.get::<_, String>(0)
                }
                "S" => c
                    .query_one(
                        &format!("SELECT last_value::text || ' ' || is_called FROM {name}"),
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0),
                _ => String::new(),
            };
            fp.insert(format!("{db} {name} {kind}"), format!("{node} {what}"));
        }
    }
    fp
}

/// querylab's own databases: every `querylab_` one but the look-alike.
async fn ours(cluster: &TestCluster) -> Vec<String> {
    cluster
        .querylab_databases()
        .await
        .into_iter()
        .filter(|d| d != "querylab_not_ours")
        .collect()
}

const ONLY: &str = "pagination.offset_vs_keyset.shallow";

#[tokio::test]
async fn other_databases_are_untouched_by_run_check_interrupt_and_load() {
    let cluster = TestCluster::start();
    fill(&cluster).await;
    let before = fingerprint(&cluster).await;
    assert!(before.len() > 8, "{before:?}");
    let url = cluster.superuser_url("appdb");
    let tmp = cli::shared_tempdir();
    let t = tmp.path();
    let limit = Duration::from_secs(180);
    let url_args = ["--backend", "url", "--database-url", url.as_str()];

    let out = cli::run(
        cli::querylab(t)
            .args(["run", "--rows", "5000", "--only", ONLY, "--min-time", "0.3"])
            .args(["--quiet", "--out"])
            .arg(t.join("run"))
            .args(url_args),
        limit,
    );
    assert_eq!(out.code(), Some(0), "run: {}", out.stderr);
    assert_eq!(ours(&cluster).await, Vec::<String>::new(), "after run");

    let out = cli::run(
        cli::querylab(t)
            .args(["check", "--quiet", "--baseline"])
            .arg(t.join("run/results.json"))
            .arg("--out")
            .arg(t.join("check"))
            .args(url_args),
        limit,
    );
    assert!(matches!(out.code(), Some(0 | 1)), "check: {}", out.stderr);
    assert_eq!(ours(&cluster).await, Vec::<String>::new(), "after check");

    // Interrupted while variants run on their clones.
    let mut p = Running::spawn(
        cli::querylab(t)
            .args(["run", "--rows", "5000", "--only", ONLY, "--min-time", "5"])
            .args(["--quiet", "--out"])
            .arg(t.join("interrupted"))
            .args(url_args),
    );
    let cluster_ref = &cluster;
    cli::wait_for(limit, "a clone", || {
        let running = p.running();
        async move {
            assert!(running, "querylab exited before measuring");
            let dbs = ours(cluster_ref).await;
            dbs.iter()
                .any(|d| !d.starts_with("querylab_tpl_"))
                .then_some(())
        }
    })
    .await;
    p.signal(Signal::SIGTERM);
    let out = p.wait(Duration::from_secs(30)).expect("stops on SIGTERM");
    assert_eq!(out.code(), Some(2), "interrupted: {}", out.stderr);
    assert_eq!(
        ours(&cluster).await,
        Vec::<String>::new(),
        "after interrupt"
    );

    let out = cli::run(
        cli::querylab(t)
            .args(["load", "--rows", "5000", "--quiet"])
            .args(url_args),
        limit,
    );
    assert_eq!(out.code(), Some(0), "load: {}", out.stderr);
    assert_eq!(ours(&cluster).await, Vec::<String>::new(), "after load");

    let after = fingerprint(&cluster).await;
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_role_without_createdb_is_refused_and_nothing_is_created() {
    let cluster = TestCluster::start();
    fill(&cluster).await;
    // It may write into appdb — querylab still must not.
    cluster
        .admin("appdb")
        .await
        .batch_execute(
            "CREATE ROLE plain_user LOGIN PASSWORD 'plain-pw';
             GRANT ALL ON SCHEMA app, public TO plain_user;
             GRANT ALL ON ALL TABLES IN SCHEMA app, public TO plain_user;",
        )
        .await
        .unwrap();
    let before = fingerprint(&cluster).await;
    let databases = cluster.databases().await;
    let url = cluster.url("plain_user", Some("plain-pw"), "appdb");
    let tmp = cli::shared_tempdir();
    let t = tmp.path();
    for args in [
        vec!["run", "--rows", "5000", "--only", ONLY, "--quiet"],
        vec!["load", "--rows", "5000", "--quiet"],
    ] {
        let out = cli::run(
            cli::querylab(t)
                .args(&args)
                .args(["--backend", "url", "--database-url", &url])
                .current_dir(t),
            Duration::from_secs(60),
        );
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr);
        let errors = out.error_lines();
        assert_eq!(errors.len(), 1, "{}", out.stderr);
        assert!(
            errors[0].contains("role plain_user")
                && errors[0].contains("lacks CREATEDB")
                && errors[0].contains("ALTER ROLE plain_user CREATEDB"),
            "{}",
            errors[0]
        );
    }
    assert_eq!(cluster.databases().await, databases);
    assert_eq!(fingerprint(&cluster).await, before);
}
