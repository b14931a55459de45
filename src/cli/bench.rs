//! `crit bench`: what the engine costs per task, in one run.
//!
//! Two engines on the same model take turns on every task (all three kinds
//! submitted at once, as the review UI does on opening a task): one reuses
//! each kind's decoded prompt prefix, one decodes every prompt whole. The
//! report gives their task wall times, the prompt depth and the prompt
//! tokens actually decoded per request, the time to the first streamed
//! critique, and generation speed against the floor: each request replayed
//! right after it by a minimal greedy decode loop written directly against
//! llama-cpp-2 (same model, prompt tokens, token count and threads). With
//! `LLAMA_BENCH` naming a `llama-bench` binary, llama.cpp's own figures at
//! the same depth and threads are set beside crit's. With `--backend URL`
//! it measures that server instead (`served`).

mod llama_bench;
mod report;
mod samples;
mod served;
mod served_report;

use super::Ctx;
use crate::assist::engine::{self, Engine, JsonTracker, Prompter, Tuning};
use crate::assist::prompt::Prompts;
use crate::assist::{
    model, Assistant, EngineSettings, Event, EventReceiver, Kind, Provenance, Request,
};
use crate::task::Task;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
pub use report::{render, CacheRow, FirstCritique, KindRow, Report, TaskWall, TruncationRow};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const BUNDLED_TASKS: &str = include_str!("../../data/bench_tasks.jsonl");

#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model [default: --model > CRIT_MODEL > config > the default model]
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Native JSONL task file [default: the bundled data/bench_tasks.jsonl]
    #[arg(long)]
    pub tasks: Option<PathBuf>,
    /// Threads [default: the machine's cores]
    #[arg(long)]
    pub threads: Option<i32>,
    #[arg(long, default_value_t = 4096)]
    pub n_ctx: u32,
    #[arg(long, default_value_t = 512)]
    pub max_tokens: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Run the task set this many times (more rounds, less noise).
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Critique samples to price against one (`--samples` of generate and
    /// review); 1 skips it.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub samples: u32,
    #[command(flatten)]
    pub server: served::ServerArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    if let Some(remote) = served::settings(&args, &ctx.config)? {
        return served::run(&args, remote);
    }
    let report = bench(&args, ctx)?;
    let sampled = samples::measure(&args, ctx)?;
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["samples"] = serde_json::to_value(&sampled)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", render(&report));
        sampled
            .iter()
            .for_each(|s| print!("{}", samples::render(s)));
    }
    Ok(())
}

fn load_tasks(path: Option<&Path>) -> anyhow::Result<Vec<Arc<Task>>> {
    let tasks = match path {
        Some(p) => crate::task::load(p, None, false)?.tasks,
        None => BUNDLED_TASKS
            .lines()
            .map(serde_json::from_str::<Task>)
            .collect::<Result<Vec<_>, _>>()?,
    };
    anyhow::ensure!(!tasks.is_empty(), "no tasks to benchmark");
    Ok(tasks.into_iter().map(Arc::new).collect())
}

/// One engine and the receiver of its events.
struct Bench {
    engine: Engine,
    rx: EventReceiver,
}

/// One request of a task run.
struct RequestRun {
    kind: Kind,
    provenance: Option<Provenance>,
    /// Prompt tokens decoded (not restored from the prefix cache).
    processed: u64,
    first_token: bool,
}

/// All three kinds of one task on one engine.
struct TaskRun {
    wall_ms: u64,
    requests: Vec<RequestRun>,
    /// From submitting to the first streamed critique token, and to the
    /// first complete critique item.
    first_token_ms: Option<u64>,
    first_item_ms: Option<u64>,
}

/// The local model and engine settings from bench's flags and the config
/// (the engine bench and the samples comparison measure the same engine).
fn local_engine(args: &Args, ctx: &Ctx) -> anyhow::Result<(PathBuf, EngineSettings)> {
    let model_path = model::resolve(args.model.as_deref(), ctx.config.model.as_deref())?;
    let threads = args
        .threads
        .or(ctx.config.threads)
        .unwrap_or_else(crate::assist::default_threads);
    let settings = EngineSettings {
        n_ctx: args.n_ctx,
        max_tokens: args.max_tokens,
        n_threads: engine::effective_threads(threads),
        ..EngineSettings::default()
    };
    Ok((model_path, settings))
}

pub fn bench(args: &Args, ctx: &Ctx) -> anyhow::Result<Report> {
    let (model_path, settings) = local_engine(args, ctx)?;
    let tasks = load_tasks(args.tasks.as_deref())?;
    let prompts = Prompts::load(None)?;
    let load_before = report::load_average();
    let start = |prefix_cache| -> anyhow::Result<Bench> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let tuning = Tuning { prefix_cache };
        let engine =
            Engine::start_tuned(&model_path, settings.clone(), prompts.clone(), tx, tuning)?;
        Ok(Bench { engine, rx })
    };
    let mut cached = start(true)?;
    let mut whole = start(false)?;
    let floor_model = engine::load_model(&model_path)?;
    let mut floor = Floor::new(&floor_model, prompts.clone(), &settings)?;
    let mut r = report::Builder::default();
    let mut id = 0u64;
    let rounds = args.rounds.max(1) as usize;
    for (i, task) in tasks.iter().cycle().take(tasks.len() * rounds).enumerate() {
        // Alternate which engine goes first, so load drifts hit both alike.
        let (c, w) = if i % 2 == 0 {
            let c = run_task(&mut cached, task, args.seed, &mut id)?;
            (c, run_task(&mut whole, task, args.seed, &mut id)?)
        } else {
            let w = run_task(&mut whole, task, args.seed, &mut id)?;
            (run_task(&mut cached, task, args.seed, &mut id)?, w)
        };
        for req in &c.requests {
            let Some(p) = &req.provenance else { continue };
            let tokens = floor.prompter.fit(req.kind, task)?.tokens;
            let f = floor.run(&tokens, p.gen_tokens)?;
            r.floor(p, &f);
        }
        r.task(&task.id, &c, &w);
    }
    let truncation = time_truncation(&floor.prompter, &tasks[0])?;
    let llama = llama_bench::compare(&model_path, settings.n_threads, &r);
    Ok(r.finish(report::Header {
        model: cached.engine.model_info().clone(),
        n_threads: settings.n_threads,
        n_ctx: settings.n_ctx,
        max_tokens: settings.max_tokens,
        seed: args.seed,
        tasks: tasks.len(),
        rounds: rounds as u32,
        load_before,
        load_after: report::load_average(),
        llama_bench: llama,
        truncation,
    }))
}

/// Submit all kinds of `task` at once (critique first) and wait for them.
fn run_task(b: &mut Bench, task: &Arc<Task>, seed: u32, id: &mut u64) -> anyhow::Result<TaskRun> {
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
            processed: 0,
            first_token: false,
        })
        .collect();
    let mut decoded = processed(&b.engine);
    let mut critique = JsonTracker::default();
    let (mut first_token_ms, mut first_item_ms) = (None, None);
    let t0 = Instant::now();
    for &(id, kind) in &ids {
        b.engine.submit(Request {
            id,
            task: task.clone(),
            kind,
            seed,
        });
    }
    let mut open = ids.len();
    while open > 0 {
        let ev =
            b.rx.blocking_recv()
                .ok_or_else(|| anyhow::anyhow!("the engine stopped"))?;
        let Some(i) = ids.iter().position(|&(id, _)| id == ev.id()) else {
            continue;
        };
        let req = &mut requests[i];
        match ev {
            Event::Token { text, .. } => {
                if !req.first_token {
                    // Requests run one at a time, so the counter moved by
                    // this request's prompt alone.
                    req.first_token = true;
                    let now = processed(&b.engine);
                    req.processed = now - decoded;
                    decoded = now;
                }
                if req.kind == Kind::Critique {
                    first_token_ms.get_or_insert(ms(t0));
                    critique.feed(&text);
                    if first_item_ms.is_none() && (critique.at_item_boundary() || critique.done) {
                        first_item_ms = Some(ms(t0));
                    }
                }
            }
            Event::Done { assistance, .. } => {
                req.provenance = Some(assistance.provenance.clone());
                open -= 1;
            }
            Event::Failed { error, .. } => {
                tracing::warn!("bench request failed: {error}");
                open -= 1;
            }
            Event::Cancelled { .. } => open -= 1,
            Event::Started { .. } => {}
        }
    }
    Ok(TaskRun {
        wall_ms: ms(t0),
        requests,
        first_token_ms,
        first_item_ms,
    })
}

fn processed(engine: &Engine) -> u64 {
    let s = engine.stats();
    s.prompt_tokens - s.reused_tokens
}

fn ms(t0: Instant) -> u64 {
    t0.elapsed().as_millis() as u64
}

/// A 50 MB answer cut to fit the context (the prompt only, no decoding):
/// median of three.
fn time_truncation(prompter: &Prompter<'_>, task: &Task) -> anyhow::Result<TruncationRow> {
    let mut long = task.clone();
    let line = format!("{}\n", task.answer.trim());
    long.answer = line.repeat(50_000_000 / line.len() + 1);
    let mut times = Vec::new();
    let mut fitted = None;
    for _ in 0..3 {
        let t0 = Instant::now();
        fitted = Some(prompter.fit(Kind::Checks, &long)?);
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let fitted = fitted.expect("three runs");
    Ok(TruncationRow {
        answer_bytes: long.answer.len(),
        kept_bytes: fitted.truncated.map_or(long.answer.len(), |t| t.kept_bytes),
        prompt_tokens: fitted.tokens.len(),
        median_ms: report::median(&times),
    })
}

/// The floor: a context of its own and the same prompts and tokens as crit.
struct Floor<'m> {
    ctx: LlamaContext<'m>,
    prompter: Prompter<'m>,
}

pub struct FloorRun {
    pub prompt_tokens: usize,
    pub prompt_ms: u64,
    pub gen_ms: u64,
}

impl<'m> Floor<'m> {
    fn new(
        model: &'m LlamaModel,
        prompts: Prompts,
        settings: &EngineSettings,
    ) -> anyhow::Result<Floor<'m>> {
        let mut ctx = engine::new_context(model, settings.n_ctx, settings.n_threads)?;
        engine::warm_up(model, &mut ctx)?;
        Ok(Floor {
            ctx,
            prompter: Prompter::new(model, prompts, settings),
        })
    }

    /// Clear the cache, decode the prompt, then `n_gen` times take the
    /// arg-max logit and decode it. No sampler objects, no grammar, no
    /// events. Like crit, the last sampled token is not decoded.
    fn run(&mut self, tokens: &[LlamaToken], n_gen: u32) -> anyhow::Result<FloorRun> {
        let ctx = &mut self.ctx;
        anyhow::ensure!(
            tokens.len() + n_gen as usize <= ctx.n_ctx() as usize,
            "floor prompt exceeds n_ctx"
        );
        ctx.clear_kv_cache();
        let n_batch = ctx.n_batch() as usize;
        let mut batch = LlamaBatch::new(n_batch, 1);
        let t0 = Instant::now();
        for (c, chunk) in tokens.chunks(n_batch).enumerate() {
            batch.clear();
            for (i, &tok) in chunk.iter().enumerate() {
                let pos = c * n_batch + i;
                batch.add(tok, pos as i32, &[0], pos + 1 == tokens.len())?;
            }
            ctx.decode(&mut batch)?;
        }
        let prompt_ms = ms(t0);
        let t1 = Instant::now();
        let mut idx = batch.n_tokens() - 1;
        for i in 0..n_gen {
            let tok = argmax(ctx.get_logits_ith(idx));
            if i + 1 == n_gen {
                break;
            }
            batch.clear();
            batch.add(tok, (tokens.len() + i as usize) as i32, &[0], true)?;
            ctx.decode(&mut batch)?;
            idx = 0;
        }
        Ok(FloorRun {
            prompt_tokens: tokens.len(),
            prompt_ms,
            gen_ms: ms(t1),
        })
    }
}

fn argmax(logits: &[f32]) -> LlamaToken {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    LlamaToken(best as i32)
}
