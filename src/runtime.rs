//! The async runtime querylab runs on: one thread.
//!
//! Every timed round trip goes from the code awaiting the query to the connection
//! task that owns the socket and back. On tokio's multi-threaded runtime those two
//! sit on different threads, and each hand-off is a thread wake-up that the kernel
//! must schedule — on a 2-core machine where the server and other work compete for
//! the cores, tens of microseconds each time, all of it inside the timed sample.
//! Measured on this project's 2-core machines (a prepared `SELECT 1` over the unix
//! socket, 12 alternating rounds of 2,000, load average ~7): median of round medians
//! 73.6 µs with the multi-threaded runtime, 27.7 µs on one thread; for sub-millisecond
//! statements that was the whole of querylab's gap to pgbench (issue 15).
//!
//! Nothing querylab does needs more than one async thread: the CPU-heavy work (row
//! generation and encoding for COPY) runs on `spawn_blocking` threads, and the rest
//! waits on the server. The tests' `#[tokio::test]` runtime is single-threaded too,
//! so the library is exercised the way the binary and benches run it.

/// A single-threaded tokio runtime with I/O and timers: what the binary and the
/// benches run the library on (see the module docs for why), and each of a
/// workload's client threads. With I/O, tokio also starts its signal and process
/// drivers (the `process` feature is crate-wide): their check for orphaned children
/// runs at every park, 1.5 % of the client threads' CPU (`perf`), which no builder
/// option removes.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
