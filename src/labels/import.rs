//! Importers: existing human labels become label / verdict / user-critique
//! events (each with its `source`: format, file, line) in a new or existing
//! session, so they are replayed, audited and exported like crit's own.
//!
//! All or nothing: the whole input is read and validated first; any bad
//! line fails the import with `file:line: what is wrong` and nothing is
//! written (`skip_invalid` instead leaves bad lines out and reports them).
//! Events are then appended in one go and fsync'd once. PRM800K, HH-RLHF and MT-Bench human votes are read by the task
//! readers (`crate::task`), whose meta holds the source labels; crit's own
//! `critiques` and `trl-preference` exports are parsed here.

use super::{LabelError, Result};
use crate::session::event::{Body, Source, SourceFormat};
use crate::session::Session;
use crate::task::{LineError, Task};
use std::path::{Path, PathBuf};

mod own;
mod sources;

/// Label sources `crit import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum ImportFormat {
    /// PRM800K step ratings (trajectories or OpenAI's layout)
    Prm800k,
    /// HH-RLHF chosen/rejected pairs
    HhRlhf,
    /// MT-Bench human pairwise votes (LLMBar's MT-Bench set)
    MtBenchHuman,
    /// crit's own `critiques` export
    Critiques,
    /// crit's own `trl-preference` export (plain or conversational)
    TrlPreference,
}

impl From<ImportFormat> for SourceFormat {
    fn from(f: ImportFormat) -> Self {
        match f {
            ImportFormat::Prm800k => SourceFormat::Prm800k,
            ImportFormat::HhRlhf => SourceFormat::HhRlhf,
            ImportFormat::MtBenchHuman => SourceFormat::MtBenchHuman,
            ImportFormat::Critiques => SourceFormat::Critiques,
            ImportFormat::TrlPreference => SourceFormat::TrlPreference,
        }
    }
}

impl ImportFormat {
    pub fn name(self) -> &'static str {
        match self {
            ImportFormat::Prm800k => "prm800k",
            ImportFormat::HhRlhf => "hh-rlhf",
            ImportFormat::MtBenchHuman => "mt-bench-human",
            ImportFormat::Critiques => "critiques",
            ImportFormat::TrlPreference => "trl-preference",
        }
    }
}

/// Tasks and the events to append, built before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    pub tasks: Vec<Task>,
    /// In append order; assistance comes before the labels on it, which
    /// name it by position until its seq is known (see `Pending`).
    pub events: Vec<Pending>,
    /// Bad lines left out (only with `skip_invalid`).
    pub skipped: Vec<LineError>,
}

/// An event to append. Labels on imported assistance name the assistance by
/// its position in `Plan::events` until the real seq is known.
#[derive(Debug)]
pub enum Pending {
    Ready(Body),
    /// A label whose `Target::Critique.assistance` is the index (in
    /// `Plan::events`) of the assistance event it labels.
    OnAssistance(Body),
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    pub session: PathBuf,
    pub created: bool,
    pub tasks: usize,
    pub labels: usize,
    pub verdicts: usize,
    pub corrections: usize,
    pub user_critiques: usize,
    pub assistance: usize,
    /// Bad lines left out with `skip_invalid`.
    #[serde(skip)]
    pub skipped: Vec<LineError>,
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions<'a> {
    /// Record every label under this evaluator.
    pub evaluator: Option<&'a str>,
    /// Leave bad lines out (reported in `ImportReport::skipped`) instead of
    /// failing the whole import.
    pub skip_invalid: bool,
}

/// Import `file` into the session at `dir`.
pub fn import(
    file: &Path,
    format: ImportFormat,
    dir: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    let name = file.display().to_string();
    let (ev, skip) = (opts.evaluator, opts.skip_invalid);
    let plan = match format {
        ImportFormat::Prm800k => sources::prm800k(file, &name, ev, skip)?,
        ImportFormat::HhRlhf => sources::hh_rlhf(file, &name, ev, skip)?,
        ImportFormat::MtBenchHuman => sources::mt_bench_human(file, &name, ev, skip)?,
        ImportFormat::Critiques => own::critiques(file, &name, ev, skip)?,
        ImportFormat::TrlPreference => own::trl_preference(file, &name, ev, skip)?,
    };
    if plan.tasks.is_empty() {
        return Err(LabelError::BadOption(format!(
            "{name}: no labels to import; nothing was written"
        )));
    }
    write(plan, dir, file, format, ev)
}

/// `file:line: message` as a line error.
pub(crate) fn line_err(file: &Path, line: usize, message: impl Into<String>) -> LineError {
    LineError {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

pub(crate) fn source(
    format: ImportFormat,
    file: &str,
    line: usize,
    detail: Option<String>,
) -> Source {
    Source {
        format: format.into(),
        file: file.into(),
        line,
        detail,
    }
}

fn write(
    plan: Plan,
    dir: &Path,
    file: &Path,
    format: ImportFormat,
    evaluator: Option<&str>,
) -> Result<ImportReport> {
    let created = !dir.join("events.jsonl").is_file();
    let mut session = if created {
        Session::create_or_open(dir, &plan.tasks, &file.display().to_string(), format.into())?
    } else {
        let s = Session::open(dir)?;
        check_tasks(&s, &plan.tasks, file)?;
        check_not_imported(&s, file, format)?;
        s
    };
    session.append(Body::Opened {
        command: format!("import {}", format.name()),
        pid: std::process::id(),
        evaluator: evaluator.map(str::to_string),
        protocol: None,
        guidelines_sha256: None,
    })?;
    let mut report = ImportReport {
        session: dir.to_path_buf(),
        created,
        tasks: plan.tasks.len(),
        skipped: plan.skipped,
        ..Default::default()
    };
    let mut seqs: Vec<u64> = Vec::with_capacity(plan.events.len());
    for pending in plan.events {
        let body = match pending {
            Pending::Ready(b) => b,
            Pending::OnAssistance(b) => resolve_assistance(b, &seqs),
        };
        count(&mut report, &body);
        let seq = session.append(body)?.seq;
        seqs.push(seq);
    }
    session.sync()?;
    Ok(report)
}

/// Replace the placeholder (index into the plan) with the real seq.
fn resolve_assistance(mut body: Body, seqs: &[u64]) -> Body {
    if let Body::Label {
        target: crate::session::event::Target::Critique { assistance, .. },
        ..
    } = &mut body
    {
        *assistance = seqs[*assistance as usize];
    }
    body
}

fn count(r: &mut ImportReport, body: &Body) {
    match body {
        Body::Label { .. } => r.labels += 1,
        Body::Verdict { .. } => r.verdicts += 1,
        Body::Correction { .. } => r.corrections += 1,
        Body::UserCritique { .. } => r.user_critiques += 1,
        Body::Assistance { .. } => r.assistance += 1,
        _ => {}
    }
}

/// Importing into an existing session: every task the input needs must be
/// there, with the same prompt and answers.
fn check_tasks(session: &Session, tasks: &[Task], file: &Path) -> Result<()> {
    let have: std::collections::HashMap<&str, &Task> = session
        .tasks()
        .iter()
        .map(|t| (t.id.as_str(), t.as_ref()))
        .collect();
    for t in tasks {
        let same = have.get(t.id.as_str()).is_some_and(|h| {
            h.prompt == t.prompt && h.answer == t.answer && h.answer_b == t.answer_b
        });
        if !same {
            return Err(LabelError::BadOption(format!(
                "{}: task {:?} is not in session {} (or differs there); import into a new --session",
                file.display(),
                t.id,
                session.dir().display()
            )));
        }
    }
    Ok(())
}

/// The same file imported twice would double user critiques and verdicts.
fn check_not_imported(session: &Session, file: &Path, format: ImportFormat) -> Result<()> {
    let name = file.display().to_string();
    let seen = session.events().iter().any(|e| match &e.body {
        Body::Label {
            source: Some(s), ..
        }
        | Body::Verdict {
            source: Some(s), ..
        }
        | Body::UserCritique {
            source: Some(s), ..
        } => s.file == name && s.format == format.into(),
        _ => false,
    });
    if seen {
        return Err(LabelError::BadOption(format!(
            "{name} was already imported into {} as {}; nothing was written",
            session.dir().display(),
            format.name()
        )));
    }
    Ok(())
}
