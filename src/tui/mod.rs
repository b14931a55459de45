//! The review UI: a pure state machine (`state`, `update`) that returns
//! effects as data, a driver that performs them, views drawn from `&App`,
//! a keymap as data, and terminal setup/restore.

pub mod driver;
pub mod keymap;
pub mod layout;
pub mod state;
pub mod terminal;
pub mod text;
pub mod update;
pub mod view;

pub use driver::Driver;
pub use keymap::{Action, Keymap};
pub use state::{App, Options, Protocol, Tab};
pub use update::{update, Effect, Msg};
