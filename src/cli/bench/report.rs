//! The bench report: gathered per task, summarised with medians (robust to
//! load spikes on a shared machine), rendered as a table or JSON.

use super::llama_bench::LlamaBenchRow;
use super::{FloorRun, TaskRun};
use crate::assist::{Kind, ModelInfo, Provenance};
use serde::Serialize;

/// Generation speed kept against the floor.
const FLOOR_TARGET: f64 = 0.95;
/// Task wall time, whole prompts over cached prefixes.
const SPEEDUP_TARGET: f64 = 2.0;
/// First streamed critique token after opening a task.
const FIRST_CRITIQUE_TARGET_MS: u64 = 1000;
/// Cutting a 50 MB answer to fit.
const TRUNCATION_TARGET_MS: f64 = 2000.0;

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
    /// Per kind, with the prefix cache.
    pub kinds: Vec<KindRow>,
    /// All kinds, with the prefix cache.
    pub total: KindRow,
    /// All kinds, every prompt decoded whole.
    pub uncached: KindRow,
    /// The cached requests replayed by a minimal greedy loop.
    pub floor: KindRow,
    /// crit generation tokens/s over the floor's, all requests pooled.
    pub ratio: f64,
    /// Median over requests of (crit tok/s / its floor replay's tok/s):
    /// robust to load spikes that hit one side of a pair.
    pub median_paired_ratio: f64,
    pub paired_ratios: Vec<f64>,
    pub target: f64,
    pub task_wall_ms: Vec<TaskWall>,
    pub cache: CacheRow,
    pub first_critique: FirstCritique,
    pub truncation: TruncationRow,
    pub llama_bench: Option<LlamaBenchRow>,
}

#[derive(Debug, Default, Serialize)]
pub struct KindRow {
    pub kind: String,
    pub requests: usize,
    pub failed: usize,
    /// Prompt tokens in front of the generated ones (sum over requests).
    pub prompt_tokens: u64,
    /// Prompt tokens actually decoded (the rest came from the cache).
    pub processed_tokens: u64,
    /// Medians per request of the two above.
    pub median_depth: f64,
    pub median_processed: f64,
    pub prompt_ms: u64,
    /// Decoded prompt tokens per second of prompt time.
    pub prompt_tps: f64,
    pub gen_tokens: u64,
    pub gen_ms: u64,
    pub gen_tps: f64,
    #[serde(skip)]
    depths: Vec<f64>,
    #[serde(skip)]
    processed: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct TaskWall {
    pub task: String,
    /// All three kinds, from submitting them to the last result.
    pub cached_ms: u64,
    pub uncached_ms: u64,
}

/// Medians are over the tasks after the first: the first one is when the
/// cached engine decodes and saves each kind's prefix (shown apart).
#[derive(Debug, Serialize)]
pub struct CacheRow {
    pub median_cached_ms: f64,
    pub median_uncached_ms: f64,
    /// Median over tasks of uncached / cached wall time.
    pub speedup: f64,
    pub target: f64,
    /// The first task: prefixes not yet cached.
    pub cold_cached_ms: u64,
    pub cold_uncached_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct FirstCritique {
    /// Median time from opening a task (all kinds submitted, engine idle,
    /// task not prefetched) to the first streamed critique token.
    pub median_first_token_ms: f64,
    /// ... and to the first complete critique item.
    pub median_first_item_ms: f64,
    pub samples: usize,
    pub target_ms: u64,
    /// On the first task, before the critique prefix was cached.
    pub cold_first_token_ms: Option<f64>,
}

/// Fitting the prompt of a task with a 50 MB answer (no decoding).
#[derive(Debug, Serialize)]
pub struct TruncationRow {
    pub answer_bytes: usize,
    pub kept_bytes: usize,
    pub prompt_tokens: usize,
    pub median_ms: f64,
}

pub struct Header {
    pub model: ModelInfo,
    pub n_threads: i32,
    pub n_ctx: u32,
    pub max_tokens: u32,
    pub seed: u32,
    pub tasks: usize,
    pub rounds: u32,
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    pub llama_bench: Option<LlamaBenchRow>,
    pub truncation: TruncationRow,
}

/// Collects runs as the bench goes.
pub struct Builder {
    kinds: Vec<KindRow>,
    uncached: KindRow,
    floor: KindRow,
    paired: Vec<f64>,
    walls: Vec<TaskWall>,
    /// Per task, in order (the first is cold).
    first_token: Vec<Option<f64>>,
    first_item: Vec<Option<f64>>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            kinds: Kind::ALL.iter().map(|k| row(k.name())).collect(),
            uncached: row("uncached"),
            floor: row("floor"),
            paired: Vec::new(),
            walls: Vec::new(),
            first_token: Vec::new(),
            first_item: Vec::new(),
        }
    }
}

impl Builder {
    pub fn task(&mut self, id: &str, cached: &TaskRun, uncached: &TaskRun) {
        for req in &cached.requests {
            add(
                &mut self.kinds[req.kind as usize],
                req.provenance.as_ref(),
                req.processed,
            );
        }
        for req in &uncached.requests {
            add(&mut self.uncached, req.provenance.as_ref(), req.processed);
        }
        self.walls.push(TaskWall {
            task: id.to_string(),
            cached_ms: cached.wall_ms,
            uncached_ms: uncached.wall_ms,
        });
        self.first_token
            .push(cached.first_token_ms.map(|m| m as f64));
        self.first_item.push(cached.first_item_ms.map(|m| m as f64));
    }

    pub fn floor(&mut self, p: &Provenance, f: &FloorRun) {
        let fl = &mut self.floor;
        fl.requests += 1;
        fl.prompt_tokens += f.prompt_tokens as u64;
        fl.processed_tokens += f.prompt_tokens as u64;
        fl.prompt_ms += f.prompt_ms;
        fl.gen_tokens += u64::from(p.gen_tokens);
        fl.gen_ms += f.gen_ms;
        fl.depths.push(f.prompt_tokens as f64);
        fl.processed.push(f.prompt_tokens as f64);
        self.paired.push(ratio(
            tps(p.gen_tokens.into(), p.gen_ms),
            tps(p.gen_tokens.into(), f.gen_ms),
        ));
    }

    /// Median prompt depth at which generation starts, over cached requests.
    pub fn median_depth(&self) -> f64 {
        median(
            &self
                .kinds
                .iter()
                .flat_map(|k| k.depths.clone())
                .collect::<Vec<_>>(),
        )
    }

    /// Median prompt tokens decoded per cached request (the task's own).
    pub fn median_processed(&self) -> f64 {
        median(
            &self
                .kinds
                .iter()
                .flat_map(|k| k.processed.clone())
                .collect::<Vec<_>>(),
        )
    }

    /// Pooled prompt and generation tokens/s of the cached requests.
    pub fn cached_tps(&self) -> (f64, f64) {
        let t = sum_rows("all", &self.kinds);
        (t.prompt_tps, t.gen_tps)
    }

    pub fn finish(mut self, h: Header) -> Report {
        for r in self
            .kinds
            .iter_mut()
            .chain([&mut self.uncached, &mut self.floor])
        {
            finish_row(r);
        }
        let total = sum_rows("all", &self.kinds);
        let ratio_pooled = ratio(total.gen_tps, self.floor.gen_tps);
        let warm = |n: usize| usize::from(n > 1);
        let walls = &self.walls[warm(self.walls.len())..];
        let cold = self.walls.first();
        let walls_ms =
            |f: fn(&TaskWall) -> u64| walls.iter().map(|w| f(w) as f64).collect::<Vec<_>>();
        let speedups: Vec<f64> = walls
            .iter()
            .map(|w| ratio(w.uncached_ms as f64, w.cached_ms as f64))
            .collect();
        let cache = CacheRow {
            median_cached_ms: median(&walls_ms(|w| w.cached_ms)),
            median_uncached_ms: median(&walls_ms(|w| w.uncached_ms)),
            speedup: median(&speedups),
            target: SPEEDUP_TARGET,
            cold_cached_ms: cold.map_or(0, |w| w.cached_ms),
            cold_uncached_ms: cold.map_or(0, |w| w.uncached_ms),
        };
        let warm_values = |v: &[Option<f64>]| -> Vec<f64> {
            v[warm(v.len())..].iter().flatten().copied().collect()
        };
        let first_token = warm_values(&self.first_token);
        let first_critique = FirstCritique {
            median_first_token_ms: median(&first_token),
            median_first_item_ms: median(&warm_values(&self.first_item)),
            samples: first_token.len(),
            target_ms: FIRST_CRITIQUE_TARGET_MS,
            cold_first_token_ms: self.first_token.first().copied().flatten(),
        };
        Report {
            model: h.model,
            n_threads: h.n_threads,
            n_ctx: h.n_ctx,
            max_tokens: h.max_tokens,
            seed: h.seed,
            tasks: h.tasks,
            rounds: h.rounds,
            load_before: h.load_before,
            load_after: h.load_after,
            ratio: ratio_pooled,
            median_paired_ratio: median(&self.paired),
            paired_ratios: self.paired,
            target: FLOOR_TARGET,
            total,
            kinds: self.kinds,
            uncached: self.uncached,
            floor: self.floor,
            task_wall_ms: self.walls,
            cache,
            first_critique,
            truncation: h.truncation,
            llama_bench: h.llama_bench,
        }
    }
}

fn row(kind: &str) -> KindRow {
    KindRow {
        kind: kind.into(),
        ..KindRow::default()
    }
}

fn add(r: &mut KindRow, p: Option<&Provenance>, processed: u64) {
    r.requests += 1;
    let Some(p) = p else {
        r.failed += 1;
        return;
    };
    r.prompt_tokens += u64::from(p.prompt_tokens);
    r.processed_tokens += processed;
    r.depths.push(p.prompt_tokens as f64);
    r.processed.push(processed as f64);
    r.prompt_ms += p.prompt_ms;
    r.gen_tokens += u64::from(p.gen_tokens);
    r.gen_ms += p.gen_ms;
}

fn finish_row(r: &mut KindRow) {
    r.prompt_tps = tps(r.processed_tokens, r.prompt_ms);
    r.gen_tps = tps(r.gen_tokens, r.gen_ms);
    r.median_depth = median(&r.depths);
    r.median_processed = median(&r.processed);
}

fn sum_rows(name: &str, rows: &[KindRow]) -> KindRow {
    let mut t = row(name);
    for r in rows {
        t.requests += r.requests;
        t.failed += r.failed;
        t.prompt_tokens += r.prompt_tokens;
        t.processed_tokens += r.processed_tokens;
        t.prompt_ms += r.prompt_ms;
        t.gen_tokens += r.gen_tokens;
        t.gen_ms += r.gen_ms;
        t.depths.extend(&r.depths);
        t.processed.extend(&r.processed);
    }
    finish_row(&mut t);
    t
}

pub fn median(values: &[f64]) -> f64 {
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

pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

pub fn tps(tokens: u64, ms: u64) -> f64 {
    if ms == 0 {
        0.0
    } else {
        tokens as f64 * 1000.0 / ms as f64
    }
}

pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The report as plain text.
pub fn render(r: &Report) -> String {
    let load = |l: Option<f64>| l.map_or("?".into(), |l| format!("{l:.2}"));
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
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
        "{:<10} {:>8} {:>6} {:>7} {:>9} {:>12} {:>8} {:>10} {:>11}\n",
        "kind",
        "requests",
        "failed",
        "depth",
        "decoded",
        "prompt tok/s",
        "gen tok",
        "gen tok/s",
        "crit/floor"
    ));
    for row in r.kinds.iter().chain([&r.total, &r.uncached, &r.floor]) {
        out.push_str(&format!(
            "{:<10} {:>8} {:>6} {:>7.0} {:>9.0} {:>12.1} {:>8} {:>10.1} {:>11.3}\n",
            row.kind,
            row.requests,
            row.failed,
            row.median_depth,
            row.median_processed,
            row.prompt_tps,
            row.gen_tokens,
            row.gen_tps,
            ratio(row.gen_tps, r.floor.gen_tps)
        ));
    }
    out.push_str("\ndepth = prompt tokens in front of the first generated one; decoded = prompt tokens decoded per request\n(medians; the rest is each kind's system message and worked example, restored from the prefix cache).\nuncached = the same requests on an engine that decodes every prompt whole.\nfloor = each cached request replayed right after it by a minimal greedy decode loop on llama-cpp-2\n(same model, prompt tokens, generated token count and threads; no sampler chain, grammar or events).\n\n");
    let walls: Vec<String> = r
        .task_wall_ms
        .iter()
        .map(|w| {
            format!(
                "{} {:.1} s / {:.1} s",
                w.task,
                w.cached_ms as f64 / 1000.0,
                w.uncached_ms as f64 / 1000.0
            )
        })
        .collect();
    out.push_str(&format!(
        "task wall time, all three kinds (cached / uncached): {}\n",
        walls.join(", ")
    ));
    let c = &r.cache;
    out.push_str(&format!(
        "task wall time, median after the first task: {:.1} s with the prefix cache, {:.1} s without: {:.2}x faster (target >= {:.0}x: {}); first task (prefixes not yet cached) {:.1} s / {:.1} s\n",
        c.median_cached_ms / 1000.0,
        c.median_uncached_ms / 1000.0,
        c.speedup,
        c.target,
        met(c.speedup >= c.target),
        c.cold_cached_ms as f64 / 1000.0,
        c.cold_uncached_ms as f64 / 1000.0
    ));
    let f = &r.first_critique;
    out.push_str(&format!(
        "time to the first streamed critique after opening a task that was not prefetched (median of {}): first token {:.2} s (target < {:.1} s: {}), first complete critique {:.2} s; first task {}\n",
        f.samples,
        f.median_first_token_ms / 1000.0,
        f.target_ms as f64 / 1000.0,
        met(f.samples > 0 && f.median_first_token_ms < f.target_ms as f64),
        f.median_first_item_ms / 1000.0,
        f.cold_first_token_ms.map_or("-".into(), |m| format!("{:.2} s", m / 1000.0))
    ));
    out.push_str(&format!(
        "generation ratio crit/floor, pooled: {:.3} (target >= {:.2}: {})\n",
        r.ratio,
        r.target,
        met(r.ratio >= r.target)
    ));
    out.push_str(&format!(
        "generation ratio crit/floor, median of {} request pairs: {:.3} (target >= {:.2}: {})\n",
        r.paired_ratios.len(),
        r.median_paired_ratio,
        r.target,
        met(r.median_paired_ratio >= r.target)
    ));
    let t = &r.truncation;
    out.push_str(&format!(
        "cutting a {:.0} MB answer to fit the context: {:.3} s, {} bytes kept, prompt {} tokens (median of 3; target < {:.0} s: {})\n",
        t.answer_bytes as f64 / 1e6,
        t.median_ms / 1000.0,
        t.kept_bytes,
        t.prompt_tokens,
        TRUNCATION_TARGET_MS / 1000.0,
        met(t.median_ms < TRUNCATION_TARGET_MS)
    ));
    if let Some(l) = &r.llama_bench {
        out.push_str(&super::llama_bench::render(l));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::RequestRun;
    use super::*;

    fn provenance(prompt_tokens: u32, gen_tokens: u32, gen_ms: u64) -> Provenance {
        serde_json::from_value(serde_json::json!({
            "model": {"file_name": "m.gguf", "size": 1, "sha256": "ab".repeat(32)},
            "template_name": "critique", "template_sha256": "", "prompt_sha256": "",
            "sampler": crate::assist::SamplerSettings::default(),
            "seed": 1, "n_ctx": 4096, "n_threads": 1, "max_tokens": 512,
            "crit_version": "0", "prompt_tokens": prompt_tokens, "gen_tokens": gen_tokens,
            "prompt_ms": 1000, "gen_ms": gen_ms,
        }))
        .unwrap()
    }

    fn run(wall_ms: u64, first_token_ms: u64, processed: u64) -> TaskRun {
        TaskRun {
            wall_ms,
            requests: Kind::ALL
                .iter()
                .map(|&kind| RequestRun {
                    kind,
                    provenance: Some(provenance(600, 100, 2000)),
                    processed,
                    first_token: true,
                })
                .collect(),
            first_token_ms: Some(first_token_ms),
            first_item_ms: Some(first_token_ms + 1000),
        }
    }

    #[test]
    fn medians_leave_out_the_cold_first_task() {
        let mut b = Builder::default();
        b.task("t1", &run(10_000, 3000, 600), &run(10_000, 3000, 600));
        b.task("t2", &run(4_000, 800, 200), &run(10_000, 3000, 600));
        b.task("t3", &run(5_000, 900, 200), &run(10_000, 3000, 600));
        assert_eq!(b.median_processed(), 200.0);
        let r = b.finish(Header {
            model: provenance(1, 1, 1).model.expect("local model"),
            n_threads: 1,
            n_ctx: 4096,
            max_tokens: 512,
            seed: 1,
            tasks: 3,
            rounds: 1,
            load_before: None,
            load_after: None,
            llama_bench: None,
            truncation: TruncationRow {
                answer_bytes: 50_000_000,
                kept_bytes: 7000,
                prompt_tokens: 3584,
                median_ms: 40.0,
            },
        });
        assert_eq!(
            (r.cache.cold_cached_ms, r.cache.median_cached_ms),
            (10_000, 4_500.0)
        );
        assert!((r.cache.speedup - 2.25).abs() < 1e-9, "{:?}", r.cache);
        assert_eq!(r.first_critique.median_first_token_ms, 850.0);
        assert_eq!(r.first_critique.cold_first_token_ms, Some(3000.0));
        let text = render(&r);
        assert!(text.contains("2.25x faster (target >= 2x: met)"), "{text}");
        assert!(
            text.contains("first token 0.85 s (target < 1.0 s: met)"),
            "{text}"
        );
        assert!(
            text.contains("cutting a 50 MB answer to fit the context: 0.040 s"),
            "{text}"
        );
    }
}
