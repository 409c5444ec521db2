//! Aligned text tables for people: a header row, columns padded to their widest cell,
//! two spaces between them, and no padding after the last one.
//!
//! Widths are display columns (`unicode-width`), so CJK characters and emoji, which a
//! terminal draws two columns wide, keep their rows in line. Long cells are cut, with
//! `…` where they were cut, as the [`Layout`] says: on a terminal the table is fitted to
//! its width, in a pipe each column but the last is cut at [`PIPE_MAX`], and `--wide`
//! cuts nothing. A column headed `ID` is never cut: ids are what people copy.

use std::io::IsTerminal;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// A table being built.
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

/// Space between columns.
const GAP: &str = "  ";

/// In a pipe, the most columns a cell other than the last of its row takes.
pub(crate) const PIPE_MAX: usize = 60;

/// When fitting a terminal, a column is not cut below this (or its header, if wider).
const MIN_FIT: usize = 8;

/// How wide a table may be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Every cell whole (`--wide`).
    Whole,
    /// Fitted to a terminal this many columns wide, the widest columns cut first.
    Fit(usize),
    /// Each column but the last cut at this many columns (output to a pipe or a file).
    CapEach(usize),
}

impl Layout {
    /// The layout for standard output: whole with `wide`, fitted to the terminal when
    /// it is one (its size, else `COLUMNS`, else 80), else [`PIPE_MAX`] a column.
    pub(crate) fn for_stdout(wide: bool) -> Self {
        if wide {
            return Self::Whole;
        }
        if !std::io::stdout().is_terminal() {
            return Self::CapEach(PIPE_MAX);
        }
        let columns = terminal_size::terminal_size()
            .map(|(width, _)| usize::from(width.0))
            .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
            .filter(|&c| c > 0)
            .unwrap_or(80);
        Self::Fit(columns)
    }
}

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

    /// The table as lines of text, each ending in a newline, cut as `layout` says.
    pub(crate) fn render(&self, layout: Layout) -> String {
        let widths = self.widths(layout);
        let mut text = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str(GAP);
                }
                let cell = clip(cell, widths[i]);
                line.push_str(&cell);
                let pad = widths[i].saturating_sub(cell.width());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }

    /// Each column's width: its widest cell's, then cut as `layout` says.
    fn widths(&self, layout: Layout) -> Vec<usize> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.width());
            }
        }
        let headers = &self.rows[0];
        let header = |i: usize| headers.get(i).map_or("", String::as_str);
        let cuttable = |i: usize| header(i) != "ID";
        match layout {
            Layout::Whole => {}
            Layout::CapEach(max) => {
                for (i, width) in widths.iter_mut().enumerate() {
                    if cuttable(i) && i + 1 < columns {
                        *width = (*width).min(max.max(header(i).width()));
                    }
                }
            }
            Layout::Fit(total) => {
                let floor = |i: usize| MIN_FIT.max(header(i).width());
                let gaps = GAP.len() * columns.saturating_sub(1);
                let mut over = (widths.iter().sum::<usize>() + gaps).saturating_sub(total);
                // Take a column at a time off the widest column that may still shrink.
                while over > 0 {
                    let widest = (0..columns)
                        .filter(|&i| cuttable(i) && widths[i] > floor(i))
                        .max_by_key(|&i| widths[i]);
                    let Some(i) = widest else { break };
                    widths[i] -= 1;
                    over -= 1;
                }
            }
        }
        widths
    }
}

/// Cuts text to `max` display columns, marking the cut with `…`.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_owned();
    }
    let room = max.saturating_sub(1);
    let mut clipped = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        clipped.push(c);
    }
    if max > 0 {
        clipped.push('…');
    }
    clipped
}

/// The text of an optional cell, or a dash.
pub(crate) fn or_dash(text: Option<impl ToString>) -> String {
    text.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

/// A text cell, or a dash when it is empty (the wire types read an absent text as
/// empty).
pub(crate) fn text_or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
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
            table.render(Layout::Whole),
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
        assert_eq!(
            table.render(Layout::Whole),
            "ID  MESSAGE\n1   two lines\n2\n3\n"
        );
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let mut table = Table::new(&["A", "B"]);
        table.row(vec!["ééé".into(), "x".into()]);
        table.row(vec!["abcd".into(), "y".into()]);
        assert_eq!(table.render(Layout::Whole), "A     B\nééé   x\nabcd  y\n");
    }

    #[test]
    fn wide_characters_pushed_their_rows_out_of_line() {
        let mut table = Table::new(&["NAME", "KIND"]);
        table.row(vec!["日本語".into(), "bot".into()]);
        table.row(vec!["🚀 launch".into(), "process".into()]);
        table.row(vec!["plain".into(), "bot".into()]);
        assert_eq!(
            table.render(Layout::Whole),
            "NAME       KIND\n\
             日本語     bot\n\
             🚀 launch  process\n\
             plain      bot\n"
        );
    }

    #[test]
    fn in_a_pipe_long_cells_are_cut_but_ids_and_the_last_column_are_not() {
        let mut table = Table::new(&["ID", "NAME", "MESSAGE"]);
        let id = "0".repeat(50);
        let message = "m".repeat(50);
        table.row(vec![id.clone(), "n".repeat(50), message.clone()]);
        let text = table.render(Layout::CapEach(10));
        let row = text.lines().nth(1).expect("one row");
        assert_eq!(row, format!("{id}  nnnnnnnnn…  {message}"));
    }

    #[test]
    fn a_table_is_fitted_to_the_terminal_cutting_the_widest_column_first() {
        let mut table = Table::new(&["ID", "JOB", "STATUS", "MESSAGE"]);
        table.row(vec![
            "0123".into(),
            "ジョブ名がとても長い".into(),
            "Running".into(),
            "a message that goes on and on".into(),
        ]);
        let text = table.render(Layout::Fit(50));
        for line in text.lines() {
            assert!(line.width() <= 50, "{line:?} is {} wide", line.width());
        }
        let (header, row) = (text.lines().next(), text.lines().nth(1));
        let (header, row) = (header.expect("a header"), row.expect("one row"));
        assert!(row.starts_with("0123  ジョブ"), "{row}");
        assert!(row.ends_with('…'), "{row}");
        // Cut or not, the columns stay in line.
        let column = |line: &str, word: &str| line[..line.find(word).expect(word)].width();
        assert_eq!(column(header, "STATUS"), column(row, "Running"), "{text}");
        // Too narrow for anything: columns keep their floor and the id stays whole.
        let text = table.render(Layout::Fit(10));
        assert!(text.lines().nth(1).expect("one row").starts_with("0123  "));
    }

    #[test]
    fn clipping_marks_the_cut_and_never_splits_a_wide_character() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("a long message", 6), "a lon…");
        assert_eq!(clip("日本語テキスト", 6), "日本…");
        assert_eq!(clip("日本語テキスト", 5), "日本…");
        assert_eq!(clip("🚀🚀🚀", 4), "🚀…");
        assert_eq!(or_dash(None::<i64>), "-");
        assert_eq!(or_dash(Some(3)), "3");
    }
}
