//! Refusing, up front, a load that cannot fit on the disk.
//!
//! A full disk halfway through a 10-million-row load (or through the clones of the
//! measurement after it) wastes the time spent and leaves the machine short of
//! space for everyone else. So before building a template, [`ensure`] compares an
//! estimate of what the load and the run's clones take with the space free where
//! the server keeps its data, and refuses with both figures and what to do.
//!
//! Where the data lives is known only for the `local` backend: the cluster's
//! directory on this machine. A `docker` server writes into the engine's storage
//! and a `url` server into a disk querylab cannot see (often on another machine),
//! so for them nothing is checked up front; a full disk there surfaces as the
//! server's own error ("could not extend file … No space left on device"), and the
//! half-made template is dropped like any failed load.
//!
//! The free space is read with `statvfs` through `nix` (safe bindings: the crate
//! forbids `unsafe`), counting only the blocks an unprivileged user may take.

use std::path::Path;

use super::{DataSource, LoadSpec};
use crate::error::{Error, Result};

/// On-disk bytes per `--rows` unit of the built-in data, keys and indexes
/// included: measured 578 at 20,000 rows and 528 at 200,000 (sum of
/// `pg_total_relation_size` over the tables), rounded up for index sets.
pub const BYTES_PER_ROW: u64 = 600;

/// What an empty database takes (its copy of the system catalogs).
pub const DATABASE_BYTES: u64 = 8 << 20;

/// Heap, TOAST and indexes per byte of a fixture file (CSV or SQL text).
pub const FIXTURE_FACTOR: u64 = 3;

/// WAL a load writes before checkpoints recycle it: at most `max_wal_size`
/// (4 GB on the servers querylab starts).
pub const MAX_WAL_BYTES: u64 = 4 << 30;

/// Estimated size of the loaded template.
pub fn template_bytes(spec: &LoadSpec, rows: u64) -> u64 {
    let data = match &spec.data {
        DataSource::Builtin => rows.saturating_mul(BYTES_PER_ROW),
        DataSource::Fixtures(fixtures) => fixtures
            .iter()
            .map(|f| std::fs::metadata(&f.path).map_or(0, |m| m.len()))
            .fold(0u64, |a, b| {
                a.saturating_add(b.saturating_mul(FIXTURE_FACTOR))
            }),
    };
    data.saturating_add(DATABASE_BYTES)
}

/// What a load needs on the server's disk: the template (unless it is already
/// there), the WAL its writes produce, and `clones` copies of the template that the
/// caller will make at once (every variant of a comparison gets one: `CREATE
/// DATABASE … TEMPLATE` copies every file).
pub fn needed(template: u64, build: bool, clones: u32) -> u64 {
    let build = if build {
        template.saturating_add(template.min(MAX_WAL_BYTES))
    } else {
        0
    };
    build.saturating_add(template.saturating_mul(u64::from(clones)))
}

/// Bytes an unprivileged user may still write on the filesystem holding `path`.
pub fn available(path: &Path) -> Result<u64> {
    let s = nix::sys::statvfs::statvfs(path).map_err(|e| Error::io(path, e.into()))?;
    Ok((s.blocks_available() as u64).saturating_mul(s.fragment_size() as u64))
}

/// Refuses (with the estimate, the space free and what to do) when `needed` bytes
/// do not fit in what is free at `path`.
pub fn ensure(path: &Path, needed: u64, what: &str) -> Result<()> {
    let free = available(path)?;
    if needed <= free {
        return Ok(());
    }
    Err(Error::DiskSpace {
        path: path.to_path_buf(),
        needed,
        available: free,
        what: what.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_grow_with_rows_and_clones_and_never_overflow() {
        let spec = LoadSpec::builtin(Vec::new());
        let small = template_bytes(&spec, 1_000);
        let big = template_bytes(&spec, 1_000_000);
        assert!(big > small && big >= 500_000_000, "{big}");
        assert!(needed(big, true, 3) > needed(big, true, 0));
        assert_eq!(needed(big, false, 0), 0);
        assert_eq!(template_bytes(&spec, u64::MAX), u64::MAX);
        assert_eq!(needed(u64::MAX, true, 9), u64::MAX);
    }

    #[test]
    fn free_space_is_read() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available(dir.path()).unwrap() > 0);
        assert!(ensure(dir.path(), u64::MAX, "x").is_err());
        assert!(ensure(dir.path(), 1, "x").is_ok());
    }
}
