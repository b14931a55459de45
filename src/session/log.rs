//! The append-only event log: one writer (file lock), whole lines, fsync on
//! demand, torn-tail recovery on open.

use super::event::{Body, Event, SourceFormat, SCHEMA_VERSION};
use super::replay::Replay;
use super::time::Timestamp;
use super::{io_err, Result, SessionError};
use crate::task::{native, Task};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const EVENTS_FILE: &str = "events.jsonl";
pub const TASKS_FILE: &str = "tasks.jsonl";
const LOCK_FILE: &str = "lock";

pub fn session_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// The writing end of a session's log: one whole line per event, fsync on
/// demand. Holds the lock until dropped.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    file: File,
    _lock: File,
    next_seq: u64,
    unsynced: bool,
}

impl Log {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append one event as one whole line. Not yet fsync'd: call `sync`.
    pub fn append(&mut self, body: Body) -> Result<Event> {
        let event = Event {
            v: SCHEMA_VERSION,
            seq: self.next_seq,
            ts: Timestamp::now(),
            body,
        };
        let mut line = serde_json::to_vec(&event).expect("events always serialize");
        line.push(b'\n');
        let path = self.dir.join(EVENTS_FILE);
        self.file.write_all(&line).map_err(io_err(&path))?;
        self.next_seq += 1;
        self.unsynced = true;
        Ok(event)
    }

    /// Append and fsync: for labels and verdicts, which must survive a crash.
    pub fn append_durable(&mut self, body: Body) -> Result<Event> {
        let event = self.append(body)?;
        self.sync()?;
        Ok(event)
    }

    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            let path = self.dir.join(EVENTS_FILE);
            self.file.sync_data().map_err(io_err(&path))?;
            self.unsynced = false;
        }
        Ok(())
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

/// A session opened for writing: its log and its [`Replay`], which every
/// appended event is pushed to.
#[derive(Debug)]
pub struct Session {
    log: Log,
    replay: Replay,
    /// Bytes of a torn last line cut off on open.
    recovered: Option<u64>,
}

impl Session {
    /// Create a new session directory from `tasks`, or open the existing one
    /// if it was started from the same tasks (resume).
    pub fn create_or_open(
        dir: &Path,
        tasks: &[Task],
        source_path: &str,
        source_format: SourceFormat,
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
        let log = Log {
            dir: dir.to_path_buf(),
            file,
            _lock: lock,
            next_seq: 1,
            unsynced: false,
        };
        let replay = Replay::new(tasks.to_vec(), Vec::new()).at(dir);
        let mut session = Session {
            log,
            replay,
            recovered: None,
        };
        session.append(Body::SessionCreated {
            crit_version: crate::VERSION.to_string(),
            source_path: source_path.to_string(),
            source_format,
            tasks_sha256: digest,
            task_count: tasks.len(),
        })?;
        session.sync()?;
        sync_dir(dir);
        Ok(session)
    }

    /// Open an existing session for writing: take the lock, recover a torn
    /// last line (truncate it, record a `recovered` event; see
    /// [`Session::recovered`]).
    pub fn open(dir: &Path) -> Result<Session> {
        let events_path = dir.join(EVENTS_FILE);
        if !events_path.is_file() {
            return Err(SessionError::NotFound(dir.to_path_buf()));
        }
        let lock = take_lock(dir)?;
        let tasks = read_tasks(&dir.join(TASKS_FILE))?;
        let (events, torn) = read_events(&events_path)?;
        if torn > 0 {
            tracing::warn!(path = %events_path.display(), torn, "truncating torn last line");
            truncate_torn(&events_path, torn)?;
        }
        let next_seq = events.last().map_or(1, |e| e.seq + 1);
        let log = Log {
            dir: dir.to_path_buf(),
            file: open_append(&events_path)?,
            _lock: lock,
            next_seq,
            unsynced: false,
        };
        let mut session = Session {
            log,
            replay: Replay::new(tasks, events).at(dir),
            recovered: (torn > 0).then_some(torn),
        };
        if torn > 0 {
            session.append_durable(Body::Recovered {
                dropped_bytes: torn,
            })?;
        }
        Ok(session)
    }

    /// Bytes of an incomplete last line removed on open (a write was
    /// interrupted), for the command to tell the user.
    pub fn recovered(&self) -> Option<u64> {
        self.recovered
    }

    pub fn dir(&self) -> &Path {
        self.log.dir()
    }

    pub fn replay(&self) -> &Replay {
        &self.replay
    }

    pub fn tasks(&self) -> &[Arc<Task>] {
        self.replay.tasks()
    }

    pub fn events(&self) -> &[Event] {
        self.replay.events()
    }

    /// Append one event and fold it. Not yet fsync'd: call `sync`.
    pub fn append(&mut self, body: Body) -> Result<&Event> {
        let event = self.log.append(body)?;
        self.replay.push(event);
        Ok(self.replay.events().last().expect("just pushed"))
    }

    /// Append, fold and fsync: for labels and verdicts.
    pub fn append_durable(&mut self, body: Body) -> Result<&Event> {
        self.append(body)?;
        self.sync()?;
        Ok(self.replay.events().last().expect("just pushed"))
    }

    pub fn sync(&mut self) -> Result<()> {
        self.log.sync()
    }

    /// The writer and the fold apart: for the review UI, whose state owns
    /// the fold while its driver writes.
    pub fn split(self) -> (Log, Replay) {
        (self.log, self.replay)
    }
}

/// Where an incomplete last line starts; everything before it is kept.
fn truncate_torn(path: &Path, torn: u64) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    let len = f.metadata().map_err(io_err(path))?.len();
    f.set_len(len - torn).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// The complete events of a log, and the length of a torn last line.
pub(super) fn read_events(path: &Path) -> Result<(Vec<Event>, u64)> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let complete = complete_prefix(&bytes);
    let events = parse_events(path, &bytes[..complete])?;
    Ok((events, (bytes.len() - complete) as u64))
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

pub(super) fn read_tasks(path: &Path) -> Result<Vec<Task>> {
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
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    Ok(())
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
