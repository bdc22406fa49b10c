//! A comparison's layout block: each design's price beside its gain — bytes per
//! table (heap / TOAST / indexes), writes into the loaded table (rows/s with the
//! median's interval, WAL bytes and records per row, buffers dirtied) and the read
//! speed-up, in HTML and in Markdown from one model.

use std::fmt::Write as _;

use crate::escape::{html as esc, md_cell as md};
use crate::results::{ComparisonResult, Dataset, TableBytes, VariantResult, WriteCost};
use crate::units::{bytes, count, duration_ns, seconds, sig3, speedup_words};

use super::super::plot::{self, Role};

/// One variant's design and its price.
pub(in crate::report) struct Price<'a> {
    /// The variant.
    pub variant: &'a VariantResult,
    /// `layout NAME` or `index set NAME`.
    pub design: String,
    /// Seconds to build the layout (or index set) once.
    pub build_seconds: f64,
    /// Bytes of the tables it is about.
    pub tables: &'a [TableBytes],
    /// Writes into its write table, when measured.
    pub writes: Option<&'a WriteCost>,
    /// Its update of existing rows, when it has one.
    pub updates: Option<&'a WriteCost>,
}

/// The price of `v`'s design in `d`: its layout's, or else its index set's when that
/// has measured tables.
pub(in crate::report) fn price<'a>(d: &'a Dataset, v: &'a VariantResult) -> Option<Price<'a>> {
    if let Some(l) = &v.layout {
        let cost = d.layouts.iter().find(|c| &c.name == l)?;
        return Some(Price {
            variant: v,
            design: format!("layout {l}"),
            build_seconds: cost.build_seconds,
            tables: &cost.tables,
            writes: cost.writes.as_ref(),
            updates: cost.updates.as_ref(),
        });
    }
    let set = d.index_sets.iter().find(|s| s.name == v.index_set)?;
    if set.tables.is_empty() && set.writes.is_none() && set.updates.is_none() {
        return None;
    }
    Some(Price {
        variant: v,
        design: format!("index set {}", set.name),
        build_seconds: set.build_seconds,
        tables: &set.tables,
        writes: set.writes.as_ref(),
        updates: set.updates.as_ref(),
    })
}

/// Prices of the variants of `c` when at least one runs on a layout.
pub(in crate::report) fn prices<'a>(d: &'a Dataset, c: &'a ComparisonResult) -> Vec<Price<'a>> {
    if c.variants.iter().all(|v| v.layout.is_none()) {
        return Vec::new();
    }
    c.variants.iter().filter_map(|v| price(d, v)).collect()
}

/// `12,300 rows/s [11,900–12,700]`.
pub(in crate::report) fn rate(w: &WriteCost, single: bool) -> String {
    let side = if single { &w.single } else { &w.multi };
    match side.rows_per_second(w.batch_rows) {
        Some((lo, mid, hi)) => format!(
            "{} rows/s [{}–{}]",
            count(mid as u64),
            count(lo as u64),
            count(hi as u64)
        ),
        None => "–".into(),
    }
}

/// `WAL 152 B/row, 2.0 records/row, 14 blocks dirtied`.
pub(in crate::report) fn wal(w: &WriteCost) -> String {
    let k = &w.counters;
    let rows = k.rows.max(1) as f64;
    format!(
        "{} B/row · {} records/row · {} blocks dirtied",
        sig3(k.wal_bytes_per_row()),
        sig3(k.wal_records as f64 / rows),
        count(k.shared_dirtied)
    )
}

/// `start a pending job: single-row 4,100 rows/s […]; multi-row …; WAL 160 B/row …;
/// 12 of 250 row updates HOT`: an update in one line.
pub(in crate::report) fn update(w: &WriteCost) -> String {
    let mut out = format!(
        "{}: single-row {}; multi-row {}; WAL {}",
        if w.description.is_empty() {
            "update"
        } else {
            &w.description
        },
        rate(w, true),
        rate(w, false),
        wal(w)
    );
    if let (Some(rows @ 1..), Some(hot)) = (w.counters.tuples_updated, w.counters.hot_updated) {
        let _ = write!(out, "; {} of {} row updates HOT", count(hot), count(rows));
    }
    out
}

fn table_cell(t: &TableBytes) -> String {
    format!(
        "{}: heap {} · TOAST {} · indexes {}",
        t.name,
        bytes(t.heap_bytes),
        bytes(t.toast_bytes),
        bytes(t.index_bytes())
    )
}

/// `1.5× faster · 3.2 ms, planning 0.41 ms`: the read's gain, its median and what
/// of it planning costs (partitions are paid for at plan time).
fn reads(v: &VariantResult, reference: &str) -> String {
    let gain = match v.speedup {
        _ if v.name == reference => "reference".into(),
        Some(s) => speedup_words(s),
        None => "–".into(),
    };
    let mut out = gain;
    if let Some(s) = v.stats {
        let _ = write!(out, " · {}", duration_ns(s.median_ns));
    }
    if let Some(p) = v.planning_ms {
        let _ = write!(out, ", planning {}", duration_ns(p * 1e6));
    }
    out
}

/// The HTML block, or nothing when no variant of `c` runs on a layout.
pub(in crate::report) fn render(d: &Dataset, c: &ComparisonResult, out: &mut String) {
    let prices = prices(d, c);
    if prices.is_empty() {
        return;
    }
    out.push_str("<h4>Layouts: what each design costs beside what it gains</h4>");
    let tables = |v: &VariantResult| price(d, v).map(|p| p.tables.to_vec());
    let role = |v: &VariantResult| Role::of(c, v);
    if let Some(svg) = plot::bytes::draw(c, &tables, &role) {
        let _ = write!(out, "<figure>{svg}</figure>");
    }
    out.push_str(
        "<table class=\"indexes\"><thead><tr><th>Variant</th><th>Design</th><th>Tables</th>\
         <th class=\"num\">Build</th><th class=\"num\">Single-row INSERTs</th>\
         <th class=\"num\">Multi-row INSERT</th><th>WAL per row</th><th>Update (per change)</th>\
         <th class=\"num\">Reads</th></tr></thead><tbody>",
    );
    for p in &prices {
        let tables = p
            .tables
            .iter()
            .map(|t| esc(&table_cell(t)))
            .collect::<Vec<_>>()
            .join("<br>");
        let (single, multi, wal_cell) = match p.writes {
            Some(w) => (
                format!(
                    "{}<div class=\"muted\">{} rows into {}</div>",
                    esc(&rate(w, true)),
                    count(w.batch_rows),
                    esc(&w.table)
                ),
                esc(&rate(w, false)),
                esc(&wal(w)),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        let update_cell = p.updates.map_or_else(|| "–".into(), |w| esc(&update(w)));
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{tables}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{single}</td><td class=\"num\">{multi}</td><td>{wal_cell}</td>\
             <td>{update_cell}</td><td class=\"num\">{}</td></tr>",
            esc(&p.variant.name),
            esc(&p.design),
            seconds(p.build_seconds),
            esc(&reads(p.variant, &c.reference))
        );
    }
    out.push_str("</tbody></table>");
}

/// The Markdown block, or nothing when no variant of `c` runs on a layout.
pub(in crate::report) fn markdown(d: &Dataset, c: &ComparisonResult, out: &mut String) {
    let prices = prices(d, c);
    if prices.is_empty() {
        return;
    }
    out.push_str("\n| variant | design | bytes (heap / TOAST / indexes) | single-row INSERTs | multi-row INSERT | WAL per row | update (per change) | reads |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for p in &prices {
        let bytes_cell = p
            .tables
            .iter()
            .map(table_cell)
            .collect::<Vec<_>>()
            .join("; ");
        let (single, multi, wal_cell) = match p.writes {
            Some(w) => (rate(w, true), rate(w, false), wal(w)),
            None => ("–".into(), "–".into(), "–".into()),
        };
        let update_cell = p.updates.map_or_else(|| "–".into(), update);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&p.variant.name),
            md(&p.design),
            md(&bytes_cell),
            md(&single),
            md(&multi),
            md(&wal_cell),
            md(&update_cell),
            md(&reads(p.variant, &c.reference))
        );
    }
}
