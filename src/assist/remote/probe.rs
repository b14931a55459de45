//! What the server says about itself before the first request: the models
//! it serves (`GET /models`, which also proves it is there and the key is
//! accepted) and, for llama.cpp's server, its slot count and context size
//! (`GET /props`). Only `/models` failing to connect, or refusing the key,
//! is an error; a server without these endpoints gets the defaults.

use super::client::{root_cause, RetryPolicy};
use super::error::{self, RemoteError};
use super::request::Endpoint;
use super::ApiKey;
use serde::Deserialize;
use std::time::Duration;
use tokio::time::timeout;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerInfo {
    /// Model ids from `/models`, in the server's order.
    pub models: Vec<String>,
    /// Parallel slots (llama.cpp's `total_slots`).
    pub slots: Option<usize>,
    /// Context per slot (llama.cpp's `default_generation_settings.n_ctx`).
    pub n_ctx: Option<u32>,
}

#[derive(Deserialize)]
struct Models {
    #[serde(default)]
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

#[derive(Deserialize)]
struct Props {
    #[serde(default)]
    total_slots: Option<usize>,
    #[serde(default)]
    default_generation_settings: Option<GenSettings>,
}

#[derive(Deserialize)]
struct GenSettings {
    #[serde(default)]
    n_ctx: Option<u32>,
}

pub struct Probe<'a> {
    pub http: &'a reqwest::Client,
    pub endpoint: &'a Endpoint,
    pub key: Option<&'a ApiKey>,
    pub connect_timeout: Duration,
    pub wait: Duration,
    pub retry: &'a RetryPolicy,
}

impl Probe<'_> {
    pub async fn run(&self) -> Result<ServerInfo, RemoteError> {
        let models = self.models().await?;
        let props = self.props().await;
        Ok(ServerInfo {
            models,
            slots: props
                .as_ref()
                .and_then(|p| p.total_slots)
                .filter(|n| *n > 0),
            n_ctx: props
                .and_then(|p| p.default_generation_settings)
                .and_then(|g| g.n_ctx),
        })
    }

    /// `GET {base}/models`, retried while the server is busy or loading.
    async fn models(&self) -> Result<Vec<String>, RemoteError> {
        let mut attempt = 1;
        loop {
            match self.models_once(attempt).await {
                Err(e) if e.is_retryable() && attempt < self.retry.attempts => {
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn models_once(&self, attempt: u32) -> Result<Vec<String>, RemoteError> {
        let url = self.endpoint.redacted();
        let resp = match timeout(self.wait, self.get("models").send()).await {
            Err(_) => {
                return Err(RemoteError::IdleTimeout {
                    url,
                    secs: self.wait.as_secs_f64(),
                    raw: String::new(),
                })
            }
            Ok(Err(e)) if e.is_connect() && e.is_timeout() => {
                return Err(RemoteError::ConnectTimeout {
                    url,
                    secs: self.connect_timeout.as_secs_f64(),
                })
            }
            Ok(Err(e)) => {
                return Err(RemoteError::Connect {
                    url,
                    message: self.endpoint.scrub(&root_cause(&e)),
                })
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        let body = timeout(self.wait, resp.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        if status == 401 || status == 403 || error::is_retryable_status(status) {
            return Err(RemoteError::Http {
                url,
                status,
                attempts: attempt,
                message: error::error_message(&body),
            });
        }
        // A server without a model list still serves chat completions.
        Ok(serde_json::from_str::<Models>(&body)
            .map(|m| m.data.into_iter().map(|e| e.id).collect())
            .unwrap_or_default())
    }

    async fn props(&self) -> Option<Props> {
        let url = self.endpoint.root_url("props");
        let mut rb = self.http.get(url);
        if let Some(k) = self.key {
            rb = rb.bearer_auth(k.expose());
        }
        let resp = timeout(self.wait, rb.send()).await.ok()?.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let body = timeout(self.wait, resp.text()).await.ok()?.ok()?;
        serde_json::from_str(&body).ok()
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.get(self.endpoint.url(path));
        match self.key {
            Some(k) => rb.bearer_auth(k.expose()),
            None => rb,
        }
    }
}
