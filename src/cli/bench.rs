//! `crit bench`: engine throughput per assistance kind against the floor, a
//! minimal single-sequence greedy decode loop written directly against
//! llama-cpp-2 with the same model, prompt and thread count.

use super::Ctx;
use crate::assist::engine::{self, Engine};
use crate::assist::prompt::{self, Prompts};
use crate::assist::{model, Assistant, EngineSettings, Event, Kind, ModelInfo, Request};
use crate::task::Task;
use llama_cpp_2::llama_batch::LlamaBatch;
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
    /// Tokens generated per run of the floor loop.
    #[arg(long, default_value_t = 256)]
    pub floor_tokens: u32,
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
    /// /proc/loadavg (1 min) before the run: other load skews the numbers.
    pub load_before: Option<f64>,
    pub kinds: Vec<KindRow>,
    /// All kinds together.
    pub total: KindRow,
    /// Wall time to produce all three kinds for each task.
    pub task_wall_ms: Vec<TaskWall>,
    pub floor: Floor,
    /// crit generation tokens/s over the floor's (1.0 = as fast).
    pub ratio: f64,
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

#[derive(Debug, Serialize)]
pub struct Floor {
    pub prompt_tokens: usize,
    pub gen_tokens_per_run: u32,
    /// One run before and one after crit's, to see drift from other load.
    pub runs_gen_tps: Vec<f64>,
    pub gen_tps: f64,
    pub prompt_tps: f64,
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

/// Run the floor, crit's engine over all tasks and kinds, and the floor again.
pub fn bench(args: &Args, ctx: &Ctx) -> anyhow::Result<Report> {
    let model_path = model::resolve(args.model.as_deref(), ctx.config.model.as_deref())?;
    let tasks = load_tasks(args.tasks.as_deref())?;
    let settings = EngineSettings {
        n_ctx: args.n_ctx,
        max_tokens: args.max_tokens,
        n_threads: engine::effective_threads(
            args.threads
                .or(ctx.config.threads)
                .unwrap_or_else(crate::assist::default_threads),
        ),
        ..EngineSettings::default()
    };
    let prompts = Prompts::load(None)?;
    let load_before = load_average();
    let floor_prompt = floor_prompt(&model_path, &prompts, &tasks[0])?;
    let first = floor_run(&model_path, &floor_prompt, &settings, args.floor_tokens)?;
    let (kinds, walls, info) = crit_runs(&model_path, &settings, prompts, &tasks, args.seed)?;
    let second = floor_run(&model_path, &floor_prompt, &settings, args.floor_tokens)?;
    let floor = Floor {
        prompt_tokens: first.prompt_tokens,
        gen_tokens_per_run: args.floor_tokens,
        runs_gen_tps: vec![first.gen_tps, second.gen_tps],
        gen_tps: (first.gen_tps + second.gen_tps) / 2.0,
        prompt_tps: (first.prompt_tps + second.prompt_tps) / 2.0,
    };
    let total = sum_rows("all", &kinds);
    Ok(Report {
        model: info,
        n_threads: settings.n_threads,
        n_ctx: settings.n_ctx,
        max_tokens: settings.max_tokens,
        seed: args.seed,
        tasks: tasks.len(),
        load_before,
        ratio: ratio(total.gen_tps, floor.gen_tps),
        total,
        kinds,
        task_wall_ms: walls,
        floor,
        target: 0.95,
    })
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

/// Every task, all kinds submitted at once; per-kind token counts and times
/// come from the provenance of each result.
fn crit_runs(
    model_path: &Path,
    settings: &EngineSettings,
    prompts: Prompts,
    tasks: &[Arc<Task>],
    seed: u32,
) -> anyhow::Result<(Vec<KindRow>, Vec<TaskWall>, ModelInfo)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::start(model_path, settings.clone(), prompts, tx)?;
    let mut rows: Vec<KindRow> = Kind::ALL
        .iter()
        .map(|k| KindRow {
            kind: k.name().into(),
            ..KindRow::default()
        })
        .collect();
    let mut walls = Vec::new();
    let mut next_id = 0u64;
    for task in tasks {
        let t0 = Instant::now();
        for kind in Kind::ALL {
            next_id += 1;
            engine.submit(Request {
                id: next_id,
                task: task.clone(),
                kind,
                seed,
            });
        }
        let mut left = Kind::ALL.len();
        while left > 0 {
            let ev = rx
                .blocking_recv()
                .ok_or_else(|| anyhow::anyhow!("the engine stopped"))?;
            let kind = Kind::ALL[((ev.id() - 1) % 3) as usize];
            let row = &mut rows[kind as usize];
            match ev {
                Event::Done { assistance, .. } => {
                    let p = &assistance.provenance;
                    row.requests += 1;
                    row.prompt_tokens += u64::from(p.prompt_tokens);
                    row.prompt_ms += p.prompt_ms;
                    row.gen_tokens += u64::from(p.gen_tokens);
                    row.gen_ms += p.gen_ms;
                    left -= 1;
                }
                Event::Failed { error, .. } => {
                    tracing::warn!(task = %task.id, kind = kind.name(), "bench request failed: {error}");
                    row.requests += 1;
                    row.failed += 1;
                    left -= 1;
                }
                Event::Cancelled { .. } => left -= 1,
                Event::Started { .. } | Event::Token { .. } => {}
            }
        }
        walls.push(TaskWall {
            task: task.id.clone(),
            ms: t0.elapsed().as_millis() as u64,
        });
    }
    for row in &mut rows {
        row.prompt_tps = tps(row.prompt_tokens, row.prompt_ms);
        row.gen_tps = tps(row.gen_tokens, row.gen_ms);
    }
    let info = engine.model_info().clone();
    Ok((rows, walls, info))
}

fn sum_rows(name: &str, rows: &[KindRow]) -> KindRow {
    let mut t = KindRow {
        kind: name.into(),
        ..KindRow::default()
    };
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

/// The critique prompt of the first task, as crit renders it.
fn floor_prompt(model_path: &Path, prompts: &Prompts, task: &Task) -> anyhow::Result<String> {
    let model = engine::load_model(model_path)?;
    let msgs = prompts.render(Kind::Critique, task)?;
    Ok(prompt::chat_prompt(&model, &msgs)?)
}

struct FloorRun {
    prompt_tokens: usize,
    prompt_tps: f64,
    gen_tps: f64,
}

/// The floor: decode the prompt, then `n_gen` times pick the arg-max logit
/// and decode it. No sampler objects, no grammar, no events. Like crit, the
/// last sampled token is not decoded.
fn floor_run(
    model_path: &Path,
    prompt: &str,
    settings: &EngineSettings,
    n_gen: u32,
) -> anyhow::Result<FloorRun> {
    let model = engine::load_model(model_path)?;
    let mut ctx = engine::new_context(&model, settings.n_ctx, settings.n_threads)?;
    let tokens = model.vocab().tokenize(prompt.as_bytes(), true, true);
    anyhow::ensure!(
        tokens.len() + n_gen as usize <= settings.n_ctx as usize,
        "floor prompt plus {n_gen} tokens exceed n_ctx"
    );
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
    let prompt_s = t0.elapsed().as_secs_f64();
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
    let gen_s = t1.elapsed().as_secs_f64();
    Ok(FloorRun {
        prompt_tokens: tokens.len(),
        prompt_tps: tokens.len() as f64 / prompt_s,
        gen_tps: f64::from(n_gen) / gen_s,
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
    let mut out = format!(
        "crit bench: {} ({} bytes, sha256 {}…), {} threads, n_ctx {}, max_tokens {}, seed {}, {} tasks, load average before {}\n\n",
        r.model.file_name,
        r.model.size,
        &r.model.sha256[..12.min(r.model.sha256.len())],
        r.n_threads,
        r.n_ctx,
        r.max_tokens,
        r.seed,
        r.tasks,
        r.load_before.map_or("?".into(), |l| format!("{l:.2}")),
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
    for row in r.kinds.iter().chain(std::iter::once(&r.total)) {
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
    let runs: Vec<String> = r
        .floor
        .runs_gen_tps
        .iter()
        .map(|t| format!("{t:.1}"))
        .collect();
    out.push_str(&format!(
        "{:<10} {:>8} {:>6} {:>10} {:>12.1} {:>8} {:>10.1} {:>11}\n\n",
        "floor",
        runs.len(),
        "-",
        r.floor.prompt_tokens,
        r.floor.prompt_tps,
        r.floor.gen_tokens_per_run,
        r.floor.gen_tps,
        "1.000"
    ));
    out.push_str(&format!(
        "floor = greedy decode loop on llama-cpp-2 directly, same model, prompt and threads (runs before/after crit: {} tok/s)\n",
        runs.join(", ")
    ));
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
    out.push_str(&format!(
        "generation ratio crit/floor: {:.3} (target >= {:.2}: {})\n",
        r.ratio,
        r.target,
        if r.ratio >= r.target {
            "met"
        } else {
            "NOT met"
        }
    ));
    out
}
