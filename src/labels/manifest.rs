//! The manifest written next to every export: what went in (sessions and
//! their hashes, filters, options), what came out (counts) and what did not
//! (tasks without the label, ties, conflicts).

use super::{io_err, Counts, ExportFormat, ExportOptions, Filters, MetaMode, Resolve, Result};
use crate::session::Replay;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub crit_version: String,
    pub format: ExportFormat,
    pub created: String,
    pub output: Option<String>,
    /// The meta sidecar (`--meta sidecar`), aligned with the output by line.
    pub meta_output: Option<String>,
    pub options: OptionsRecord,
    pub filters: Filters,
    pub sessions: Vec<SessionRecord>,
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize)]
pub struct OptionsRecord {
    pub resolve: Resolve,
    pub meta: MetaMode,
    pub conversational: bool,
    pub normalize: bool,
    pub merge_consecutive: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionRecord {
    pub name: String,
    pub path: String,
    /// SHA-256 of `events.jsonl` and `tasks.jsonl` as read.
    pub events_sha256: String,
    pub tasks_sha256: String,
    pub events: usize,
    pub tasks: usize,
}

/// SHA-256 of a session's two files.
pub struct FileHashes {
    pub events: String,
    pub tasks: String,
}

impl FileHashes {
    pub fn of(dir: &Path) -> Result<FileHashes> {
        let hash = |name: &str| -> Result<String> {
            let p = dir.join(name);
            crate::hash::sha256_file(&p).map_err(io_err(&p))
        };
        Ok(FileHashes {
            events: hash("events.jsonl")?,
            tasks: hash("tasks.jsonl")?,
        })
    }
}

impl Manifest {
    pub fn new(opts: &ExportOptions) -> Manifest {
        Manifest {
            crit_version: crate::VERSION.to_string(),
            format: opts.format,
            created: crate::session::Timestamp::now().to_string(),
            output: None,
            meta_output: None,
            options: OptionsRecord {
                resolve: opts.resolve,
                meta: opts.meta,
                conversational: opts.conversational,
                normalize: opts.normalize,
                merge_consecutive: opts.merge_consecutive,
            },
            filters: opts.filters.clone(),
            sessions: Vec::new(),
            counts: Counts::default(),
        }
    }

    pub fn add_session(&mut self, data: &Replay, hashes: FileHashes) {
        self.sessions.push(SessionRecord {
            name: data.name(),
            path: data
                .dir()
                .map_or_else(String::new, |d| d.display().to_string()),
            events_sha256: hashes.events,
            tasks_sha256: hashes.tasks,
            events: data.events().len(),
            tasks: data.tasks().len(),
        });
    }

    /// `<output>.manifest.json`.
    pub fn path_for(output: &Path) -> PathBuf {
        let mut name = output.file_name().unwrap_or_default().to_os_string();
        name.push(".manifest.json");
        output.with_file_name(name)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serializes") + "\n"
    }

    /// Write atomically to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        super::sink::write_file_atomic(path, self.to_json().as_bytes())
    }
}
