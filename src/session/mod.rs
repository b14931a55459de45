//! Sessions on disk: a directory with the task snapshot (`tasks.jsonl`), the
//! append-only `events.jsonl`, and a `lock` held by the one writer; and
//! [`Replay`], the one owner of what the events add up to.

pub mod event;
pub mod fold;
mod log;
mod migrate;
pub mod protocol;
mod replay;
pub mod time;
pub mod work;

pub use event::{Body, Event};
pub use fold::TaskState;
pub use log::{list_sessions, session_name, Log, Session, SessionSummary, EVENTS_FILE, TASKS_FILE};
pub use replay::{Replay, ResumePoint};
pub use time::Timestamp;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
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
}

pub type Result<T> = std::result::Result<T, SessionError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SessionError {
    let path = path.into();
    move |source| SessionError::Io { path, source }
}
