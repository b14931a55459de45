//! Reading a session's files: the event log line by line (torn tail left
//! out, bad lines reported with `file:line` and the command that repairs
//! them), the task snapshot, and the header every log starts with.

use super::event::{Body, Event, SCHEMA_VERSION};
use super::{io_err, Result, SessionError};
use crate::task::{native, Task};
use std::path::Path;

pub const EVENTS_FILE: &str = "events.jsonl";
pub const TASKS_FILE: &str = "tasks.jsonl";

/// A session's name: its directory's last component.
pub fn session_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// A log must start with `session_created`; an empty or headless one (its
/// creation was cut short by an older crit) says how to repair it.
pub(super) fn check_header(dir: &Path, events: &[Event]) -> Result<()> {
    match events.first().map(|e| &e.body) {
        Some(Body::SessionCreated { .. }) => Ok(()),
        _ => Err(SessionError::Headless(dir.to_path_buf())),
    }
}

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
