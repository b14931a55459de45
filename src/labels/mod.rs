//! Exporters of session labels to training formats, and importers of
//! existing human labels.
//!
//! An export is a fold over each session's events (filtered first, so a
//! `--since/--until` window is a replay), then one pass over the tasks: each
//! format turns a task's state into *slots* (one unit of labelled data, e.g.
//! "the pairwise verdict on task 7"), each holding one candidate record per
//! evaluator; `--resolve` picks among the candidates and every record is
//! written as soon as it is chosen (memory holds the fold, never the output).
//!
//! Records are the types in `records` (one per format, read back by the
//! importers of crit's own formats):
//! - `trl-preference`: `prompt`, `chosen`, `rejected`. Plain strings follow
//!   TRL's plain-text convention: the prompt is the dialogue as a transcript
//!   ending with the assistant's turn marker (`\n\nHuman: ...\n\nAssistant:`)
//!   and each reply starts with the separating space, so the prompt's tokens
//!   are a prefix of prompt + reply. With `--conversational`: lists of
//!   `{role, content}`. From pairwise verdicts A/B (a tie gives no pair,
//!   counted `pairwise_tie`) and corrections (chosen = corrected).
//! - `trl-kto`: `prompt`, `completion`, `label` (bool) from accept/reject.
//! - `reward`: `prompt`, `response`, `score` (1-7, or 0-1 with
//!   `--normalize`), `confidence` (50-100 or null).
//! - `trl-stepwise`: `prompt`, `completions` (step texts), `labels` (bool:
//!   rating == +1, TRL's PRM800K convention; a kept step the source's labeller
//!   wrote counts as good). The longest rated prefix, plus one record per
//!   rated alternative (prefix + alternative), as TRL's PRM800K script does;
//!   unrated alternatives (which TRL labels false) are left out and counted
//!   `unrated_alternative`.
//! - `prm800k`: PRM800K's own layout (`records::Prm800kRecord`).
//! - `openai-sft`: `messages` (prompt turns + the corrected or accepted answer).
//! - `openai-dpo`: `input{messages}`, `preferred_output`,
//!   `non_preferred_output` (one assistant message each).
//! - `critiques`: `prompt`, `answer`, `quote`, `span{start,end}|null`,
//!   `comment`, `severity`, `category`, `source` (assistant | human), `label`
//!   (valid | hallucinated | nitpick; human-written ones are valid),
//!   `corrected_severity` (the evaluator's, or null).
//! - `hh-rlhf`: `chosen`, `rejected` transcripts (`\n\nHuman: ...\n\nAssistant: ...`).
//!
//! Dialogues keep the source's turns; two adjacent turns of one role are
//! counted (`consecutive_turns`) and joined with `merge_consecutive`.
//!
//! `meta` (`meta::RecordMeta`: session, task, kind, evaluators, event seqs
//! and times, arm, phase, the assistance and its model/template/prompt
//! SHA-256s, and the import source by file name and SHA-256) goes inline,
//! to a sidecar `FILE.meta.jsonl` aligned by line (the default for the
//! OpenAI formats, whose validator rejects unknown keys), or nowhere.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub mod chat;
mod filter;
mod formats;
pub mod import;
mod manifest;
pub mod meta;
mod options;
pub mod records;
mod resolve;
mod sink;

pub use manifest::Manifest;
pub use options::{ExportFormat, ExportOptions, Filters, LabelKind, MetaMode, Resolve};
pub use sink::{meta_path, stop_on_signals, temp_path, Sink};

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    /// The cause is in the message (not a `source`), so it prints once.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    BadOption(String),
    /// Import input with bad lines; nothing was written.
    #[error("{}", render_lines(.0))]
    BadLines(Vec<crate::task::LineError>),
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
    #[error("interrupted; the output file was left as it was")]
    Interrupted,
}

fn render_lines(errors: &[crate::task::LineError]) -> String {
    let mut out: Vec<String> = errors.iter().take(50).map(|e| e.to_string()).collect();
    if errors.len() > 50 {
        out.push(format!("... and {} more bad lines", errors.len() - 50));
    }
    out.push(format!(
        "{} bad line(s); nothing was imported",
        errors.len()
    ));
    out.join("\n")
}

pub type Result<T> = std::result::Result<T, LabelError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LabelError {
    let path = path.into();
    move |error| LabelError::Io { path, error }
}

/// Counters that end up in the manifest.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    /// Judgement events that count (filtered, not retracted), per kind.
    pub input_by_kind: BTreeMap<String, u64>,
    pub records: u64,
    /// Records written, per label kind they came from.
    pub by_kind: BTreeMap<String, u64>,
    /// Tasks that had none of the labels this format needs.
    pub tasks_without_label: u64,
    /// Labels that exist but could not become a record, per reason.
    pub skipped: BTreeMap<String, u64>,
    /// Units labelled by several evaluators with different values.
    pub conflicts: u64,
    /// `--resolve majority` units whose top values tied (nothing written).
    pub ties: u64,
    /// Candidate records not written because `--resolve` chose another.
    pub resolved_away: u64,
    /// Records whose dialogue has two adjacent turns of one role (joined
    /// when the export merged them, see the manifest's options).
    pub consecutive_turns: u64,
}

impl Counts {
    pub(crate) fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }
}

fn count_inputs(replay: &crate::session::Replay, counts: &mut Counts) {
    for e in replay.events() {
        if let Some(k) = filter::kind_of(&e.body) {
            if !replay.is_retracted(e.seq) {
                *counts.input_by_kind.entry(k.name().into()).or_default() += 1;
            }
        }
    }
}

/// Export `sessions` in `opts.format` into `sink`; returns the manifest
/// (which the caller writes next to the output, see `Manifest::write`).
pub fn export(sessions: &[PathBuf], opts: &ExportOptions, sink: &mut Sink) -> Result<Manifest> {
    let window = filter::Window::parse(&opts.filters)?;
    sink.set_meta_mode(opts.meta)?;
    let mut manifest = Manifest::new(opts);
    manifest.meta_output = sink.meta_path().map(|p| p.display().to_string());
    for dir in sessions {
        // Hash the files on a second core while this one parses and folds.
        let (replay, hashes) = std::thread::scope(|s| {
            let hashes = s.spawn(|| manifest::FileHashes::of(dir));
            let replay = crate::session::Replay::read(dir);
            (replay, hashes.join().expect("hashing does not panic"))
        });
        let replay = replay?;
        manifest.add_session(&replay, hashes?);
        let name = replay.name();
        let (tasks, events) = replay.into_parts();
        let events = filter::apply(events, &opts.filters, &window);
        let replay = crate::session::Replay::new(tasks, events).at(dir);
        count_inputs(&replay, &mut manifest.counts);
        formats::export_session(&name, &replay, opts, sink, &mut manifest.counts)?;
    }
    Ok(manifest)
}
