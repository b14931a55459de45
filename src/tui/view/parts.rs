//! Pieces every part of the screen uses: bordered blocks, truncation and
//! wrapped, sanitized lines.

use crate::tui::text;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};

pub(super) type Lines = Vec<Line<'static>>;

pub(super) fn block(title: String, style: Style) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(title)
}

/// At most `n` chars, with an ellipsis when cut.
pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Wrapped, sanitized lines of raw text.
pub(super) fn plain_lines(t: &str, width: usize) -> Lines {
    text::wrap(t, width)
        .into_iter()
        .map(|r| Line::from(text::display(&t[r])))
        .collect()
}

/// Wrapped, sanitized, trimmed text indented by `n` columns.
pub(super) fn indented(t: &str, width: usize, n: usize) -> Lines {
    let pad = " ".repeat(n);
    text::wrap(t.trim(), width.saturating_sub(n).max(8))
        .into_iter()
        .map(|r| Line::raw(format!("{pad}{}", text::display(&t.trim()[r]))))
        .collect()
}
