//! The TOML config file (config dir from `directories`, or `CRIT_CONFIG`).

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// GGUF model to use when neither `--model` nor `CRIT_MODEL` is given.
    pub model: Option<PathBuf>,
    /// OpenAI-compatible server to use instead of the local model when
    /// neither `--backend` nor `CRIT_BACKEND` is given.
    pub backend: Option<String>,
    /// Default evaluator name.
    pub evaluator: Option<String>,
    pub sessions_dir: Option<PathBuf>,
    pub threads: Option<i32>,
    pub n_ctx: Option<u32>,
    pub max_tokens: Option<u32>,
    /// Critique sets sampled per task (`--samples`).
    pub samples: Option<u32>,
    /// Review UI settings.
    pub review: ReviewConfig,
    /// Sampler chain settings (recorded in every assistance's provenance).
    pub sampler: SamplerConfig,
    /// Key rebinding: action name -> list of keys (e.g. `next_task = ["n", "ctrl-n"]`).
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
}

/// `[sampler]`: each unset value keeps crit's default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplerConfig {
    pub temperature: Option<f32>,
    pub top_k: Option<i32>,
    pub top_p: Option<f32>,
    pub min_p: Option<f32>,
    pub repeat_penalty: Option<f32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// Tasks ahead of the current one to generate in the background.
    pub prefetch: usize,
    /// Seconds without input after which the active-time clock pauses.
    pub idle_seconds: u64,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            prefetch: 2,
            idle_seconds: 60,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl Config {
    /// Load the config file; a missing file is the default config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map_or(1, |s| text[..s.start].matches('\n').count() + 1);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                message: e.message().to_string(),
            }
        })
    }
}
