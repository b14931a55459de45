//! Moving around: tasks (next, previous, unlabelled, filter), tabs, focus,
//! item selection, answer cursor and scrolling.

use super::generation::{drop_stale_prefetch, ensure_assistance, ensure_tool_checks};
use super::msg::Effect;
use super::record::{flush_active, flush_views, queue_view, view};
use crate::session::event::ViewAction;
use crate::tui::keymap::Action;
use crate::tui::state::{App, Focus, Mode, Tab};
use crate::tui::text;

pub(super) fn close_task(app: &mut App, fx: &mut Vec<Effect>) {
    if !app.started {
        return;
    }
    flush_views(app, fx, true);
    flush_active(app, fx);
    view(app, fx, ViewAction::TaskClosed);
}

pub(super) fn open_task(app: &mut App, fx: &mut Vec<Effect>) {
    let arm = app.arm(app.current);
    view(app, fx, ViewAction::TaskOpened { arm: Some(arm) });
    app.cursor = 0;
    app.anchor = None;
    app.answer_scroll = 0;
    app.side_b = false;
    clamp_selection(app);
    ensure_tool_checks(app, fx);
    ensure_assistance(app, fx);
    scroll_to_selected(app);
}

pub(super) fn go_to_task(app: &mut App, i: usize, fx: &mut Vec<Effect>) {
    if i == app.current || i >= app.task_count() {
        return;
    }
    close_task(app, fx);
    app.current = i;
    app.sel = [0; 3];
    drop_stale_prefetch(app, fx);
    open_task(app, fx);
}

pub(super) fn guidelines(app: &mut App) {
    if app.opts.guidelines.is_some() {
        app.mode = Mode::Guidelines { scroll: 0 };
    } else {
        app.message = Some("no guidelines: start with --guidelines FILE".into());
    }
}

fn visible(app: &App, i: usize) -> bool {
    !app.filter_unlabelled || !app.has_verdict(i)
}

pub(super) fn step_task(app: &mut App, dir: isize, fx: &mut Vec<Effect>) {
    let n = app.task_count() as isize;
    let mut i = app.current as isize + dir;
    while (0..n).contains(&i) && !visible(app, i as usize) {
        i += dir;
    }
    if (0..n).contains(&i) {
        go_to_task(app, i as usize, fx);
    } else {
        app.message = Some(if dir > 0 { "last task" } else { "first task" }.into());
    }
}

pub(super) fn next_unlabelled(app: &mut App, fx: &mut Vec<Effect>) {
    let n = app.task_count();
    let found = (1..=n)
        .map(|d| (app.current + d) % n)
        .find(|&i| !app.has_verdict(i));
    match found {
        Some(i) if i != app.current => go_to_task(app, i, fx),
        Some(_) => app.message = Some("this is the only task without a verdict".into()),
        None => app.message = Some("every task has a verdict".into()),
    }
}

pub(super) fn toggle_filter(app: &mut App) {
    app.filter_unlabelled = !app.filter_unlabelled;
    app.message = Some(format!(
        "filter: {}",
        if app.filter_unlabelled {
            "tasks without a verdict"
        } else {
            "all tasks"
        }
    ));
}

pub(super) fn toggle_focus(app: &mut App) {
    app.focus = match app.focus {
        Focus::Answer => Focus::Assist,
        Focus::Assist => Focus::Answer,
    };
}

pub(super) fn switch_tab(app: &mut App, dir: isize) {
    let i = (app.tab.index() as isize + dir).rem_euclid(Tab::ALL.len() as isize);
    set_tab(app, Tab::ALL[i as usize]);
}

pub(super) fn set_tab(app: &mut App, tab: Tab) {
    if tab == app.tab {
        return;
    }
    app.tab = tab;
    app.focus = Focus::Assist;
    queue_view(app, ViewAction::TabSwitched { tab });
    clamp_selection(app);
    scroll_to_selected(app);
}

pub(super) fn clamp_selection(app: &mut App) {
    for tab in [Tab::Critiques, Tab::Checks, Tab::Steps] {
        let n = app.item_count(tab);
        let s = &mut app.sel[tab.index()];
        *s = (*s).min(n.saturating_sub(1));
    }
}

pub(super) fn motion(app: &mut App, a: Action) {
    match app.focus {
        Focus::Assist if app.tab == Tab::Diff => diff_motion(app, a),
        Focus::Assist => select_motion(app, a),
        _ => answer_motion(app, a),
    }
}

fn diff_motion(app: &mut App, a: Action) {
    app.diff_scroll = match a {
        Action::Down => app.diff_scroll + 1,
        Action::Up => app.diff_scroll.saturating_sub(1),
        Action::PageDown => app.diff_scroll + 10,
        Action::PageUp => app.diff_scroll.saturating_sub(10),
        Action::Top => 0,
        _ => usize::MAX / 2,
    };
}

fn select_motion(app: &mut App, a: Action) {
    let n = app.item_count(app.tab);
    if n == 0 {
        return;
    }
    let cur = app.selected();
    let next = match a {
        Action::Down => cur + 1,
        Action::Up => cur.saturating_sub(1),
        Action::PageDown => cur + 5,
        Action::PageUp => cur.saturating_sub(5),
        Action::Top => 0,
        _ => n - 1,
    }
    .min(n - 1);
    select(app, next);
}

/// Select item `i` of the current tab, record the focus, show its text.
pub(super) fn select(app: &mut App, i: usize) {
    if app.tab == Tab::Diff {
        return;
    }
    app.sel[app.tab.index()] = i;
    if let Some((seq, index)) = app.item_source(i) {
        queue_view(
            app,
            ViewAction::Focused {
                assistance: seq,
                index,
            },
        );
    }
    scroll_to_selected(app);
}

/// Scroll the answer so the selected item's text is in view.
pub(super) fn scroll_to_selected(app: &mut App) {
    if let Some(span) = app.selected_span() {
        scroll_to(app, span.start);
    }
}

pub(super) fn scroll_to(app: &mut App, pos: usize) {
    let lines = app.answer_lines();
    let line = text::line_of(&lines, pos);
    let h = app.answer_height().max(1);
    if line < app.answer_scroll || line >= app.answer_scroll + h {
        app.answer_scroll = line.saturating_sub(h / 3);
        queue_view(
            app,
            ViewAction::Scrolled {
                panel: crate::session::event::Panel::Answer,
                offset: app.answer_scroll as u32,
            },
        );
    }
}

fn answer_motion(app: &mut App, a: Action) {
    let lines = app.answer_lines();
    if lines.is_empty() {
        return;
    }
    let text = app.answer().to_string();
    let line = text::line_of(&lines, app.cursor);
    let col = text::column(&text, &lines[line], app.cursor);
    let h = app.answer_height().max(1);
    let target = match a {
        Action::Down => line + 1,
        Action::Up => line.saturating_sub(1),
        Action::PageDown => line + h,
        Action::PageUp => line.saturating_sub(h),
        Action::Top => 0,
        _ => lines.len() - 1,
    }
    .min(lines.len() - 1);
    app.cursor = text::at_column(&text, &lines[target], col);
    scroll_to(app, app.cursor);
}

pub(super) fn cursor_motion(app: &mut App, a: Action) {
    if app.focus != Focus::Answer {
        match a {
            Action::Left => switch_tab(app, -1),
            Action::Right => switch_tab(app, 1),
            _ => {}
        }
        return;
    }
    let text = app.answer();
    app.cursor = match a {
        Action::Left => text::prev_char(text, app.cursor),
        Action::Right => text::next_char(text, app.cursor),
        Action::WordForward => text::next_word(text, app.cursor),
        _ => text::prev_word(text, app.cursor),
    };
    scroll_to(app, app.cursor);
}

pub(super) fn visual(app: &mut App) {
    app.focus = Focus::Answer;
    app.anchor = match app.anchor {
        Some(_) => None,
        None => Some(app.cursor),
    };
}

pub(super) fn switch_answer(app: &mut App) {
    if !app.task().is_pairwise() {
        app.message = Some("not a pairwise task".into());
        return;
    }
    app.side_b = !app.side_b;
    app.cursor = 0;
    app.anchor = None;
    app.answer_scroll = 0;
}

pub(super) fn scroll_answer(app: &mut App, delta: isize) {
    let max = app.answer_lines().len().saturating_sub(1);
    app.answer_scroll = (app.answer_scroll as isize + delta).clamp(0, max as isize) as usize;
    let offset = app.answer_scroll as u32;
    queue_view(
        app,
        ViewAction::Scrolled {
            panel: crate::session::event::Panel::Answer,
            offset,
        },
    );
}
