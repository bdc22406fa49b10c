//! The price side of a design: layout and index-set bytes, WAL per written row, and
//! write throughput (results.json version 3).
//!
//! Each layout (and each index set with measured writes) gets two verdicts, filed
//! under the first comparison with a variant on it, so that a re-measurement with
//! `--only` that comparison measures it again:
//! - `writes LAYOUT (single-row)`: bytes per table and the WAL counters, gated as
//!   strictly as they repeat (see `docs/check.md`), and the single-row INSERT
//!   batch time, judged statistically like a latency;
//! - `writes LAYOUT (multi-row)`: the multi-row INSERT batch time, likewise;
//! - `updates LAYOUT (single-row)` and `(multi-row)`: the same for its `update`
//!   (version 4): WAL per change gated like the inserts', times judged alike.
//!
//! Files without these fields (versions 1 and 2) give no verdicts here.

use super::CheckOptions;
use super::gates::Draft;
use super::timing;
use super::verdict::{FindingKind, Severity, Verdict};
use crate::results::{Dataset, TableBytes, WriteCost};
use crate::units::{bytes, count, percent};

/// One priced thing present in the baseline: a layout or an index set.
struct Priced<'a> {
    /// `layout NAME` or `index set NAME`.
    what: String,
    comparison: String,
    tables: &'a [TableBytes],
    writes: Option<&'a WriteCost>,
    updates: Option<&'a WriteCost>,
}

fn priced(d: &Dataset) -> Vec<Priced<'_>> {
    let first = |layout: Option<&str>, set: &str| {
        d.comparisons
            .iter()
            .find(|c| {
                c.variants.iter().any(|v| match layout {
                    Some(l) => v.layout.as_deref() == Some(l),
                    None => v.layout.is_none() && v.index_set == set,
                })
            })
            .map(|c| c.id.clone())
    };
    let mut out = Vec::new();
    for l in &d.layouts {
        if let Some(comparison) = first(Some(&l.name), "") {
            out.push(Priced {
                what: format!("layout {}", l.name),
                comparison,
                tables: &l.tables,
                writes: l.writes.as_ref(),
                updates: l.updates.as_ref(),
            });
        }
    }
    for s in d
        .index_sets
        .iter()
        .filter(|s| s.writes.is_some() || s.updates.is_some())
    {
        if let Some(comparison) = first(None, &s.name) {
            out.push(Priced {
                what: format!("index set {}", s.name),
                comparison,
                tables: &s.tables,
                writes: s.writes.as_ref(),
                updates: s.updates.as_ref(),
            });
        }
    }
    out
}

/// Drafts for every layout and index set priced in both datasets.
pub(crate) fn drafts(b: &Dataset, c: &Dataset, opts: &CheckOptions) -> Vec<Draft> {
    let base = priced(b);
    let mut out = Vec::new();
    for cur in priced(c) {
        let Some(old) = base.iter().find(|p| p.what == cur.what) else {
            continue;
        };
        let mut single = Verdict::new(
            &c.key,
            &cur.comparison,
            &format!("writes {} (single-row)", cur.what),
        );
        for t in cur.tables {
            if let Some(bt) = old.tables.iter().find(|x| x.name == t.name) {
                table_bytes(&mut single, bt, t, opts);
            }
        }
        match (old.writes, cur.writes) {
            (Some(bw), Some(cw)) => {
                out.extend(write_drafts(c, &cur, "writes", single, bw, cw, opts))
            }
            _ => out.push(Draft {
                verdict: single,
                raw: None,
                stable: false,
            }),
        }
        if let (Some(bw), Some(cw)) = (old.updates, cur.updates) {
            let single = Verdict::new(
                &c.key,
                &cur.comparison,
                &format!("updates {} (single-row)", cur.what),
            );
            out.extend(write_drafts(c, &cur, "updates", single, bw, cw, opts));
        }
    }
    out
}

/// The two drafts of one kind of write (`writes` or `updates`): `single` gets the
/// WAL counters and the single-row batch time; a second verdict, the multi-row time.
fn write_drafts(
    c: &Dataset,
    cur: &Priced<'_>,
    kind: &str,
    mut single: Verdict,
    bw: &WriteCost,
    cw: &WriteCost,
    opts: &CheckOptions,
) -> [Draft; 2] {
    wal(&mut single, bw, cw, opts);
    [
        Draft {
            verdict: single,
            raw: timing::measure(&bw.single.samples_ns, &cw.single.samples_ns),
            stable: false,
        },
        Draft {
            verdict: Verdict::new(
                &c.key,
                &cur.comparison,
                &format!("{kind} {} (multi-row)", cur.what),
            ),
            raw: timing::measure(&bw.multi.samples_ns, &cw.multi.samples_ns),
            stable: false,
        },
    ]
}

/// Bytes of one table (heap + TOAST + indexes): deterministic on the same data.
fn table_bytes(v: &mut Verdict, b: &TableBytes, c: &TableBytes, opts: &CheckOptions) {
    let (old, new) = (b.total_bytes(), c.total_bytes());
    let text = format!("{} {} → {}", c.name, bytes(old), bytes(new));
    let up = (FindingKind::BytesUp, "larger:");
    let down = (FindingKind::BytesDown, "smaller:");
    beyond_tolerance(v, old, new, opts.bytes_tolerance, up, down, &text);
}

/// WAL records and bytes of the first multi-row write (or update) on a fresh clone.
fn wal(v: &mut Verdict, b: &WriteCost, c: &WriteCost, opts: &CheckOptions) {
    for (name, old, new) in [
        ("WAL bytes", b.counters.wal_bytes, c.counters.wal_bytes),
        (
            "WAL records",
            b.counters.wal_records,
            c.counters.wal_records,
        ),
    ] {
        let rows = count(c.counters.rows);
        let text = format!("{name} for {rows} rows {} → {}", count(old), count(new));
        let (up, down) = ((FindingKind::WalUp, "more"), (FindingKind::WalDown, "less"));
        beyond_tolerance(v, old, new, opts.wal_tolerance, up, down, &text);
    }
}

/// The one gate of a deterministic counter: a regression (`up`) when `new` exceeds
/// `old` by more than `tolerance` of it, an improvement (`down`) when it falls short
/// by as much; `text` says what moved, the ratio and the tolerance are appended.
fn beyond_tolerance(
    v: &mut Verdict,
    old: u64,
    new: u64,
    tolerance: f64,
    (up, more): (FindingKind, &str),
    (down, less): (FindingKind, &str),
    text: &str,
) {
    let allowed = old as f64 * tolerance;
    let delta = new as f64 - old as f64;
    let text = format!(
        "{text} ({}; tolerance {:.1}%)",
        percent(new as f64 / old.max(1) as f64),
        tolerance * 100.0
    );
    if delta > allowed {
        v.push(up, Severity::Regression, format!("{more} {text}"));
    } else if -delta > allowed {
        v.push(down, Severity::Improvement, format!("{less} {text}"));
    }
}
