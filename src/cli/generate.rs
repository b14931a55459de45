//! `crit generate`: assistance for every task, recorded in a session.
//! Resumable: tasks whose kinds are already recorded are skipped.

use super::Ctx;
use crate::assist::remote::{self, Remote, RemoteSettings};
use crate::assist::{self, Assistant, EngineSettings, Kind, Request};
use crate::session::{fold, Body, Session};
use crate::task::{self, Format, Task};
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Kinds of assistance to generate.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "critique,checks,decompose"
    )]
    pub kinds: Vec<Kind>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Model and engine options shared by generate, review and bench.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// GGUF model file [env: CRIT_MODEL] [default: SmolLM2-135M-Instruct in the cache]
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Base seed; each task and kind derives its own from it.
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Threads for llama.cpp [default: the machine's cores]
    #[arg(long)]
    pub threads: Option<i32>,
    /// Context size in tokens.
    #[arg(long)]
    pub ctx_size: Option<u32>,
    /// Maximum tokens generated per request.
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Directory of prompt templates [env: CRIT_PROMPTS] [default: built in]
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// Sampling temperature [default: 0.3]
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Top-k sampling [default: 40]
    #[arg(long)]
    pub top_k: Option<i32>,
    /// Top-p (nucleus) sampling [default: 0.9]
    #[arg(long)]
    pub top_p: Option<f32>,
    /// Min-p sampling [default: 0.05]
    #[arg(long)]
    pub min_p: Option<f32>,
    /// Repetition penalty; 1.0 turns it off [default: 1.15]
    #[arg(long)]
    pub repeat_penalty: Option<f32>,
    /// OpenAI-compatible server instead of the local model, e.g.
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

impl EngineArgs {
    pub fn settings(&self, ctx: &Ctx) -> EngineSettings {
        let mut s = EngineSettings::default();
        if let Some(t) = self.threads.or(ctx.config.threads) {
            s.n_threads = t.max(1);
        }
        if let Some(n) = self.ctx_size.or(ctx.config.n_ctx) {
            s.n_ctx = n;
        }
        if let Some(n) = self.max_tokens.or(ctx.config.max_tokens) {
            s.max_tokens = n;
        }
        self.apply_sampler(&mut s.sampler, &ctx.config.sampler);
        s
    }

    /// Flags override the config file's `[sampler]`, which overrides the defaults.
    fn apply_sampler(&self, s: &mut assist::SamplerSettings, cfg: &crate::config::SamplerConfig) {
        if let Some(v) = self.temperature.or(cfg.temperature) {
            s.temperature = v;
        }
        if let Some(v) = self.top_k.or(cfg.top_k) {
            s.top_k = v;
        }
        if let Some(v) = self.top_p.or(cfg.top_p) {
            s.top_p = v;
        }
        if let Some(v) = self.min_p.or(cfg.min_p) {
            s.min_p = v;
        }
        if let Some(v) = self.repeat_penalty.or(cfg.repeat_penalty) {
            s.repeat_penalty = v;
        }
    }

    /// The server to use: `--backend`, else `CRIT_BACKEND`, else the
    /// config's `backend`; `None` means the local engine, as does `--model`
    /// (a flag beats the environment and the config).
    pub fn backend_url(&self, ctx: &Ctx) -> Option<String> {
        if self.backend.is_none() && self.model.is_some() {
            return None;
        }
        self.backend
            .clone()
            .or_else(|| {
                std::env::var("CRIT_BACKEND")
                    .ok()
                    .filter(|v| !v.trim().is_empty())
            })
            .or_else(|| ctx.config.backend.clone())
    }

    /// Settings for the remote backend when one is chosen. A bad URL, an
    /// unset key variable or a bad number is bad input (exit code 2).
    pub fn remote_settings(&self, ctx: &Ctx) -> anyhow::Result<Option<RemoteSettings>> {
        let Some(url) = self.backend_url(ctx) else {
            return Ok(None);
        };
        remote::request::Endpoint::parse(&url).map_err(super::BadInput::from_err)?;
        let secs = |flag: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(super::BadInput::from_err(format!(
                    "--{flag} must be a positive number of seconds, not {v}"
                )))
            }
        };
        if self.concurrency == Some(0) {
            return Err(super::BadInput::from_err(
                "--concurrency must be at least 1",
            ));
        }
        let mut s = RemoteSettings::new(url);
        s.api_key = match &self.api_key_env {
            Some(name) => Some(remote::ApiKey::from_env(name).map_err(super::BadInput::from_err)?),
            None => None,
        };
        s.model_name = self.model_name.clone();
        s.concurrency = self.concurrency;
        s.connect_timeout = secs("connect-timeout", self.connect_timeout)?;
        s.idle_timeout = secs("idle-timeout", self.idle_timeout)?;
        s.engine = self.settings(ctx);
        Ok(Some(s))
    }

    /// The assistant these options choose: the server (`--backend`,
    /// `CRIT_BACKEND` or the config), else the local engine. Returns it with
    /// its short name for status lines.
    pub fn start_assistant(
        &self,
        ctx: &Ctx,
        events: assist::EventSender,
    ) -> anyhow::Result<(Box<dyn Assistant>, String)> {
        if let Some(settings) = self.remote_settings(ctx)? {
            let prompts = assist::prompt::Prompts::load(self.prompts.as_deref())?;
            let remote = Remote::connect(settings, prompts, events)?;
            let name = remote.name();
            return Ok((Box::new(remote), name));
        }
        let engine = self.start_engine(ctx, events)?;
        let name = engine.model_info().file_name.clone();
        Ok((Box::new(engine), name))
    }

    /// Resolve the model and start the engine thread.
    pub fn start_engine(
        &self,
        ctx: &Ctx,
        events: assist::EventSender,
    ) -> anyhow::Result<assist::engine::Engine> {
        let model = assist::model::resolve(self.model.as_deref(), ctx.config.model.as_deref())?;
        let prompts = assist::prompt::Prompts::load(self.prompts.as_deref())?;
        let engine = assist::engine::Engine::start(&model, self.settings(ctx), prompts, events)
            .with_context(|| format!("loading model {}", model.display()))?;
        Ok(engine)
    }
}

/// Seed for one task and kind: distinct streams, reproducible from the base.
pub fn derive_seed(base: u32, task_index: usize, kind: Kind) -> u32 {
    let k = Kind::ALL.iter().position(|x| *x == kind).unwrap_or(0) as u32;
    base.wrapping_add((task_index as u32).wrapping_mul(3))
        .wrapping_add(k)
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
    let dir = ctx.session_dir(&args.session);
    let mut session = Session::create_or_open(
        &dir,
        &loaded.tasks,
        &args.tasks.display().to_string(),
        format.name(),
    )?;
    let work = pending_work(&session, &args.kinds);
    eprintln!(
        "session {}: {} tasks, {} already done, {} to generate",
        dir.display(),
        session.tasks().len(),
        session.tasks().len() - work.len(),
        work.len()
    );
    if work.is_empty() {
        return Ok(());
    }
    session.append_durable(Body::Opened {
        command: "generate".into(),
        pid: std::process::id(),
        evaluator: None,
        protocol: None,
        guidelines_sha256: None,
    })?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (engine, _name) = args.engine.start_assistant(ctx, tx)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(drive(
        &mut session,
        engine.as_ref(),
        rx,
        work,
        args.engine.seed,
    ));
    session.sync()?;
    let stats = outcome?;
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
        std::process::exit(130);
    }
    Ok(())
}

fn report_skipped(skipped: &[task::LineError]) {
    if skipped.is_empty() {
        return;
    }
    eprintln!("skipped {} invalid records:", skipped.len());
    for e in skipped {
        eprintln!("  {e}");
    }
}

/// (task index, kinds still missing) for each task with something to do.
fn pending_work(session: &Session, kinds: &[Kind]) -> Vec<(usize, Vec<Kind>)> {
    let state = fold(session.tasks(), session.events());
    state
        .states
        .iter()
        .enumerate()
        .filter_map(|(i, ts)| {
            let missing: Vec<Kind> = kinds
                .iter()
                .copied()
                .filter(|k| ts.current(*k).is_none())
                .collect();
            (!missing.is_empty()).then_some((i, missing))
        })
        .collect()
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

/// Submit one request at a time and record each result as it arrives;
/// Ctrl-C or SIGTERM cancels the running request and stops.
async fn drive(
    session: &mut Session,
    engine: &dyn Assistant,
    mut rx: assist::EventReceiver,
    work: Vec<(usize, Vec<Kind>)>,
    base_seed: u32,
) -> anyhow::Result<Stats> {
    let mut stats = Stats::default();
    let bar = progress_bar(work.len());
    use tokio::signal::unix::{signal, SignalKind};
    // Listeners are made once so a signal between requests is not missed.
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut next_id = 1u64;
    'tasks: for (index, kinds) in work {
        let task: Arc<Task> = Arc::new(session.tasks()[index].clone());
        for kind in kinds {
            let id = next_id;
            next_id += 1;
            engine.submit(Request {
                id,
                task: task.clone(),
                kind,
                seed: derive_seed(base_seed, index, kind),
            });
            let started = Instant::now();
            let mut tokens = 0u64;
            loop {
                let event = tokio::select! {
                    ev = rx.recv() => ev,
                    _ = sigint.recv() => { engine.cancel(id); stats.interrupted = true; continue; }
                    _ = sigterm.recv() => { engine.cancel(id); stats.interrupted = true; continue; }
                };
                let Some(event) = event else {
                    anyhow::bail!(
                        "the engine stopped unexpectedly (see the log in {})",
                        crate::paths::log_dir().display()
                    );
                };
                match event {
                    assist::Event::Token { .. } => {
                        tokens += 1;
                        let secs = started.elapsed().as_secs_f64().max(1e-3);
                        bar.set_message(format!(
                            "{} {}: {:.0} tok/s",
                            task.id,
                            kind.name(),
                            tokens as f64 / secs
                        ));
                    }
                    assist::Event::Started { .. } => {}
                    assist::Event::Done { assistance, .. } => {
                        stats.tokens += assistance.provenance.gen_tokens as u64;
                        stats.gen_ms += assistance.provenance.gen_ms;
                        session.append(Body::Assistance {
                            task: task.id.clone(),
                            kind,
                            assistance,
                        })?;
                        stats.recorded += 1;
                        break;
                    }
                    assist::Event::Failed { error, .. } => {
                        session.append(Body::AssistanceFailed {
                            task: task.id.clone(),
                            kind,
                            error: error.clone(),
                        })?;
                        bar.println(format!(
                            "{} {}: {}",
                            crate::sanitize::sanitize_line(&task.id),
                            kind.name(),
                            crate::sanitize::sanitize_line(&error)
                        ));
                        stats.failed += 1;
                        break;
                    }
                    assist::Event::Cancelled { .. } => break 'tasks,
                }
            }
            if stats.interrupted {
                break 'tasks;
            }
        }
        session.sync()?;
        stats.tasks_done += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        engine: EngineArgs,
    }

    #[test]
    fn sampler_flags_override_config_which_overrides_defaults() {
        let config: crate::config::Config =
            toml::from_str("[sampler]\ntemperature = 0.7\ntop_k = 20\nrepeat_penalty = 1.3\n")
                .unwrap();
        let ctx = Ctx {
            config,
            config_path: "c.toml".into(),
            sessions_dir: "s".into(),
        };
        let args = Wrap::parse_from(["x", "--temperature", "0.1", "--top-p", "0.5"]).engine;
        let s = args.settings(&ctx).sampler;
        let d = assist::SamplerSettings::default();
        assert_eq!(s.temperature, 0.1, "flag wins");
        assert_eq!(s.top_k, 20, "config wins over default");
        assert_eq!(s.repeat_penalty, 1.3);
        assert_eq!(s.top_p, 0.5);
        assert_eq!(s.min_p, d.min_p, "default kept");
        assert!(s.grammar, "output is always grammar-constrained");
    }

    #[test]
    fn backend_flags_make_remote_settings_and_bad_ones_are_bad_input() {
        let config: crate::config::Config =
            toml::from_str("backend = \"http://cfg:1/v1\"\n").unwrap();
        let ctx = Ctx {
            config,
            config_path: "c.toml".into(),
            sessions_dir: "s".into(),
        };
        let parse = |args: &[&str]| {
            Wrap::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|w| w.engine)
        };
        let args = parse(&[
            "--backend",
            "http://h:8080/v1",
            "--model-name",
            "m",
            "--concurrency",
            "3",
            "--idle-timeout",
            "2.5",
            "--max-tokens",
            "77",
        ])
        .unwrap();
        let s = args.remote_settings(&ctx).unwrap().expect("remote");
        assert_eq!(
            (s.url.as_str(), s.model_name.as_deref()),
            ("http://h:8080/v1", Some("m"))
        );
        assert_eq!((s.concurrency, s.engine.max_tokens), (Some(3), 77));
        assert_eq!(s.idle_timeout, Duration::from_millis(2500));
        assert_eq!(s.connect_timeout, Duration::from_secs(10));
        let from_config = parse(&[]).unwrap();
        if std::env::var_os("CRIT_BACKEND").is_none() {
            assert_eq!(
                from_config.backend_url(&ctx).as_deref(),
                Some("http://cfg:1/v1")
            );
        }
        let local = parse(&["--model", "m.gguf"]).unwrap();
        assert_eq!(local.backend_url(&ctx), None, "--model beats the config");
        assert!(parse(&["--backend", "http://h", "--model", "m.gguf"]).is_err());
        for bad in [
            &["--backend", "ftp://h"][..],
            &["--backend", "http://h", "--concurrency", "0"],
            &["--backend", "http://h", "--idle-timeout", "0"],
            &[
                "--backend",
                "http://h",
                "--api-key-env",
                "CRIT_TEST_UNSET_KEY_VARIABLE",
            ],
        ] {
            let err = parse(bad).unwrap().remote_settings(&ctx).unwrap_err();
            assert_eq!(super::super::exit_code(&err), 2, "{bad:?}: {err}");
        }
    }
}
