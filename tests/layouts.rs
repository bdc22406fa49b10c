//! Layouts (table designs) against a real PostgreSQL: a layout shared by three
//! variants and two comparisons is built once; every variant on it sees its design;
//! bytes and writes are recorded; the WAL counters of a write repeat exactly on
//! identical clones; nothing is left on the server.
use crate::common;

use std::path::Path;

use querylab::catalog;
use querylab::load::{LoadOptions, load};
use querylab::measure::writes::{WriteSpec, measure, measure_update};
use querylab::measure::{MeasureConfig, Measurer, default_sampling};
use querylab::progress::Progress;
use querylab::provision::Server;
use querylab::results::{CheckStatus, VariantStatus, WriteCounters};
use querylab::shutdown::Shutdown;

fn quick() -> MeasureConfig {
    let mut sampling = default_sampling();
    sampling.warmup_runs = 1;
    sampling.min_samples = 3;
    sampling.min_time_ns = 0;
    sampling.max_time_ns = 200_000_000;
    MeasureConfig {
        sampling,
        write_repetitions: 3,
        ..MeasureConfig::default()
    }
}

fn scenario() -> catalog::Scenario {
    scenario_file("shop_layouts.toml")
}

fn scenario_file(name: &str) -> catalog::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios/layouts")
        .join(name);
    catalog::load_file(&path).unwrap()
}

/// A local server with `scenario` loaded at `rows` (seed 42), and its template.
async fn loaded(scenario: &catalog::Scenario, rows: u64) -> (Server, String) {
    let server = common::server().await;
    let opts = LoadOptions {
        rows,
        seed: 42,
        quiet: true,
        clones: 2,
    };
    let loaded = load(&server, &scenario.load, &opts, &Shutdown::new())
        .await
        .unwrap();
    (server, loaded.template)
}

#[tokio::test]
async fn a_layout_shared_by_three_variants_is_built_once_and_priced() {
    let scenario = scenario();
    let shutdown = Shutdown::new();
    let (server, template) = loaded(&scenario, 1000).await;
    let config = quick();
    let progress = Progress::new(true);
    let mut m = Measurer::new(&server, &template, &scenario, &config, &shutdown, &progress);
    let mut results = Vec::new();
    for c in &scenario.comparisons {
        results.push(m.comparison(c).await.unwrap());
    }
    // One build for float_total (four variants in two comparisons); `plain` has no
    // statements and clones the loaded template itself.
    assert_eq!(m.layout_builds(), 1);
    for c in &results {
        for v in &c.variants {
            assert_eq!(v.status, VariantStatus::Ok, "{}/{}", c.id, v.name);
        }
        assert_eq!(
            c.result_check.status,
            CheckStatus::Match,
            "{}: {:?}",
            c.id,
            c.result_check.details
        );
        assert!(
            c.expectations.iter().all(|e| e.held),
            "{:?}",
            c.expectations
        );
    }
    // Each variant ran on its design: the float layout's plan uses its own index.
    let indexed = results[1].variant("indexed").unwrap();
    assert!(
        indexed
            .counters
            .as_ref()
            .unwrap()
            .indexes
            .iter()
            .any(|i| i == "orders_customer")
    );
    assert_eq!(indexed.layout.as_deref(), Some("float_total"));

    let costs = m.layout_costs();
    assert_eq!(
        costs.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["float_total", "plain"]
    );
    let (float, plain) = (&costs[0], &costs[1]);
    assert!(float.build_seconds > 0.0 && plain.build_seconds == 0.0);
    // Bytes: the float layout carries one index more than the loaded table.
    assert_eq!(plain.tables[0].indexes.len(), 1, "{:?}", plain.tables);
    assert_eq!(float.tables[0].indexes.len(), 2, "{:?}", float.tables);
    assert!(
        float.tables[0].heap_bytes > 0
            && float.tables[0].index_bytes() > plain.tables[0].index_bytes()
    );
    // Writes: the 500 rows of write_rows, both ways, with WAL; the extra index costs WAL.
    for c in [float, plain] {
        let w = c
            .writes
            .as_ref()
            .unwrap_or_else(|| panic!("{} has writes", c.name));
        assert_eq!(w.batch_rows, 500);
        assert_eq!(w.counters.rows, 500);
        assert_eq!(w.single.samples_ns.len(), 3);
        assert_eq!(w.multi.samples_ns.len(), 3);
        assert!(w.single.wal_bytes.iter().all(|b| *b > 0));
        assert!(w.counters.wal_records >= 500 && w.counters.shared_dirtied > 0);
    }
    let wal = |c: &querylab::results::LayoutCost| c.writes.as_ref().unwrap().counters.wal_records;
    assert!(wal(float) > wal(plain), "{} vs {}", wal(float), wal(plain));
    // Every write was rolled back; the layout template is dropped at the end.
    m.finish().await.unwrap();
    let left = server.created_databases();
    assert_eq!(left.len(), 1, "only the loaded template is left: {left:?}");
    server.shutdown().await.unwrap();
}

/// The deterministic side of a write: the same batch into identical clones gives
/// exactly the same WAL records, WAL bytes and dirtied buffers (tolerance 0) when
/// the keys are deterministic; the lsn deltas of later repetitions on the same
/// clone differ from the first (the rolled-back rows are still there), which is why
/// the counters are taken from the first write on a fresh clone.
#[tokio::test]
async fn wal_counters_repeat_exactly_on_identical_clones() {
    let scenario = scenario();
    let (server, template) = loaded(&scenario, 1000).await;
    let layout = &scenario.layouts["plain"];
    let spec = WriteSpec {
        table: "shop.orders",
        rows_sql: layout.write_rows.as_deref(),
        batch_rows: 500,
        repetitions: 3,
    };
    repeats_on_three_clones(&server, &template, async |client| {
        measure(client, spec).await.unwrap().counters
    })
    .await;
    server.shutdown().await.unwrap();
}

/// `measured` on three fresh clones of `template` gives identical, nonzero counters.
async fn repeats_on_three_clones(
    server: &Server,
    template: &str,
    measured: impl AsyncFn(&tokio_postgres::Client) -> WriteCounters,
) {
    let mut counters = Vec::new();
    for _ in 0..3 {
        let db = server.unique_name("c");
        server.create_database(&db, Some(template)).await.unwrap();
        let client = server.connect(&db).await.unwrap();
        counters.push(measured(&client).await);
        drop(client);
        server.drop_database(&db).await.unwrap();
    }
    assert!(counters[0].wal_records > 0 && counters[0].wal_bytes > 0);
    assert_eq!(counters[0], counters[1]);
    assert_eq!(counters[1], counters[2]);
}

/// The same update on two designs that differ by an index on the updated column:
/// every update stays on its page (HOT) without it, none with it, and the index's
/// entries show in the WAL. Planning time is recorded for every variant.
#[tokio::test]
async fn an_index_on_the_updated_column_makes_every_update_non_hot() {
    let scenario = scenario_file("shop_updates.toml");
    let shutdown = Shutdown::new();
    let (server, template) = loaded(&scenario, 1000).await;
    let config = quick();
    let progress = Progress::new(true);
    let mut m = Measurer::new(&server, &template, &scenario, &config, &shutdown, &progress);
    let c = m.comparison(&scenario.comparisons[0]).await.unwrap();
    for v in &c.variants {
        assert_eq!(v.status, VariantStatus::Ok, "{}", v.name);
        assert!(
            v.planning_ms.is_some_and(|p| p > 0.0),
            "{}: {:?}",
            v.name,
            v.planning_ms
        );
    }
    let costs = m.layout_costs();
    let updates = |name: &str| {
        costs
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.updates.clone())
            .unwrap_or_else(|| panic!("{name} has its update measured"))
    };
    let (roomy, indexed) = (updates("roomy"), updates("roomy_total_indexed"));
    for w in [&roomy, &indexed] {
        assert_eq!(w.table, "shop.orders");
        assert_eq!(w.description, "raise an order's total");
        assert_eq!((w.batch_rows, w.counters.rows), (50, 50));
        assert_eq!(w.counters.tuples_updated, Some(50));
        assert_eq!(w.single.samples_ns.len(), 3);
        assert_eq!(w.multi.samples_ns.len(), 3);
        assert!(w.multi.wal_bytes.iter().all(|b| *b > 0));
    }
    assert_eq!(roomy.counters.hot_updated, Some(50));
    assert_eq!(indexed.counters.hot_updated, Some(0));
    assert!(
        indexed.counters.wal_records > roomy.counters.wal_records,
        "{:?} vs {:?}",
        indexed.counters,
        roomy.counters
    );
    // Every update was rolled back: the reads of a second pass would see the same totals.
    m.finish().await.unwrap();
    let left = server.created_databases();
    assert_eq!(left.len(), 1, "only the loaded template is left: {left:?}");
    server.shutdown().await.unwrap();
}

/// An update's counters on identical clones: WAL records and bytes, dirtied buffers
/// and the HOT count repeat exactly (tolerance 0): the batch's keys are fixed and
/// every new row version lands on a known page.
#[tokio::test]
async fn update_counters_repeat_exactly_on_identical_clones() {
    let scenario = scenario_file("shop_updates.toml");
    let (server, template) = loaded(&scenario, 1000).await;
    let layout = &scenario.layouts["roomy_total_indexed"];
    let update = layout.update.as_ref().unwrap();
    repeats_on_three_clones(&server, &template, async |client| {
        for (sql, _) in &layout.statements {
            client.batch_execute(sql).await.unwrap();
        }
        client
            .batch_execute("VACUUM (FREEZE, ANALYZE) shop.orders")
            .await
            .unwrap();
        measure_update(client, update, "shop.orders", 2)
            .await
            .unwrap()
            .counters
    })
    .await;
    server.shutdown().await.unwrap();
}

/// The built-in `schema.tags_1nf` tags one experiment in each design, the link
/// tables' writing `experiment_tags`; the partitioned layout's planning time is
/// recorded beside one table's.
#[tokio::test]
async fn seeds_tag_an_experiment_in_each_design_and_time_partition_planning() {
    let scenario = catalog::builtin("seeds").unwrap();
    let shutdown = Shutdown::new();
    let (server, template) = loaded(&scenario, 20_000).await;
    let config = quick();
    let progress = Progress::new(true);
    let mut m = Measurer::new(&server, &template, &scenario, &config, &shutdown, &progress);
    let mut results = Vec::new();
    for c in scenario
        .select(Some(
            "schema.tags_1nf.with_tag,schema.partitioning.one_month",
        ))
        .unwrap()
    {
        results.push(m.comparison(c).await.unwrap());
    }
    for c in &results {
        for v in &c.variants {
            assert_eq!(v.status, VariantStatus::Ok, "{}/{}", c.id, v.name);
        }
    }
    let costs = m.layout_costs();
    let tagging = |name: &str| {
        costs
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.updates.clone())
            .unwrap_or_else(|| panic!("{name} tags an experiment"))
    };
    let (link, csv, array) = (
        tagging("tags_tables"),
        tagging("tags_csv"),
        tagging("tags_array"),
    );
    // The same experiments tagged in every design.
    assert!(link.batch_rows > 0);
    assert_eq!(csv.batch_rows, link.batch_rows);
    assert_eq!(array.batch_rows, link.batch_rows);
    assert_eq!(link.table, "platform.experiment_tags");
    assert_eq!(
        link.counters.tuples_updated,
        Some(0),
        "a new link row, no update"
    );
    for w in [&csv, &array] {
        assert_eq!(w.table, "platform.experiments");
        assert_eq!(w.counters.tuples_updated, Some(w.batch_rows));
    }
    for w in [&link, &csv, &array] {
        assert!(w.counters.wal_bytes > 0 && w.counters.wal_records >= w.batch_rows);
    }
    // The link tables' bytes cover experiment_tags too.
    let link_cost = costs.iter().find(|c| c.name == "tags_tables").unwrap();
    assert!(
        link_cost
            .tables
            .iter()
            .any(|t| t.name == "platform.experiment_tags" && t.heap_bytes > 0),
        "{:?}",
        link_cost.tables
    );
    let partitions = results
        .iter()
        .find(|c| c.id == "schema.partitioning.one_month")
        .unwrap();
    for v in &partitions.variants {
        assert!(
            v.planning_ms.is_some_and(|p| p > 0.0),
            "{}: {:?}",
            v.name,
            v.planning_ms
        );
    }
    m.finish().await.unwrap();
    server.shutdown().await.unwrap();
}

/// A run with one layout on one variant: `heap` bytes, `wal` WAL bytes for the
/// first write (and the first update), and batch times around `batch_ms`.
fn priced_run(heap: u64, wal: u64, batch_ms: f64) -> querylab::results::RunResults {
    use common::results::{comparison, dataset, run, server, variant};
    use querylab::results::{
        LayoutCost, TableBytes, VariantResult, WriteCost, WriteCounters, WriteSide,
    };
    let samples: Vec<u64> = (0..8)
        .map(|i| ((batch_ms + 0.01 * batch_ms * f64::from(i % 3)) * 1e6) as u64)
        .collect();
    let side = WriteSide {
        stats: querylab::stats::summarize(&samples),
        samples_ns: samples,
        wal_bytes: vec![wal; 8],
    };
    let mut d = dataset(
        server("pg15"),
        1000,
        vec![comparison(
            "schema.x",
            vec![VariantResult {
                layout: Some("wide".into()),
                planning_ms: Some(0.25),
                ..variant("a")
            }],
        )],
    );
    d.layouts = vec![LayoutCost {
        name: "wide".into(),
        tables: vec![TableBytes {
            name: "s.t".into(),
            heap_bytes: heap,
            ..TableBytes::default()
        }],
        writes: Some(WriteCost {
            table: "s.t".into(),
            batch_rows: 1000,
            single: side.clone(),
            multi: side,
            counters: WriteCounters {
                rows: 1000,
                wal_records: 2000,
                wal_bytes: wal,
                ..WriteCounters::default()
            },
            ..WriteCost::default()
        }),
        ..LayoutCost::default()
    }];
    // Its update: the same figures, per change, 40 of 1,000 row updates HOT.
    d.layouts[0].updates = d.layouts[0].writes.clone().map(|w| WriteCost {
        description: "raise".into(),
        counters: WriteCounters {
            tuples_updated: Some(1000),
            hot_updated: Some(40),
            ..w.counters
        },
        ..w
    });
    run(vec![d])
}

#[test]
fn check_gates_layout_bytes_wal_and_write_and_update_time() {
    use querylab::check::{CheckOptions, FindingKind, compare};
    let opts = CheckOptions::default();
    let of = |r: &querylab::check::CheckReport, prefix: &str| -> Vec<FindingKind> {
        r.verdicts
            .iter()
            .filter(|v| v.variant.starts_with(prefix))
            .flat_map(|v| v.findings.iter().map(|f| f.kind))
            .collect()
    };
    let kinds = |r: &querylab::check::CheckReport| of(r, "writes layout wide");
    let base = priced_run(1_000_000, 190_000, 20.0);
    // The same figures (within the tolerances): nothing to say.
    let same = compare(&base, &priced_run(1_004_000, 192_000, 20.0), &opts);
    assert!(kinds(&same).is_empty(), "{:?}", kinds(&same));
    assert_eq!(same.regressions, 0);
    // 5 % more bytes, 10 % more WAL, writes twice as slow: three regressions.
    let worse = compare(&base, &priced_run(1_050_000, 209_000, 40.0), &opts);
    let k = kinds(&worse);
    for want in [
        FindingKind::BytesUp,
        FindingKind::WalUp,
        FindingKind::Slower,
    ] {
        assert!(k.contains(&want), "{want:?} in {k:?}");
    }
    assert!(worse.regressions >= 2, "{}", worse.regressions);
    // The update is judged the same way, in verdicts of its own.
    let u = |r| of(r, "updates layout wide");
    assert!(u(&same).is_empty(), "{:?}", u(&same));
    let k = u(&worse);
    for want in [FindingKind::WalUp, FindingKind::Slower] {
        assert!(k.contains(&want), "update: {want:?} in {k:?}");
    }
    assert!(
        !k.contains(&FindingKind::BytesUp),
        "bytes are the writes' verdict's"
    );
}

/// The layout block shows the update (per change, with its HOT count) and the
/// planning time beside the read, in HTML and in Markdown.
#[test]
fn report_shows_the_update_and_planning_time_beside_the_read() {
    let run = priced_run(1_000_000, 190_000, 20.0);
    let md = querylab::report::render_markdown(std::slice::from_ref(&run));
    let html = querylab::report::render_html(std::slice::from_ref(&run));
    for text in [&md, &html] {
        assert!(text.contains("update (per change)") || text.contains("Update (per change)"));
        assert!(text.contains("raise: single-row"), "{text}");
        assert!(text.contains("40 of 1,000 row updates HOT"));
        assert!(text.contains("planning 250 µs"));
    }
}
