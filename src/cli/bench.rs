//! `crit bench`: engine throughput per assistance kind against the floor, a
//! minimal single-sequence greedy decode loop written directly against
//! llama-cpp-2 with the same model, prompt and thread count.

use super::Ctx;
use crate::assist::engine::{self, Engine};
use crate::assist::prompt::{self, Prompts};
use crate::assist::{model, Assistant, EngineSettings, Event, Kind, ModelInfo, Request};
use crate::task::Task;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use serde::Serialize;
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
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub model: ModelInfo,
    pub n_threads: i32,
    pub n_ctx: u32,
    pub max_tokens: u32,
    pub seed: u32,
    pub tasks: usize,
    pub rounds: u32,
    /// /proc/loadavg (1 min) before and after: other load skews the numbers.
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    pub kinds: Vec<KindRow>,
    /// All kinds together.
    pub total: KindRow,
    /// Wall time to produce all three kinds for each task.
    pub task_wall_ms: Vec<TaskWall>,
    /// The same requests (prompt and generated token count) replayed by a
    /// minimal greedy loop right after each crit request.
    pub floor: KindRow,
    /// crit generation tokens/s over the floor's, all requests pooled
    /// (1.0 = as fast). A load spike during one request skews it.
    pub ratio: f64,
    /// Median over requests of (crit tok/s / its floor replay's tok/s):
    /// robust to load spikes that hit one side of a pair.
    pub median_paired_ratio: f64,
    pub paired_ratios: Vec<f64>,
    pub target: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct KindRow {
    pub kind: String,
    pub requests: usize,
    pub failed: usize,
    pub prompt_tokens: u64,
    pub prompt_ms: u64,
    pub prompt_tps: f64,
    pub gen_tokens: u64,
    pub gen_ms: u64,
    pub gen_tps: f64,
}

#[derive(Debug, Serialize)]
pub struct TaskWall {
    pub task: String,
    pub ms: u64,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let report = bench(&args, ctx)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
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

/// For every task and kind: one crit request, then the floor on the same
/// prompt for the same number of tokens, so both see the same positions,
/// token counts and (as far as possible) the same machine load.
pub fn bench(args: &Args, ctx: &Ctx) -> anyhow::Result<Report> {
    let model_path = model::resolve(args.model.as_deref(), ctx.config.model.as_deref())?;
    let tasks = load_tasks(args.tasks.as_deref())?;
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
    let prompts = Prompts::load(None)?;
    let load_before = load_average();
    let floor_model = engine::load_model(&model_path)?;
    let mut floor_ctx = engine::new_context(&floor_model, settings.n_ctx, settings.n_threads)?;
    engine::warm_up(&floor_model, &mut floor_ctx)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::start(&model_path, settings.clone(), prompts.clone(), tx)?;
    let mut rows: Vec<KindRow> = Kind::ALL.iter().map(|k| row(k.name())).collect();
    let mut floor = row("floor");
    let mut walls = Vec::new();
    let mut paired = Vec::new();
    let mut id = 0u64;
    let rounds = args.rounds.max(1) as usize;
    for task in tasks.iter().cycle().take(tasks.len() * rounds) {
        let mut wall_ms = 0;
        for kind in Kind::ALL {
            id += 1;
            let t0 = Instant::now();
            engine.submit(Request {
                id,
                task: task.clone(),
                kind,
                seed: args.seed,
            });
            let done = wait(&mut rx, id)?;
            wall_ms += t0.elapsed().as_millis() as u64;
            let r = &mut rows[kind as usize];
            r.requests += 1;
            let Some(p) = done else {
                r.failed += 1;
                continue;
            };
            r.prompt_tokens += u64::from(p.prompt_tokens);
            r.prompt_ms += p.prompt_ms;
            r.gen_tokens += u64::from(p.gen_tokens);
            r.gen_ms += p.gen_ms;
            let text = prompt::chat_prompt(&floor_model, &prompts.render(kind, task)?)?;
            let f = floor_run(&floor_model, &mut floor_ctx, &text, p.gen_tokens)?;
            floor.requests += 1;
            floor.prompt_tokens += f.prompt_tokens as u64;
            floor.prompt_ms += f.prompt_ms;
            floor.gen_tokens += u64::from(p.gen_tokens);
            floor.gen_ms += f.gen_ms;
            paired.push(ratio(
                tps(p.gen_tokens.into(), p.gen_ms),
                tps(p.gen_tokens.into(), f.gen_ms),
            ));
        }
        walls.push(TaskWall {
            task: task.id.clone(),
            ms: wall_ms,
        });
    }
    for r in rows.iter_mut().chain(std::iter::once(&mut floor)) {
        r.prompt_tps = tps(r.prompt_tokens, r.prompt_ms);
        r.gen_tps = tps(r.gen_tokens, r.gen_ms);
    }
    let total = sum_rows("all", &rows);
    Ok(Report {
        model: engine.model_info().clone(),
        n_threads: settings.n_threads,
        n_ctx: settings.n_ctx,
        max_tokens: settings.max_tokens,
        seed: args.seed,
        tasks: tasks.len(),
        rounds: args.rounds.max(1),
        load_before,
        load_after: load_average(),
        ratio: ratio(total.gen_tps, floor.gen_tps),
        median_paired_ratio: median(&paired),
        paired_ratios: paired,
        total,
        kinds: rows,
        task_wall_ms: walls,
        floor,
        target: 0.95,
    })
}

fn row(kind: &str) -> KindRow {
    KindRow {
        kind: kind.into(),
        ..KindRow::default()
    }
}

/// Wait for request `id` to finish: its provenance, or `None` if it failed.
fn wait(
    rx: &mut crate::assist::EventReceiver,
    id: u64,
) -> anyhow::Result<Option<crate::assist::Provenance>> {
    loop {
        match rx
            .blocking_recv()
            .ok_or_else(|| anyhow::anyhow!("the engine stopped"))?
        {
            Event::Done { id: i, assistance } if i == id => {
                return Ok(Some(assistance.provenance.clone()))
            }
            Event::Failed { id: i, error } if i == id => {
                tracing::warn!("bench request {id} failed: {error}");
                return Ok(None);
            }
            Event::Cancelled { id: i } if i == id => return Ok(None),
            _ => {}
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn tps(tokens: u64, ms: u64) -> f64 {
    if ms == 0 {
        0.0
    } else {
        tokens as f64 * 1000.0 / ms as f64
    }
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn sum_rows(name: &str, rows: &[KindRow]) -> KindRow {
    let mut t = row(name);
    for r in rows {
        t.requests += r.requests;
        t.failed += r.failed;
        t.prompt_tokens += r.prompt_tokens;
        t.prompt_ms += r.prompt_ms;
        t.gen_tokens += r.gen_tokens;
        t.gen_ms += r.gen_ms;
    }
    t.prompt_tps = tps(t.prompt_tokens, t.prompt_ms);
    t.gen_tps = tps(t.gen_tokens, t.gen_ms);
    t
}

struct FloorRun {
    prompt_tokens: usize,
    prompt_ms: u64,
    gen_ms: u64,
}

/// The floor: clear the cache, decode the prompt, then `n_gen` times take
/// the arg-max logit and decode it. No sampler objects, no grammar, no
/// events. Like crit, the last sampled token is not decoded.
fn floor_run(
    model: &LlamaModel,
    ctx: &mut LlamaContext<'_>,
    prompt: &str,
    n_gen: u32,
) -> anyhow::Result<FloorRun> {
    let tokens = model.vocab().tokenize(prompt.as_bytes(), true, true);
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
    let prompt_ms = t0.elapsed().as_millis() as u64;
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
        gen_ms: t1.elapsed().as_millis() as u64,
    })
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

/// The report as a plain-text table.
pub fn render(r: &Report) -> String {
    let load = |l: Option<f64>| l.map_or("?".into(), |l| format!("{l:.2}"));
    let mut out = format!(
        "crit bench: {} ({} bytes, sha256 {}…), {} threads, n_ctx {}, max_tokens {}, seed {}, {} tasks x {} rounds, load average {} before, {} after\n\n",
        r.model.file_name,
        r.model.size,
        &r.model.sha256[..12.min(r.model.sha256.len())],
        r.n_threads,
        r.n_ctx,
        r.max_tokens,
        r.seed,
        r.tasks,
        r.rounds,
        load(r.load_before),
        load(r.load_after),
    );
    out.push_str(&format!(
        "{:<10} {:>8} {:>6} {:>10} {:>12} {:>8} {:>10} {:>11}\n",
        "kind",
        "requests",
        "failed",
        "prompt tok",
        "prompt tok/s",
        "gen tok",
        "gen tok/s",
        "crit/floor"
    ));
    for row in r.kinds.iter().chain([&r.total, &r.floor]) {
        out.push_str(&format!(
            "{:<10} {:>8} {:>6} {:>10} {:>12.1} {:>8} {:>10.1} {:>11.3}\n",
            row.kind,
            row.requests,
            row.failed,
            row.prompt_tokens,
            row.prompt_tps,
            row.gen_tokens,
            row.gen_tps,
            ratio(row.gen_tps, r.floor.gen_tps)
        ));
    }
    out.push_str("\nfloor = each crit request replayed right after it by a minimal greedy decode loop on llama-cpp-2\n(same model, prompt, generated token count and threads; no sampler chain, grammar or events)\n");
    let walls: Vec<String> = r
        .task_wall_ms
        .iter()
        .map(|w| format!("{} {:.1} s", w.task, w.ms as f64 / 1000.0))
        .collect();
    let mean = r.task_wall_ms.iter().map(|w| w.ms).sum::<u64>() as f64
        / r.task_wall_ms.len().max(1) as f64
        / 1000.0;
    out.push_str(&format!(
        "wall time, all three kinds of one task: {} (mean {mean:.1} s)\n",
        walls.join(", ")
    ));
    let verdict = |x: f64| if x >= r.target { "met" } else { "NOT met" };
    out.push_str(&format!(
        "generation ratio crit/floor, pooled: {:.3} (target >= {:.2}: {})\n",
        r.ratio,
        r.target,
        verdict(r.ratio)
    ));
    out.push_str(&format!(
        "generation ratio crit/floor, median of {} request pairs: {:.3} (target >= {:.2}: {})\n",
        r.paired_ratios.len(),
        r.median_paired_ratio,
        r.target,
        verdict(r.median_paired_ratio)
    ));
    out
}
