//! The sections of a report, each a free function rendering one part of the page
//! (and, where the Markdown has the same part, the model both formats share). They
//! are composed by [`super::page`] and the Markdown; they build on the leaf cells
//! of [`super::parts`] and never call back into the page.
//!
//! - `advice`: `querylab advise`'s recommendation, candidates and health findings;
//! - `summary`: the table of verdicts at the top, one row per comparison;
//! - `comparison`: one comparison in full (headline, variants, charts, plans);
//! - `scaling`: median latency against table size, one server at several sizes;
//! - `servers`: one size on several servers side by side (HTML and Markdown);
//! - `workload`: a workload comparison's table, curves against clients and latency
//!   histograms (HTML; its rows also feed the Markdown);
//! - `environment`: how the run was made and on what;
//! - `layouts`: a comparison's designs, their bytes and writes beside their reads;
//! - `changes`: run against run, with `querylab check`'s verdicts (HTML; its model
//!   also feeds the Markdown).

pub(super) mod advice;
pub(super) mod changes;
pub(super) mod comparison;
pub(super) mod environment;
pub(super) mod layouts;
pub(super) mod scaling;
pub(super) mod servers;
pub(super) mod summary;
pub(super) mod workload;
