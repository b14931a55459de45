//! Reading a session's files: the event log line by line (torn tail left
//! out, bad lines reported with `file:line` and the command that repairs
//! them), the task snapshot, and the list of sessions.

use super::event::{Event, SCHEMA_VERSION};
use super::log::{session_name, EVENTS_FILE};
use super::replay::Replay;
use super::{io_err, Result, SessionError};
use crate::task::{native, Task};
use std::path::{Path, PathBuf};

/// The complete events of a log, and the length of a torn last line.
pub(super) fn read_events(path: &Path) -> Result<(Vec<Event>, u64)> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let complete = complete_prefix(&bytes);
    let events = parse_events(path, &bytes[..complete])?;
    Ok((events, (bytes.len() - complete) as u64))
}

/// Length of the prefix that ends with a newline (complete lines only).
pub(super) fn complete_prefix(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
}

fn parse_events(path: &Path, bytes: &[u8]) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    let mut last_seq = 0;
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        let corrupt = |message: String| SessionError::Corrupt {
            path: path.to_path_buf(),
            line: i + 1,
            message: format!("{message} ({})", repair_hint(path)),
        };
        let event = parse_line(raw).map_err(corrupt)?;
        if event.seq <= last_seq {
            return Err(corrupt(format!(
                "sequence number {} does not follow {last_seq}",
                event.seq
            )));
        }
        last_seq = event.seq;
        events.push(event);
    }
    Ok(events)
}

/// One complete line of a log.
pub(super) fn parse_line(raw: &[u8]) -> std::result::Result<Event, String> {
    let text = std::str::from_utf8(raw)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    parse_event(text)
}

/// Where to look when a log has lines readers refuse.
fn repair_hint(events_path: &Path) -> String {
    let dir = events_path.parent().unwrap_or(Path::new("."));
    format!(
        "`crit fsck {} --repair` moves bad lines aside",
        crate::sanitize::sanitize_line(&dir.display().to_string())
    )
}

fn parse_event(text: &str) -> std::result::Result<Event, String> {
    // Fast path: straight into `Event` (half the time of going through a
    // `Value`, which dominates reading a large log); the slow path below
    // upgrades older versions and gives the precise message for a bad line.
    if let Ok(event) = serde_json::from_str::<Event>(text) {
        if event.v == SCHEMA_VERSION {
            return Ok(event);
        }
    }
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let v = value.get("v").and_then(|v| v.as_u64()).unwrap_or(0);
    if v > SCHEMA_VERSION as u64 {
        return Err(format!(
            "event schema version {v} is newer than this crit understands ({SCHEMA_VERSION}); upgrade crit"
        ));
    }
    if v == 1 {
        super::migrate::v1_to_v2(&mut value)?;
    }
    serde_json::from_value(value).map_err(|e| format!("not a valid event: {e}"))
}

pub(crate) fn read_tasks(path: &Path) -> Result<Vec<Task>> {
    match native::read(path) {
        Ok(loaded) if loaded.skipped.is_empty() => Ok(loaded.tasks),
        Ok(loaded) => {
            let e = &loaded.skipped[0];
            Err(SessionError::Corrupt {
                path: e.file.clone(),
                line: e.line,
                message: e.message.clone(),
            })
        }
        Err(crate::task::TaskError::Io { path, error }) => Err(SessionError::Io { path, error }),
        Err(other) => Err(SessionError::Corrupt {
            path: path.to_path_buf(),
            line: 0,
            message: other.to_string(),
        }),
    }
}

/// One row of `crit sessions`.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub name: String,
    pub dir: PathBuf,
    pub tasks: usize,
    pub events: usize,
    pub error: Option<String>,
}

/// Sessions under `root`, sorted by name; unreadable ones carry an error.
pub fn list_sessions(root: &Path) -> Vec<SessionSummary> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    // Hidden entries are never sessions: `.NAME.creating.PID` is one being
    // built (or left by a killed creator).
    let mut out: Vec<SessionSummary> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.join(EVENTS_FILE).is_file())
        .map(|dir| {
            let name = session_name(&dir);
            match Replay::read(&dir) {
                Ok(r) => SessionSummary {
                    name,
                    dir,
                    tasks: r.tasks().len(),
                    events: r.events().len(),
                    error: None,
                },
                Err(e) => SessionSummary {
                    name,
                    dir,
                    tasks: 0,
                    events: 0,
                    error: Some(e.to_string()),
                },
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
