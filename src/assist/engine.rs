//! The llama.cpp assistant: model and context live on one engine thread
//! (they are `!Send` in spirit and borrow each other); requests go in over a
//! channel, token and result events stream out.
//!
//! Generation is grammar-constrained the way llama.cpp's common sampler does
//! it: sample with the normal chain first, check that one token against the
//! grammar, and only when it is rejected apply the grammar to the whole
//! vocabulary and sample again. Checking every candidate every step would
//! halve the speed.

use super::prompt::{self, Prompts};
use super::schema;
use super::{
    Assistance, Assistant, EngineSettings, Event, EventSender, Kind, ModelInfo, Provenance,
    Request, SamplerSettings, Truncation,
};
use crate::task::Task;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("llama.cpp backend failed to initialise: {0}")]
    Backend(String),
    #[error("cannot read model file {path}: {source}")]
    ModelFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("llama.cpp could not load the model {path}: {message} (is it a GGUF file?)")]
    ModelLoad { path: PathBuf, message: String },
    #[error("cannot create a llama.cpp context (n_ctx {n_ctx}): {message}")]
    Context { n_ctx: u32, message: String },
    #[error("grammar for {kind}: {message}")]
    Grammar { kind: &'static str, message: String },
    #[error("invalid engine settings: {0}")]
    Settings(String),
    #[error("the engine thread stopped before the model was loaded")]
    ThreadDied,
}

/// Why one request did not produce assistance (sent as `Event::Failed`).
#[derive(Debug, thiserror::Error)]
enum GenError {
    #[error(transparent)]
    Prompt(#[from] prompt::PromptError),
    #[error("the prompt needs {needed} tokens even with the answer cut to nothing, but only {budget} fit (n_ctx {n_ctx} - max_tokens {max_tokens}); raise n_ctx or lower max_tokens")]
    PromptTooLong {
        needed: usize,
        budget: usize,
        n_ctx: u32,
        max_tokens: u32,
    },
    #[error("llama.cpp decode failed: {0}")]
    Decode(String),
    #[error("generation stopped at max_tokens ({max_tokens}) before the JSON was complete; raise max_tokens. Raw output: {raw}")]
    MaxTokens { max_tokens: u32, raw: String },
    #[error(transparent)]
    Parse(#[from] schema::ParseError),
}

/// The process-wide llama.cpp backend; its logs go to tracing, never to
/// the terminal. Initialised once (llama.cpp refuses a second init).
pub fn backend() -> Result<&'static LlamaBackend, EngineError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::Backend(e.clone()))
}

/// Threads to use: as asked, but never more than the machine has.
pub fn effective_threads(asked: i32) -> i32 {
    asked.clamp(1, super::default_threads().max(1))
}

/// Identify a model file by name, size and (cached) SHA-256.
pub fn model_info(path: &Path) -> Result<ModelInfo, EngineError> {
    let io = |source| EngineError::ModelFile {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    let sha256 = crate::hash::sha256_file_cached(path).map_err(io)?;
    Ok(ModelInfo {
        file_name: path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        size,
        sha256,
    })
}

/// Load a model for inference on the CPU.
pub fn load_model(path: &Path) -> Result<LlamaModel, EngineError> {
    LlamaModel::load_from_file(backend()?, path, &LlamaModelParams::default()).map_err(|e| {
        EngineError::ModelLoad {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}

/// A context with the given size and thread count (prompt and generation).
pub fn new_context(
    model: &LlamaModel,
    n_ctx: u32,
    n_threads: i32,
) -> Result<LlamaContext<'_>, EngineError> {
    let ctx_err = |message: String| EngineError::Context { n_ctx, message };
    let size = NonZeroU32::new(n_ctx).ok_or_else(|| ctx_err("n_ctx must be > 0".into()))?;
    let params = LlamaContextParams::default()
        .with_n_ctx(Some(size))
        .with_n_batch(n_ctx.min(2048))
        .with_n_threads(n_threads)
        .with_n_threads_batch(n_threads);
    model
        .new_context(backend()?, params)
        .map_err(|e| ctx_err(e.to_string()))
}

/// Decode one token and clear the cache, as llama.cpp's own tools do: the
/// first decode pays for page faults, thread start-up and buffer set-up,
/// which would otherwise land on the first request.
pub fn warm_up(model: &LlamaModel, ctx: &mut LlamaContext<'_>) -> Result<(), EngineError> {
    let vocab = model.vocab();
    let tok = if vocab.bos().0 >= 0 {
        vocab.bos()
    } else {
        vocab.eos()
    };
    let mut batch = LlamaBatch::new(1, 1);
    let n_ctx = ctx.n_ctx();
    let err = move |e: String| EngineError::Context {
        n_ctx,
        message: format!("warm-up decode failed: {e}"),
    };
    batch
        .add(tok, 0, &[0], true)
        .map_err(|e| err(e.to_string()))?;
    let r = ctx.decode(&mut batch).map_err(|e| e.to_string());
    ctx.clear_kv_cache();
    r.map_err(err)
}

/// Queue bookkeeping shared by the caller and the engine thread.
#[derive(Default)]
struct Shared {
    flags: Mutex<Flags>,
    /// Set when the engine is dropped: abort the running request.
    stop: AtomicBool,
}

#[derive(Default)]
struct Flags {
    pending: HashSet<u64>,
    cancelled: HashSet<u64>,
}

impl Shared {
    fn is_cancelled(&self, id: u64) -> bool {
        self.stop.load(Ordering::Relaxed) || self.flags.lock().unwrap().cancelled.contains(&id)
    }

    fn finish(&self, id: u64) {
        let mut f = self.flags.lock().unwrap();
        f.pending.remove(&id);
        f.cancelled.remove(&id);
    }
}

/// The llama.cpp engine. Dropping it stops the thread (a running request
/// is cancelled).
pub struct Engine {
    tx: Option<mpsc::Sender<Request>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    info: ModelInfo,
    settings: EngineSettings,
}

impl Engine {
    /// Load the model on a new engine thread; returns once it is loaded (or
    /// failed to load). Events for all requests go to `events`.
    pub fn start(
        model_path: &Path,
        settings: EngineSettings,
        prompts: Prompts,
        events: EventSender,
    ) -> Result<Engine, EngineError> {
        let mut settings = settings;
        settings.n_threads = effective_threads(settings.n_threads);
        check_settings(&settings)?;
        let info = model_info(model_path)?;
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), EngineError>>(1);
        let shared = Arc::new(Shared::default());
        let setup = Setup {
            path: model_path.to_path_buf(),
            settings: settings.clone(),
            prompts,
            info: info.clone(),
            events,
            shared: shared.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("crit-engine".into())
            .spawn(move || engine_thread(setup, rx, ready_tx))
            .map_err(|e| EngineError::Backend(format!("cannot spawn the engine thread: {e}")))?;
        ready_rx.recv().map_err(|_| EngineError::ThreadDied)??;
        Ok(Engine {
            tx: Some(tx),
            shared,
            thread: Some(thread),
            info,
            settings,
        })
    }

    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    /// Settings in effect (threads clamped to the machine's cores).
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }
}

fn check_settings(s: &EngineSettings) -> Result<(), EngineError> {
    if s.max_tokens == 0 || s.max_tokens >= s.n_ctx {
        return Err(EngineError::Settings(format!(
            "max_tokens ({}) must be > 0 and below n_ctx ({})",
            s.max_tokens, s.n_ctx
        )));
    }
    if s.sampler.repeat_penalty.is_nan()
        || s.sampler.repeat_penalty <= 0.0
        || s.sampler.repeat_last_n < 0
    {
        return Err(EngineError::Settings(
            "repeat_penalty must be > 0 and repeat_last_n >= 0".into(),
        ));
    }
    Ok(())
}

impl Assistant for Engine {
    fn submit(&self, request: Request) {
        self.shared.flags.lock().unwrap().pending.insert(request.id);
        if let Some(tx) = &self.tx {
            let _ = tx.send(request);
        }
    }

    fn cancel(&self, id: u64) {
        let mut f = self.shared.flags.lock().unwrap();
        if f.pending.contains(&id) {
            f.cancelled.insert(id);
        }
    }

    fn name(&self) -> String {
        self.info.file_name.clone()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Setup {
    path: PathBuf,
    settings: EngineSettings,
    prompts: Prompts,
    info: ModelInfo,
    events: EventSender,
    shared: Arc<Shared>,
}

fn engine_thread(
    setup: Setup,
    rx: mpsc::Receiver<Request>,
    ready: mpsc::SyncSender<Result<(), EngineError>>,
) {
    let model = match load_model(&setup.path) {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut worker = match Worker::new(&model, setup) {
        Ok(w) => w,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    while let Ok(request) = rx.recv() {
        if worker.shared.stop.load(Ordering::Relaxed) {
            break;
        }
        worker.serve(request);
    }
}

/// Everything that lives on the engine thread.
struct Worker<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    settings: EngineSettings,
    prompts: Prompts,
    info: ModelInfo,
    events: EventSender,
    shared: Arc<Shared>,
    /// One grammar sampler per kind, reset per request.
    grammars: Vec<LlamaSampler>,
    sampler: TokenSampler,
}

enum Outcome {
    Done(Box<Assistance>),
    Cancelled,
}

/// A prompt that fits the context.
struct Fitted {
    text: String,
    tokens: Vec<LlamaToken>,
    truncated: Option<Truncation>,
}

impl<'m> Worker<'m> {
    fn new(model: &'m LlamaModel, setup: Setup) -> Result<Worker<'m>, EngineError> {
        let s = &setup.settings;
        let ctx = new_context(model, s.n_ctx, s.n_threads)?;
        let batch = LlamaBatch::new(ctx.n_batch() as usize, 1);
        let grammars = Kind::ALL
            .iter()
            .map(|&k| grammar_sampler(model, k))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ctx = ctx;
        warm_up(model, &mut ctx)?;
        let mut sampler = TokenSampler::new(model.n_vocab());
        sampler.configure(&s.sampler);
        sampler.index_vocab(model);
        Ok(Worker {
            model,
            ctx,
            batch,
            sampler,
            settings: setup.settings,
            prompts: setup.prompts,
            info: setup.info,
            events: setup.events,
            shared: setup.shared,
            grammars,
        })
    }

    fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn serve(&mut self, req: Request) {
        let id = req.id;
        let event = if self.shared.is_cancelled(id) {
            Event::Cancelled { id }
        } else {
            match self.generate(&req) {
                Ok(Outcome::Done(assistance)) => Event::Done {
                    id,
                    assistance: assistance.into(),
                },
                Ok(Outcome::Cancelled) => Event::Cancelled { id },
                Err(e) => Event::Failed {
                    id,
                    error: e.to_string(),
                },
            }
        };
        self.shared.finish(id);
        self.send(event);
    }

    fn generate(&mut self, req: &Request) -> Result<Outcome, GenError> {
        let fitted = self.fit(req.kind, &req.task)?;
        self.send(Event::Started {
            id: req.id,
            prompt_tokens: fitted.tokens.len() as u32,
            truncated: fitted.truncated.clone(),
        });
        let t0 = Instant::now();
        self.decode_prompt(&fitted.tokens)?;
        let prompt_ms = t0.elapsed().as_millis() as u64;
        let t1 = Instant::now();
        let Some(gen) = self.sample_loop(req, fitted.tokens.len())? else {
            return Ok(Outcome::Cancelled);
        };
        let gen_ms = t1.elapsed().as_millis() as u64;
        if !gen.complete {
            return Err(GenError::MaxTokens {
                max_tokens: self.settings.max_tokens,
                raw: schema::clip(&gen.text, 600),
            });
        }
        let output = schema::parse(req.kind, &gen.text, &req.task)?;
        let template = self.prompts.template(req.kind);
        let provenance = Provenance {
            model: Some(self.info.clone()),
            served: None,
            tool: None,
            template_name: template.name.clone(),
            template_sha256: template.sha256.clone(),
            prompt_sha256: crate::hash::sha256_hex(fitted.text.as_bytes()),
            sampler: Some(self.settings.sampler.clone()),
            seed: req.seed,
            n_ctx: self.settings.n_ctx,
            n_threads: self.settings.n_threads,
            max_tokens: self.settings.max_tokens,
            crit_version: crate::VERSION.to_string(),
            prompt_tokens: fitted.tokens.len() as u32,
            gen_tokens: gen.tokens,
            prompt_ms,
            gen_ms,
        };
        Ok(Outcome::Done(Box::new(Assistance {
            output,
            raw: gen.text,
            provenance,
            truncated: fitted.truncated,
        })))
    }

    fn render(&self, kind: Kind, task: &Task) -> Result<(String, Vec<LlamaToken>), GenError> {
        let msgs = self.prompts.render(kind, task)?;
        let text = prompt::chat_prompt(self.model, &msgs)?;
        let tokens = self.model.vocab().tokenize(text.as_bytes(), true, true);
        Ok((text, tokens))
    }

    /// Render the prompt; when it leaves less than `max_tokens` of context,
    /// cut the answer (visibly, with a note in the prompt) until it fits.
    fn fit(&self, kind: Kind, task: &Task) -> Result<Fitted, GenError> {
        let budget = (self.settings.n_ctx - self.settings.max_tokens) as usize;
        let (text, tokens) = self.render(kind, task)?;
        if tokens.len() <= budget {
            return Ok(Fitted {
                text,
                tokens,
                truncated: None,
            });
        }
        let total = task.answer.len() + task.answer_b.as_ref().map_or(0, String::len);
        let (mut lo, mut hi) = (0usize, total);
        let mut best = None;
        // Largest kept length whose prompt fits (token count grows with it).
        while lo <= hi {
            let mid = lo + (hi - lo) / 2;
            let cut = truncated_task(task, mid, total);
            let (text, tokens) = self.render(kind, &cut)?;
            if tokens.len() <= budget {
                best = Some((mid, text, tokens));
                lo = mid + 1;
            } else if mid == 0 {
                return Err(GenError::PromptTooLong {
                    needed: tokens.len(),
                    budget,
                    n_ctx: self.settings.n_ctx,
                    max_tokens: self.settings.max_tokens,
                });
            } else {
                hi = mid - 1;
            }
        }
        let (kept, text, tokens) = best.expect("kept = 0 fits or we returned");
        let kept_bytes = kept_bytes(task, kept, total);
        tracing::warn!(task = %task.id, kept_bytes, total, "answer truncated to fit the context");
        Ok(Fitted {
            text,
            tokens,
            truncated: Some(Truncation {
                kept_bytes,
                total_bytes: total,
            }),
        })
    }

    fn decode_prompt(&mut self, tokens: &[LlamaToken]) -> Result<(), GenError> {
        self.ctx.clear_kv_cache();
        let n_batch = self.ctx.n_batch() as usize;
        let last = tokens.len().saturating_sub(1);
        for (c, chunk) in tokens.chunks(n_batch).enumerate() {
            self.batch.clear();
            for (i, &tok) in chunk.iter().enumerate() {
                let pos = c * n_batch + i;
                self.batch
                    .add(tok, pos as i32, &[0], pos == last)
                    .map_err(|e| GenError::Decode(e.to_string()))?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| GenError::Decode(e.to_string()))?;
        }
        Ok(())
    }

    /// Sample until the JSON closes, an end token, max_tokens or cancel.
    /// `None` means cancelled.
    fn sample_loop(
        &mut self,
        req: &Request,
        n_prompt: usize,
    ) -> Result<Option<Generated>, GenError> {
        let model = self.model;
        let vocab = model.vocab();
        let grammar = if self.settings.sampler.grammar {
            let g = &mut self.grammars[req.kind as usize];
            g.reset();
            Some(g)
        } else {
            None
        };
        let mut chain = sampler_chain(&self.settings.sampler, model.n_vocab(), req.seed);
        let mut idx = self.batch.n_tokens() - 1;
        let mut pos = n_prompt as i32;
        let mut gen = Generated::default();
        let mut json = JsonTracker::default();
        let mut utf8 = Utf8Stream::default();
        let mut piece = Vec::with_capacity(32);
        let mut grammar = grammar;
        let mut decode_ns = 0u64;
        let (sampled0, rejected0, ns0) = (
            self.sampler.sampled,
            self.sampler.rejected,
            self.sampler.sample_ns,
        );
        // Below this many tokens left, lists close at the next item boundary.
        let reserve = self.settings.max_tokens / 3;
        while gen.tokens < self.settings.max_tokens {
            if self.shared.is_cancelled(req.id) {
                return Ok(None);
            }
            let left = self.settings.max_tokens - gen.tokens;
            let boost = close_boost(json.in_string, left, reserve);
            let tok =
                self.sampler
                    .sample(&self.ctx, idx, &mut chain, grammar.as_deref_mut(), boost);
            if vocab.is_eog(tok) {
                gen.complete = json.done || !self.settings.sampler.grammar;
                break;
            }
            gen.tokens += 1;
            piece.clear();
            vocab.token_to_piece_into(tok, &mut piece, false, None);
            let text = utf8.push(&piece);
            if !text.is_empty() {
                json.feed(&text);
                gen.text.push_str(&text);
                let _ = self.events.send(Event::Token { id: req.id, text });
            }
            if json.done {
                gen.complete = true;
                break;
            }
            // Low on budget: close the list as soon as the current item may
            // end (all its required fields written) or right after an item,
            // rather than start an item that cannot finish. The grammar
            // must accept the closing text; it is kept in `raw`.
            if self.settings.max_tokens - gen.tokens <= reserve {
                if let Some(close) = json.closing_text() {
                    if let Some((text, _forced)) =
                        force_text(model, close, grammar.as_deref_mut(), &mut chain)
                    {
                        // Forced tokens are not counted in gen_tokens: the
                        // model did not sample them and they are never decoded.
                        json.feed(&text);
                        gen.text.push_str(&text);
                        let _ = self.events.send(Event::Token { id: req.id, text });
                        gen.complete = json.done;
                        break;
                    }
                }
            }
            self.batch.clear();
            self.batch
                .add(tok, pos, &[0], true)
                .map_err(|e| GenError::Decode(e.to_string()))?;
            let td = Instant::now();
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| GenError::Decode(e.to_string()))?;
            decode_ns += td.elapsed().as_nanos() as u64;
            pos += 1;
            idx = 0;
        }
        gen.text.push_str(&utf8.finish());
        tracing::debug!(
            id = req.id,
            kind = req.kind.name(),
            sampled = self.sampler.sampled - sampled0,
            grammar_rejected = self.sampler.rejected - rejected0,
            sample_ms = (self.sampler.sample_ns - ns0) / 1_000_000,
            decode_ms = decode_ns / 1_000_000,
            "generation finished"
        );
        Ok(Some(gen))
    }
}

/// Inside a string with less than `reserve` tokens left, nudge the model to
/// end the string, harder as the budget runs out, so the item it is writing
/// can finish before max_tokens (then the list is closed). Only the odds
/// change: the model still writes every character.
fn close_boost(in_string: bool, left: u32, reserve: u32) -> f32 {
    if !in_string || reserve == 0 || left > reserve {
        return 0.0;
    }
    1.0 + 9.0 * (1.0 - left as f32 / reserve as f32)
}

/// Feed `text` as forced tokens if the grammar allows them (no decode is
/// needed: nothing is generated after them). Returns the text and count.
fn force_text(
    model: &LlamaModel,
    text: &str,
    mut grammar: Option<&mut LlamaSampler>,
    chain: &mut LlamaSampler,
) -> Option<(String, u32)> {
    let tokens = model.vocab().tokenize(text.as_bytes(), false, false);
    if let Some(g) = grammar.as_deref_mut() {
        // Check the whole sequence on a copy before committing to it.
        let mut probe = g.clone();
        for &t in &tokens {
            if !allowed(&mut probe, t) {
                return None;
            }
            probe.accept(t);
        }
    }
    for &t in &tokens {
        if let Some(g) = grammar.as_deref_mut() {
            g.accept(t);
        }
        chain.accept(t);
    }
    Some((text.to_string(), tokens.len() as u32))
}

#[derive(Default)]
struct Generated {
    text: String,
    tokens: u32,
    /// The top-level JSON value closed (or an end token without grammar).
    complete: bool,
}

/// The task with its answer(s) cut to `kept` of `total` bytes (shared
/// proportionally between the answers of a pairwise task), each cut marked.
fn truncated_task(task: &Task, kept: usize, total: usize) -> Task {
    let mut t = task.clone();
    t.answer = cut_marked(&task.answer, share(task.answer.len(), kept, total));
    if let Some(b) = &task.answer_b {
        t.answer_b = Some(cut_marked(b, share(b.len(), kept, total)));
    }
    t
}

fn kept_bytes(task: &Task, kept: usize, total: usize) -> usize {
    let a = floor_char(&task.answer, share(task.answer.len(), kept, total));
    let b = task
        .answer_b
        .as_ref()
        .map_or(0, |b| floor_char(b, share(b.len(), kept, total)));
    a + b
}

fn share(len: usize, kept: usize, total: usize) -> usize {
    if total == 0 {
        0
    } else {
        ((len as u128 * kept as u128) / total as u128) as usize
    }
}

fn floor_char(s: &str, mut n: usize) -> usize {
    n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

fn cut_marked(s: &str, n: usize) -> String {
    let end = floor_char(s, n);
    if end == s.len() {
        return s.to_string();
    }
    format!(
        "{}\n[... answer truncated by crit to fit the context: first {end} of {} bytes shown]",
        &s[..end],
        s.len()
    )
}

fn grammar_sampler(model: &LlamaModel, kind: Kind) -> Result<LlamaSampler, EngineError> {
    let err = |message: String| EngineError::Grammar {
        kind: kind.name(),
        message,
    };
    let gbnf = llama_cpp_2::json_schema_to_grammar(&schema::schema(kind))
        .map_err(|e| err(e.to_string()))?;
    LlamaSampler::grammar(model, &gbnf, "root").map_err(|e| err(e.to_string()))
}

/// llama.cpp's usual order: penalties, top-k, top-p, min-p, temperature,
/// then a seeded draw (greedy when temperature <= 0).
pub fn sampler_chain(s: &SamplerSettings, n_vocab: i32, seed: u32) -> LlamaSampler {
    let mut chain = vec![LlamaSampler::penalties(
        n_vocab,
        s.repeat_last_n,
        s.repeat_penalty,
        0.0,
        0.0,
    )];
    if s.top_k > 0 {
        chain.push(LlamaSampler::top_k(s.top_k));
    }
    if s.top_p < 1.0 {
        chain.push(LlamaSampler::top_p(s.top_p, 1));
    }
    if s.min_p > 0.0 {
        chain.push(LlamaSampler::min_p(s.min_p, 1));
    }
    if s.temperature > 0.0 {
        chain.push(LlamaSampler::temp(s.temperature));
        chain.push(LlamaSampler::dist(seed));
    } else {
        chain.push(LlamaSampler::greedy());
    }
    LlamaSampler::chain(chain, true)
}

/// Picks the next token with the chain and the grammar, reusing buffers.
///
/// Speed-up over running the chain on the full vocabulary: penalties only
/// lower the logits of at most `repeat_last_n` distinct tokens, so the top
/// `top_k` after penalties are always among the top `top_k + repeat_last_n`
/// raw logits. Running the chain on those gives the same draw.
pub struct TokenSampler {
    n_vocab: usize,
    prefilter: Option<usize>,
    index: Option<VocabIndex>,
    cur: LlamaTokenDataArray,
    heap: BinaryHeap<Reverse<Cand>>,
    /// Tokens sampled, tokens whose grammar check failed, and time spent
    /// sampling (logged per request, for tuning).
    pub sampled: u64,
    pub rejected: u64,
    pub sample_ns: u64,
}

#[derive(Clone, Copy, PartialEq)]
struct Cand(f32, i32);
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

impl TokenSampler {
    pub fn new(n_vocab: i32) -> TokenSampler {
        TokenSampler {
            n_vocab: n_vocab.max(0) as usize,
            prefilter: None,
            index: None,
            cur: LlamaTokenDataArray::new(Vec::with_capacity(n_vocab.max(0) as usize), false),
            heap: BinaryHeap::new(),
            sampled: 0,
            rejected: 0,
            sample_ns: 0,
        }
    }

    /// Enable the exact top-k prefilter for these settings.
    pub fn configure(&mut self, s: &SamplerSettings) {
        self.prefilter = (s.top_k > 0)
            .then(|| s.top_k as usize + s.repeat_last_n.max(0) as usize)
            .filter(|&n| n < self.n_vocab);
    }

    /// Sample the token at output `idx`; the chain and the grammar each
    /// accept it exactly once.
    /// `close_boost` > 0 raises the logits of tokens that start with `"`
    /// (ending the current string) by that much.
    pub fn sample(
        &mut self,
        ctx: &LlamaContext<'_>,
        idx: i32,
        chain: &mut LlamaSampler,
        grammar: Option<&mut LlamaSampler>,
        close_boost: f32,
    ) -> LlamaToken {
        let t0 = Instant::now();
        self.sampled += 1;
        let logits = ctx.get_logits_ith(idx);
        if close_boost > 0.0 && self.index.is_some() {
            // Full vocabulary: boosted tokens may lie outside the prefilter.
            self.fill(logits, None);
            let quotes = self
                .index
                .as_ref()
                .map_or(&[][..], |i| &i.by_first[b'"' as usize]);
            for t in quotes {
                let d = &mut self.cur.data[t.0 as usize];
                d.set_logit(d.logit() + close_boost);
            }
        } else {
            self.fill(logits, self.prefilter);
        }
        chain.apply(&mut self.cur);
        let mut tok = self.selected();
        if let Some(g) = grammar {
            if !allowed(g, tok) {
                self.rejected += 1;
                tok = self.resample(logits, chain, g);
            }
            g.accept(tok);
        }
        chain.accept(tok);
        self.sample_ns += t0.elapsed().as_nanos() as u64;
        tok
    }

    /// The sampled token broke the grammar: sample again among the tokens
    /// the grammar allows, with the same result as masking the whole
    /// vocabulary (llama.cpp's way) but without checking every token:
    /// 1. grammar on the top `RESAMPLE_TOP` logits; if at least
    ///    `top_k + repeat_last_n` survive, they contain the chain's top-k of
    ///    all allowed tokens (same argument as the prefilter);
    /// 2. otherwise grammar on the tokens whose first byte the grammar
    ///    accepts (probed with one-byte tokens; a token can only be allowed
    ///    if its first character is), plus those the probe cannot rule out.
    fn resample(
        &mut self,
        logits: &[f32],
        chain: &mut LlamaSampler,
        g: &mut LlamaSampler,
    ) -> LlamaToken {
        if let Some(need) = self.prefilter {
            self.fill(logits, Some(RESAMPLE_TOP.max(need)));
            g.apply(&mut self.cur);
            self.cur.data.retain(|d| d.logit() != f32::NEG_INFINITY);
            if self.cur.data.len() >= need {
                chain.apply(&mut self.cur);
                return self.selected();
            }
        }
        match self.index.take() {
            Some(index) => {
                index.fill_plausible(logits, g, &mut self.cur);
                self.index = Some(index);
            }
            None => self.fill(logits, None),
        }
        g.apply(&mut self.cur);
        self.cur.data.retain(|d| d.logit() != f32::NEG_INFINITY);
        self.cur.selected = None;
        if self.cur.data.is_empty() {
            return self.index.as_ref().map_or(LlamaToken(0), |i| i.eos);
        }
        chain.apply(&mut self.cur);
        self.selected()
    }

    /// Index the vocabulary by first byte (enables the cheap resample).
    pub fn index_vocab(&mut self, model: &LlamaModel) {
        self.index = Some(VocabIndex::new(model));
    }

    fn selected(&self) -> LlamaToken {
        self.cur
            .selected_token()
            .or_else(|| self.cur.data.first().map(LlamaTokenData::id))
            .unwrap_or(LlamaToken(0))
    }

    fn fill(&mut self, logits: &[f32], top: Option<usize>) {
        let data = &mut self.cur.data;
        data.clear();
        match top {
            None => data.extend(
                logits
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| LlamaTokenData::new(LlamaToken(i as i32), l, 0.0)),
            ),
            Some(n) => {
                self.heap.clear();
                for (i, &l) in logits.iter().enumerate() {
                    if self.heap.len() < n {
                        self.heap.push(Reverse(Cand(l, i as i32)));
                    } else if l > self.heap.peek().map_or(f32::NEG_INFINITY, |m| m.0 .0) {
                        *self.heap.peek_mut().unwrap() = Reverse(Cand(l, i as i32));
                    }
                }
                data.extend(
                    self.heap
                        .drain()
                        .map(|Reverse(Cand(l, i))| LlamaTokenData::new(LlamaToken(i), l, 0.0)),
                );
            }
        }
        self.cur.selected = None;
        self.cur.sorted = false;
    }
}

/// Candidates considered first when the grammar rejects the sampled token.
const RESAMPLE_TOP: usize = 512;

/// The vocabulary grouped by the first byte of each token's text (as the
/// grammar sees it), with the one-byte token for each ASCII byte.
struct VocabIndex {
    by_first: Vec<Vec<LlamaToken>>,
    /// One-byte token per ASCII byte, used to probe the grammar.
    probes: Vec<(u8, LlamaToken)>,
    /// End-of-generation, empty and special tokens: always checked.
    always: Vec<LlamaToken>,
    eos: LlamaToken,
}

impl VocabIndex {
    fn new(model: &LlamaModel) -> VocabIndex {
        let vocab = model.vocab();
        let mut by_first = vec![Vec::new(); 256];
        let mut probes = Vec::new();
        let mut always = Vec::new();
        let mut piece = Vec::with_capacity(32);
        for id in 0..model.n_vocab() {
            let tok = LlamaToken(id);
            piece.clear();
            vocab.token_to_piece_into(tok, &mut piece, true, None);
            match piece.first() {
                Some(&b) if !vocab.is_eog(tok) && b != 0 => {
                    by_first[b as usize].push(tok);
                    if piece.len() == 1 && b.is_ascii() {
                        probes.push((b, tok));
                    }
                }
                _ => always.push(tok),
            }
        }
        probes.sort_by_key(|p| p.0);
        probes.dedup_by_key(|p| p.0);
        VocabIndex {
            by_first,
            probes,
            always,
            eos: vocab.eos(),
        }
    }

    /// Fill `cur` with every token the grammar might allow now.
    fn fill_plausible(&self, logits: &[f32], g: &mut LlamaSampler, cur: &mut LlamaTokenDataArray) {
        let mut ok = [true; 256];
        let mut probe = LlamaTokenDataArray::new(
            self.probes
                .iter()
                .map(|&(_, t)| LlamaTokenData::new(t, 0.0, 0.0))
                .collect(),
            false,
        );
        g.apply(&mut probe);
        for (&(b, t), d) in self.probes.iter().zip(&probe.data) {
            if d.id() == t {
                ok[b as usize] = d.logit() != f32::NEG_INFINITY;
            }
        }
        let data = &mut cur.data;
        data.clear();
        let with_logit = |t: &LlamaToken| LlamaTokenData::new(*t, logits[t.0 as usize], 0.0);
        for (b, toks) in self.by_first.iter().enumerate() {
            if ok[b] {
                data.extend(toks.iter().map(with_logit));
            }
        }
        data.extend(self.always.iter().map(with_logit));
        cur.selected = None;
        cur.sorted = false;
    }
}

/// Does the grammar allow `tok` next? (Applies it to a one-token array.)
fn allowed(grammar: &mut LlamaSampler, tok: LlamaToken) -> bool {
    let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(tok, 1.0, 0.0)], false);
    grammar.apply(&mut one);
    one.data
        .first()
        .is_some_and(|d| d.logit() != f32::NEG_INFINITY)
}

/// Tracks whether the streamed text has closed its top-level JSON value.
#[derive(Default)]
struct JsonTracker {
    depth: u32,
    started: bool,
    in_string: bool,
    escape: bool,
    done: bool,
    /// The last significant character closed an item of the top-level list.
    boundary: bool,
}

impl JsonTracker {
    /// Between items of `{"key": [ {..}, {..} ]}`, after an item's `}`.
    fn at_item_boundary(&self) -> bool {
        self.boundary && !self.in_string
    }

    /// Text that would close the whole value from here, if we are right
    /// after an item or inside one (outside strings).
    fn closing_text(&self) -> Option<&'static str> {
        match (self.in_string, self.depth) {
            (false, 3) => Some("}]}"),
            (false, 2) if self.at_item_boundary() => Some("]}"),
            _ => None,
        }
    }

    fn feed(&mut self, text: &str) {
        for c in text.chars() {
            if self.done {
                return;
            }
            if self.in_string {
                match (self.escape, c) {
                    (true, _) => self.escape = false,
                    (false, '\\') => self.escape = true,
                    (false, '"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            if !c.is_whitespace() {
                self.boundary = false;
            }
            match c {
                '"' => self.in_string = true,
                '{' | '[' => {
                    self.depth += 1;
                    self.started = true;
                }
                '}' | ']' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.done = self.started && self.depth == 0;
                    self.boundary = c == '}' && self.depth == 2;
                }
                _ => {}
            }
        }
    }
}

/// Turns token bytes into text, holding back a UTF-8 character split
/// across tokens until it is complete.
#[derive(Default)]
struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let (text, rest) = match std::str::from_utf8(&self.pending) {
            Ok(s) => (s.to_string(), 0),
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                (
                    String::from_utf8_lossy(&self.pending[..valid]).into_owned(),
                    self.pending.len() - valid,
                )
            }
            Err(_) => (String::from_utf8_lossy(&self.pending).into_owned(), 0),
        };
        let keep_from = self.pending.len() - rest;
        self.pending.drain(..keep_from);
        text
    }

    fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_tokens_is_held_back() {
        let mut s = Utf8Stream::default();
        let bytes = "é€".as_bytes();
        assert_eq!(s.push(&bytes[..1]), "");
        assert_eq!(s.push(&bytes[1..3]), "é");
        assert_eq!(s.push(&bytes[3..]), "€");
        assert_eq!(s.push(b"\xffa"), "\u{fffd}a");
        assert_eq!(s.push(&bytes[..1]), "");
        assert_eq!(s.finish(), "\u{fffd}");
    }

    #[test]
    fn json_tracker_ignores_brackets_in_strings() {
        let mut j = JsonTracker::default();
        j.feed(r#"{"a":"}]\"{","b":[1,{"#);
        assert!(!j.done);
        j.feed("}");
        assert!(j.at_item_boundary());
        assert_eq!(j.closing_text(), Some("]}"));
        j.feed(",{\"a\":\"x");
        assert_eq!(j.closing_text(), None, "inside a string");
        j.feed("\"");
        assert_eq!(j.closing_text(), Some("}]}"));
        j.feed("} ]");
        assert!(!j.done && !j.at_item_boundary());
        j.feed("}");
        assert!(j.done);
    }

    #[test]
    fn truncation_cuts_on_char_boundaries_and_marks_the_cut() {
        let t = Task {
            id: "t".into(),
            prompt: "p".into(),
            answer: "ééé".into(),
            answer_b: Some("bbbbbb".into()),
            reference: None,
            steps: None,
            meta: Default::default(),
        };
        let cut = truncated_task(&t, 6, 12);
        assert!(
            cut.answer.starts_with("é\n[... answer truncated by crit"),
            "{}",
            cut.answer
        );
        assert!(cut.answer_b.unwrap().starts_with("bbb\n"));
        assert_eq!(kept_bytes(&t, 6, 12), 2 + 3);
        assert_eq!(truncated_task(&t, 12, 12).answer, "ééé");
    }

    #[test]
    fn prefilter_keeps_the_top_candidates() {
        let mut s = TokenSampler::new(10);
        let logits = [0.0, 5.0, 1.0, 9.0, 3.0, 8.0, 2.0, 7.0, 4.0, 6.0];
        s.fill(&logits, Some(3));
        let mut ids: Vec<i32> = s.cur.data.iter().map(|d| d.id().0).collect();
        ids.sort();
        assert_eq!(ids, vec![3, 5, 7]);
        s.fill(&logits, None);
        assert_eq!(s.cur.data.len(), 10);
    }
}
