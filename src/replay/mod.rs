//! The researchers' replay of a session (`crit replay`): the session as a
//! sequence of moments, one per event, each with what the evaluator had on
//! screen ([`Screen`]), where it sits on the clock ([`Timeline`]: wall
//! time, active time, marks, idle gaps compressed), and as plain text
//! ([`Moment`]); plus [`regenerate`], which runs recorded assistance again
//! and compares.
//!
//! Everything here is a fold over the session's events through the one
//! [`crate::session::Replay`]; nothing here draws (the replay screen is in
//! `tui::replay`).

pub mod describe;
mod moment;
mod recording;
pub mod regenerate;
mod screen;
pub mod timeline;

pub use moment::{Focused, Moment, TaskView};
pub use recording::{evaluators, At, Recording};
pub use screen::Screen;
pub use timeline::{Mark, Point, Timeline, IDLE_GAP_MS, IDLE_PLAY_MS};

use crate::session::{SessionError, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("no evaluator {name:?} in this session; evaluators: {known}")]
    UnknownEvaluator { name: String, known: String },
    #[error("no event #{seq}: the log has events #{first} to #{last}")]
    NoSuchEvent { seq: u64, first: u64, last: u64 },
    #[error("{at} is before the session's first event ({first})")]
    BeforeStart { at: Timestamp, first: Timestamp },
    #[error(
        "{0:?} is neither an event number nor an RFC 3339 time (e.g. 42 or 2026-11-26T21:00:00Z)"
    )]
    BadPoint(String),
    #[error("the session has no events")]
    Empty,
}

impl ReplayError {
    /// The user asked for something the session does not have (exit 2).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ReplayError::Session(_))
    }
}

pub type Result<T> = std::result::Result<T, ReplayError>;
