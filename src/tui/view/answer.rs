//! The prompt block and the answer pane: the answer with its highlights
//! (critique quotes, the selected item's span, your own critiques, the
//! visual selection and the cursor).

use super::parts::{block, plain_lines, styled_line, truncate};
use super::theme::Theme;
use crate::tui::drawn::DrawnAnswer;
use crate::tui::keymap::Action;
use crate::tui::state::{App, Focus, Mode, Tab};
use crate::tui::text;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use std::ops::Range;

pub(super) fn prompt(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) {
    let t = app.task();
    let arm = <&str>::from(app.arm(app.current));
    // The id gets what the rest of the top border leaves.
    let room = (area.width as usize)
        .saturating_sub(24 + arm.len())
        .clamp(8, 40);
    let title = format!(
        " Task {}/{} · {} · {arm} ",
        app.current + 1,
        app.task_count(),
        truncate(&text::display(&t.id), room),
    );
    let mut b = block(title, th.dim());
    // The warnings about the task's text go on the bottom border, where
    // nothing else competes for the room.
    let notes = app.task_notes();
    if !notes.is_empty() {
        let w = truncate(&notes.join(" · "), (area.width as usize).saturating_sub(7));
        let w = format!(" ⚠ {} ", text::display(&w));
        b = b.title_bottom(Line::styled(w, th.warn()).right_aligned());
    }
    let inner = b.inner(area);
    b.render(area, buf);
    let p = app.prompt_text();
    let mut lines = plain_lines(th, &p, inner.width as usize);
    if lines.len() > inner.height as usize {
        lines.truncate(inner.height as usize);
        if let Some(l) = lines.last_mut() {
            l.spans.push(Span::styled(" …", th.dim()));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

fn answer_title(app: &App) -> String {
    let switch = app.key(Action::SwitchAnswer);
    let side = match (app.task().is_pairwise(), app.side_b) {
        (false, _) => "Answer".to_string(),
        (true, false) => format!("Answer A ({switch}: show B)"),
        (true, true) => format!("Answer B ({switch}: show A)"),
    };
    let note = match (app.tab, app.hidden()) {
        (Tab::Critiques, false) => {
            let sel = app.critiques().and_then(|(_, c)| c.get(app.selected()));
            match sel {
                Some(c) if c.span.is_none() => {
                    " · selected quote is UNANCHORED (not in the answer)"
                }
                _ => "",
            }
        }
        _ => "",
    };
    let visual = if app.anchor.is_some() {
        format!(" · VISUAL ({}: critique)", app.key(Action::AddCritique))
    } else {
        String::new()
    };
    format!(" {side}{note}{visual} ")
}

/// Draw the answer pane; returns which part of the answer each row shows.
pub(super) fn answer(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) -> DrawnAnswer {
    let b = block(
        answer_title(app),
        th.focus_border(app.focus == Focus::Answer),
    );
    let inner = b.inner(area);
    b.render(area, buf);
    let t = app.answer();
    let mut lines = text::wrap(t, inner.width as usize);
    let marks = answer_marks(app, th);
    let total = lines.len();
    let start = app.answer_scroll.min(total.saturating_sub(1));
    let end = (start + inner.height as usize).min(total);
    let out: Vec<Line> = lines[start..end]
        .iter()
        .map(|r| styled_line(th, t, r.clone(), &marks))
        .collect();
    Paragraph::new(out).render(inner, buf);
    if total > inner.height as usize {
        let pos = format!(" {}-{}/{} ", start + 1, end, total);
        let x = area.right().saturating_sub(pos.len() as u16 + 1);
        buf.set_string(x, area.bottom() - 1, pos, th.dim());
    }
    // Keep the rows on screen, in place (no copy).
    lines.truncate(end);
    lines.drain(..start);
    DrawnAnswer {
        task: app.current,
        side_b: app.side_b,
        area: inner,
        rows: lines,
    }
}

/// Highlights on the answer, lowest priority first.
fn answer_marks(app: &App, th: &Theme) -> Vec<(Range<usize>, Style)> {
    let mut marks = Vec::new();
    if !app.hidden() && !app.side_b && app.tab == Tab::Critiques {
        if let Some((_, crits)) = app.critiques() {
            marks.extend(
                crits
                    .iter()
                    .filter_map(|c| c.span)
                    .map(|s| (s.start..s.end, th.other_quote())),
            );
        }
    }
    for uc in &app.task_state().user_critiques {
        if (uc.side == crate::task::Side::B) == app.side_b && uc.evaluator == app.opts.evaluator {
            if let Some(s) = uc.span {
                marks.push((s.start..s.end, th.own_quote()));
            }
        }
    }
    if let Some(s) = app.selected_span() {
        marks.push((s.start..s.end, th.selected_quote()));
    }
    if let Some(s) = app.selection() {
        marks.push((s.start..s.end, th.selection()));
    }
    if app.focus == Focus::Answer && matches!(app.mode, Mode::Normal) {
        let end = text::char_end(app.answer(), app.cursor);
        let end = if end == app.cursor {
            app.cursor + 1
        } else {
            end
        };
        marks.push((app.cursor..end, th.selection()));
    }
    marks
}
