//! Running recorded requests again: on the local llama.cpp engine with the
//! recorded settings, or on a server with the recorded sampler, each with
//! its recorded seed. Requests of one group share one engine.

use super::report::{compare, Outcome, Row};
use super::{Options, Piece, RegenError, Result};
use crate::assist::engine::Engine;
use crate::assist::options::StartError;
use crate::assist::prompt::Prompts;
use crate::assist::remote::Remote;
use crate::assist::sampled;
use crate::assist::{Assistant, EngineSettings, Event, EventReceiver, Request};
use crate::config::Config;
use crate::sanitize::sanitize_line;
use std::path::Path;

/// Run `pieces` on the local model at `path` with `settings`.
pub(super) fn local(
    path: &Path,
    settings: &EngineSettings,
    samples: u32,
    prompts: &Prompts,
    pieces: &[&Piece],
) -> Result<Vec<Row>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::start(path, settings.clone(), prompts.clone(), tx).map_err(|source| {
        StartError::Load {
            model: path.to_path_buf(),
            source,
        }
    })?;
    let (engine, rx) = sampled::wrap(Box::new(engine), rx, samples);
    submit(engine.as_ref(), pieces);
    let rows = collect(rx, pieces);
    drop(engine);
    rows
}

/// How a group of served pieces runs.
pub(super) struct How<'a> {
    pub settings: &'a EngineSettings,
    /// Critique samples per request, merged as recorded.
    pub samples: u32,
    pub opts: &'a Options,
    pub config: &'a Config,
    pub prompts: &'a Prompts,
}

/// Run `pieces` on the server at `url`, asking for model `name`. A server
/// that cannot be reached, or no longer serves the recorded model, leaves
/// them not run.
pub(super) fn remote(url: &str, name: &str, how: &How, pieces: &[&Piece]) -> Result<Vec<Row>> {
    let How {
        settings,
        samples,
        opts,
        config,
        prompts,
    } = how;
    let mut args = opts.engine.clone();
    args.backend = Some(url.to_string());
    args.model = None;
    let mut remote = args
        .remote_settings(config)
        .map_err(|e| RegenError::BadOption(e.to_string()))?
        .expect("a backend was set");
    remote.model_name = Some(name.to_string());
    // One request at a time: batching on a server may change the numbers.
    remote.concurrency = Some(1);
    remote.engine = (*settings).clone();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let not_run = |why: String| {
        pieces
            .iter()
            .map(|p| p.row(Outcome::NotRun { why: why.clone() }, Vec::new()))
            .collect()
    };
    let server = match Remote::connect(remote, (*prompts).clone(), tx) {
        Ok(s) => s,
        Err(e) => return Ok(not_run(format!("the server cannot be used: {e}"))),
    };
    let models = &server.server_info().models;
    let recorded = pieces[0]
        .assistance
        .provenance
        .served
        .as_ref()
        .map(|s| s.model.clone())
        .unwrap_or_default();
    if !models.is_empty() && !models.contains(&recorded) && !models.iter().any(|m| m == name) {
        return Ok(not_run(format!(
            "served model id differs (recorded {}, {} serves {})",
            sanitize_line(&recorded),
            sanitize_line(server.backend()),
            sanitize_line(&models.join(", "))
        )));
    }
    let (server, rx) = sampled::wrap(Box::new(server), rx, *samples);
    submit(server.as_ref(), pieces);
    collect(rx, pieces)
}

fn submit(assistant: &dyn Assistant, pieces: &[&Piece]) {
    for (k, p) in pieces.iter().enumerate() {
        assistant.submit(Request {
            id: k as u64,
            task: p.task.clone(),
            kind: p.kind(),
            seed: p.assistance.provenance.seed,
        });
    }
}

/// Wait for every request's end and compare each result with its record.
fn collect(mut rx: EventReceiver, pieces: &[&Piece]) -> Result<Vec<Row>> {
    let mut rows: Vec<Option<Row>> = vec![None; pieces.len()];
    let mut left = pieces.len();
    while left > 0 {
        let Some(event) = rx.blocking_recv() else {
            return Err(RegenError::EngineStopped);
        };
        let (id, row) = match event {
            Event::Done { id, assistance } => {
                let p = pieces[id as usize];
                let (outcome, notes) = compare(&p.assistance, &assistance);
                (id, p.row(outcome, notes))
            }
            Event::Failed { id, error } => {
                let p = pieces[id as usize];
                (id, p.row(Outcome::Failed { error }, Vec::new()))
            }
            Event::Cancelled { id } => {
                let p = pieces[id as usize];
                let error = "cancelled".to_string();
                (id, p.row(Outcome::Failed { error }, Vec::new()))
            }
            Event::Started { .. } | Event::Token { .. } => continue,
        };
        if rows[id as usize].replace(row).is_none() {
            left -= 1;
        }
    }
    Ok(rows.into_iter().flatten().collect())
}
