//! `crit replay --regenerate`: run every recorded piece of assistance again
//! with its recorded settings (seed, sampler, context, threads, max tokens)
//! through the same engine or server API the review uses, and say per
//! piece whether it came out identical. A piece whose model file or prompt
//! template is not the recorded one (by SHA-256) is not run, and the
//! report says which. Nothing is written to the session.

mod report;
mod run;

pub use report::{compare, word_diff, Outcome, Report, Row};

use crate::assist::options::{EngineArgs, StartError};
use crate::assist::prompt::{PromptError, Prompts};
use crate::assist::{Assistance, EngineSettings, Kind, ModelInfo, Provenance};
use crate::config::Config;
use crate::sanitize::sanitize_line;
use crate::session::{Body, Replay};
use crate::task::Task;
use report::short;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RegenError {
    #[error("session {session} has no task {task:?}")]
    UnknownTask { session: String, task: String },
    /// The model to compare against cannot be found or read (bad input).
    #[error(transparent)]
    Model(#[from] crate::assist::model::ModelError),
    #[error(transparent)]
    Prompts(#[from] PromptError),
    #[error("{0}")]
    BadOption(String),
    #[error("{path}: {error}")]
    ModelFile {
        path: PathBuf,
        error: crate::assist::engine::EngineError,
    },
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the engine stopped before answering every request")]
    EngineStopped,
}

pub type Result<T> = std::result::Result<T, RegenError>;

/// What to regenerate and where the model, prompts or server are now.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only this task's pieces.
    pub task: Option<String>,
    /// Model, prompts and server as the review takes them; seeds, sampler
    /// and sizes come from each piece's record instead.
    pub engine: EngineArgs,
}

/// One recorded piece of assistance.
#[derive(Debug, Clone)]
pub struct Piece {
    pub seq: u64,
    pub task: Arc<Task>,
    pub assistance: Arc<Assistance>,
}

impl Piece {
    pub fn kind(&self) -> Kind {
        self.assistance.output.kind()
    }

    fn provenance(&self) -> &Provenance {
        &self.assistance.provenance
    }

    fn row(&self, outcome: Outcome, notes: Vec<String>) -> Row {
        Row {
            seq: self.seq,
            task: self.task.id.clone(),
            kind: self.kind(),
            outcome,
            notes,
        }
    }
}

/// Every recorded piece (of one task, if asked), in log order.
pub fn pieces(replay: &Replay, task: Option<&str>) -> Result<Vec<Piece>> {
    if let Some(id) = task {
        if replay.index_of(id).is_none() {
            return Err(RegenError::UnknownTask {
                session: sanitize_line(&replay.name()),
                task: sanitize_line(id),
            });
        }
    }
    let mut out = Vec::new();
    for e in replay.events() {
        let Body::Assistance {
            task: id,
            assistance,
        } = &e.body
        else {
            continue;
        };
        if task.is_some_and(|t| t != id) {
            continue;
        }
        // Computed checks carry no model or sampler: nothing to re-run.
        if assistance.provenance.sampler.is_none() {
            continue;
        }
        let Some(i) = replay.index_of(id) else {
            continue;
        };
        out.push(Piece {
            seq: e.seq,
            task: replay.task(i).clone(),
            assistance: assistance.clone(),
        });
    }
    Ok(out)
}

/// The settings a piece was generated with.
fn recorded_settings(p: &Provenance) -> EngineSettings {
    EngineSettings {
        n_ctx: p.n_ctx,
        n_threads: p.n_threads,
        max_tokens: p.max_tokens,
        // Always recorded for model output (`pieces` leaves the rest out).
        sampler: p.sampler.clone().unwrap_or_default(),
    }
}

/// Pieces that can run together: one engine (or server connection) each.
#[derive(Debug)]
struct Group {
    settings: EngineSettings,
    /// `None` for the local model; else the server URL and model asked for.
    server: Option<(String, String)>,
    /// Critique samples per request (`--samples`; 1 for everything else).
    samples: u32,
    pieces: Vec<usize>,
}

/// Re-run every piece of `replay` (see the module doc). `progress` hears
/// about each piece as it finishes.
pub fn regenerate(
    replay: &Replay,
    opts: &Options,
    config: &Config,
    progress: &mut dyn FnMut(&Row),
) -> Result<Report> {
    let pieces = pieces(replay, opts.task.as_deref())?;
    let prompts = Prompts::load(opts.engine.prompts.as_deref())?;
    let mut rows: Vec<Option<Row>> = vec![None; pieces.len()];
    let mut groups: Vec<Group> = Vec::new();
    let mut model: Option<(PathBuf, ModelInfo)> = None;
    for (i, piece) in pieces.iter().enumerate() {
        match plan(piece, opts, config, &prompts, &mut model)? {
            Err(why) => {
                let row = piece.row(Outcome::NotRun { why }, Vec::new());
                progress(&row);
                rows[i] = Some(row);
            }
            Ok(server) => add_to_group(&mut groups, piece, server, i),
        }
    }
    for g in &groups {
        let picked: Vec<&Piece> = g.pieces.iter().map(|&i| &pieces[i]).collect();
        let done = match &g.server {
            None => {
                let path = &model.as_ref().expect("a local piece resolved the model").0;
                run::local(path, &g.settings, g.samples, &prompts, &picked)?
            }
            Some((url, name)) => {
                let how = run::How {
                    settings: &g.settings,
                    samples: g.samples,
                    opts,
                    config,
                    prompts: &prompts,
                };
                run::remote(url, name, &how, &picked)?
            }
        };
        for (&i, row) in g.pieces.iter().zip(done) {
            progress(&row);
            rows[i] = Some(row);
        }
    }
    Ok(Report {
        rows: rows.into_iter().flatten().collect(),
    })
}

fn add_to_group(
    groups: &mut Vec<Group>,
    piece: &Piece,
    server: Option<(String, String)>,
    i: usize,
) {
    let settings = recorded_settings(piece.provenance());
    let samples = piece.provenance().sample_seeds.len().max(1) as u32;
    match groups
        .iter_mut()
        .find(|g| g.settings == settings && g.server == server && g.samples == samples)
    {
        Some(g) => g.pieces.push(i),
        None => groups.push(Group {
            settings,
            server,
            samples,
            pieces: vec![i],
        }),
    }
}

/// Can `piece` run? `Ok(Ok(None))` on the local model, `Ok(Ok(Some(..)))`
/// on a server, `Ok(Err(why))` when it cannot be compared.
fn plan(
    piece: &Piece,
    opts: &Options,
    config: &Config,
    prompts: &Prompts,
    model: &mut Option<(PathBuf, ModelInfo)>,
) -> Result<std::result::Result<Option<(String, String)>, String>> {
    let p = piece.provenance();
    if let Some(why) = template_differs(p, piece.kind(), prompts) {
        return Ok(Err(why));
    }
    if let Some(why) = samples_differ(p) {
        return Ok(Err(why));
    }
    match (&p.model, &p.served) {
        (Some(recorded), _) => {
            let (path, found) = local_model(opts, config, model)?;
            if found.sha256 != recorded.sha256 {
                return Ok(Err(format!(
                    "model file SHA-256 differs (recorded {} of {}, found {} at {})",
                    short(&recorded.sha256),
                    sanitize_line(&recorded.file_name),
                    short(&found.sha256),
                    sanitize_line(&path.display().to_string())
                )));
            }
            Ok(Ok(None))
        }
        (None, Some(served)) => {
            let url = opts
                .engine
                .backend_url(config)
                .unwrap_or_else(|| served.backend.clone());
            let name = opts
                .engine
                .model_name
                .clone()
                .unwrap_or_else(|| served.requested_model.clone());
            Ok(Ok(Some((url, name))))
        }
        (None, None) => Ok(Err("no model recorded with it".into())),
    }
}

/// Sampled pieces re-run through `assist::sampled`, which gives the
/// samples seeds `seed, seed+1, …`: other recorded seeds cannot be re-run.
fn samples_differ(p: &Provenance) -> Option<String> {
    let s = &p.sample_seeds;
    let consecutive = s
        .iter()
        .enumerate()
        .all(|(k, &seed)| seed == p.seed.wrapping_add(k as u32));
    (!consecutive).then(|| format!("sample seeds {s:?} do not follow seed {}", p.seed))
}

/// The template of `kind` now against the one recorded (by SHA-256).
fn template_differs(p: &Provenance, kind: Kind, prompts: &Prompts) -> Option<String> {
    let now = prompts.template(kind);
    if p.template_name != now.name {
        return Some(format!(
            "recorded with prompt template {}, which is not {}'s",
            sanitize_line(&p.template_name),
            kind
        ));
    }
    if p.template_sha256 == now.sha256 {
        return None;
    }
    let from = now
        .source
        .as_ref()
        .map_or_else(|| "built in".to_string(), |s| s.display().to_string());
    Some(format!(
        "prompt template {} differs (recorded SHA-256 {}, now {} from {})",
        now.name,
        short(&p.template_sha256),
        short(&now.sha256),
        sanitize_line(&from)
    ))
}

/// The model file found now (`--model`, `CRIT_MODEL`, the config, the
/// default) and its identity, resolved once.
fn local_model<'a>(
    opts: &Options,
    config: &Config,
    model: &'a mut Option<(PathBuf, ModelInfo)>,
) -> Result<&'a (PathBuf, ModelInfo)> {
    if model.is_none() {
        let path =
            crate::assist::model::resolve(opts.engine.model.as_deref(), config.model.as_deref())?;
        let info =
            crate::assist::engine::model_info(&path).map_err(|error| RegenError::ModelFile {
                path: path.clone(),
                error,
            })?;
        *model = Some((path, info));
    }
    Ok(model.as_ref().expect("just set"))
}
