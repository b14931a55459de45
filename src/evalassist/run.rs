//! Running the assistance over labelled tasks: critique samples and checks
//! through the `Assistant` trait (whatever engine is behind it), plus the
//! computed tool checks, collected per task with their cost.

use super::gold::{self, Gold};
use crate::assist::{
    self, Assistant, Check, Critique, Event, EventReceiver, Kind, Output, Request,
};
use crate::task::Task;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Critique samples per task, each with its own seed.
    pub samples: usize,
    /// Base seed (sample 0 uses the seed `crit generate` would).
    pub seed: u32,
}

/// What the assistance said about one task, and what it cost.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub id: String,
    pub gold: Gold,
    /// Critiques of each sample, in the model's order.
    pub critiques: Vec<Vec<Critique>>,
    pub model_checks: Vec<Check>,
    pub tool_checks: Vec<Check>,
    /// Exact baselines when a first error is marked: expected hit of a
    /// random segment, and whether the last segment hits.
    pub baseline: Option<(f64, bool)>,
    pub ms: u64,
    pub prompt_tokens: u64,
    pub gen_tokens: u64,
    /// Requests that failed or were cancelled.
    pub failed: usize,
}

/// Every task's outcome, with what identifies the assistance that ran.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub outcomes: Vec<Outcome>,
    /// Model SHA-256 (local) or the served model id.
    pub model_id: Option<String>,
    pub model_name: Option<String>,
    /// Prompt template SHA-256 by template name.
    pub templates: BTreeMap<String, String>,
    /// The first error message of a failed request, if any.
    pub first_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("the assistant stopped before answering every request")]
    Disconnected,
}

/// Run the assistance over `tasks`, one task at a time; `rx` receives the
/// events of `assistant`. `progress` is told each finished task's index.
pub fn run(
    tasks: &[Task],
    assistant: &dyn Assistant,
    rx: &mut EventReceiver,
    opts: Options,
    progress: &mut dyn FnMut(usize),
) -> Result<Run, EvalError> {
    let mut run = Run::default();
    for (index, task) in tasks.iter().enumerate() {
        let outcome = run_task(index, task, assistant, rx, opts, &mut run)?;
        run.outcomes.push(outcome);
        progress(index);
    }
    Ok(run)
}

fn run_task(
    index: usize,
    task: &Task,
    assistant: &dyn Assistant,
    rx: &mut EventReceiver,
    opts: Options,
    run: &mut Run,
) -> Result<Outcome, EvalError> {
    let gold = gold::gold(task);
    let mut out = Outcome {
        id: task.id.clone(),
        gold,
        critiques: vec![Vec::new(); opts.samples.max(1)],
        tool_checks: assist::tools::checks(task),
        baseline: gold.first_wrong.map(|w| gold::baselines(task, w)),
        ..Outcome::default()
    };
    let started = Instant::now();
    let pending = submit(index, task, assistant, opts);
    collect(rx, pending, &mut out, run)?;
    out.ms = started.elapsed().as_millis() as u64;
    Ok(out)
}

/// Submit the task's requests; returns request id → critique sample
/// (`Some`) or the checks (`None`).
fn submit(
    index: usize,
    task: &Task,
    assistant: &dyn Assistant,
    opts: Options,
) -> HashMap<u64, Option<usize>> {
    let task = Arc::new(task.clone());
    let base = index as u64 * 1_000;
    let mut pending = HashMap::new();
    let mut send = |id: u64, kind: Kind, seed: u32, slot: Option<usize>| {
        assistant.submit(Request {
            id,
            task: task.clone(),
            kind,
            seed,
        });
        pending.insert(id, slot);
    };
    for s in 0..opts.samples.max(1) {
        let seed = assist::derive_seed(opts.seed, index, Kind::Critique, s as u32);
        send(base + s as u64, Kind::Critique, seed, Some(s));
    }
    let seed = assist::derive_seed(opts.seed, index, Kind::Checks, 0);
    send(base + 999, Kind::Checks, seed, None);
    pending
}

fn collect(
    rx: &mut EventReceiver,
    mut pending: HashMap<u64, Option<usize>>,
    out: &mut Outcome,
    run: &mut Run,
) -> Result<(), EvalError> {
    while !pending.is_empty() {
        let event = rx.blocking_recv().ok_or(EvalError::Disconnected)?;
        let Some(slot) = pending.get(&event.id()).copied() else {
            continue; // not ours (a late event of an earlier request)
        };
        match event {
            Event::Done { id, assistance } => {
                pending.remove(&id);
                let p = &assistance.provenance;
                out.prompt_tokens += u64::from(p.prompt_tokens);
                out.gen_tokens += u64::from(p.gen_tokens);
                note_provenance(run, p);
                match (&assistance.output, slot) {
                    (Output::Critique { critiques }, Some(s)) => {
                        out.critiques[s] = critiques.clone()
                    }
                    (Output::Checks { checks }, None) => out.model_checks = checks.clone(),
                    _ => {}
                }
            }
            Event::Failed { id, error } => {
                pending.remove(&id);
                out.failed += 1;
                run.first_error.get_or_insert(error);
            }
            Event::Cancelled { id } => {
                pending.remove(&id);
                out.failed += 1;
            }
            Event::Started { .. } | Event::Token { .. } => {}
        }
    }
    Ok(())
}

fn note_provenance(run: &mut Run, p: &assist::Provenance) {
    if run.model_id.is_none() && p.tool.is_none() {
        run.model_id = Some(p.model_id().to_string());
        run.model_name = Some(p.model_name().to_string());
    }
    if !p.template_name.is_empty() {
        run.templates
            .entry(p.template_name.clone())
            .or_insert_with(|| p.template_sha256.clone());
    }
}
