//! `crit sessions`: the sessions under a directory, each read through
//! [`Replay`] (so a session that does not open says why).

use super::read::{session_name, EVENTS_FILE};
use super::replay::Replay;
use std::path::{Path, PathBuf};

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
