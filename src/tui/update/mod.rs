//! The pure update: a message in, a new state and effects (as data) out.
//! No IO here: the driver appends events, talks to the assistant and feeds
//! results back as messages. It never renders either: mouse clicks are
//! hit-tested against the layout the last frame drew (`Drawn`).
//!
//! Split by concern: `record` (log appends, debounced views, active time),
//! `navigate` (tasks, tabs, motion, scrolling), `search`, `generation`
//! (assistance requests and streamed results), `label` (labels, severity,
//! undo), `forms` (critique, verdict and correction forms, `$EDITOR`) and
//! `mouse`; the messages and effects are in `msg`. Submodules import only
//! siblings, never this one.

mod forms;
mod generation;
mod label;
mod mouse;
mod msg;
mod navigate;
mod record;
mod search;

use super::keymap::Action;
use super::state::{App, Mode};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

pub use msg::{Effect, Msg};
pub use record::{ACTIVE_FLUSH_MS, DEBOUNCE_MS};

/// Apply `msg` at monotonic time `now_ms`.
pub fn update(app: &mut App, msg: Msg, now_ms: u64) -> Vec<Effect> {
    app.now_ms = now_ms;
    let mut fx = Vec::new();
    match msg {
        Msg::Start => start(app, &mut fx),
        Msg::Key(k) if k.kind != KeyEventKind::Release => {
            record::note_input(app);
            key(app, k, &mut fx);
        }
        Msg::Key(_) => {}
        Msg::Mouse(m, drawn) => {
            record::note_input(app);
            mouse::mouse(app, m, &drawn);
        }
        Msg::Resize(w, h) => app.size = Rect::new(0, 0, w, h),
        Msg::Tick => record::tick(app, &mut fx),
        Msg::Assist(ev) => generation::assist_event(app, ev, &mut fx),
        Msg::Appended(ev) => {
            app.apply(ev);
            // A new version (R) may have fewer items than the old one.
            navigate::clamp_selection(app);
        }
        Msg::EditorDone(text) => forms::editor_done(app, text, &mut fx),
        Msg::Quit => quit(app, &mut fx),
    }
    fx
}

fn start(app: &mut App, fx: &mut Vec<Effect>) {
    app.started = true;
    // Reading before the first key press is work too.
    app.last_input_ms = Some(app.now_ms);
    navigate::open_task(app, fx);
    if let Some(offset) = app.resume_scroll.take() {
        app.answer_scroll = offset;
    }
}

fn quit(app: &mut App, fx: &mut Vec<Effect>) {
    if app.quit {
        return;
    }
    navigate::close_task(app, fx);
    for id in app.gens.keys() {
        fx.push(Effect::Cancel(*id));
    }
    app.quit = true;
    fx.push(Effect::Quit);
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
        Mode::Search { query } => search::search_key(app, k, query, fx),
        Mode::Critique(form) => forms::critique_key(app, k, *form, fx),
        Mode::Verdict(form) => forms::verdict_key(app, k, *form, fx),
        Mode::Correction(ta) => forms::correction_key(app, k, *ta, fx),
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

fn action(app: &mut App, a: Action, fx: &mut Vec<Effect>) {
    use label::Grade;
    match a {
        Action::Quit => quit(app, fx),
        Action::Help => app.mode = Mode::Help { scroll: 0 },
        Action::Guidelines => navigate::guidelines(app),
        Action::NextTask => navigate::step_task(app, 1, fx),
        Action::PrevTask => navigate::step_task(app, -1, fx),
        Action::NextUnlabelled => navigate::next_unlabelled(app, fx),
        Action::ToggleFilter => navigate::toggle_filter(app),
        Action::Search => {
            app.mode = Mode::Search {
                query: String::new(),
            }
        }
        Action::Undo => label::undo(app, fx),
        Action::Regenerate => generation::regenerate(app, fx),
        Action::Cancel => generation::cancel(app, fx),
        Action::ToggleFocus => navigate::toggle_focus(app),
        Action::NextTab => navigate::switch_tab(app, 1),
        Action::PrevTab => navigate::switch_tab(app, -1),
        Action::Down
        | Action::Up
        | Action::PageDown
        | Action::PageUp
        | Action::Top
        | Action::Bottom => navigate::motion(app, a),
        Action::Left | Action::Right | Action::WordForward | Action::WordBack => {
            navigate::cursor_motion(app, a)
        }
        Action::LabelGood => label::label(app, Grade::Good, fx),
        Action::LabelBad => label::label(app, Grade::Bad, fx),
        Action::LabelNeutral => label::label(app, Grade::Neutral, fx),
        Action::CycleSeverity => label::cycle_severity(app, fx),
        Action::StopAtFirstBad => label::toggle_stop_at_first_bad(app),
        Action::Visual => navigate::visual(app),
        Action::AddCritique => forms::open_critique_form(app),
        Action::EditCorrection => forms::open_correction(app),
        Action::ExternalEditor => forms::external_editor(app, fx),
        Action::Verdict => forms::open_verdict(app),
        Action::SwitchAnswer => navigate::switch_answer(app),
    }
}
