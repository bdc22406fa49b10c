//! The workload `querylab advise` optimizes: the reference variant of each selected
//! comparison, or the statements of a plain SQL file (run on the scenario's data).
//! Each statement is carried as a comparison whose reference variant it is, so the
//! proof rounds measure it exactly as `querylab run` would.
//!
//! A statement of a SQL file takes parameters the way a comparison does: a line
//! `-- params: SELECT …` right before it is its comparison's params query, whose
//! first row's columns bind `$1…$n` in order ([`bind`], once the statement's
//! parameter count is known from preparing it). The values travel as text and the
//! server types them from the prepared statement, as for every comparison.

use std::collections::BTreeMap;
use std::path::Path;

use tokio_postgres::SimpleQueryMessage;

use super::scratch::Scratch;
use crate::catalog::{Comparison, Mode, NO_INDEX, Pos, ResultExpectation, Scenario, Variant};
use crate::error::{Error, Result};
use crate::measure::exec::{TextParam, inline_params, text_rows};
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
    /// Where it comes from.
    pub source: Source,
}

/// Where a statement of the workload comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A comparison of the scenario (its own `params` bind its parameters).
    Comparison,
    /// A statement of a `--sql` file, with its params line if it has one.
    SqlFile(Option<ParamsLine>),
}

/// A `-- params: SELECT …` line of a `--sql` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsLine {
    /// The query after `params:`.
    pub sql: String,
    /// Where the query starts in the file.
    pub pos: Pos,
    /// `file:line:column` of the query, for errors.
    pub origin: String,
}

/// Marks the comment line that gives a `--sql` statement its parameters.
pub const PARAMS_MARK: &str = "params:";

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
        return from_file(&path.display().to_string(), &text);
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
                source: Source::Comparison,
            }
        })
        .collect())
}

/// The statements of a SQL file (`file` names it in ids and errors), each with the
/// params line written right before it.
fn from_file(file: &str, text: &str) -> Result<Vec<Statement>> {
    let list = crate::schema::statements(text);
    if list.is_empty() {
        return Err(Error::Invalid(format!(
            "{file}: no SQL statement in the file; put one statement per `;`"
        )));
    }
    let mut out = Vec::new();
    let mut after_previous = 0;
    for s in &list {
        let params = params_line(file, text, after_previous, s.offset)?;
        after_previous = s.offset + s.text.len();
        let id = format!("{file}:{}", s.line);
        let pos = Pos {
            line: s.line,
            column: 1,
        };
        out.push(Statement {
            origin: id.clone(),
            base: from_sql(&id, &s.text, pos),
            id,
            source: Source::SqlFile(params),
        });
    }
    // A params line after the last statement gives nothing its parameters.
    if let Some(p) = params_line(file, text, after_previous, text.len())? {
        return Err(Error::Invalid(format!(
            "{}: a `-- {PARAMS_MARK}` line with no statement after it; put it right before the statement whose $1…$n it binds",
            p.origin
        )));
    }
    Ok(out)
}

/// The `-- params: …` line among the comments of `text[from..to]` (between two
/// statements); at most one.
fn params_line(file: &str, text: &str, from: usize, to: usize) -> Result<Option<ParamsLine>> {
    let mut found: Option<ParamsLine> = None;
    let mut offset = from;
    for line in text[from..to].split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        let Some(comment) = line.trim_start().strip_prefix("--") else {
            continue;
        };
        let Some(query) = comment.trim_start().strip_prefix(PARAMS_MARK) else {
            continue;
        };
        let query_at = start + line.len() - query.len();
        let lead = query.len() - query.trim_start().len();
        let (line_no, column) = crate::schema::line_column(text, query_at + lead);
        let p = ParamsLine {
            sql: query.trim().trim_end_matches(';').trim_end().to_string(),
            pos: Pos {
                line: line_no,
                column,
            },
            origin: format!("{file}:{line_no}:{column}"),
        };
        if p.sql.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: `-- {PARAMS_MARK}` has no query; write `-- {PARAMS_MARK} SELECT … AS a, …` whose first row binds $1…$n",
                p.origin
            )));
        }
        if let Some(first) = &found {
            return Err(Error::Invalid(format!(
                "{}: a second `-- {PARAMS_MARK}` line for one statement (the first is at {}); keep one",
                p.origin, first.origin
            )));
        }
        found = Some(p);
    }
    Ok(found)
}

/// `s` ready to measure: each of its statements prepares on `scratch` (else
/// `file:line` and the server's message) and, for a `--sql` statement that uses
/// `$1…$n`, its params line's first row binds them, as a comparison's params
/// query does (checked here, so that a bad params line is one line naming it).
pub async fn bind(scratch: &Scratch, s: &Statement) -> Result<Statement> {
    let mut uses = 0;
    for sql in &s.variant().statements {
        let n = scratch.parameters(sql).await.map_err(|msg| {
            Error::Invalid(format!(
                "{}: statement {} does not prepare: {msg}",
                s.origin, s.id
            ))
        })?;
        uses = uses.max(n);
    }
    let Source::SqlFile(params) = &s.source else {
        return Ok(s.clone());
    };
    let Some(p) = params else {
        if uses == 0 {
            return Ok(s.clone());
        }
        return Err(Error::Invalid(format!(
            "{}: the statement uses {} but has no parameters; put a line `-- {PARAMS_MARK} SELECT … AS a, …` right before it, whose first row's columns bind them in order",
            s.origin,
            dollars(uses)
        )));
    };
    let msgs = scratch.client.simple_query(&p.sql).await.map_err(|e| {
        Error::Invalid(format!(
            "{}: the params query of the statement at {} failed: {}; fix the query after `-- {PARAMS_MARK}`",
            p.origin,
            s.origin,
            crate::error::pg_message(&e)
        ))
    })?;
    let (columns, rows) = text_rows(&msgs);
    if rows.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: the params query returned no row; it must return a row whose columns bind {} of the statement at {}",
            p.origin,
            dollars(uses),
            s.origin
        )));
    }
    if columns.len() < uses {
        return Err(Error::Invalid(format!(
            "{}: the params query returns {} column(s) but the statement at {} uses {}; return one column per parameter, in order",
            p.origin,
            columns.len(),
            s.origin,
            dollars(uses)
        )));
    }
    let names = &columns[..uses];
    for (i, n) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return Err(Error::Invalid(format!(
                "{}: columns {} and {} of the params query are both named {n}; name each with AS",
                p.origin,
                j + 1,
                i + 1
            )));
        }
    }
    let mut bound = s.clone();
    bound.base.params_sql = Some((p.sql.clone(), p.pos));
    let v = bound
        .base
        .variants
        .iter_mut()
        .find(|v| v.name == s.base.reference)
        .expect("the reference exists");
    v.params = names.iter().map(|n| (n.clone(), p.pos)).collect();
    Ok(bound)
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

/// `$1` or `$1…$n`.
fn dollars(n: usize) -> String {
    if n == 1 {
        "$1".into()
    } else {
        format!("$1…${n}")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params_of(s: &Statement) -> Option<&ParamsLine> {
        match &s.source {
            Source::SqlFile(p) => p.as_ref(),
            Source::Comparison => panic!("a --sql statement"),
        }
    }

    #[test]
    fn a_params_line_belongs_to_the_statement_right_after_it() {
        let text = "-- plain\nSELECT 1;\n\n-- by name\n-- params: SELECT name FROM t LIMIT 1;\n\
                    SELECT *\nFROM t WHERE name = $1;\n--params:SELECT 2 AS b\nSELECT $1::int;\n";
        let list = from_file("w.sql", text).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(params_of(&list[0]), None);
        let p = params_of(&list[1]).expect("the second has one");
        assert_eq!(p.sql, "SELECT name FROM t LIMIT 1");
        assert_eq!(p.origin, "w.sql:5:12");
        assert_eq!(list[1].id, "w.sql:6");
        assert_eq!(params_of(&list[2]).unwrap().sql, "SELECT 2 AS b");
        assert_eq!(params_of(&list[2]).unwrap().origin, "w.sql:8:10");
    }

    #[test]
    fn a_params_line_with_no_query_twice_or_after_the_last_statement_is_refused() {
        for (text, at, what) in [
            ("-- params:\nSELECT $1;", "w.sql:1:11", "has no query"),
            (
                "-- params: SELECT 1\n-- params: SELECT 2\nSELECT $1;",
                "w.sql:2:12",
                "a second",
            ),
            (
                "SELECT 1;\n-- params: SELECT 2\n",
                "w.sql:2:12",
                "no statement after it",
            ),
        ] {
            let e = from_file("w.sql", text).unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(what), "{text:?}: {e}");
        }
    }
}
