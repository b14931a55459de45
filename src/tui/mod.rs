//! The review UI: a pure state machine (`state`, `update`) that returns
//! effects as data, a driver that performs them, views drawn from `&App`
//! that return the layout they drew (`Drawn`, for mouse hit-testing), a
//! keymap as data, and terminal setup/restore. Queries both the update and
//! the views ask live on the state (`queries`), so neither imports the other.

pub mod drawn;
pub mod driver;
pub mod editor;
pub mod keymap;
pub mod layout;
pub mod queries;
pub mod state;
pub mod terminal;
pub mod text;
pub mod update;
pub mod view;

pub use drawn::Drawn;
pub use driver::Driver;
pub use keymap::{Action, Keymap};
pub use state::{App, Options, Protocol, Tab};
pub use update::{update, Effect, Msg};
