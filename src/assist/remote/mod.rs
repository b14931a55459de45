//! Assistance from an OpenAI-compatible server (llama.cpp's `llama-server`,
//! vLLM, Ollama): `POST {URL}/chat/completions` with the same messages the
//! local engine renders, the kind's JSON schema as the response format, and
//! a streamed reply parsed by the engine's parser.
//!
//! `Remote` implements `Assistant`, so `generate` and the review UI drive it
//! like the engine. It owns one thread with a small tokio runtime; up to
//! `concurrency` requests are in flight, the rest wait in submission order.
//! Cancelling a request drops its HTTP future, which closes the connection
//! and so aborts the generation on the server.

mod client;
pub mod error;
mod probe;
pub mod request;
pub mod stream;

pub use client::RetryPolicy;
pub use error::RemoteError;
pub use probe::ServerInfo;

use super::prompt::Prompts;
use super::{Assistant, EngineSettings, Event, EventSender, Request};
use request::Endpoint;
use std::collections::HashMap;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinSet;

/// Requests in flight when neither `--concurrency` nor the server says.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// A bearer token. It is only ever sent in the `Authorization` header:
/// `Debug` hides it, and nothing records it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Read the token from the environment variable `name`.
    pub fn from_env(name: &str) -> Result<ApiKey, RemoteError> {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Ok(ApiKey(v.trim().to_string())),
            _ => Err(RemoteError::MissingKey { name: name.into() }),
        }
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// How to reach the server and what to ask it for.
#[derive(Debug, Clone)]
pub struct RemoteSettings {
    /// API base, e.g. `http://127.0.0.1:8080/v1`.
    pub url: String,
    pub api_key: Option<ApiKey>,
    /// Model to request; default: the first one the server lists.
    pub model_name: Option<String>,
    /// Requests in flight; default: the server's slots, else 4.
    pub concurrency: Option<usize>,
    pub connect_timeout: Duration,
    /// Longest wait for the answer's headers and between streamed chunks.
    pub idle_timeout: Duration,
    pub retry: RetryPolicy,
    /// Sampler and max_tokens (n_ctx and threads are the server's business).
    pub engine: EngineSettings,
    /// llama.cpp's `cache_prompt` request field, sent only when set: `false`
    /// makes llama-server process the whole prompt instead of reusing what
    /// its slots and prompt cache hold (`crit bench` measures both). Unset
    /// by default: other servers may not know the field.
    pub cache_prompt: Option<bool>,
}

impl RemoteSettings {
    pub fn new(url: impl Into<String>) -> RemoteSettings {
        RemoteSettings {
            url: url.into(),
            api_key: None,
            model_name: None,
            concurrency: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            engine: EngineSettings::default(),
            cache_prompt: None,
        }
    }

    fn check(&self) -> Result<(), RemoteError> {
        let bad = |m: &str| Err(RemoteError::Settings(m.into()));
        if self.engine.max_tokens == 0 {
            return bad("max_tokens must be > 0");
        }
        if self.concurrency == Some(0) {
            return bad("concurrency must be at least 1");
        }
        if self.connect_timeout.is_zero() || self.idle_timeout.is_zero() {
            return bad("timeouts must be above zero");
        }
        if self.retry.attempts == 0 {
            return bad("retry attempts must be at least 1");
        }
        Ok(())
    }
}

/// Everything a request task needs, shared read-only.
struct Shared {
    http: reqwest::Client,
    endpoint: Endpoint,
    key: Option<ApiKey>,
    /// The model name sent in every request.
    model: String,
    engine: EngineSettings,
    prompts: Prompts,
    n_ctx: u32,
    connect_timeout: Duration,
    idle_timeout: Duration,
    retry: RetryPolicy,
    cache_prompt: Option<bool>,
    events: EventSender,
}

enum Cmd {
    Submit(Request),
    Cancel(u64),
}

/// The remote backend. Dropping it aborts the requests in flight.
pub struct Remote {
    tx: Option<tokio::sync::mpsc::UnboundedSender<Cmd>>,
    thread: Option<JoinHandle<()>>,
    info: ServerInfo,
    model: String,
    backend: String,
    concurrency: usize,
}

impl Remote {
    /// Check the settings, reach the server (`/models`, `/props`) and start
    /// serving. Fails when the server cannot be reached or refuses the key.
    pub fn connect(
        settings: RemoteSettings,
        prompts: Prompts,
        events: EventSender,
    ) -> Result<Remote, RemoteError> {
        settings.check()?;
        let endpoint = Endpoint::parse(&settings.url)?;
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("crit-remote".into())
            .spawn(move || serve_thread(settings, endpoint, prompts, events, rx, ready_tx))
            .map_err(|e| RemoteError::Client(format!("cannot spawn a thread: {e}")))?;
        let started = ready_rx
            .recv()
            .map_err(|_| RemoteError::Client("the client thread stopped".into()))?;
        match started {
            Ok(s) => Ok(Remote {
                tx: Some(tx),
                thread: Some(thread),
                info: s.info,
                model: s.model,
                backend: s.backend,
                concurrency: s.concurrency,
            }),
            Err(e) => {
                let _ = thread.join();
                Err(e)
            }
        }
    }

    /// What the server said about itself when connecting.
    pub fn server_info(&self) -> &ServerInfo {
        &self.info
    }

    /// The model name sent with every request.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The backend URL without credentials.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// Requests kept in flight at most.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }
}

impl Assistant for Remote {
    fn submit(&self, request: Request) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Cmd::Submit(request));
        }
    }

    fn cancel(&self, id: u64) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Cmd::Cancel(id));
        }
    }

    fn name(&self) -> String {
        crate::sanitize::sanitize_line(&self.model)
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.tx.take(); // the dispatcher sees the channel close and aborts
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the thread reports once connected.
struct Started {
    info: ServerInfo,
    model: String,
    backend: String,
    concurrency: usize,
}

fn serve_thread(
    settings: RemoteSettings,
    endpoint: Endpoint,
    prompts: Prompts,
    events: EventSender,
    rx: tokio::sync::mpsc::UnboundedReceiver<Cmd>,
    ready: mpsc::SyncSender<Result<Started, RemoteError>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(RemoteError::Client(e.to_string())));
            return;
        }
    };
    rt.block_on(async move {
        match setup(settings, endpoint, prompts, events).await {
            Ok((shared, started)) => {
                let n = started.concurrency;
                let _ = ready.send(Ok(started));
                dispatch(Arc::new(shared), n, rx).await;
            }
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        }
    });
}

async fn setup(
    s: RemoteSettings,
    endpoint: Endpoint,
    prompts: Prompts,
    events: EventSender,
) -> Result<(Shared, Started), RemoteError> {
    // reqwest is built without a TLS provider of its own (aws-lc-rs needs a
    // C toolchain build); ring is installed once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .connect_timeout(s.connect_timeout)
        .tcp_nodelay(true)
        .user_agent(concat!("crit/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RemoteError::Client(client::root_cause(&e)))?;
    let info = probe::Probe {
        http: &http,
        endpoint: &endpoint,
        key: s.api_key.as_ref(),
        connect_timeout: s.connect_timeout,
        wait: s.idle_timeout,
        retry: &s.retry,
    }
    .run()
    .await?;
    let model = s
        .model_name
        .clone()
        .or_else(|| info.models.first().cloned())
        .ok_or_else(|| {
            RemoteError::Settings(format!(
                "{} lists no models; name one with --model-name",
                endpoint.redacted()
            ))
        })?;
    let concurrency = s.concurrency.or(info.slots).unwrap_or(DEFAULT_CONCURRENCY);
    tracing::info!(
        "remote backend {}: model {model}, {concurrency} in flight, server info {info:?}",
        endpoint.redacted()
    );
    let started = Started {
        model: model.clone(),
        backend: endpoint.redacted(),
        concurrency,
        info: info.clone(),
    };
    let shared = Shared {
        http,
        endpoint,
        key: s.api_key,
        model,
        engine: s.engine,
        prompts,
        n_ctx: info.n_ctx.unwrap_or(0),
        connect_timeout: s.connect_timeout,
        idle_timeout: s.idle_timeout,
        retry: s.retry,
        cache_prompt: s.cache_prompt,
        events,
    };
    Ok((shared, started))
}

/// Start a task per submitted request (each waits for one of `n` permits,
/// in order) and route cancels to them; when the `Remote` is dropped the
/// remaining tasks are aborted.
async fn dispatch(sh: Arc<Shared>, n: usize, mut rx: tokio::sync::mpsc::UnboundedReceiver<Cmd>) {
    let permits = Arc::new(Semaphore::new(n));
    let mut cancels: HashMap<u64, oneshot::Sender<()>> = HashMap::new();
    let mut tasks: JoinSet<u64> = JoinSet::new();
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(Cmd::Submit(req)) => {
                    let (cancel_tx, cancel_rx) = oneshot::channel();
                    cancels.insert(req.id, cancel_tx);
                    tasks.spawn(serve(sh.clone(), permits.clone(), req, cancel_rx));
                }
                Some(Cmd::Cancel(id)) => {
                    if let Some(c) = cancels.remove(&id) {
                        let _ = c.send(());
                    }
                }
                None => break,
            },
            Some(done) = tasks.join_next() => {
                if let Ok(id) = done {
                    cancels.remove(&id);
                }
            }
        }
    }
    tasks.shutdown().await;
}

/// One request from queue to terminal event. Cancelling drops the request
/// future (and with it the connection).
async fn serve(
    sh: Arc<Shared>,
    permits: Arc<Semaphore>,
    req: Request,
    cancel: oneshot::Receiver<()>,
) -> u64 {
    let id = req.id;
    let work = async {
        let _permit = permits.acquire().await;
        client::run(&sh, &req).await
    };
    let event = tokio::select! {
        biased;
        _ = cancel => Event::Cancelled { id },
        result = work => match result {
            Ok(assistance) => Event::Done {
                id,
                assistance: assistance.into(),
            },
            Err(e) => {
                tracing::warn!("remote request {id} ({}): {e}", req.kind.name());
                Event::Failed { id, error: e.to_string() }
            }
        },
    };
    let _ = sh.events.send(event);
    id
}

#[cfg(test)]
mod tests;
