//! The server bench's report: gathered per task, summarised with medians
//! (robust to load spikes on a shared machine), rendered as a table or JSON.

use super::report::{median, ratio, tps, TaskWall};
use super::served::{wall, PassRun};
use crate::assist::schema::clip;
use crate::assist::{Kind, Provenance};
use crate::sanitize::sanitize_line;
use serde::Serialize;

/// Distinct failure messages kept for the report.
const ERRORS_KEPT: usize = 5;
/// Bytes of each shown in the table (the JSON keeps them whole).
const ERROR_SHOWN: usize = 240;

#[derive(Debug, Serialize)]
pub struct Report {
    /// The API base, without credentials.
    pub backend: String,
    /// The model id the server answered with.
    pub served_model: String,
    /// The model name crit asked for (`--model-name`, else the server's first).
    pub requested_model: String,
    pub system_fingerprint: Option<String>,
    /// What llama.cpp's `/props` said: parallel slots, context per slot.
    pub slots: Option<usize>,
    pub n_ctx: Option<u32>,
    /// Requests crit kept in flight.
    pub concurrency: usize,
    pub max_tokens: u32,
    pub seed: u32,
    pub tasks: usize,
    pub rounds: u32,
    /// /proc/loadavg (1 min) before and after: other load skews the numbers.
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    /// Every request's prompt and generation times are the server's own
    /// (llama.cpp's `timings`); otherwise crit measured them: the time to
    /// the first streamed token for the prompt, the rest of the stream for
    /// generation (both include the network and any queueing).
    pub server_timings: bool,
    /// The server said how many prompt tokens it took from its cache.
    pub cache_reported: bool,
    /// Per kind, the server's prompt cache allowed.
    pub kinds: Vec<Row>,
    /// All kinds, the cache allowed.
    pub total: Row,
    /// All kinds, `cache_prompt: false`.
    pub uncached: Row,
    pub task_wall_ms: Vec<TaskWall>,
    pub cache: CacheRow,
    pub first_critique: FirstCritique,
    pub first_critique_uncached: FirstCritique,
    /// Why requests failed (distinct messages, the first few).
    pub errors: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Row {
    pub kind: String,
    pub requests: usize,
    pub failed: usize,
    /// From the server's `usage`, summed over requests.
    pub prompt_tokens: u64,
    /// Prompt tokens the server reused from its cache (0 when it does not say).
    pub cached_tokens: u64,
    /// Prompt tokens the server processed: `prompt_tokens - cached_tokens`.
    pub processed_tokens: u64,
    /// Medians per request of the three above.
    pub median_prompt_tokens: f64,
    pub median_cached: f64,
    pub median_processed: f64,
    pub prompt_ms: u64,
    /// Processed prompt tokens per second of prompt time.
    pub prompt_tps: f64,
    pub gen_tokens: u64,
    pub gen_ms: u64,
    /// Generated tokens per second of generation time, per request (with
    /// several requests in flight the server's total is higher).
    pub gen_tps: f64,
    #[serde(skip)]
    prompts: Vec<f64>,
    #[serde(skip)]
    cached: Vec<f64>,
    #[serde(skip)]
    processed: Vec<f64>,
}

/// Medians are over the tasks after the first when there are several: on
/// a freshly started server the first task finds nothing cached (shown
/// apart).
#[derive(Debug, Serialize)]
pub struct CacheRow {
    pub median_cached_ms: f64,
    pub median_uncached_ms: f64,
    /// Median over tasks of (uncached wall time / cached wall time).
    pub median_ratio: f64,
    pub ratios: Vec<f64>,
    /// Median over tasks of (uncached prompt time / cached prompt time),
    /// summed over the task's requests: the cache's effect without the
    /// generation, whose length may differ between the passes.
    pub median_prompt_ratio: f64,
    pub cold_cached_ms: u64,
    pub cold_uncached_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct FirstCritique {
    pub median_first_token_ms: f64,
    pub median_first_item_ms: f64,
    pub samples: usize,
    pub cold_first_token_ms: Option<f64>,
}

/// What the runner knows besides the runs.
pub struct Header {
    pub backend: String,
    pub requested_model: String,
    pub slots: Option<usize>,
    pub n_ctx: Option<u32>,
    pub concurrency: usize,
    pub max_tokens: u32,
    pub seed: u32,
    pub tasks: usize,
    pub rounds: u32,
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
}

/// One pass of every task, in order.
#[derive(Default)]
struct Pass {
    first_token: Vec<Option<f64>>,
    first_item: Vec<Option<f64>>,
    prompt_ms: Vec<f64>,
}

/// Collects runs as the bench goes.
pub struct Builder {
    kinds: Vec<Row>,
    uncached: Row,
    walls: Vec<TaskWall>,
    cached_pass: Pass,
    uncached_pass: Pass,
    /// The first successful request's provenance (served model, fingerprint).
    first: Option<Provenance>,
    server_timings: bool,
    cache_reported: bool,
    errors: Vec<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            kinds: Kind::ALL.iter().map(|k| row(k.name())).collect(),
            uncached: row("uncached"),
            walls: Vec::new(),
            cached_pass: Pass::default(),
            uncached_pass: Pass::default(),
            first: None,
            server_timings: true,
            cache_reported: false,
            errors: Vec::new(),
        }
    }
}

impl Builder {
    pub fn task(&mut self, id: &str, cached: &PassRun, uncached: &PassRun) {
        for req in &cached.requests {
            let i = Kind::ALL.iter().position(|k| *k == req.kind).unwrap_or(0);
            add(&mut self.kinds[i], req.provenance.as_ref());
        }
        for req in &uncached.requests {
            add(&mut self.uncached, req.provenance.as_ref());
        }
        for req in cached.requests.iter().chain(&uncached.requests) {
            if let Some(p) = &req.provenance {
                let served = p.served.as_ref();
                self.server_timings &= served.is_some_and(|s| s.server_timings);
                self.cache_reported |= served.is_some_and(|s| s.cached_tokens.is_some());
                self.first.get_or_insert_with(|| p.clone());
            }
            if let Some(e) = &req.error {
                if self.errors.len() < ERRORS_KEPT && !self.errors.contains(e) {
                    self.errors.push(e.clone());
                }
            }
        }
        self.walls.push(wall(id, cached, uncached));
        record(&mut self.cached_pass, cached);
        record(&mut self.uncached_pass, uncached);
    }

    /// Requests that came back with assistance.
    pub fn succeeded(&self) -> usize {
        self.kinds
            .iter()
            .chain([&self.uncached])
            .map(|r| r.requests - r.failed)
            .sum()
    }

    pub fn finish(mut self, h: Header) -> Report {
        for r in self.kinds.iter_mut().chain([&mut self.uncached]) {
            finish_row(r);
        }
        let total = sum_rows("all", &self.kinds);
        let skip = usize::from(self.walls.len() > 1);
        let walls = &self.walls[skip..];
        let ms = |f: fn(&TaskWall) -> u64| walls.iter().map(|w| f(w) as f64).collect::<Vec<_>>();
        let ratios: Vec<f64> = walls
            .iter()
            .map(|w| ratio(w.uncached_ms as f64, w.cached_ms as f64))
            .collect();
        let prompt_ratios: Vec<f64> = self.uncached_pass.prompt_ms[skip..]
            .iter()
            .zip(&self.cached_pass.prompt_ms[skip..])
            .map(|(u, c)| ratio(*u, *c))
            .collect();
        let cold = self.walls.first();
        let cache = CacheRow {
            median_cached_ms: median(&ms(|w| w.cached_ms)),
            median_uncached_ms: median(&ms(|w| w.uncached_ms)),
            median_ratio: median(&ratios),
            ratios,
            median_prompt_ratio: median(&prompt_ratios),
            cold_cached_ms: cold.map_or(0, |w| w.cached_ms),
            cold_uncached_ms: cold.map_or(0, |w| w.uncached_ms),
        };
        let served = self.first.as_ref().and_then(|p| p.served.as_ref());
        Report {
            backend: h.backend,
            served_model: served.map_or_else(|| h.requested_model.clone(), |s| s.model.clone()),
            requested_model: h.requested_model,
            system_fingerprint: served.and_then(|s| s.system_fingerprint.clone()),
            slots: h.slots,
            n_ctx: h.n_ctx,
            concurrency: h.concurrency,
            max_tokens: h.max_tokens,
            seed: h.seed,
            tasks: h.tasks,
            rounds: h.rounds,
            load_before: h.load_before,
            load_after: h.load_after,
            server_timings: self.server_timings && self.first.is_some(),
            cache_reported: self.cache_reported,
            total,
            kinds: self.kinds,
            uncached: self.uncached,
            task_wall_ms: self.walls,
            cache,
            first_critique: first_critique(&self.cached_pass, skip),
            first_critique_uncached: first_critique(&self.uncached_pass, skip),
            errors: self.errors,
        }
    }
}

fn record(pass: &mut Pass, run: &PassRun) {
    pass.first_token.push(run.first_token_ms.map(|m| m as f64));
    pass.first_item.push(run.first_item_ms.map(|m| m as f64));
    let prompt_ms = run
        .requests
        .iter()
        .filter_map(|r| r.provenance.as_ref())
        .map(|p| p.prompt_ms as f64)
        .sum();
    pass.prompt_ms.push(prompt_ms);
}

fn first_critique(pass: &Pass, skip: usize) -> FirstCritique {
    let warm = |v: &[Option<f64>]| -> Vec<f64> { v[skip..].iter().flatten().copied().collect() };
    let first_token = warm(&pass.first_token);
    FirstCritique {
        median_first_token_ms: median(&first_token),
        median_first_item_ms: median(&warm(&pass.first_item)),
        samples: first_token.len(),
        cold_first_token_ms: pass.first_token.first().copied().flatten(),
    }
}

fn row(kind: &str) -> Row {
    Row {
        kind: kind.into(),
        ..Row::default()
    }
}

fn add(r: &mut Row, p: Option<&Provenance>) {
    r.requests += 1;
    let Some(p) = p else {
        r.failed += 1;
        return;
    };
    let cached = p.served.as_ref().and_then(|s| s.cached_tokens).unwrap_or(0);
    let processed = p.prompt_tokens.saturating_sub(cached);
    r.prompt_tokens += u64::from(p.prompt_tokens);
    r.cached_tokens += u64::from(cached);
    r.processed_tokens += u64::from(processed);
    r.prompts.push(p.prompt_tokens as f64);
    r.cached.push(cached as f64);
    r.processed.push(processed as f64);
    r.prompt_ms += p.prompt_ms;
    r.gen_tokens += u64::from(p.gen_tokens);
    r.gen_ms += p.gen_ms;
}

fn finish_row(r: &mut Row) {
    r.prompt_tps = tps(r.processed_tokens, r.prompt_ms);
    r.gen_tps = tps(r.gen_tokens, r.gen_ms);
    r.median_prompt_tokens = median(&r.prompts);
    r.median_cached = median(&r.cached);
    r.median_processed = median(&r.processed);
}

fn sum_rows(name: &str, rows: &[Row]) -> Row {
    let mut t = row(name);
    for r in rows {
        t.requests += r.requests;
        t.failed += r.failed;
        t.prompt_tokens += r.prompt_tokens;
        t.cached_tokens += r.cached_tokens;
        t.processed_tokens += r.processed_tokens;
        t.prompt_ms += r.prompt_ms;
        t.gen_tokens += r.gen_tokens;
        t.gen_ms += r.gen_ms;
        t.prompts.extend(&r.prompts);
        t.cached.extend(&r.cached);
        t.processed.extend(&r.processed);
    }
    finish_row(&mut t);
    t
}

/// The report as plain text. What came from the server (model id,
/// fingerprint, error messages) is sanitized.
pub fn render(r: &Report) -> String {
    let opt = |v: Option<f64>| v.map_or("?".into(), |l| format!("{l:.2}"));
    let secs = |ms: f64| format!("{:.2} s", ms / 1000.0);
    let mut out = format!(
        "crit bench --backend {}: served model {} (asked for {}), fingerprint {}, {} slots, n_ctx {} per slot, {} in flight, max_tokens {}, seed {}, {} tasks x {} rounds, load average {} before, {} after\n\n",
        sanitize_line(&r.backend),
        sanitize_line(&r.served_model),
        sanitize_line(&r.requested_model),
        sanitize_line(r.system_fingerprint.as_deref().unwrap_or("-")),
        r.slots.map_or("?".into(), |n| n.to_string()),
        r.n_ctx.map_or("?".into(), |n| n.to_string()),
        r.concurrency,
        r.max_tokens,
        r.seed,
        r.tasks,
        r.rounds,
        opt(r.load_before),
        opt(r.load_after),
    );
    out.push_str(&format!(
        "{:<10} {:>8} {:>6} {:>7} {:>7} {:>9} {:>12} {:>8} {:>10}\n",
        "kind",
        "requests",
        "failed",
        "prompt",
        "cached",
        "processed",
        "prompt tok/s",
        "gen tok",
        "gen tok/s"
    ));
    for row in r.kinds.iter().chain([&r.total, &r.uncached]) {
        out.push_str(&format!(
            "{:<10} {:>8} {:>6} {:>7.0} {:>7.0} {:>9.0} {:>12.1} {:>8} {:>10.1}\n",
            row.kind,
            row.requests,
            row.failed,
            row.median_prompt_tokens,
            row.median_cached,
            row.median_processed,
            row.prompt_tps,
            row.gen_tokens,
            row.gen_tps
        ));
    }
    out.push_str("\nprompt, cached, processed = prompt tokens per request from the server's usage, those it reused from its cache and those it processed (medians).\nall = every kind, as crit asks (the server may reuse cached prompt tokens); uncached = the same with \"cache_prompt\": false (llama.cpp).\nEach pass tags its task's prompt uniquely, so only what all tasks share (system message, worked example) can come from the cache.\nWall times include generation, whose length can differ between the passes (their prompts differ by the tag); the prompt-time ratio leaves it out.\n");
    out.push_str(if r.server_timings {
        "tok/s are the server's own timings (llama.cpp's timings), per request.\n"
    } else {
        "tok/s are derived by crit from wall time (prompt: until the first streamed token; generation: the rest of the stream), per request, network and queueing included: the server reported no timings.\n"
    });
    if !r.cache_reported {
        out.push_str(
            "The server did not say which prompt tokens it took from its cache: cached shows 0.\n",
        );
    }
    let walls: Vec<String> = r
        .task_wall_ms
        .iter()
        .map(|w| {
            format!(
                "{} {} / {}",
                sanitize_line(&w.task),
                secs(w.cached_ms as f64),
                secs(w.uncached_ms as f64)
            )
        })
        .collect();
    out.push_str(&format!(
        "\ntask wall time, all three kinds (cached / uncached): {}\n",
        walls.join(", ")
    ));
    let c = &r.cache;
    out.push_str(&format!(
        "task wall time, median{}: {} with the server's prompt cache, {} without: median ratio uncached/cached {:.2}x over {} tasks; prompt time {:.2}x; first task {} / {}\n",
        if r.task_wall_ms.len() > 1 { " after the first task" } else { "" },
        secs(c.median_cached_ms),
        secs(c.median_uncached_ms),
        c.median_ratio,
        c.ratios.len(),
        c.median_prompt_ratio,
        secs(c.cold_cached_ms as f64),
        secs(c.cold_uncached_ms as f64),
    ));
    for (name, f) in [
        ("cached", &r.first_critique),
        ("uncached", &r.first_critique_uncached),
    ] {
        out.push_str(&format!(
            "time to the first streamed critique, {name} (median of {}): first token {}, first complete critique {}; first task {}\n",
            f.samples,
            secs(f.median_first_token_ms),
            secs(f.median_first_item_ms),
            f.cold_first_token_ms.map_or("-".into(), secs),
        ));
    }
    for e in &r.errors {
        out.push_str(&format!(
            "failed: {}\n",
            sanitize_line(&clip(e, ERROR_SHOWN))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::served::RequestRun;
    use super::*;

    /// A served request's provenance: usage, the server's timings and the
    /// prompt tokens it took from its cache.
    fn served(prompt: u32, cached: u32, prompt_ms: u64, gen: u32, gen_ms: u64) -> Provenance {
        serde_json::from_value(serde_json::json!({
            "served": {"backend": "http://h/v1", "model": "smol\u{1b}[2J", "requested_model": "smol",
                "system_fingerprint": "b1-x", "attempts": 1, "first_token_ms": 5,
                "server_timings": true, "cached_tokens": cached},
            "template_name": "critique", "template_sha256": "", "prompt_sha256": "",
            "seed": 1, "n_ctx": 4096, "n_threads": 0, "max_tokens": 512, "crit_version": "0",
            "prompt_tokens": prompt, "gen_tokens": gen, "prompt_ms": prompt_ms, "gen_ms": gen_ms,
        }))
        .unwrap()
    }

    fn pass(wall_ms: u64, cached: u32, prompt_ms: u64, first_token_ms: u64) -> PassRun {
        PassRun {
            wall_ms,
            requests: Kind::ALL
                .iter()
                .map(|&kind| RequestRun {
                    kind,
                    provenance: Some(served(600, cached, prompt_ms, 50, 1000)),
                    error: None,
                })
                .collect(),
            first_token_ms: Some(first_token_ms),
            first_item_ms: Some(first_token_ms + 500),
        }
    }

    fn header() -> Header {
        Header {
            backend: "http://h/v1".into(),
            requested_model: "smol".into(),
            slots: Some(2),
            n_ctx: Some(4096),
            concurrency: 2,
            max_tokens: 512,
            seed: 42,
            tasks: 3,
            rounds: 1,
            load_before: None,
            load_after: None,
        }
    }

    #[test]
    fn medians_leave_out_the_cold_first_task_and_count_cached_tokens() {
        let mut b = Builder::default();
        b.task(
            "t1",
            &pass(9_000, 0, 3000, 3000),
            &pass(9_000, 0, 3000, 3000),
        );
        b.task(
            "t2",
            &pass(3_000, 500, 400, 400),
            &pass(9_000, 0, 3000, 3000),
        );
        let mut failed = pass(4_000, 500, 600, 500);
        failed.requests[2] = RequestRun {
            kind: Kind::Decompose,
            provenance: None,
            error: Some("stopped at max_tokens".into()),
        };
        b.task("t3", &failed, &pass(10_000, 0, 3000, 3000));
        assert_eq!(b.succeeded(), 17);
        let r = b.finish(header());
        assert_eq!(r.cache.ratios, [3.0, 2.5]);
        assert_eq!(r.cache.median_ratio, 2.75);
        // Prompt time summed per task: 9000 / 1200 and 9000 / 1200 (one failed).
        assert_eq!(
            r.cache.median_prompt_ratio,
            (9000.0 / 1200.0 + 9000.0 / 1200.0) / 2.0
        );
        assert_eq!(
            (r.cache.cold_cached_ms, r.cache.cold_uncached_ms),
            (9_000, 9_000)
        );
        assert_eq!(r.first_critique.median_first_token_ms, 450.0);
        assert_eq!(r.first_critique.cold_first_token_ms, Some(3000.0));
        assert_eq!(r.first_critique_uncached.median_first_token_ms, 3000.0);
        let critique = &r.kinds[0];
        assert_eq!((critique.requests, critique.cached_tokens), (3, 1000));
        assert_eq!(critique.processed_tokens, 600 + 100 + 100);
        assert_eq!(
            (critique.median_cached, critique.median_processed),
            (500.0, 100.0)
        );
        assert_eq!(r.kinds[2].failed, 1);
        assert_eq!((r.uncached.requests, r.uncached.cached_tokens), (9, 0));
        assert_eq!(r.uncached.prompt_tps, 5400.0 * 1000.0 / 27_000.0);
        assert_eq!(r.total.gen_tps, 50.0);
        assert!(r.server_timings && r.cache_reported);
        assert_eq!(r.served_model, "smol\u{1b}[2J");
        assert_eq!(r.errors, ["stopped at max_tokens"]);
        let text = render(&r);
        assert!(!text.contains('\u{1b}'), "server text is sanitized: {text}");
        assert!(
            text.contains("median ratio uncached/cached 2.75x over 2 tasks"),
            "{text}"
        );
        assert!(text.contains("the server's own timings"), "{text}");
        assert!(text.contains("failed: stopped at max_tokens"), "{text}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["kinds"][0]["cached_tokens"], 1000);
        assert_eq!(json["system_fingerprint"], "b1-x");
    }

    #[test]
    fn without_server_timings_the_report_says_they_are_derived() {
        let mut b = Builder::default();
        let mut run = pass(2_000, 0, 100, 100);
        for r in &mut run.requests {
            let s = r.provenance.as_mut().unwrap().served.as_mut().unwrap();
            s.server_timings = false;
            s.cached_tokens = None;
        }
        b.task("t1", &run, &pass(2_000, 0, 100, 100));
        let r = b.finish(header());
        assert!(!r.server_timings && r.cache_reported);
        let text = render(&r);
        assert!(text.contains("derived by crit from wall time"), "{text}");
        assert!(
            text.contains("task wall time, median:"),
            "one task: no warm-up left out"
        );
    }
}
