//! `[layouts.NAME]`: table designs as a dimension of a variant, beside its index set.
//!
//! A layout is a list of statements that derive another design of the same logical
//! rows from the loaded data (CREATE TABLE … AS, ALTER TABLE … TYPE, a partitioned
//! copy, …). The measurer builds each layout a run needs once, on its own template
//! (see `measure::layout`), and clones its variants from there.

use std::collections::BTreeMap;

use toml::Spanned;

use super::{Pos, Resolver, model};
use crate::error::Result;

/// A layout, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Name.
    pub name: String,
    /// What the design is.
    pub description: String,
    /// Statements with their positions in the scenario file, in order.
    pub statements: Vec<(String, Pos)>,
    /// Tables (schema-qualified) whose bytes are reported.
    pub tables: Vec<String>,
    /// Table whose writes are measured.
    pub write_table: Option<String>,
    /// SQL returning the rows inserted into `write_table`.
    pub write_rows: Option<String>,
    /// A change to existing rows, measured beside the inserts.
    pub update: Option<Update>,
    /// Where `[layouts.NAME]` is written.
    pub pos: Pos,
}

/// A change to existing rows (`[layouts.NAME.update]`, `[index_sets.NAME.update]`),
/// measured like the inserts: once per batch row as a prepared statement, and once
/// for the whole batch, read from the temp table [`Update::BATCH`].
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// What the change is.
    pub description: String,
    /// SQL returning the batch, one row per change.
    pub rows: String,
    /// One row's change: `$1`, `$2`, … are the batch row's columns.
    pub single: String,
    /// The whole batch's change, reading [`Update::BATCH`].
    pub multi: String,
    /// Where the update is written.
    pub pos: Pos,
}

impl Update {
    /// The temp table holding the batch while `multi` runs.
    pub const BATCH: &'static str = "querylab_batch";
}

impl Resolver<'_> {
    pub(super) fn layouts(
        &self,
        defs: &BTreeMap<String, Spanned<model::LayoutDef>>,
    ) -> Result<BTreeMap<String, Layout>> {
        let mut out = BTreeMap::new();
        for (name, def) in defs {
            let d = def.get_ref();
            if d.statements.is_empty() && d.tables.is_empty() {
                return Err(self.err(
                    def,
                    format!(
                        "layout {name} has no statements and no tables; give it statements = [\"…\"] (or tables = [\"schema.table\"] for the loaded design as it is)"
                    ),
                ));
            }
            if let Some(t) = d.tables.iter().find(|t| !t.contains('.')) {
                return Err(self.err(
                    def,
                    format!(
                        "layout {name}: table {t:?} is not schema-qualified; write schema.table"
                    ),
                ));
            }
            if d.write_rows.is_some() && d.write_table.is_none() {
                return Err(self.err(
                    def,
                    format!("layout {name}: write_rows needs write_table = \"schema.table\""),
                ));
            }
            out.insert(
                name.clone(),
                Layout {
                    name: name.clone(),
                    description: d.description.clone(),
                    statements: d
                        .statements
                        .iter()
                        .map(|s| (s.get_ref().trim().to_string(), self.pos(s)))
                        .collect(),
                    tables: d.tables.clone(),
                    write_table: d.write_table.clone(),
                    write_rows: d.write_rows.clone(),
                    update: self.update(&format!("layout {name}"), d.update.as_ref())?,
                    pos: self.pos(def),
                },
            );
        }
        Ok(out)
    }

    /// A `[… .update]` table, checked: every statement given, `multi` reading the batch.
    pub(super) fn update(
        &self,
        owner: &str,
        def: Option<&Spanned<model::UpdateDef>>,
    ) -> Result<Option<Update>> {
        let Some(def) = def else {
            return Ok(None);
        };
        let d = def.get_ref();
        for (key, sql) in [
            ("rows", &d.rows),
            ("single", &d.single),
            ("multi", &d.multi),
        ] {
            if sql.trim().is_empty() {
                return Err(self.err(def, format!("{owner}: update.{key} is empty; give it SQL")));
            }
        }
        if !d.multi.contains(Update::BATCH) {
            return Err(self.err(
                def,
                format!(
                    "{owner}: update.multi does not read the batch; change the rows of {} (the rows query's answer) in one statement",
                    Update::BATCH
                ),
            ));
        }
        Ok(Some(Update {
            description: d.description.clone(),
            rows: d.rows.trim().trim_end_matches(';').to_string(),
            single: d.single.trim().to_string(),
            multi: d.multi.trim().to_string(),
            pos: self.pos(def),
        }))
    }

    /// The layout a variant names, or an error at the name listing the defined ones.
    pub(super) fn known_layout(
        &self,
        name: &Spanned<String>,
        layouts: &BTreeMap<String, Layout>,
    ) -> Result<String> {
        if layouts.contains_key(name.get_ref()) {
            return Ok(name.get_ref().clone());
        }
        let defined = if layouts.is_empty() {
            "none; define it as [layouts.NAME]".to_string()
        } else {
            layouts.keys().cloned().collect::<Vec<_>>().join(", ")
        };
        Err(self.err(
            name,
            format!("unknown layout {:?}; defined: {defined}", name.get_ref()),
        ))
    }
}
