//! Health findings on the scenario's own index sets: exact duplicates, indexes whose
//! keys are a leading prefix of another's, indexes that repeat the primary key, and
//! indexes that running the workload never scanned (`idx_scan = 0` in
//! `pg_stat_user_indexes`, see [`usage`]) — each with its size and what the flagged
//! indexes cost inserts into their table. Each set is built on its own clone.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::catalog::IndexSet;
use crate::error::{Error, Result};
use crate::provision::Server;
use crate::results::advice::{HealthFinding, HealthKind};

/// One index as the catalog describes it.
#[derive(Debug, Clone)]
pub struct IndexDef {
    /// Schema-qualified name.
    pub name: String,
    /// Its table.
    pub table: String,
    /// `USING method (keys) [INCLUDE …] [WHERE …]`, as `pg_get_indexdef` prints it.
    pub body: String,
    /// Backs a primary key.
    pub primary: bool,
    /// Backs a constraint (primary key, unique, exclusion).
    pub constraint: bool,
    /// Unique.
    pub unique: bool,
    /// Size in bytes.
    pub bytes: u64,
}

/// Every index on the tables of the non-system schemas.
pub async fn indexes(client: &Client) -> Result<Vec<IndexDef>> {
    let rows = client
        .query(
            "SELECT c.oid::regclass::text, i.indrelid::regclass::text, pg_get_indexdef(c.oid), \
                    i.indisprimary, EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid), \
                    i.indisunique, pg_relation_size(c.oid) \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
             ORDER BY c.oid",
            &[],
        )
        .await
        .map_err(|e| Error::db("listing indexes", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let def: String = r.get(2);
            IndexDef {
                name: r.get(0),
                table: r.get(1),
                body: def
                    .split_once(" USING ")
                    .map(|(_, b)| format!("USING {b}"))
                    .unwrap_or(def.clone()),
                primary: r.get(3),
                constraint: r.get(4),
                unique: r.get(5),
                bytes: r.get::<_, i64>(6).max(0) as u64,
            }
        })
        .collect())
}

/// Plain B-tree keys of `body` (`USING btree (a, b DESC)`), without INCLUDE or
/// predicate; `None` for other methods, expressions or partial indexes.
fn btree_keys(body: &str) -> Option<Vec<String>> {
    let inner = body.strip_prefix("USING btree (")?;
    let close = inner.find(')')?;
    let rest = &inner[close + 1..];
    if rest.contains(" WHERE ") || inner[..close].contains('(') {
        return None;
    }
    Some(inner[..close].split(", ").map(str::to_string).collect())
}

/// The same B-tree with every key's direction reversed (`(a DESC)` for `(a)`): it
/// serves the same scans, read backwards. `None` when a key has an expression or a
/// `NULLS` clause.
fn flipped(body: &str) -> Option<String> {
    let inner = body.strip_prefix("USING btree (")?;
    let close = inner.find(')')?;
    if inner[..close].contains('(') || inner[..close].contains("NULLS") {
        return None;
    }
    let keys: Vec<String> = inner[..close]
        .split(", ")
        .map(|k| match k.strip_suffix(" DESC") {
            Some(plain) => plain.to_string(),
            None => format!("{k} DESC"),
        })
        .collect();
    Some(format!(
        "USING btree ({}){}",
        keys.join(", "),
        &inner[close + 1..]
    ))
}

/// Findings among `all` about the indexes in `own` (names): duplicates, prefixes
/// and repeats of the primary key. An index backing a constraint is never the one
/// flagged; of two plain duplicates, the later one is.
pub fn redundant(all: &[IndexDef], own: &[String]) -> Vec<(String, HealthKind, String)> {
    let mut out = Vec::new();
    for (i, a) in all.iter().enumerate() {
        if !own.contains(&a.name) || a.constraint {
            continue;
        }
        let twin = all.iter().enumerate().find(|(j, b)| {
            *j != i
                && b.table == a.table
                && (b.body == a.body || flipped(&a.body).is_some_and(|f| f == b.body))
                && (!a.unique || b.unique)
                && (b.constraint || b.unique || *j < i || !own.contains(&b.name))
        });
        if let Some((_, b)) = twin {
            let kind = if b.primary {
                HealthKind::PrimaryKey
            } else {
                HealthKind::Duplicate
            };
            out.push((a.name.clone(), kind, b.name.clone()));
            continue;
        }
        if a.unique {
            continue; // a unique index enforces something a longer one does not
        }
        let Some(keys) = btree_keys(&a.body) else {
            continue;
        };
        let longer = all.iter().find(|b| {
            b.table == a.table
                && b.name != a.name
                && btree_keys(&b.body)
                    .is_some_and(|k| k.len() > keys.len() && k[..keys.len()] == keys[..])
        });
        if let Some(b) = longer {
            let kind = if b.primary {
                HealthKind::PrimaryKey
            } else {
                HealthKind::PrefixRedundant
            };
            out.push((a.name.clone(), kind, b.name.clone()));
        }
    }
    out
}

/// Checks `set` on its own clone of `template`: redundancy, and which of its
/// indexes the executions of `statements` (parameters inlined) never scanned.
pub async fn check_set(
    server: &Server,
    template: &str,
    set: &IndexSet,
    statements: &[String],
    write_rows: u64,
) -> Result<Vec<HealthFinding>> {
    let db = server.unique_name("health");
    server.create_database(&db, Some(template)).await?;
    let r = async {
        let client = server.connect(&db).await?;
        let before = indexes(&client).await?;
        for d in &set.ddl {
            client.batch_execute(d).await.map_err(|e| {
                Error::db(
                    format!("index set {}: building {d} for the health check", set.name),
                    e,
                )
            })?;
        }
        let all = indexes(&client).await?;
        let own: Vec<String> = all
            .iter()
            .filter(|i| !before.iter().any(|b| b.name == i.name))
            .map(|i| i.name.clone())
            .collect();
        let mut flagged: Vec<(String, HealthKind, Option<String>)> = redundant(&all, &own)
            .into_iter()
            .map(|(n, k, by)| (n, k, Some(by)))
            .collect();
        let usage = usage(&client, statements, server.info().version_num).await?;
        if usage.ran > 0 {
            for name in &own {
                if usage.scans.get(name).copied().unwrap_or(0) == 0
                    && !flagged.iter().any(|f| &f.0 == name)
                {
                    flagged.push((name.clone(), HealthKind::Unused, None));
                }
            }
        }
        // What the flagged indexes cost inserts: with the set as is, and with them dropped.
        let mut writes: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        let tables: Vec<String> = {
            let mut t: Vec<String> = flagged
                .iter()
                .filter_map(|f| all.iter().find(|i| i.name == f.0).map(|i| i.table.clone()))
                .collect();
            t.sort();
            t.dedup();
            t
        };
        for t in tables {
            // The set's own batch for its write table (copies of some tables' rows
            // collide on their keys).
            let rows_sql = set
                .write_rows
                .as_deref()
                .filter(|_| set.write_table.as_deref() == Some(t.as_str()));
            let with = insert_rate(&client, &t, rows_sql, write_rows).await?;
            for f in &flagged {
                if all.iter().any(|i| i.name == f.0 && i.table == t) {
                    client
                        .batch_execute(&format!("DROP INDEX {}", f.0))
                        .await
                        .map_err(|e| Error::db(format!("dropping {} to price it", f.0), e))?;
                }
            }
            let without = insert_rate(&client, &t, rows_sql, write_rows).await?;
            writes.insert(t, (with, without));
        }
        Ok(flagged
            .into_iter()
            .filter_map(|(name, kind, by)| {
                let i = all.iter().find(|i| i.name == name)?;
                Some(HealthFinding {
                    index_set: set.name.clone(),
                    index: name.clone(),
                    kind,
                    covered_by: by,
                    bytes: i.bytes,
                    table: i.table.clone(),
                    write_rows_per_second: writes.get(&i.table).copied(),
                    idx_scan: (usage.ran > 0).then(|| usage.scans.get(&name).copied().unwrap_or(0)),
                    in_plans: Some(usage.in_plans(&name)),
                })
            })
            .collect())
    }
    .await;
    server.drop_database(&db).await?;
    r
}

/// What the workload did with the indexes of a health clone.
#[derive(Debug, Default)]
pub struct Usage {
    /// Statements that ran to the end.
    pub ran: usize,
    /// Index scans by the statements' executions (planning's own probes taken
    /// out), by schema-qualified index name.
    pub scans: BTreeMap<String, u64>,
    /// Index names (as plans print them) some statement's plan uses.
    pub planned: Vec<String>,
}

impl Usage {
    /// Some statement's plan names `index` (schema-qualified).
    pub fn in_plans(&self, index: &str) -> bool {
        let short = index.rsplit('.').next().unwrap_or(index);
        self.planned.iter().any(|u| u == short || u == index)
    }
}

/// Runs each of `statements` once on `client` (in a transaction rolled back, so a
/// writing statement leaves the clone as it was) and reads `idx_scan` of every
/// index before and after. The planner itself scans an index when it probes a
/// column's actual end values (`get_actual_variable_range`), so a pass of plain
/// `EXPLAIN`s first counts those probes, and they are taken out: what remains is
/// what executing the workload scanned. The plans of that pass say which indexes
/// they use (corroboration). A statement that fails here (it needs `for_each`
/// rows, or another schema) is left out.
pub async fn usage(client: &Client, statements: &[String], version_num: u32) -> Result<Usage> {
    let mut out = Usage::default();
    let start = index_scans(client, version_num).await?;
    for sql in statements {
        if let Ok(row) = client
            .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), &[])
            .await
        {
            let plan: serde_json::Value = row.get(0);
            for s in crate::explain::parse(&plan) {
                for n in s.root.walk() {
                    if let Some(i) = &n.index {
                        out.planned.push(i.clone());
                    }
                }
            }
        }
    }
    let planned = index_scans(client, version_num).await?;
    let ctx = |what: &'static str| {
        move |e| {
            Error::db(
                format!("{what} a workload statement on the health clone"),
                e,
            )
        }
    };
    for sql in statements {
        client
            .batch_execute("BEGIN")
            .await
            .map_err(ctx("starting"))?;
        let r = client.simple_query(sql).await;
        client
            .batch_execute("ROLLBACK")
            .await
            .map_err(ctx("rolling back"))?;
        if r.is_ok() {
            out.ran += 1;
        }
    }
    let end = index_scans(client, version_num).await?;
    for (name, after) in &end {
        let at = |m: &BTreeMap<String, u64>| m.get(name).copied().unwrap_or(0);
        let probes = at(&planned).saturating_sub(at(&start));
        let executed = after.saturating_sub(at(&planned)).saturating_sub(probes);
        out.scans.insert(name.clone(), executed);
    }
    Ok(out)
}

/// `idx_scan` of every index of the clone's tables, once this connection's own
/// counts are flushed: PostgreSQL 15 flushes them on request when the backend goes
/// idle (`pg_stat_force_next_flush`); before 15 a backend reports at most every
/// 500 ms to the statistics collector, so this waits that long, ends a transaction
/// (the report) and reads a fresh snapshot.
async fn index_scans(client: &Client, version_num: u32) -> Result<BTreeMap<String, u64>> {
    let flush = if version_num >= 150000 {
        "SELECT pg_stat_force_next_flush()"
    } else {
        "SELECT pg_sleep(0.6)"
    };
    let ctx = |e| Error::db("reading index usage (pg_stat_user_indexes)", e);
    client.batch_execute(flush).await.map_err(ctx)?;
    if version_num < 150000 {
        client
            .batch_execute("SELECT pg_sleep(0.3); SELECT pg_stat_clear_snapshot()")
            .await
            .map_err(ctx)?;
    }
    let rows = client
        .query(
            "SELECT indexrelid::regclass::text, idx_scan FROM pg_stat_user_indexes",
            &[],
        )
        .await
        .map_err(ctx)?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
        .collect())
}

/// Multi-row insert rate into `table` on the loaded table of this clone, rolled back
/// (the write measurement every variant's index set gets).
async fn insert_rate(
    client: &Client,
    table: &str,
    rows_sql: Option<&str>,
    rows: u64,
) -> Result<f64> {
    let spec = crate::measure::writes::WriteSpec {
        table,
        rows_sql,
        batch_rows: rows,
        repetitions: 3,
    };
    Ok(crate::measure::writes::measure(client, spec)
        .await?
        .multi_rows_per_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(name: &str, body: &str, primary: bool, unique: bool) -> IndexDef {
        IndexDef {
            name: name.into(),
            table: "s.t".into(),
            body: body.into(),
            primary,
            constraint: primary,
            unique: unique || primary,
            bytes: 8192,
        }
    }

    #[test]
    fn duplicates_prefixes_and_the_primary_key() {
        let all = vec![
            idx("s.t_pkey", "USING btree (id)", true, false),
            idx("s.u", "USING btree (a, b)", false, true),
            idx("s.dup_of_pk", "USING btree (id)", false, false),
            idx("s.dup_of_u", "USING btree (a, b)", false, false),
            idx("s.prefix", "USING btree (a)", false, false),
            idx("s.x1", "USING btree (c, d)", false, false),
            idx("s.x2", "USING btree (c, d)", false, false),
            idx("s.partial", "USING btree (a) WHERE (c = 1)", false, false),
            idx("s.e", "USING btree (e)", false, false),
            idx("s.e_desc", "USING btree (e DESC)", false, false),
        ];
        let own: Vec<String> = all.iter().skip(2).map(|i| i.name.clone()).collect();
        let f = redundant(&all, &own);
        let find = |n: &str| f.iter().find(|x| x.0 == n).map(|x| (x.1, x.2.as_str()));
        assert_eq!(
            find("s.dup_of_pk"),
            Some((HealthKind::PrimaryKey, "s.t_pkey"))
        );
        assert_eq!(find("s.dup_of_u"), Some((HealthKind::Duplicate, "s.u")));
        assert_eq!(
            find("s.prefix").map(|x| x.0),
            Some(HealthKind::PrefixRedundant)
        );
        assert_eq!(find("s.x2"), Some((HealthKind::Duplicate, "s.x1")));
        assert_eq!(find("s.x1"), None, "the first of two plain twins stays");
        assert_eq!(find("s.partial"), None);
        assert_eq!(
            find("s.e_desc"),
            Some((HealthKind::Duplicate, "s.e")),
            "read backwards"
        );
    }
}
