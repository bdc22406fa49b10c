//! Deterministic randomness shared by every table generator.
//!
//! Two sources, both pure functions of the seed:
//! - a **chunk stream** ([`chunk_rng`]): ChaCha8 seeded from (seed, table, chunk
//!   number), so any chunk of any table can be generated alone and in any order;
//! - **entity draws** ([`Entity`]): a SplitMix64 stream seeded from (seed, table,
//!   row index), for the attributes other tables need to know about a row (its id,
//!   its creation time, its owner). A child table recomputes its parent's attributes
//!   from the parent's index instead of keeping a list of parents in memory.
//!
//! Nothing here uses the standard library's hasher, whose output may change between
//! Rust versions: the mixing functions are spelled out.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Microseconds in a day.
pub const DAY: i64 = 86_400_000_000;
/// Microseconds in an hour.
pub const HOUR: i64 = 3_600_000_000;
/// Microseconds in a minute.
pub const MINUTE: i64 = 60_000_000;
/// Microseconds in a second.
pub const SECOND: i64 = 1_000_000;

/// Start of the data's year, 2024-01-01 00:00:00 UTC, in PostgreSQL microseconds
/// (since 2000-01-01). Fixed rather than `now()` so the data never changes.
pub const START: i64 = 8766 * DAY;
/// End of the data's year (exclusive), 2025-01-01 00:00:00 UTC: every generated
/// timestamp of the live tables is before it.
pub const END: i64 = START + 366 * DAY;
/// The last representable instant of the year.
pub const LAST: i64 = END - 1;

/// SplitMix64's finalizer: a bijection on `u64` that scatters nearby inputs.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A bijection on 62-bit values (every step is invertible modulo 2^62), used where
/// two bits are taken by UUID version/variant markers and uniqueness must survive.
#[inline]
fn mix62(mut z: u64) -> u64 {
    const MASK: u64 = (1 << 62) - 1;
    z &= MASK;
    z ^= z >> 31;
    z = z.wrapping_mul(0xbf58_476d_1ce4_e5b9) & MASK;
    z ^= z >> 29;
    z = z.wrapping_mul(0x94d0_49bb_1331_11eb) & MASK;
    z ^ (z >> 32)
}

/// FNV-1a of a name: a stable 64-bit tag for a table or attribute.
pub const fn fnv1a(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// The key of one stream of values: (seed, name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(u64);

impl Key {
    /// Key for `name` (e.g. `"tracking.experiments"`) under `seed`.
    pub fn new(seed: u64, name: &str) -> Key {
        Key(mix64(seed ^ mix64(fnv1a(name))))
    }

    /// The entity draws of row `i`.
    #[inline]
    pub fn entity(self, i: u64) -> Entity {
        Entity(mix64(self.0 ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
    }

    /// A UUID (version 4 layout) for row `i`, distinct for distinct `i` under one key.
    #[inline]
    pub fn uuid(self, i: u64) -> u128 {
        let high = (mix64(self.0.rotate_left(17) ^ i) & !0xf000) | 0x4000;
        let low = (0b10 << 62) | mix62(self.0 ^ i);
        (u128::from(high) << 64) | u128::from(low)
    }
}

/// The ChaCha8 stream of chunk `chunk` of the table with key `key`.
pub fn chunk_rng(key: Key, chunk: u64) -> ChaCha8Rng {
    let mut seed = [0u8; 32];
    let mut z = mix64(key.0 ^ mix64(chunk ^ 0x5bd1_e995));
    for part in seed.chunks_exact_mut(8) {
        z = mix64(z.wrapping_add(0x9e37_79b9_7f4a_7c15));
        part.copy_from_slice(&z.to_le_bytes());
    }
    ChaCha8Rng::from_seed(seed)
}

/// Draws for one entity: a SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct Entity(u64);

impl Draw for Entity {
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
}

impl Draw for ChaCha8Rng {
    #[inline]
    fn next(&mut self) -> u64 {
        rand::Rng::next_u64(self)
    }
}

/// Distributions over a stream of `u64`s. Written out here (rather than taken from
/// `rand`) so the data depends only on the stream, not on a library's algorithms.
pub trait Draw {
    /// The next raw value.
    fn next(&mut self) -> u64;

    /// Uniform in `[0, 1)` with 53 bits.
    #[inline]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[0, n)` (0 when `n` is 0).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[lo, hi)`.
    #[inline]
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`.
    #[inline]
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element, uniformly.
    #[inline]
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index in `[0, n)` with probability falling like 1/(k+1) (Zipf, s = 1):
    /// a few owners, tags and models account for most rows. It is
    /// `floor((n+1)^u - 1)` for a uniform `u`; for short lists the thresholds of `u`
    /// come from a table instead of a `pow` per draw (generation's hot path).
    #[inline]
    fn zipf(&mut self, n: u64) -> u64 {
        if (1..=SMALL_ZIPF as u64).contains(&n) {
            let x = self.next() >> 11;
            let thresholds = &small_zipf()[n as usize];
            let mut k = 0;
            while k + 1 < n as usize && thresholds[k + 1] <= x {
                k += 1;
            }
            return k as u64;
        }
        let k = ((n as f64 + 1.0).powf(self.unit()) - 1.0) as u64;
        k.min(n.saturating_sub(1))
    }

    /// An index by weight: `weights[k]` / sum.
    #[inline]
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (k, &w) in weights.iter().enumerate() {
            if x < w {
                return k;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Approximately standard normal (Irwin–Hall of four uniforms): cheap, bounded
    /// at ±3.5, plenty for noise.
    #[inline]
    fn normal(&mut self) -> f64 {
        let s = self.unit() + self.unit() + self.unit() + self.unit();
        (s - 2.0) * 1.732_050_8
    }

    /// Log-normal with the given median and spread (sigma of the log).
    #[inline]
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
}

/// Longest list whose Zipf thresholds are tabulated.
const SMALL_ZIPF: usize = 32;

/// `small_zipf()[n][k]`: the smallest 53-bit uniform that draws index ≥ k from a
/// list of `n`, i.e. `ln(k+1) / ln(n+1)` scaled to 2^53.
fn small_zipf() -> &'static [[u64; SMALL_ZIPF]; SMALL_ZIPF + 1] {
    static TABLE: std::sync::OnceLock<[[u64; SMALL_ZIPF]; SMALL_ZIPF + 1]> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [[u64::MAX; SMALL_ZIPF]; SMALL_ZIPF + 1];
        for (n, row) in t.iter_mut().enumerate().skip(1) {
            for (k, cell) in row.iter_mut().enumerate().take(n) {
                let u = ((k + 1) as f64).ln() / ((n + 1) as f64).ln();
                *cell = (u * (1u64 << 53) as f64).ceil() as u64;
            }
        }
        t
    })
}

/// A timestamp uniform in `[from, to)` (or `from` when the range is empty).
#[inline]
pub fn between(d: &mut impl Draw, from: i64, to: i64) -> i64 {
    if to <= from {
        from
    } else {
        from + d.below((to - from) as u64) as i64
    }
}

/// Rounds `v` to `scale` decimals as an integer count of units (for `numeric`).
#[inline]
pub fn units(v: f64, scale: u32) -> i64 {
    (v * 10f64.powi(scale as i32)).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_and_version_4() {
        let key = Key::new(42, "t");
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000 {
            let u = key.uuid(i);
            assert!(seen.insert(u));
            let s = uuid::Uuid::from_u128(u);
            assert_eq!(s.get_version_num(), 4);
            assert_eq!(s.get_variant(), uuid::Variant::RFC4122);
        }
    }

    #[test]
    fn streams_depend_on_seed_and_name_only() {
        let a = Key::new(1, "jobs.ml_jobs").entity(7).next();
        assert_eq!(a, Key::new(1, "jobs.ml_jobs").entity(7).next());
        assert_ne!(a, Key::new(2, "jobs.ml_jobs").entity(7).next());
        assert_ne!(a, Key::new(1, "jobs.ml_jobs_archive").entity(7).next());
    }

    #[test]
    fn zipf_favours_low_ranks_and_stays_in_range() {
        let mut e = Key::new(3, "z").entity(0);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            counts[e.zipf(10) as usize] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[4] && counts[4] > counts[9]);
        assert!(counts[9] > 0);
        // The tabulated path and the formula agree on the distribution.
        let mut big = [0u32; 40];
        for _ in 0..100_000 {
            big[e.zipf(40) as usize] += 1;
        }
        let share = |c: u32| f64::from(c) / 100_000.0;
        let expected = |k: f64, n: f64| ((k + 2.0) / (k + 1.0)).ln() / (n + 1.0).ln();
        assert!((share(counts[0]) - expected(0.0, 10.0)).abs() < 0.01);
        assert!((share(big[0]) - expected(0.0, 40.0)).abs() < 0.01);
        assert!((share(counts[3]) - expected(3.0, 10.0)).abs() < 0.01);
    }

    #[test]
    fn the_year_is_2024() {
        let start = chrono::DateTime::from_timestamp_micros(
            START + crate::generate::binary::PG_EPOCH_UNIX_MICROS,
        )
        .unwrap();
        assert_eq!(start.to_rfc3339(), "2024-01-01T00:00:00+00:00");
        let end = chrono::DateTime::from_timestamp_micros(
            END + crate::generate::binary::PG_EPOCH_UNIX_MICROS,
        )
        .unwrap();
        assert_eq!(end.to_rfc3339(), "2025-01-01T00:00:00+00:00");
    }
}
