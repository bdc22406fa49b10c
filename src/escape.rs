//! Escaping of every string that comes from a scenario or from the database.
//!
//! Names, ids, SQL, plan text and server settings are all attacker-controlled as
//! far as a rendering is concerned: a scenario file from a pull request can name a
//! variant `</script><img src=x onerror=…>`. Everything that is not a literal of
//! the renderer goes through one of these functions: [`html`] for the HTML report,
//! [`md_cell`] / [`md_text`] / [`md_code`] for the Markdown of `querylab report` and
//! the GitHub step summary of `querylab check`.

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Escapes text for one cell of a GitHub-flavoured Markdown table.
///
/// A `|` would split the cell, a newline would end the row, and `` ` * _ [ ] `` would
/// start code, emphasis or links; `<` and `>` would let raw HTML through (GitHub
/// renders some of it in job summaries and comments). Backslash escapes work for
/// the Markdown characters; angle brackets become entities because GitHub does not
/// honour `\<` everywhere.
pub fn md_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for c in text.chars() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => {}
            '\n' | '\t' => out.push(' '),
            other => out.push(other),
        }
    }
    out
}

/// Escapes text for Markdown prose outside tables (list items, headings): the same
/// characters as [`md_cell`], since a line break must not start a new block either.
pub fn md_text(text: &str) -> String {
    md_cell(text)
}

/// Text as a Markdown code span (`` `name` ``) that stays one span and one table
/// cell whatever it holds: the fence is longer than any run of backticks inside, a
/// `|` is escaped (GitHub splits table cells before it parses code spans) and line
/// breaks become spaces. Inside a code span nothing else is interpreted: `<`, `*`
/// and `_` show as typed.
pub fn md_code(text: &str) -> String {
    let body: String = text
        .chars()
        .filter(|c| *c != '\r')
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A span that starts or ends with a backtick needs a space inside the fence.
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// Counts the cells of one Markdown table row: the `|` separators that are not
/// escaped, minus the leading and trailing ones. Used by tests to prove that no
/// escaped value changes a table's shape.
pub fn md_row_cells(row: &str) -> usize {
    let mut pipes = 0usize;
    let mut escaped = false;
    for c in row.trim().chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '|') => pipes += 1,
            _ => {}
        }
    }
    pipes.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: &str =
        "</SCRIPT><img src=x onerror=alert(1)> `a|b` *c* _d_ [e](f) \"g\" 'h' &i\nj";

    #[test]
    fn html_escapes_markup_and_quotes() {
        let e = html(NASTY);
        for raw in ["<", ">", "\"", "'"] {
            assert!(!e.contains(raw), "raw {raw} in {e}");
        }
        assert!(e.contains("&lt;/SCRIPT&gt;&lt;img src=x"));
        assert!(e.contains("&amp;i"));
        assert_eq!(html("plain text"), "plain text");
    }

    #[test]
    fn md_cell_keeps_one_cell_and_one_line() {
        let e = md_cell(NASTY);
        assert!(!e.contains('\n'));
        assert!(!e.contains('<'));
        assert_eq!(md_row_cells(&format!("| {e} | x |")), 2);
        assert!(e.contains("\\`a\\|b\\`"));
        assert!(e.contains("\\*c\\*"));
        assert!(e.contains("\\[e\\]"));
    }

    #[test]
    fn md_code_keeps_one_span_and_one_cell() {
        assert_eq!(md_code("jobs.claim / v0"), "`jobs.claim / v0`");
        let e = md_code(NASTY);
        assert!(!e.contains('\n'));
        assert_eq!(md_row_cells(&format!("| {e} | x |")), 2);
        assert!(e.starts_with("``") && !e.starts_with("```"), "{e}");
        assert_eq!(md_code("`a`"), "`` `a` ``");
    }

    #[test]
    fn a_trailing_backslash_cannot_escape_the_separator() {
        let e = md_cell("ends with \\");
        assert_eq!(md_row_cells(&format!("| {e} | x |")), 2);
    }

    #[test]
    fn row_cell_count_ignores_escaped_pipes() {
        assert_eq!(md_row_cells("| a | b \\| c | d |"), 3);
        assert_eq!(md_row_cells("|---|---|"), 2);
    }
}
