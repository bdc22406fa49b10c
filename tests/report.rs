//! Report rendering from saved results. Reports are made from results.json alone
//! (no database), so the results are built in code by `report_fixture` with plans
//! captured from a real PostgreSQL.

use crate::report_fixture;

use querylab::escape::md_row_cells;
use querylab::report::{render_html, render_markdown, write_reports};
use querylab::results::{RunResults, RunStatus, VariantStatus};

const NASTY: &str =
    "</SCRIPT><img src=x onerror=alert(1)> `x|y` *b* _i_ [l](j) \"q\" 'a' &amp;\nnext";

/// Every `<section class="comparison"…>…</section>` of a page.
fn sections(html: &str) -> Vec<&str> {
    html.split("<section class=\"comparison\"")
        .skip(1)
        .map(|s| s.split("</section>").next().unwrap_or(""))
        .collect()
}

#[test]
fn html_is_one_self_contained_file() {
    let html = render_html(&[report_fixture::scaling_run()]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    let lower = html.to_lowercase();
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "src=", "url(", "@import",
    ] {
        assert!(!lower.contains(forbidden), "found {forbidden}");
    }
    // The only URL is the SVG namespace, which is a name, not a fetch.
    let urls = lower.matches("http").count();
    let namespaces = lower
        .matches("xmlns=\"http://www.w3.org/2000/svg\"")
        .count();
    assert_eq!(urls, namespaces);
}

#[test]
fn summary_links_every_comparison_with_winner_and_speedup() {
    let run = report_fixture::scaling_run();
    let html = render_html(std::slice::from_ref(&run));
    let summary = html
        .split("<section id=\"summary\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("summary section");
    for (di, d) in run.datasets.iter().enumerate() {
        for (ci, c) in d.comparisons.iter().enumerate() {
            let anchor = format!("c{di}-{ci}");
            assert!(
                summary.contains(&format!("href=\"#{anchor}\"")),
                "{anchor} not linked"
            );
            assert!(
                html.contains(&format!("id=\"{anchor}\"")),
                "{anchor} has no target"
            );
            if let Some(w) = &c.winner {
                assert!(
                    summary.contains(&format!("<td class=\"winner\">{w}</td>")),
                    "winner {w}"
                );
            }
        }
    }
    // Speed-up = reference median / winner median, shown as a multiplier.
    let big = &run.datasets[2].comparisons[1];
    let keyset = big.variant("keyset").unwrap();
    let s = (keyset.speedup.unwrap().round() as u64).to_string();
    let (head, tail) = s.split_at(s.len() - 3);
    let words = format!("{head},{tail}×");
    assert!(summary.contains(&words), "{words} missing");
}

#[test]
fn every_comparison_section_has_its_charts_and_plans() {
    let run = report_fixture::scaling_run();
    let html = render_html(std::slice::from_ref(&run));
    let total: usize = run.datasets.iter().map(|d| d.comparisons.len()).sum();
    let secs = sections(&html);
    assert_eq!(secs.len(), total);
    for s in secs {
        assert!(
            s.matches("<svg").count() >= 2,
            "a section lacks latency or buffers chart"
        );
        assert!(s.contains("latency per sample"));
        assert!(s.contains("<ul class=\"plan\">"));
    }
}

#[test]
fn problems_are_visible() {
    let html = render_html(&[report_fixture::scaling_run()]);
    assert!(html.contains("✘ MISMATCH"), "result mismatch not shown");
    assert!(html.contains("<div class=\"alert\"><b>✘ Result check failed:</b>"));
    assert!(html.contains("<b>lateral_no_index</b> timed out after 30 s"));
    assert!(html.contains("<b>extended_stats</b> failed:"));
    assert!(html.contains("✘ 1 of 1 failed"));
    // Plan findings: the seq scan of the unindexed variant, the correlated misestimate.
    assert!(html.contains("Seq Scan on ml_jobs reads 300,000 rows"));
    assert!(html.contains("0 rows, estimated 63,286"));
}

#[test]
fn scaling_curves_fit_linear_and_flat_growth() {
    let run = report_fixture::scaling_run();
    let html = render_html(std::slice::from_ref(&run));
    assert!(html.contains("<section id=\"scaling\">"));
    assert!(
        html.contains("offset — slope 1"),
        "offset should grow linearly"
    );
    assert!(html.contains("keyset — slope 0") && html.contains("(flat)"));
    let md = render_markdown(&[run]);
    let row = md
        .lines()
        .find(|l| l.starts_with("| Deep pagination") && l.contains("| pg15-local |"))
        .expect("pagination scaling row");
    // Cells read `| offset 1.00 (linear) · keyset 0.00 (flat) |`.
    let exponent = |name: &str| -> f64 {
        let after = row.split(&format!(" {name} ")).last().expect(name);
        after.split(' ').next().unwrap().parse().expect("exponent")
    };
    assert!((0.9..1.1).contains(&exponent("| offset")), "{row}");
    assert!(exponent("· keyset").abs() < 0.1, "{row}");
    assert!(row.contains("(linear)") && row.contains("(flat)"), "{row}");
}

#[test]
fn one_size_has_no_scaling_and_two_servers_sit_side_by_side() {
    let one = report_fixture::run(&[("pg15-local", "15.8")], &[100_000]);
    assert!(!render_html(&[one]).contains("id=\"scaling\""));
    let two = report_fixture::run(
        &[("pg15-local", "15.8"), ("pg16-docker", "16.4")],
        &[100_000, 1_000_000],
    );
    let html = render_html(&[two]);
    assert!(html.contains("<section id=\"servers\">"));
    assert!(html.contains("<th class=\"num\">pg16-docker"));
    // Scaling charts for both servers.
    assert!(html.contains("Deep pagination: OFFSET vs keyset · pg15-local"));
    assert!(html.contains("Deep pagination: OFFSET vs keyset · pg16-docker"));
}

#[test]
fn the_markdown_puts_servers_side_by_side_too() {
    let one = report_fixture::run(&[("pg15-local", "15.8")], &[100_000]);
    assert!(!render_markdown(&[one]).contains("Servers side by side"));

    let two = report_fixture::run(
        &[
            ("postgres:15", "15.8 (Debian 15.8-1.pgdg120+1)"),
            ("postgres:17", "17.2"),
        ],
        &[100_000],
    );
    let md = render_markdown(std::slice::from_ref(&two));
    assert_table_shapes(&md);
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| *l != "### Servers side by side · 100,000 rows")
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(!table.is_empty(), "{md}");
    assert!(
        table[0].contains("| postgres:15 (PostgreSQL 15.8) | postgres:17 (PostgreSQL 17.2) |"),
        "{}",
        table[0]
    );
    // Header, rule, then one line per variant of every comparison.
    let (base, new) = (&two.datasets[0], &two.datasets[1]);
    let variants: usize = base.comparisons.iter().map(|c| c.variants.len()).sum();
    assert_eq!(table.len(), 2 + variants);
    // The last column is the second server's median over the first's.
    let (c, v) = (&base.comparisons[0], &base.comparisons[0].variants[0]);
    let a = v.stats.expect("stats").median_ns;
    let b = new.comparisons[0]
        .variant(&v.name)
        .unwrap()
        .stats
        .unwrap()
        .median_ns;
    let line = table[2];
    assert!(line.starts_with(&format!("| {} |", c.title)), "{line}");
    let ratio: f64 = line
        .trim_end_matches(" |")
        .rsplit("| ")
        .next()
        .and_then(|r| r.trim_end_matches('×').parse().ok())
        .expect("a ratio in the last cell");
    assert!((ratio / (b / a) - 1.0).abs() < 0.01, "{ratio} vs {}", b / a);

    // A planted label and version stay inside their cells in both formats.
    let mut planted = two.clone();
    planted.datasets[1].server.label = NASTY.into();
    planted.datasets[1].server.version = NASTY.into();
    let md = render_markdown(std::slice::from_ref(&planted));
    assert!(md.contains("### Servers side by side"));
    assert_table_shapes(&md);
    assert!(!md.contains("<img") && md.lines().all(|l| !l.starts_with("next")));
    let html = render_html(&[planted]);
    assert!(html.contains("<section id=\"servers\">"));
    assert!(!html.to_lowercase().contains("<img"));
}

#[test]
fn markdown_has_one_table_per_dataset_and_keeps_its_shape() {
    let run = report_fixture::scaling_run();
    let md = render_markdown(std::slice::from_ref(&run));
    let headers: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| Comparison | Winner"))
        .collect();
    assert_eq!(headers.len(), run.datasets.len());
    assert_table_shapes(&md);
    let row = md
        .lines()
        .find(|l| l.starts_with("| Deep pagination: OFFSET vs keyset | **keyset** | 3,"))
        .expect("1M-row pagination row with a four-digit speed-up");
    assert!(row.ends_with("× vs offset | ✅ 2/2 | ✅ match |"), "{row}");
    assert!(md.contains("❌ **mismatch**"));
}

/// Every Markdown table's rows have the header's number of cells.
fn assert_table_shapes(md: &str) {
    let mut width = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            width = None;
            continue;
        }
        let cells = md_row_cells(line);
        match width {
            None => width = Some(cells),
            Some(w) => assert_eq!(cells, w, "row changes the table's shape: {line}"),
        }
    }
}

/// The fixture with `NASTY` planted in every string that comes from a scenario or
/// the database.
fn planted(rows: &[u64]) -> RunResults {
    let mut run = report_fixture::run(&[("pg15-local", "15.8")], rows);
    run.settings.scenario = NASTY.into();
    run.machine.hostname = Some(NASTY.into());
    run.status = RunStatus::Partial {
        reason: NASTY.into(),
    };
    for d in &mut run.datasets {
        d.server.label = NASTY.into();
        d.server.settings.insert(NASTY.into(), NASTY.into());
        d.index_sets[1].name = NASTY.into();
        d.index_sets[1].indexes[0].name = NASTY.into();
        for c in &mut d.comparisons {
            c.title = format!("{NASTY} title");
            c.id = format!("{NASTY} id");
            c.description = NASTY.into();
            c.result_check.details.push(NASTY.into());
            for e in &mut c.expectations {
                e.description = NASTY.into();
                e.detail = Some(NASTY.into());
                e.held = false;
            }
            let old_ref = c.reference.clone();
            let old_winner = c.winner.clone();
            for (i, v) in c.variants.iter_mut().enumerate() {
                let name = format!("{NASTY} v{i}");
                if v.name == old_ref {
                    c.reference = name.clone();
                }
                if Some(&v.name) == old_winner.as_ref() {
                    c.winner = Some(name.clone());
                }
                v.name = name;
                v.sql = format!("SELECT '{NASTY}' -- `|`");
                v.params = vec![NASTY.into()];
                v.index_set = NASTY.into();
                v.index_ddl = vec![NASTY.into()];
                if let Some(k) = &mut v.counters {
                    k.plan_head = NASTY.into();
                }
                if let Some(p) = &mut v.plan {
                    p[0]["Plan"]["Node Type"] = NASTY.into();
                    p[0]["Plan"]["Relation Name"] = NASTY.into();
                }
                if let VariantStatus::Failed { message } = &mut v.status {
                    *message = NASTY.into();
                }
            }
        }
    }
    run
}

#[test]
fn planted_markup_cannot_break_out_of_html() {
    // Two sizes put the planted names into the scaling charts' legends too.
    let run = planted(&[10_000, 100_000]);
    let base = planted(&[10_000]);
    let mut new = base.clone();
    scale(&mut new.datasets[0].comparisons[0].variants[1], 3.0);
    for html in [
        render_html(std::slice::from_ref(&run)),
        render_html(&[base, new]),
    ] {
        let lower = html.to_lowercase();
        assert!(!lower.contains("<img"), "raw <img in HTML");
        assert!(!lower.contains("<script"), "raw <script in HTML");
        assert!(!lower.contains("</script"), "raw </script in HTML");
        assert!(
            !html.contains("'a'") && !html.contains("\"q\""),
            "quotes not escaped"
        );
        assert!(html.contains("&lt;/SCRIPT&gt;&lt;img src=x onerror=alert(1)&gt;"));
        // The page still has all its sections: nothing was swallowed by a broken tag.
        assert!(html.trim_end().ends_with("</html>"));
        assert!(sections(&html).iter().all(|s| s.contains("<svg")));
    }
}

#[test]
fn planted_markup_keeps_markdown_tables_whole() {
    let run = planted(&[10_000, 100_000]);
    let base = planted(&[10_000]);
    let mut new = base.clone();
    scale(&mut new.datasets[0].comparisons[0].variants[1], 3.0);
    for md in [
        render_markdown(std::slice::from_ref(&run)),
        render_markdown(&[base, new]),
    ] {
        assert_table_shapes(&md);
        assert!(!md.contains("<img"), "raw <img in Markdown");
        assert!(
            !md.to_lowercase().contains("<script"),
            "raw <script in Markdown"
        );
        let rows = md.lines().filter(|l| l.starts_with('|')).count();
        assert!(rows > 10, "tables went missing");
        // Every planted newline stayed inside its cell.
        assert!(md.lines().all(|l| !l.starts_with("next")));
    }
}

/// Multiplies a variant's samples by `f` and recomputes its statistics.
fn scale(v: &mut querylab::results::VariantResult, f: f64) {
    v.samples_ns
        .iter_mut()
        .for_each(|s| *s = (*s as f64 * f) as u64);
    v.stats = report_fixture::quick_stats(&v.samples_ns);
}

#[test]
fn run_against_run_shows_each_variants_change() {
    let base = report_fixture::run(&[("pg15-local", "15.8")], &[100_000]);
    let mut new = base.clone();
    new.git_revision = Some("feedbeef00".into());
    {
        let c = &mut new.datasets[0].comparisons[0];
        // partial_index got 3× slower and lost its index; composite_index got 2× faster.
        scale(&mut c.variants[1], 3.0);
        if let Some(k) = &mut c.variants[1].counters {
            k.plan_head = "Limit > Sort > Seq Scan on ml_jobs".into();
            k.node_types = vec!["Limit".into(), "Sort".into(), "Seq Scan".into()];
            k.indexes.clear();
            k.shared_hit = 3003;
        }
        scale(&mut c.variants[2], 0.5);
    }
    let html = render_html(&[base.clone(), new.clone()]);
    assert!(html.contains("run against run"));
    assert!(html.contains("▲ 3× slower"), "slowdown not shown");
    assert!(html.contains("▼ 2× faster"), "speed-up not shown");
    assert!(
        html.contains("≈"),
        "unchanged variants should read as within noise"
    );
    assert!(html.contains("<span class=\"badge warn\">changed</span>"));
    assert!(html.contains("52 → 3,005"), "buffer change not shown");
    assert!(html.contains("<span class=\"differs\">feedbeef00</span>"));
    // Every change section has its chart, and the new run follows in full.
    let secs = sections(&html);
    assert_eq!(secs.len(), 2 * new.datasets[0].comparisons.len());
    assert!(secs.iter().all(|s| s.contains("<svg")));
    let md = render_markdown(&[base, new]);
    assert!(md.contains("1 slower · 1 faster"), "{md}");
    assert!(md.contains("| Pending jobs, oldest first | partial\\_index |"));
    assert!(md.contains("**▲ 3× slower**"));
    assert_table_shapes(&md);
}

#[test]
fn reports_render_from_a_saved_results_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = report_fixture::scaling_run();
    let path = dir.path().join("results.json");
    run.write(&path).unwrap();
    let back = RunResults::read(&path).unwrap();
    let files = write_reports(&[back], &dir.path().join("out")).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert_eq!(html, render_html(std::slice::from_ref(&run)));
    assert_eq!(md, render_markdown(&[run]));
    assert!(files.html.ends_with("out/index.html"));
    assert!(files.markdown.ends_with("out/summary.md"));
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn write_reports_refuses_nothing_to_report() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_reports(&[], dir.path()).unwrap_err().to_string();
    assert!(err.contains("no results"), "{err}");
}

#[test]
fn partial_runs_say_so() {
    let mut run = report_fixture::run(&[("pg15-local", "15.8")], &[10_000]);
    run.status = RunStatus::Partial {
        reason: "interrupted".into(),
    };
    assert!(render_html(std::slice::from_ref(&run)).contains("Partial run: interrupted"));
    assert!(render_markdown(&[run]).contains("**Partial run**: interrupted"));
}

#[test]
fn degenerate_results_still_render() {
    // No datasets at all.
    let mut empty = report_fixture::run(&[("pg15-local", "15.8")], &[10_000]);
    empty.datasets.clear();
    assert!(render_html(std::slice::from_ref(&empty)).contains("No comparison was measured"));
    assert!(render_markdown(&[empty]).contains("0 comparisons"));
    // A comparison with odd contents: no samples, a plan that is not EXPLAIN JSON,
    // no counters, zero timings, no variants at all.
    let mut odd = report_fixture::run(&[("pg15-local", "15.8")], &[10_000]);
    let d = &mut odd.datasets[0];
    d.index_sets.clear();
    d.load = None;
    let c = &mut d.comparisons[0];
    c.variants[0].samples_ns.clear();
    c.variants[0].stats = None;
    c.variants[0].plan = Some(serde_json::json!("not a plan"));
    c.variants[1].samples_ns = vec![0, 0, 0];
    c.variants[1].stats = report_fixture::quick_stats(&c.variants[1].samples_ns);
    c.variants[1].counters = None;
    c.winner = Some("no such variant".into());
    d.comparisons[1].variants.clear();
    d.comparisons[1].winner = None;
    let html = render_html(&[odd.clone(), odd.clone()]);
    assert!(html.contains("Plan not in the expected format"));
    assert!(html.contains("No winner"));
    assert!(sections(&html).iter().all(|s| s.contains("<svg")));
    assert_table_shapes(&render_markdown(&[odd.clone(), odd]));
}
