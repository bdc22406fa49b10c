//! The JSON verdicts file: [`CheckReport`] as is, for tools and for a later look.

use super::CheckReport;

/// Renders the report as pretty-printed JSON (the verdicts file).
pub fn render_json(report: &CheckReport) -> String {
    // Plain data with string keys: serializing cannot fail (non-finite floats become null).
    serde_json::to_string_pretty(report).expect("check report serializes")
}
