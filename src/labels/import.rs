//! Importers: existing human labels become label / verdict / user-critique
//! events (each with its `source`: format, file name and SHA-256, line) in a
//! new or existing session, so they are replayed, audited and exported like
//! crit's own.
//!
//! All or nothing: the whole input is read and validated first, with the
//! rules the session's readers apply (every task must read back from the
//! session's snapshot: non-empty prompt and answers, spans inside the
//! answer; verdicts in range); any bad line fails the import with
//! `file:line: what is wrong` and nothing is written (`skip_invalid` instead
//! leaves bad lines out and reports them). Events are then appended between
//! `import_begun` and `import_committed`: no reader folds them before the
//! commit, so a killed import (or a full disk) leaves nothing visible, and
//! the next writer discards it; running the import again completes it. PRM800K, HH-RLHF and MT-Bench human votes are read
//! by the task readers (`crate::task`), whose meta holds the source labels;
//! crit's own `critiques` and `trl-preference` exports are read into their
//! record types (`super::records`) here.

use super::{LabelError, Result};
use crate::session::event::{Body, Source, SourceFormat};
use crate::session::{AbortedImport, Session};
use crate::task::{LineError, Task};
use std::path::{Path, PathBuf};

mod own;
mod sources;

/// Label sources `crit import` reads.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[value(rename_all = "kebab-case")]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
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
        self.into()
    }
}

/// The imported file, as labels record it.
#[derive(Debug, Clone)]
pub struct Origin {
    pub format: ImportFormat,
    /// Its name without the directory (the importing machine's paths stay
    /// out of sessions and exports).
    pub name: String,
    pub sha256: String,
    /// The path as given, only when asked for.
    pub path: Option<String>,
}

impl Origin {
    pub fn of(file: &Path, format: ImportFormat, keep_path: bool) -> Result<Origin> {
        let sha256 = crate::hash::sha256_file(file).map_err(|source| {
            LabelError::Task(crate::task::TaskError::Io {
                path: file.to_path_buf(),
                error: source,
            })
        })?;
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Origin {
            format,
            name,
            sha256,
            path: keep_path.then(|| file.display().to_string()),
        })
    }

    /// The `source` of a label read from line `line`.
    pub fn source(&self, line: usize, detail: Option<String>) -> Source {
        Source {
            format: self.format.into(),
            file: self.name.clone(),
            line,
            detail,
            sha256: Some(self.sha256.clone()),
            path: self.path.clone(),
        }
    }
}

/// Tasks and the events to append, built before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    pub tasks: Vec<Task>,
    /// The input line each task was read from (same order as `tasks`).
    pub lines: Vec<usize>,
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
    /// Bytes of a torn last line cut off when the session was opened.
    #[serde(skip)]
    pub recovered: Option<u64>,
    /// An earlier import found uncommitted when the session was opened,
    /// and discarded.
    #[serde(skip)]
    pub aborted: Option<AbortedImport>,
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions<'a> {
    /// Record every label under this evaluator.
    pub evaluator: Option<&'a str>,
    /// Leave bad lines out (reported in `ImportReport::skipped`) instead of
    /// failing the whole import.
    pub skip_invalid: bool,
    /// Record the path the file was imported from (by default only its
    /// name and SHA-256).
    pub keep_path: bool,
}

/// Import `file` into the session at `dir`.
pub fn import(
    file: &Path,
    format: ImportFormat,
    dir: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    let origin = Origin::of(file, format, opts.keep_path)?;
    let (ev, skip) = (opts.evaluator, opts.skip_invalid);
    let plan = match format {
        ImportFormat::Prm800k => sources::prm800k(file, &origin, ev, skip)?,
        ImportFormat::HhRlhf => sources::hh_rlhf(file, &origin, ev, skip)?,
        ImportFormat::MtBenchHuman => sources::mt_bench_human(file, &origin, ev, skip)?,
        ImportFormat::Critiques => own::critiques(file, &origin, ev, skip)?,
        ImportFormat::TrlPreference => own::trl_preference(file, &origin, ev, skip)?,
    };
    check_plan(&plan, file)?;
    if plan.tasks.is_empty() {
        return Err(LabelError::BadOption(format!(
            "{}: no labels to import; nothing was written",
            file.display()
        )));
    }
    write(plan, dir, &origin, ev)
}

/// `file:line: message` as a line error.
pub(crate) fn line_err(file: &Path, line: usize, message: impl Into<String>) -> LineError {
    LineError {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Would the session read this task back? The snapshot reader's own rules
/// (non-empty prompt and answers, spans inside the answer), applied to the
/// very line the snapshot will hold.
pub(crate) fn readable(task: &Task) -> std::result::Result<(), String> {
    let line = crate::task::native::to_native_line(task);
    match crate::task::jsonl::parse_line(line.as_bytes()) {
        Some(Ok(obj)) => crate::task::native::parse_native(&obj).map(|_| ()),
        Some(Err(e)) => Err(e),
        None => Err("empty task".into()),
    }
}

/// Everything the plan writes, checked before anything is written: tasks
/// the session can read back, verdicts in range.
fn check_plan(plan: &Plan, file: &Path) -> Result<()> {
    let mut errors = Vec::new();
    for (task, &line) in plan.tasks.iter().zip(&plan.lines) {
        if let Err(e) = readable(task) {
            errors.push(line_err(file, line, e));
        }
    }
    for p in &plan.events {
        if let Pending::Ready(Body::Verdict {
            verdict, source, ..
        }) = p
        {
            if let Err(e) = verdict.validate() {
                errors.push(line_err(file, source.as_ref().map_or(0, |s| s.line), e));
            }
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by_key(|e| e.line);
    Err(LabelError::BadLines(errors))
}

fn write(plan: Plan, dir: &Path, origin: &Origin, evaluator: Option<&str>) -> Result<ImportReport> {
    let format = origin.format;
    let created = !dir.join("events.jsonl").is_file();
    let mut session = if created {
        Session::create_or_open(dir, &plan.tasks, &origin.name, format.into())?
    } else {
        let s = Session::open(dir)?;
        check_tasks(&s, &plan.tasks, &origin.name)?;
        check_not_imported(&s, origin)?;
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
        recovered: session.recovered(),
        aborted: session.aborted_import().cloned(),
        ..Default::default()
    };
    let begun = session
        .append(Body::ImportBegun {
            format: format.into(),
            file: origin.name.clone(),
            sha256: origin.sha256.clone(),
            events: plan.events.len(),
        })?
        .seq;
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
    // The events reach the disk before the commit that makes them count.
    session.sync()?;
    session.append_durable(Body::ImportCommitted { begun })?;
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
fn check_tasks(session: &Session, tasks: &[Task], file: &str) -> Result<()> {
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
                "{file}: task {:?} is not in session {} (or differs there); import into a new --session",
                t.id,
                session.dir().display()
            )));
        }
    }
    Ok(())
}

/// The same file imported twice would double user critiques and verdicts:
/// the same content (SHA-256) in the same format, imported completely, is
/// refused. An import that was interrupted (never committed) is not: it
/// counts for nothing and runs again in full. Logs older than import
/// markers are recognised by the labels' sources (older still: the file
/// name).
fn check_not_imported(session: &Session, origin: &Origin) -> Result<()> {
    let replay = session.replay();
    let committed = replay.import_committed(origin.format.into(), &origin.sha256);
    let seen = committed
        || replay.events().iter().any(|e| match &e.body {
            Body::Label {
                source: Some(s), ..
            }
            | Body::Verdict {
                source: Some(s), ..
            }
            | Body::UserCritique {
                source: Some(s), ..
            } => {
                let same = match &s.sha256 {
                    Some(h) => *h == origin.sha256,
                    None => Path::new(&s.file).file_name() == Some(origin.name.as_ref()),
                };
                same && s.format == origin.format.into()
            }
            _ => false,
        });
    if seen {
        return Err(LabelError::BadOption(format!(
            "{} was already imported into {} as {}; nothing was written",
            origin.name,
            session.dir().display(),
            origin.format.name()
        )));
    }
    Ok(())
}
