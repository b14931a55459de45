//! `crit bench --backend URL`: what a task costs on an OpenAI-compatible
//! server (llama-server, vLLM, Ollama).
//!
//! Every task runs twice, all three kinds submitted at once as the review
//! UI does on opening a task: once as crit always asks (the server may
//! reuse prompt tokens it has cached), once with llama.cpp's
//! `"cache_prompt": false` (the whole prompt processed). Which pass goes
//! first alternates per task, so load drifts hit both alike.
//!
//! A server's prompt cache keeps whole prompts (llama-server: in its slots
//! and in its RAM prompt cache), so a pass that followed the other pass of
//! the same task would find that task's entire prompt cached, as would a
//! second round or a second bench run. Each pass therefore starts its
//! task's prompt with a run tag unique to this bench run: only the part
//! every task shares (each kind's system message and worked example) can
//! come from the cache, as when an evaluator opens a new task.

use super::report::{load_average, TaskWall};
use super::served_report::{Builder, Header, Report};
use super::Args;
use crate::assist::engine::JsonTracker;
use crate::assist::options::{EngineArgs, StartError};
use crate::assist::prompt::Prompts;
use crate::assist::remote::{Remote, RemoteSettings};
use crate::assist::{Assistant, Event, EventReceiver, Kind, Provenance, Request};
use crate::task::Task;
use std::sync::Arc;
use std::time::Instant;

/// The server flags of the other commands (`generate`, `review`), for
/// `crit bench`; `--model`, `--seed` and `--max-tokens` are bench's own.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Measure an OpenAI-compatible server instead of the local engine, e.g.
    /// http://127.0.0.1:8080/v1 [env: CRIT_BACKEND] [config: backend]
    #[arg(long, value_name = "URL", conflicts_with = "model")]
    pub backend: Option<String>,
    /// Environment variable holding the server's bearer token
    #[arg(long, value_name = "NAME")]
    pub api_key_env: Option<String>,
    /// Model the server should use [default: the first it lists]
    #[arg(long, value_name = "NAME")]
    pub model_name: Option<String>,
    /// Requests in flight on the server [default: its slot count, else 4]
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Seconds to wait for a connection to the server
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// Seconds the server may stay silent (before the answer and between tokens)
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub idle_timeout: f64,
}

/// The server to measure, resolved as for every other command (`--backend`,
/// else `CRIT_BACKEND`, else the config; `--model` means the local engine).
pub fn settings(
    args: &Args,
    config: &crate::config::Config,
) -> Result<Option<RemoteSettings>, StartError> {
    let s = &args.server;
    let engine = EngineArgs {
        model: args.model.clone(),
        seed: args.seed,
        threads: args.threads,
        ctx_size: None,
        max_tokens: Some(args.max_tokens),
        prompts: None,
        temperature: None,
        top_k: None,
        top_p: None,
        min_p: None,
        repeat_penalty: None,
        backend: s.backend.clone(),
        api_key_env: s.api_key_env.clone(),
        model_name: s.model_name.clone(),
        concurrency: s.concurrency,
        connect_timeout: s.connect_timeout,
        idle_timeout: s.idle_timeout,
    };
    engine.remote_settings(config)
}

/// One client of the server and the receiver of its events.
struct Client {
    remote: Remote,
    rx: EventReceiver,
}

impl Client {
    fn connect(settings: RemoteSettings, prompts: &Prompts) -> Result<Client, StartError> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let remote = Remote::connect(settings, prompts.clone(), tx)?;
        Ok(Client { remote, rx })
    }
}

/// One request of a pass.
pub struct RequestRun {
    pub kind: Kind,
    pub provenance: Option<Provenance>,
    pub error: Option<String>,
}

/// All kinds of one task, submitted at once.
pub struct PassRun {
    pub wall_ms: u64,
    pub requests: Vec<RequestRun>,
    /// From submitting to the first streamed critique token, and to the
    /// first complete critique item.
    pub first_token_ms: Option<u64>,
    pub first_item_ms: Option<u64>,
}

pub fn run(args: &Args, settings: RemoteSettings) -> anyhow::Result<()> {
    let report = bench(args, settings)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", super::served_report::render(&report));
    }
    Ok(())
}

pub fn bench(args: &Args, settings: RemoteSettings) -> anyhow::Result<Report> {
    let tasks = super::load_tasks(args.tasks.as_deref())?;
    let prompts = Prompts::load(None)?;
    let load_before = load_average();
    let mut uncached_settings = settings.clone();
    uncached_settings.cache_prompt = Some(false);
    let mut cached = Client::connect(settings, &prompts)?;
    let mut uncached = Client::connect(uncached_settings, &prompts)?;
    let tag = fastrand::u32(..);
    let rounds = args.rounds.max(1) as usize;
    let mut b = Builder::default();
    let mut id = 0u64;
    for (i, task) in tasks.iter().cycle().take(tasks.len() * rounds).enumerate() {
        let mut pass = |client: &mut Client, run: usize| {
            let tagged = tagged(task, tag, run);
            run_pass(client, &tagged, args.seed, &mut id)
        };
        let (c, u) = if i % 2 == 0 {
            let c = pass(&mut cached, 2 * i + 1)?;
            (c, pass(&mut uncached, 2 * i + 2)?)
        } else {
            let u = pass(&mut uncached, 2 * i + 1)?;
            (pass(&mut cached, 2 * i + 2)?, u)
        };
        b.task(&task.id, &c, &u);
    }
    anyhow::ensure!(
        b.succeeded() > 0,
        "every request to {} failed (see the log: crit.log)",
        cached.remote.backend()
    );
    let info = cached.remote.server_info();
    Ok(b.finish(Header {
        backend: cached.remote.backend().to_string(),
        requested_model: cached.remote.model().to_string(),
        slots: info.slots,
        n_ctx: info.n_ctx,
        concurrency: cached.remote.concurrency(),
        max_tokens: args.max_tokens,
        seed: args.seed,
        tasks: tasks.len(),
        rounds: rounds as u32,
        load_before,
        load_after: load_average(),
    }))
}

/// The task with its prompt tagged for one pass (see the module notes).
fn tagged(task: &Task, tag: u32, run: usize) -> Arc<Task> {
    let mut t = task.clone();
    t.prompt = format!("[bench {tag:08x}-{run}] {}", t.prompt);
    Arc::new(t)
}

/// Submit every kind of `task` at once (critique first) and wait for them.
fn run_pass(c: &mut Client, task: &Arc<Task>, seed: u32, id: &mut u64) -> anyhow::Result<PassRun> {
    let ids: Vec<(u64, Kind)> = Kind::ALL
        .iter()
        .map(|&kind| {
            *id += 1;
            (*id, kind)
        })
        .collect();
    let mut requests: Vec<RequestRun> = ids
        .iter()
        .map(|&(_, kind)| RequestRun {
            kind,
            provenance: None,
            error: None,
        })
        .collect();
    let mut critique = JsonTracker::default();
    let (mut first_token_ms, mut first_item_ms) = (None, None);
    let t0 = Instant::now();
    for &(id, kind) in &ids {
        c.remote.submit(Request {
            id,
            task: task.clone(),
            kind,
            seed,
        });
    }
    let mut open = ids.len();
    while open > 0 {
        let ev =
            c.rx.blocking_recv()
                .ok_or_else(|| anyhow::anyhow!("the server client stopped"))?;
        let Some(i) = ids.iter().position(|&(id, _)| id == ev.id()) else {
            continue;
        };
        match ev {
            Event::Token { text, .. } if requests[i].kind == Kind::Critique => {
                first_token_ms.get_or_insert(ms(t0));
                critique.feed(&text);
                if first_item_ms.is_none() && (critique.at_item_boundary() || critique.done) {
                    first_item_ms = Some(ms(t0));
                }
            }
            Event::Done { assistance, .. } => {
                requests[i].provenance = Some(assistance.provenance.clone());
                open -= 1;
            }
            Event::Failed { error, .. } => {
                tracing::warn!("bench request failed: {error}");
                requests[i].error = Some(error);
                open -= 1;
            }
            Event::Cancelled { .. } => open -= 1,
            Event::Token { .. } | Event::Started { .. } => {}
        }
    }
    Ok(PassRun {
        wall_ms: ms(t0),
        requests,
        first_token_ms,
        first_item_ms,
    })
}

fn ms(t0: Instant) -> u64 {
    t0.elapsed().as_millis() as u64
}

/// The wall times of one task's passes.
pub fn wall(task: &str, cached: &PassRun, uncached: &PassRun) -> TaskWall {
    TaskWall {
        task: task.to_string(),
        cached_ms: cached.wall_ms,
        uncached_ms: uncached.wall_ms,
    }
}
