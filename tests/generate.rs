//! Generated data on a real server: deterministic by checksum, and shaped the way
//! the comparisons written against it expect.
use crate::common;

use querylab::generate::table_sizes;
use querylab::load::{LoadOptions, LoadSpec, load};
use querylab::provision::Server;
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

/// One md5 per table over every row's text, in a fixed order.
async fn checksums(server: &Server, database: &str) -> Vec<(String, String)> {
    let c = server.connect(database).await.unwrap();
    // Text forms of timestamptz depend on the session time zone: pin it.
    c.batch_execute("SET TimeZone = 'UTC'").await.unwrap();
    let mut sums = Vec::new();
    for (table, _) in table_sizes(ROWS) {
        let sql = format!("SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t");
        let sum: String = c.query_one(&sql, &[]).await.unwrap().get(0);
        sums.push((table, sum));
    }
    sums
}

#[tokio::test]
async fn same_seed_gives_identical_rows_and_another_seed_other_rows() {
    let server = common::server().await;
    let spec = LoadSpec::builtin(Vec::new());
    let first = load(&server, &spec, &options(201), &Shutdown::new())
        .await
        .unwrap();
    let a = checksums(&server, &first.template).await;
    // Drop it so the second load builds from scratch instead of reusing it.
    server.drop_database(&first.template).await.unwrap();
    let second = load(&server, &spec, &options(201), &Shutdown::new())
        .await
        .unwrap();
    assert!(!second.report.reused);
    let b = checksums(&server, &second.template).await;
    assert_eq!(a, b);

    let other = load(&server, &spec, &options(202), &Shutdown::new())
        .await
        .unwrap();
    let c = checksums(&server, &other.template).await;
    for ((table, x), (_, y)) in a.iter().zip(&c) {
        assert_ne!(x, y, "{table} does not depend on the seed");
    }
    server.shutdown().await.unwrap();
}

async fn scalar(c: &tokio_postgres::Client, sql: &str) -> f64 {
    c.query_one(&format!("SELECT ({sql})::float8"), &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn distributions_are_what_comparisons_rely_on() {
    let server = common::server().await;
    let loaded = load(
        &server,
        &LoadSpec::builtin(Vec::new()),
        &options(203),
        &Shutdown::new(),
    )
    .await
    .unwrap();
    let c = server.connect(&loaded.template).await.unwrap();
    let share = |status: &'static str| {
        let c = &c;
        async move {
            scalar(
                c,
                &format!("SELECT avg((status = '{status}')::int) FROM jobs.ml_jobs"),
            )
            .await
        }
    };
    // ml_jobs: few pending, most completed, some running and failed.
    let pending = share("pending").await;
    assert!((0.01..0.06).contains(&pending), "pending {pending}");
    assert!(share("completed").await > 0.75);
    assert!(share("running").await > 0.01);
    assert!(share("failed").await > 0.03);
    // Created over 2024 in id order; completed jobs older than 30 days to archive.
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM jobs.ml_jobs WHERE created_at < '2024-01-01' OR created_at >= '2025-01-01'").await,
        0.0
    );
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM (SELECT created_at < lead(created_at) OVER (ORDER BY id) AS up FROM jobs.ml_jobs) s WHERE NOT up").await,
        0.0,
        "created_at increases with id"
    );
    let archivable = scalar(
        &c,
        "SELECT avg((status IN ('completed', 'failed') AND created_at < timestamp '2025-01-01' - interval '30 days')::int) FROM jobs.ml_jobs",
    )
    .await;
    assert!(archivable > 0.8, "{archivable}");
    // created <= started <= completed wherever they exist.
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM tracking.runs r JOIN tracking.experiments e ON e.id = r.experiment_id WHERE r.started_at < e.created_at OR r.ended_at < r.started_at").await,
        0.0
    );
    // Searchable names: a small fraction mention bert.
    let bert = scalar(
        &c,
        "SELECT avg((name LIKE '%bert%')::int) FROM platform.experiments",
    )
    .await;
    assert!((0.01..0.2).contains(&bert), "bert share {bert}");
    // Zipf owners: the most frequent owner has far more than an even share.
    let top = scalar(&c, "SELECT max(n) / avg(n) FROM (SELECT count(*) n FROM registry.training_runs GROUP BY created_by) s").await;
    assert!(top > 5.0, "top owner / mean owner = {top}");
    // Curves: loss falls and accuracy rises from the first step to the last.
    let first_last = |name: &'static str| {
        let c = &c;
        async move {
            let sql = format!(
                "SELECT avg(value) FILTER (WHERE step = 2400) / avg(value) FILTER (WHERE step = 0) FROM tracking.metrics WHERE name = '{name}'"
            );
            scalar(c, &sql).await
        }
    };
    assert!(first_last("loss").await < 0.5);
    assert!(first_last("accuracy").await > 2.0);
    // tracking.experiments: a forest of parents created earlier, chains and hubs.
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM tracking.experiments e JOIN tracking.experiments p ON p.id = e.parent_id WHERE p.created_at >= e.created_at").await,
        0.0
    );
    let roots = scalar(
        &c,
        "SELECT avg((parent_id IS NULL)::int) FROM tracking.experiments",
    )
    .await;
    assert!((0.6..0.8).contains(&roots), "roots {roots}");
    let tree = "WITH RECURSIVE t AS (
                    SELECT id, id AS root, 0 AS depth FROM tracking.experiments WHERE parent_id IS NULL
                    UNION ALL
                    SELECT e.id, t.root, t.depth + 1 FROM tracking.experiments e JOIN t ON e.parent_id = t.id)";
    assert_eq!(
        scalar(&c, &format!("{tree} SELECT count(*) FROM t")).await,
        scalar(&c, "SELECT count(*) FROM tracking.experiments").await,
        "every experiment hangs from a root"
    );
    assert!(scalar(&c, &format!("{tree} SELECT max(depth) FROM t")).await >= 3.0);
    assert!(
        scalar(
            &c,
            &format!("{tree} SELECT max(n) FROM (SELECT count(*) n FROM t GROUP BY root) s")
        )
        .await
            >= 10.0
    );
    // Mixed-case names: lower(name) = name is rare.
    assert!(
        scalar(
            &c,
            "SELECT avg((lower(name) = name)::int) FROM tracking.experiments"
        )
        .await
            < 0.1
    );
    let top_status = scalar(&c, "SELECT max(n)::float8 / sum(n) FROM (SELECT count(*) n FROM tracking.experiments GROUP BY status) s").await;
    assert!(top_status <= 0.6, "{top_status}");
    // Optimizers: adam is a minority.
    let adam = scalar(&c, "SELECT avg((parameters->>'optimizer' = 'adam')::int) FROM registry.training_runs WHERE parameters ? 'optimizer'").await;
    assert!((0.1..0.3).contains(&adam), "adam {adam}");
    // 0 to 8 tags per experiment, about 3 on average.
    let tags = "SELECT count(et.tag_id) n FROM platform.experiments e LEFT JOIN platform.experiment_tags et ON et.experiment_id = e.id GROUP BY e.id";
    assert_eq!(
        scalar(&c, &format!("SELECT min(n) FROM ({tags}) s")).await,
        0.0
    );
    assert_eq!(
        scalar(&c, &format!("SELECT max(n) FROM ({tags}) s")).await,
        8.0
    );
    let mean = scalar(&c, &format!("SELECT avg(n) FROM ({tags}) s")).await;
    assert!((2.5..3.5).contains(&mean), "{mean}");
    // Tag usage counts are exact.
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM platform.tags t WHERE usage_count <> (SELECT count(*) FROM platform.experiment_tags et WHERE et.tag_id = t.id)").await,
        0.0
    );
    drop(c);
    server.shutdown().await.unwrap();
}
