//! The assistance panel: generation status, the item list of the current
//! tab (scrolled so the selected item shows), your own critiques, or why
//! there is nothing (hidden, failed, no model).

use super::parts::{block, indented, plain_lines, truncate, Lines};
use super::theme::Theme;
use super::{diff, lists};
use crate::assist::Kind;
use crate::session::event::FailReason;
use crate::tui::drawn::DrawnList;
use crate::tui::keymap::Action;
use crate::tui::state::{severity_name, App, Focus, Protocol, Tab};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Borders, Paragraph, Widget};
use std::ops::Range;

/// Draw the panel; returns the rows of each list item drawn.
pub(super) fn assist(app: &App, th: &Theme, area: Rect, buf: &mut Buffer) -> Option<DrawnList> {
    let b = block(String::new(), th.focus_border(app.focus == Focus::Assist)).borders(Borders::ALL);
    let inner = b.inner(area);
    b.render(area, buf);
    if app.tab == Tab::Diff {
        diff::diff(app, th, inner, buf);
        return None;
    }
    let (head, items, tail) = assist_content(app, th, inner.width as usize);
    let avail = (inner.height as usize).saturating_sub(head.len());
    let heights: Vec<usize> = items.iter().map(Vec::len).collect();
    let first = first_visible(&heights, app.selected(), avail);
    let rows = item_rows(&heights, first, inner, head.len());
    let mut lines = head;
    for item in items.into_iter().skip(first) {
        lines.extend(item);
    }
    lines.extend(tail);
    lines.truncate(inner.height as usize);
    Paragraph::new(lines).render(inner, buf);
    Some(DrawnList {
        tab: app.tab,
        items: rows,
    })
}

/// First item to draw so that the selected one fits below it.
fn first_visible(heights: &[usize], sel: usize, avail: usize) -> usize {
    let mut first = 0;
    let sel = sel.min(heights.len().saturating_sub(1));
    while first < sel && heights[first..=sel].iter().sum::<usize>() > avail {
        first += 1;
    }
    first
}

/// Screen rows of each item drawn from `first` on below `head` lines,
/// clipped to the panel.
fn item_rows(
    heights: &[usize],
    first: usize,
    inner: Rect,
    head: usize,
) -> Vec<(usize, Range<u16>)> {
    let bottom = usize::from(inner.bottom());
    let mut row = usize::from(inner.y) + head;
    let mut out = Vec::new();
    for (i, h) in heights.iter().enumerate().skip(first) {
        if row >= bottom {
            break;
        }
        let end = (row + h).min(bottom);
        out.push((i, row as u16..end as u16));
        row += h;
    }
    out
}

/// Header lines (status of generation), one block of lines per item, and
/// trailing lines.
fn assist_content(app: &App, th: &Theme, width: usize) -> (Lines, Vec<Lines>, Lines) {
    if app.hidden() {
        return (hidden_lines(app, th, width), Vec::new(), Vec::new());
    }
    let kind = app.tab.kind().unwrap_or(Kind::Critique);
    let mut head = generation_lines(app, th, kind, width);
    if head.is_empty() {
        let cur = app.current_assist(kind);
        head = truncation_lines(cur.and_then(|r| r.assistance.truncated.as_ref()), th);
    }
    let items = match app.tab {
        Tab::Critiques => lists::critique_items(app, th, width),
        Tab::Checks => lists::check_items(app, th, width),
        _ => lists::step_items(app, th, width),
    };
    if items.is_empty() && head.is_empty() {
        head = empty_lines(app, th, kind, width);
    }
    let tail = if app.tab == Tab::Critiques {
        own_critiques(app, th, width)
    } else {
        Vec::new()
    };
    (head, items, tail)
}

fn hidden_lines(app: &App, th: &Theme, width: usize) -> Lines {
    let v = app.key(Action::Verdict);
    let msg = match app.arm(app.current) {
        Protocol::Unassisted => format!(
            "This task is in the unassisted (control) arm: no assistance is shown. Judge the answer on your own and record the verdict with {v}."
        ),
        _ => format!(
            "Assistance is hidden (blind-first protocol). Read the answer and record your unaided verdict with {v}; the assistance is then revealed for an assisted verdict."
        ),
    };
    plain_lines(th, &msg, width)
        .into_iter()
        .map(|l| l.style(th.warn()))
        .collect()
}

fn generation_lines(app: &App, th: &Theme, kind: Kind, width: usize) -> Lines {
    let Some((_, g)) = app.gen_for(kind) else {
        return Vec::new();
    };
    if !g.started {
        let msg = format!("{} queued: waiting for the model…", kind.name());
        return vec![Line::styled(msg, th.dim())];
    }
    let mut lines = truncation_lines(g.truncated.as_ref(), th);
    if g.tokens == 0 {
        let msg = format!(
            "{}: reading the prompt ({} tokens)… (Esc cancels)",
            kind.name(),
            g.prompt_tokens
        );
        lines.push(Line::styled(msg, th.warn()));
        return lines;
    }
    let rate = g
        .tokens_per_s()
        .map_or(String::new(), |r| format!(" · {r:.1} tok/s"));
    lines.push(Line::styled(
        format!(
            "generating {}… {} tokens{rate} (Esc cancels)",
            kind.name(),
            g.tokens
        ),
        th.warn(),
    ));
    let tail = plain_lines(th, &g.text, width.max(1));
    let skip = tail.len().saturating_sub(3);
    lines.extend(tail.into_iter().skip(skip).map(|l| l.style(th.dim())));
    lines.push(Line::raw(""));
    lines
}

/// The answer did not fit the model's context: say so, never silently.
fn truncation_lines(t: Option<&crate::assist::Truncation>, th: &Theme) -> Lines {
    t.map(|t| {
        Line::styled(
            format!(
                "answer truncated: the model saw {} of {} bytes",
                t.kept_bytes, t.total_bytes
            ),
            th.bad(),
        )
    })
    .into_iter()
    .collect()
}

fn empty_lines(app: &App, th: &Theme, kind: Kind, width: usize) -> Lines {
    let failure = app.task_state().last_failure(kind).map(|f| match f.reason {
        FailReason::Cancelled => "cancelled",
        FailReason::Error => f.error.as_str(),
    });
    let msg = if let Some(why) = &app.opts.no_assist {
        format!(
            "No assistance ({why}). Manual review works: read, add your own critiques ({}), correct ({}) and record the verdict ({}).",
            app.key(Action::AddCritique),
            app.key(Action::EditCorrection),
            app.key(Action::Verdict)
        )
    } else if let Some(err) = failure {
        format!(
            "{} generation did not finish: {err}. {} retries.",
            kind.name(),
            app.key(Action::Regenerate)
        )
    } else if app.opts.read_only {
        "Nothing generated for this task (read-only).".into()
    } else {
        format!("No {} for this task.", kind.name())
    };
    plain_lines(th, &msg, width)
        .into_iter()
        .map(|l| l.style(th.dim()))
        .collect()
}

fn own_critiques(app: &App, th: &Theme, width: usize) -> Lines {
    let mine: Vec<_> = app
        .task_state()
        .user_critiques
        .iter()
        .filter(|u| u.evaluator == app.opts.evaluator)
        .collect();
    if mine.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::styled(
        format!("── your critiques ({}) ──", mine.len()),
        th.bold(),
    )];
    for u in mine {
        let side = if u.side == crate::task::Side::B {
            " [B]"
        } else {
            ""
        };
        let s = format!(
            "{} · {}{side} “{}” — {}",
            severity_name(u.severity),
            u.category,
            truncate(&u.quote.replace('\n', " "), 30),
            u.comment
        );
        lines.extend(
            indented(th, &s, width, 1)
                .into_iter()
                .map(|l| l.style(th.own_quote())),
        );
    }
    lines
}
