//! The statistical timing gate.
//!
//! A slowdown fails the check only when it is both large (median ratio at least
//! `1 + time_threshold`) and significant (the confidence interval of the ratio of
//! medians lies wholly above 1). Either alone is not enough: a large but noisy
//! difference is a warning ("possible slowdown"), a significant but tiny one is
//! nothing. The interval is built from three sources of uncertainty:
//!
//! 1. **Within the run**: a bootstrap of the ratio of medians over both runs' samples,
//!    kept as log-scale standard errors (below and above the point).
//! 2. **Between runs**: an unchanged variant also moves by a few percent from one run
//!    to the next (a neighbour's burst during its sampling window, cache and CPU
//!    frequency luck), which no bootstrap over one run can see and which is what
//!    makes naive timing gates cry wolf. The *run scatter* measures it on this pair of
//!    runs: the standard deviation of the stable variants' log ratios (stable: no
//!    plan, blocks, rows or result change), leaving out the variant being judged so
//!    that a real slowdown does not hide itself, and keeping every other one (on real
//!    runners the scatter is heavy-tailed: setting big movers aside as outliers is
//!    exactly what makes a gate cry wolf). It never goes below `run_scatter_floor`,
//!    and is used with a Student t quantile since it comes from few variants.
//! 3. **Many variants**: the confidence level is for the whole check (Bonferroni over
//!    the variants whose timing is compared), so 60 variants do not give 60 chances
//!    for noise to fail the build.
//!
//! Baselines are usually recorded on another machine than the CI runner, so every
//! variant can be uniformly slower or faster for reasons that have nothing to do with
//! the change under review. The median ratio of the stable variants (the *machine
//! factor*) is divided out before judging. When it cannot be estimated (too few stable
//! variants) and the environments differ, timing is reported but never gated.

use super::CheckOptions;
use super::verdict::{FindingKind, Severity, TimingChange, Verdict};
use crate::stats;
use crate::stats::{normal_quantile, t_quantile};
use crate::units::{duration_ns, level, percent};

/// Fewest stable variants for a machine factor and run scatter: with fewer, the
/// scatter left after leaving one variant out rests on too few degrees of freedom.
pub(crate) const MIN_STABLE: usize = 5;

/// Level whose bootstrap percentiles sit one standard error from the point (±1σ).
const ONE_SIGMA: f64 = 0.682_689_492;

/// Timing of one variant in both runs, before any machine factor is applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawTiming {
    pub base_median: f64,
    pub cur_median: f64,
    pub base_n: usize,
    pub cur_n: usize,
    /// Ratio of medians current / baseline.
    pub point: f64,
    /// Log-scale bootstrap standard errors below and above the point.
    pub se_lo: f64,
    pub se_hi: f64,
}

/// Compares two sample sets; `None` when either is empty or a median is not
/// positive (no ratio can be formed).
pub(crate) fn measure(base: &[u64], cur: &[u64]) -> Option<RawTiming> {
    if base.is_empty() || cur.is_empty() {
        return None;
    }
    let a: Vec<f64> = base.iter().map(|&s| s as f64).collect();
    let b: Vec<f64> = cur.iter().map(|&s| s as f64).collect();
    let (base_median, cur_median) = (stats::median(&a), stats::median(&b));
    if base_median <= 0.0 || cur_median <= 0.0 {
        return None;
    }
    // Standard errors from the ±1σ percentiles rather than extreme ones: the
    // family-wise level needs quantiles far in the tails, where 2000 resamples say
    // little, so the tails come from a scaled interval instead.
    let (point, lo, hi) = stats::ratio_of_medians_ci(&a, &b, ONE_SIGMA);
    let log = |x: f64| x.max(f64::MIN_POSITIVE).ln();
    Some(RawTiming {
        base_median,
        cur_median,
        base_n: a.len(),
        cur_n: b.len(),
        point,
        se_lo: (log(point) - log(lo)).max(0.0),
        se_hi: (log(hi) - log(point)).max(0.0),
    })
}

/// The machine factor: the median raw ratio over stable variants, or `None` with
/// too few of them (with one or two, a real regression would cancel itself out).
pub(crate) fn drift(stable_ratios: &[f64], min_variants: usize) -> Option<f64> {
    let finite: Vec<f64> = stable_ratios
        .iter()
        .copied()
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    if finite.len() < min_variants.max(MIN_STABLE) {
        return None;
    }
    Some(stats::median(&finite))
}

/// Between-run scatter of a dataset's stable variants: sums of their log ratios
/// around the machine factor, so that the deviation without any one of them is cheap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scatter {
    n: usize,
    sum: f64,
    sum_sq: f64,
}

impl Scatter {
    /// `None` with fewer than `min_variants` (at least [`MIN_STABLE`]) stable variants.
    pub(crate) fn new(stable_ratios: &[f64], drift: f64, min_variants: usize) -> Option<Self> {
        let logs: Vec<f64> = stable_ratios
            .iter()
            .filter(|r| r.is_finite() && **r > 0.0)
            .map(|r| (r / drift).ln())
            .collect();
        (logs.len() >= min_variants.max(MIN_STABLE)).then(|| Scatter {
            n: logs.len(),
            sum: logs.iter().sum(),
            sum_sq: logs.iter().map(|l| l * l).sum(),
        })
    }

    /// Sample standard deviation of all the log ratios.
    pub(crate) fn sd(&self) -> f64 {
        Self::deviation(self.n, self.sum, self.sum_sq)
    }

    /// Standard deviation and degrees of freedom without `own` (the judged variant's
    /// log ratio, when it is one of the stable ones).
    fn without(&self, own: Option<f64>) -> (f64, usize) {
        match own {
            Some(x) => (
                Self::deviation(self.n - 1, self.sum - x, self.sum_sq - x * x),
                self.n - 2,
            ),
            None => (self.sd(), self.n - 1),
        }
    }

    fn deviation(n: usize, sum: f64, sum_sq: f64) -> f64 {
        if n < 2 {
            return 0.0;
        }
        let mean = sum / n as f64;
        ((sum_sq - n as f64 * mean * mean).max(0.0) / (n - 1) as f64).sqrt()
    }
}

/// What a dataset contributes to every variant's interval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Noise {
    /// Machine factor divided out (1 when none).
    pub drift: f64,
    scatter: Option<Scatter>,
    /// Stable variants the machine factor is the median of.
    stable: usize,
    /// Two-sided tail probability per variant, as a distribution-function level.
    p: f64,
    floor: f64,
    enabled: bool,
}

impl Noise {
    /// The dataset's noise model. `compared` is the number of variants whose timing
    /// is compared in the whole check: the confidence level is shared among them.
    pub(crate) fn new(
        drift: Option<f64>,
        scatter: Option<Scatter>,
        stable: usize,
        compared: usize,
        opts: &CheckOptions,
    ) -> Self {
        let alpha = (1.0 - opts.confidence) / compared.max(1) as f64;
        Noise {
            drift: drift.unwrap_or(1.0),
            scatter,
            stable,
            p: 1.0 - alpha / 2.0,
            floor: opts.run_scatter_floor.max(0.0),
            enabled: opts.run_scatter,
        }
    }

    /// The between-run standard deviation to add to a variant's interval (inflated
    /// for the machine factor's own uncertainty) and the quantile to scale by.
    /// `own` is the variant's log ratio when it is one of the stable ones.
    pub(crate) fn for_variant(&self, own: Option<f64>) -> (f64, f64) {
        if !self.enabled {
            return (0.0, normal_quantile(self.p));
        }
        match self.scatter {
            Some(sc) => {
                let (sd, df) = sc.without(own);
                // A median of `stable` ratios has variance ≈ π/2 · sd² / stable.
                let drift_var = std::f64::consts::FRAC_PI_2 / self.stable.max(1) as f64;
                (
                    sd.max(self.floor) * (1.0 + drift_var).sqrt(),
                    t_quantile(self.p, df.max(1) as f64),
                )
            }
            None => (self.floor, normal_quantile(self.p)),
        }
    }
}

/// A ratio of medians judged against the noise: its interval and whether it is
/// significant (enough samples and the interval excludes 1).
struct Judged {
    ratio: f64,
    lo: f64,
    hi: f64,
    run_sd: f64,
    enough: bool,
    significant: bool,
}

fn interval(raw: &RawTiming, stable: bool, noise: &Noise, opts: &CheckOptions) -> Judged {
    let ratio = raw.point / noise.drift;
    let l = ratio.ln();
    let (run_sd, q) = noise.for_variant(stable.then_some(l));
    let lo = (l - q * raw.se_lo.hypot(run_sd)).exp();
    let hi = (l + q * raw.se_hi.hypot(run_sd)).exp();
    let enough = raw.base_n >= opts.min_samples && raw.cur_n >= opts.min_samples;
    Judged {
        ratio,
        lo,
        hi,
        run_sd,
        enough,
        significant: enough && (lo > 1.0 || hi < 1.0),
    }
}

/// Adds the timing part of a verdict. `not_gated` says why a slowdown here may not
/// fail the check (it then becomes a warning).
pub(crate) fn judge(
    v: &mut Verdict,
    raw: &RawTiming,
    stable: bool,
    noise: &Noise,
    not_gated: Option<&str>,
    opts: &CheckOptions,
) {
    let added = raw.cur_median / noise.drift - raw.base_median;
    let under_floor;
    let not_gated = match not_gated {
        None if added < opts.time_floor_ns => {
            under_floor = format!(
                "{} more per execution is under the time floor of {} (--time-floor-us)",
                duration_ns(added.max(0.0)),
                duration_ns(opts.time_floor_ns)
            );
            Some(under_floor.as_str())
        }
        other => other,
    };
    let j = interval(raw, stable, noise, opts);
    let gated = !opts.ignore_timing && j.enough && not_gated.is_none();
    v.timing = Some(TimingChange {
        baseline_median_ns: raw.base_median,
        current_median_ns: raw.cur_median,
        baseline_n: raw.base_n,
        current_n: raw.cur_n,
        raw_ratio: raw.point,
        drift: noise.drift,
        run_scatter: j.run_sd,
        ratio: j.ratio,
        ci_low: j.lo,
        ci_high: j.hi,
        significant: j.significant,
        gated,
    });
    if opts.ignore_timing {
        return;
    }
    findings(v, raw, noise, &j, not_gated, opts, "");
}

/// Judges another time-like metric of a variant by the same rule as its latency
/// (large and significant fails; large alone warns): `what` names it in the
/// findings, e.g. `time per transaction at 16 clients`. A workload's throughput
/// is judged as time per committed transaction, so that slower means worse here too.
pub(crate) fn judge_metric(
    v: &mut Verdict,
    raw: &RawTiming,
    noise: &Noise,
    opts: &CheckOptions,
    what: &str,
) {
    if opts.ignore_timing {
        return;
    }
    let j = interval(raw, false, noise, opts);
    findings(v, raw, noise, &j, None, opts, &format!("{what}: "));
}

fn findings(
    v: &mut Verdict,
    raw: &RawTiming,
    noise: &Noise,
    j: &Judged,
    not_gated: Option<&str>,
    opts: &CheckOptions,
    what: &str,
) {
    let (ratio, lo, hi, enough, significant) = (j.ratio, j.lo, j.hi, j.enough, j.significant);
    let l = ratio.ln();
    let run_sd = j.run_sd;
    let slow = 1.0 + opts.time_threshold;
    let medians = format!(
        "median {} → {}",
        duration_ns(raw.base_median),
        duration_ns(raw.cur_median)
    );
    let interval = format!(
        "{} CI {} … {}",
        level(opts.confidence),
        percent(lo),
        percent(hi)
    );
    let machine = if (noise.drift - 1.0).abs() > 1e-12 {
        format!(
            "; machine factor {:.2}× removed, raw {}",
            noise.drift,
            percent(raw.point)
        )
    } else {
        String::new()
    };

    if ratio >= slow && significant && lo > 1.0 {
        let text = format!(
            "{what}slower {} ({medians}; {interval}{machine})",
            percent(ratio)
        );
        match not_gated {
            None => v.push(FindingKind::Slower, Severity::Regression, text),
            Some(why) => v.push(
                FindingKind::PossiblySlower,
                Severity::Warning,
                format!("{text}; not gated: {why}"),
            ),
        }
    } else if ratio >= slow && (!enough || l > 2.0 * run_sd) {
        // Only moves larger than unchanged variants typically make are worth a
        // warning: on a noisy runner every other variant would otherwise get one.
        let why = if enough {
            format!("not significant ({interval})")
        } else {
            format!(
                "too few samples to tell ({} and {}; at least {} each are needed)",
                raw.base_n, raw.cur_n, opts.min_samples
            )
        };
        v.push(
            FindingKind::PossiblySlower,
            Severity::Warning,
            format!(
                "{what}possible slowdown {} ({medians}{machine}), {why}: not a failure",
                percent(ratio)
            ),
        );
    } else if ratio <= 1.0 / slow && significant && hi < 1.0 {
        v.push(
            FindingKind::Faster,
            Severity::Improvement,
            format!(
                "{what}faster {} ({medians}; {interval}{machine})",
                percent(ratio)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_leaves_the_judged_variant_out() {
        let ratios = [1.0, 1.02, 0.98, 1.01, 0.99, 1.5];
        let sc = Scatter::new(&ratios, 1.0, 5).unwrap();
        let (with_all, df_all) = sc.without(None);
        let (without_big, df) = sc.without(Some(1.5f64.ln()));
        assert_eq!((df_all, df), (5, 4));
        assert!(
            with_all > 0.15 && without_big < 0.02,
            "{with_all} {without_big}"
        );
        assert!(Scatter::new(&[1.0, 1.1, 1.0, 1.0], 1.0, 3).is_none());
        assert!(drift(&[1.0, 1.1, 1.0, 1.0], 3).is_none());
    }

    #[test]
    fn bonferroni_widens_with_more_variants() {
        let o = CheckOptions::default();
        let (sd, one) = Noise::new(None, None, 0, 1, &o).for_variant(None);
        let (_, many) = Noise::new(None, None, 0, 100, &o).for_variant(None);
        assert!((one - 1.96).abs() < 0.01);
        assert!(many > 3.4 && many < 3.6, "{many}");
        assert_eq!(sd, o.run_scatter_floor);
    }
}
