//! `/`: search the current answer after the cursor, then the following
//! tasks' prompts and answers, wrapping around.

use super::msg::Effect;
use super::navigate::{go_to_task, scroll_to};
use crate::tui::state::{App, Focus, Mode};
use crate::tui::text;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn search_key(
    app: &mut App,
    k: KeyEvent,
    mut query: String,
    fx: &mut Vec<Effect>,
) -> Mode {
    match k.code {
        KeyCode::Esc => return Mode::Normal,
        KeyCode::Enter => {
            if !query.is_empty() {
                app.last_search = query;
            }
            search(app, fx);
            return Mode::Normal;
        }
        KeyCode::Backspace => {
            query.pop();
        }
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => query.push(c),
        _ => {}
    }
    Mode::Search { query }
}

/// Find the last search in this answer after the cursor, else in the
/// following tasks (prompt or answer), wrapping around.
fn search(app: &mut App, fx: &mut Vec<Effect>) {
    let q = app.last_search.to_lowercase();
    if q.is_empty() {
        return;
    }
    let from = text::char_end(app.answer(), app.cursor);
    if let Some(pos) = find_ci(app.answer(), &q, from) {
        app.focus = Focus::Answer;
        app.cursor = pos;
        scroll_to(app, pos);
        return;
    }
    let n = app.task_count();
    for d in 1..=n {
        let i = (app.current + d) % n;
        let t = app.replay.task(i);
        let hit = find_ci(&t.answer, &q, 0);
        if hit.is_some() || t.prompt.to_lowercase().contains(&q) {
            go_to_task(app, i, fx);
            app.focus = Focus::Answer;
            if let Some(pos) = hit {
                app.cursor = pos;
                scroll_to(app, pos);
            }
            app.message = Some(format!("found in task {}", i + 1));
            return;
        }
    }
    app.message = Some(format!("no match for {:?}", app.last_search));
}

/// Case-insensitive find at or after byte `from`, on a char boundary.
fn find_ci(hay: &str, needle_lower: &str, from: usize) -> Option<usize> {
    let mut pos = from.min(hay.len());
    while !hay.is_char_boundary(pos) {
        pos += 1;
    }
    hay[pos..].char_indices().map(|(i, _)| pos + i).find(|&i| {
        hay[i..]
            .get(..needle_lower.len())
            .is_some_and(|s| s.to_lowercase() == needle_lower)
    })
}
