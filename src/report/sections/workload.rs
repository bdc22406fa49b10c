//! A workload comparison's part of its section: one table row per variant and
//! client level (throughput, latency percentiles, fairness, errors, retries, lock
//! waits, deadlocks, CPU, the invariant), throughput-vs-clients and
//! p99-vs-clients curves, and a latency histogram per level. The Markdown shares
//! the table's model ([`rows`]).

use std::fmt::Write as _;

use crate::escape::html as esc;
use crate::results::workload::LevelResult;
use crate::results::{ComparisonResult, VariantResult};
use crate::units::{count, duration_ns, sig3};

use super::super::plot::curves::{self, Frame, Series};
use super::super::plot::{PALETTE, Quantity};

/// Whether `c` holds workload measurements.
pub(in crate::report) fn is_workload(c: &ComparisonResult) -> bool {
    c.variants.iter().any(|v| v.workload.is_some())
}

/// Column titles of the workload table.
pub(in crate::report) const COLUMNS: [&str; 13] = [
    "Variant",
    "Clients",
    "tx/s",
    "rows/s",
    "p50",
    "p99",
    "p99.9",
    "max",
    "per client tx/s",
    "errors · retries",
    "lock waits (mean / max)",
    "deadlocks",
    "CPU per tx: querylab / server",
];

/// One row per variant and level, as text cells (the last cell says whether the
/// invariant held).
pub(in crate::report) fn rows(c: &ComparisonResult) -> Vec<(Vec<String>, Option<bool>)> {
    let mut out = Vec::new();
    for v in &c.variants {
        let Some(w) = &v.workload else { continue };
        if w.levels.is_empty() {
            out.push((
                vec![v.name.clone(), "–".into(), "not measured".into()],
                None,
            ));
        }
        for (i, l) in w.levels.iter().enumerate() {
            let name = if i == 0 {
                match w.rate {
                    Some(r) => format!("{} (open loop, {} tx/s)", v.name, sig3(r)),
                    None => v.name.clone(),
                }
            } else {
                String::new()
            };
            out.push((cells(name, l), l.verify.as_ref().map(|v| v.ok)));
        }
    }
    out
}

fn cells(name: String, l: &LevelResult) -> Vec<String> {
    let ms = |ns: u64| duration_ns(ns as f64);
    let codes = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, n)| format!("{n} × {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let errors = match (l.errors.is_empty(), l.retries) {
        (true, 0) => "–".to_string(),
        (true, _) => format!("retried {}", codes(&l.retries_by_code)),
        (false, 0) => codes(&l.errors),
        (false, _) => format!(
            "{} · retried {}",
            codes(&l.errors),
            codes(&l.retries_by_code)
        ),
    };
    let server = match (l.server_cpu_ns, l.committed) {
        (Some(ns), n) if n > 0 => duration_ns(ns as f64 / n as f64),
        _ => "unknown".into(),
    };
    vec![
        name,
        l.clients.to_string(),
        sig3(l.tx_per_second),
        sig3(l.rows_per_second),
        ms(l.latency.p50_ns),
        ms(l.latency.p99_ns),
        ms(l.latency.p999_ns),
        ms(l.latency.max_ns),
        format!(
            "{}–{}",
            sig3(l.client_tx_per_second_min),
            sig3(l.client_tx_per_second_max)
        ),
        errors,
        format!(
            "{} / {}",
            sig3(l.lock_waits.mean_waiting),
            l.lock_waits.max_waiting
        ),
        l.deadlocks.map(count).unwrap_or_else(|| "?".into()),
        format!("{} / {server}", duration_ns(l.client_cpu_per_tx_ns)),
    ]
}

/// The HTML: table, curves and histograms.
pub(in crate::report) fn render(c: &ComparisonResult, out: &mut String) {
    out.push_str("<table class=\"variants\"><thead><tr>");
    for col in COLUMNS {
        let _ = write!(out, "<th>{}</th>", esc(col));
    }
    out.push_str("<th>invariant</th></tr></thead><tbody>");
    for (cells, ok) in rows(c) {
        let class = if ok == Some(false) {
            " class=\"problem\""
        } else {
            ""
        };
        let _ = write!(out, "<tr{class}>");
        for (i, cell) in cells.iter().enumerate() {
            let num = if i > 0 { " class=\"num\"" } else { "" };
            let _ = write!(out, "<td{num}>{}</td>", esc(cell));
        }
        let verdict = match ok {
            Some(true) => "<span class=\"badge good\">holds</span>",
            Some(false) => "<span class=\"badge bad\">broken</span>",
            None => "–",
        };
        let _ = write!(out, "<td>{verdict}</td></tr>");
    }
    out.push_str("</tbody></table>");
    out.push_str(
        "<p class=\"muted\">Latency from a transaction's start (open loop: its scheduled start, \
         so queueing counts) to its commit, from an HDR histogram. Errors are transactions given up \
         after their last try, by SQLSTATE. Lock waits: sessions waiting on a lock in \
         pg_stat_activity, sampled every 200 ms. CPU per transaction: querylab's own (getrusage) and \
         the clients' server backends' (local backend only).</p>",
    );
    let curve = |y: &'static str, q: Quantity, value: &dyn Fn(&LevelResult) -> f64| {
        let series = series(c, value);
        (series.iter().any(|s| s.points.len() > 1)).then(|| {
            curves::draw_frame(
                &c.id,
                &Frame {
                    label: format!("{y} against clients: {}", c.title),
                    x_desc: "clients (log scale)",
                    y_desc: y,
                    x: Quantity::Count,
                    y: q,
                },
                &series,
            )
        })
    };
    let tput = curve(
        "committed transactions per second (log scale)",
        Quantity::Count,
        &|l| l.tx_per_second,
    );
    let p99 = curve("p99 latency (log scale)", Quantity::Time, &|l| {
        l.latency.p99_ns as f64
    });
    if let (Some(a), Some(b)) = (tput, p99) {
        let _ = write!(
            out,
            "<figure class=\"pair\">{a}{b}<figcaption>Throughput and p99 latency against the number of \
             clients, one line per variant: where throughput stops growing, more clients only queue.</figcaption></figure>"
        );
    }
    for v in &c.variants {
        if let Some(svg) = histogram(v) {
            let _ = write!(
                out,
                "<figure>{svg}<figcaption>{}: latency histogram per client level (doubling buckets).</figcaption></figure>",
                esc(&v.name)
            );
        }
    }
}

/// One curve per variant: `value` against clients.
fn series(c: &ComparisonResult, value: &dyn Fn(&LevelResult) -> f64) -> Vec<Series> {
    c.variants
        .iter()
        .filter_map(|v| v.workload.as_ref().map(|w| (v, w)))
        .enumerate()
        .map(|(i, (v, w))| Series {
            name: v.name.clone(),
            points: w
                .levels
                .iter()
                .map(|l| (f64::from(l.clients), value(l)))
                .filter(|p| p.1 > 0.0)
                .collect(),
            exponent: None,
            color: PALETTE[i % PALETTE.len()],
        })
        .collect()
}

/// The latency histogram of `v`, one line per client level.
fn histogram(v: &VariantResult) -> Option<String> {
    let w = v.workload.as_ref()?;
    let series: Vec<Series> = w
        .levels
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.histogram.is_empty())
        .map(|(i, l)| Series {
            name: format!("{} clients", l.clients),
            points: l
                .histogram
                .iter()
                .map(|&(upper, n)| (upper as f64, n as f64))
                .collect(),
            exponent: None,
            color: PALETTE[i % PALETTE.len()],
        })
        .collect();
    (!series.is_empty()).then(|| {
        curves::draw_frame(
            &v.name,
            &Frame {
                label: format!("Latency histogram of {}", v.name),
                x_desc: "latency, bucket upper bound (log scale)",
                y_desc: "transactions in the bucket (log scale)",
                x: Quantity::Time,
                y: Quantity::Count,
            },
            &series,
        )
    })
}
