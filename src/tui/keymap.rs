//! Keymap as data: serde-named actions bound to keys, defaults vim-like,
//! rebindable from the config file's `[keys]` table. Resolved without a
//! terminal, so it is unit-tested.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Everything a key can do in the normal (non-typing) mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    Guidelines,
    NextTask,
    PrevTask,
    NextUnlabelled,
    ToggleFilter,
    Search,
    Undo,
    Regenerate,
    Cancel,
    ToggleFocus,
    NextTab,
    PrevTab,
    Down,
    Up,
    Left,
    Right,
    WordForward,
    WordBack,
    PageDown,
    PageUp,
    Top,
    Bottom,
    LabelGood,
    LabelBad,
    LabelNeutral,
    CycleSeverity,
    StopAtFirstBad,
    Visual,
    AddCritique,
    EditCorrection,
    ExternalEditor,
    Verdict,
    SwitchAnswer,
}

impl Action {
    pub const ALL: [Action; 35] = [
        Action::Quit,
        Action::Help,
        Action::Guidelines,
        Action::NextTask,
        Action::PrevTask,
        Action::NextUnlabelled,
        Action::ToggleFilter,
        Action::Search,
        Action::Undo,
        Action::Regenerate,
        Action::Cancel,
        Action::ToggleFocus,
        Action::NextTab,
        Action::PrevTab,
        Action::Down,
        Action::Up,
        Action::Left,
        Action::Right,
        Action::WordForward,
        Action::WordBack,
        Action::PageDown,
        Action::PageUp,
        Action::Top,
        Action::Bottom,
        Action::LabelGood,
        Action::LabelBad,
        Action::LabelNeutral,
        Action::CycleSeverity,
        Action::StopAtFirstBad,
        Action::Visual,
        Action::AddCritique,
        Action::EditCorrection,
        Action::ExternalEditor,
        Action::Verdict,
        Action::SwitchAnswer,
    ];

    /// The config-file name (`snake_case`).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn parse(name: &str) -> Option<Action> {
        serde_json::from_value(serde_json::Value::String(name.into())).ok()
    }

    /// One line for the help screen.
    pub fn describe(self) -> &'static str {
        use Action::*;
        match self {
            Quit => "quit (everything is already saved)",
            Help => "show this help",
            Guidelines => "show the evaluation guidelines",
            NextTask => "next task",
            PrevTask => "previous task",
            NextUnlabelled => "next task without a verdict",
            ToggleFilter => "only visit tasks without a verdict",
            Search => "search answers (Enter on empty repeats)",
            Undo => "undo your last record on this task (appends a retraction)",
            Regenerate => "regenerate this tab's assistance with a new seed",
            Cancel => "cancel generation / clear selection",
            ToggleFocus => "switch focus: answer <-> assistance",
            NextTab => "next assistance tab",
            PrevTab => "previous assistance tab",
            Down => "down (item or line)",
            Up => "up (item or line)",
            Left => "cursor left (answer)",
            Right => "cursor right (answer)",
            WordForward => "cursor to next word (answer)",
            WordBack => "cursor to previous word (answer)",
            PageDown => "page down",
            PageUp => "page up",
            Top => "first item / start of answer",
            Bottom => "last item / end of answer",
            LabelGood => "label: valid / pass / +1",
            LabelBad => "label: hallucinated / fail / -1",
            LabelNeutral => "label: nitpick / unsure / 0",
            CycleSeverity => "correct the critique's severity",
            StopAtFirstBad => "toggle: stop step rating at the first -1",
            Visual => "start/stop selecting answer text",
            AddCritique => "add your own critique on the selection",
            EditCorrection => "edit a corrected answer in place",
            ExternalEditor => "edit a corrected answer in $EDITOR",
            Verdict => "record the verdict",
            SwitchAnswer => "pairwise: show answer A / B",
        }
    }

    fn default_keys(self) -> &'static [&'static str] {
        use Action::*;
        match self {
            Quit => &["q", "ctrl-c"],
            Help => &["?", "f1"],
            Guidelines => &["g"],
            NextTask => &["n"],
            PrevTask => &["p"],
            NextUnlabelled => &["N"],
            ToggleFilter => &["f"],
            Search => &["/"],
            Undo => &["u"],
            Regenerate => &["R"],
            Cancel => &["esc"],
            ToggleFocus => &["tab"],
            NextTab => &["]", "L"],
            PrevTab => &["[", "H", "backtab"],
            Down => &["j", "down"],
            Up => &["k", "up"],
            Left => &["h", "left"],
            Right => &["l", "right"],
            WordForward => &["w"],
            WordBack => &["b"],
            PageDown => &["ctrl-d", "pagedown"],
            PageUp => &["ctrl-u", "pageup"],
            Top => &["home"],
            Bottom => &["end", "G"],
            LabelGood => &["1", "y", "+"],
            LabelBad => &["2", "x", "-"],
            LabelNeutral => &["3", "0", "~"],
            CycleSeverity => &["s"],
            StopAtFirstBad => &["F"],
            Visual => &["v"],
            AddCritique => &["c"],
            EditCorrection => &["e"],
            ExternalEditor => &["E"],
            Verdict => &["V", "enter"],
            SwitchAnswer => &["o"],
        }
    }
}

/// A key with modifiers, normalised so `shift-a` and `A` are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Key {
        Key {
            code: ev.code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse `"j"`, `"ctrl-d"`, `"alt-x"`, `"esc"`, `"pagedown"`, `"f1"`...
    pub fn parse(s: &str) -> Result<Key, KeymapError> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = parse_code(rest).ok_or_else(|| KeymapError::BadKey(s.to_string()))?;
        Ok(Key { code, ctrl, alt })
    }
}

fn parse_code(s: &str) -> Option<KeyCode> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(KeyCode::Char(c));
    }
    Some(match s {
        "esc" => KeyCode::Esc,
        "enter" => KeyCode::Enter,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        "delete" => KeyCode::Delete,
        _ => {
            let n: u8 = s.strip_prefix('f')?.parse().ok()?;
            KeyCode::F(n)
        }
    })
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            // A key bound in the config may be any char: shown sanitized.
            KeyCode::Char(c) => f.write_str(&crate::sanitize::sanitize_line(&c.to_string())),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KeymapError {
    #[error("[keys]: unknown action {0:?} (see `?` in crit review for the names)")]
    UnknownAction(String),
    #[error("[keys]: cannot read key {0:?} (examples: \"j\", \"ctrl-d\", \"esc\", \"pagedown\")")]
    BadKey(String),
}

/// Keys to actions, plus the reverse for the help screen.
#[derive(Debug, Clone)]
pub struct Keymap {
    map: HashMap<Key, Action>,
    keys: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let keys = Action::ALL
            .iter()
            .map(|a| {
                let ks = a.default_keys().iter().map(|k| Key::parse(k).unwrap());
                (*a, ks.collect())
            })
            .collect();
        Keymap::from_keys(keys)
    }
}

impl Keymap {
    fn from_keys(keys: BTreeMap<Action, Vec<Key>>) -> Keymap {
        let mut map = HashMap::new();
        for (action, ks) in &keys {
            for k in ks {
                map.insert(*k, *action);
            }
        }
        Keymap { map, keys }
    }

    /// Defaults with the config's overrides: an action listed in `[keys]`
    /// gets exactly those keys, and those keys leave any other action.
    pub fn with_overrides(
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> Result<Keymap, KeymapError> {
        let mut keys = Keymap::default().keys;
        for (name, list) in overrides {
            let action =
                Action::parse(name).ok_or_else(|| KeymapError::UnknownAction(name.clone()))?;
            let parsed = list
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()?;
            for ks in keys.values_mut() {
                ks.retain(|k| !parsed.contains(k));
            }
            keys.insert(action, parsed);
        }
        Ok(Keymap::from_keys(keys))
    }

    pub fn resolve(&self, ev: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(ev);
        self.map.get(&key).copied().or_else(|| {
            // Terminals disagree on whether shifted letters carry SHIFT.
            let plain = Key {
                ctrl: key.ctrl,
                alt: key.alt,
                code: key.code,
            };
            self.map.get(&plain).copied()
        })
    }

    pub fn keys_for(&self, action: Action) -> &[Key] {
        self.keys.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The first key of `action` ("(unbound)" if none), for hints in text.
    pub fn first(&self, action: Action) -> String {
        self.keys_for(action)
            .first()
            .map_or_else(|| "(unbound)".into(), |k| k.to_string())
    }

    /// "j/down" for help lines and hints.
    pub fn hint(&self, action: Action) -> String {
        let ks: Vec<String> = self
            .keys_for(action)
            .iter()
            .map(|k| k.to_string())
            .collect();
        if ks.is_empty() {
            "(unbound)".into()
        } else {
            ks.join("/")
        }
    }
}
