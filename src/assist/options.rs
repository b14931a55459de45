//! Model and engine options shared by generate, review and bench: one set
//! of flags, resolved against the config file the same way everywhere.

use super::engine::{Engine, EngineError};
use super::remote::{self, Remote, RemoteError, RemoteSettings};
use super::{Assistant, EngineSettings, EventSender, SamplerSettings};
use crate::config::{Config, SamplerConfig};
use std::path::PathBuf;
use std::time::Duration;

/// Why the assistant could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Model(#[from] super::model::ModelError),
    #[error(transparent)]
    Prompts(#[from] super::prompt::PromptError),
    #[error("loading model {}: {source}", model.display())]
    Load { model: PathBuf, source: EngineError },
    /// A flag or setting that cannot work (the user's input: exit 2).
    #[error("{0}")]
    BadOption(String),
    #[error(transparent)]
    Remote(#[from] RemoteError),
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
    pub fn settings(&self, config: &Config) -> EngineSettings {
        let mut s = EngineSettings::default();
        if let Some(t) = self.threads.or(config.threads) {
            s.n_threads = t.max(1);
        }
        if let Some(n) = self.ctx_size.or(config.n_ctx) {
            s.n_ctx = n;
        }
        if let Some(n) = self.max_tokens.or(config.max_tokens) {
            s.max_tokens = n;
        }
        self.apply_sampler(&mut s.sampler, &config.sampler);
        s
    }

    /// Flags override the config file's `[sampler]`, which overrides the defaults.
    fn apply_sampler(&self, s: &mut SamplerSettings, cfg: &SamplerConfig) {
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

    /// Resolve the model and start the engine thread.
    /// The server to use: `--backend`, else `CRIT_BACKEND`, else the
    /// config's `backend`; `None` means the local engine, as does `--model`
    /// (a flag beats the environment and the config).
    pub fn backend_url(&self, config: &Config) -> Option<String> {
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
            .or_else(|| config.backend.clone())
    }

    /// Settings for the remote backend when one is chosen. A bad URL, an
    /// unset key variable or a bad number is [`StartError::BadOption`].
    pub fn remote_settings(&self, config: &Config) -> Result<Option<RemoteSettings>, StartError> {
        let Some(url) = self.backend_url(config) else {
            return Ok(None);
        };
        let bad = |e: String| StartError::BadOption(e);
        remote::request::Endpoint::parse(&url).map_err(|e| bad(e.to_string()))?;
        let secs = |flag: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(bad(format!(
                    "--{flag} must be a positive number of seconds, not {v}"
                )))
            }
        };
        if self.concurrency == Some(0) {
            return Err(bad("--concurrency must be at least 1".into()));
        }
        let mut s = RemoteSettings::new(url);
        s.api_key = match &self.api_key_env {
            Some(name) => Some(remote::ApiKey::from_env(name).map_err(|e| bad(e.to_string()))?),
            None => None,
        };
        s.model_name = self.model_name.clone();
        s.concurrency = self.concurrency;
        s.connect_timeout = secs("connect-timeout", self.connect_timeout)?;
        s.idle_timeout = secs("idle-timeout", self.idle_timeout)?;
        s.engine = self.settings(config);
        Ok(Some(s))
    }

    /// The assistant these options choose: the server (`--backend`,
    /// `CRIT_BACKEND` or the config), else the local engine. Returns it with
    /// its short name for status lines.
    pub fn start_assistant(
        &self,
        config: &Config,
        events: EventSender,
    ) -> Result<(Box<dyn Assistant>, String), StartError> {
        if let Some(settings) = self.remote_settings(config)? {
            let prompts = super::prompt::Prompts::load(self.prompts.as_deref())?;
            let remote = Remote::connect(settings, prompts, events)?;
            let name = remote.name();
            return Ok((Box::new(remote), name));
        }
        let engine = self.start_engine(config, events)?;
        let name = engine.model_info().file_name.clone();
        Ok((Box::new(engine), name))
    }

    /// Resolve the model and load the prompts without starting anything:
    /// bad input is reported before a session is created for it.
    pub fn check(&self, config: &Config) -> Result<(), StartError> {
        if self.remote_settings(config)?.is_none() {
            super::model::resolve(self.model.as_deref(), config.model.as_deref())?;
        }
        super::prompt::Prompts::load(self.prompts.as_deref())?;
        Ok(())
    }

    pub fn start_engine(&self, config: &Config, events: EventSender) -> Result<Engine, StartError> {
        let model = super::model::resolve(self.model.as_deref(), config.model.as_deref())?;
        let prompts = super::prompt::Prompts::load(self.prompts.as_deref())?;
        Engine::start(&model, self.settings(config), prompts, events)
            .map_err(|source| StartError::Load { model, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        engine: EngineArgs,
    }

    #[test]
    fn backend_flags_make_remote_settings_and_bad_ones_are_bad_options() {
        let config: Config = toml::from_str("backend = \"http://cfg:1/v1\"\n").unwrap();
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
        let s = args.remote_settings(&config).unwrap().expect("remote");
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
                from_config.backend_url(&config).as_deref(),
                Some("http://cfg:1/v1")
            );
        }
        let local = parse(&["--model", "m.gguf"]).unwrap();
        assert_eq!(local.backend_url(&config), None, "--model beats the config");
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
            let err = parse(bad).unwrap().remote_settings(&config).unwrap_err();
            assert!(matches!(err, StartError::BadOption(_)), "{bad:?}: {err}");
        }
    }

    #[test]
    fn sampler_flags_override_config_which_overrides_defaults() {
        let config: Config =
            toml::from_str("[sampler]\ntemperature = 0.7\ntop_k = 20\nrepeat_penalty = 1.3\n")
                .unwrap();
        let args = Wrap::parse_from(["x", "--temperature", "0.1", "--top-p", "0.5"]).engine;
        let s = args.settings(&config).sampler;
        let d = SamplerSettings::default();
        assert_eq!(s.temperature, 0.1, "flag wins");
        assert_eq!(s.top_k, 20, "config wins over default");
        assert_eq!(s.repeat_penalty, 1.3);
        assert_eq!(s.top_p, 0.5);
        assert_eq!(s.min_p, d.min_p, "default kept");
        assert!(s.grammar, "output is always grammar-constrained");
    }
}
