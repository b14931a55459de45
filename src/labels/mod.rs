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
//! Records (JSON Lines; keys are written in sorted order):
//! - `trl-preference`: `prompt`, `chosen`, `rejected` (strings; with
//!   `--conversational` lists of `{role, content}`: the prompt's turns, one
//!   assistant message each for chosen/rejected). From pairwise verdicts A/B
//!   (a tie gives no pair, counted `pairwise_tie`) and corrections
//!   (chosen = corrected, rejected = original).
//! - `trl-kto`: `prompt`, `completion`, `label` (bool) from accept/reject.
//! - `reward`: `prompt`, `response`, `score` (1-7, or 0-1 with
//!   `--normalize`), `confidence` (50-100 or null).
//! - `trl-stepwise`: `prompt`, `completions` (step texts), `labels` (bool:
//!   rating == +1, TRL's PRM800K convention; a kept step the source's labeller
//!   wrote counts as good). The longest rated prefix, plus one record per
//!   rated alternative (prefix + alternative), as TRL's PRM800K script does.
//! - `prm800k`: `labeler`, `timestamp`, `generation` (null),
//!   `is_quality_control_question`, `is_initial_screening_question`,
//!   `question{problem, ground_truth_answer}`, `label{steps[{completions[{text,
//!   rating, flagged}], human_completion, chosen_completion}], total_time
//!   (active ms), finish_reason (found_error | solution | give_up)}`.
//! - `openai-sft`: `messages` (prompt turns + the corrected or accepted answer).
//! - `openai-dpo`: `input{messages}`, `preferred_output`,
//!   `non_preferred_output` (one assistant message each).
//! - `critiques`: `prompt`, `answer`, `quote`, `span{start,end}|null`,
//!   `comment`, `severity`, `category`, `source` (assistant | human), `label`
//!   (valid | hallucinated | nitpick; human-written ones are valid),
//!   `corrected_severity` (the evaluator's, or null).
//! - `hh-rlhf`: `chosen`, `rejected` transcripts (`\n\nHuman: ...\n\nAssistant: ...`).
//!
//! Unless `--no-meta`, each record has `meta`: `session`, `task`, `kind`,
//! `evaluator`, `evaluators` (those whose value it carries), `seq` (events it
//! came from) and `ts` (their times, in the same order), `arm`, `phase`,
//! `assistance_seq` (the assistance it is about or was made beside) with its
//! `model_sha256`, `template_sha256` (prompt template) and `prompt_sha256`
//! (rendered prompt), and `source` (for imported labels).

use std::collections::BTreeMap;
use std::path::PathBuf;

mod filter;
mod formats;
pub mod import;
mod manifest;
mod meta;
mod resolve;
mod sink;
#[doc(hidden)]
pub mod synthetic;

pub use formats::{hh_transcript, prompt_from_messages, prompt_messages};
pub use manifest::Manifest;
pub use sink::{stop_on_signals, temp_path, Sink};

/// Training formats `crit export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// TRL preference: {"prompt","chosen","rejected"}
    TrlPreference,
    /// TRL KTO: {"prompt","completion","label"}
    TrlKto,
    /// Reward model: {"prompt","response","score","confidence"}
    Reward,
    /// TRL stepwise supervision: {"prompt","completions","labels"}
    TrlStepwise,
    /// PRM800K's own layout
    Prm800k,
    /// OpenAI chat fine-tuning: {"messages"}
    OpenaiSft,
    /// OpenAI preference fine-tuning: {"input","preferred_output","non_preferred_output"}
    OpenaiDpo,
    /// Critic training data: one record per critique
    Critiques,
    /// Anthropic HH-RLHF: {"chosen","rejected"} transcripts
    HhRlhf,
}

impl ExportFormat {
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::TrlPreference => "trl-preference",
            ExportFormat::TrlKto => "trl-kto",
            ExportFormat::Reward => "reward",
            ExportFormat::TrlStepwise => "trl-stepwise",
            ExportFormat::Prm800k => "prm800k",
            ExportFormat::OpenaiSft => "openai-sft",
            ExportFormat::OpenaiDpo => "openai-dpo",
            ExportFormat::Critiques => "critiques",
            ExportFormat::HhRlhf => "hh-rlhf",
        }
    }

    pub const ALL: [ExportFormat; 9] = [
        ExportFormat::TrlPreference,
        ExportFormat::TrlKto,
        ExportFormat::Reward,
        ExportFormat::TrlStepwise,
        ExportFormat::Prm800k,
        ExportFormat::OpenaiSft,
        ExportFormat::OpenaiDpo,
        ExportFormat::Critiques,
        ExportFormat::HhRlhf,
    ];
}

/// The kinds of human judgement a session holds (`--kinds`, manifest counts).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[value(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum LabelKind {
    /// Overall verdicts (accept/score/pairwise preference).
    Verdict,
    /// Corrected answers.
    Correction,
    /// Step ratings (-1/0/+1), including rated alternatives.
    Step,
    /// Labels on assistant critiques (valid/hallucinated/nitpick).
    Critique,
    /// Critiques the evaluator wrote.
    UserCritique,
    /// Labels on checks (pass/fail/unsure).
    Check,
}

impl LabelKind {
    pub fn name(self) -> &'static str {
        match self {
            LabelKind::Verdict => "verdict",
            LabelKind::Correction => "correction",
            LabelKind::Step => "step",
            LabelKind::Critique => "critique",
            LabelKind::UserCritique => "user_critique",
            LabelKind::Check => "check",
        }
    }
}

/// What happens when several evaluators labelled the same unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum Resolve {
    /// One record per evaluator (nothing is dropped).
    #[default]
    All,
    /// The most recently recorded label wins.
    Latest,
    /// The value most evaluators gave; a tie emits nothing and is counted.
    Majority,
}

impl Resolve {
    pub fn name(self) -> &'static str {
        match self {
            Resolve::All => "all",
            Resolve::Latest => "latest",
            Resolve::Majority => "majority",
        }
    }
}

/// Which events count (applied before the fold).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Filters {
    /// Only these evaluators (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evaluators: Vec<String>,
    /// Verdicts below this confidence (or without one) are left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<u8>,
    /// Only tasks the evaluator saw under this protocol arm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm: Option<crate::session::event::Protocol>,
    /// RFC 3339; labels recorded before this are left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// RFC 3339; labels recorded after this are left out (replay at `until`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Only these label kinds (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<LabelKind>,
}

/// Everything an export needs besides the sessions and the output.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    pub filters: Filters,
    pub resolve: Resolve,
    /// Leave out the per-record `meta` object.
    pub no_meta: bool,
    /// trl-preference: messages instead of plain strings.
    pub conversational: bool,
    /// reward: map the 1-7 score to 0-1.
    pub normalize: bool,
}

impl ExportOptions {
    pub fn new(format: ExportFormat) -> ExportOptions {
        ExportOptions {
            format,
            filters: Filters::default(),
            resolve: Resolve::default(),
            no_meta: false,
            conversational: false,
            normalize: false,
        }
    }
}

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
/// (which the caller writes next to the output, see `Manifest::write_next_to`).
pub fn export(sessions: &[PathBuf], opts: &ExportOptions, sink: &mut Sink) -> Result<Manifest> {
    let window = filter::Window::parse(&opts.filters)?;
    let mut manifest = Manifest::new(opts);
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
