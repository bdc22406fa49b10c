//! The seed schemas on a real server: every table in its schema with its
//! constraints, index sets that apply, CHECKs that bite, errors that point home.
use crate::common;

use querylab::Error;
use querylab::generate::table_sizes;
use querylab::schema::{SqlFile, apply, builtin_index_sets, builtin_schema};
use tokio_postgres::error::SqlState;

async fn empty_database(
    server: &querylab::provision::Server,
    suffix: &str,
) -> (String, tokio_postgres::Client) {
    let name = format!("{}_{suffix}", server.run_prefix());
    server.create_database(&name, None).await.unwrap();
    let client = server.connect(&name).await.unwrap();
    (name, client)
}

#[tokio::test]
async fn every_seed_table_exists_in_its_schema_with_its_constraints() {
    let server = common::server().await;
    let (_, c) = empty_database(&server, "schema").await;
    apply(&c, &builtin_schema()).await.unwrap();
    apply(&c, &builtin_index_sets()).await.unwrap();

    let tables: Vec<String> = c
        .query(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables
             WHERE table_schema IN ('tracking', 'registry', 'jobs', 'platform') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut expected: Vec<String> = table_sizes(1000).into_iter().map(|(t, _)| t).collect();
    expected.sort();
    assert_eq!(tables, expected);

    let constraints = |table: &'static str, kind: &'static str| {
        let c = &c;
        async move {
            let rows = c
                .query(
                    "SELECT conname::text FROM pg_constraint
                     WHERE conrelid = $1::text::regclass AND contype = $2::text::\"char\" ORDER BY 1",
                    &[&table, &kind],
                )
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        constraints("registry.training_runs", "c").await,
        [
            "completed_timestamp",
            "started_timestamp",
            "time_order",
            "valid_accuracy",
            "valid_cpu_hours",
            "valid_f1",
            "valid_framework",
            "valid_gpu_hours",
            "valid_precision",
            "valid_recall",
            "valid_status",
        ]
    );
    assert_eq!(constraints("tracking.runs", "f").await.len(), 1);
    assert_eq!(constraints("tracking.metrics", "f").await.len(), 1);
    assert_eq!(constraints("platform.experiment_tags", "f").await.len(), 2);
    assert_eq!(constraints("platform.experiment_tags", "p").await.len(), 1);
    assert_eq!(
        constraints("jobs.ml_jobs", "u").await,
        ["ml_jobs_job_uuid_key"]
    );
    assert_eq!(constraints("platform.tags", "u").await.len(), 2);

    let index = |name: &'static str| {
        let c = &c;
        async move {
            c.query_one(
                "SELECT count(*) FROM pg_indexes WHERE indexname = $1",
                &[&name],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
        }
    };
    assert_eq!(
        index("unique_daily_run").await,
        1,
        "the one-run-per-day rule"
    );
    assert_eq!(index("idx_pending_jobs").await, 1, "index sets applied");
    assert_eq!(index("idx_metrics_run_step").await, 1);
    drop(c);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn checks_and_the_daily_rule_reject_bad_rows() {
    let server = common::server().await;
    let (_, c) = empty_database(&server, "checks").await;
    apply(&c, &builtin_schema()).await.unwrap();
    let good = "INSERT INTO registry.training_runs (model_name, framework, experiment_name, status, dataset,
                    compute_target, created_at, started_at, completed_at, accuracy)
                VALUES ('m', 'pytorch', 'e', 'succeeded', 'd', 'k8s', '2024-05-01 10:00+00',
                    '2024-05-01 10:05+00', '2024-05-01 12:00+00', 0.9)";
    c.batch_execute(good).await.unwrap();

    let bad = [
        (good.replace("0.9)", "1.5)"), SqlState::CHECK_VIOLATION),
        (
            good.replace("'pytorch'", "'caffe'"),
            SqlState::CHECK_VIOLATION,
        ),
        (
            good.replace("'2024-05-01 12:00+00', 0.9", "NULL, 0.9"),
            SqlState::CHECK_VIOLATION,
        ),
        (
            good.replace("'2024-05-01 10:05+00'", "'2024-04-30 10:05+00'"),
            SqlState::CHECK_VIOLATION,
        ),
        // Same model, experiment and dataset on the same UTC day: the daily rule.
        (
            good.replace("10:00+00", "10:01+00"),
            SqlState::UNIQUE_VIOLATION,
        ),
    ];
    for (sql, code) in bad {
        let e = c.batch_execute(&sql).await.expect_err(&sql);
        assert_eq!(e.code(), Some(&code), "{sql}: {e}");
    }
    // The next day is fine.
    c.batch_execute(&good.replace("2024-05-01", "2024-05-02"))
        .await
        .unwrap();

    let e = c
        .batch_execute("INSERT INTO tracking.runs (experiment_id) VALUES (gen_random_uuid())")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION));
    drop(c);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_statement_is_reported_with_file_line_and_statement() {
    let server = common::server().await;
    let (_, c) = empty_database(&server, "bad_sql").await;
    let file = SqlFile {
        name: "fixtures/bad.sql".into(),
        sql: "CREATE TABLE a (x int);\n-- a comment; with a semicolon\nCREATE TABLE b (\n  y no_such_type\n);\n".into(),
    };
    match apply(&c, &[file]).await {
        Err(Error::Scenario {
            path,
            line,
            column,
            message,
        }) => {
            assert_eq!(
                (path.as_str(), line, column),
                ("fixtures/bad.sql", 4, 5),
                "{message}"
            );
            assert!(message.contains("no_such_type"), "{message}");
            assert!(message.contains("CREATE TABLE b ("), "{message}");
        }
        other => panic!("expected a positioned error, got {other:?}"),
    }
    drop(c);
    server.shutdown().await.unwrap();
}
