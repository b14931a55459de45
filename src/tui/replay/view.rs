//! Drawing the replay screen: the review's own panes (drawn by
//! `tui::view` from the review state at the current event) above, and
//! below them the timeline (wall and active time, marks, idle gaps) beside
//! the event list with the current event highlighted. Overlays: help and
//! the task picker. Text from the log is sanitized before it is drawn.

use super::state::{Mode, Player};
use super::update::KEYS;
use crate::replay::describe::{self, clip};
use crate::replay::timeline::{clock, span};
use crate::replay::{Mark, Timeline, IDLE_GAP_MS, IDLE_PLAY_MS};
use crate::tui::layout;
use crate::tui::text;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

/// Rows of the timeline and event list, at most.
const PANEL_MAX: u16 = 11;
/// Below this the panel has no room for the timeline.
const PANEL_MIN: u16 = 6;

/// Styles, plain when `NO_COLOR` is set (modifiers only).
struct Styles {
    color: bool,
}

impl Styles {
    fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }
    fn current(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    fn mark(&self, m: Mark) -> Style {
        let c = match m {
            Mark::Task => Color::Cyan,
            Mark::Label => Color::Green,
            Mark::Verdict => Color::Yellow,
            Mark::Retract => Color::Red,
        };
        if self.color {
            Style::default().fg(c).add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        }
    }
}

/// Draw the whole replay screen into `buf`.
pub fn draw(p: &Player, area: Rect, buf: &mut Buffer) {
    let panel = area
        .height
        .saturating_sub(layout::MIN_HEIGHT)
        .min(PANEL_MAX);
    if area.width < layout::MIN_WIDTH || panel < PANEL_MIN {
        too_small(area, buf);
        return;
    }
    let st = Styles {
        color: !p.app.opts.no_color,
    };
    let [top, bottom] = Layout::vertical([
        Constraint::Min(layout::MIN_HEIGHT),
        Constraint::Length(panel),
    ])
    .areas(area);
    crate::tui::view::draw(&p.app, top, buf);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);
    timeline(p, &st, left, buf);
    events(p, &st, right, buf);
    match &p.mode {
        Mode::Normal => {}
        Mode::Help => help(&st, area, buf),
        Mode::Picker { sel } => picker(p, &st, *sel, area, buf),
    }
}

fn too_small(area: Rect, buf: &mut Buffer) {
    let msg = format!(
        "Terminal too small: {}x{}. crit replay needs at least {}x{}; please enlarge the window.",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT + PANEL_MIN
    );
    let lines: Vec<Line> = text::wrap(&msg, area.width as usize)
        .into_iter()
        .map(|r| Line::from(msg[r].to_string()).centered())
        .collect();
    let h = (lines.len() as u16).min(area.height);
    let y = area.y + (area.height / 2).saturating_sub(h / 2);
    Paragraph::new(lines).render(Rect::new(area.x, y, area.width, h), buf);
}

fn panel_block(title: String, st: &Styles) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(st.dim())
        .title(title)
}

fn state_word(p: &Player) -> String {
    let live = if p.at_end() && p.follow_error.is_none() {
        " · live"
    } else {
        ""
    };
    let play = if p.playing { "▶ playing" } else { "paused" };
    format!("{play} {}×{live}", p.speed)
}

fn timeline(p: &Player, st: &Styles, area: Rect, buf: &mut Buffer) {
    let tl = p.rec.timeline();
    let title = format!(
        " Replay #{} ({}/{}) · {} ",
        tl.point(p.pos).seq,
        p.pos + 1,
        p.rec.len(),
        state_word(p)
    );
    let b = panel_block(title, st);
    let inner = b.inner(area);
    b.render(area, buf);
    let w = inner.width as usize;
    let (now, end) = (
        tl.point(p.pos),
        tl.end().copied().unwrap_or(*tl.point(p.pos)),
    );
    let who = p
        .rec
        .evaluator()
        .map_or_else(|| "nobody reviewed".to_string(), text::display);
    let mut lines = vec![
        Line::raw(clip(
            &format!(
                "wall {} / {} · active {} / {} · {who}",
                clock(now.wall_ms),
                clock(end.wall_ms),
                clock(now.active_ms),
                clock(end.active_ms)
            ),
            w,
        )),
        bar(tl, p.pos, w, st),
        caret(tl, p.pos, w),
        Line::styled(
            clip(
                &format!(
                    "| task  l label  V verdict  x undo  ≈ idle >{}s",
                    IDLE_GAP_MS / 1000
                ),
                w,
            ),
            st.dim(),
        ),
    ];
    if let Some(note) = note(p) {
        lines.push(Line::raw(clip(&note, w)));
    }
    // The current event in full, in the rows left above the key hints.
    let room = (inner.height as usize).saturating_sub(lines.len() + 1);
    let now = describe::event(p.rec.event(p.pos), p.rec.evaluator());
    let wrapped = text::wrap(&now, w);
    let shown = wrapped.len().min(room);
    lines.extend(wrapped[..shown].iter().map(|r| {
        Line::styled(
            now[r.clone()].to_string(),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }));
    lines.push(Line::styled(
        clip(
            "space play · +/- speed · ,/. step · [/] label · t task · ? help · q quit",
            w,
        ),
        st.dim(),
    ));
    Paragraph::new(lines).render(inner, buf);
}

/// What to tell about the current moment: the user's last message, a
/// follow error, or the idle gap just before the event.
fn note(p: &Player) -> Option<String> {
    if let Some(m) = &p.message {
        return Some(m.clone());
    }
    if let Some(e) = &p.follow_error {
        return Some(format!("stopped following: {e}"));
    }
    let gap = p.rec.timeline().point(p.pos).idle_before_ms?;
    Some(format!(
        "≈ {} idle before this event (played as {}s)",
        span(gap),
        IDLE_PLAY_MS / 1000
    ))
}

/// Column of position `pos` on a bar `w` wide.
fn column(tl: &Timeline, pos: usize, w: usize) -> usize {
    let total = tl.end().map_or(0, |e| e.play_ms).max(1);
    let at = tl.point(pos).play_ms;
    ((at as u128 * (w.saturating_sub(1)) as u128 / total as u128) as usize).min(w.saturating_sub(1))
}

/// The timeline: one cell per slice of playback time, showing the
/// weightiest mark in it (or `≈` for an idle gap); the current cell
/// reversed, the future dim.
fn bar(tl: &Timeline, pos: usize, w: usize, st: &Styles) -> Line<'static> {
    let mut cells: Vec<(char, Option<Mark>)> = vec![('─', None); w];
    for (i, point) in tl.points().iter().enumerate() {
        let c = column(tl, i, w);
        let cell = &mut cells[c];
        match point.mark {
            Some(m) if cell.1.is_none_or(|old| m.priority() > old.priority()) => {
                *cell = (m.symbol(), Some(m))
            }
            None if point.idle_before_ms.is_some() && cell.1.is_none() => cell.0 = '≈',
            _ => {}
        }
    }
    let cur = column(tl, pos, w);
    let spans = cells
        .into_iter()
        .enumerate()
        .map(|(c, (ch, m))| {
            let style = if c == cur {
                st.current()
            } else if let Some(m) = m {
                st.mark(m)
            } else if c > cur {
                st.dim()
            } else {
                Style::default()
            };
            Span::styled(ch.to_string(), style)
        })
        .collect::<Vec<_>>();
    Line::from(spans)
}

fn caret(tl: &Timeline, pos: usize, w: usize) -> Line<'static> {
    let c = column(tl, pos, w);
    Line::raw(format!("{}▲", " ".repeat(c)))
}

fn events(p: &Player, st: &Styles, area: Rect, buf: &mut Buffer) {
    let b = panel_block(" Events ".into(), st);
    let inner = b.inner(area);
    b.render(area, buf);
    let h = inner.height as usize;
    let n = p.rec.len();
    let start = p.pos.saturating_sub(h / 2).min(n.saturating_sub(h));
    let me = p.rec.evaluator();
    let lines: Vec<Line> = (start..n.min(start + h))
        .map(|i| {
            let point = p.rec.timeline().point(i);
            let gap = if point.idle_before_ms.is_some() {
                '≈'
            } else {
                ' '
            };
            let row = format!(
                "{}{gap}{}",
                clock(point.wall_ms),
                describe::event(p.rec.event(i), me)
            );
            let row = clip(&row, inner.width as usize);
            if i == p.pos {
                Line::styled(row, st.current())
            } else {
                Line::raw(row)
            }
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

fn popup_block(title: &str, area: Rect, w: u16, h: u16, buf: &mut Buffer) -> Rect {
    let r = layout::popup(area, w, h);
    Clear.render(r, buf);
    let b = Block::default()
        .borders(Borders::ALL)
        .title(title.to_string());
    let inner = b.inner(r);
    b.render(r, buf);
    inner
}

fn help(st: &Styles, area: Rect, buf: &mut Buffer) {
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(_, _, keys, what)| Line::raw(format!("{keys:>8}  {what}")))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "Idle gaps over {}s play as {}s and show as ≈.",
            IDLE_GAP_MS / 1000,
            IDLE_PLAY_MS / 1000
        ),
        st.dim(),
    ));
    lines.push(Line::styled(
        "Above: the review as the evaluator saw it (read-only).",
        st.dim(),
    ));
    let h = lines.len() as u16 + 2;
    let inner = popup_block(" Replay keys (any key closes) ", area, 60, h, buf);
    Paragraph::new(lines).render(inner, buf);
}

fn picker(p: &Player, st: &Styles, sel: usize, area: Rect, buf: &mut Buffer) {
    let tasks = p.rec.replay().tasks();
    let h = (tasks.len() as u16 + 2)
        .min(area.height.saturating_sub(4))
        .max(3);
    let inner = popup_block(" Jump to task (Enter, Esc) ", area, 50, h, buf);
    let rows = inner.height as usize;
    let start = sel
        .saturating_sub(rows / 2)
        .min(tasks.len().saturating_sub(rows));
    let lines: Vec<Line> = tasks
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(i, t)| {
            let done = if p.app.has_verdict(i) { "✓" } else { " " };
            let row = format!("{done} {:>3}. {}", i + 1, text::display(&t.id));
            let row = clip(&row, inner.width as usize);
            if i == sel {
                Line::styled(row, st.current())
            } else {
                Line::raw(row)
            }
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}
