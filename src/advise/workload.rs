//! The workload `querylab advise` optimizes: the reference variant of each selected
//! comparison, or the statements of a plain SQL file (run on the scenario's data).
//! Each statement is carried as a comparison whose reference variant it is, so the
//! proof rounds measure it exactly as `querylab run` would.

use std::collections::BTreeMap;
use std::path::Path;

use tokio_postgres::SimpleQueryMessage;

use super::scratch::Scratch;
use crate::catalog::{Comparison, Mode, NO_INDEX, Pos, ResultExpectation, Scenario, Variant};
use crate::error::{Error, Result};
use crate::measure::exec::{TextParam, inline_params};
use crate::results::ResultOrder;

/// One statement to advise on.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The comparison id, or `FILE:LINE` for a `--sql` statement.
    pub id: String,
    /// Where it is written, for errors: `file:line[:column]`.
    pub origin: String,
    /// A comparison whose reference variant is the statement.
    pub base: Comparison,
}

impl Statement {
    /// The statement's variant.
    pub fn variant(&self) -> &Variant {
        self.base
            .variants
            .iter()
            .find(|v| v.name == self.base.reference)
            .expect("the reference exists")
    }

    /// The first statement's SQL.
    pub fn sql(&self) -> &str {
        &self.variant().statements[0]
    }
}

/// The selected comparisons' reference variants, or the statements of `sql_file`.
pub fn statements(
    scenario: &Scenario,
    only: Option<&str>,
    sql_file: Option<&Path>,
) -> Result<Vec<Statement>> {
    if let Some(path) = sql_file {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let list = crate::schema::statements(&text);
        if list.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no SQL statement in the file; put one statement per `;`",
                path.display()
            )));
        }
        return Ok(list
            .into_iter()
            .map(|s| {
                let id = format!("{}:{}", path.display(), s.line);
                let pos = Pos {
                    line: s.line,
                    column: 1,
                };
                Statement {
                    origin: id.clone(),
                    base: from_sql(&id, &s.text, pos),
                    id,
                }
            })
            .collect());
    }
    Ok(scenario
        .select(only)?
        .into_iter()
        .map(|c| {
            let v = c
                .variants
                .iter()
                .find(|v| v.name == c.reference)
                .expect("the reference exists");
            Statement {
                id: c.id.clone(),
                origin: format!("{}:{}:{}", scenario.source, v.pos.line, v.pos.column),
                base: c.clone(),
            }
        })
        .collect())
}

/// A one-variant comparison for a statement of a SQL file. Its rows are compared as
/// a multiset: an index may return ties of an `ORDER BY` in another order.
fn from_sql(id: &str, sql: &str, pos: Pos) -> Comparison {
    Comparison {
        id: id.to_string(),
        title: id.to_string(),
        description: String::new(),
        sources: Vec::new(),
        reference: "statement".into(),
        result_order: ResultOrder::Multiset,
        expect_winner: None,
        params_sql: None,
        timeout: None,
        variants: vec![Variant {
            name: "statement".into(),
            description: String::new(),
            index_set: NO_INDEX.into(),
            layout: None,
            workload: None,
            statements: vec![sql.to_string()],
            params: Vec::new(),
            for_each: None,
            repeat_until_zero: false,
            mode: Mode::Read,
            verify: None,
            settings: BTreeMap::new(),
            plan_contains: Vec::new(),
            plan_lacks: Vec::new(),
            result: ResultExpectation::Same,
            faster_than: Vec::new(),
            pos,
        }],
        pos,
    }
}

/// The statement's SQL with its parameters (from the comparison's params query)
/// inlined as literals, for `EXPLAIN` on the scratch clone; `None` when its
/// parameters come from elsewhere (`for_each`) or the params query fails.
pub async fn inlined(scratch: &Scratch, s: &Statement) -> Option<String> {
    let v = s.variant();
    if v.for_each.is_some() {
        return None;
    }
    if v.params.is_empty() {
        return Some(s.sql().to_string());
    }
    let (sql, _) = s.base.params_sql.as_ref()?;
    let msgs = scratch.client.simple_query(sql).await.ok()?;
    let row = msgs.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    })?;
    let named: BTreeMap<&str, Option<String>> = row
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name(), row.get(i).map(str::to_string)))
        .collect();
    let params: Vec<TextParam> = v
        .params
        .iter()
        .map(|(n, _)| TextParam(named.get(n.as_str()).cloned().flatten()))
        .collect();
    Some(inline_params(s.sql(), &params))
}
