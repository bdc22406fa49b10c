//! Why measuring a variant stopped, shared by every step of its path (set up,
//! sample, explain, close): a failure of this variant only, a timeout, or what
//! stops the whole run.

use super::Measurer;
use crate::catalog::{Comparison, Variant};
use crate::error::{Error, Result};
use crate::results::VariantStatus;

/// Outcome of a variant that could not be measured but does not stop the run.
pub struct Failed(pub String);

impl From<Failed> for VariantStatus {
    fn from(f: Failed) -> Self {
        VariantStatus::Failed { message: f.0 }
    }
}

/// Why measuring a variant stopped early.
pub enum Stop {
    /// The whole run must stop.
    Run(Error),
    /// Only this variant failed.
    Variant(Failed),
    /// A sample hit the statement timeout.
    Timeout,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        if e.is_connection_lost() || matches!(e, Error::Interrupted) {
            Stop::Run(e)
        } else {
            Stop::Variant(Failed(e.to_string()))
        }
    }
}

/// The status to record for a variant that stopped with `stop`, or the error that
/// stops the run.
pub fn status_of(m: &Measurer<'_>, c: &Comparison, stop: Stop) -> Result<VariantStatus> {
    match stop {
        Stop::Run(e) => Err(e),
        Stop::Variant(f) => Ok(f.into()),
        Stop::Timeout => Ok(timed_out(m, c)),
    }
}

fn timed_out(m: &Measurer<'_>, c: &Comparison) -> VariantStatus {
    VariantStatus::TimedOut {
        timeout_ns: c
            .timeout
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(m.config.sampling.statement_timeout_ns),
    }
}

/// Where variant `v` is written in the scenario, `FILE:LINE:COLUMN`, for messages.
pub(super) fn pos_str(m: &Measurer<'_>, v: &Variant) -> String {
    format!("{}:{}:{}", m.scenario.source, v.pos.line, v.pos.column)
}
