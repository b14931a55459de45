//! Pieces every part of the screen uses: bordered blocks, truncation and
//! wrapped, sanitized lines. Raw text becomes a `Line` only through
//! `styled_line`, which draws each char as `text::display` does and marks
//! the visible form of a control or invisible character with its own style,
//! so an evaluator tells `⟨U+200B⟩` in the data from the same letters typed.

use super::theme::Theme;
use crate::sanitize::is_unsafe;
use crate::tui::text;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use std::ops::Range;

pub(super) type Lines = Vec<Line<'static>>;

/// A bordered block; the title is sanitized (it may hold task ids and key
/// names from the config).
pub(super) fn block(title: String, style: Style) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(text::display(&title))
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
pub(super) fn plain_lines(th: &Theme, t: &str, width: usize) -> Lines {
    text::wrap(t, width)
        .into_iter()
        .map(|r| styled_line(th, t, r, &[]))
        .collect()
}

/// Wrapped, sanitized, trimmed text indented by `n` columns.
pub(super) fn indented(th: &Theme, t: &str, width: usize, n: usize) -> Lines {
    let t = t.trim();
    text::wrap(t, width.saturating_sub(n).max(8))
        .into_iter()
        .map(|r| {
            let mut l = styled_line(th, t, r, &[]);
            l.spans.insert(0, Span::raw(" ".repeat(n)));
            l
        })
        .collect()
}

/// One visual line of raw text `t`, split into styled segments by the marks
/// over it (later marks win), each control or invisible character drawn as
/// its marked visible form.
pub(super) fn styled_line(
    th: &Theme,
    t: &str,
    line: Range<usize>,
    marks: &[(Range<usize>, Style)],
) -> Line<'static> {
    let mut cuts = vec![line.start, line.end];
    for (r, _) in marks {
        for p in [r.start, r.end] {
            if p > line.start && p < line.end && t.is_char_boundary(p) {
                cuts.push(p);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut spans = Vec::with_capacity(cuts.len());
    for w in cuts.windows(2) {
        let style = marks
            .iter()
            .filter(|(r, _)| r.start < w[1] && r.end > w[0])
            .fold(Style::default(), |s, (_, m)| s.patch(*m));
        push_runs(&mut spans, &t[w[0]..w[1]], style, th.placeholder());
    }
    // A cursor on the newline at the end of a line still shows.
    if let Some((r, st)) = marks.last() {
        if r.start == line.end && r.end == line.end + 1 && t[line.end..].starts_with('\n') {
            spans.push(Span::styled(" ", *st));
        }
    }
    Line::from(spans)
}

/// Spans for `s`: runs of plain text in `style`, each unsafe char as its
/// own span with `mark` on top.
fn push_runs(spans: &mut Vec<Span<'static>>, s: &str, style: Style, mark: Style) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if is_unsafe(c) {
            if start < i {
                spans.push(Span::styled(text::display(&s[start..i]), style));
            }
            let end = i + c.len_utf8();
            spans.push(Span::styled(text::display(&s[i..end]), style.patch(mark)));
            start = end;
        }
    }
    if start < s.len() {
        spans.push(Span::styled(text::display(&s[start..]), style));
    }
}
