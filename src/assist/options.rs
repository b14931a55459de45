//! Model and engine options shared by generate, review and bench: one set
//! of flags, resolved against the config file the same way everywhere.

use super::engine::{Engine, EngineError};
use super::{EngineSettings, EventSender, SamplerSettings};
use crate::config::{Config, SamplerConfig};
use std::path::PathBuf;

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Model(#[from] super::model::ModelError),
    #[error(transparent)]
    Prompts(#[from] super::prompt::PromptError),
    #[error("loading model {}: {source}", model.display())]
    Load { model: PathBuf, source: EngineError },
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
    /// Resolve the model and load the prompts without starting anything:
    /// bad input is reported before a session is created for it.
    pub fn check(&self, config: &Config) -> Result<(), StartError> {
        super::model::resolve(self.model.as_deref(), config.model.as_deref())?;
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
