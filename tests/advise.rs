//! `querylab advise` against a real PostgreSQL, with HypoPG screening and without
//! (switched off, and refused to a role that is not a superuser): an expression
//! index, a GIN index and a partial index proposed, built on clones, proven faster
//! with the same rows and chosen; `--sql` statements with parameters; the TOML
//! block parses back as an index set; the duplicate finder on seed 003's documented
//! set; unused indexes from `idx_scan`; bad input as one line with nothing left
//! behind.
use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cli;
use querylab::advise::{AdviseConfig, AdviseOptions, advise};
use querylab::catalog;
use querylab::measure::{MeasureConfig, default_sampling};
use querylab::results::RunResults;
use querylab::results::advice::{Advice, AdvisedStatement, CandidateKind, HealthKind};
use querylab::shutdown::Shutdown;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/advise")
}

/// Quick sampling: the candidates are 10–100× faster, so a few samples tell (20 of
/// them, so that a burst of load on a shared machine cannot move a median).
fn config(out: &Path, screening: bool) -> AdviseConfig {
    let mut sampling = default_sampling();
    sampling.min_samples = 20;
    sampling.warmup_runs = 1;
    sampling.min_time_ns = 100_000_000;
    sampling.max_time_ns = 500_000_000;
    AdviseConfig {
        provision: common::provision_config(),
        rows: 1000,
        seed: 42,
        only: None,
        sql_file: None,
        options: AdviseOptions {
            screening,
            ..AdviseOptions::default()
        },
        measure: MeasureConfig {
            sampling,
            write_cost_rows: 1000,
            ..MeasureConfig::default()
        },
        out_dir: out.to_path_buf(),
        quiet: true,
    }
}

async fn run(cfg: &AdviseConfig, scenario: &str) -> RunResults {
    let scenario = catalog::load_file(&dir().join(scenario)).expect("scenario parses");
    advise(cfg, &scenario, &Shutdown::new())
        .await
        .unwrap_or_else(|e| panic!("advise: {e}"))
}

fn statement<'a>(a: &'a Advice, id: &str) -> &'a AdvisedStatement {
    a.statements
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no statement {id}"))
}

/// The candidate of `kind` was built, its plan used it, it returned the statement's
/// rows and it is faster than the statement as it is; and it was chosen.
fn proven_and_chosen(a: &Advice, id: &str, kind: CandidateKind, needle: &str) {
    let s = statement(a, id);
    let c = s
        .candidates
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("{id}: no {kind:?} candidate in {:#?}", s.candidates));
    assert!(c.ddl[0].contains(needle), "{id}: {}", c.ddl[0]);
    assert!(c.built, "{id}: {kind:?} not built: {}", c.screened);
    assert!(
        c.used,
        "{id}: the plan does not use {}: {:?}",
        c.ddl[0], c.plan_head
    );
    assert_eq!(c.same_rows, Some(true), "{id}: {kind:?} changed the rows");
    assert!(c.bytes.is_some_and(|b| b > 0), "{id}: no size");
    assert!(
        c.speedup.is_some_and(|x| x > 1.0),
        "{id}: not faster: {:?}",
        c.speedup
    );
    assert!(
        a.chosen
            .iter()
            .any(|ch| ch.serves.contains(&id.to_string())),
        "{id}: nothing chosen for it: {:#?}",
        a.chosen
    );
}

/// What both runs (with and without HypoPG) must show.
fn check_workload(r: &RunResults) -> &Advice {
    let a = r.advice.as_ref().expect("advice in results");
    proven_and_chosen(
        a,
        "users.by_lower_name",
        CandidateKind::Expression,
        "(lower(name))",
    );
    proven_and_chosen(
        a,
        "users.by_attrs",
        CandidateKind::GinJsonbPathOps,
        "jsonb_path_ops",
    );
    let pending = statement(a, "users.pending");
    let partial = pending
        .candidates
        .iter()
        .find(|c| c.kind == CandidateKind::Partial)
        .expect("a partial candidate for status = 'pending'");
    assert!(
        partial.ddl[0].ends_with("WHERE status = 'pending'"),
        "{}",
        partial.ddl[0]
    );
    assert!(partial.built && partial.used, "{partial:#?}");
    assert_eq!(partial.same_rows, Some(true));
    // No recommended index changes a result: every statement, with the whole set.
    assert_eq!(a.whole_set.len(), 3);
    for w in &a.whole_set {
        assert_eq!(
            w.same_rows,
            Some(true),
            "{}: the set changed its rows",
            w.statement
        );
        assert!(w.speedup.is_some_and(|x| x > 1.0), "{w:#?}");
    }
    // The proof rounds are ordinary comparisons of the results file.
    for s in &a.statements {
        let id = s.comparison.as_deref().expect("proof comparison");
        assert!(r.datasets[0].comparisons.iter().any(|c| c.id == id), "{id}");
    }
    // The block parses back through the scenario parser as an index set.
    let text = format!(
        "name = \"back\"\n[schema]\nfiles = [\"schema.sql\"]\n{}",
        a.toml
    );
    let back = catalog::parse(&text, "advised.toml", Some(&dir())).expect("the block parses");
    let set = &back.index_sets["advised"];
    let chosen: Vec<String> = a.chosen.iter().map(|c| c.ddl.clone()).collect();
    assert_eq!(set.ddl, chosen);
    assert_eq!(set.write_table.as_deref(), Some("shop.users"));
    // The report renders the advice from results.json.
    let html = querylab::report::render_html(std::slice::from_ref(r));
    assert!(html.contains("Index advice") && html.contains("(lower(name))"));
    let md = querylab::report::render_markdown(std::slice::from_ref(r));
    assert!(md.contains("### Index advice") && md.contains("[index_sets.advised]"));
    a
}

#[tokio::test]
async fn with_hypopg_btrees_are_screened_and_the_rest_built() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(&config(tmp.path(), true), "advise.toml").await;
    let a = check_workload(&r);
    assert!(a.screening.starts_with("hypopg "), "{}", a.screening);
    let pending = statement(a, "users.pending");
    let btree = pending
        .candidates
        .iter()
        .find(|c| c.kind == CandidateKind::OrderLimit)
        .expect("an ORDER BY … LIMIT candidate");
    assert!(btree.screened.starts_with("hypopg"), "{}", btree.screened);
    assert!(btree.hypothetical_cost.unwrap() < btree.as_is_cost.unwrap());
    let gin = &statement(a, "users.by_attrs").candidates[0];
    assert!(gin.screened.contains("GIN"), "{}", gin.screened);
    // The file on disk holds the same advice, in this build's version.
    let back = RunResults::read(&tmp.path().join("results.json")).unwrap();
    assert_eq!(back.schema_version, querylab::results::SCHEMA_VERSION);
    let (disk, mem) = (back.advice.unwrap(), r.advice.clone().unwrap());
    assert_eq!(disk.toml, mem.toml);
    assert_eq!(disk.chosen, mem.chosen);
}

#[tokio::test]
async fn without_hypopg_screening_is_off_and_the_advice_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(&config(tmp.path(), false), "advise.toml").await;
    let a = check_workload(&r);
    assert!(
        a.screening.starts_with("screening is off"),
        "{}",
        a.screening
    );
    for s in &a.statements {
        for c in &s.candidates {
            assert!(c.hypothetical_cost.is_none());
            assert!(c.screened.contains("screening is off"), "{}", c.screened);
        }
    }
}

#[tokio::test]
async fn seed_003s_documented_set_has_duplicates_and_an_index_on_the_primary_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path(), true);
    cfg.rows = 300;
    let r = run(&cfg, "health.toml").await;
    let a = r.advice.as_ref().unwrap();
    let find = |index: &str| {
        a.health
            .iter()
            .find(|h| h.index == format!("platform.{index}"))
            .unwrap_or_else(|| panic!("no finding for {index}: {:#?}", a.health))
    };
    // experiment_tags' primary key is (experiment_id, tag_id): both the covering
    // and the unique index repeat it.
    let covering = find("idx_experiment_tags_covering");
    assert_eq!(covering.kind, HealthKind::PrimaryKey);
    assert_eq!(
        covering.covered_by.as_deref(),
        Some("platform.experiment_tags_pkey")
    );
    assert_eq!(
        find("idx_experiment_tags_unique").kind,
        HealthKind::PrimaryKey
    );
    assert_eq!(find("idx_experiments_pkey").kind, HealthKind::PrimaryKey);
    // Both documented (experiment_id, epoch) indexes repeat the table's own
    // UNIQUE (experiment_id, epoch) constraint, and so each other.
    for name in [
        "idx_training_runs_experiment",
        "idx_training_runs_exp_epoch",
    ] {
        let f = find(name);
        assert_eq!(f.kind, HealthKind::Duplicate, "{name}");
        assert_eq!(
            f.covered_by.as_deref(),
            Some("platform.training_runs_epoch"),
            "{name}"
        );
    }
    // (experiment_id) is a prefix of the primary key (experiment_id, tag_id).
    assert_eq!(
        find("idx_experiment_tags_exp_id").kind,
        HealthKind::PrimaryKey
    );
    // The one the statement uses is not flagged; others no statement used are.
    assert!(
        a.health
            .iter()
            .any(|h| h.kind == HealthKind::Unused && h.index == "platform.idx_webhook_logs_event")
    );
    for h in &a.health {
        assert!(h.bytes > 0, "{h:?}");
        assert!(h.idx_scan.is_some(), "{h:?}");
    }
    // Unused: executing the statement scanned it zero times; it has a write cost.
    for h in a.health.iter().filter(|h| h.kind == HealthKind::Unused) {
        assert_eq!(h.idx_scan, Some(0), "{h:?}");
        assert_eq!(h.in_plans, Some(false), "{h:?}");
        assert!(h.write_rows_per_second.is_some(), "{h:?}");
    }
    let md = querylab::report::render_markdown(std::slice::from_ref(&r));
    assert!(md.contains("= 0 while the workload ran"), "{md}");
    // What the findings cost writes on experiment_tags: measured with and without.
    let (with, without) = covering.write_rows_per_second.expect("write cost");
    assert!(with > 0.0 && without > 0.0);
}

#[test]
fn bad_input_is_one_line_and_a_nonzero_exit() {
    let tmp = cli::shared_tempdir();
    let scenario = dir().join("advise.toml");
    let base = |extra: &[&str]| {
        let mut cmd = cli::querylab(tmp.path());
        cmd.args(["advise", "--quiet", "--backend", "local", "--scenario"])
            .arg(&scenario)
            .arg("--out")
            .arg(tmp.path().join("out"))
            .args(extra);
        cmd
    };
    // A zero budget is refused before anything starts.
    let out = cli::run(&mut base(&["--budget-mb", "0"]), Duration::from_secs(60));
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert_eq!(out.error_lines().len(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("--budget-mb 0"), "{}", out.stderr);
    // A statement that does not prepare: its file:line and the server's message.
    let sql = dir().join("bad.sql");
    let out = cli::run(
        &mut base(&["--sql", sql.to_str().unwrap()]),
        Duration::from_secs(180),
    );
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    let lines = out.error_lines();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains(&format!("{}:3", sql.display())),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("column \"nope\" does not exist"),
        "{}",
        lines[0]
    );
    // A budget no proven index fits.
    let out = cli::run(
        &mut base(&["--budget-mb", "0.001", "--only", "users.by_attrs"]),
        Duration::from_secs(180),
    );
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    let lines = out.error_lines();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains("--budget-mb 0.001") && lines[0].contains("raise the budget"),
        "{}",
        lines[0]
    );
}

/// On a server querylab did not start, advise builds only in its own clones: the
/// user's database keeps exactly its indexes, and no `querylab_` database is left.
#[tokio::test]
async fn on_a_url_server_nothing_is_built_outside_its_clones() {
    let cluster = common::cluster::TestCluster::start();
    let admin = cluster.admin("postgres").await;
    admin.batch_execute("CREATE DATABASE app").await.unwrap();
    let app = cluster.admin("app").await;
    app.batch_execute(
        "CREATE SCHEMA shop; CREATE TABLE shop.users (id int PRIMARY KEY, attrs jsonb); \
         INSERT INTO shop.users SELECT g, jsonb_build_object('n', g) FROM generate_series(1, 1000) g",
    )
    .await
    .unwrap();
    let indexes = async || -> Vec<String> {
        app.query(
            "SELECT indexrelid::regclass::text FROM pg_index ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    let before = indexes().await;
    let tmp = cli::shared_tempdir();
    let out = cli::run(
        cli::querylab(tmp.path())
            .args(["advise", "--quiet", "--backend", "url", "--database-url"])
            .arg(cluster.superuser_url("postgres"))
            .arg("--scenario")
            .arg(dir().join("advise.toml"))
            .args(["--only", "users.by_attrs", "--out"])
            .arg(tmp.path().join("out")),
        Duration::from_secs(300),
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("[index_sets.advised]"),
        "{}",
        out.stdout
    );
    assert_eq!(indexes().await, before, "the user's database is untouched");
    assert_eq!(
        cluster.querylab_databases().await,
        Vec::<String>::new(),
        "no clone, scratch or template left"
    );
}

/// A `--sql` statement with `$1`, `$2` takes them from the `-- params:` line right
/// before it, like a comparison's params query: its candidate index is built,
/// proven with the same rows, and chosen; the proof rounds ran with those values.
#[tokio::test]
async fn a_sql_file_statement_takes_its_params_from_the_line_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path(), false);
    let sql = dir().join("params.sql");
    cfg.sql_file = Some(sql.clone());
    let r = run(&cfg, "advise.toml").await;
    let a = r.advice.as_ref().unwrap();
    let id = format!("{}:5", sql.display());
    let s = statement(a, &id);
    let c = s
        .candidates
        .iter()
        .find(|c| c.kind == CandidateKind::Expression && c.ddl[0].contains("lower(name)"))
        .unwrap_or_else(|| panic!("no lower(name) candidate: {:#?}", s.candidates));
    assert!(c.built && c.used, "{c:#?}");
    assert_eq!(c.same_rows, Some(true));
    assert!(c.speedup.is_some_and(|x| x > 1.0), "{c:#?}");
    assert!(a.chosen.iter().any(|ch| ch.serves.contains(&id)), "{a:#?}");
    let w = &a.whole_set[0];
    assert_eq!(w.same_rows, Some(true));
    // Every variant of the proof rounds bound the params line's first row.
    let mut rounds = 0;
    for cmp in &r.datasets[0].comparisons {
        for v in &cmp.variants {
            assert_eq!(v.params, ["user4242", "4241"], "{}/{}", cmp.id, v.name);
            rounds += 1;
        }
    }
    assert!(rounds >= 3, "{rounds} variants measured");
}

/// `idx_scan` counts what executing the workload scanned: an index only the
/// planner probed (for a column's end values) or only a plan that never ran named
/// is not counted; the one the statements read is.
#[tokio::test]
async fn index_usage_counts_executions_not_planner_probes() {
    let server = common::server().await;
    let db = server.unique_name("usage");
    server.create_database(&db, None).await.unwrap();
    let client = server.connect(&db).await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, a int, b int, c int);
             INSERT INTO t SELECT g, g, g, g FROM generate_series(1, 100000) g;
             CREATE INDEX t_a ON t (a); CREATE INDEX t_b ON t (b); CREATE INDEX t_c ON t (c);
             CREATE TABLE empty (x int);
             ANALYZE t; ANALYZE empty;",
        )
        .await
        .unwrap();
    let statements = [
        // Reads t_a; the planner probes t_b for b's lowest value, and reads none of it.
        "SELECT count(*) FROM t WHERE a > 99990 AND b > 10".to_string(),
        // The plan names t_c in an InitPlan that never runs: empty has no row.
        "SELECT * FROM empty WHERE x = (SELECT b FROM t WHERE c = 5)".to_string(),
        // Does not run here (another schema): left out.
        "SELECT * FROM nowhere.t".to_string(),
    ];
    let version = server.info().version_num;
    let u = querylab::advise::health::usage(&client, &statements, version)
        .await
        .unwrap();
    assert_eq!(u.ran, 2);
    assert_eq!(u.scans.get("t_a"), Some(&1), "{u:?}");
    assert_eq!(u.scans.get("t_b"), Some(&0), "{u:?}");
    assert_eq!(u.scans.get("t_c"), Some(&0), "{u:?}");
    assert!(
        u.in_plans("public.t_a") && u.in_plans("public.t_c"),
        "{u:?}"
    );
    assert!(!u.in_plans("public.t_b"), "{u:?}");
    // The planner did probe t_b: plain counters would call it used.
    let raw: i64 = client
        .query_one(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 't_b'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(raw > 0, "the planner's probes show in idx_scan");
    drop(client);
    server.drop_database(&db).await.unwrap();
}

/// On a url server where querylab's role is not a superuser (a managed database),
/// `CREATE EXTENSION hypopg` is refused: advise says in one line that screening is
/// off and why, and proves its candidates by real builds.
#[tokio::test]
async fn a_role_that_may_not_create_hypopg_gets_real_builds_and_one_line_why() {
    let cluster = common::cluster::TestCluster::start();
    let admin = cluster.admin("postgres").await;
    admin
        .batch_execute("CREATE ROLE advisor LOGIN CREATEDB PASSWORD 'advisor-pw'")
        .await
        .unwrap();
    let packaged: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let tmp = cli::shared_tempdir();
    let out = cli::run(
        cli::querylab(tmp.path())
            .args(["advise", "--quiet", "--backend", "url", "--database-url"])
            .arg(cluster.url("advisor", Some("advisor-pw"), "postgres"))
            .arg("--scenario")
            .arg(dir().join("advise.toml"))
            .args(["--only", "users.by_lower_name", "--top-k", "2", "--out"])
            .arg(tmp.path().join("out")),
        Duration::from_secs(300),
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    let first = out.stdout.lines().next().unwrap_or_default();
    let why = if packaged {
        "permission denied to create extension \"hypopg\": HypoPG is not a trusted extension"
    } else {
        "the server has no HypoPG extension"
    };
    assert!(
        first.starts_with("screening: screening is off (") && first.contains(why),
        "{first}"
    );
    let r = RunResults::read(&tmp.path().join("out/results.json")).unwrap();
    let a = r.advice.as_ref().unwrap();
    assert_eq!(format!("screening: {}", a.screening), first);
    let s = statement(a, "users.by_lower_name");
    assert!(s.candidates.iter().all(|c| c.hypothetical_cost.is_none()));
    let c = s
        .candidates
        .iter()
        .find(|c| c.kind == CandidateKind::Expression)
        .expect("an expression candidate");
    assert!(c.built && c.used && c.same_rows == Some(true), "{c:#?}");
    assert!(!a.chosen.is_empty(), "{a:#?}");
    assert_eq!(cluster.querylab_databases().await, Vec::<String>::new());
}

#[test]
fn bad_params_in_a_sql_file_are_one_line_naming_the_line() {
    let tmp = cli::shared_tempdir();
    let scenario = dir().join("advise.toml");
    for (file, at, what) in [
        (
            "params_missing.sql",
            3,
            "has no parameters; put a line `-- params:",
        ),
        ("params_fails.sql", 1, "column \"nope\" does not exist"),
        (
            "params_short.sql",
            1,
            "returns 1 column(s) but the statement",
        ),
    ] {
        let sql = dir().join(file);
        let out = cli::run(
            cli::querylab(tmp.path())
                .args(["advise", "--quiet", "--backend", "local", "--scenario"])
                .arg(&scenario)
                .arg("--sql")
                .arg(&sql)
                .arg("--out")
                .arg(tmp.path().join("out")),
            Duration::from_secs(180),
        );
        assert_eq!(out.code(), Some(2), "{file}: {}", out.stderr);
        let lines = out.error_lines();
        assert_eq!(lines.len(), 1, "{file}: {}", out.stderr);
        assert!(
            lines[0].contains(&format!("{}:{at}", sql.display())) && lines[0].contains(what),
            "{file}: {}",
            lines[0]
        );
    }
}
