//! The replay screen (`crit replay`): the review's own views, driven by the
//! session's events instead of the keyboard, with a timeline and the event
//! list below. `state` holds the position and the review state at it,
//! `update` is the pure key/time handling, `view` draws, `run` is the event
//! loop (keys, the playback clock, and following a log that grows).

mod run;
mod state;
mod update;
mod view;

pub use run::run;
pub use state::{Mode, Player, SPEEDS};
pub use update::{resolve, update, Action, Msg, KEYS};
pub use view::draw;

use ratatui::widgets::Widget;

impl Widget for &Player {
    fn render(self, area: ratatui::layout::Rect, buf: &mut ratatui::buffer::Buffer) {
        draw(self, area, buf);
    }
}
