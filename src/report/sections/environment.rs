//! The environment section: how the run was made (scenario, seed, sampling,
//! machine), each server's version and settings, and the data load.

use std::fmt::Write as _;

use crate::escape::html as esc;
use crate::results::RunResults;
use crate::units::{bytes, count, duration_ns, seconds};

use super::super::parts::{dataset_title, kv_table, short_rev, status_word};

/// Renders the environment section of `run`.
pub(in crate::report) fn render(run: &RunResults, out: &mut String) {
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
                "{} warm-up runs; {}–{} samples, at least {}, at most {}; {} sampling; statement timeout {}",
                sp.warmup_runs,
                sp.min_samples,
                sp.max_samples,
                duration_ns(sp.min_time_ns as f64),
                duration_ns(sp.max_time_ns as f64),
                sp.order,
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
