//! One variant's path through measuring, in the order it runs — set up, sample,
//! explain, close — each step in its own module, and nothing going back:
//!
//! 1. [`open`] ([`super::setup`]): a clone with the index set, session settings and
//!    prepared statements, as a [`Session`];
//! 2. [`sample`] and [`result`] ([`super::sample`]): timed samples, and the untimed
//!    execution whose rows are digested;
//! 3. [`plans`] ([`super::plans`]): the kept plan and the deterministic counters;
//! 4. [`close`]: the connection closed and the clone dropped.
//!
//! Any step may [`Stop`]; [`status_of`] says what to record for it. `querylab run`
//! ([`super::variant`]) and the criterion benches drive the same steps, so a bench
//! times exactly what a run times.

pub use super::plans::{planning_ms, plans};
pub use super::sample::{result, sample};
pub use super::setup::{Params, Session, close, open, write_costs};
pub use super::stop::{Failed, Stop, status_of};
