//! The append-only event log: one writer (a lock on the session directory),
//! whole lines, fsync on demand, torn-tail recovery on open, atomic
//! creation.

use super::event::{Body, Event, SourceFormat, SCHEMA_VERSION};
use super::read::{check_header, read_events, read_tasks, session_name, EVENTS_FILE, TASKS_FILE};
use super::replay::Replay;
use super::time::Timestamp;
use super::{io_err, Result, SessionError};
use crate::fsutil;
use crate::task::{native, Task};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const LOCK_FILE: &str = "lock";

/// The writing end of a session's log: one whole line per event, fsync on
/// demand. Holds the session's lock until dropped, and refuses to write
/// when the log changed under it (another process wrote to it, or it was
/// replaced or deleted).
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    file: File,
    _lock: File,
    next_seq: u64,
    /// Length of the log as this writer left it.
    len: u64,
    unsynced: bool,
}

impl Log {
    fn open(dir: &Path, lock: File, next_seq: u64) -> Result<Log> {
        let path = dir.join(EVENTS_FILE);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        Ok(Log {
            dir: dir.to_path_buf(),
            file,
            _lock: lock,
            next_seq,
            len,
            unsynced: false,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append one event as one whole line. Not yet fsync'd: call `sync`.
    pub fn append(&mut self, body: Body) -> Result<Event> {
        let path = self.dir.join(EVENTS_FILE);
        self.check_unchanged(&path)?;
        let event = Event {
            v: SCHEMA_VERSION,
            seq: self.next_seq,
            ts: Timestamp::now(),
            body,
        };
        let mut line = serde_json::to_vec(&event).expect("events always serialize");
        line.push(b'\n');
        self.file.write_all(&line).map_err(io_err(&path))?;
        self.next_seq += 1;
        self.len += line.len() as u64;
        self.unsynced = true;
        Ok(event)
    }

    /// Another writer appending (it would reuse our sequence numbers), or
    /// the file swapped under us, must stop this writer before it writes.
    fn check_unchanged(&self, path: &Path) -> Result<()> {
        let ours = self.file.metadata().map_err(io_err(path))?;
        let theirs = std::fs::metadata(path).ok();
        let same_file = theirs.is_some_and(|m| m.dev() == ours.dev() && m.ino() == ours.ino());
        if !same_file || ours.len() != self.len {
            return Err(SessionError::Changed {
                path: path.to_path_buf(),
                why: if same_file {
                    format!("it grew from {} to {} bytes", self.len, ours.len())
                } else {
                    "it was replaced or deleted".into()
                },
            });
        }
        Ok(())
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
    /// if it was started from the same tasks (resume). A new session appears
    /// whole or not at all: it is built in a temp directory and renamed.
    pub fn create_or_open(
        dir: &Path,
        tasks: &[Task],
        source_path: &str,
        source_format: SourceFormat,
    ) -> Result<Session> {
        let snapshot = snapshot_text(tasks);
        let digest = crate::hash::sha256_hex(snapshot.as_bytes());
        if !dir.join(EVENTS_FILE).is_file() {
            let created = Body::SessionCreated {
                crit_version: crate::VERSION.to_string(),
                source_path: source_path.to_string(),
                source_format,
                tasks_sha256: digest.clone(),
                task_count: tasks.len(),
            };
            create(dir, &snapshot, created)?;
        }
        let session = Session::open(dir)?;
        check_same_tasks(&session, &digest)?;
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
        check_header(dir, &events)?;
        if torn > 0 {
            tracing::warn!(path = %events_path.display(), torn, "truncating torn last line");
            truncate_torn(&events_path, torn)?;
        }
        let next_seq = events.last().map_or(1, |e| e.seq + 1);
        let mut session = Session {
            log: Log::open(dir, lock, next_seq)?,
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

/// Build the session in `.<name>.creating.<pid>` beside `dir`, then rename
/// it into place. Losing a race to another creator is fine: theirs is
/// opened (and checked for the same tasks) instead.
fn create(dir: &Path, snapshot: &str, created: Body) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let tmp = parent.join(format!(
        ".{}.creating.{}",
        session_name(dir),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp); // ours from an earlier crash
    std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    let header = Event {
        v: SCHEMA_VERSION,
        seq: 1,
        ts: Timestamp::now(),
        body: created,
    };
    let mut line = serde_json::to_string(&header).expect("events always serialize");
    line.push('\n');
    let write = |name: &str, text: &str| {
        let path = tmp.join(name);
        write_synced(&path, text.as_bytes()).map_err(io_err(&path))
    };
    write(TASKS_FILE, snapshot)?;
    write(EVENTS_FILE, &line)?;
    fsutil::sync_dir(&tmp);
    let placed = std::fs::rename(&tmp, dir);
    let _ = std::fs::remove_dir_all(&tmp);
    match placed {
        Ok(()) => {
            fsutil::sync_dir(&parent);
            Ok(())
        }
        Err(_) if dir.join(EVENTS_FILE).is_file() => Ok(()), // another creator won
        Err(_) if dir.is_dir() => Err(SessionError::NotASession(dir.to_path_buf())),
        Err(e) => Err(io_err(dir)(e)),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn truncate_torn(path: &Path, torn: u64) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    let len = f.metadata().map_err(io_err(path))?.len();
    f.set_len(len - torn).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

fn check_same_tasks(session: &Session, digest: &str) -> Result<()> {
    match &session.events()[0].body {
        Body::SessionCreated { tasks_sha256, .. } if tasks_sha256 == digest => Ok(()),
        _ => Err(SessionError::Mismatch {
            dir: session.dir().to_path_buf(),
            reason: "the task snapshot's SHA-256 differs".into(),
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

/// The session's lock: an exclusive advisory lock on the session directory
/// itself (nothing a user deletes by accident), plus `lock`, a file that
/// names the holder's pid for the message a second writer gets.
pub(super) fn take_lock(dir: &Path) -> Result<File> {
    let handle = File::open(dir).map_err(io_err(dir))?;
    let pid_path = dir.join(LOCK_FILE);
    match handle.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&pid_path)
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
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err(dir)(e)),
    }
    std::fs::write(&pid_path, std::process::id().to_string()).map_err(io_err(&pid_path))?;
    Ok(handle)
}
