//! Candidate indexes from what a statement asks of each table ([`Access`]) and what
//! the database says about the columns ([`TableFacts`]): B-trees by the
//! leftmost-prefix rule, join keys, `ORDER BY … LIMIT`, partial indexes on a rare
//! constant, `INCLUDE` for index-only scans, expression indexes with the
//! statement's own expression, GIN (`jsonb_path_ops`, `pg_trgm`, tsvector) and BRIN.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::analyze::Access;
use crate::results::advice::CandidateKind;

/// What the database says about one table (read once per statement).
#[derive(Debug, Clone, Default)]
pub struct TableFacts {
    /// Column names.
    pub columns: Vec<String>,
    /// Existing B-tree indexes' leading key columns (plain columns only), so that a
    /// candidate an existing index already is gets dropped.
    pub existing: Vec<Vec<String>>,
    /// `pg_stats.correlation` by column.
    pub correlation: BTreeMap<String, f64>,
    /// `pg_stats` most common values with their frequencies, by column.
    pub common: BTreeMap<String, Vec<(String, f64)>>,
}

/// A constant predicate is worth a partial index when the value is at most this
/// common (a skewed column: `status = 'pending'` on a queue of finished jobs).
pub const PARTIAL_MAX_FREQUENCY: f64 = 0.2;

/// A column is "in physical order" for BRIN when `|correlation|` is at least this.
pub const BRIN_MIN_CORRELATION: f64 = 0.9;

/// More columns than this in an `INCLUDE` index stop paying for themselves.
const INCLUDE_MAX_COLUMNS: usize = 6;

/// One candidate: one or more indexes (more for an `OR`, one per branch).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Which rule proposed it.
    pub kind: CandidateKind,
    /// Table (as written in the statement).
    pub table: String,
    /// `CREATE INDEX` statements, with deterministic names.
    pub ddl: Vec<String>,
    /// Extensions the DDL needs (`pg_trgm`).
    pub extensions: Vec<String>,
    /// Why it was proposed, one line.
    pub reason: String,
}

impl Candidate {
    /// Whether HypoPG can screen it (plain B-trees; GIN, BRIN, partial and
    /// expression indexes go straight to a real build).
    pub fn screenable(&self) -> bool {
        matches!(
            self.kind,
            CandidateKind::Btree
                | CandidateKind::JoinKey
                | CandidateKind::OrderLimit
                | CandidateKind::Include
                | CandidateKind::OrBranches
        )
    }
}

/// The candidates for every access, most promising first within each table,
/// without duplicates or indexes the table already has.
pub fn candidates(accesses: &[Access], facts: &BTreeMap<String, TableFacts>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for a in accesses {
        let Some(f) = facts.get(&a.table) else {
            continue;
        };
        for c in for_access(a, f) {
            if !out.iter().any(|o| o.ddl == c.ddl) {
                out.push(c);
            }
        }
    }
    out
}

fn for_access(a: &Access, f: &TableFacts) -> Vec<Candidate> {
    let mut out = Vec::new();
    let t = &a.table;
    let key = |cols: &[String]| -> Vec<Key> { cols.iter().map(|c| Key::col(c)).collect() };
    // The statement's own expressions: only an index on exactly that expression serves.
    for e in &a.expressions {
        out.push(Candidate {
            kind: CandidateKind::Expression,
            table: t.clone(),
            ddl: vec![ddl(t, "btree", &[Key::expr(&e.expr)], &[], None)],
            extensions: Vec::new(),
            reason: format!(
                "the predicate is on {}: only an index on that expression serves it",
                e.expr
            ),
        });
    }
    for v in &a.tsvector {
        out.push(Candidate {
            kind: CandidateKind::GinTsvector,
            table: t.clone(),
            ddl: vec![ddl(t, "gin", &[Key::expr(v)], &[], None)],
            extensions: Vec::new(),
            reason: format!("full-text match on {v}"),
        });
    }
    for c in &a.contains {
        out.push(Candidate {
            kind: CandidateKind::GinJsonbPathOps,
            table: t.clone(),
            ddl: vec![ddl(
                t,
                "gin",
                &[Key::opclass(c, "jsonb_path_ops")],
                &[],
                None,
            )],
            extensions: Vec::new(),
            reason: format!("{c} @> …: jsonb_path_ops GIN indexes containment"),
        });
    }
    for c in &a.substring {
        out.push(Candidate {
            kind: CandidateKind::GinTrigram,
            table: t.clone(),
            ddl: vec![ddl(t, "gin", &[Key::opclass(c, "gin_trgm_ops")], &[], None)],
            extensions: vec!["pg_trgm".into()],
            reason: format!("{c} LIKE '%…%': a trigram GIN index serves a leading wildcard"),
        });
    }
    // Leftmost prefix: equality columns (least common values first), then one range
    // column, or the sort order.
    let mut eq: Vec<String> = a.equality.clone();
    eq.sort_by(|x, y| {
        let top = |c: &String| {
            f.common
                .get(c)
                .and_then(|v| v.first().map(|p| p.1))
                .unwrap_or(0.0)
        };
        top(x).total_cmp(&top(y))
    });
    let range_cols: Vec<String> = a
        .range
        .iter()
        .filter(|c| !eq.contains(c))
        .cloned()
        .collect();
    let order_cols: Vec<(String, bool)> = a
        .order
        .iter()
        .filter(|(c, _)| !eq.contains(c))
        .cloned()
        .collect();
    // Sort keys go right after the equality columns when the first of them is also
    // the range column (or there is none): the index then serves both.
    let order_fits = !order_cols.is_empty()
        && range_cols
            .first()
            .is_none_or(|r| order_cols.first().is_some_and(|(o, _)| o == r));
    if !order_cols.is_empty() && order_fits {
        let mut keys = key(&eq);
        keys.extend(order_cols.iter().map(|(c, d)| Key::col(c).desc(*d)));
        out.push(Candidate {
            kind: CandidateKind::OrderLimit,
            table: t.clone(),
            ddl: vec![ddl(t, "btree", &keys, &[], None)],
            extensions: Vec::new(),
            reason: if a.limit {
                "rows come out in ORDER BY order: the scan stops at the LIMIT".into()
            } else {
                "rows come out in ORDER BY order: no sort".into()
            },
        });
    }
    if !eq.is_empty() || !range_cols.is_empty() {
        let mut cols = eq.clone();
        cols.extend(range_cols.first().cloned());
        out.push(Candidate {
            kind: CandidateKind::Btree,
            table: t.clone(),
            ddl: vec![ddl(t, "btree", &key(&cols), &[], None)],
            extensions: Vec::new(),
            reason: "equality columns first, then the range (leftmost prefix)".into(),
        });
        // Index-only: the rest of the columns the statement reads, as INCLUDE.
        if let Some(used) = &a.used {
            let include: Vec<String> = used.iter().filter(|c| !cols.contains(c)).cloned().collect();
            if !include.is_empty() && cols.len() + include.len() <= INCLUDE_MAX_COLUMNS {
                out.push(Candidate {
                    kind: CandidateKind::Include,
                    table: t.clone(),
                    ddl: vec![ddl(t, "btree", &key(&cols), &include, None)],
                    extensions: Vec::new(),
                    reason: format!(
                        "INCLUDE ({}) answers from the index alone (index-only scan)",
                        include.join(", ")
                    ),
                });
            }
        }
        if eq.len() > 1 || (!eq.is_empty() && !range_cols.is_empty()) {
            // The most selective column alone: smaller, and often enough.
            let single = range_cols.first().cloned().unwrap_or_else(|| eq[0].clone());
            out.push(Candidate {
                kind: CandidateKind::Btree,
                table: t.clone(),
                ddl: vec![ddl(t, "btree", &key(&[single]), &[], None)],
                extensions: Vec::new(),
                reason: "one column: smaller, cheaper to maintain".into(),
            });
        }
    }
    // Partial: a rare constant becomes the index's WHERE.
    for (c, v) in &a.constants {
        let freq = f
            .common
            .get(c)
            .and_then(|list| list.iter().find(|(val, _)| val == v).map(|p| p.1));
        let rare = freq.is_none_or(|x| x <= PARTIAL_MAX_FREQUENCY);
        if !rare {
            continue;
        }
        let mut keys: Vec<Key> = eq.iter().filter(|e| *e != c).map(|e| Key::col(e)).collect();
        if order_fits && !order_cols.is_empty() {
            keys.extend(order_cols.iter().map(|(o, d)| Key::col(o).desc(*d)));
        } else if let Some(r) = range_cols.first() {
            keys.push(Key::col(r));
        }
        if keys.is_empty() {
            keys.push(Key::col(f.columns.first().unwrap_or(c)));
        }
        let pred = format!("{} = '{}'", quote_ident(c), v.replace('\'', "''"));
        let share = freq
            .map(|x| format!("{:.1}% of rows", x * 100.0))
            .unwrap_or_else(|| "not among the common values".into());
        out.push(Candidate {
            kind: CandidateKind::Partial,
            table: t.clone(),
            ddl: vec![ddl(t, "btree", &keys, &[], Some(&pred))],
            extensions: Vec::new(),
            reason: format!("{c} = '{v}' is {share}: a partial index holds only those rows"),
        });
    }
    // Join keys (the inner side of a nested loop), with this table's equalities.
    if !a.join_keys.is_empty() {
        let mut cols = a.join_keys.clone();
        cols.extend(
            eq.iter()
                .filter(|c| !cols.contains(c))
                .cloned()
                .collect::<Vec<_>>(),
        );
        let mut keys = key(&cols);
        if order_fits {
            keys.extend(
                order_cols
                    .iter()
                    .filter(|(c, _)| !cols.contains(c))
                    .map(|(c, d)| Key::col(c).desc(*d)),
            );
        }
        out.push(Candidate {
            kind: CandidateKind::JoinKey,
            table: t.clone(),
            ddl: vec![ddl(t, "btree", &keys, &[], None)],
            extensions: Vec::new(),
            reason: format!(
                "join key {}: each outer row finds its rows by index",
                a.join_keys.join(", ")
            ),
        });
        if let Some(used) = &a.used {
            let include: Vec<String> = used.iter().filter(|c| !cols.contains(c)).cloned().collect();
            if !include.is_empty() && cols.len() + include.len() <= INCLUDE_MAX_COLUMNS {
                out.push(Candidate {
                    kind: CandidateKind::Include,
                    table: t.clone(),
                    ddl: vec![ddl(t, "btree", &key(&cols), &include, None)],
                    extensions: Vec::new(),
                    reason: format!("join key with INCLUDE ({}): index-only", include.join(", ")),
                });
            }
        }
    }
    // BRIN on a range column in physical order.
    for r in &a.range {
        if f.correlation
            .get(r)
            .is_some_and(|c| c.abs() >= BRIN_MIN_CORRELATION)
        {
            out.push(Candidate {
                kind: CandidateKind::Brin,
                table: t.clone(),
                ddl: vec![ddl(t, "brin", &[Key::col(r)], &[], None)],
                extensions: Vec::new(),
                reason: format!(
                    "{r} follows the physical order (correlation {:.2}): a BRIN index is tiny",
                    f.correlation[r]
                ),
            });
        }
    }
    // OR: one index per branch, combined by a BitmapOr.
    if a.or_branches.len() > 1 {
        let ddls: Vec<String> = a
            .or_branches
            .iter()
            .map(|cols| ddl(t, "btree", &key(cols), &[], None))
            .collect();
        out.push(Candidate {
            kind: CandidateKind::OrBranches,
            table: t.clone(),
            ddl: ddls,
            extensions: Vec::new(),
            reason: "one index per OR branch: a BitmapOr combines them".into(),
        });
    }
    out.retain(|c| !already_indexed(c, f));
    // Without HypoPG the build queue takes candidates in this order: what only one
    // kind of index can serve first, then the sort order, a partial index, and the
    // plain B-trees after.
    out.sort_by_key(|c| match c.kind {
        CandidateKind::Expression
        | CandidateKind::GinTsvector
        | CandidateKind::GinJsonbPathOps
        | CandidateKind::GinTrigram => 0,
        CandidateKind::OrderLimit => 1,
        CandidateKind::Partial => 2,
        CandidateKind::Btree | CandidateKind::JoinKey | CandidateKind::OrBranches => 3,
        CandidateKind::Include => 4,
        CandidateKind::Brin => 5,
    });
    out
}

/// Whether an existing index already has the candidate's plain key columns as its
/// leading columns (only plain, single-index B-trees without INCLUDE or predicate).
fn already_indexed(c: &Candidate, f: &TableFacts) -> bool {
    if !matches!(c.kind, CandidateKind::Btree | CandidateKind::JoinKey) || c.ddl.len() != 1 {
        return false;
    }
    let Some(cols) = plain_columns(&c.ddl[0]) else {
        return false;
    };
    f.existing
        .iter()
        .any(|e| e.len() >= cols.len() && e[..cols.len()] == cols[..])
}

/// The key columns of `CREATE INDEX … (a, b)` when they are plain ascending columns.
fn plain_columns(ddl: &str) -> Option<Vec<String>> {
    let open = ddl.find(" (")?;
    let close = ddl[open..].find(')')? + open;
    let inner = &ddl[open + 2..close];
    inner
        .split(',')
        .map(|s| {
            let s = s.trim().trim_matches('"');
            (!s.contains(' ') && !s.contains('(')).then(|| s.to_string())
        })
        .collect()
}

/// A column name as SQL: bare when PostgreSQL would read it back unchanged
/// (lower case, not a reserved word), quoted otherwise.
fn quote_ident(c: &str) -> String {
    const RESERVED: &[&str] = &[
        "all",
        "and",
        "any",
        "as",
        "asc",
        "both",
        "case",
        "check",
        "column",
        "constraint",
        "default",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "for",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "into",
        "limit",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "primary",
        "references",
        "select",
        "table",
        "then",
        "to",
        "union",
        "unique",
        "user",
        "using",
        "when",
        "where",
        "with",
    ];
    let plain = c
        .chars()
        .next()
        .is_some_and(|f| f.is_ascii_lowercase() || f == '_')
        && c.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
    if plain && !RESERVED.contains(&c) {
        c.to_string()
    } else {
        crate::provision::quote_ident(c)
    }
}

/// One key of an index: a column or an expression, with opclass and direction.
#[derive(Debug, Clone)]
struct Key {
    text: String,
    name: String,
    desc: bool,
}

impl Key {
    fn col(c: &str) -> Key {
        Key {
            text: quote_ident(c),
            name: c.to_string(),
            desc: false,
        }
    }
    fn expr(e: &str) -> Key {
        Key {
            text: format!("({e})"),
            name: e
                .split(|ch: char| !ch.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .take(2)
                .collect::<Vec<_>>()
                .join("_"),
            desc: false,
        }
    }
    fn opclass(c: &str, op: &str) -> Key {
        Key {
            text: format!("{} {op}", quote_ident(c)),
            name: c.to_string(),
            desc: false,
        }
    }
    fn desc(mut self, d: bool) -> Key {
        self.desc = d;
        self
    }
}

/// `CREATE INDEX name ON table USING method (keys) [INCLUDE (…)] [WHERE …]`, named
/// after the table, the keys and a hash of the definition, so that the same index
/// proposed for two statements has one name and counts once.
fn ddl(table: &str, method: &str, keys: &[Key], include: &[String], pred: Option<&str>) -> String {
    let key_text: Vec<String> = keys
        .iter()
        .map(|k| {
            if k.desc {
                format!("{} DESC", k.text)
            } else {
                k.text.clone()
            }
        })
        .collect();
    let mut body = format!("ON {table} USING {method} ({})", key_text.join(", "));
    if !include.is_empty() {
        let inc: Vec<String> = include.iter().map(|c| quote_ident(c)).collect();
        body.push_str(&format!(" INCLUDE ({})", inc.join(", ")));
    }
    if let Some(p) = pred {
        body.push_str(&format!(" WHERE {p}"));
    }
    let hash = hex::encode(&Sha256::digest(body.as_bytes())[..3]);
    let short = table.rsplit('.').next().unwrap_or(table);
    let mut name: String = format!(
        "adv_{short}_{}",
        keys.iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>()
            .join("_")
    )
    .to_ascii_lowercase()
    .chars()
    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
    .collect();
    name.truncate(63 - 7);
    format!("CREATE INDEX {name}_{hash} {body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::analyze::{Columns, ExprPredicate, accesses};

    fn facts() -> BTreeMap<String, TableFacts> {
        let mut f = TableFacts {
            columns: ["id", "status", "created_at", "name"]
                .map(String::from)
                .to_vec(),
            existing: vec![vec!["id".into()]],
            ..TableFacts::default()
        };
        f.common.insert(
            "status".into(),
            vec![("completed".into(), 0.7), ("pending".into(), 0.05)],
        );
        f.correlation.insert("created_at".into(), 0.99);
        BTreeMap::from([("jobs.ml_jobs".to_string(), f)])
    }

    fn cols() -> Columns {
        BTreeMap::from([(
            "jobs.ml_jobs".to_string(),
            ["id", "status", "created_at", "name"]
                .map(String::from)
                .to_vec(),
        )])
    }

    #[test]
    fn a_rare_constant_gets_a_partial_index_and_a_common_one_does_not() {
        let a = accesses(
            "SELECT * FROM jobs.ml_jobs WHERE status = 'pending' ORDER BY created_at LIMIT 100",
            &cols(),
        )
        .unwrap();
        let c = candidates(&a, &facts());
        let partial = c.iter().find(|c| c.kind == CandidateKind::Partial).unwrap();
        assert!(
            partial.ddl[0].ends_with("USING btree (created_at) WHERE status = 'pending'"),
            "{}",
            partial.ddl[0]
        );
        let ordered = c
            .iter()
            .find(|c| c.kind == CandidateKind::OrderLimit)
            .unwrap();
        assert!(
            ordered.ddl[0].contains("(status, created_at)"),
            "{}",
            ordered.ddl[0]
        );
        let a = accesses(
            "SELECT * FROM jobs.ml_jobs WHERE status = 'completed'",
            &cols(),
        )
        .unwrap();
        assert!(
            !candidates(&a, &facts())
                .iter()
                .any(|c| c.kind == CandidateKind::Partial)
        );
    }

    #[test]
    fn expression_brin_and_existing_indexes() {
        let mut a = accesses(
            "SELECT * FROM jobs.ml_jobs WHERE created_at >= $1 AND id = 3",
            &cols(),
        )
        .unwrap();
        a[0].expressions.push(ExprPredicate {
            expr: "lower(name)".into(),
            equality: true,
        });
        let c = candidates(&a, &facts());
        assert!(c.iter().any(|c| c.kind == CandidateKind::Brin));
        let e = c
            .iter()
            .find(|c| c.kind == CandidateKind::Expression)
            .unwrap();
        assert!(
            e.ddl[0].contains("USING btree ((lower(name)))"),
            "{}",
            e.ddl[0]
        );
        // (id) exists already: the candidate on it is dropped.
        let by_id = accesses("SELECT * FROM jobs.ml_jobs WHERE id = 3", &cols()).unwrap();
        assert!(
            !candidates(&by_id, &facts())
                .iter()
                .any(|c| c.ddl[0].contains("btree (id)"))
        );
        let by_name = accesses("SELECT * FROM jobs.ml_jobs WHERE name = 'x'", &cols()).unwrap();
        assert!(
            candidates(&by_name, &facts())
                .iter()
                .any(|c| c.ddl[0].contains("btree (name)"))
        );
        // Names are deterministic: the same definition, the same name.
        assert_eq!(candidates(&a, &facts()), c);
    }
}
