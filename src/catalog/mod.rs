//! The comparison catalog: scenario files and what they resolve to.
//!
//! A scenario (TOML, format in [`model`] and the README) names its schema, its data,
//! its index sets and its comparisons. Built-in scenarios live in
//! `fixtures/scenarios/` and are compiled in; they go through exactly the same
//! [`parse`] as a user's `--scenario FILE`. Every mistake is reported as
//! `file:line:column: what is wrong`.

mod layouts;
pub mod model;
pub mod workload;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::error::{Error, Result};
use crate::load::{DataSource, Fixture, FixtureKind, LoadSpec};
use crate::results::ResultOrder;
use crate::schema::{self, SqlFile};
pub use layouts::{Layout, Update};
pub use model::{Mode, ResultExpectation};
pub use workload::Workload;

/// Built-in scenarios: (name, file text).
const BUILTIN: &[(&str, &str)] = &[("seeds", include_str!("../../fixtures/scenarios/seeds.toml"))];

/// Name of the index set that has no secondary index; it always exists.
pub const NO_INDEX: &str = "none";

/// A 1-based position in a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
}

/// An `--only` selection: comma-separated globs over comparison ids, where a bare
/// word (no `*`, `?` or `[`) selects every id containing it.
#[derive(Debug, Clone)]
pub struct Selection {
    patterns: Vec<(String, glob::Pattern)>,
}

impl Selection {
    /// Parses `spec`, naming the part that is not a valid glob.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut patterns = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let glob = glob::Pattern::new(part)
                .map_err(|e| Error::Invalid(format!("--only {part}: not a valid glob: {e}")))?;
            patterns.push((part.to_string(), glob));
        }
        Ok(Selection { patterns })
    }

    /// Whether comparison `id` is selected.
    pub fn selects(&self, id: &str) -> bool {
        self.patterns.iter().any(|(text, glob)| {
            glob.matches(id) || (!text.contains(['*', '?', '[']) && id.contains(text.as_str()))
        })
    }
}

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What it is about.
    pub description: String,
    /// `builtin:NAME` or the file path, as used in error positions.
    pub source: String,
    /// SHA-256 over the scenario text and every file it pulls in.
    pub hash: String,
    /// What the loader must do.
    pub load: LoadSpec,
    /// Index sets by name (including [`NO_INDEX`]).
    pub index_sets: BTreeMap<String, IndexSet>,
    /// Layouts (table designs) by name.
    pub layouts: BTreeMap<String, Layout>,
    /// Comparisons in file order.
    pub comparisons: Vec<Comparison>,
}

/// A named set of DDL applied to a variant's clone.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSet {
    /// Name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Statements, in order.
    pub ddl: Vec<String>,
    /// Table whose insert throughput shows the write cost.
    pub write_table: Option<String>,
    /// SQL returning the rows inserted into `write_table` (default: copies of its rows).
    pub write_rows: Option<String>,
    /// A change to existing rows, measured beside the inserts.
    pub update: Option<Update>,
    /// Where the set is defined (for errors when its DDL fails on a server).
    pub pos: Pos,
}

/// One comparison, resolved.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Seed documents.
    pub sources: Vec<String>,
    /// Reference variant name.
    pub reference: String,
    /// How results are compared.
    pub result_order: ResultOrder,
    /// Expected winner.
    pub expect_winner: Option<String>,
    /// SQL producing the named parameters.
    pub params_sql: Option<(String, Pos)>,
    /// Per-sample timeout override.
    pub timeout: Option<Duration>,
    /// Variants in file order.
    pub variants: Vec<Variant>,
    /// Where the comparison starts in the file.
    pub pos: Pos,
}

/// One variant, resolved.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Index set name (a key of [`Scenario::index_sets`]).
    pub index_set: String,
    /// Layout name (a key of [`Scenario::layouts`]), if the variant runs on one.
    pub layout: Option<String>,
    /// Statements run per execution.
    pub statements: Vec<String>,
    /// Parameter names bound to `$1…`, with their positions.
    pub params: Vec<(String, Pos)>,
    /// Row source for N+1 style repetition.
    pub for_each: Option<String>,
    /// Batched writes: repeat until the last statement affects nothing.
    pub repeat_until_zero: bool,
    /// Read, rollback or fresh clone.
    pub mode: Mode,
    /// SQL giving the result of a writing variant.
    pub verify: Option<String>,
    /// Session settings.
    pub settings: BTreeMap<String, String>,
    /// Plan must contain these.
    pub plan_contains: Vec<String>,
    /// Plan must not contain these.
    pub plan_lacks: Vec<String>,
    /// Result expectation against the reference.
    pub result: ResultExpectation,
    /// Must be faster than these variants.
    pub faster_than: Vec<String>,
    /// Position of the variant's SQL.
    pub pos: Pos,
    /// The concurrent workload it runs instead of single-client samples, if any.
    pub workload: Option<Workload>,
}

impl Scenario {
    /// An error located at `pos` in this scenario's file.
    pub fn error_at(&self, pos: Pos, message: impl Into<String>) -> Error {
        Error::Scenario {
            path: self.source.clone(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    /// Comparisons whose id matches `only`: comma-separated globs, where a bare word
    /// (no `*?[`) selects every id containing it, like criterion's filters. All when
    /// `None`. A selection that matches nothing is an error.
    pub fn select(&self, only: Option<&str>) -> Result<Vec<&Comparison>> {
        let Some(spec) = only else {
            return Ok(self.comparisons.iter().collect());
        };
        let selection = Selection::parse(spec)?;
        let picked: Vec<&Comparison> = self
            .comparisons
            .iter()
            .filter(|c| selection.selects(&c.id))
            .collect();
        if picked.is_empty() {
            return Err(Error::Invalid(format!(
                "--only {spec} matches no comparison of scenario {}; `querylab list` shows the ids",
                self.name
            )));
        }
        Ok(picked)
    }
}

/// Names of the built-in scenarios.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// A built-in scenario by name.
pub fn builtin(name: &str) -> Result<Scenario> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        Error::Invalid(format!(
            "no built-in scenario {name}; built-in: {}",
            builtin_names().join(", ")
        ))
    })?;
    parse(text, &format!("builtin:{name}"), None)
}

/// Reads and parses a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, &path.display().to_string(), path.parent())
}

/// The scenario named by `--scenario`: a file path, or `builtin:NAME`, or `None` for
/// the default built-in `seeds`.
pub fn from_arg(arg: Option<&str>) -> Result<Scenario> {
    match arg {
        None => builtin("seeds"),
        Some(a) => match a.strip_prefix("builtin:") {
            Some(name) => builtin(name),
            None => load_file(Path::new(a)),
        },
    }
}

/// Parses scenario text. `source` names it in errors; `base` is the directory
/// relative file references are resolved against (`None` for built-ins).
pub fn parse(text: &str, source: &str, base: Option<&Path>) -> Result<Scenario> {
    let file: model::ScenarioFile = toml::from_str(text).map_err(|e| {
        let pos = e
            .span()
            .map(|s| position(text, s.start))
            .unwrap_or(Pos { line: 1, column: 1 });
        Error::Scenario {
            path: source.to_string(),
            line: pos.line,
            column: pos.column,
            message: e.message().trim().to_string(),
        }
    })?;
    Resolver {
        text,
        source,
        base,
        hasher: Sha256::new(),
    }
    .resolve(file)
}

/// 1-based line and column of byte `offset` in `text`.
pub fn position(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    Pos { line, column }
}

struct Resolver<'a> {
    text: &'a str,
    source: &'a str,
    base: Option<&'a Path>,
    hasher: Sha256,
}

impl Resolver<'_> {
    fn pos<T>(&self, s: &Spanned<T>) -> Pos {
        position(self.text, s.span().start)
    }

    fn err<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> Error {
        let pos = self.pos(at);
        Error::Scenario {
            path: self.source.to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    /// Reads a file referenced at `at`, relative to the scenario's directory.
    fn read_rel(&mut self, at: &Spanned<String>) -> Result<(PathBuf, String)> {
        let Some(base) = self.base else {
            return Err(self.err(
                at,
                "a built-in scenario cannot reference files; use builtin schema and index sets",
            ));
        };
        let path = base.join(at.get_ref());
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.err(
                at,
                format!(
                    "cannot read {}: {e}; paths are relative to the scenario file",
                    path.display()
                ),
            )
        })?;
        self.hasher.update(text.as_bytes());
        Ok((path, text))
    }

    fn resolve(mut self, file: model::ScenarioFile) -> Result<Scenario> {
        self.hasher.update(self.text.as_bytes());
        let schema_files = self.schema(&file.schema)?;
        let data = self.data(&file.data, file.schema.builtin)?;
        let index_sets = self.index_sets(&file.index_sets)?;
        let layouts = self.layouts(&file.layouts)?;
        let mut template_sets = Vec::new();
        for name in &file.template_index_sets {
            let set = index_sets
                .get(name.get_ref())
                .ok_or_else(|| self.unknown_set(name, &index_sets))?;
            template_sets.push(SqlFile {
                name: set.name.clone(),
                sql: set.ddl.join(";\n"),
            });
        }
        let mut comparisons = Vec::new();
        let mut ids = BTreeSet::new();
        for c in file.comparisons {
            if !ids.insert(c.id.get_ref().clone()) {
                return Err(self.err(&c.id, format!("duplicate comparison id {}", c.id.get_ref())));
            }
            comparisons.push(self.comparison(c, &index_sets, &layouts)?);
        }
        Ok(Scenario {
            name: file.name,
            description: file.description,
            source: self.source.to_string(),
            hash: hex::encode(self.hasher.finalize()),
            load: LoadSpec {
                schema: schema_files,
                data,
                index_sets: template_sets,
            },
            index_sets,
            layouts,
            comparisons,
        })
    }

    fn schema(&mut self, def: &model::SchemaDef) -> Result<Vec<SqlFile>> {
        if def.builtin && !def.files.is_empty() {
            return Err(self.err(
                &def.files[0],
                "[schema] has both builtin = true and files; choose one",
            ));
        }
        if def.builtin {
            let files = schema::builtin_schema();
            for f in &files {
                self.hasher.update(f.sql.as_bytes());
            }
            return Ok(files);
        }
        if def.files.is_empty() {
            return Err(Error::Scenario {
                path: self.source.to_string(),
                line: 1,
                column: 1,
                message: "[schema] names no schema: set builtin = true or files = [\"schema.sql\"]"
                    .into(),
            });
        }
        let mut out = Vec::new();
        for f in &def.files {
            let (path, sql) = self.read_rel(f)?;
            out.push(SqlFile {
                name: path.display().to_string(),
                sql,
            });
        }
        Ok(out)
    }

    fn data(&mut self, def: &model::DataDef, builtin_schema: bool) -> Result<DataSource> {
        match (&def.generator, def.fixtures.is_empty()) {
            (Some(g), true) => {
                if g.get_ref() != "builtin" {
                    return Err(self.err(
                        g,
                        format!(
                            "unknown generator {:?}; the only generator is \"builtin\"",
                            g.get_ref()
                        ),
                    ));
                }
                if !builtin_schema {
                    return Err(self.err(
                        g,
                        "the builtin generator fills the builtin schema: set [schema] builtin = true, or use fixtures",
                    ));
                }
                Ok(DataSource::Builtin)
            }
            (None, true) if builtin_schema => Ok(DataSource::Builtin),
            (None, true) => Ok(DataSource::Fixtures(Vec::new())),
            (Some(g), false) => {
                Err(self.err(g, "[data] has both generator and fixtures; choose one"))
            }
            (None, false) => {
                let mut out = Vec::new();
                for f in &def.fixtures {
                    let d = f.get_ref();
                    let (rel, kind) = match (&d.sql, &d.csv) {
                        (Some(s), None) => (s.clone(), FixtureKind::Sql),
                        (None, Some(c)) => {
                            if d.table.is_none() {
                                return Err(
                                    self.err(f, "a csv fixture needs table = \"schema.table\"")
                                );
                            }
                            (c.clone(), FixtureKind::Csv)
                        }
                        _ => {
                            return Err(self.err(
                                f,
                                "a fixture is { sql = \"file.sql\" } or { csv = \"file.csv\", table = \"s.t\" }",
                            ));
                        }
                    };
                    let (path, _) = self.read_rel(&Spanned::new(f.span(), rel))?;
                    out.push(Fixture {
                        table: d.table.clone(),
                        path,
                        kind,
                    });
                }
                Ok(DataSource::Fixtures(out))
            }
        }
    }

    fn index_sets(
        &mut self,
        defs: &BTreeMap<String, Spanned<model::IndexSetDef>>,
    ) -> Result<BTreeMap<String, IndexSet>> {
        let mut out = BTreeMap::new();
        out.insert(
            NO_INDEX.to_string(),
            IndexSet {
                name: NO_INDEX.into(),
                description: "no secondary index (keys and uniques only)".into(),
                ddl: Vec::new(),
                write_table: None,
                write_rows: None,
                update: None,
                pos: Pos::default(),
            },
        );
        for (name, def) in defs {
            if name == NO_INDEX {
                return Err(self.err(
                    def,
                    "index set `none` is built in and means no secondary index; pick another name",
                ));
            }
            let d = def.get_ref();
            let mut ddl: Vec<String> = d.sql.iter().map(|s| s.trim().to_string()).collect();
            if let Some(file) = &d.file {
                let text = match file.strip_prefix("builtin:") {
                    Some(b) => {
                        let f = schema::builtin_index_set(b).ok_or_else(|| {
                            self.err(def, format!("no built-in index set file {b}"))
                        })?;
                        self.hasher.update(f.sql.as_bytes());
                        f.sql
                    }
                    None => self.read_rel(&Spanned::new(def.span(), file.clone()))?.1,
                };
                ddl.extend(schema::statements(&text).into_iter().map(|st| st.text));
            }
            if ddl.is_empty() {
                return Err(self.err(def, format!("index set {name} has no sql and no file")));
            }
            out.insert(
                name.clone(),
                IndexSet {
                    name: name.clone(),
                    description: d.description.clone(),
                    ddl,
                    write_table: d.write_table.clone(),
                    write_rows: d.write_rows.clone(),
                    update: self.update(&format!("index set {name}"), d.update.as_ref())?,
                    pos: self.pos(def),
                },
            );
        }
        Ok(out)
    }

    fn unknown_set(&self, name: &Spanned<String>, sets: &BTreeMap<String, IndexSet>) -> Error {
        self.err(
            name,
            format!(
                "unknown index set {:?}; defined: {}",
                name.get_ref(),
                sets.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    }

    fn comparison(
        &self,
        c: model::ComparisonDef,
        sets: &BTreeMap<String, IndexSet>,
        layouts: &BTreeMap<String, Layout>,
    ) -> Result<Comparison> {
        if c.variants.is_empty() {
            return Err(self.err(
                &c.id,
                "a comparison needs at least one [[comparison.variant]]",
            ));
        }
        let names: Vec<String> = c
            .variants
            .iter()
            .map(|v| v.name.get_ref().clone())
            .collect();
        let known = |n: &Spanned<String>, what: &str| -> Result<String> {
            if names.contains(n.get_ref()) {
                Ok(n.get_ref().clone())
            } else {
                Err(self.err(
                    n,
                    format!(
                        "{what} names variant {:?}, which comparison {} does not have; variants: {}",
                        n.get_ref(),
                        c.id.get_ref(),
                        names.join(", ")
                    ),
                ))
            }
        };
        let reference = known(&c.reference, "reference")?;
        let expect_winner = c
            .expect_winner
            .as_ref()
            .map(|w| known(w, "expect_winner"))
            .transpose()?;
        let mut variants = Vec::new();
        let mut seen = BTreeSet::new();
        for v in c.variants.iter() {
            if !seen.insert(v.name.get_ref().clone()) {
                return Err(self.err(
                    &v.name,
                    format!("duplicate variant name {}", v.name.get_ref()),
                ));
            }
            let own = match (&v.sql, &v.statements) {
                (Some(s), None) => Some((vec![s.get_ref().trim().to_string()], self.pos(s))),
                (None, Some(list)) if !list.get_ref().is_empty() => Some((
                    list.get_ref()
                        .iter()
                        .map(|s| s.trim().to_string())
                        .collect(),
                    self.pos(list),
                )),
                _ => None,
            };
            let names: Vec<String> = v.params.iter().map(|p| p.get_ref().clone()).collect();
            let workload = workload::resolve(
                c.workload.as_ref(),
                workload::VariantSide {
                    workload: v.workload.as_ref(),
                    mix: &v.mix,
                    statements: own.as_ref().map(|(s, _)| s.as_slice()),
                    params: &names,
                    span: v.name.span(),
                },
                &|span| position(self.text, span.start),
                &|span, message| self.err(&Spanned::new(span, ()), message),
            )?;
            let (statements, pos) = match (own, &workload) {
                (Some(own), _) => own,
                (None, Some(w)) if v.sql.is_none() && v.statements.is_none() => (
                    w.mix.iter().flat_map(|t| t.statements.clone()).collect(),
                    self.pos(&v.mix[0]),
                ),
                _ => {
                    return Err(self.err(
                        &v.name,
                        format!(
                            "variant {} needs exactly one of sql = \"…\" or statements = [\"…\"]",
                            v.name.get_ref()
                        ),
                    ));
                }
            };
            let index_set = match &v.index_set {
                Some(s) if sets.contains_key(s.get_ref()) => s.get_ref().clone(),
                Some(s) => return Err(self.unknown_set(s, sets)),
                None => NO_INDEX.to_string(),
            };
            let layout = v
                .layout
                .as_ref()
                .map(|l| self.known_layout(l, layouts))
                .transpose()?;
            if !v.params.is_empty() && c.params.is_none() && workload.is_none() {
                return Err(self.err(
                    &v.params[0],
                    "variant binds params but the comparison has no params = \"SELECT … AS name\"",
                ));
            }
            if v.for_each.is_some() && !v.params.is_empty() {
                return Err(self.err(
                    &v.params[0],
                    "for_each binds $1… from its own rows; drop params",
                ));
            }
            let mut faster_than = Vec::new();
            for f in &v.expect.faster_than {
                faster_than.push(known(f, "faster_than")?);
            }
            variants.push(Variant {
                name: v.name.get_ref().clone(),
                description: v.description.clone(),
                index_set,
                layout,
                statements,
                params: v
                    .params
                    .iter()
                    .map(|p| (p.get_ref().clone(), self.pos(p)))
                    .collect(),
                for_each: v.for_each.as_ref().map(|f| f.get_ref().clone()),
                repeat_until_zero: v.repeat_until_zero,
                mode: v.mode,
                verify: v.verify.as_ref().map(|s| s.get_ref().clone()),
                settings: v.settings.clone(),
                plan_contains: v.expect.plan_contains.clone(),
                plan_lacks: v.expect.plan_lacks.clone(),
                result: v.expect.result,
                faster_than,
                pos,
                workload,
            });
        }
        Ok(Comparison {
            id: c.id.get_ref().clone(),
            pos: self.pos(&c.id),
            title: c.title,
            description: c.description,
            sources: c.sources,
            reference,
            result_order: c.result,
            expect_winner,
            params_sql: c
                .params
                .as_ref()
                .map(|p| (p.get_ref().clone(), self.pos(p))),
            timeout: c.timeout_ms.map(Duration::from_millis),
            variants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let t = "ab\ncd\n";
        assert_eq!(position(t, 0), Pos { line: 1, column: 1 });
        assert_eq!(position(t, 4), Pos { line: 2, column: 2 });
    }

    #[test]
    fn builtin_seeds_parses_with_every_documented_comparison() {
        let s = builtin("seeds").expect("built-in seeds.toml parses");
        assert!(
            s.comparisons.len() >= 17,
            "{} comparisons",
            s.comparisons.len()
        );
        // Every parameter a variant binds is a column the comparison's params query names.
        for c in &s.comparisons {
            for v in &c.variants {
                for (p, _) in &v.params {
                    let sql = &c.params_sql.as_ref().expect("params query").0;
                    assert!(
                        sql.contains(&format!("AS {p}")),
                        "{}/{}: param {p} not produced by {sql}",
                        c.id,
                        v.name
                    );
                }
            }
        }
    }
}
