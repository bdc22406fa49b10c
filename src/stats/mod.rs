//! Statistics over timing samples: order statistics, bootstrap confidence intervals
//! and ([`dist`]) the quantiles of the normal and t distributions.
//!
//! Pure functions, no I/O: the same samples always give the same numbers (the
//! bootstrap uses a fixed-seed generator), which keeps reports and checks
//! reproducible from a saved results file.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::results::Stats;

mod dist;
pub use dist::{normal_quantile, t_quantile};

/// Bootstrap resamples used for confidence intervals.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// Fixed seed so that confidence intervals are reproducible.
const BOOTSTRAP_SEED: u64 = 0x005e_ed0f_b007;

/// Percentile `p` (0..=100) of sorted data, linear interpolation between ranks.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of no samples");
    if sorted.len() == 1 {
        return sorted[0];
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Median of unsorted data (linear time: the bootstrap calls it thousands of times).
pub fn median(data: &[f64]) -> f64 {
    let mut v = data.to_vec();
    median_in_place(&mut v)
}

/// A uniform index below `n` by multiply-shift (bias below n / 2^64, far under
/// what a bootstrap can notice), cheaper than a rejection-sampled range.
fn pick(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// Median of a scratch buffer, reordering it: linear-time selection instead of a
/// copy and a sort, because the bootstrap computes thousands of medians per variant.
/// Same value as [`median`] (midpoint of the two middle values for even lengths).
fn median_in_place(v: &mut [f64]) -> f64 {
    let (n, mid) = (v.len(), v.len() / 2);
    let (below, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *m;
    if !n.is_multiple_of(2) {
        upper
    } else {
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        lower + (upper - lower) * 0.5
    }
}

/// Summary statistics of nanosecond samples; `None` when there are none.
pub fn summarize(samples_ns: &[u64]) -> Option<Stats> {
    if samples_ns.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = samples_ns.iter().map(|&s| s as f64).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    let (lo, hi) = bootstrap_ci(&v, 0.95, median);
    Some(Stats {
        n,
        median_ns: percentile_sorted(&v, 50.0),
        mean_ns: mean,
        p95_ns: percentile_sorted(&v, 95.0),
        p99_ns: percentile_sorted(&v, 99.0),
        min_ns: v[0],
        max_ns: v[n - 1],
        stddev_ns: var.sqrt(),
        median_ci_low_ns: lo,
        median_ci_high_ns: hi,
    })
}

/// Percentile bootstrap confidence interval of `statistic` at `level` (e.g. 0.95).
pub fn bootstrap_ci(data: &[f64], level: f64, statistic: impl Fn(&[f64]) -> f64) -> (f64, f64) {
    if data.len() < 2 {
        let s = statistic(data);
        return (s, s);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut buf = vec![0.0; data.len()];
    let mut stats: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            for slot in buf.iter_mut() {
                *slot = data[rng.random_range(0..data.len())];
            }
            statistic(&buf)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    (
        percentile_sorted(&stats, alpha * 100.0),
        percentile_sorted(&stats, (1.0 - alpha) * 100.0),
    )
}

/// Bootstrap confidence interval of the ratio of medians `median(b) / median(a)`,
/// resampling both sides independently. Used by `check` to decide whether a slowdown
/// is significant: it is when the whole interval lies above 1.
pub fn ratio_of_medians_ci(a: &[f64], b: &[f64], level: f64) -> (f64, f64, f64) {
    let point = median(b) / median(a);
    if a.len() < 2 || b.len() < 2 {
        return (point, point, point);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED ^ 0xa5a5);
    let mut ba = vec![0.0; a.len()];
    let mut bb = vec![0.0; b.len()];
    let mut ratios: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            for slot in ba.iter_mut() {
                *slot = a[pick(&mut rng, a.len())];
            }
            for slot in bb.iter_mut() {
                *slot = b[pick(&mut rng, b.len())];
            }
            median_in_place(&mut bb) / median_in_place(&mut ba)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    (
        point,
        percentile_sorted(&ratios, alpha * 100.0),
        percentile_sorted(&ratios, (1.0 - alpha) * 100.0),
    )
}

/// Least-squares slope of `log(y)` against `log(x)`: the growth exponent of a scaling
/// curve (≈1 linear, ≈0 flat). `None` with fewer than two distinct positive points.
pub fn growth_exponent(points: &[(f64, f64)]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    Some(sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&v, 50.0), 2.5);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
        assert_eq!(percentile_sorted(&v, 100.0), 4.0);
    }

    #[test]
    fn summary_of_known_samples() {
        let s = summarize(&[10, 20, 30, 40, 50]).unwrap();
        assert_eq!(s.n, 5);
        assert_eq!(s.median_ns, 30.0);
        assert_eq!(s.mean_ns, 30.0);
        assert_eq!(s.min_ns, 10.0);
        assert_eq!(s.max_ns, 50.0);
        assert!((s.stddev_ns - 15.811).abs() < 0.01);
        assert!(s.median_ci_low_ns <= 30.0 && s.median_ci_high_ns >= 30.0);
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn bootstrap_is_reproducible_and_brackets_the_median() {
        let data: Vec<f64> = (0..101).map(|i| i as f64).collect();
        let a = bootstrap_ci(&data, 0.95, median);
        let b = bootstrap_ci(&data, 0.95, median);
        assert_eq!(a, b);
        assert!(a.0 < 50.0 && a.1 > 50.0, "{a:?}");
        assert!(a.1 - a.0 < 30.0);
    }

    #[test]
    fn ratio_ci_excludes_one_for_a_clear_slowdown_only() {
        let base: Vec<f64> = (0..50).map(|i| 100.0 + (i % 7) as f64).collect();
        let slow: Vec<f64> = base.iter().map(|x| x * 1.5).collect();
        let (p, lo, _) = ratio_of_medians_ci(&base, &slow, 0.95);
        assert!(p > 1.4 && lo > 1.0);
        let same: Vec<f64> = (0..50).map(|i| 100.0 + ((i * 3) % 7) as f64).collect();
        let (_, lo, hi) = ratio_of_medians_ci(&base, &same, 0.95);
        assert!(lo <= 1.0 && hi >= 1.0, "{lo} {hi}");
    }

    #[test]
    fn median_in_place_matches_median() {
        for n in 1..12 {
            let data: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64).collect();
            assert_eq!(median_in_place(&mut data.clone()), median(&data), "n = {n}");
        }
    }

    #[test]
    fn growth_exponent_of_linear_and_flat() {
        let lin = [(1e4, 1.0), (1e5, 10.0), (1e6, 100.0)];
        assert!((growth_exponent(&lin).unwrap() - 1.0).abs() < 1e-9);
        let flat = [(1e4, 5.0), (1e5, 5.0), (1e6, 5.0)];
        assert!(growth_exponent(&flat).unwrap().abs() < 1e-9);
        assert!(growth_exponent(&[(1.0, 1.0)]).is_none());
    }
}
