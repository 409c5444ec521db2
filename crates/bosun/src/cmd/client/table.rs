//! Aligned text tables for people: a header row, columns padded to their widest cell,
//! two spaces between them, and no padding after the last one.
//!
//! Widths count characters, so a cell with wide (CJK) characters or emoji can push its
//! row out of line; job names and messages are rarely like that, and a dependency for
//! display widths is not worth it.

/// A table being built.
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

/// Space between columns.
const GAP: &str = "  ";

impl Table {
    /// A table with these column headers.
    pub(crate) fn new(headers: &[&str]) -> Self {
        Self {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    /// Adds a row. Line breaks and tabs in a cell become spaces so that each row stays
    /// on one line.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .map(|cell| {
                if cell.contains(char::is_control) {
                    cell.replace(char::is_control, " ")
                } else {
                    cell
                }
            })
            .collect();
        self.rows.push(cells);
    }

    /// The table as lines of text, each ending in a newline.
    pub(crate) fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut text = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str(GAP);
                }
                line.push_str(cell);
                let pad = widths[i] - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// Cuts text to `max` characters, marking the cut with `…`.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// The text of an optional cell, or a dash.
pub(crate) fn or_dash(text: Option<impl ToString>) -> String {
    text.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_their_widest_cell() {
        let mut table = Table::new(&["NAME", "KIND", "ID"]);
        table.row(vec!["hello".into(), "process".into(), "1".into()]);
        table.row(vec!["a-much-longer-name".into(), "bot".into(), "22".into()]);
        assert_eq!(
            table.render(),
            "NAME                KIND     ID\n\
             hello               process  1\n\
             a-much-longer-name  bot      22\n"
        );
    }

    #[test]
    fn the_last_column_is_not_padded_and_rows_stay_on_one_line() {
        let mut table = Table::new(&["ID", "MESSAGE"]);
        table.row(vec!["1".into(), "two\nlines".into()]);
        table.row(vec!["2".into(), String::new()]);
        table.row(vec!["3".into()]);
        assert_eq!(table.render(), "ID  MESSAGE\n1   two lines\n2\n3\n");
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let mut table = Table::new(&["A", "B"]);
        table.row(vec!["ééé".into(), "x".into()]);
        table.row(vec!["abcd".into(), "y".into()]);
        assert_eq!(table.render(), "A     B\nééé   x\nabcd  y\n");
    }

    #[test]
    fn clipping_marks_the_cut() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("a long message", 6), "a lon…");
        assert_eq!(or_dash(None::<i64>), "-");
        assert_eq!(or_dash(Some(3)), "3");
    }
}
