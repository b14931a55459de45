//! The pure update: a message in, a new state and effects (as data) out.
//! No IO here: the driver appends events, talks to the assistant and feeds
//! results back as messages.

use super::keymap::Action;
use super::state::*;
use super::text;
use crate::assist::CheckVerdict;
use crate::assist::{self, Kind, Request, Severity};
use crate::session::event::{
    Body, CritiqueLabel, Event, LabelValue, Panel, Phase, Preference, Side, Target, Verdict,
    ViewAction,
};
use crate::session::work;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use tui_textarea::TextArea;

/// View actions wait this long for a newer one before being recorded.
pub const DEBOUNCE_MS: u64 = 1_000;
/// Active time is recorded at least this often while working on a task.
pub const ACTIVE_FLUSH_MS: u64 = 60_000;
/// Bytes of streamed text kept for display.
const STREAM_TAIL: usize = 4_000;

/// Input to the state machine.
// Messages are moved once and never stored in bulk: size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    /// First message: open the resumed task and start generating.
    Start,
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Periodic: flush debounced views and active time.
    Tick,
    /// From the assistant.
    Assist(assist::Event),
    /// The driver appended this event to the log.
    Appended(Event),
    /// `$EDITOR` finished: the new text, or `None` if it failed/was empty.
    EditorDone(Option<String>),
    /// Ctrl-C / SIGTERM / closing: leave cleanly.
    Quit,
}

/// Output of the state machine, performed by the driver.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append to the session log; `durable` = fsync before continuing.
    Append {
        body: Body,
        durable: bool,
    },
    Submit {
        id: u64,
        task: usize,
        kind: Kind,
        seed: u32,
    },
    Cancel(u64),
    OpenEditor {
        text: String,
    },
    Quit,
}

/// Apply `msg` at monotonic time `now_ms`.
pub fn update(app: &mut App, msg: Msg, now_ms: u64) -> Vec<Effect> {
    app.now_ms = now_ms;
    let mut fx = Vec::new();
    match msg {
        Msg::Start => start(app, &mut fx),
        Msg::Key(k) if k.kind != KeyEventKind::Release => {
            note_input(app);
            key(app, k, &mut fx);
        }
        Msg::Key(_) => {}
        Msg::Mouse(m) => {
            note_input(app);
            mouse(app, m, &mut fx);
        }
        Msg::Resize(w, h) => app.size = Rect::new(0, 0, w, h),
        Msg::Tick => tick(app, &mut fx),
        Msg::Assist(ev) => assist_event(app, ev, &mut fx),
        Msg::Appended(ev) => {
            app.apply(ev);
            // A new version (R) may have fewer items than the old one.
            clamp_selection(app);
        }
        Msg::EditorDone(text) => editor_done(app, text, &mut fx),
        Msg::Quit => quit(app, &mut fx),
    }
    fx
}

/// Build the request for a `Submit` effect.
pub fn request(app: &App, id: u64, task: usize, kind: Kind, seed: u32) -> Request {
    Request {
        id,
        task: app.replay.task(task).clone(),
        kind,
        seed,
    }
}

fn start(app: &mut App, fx: &mut Vec<Effect>) {
    app.started = true;
    // Reading before the first key press is work too.
    app.last_input_ms = Some(app.now_ms);
    open_task(app, fx);
    if let Some(offset) = app.resume_scroll.take() {
        app.answer_scroll = offset;
    }
}

fn append(app: &App, fx: &mut Vec<Effect>, body: Body, durable: bool) {
    if !app.opts.read_only {
        fx.push(Effect::Append { body, durable });
    }
}

fn view(app: &App, fx: &mut Vec<Effect>, action: ViewAction) {
    let body = Body::View {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        action,
    };
    append(app, fx, body, false);
}

/// Queue a view action; a newer one of the same sort replaces it.
fn queue_view(app: &mut App, action: ViewAction) {
    let same = |a: &ViewAction| match (a, &action) {
        (ViewAction::Scrolled { panel: p, .. }, ViewAction::Scrolled { panel: q, .. }) => p == q,
        // Focus on another piece of assistance is a different fact.
        (ViewAction::Focused { assistance: x, .. }, ViewAction::Focused { assistance: y, .. }) => {
            x == y
        }
        (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
    };
    app.pending_views.retain(|(a, _)| !same(a));
    app.pending_views.push((action, app.now_ms));
}

fn flush_views(app: &mut App, fx: &mut Vec<Effect>, all: bool) {
    let now = app.now_ms;
    let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut app.pending_views)
        .into_iter()
        .partition(|(_, t)| all || now.saturating_sub(*t) >= DEBOUNCE_MS);
    app.pending_views = keep;
    for (a, _) in due {
        view(app, fx, a);
    }
}

fn flush_active(app: &mut App, fx: &mut Vec<Effect>) {
    if app.pending_active_ms == 0 {
        return;
    }
    let body = Body::ActiveTime {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        ms: app.pending_active_ms,
    };
    app.pending_active_ms = 0;
    append(app, fx, body, false);
}

/// Count time since the last input as active unless it exceeds the idle
/// limit (then the evaluator was away: the clock was paused).
fn note_input(app: &mut App) {
    if let Some(last) = app.last_input_ms {
        let gap = app.now_ms.saturating_sub(last);
        if gap <= app.opts.idle_ms {
            app.pending_active_ms += gap;
        }
    }
    app.last_input_ms = Some(app.now_ms);
}

fn tick(app: &mut App, fx: &mut Vec<Effect>) {
    flush_views(app, fx, false);
    if app.pending_active_ms >= ACTIVE_FLUSH_MS {
        flush_active(app, fx);
    }
}

fn quit(app: &mut App, fx: &mut Vec<Effect>) {
    if app.quit {
        return;
    }
    close_task(app, fx);
    for id in app.gens.keys() {
        fx.push(Effect::Cancel(*id));
    }
    app.quit = true;
    fx.push(Effect::Quit);
}

fn close_task(app: &mut App, fx: &mut Vec<Effect>) {
    if !app.started {
        return;
    }
    flush_views(app, fx, true);
    flush_active(app, fx);
    view(app, fx, ViewAction::TaskClosed);
}

fn open_task(app: &mut App, fx: &mut Vec<Effect>) {
    let arm = app.arm(app.current);
    view(app, fx, ViewAction::TaskOpened { arm: Some(arm) });
    app.cursor = 0;
    app.anchor = None;
    app.answer_scroll = 0;
    app.side_b = false;
    clamp_selection(app);
    ensure_assistance(app, fx);
    scroll_to_selected(app);
}

fn go_to_task(app: &mut App, i: usize, fx: &mut Vec<Effect>) {
    if i == app.current || i >= app.task_count() {
        return;
    }
    close_task(app, fx);
    app.current = i;
    app.sel = [0; 3];
    drop_stale_prefetch(app, fx);
    open_task(app, fx);
}

fn in_window(app: &App, task: usize) -> bool {
    (app.current..=app.current + app.opts.prefetch).contains(&task)
}

/// After a jump, queued requests for tasks outside the new window would
/// make the evaluator wait: cancel them without recording a failure, so
/// they are submitted again when needed. Running ones finish.
fn drop_stale_prefetch(app: &mut App, fx: &mut Vec<Effect>) {
    let current = app.current;
    let window = current..=current + app.opts.prefetch;
    for (id, g) in app.gens.iter_mut() {
        if !g.started && !g.dropped && !window.contains(&g.task) {
            g.dropped = true;
            fx.push(Effect::Cancel(*id));
        }
    }
}

/// Submit the missing assistance for the current task and the next
/// `prefetch` tasks. A kind that has output, is in flight, or failed
/// (including cancelled) is not submitted again; `R` forces it.
fn ensure_assistance(app: &mut App, fx: &mut Vec<Effect>) {
    if app.opts.no_assist.is_some() || app.opts.read_only {
        return;
    }
    let end = (app.current + app.opts.prefetch + 1).min(app.task_count());
    for i in app.current..end {
        if app.arm(i) == Protocol::Unassisted {
            continue;
        }
        let (task, state) = (app.replay.task(i), app.replay.state(i));
        for need in work::missing(task, state, &Kind::ALL) {
            if !app
                .gens
                .values()
                .any(|g| g.task == i && g.kind == need.kind)
            {
                // The same rule and seed as `crit generate`.
                let seed = need.seed(app.opts.seed, i);
                submit(app, i, need.kind, seed, fx);
            }
        }
    }
}

fn submit(app: &mut App, task: usize, kind: Kind, seed: u32, fx: &mut Vec<Effect>) {
    let id = app.next_id;
    app.next_id += 1;
    app.gens.insert(
        id,
        Gen {
            task,
            kind,
            seed,
            text: String::new(),
            tokens: 0,
            started: false,
            prompt_tokens: 0,
            truncated: None,
            dropped: false,
            first_token_ms: None,
            last_token_ms: 0,
        },
    );
    fx.push(Effect::Submit {
        id,
        task,
        kind,
        seed,
    });
}

fn assist_event(app: &mut App, ev: assist::Event, fx: &mut Vec<Effect>) {
    let id = ev.id();
    let now = app.now_ms;
    let Some(gen) = app.gens.get_mut(&id) else {
        return; // a request from before a restart of the map; ignore
    };
    match ev {
        assist::Event::Started {
            prompt_tokens,
            truncated,
            ..
        } => {
            gen.started = true;
            gen.prompt_tokens = prompt_tokens;
            gen.truncated = truncated;
        }
        assist::Event::Token { text, .. } => {
            gen.tokens += 1;
            gen.first_token_ms.get_or_insert(now);
            gen.last_token_ms = now;
            gen.text.push_str(&text);
            trim_tail(&mut gen.text);
        }
        ev @ assist::Event::Done { .. } => {
            let gen = app.gens.remove(&id).expect("present");
            let task = &app.replay.task(gen.task).id;
            if let Some(body) = work::outcome(task, gen.kind, gen.seed, &ev) {
                fx.push(Effect::Append {
                    body,
                    durable: true,
                });
            }
        }
        ev => failed(app, id, &ev, fx),
    }
}

fn trim_tail(s: &mut String) {
    if s.len() > STREAM_TAIL {
        let mut cut = s.len() - STREAM_TAIL / 2;
        while !s.is_char_boundary(cut) {
            cut += 1;
        }
        s.drain(..cut);
    }
}

/// A generation ended without output: failed, or cancelled.
fn failed(app: &mut App, id: u64, ev: &assist::Event, fx: &mut Vec<Effect>) {
    let gen = app.gens.remove(&id).expect("present");
    if app.quit {
        return; // cancelled on the way out: it will be generated next time
    }
    if gen.dropped {
        // Dropped from the queue, not failed; back in view meanwhile?
        if in_window(app, gen.task) {
            ensure_assistance(app, fx);
        }
        return;
    }
    let task = &app.replay.task(gen.task).id;
    let Some(body) = work::outcome(task, gen.kind, gen.seed, ev) else {
        return;
    };
    if gen.task == app.current {
        let what = match &body {
            Body::AssistanceFailed { error, .. } if !error.is_empty() => error.as_str(),
            _ => "cancelled",
        };
        app.message = Some(format!("{} generation: {what}", gen.kind));
    }
    fx.push(Effect::Append {
        body,
        durable: false,
    });
}

fn key(app: &mut App, k: KeyEvent, fx: &mut Vec<Effect>) {
    app.message = None;
    // Ctrl-C leaves from anywhere, even a form (whatever is recorded stays).
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        app.mode = Mode::Normal;
        quit(app, fx);
        return;
    }
    let mode = std::mem::replace(&mut app.mode, Mode::Normal);
    app.mode = match mode {
        Mode::Normal => {
            if let Some(a) = app.opts.keymap.resolve(&k) {
                action(app, a, fx);
            }
            return;
        }
        Mode::Help { scroll } => overlay_key(app, k, scroll, |s| Mode::Help { scroll: s }),
        Mode::Guidelines { scroll } => {
            overlay_key(app, k, scroll, |s| Mode::Guidelines { scroll: s })
        }
        Mode::Search { query } => search_key(app, k, query, fx),
        Mode::Critique(form) => critique_key(app, k, *form, fx),
        Mode::Verdict(form) => verdict_key(app, k, *form, fx),
        Mode::Correction(ta) => correction_key(app, k, *ta, fx),
    };
}

fn overlay_key(app: &mut App, k: KeyEvent, scroll: u16, mk: fn(u16) -> Mode) -> Mode {
    match app.opts.keymap.resolve(&k) {
        Some(Action::Down) => mk(scroll.saturating_add(1)),
        Some(Action::Up) => mk(scroll.saturating_sub(1)),
        Some(Action::PageDown) => mk(scroll.saturating_add(10)),
        Some(Action::PageUp) => mk(scroll.saturating_sub(10)),
        _ => Mode::Normal,
    }
}

fn is_save(k: &KeyEvent) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL) && matches!(k.code, KeyCode::Char('s'))
}

fn action(app: &mut App, a: Action, fx: &mut Vec<Effect>) {
    match a {
        Action::Quit => quit(app, fx),
        Action::Help => app.mode = Mode::Help { scroll: 0 },
        Action::Guidelines => guidelines(app),
        Action::NextTask => step_task(app, 1, fx),
        Action::PrevTask => step_task(app, -1, fx),
        Action::NextUnlabelled => next_unlabelled(app, fx),
        Action::ToggleFilter => toggle_filter(app),
        Action::Search => {
            app.mode = Mode::Search {
                query: String::new(),
            }
        }
        Action::Undo => undo(app, fx),
        Action::Regenerate => regenerate(app, fx),
        Action::Cancel => cancel(app, fx),
        Action::ToggleFocus => toggle_focus(app),
        Action::NextTab => switch_tab(app, 1),
        Action::PrevTab => switch_tab(app, -1),
        Action::Down
        | Action::Up
        | Action::PageDown
        | Action::PageUp
        | Action::Top
        | Action::Bottom => motion(app, a),
        Action::Left | Action::Right | Action::WordForward | Action::WordBack => {
            cursor_motion(app, a)
        }
        Action::LabelGood => label(app, Grade::Good, fx),
        Action::LabelBad => label(app, Grade::Bad, fx),
        Action::LabelNeutral => label(app, Grade::Neutral, fx),
        Action::CycleSeverity => cycle_severity(app, fx),
        Action::StopAtFirstBad => {
            app.stop_at_first_bad = !app.stop_at_first_bad;
            app.message = Some(format!(
                "stop at first -1: {}",
                if app.stop_at_first_bad { "on" } else { "off" }
            ));
        }
        Action::Visual => visual(app),
        Action::AddCritique => open_critique_form(app),
        Action::EditCorrection => open_correction(app),
        Action::ExternalEditor => external_editor(app, fx),
        Action::Verdict => open_verdict(app),
        Action::SwitchAnswer => switch_answer(app),
    }
}

fn refuse_read_only(app: &mut App) -> bool {
    if app.opts.read_only {
        app.message = Some("read-only: nothing can be recorded".into());
    }
    app.opts.read_only
}

fn guidelines(app: &mut App) {
    if app.opts.guidelines.is_some() {
        app.mode = Mode::Guidelines { scroll: 0 };
    } else {
        app.message = Some("no guidelines: start with --guidelines FILE".into());
    }
}

fn visible(app: &App, i: usize) -> bool {
    !app.filter_unlabelled || !app.has_verdict(i)
}

fn step_task(app: &mut App, dir: isize, fx: &mut Vec<Effect>) {
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

fn next_unlabelled(app: &mut App, fx: &mut Vec<Effect>) {
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

fn toggle_filter(app: &mut App) {
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

fn toggle_focus(app: &mut App) {
    app.focus = match app.focus {
        Focus::Answer => Focus::Assist,
        Focus::Assist => Focus::Answer,
    };
}

fn switch_tab(app: &mut App, dir: isize) {
    let i = (app.tab.index() as isize + dir).rem_euclid(Tab::ALL.len() as isize);
    set_tab(app, Tab::ALL[i as usize]);
}

fn set_tab(app: &mut App, tab: Tab) {
    if tab == app.tab {
        return;
    }
    app.tab = tab;
    app.focus = Focus::Assist;
    queue_view(app, ViewAction::TabSwitched { tab });
    clamp_selection(app);
    scroll_to_selected(app);
}

fn clamp_selection(app: &mut App) {
    for tab in [Tab::Critiques, Tab::Checks, Tab::Steps] {
        let n = app.item_count(tab);
        let s = &mut app.sel[tab.index()];
        *s = (*s).min(n.saturating_sub(1));
    }
}

fn motion(app: &mut App, a: Action) {
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
pub fn select(app: &mut App, i: usize) {
    if app.tab == Tab::Diff {
        return;
    }
    app.sel[app.tab.index()] = i;
    if let Some(seq) = current_seq(app) {
        queue_view(
            app,
            ViewAction::Focused {
                assistance: seq,
                index: i,
            },
        );
    }
    scroll_to_selected(app);
}

fn current_seq(app: &App) -> Option<u64> {
    match app.tab {
        Tab::Critiques => app.critiques().map(|c| c.0),
        Tab::Checks => app.checks().map(|c| c.0),
        Tab::Steps => app.steps().and_then(|s| s.0),
        Tab::Diff => None,
    }
}

/// Answer span of the selected item, if it has one.
pub fn selected_span(app: &App) -> Option<crate::task::Span> {
    if app.hidden() || app.side_b {
        return None;
    }
    let i = app.selected();
    match app.tab {
        Tab::Critiques => app.critiques()?.1.get(i)?.span,
        Tab::Steps => app.steps()?.1.get(i)?.span,
        _ => None,
    }
}

/// Scroll the answer so the selected item's text is in view.
fn scroll_to_selected(app: &mut App) {
    if let Some(span) = selected_span(app) {
        scroll_to(app, span.start);
    }
}

fn scroll_to(app: &mut App, pos: usize) {
    let lines = app.answer_lines();
    let line = text::line_of(&lines, pos);
    let h = app.answer_height().max(1);
    if line < app.answer_scroll || line >= app.answer_scroll + h {
        app.answer_scroll = line.saturating_sub(h / 3);
        queue_view(
            app,
            ViewAction::Scrolled {
                panel: Panel::Answer,
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

fn cursor_motion(app: &mut App, a: Action) {
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

/// A label key's meaning on each tab.
#[derive(Debug, Clone, Copy)]
enum Grade {
    Good,
    Bad,
    Neutral,
}

fn label(app: &mut App, g: Grade, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) {
        return;
    }
    if app.hidden() {
        app.message = Some(hidden_message(app));
        return;
    }
    let i = app.selected();
    if i >= app.item_count(app.tab) {
        app.message = Some("nothing to label here".into());
        return;
    }
    let made = match app.tab {
        Tab::Critiques => label_critique(app, i, g),
        Tab::Checks => label_check(app, i, g),
        Tab::Steps => label_step(app, i, g),
        Tab::Diff => None,
    };
    let Some((target, value)) = made else { return };
    let stop = matches!(value, LabelValue::Step { rating: -1 }) && app.stop_at_first_bad;
    record_label(app, target, value, fx);
    if stop {
        app.message = Some(format!(
            "first -1 at step {}: later steps are not rated",
            i + 1
        ));
    } else if i + 1 < app.item_count(app.tab) {
        select(app, i + 1);
    }
}

fn hidden_message(app: &App) -> String {
    match app.arm(app.current) {
        Protocol::Unassisted => "this task is unassisted (control arm)".into(),
        _ => "assistance is hidden until you record an unaided verdict (V)".into(),
    }
}

fn record_label(app: &mut App, target: Target, value: LabelValue, fx: &mut Vec<Effect>) {
    let body = Body::Label {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        target,
        value,
        source: None,
    };
    append(app, fx, body, true);
}

fn existing_label(app: &App, target: &Target) -> Option<LabelValue> {
    app.work()?.labels.get(target).map(|r| r.value.clone())
}

fn label_critique(app: &App, i: usize, g: Grade) -> Option<(Target, LabelValue)> {
    let (seq, _) = app.critiques()?;
    let target = Target::Critique {
        assistance: seq,
        index: i,
    };
    let severity = match existing_label(app, &target) {
        Some(LabelValue::Critique { severity, .. }) => severity,
        _ => None,
    };
    let verdict = match g {
        Grade::Good => CritiqueLabel::Valid,
        Grade::Bad => CritiqueLabel::Hallucinated,
        Grade::Neutral => CritiqueLabel::Nitpick,
    };
    Some((target, LabelValue::Critique { verdict, severity }))
}

fn label_check(app: &App, i: usize, g: Grade) -> Option<(Target, LabelValue)> {
    let (seq, _) = app.checks()?;
    let verdict = match g {
        Grade::Good => CheckVerdict::Pass,
        Grade::Bad => CheckVerdict::Fail,
        Grade::Neutral => CheckVerdict::Unsure,
    };
    Some((
        Target::Check {
            assistance: seq,
            index: i,
        },
        LabelValue::Check { verdict },
    ))
}

fn label_step(app: &mut App, i: usize, g: Grade) -> Option<(Target, LabelValue)> {
    let (seq, _) = app.steps()?;
    if app.stop_at_first_bad {
        if let Some(first) = first_bad_step(app, seq).filter(|f| *f < i) {
            app.message = Some(format!(
                "rating stopped at the first -1 (step {}); F turns this off",
                first + 1
            ));
            return None;
        }
    }
    let rating = match g {
        Grade::Good => 1,
        Grade::Bad => -1,
        Grade::Neutral => 0,
    };
    Some((
        Target::Step {
            assistance: seq,
            index: i,
        },
        LabelValue::Step { rating },
    ))
}

/// Index of the first step this evaluator rated -1.
pub fn first_bad_step(app: &App, seq: Option<u64>) -> Option<usize> {
    let work = app.work()?;
    work.labels
        .iter()
        .filter_map(|(t, r)| match (t, &r.value) {
            (Target::Step { assistance, index }, LabelValue::Step { rating: -1 })
                if *assistance == seq =>
            {
                Some(*index)
            }
            _ => None,
        })
        .min()
}

fn cycle_severity(app: &mut App, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) || app.tab != Tab::Critiques || app.hidden() {
        return;
    }
    let i = app.selected();
    let Some((seq, crits)) = app.critiques() else {
        return;
    };
    let Some(model_sev) = crits.get(i).map(|c| c.severity) else {
        return;
    };
    let target = Target::Critique {
        assistance: seq,
        index: i,
    };
    let Some(LabelValue::Critique { verdict, severity }) = existing_label(app, &target) else {
        app.message =
            Some("label the critique first (1 valid / 2 hallucinated / 3 nitpick)".into());
        return;
    };
    let from = severity.unwrap_or(model_sev);
    let pos = SEVERITIES.iter().position(|s| *s == from).unwrap_or(0);
    let next = SEVERITIES[(pos + 1) % SEVERITIES.len()];
    let severity = (next != model_sev).then_some(next);
    record_label(app, target, LabelValue::Critique { verdict, severity }, fx);
}

/// Retract this evaluator's latest record on the current task.
fn undo(app: &mut App, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) {
        return;
    }
    let me = &app.opts.evaluator;
    let Some(target) = app.replay.last_own_record(me, &app.task().id) else {
        app.message = Some("nothing to undo on this task".into());
        return;
    };
    let what = target.body.type_name();
    let body = Body::Retract {
        target_seq: target.seq,
        evaluator: me.clone(),
        reason: Some("undo".into()),
    };
    app.message = Some(format!("undone: {what} (#{})", target.seq));
    append(app, fx, body, true);
}

fn regenerate(app: &mut App, fx: &mut Vec<Effect>) {
    if app.opts.read_only {
        refuse_read_only(app);
        return;
    }
    if let Some(why) = &app.opts.no_assist {
        app.message = Some(format!("no assistance: {why}"));
        return;
    }
    if app.hidden() {
        app.message = Some(hidden_message(app));
        return;
    }
    let Some(kind) = app.tab.kind() else {
        app.message = Some("R regenerates on the critiques, checks and steps tabs".into());
        return;
    };
    if let Some((id, _)) = app.gen_for(kind) {
        fx.push(Effect::Cancel(id));
    }
    let versions = app.task_state().assistance.get(&kind).map_or(0, Vec::len);
    let tries = app
        .task_state()
        .failures
        .iter()
        .filter(|f| f.kind == kind)
        .count();
    // A fresh seed per attempt, reproducible from the base seed.
    let attempt = (versions + tries + 1) as u32;
    let seed = assist::derive_seed(app.opts.seed, app.current, kind, attempt);
    let i = app.current;
    submit(app, i, kind, seed, fx);
    app.message = Some(format!("regenerating {} (seed {seed})", kind.name()));
}

fn cancel(app: &mut App, fx: &mut Vec<Effect>) {
    if app.anchor.take().is_some() {
        return;
    }
    let ids: Vec<u64> = app
        .gens
        .iter()
        .filter(|(_, g)| g.task == app.current)
        .map(|(id, _)| *id)
        .collect();
    if ids.is_empty() {
        return;
    }
    app.message = Some("cancelling generation".into());
    fx.extend(ids.into_iter().map(Effect::Cancel));
}

fn visual(app: &mut App) {
    app.focus = Focus::Answer;
    app.anchor = match app.anchor {
        Some(_) => None,
        None => Some(app.cursor),
    };
}

fn switch_answer(app: &mut App) {
    if !app.task().is_pairwise() {
        app.message = Some("not a pairwise task".into());
        return;
    }
    app.side_b = !app.side_b;
    app.cursor = 0;
    app.anchor = None;
    app.answer_scroll = 0;
}

fn textarea(text: &str) -> TextArea<'static> {
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut ta = TextArea::new(lines);
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta
}

fn open_critique_form(app: &mut App) {
    if refuse_read_only(app) {
        return;
    }
    let span = app.selection().unwrap_or_else(|| word_at(app));
    let text = app.answer();
    let quote = text.get(span.start..span.end).unwrap_or("").to_string();
    if quote.trim().is_empty() {
        app.message = Some("select answer text first (Tab to the answer, v, move)".into());
        return;
    }
    app.mode = Mode::Critique(Box::new(CritiqueForm {
        span,
        side_b: app.side_b,
        quote,
        field: 0,
        severity: Severity::Major,
        category: 0,
        comment: textarea(""),
    }));
}

/// The word under the cursor, when there is no selection.
fn word_at(app: &App) -> crate::task::Span {
    let t = app.answer();
    let pos = app.cursor.min(t.len());
    let start = t[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = t[pos..]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(t.len(), |(i, _)| pos + i);
    crate::task::Span { start, end }
}

fn critique_key(app: &mut App, k: KeyEvent, mut f: CritiqueForm, fx: &mut Vec<Effect>) -> Mode {
    if is_save(&k) {
        return save_critique(app, f, fx);
    }
    match (k.code, f.field) {
        (KeyCode::Esc, _) => return Mode::Normal,
        (KeyCode::Tab, _) => f.field = (f.field + 1) % 3,
        (KeyCode::BackTab, _) => f.field = (f.field + 2) % 3,
        (KeyCode::Enter, 1 | 2) => return save_critique(app, f, fx),
        (KeyCode::Left | KeyCode::Char('h'), 1) => f.severity = cycle(&SEVERITIES, f.severity, -1),
        (KeyCode::Right | KeyCode::Char('l'), 1) => f.severity = cycle(&SEVERITIES, f.severity, 1),
        (KeyCode::Left | KeyCode::Char('h'), 2) => {
            f.category = (f.category + CATEGORIES.len() - 1) % CATEGORIES.len()
        }
        (KeyCode::Right | KeyCode::Char('l'), 2) => {
            f.category = (f.category + 1) % CATEGORIES.len()
        }
        (_, 0) => {
            f.comment.input(k);
        }
        _ => {}
    }
    Mode::Critique(Box::new(f))
}

fn cycle<T: Copy + PartialEq>(all: &[T], cur: T, dir: isize) -> T {
    let i = all.iter().position(|x| *x == cur).unwrap_or(0) as isize;
    all[(i + dir).rem_euclid(all.len() as isize) as usize]
}

fn save_critique(app: &mut App, f: CritiqueForm, fx: &mut Vec<Effect>) -> Mode {
    let comment = f.comment.lines().join("\n").trim().to_string();
    if comment.is_empty() {
        app.message = Some("write a comment first (what is wrong here?)".into());
        return Mode::Critique(Box::new(f));
    }
    let body = Body::UserCritique {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        span: Some(f.span),
        quote: f.quote,
        comment,
        severity: f.severity,
        category: CATEGORIES[f.category].into(),
        answer: app
            .task()
            .is_pairwise()
            .then_some(if f.side_b { Side::B } else { Side::A }),
        source: None,
    };
    append(app, fx, body, true);
    app.anchor = None;
    app.message = Some("critique recorded".into());
    Mode::Normal
}

fn current_correction(app: &App) -> Option<String> {
    app.work()?.correction.as_ref().map(|c| c.text.clone())
}

fn open_correction(app: &mut App) {
    if refuse_read_only(app) {
        return;
    }
    let text = current_correction(app).unwrap_or_else(|| app.task().answer.clone());
    app.mode = Mode::Correction(Box::new(textarea(&text)));
}

fn correction_key(
    app: &mut App,
    k: KeyEvent,
    mut ta: TextArea<'static>,
    fx: &mut Vec<Effect>,
) -> Mode {
    if is_save(&k) {
        save_correction(app, ta.lines().join("\n"), fx);
        return Mode::Normal;
    }
    if k.code == KeyCode::Esc {
        return Mode::Normal;
    }
    ta.input(k);
    Mode::Correction(Box::new(ta))
}

fn save_correction(app: &mut App, text: String, fx: &mut Vec<Effect>) {
    let before = current_correction(app).unwrap_or_else(|| app.task().answer.clone());
    if text == before {
        app.message = Some("no change to the answer".into());
        return;
    }
    let body = Body::Correction {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        text,
    };
    append(app, fx, body, true);
    set_tab(app, Tab::Diff);
    app.message = Some("correction recorded (see the diff tab)".into());
}

fn external_editor(app: &mut App, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) {
        return;
    }
    let text = current_correction(app).unwrap_or_else(|| app.task().answer.clone());
    fx.push(Effect::OpenEditor { text });
}

fn editor_done(app: &mut App, text: Option<String>, fx: &mut Vec<Effect>) {
    match text {
        Some(t) if !t.trim().is_empty() => {
            let t = t.strip_suffix('\n').unwrap_or(&t).to_string();
            save_correction(app, t, fx);
        }
        _ => app.message = Some("editor closed without a correction".into()),
    }
}

fn open_verdict(app: &mut App) {
    if refuse_read_only(app) {
        return;
    }
    let phase = app.phase();
    let existing = app
        .work()
        .and_then(|w| w.verdicts.get(&phase))
        .map(|r| r.verdict.clone());
    let mut f = VerdictForm {
        pairwise: app.task().is_pairwise(),
        phase,
        field: 0,
        accept: None,
        score: None,
        preferred: None,
        strength: None,
        confidence: None,
        rationale: textarea(""),
    };
    match existing {
        Some(Verdict::Single {
            accept,
            score,
            confidence,
            rationale,
        }) => {
            (f.accept, f.score, f.confidence) = (accept, score, confidence);
            f.rationale = textarea(&rationale);
        }
        Some(Verdict::Pairwise {
            preferred,
            strength,
            confidence,
            rationale,
        }) => {
            (f.preferred, f.strength, f.confidence) = (Some(preferred), strength, confidence);
            f.rationale = textarea(&rationale);
        }
        None => {}
    }
    app.mode = Mode::Verdict(Box::new(f));
}

fn verdict_key(app: &mut App, k: KeyEvent, mut f: VerdictForm, fx: &mut Vec<Effect>) -> Mode {
    if is_save(&k) {
        return save_verdict(app, f, fx);
    }
    match (k.code, f.field) {
        (KeyCode::Esc, _) => return Mode::Normal,
        (KeyCode::Tab, _) => f.field = (f.field + 1) % 4,
        (KeyCode::BackTab, _) => f.field = (f.field + 3) % 4,
        (_, 3) => {
            f.rationale.input(k);
        }
        (KeyCode::Enter, _) => return save_verdict(app, f, fx),
        (code, field) => verdict_field_key(&mut f, code, field),
    }
    Mode::Verdict(Box::new(f))
}

fn verdict_field_key(f: &mut VerdictForm, code: KeyCode, field: usize) {
    let dir = match code {
        KeyCode::Left | KeyCode::Char('h') | KeyCode::Char('-') => -1,
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Char('+') => 1,
        _ => 0,
    };
    let digit = match code {
        KeyCode::Char(c) => c.to_digit(10).map(|d| d as u8),
        _ => None,
    };
    match (field, f.pairwise) {
        (0, false) => match code {
            KeyCode::Char('a' | 'y') => f.accept = Some(true),
            KeyCode::Char('r' | 'n') => f.accept = Some(false),
            _ if dir != 0 => f.accept = Some(!f.accept.unwrap_or(false)),
            _ => {}
        },
        (0, true) => {
            let all = [Preference::A, Preference::Tie, Preference::B];
            match code {
                KeyCode::Char('a') => f.preferred = Some(Preference::A),
                KeyCode::Char('b') => f.preferred = Some(Preference::B),
                KeyCode::Char('t') => f.preferred = Some(Preference::Tie),
                _ if dir != 0 => {
                    f.preferred = Some(cycle(&all, f.preferred.unwrap_or(Preference::Tie), dir))
                }
                _ => {}
            }
        }
        (1, pairwise) => {
            let max = if pairwise { 3 } else { 7 };
            let slot = if pairwise {
                &mut f.strength
            } else {
                &mut f.score
            };
            *slot = match digit {
                Some(d) if (1..=max).contains(&d) => Some(d),
                _ if dir != 0 => Some(
                    (slot.unwrap_or(max.div_ceil(2)) as i16 + dir as i16).clamp(1, max as i16)
                        as u8,
                ),
                _ => *slot,
            };
        }
        (2, _) if dir != 0 => {
            let c = f.confidence.unwrap_or(70) as i16 + 5 * dir as i16;
            f.confidence = Some(c.clamp(50, 100) as u8);
        }
        _ => {}
    }
}

fn save_verdict(app: &mut App, f: VerdictForm, fx: &mut Vec<Effect>) -> Mode {
    let rationale = f.rationale.lines().join("\n").trim().to_string();
    let verdict = if f.pairwise {
        let Some(preferred) = f.preferred else {
            app.message = Some("choose A, B or tie first".into());
            return Mode::Verdict(Box::new(f));
        };
        Verdict::Pairwise {
            preferred,
            strength: f.strength,
            confidence: f.confidence,
            rationale,
        }
    } else {
        if f.accept.is_none() {
            app.message = Some("choose accept (a) or reject (r) first".into());
            return Mode::Verdict(Box::new(f));
        }
        Verdict::Single {
            accept: f.accept,
            score: f.score,
            confidence: f.confidence,
            rationale,
        }
    };
    let body = Body::Verdict {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        verdict,
        phase: f.phase,
        source: None,
    };
    append(app, fx, body, true);
    let reveal = f.phase == Phase::Unaided && app.arm(app.current) == Protocol::BlindFirst;
    if reveal {
        view(app, fx, ViewAction::AssistanceRevealed);
        app.message = Some("unaided verdict recorded; assistance revealed: review it, then V for the assisted verdict".into());
    } else {
        app.message = Some("verdict recorded".into());
    }
    Mode::Normal
}

fn search_key(app: &mut App, k: KeyEvent, mut query: String, fx: &mut Vec<Effect>) -> Mode {
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

fn mouse(app: &mut App, m: MouseEvent, fx: &mut Vec<Effect>) {
    if !matches!(app.mode, Mode::Normal) || super::layout::too_small(app.size) {
        return;
    }
    let a = app.areas();
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
        MouseEventKind::Down(_) => click(app, a, p, fx),
        _ => {}
    }
}

fn scroll_answer(app: &mut App, delta: isize) {
    let max = app.answer_lines().len().saturating_sub(1);
    app.answer_scroll = (app.answer_scroll as isize + delta).clamp(0, max as isize) as usize;
    let offset = app.answer_scroll as u32;
    queue_view(
        app,
        ViewAction::Scrolled {
            panel: Panel::Answer,
            offset,
        },
    );
}

fn click(app: &mut App, a: super::layout::Areas, p: Position, _fx: &mut Vec<Effect>) {
    if a.tabs.contains(p) {
        if let Some(tab) = super::view::tab_at(app, a.tabs, p.x) {
            set_tab(app, tab);
        }
    } else if a.assist.contains(p) {
        app.focus = Focus::Assist;
        if let Some(i) = super::view::item_at(app, a.assist, p.y) {
            select(app, i);
        }
    } else if a.answer.contains(p) {
        app.focus = Focus::Answer;
        click_answer(app, a.answer, p);
    }
}

/// Put the answer cursor on the clicked character.
fn click_answer(app: &mut App, area: Rect, p: Position) {
    let inner = super::layout::inner(area);
    if !inner.contains(p) {
        return;
    }
    let lines = app.answer_lines();
    let row = app.answer_scroll + (p.y - inner.y) as usize;
    if let Some(line) = lines.get(row) {
        app.cursor = text::at_column(app.answer(), line, (p.x - inner.x) as usize);
    }
}
