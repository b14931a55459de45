//! Why a remote request (or connecting to the server) failed. The message
//! of a failed request is what the session records, so each variant names
//! the server (credentials removed) and, where the model wrote something,
//! keeps the raw text.

use crate::assist::prompt::PromptError;

/// Bytes of raw model output kept in a failure message.
pub const RAW_KEPT: usize = 4000;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("backend URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("--api-key-env {name}: the variable {name} is not set or empty")]
    MissingKey { name: String },
    #[error("invalid backend settings: {0}")]
    Settings(String),
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("connecting to {url} timed out after {secs:.1} s (--connect-timeout)")]
    ConnectTimeout { url: String, secs: f64 },
    #[error("{url} sent nothing for {secs:.1} s (--idle-timeout); raw output so far: {raw:?}")]
    IdleTimeout { url: String, secs: f64, raw: String },
    #[error("{url} answered HTTP {status} ({attempts} attempt(s)): {message}")]
    Http {
        url: String,
        status: u16,
        attempts: u32,
        message: String,
    },
    #[error("{url} refused the request's JSON-schema response format (HTTP {status}: {message}); crit needs a server that accepts response_format {{\"type\": \"json_schema\"}}, such as llama.cpp's llama-server, vLLM or Ollama")]
    SchemaUnsupported {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url} reported an error in the stream: {message}; raw output so far: {raw:?}")]
    InStream {
        url: String,
        message: String,
        raw: String,
    },
    #[error("{url}: malformed stream: {message}")]
    Malformed { url: String, message: String },
    #[error("{url}: the stream ended before the response was complete ({message}); raw output so far: {raw:?}")]
    Truncated {
        url: String,
        message: String,
        raw: String,
    },
    #[error("the server stopped at max_tokens ({max_tokens}) before the JSON was complete; raise --max-tokens. Raw output: {raw:?}")]
    MaxTokens { max_tokens: u32, raw: String },
    #[error(
        "the server's answer does not match the {kind} schema ({message}); raw output: {raw:?}"
    )]
    Schema {
        kind: &'static str,
        message: String,
        raw: String,
    },
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

impl RemoteError {
    /// Worth another attempt: the server is busy or briefly unavailable.
    pub fn is_retryable(&self) -> bool {
        match self {
            RemoteError::Http { status, .. } => is_retryable_status(*status),
            RemoteError::Connect { .. } => true,
            _ => false,
        }
    }
}

/// 429 (rate limited) and the 5xx that mean "try again later".
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The message in an OpenAI-style error body (`{"error": {"message"}}`,
/// `{"error": "..."}` or `{"message"}`), else the body itself, clipped.
pub fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("error").unwrap_or(&v);
            e.get("message")
                .and_then(|m| m.as_str())
                .or_else(|| e.as_str())
                .map(str::to_string)
        });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    let text = if text.is_empty() {
        "(empty body)".to_string()
    } else {
        text
    };
    crate::assist::schema::clip(&text, 600)
}

/// Whether an error body from a 4xx answer is about the response format.
pub fn mentions_response_format(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "response_format",
        "json_schema",
        "response format",
        "json schema",
    ]
    .iter()
    .any(|k| m.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_openai_style_bodies() {
        assert_eq!(
            error_message(
                r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#
            ),
            "Loading model"
        );
        assert_eq!(
            error_message(r#"{"error":"model not found"}"#),
            "model not found"
        );
        assert_eq!(
            error_message(r#"{"object":"error","message":"bad schema"}"#),
            "bad schema"
        );
        assert_eq!(error_message("  upstream down\n"), "upstream down");
        assert_eq!(error_message(""), "(empty body)");
        assert!(error_message(&"x".repeat(5000)).len() < 700);
    }

    #[test]
    fn retry_only_what_may_pass_later() {
        let http = |status| RemoteError::Http {
            url: "u".into(),
            status,
            attempts: 1,
            message: String::new(),
        };
        assert!(http(429).is_retryable() && http(503).is_retryable());
        assert!(!http(400).is_retryable() && !http(401).is_retryable());
        assert!(mentions_response_format(
            "response_format type must be one of \"text\" or \"json_object\""
        ));
        assert!(!mentions_response_format("context too long"));
    }
}
