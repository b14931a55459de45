//! `crit generate`: assistance for every task, recorded in a session.
//! Resumable: tasks whose kinds are already recorded are skipped. Tool
//! checks need no model: they are recorded for every task first.

use super::{Ctx, Interrupted};
use crate::assist::options::EngineArgs;
use crate::assist::sampled::{self, SampleArgs};
use crate::assist::{self, Assistant, Kind, Request};
use crate::session::work::{self, Need};
use crate::session::{Body, Session};
use crate::task::{self, Format};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Task file (JSONL).
    pub tasks: PathBuf,
    /// Input format (detected when omitted).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Import the valid records and report the invalid ones instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Session name (under the sessions dir) or directory.
    #[arg(long)]
    pub session: String,
    /// Kinds of assistance to generate (tool_checks: computed, no model).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "critique,checks,decompose,tool_checks"
    )]
    pub kinds: Vec<Kind>,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub sampling: SampleArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let loaded = task::load(&args.tasks, args.format, args.skip_invalid)?;
    report_skipped(&loaded.skipped);
    if loaded.tasks.is_empty() {
        return Err(super::BadInput::from_err(format!(
            "{}: no tasks to generate for",
            args.tasks.display()
        )));
    }
    let format = loaded.format.unwrap_or(Format::Native);
    let dir = ctx.session_dir(&args.session)?;
    args.engine.check(&ctx.config)?;
    let samples = args.sampling.resolve(&ctx.config)?;
    let mut session = Session::create_or_open(
        &dir,
        &loaded.tasks,
        &args.tasks.display().to_string(),
        format.into(),
    )?;
    super::warn_recovered(&session);
    let tools = tool_check_tasks(&session, &args.kinds);
    let jobs = pending_jobs(&session, &args.kinds, args.engine.seed);
    let tasks_left = count_tasks(&jobs);
    eprintln!(
        "session {}: {} tasks, {} already done, {} to generate",
        crate::sanitize::sanitize_line(&dir.display().to_string()),
        session.tasks().len(),
        session.tasks().len() - tasks_left,
        tasks_left
    );
    if jobs.is_empty() && tools.is_empty() {
        return Ok(());
    }
    session.append_durable(Body::Opened {
        command: "generate".into(),
        pid: std::process::id(),
        evaluator: None,
        protocol: None,
        guidelines_sha256: None,
    })?;
    record_tool_checks(&mut session, &tools)?;
    if jobs.is_empty() {
        return Ok(());
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, _name) = sampled::start(samples, tx, |tx| {
        args.engine.start_assistant(&ctx.config, tx)
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(drive(&mut session, engine.as_ref(), rx, jobs));
    session.sync()?;
    let stats = outcome?;
    report(&stats)
}

fn report(stats: &Stats) -> anyhow::Result<()> {
    eprintln!(
        "{} tasks, {} assistance recorded, {} failed, {:.1} tokens/s{}",
        stats.tasks_done,
        stats.recorded,
        stats.failed,
        stats.tokens_per_sec(),
        if stats.interrupted {
            " (interrupted: finished work is kept; run again to resume)"
        } else {
            ""
        }
    );
    if stats.interrupted {
        return Err(Interrupted.into());
    }
    if stats.failed > 0 {
        anyhow::bail!(
            "{} of {} requests failed (recorded in the session; run again to retry them with other seeds)",
            stats.failed,
            stats.recorded + stats.failed
        );
    }
    Ok(())
}

fn report_skipped(skipped: &[task::LineError]) {
    if skipped.is_empty() {
        return;
    }
    eprintln!("skipped {} invalid records:", skipped.len());
    for e in skipped {
        // The file's path is the user's, not sanitized by LineError.
        eprintln!("  {}", crate::sanitize::sanitize_line(&e.to_string()));
    }
}

/// Tasks (by index) that still lack tool checks, when they are wanted.
fn tool_check_tasks(session: &Session, kinds: &[Kind]) -> Vec<usize> {
    if !kinds.contains(&Kind::ToolChecks) {
        return Vec::new();
    }
    let replay = session.replay();
    (0..replay.tasks().len())
        .filter(|&i| work::needs_tool_checks(replay.state(i)))
        .collect()
}

/// Compute and record the tool checks of `tasks` (instant; one fsync).
fn record_tool_checks(session: &mut Session, tasks: &[usize]) -> anyhow::Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let mut failing = 0;
    for &i in tasks {
        let body = work::tool_checks(&session.tasks()[i]);
        if let Body::Assistance { assistance, .. } = &body {
            let checks = assistance.output.checks().unwrap_or_default();
            failing += checks
                .iter()
                .filter(|c| c.assistant_verdict == assist::CheckVerdict::Fail)
                .count();
        }
        session.append(body)?;
    }
    session.sync()?;
    eprintln!(
        "tool checks recorded for {} tasks ({} {}, {failing} failing)",
        tasks.len(),
        assist::tools::TOOL_NAME,
        assist::tools::TOOL_VERSION
    );
    Ok(())
}

/// One request to make: task `index` needs `need`.
#[derive(Debug, Clone, Copy)]
struct Job {
    index: usize,
    need: Need,
    seed: u32,
}

/// What the session still lacks, task by task, in the order it is made.
fn pending_jobs(session: &Session, kinds: &[Kind], base_seed: u32) -> Vec<Job> {
    let replay = session.replay();
    let mut jobs = Vec::new();
    for (index, (task, state)) in replay.tasks().iter().zip(replay.states()).enumerate() {
        for need in work::missing(task, state, kinds) {
            let seed = need.seed(base_seed, index);
            jobs.push(Job { index, need, seed });
        }
    }
    jobs
}

fn count_tasks(jobs: &[Job]) -> usize {
    let mut tasks: Vec<usize> = jobs.iter().map(|j| j.index).collect();
    tasks.dedup();
    tasks.len()
}

#[derive(Debug, Default)]
struct Stats {
    tasks_done: usize,
    recorded: usize,
    failed: usize,
    tokens: u64,
    gen_ms: u64,
    interrupted: bool,
}

impl Stats {
    fn tokens_per_sec(&self) -> f64 {
        if self.gen_ms == 0 {
            0.0
        } else {
            self.tokens as f64 * 1000.0 / self.gen_ms as f64
        }
    }
}

fn progress_bar(len: usize) -> ProgressBar {
    let bar =
        ProgressBar::with_draw_target(Some(len as u64), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} tasks  {per_sec:.dim}  {msg}  [{elapsed_precise}]",
        )
        .expect("valid template"),
    );
    bar
}

/// Requests in flight, and finished ones waiting for their turn: results
/// are recorded in job order whatever order they finish in.
#[derive(Default)]
struct Queue {
    /// (request id, position in the job list)
    in_flight: VecDeque<(u64, usize)>,
    finished: HashMap<u64, Option<Body>>,
    next_job: usize,
    next_id: u64,
}

/// Keep up to the assistant's concurrency in flight and record each result
/// in order as it lands; Ctrl-C or SIGTERM cancels what is in flight and
/// stops (finished work stays recorded).
async fn drive(
    session: &mut Session,
    engine: &dyn Assistant,
    mut rx: assist::EventReceiver,
    jobs: Vec<Job>,
) -> anyhow::Result<Stats> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut stats = Stats::default();
    let bar = progress_bar(count_tasks(&jobs));
    // Listeners are made once so a signal between requests is not missed.
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut q = Queue::default();
    let mut started = Instant::now();
    let mut tokens = 0u64;
    loop {
        if !stats.interrupted {
            submit_more(session, engine, &jobs, &mut q);
        }
        if q.in_flight.is_empty() {
            break;
        }
        let event = tokio::select! {
            ev = rx.recv() => ev,
            _ = sigint.recv() => { interrupt(engine, &q, &mut stats); continue; }
            _ = sigterm.recv() => { interrupt(engine, &q, &mut stats); continue; }
        };
        let Some(event) = event else {
            anyhow::bail!(
                "the engine stopped unexpectedly (see the log in {})",
                crate::paths::log_dir().display()
            );
        };
        let id = event.id();
        let Some(job) = q
            .in_flight
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, p)| jobs[*p])
        else {
            continue;
        };
        match &event {
            assist::Event::Started { .. } => {
                started = Instant::now();
                tokens = 0;
            }
            assist::Event::Token { .. } => {
                tokens += 1;
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let task = &session.tasks()[job.index].id;
                bar.set_message(format!(
                    "{task} {}: {:.0} tok/s",
                    job.need.kind,
                    tokens as f64 / secs
                ));
            }
            _ => {
                let task = session.tasks()[job.index].id.clone();
                // A cancellation here is our own (interrupted): not a fact
                // about the task, so nothing is recorded.
                let body = match event {
                    assist::Event::Cancelled { .. } => None,
                    ev => work::outcome(&task, job.need.kind, job.seed, &ev),
                };
                q.finished.insert(id, body);
                record_finished(session, &jobs, &mut q, &mut stats, &bar)?;
            }
        }
    }
    bar.finish_and_clear();
    Ok(stats)
}

fn submit_more(session: &Session, engine: &dyn Assistant, jobs: &[Job], q: &mut Queue) {
    while q.in_flight.len() < engine.concurrency().max(1) && q.next_job < jobs.len() {
        let job = jobs[q.next_job];
        q.next_job += 1;
        q.next_id += 1;
        engine.submit(Request {
            id: q.next_id,
            task: session.tasks()[job.index].clone(),
            kind: job.need.kind,
            seed: job.seed,
        });
        q.in_flight.push_back((q.next_id, q.next_job - 1));
    }
}

fn interrupt(engine: &dyn Assistant, q: &Queue, stats: &mut Stats) {
    stats.interrupted = true;
    for (id, _) in &q.in_flight {
        engine.cancel(*id);
    }
}

/// Append the finished results at the head of the queue, in job order.
fn record_finished(
    session: &mut Session,
    jobs: &[Job],
    q: &mut Queue,
    stats: &mut Stats,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    while let Some(&(id, pos)) = q.in_flight.front() {
        let Some(body) = q.finished.remove(&id) else {
            break;
        };
        q.in_flight.pop_front();
        let recorded = body.is_some();
        match body {
            Some(body @ Body::Assistance { .. }) => {
                if let Body::Assistance { assistance, .. } = &body {
                    stats.tokens += assistance.provenance.gen_tokens as u64;
                    stats.gen_ms += assistance.provenance.gen_ms;
                }
                session.append(body)?;
                stats.recorded += 1;
            }
            Some(body) => {
                if let Body::AssistanceFailed {
                    task, kind, error, ..
                } = &body
                {
                    bar.println(format!(
                        "{} {kind}: {}",
                        crate::sanitize::sanitize_line(task),
                        crate::sanitize::sanitize_line(error)
                    ));
                }
                session.append(body)?;
                stats.failed += 1;
            }
            None => {}
        }
        let last_of_task = jobs
            .get(pos + 1)
            .is_none_or(|next| next.index != jobs[pos].index);
        if last_of_task && recorded {
            session.sync()?;
            stats.tasks_done += 1;
            bar.inc(1);
        }
    }
    Ok(())
}
