//! The HTML page: head and inline CSS, header, summary table, environment.
//! Comparison sections are in `section`, scaling curves in `scaling`, run against
//! run in `diff`.

use std::fmt::Write as _;

use crate::results::{CheckStatus, ComparisonResult, Dataset, RunResults, RunStatus};

use super::escape::html as esc;
use super::format::{bytes, count, duration_ns, seconds};
use super::verdict;
use super::{diff, scaling, section, servers, summary};

/// The page's stylesheet, inlined so the file works offline.
const CSS: &str = include_str!("style.css");

pub(super) fn render(runs: &[RunResults]) -> String {
    match runs {
        [] => page("querylab report", "<main><p>No results.</p></main>"),
        [run] => page(
            &format!("querylab · {}", run.settings.scenario),
            &single(run, true),
        ),
        [base, rest @ ..] => diff::render(base, rest),
    }
}

/// Wraps `body` in a complete document with the inline stylesheet.
pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head>\n<body>{body}</body></html>\n",
        esc(title)
    )
}

/// The report of one run. `with_header` is false when embedded under a
/// run-against-run report that has its own header.
pub(super) fn single(run: &RunResults, with_header: bool) -> String {
    let mut out = String::from("<main>");
    if with_header {
        header(run, &mut out);
    }
    let curves = scaling::render(run);
    let servers = servers::render_html(run);
    out.push_str("<nav class=\"toc\"><a href=\"#summary\">Summary</a>");
    if !curves.is_empty() {
        out.push_str("<a href=\"#scaling\">Scaling</a>");
    }
    if !servers.is_empty() {
        out.push_str("<a href=\"#servers\">Servers</a>");
    }
    for (di, d) in run.datasets.iter().enumerate() {
        let _ = write!(out, "<a href=\"#d{di}\">{}</a>", esc(&dataset_title(d)));
    }
    out.push_str("<a href=\"#environment\">Environment</a></nav>");
    summary::render(run, &mut out);
    out.push_str(&curves);
    out.push_str(&servers);
    // With several sizes of one server, the largest is what people came for; the
    // smaller ones stay in the file, folded, so the page does not repeat itself.
    let largest = |d: &Dataset| {
        run.datasets
            .iter()
            .filter(|o| o.server.label == d.server.label)
            .all(|o| o.rows <= d.rows)
    };
    for (di, d) in run.datasets.iter().enumerate() {
        let sections: String = d
            .comparisons
            .iter()
            .enumerate()
            .map(|(ci, c)| section::render(d, c, &anchor(di, ci)))
            .collect();
        if largest(d) {
            let _ = write!(
                out,
                "<h2 class=\"dataset\" id=\"d{di}\">{}</h2>{sections}",
                esc(&dataset_title(d))
            );
        } else {
            let _ = write!(
                out,
                "<details class=\"dataset\" id=\"d{di}\"><summary><h2 class=\"dataset\">{}</h2>\
                 <span class=\"muted\">{} comparisons at a smaller size — click to open</span></summary>{sections}</details>",
                esc(&dataset_title(d)),
                d.comparisons.len()
            );
        }
    }
    environment(run, &mut out);
    let _ = write!(
        out,
        "<footer>Made by querylab {} from results.json (schema {}).</footer></main>",
        esc(&run.querylab_version),
        run.schema_version
    );
    out
}

/// Anchor of comparison `ci` of dataset `di`.
pub(super) fn anchor(di: usize, ci: usize) -> String {
    format!("c{di}-{ci}")
}

/// `pg15-local · 1,000,000 rows`.
pub(super) fn dataset_title(d: &Dataset) -> String {
    format!("{} · {} rows", d.server.label, count(d.rows))
}

fn header(run: &RunResults, out: &mut String) {
    let _ = write!(
        out,
        "<header><h1>{}</h1><p class=\"sub\">querylab report · {} · seed {} · {}{}</p></header>",
        esc(&run.settings.scenario),
        run.started_at.format("%Y-%m-%d %H:%M UTC"),
        run.settings.seed,
        esc(&run.querylab_version),
        run.git_revision
            .as_deref()
            .map(|g| format!(" @ <code>{}</code>", esc(short_rev(g))))
            .unwrap_or_default()
    );
    status_banner(run, out);
}

pub(super) fn status_banner(run: &RunResults, out: &mut String) {
    match &run.status {
        RunStatus::Complete => {}
        RunStatus::Running => out.push_str(
            "<p class=\"banner warn\">This run was still in progress when the report was made: some comparisons may be missing.</p>",
        ),
        RunStatus::Partial { reason } => {
            let _ = write!(
                out,
                "<p class=\"banner bad\">Partial run: {}. Everything below was measured before it stopped.</p>",
                esc(reason)
            );
        }
    }
}

/// First 10 characters of a git revision.
pub(super) fn short_rev(rev: &str) -> &str {
    rev.get(..10).unwrap_or(rev)
}

/// `✔ 3/3 held` or `✘ 1 of 3 failed`, with the failed ones listed when `list`.
pub(super) fn expectations_cell(c: &ComparisonResult, list: bool) -> String {
    let (held, total) = verdict::expectations(c);
    if total == 0 {
        return "<span class=\"muted\">none</span>".into();
    }
    if held == total {
        return format!("<span class=\"good\">✔ {held}/{total} held</span>");
    }
    let mut s = format!(
        "<span class=\"bad\">✘ {} of {total} failed</span>",
        total - held
    );
    if !list {
        return s;
    }
    s.push_str("<ul class=\"failed\">");
    for e in c.expectations.iter().filter(|e| !e.held) {
        let _ = write!(s, "<li>{}</li>", esc(&e.description));
    }
    s.push_str("</ul>");
    s
}

/// Result check status as a coloured word.
pub(super) fn check_cell(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Match => "<span class=\"good\">✔ same rows</span>",
        CheckStatus::Mismatch => "<span class=\"badge bad\">✘ MISMATCH</span>",
        CheckStatus::Skipped => "<span class=\"muted\">– skipped</span>",
    }
}

fn environment(run: &RunResults, out: &mut String) {
    let s = &run.settings;
    let m = &run.machine;
    let sp = &s.sampling;
    out.push_str("<section id=\"environment\"><h2>Environment</h2><div class=\"env\">");
    let rows: Vec<(&str, String)> = vec![
        ("scenario", esc(&s.scenario)),
        ("source", esc(&s.scenario_source)),
        (
            "scenario hash",
            format!("<code>{}</code>", esc(short_rev(&s.scenario_hash))),
        ),
        ("status", esc(&status_word(&run.status))),
        (
            "started",
            run.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        (
            "last update",
            run.updated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        ("seed", s.seed.to_string()),
        (
            "rows",
            s.rows
                .iter()
                .map(|r| count(*r))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "only",
            s.only
                .as_deref()
                .map(esc)
                .unwrap_or_else(|| "all comparisons".into()),
        ),
        ("protocol", esc(s.protocol.as_str())),
        (
            "sampling",
            format!(
                "{} warm-up runs; {}–{} samples, at least {}, at most {}; statement timeout {}",
                sp.warmup_runs,
                sp.min_samples,
                sp.max_samples,
                duration_ns(sp.min_time_ns as f64),
                duration_ns(sp.max_time_ns as f64),
                duration_ns(sp.statement_timeout_ns as f64)
            ),
        ),
        ("querylab", esc(&run.querylab_version)),
        (
            "git revision",
            run.git_revision
                .as_deref()
                .map(|g| format!("<code>{}</code>", esc(g)))
                .unwrap_or_else(|| "unknown".into()),
        ),
        (
            "machine",
            format!(
                "{} cores · {} memory · {}{}",
                m.cores,
                if m.memory_bytes > 0 {
                    bytes(m.memory_bytes)
                } else {
                    "unknown".into()
                },
                esc(&m.os),
                m.hostname
                    .as_deref()
                    .map(|h| format!(" · {}", esc(h)))
                    .unwrap_or_default()
            ),
        ),
    ];
    kv_table("Run", &rows, out);
    let mut seen = Vec::new();
    for d in &run.datasets {
        if seen.contains(&&d.server.label) {
            continue;
        }
        seen.push(&d.server.label);
        let sv = &d.server;
        let mut rows: Vec<(&str, String)> =
            vec![("version", esc(&sv.version)), ("backend", esc(&sv.backend))];
        if let Some(img) = &sv.image {
            rows.push(("image", esc(img)));
        }
        let keys: Vec<String> = sv.settings.keys().map(|k| esc(k)).collect();
        for (k, v) in keys.iter().zip(sv.settings.values()) {
            rows.push((k.as_str(), format!("<code>{}</code>", esc(v))));
        }
        kv_table(&format!("Server {}", esc(&sv.label)), &rows, out);
    }
    out.push_str("</div>");
    load_table(run, out);
    out.push_str("</section>");
}

fn load_table(run: &RunResults, out: &mut String) {
    if run.datasets.iter().all(|d| d.load.is_none()) {
        return;
    }
    out.push_str(
        "<h3>Data load</h3><table><thead><tr><th>Dataset</th><th>Table</th><th class=\"num\">Rows</th>\
         <th class=\"num\">Size</th><th class=\"num\">Copy time</th></tr></thead><tbody>",
    );
    for d in &run.datasets {
        let Some(l) = &d.load else { continue };
        let how = if l.reused {
            "reused template".to_string()
        } else {
            format!(
                "{} at {} rows/s",
                seconds(l.seconds),
                count(l.rows_per_second as u64)
            )
        };
        let _ = write!(
            out,
            "<tr class=\"group\"><td colspan=\"5\"><b>{}</b> — {} rows in all, {how}</td></tr>",
            esc(&dataset_title(d)),
            count(l.rows)
        );
        for t in &l.tables {
            let _ = write!(
                out,
                "<tr><td></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&t.name),
                count(t.rows),
                bytes(t.bytes),
                seconds(t.seconds)
            );
        }
    }
    out.push_str("</tbody></table>");
}

/// A two-column table; values are already HTML.
pub(super) fn kv_table(title: &str, rows: &[(&str, String)], out: &mut String) {
    let _ = write!(out, "<table class=\"kv\"><caption>{title}</caption><tbody>");
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    out.push_str("</tbody></table>");
}

pub(super) fn status_word(s: &RunStatus) -> String {
    match s {
        RunStatus::Complete => "complete".into(),
        RunStatus::Running => "running".into(),
        RunStatus::Partial { reason } => format!("partial: {reason}"),
    }
}
