//! Sessions on disk: a directory with the task snapshot (`tasks.jsonl`), the
//! append-only `events.jsonl`, and a `lock` held by the one writer; and
//! [`Replay`], the one owner of what the events add up to.

pub mod event;
pub mod fold;
pub mod fsck;
mod list;
mod log;
mod migrate;
pub mod protocol;
mod read;
mod replay;
pub mod time;
mod vocab;
pub mod work;

pub use event::{Body, Event};
pub use fold::TaskState;
pub use list::{list_sessions, SessionSummary};
pub use log::{Log, Session};
pub use read::{session_name, EVENTS_FILE, TASKS_FILE};
pub use replay::{Replay, ResumePoint};
pub use time::Timestamp;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("session {dir} is in use by another crit process (pid {pid}); close it first or open with --read-only")]
    Locked { dir: PathBuf, pid: String },
    #[error("{path}:{line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("no session at {0} (expected {0}/events.jsonl); `crit sessions` lists the sessions")]
    NotFound(PathBuf),
    #[error("session {dir} exists and was started from different tasks ({reason}); use another --session name")]
    Mismatch { dir: PathBuf, reason: String },
    #[error("session {0} is read-only")]
    ReadOnly(PathBuf),
    #[error("{path} changed under this writer ({why}); nothing more was written. Another process wrote to the session: check it with `crit fsck`")]
    Changed { path: PathBuf, why: String },
    #[error("session {} has no session_created event (its creation was interrupted); `crit fsck {} --repair` rebuilds it from tasks.jsonl", .0.display(), .0.display())]
    Headless(PathBuf),
    #[error("{0} exists but is not a session (it has no events.jsonl); choose another name or remove it")]
    NotASession(PathBuf),
}

pub type Result<T> = std::result::Result<T, SessionError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SessionError {
    let path = path.into();
    move |error| SessionError::Io { path, error }
}
