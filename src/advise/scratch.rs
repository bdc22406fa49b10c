//! The advisor's scratch clone: one clone of the template per reference index set,
//! where it reads the catalog and `pg_stats`, prepares the statements, and asks
//! HypoPG for hypothetical plans. Nothing here builds a real index; the scratch
//! clones are dropped when the advisor is done (and by the server's teardown if it
//! is not).

use std::collections::BTreeMap;

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::analyze::Columns;
use super::candidates::TableFacts;
use crate::error::{Error, Result};
use crate::provision::Server;

/// A scratch clone with its connection.
pub struct Scratch {
    /// The clone's name.
    pub db: String,
    /// Connection to it.
    pub client: Client,
    /// `Some(version)` when HypoPG is installed in the clone.
    pub hypopg: Option<String>,
    /// Why there is no HypoPG, when there is none.
    pub screening_off: Option<String>,
}

/// Why `CREATE EXTENSION hypopg` failed: the package is missing (install it), or
/// the role may not create it (HypoPG is not a trusted extension, so only a
/// superuser can, as on most managed databases).
fn no_hypopg(e: &tokio_postgres::Error, version_num: u32) -> String {
    let message = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string());
    match e.code() {
        Some(&SqlState::UNDEFINED_FILE) => format!(
            "the server has no HypoPG extension (install postgresql-{}-hypopg)",
            version_num / 10000
        ),
        Some(&SqlState::INSUFFICIENT_PRIVILEGE) => format!(
            "{message}: HypoPG is not a trusted extension, so only a superuser can create it (as on most managed databases)"
        ),
        _ => format!("CREATE EXTENSION hypopg failed: {message}"),
    }
}

impl Scratch {
    /// Clones `template`, applies `ddl` (the reference's index set) and, when
    /// `screening` is on, creates the HypoPG extension in the clone.
    pub async fn open(
        server: &Server,
        template: &str,
        ddl: &[String],
        screening: bool,
    ) -> Result<Scratch> {
        let db = server.unique_name("adv");
        server.create_database(&db, Some(template)).await?;
        let client = server.connect(&db).await?;
        for d in ddl {
            client
                .batch_execute(d)
                .await
                .map_err(|e| Error::db(format!("applying the reference's index set ({d})"), e))?;
        }
        let (hypopg, screening_off) = if screening {
            match client
                .batch_execute("CREATE EXTENSION IF NOT EXISTS hypopg")
                .await
            {
                Ok(()) => {
                    let v = client
                        .query_one(
                            "SELECT extversion FROM pg_extension WHERE extname = 'hypopg'",
                            &[],
                        )
                        .await
                        .map_err(|e| Error::db("reading HypoPG's version", e))?;
                    (Some(v.get::<_, String>(0)), None)
                }
                Err(e) => (None, Some(no_hypopg(&e, server.info().version_num))),
            }
        } else {
            (None, Some("--no-screening".to_string()))
        };
        Ok(Scratch {
            db,
            client,
            hypopg,
            screening_off,
        })
    }

    /// Drops the clone.
    pub async fn close(self, server: &Server) -> Result<()> {
        drop(self.client);
        server.drop_database(&self.db).await
    }

    /// The columns of each of `tables` that exists (as written).
    pub async fn columns(&self, tables: &[String]) -> Result<Columns> {
        let mut out = Columns::new();
        for t in tables {
            let rows = self
                .client
                .query(
                    "SELECT attname::text FROM pg_attribute \
                     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped \
                     ORDER BY attnum",
                    &[t],
                )
                .await;
            // A name that is not a table (a CTE, a function) has no columns.
            if let Ok(rows) = rows
                && !rows.is_empty()
            {
                out.insert(t.clone(), rows.iter().map(|r| r.get(0)).collect());
            }
        }
        Ok(out)
    }

    /// Columns, existing B-tree keys and `pg_stats` of each table.
    pub async fn facts(&self, columns: &Columns) -> Result<BTreeMap<String, TableFacts>> {
        let mut out = BTreeMap::new();
        for (t, cols) in columns {
            let ctx = |what: &str| format!("reading {what} of {t}");
            let existing = self
                .client
                .query(
                    "SELECT array_agg(a.attname::text ORDER BY k.ord) \
                     FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                     JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam \
                     WHERE i.indrelid = to_regclass($1) AND am.amname = 'btree' \
                       AND i.indpred IS NULL AND k.ord <= i.indnkeyatts \
                     GROUP BY i.indexrelid",
                    &[t],
                )
                .await
                .map_err(|e| Error::db(ctx("indexes"), e))?;
            let stats = self
                .client
                .query(
                    "SELECT s.attname::text, s.correlation::float8, \
                            s.most_common_vals::text::text[], s.most_common_freqs::float8[] \
                     FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename \
                     JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname \
                     WHERE c.oid = to_regclass($1)",
                    &[t],
                )
                .await
                .map_err(|e| Error::db(ctx("statistics"), e))?;
            let mut f = TableFacts {
                columns: cols.clone(),
                existing: existing.iter().map(|r| r.get(0)).collect(),
                ..TableFacts::default()
            };
            for r in &stats {
                let col: String = r.get(0);
                if let Some(c) = r.get::<_, Option<f64>>(1) {
                    f.correlation.insert(col.clone(), c);
                }
                let vals: Option<Vec<String>> = r.get(2);
                let freqs: Option<Vec<f64>> = r.get(3);
                if let (Some(v), Some(fr)) = (vals, freqs) {
                    f.common.insert(col, v.into_iter().zip(fr).collect());
                }
            }
            out.insert(t.clone(), f);
        }
        Ok(out)
    }

    /// How many parameters (`$1…$n`) `sql` uses, from preparing it; the server's
    /// message when it does not prepare.
    pub async fn parameters(&self, sql: &str) -> std::result::Result<usize, String> {
        self.client
            .prepare(sql)
            .await
            .map(|st| st.params().len())
            .map_err(|e| crate::error::pg_message(&e))
    }

    /// The planner's total cost of `sql` (parameters inlined) and the index names
    /// its plan uses.
    pub async fn cost(&self, sql: &str) -> Result<(f64, Vec<String>)> {
        let row = self
            .client
            .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), &[])
            .await
            .map_err(|e| Error::db("explaining a statement for screening", e))?;
        let plan: serde_json::Value = row.get(0);
        let total = plan[0]["Plan"]["Total Cost"].as_f64().unwrap_or(f64::MAX);
        let mut indexes = Vec::new();
        for s in crate::explain::parse(&plan) {
            for n in s.root.walk() {
                if let Some(i) = &n.index {
                    indexes.push(i.clone());
                }
            }
        }
        Ok((total, indexes))
    }

    /// Cost of `sql` with the hypothetical indexes `ddl` (HypoPG), whether the plan
    /// uses one of them; the hypothetical indexes are removed afterwards.
    pub async fn hypothetical_cost(
        &self,
        sql: &str,
        ddl: &[String],
    ) -> std::result::Result<(f64, bool), String> {
        let mut names = Vec::new();
        for d in ddl {
            let row = self
                .client
                .query_one("SELECT indexname::text FROM hypopg_create_index($1)", &[d])
                .await
                .map_err(|e| crate::error::pg_message(&e))?;
            names.push(row.get::<_, String>(0));
        }
        let r = self.cost(sql).await.map_err(|e| e.to_string());
        let _ = self.client.batch_execute("SELECT hypopg_reset()").await;
        let (cost, used) = r?;
        Ok((cost, used.iter().any(|u| names.iter().any(|n| n == u))))
    }
}
