//! The seed schemas (`schema/*.sql`) and the named index sets
//! (`schema/index_sets/*.sql`).
//!
//! Every seed document gets its own PostgreSQL schema because their table names
//! collide: `tracking` (seed 000), `registry` (001), `jobs` (002), `platform` (003).
//! The schema files hold tables with their keys, uniques, foreign keys and CHECKs;
//! secondary indexes live apart in index sets, applied after loading, because
//! comparing index sets is what querylab is for.
//!
//! The files are compiled into the binary (the built-in scenario works from any
//! directory) and can equally be read from disk with [`read_dir`] / [`SqlFile::read`].

mod split;

use std::path::Path;

use tokio_postgres::Client;

pub use split::{Statement, line_column, statements};

use crate::error::{Error, Result};

/// An SQL script and the name errors call it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFile {
    /// Where it came from: a path (`schema/000_tracking.sql` for the built-in ones).
    pub name: String,
    /// The script.
    pub sql: String,
}

impl SqlFile {
    /// Reads a script from disk; its name is the path as given.
    pub fn read(path: &Path) -> Result<SqlFile> {
        let sql = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Ok(SqlFile {
            name: path.display().to_string(),
            sql,
        })
    }

    /// The file name without directory and `.sql`: an index set's name.
    pub fn stem(&self) -> &str {
        let base = self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name);
        base.strip_suffix(".sql").unwrap_or(base)
    }

    /// The script's statements, in order.
    pub fn statements(&self) -> Vec<Statement> {
        statements(&self.sql)
    }
}

macro_rules! embedded {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path)))),*]
    };
}

/// The built-in schema files, in the order they are applied.
const SCHEMA_FILES: &[(&str, &str)] = embedded!(
    "schema/000_extensions.sql",
    "schema/000_tracking.sql",
    "schema/001_registry.sql",
    "schema/002_jobs.sql",
    "schema/003_platform.sql",
);

/// The built-in index sets.
const INDEX_SET_FILES: &[(&str, &str)] = embedded!(
    "schema/index_sets/seed_000_documented.sql",
    "schema/index_sets/seed_001_documented.sql",
    "schema/index_sets/seed_002_documented.sql",
    "schema/index_sets/seed_003_documented.sql",
);

fn owned(files: &[(&str, &str)]) -> Vec<SqlFile> {
    files
        .iter()
        .map(|(name, sql)| SqlFile {
            name: name.to_string(),
            sql: sql.to_string(),
        })
        .collect()
}

/// Every seed table in its schema, in application order (extensions first).
pub fn builtin_schema() -> Vec<SqlFile> {
    owned(SCHEMA_FILES)
}

/// All built-in index sets, sorted by name.
pub fn builtin_index_sets() -> Vec<SqlFile> {
    owned(INDEX_SET_FILES)
}

/// Names of the built-in index sets (e.g. `seed_002_documented`).
pub fn builtin_index_set_names() -> Vec<String> {
    builtin_index_sets()
        .iter()
        .map(|f| f.stem().to_string())
        .collect()
}

/// The built-in index set called `name`, if there is one.
pub fn builtin_index_set(name: &str) -> Option<SqlFile> {
    builtin_index_sets().into_iter().find(|f| f.stem() == name)
}

/// Reads every `*.sql` file directly in `dir`, sorted by file name (the order they
/// are meant to be applied in).
pub fn read_dir(dir: &Path) -> Result<Vec<SqlFile>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_file() && path.extension().is_some_and(|x| x == "sql") {
            paths.push(path);
        }
    }
    paths.sort();
    paths.iter().map(|p| SqlFile::read(p)).collect()
}

/// Runs every statement of `files`, in order, outside any explicit transaction (so
/// `CREATE INDEX CONCURRENTLY` and `VACUUM` work in index sets). The first failure
/// stops it with an error naming the file, the line and column, and the statement.
pub async fn apply(client: &Client, files: &[SqlFile]) -> Result<()> {
    for file in files {
        for statement in file.statements() {
            execute(client, file, &statement).await?;
        }
    }
    Ok(())
}

/// Runs one statement of `file`, mapping a server error to its place in the file.
pub async fn execute(client: &Client, file: &SqlFile, statement: &Statement) -> Result<()> {
    client
        .batch_execute(&statement.text)
        .await
        .map_err(|e| statement_error(file, statement, e))
}

/// A server error for `statement` of `file`, pointing at the file position the
/// server gave (or the statement's start) and quoting the statement's first line.
/// Errors that are not the statement's fault (a lost connection) stay [`Error::Db`].
pub fn statement_error(file: &SqlFile, statement: &Statement, e: tokio_postgres::Error) -> Error {
    let Some(db) = e.as_db_error() else {
        return Error::db(format!("{}:{}", file.name, statement.line), e);
    };
    let position = match db.position() {
        Some(tokio_postgres::error::ErrorPosition::Original(p)) => {
            // The server counts characters from 1 within the statement.
            let chars = (*p as usize).saturating_sub(1);
            let within = statement
                .text
                .char_indices()
                .nth(chars)
                .map_or(statement.text.len(), |(b, _)| b);
            statement.offset + within
        }
        _ => statement.offset,
    };
    let (line, column) = line_column(&file.sql, position);
    let first_line = statement.text.lines().next().unwrap_or_default();
    let mut message = format!("{}: {}", db.severity(), db.message());
    if let Some(d) = db.detail() {
        message.push_str(&format!(" (detail: {d})"));
    }
    if let Some(h) = db.hint() {
        message.push_str(&format!(" (hint: {h})"));
    }
    message.push_str(&format!(", in statement `{first_line}`"));
    Error::Scenario {
        path: file.name.clone(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_match_the_files_on_disk() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let disk: Vec<String> = read_dir(&root.join("schema"))
            .unwrap()
            .into_iter()
            .map(|f| f.sql)
            .collect();
        let builtin: Vec<String> = builtin_schema().into_iter().map(|f| f.sql).collect();
        assert_eq!(
            disk, builtin,
            "SCHEMA_FILES must list every schema/*.sql in order"
        );
        let disk_sets: Vec<String> = read_dir(&root.join("schema/index_sets"))
            .unwrap()
            .into_iter()
            .map(|f| f.stem().to_string())
            .collect();
        assert_eq!(disk_sets, builtin_index_set_names());
    }

    #[test]
    fn index_sets_are_found_by_name() {
        let set = builtin_index_set("seed_002_documented").unwrap();
        assert!(set.sql.contains("idx_pending_jobs"));
        assert!(builtin_index_set("nope").is_none());
    }
}
