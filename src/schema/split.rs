//! Splitting an SQL script into statements, keeping where each one starts.
//!
//! Statements run one at a time so that an error can name the statement and its
//! line, and so that index builds can be timed and scheduled one by one. The
//! splitter understands what can hide a `;`: quoted strings (`'…'`, `E'…'` with
//! backslash escapes), quoted identifiers, `--` and nested `/* */` comments, and
//! dollar quotes (`$tag$…$tag$`). It does not understand SQL-standard function
//! bodies (`BEGIN ATOMIC … END`); write such functions with dollar quotes.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text, trimmed, without its terminating `;`.
    pub text: String,
    /// Byte offset of `text` in the script.
    pub offset: usize,
    /// 1-based line of the statement's first character.
    pub line: usize,
}

/// Splits `sql` into statements; comments before a statement and empty (or
/// comment-only) statements are dropped.
pub fn statements(sql: &str) -> Vec<Statement> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    // Start of the current statement's first code (comments before it are dropped).
    let mut start = 0;
    let mut i = 0;
    let mut has_code = false;
    while i < bytes.len() {
        let c = bytes[i];
        let is_comment = (c == b'-' && bytes.get(i + 1) == Some(&b'-'))
            || (c == b'/' && bytes.get(i + 1) == Some(&b'*'));
        if !has_code && !is_comment && !c.is_ascii_whitespace() && c != b';' {
            start = i;
        }
        match c {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = find_from(bytes, i, b"\n").map_or(bytes.len(), |p| p + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'\'' => {
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && !ident_char_before(bytes, i - 1);
                i = skip_quoted(bytes, i, b'\'', escapes);
                has_code = true;
                continue;
            }
            b'"' => {
                i = skip_quoted(bytes, i, b'"', false);
                has_code = true;
                continue;
            }
            b'$' if !ident_char_before(bytes, i) => {
                if let Some(end) = dollar_tag_end(bytes, i) {
                    let tag = &bytes[i..=end];
                    i = find_from(bytes, end + 1, tag).map_or(bytes.len(), |p| p + tag.len());
                    has_code = true;
                    continue;
                }
            }
            b';' => {
                push(sql, start, i, has_code, &mut out);
                has_code = false;
            }
            c if !c.is_ascii_whitespace() => has_code = true,
            _ => {}
        }
        i += 1;
    }
    push(sql, start, bytes.len(), has_code, &mut out);
    out
}

fn push(sql: &str, start: usize, end: usize, has_code: bool, out: &mut Vec<Statement>) {
    if !has_code {
        return;
    }
    out.push(Statement {
        text: sql[start..end].trim_end().to_string(),
        offset: start,
        line: line_of(sql, start),
    });
}

/// 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// 1-based (line, column) of byte `offset` in `text`; the column counts characters.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    (
        line_of(text, offset),
        before[line_start..].chars().count() + 1,
    )
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ident_char_before(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] >= 0x80)
}

fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= bytes.len() {
        return None;
    }
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Index just past the closing quote of the quoted text opening at `i`. A doubled
/// quote is an escaped quote; with `escapes`, so is a backslash-escaped one.
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8, escapes: bool) -> usize {
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    i
}

/// If a dollar-quote tag (`$$` or `$tag$`) opens at `i`, the index of its closing `$`.
fn dollar_tag_end(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'$' => return Some(j),
            b if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => j += 1,
            b if b.is_ascii_digit() && j > i + 1 => j += 1,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        statements(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_comments_and_dollar_quotes() {
        let sql = "-- a; comment\nCREATE TABLE a (x text DEFAULT ';');\n\
                   /* b; /* nested; */ still; */ SELECT \"we;ird\" FROM a;\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n\
                   SELECT E'it\\'s; fine', $$;$$, 'a''b;c'\n;;  -- trailing\n";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE TABLE a (x text DEFAULT ';')",
                "SELECT \"we;ird\" FROM a",
                "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
                "SELECT E'it\\'s; fine', $$;$$, 'a''b;c'",
            ]
        );
    }

    #[test]
    fn records_offsets_and_lines() {
        let sql = "SELECT 1;\n\n  SELECT 2 -- x\n;";
        let s = statements(sql);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[1].line, &sql[s[1].offset..s[1].offset + 8]),
            (3, "SELECT 2")
        );
        assert_eq!(line_column(sql, s[1].offset + 7), (3, 10));
    }

    #[test]
    fn positional_parameters_are_not_dollar_quotes() {
        assert_eq!(
            texts("SELECT $1; SELECT a$b$c FROM t"),
            vec!["SELECT $1", "SELECT a$b$c FROM t"]
        );
    }
}
