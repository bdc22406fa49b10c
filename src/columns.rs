//! The one terminal column aligner, used by the table `querylab run` prints and by
//! the table of `querylab check`: plain text, no colour codes, so it reads the same
//! in a terminal and in a CI log.

/// How a column's cells sit in its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text columns.
    Left,
    /// Number columns, so digits line up.
    Right,
}

/// Lays out `header` and `rows` in columns two spaces apart, widths counted in
/// characters (the arrows and `µ` are multi-byte), trailing spaces trimmed.
/// `align` gives each column's alignment (missing entries are left-aligned); with
/// `rule`, a line of dashes as wide as the table follows the header.
pub fn align<R: AsRef<[String]>>(
    header: &[String],
    rows: &[R],
    align: &[Align],
    rule: bool,
) -> String {
    let lines: Vec<&[String]> = std::iter::once(header)
        .chain(rows.iter().map(AsRef::as_ref))
        .collect();
    let columns = lines.iter().map(|l| l.len()).max().unwrap_or(0);
    let mut width = vec![0usize; columns];
    for line in &lines {
        for (w, cell) in width.iter_mut().zip(line.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(width[i] - cell.chars().count());
            match align.get(i).copied().unwrap_or(Align::Left) {
                Align::Left => {
                    text.push_str(cell);
                    text.push_str(&pad);
                }
                Align::Right => {
                    text.push_str(&pad);
                    text.push_str(cell);
                }
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
        if n == 0 && rule {
            let total = width.iter().sum::<usize>() + 2 * columns.saturating_sub(1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_line_up_by_characters() {
        let header = cells(&["name", "median"]);
        let rows = [cells(&["a", "1.2 µs"]), cells(&["long name", "12 ms"])];
        let t = align(&header, &rows, &[Align::Left, Align::Right], true);
        assert_eq!(
            t,
            "name       median\n-----------------\na          1.2 µs\nlong name   12 ms\n"
        );
        let t = align(&header, &rows, &[], false);
        assert_eq!(
            t,
            "name       median\na          1.2 µs\nlong name  12 ms\n"
        );
    }
}
