//! The library's one error type.
//!
//! Every variant names what was involved (backend, file and line, query, variant,
//! path) so that the binary can print a single line a user can act on. The binary
//! prints `Error: {error}`; nothing here ever carries a password (URLs are redacted
//! with [`crate::secret::redact_url`] before they reach an error).

use std::path::PathBuf;

/// Convenience alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, with enough context to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No PostgreSQL could be provisioned by the chosen backend.
    #[error("{backend} backend: {message}")]
    Provision {
        /// `docker`, `local`, `url` or `auto`.
        backend: &'static str,
        /// What failed and what to do about it.
        message: String,
    },

    /// A database operation failed; `context` says which one.
    #[error("{context}: {}", pg_message(.source))]
    Db {
        /// What querylab was doing (e.g. "creating schema tracking").
        context: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A scenario file is wrong; the position points at the offending text.
    #[error("{path}:{line}:{column}: {message}")]
    Scenario {
        /// The scenario file (or `builtin:NAME`).
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A results file is unreadable or incompatible.
    #[error("{}: {message}", .path.display())]
    Results {
        /// The results file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// Bad input that is not tied to a file position (flags, values, environment).
    #[error("{0}")]
    Invalid(String),

    /// A table named in a scenario (an index set's `write_table`) does not exist
    /// on the loaded data.
    #[error("table {table} does not exist")]
    NoSuchTable {
        /// The name as written.
        table: String,
    },

    /// Something failed inside querylab itself (a worker task panicked or was
    /// cancelled): not the input's fault; worth a bug report with this line.
    #[error("internal error while {context}: {message}")]
    Internal {
        /// What querylab was doing.
        context: String,
        /// What failed.
        message: String,
    },

    /// The server went away mid-run: killed, crashed, restarted, or the connection
    /// was cut. What was measured before is kept.
    #[error(
        "lost the PostgreSQL server ({server}): {detail}; it stopped, crashed or the connection was cut — check that it runs (its log says why), then run again"
    )]
    ServerLost {
        /// The server's label (`local-pg15`, an image, `url-HOST`).
        server: String,
        /// What querylab was doing and the driver's message.
        detail: String,
    },

    /// The disk where the server keeps its data cannot hold the load.
    #[error(
        "not enough disk space in {}: {what} needs about {} but only {} is free; use a smaller --rows, free some space, or point TMPDIR at a larger disk",
        .path.display(),
        crate::units::bytes(*.needed),
        crate::units::bytes(*.available)
    )]
    DiskSpace {
        /// Where the server's data lives.
        path: PathBuf,
        /// Estimated bytes needed.
        needed: u64,
        /// Bytes free there.
        available: u64,
        /// What needs the space.
        what: String,
    },

    /// The run was interrupted by Ctrl-C or SIGTERM.
    #[error("interrupted: stopped and cleaned up what it started")]
    Interrupted,
}

impl Error {
    /// Builds a [`Error::Db`] with the given context.
    pub fn db(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        Error::Db {
            context: context.into(),
            source,
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Turns an error that means the server went away into [`Error::ServerLost`]
    /// naming `server`; any other error is returned as is.
    pub fn or_server_lost(self, server: &str) -> Self {
        if self.is_connection_lost() {
            Error::ServerLost {
                server: server.to_string(),
                detail: self.to_string(),
            }
        } else {
            self
        }
    }

    /// True when the error means the server went away (connection closed or reset),
    /// as opposed to a query that failed on a healthy server.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Error::ServerLost { .. } => true,
            Error::Db { source, .. } => connection_lost(source),
            _ => false,
        }
    }
}

/// True when a driver error means the server went away (connection closed or
/// reset, server shutting down) rather than a statement failing on a healthy server.
pub fn connection_lost(source: &tokio_postgres::Error) -> bool {
    source.is_closed()
        || source.as_db_error().is_some_and(|e| {
            e.code() == &tokio_postgres::error::SqlState::ADMIN_SHUTDOWN
                || e.code() == &tokio_postgres::error::SqlState::CRASH_SHUTDOWN
        })
        || source.as_db_error().is_none() && source.code().is_none()
}

/// Renders a driver error as the server's own message (with detail and hint) when
/// there is one, else the driver's description. Never includes connection secrets:
/// tokio-postgres does not put passwords in its errors.
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{}: {}", db.severity(), db.message());
        if let Some(d) = db.detail() {
            s.push_str(&format!(" (detail: {d})"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!(" (hint: {h})"));
        }
        if let Some(tokio_postgres::error::ErrorPosition::Original(p)) = db.position() {
            s.push_str(&format!(" (at character {p})"));
        }
        s
    } else {
        use std::error::Error as _;
        match e.source() {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        }
    }
}
