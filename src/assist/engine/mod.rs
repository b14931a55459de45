//! The llama.cpp assistant: model and context live on one engine thread
//! (they are `!Send` in spirit and borrow each other); requests go in over a
//! channel, token and result events stream out.
//!
//! Generation is grammar-constrained the way llama.cpp's common sampler does
//! it: sample with the normal chain first, check that one token against the
//! grammar, and only when it is rejected apply the grammar to the whole
//! vocabulary and sample again. Checking every candidate every step would
//! halve the speed.

mod fit;
mod llama;
mod prefix;
mod sampler;
mod stream;
pub mod tokens;
mod truncate;
mod worker;

pub use fit::{FitError, Fitted, Prompter};
pub use llama::{backend, effective_threads, load_model, model_info, new_context, warm_up};
pub use sampler::{sampler_chain, TokenSampler};
pub use stream::JsonTracker;

use super::prompt::Prompts;
use super::{Assistant, EngineSettings, EventSender, ModelInfo, Request};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use worker::Worker;

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

/// How the engine works, where that does not change what it writes
/// (benchmarks and tests compare the options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Keep each kind's decoded prompt prefix and reuse it.
    pub prefix_cache: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning { prefix_cache: true }
    }
}

/// Counters since the engine started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests whose prompt was decoded.
    pub requests: u64,
    /// Their prompt tokens.
    pub prompt_tokens: u64,
    /// Of those, tokens restored from a cached prefix instead of decoded.
    pub reused_tokens: u64,
}

/// Queue bookkeeping shared by the caller and the engine thread.
#[derive(Default)]
struct Shared {
    flags: Mutex<Flags>,
    /// Set when the engine is dropped: abort the running request.
    stop: AtomicBool,
    stats: Mutex<Stats>,
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

    fn count(&self, prompt_tokens: usize, reused: usize) {
        let mut s = self.stats.lock().unwrap();
        s.requests += 1;
        s.prompt_tokens += prompt_tokens as u64;
        s.reused_tokens += reused as u64;
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
        Self::start_tuned(model_path, settings, prompts, events, Tuning::default())
    }

    /// `start` with explicit tuning (benchmarks and tests).
    pub fn start_tuned(
        model_path: &Path,
        settings: EngineSettings,
        prompts: Prompts,
        events: EventSender,
        tuning: Tuning,
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
            tuning,
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

    /// Counters since the engine started.
    pub fn stats(&self) -> Stats {
        *self.shared.stats.lock().unwrap()
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
    tuning: Tuning,
}

fn engine_thread(
    setup: Setup,
    rx: mpsc::Receiver<Request>,
    ready: mpsc::SyncSender<Result<(), EngineError>>,
) {
    let shared = setup.shared.clone();
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
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        worker.serve(request);
    }
}
