//! `querylab run`'s schedule for one comparison: every variant gets its session
//! (clone, index set, prepared statements), a digest run and warm-up, and then the
//! variants are sampled **in rounds**, one sample each per round, so that a burst of
//! load on a shared machine hits all variants alike instead of whichever happened to
//! be sampling ([`super::SamplingOrder::BackToBack`] takes each variant's samples in
//! one go instead). Each variant stops on its own rule; plans are captured at the
//! end, then writes are measured where due ([`super::layout`]).

use std::time::Instant;

use super::session::{self, Session, Stop};
use super::{Measurer, SamplingOrder, blank_result, dur};
use crate::catalog::{Comparison, Mode};
use crate::error::Result;
use crate::results::{VariantResult, VariantStatus};

/// One variant being measured.
struct Slot {
    out: VariantResult,
    session: Option<Session>,
    /// Time spent in timed samples (the sampling rules count this, not wall clock,
    /// because rounds interleave variants).
    spent_ns: u64,
    max_samples: u32,
    sampling: bool,
}

/// Measures every variant of `c`. Errors that stop the run (server gone, interrupt)
/// are returned; a variant that fails or times out is recorded as such.
pub(super) async fn measure_all(
    m: &mut Measurer<'_>,
    c: &Comparison,
    started: Instant,
) -> Result<Vec<VariantResult>> {
    let mut params = None;
    let mut slots = Vec::new();
    for v in &c.variants {
        m.shutdown.check()?;
        let mut out = blank_result(m.scenario, v, m.config);
        let max_samples = if v.mode == Mode::FreshClone {
            m.config
                .sampling
                .max_samples
                .min(m.config.fresh_clone_max_samples)
                .max(1)
        } else {
            m.config.sampling.max_samples
        };
        let mut session = None;
        if started.elapsed() > m.config.comparison_budget {
            out.status = over_budget(m, c);
        } else {
            match session::open(m, c, v, &mut params).await {
                Ok(s) => {
                    out.params = s.params.clone();
                    out.executions_per_sample = s.executions_per_sample();
                    match warm(m, &s, v.mode).await {
                        Ok(digest) => {
                            out.result = Some(digest);
                            session = Some(s);
                        }
                        Err(stop) => {
                            session::close(m, s).await?;
                            out.status = session::status_of(m, c, stop)?;
                        }
                    }
                }
                Err(stop) => out.status = session::status_of(m, c, stop)?,
            }
        }
        slots.push(Slot {
            sampling: session.is_some(),
            out,
            session,
            spent_ns: 0,
            max_samples,
        });
    }

    // Nothing is dropped while samples are timed.
    m.drop_retired().await?;
    let cfg = m.config.sampling.clone();
    loop {
        m.shutdown.check()?;
        let mut sampled = false;
        for slot in slots.iter_mut().filter(|s| s.sampling) {
            // Interleaved: one sample, then the next variant; back to back: this
            // variant until its own rule stops it.
            while slot.sampling {
                let over = started.elapsed() > m.config.comparison_budget;
                let n = slot.out.samples_ns.len() as u32;
                let min = cfg.min_samples.min(slot.max_samples);
                let enough = n >= slot.max_samples
                    || (n >= min && dur(slot.spent_ns) >= dur(cfg.min_time_ns))
                    || (n >= 1 && (dur(slot.spent_ns) >= dur(cfg.max_time_ns) || over));
                if enough {
                    slot.sampling = false;
                    break;
                }
                let s = slot
                    .session
                    .as_ref()
                    .expect("sampling slots have a session");
                match session::sample(m, s).await {
                    Ok(ns) => {
                        slot.out.samples_ns.push(ns);
                        slot.spent_ns += ns;
                        sampled = true;
                    }
                    Err(stop) => {
                        slot.out.status = session::status_of(m, c, stop)?;
                        slot.sampling = false;
                    }
                }
                if m.config.sampling.order == SamplingOrder::Interleaved {
                    break;
                }
            }
        }
        if !sampled {
            break;
        }
    }

    // Plans of every variant first: writes measured on a clone (below) would show in
    // the plans of the variants sharing it.
    for slot in slots.iter_mut() {
        if let Some(s) = &slot.session
            && slot.out.status == VariantStatus::Ok
        {
            match session::plans(m, s).await {
                Ok((plan, counters)) => {
                    slot.out.planning_ms = session::planning_ms(s, &plan).await;
                    slot.out.plan = Some(plan);
                    slot.out.counters = Some(counters);
                }
                Err(stop) => slot.out.status = session::status_of(m, c, stop)?,
            }
        }
    }
    let mut out = Vec::new();
    for mut slot in slots {
        if let Some(s) = slot.session.take() {
            if slot.out.status == VariantStatus::Ok
                && let Err(stop) = session::write_costs(m, &s).await
            {
                slot.out.status = session::status_of(m, c, stop)?;
            }
            session::close(m, s).await?;
        }
        slot.out.stats = crate::stats::summarize(&slot.out.samples_ns);
        out.push(slot.out);
    }
    Ok(out)
}

/// The digest run (which doubles as the first warm-up) and the rest of the warm-up.
async fn warm(
    m: &mut Measurer<'_>,
    s: &Session,
    mode: Mode,
) -> std::result::Result<crate::results::ResultDigest, Stop> {
    let digest = session::result(m, s).await?;
    if mode != Mode::FreshClone {
        for _ in 1..m.config.sampling.warmup_runs {
            session::sample(m, s).await?;
        }
    }
    Ok(digest)
}

fn over_budget(m: &Measurer<'_>, c: &Comparison) -> VariantStatus {
    VariantStatus::Failed {
        message: format!(
            "not run: comparison {} exceeded its time budget of {:?}",
            c.id, m.config.comparison_budget
        ),
    }
}
