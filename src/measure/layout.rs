//! Layouts (table designs) as a dimension of a variant, and the price side of a
//! variant's design: bytes and writes.
//!
//! A layout used by a selected variant is built **once per dataset**: a clone of the
//! loaded template, its statements, then `VACUUM (FREEZE, ANALYZE)` of its tables (as
//! the load leaves the canonical tables: frozen, all-visible, with statistics), kept
//! as a template of its own. Every variant on the layout is cloned from it. A layout
//! whose statements fail is recorded as failed once, and every variant on it fails
//! with the same `file:line:column` message; the run goes on.
//!
//! Writes ([`super::writes`]) are measured at the end of a read-only variant of a
//! layout (with index set `none`) or of an index set (with no layout), in the last
//! comparison that reads on that clone ([`Measurer::upcoming`]), on the variant's
//! clone after the plans of every variant of the comparison: no read ever sees the
//! rolled-back rows, and the clone, spoiled, is dropped once its last user closes
//! ([`super::clones`]) instead of being made again for a later comparison.

use std::time::Instant;

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::setup::{Session, bound_setup, setup_failure};
use super::stop::{Failed, Stop};
use super::writes::{self, WriteSpec};
use super::{Measurer, storage};
use crate::catalog::{Layout, Mode, NO_INDEX, Update, Variant};
use crate::error::Error;
use crate::results::{LayoutCost, WriteCost};

/// What became of a layout this dataset.
#[derive(Debug, Clone)]
pub(super) enum Built {
    /// Variants clone from this database.
    Template(String),
    /// Its statements failed: every variant on it fails with this message.
    Failed(String),
}

/// The database `v`'s clones are made from: the loaded template, or its layout's,
/// built now if this is the first variant on it.
pub(super) async fn source_for(m: &mut Measurer<'_>, v: &Variant) -> Result<String, Stop> {
    let Some(name) = &v.layout else {
        return Ok(m.template.to_string());
    };
    match m.mem.layouts.get(name) {
        Some(Built::Template(db)) => return Ok(db.clone()),
        Some(Built::Failed(msg)) => return Err(Stop::Variant(Failed(msg.clone()))),
        None => {}
    }
    let layout = m.scenario.layouts[name].clone();
    let mut cost = LayoutCost {
        name: layout.name.clone(),
        description: layout.description.clone(),
        statements: layout.statements.iter().map(|(s, _)| s.clone()).collect(),
        ..LayoutCost::default()
    };
    if layout.statements.is_empty() {
        m.mem
            .layouts
            .insert(name.clone(), Built::Template(m.template.to_string()));
        m.mem.layout_costs.insert(name.clone(), cost);
        return Ok(m.template.to_string());
    }
    let db = m.server.unique_name("l");
    let template = m.template;
    m.make_clone(&db, template).await?;
    let started = Instant::now();
    match build_on(m, &layout, &db).await {
        Ok(()) => {
            cost.build_seconds = started.elapsed().as_secs_f64();
            m.mem.layout_builds += 1;
            m.mem
                .layouts
                .insert(name.clone(), Built::Template(db.clone()));
            m.mem.layout_costs.insert(name.clone(), cost);
            Ok(db)
        }
        Err(stop) => {
            m.server.drop_database(&db).await?;
            if let Stop::Variant(Failed(msg)) = &stop {
                m.mem
                    .layouts
                    .insert(name.clone(), Built::Failed(msg.clone()));
            }
            Err(stop)
        }
    }
}

async fn build_on(m: &Measurer<'_>, layout: &Layout, db: &str) -> Result<(), Stop> {
    let client = m.server.connect(db).await?;
    bound_setup(m, &client).await?;
    let src = &m.scenario.source;
    for (i, (stmt, pos)) in layout.statements.iter().enumerate() {
        client.batch_execute(stmt).await.map_err(|e| {
            if crate::error::connection_lost(&e) {
                return Stop::Run(Error::db(format!("building layout {}", layout.name), e));
            }
            let why = if e.code() == Some(&SqlState::QUERY_CANCELED) {
                setup_failure(m, &e, "the layout")
            } else {
                format!(
                    "{}; fix the layout in the scenario",
                    crate::error::pg_message(&e)
                )
            };
            Stop::Variant(Failed(format!(
                "{src}:{}:{}: layout {} statement {} failed: {why}",
                pos.line,
                pos.column,
                layout.name,
                i + 1
            )))
        })?;
    }
    let mut tables = Vec::new();
    for t in &layout.tables {
        tables.push(super::cost::regclass(&client, t).await.map_err(|e| match e {
            Error::NoSuchTable { table } => Stop::Variant(Failed(format!(
                "{src}:{}:{}: layout {}: table {table} does not exist after its statements; create it or fix tables = […]",
                layout.pos.line, layout.pos.column, layout.name
            ))),
            e => Stop::from(e),
        })?);
    }
    let finish = if tables.is_empty() {
        vec!["ANALYZE".to_string()]
    } else {
        tables
            .iter()
            .map(|t| format!("VACUUM (FREEZE, ANALYZE) {t}"))
            .collect()
    };
    for sql in finish {
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| Stop::from(Error::db(format!("layout {}: {sql}", layout.name), e)))?;
    }
    Ok(())
}

/// The bytes of `v`'s layout's tables, the first time a clone of it is opened.
pub(super) async fn record_bytes(
    m: &mut Measurer<'_>,
    v: &Variant,
    client: &Client,
) -> Result<(), Stop> {
    let Some(name) = &v.layout else {
        return Ok(());
    };
    let layout = &m.scenario.layouts[name];
    let Some(cost) = m.mem.layout_costs.get(name) else {
        return Ok(());
    };
    if !cost.tables.is_empty() || layout.tables.is_empty() {
        return Ok(());
    }
    let mut tables = Vec::new();
    for t in &layout.tables {
        tables.push(storage::table_bytes(client, t).await?);
    }
    if let Some(cost) = m.mem.layout_costs.get_mut(name) {
        cost.tables = tables;
    }
    Ok(())
}

/// Measures the writes of `s`'s layout or index set when they are not measured yet
/// and `s` is a read-only variant: at the end of its path, on its own clone.
pub(super) async fn write_costs(m: &mut Measurer<'_>, s: &Session) -> Result<(), Stop> {
    let v = &s.variant;
    if v.mode != Mode::Read
        || m.config.write_cost_rows == 0
        || m.config.write_repetitions == 0
        || m.read_later(&(v.layout.clone(), v.index_set.clone()))
    {
        return Ok(());
    }
    let spec = |table, rows_sql| WriteSpec {
        table,
        rows_sql,
        batch_rows: m.config.write_cost_rows,
        repetitions: m.config.write_repetitions,
    };
    if let Some(name) = &v.layout {
        if v.index_set != NO_INDEX {
            return Ok(());
        }
        let layout = m.scenario.layouts[name].clone();
        let Some(cost) = m.mem.layout_costs.get(name) else {
            return Ok(());
        };
        let (insert_due, update_due) = (cost.writes.is_none(), cost.updates.is_none());
        let what = format!("layout {name}");
        if (layout.write_table.is_some() && insert_due) || (layout.update.is_some() && update_due) {
            super::setup::for_writing(m, s).await?;
        }
        if let (Some(table), true) = (&layout.write_table, insert_due) {
            let w = writes::measure(
                &s.client,
                spec(table.as_str(), layout.write_rows.as_deref()),
            )
            .await
            .map_err(|e| write_failure(m, &layout.pos, &what, e))?;
            if let Some(c) = m.mem.layout_costs.get_mut(name) {
                c.writes = Some(w);
            }
        }
        if let (Some(u), true) = (&layout.update, update_due) {
            let about = layout
                .write_table
                .as_deref()
                .or(layout.tables.first().map(String::as_str));
            let w = update_cost(m, s, u, about, &what).await?;
            if let Some(c) = m.mem.layout_costs.get_mut(name) {
                c.updates = Some(w);
            }
        }
        return Ok(());
    }
    let set = m.scenario.index_sets[&v.index_set].clone();
    let Some(cost) = m.mem.costs.get(&set.name) else {
        return Ok(());
    };
    let (insert_due, update_due) = (cost.writes.is_none(), cost.updates.is_none());
    let what = format!("index set {}", set.name);
    let table = set.write_table.as_deref().filter(|_| insert_due);
    if table.is_some() || (set.update.is_some() && update_due) {
        super::setup::for_writing(m, s).await?;
    }
    let with_set = match table {
        Some(t) => Some(
            writes::measure(&s.client, spec(t, set.write_rows.as_deref()))
                .await
                .map_err(|e| write_failure(m, &set.pos, &what, e))?,
        ),
        None => None,
    };
    // After the inserts (as on a layout) and before their baseline drops the indexes.
    if let (Some(u), true) = (&set.update, update_due) {
        let w = update_cost(m, s, u, set.write_table.as_deref(), &what).await?;
        if let Some(c) = m.mem.costs.get_mut(&set.name) {
            c.updates = Some(w);
        }
    }
    let (Some(table), Some(with_set)) = (table, with_set) else {
        return Ok(());
    };
    let key = with_set.table.clone();
    if !m.mem.write_baselines.contains_key(&key) {
        drop_secondary_indexes(&s.client, &key).await?;
        let b = writes::measure(&s.client, spec(table, set.write_rows.as_deref()))
            .await
            .map_err(|e| write_failure(m, &set.pos, &what, e))?;
        m.mem.write_baselines.insert(key.clone(), b);
    }
    let baseline = m.mem.write_baselines.get(&key).cloned();
    if let Some(c) = m.mem.costs.get_mut(&set.name) {
        c.write_table = Some(key);
        c.write_rows = with_set.batch_rows;
        c.write_rows_per_second = with_set.multi_rows_per_second();
        c.baseline_rows_per_second = baseline
            .as_ref()
            .map_or(0.0, WriteCost::multi_rows_per_second);
        c.writes = Some(with_set);
        c.baseline_writes = baseline;
    }
    Ok(())
}

/// The `update` of a layout or index set on `s`'s clone; a failure is the
/// variant's, at the update's position.
async fn update_cost(
    m: &Measurer<'_>,
    s: &Session,
    u: &Update,
    table: Option<&str>,
    what: &str,
) -> Result<WriteCost, Stop> {
    writes::measure_update(
        &s.client,
        u,
        table.unwrap_or_default(),
        m.config.write_repetitions,
    )
    .await
    .map_err(|e| write_failure(m, &u.pos, &format!("{what} update"), e))
}

/// Drops the table's indexes that back no constraint: what is left is the table
/// with its keys and uniques only, the baseline an index set's write cost is
/// compared with (this clone is dropped right after).
async fn drop_secondary_indexes(client: &Client, table: &str) -> Result<(), Stop> {
    let rows = client
        .query(
            "SELECT i.indexrelid::regclass::text FROM pg_index i \
             WHERE i.indrelid = $1::text::regclass \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            &[&table],
        )
        .await
        .map_err(|e| Error::db(format!("listing the indexes of {table}"), e))?;
    for r in rows {
        let index: String = r.get(0);
        client
            .batch_execute(&format!("DROP INDEX {index}"))
            .await
            .map_err(|e| Error::db(format!("dropping {index} for the write baseline"), e))?;
    }
    Ok(())
}

fn write_failure(m: &Measurer<'_>, pos: &crate::catalog::Pos, what: &str, e: Error) -> Stop {
    if e.is_connection_lost() {
        return Stop::Run(e);
    }
    let message = match e {
        Error::NoSuchTable { table } => {
            format!("write_table {table} does not exist; name an existing schema-qualified table")
        }
        e => e.to_string(),
    };
    Stop::Variant(Failed(format!(
        "{}:{}:{}: {what}: {message}",
        m.scenario.source, pos.line, pos.column
    )))
}

/// Drops the layout templates built for this dataset, but those in `keep` (each a
/// whole copy of the database: only the ones later comparisons need stay on disk).
pub(super) async fn drop_templates(
    m: &mut Measurer<'_>,
    keep: &std::collections::BTreeSet<String>,
) -> crate::error::Result<()> {
    let names: Vec<String> = m
        .mem
        .layouts
        .keys()
        .filter(|n| !keep.contains(*n))
        .cloned()
        .collect();
    for name in names {
        if let Some(Built::Template(db)) = m.mem.layouts.remove(&name)
            && db != m.template
        {
            m.retire(db);
        }
    }
    Ok(())
}
