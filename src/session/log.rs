//! The append-only event log: one writer (file lock), whole lines, fsync on
//! demand, torn-tail recovery on open.

use super::event::{now_utc, Body, Event, SCHEMA_VERSION};
use super::{io_err, Result, SessionError};
use crate::task::{native, Task};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const EVENTS_FILE: &str = "events.jsonl";
pub const TASKS_FILE: &str = "tasks.jsonl";
const LOCK_FILE: &str = "lock";

/// Everything a session holds, read without taking the lock.
#[derive(Debug, Clone)]
pub struct SessionData {
    pub dir: PathBuf,
    pub tasks: Vec<Task>,
    pub events: Vec<Event>,
}

impl SessionData {
    /// Read a session for replay/audit/export. A torn last line (a writer
    /// killed mid-write, or one still writing) is ignored, not an error.
    pub fn read(dir: &Path) -> Result<SessionData> {
        let events_path = dir.join(EVENTS_FILE);
        if !events_path.is_file() {
            return Err(SessionError::NotFound(dir.to_path_buf()));
        }
        let tasks = read_tasks(&dir.join(TASKS_FILE))?;
        let bytes = std::fs::read(&events_path).map_err(io_err(&events_path))?;
        let complete = complete_prefix(&bytes);
        let events = parse_events(&events_path, &bytes[..complete])?;
        Ok(SessionData {
            dir: dir.to_path_buf(),
            tasks,
            events,
        })
    }

    pub fn name(&self) -> String {
        session_name(&self.dir)
    }
}

pub fn session_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// A session opened for writing. Holds the lock until dropped.
#[derive(Debug)]
pub struct Session {
    pub data: SessionData,
    file: File,
    _lock: File,
    next_seq: u64,
    unsynced: bool,
}

impl Session {
    /// Create a new session directory from `tasks`, or open the existing one
    /// if it was started from the same tasks (resume).
    pub fn create_or_open(
        dir: &Path,
        tasks: &[Task],
        source_path: &str,
        source_format: &str,
    ) -> Result<Session> {
        let snapshot = snapshot_text(tasks);
        let digest = crate::hash::sha256_hex(snapshot.as_bytes());
        if dir.join(EVENTS_FILE).is_file() {
            let session = Session::open(dir)?;
            check_same_tasks(&session, &digest)?;
            return Ok(session);
        }
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = take_lock(dir)?;
        write_atomic(&dir.join(TASKS_FILE), snapshot.as_bytes())?;
        let events_path = dir.join(EVENTS_FILE);
        let file = open_append(&events_path)?;
        let mut session = Session {
            data: SessionData {
                dir: dir.to_path_buf(),
                tasks: tasks.to_vec(),
                events: Vec::new(),
            },
            file,
            _lock: lock,
            next_seq: 1,
            unsynced: false,
        };
        session.append(Body::SessionCreated {
            crit_version: crate::VERSION.to_string(),
            source_path: source_path.to_string(),
            source_format: source_format.to_string(),
            tasks_sha256: digest,
            task_count: tasks.len(),
        })?;
        session.sync()?;
        sync_dir(dir);
        Ok(session)
    }

    /// Open an existing session for writing: take the lock, recover a torn
    /// last line (truncate it, warn, record a `recovered` event).
    pub fn open(dir: &Path) -> Result<Session> {
        let events_path = dir.join(EVENTS_FILE);
        if !events_path.is_file() {
            return Err(SessionError::NotFound(dir.to_path_buf()));
        }
        let lock = take_lock(dir)?;
        let tasks = read_tasks(&dir.join(TASKS_FILE))?;
        let bytes = std::fs::read(&events_path).map_err(io_err(&events_path))?;
        let complete = complete_prefix(&bytes);
        let events = parse_events(&events_path, &bytes[..complete])?;
        let torn = (bytes.len() - complete) as u64;
        if torn > 0 {
            tracing::warn!(path = %events_path.display(), torn, "truncating torn last line");
            eprintln!(
                "warning: {}: last line was incomplete ({torn} bytes, a write was interrupted); it was removed, everything before it is kept",
                events_path.display()
            );
            let f = OpenOptions::new()
                .write(true)
                .open(&events_path)
                .map_err(io_err(&events_path))?;
            f.set_len(complete as u64).map_err(io_err(&events_path))?;
            f.sync_all().map_err(io_err(&events_path))?;
        }
        let next_seq = events.last().map_or(1, |e| e.seq + 1);
        let file = open_append(&events_path)?;
        let mut session = Session {
            data: SessionData {
                dir: dir.to_path_buf(),
                tasks,
                events,
            },
            file,
            _lock: lock,
            next_seq,
            unsynced: false,
        };
        if torn > 0 {
            session.append(Body::Recovered {
                dropped_bytes: torn,
            })?;
            session.sync()?;
        }
        Ok(session)
    }

    pub fn dir(&self) -> &Path {
        &self.data.dir
    }

    pub fn tasks(&self) -> &[Task] {
        &self.data.tasks
    }

    pub fn events(&self) -> &[Event] {
        &self.data.events
    }

    /// Append one event as one whole line. Not yet fsync'd: call `sync`.
    pub fn append(&mut self, body: Body) -> Result<&Event> {
        let event = Event {
            v: SCHEMA_VERSION,
            seq: self.next_seq,
            ts: now_utc(),
            body,
        };
        let mut line = serde_json::to_vec(&event).expect("events always serialize");
        line.push(b'\n');
        let path = self.data.dir.join(EVENTS_FILE);
        self.file.write_all(&line).map_err(io_err(&path))?;
        self.next_seq += 1;
        self.unsynced = true;
        self.data.events.push(event);
        Ok(self.data.events.last().unwrap())
    }

    /// Append and fsync: for labels and verdicts, which must survive a crash.
    pub fn append_durable(&mut self, body: Body) -> Result<&Event> {
        self.append(body)?;
        self.sync()?;
        Ok(self.data.events.last().unwrap())
    }

    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            let path = self.data.dir.join(EVENTS_FILE);
            self.file.sync_data().map_err(io_err(&path))?;
            self.unsynced = false;
        }
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

fn check_same_tasks(session: &Session, digest: &str) -> Result<()> {
    let recorded = session.events().iter().find_map(|e| match &e.body {
        Body::SessionCreated { tasks_sha256, .. } => Some(tasks_sha256.clone()),
        _ => None,
    });
    match recorded {
        Some(d) if d == digest => Ok(()),
        Some(_) => Err(SessionError::Mismatch {
            dir: session.dir().to_path_buf(),
            reason: "the task snapshot's SHA-256 differs".into(),
        }),
        None => Err(SessionError::Corrupt {
            path: session.dir().join(EVENTS_FILE),
            line: 1,
            message: "first event is not session_created".into(),
        }),
    }
}

fn snapshot_text(tasks: &[Task]) -> String {
    let mut text = String::new();
    for t in tasks {
        text.push_str(&native::to_native_line(t));
        text.push('\n');
    }
    text
}

/// Length of the prefix that ends with a newline (complete lines only).
fn complete_prefix(bytes: &[u8]) -> usize {
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
            message,
        };
        let text = std::str::from_utf8(raw)
            .map_err(|e| corrupt(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        let event = parse_event(text).map_err(corrupt)?;
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

fn parse_event(text: &str) -> std::result::Result<Event, String> {
    // Fast path: straight into `Event` (half the time of going through a
    // `Value`, which dominates reading a large log); the slow path below
    // gives the precise message for a bad line.
    if let Ok(event) = serde_json::from_str::<Event>(text) {
        if event.v <= SCHEMA_VERSION {
            return Ok(event);
        }
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let v = value.get("v").and_then(|v| v.as_u64()).unwrap_or(0);
    if v > SCHEMA_VERSION as u64 {
        return Err(format!(
            "event schema version {v} is newer than this crit understands ({SCHEMA_VERSION}); upgrade crit"
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("not a valid event: {e}"))
}

fn read_tasks(path: &Path) -> Result<Vec<Task>> {
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
        Err(crate::task::TaskError::Io { path, source }) => Err(SessionError::Io { path, source }),
        Err(other) => Err(SessionError::Corrupt {
            path: path.to_path_buf(),
            line: 0,
            message: other.to_string(),
        }),
    }
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))
}

/// Exclusive advisory lock on `dir/lock`, which names the holder's pid.
fn take_lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            return Err(SessionError::Locked {
                dir: dir.to_path_buf(),
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
    }
    file.set_len(0).map_err(io_err(&path))?;
    write!(file, "{}", std::process::id()).map_err(io_err(&path))?;
    Ok(file)
}

/// Write via a temp file and rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::fsutil::write_atomic(path, bytes).map_err(io_err(path))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
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
    let mut out: Vec<SessionSummary> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(EVENTS_FILE).is_file())
        .map(|dir| {
            let name = session_name(&dir);
            match SessionData::read(&dir) {
                Ok(d) => SessionSummary {
                    name,
                    dir,
                    tasks: d.tasks.len(),
                    events: d.events.len(),
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
