//! `crit fsck`: find every line of a session's log that readers refuse, and
//! on request move them aside (to `events.quarantine.jsonl`, nothing is
//! deleted) so that the rest opens again.

use super::event::{Body, Event, SourceFormat, SCHEMA_VERSION};
use super::log;
use super::read;
use super::read::{EVENTS_FILE, TASKS_FILE};
use super::time::Timestamp;
use super::{io_err, Result, SessionError};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const QUARANTINE_FILE: &str = "events.quarantine.jsonl";

/// One line readers refuse.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    /// 1-based line number in `events.jsonl`.
    pub line: usize,
    pub message: String,
}

/// What `fsck` found (and, with repair, did).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub events_path: PathBuf,
    pub good: usize,
    pub bad: Vec<BadLine>,
    /// Bytes of an incomplete last line.
    pub torn_bytes: u64,
    /// The log has no `session_created` first event.
    pub headless: bool,
    /// Lines moved to the quarantine file by `repair`.
    pub quarantined: usize,
    /// A `session_created` header was rebuilt from `tasks.jsonl`.
    pub rebuilt_header: bool,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.bad.is_empty() && self.torn_bytes == 0 && !self.headless
    }
}

/// Classify every line of the log: good events, and what is wrong with
/// the rest (including sequence numbers that do not increase, as when two
/// writers collided).
pub fn check(dir: &Path) -> Result<Report> {
    let (report, _) = scan(dir)?;
    Ok(report)
}

/// The good lines, kept in order, and the report.
fn scan(dir: &Path) -> Result<(Report, Vec<Vec<u8>>)> {
    let path = dir.join(EVENTS_FILE);
    if !path.is_file() {
        return Err(SessionError::NotFound(dir.to_path_buf()));
    }
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut report = Report {
        events_path: path,
        torn_bytes: (bytes.len() - complete) as u64,
        ..Report::default()
    };
    let mut good = Vec::new();
    let mut last_seq = 0;
    for (i, raw) in bytes[..complete].split(|b| *b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        match read::parse_line(raw).and_then(|e| follows(e, last_seq)) {
            Ok(event) => {
                if good.is_empty() && !matches!(event.body, Body::SessionCreated { .. }) {
                    report.headless = true;
                }
                last_seq = event.seq;
                good.push(raw.to_vec());
            }
            Err(message) => report.bad.push(BadLine {
                line: i + 1,
                message,
            }),
        }
    }
    report.good = good.len();
    report.headless |= good.is_empty();
    Ok((report, good))
}

fn follows(event: Event, last_seq: u64) -> std::result::Result<Event, String> {
    if event.seq <= last_seq {
        return Err(format!(
            "sequence number {} does not follow {last_seq} (two writers?)",
            event.seq
        ));
    }
    Ok(event)
}

/// Move every bad line (and a torn tail) to the quarantine file, keep the
/// good ones in order, and rebuild a missing header from `tasks.jsonl`.
/// Takes the session's lock, so no writer runs meanwhile.
pub fn repair(dir: &Path) -> Result<Report> {
    let _lock = log::take_lock(dir)?;
    let (mut report, mut good) = scan(dir)?;
    if report.is_clean() {
        return Ok(report);
    }
    let bytes = std::fs::read(&report.events_path).map_err(io_err(&report.events_path))?;
    let mut aside: Vec<&[u8]> = Vec::new();
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    for bad in &report.bad {
        aside.push(lines[bad.line - 1]);
    }
    if report.torn_bytes > 0 {
        aside.push(lines[lines.len() - 1]);
    }
    quarantine(dir, &aside)?;
    report.quarantined = aside.len();
    if report.headless {
        good.insert(0, rebuilt_header(dir, &good)?);
        report.rebuilt_header = true;
    }
    let mut text = Vec::new();
    for line in &good {
        text.extend_from_slice(line);
        text.push(b'\n');
    }
    crate::fsutil::write_atomic(&report.events_path, &text).map_err(io_err(&report.events_path))?;
    Ok(report)
}

fn quarantine(dir: &Path, lines: &[&[u8]]) -> Result<()> {
    let path = dir.join(QUARANTINE_FILE);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    for line in lines {
        f.write_all(line).map_err(io_err(&path))?;
        f.write_all(b"\n").map_err(io_err(&path))?;
    }
    f.sync_all().map_err(io_err(&path))
}

/// A `session_created` line for a log whose creation was cut short, from
/// the task snapshot, numbered just before the first good event.
fn rebuilt_header(dir: &Path, good: &[Vec<u8>]) -> Result<Vec<u8>> {
    let tasks_path = dir.join(TASKS_FILE);
    let snapshot = std::fs::read(&tasks_path).map_err(io_err(&tasks_path))?;
    let tasks = read::read_tasks(&tasks_path)?;
    let first_seq = good
        .first()
        .and_then(|l| read::parse_line(l).ok())
        .map_or(2, |e| e.seq);
    if first_seq < 2 {
        return Err(SessionError::Corrupt {
            path: dir.join(EVENTS_FILE),
            line: 1,
            message:
                "the first event has seq 1 but is not session_created; no header can go before it"
                    .into(),
        });
    }
    let event = Event {
        v: SCHEMA_VERSION,
        seq: first_seq - 1,
        ts: Timestamp::now(),
        body: Body::SessionCreated {
            crit_version: crate::VERSION.to_string(),
            source_path: format!("{} (rebuilt by crit fsck)", tasks_path.display()),
            source_format: SourceFormat::Native,
            tasks_sha256: crate::hash::sha256_hex(&snapshot),
            task_count: tasks.len(),
        },
    };
    Ok(serde_json::to_vec(&event).expect("events always serialize"))
}
