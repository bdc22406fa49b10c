//! The summary table at the top of the HTML report: one row per comparison with
//! winner, speed-up, why, expectations and result check, linking to the details.
//!
//! With several sizes of one server the largest size leads (it is the one people
//! came for) and each row also gives the speed-up at the smaller sizes; the smaller
//! sizes' own tables follow, folded.

use std::fmt::Write as _;

use crate::results::{ComparisonResult, Dataset, RunResults};

use crate::escape::html as esc;
use crate::units::{count, rows_short, times};

use super::super::headline::{self, Headline, Why};
use super::super::parts::{anchor, check_cell, dataset_title, expectations_cell};

pub(in crate::report) fn render(run: &RunResults, out: &mut String) {
    out.push_str("<section id=\"summary\"><h2>Summary</h2>");
    if run.datasets.is_empty() {
        out.push_str("<p>No comparison was measured.</p>");
    }
    let mut servers: Vec<&str> = Vec::new();
    for d in &run.datasets {
        if !servers.contains(&d.server.label.as_str()) {
            servers.push(&d.server.label);
        }
    }
    for server in servers {
        let mut sets: Vec<(usize, &Dataset)> = run
            .datasets
            .iter()
            .enumerate()
            .filter(|(_, d)| d.server.label == server)
            .collect();
        sets.sort_by_key(|(_, d)| std::cmp::Reverse(d.rows));
        let Some(((di, largest), smaller)) = sets.split_first() else {
            continue;
        };
        let _ = write!(out, "<h3>{}</h3>", esc(&dataset_title(largest)));
        let others: Vec<&Dataset> = smaller.iter().rev().map(|(_, d)| *d).collect();
        table(*di, largest, &others, out);
        if !smaller.is_empty() {
            let sizes: Vec<String> = smaller.iter().rev().map(|(_, d)| count(d.rows)).collect();
            let _ = write!(
                out,
                "<details class=\"smaller\"><summary>Summary at the smaller sizes ({} rows)</summary>",
                sizes.join(", ")
            );
            for (di, d) in smaller.iter().rev() {
                let _ = write!(out, "<h4>{}</h4>", esc(&dataset_title(d)));
                table(*di, d, &[], out);
            }
            out.push_str("</details>");
        }
    }
    out.push_str("</section>");
}

/// The table of dataset `di`; `others` are the same server's smaller datasets,
/// whose speed-ups are shown under each row's own.
fn table(di: usize, d: &Dataset, others: &[&Dataset], out: &mut String) {
    out.push_str(
        "<table class=\"summary\"><thead><tr><th>Comparison</th><th>Winner</th>\
         <th class=\"num\">Speed-up</th><th>Why</th><th>Expectations</th>\
         <th>Result check</th></tr></thead><tbody>",
    );
    for (ci, c) in d.comparisons.iter().enumerate() {
        row(c, &anchor(di, ci), others, out);
    }
    out.push_str("</tbody></table>");
}

/// `10k: 4.29× · 100k: 40.7×`: the same winner against the same loser at the
/// smaller sizes, so growth shows in the table already.
fn at_other_sizes(c: &ComparisonResult, winner: &str, loser: &str, others: &[&Dataset]) -> String {
    let parts: Vec<String> = others
        .iter()
        .filter_map(|d| {
            let oc = d.comparisons.iter().find(|x| x.id == c.id)?;
            let w = oc.variant(winner)?.stats?;
            let l = oc.variant(loser)?.stats?;
            (w.median_ns > 0.0).then(|| {
                format!(
                    "{}: {}",
                    rows_short(d.rows),
                    times(l.median_ns / w.median_ns)
                )
            })
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("<div class=\"muted sizes\">{}</div>", parts.join(" · "))
    }
}

fn row(c: &ComparisonResult, anchor: &str, others: &[&Dataset], out: &mut String) {
    let _ = write!(
        out,
        "<tr><td><a href=\"#{anchor}\">{}</a><div class=\"cid\">{}</div></td>",
        esc(&c.title),
        esc(&c.id)
    );
    match headline::headline(c) {
        Headline::Wins {
            winner,
            loser,
            factor,
            within_noise,
        } => {
            let noise = if within_noise {
                "<div class=\"muted\">within noise</div>"
            } else {
                ""
            };
            let _ = write!(
                out,
                "<td class=\"winner\">{}</td><td class=\"num speedup\">{}<div class=\"muted\">vs {}</div>{noise}{}</td>",
                esc(&winner.name),
                factor.map(times).unwrap_or_else(|| "–".into()),
                esc(&loser.name),
                at_other_sizes(c, &winner.name, &loser.name, others)
            );
            out.push_str("<td class=\"why\">");
            for w in headline::why(winner, loser) {
                let _ = write!(out, "<div>{}</div>", why_short(&w));
            }
            out.push_str("</td>");
        }
        Headline::Alone { winner } => {
            let _ = write!(
                out,
                "<td class=\"winner\">{}</td><td class=\"num\">–<div class=\"muted\">wins by default</div></td>\
                 <td class=\"why\">every other variant timed out, failed or returned other rows</td>",
                esc(&winner.name)
            );
        }
        Headline::NoWinner => out.push_str(
            "<td class=\"bad\">none</td><td class=\"num\">–</td>\
             <td class=\"why\">no variant finished with the reference's rows</td>",
        ),
    }
    let _ = write!(out, "<td>{}</td>", expectations_cell(c, true));
    let _ = write!(out, "<td>{}</td></tr>", check_cell(c.result_check.status));
}

/// A reason in a few words: the plan's access path (its last step, the full head
/// in the tooltip) and the blocks it touched.
fn why_short(w: &Why) -> String {
    match w {
        Why::Plan {
            variant,
            head,
            blocks,
            more,
        } => {
            let path = head.rsplit(" > ").next().unwrap_or(head);
            format!(
                "<b>{}</b> <code title=\"{}\">{}</code> · {} blocks{}",
                esc(variant),
                esc(head),
                esc(path),
                count(*blocks),
                more.map(|m| format!(" <b>({} more)</b>", times(m)))
                    .unwrap_or_default()
            )
        }
        Why::Finding(_) => headline::why_html(w, true),
    }
}
