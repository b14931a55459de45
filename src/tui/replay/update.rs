//! Keys and time for the replay screen: a pure update over [`Player`],
//! tested without a terminal. The keys are data ([`KEYS`]), shown by the
//! help overlay as they are resolved here.

use super::state::{Mode, Player};
use crate::session::event::Event;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Input to the replay screen.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// The monotonic clock, in ms (playback advances with it).
    Tick(u64),
    /// Complete events another process appended to the log.
    Appended(Vec<Event>),
}

/// What a key does on the replay screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    PlayPause,
    Faster,
    Slower,
    Forward,
    Back,
    NextMark,
    PrevMark,
    PickTask,
    First,
    Last,
    Help,
    Quit,
}

/// Every binding with what it does, in the order help lists them.
pub const KEYS: &[(Action, &[KeyCode], &str, &str)] = &[
    (
        Action::PlayPause,
        &[KeyCode::Char(' ')],
        "space",
        "play / pause",
    ),
    (
        Action::Faster,
        &[KeyCode::Char('+'), KeyCode::Char('=')],
        "+",
        "faster (up to 64×)",
    ),
    (
        Action::Slower,
        &[KeyCode::Char('-'), KeyCode::Char('_')],
        "-",
        "slower (down to 1×)",
    ),
    (
        Action::Forward,
        &[KeyCode::Char('.'), KeyCode::Right],
        ". →",
        "one event forward",
    ),
    (
        Action::Back,
        &[KeyCode::Char(','), KeyCode::Left],
        ", ←",
        "one event back",
    ),
    (
        Action::NextMark,
        &[KeyCode::Char(']')],
        "]",
        "next label or verdict",
    ),
    (
        Action::PrevMark,
        &[KeyCode::Char('[')],
        "[",
        "previous label or verdict",
    ),
    (
        Action::PickTask,
        &[KeyCode::Char('t')],
        "t",
        "jump to a task",
    ),
    (
        Action::First,
        &[KeyCode::Char('g'), KeyCode::Home],
        "g Home",
        "first event",
    ),
    (
        Action::Last,
        &[KeyCode::Char('G'), KeyCode::End],
        "G End",
        "last event",
    ),
    (Action::Help, &[KeyCode::Char('?')], "?", "this help"),
    (Action::Quit, &[KeyCode::Char('q')], "q", "quit"),
];

/// The action bound to `code`, if any.
pub fn resolve(code: KeyCode) -> Option<Action> {
    KEYS.iter()
        .find(|(_, codes, _, _)| codes.contains(&code))
        .map(|(a, ..)| *a)
}

/// Apply `msg`. Returns true when the replay should end.
pub fn update(p: &mut Player, msg: Msg) -> bool {
    match msg {
        Msg::Key(k) if k.kind != KeyEventKind::Release => key(p, k),
        Msg::Key(_) => {}
        Msg::Tick(now) => {
            let dt = p.last_tick_ms.map_or(0, |t| now.saturating_sub(t));
            p.last_tick_ms = Some(now);
            p.play(dt);
        }
        Msg::Appended(events) => p.appended(events),
    }
    p.quit
}

fn key(p: &mut Player, k: KeyEvent) {
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        p.quit = true;
        return;
    }
    match p.mode.clone() {
        Mode::Normal => {
            p.message = None;
            if let Some(a) = resolve(k.code) {
                action(p, a);
            }
        }
        Mode::Help => p.mode = Mode::Normal,
        Mode::Picker { sel } => picker_key(p, k.code, sel),
    }
}

fn action(p: &mut Player, a: Action) {
    match a {
        Action::PlayPause => p.toggle_play(),
        Action::Faster => p.change_speed(1),
        Action::Slower => p.change_speed(-1),
        Action::Forward => p.step(1),
        Action::Back => p.step(-1),
        Action::NextMark => p.jump_mark(1),
        Action::PrevMark => p.jump_mark(-1),
        Action::PickTask => p.mode = Mode::Picker { sel: p.app.current },
        Action::First => {
            p.playing = false;
            p.set_pos(0);
        }
        Action::Last => {
            p.playing = false;
            p.set_pos(p.rec.last());
        }
        Action::Help => p.mode = Mode::Help,
        Action::Quit => p.quit = true,
    }
}

fn picker_key(p: &mut Player, code: KeyCode, sel: usize) {
    let n = p.rec.replay().tasks().len();
    p.mode = match code {
        KeyCode::Down | KeyCode::Char('j') => Mode::Picker {
            sel: (sel + 1).min(n.saturating_sub(1)),
        },
        KeyCode::Up | KeyCode::Char('k') => Mode::Picker {
            sel: sel.saturating_sub(1),
        },
        KeyCode::Enter => {
            p.playing = false;
            p.jump_task(sel);
            Mode::Normal
        }
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('t') => Mode::Normal,
        _ => Mode::Picker { sel },
    };
}
