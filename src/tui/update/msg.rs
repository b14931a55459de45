//! The state machine's input (`Msg`) and output (`Effect`).

use crate::assist::{self, Kind};
use crate::session::event::{Body, Event};
use crate::task::Task;
use crate::tui::drawn::Drawn;
use crossterm::event::{KeyEvent, MouseEvent};
use std::sync::Arc;

/// Input to the state machine.
// Messages are moved once and never stored in bulk: size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    /// First message: open the resumed task and start generating.
    Start,
    Key(KeyEvent),
    /// A mouse event and the layout of the frame it was aimed at.
    Mouse(MouseEvent, Arc<Drawn>),
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

/// Output of the state machine, performed by the driver. Each carries all
/// the data the driver needs, so it never calls back into the update.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append to the session log; `durable` = fsync before continuing.
    Append {
        body: Body,
        durable: bool,
    },
    /// Ask the assistant for `kind` on task number `task` (`input`).
    Submit {
        id: u64,
        task: usize,
        kind: Kind,
        seed: u32,
        input: Arc<Task>,
    },
    Cancel(u64),
    OpenEditor {
        text: String,
    },
    Quit,
}
