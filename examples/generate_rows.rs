//! Generates one built-in table into memory, chunk by chunk, with no server: the
//! client-side work of a load without the COPY. A driver for profilers, e.g.
//! `valgrind --tool=callgrind target/release/examples/generate_rows jobs.ml_jobs 100000`
//! (instructions per row are repeatable on a busy machine; wall time is not).
//!
//! Arguments: table (default `jobs.ml_jobs`), rows of the largest tables (default
//! 100,000), seed (default 42), and `sum` to print a checksum of the bytes (left out
//! of profiles: it costs more per byte than the encoding). Prints rows and bytes.

use bytes::BytesMut;
use querylab::generate::{builtin_tables, chunk_count, write_chunk};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let table = args.first().map_or("jobs.ml_jobs", String::as_str);
    let number = |i: usize, default: u64| match args.get(i) {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("argument {}: `{s}` is not a whole number", i + 1);
            std::process::exit(2)
        }),
    };
    let (rows, seed) = (number(1, 100_000), number(2, 42));
    let checksum = args.get(3).is_some_and(|a| a == "sum");
    let Some(generator) = builtin_tables(rows, seed)
        .into_iter()
        .find(|t| t.name() == table)
    else {
        eprintln!("argument 1: no built-in table `{table}` (e.g. jobs.ml_jobs)");
        std::process::exit(2)
    };
    let mut buf = BytesMut::with_capacity(1 << 21);
    let (mut written, mut bytes, mut sum) = (0u64, 0usize, 0u64);
    for chunk in 0..chunk_count(generator.row_count()) {
        buf.clear();
        written += write_chunk(generator.as_ref(), seed, chunk, &mut buf);
        bytes += buf.len();
        if checksum {
            // FNV-1a over the chunk: a change in the bytes shows.
            sum = buf.iter().fold(sum ^ 0xcbf2_9ce4_8422_2325, |h, &b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
        }
    }
    println!("{table}: {written} rows, {bytes} bytes, checksum {sum:016x}");
}
