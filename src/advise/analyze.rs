//! What a statement asks of each table it reads: the predicates, sort order, join
//! keys and columns that an index could serve, read from the SQL with `sqlparser`.
//!
//! The result is per *access*: one table reference in one query block (a `SELECT`,
//! a subquery, a CTE body, an `UPDATE`/`DELETE`'s `WHERE`). Columns are attributed
//! to tables through the block's aliases (and outer blocks' for correlated
//! subqueries); an unqualified column goes to the one table of the block that has
//! it, which [`Columns`] (read from the database) tells.

use std::collections::BTreeMap;

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, InTarget,
    JoinConstraint, JoinOperator, LimitClause, ObjectNamePart, OrderByKind, OrderBySort, Query,
    Select, SelectItem, SetExpr, Statement, TableFactor, TableWithJoins, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// Column names of each table (as written in the statement) that exists in the
/// database: how unqualified columns are attributed and `SELECT *` is expanded.
pub type Columns = BTreeMap<String, Vec<String>>;

/// A predicate on an expression (not a bare column) of one table: `lower(name) = $1`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprPredicate {
    /// The expression as written, with table qualifiers removed: `lower(name)`.
    pub expr: String,
    /// Equality (`=`, `IN`) rather than a range.
    pub equality: bool,
}

/// What one query block asks of one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    /// The table as written (`jobs.ml_jobs`).
    pub table: String,
    /// Columns compared for equality with a value (`=`, `IN`, `= ANY`, `IS NULL`).
    pub equality: Vec<String>,
    /// Columns compared with a range (`<`, `BETWEEN`, …).
    pub range: Vec<String>,
    /// `column = 'literal'`: the constants a partial index could be restricted to.
    pub constants: Vec<(String, String)>,
    /// Columns equated with another table's column (join keys).
    pub join_keys: Vec<String>,
    /// `ORDER BY` on this table's columns only, with `DESC`.
    pub order: Vec<(String, bool)>,
    /// The block has a `LIMIT` (an ordered index lets the scan stop early).
    pub limit: bool,
    /// Predicates on expressions of this table's columns.
    pub expressions: Vec<ExprPredicate>,
    /// jsonb columns tested with `@>`.
    pub contains: Vec<String>,
    /// Text columns matched with `LIKE`/`ILIKE` on a pattern starting with `%`.
    pub substring: Vec<String>,
    /// `to_tsvector(…)` expressions matched with `@@`.
    pub tsvector: Vec<String>,
    /// Every column of this table the block mentions (for `INCLUDE`); `None` when
    /// the block selects `*` from it.
    pub used: Option<Vec<String>>,
    /// Groups of columns from the branches of an `OR`: one index per branch serves
    /// it through a BitmapOr.
    pub or_branches: Vec<Vec<String>>,
}

/// A statement that sqlparser could not read: the advisor then has only the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Unparsed(pub String);

/// The accesses of every statement in `sql` (several statements: each is read).
pub fn accesses(sql: &str, columns: &Columns) -> Result<Vec<Access>, Unparsed> {
    let statements =
        Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| Unparsed(e.to_string()))?;
    let mut w = Walker {
        columns,
        out: Vec::new(),
        scopes: Vec::new(),
    };
    for s in &statements {
        w.statement(s);
    }
    Ok(merge(w.out))
}

/// The tables a statement names (for reading their columns before [`accesses`]).
pub fn tables(sql: &str) -> Vec<String> {
    let Ok(statements) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let text = statements
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    // Table names appear after FROM/JOIN/UPDATE/INTO; the parser's Display is
    // canonical, so a scan of its words is enough to list candidates, and the
    // database then says which exist.
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.windows(2) {
        if matches!(
            pair[0].to_ascii_uppercase().as_str(),
            "FROM" | "JOIN" | "UPDATE" | "INTO"
        ) {
            let name = pair[1].trim_matches(|c| c == '(' || c == ')' || c == ',');
            if !name.is_empty() && !out.iter().any(|t| t == name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// One table reference in scope: its alias (or name) and the table.
#[derive(Clone)]
struct Binding {
    name: String,
    table: String,
    access: usize,
}

struct Walker<'a> {
    columns: &'a Columns,
    out: Vec<Access>,
    scopes: Vec<Vec<Binding>>,
}

impl Walker<'_> {
    fn statement(&mut self, s: &Statement) {
        match s {
            Statement::Query(q) => self.query(q),
            Statement::Update(u) => {
                let mut scope = Vec::new();
                self.bind(&u.table, &mut scope);
                self.scopes.push(scope);
                if let Some(e) = &u.selection {
                    self.predicate(e);
                }
                self.scopes.pop();
            }
            Statement::Delete(d) => {
                let mut scope = Vec::new();
                let tables = match &d.from {
                    sqlparser::ast::FromTable::WithFromKeyword(t)
                    | sqlparser::ast::FromTable::WithoutKeyword(t) => t,
                };
                for t in tables {
                    self.bind(t, &mut scope);
                }
                self.scopes.push(scope);
                if let Some(e) = &d.selection {
                    self.predicate(e);
                }
                self.scopes.pop();
            }
            _ => {}
        }
    }

    fn query(&mut self, q: &Query) {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.query(&cte.query);
            }
        }
        let limit = matches!(
            &q.limit_clause,
            Some(LimitClause::LimitOffset { limit: Some(_), .. })
                | Some(LimitClause::OffsetCommaLimit { .. })
        ) || q.fetch.is_some();
        let order: Vec<(Expr, bool)> = match q.order_by.as_ref().map(|o| &o.kind) {
            Some(OrderByKind::Expressions(list)) => list
                .iter()
                .map(|o| {
                    (
                        o.expr.clone(),
                        matches!(o.options.sort, Some(OrderBySort::Desc)),
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        self.set_expr(&q.body, &order, limit);
    }

    fn set_expr(&mut self, body: &SetExpr, order: &[(Expr, bool)], limit: bool) {
        match body {
            SetExpr::Select(s) => self.select(s, order, limit),
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left, &[], false);
                self.set_expr(right, &[], false);
            }
            _ => {}
        }
    }

    fn bind(&mut self, t: &TableWithJoins, scope: &mut Vec<Binding>) {
        self.factor(&t.relation, scope);
        for j in &t.joins {
            self.factor(&j.relation, scope);
        }
    }

    fn factor(&mut self, f: &TableFactor, scope: &mut Vec<Binding>) {
        match f {
            TableFactor::Table { name, alias, .. } => {
                let table = name
                    .0
                    .iter()
                    .map(|p| match p {
                        ObjectNamePart::Identifier(i) => i.value.clone(),
                        ObjectNamePart::Function(f) => f.name.value.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(".");
                if !self.columns.contains_key(&table) {
                    return; // a CTE or a table the database does not have
                }
                let short = table.rsplit('.').next().unwrap_or(&table).to_string();
                let name = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .unwrap_or(short);
                self.out.push(Access {
                    table: table.clone(),
                    used: Some(Vec::new()),
                    ..Access::default()
                });
                scope.push(Binding {
                    name,
                    table,
                    access: self.out.len() - 1,
                });
            }
            TableFactor::Derived { subquery, .. } => self.query(subquery),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.bind(table_with_joins, scope),
            _ => {}
        }
    }

    fn select(&mut self, s: &Select, order: &[(Expr, bool)], limit: bool) {
        let mut scope = Vec::new();
        for t in &s.from {
            self.bind(t, &mut scope);
        }
        self.scopes.push(scope.clone());
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.mention(e)
                }
                SelectItem::Wildcard(_) => {
                    for b in &scope {
                        self.out[b.access].used = None;
                    }
                }
                SelectItem::ExprWithAliases { expr: e, .. } => self.mention(e),
                SelectItem::QualifiedWildcard(kind, _) => {
                    let text = kind.to_string();
                    let alias = text.rsplit('.').next().unwrap_or(&text).to_string();
                    if let Some(b) = scope.iter().find(|b| b.name == alias) {
                        self.out[b.access].used = None;
                    }
                }
            }
        }
        for t in &s.from {
            for j in &t.joins {
                let c = match &j.join_operator {
                    JoinOperator::Join(c)
                    | JoinOperator::Inner(c)
                    | JoinOperator::Left(c)
                    | JoinOperator::LeftOuter(c)
                    | JoinOperator::Right(c)
                    | JoinOperator::RightOuter(c)
                    | JoinOperator::FullOuter(c)
                    | JoinOperator::Semi(c)
                    | JoinOperator::LeftSemi(c)
                    | JoinOperator::Anti(c)
                    | JoinOperator::LeftAnti(c) => Some(c),
                    _ => None,
                };
                if let Some(JoinConstraint::On(e)) = c {
                    self.predicate(e);
                }
            }
        }
        if let Some(e) = &s.selection {
            self.predicate(e);
        }
        if let sqlparser::ast::GroupByExpr::Expressions(list, _) = &s.group_by {
            for e in list {
                self.mention(e);
            }
        }
        if let Some(h) = &s.having {
            self.mention(h);
        }
        // ORDER BY: an index helps only when every key is a column of one table.
        let keys: Vec<(Option<(usize, String)>, bool)> = order
            .iter()
            .map(|(e, desc)| (self.column(e), *desc))
            .collect();
        if let Some(Some((first, _))) = keys.first().map(|k| k.0.clone())
            && keys
                .iter()
                .all(|(k, _)| k.as_ref().is_some_and(|(a, _)| *a == first))
        {
            self.out[first].order = keys
                .iter()
                .map(|(k, d)| (k.as_ref().expect("checked").1.clone(), *d))
                .collect();
            self.out[first].limit = limit;
        }
        for (e, _) in order {
            self.mention(e);
        }
        self.scopes.pop();
    }

    /// Resolves a column reference to (access, column name).
    fn column(&self, e: &Expr) -> Option<(usize, String)> {
        match e {
            Expr::Nested(inner) => self.column(inner),
            Expr::Identifier(id) => {
                for scope in self.scopes.iter().rev() {
                    let owners: Vec<&Binding> = scope
                        .iter()
                        .filter(|b| self.columns[&b.table].contains(&id.value))
                        .collect();
                    if let Some(b) = owners.first() {
                        return Some((b.access, id.value.clone()));
                    }
                }
                None
            }
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let col = &parts[parts.len() - 1].value;
                let alias = &parts[parts.len() - 2].value;
                for scope in self.scopes.iter().rev() {
                    if let Some(b) = scope.iter().find(|b| &b.name == alias) {
                        return self.columns[&b.table]
                            .contains(col)
                            .then(|| (b.access, col.clone()));
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// Columns of in-scope tables that `e` mentions, by access.
    fn refs(&self, e: &Expr, out: &mut Vec<(usize, String)>) {
        if let Some(c) = self.column(e) {
            out.push(c);
            return;
        }
        match e {
            Expr::BinaryOp { left, right, .. } => {
                self.refs(left, out);
                self.refs(right, out);
            }
            Expr::Nested(x)
            | Expr::Cast { expr: x, .. }
            | Expr::UnaryOp { expr: x, .. }
            | Expr::IsNull(x)
            | Expr::IsNotNull(x) => self.refs(x, out),
            Expr::Function(f) => {
                if let FunctionArguments::List(list) = &f.args {
                    for a in &list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                            self.refs(x, out);
                        }
                    }
                }
            }
            Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
                self.refs(expr, out);
                self.refs(pattern, out);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                self.refs(expr, out);
                self.refs(low, out);
                self.refs(high, out);
            }
            Expr::In { expr, target, .. } => {
                self.refs(expr, out);
                if let InTarget::List(l) = target {
                    for x in l {
                        self.refs(x, out);
                    }
                }
            }
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
                self.refs(left, out);
                self.refs(right, out);
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(o) = operand {
                    self.refs(o, out);
                }
                for c in conditions {
                    self.refs(&c.condition, out);
                    self.refs(&c.result, out);
                }
                if let Some(x) = else_result {
                    self.refs(x, out);
                }
            }
            _ => {}
        }
    }

    /// Records every column `e` mentions as used, and walks its subqueries.
    fn mention(&mut self, e: &Expr) {
        let mut cols = Vec::new();
        self.refs(e, &mut cols);
        for (a, c) in cols {
            if let Some(used) = &mut self.out[a].used
                && !used.contains(&c)
            {
                used.push(c);
            }
        }
        self.subqueries(e);
    }

    fn subqueries(&mut self, e: &Expr) {
        match e {
            Expr::Subquery(q) | Expr::Exists { subquery: q, .. } => self.query(q),
            Expr::In {
                expr,
                target: InTarget::Subquery(q),
                ..
            } => {
                self.subqueries(expr);
                self.query(q)
            }
            Expr::BinaryOp { left, right, .. }
            | Expr::AnyOp { left, right, .. }
            | Expr::AllOp { left, right, .. } => {
                self.subqueries(left);
                self.subqueries(right);
            }
            Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } | Expr::Cast { expr: x, .. } => {
                self.subqueries(x)
            }
            _ => {}
        }
    }

    /// Reads a `WHERE` / `ON` condition: its conjuncts become predicates.
    fn predicate(&mut self, e: &Expr) {
        self.mention(e);
        match e {
            Expr::Nested(x) => self.predicate(x),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                self.predicate(left);
                self.predicate(right);
            }
            Expr::BinaryOp {
                op: BinaryOperator::Or,
                ..
            } => self.or(e),
            Expr::BinaryOp { left, op, right } => self.comparison(left, op, right),
            Expr::Between { expr, negated, .. } if !negated => {
                if let Some((a, c)) = self.column(expr) {
                    push(&mut self.out[a].range, c);
                } else {
                    self.expression(expr, false);
                }
            }
            Expr::In {
                expr,
                negated: false,
                target: InTarget::List(_),
                ..
            }
            | Expr::IsNull(expr) => {
                if let Some((a, c)) = self.column(expr) {
                    push(&mut self.out[a].equality, c);
                } else {
                    self.expression(expr, true);
                }
            }
            Expr::In {
                expr,
                negated: false,
                target: InTarget::Subquery(_),
                ..
            } => {
                if let Some((a, c)) = self.column(expr) {
                    push(&mut self.out[a].join_keys, c);
                }
            }
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                ..
            } => {
                if let Some((a, c)) = self.column(left) {
                    push(&mut self.out[a].equality, c);
                }
            }
            Expr::Like {
                expr,
                pattern,
                negated: false,
                ..
            }
            | Expr::ILike {
                expr,
                pattern,
                negated: false,
                ..
            } => {
                if let Some((a, c)) = self.column(expr) {
                    let leading_wildcard = match pattern.as_ref() {
                        Expr::Value(v) => match &v.value {
                            Value::SingleQuotedString(s) => s.starts_with('%'),
                            _ => true,
                        },
                        _ => true,
                    };
                    if leading_wildcard {
                        push(&mut self.out[a].substring, c);
                    }
                }
            }
            _ => {}
        }
    }

    fn comparison(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr) {
        let equality = matches!(op, BinaryOperator::Eq);
        let range = matches!(
            op,
            BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq
        );
        match op {
            BinaryOperator::AtArrow => {
                if let Some((a, c)) = self.column(left) {
                    push(&mut self.out[a].contains, c);
                }
                return;
            }
            BinaryOperator::AtAt => {
                for side in [left, right] {
                    if let Some((a, text)) = self.single_table_expr(side)
                        && text.to_ascii_lowercase().starts_with("to_tsvector")
                    {
                        push(&mut self.out[a].tsvector, text);
                    }
                }
                return;
            }
            _ if !(equality || range) => return,
            _ => {}
        }
        let (lc, rc) = (self.column(left), self.column(right));
        match (lc, rc) {
            (Some((a, c)), Some((b, d))) if a != b && equality => {
                push(&mut self.out[a].join_keys, c);
                push(&mut self.out[b].join_keys, d);
            }
            (Some((a, c)), None) => self.column_predicate(a, c, right, equality),
            (None, Some((a, c))) => self.column_predicate(a, c, left, equality),
            (None, None) => {
                let mut r = Vec::new();
                self.refs(right, &mut r);
                if r.is_empty() {
                    self.expression(left, equality);
                } else {
                    let mut l = Vec::new();
                    self.refs(left, &mut l);
                    if l.is_empty() {
                        self.expression(right, equality);
                    }
                }
            }
            _ => {}
        }
    }

    fn column_predicate(&mut self, a: usize, c: String, value: &Expr, equality: bool) {
        let mut other = Vec::new();
        self.refs(value, &mut other);
        // A column of another block (a correlated subquery's outer row) is a join key.
        if other.iter().any(|(b, _)| *b != a) {
            push(&mut self.out[a].join_keys, c);
            return;
        }
        if !other.is_empty() {
            return; // compares two columns of one table: no index key
        }
        if equality {
            if let Expr::Value(v) = value
                && let Value::SingleQuotedString(s) = &v.value
            {
                self.out[a].constants.push((c.clone(), s.clone()));
            }
            push(&mut self.out[a].equality, c);
        } else {
            push(&mut self.out[a].range, c);
        }
    }

    /// A predicate on a (non-column) expression of one table's columns.
    fn expression(&mut self, e: &Expr, equality: bool) {
        if let Some((a, text)) = self.single_table_expr(e) {
            let p = ExprPredicate {
                expr: text,
                equality,
            };
            if !self.out[a].expressions.contains(&p) {
                self.out[a].expressions.push(p);
            }
        }
    }

    /// `e` as index-expression text when it mentions columns of exactly one table:
    /// the statement's own text, table qualifiers removed.
    fn single_table_expr(&self, e: &Expr) -> Option<(usize, String)> {
        let mut cols = Vec::new();
        self.refs(e, &mut cols);
        let a = cols.first()?.0;
        if cols.iter().any(|(b, _)| *b != a) || self.column(e).is_some() {
            return None;
        }
        let mut text = e.to_string();
        for scope in &self.scopes {
            for b in scope.iter().filter(|b| b.access == a) {
                text = unqualify(&text, &b.name);
            }
        }
        Some((a, text))
    }

    /// `a OR b OR …`: the columns each branch filters on.
    fn or(&mut self, e: &Expr) {
        let mut branches = Vec::new();
        flatten_or(e, &mut branches);
        let mut by_access: BTreeMap<usize, Vec<Vec<String>>> = BTreeMap::new();
        for b in branches {
            let mut cols = Vec::new();
            self.refs(b, &mut cols);
            let Some(a) = cols.first().map(|c| c.0) else {
                return;
            };
            if cols.iter().any(|c| c.0 != a) {
                return;
            }
            let mut names: Vec<String> = Vec::new();
            for (_, c) in cols {
                push(&mut names, c);
            }
            by_access.entry(a).or_default().push(names);
        }
        if by_access.len() == 1 {
            let (a, groups) = by_access.into_iter().next().expect("one");
            self.out[a].or_branches = groups;
        }
    }
}

fn flatten_or<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => {
            flatten_or(left, out);
            flatten_or(right, out);
        }
        Expr::Nested(x) => flatten_or(x, out),
        other => out.push(other),
    }
}

/// Removes `alias.` before column names in expression text (not inside quotes).
fn unqualify(text: &str, alias: &str) -> String {
    let needle = format!("{alias}.");
    let mut out = String::with_capacity(text.len());
    let mut in_quote = false;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_quote = !in_quote;
        }
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !in_quote && boundary && text[i..].starts_with(&needle) {
            i += needle.len();
            continue;
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn push(list: &mut Vec<String>, c: String) {
    if !list.contains(&c) {
        list.push(c);
    }
}

/// Accesses of one table from different blocks stay apart (each block is served by
/// its own index), but empty duplicates (a table only mentioned) are dropped.
fn merge(accesses: Vec<Access>) -> Vec<Access> {
    accesses
        .into_iter()
        .filter(|a| {
            !(a.equality.is_empty()
                && a.range.is_empty()
                && a.join_keys.is_empty()
                && a.order.is_empty()
                && a.expressions.is_empty()
                && a.contains.is_empty()
                && a.substring.is_empty()
                && a.tsvector.is_empty()
                && a.or_branches.is_empty())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Columns {
        let mut c = Columns::new();
        c.insert(
            "jobs.ml_jobs".into(),
            ["id", "status", "created_at", "priority"]
                .map(String::from)
                .to_vec(),
        );
        c.insert(
            "tracking.experiments".into(),
            ["id", "name", "owner", "status", "created_at", "parent_id"]
                .map(String::from)
                .to_vec(),
        );
        c.insert(
            "tracking.metrics".into(),
            ["run_id", "name", "step", "value"]
                .map(String::from)
                .to_vec(),
        );
        c.insert(
            "tracking.runs".into(),
            ["id", "experiment_id"].map(String::from).to_vec(),
        );
        c
    }

    #[test]
    fn equality_range_order_and_limit() {
        let a = accesses(
            "SELECT * FROM jobs.ml_jobs WHERE status = 'failed' AND created_at >= '2024-06-01' AND created_at < $1 ORDER BY created_at DESC LIMIT 10",
            &cols(),
        )
        .unwrap();
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(a.equality, vec!["status"]);
        assert_eq!(a.range, vec!["created_at"]);
        assert_eq!(a.constants, vec![("status".into(), "failed".into())]);
        assert_eq!(a.order, vec![("created_at".into(), true)]);
        assert!(a.limit);
        assert_eq!(a.used, None, "SELECT * uses every column");
    }

    #[test]
    fn an_expression_keeps_the_statements_own_text() {
        let a = accesses(
            "SELECT * FROM tracking.experiments e WHERE LOWER(e.name) = $1",
            &cols(),
        )
        .unwrap();
        assert_eq!(
            a[0].expressions,
            vec![ExprPredicate {
                expr: "LOWER(name)".into(),
                equality: true
            }]
        );
    }

    #[test]
    fn joins_correlated_subqueries_like_and_or() {
        let a = accesses(
            "SELECT r.id FROM tracking.runs r WHERE EXISTS (SELECT 1 FROM tracking.metrics m WHERE m.run_id = r.id AND m.name = 'accuracy')",
            &cols(),
        )
        .unwrap();
        let m = a.iter().find(|a| a.table == "tracking.metrics").unwrap();
        assert_eq!(m.join_keys, vec!["run_id"]);
        assert_eq!(m.equality, vec!["name"]);
        let a = accesses(
            "SELECT id, name FROM tracking.experiments WHERE name ILIKE '%bert%'",
            &cols(),
        )
        .unwrap();
        assert_eq!(a[0].substring, vec!["name"]);
        assert_eq!(
            a[0].used.as_deref(),
            Some(&["id".to_string(), "name".to_string()][..])
        );
        let a = accesses(
            "SELECT * FROM tracking.experiments WHERE owner = $1 OR status = 'running'",
            &cols(),
        )
        .unwrap();
        assert_eq!(
            a[0].or_branches,
            vec![vec!["owner".to_string()], vec!["status".to_string()]]
        );
    }

    #[test]
    fn unqualify_leaves_quoted_text_alone() {
        assert_eq!(
            unqualify("lower(e.name) = 'e.x'", "e"),
            "lower(name) = 'e.x'"
        );
    }
}
