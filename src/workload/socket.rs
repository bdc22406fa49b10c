//! A workload client's connection: the server's socket watched for reads only.
//!
//! tokio registers a socket for reads *and* writes, edge-triggered. A client's
//! request is small and written at once; when the backend then reads it, the
//! freed send buffer raises a write edge, which wakes the parked client thread for
//! nothing, and it parks again until the answer comes: two context switches per
//! round trip where pgbench (which polls for input only) takes one. Measured with
//! `perf stat` on one client claiming queue jobs: 2.08 context switches per
//! transaction, 1.07 for pgbench. Here the socket is opened by querylab, registered
//! for reads only, and handed to tokio-postgres's `connect_raw`, which does the
//! startup and authentication as `connect` does.
//!
//! A write is tried at once; a request larger than the socket's send buffer (none
//! of a workload's, whose statements are a few hundred bytes) would find it full,
//! and then yields to the runtime and tries again rather than waiting for a write
//! edge that is not watched.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// A connected stream socket, unix or TCP.
enum Stream {
    Unix(UnixStream),
    Tcp(std::net::TcpStream),
}

impl Stream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => (&*s).read(buf),
            Stream::Tcp(s) => (&*s).read(buf),
        }
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => (&*s).write(buf),
            Stream::Tcp(s) => (&*s).write(buf),
        }
    }
}

impl std::os::fd::AsRawFd for Stream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }
}

/// The socket, registered with the current runtime for reads only.
pub(super) struct ReadWatched(AsyncFd<Stream>);

impl AsyncRead for ReadWatched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.0.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            let len = unfilled.len();
            match guard.try_io(|s| s.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    // A read that did not fill the buffer drained the socket: clear
                    // the readiness now, as tokio's own streams do on epoll, so that
                    // the next poll waits for the next edge instead of reading
                    // again only to get WouldBlock. That read was one recvfrom per
                    // transaction (2 per transaction, against pgbench's 1.3).
                    // Data arriving after this read raises a new edge.
                    if 0 < n && n < len {
                        guard.clear_ready();
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                // Not readable after all: readiness cleared, wait again.
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for ReadWatched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.0.get_ref().write(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Send buffer full (see the module docs): try again on the next turn.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            r => Poll::Ready(r),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Connects to `config`'s first host (as the rest of querylab does) with the
/// socket watched for reads only; the connection task runs on the current
/// runtime. `what` names the database in errors.
pub(super) async fn connect(config: &Config, what: &str) -> Result<Client> {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = config
        .get_hosts()
        .first()
        .cloned()
        .ok_or_else(|| Error::Internal {
            context: format!("connecting to database {what}"),
            message: "the connection settings name no host".into(),
        })?;
    let target = match &host {
        Host::Unix(dir) => dir.join(format!(".s.PGSQL.{port}")),
        Host::Tcp(name) => PathBuf::from(format!("{name}:{port}")),
    };
    let io = |source| Error::Io {
        path: target.clone(),
        source,
    };
    let open = async {
        let stream = match &host {
            Host::Unix(_) => tokio::net::UnixStream::connect(&target)
                .await
                .and_then(|s| s.into_std())
                .map(Stream::Unix),
            Host::Tcp(name) => tokio::net::TcpStream::connect((name.as_str(), port))
                .await
                .and_then(|s| {
                    s.set_nodelay(true)?;
                    s.into_std()
                })
                .map(Stream::Tcp),
        };
        // Deprecated because an `AsyncFd` over a borrowed descriptor could outlive
        // it; this one owns the stream that owns the descriptor, and the safe
        // replacement is `unsafe`, which this crate forbids.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(stream.map_err(io)?, Interest::READABLE).map_err(io)?;
        let (client, connection) = config
            .connect_raw(ReadWatched(fd), NoTls)
            .await
            .map_err(|e| Error::db(format!("connecting to database {what}"), e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    };
    match config.get_connect_timeout() {
        Some(limit) => tokio::time::timeout(*limit, open).await.map_err(|_| {
            io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "connecting to database {what}: no answer within {} s",
                    limit.as_secs_f64()
                ),
            ))
        })?,
        None => open.await,
    }
}
