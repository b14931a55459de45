//! A text editor drawn by crit, not by tui-textarea's widget (which puts
//! the raw text into the cells: an answer's escape sequences reached the
//! terminal). The text is soft-wrapped at the area's width; each control
//! or invisible character is one marked token (`\e`, `⟨U+200B⟩`) that the
//! cursor steps over and Backspace deletes whole; the text saved is the
//! raw text as edited. The rows keep the cursor in view.

use super::parts::{styled_line, Lines};
use super::theme::Theme;
use crate::tui::{editor, text};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Widget};
use std::ops::Range;
use tui_textarea::TextArea;

pub(super) fn editor(ta: &TextArea<'_>, th: &Theme, area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let lines = ta.lines();
    let rows = editor::rows(lines, area.width as usize);
    let (cur, pos) = editor::cursor(ta, &rows);
    let cur_line = ta.cursor().0;
    let height = area.height as usize;
    let top = cur.saturating_sub(height - 1);
    let shown = &rows[top..(top + height).min(rows.len())];
    let out: Lines = shown
        .iter()
        .enumerate()
        .map(|(i, (li, r))| {
            let t = &lines[*li];
            let mut marks = Vec::new();
            if let Some(s) = selected(ta, *li, t) {
                marks.push((s, th.selected_quote()));
            }
            if *li == cur_line {
                let end = text::char_end(t, pos);
                if end > pos {
                    marks.push((pos..end, th.cursor()));
                }
            }
            let mut l = styled_line(th, t, r.clone(), &marks);
            if top + i == cur && pos == t.len() {
                l.spans.push(Span::styled(" ", th.cursor()));
            }
            l
        })
        .collect();
    Paragraph::new(out)
        .style(Style::default())
        .render(area, buf);
}

/// The selected bytes of line `li`, if any.
fn selected(ta: &TextArea<'_>, li: usize, t: &str) -> Option<Range<usize>> {
    let ((r0, c0), (r1, c1)) = ta.selection_range()?;
    if li < r0 || li > r1 {
        return None;
    }
    let from = if li == r0 { editor::byte_at(t, c0) } else { 0 };
    let to = if li == r1 {
        editor::byte_at(t, c1)
    } else {
        t.len()
    };
    (from < to).then_some(from..to)
}
