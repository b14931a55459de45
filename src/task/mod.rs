//! Tasks: a prompt and the model answer(s) to judge, read from several formats.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub mod detect;
pub mod gsm8k;
pub mod halueval;
pub mod hh_rlhf;
pub mod jsonl;
pub mod mt_bench;
pub mod native;
pub mod prm800k;
pub mod segment;

pub use detect::detect;

/// One thing to evaluate. Pairwise tasks carry `answer_b`; for them `answer`
/// is answer A.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub prompt: String,
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_b: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Known step boundaries of `answer` (e.g. PRM800K); each is a byte range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Span>>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub meta: serde_json::Map<String, serde_json::Value>,
}

/// Which answer of a pairwise task (`a` is `Task.answer`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Side {
    A,
    B,
}

/// A byte range `[start, end)` into an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Task {
    /// Every text of the task an evaluator reads: id, prompt, reference,
    /// answer(s).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        [
            Some(&self.id),
            Some(&self.prompt),
            self.reference.as_ref(),
            Some(&self.answer),
            self.answer_b.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
    }

    pub fn is_pairwise(&self) -> bool {
        self.answer_b.is_some()
    }

    /// The text of known step `i`, if the task has step boundaries.
    pub fn step_text(&self, i: usize) -> Option<&str> {
        let span = self.steps.as_ref()?.get(i)?;
        self.answer.get(span.start..span.end)
    }
}

/// Input formats crit reads.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Format {
    /// crit's own JSONL: {"id","prompt","answer"|"answer_a"+"answer_b","reference"?,"meta"?}
    Native,
    /// GSM8K example_model_solutions.jsonl: one task per model solution
    Gsm8k,
    /// PRM800K trajectories or OpenAI's phase-1/2 lines: answer = chosen steps
    Prm800k,
    /// MT-Bench questions.jsonl (joins model answers next to it) or human pairwise verdicts
    MtBench,
    /// Anthropic HH-RLHF chosen/rejected transcripts: one pairwise task each
    HhRlhf,
    /// HaluEval general: user_query + chatgpt_response with a hallucination label
    Halueval,
}

impl Format {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One bad input line: rendered as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let msg = crate::sanitize::sanitize_line(&self.message);
        write!(f, "{}:{}: {}", self.file.display(), self.line, msg)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("cannot read {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    #[error("{path} is a directory, not a task file")]
    IsDirectory { path: PathBuf },
    #[error("{}", render_invalid(.errors, *.total))]
    Invalid {
        errors: Vec<LineError>,
        total: usize,
    },
    #[error("{path}: {message}")]
    Unrecognized { path: PathBuf, message: String },
    #[error("{path}: the file is empty (no JSON lines, so no tasks)")]
    Empty { path: PathBuf },
}

fn render_invalid(errors: &[LineError], total: usize) -> String {
    let mut out: Vec<String> = errors.iter().take(50).map(|e| e.to_string()).collect();
    if errors.len() > 50 {
        out.push(format!("... and {} more bad lines", errors.len() - 50));
    }
    out.push(format!(
        "{} of {total} records are invalid; nothing was imported (use --skip-invalid to import the rest)",
        errors.len()
    ));
    out.join("\n")
}

pub type Result<T> = std::result::Result<T, TaskError>;

/// The result of reading a task file: good tasks plus the lines that failed.
#[derive(Debug, Default)]
pub struct Loaded {
    pub tasks: Vec<Task>,
    /// Source line of each task in `tasks` (1-based).
    pub lines: Vec<usize>,
    pub skipped: Vec<LineError>,
    pub format: Option<Format>,
}

/// Read tasks from `path`. With `skip_invalid` bad lines are returned in
/// `skipped`; without it any bad line fails the whole read.
pub fn load(path: &Path, format: Option<Format>, skip_invalid: bool) -> Result<Loaded> {
    check_is_file(path)?;
    let format = match format {
        Some(f) => f,
        None => detect(path)?,
    };
    let mut loaded = read_format(path, format)?;
    loaded.format = Some(format);
    check_duplicates(path, &mut loaded);
    if !skip_invalid && !loaded.skipped.is_empty() {
        let total = loaded.tasks.len() + loaded.skipped.len();
        return Err(TaskError::Invalid {
            errors: loaded.skipped,
            total,
        });
    }
    Ok(loaded)
}

/// A missing file or a directory is the user's input being wrong.
pub fn check_is_file(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(TaskError::IsDirectory {
            path: path.to_path_buf(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(TaskError::NotFound {
            path: path.to_path_buf(),
        }),
        Err(error) => Err(TaskError::Io {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Dispatch to the reader of one format.
pub fn read_format(path: &Path, format: Format) -> Result<Loaded> {
    match format {
        Format::Native => native::read_strict(path),
        Format::Gsm8k => gsm8k::read(path),
        Format::Prm800k => prm800k::read(path),
        Format::MtBench => mt_bench::read(path),
        Format::HhRlhf => hh_rlhf::read(path),
        Format::Halueval => halueval::read(path),
    }
}

fn check_duplicates(path: &Path, loaded: &mut Loaded) {
    let mut seen = std::collections::HashMap::new();
    let mut keep = Vec::with_capacity(loaded.tasks.len());
    let mut keep_lines = Vec::with_capacity(loaded.lines.len());
    let lines = std::mem::take(&mut loaded.lines);
    for (task, line) in std::mem::take(&mut loaded.tasks).into_iter().zip(lines) {
        if let Some(first) = seen.insert(task.id.clone(), line) {
            loaded.skipped.push(LineError {
                file: path.to_path_buf(),
                line,
                message: format!("duplicate id {:?} (first seen on line {first})", task.id),
            });
            seen.insert(task.id.clone(), first);
        } else {
            keep.push(task);
            keep_lines.push(line);
        }
    }
    loaded.tasks = keep;
    loaded.lines = keep_lines;
    sort_errors(&mut loaded.skipped);
}

/// Files in the order they were first reported (the main file before the
/// ones it joins), each file's errors in line order.
fn sort_errors(errors: &mut [LineError]) {
    let mut files: Vec<PathBuf> = Vec::new();
    for e in errors.iter() {
        if !files.contains(&e.file) {
            files.push(e.file.clone());
        }
    }
    errors.sort_by_key(|e| (files.iter().position(|f| *f == e.file), e.line));
}
