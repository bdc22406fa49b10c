//! Bulk load on a real server: counts, every constraint back and valid, sequences,
//! template reuse, and nothing left behind by an interrupted load.
//! Each test uses its own seed so that tests sharing one server never share a template.
use crate::common;

use querylab::Error;
use querylab::generate::table_sizes;
use querylab::load::{DataSource, Fixture, FixtureKind, LoadOptions, LoadSpec, load, template};
use querylab::provision::Server;
use querylab::schema::{SqlFile, apply, builtin_index_sets, builtin_schema};
use querylab::shutdown::Shutdown;

const ROWS: u64 = 20_000;

fn options(seed: u64) -> LoadOptions {
    LoadOptions {
        rows: ROWS,
        seed,
        quiet: true,
        clones: 0,
    }
}

async fn database_exists(server: &Server, name: &str) -> bool {
    let admin = server.admin().await.unwrap();
    admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
        == 1
}

/// Names of every constraint and index of the seed schemas, by table.
async fn schema_objects(client: &tokio_postgres::Client) -> Vec<String> {
    let rows = client
        .query(
            "SELECT conrelid::regclass::text || ' ' || conname || ' ' || contype::text || ' ' || convalidated
             FROM pg_constraint WHERE connamespace::regnamespace::text IN ('tracking', 'registry', 'jobs', 'platform')
             UNION ALL
             SELECT schemaname || '.' || tablename || ' ' || indexname || ' ' || indexdef FROM pg_indexes
             WHERE schemaname IN ('tracking', 'registry', 'jobs', 'platform')
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn load_counts_match_table_sizes_and_every_constraint_is_back() {
    let server = common::server().await;
    let spec = LoadSpec::builtin(Vec::new());
    let loaded = load(&server, &spec, &options(101), &Shutdown::new())
        .await
        .unwrap();
    assert!(!loaded.report.reused);
    assert!(loaded.template.starts_with("querylab_tpl_"));

    let expected = table_sizes(ROWS);
    let reported: Vec<(String, u64)> = loaded
        .report
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.rows))
        .collect();
    assert_eq!(reported, expected);
    assert_eq!(
        loaded.report.rows,
        expected.iter().map(|(_, n)| n).sum::<u64>()
    );
    assert!(loaded.report.tables.iter().all(|t| t.bytes > 0));

    let c = server.connect(&loaded.template).await.unwrap();
    for (table, rows) in &expected {
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n as u64, *rows, "{table}");
    }
    // Keys, uniques, foreign keys and the daily-rule index set aside for the load are
    // all back, validated, under their names and definitions: the same as on a
    // database where the schema was only applied.
    let fresh = format!("{}_fresh", server.run_prefix());
    server.create_database(&fresh, None).await.unwrap();
    let f = server.connect(&fresh).await.unwrap();
    apply(&f, &builtin_schema()).await.unwrap();
    assert_eq!(schema_objects(&c).await, schema_objects(&f).await);
    // Autovacuum, off during the load, is back to the default.
    let with_options: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_class WHERE reloptions IS NOT NULL
             AND relnamespace::regnamespace::text IN ('tracking', 'registry', 'jobs', 'platform')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(with_options, 0);
    drop(c);

    // Sequences continue after the loaded ids (on a clone: the template stays as is).
    let clone = format!("{}_clone", server.run_prefix());
    server
        .create_database(&clone, Some(&loaded.template))
        .await
        .unwrap();
    let k = server.connect(&clone).await.unwrap();
    let id: i32 = k
        .query_one(
            "INSERT INTO jobs.ml_jobs (job_uuid) VALUES ('new') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(id as u64, ROWS + ROWS / 10 + 1);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn index_sets_are_built_after_the_load() {
    let server = common::server().await;
    let spec = LoadSpec::builtin(builtin_index_sets());
    let loaded = load(&server, &spec, &options(102), &Shutdown::new())
        .await
        .unwrap();
    let c = server.connect(&loaded.template).await.unwrap();
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname IN ('idx_pending_jobs', 'idx_metrics_run_step', 'idx_training_runs_parameters', 'idx_tags_usage_count')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 4);
    // VACUUM (FREEZE, ANALYZE) ran: statistics exist.
    let analyzed: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'jobs' AND tablename = 'ml_jobs'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(analyzed > 0);
    drop(c);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_complete_template_is_reused_and_an_incomplete_one_rebuilt() {
    let server = common::server().await;
    let spec = LoadSpec::builtin(Vec::new());
    let first = load(&server, &spec, &options(103), &Shutdown::new())
        .await
        .unwrap();
    let second = load(&server, &spec, &options(103), &Shutdown::new())
        .await
        .unwrap();
    assert!(second.report.reused);
    assert_eq!(second.template, first.template);
    assert_eq!(
        second.report.tables.iter().map(|t| t.rows).sum::<u64>(),
        first.report.rows
    );

    // Another size is another template.
    let other = load(
        &server,
        &spec,
        &LoadOptions {
            rows: 5000,
            ..options(103)
        },
        &Shutdown::new(),
    )
    .await
    .unwrap();
    assert_ne!(other.template, first.template);
    assert!(!other.report.reused);

    // Without its completion mark (as after a crash) a template is not trusted.
    let admin = server.admin().await.unwrap();
    admin
        .batch_execute(&format!(
            "COMMENT ON DATABASE \"{}\" IS NULL",
            first.template
        ))
        .await
        .unwrap();
    drop(admin);
    let third = load(&server, &spec, &options(103), &Shutdown::new())
        .await
        .unwrap();
    assert!(!third.report.reused);
    assert_eq!(third.template, first.template);
    let fourth = load(&server, &spec, &options(103), &Shutdown::new())
        .await
        .unwrap();
    assert!(fourth.report.reused, "the rebuilt template is complete");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_interrupted_load_leaves_no_database_behind() {
    let server = common::server().await;
    let spec = LoadSpec::builtin(builtin_index_sets());
    let opts = LoadOptions {
        rows: 300_000,
        ..options(104)
    };
    let name =
        querylab::load::template::name(&querylab::load::template::hash(&spec, &opts).unwrap());
    let shutdown = Shutdown::new();
    // Pull the plug as soon as the database exists: mid-load, whatever the speed.
    let watcher = {
        let shutdown = shutdown.clone();
        let admin = server.admin().await.unwrap();
        let name = name.clone();
        tokio::spawn(async move {
            loop {
                let n: i64 = admin
                    .query_one(
                        "SELECT count(*) FROM pg_database WHERE datname = $1",
                        &[&name],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if n == 1 {
                    shutdown.trigger();
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let result = load(&server, &spec, &opts, &shutdown).await;
    watcher.await.unwrap();
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
    assert!(!database_exists(&server, &name).await);
    assert!(server.created_databases().is_empty());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn fixtures_load_sql_and_csv_files_into_a_user_schema() {
    let server = common::server().await;
    let dir = tempfile::tempdir().unwrap();
    let sql = dir.path().join("seed.sql");
    std::fs::write(
        &sql,
        "INSERT INTO shop.customers (name) VALUES ('ada'), ('grace');\n",
    )
    .unwrap();
    let csv = dir.path().join("orders.csv");
    std::fs::write(&csv, "customer_id,total\n1,10.5\n2,3\n1,7\n").unwrap();
    let spec = LoadSpec {
        schema: vec![SqlFile {
            name: "shop.sql".into(),
            sql: "CREATE SCHEMA shop;
                  CREATE TABLE shop.customers (id serial PRIMARY KEY, name text NOT NULL);
                  CREATE TABLE shop.orders (id serial PRIMARY KEY,
                      customer_id int NOT NULL REFERENCES shop.customers(id), total numeric NOT NULL);"
                .into(),
        }],
        data: DataSource::Fixtures(vec![
            Fixture {
                table: None,
                path: sql.clone(),
                kind: FixtureKind::Sql,
            },
            Fixture {
                table: Some("shop.orders".into()),
                path: csv.clone(),
                kind: FixtureKind::Csv,
            },
        ]),
        index_sets: vec![SqlFile {
            name: "by_customer.sql".into(),
            sql: "CREATE INDEX orders_customer ON shop.orders (customer_id);".into(),
        }],
    };
    let loaded = load(&server, &spec, &options(105), &Shutdown::new())
        .await
        .unwrap();
    let rows: Vec<(String, u64)> = loaded
        .report
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.rows))
        .collect();
    assert_eq!(
        rows,
        [
            ("shop.customers".to_string(), 2),
            ("shop.orders".to_string(), 3)
        ]
    );
    let c = server.connect(&loaded.template).await.unwrap();
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    drop(c);

    // A CSV fixture without its table is refused with the file named, and nothing is left.
    let mut bad = spec.clone();
    bad.data = DataSource::Fixtures(vec![Fixture {
        table: None,
        path: csv.clone(),
        kind: FixtureKind::Csv,
    }]);
    let err = load(&server, &bad, &options(105), &Shutdown::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("orders.csv"), "{err}");
    let name = template::name(&template::hash(&bad, &options(105)).unwrap());
    assert!(!database_exists(&server, &name).await);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_broken_schema_file_fails_with_its_position_and_leaves_nothing() {
    let server = common::server().await;
    let mut schema = builtin_schema();
    schema.push(SqlFile {
        name: "schema/extra.sql".into(),
        sql: "ALTER TABLE jobs.ml_jobs\n  ADD COLUMN x no_such_type;\n".into(),
    });
    let spec = LoadSpec {
        schema,
        data: DataSource::Builtin,
        index_sets: Vec::new(),
    };
    let err = load(&server, &spec, &options(106), &Shutdown::new())
        .await
        .unwrap_err();
    match &err {
        Error::Scenario { path, line, .. } => {
            assert_eq!((path.as_str(), *line), ("schema/extra.sql", 2))
        }
        other => panic!("expected a positioned error, got {other}"),
    }
    let name = template::name(&template::hash(&spec, &options(106)).unwrap());
    assert!(!database_exists(&server, &name).await);
    let rows0 = load(
        &server,
        &LoadSpec::builtin(Vec::new()),
        &LoadOptions {
            rows: 0,
            ..options(106)
        },
        &Shutdown::new(),
    )
    .await;
    assert!(matches!(rows0, Err(Error::Invalid(_))));
    server.shutdown().await.unwrap();
}
