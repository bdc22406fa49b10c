//! The HTML page composer: the document with its inline stylesheet, the report of
//! one run, and the run-against-run report. It lays out the sections
//! ([`super::sections`]); sections and parts never call back into it.

use std::fmt::Write as _;

use crate::escape::html as esc;
use crate::results::{Dataset, RunResults};

use super::parts::{anchor, dataset_title, short_rev, status_banner};
use super::sections::{advice, changes, comparison, environment, scaling, servers, summary};

/// The page's stylesheet, inlined so the file works offline.
const CSS: &str = include_str!("style.css");

pub(super) fn render(runs: &[RunResults]) -> String {
    match runs {
        [] => page("querylab report", "<main><p>No results.</p></main>"),
        [run] => page(
            &format!("querylab · {}", run.settings.scenario),
            &single(run, true),
        ),
        [base, rest @ ..] => against(base, rest),
    }
}

/// Wraps `body` in a complete document with the inline stylesheet.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head>\n<body>{body}</body></html>\n",
        esc(title)
    )
}

/// The report of one run. `with_header` is false when embedded under a
/// run-against-run report that has its own header.
fn single(run: &RunResults, with_header: bool) -> String {
    let mut out = String::from("<main>");
    if with_header {
        header(run, &mut out);
    }
    let curves = scaling::render(run);
    let servers = servers::render_html(run);
    out.push_str("<nav class=\"toc\"><a href=\"#summary\">Summary</a>");
    if run.advice.is_some() {
        out.push_str("<a href=\"#advice\">Advice</a>");
    }
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
    advice::render_html(run, &mut out);
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
            .map(|(ci, c)| comparison::render(d, c, &anchor(di, ci)))
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
    environment::render(run, &mut out);
    let _ = write!(
        out,
        "<footer>Made by querylab {} from results.json (schema {}).</footer></main>",
        esc(&run.querylab_version),
        run.schema_version
    );
    out
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

/// The run-against-run report: the change of every later run against the first
/// (the base), judged as `querylab check` judges it, then the last run in full.
fn against(base: &RunResults, rest: &[RunResults]) -> String {
    let Some(last) = rest.last() else {
        return page("querylab report", &single(base, true));
    };
    let mut out = format!(
        "<main><header><h1>{}: run against run</h1>",
        esc(&last.settings.scenario)
    );
    let label = |r: &RunResults| {
        format!(
            "{}{}",
            r.started_at.format("%Y-%m-%d %H:%M UTC"),
            r.git_revision
                .as_deref()
                .map(|g| format!(" @ <code>{}</code>", esc(short_rev(g))))
                .unwrap_or_default()
        )
    };
    let _ = write!(out, "<p class=\"sub\">base: {}", label(base));
    for r in rest {
        let _ = write!(out, " · new: {}", label(r));
    }
    out.push_str("</p></header>");
    for r in std::iter::once(base).chain(rest) {
        status_banner(r, &mut out);
    }
    out.push_str("<nav class=\"toc\"><a href=\"#changes\">Changes</a><a href=\"#env-diff\">Environments</a><a href=\"#summary\">New run in detail</a></nav>");
    for (k, new) in rest.iter().enumerate() {
        changes::render(base, new, k, rest.len() > 1, &mut out);
    }
    changes::env_diff(base, last, &mut out);
    out.push_str("<h2 class=\"dataset\">The new run in detail</h2></main>");
    out.push_str(&single(last, false));
    page(
        &format!("querylab · {} · run against run", last.settings.scenario),
        &out,
    )
}
