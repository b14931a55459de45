//! Geometry of the text editors (the correction, a critique's comment, a
//! verdict's rationale). tui-textarea edits the raw text; crit draws it
//! (`view::editor`) soft-wrapped, each control or invisible character as
//! one visible token, so what the editor shows can never drive the
//! terminal and the text saved is the text edited. The drawing and the
//! update (moving by screen line) both lay the text out here.

use super::text;
use std::ops::Range;
use tui_textarea::{CursorMove, TextArea};

/// Screen rows of `lines` in an editor `width` columns wide: (line index,
/// byte range). One column stays free for the cursor after a full row.
pub fn rows(lines: &[String], width: usize) -> Vec<(usize, Range<usize>)> {
    let w = width.saturating_sub(1).max(1);
    lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| text::wrap(l, w).into_iter().map(move |r| (i, r)))
        .collect()
}

/// Byte offset of char `col` in `line` (its end when past it).
pub fn byte_at(line: &str, col: usize) -> usize {
    line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
}

/// The row holding byte `pos` of line `line`.
pub fn row_of(rows: &[(usize, Range<usize>)], line: usize, pos: usize) -> usize {
    let first = rows.partition_point(|(l, _)| *l < line);
    let end = rows.partition_point(|(l, _)| *l <= line);
    let within = rows[first..end].partition_point(|(_, r)| r.start <= pos);
    (first + within.saturating_sub(1)).min(rows.len().saturating_sub(1))
}

/// The cursor as (row of the screen layout, byte offset in its line).
pub fn cursor(ta: &TextArea<'_>, rows: &[(usize, Range<usize>)]) -> (usize, usize) {
    let (line, col) = ta.cursor();
    let pos = byte_at(&ta.lines()[line], col);
    (row_of(rows, line, pos), pos)
}

/// Move the cursor one screen row up (`-1`) or down (`1`), keeping its
/// column, as an editor with soft-wrapped lines does. Returns false when
/// it cannot (first or last row, or a line too long to jump in; then the
/// caller leaves it to tui-textarea's own line-wise move).
pub fn move_vertically(ta: &mut TextArea<'_>, width: usize, dir: isize) -> bool {
    let rows = rows(ta.lines(), width);
    let (row, pos) = cursor(ta, &rows);
    let Some(target) = row.checked_add_signed(dir).filter(|t| *t < rows.len()) else {
        return false;
    };
    let (line, from) = &rows[row];
    let col = text::column(&ta.lines()[*line], from, pos);
    let (to_line, to) = &rows[target];
    let t = &ta.lines()[*to_line];
    let last_of_line = rows.get(target + 1).is_none_or(|(l, _)| l != to_line);
    let byte = if last_of_line && col >= text::str_width(&t[to.clone()]) {
        to.end
    } else {
        text::at_column(t, to, col)
    };
    let chars = t[..byte].chars().count();
    match (u16::try_from(*to_line), u16::try_from(chars)) {
        (Ok(r), Ok(c)) => {
            ta.move_cursor(CursorMove::Jump(r, c));
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(text: &str) -> TextArea<'static> {
        TextArea::new(text.split('\n').map(str::to_string).collect())
    }

    #[test]
    fn rows_wrap_each_line_and_leave_a_cursor_column() {
        let lines = vec!["one two three".to_string(), String::new()];
        // 9 columns: rows of at most 8, so "one two " and "three".
        let r = rows(&lines, 9);
        assert_eq!(r, vec![(0, 0..8), (0, 8..13), (1, 0..0)]);
        assert_eq!(row_of(&r, 0, 13), 1, "end of the line");
        assert_eq!(row_of(&r, 0, 5), 0);
        assert_eq!(row_of(&r, 0, 8), 1);
        assert_eq!(row_of(&r, 1, 0), 2);
    }

    #[test]
    fn up_and_down_move_by_screen_row() {
        let mut ta = area("aaaa bbbb cccc\nxy");
        ta.move_cursor(CursorMove::Jump(0, 8)); // in "bbbb"
        assert!(move_vertically(&mut ta, 6, 1));
        assert_eq!(ta.cursor(), (0, 13), "same column, next row");
        assert!(move_vertically(&mut ta, 6, 1));
        assert_eq!(ta.cursor(), (1, 2), "end of a shorter last row");
        assert!(!move_vertically(&mut ta, 6, 1));
        assert!(move_vertically(&mut ta, 6, -1));
        assert_eq!(ta.cursor().0, 0);
    }

    #[test]
    fn a_placeholder_is_one_step() {
        // "a⟨U+200B⟩b": the invisible char is 8 columns, one char.
        let mut ta = area("a\u{200b}b\nlonger line here");
        ta.move_cursor(CursorMove::Jump(1, 9));
        assert!(move_vertically(&mut ta, 40, -1));
        assert_eq!(ta.cursor(), (0, 2), "column 9 is after the placeholder");
    }
}
