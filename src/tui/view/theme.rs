//! Styles. With `NO_COLOR` only modifiers (bold, reversed, underlined)
//! remain, so every distinction still reads without colour.

use crate::assist::{CheckVerdict, Severity};
use crate::tui::state::App;
use ratatui::style::{Color, Modifier, Style};

/// Styles, plain when `NO_COLOR` is set (modifiers only).
pub(super) struct Theme {
    color: bool,
}

impl Theme {
    pub(super) fn of(app: &App) -> Theme {
        Theme {
            color: !app.opts.no_color,
        }
    }
    pub(super) fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    pub(super) fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub(super) fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub(super) fn focus_border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::default().fg(Color::Cyan),
            (true, false) => Style::default().add_modifier(Modifier::BOLD),
            _ => self.dim(),
        }
    }
    pub(super) fn selected_quote(&self) -> Style {
        if self.color {
            Style::default().bg(Color::Yellow).fg(Color::Black)
        } else {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        }
    }
    pub(super) fn other_quote(&self) -> Style {
        Style::default().add_modifier(Modifier::UNDERLINED)
    }
    pub(super) fn own_quote(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::UNDERLINED)
    }
    pub(super) fn selection(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    /// The visible form of a control or invisible character in the data
    /// (`\e`, `⟨U+200B⟩`): set apart from the same letters typed.
    pub(super) fn placeholder(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::ITALIC)
    }
    /// The text cursor of an editor.
    pub(super) fn cursor(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub(super) fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    pub(super) fn bad(&self) -> Style {
        self.fg(Color::Red)
    }
    pub(super) fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub(super) fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Critical => self.bad().add_modifier(Modifier::BOLD),
            Severity::Major => self.warn(),
            Severity::Minor => self.dim(),
        }
    }

    pub(super) fn check(&self, v: CheckVerdict) -> Style {
        match v {
            CheckVerdict::Pass => self.good(),
            CheckVerdict::Fail => self.bad(),
            CheckVerdict::Unsure => self.warn(),
        }
    }

    /// A step rating: +1 good, -1 bad, 0 in between.
    pub(super) fn rating(&self, r: i8) -> Style {
        match r {
            1 => self.good(),
            -1 => self.bad(),
            _ => self.warn(),
        }
    }
}
