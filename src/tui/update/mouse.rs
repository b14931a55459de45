//! The mouse: the wheel scrolls the answer or moves through the list; a
//! click picks a tab, an item or an answer character. Hit-tested against
//! the layout of the frame the click was aimed at, never by rendering.

use super::navigate::{motion, scroll_answer, select, set_tab};
use crate::tui::drawn::Drawn;
use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::state::{App, Focus, Mode};
use crate::tui::text;
use crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Position;

pub(super) fn mouse(app: &mut App, m: MouseEvent, drawn: &Drawn) {
    if !matches!(app.mode, Mode::Normal) || layout::too_small(app.size) {
        return;
    }
    let a = &drawn.areas;
    let p = Position::new(m.column, m.row);
    match m.kind {
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let down = matches!(m.kind, MouseEventKind::ScrollDown);
            if a.answer.contains(p) {
                scroll_answer(app, if down { 3 } else { -3 });
            } else if a.assist.contains(p) {
                app.focus = Focus::Assist;
                motion(app, if down { Action::Down } else { Action::Up });
            }
        }
        MouseEventKind::Down(_) => click(app, drawn, p),
        _ => {}
    }
}

fn click(app: &mut App, drawn: &Drawn, p: Position) {
    let a = &drawn.areas;
    if a.tabs.contains(p) {
        if let Some(tab) = drawn.tab_at(p) {
            set_tab(app, tab);
        }
    } else if a.assist.contains(p) {
        app.focus = Focus::Assist;
        let n = app.item_count(app.tab);
        if let Some(i) = drawn.item_at(app.tab, p).filter(|i| *i < n) {
            select(app, i);
        }
    } else if a.answer.contains(p) {
        app.focus = Focus::Answer;
        click_answer(app, drawn, p);
    }
}

/// Put the answer cursor on the clicked character.
fn click_answer(app: &mut App, drawn: &Drawn, p: Position) {
    let shown = drawn
        .answer
        .as_ref()
        .filter(|d| d.task == app.current && d.side_b == app.side_b);
    if let Some((row, col)) = shown.and_then(|d| d.at(p)) {
        app.cursor = text::at_column(app.answer(), &row, col);
    }
}
