//! The loaded database as a reusable template.
//!
//! Its name carries a hash of everything that decides its content (schema text,
//! data source, index sets, rows, seed, generator version), so a template is only
//! ever reused for the same inputs. It is marked complete by a comment written as
//! the very last step: a database without the mark is a load that was interrupted
//! and is dropped rather than reused. Loaders of the same template serialise on an
//! advisory lock, so two runs never build (or drop) it under each other.

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::{DataSource, FixtureKind, LoadOptions, LoadSpec};
use crate::error::{Error, Result};
use crate::generate::GENERATOR_VERSION;
use crate::provision::quote_ident;

/// Prefix of every template database.
pub const PREFIX: &str = "querylab_tpl_";

/// Hex digits of the hash kept in the name.
const HASH_LEN: usize = 16;

/// The hash of a load's inputs (reads fixture files, whose content counts).
pub fn hash(spec: &LoadSpec, opts: &LoadOptions) -> Result<String> {
    let mut h = Sha256::new();
    let mut part = |label: &str, bytes: &[u8]| {
        h.update(label.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    part("querylab-template", b"1");
    for file in &spec.schema {
        part("schema", file.sql.as_bytes());
    }
    match &spec.data {
        DataSource::Builtin => {
            part("generator", &GENERATOR_VERSION.to_le_bytes());
            part("rows", &opts.rows.to_le_bytes());
            part("seed", &opts.seed.to_le_bytes());
        }
        DataSource::Fixtures(fixtures) => {
            for f in fixtures {
                let text = std::fs::read(&f.path).map_err(|e| Error::io(&f.path, e))?;
                let kind = match f.kind {
                    FixtureKind::Sql => "sql",
                    FixtureKind::Csv => "csv",
                };
                part("fixture", kind.as_bytes());
                part("table", f.table.as_deref().unwrap_or("").as_bytes());
                part("content", &text);
            }
        }
    }
    for file in &spec.index_sets {
        part("index_set", file.sql.as_bytes());
    }
    let digest = h.finalize();
    Ok(hex::encode(digest)[..HASH_LEN].to_string())
}

/// The template database name for `hash`.
pub fn name(hash: &str) -> String {
    format!("{PREFIX}{hash}")
}

/// The comment that marks a finished template.
pub fn complete_mark(hash: &str) -> String {
    format!("querylab:complete:{hash}")
}

/// What the server holds under a template's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No such database.
    Missing,
    /// A database without the completion mark: an interrupted load.
    Incomplete,
    /// A finished template.
    Complete,
}

/// Looks the template up.
pub async fn state(admin: &Client, hash: &str) -> Result<State> {
    let row = admin
        .query_opt(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            &[&name(hash)],
        )
        .await
        .map_err(|e| Error::db("looking for a template database", e))?;
    Ok(match row {
        None => State::Missing,
        Some(row) => match row.get::<_, Option<String>>(0) {
            Some(c) if c == complete_mark(hash) => State::Complete,
            _ => State::Incomplete,
        },
    })
}

/// Marks the template finished: the last thing a load does.
pub async fn mark_complete(admin: &Client, hash: &str) -> Result<()> {
    // Both parts are hex and a fixed prefix: nothing to escape.
    admin
        .batch_execute(&format!(
            "COMMENT ON DATABASE {} IS '{}'",
            quote_ident(&name(hash)),
            complete_mark(hash)
        ))
        .await
        .map_err(|e| Error::db(format!("marking template {} complete", name(hash)), e))
}

/// Advisory lock key of a template (the hash's first 63 bits).
fn lock_key(hash: &str) -> i64 {
    (u64::from_str_radix(&hash[..16.min(hash.len())], 16).unwrap_or(0) >> 1) as i64
}

/// Takes the template's advisory lock on `admin`'s session; it is released when
/// that connection closes, so a crashed loader never leaves it held.
pub async fn lock(admin: &Client, hash: &str) -> Result<()> {
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&lock_key(hash)])
        .await
        .map(|_| ())
        .map_err(|e| Error::db("waiting for another load of the same template", e))
}
