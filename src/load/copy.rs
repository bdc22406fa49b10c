//! Streaming COPY: generated tables in binary format, CSV fixtures as they are.
//!
//! A generated table is produced piece by piece (about 64 KiB each) on a blocking
//! thread and handed to the COPY through a small bounded channel, so at most a few
//! pieces per table are in memory whatever the size, and generation runs on one core
//! while the server parses on another.

use std::path::Path;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use indicatif::ProgressBar;
use tokio::io::AsyncReadExt;
use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::generate::binary::{HEADER, TRAILER};
use crate::generate::{ChunkCursor, TableGen, chunk_count};
use crate::shutdown::Shutdown;

/// Pieces in flight per table between the generator and the COPY.
const CHANNEL_DEPTH: usize = 4;

/// About how much of a table the generator writes into one buffer, which goes out
/// as one CopyData message. A chunk (8,192 rows, about 1.3 MB for `jobs.ml_jobs`) is
/// written in pieces of this size ([`ChunkCursor`]): the server reads a whole message
/// into one buffer before parsing it, and a buffer this size stays in the CPU
/// caches on both sides, where 1.3 MB buffers went through memory that the
/// server's own writes compete for.
const PIECE_BYTES: usize = 64 * 1024;

/// Largest CopyData message sent: a piece that overshoots is split (slices of one
/// buffer, no copy).
const MESSAGE_BYTES: usize = 64 * 1024;

/// `schema.table` → `"schema"."table"`.
pub fn quote_qualified(name: &str) -> String {
    name.split('.')
        .map(crate::provision::quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

/// The COPY statement for a generated table. `freeze` writes the rows frozen, which
/// needs the table truncated (or created) in the same transaction.
pub fn copy_statement(table: &dyn TableGen, freeze: bool) -> String {
    let columns: Vec<String> = table
        .columns()
        .iter()
        .map(|c| crate::provision::quote_ident(c))
        .collect();
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary{})",
        quote_qualified(table.name()),
        columns.join(", "),
        if freeze { ", FREEZE" } else { "" }
    )
}

/// Copies every row of `table` (generated from `seed`) into the database `client`
/// is connected to, as one transaction that truncates the table first so that the
/// rows are written frozen (no later rewrite by VACUUM FREEZE, no WAL with
/// `wal_level = minimal`). Returns the number of rows the server reports.
/// `bar` counts rows; `shutdown` is checked between chunks.
pub async fn copy_generated(
    client: &Client,
    table: Arc<dyn TableGen>,
    seed: u64,
    shutdown: &Shutdown,
    bar: &ProgressBar,
) -> Result<u64> {
    let name = table.name();
    let ctx = |what: &str| format!("{what} {name}");
    client
        .batch_execute(&format!("BEGIN; TRUNCATE {}", quote_qualified(name)))
        .await
        .map_err(|e| Error::db(ctx("truncating"), e))?;
    let sink = client
        .copy_in::<_, Bytes>(&copy_statement(table.as_ref(), true))
        .await
        .map_err(|e| Error::db(ctx("starting COPY into"), e))?;
    let mut sink = std::pin::pin!(sink);

    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Bytes, u64)>(CHANNEL_DEPTH);
    let stop = shutdown.clone();
    let generator = tokio::task::spawn_blocking(move || {
        let chunks = chunk_count(table.row_count());
        // Rows per piece, adjusted to the table's row size after each piece.
        let mut rows = 64;
        let mut header = true;
        for chunk in 0..chunks.max(1) {
            if stop.is_triggered() {
                return;
            }
            let mut cursor = ChunkCursor::new(table.as_ref(), seed, chunk);
            loop {
                let mut buf = BytesMut::with_capacity(PIECE_BYTES + PIECE_BYTES / 4);
                if header {
                    buf.put_slice(HEADER);
                }
                let n = cursor.write(table.as_ref(), rows, &mut buf);
                if n == 0 {
                    break; // a header not sent yet goes with the next piece
                }
                header = false;
                let per_row = (buf.len() as u64 / n).max(1);
                rows = (PIECE_BYTES as u64 / per_row).max(1);
                if tx.blocking_send((buf.freeze(), n)).is_err() {
                    return; // the COPY side stopped
                }
            }
        }
        let mut end = BytesMut::new();
        if header {
            end.put_slice(HEADER); // no rows at all
        }
        end.put_slice(TRAILER);
        let _ = tx.blocking_send((end.freeze(), 0));
    });

    let mut sent = 0u64;
    loop {
        let next = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Err(Error::Interrupted),
            next = rx.recv() => next,
        };
        let Some((mut bytes, rows)) = next else { break };
        while !bytes.is_empty() {
            let message = bytes.split_to(bytes.len().min(MESSAGE_BYTES));
            sink.feed(message)
                .await
                .map_err(|e| Error::db(ctx("copying into"), e))?;
        }
        sink.flush()
            .await
            .map_err(|e| Error::db(ctx("copying into"), e))?;
        sent += rows;
        bar.inc(rows);
    }
    // A generator that stopped early (shutdown) closes the channel like a finished
    // one: check before committing a partial table.
    shutdown.check()?;
    generator.await.map_err(|e| Error::Internal {
        context: format!("generating {name}"),
        message: e.to_string(),
    })?;
    let copied = sink
        .as_mut()
        .finish()
        .await
        .map_err(|e| Error::db(ctx("finishing COPY into"), e))?;
    client
        .batch_execute("COMMIT")
        .await
        .map_err(|e| Error::db(ctx("committing"), e))?;
    debug_assert_eq!(copied, sent);
    Ok(copied)
}

/// Copies a CSV file into `table` (`schema.table` or `table`). Its first line names
/// the columns the values go to (in the file's order); other columns get their
/// defaults.
pub async fn copy_csv(
    client: &Client,
    table: &str,
    path: &Path,
    shutdown: &Shutdown,
) -> Result<u64> {
    let columns = csv_header(path)?;
    let columns: Vec<String> = columns
        .iter()
        .map(|c| crate::provision::quote_ident(c))
        .collect();
    let sql = format!(
        "COPY {} ({}) FROM STDIN (FORMAT csv, HEADER)",
        quote_qualified(table),
        columns.join(", ")
    );
    let failed = |e| Error::db(format!("{}: copying into {table}", path.display()), e);
    let sink = client.copy_in::<_, Bytes>(&sql).await.map_err(failed)?;
    let mut sink = std::pin::pin!(sink);
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io(path, e))?;
    loop {
        shutdown.check()?;
        let mut buf = BytesMut::with_capacity(1 << 16);
        let n = file
            .read_buf(&mut buf)
            .await
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        sink.send(buf.freeze()).await.map_err(failed)?;
    }
    sink.as_mut().finish().await.map_err(failed)
}

/// The column names on the first line of a CSV file (double quotes allowed).
fn csv_header(path: &Path) -> Result<Vec<String>> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut line = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| Error::io(path, e))?;
    let line = line
        .trim_start_matches('\u{feff}')
        .trim_end_matches(['\r', '\n']);
    let mut columns = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => columns.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    columns.push(current);
    if columns.iter().any(|c| c.trim().is_empty()) {
        return Err(Error::Invalid(format!(
            "{}: the first line must name the columns, e.g. `id,name,created_at`",
            path.display()
        )));
    }
    Ok(columns.into_iter().map(|c| c.trim().to_string()).collect())
}
