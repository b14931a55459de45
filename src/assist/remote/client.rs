//! One request's life: send (retrying 429/5xx and refused connections with
//! capped, jittered exponential backoff), stream the reply as token events
//! under a per-token idle timeout, then parse it with the engine's parser
//! and record provenance. Nothing is retried once tokens have streamed:
//! the caller has shown them.

use super::error::{self, RemoteError, RAW_KEPT};
use super::request::{self, Ask};
use super::stream::{Fault, Reply, SseDecoder, Step};
use super::Shared;
use crate::assist::schema::{self, clip, ParseError};
use crate::assist::{Assistance, Event, Provenance, Request, Served};
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// Retries after 429/5xx and refused connections.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubles per retry up to `cap`.
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// Wait before retry number `retry` (1-based): half the capped
    /// exponential step plus a random share of the other half, so clients
    /// that failed together do not come back together.
    pub fn delay(&self, retry: u32) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.cap);
        step / 2 + step.mul_f64(fastrand::f64() / 2.0)
    }
}

/// Serve one request; token events go out as they stream.
pub async fn run(sh: &Shared, req: &Request) -> Result<Box<Assistance>, RemoteError> {
    let msgs = sh.prompts.render(req.kind, &req.task)?;
    let ask = Ask {
        model: &sh.model,
        kind: req.kind,
        task: &req.task,
        sampler: &sh.engine.sampler,
        seed: req.seed,
        max_tokens: sh.engine.max_tokens,
        cache_prompt: sh.cache_prompt,
    };
    let body = request::chat_body(&msgs, &ask);
    let (response, attempts, sent) = send(sh, body).await?;
    let _ = sh.events.send(Event::Started {
        id: req.id,
        prompt_tokens: 0,
        truncated: None,
    });
    let streamed = read_stream(sh, req.id, response).await?;
    let reply = &streamed.reply;
    if reply.finish_reason.as_deref() == Some("length") {
        return Err(RemoteError::MaxTokens {
            max_tokens: sh.engine.max_tokens,
            raw: clip(&reply.text, RAW_KEPT),
        });
    }
    let output = schema::parse(req.kind, &reply.text, &req.task).map_err(|e| {
        let ParseError::Json { source, .. } = e;
        RemoteError::Schema {
            kind: req.kind.name(),
            message: source.to_string(),
            raw: clip(&reply.text, RAW_KEPT),
        }
    })?;
    let provenance = provenance(sh, req, &msgs, &streamed, attempts, sent);
    Ok(Box::new(Assistance {
        output,
        raw: streamed.reply.text,
        provenance,
        truncated: None,
    }))
}

fn provenance(
    sh: &Shared,
    req: &Request,
    msgs: &crate::assist::prompt::Messages,
    s: &Streamed,
    attempts: u32,
    sent: Instant,
) -> Provenance {
    let r = &s.reply;
    let first = s.first_token.unwrap_or(s.finished);
    let first_token_ms = first.duration_since(sent).as_millis() as u64;
    let (prompt_ms, gen_ms) = match r.timings {
        Some(t) => (t.prompt_ms.round() as u64, t.predicted_ms.round() as u64),
        None => (
            first_token_ms,
            s.finished.duration_since(first).as_millis() as u64,
        ),
    };
    let template = sh.prompts.template(req.kind);
    Provenance {
        model: None,
        served: Some(Served {
            backend: sh.endpoint.redacted(),
            model: r.model.clone().unwrap_or_else(|| sh.model.clone()),
            requested_model: sh.model.clone(),
            system_fingerprint: r.fingerprint.clone(),
            finish_reason: r.finish_reason.clone(),
            attempts,
            first_token_ms,
            server_timings: r.timings.is_some(),
            cached_tokens: r.cached_tokens(),
        }),
        tool: None,
        template_name: template.name.clone(),
        template_sha256: template.sha256.clone(),
        prompt_sha256: request::messages_sha256(msgs),
        sampler: Some(sh.engine.sampler.clone()),
        seed: req.seed,
        sample_seeds: Vec::new(),
        n_ctx: sh.n_ctx,
        n_threads: 0,
        max_tokens: sh.engine.max_tokens,
        crit_version: crate::VERSION.to_string(),
        prompt_tokens: r.usage.map_or(0, |u| u.prompt_tokens),
        gen_tokens: r.usage.map_or(r.deltas, |u| u.completion_tokens),
        prompt_ms,
        gen_ms,
    }
}

/// POST the body until a 200 answer or a final failure. Returns the
/// response, the attempts made and when the successful one was sent.
async fn send(
    sh: &Shared,
    body: Vec<u8>,
) -> Result<(reqwest::Response, u32, Instant), RemoteError> {
    let url = sh.endpoint.url("chat/completions");
    let mut attempt = 1;
    loop {
        let sent = Instant::now();
        let mut rb = sh
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .body(body.clone());
        if let Some(key) = &sh.key {
            rb = rb.bearer_auth(key.expose());
        }
        let (err, retry_after) = match timeout(sh.idle_timeout, rb.send()).await {
            Err(_) => return Err(idle(sh, String::new())),
            Ok(Err(e)) => (transport_error(sh, &e), None),
            Ok(Ok(resp)) if resp.status().is_success() => return Ok((resp, attempt, sent)),
            Ok(Ok(resp)) => {
                let after = retry_after(&resp);
                (status_error(sh, resp, attempt).await, after)
            }
        };
        if !err.is_retryable() || attempt >= sh.retry.attempts {
            return Err(err);
        }
        let wait = sh
            .retry
            .delay(attempt)
            .max(retry_after.unwrap_or_default().min(sh.retry.cap));
        tracing::warn!(
            "{} (attempt {attempt}); retrying in {} ms",
            err,
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?;
    let secs: u64 = v.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

/// A failed status: the server's message, or the schema being refused.
async fn status_error(sh: &Shared, resp: reqwest::Response, attempts: u32) -> RemoteError {
    let status = resp.status().as_u16();
    let body = match timeout(sh.idle_timeout, resp.text()).await {
        Ok(Ok(t)) => t,
        _ => String::new(),
    };
    let message = error::error_message(&body);
    let url = sh.endpoint.redacted();
    if (400..500).contains(&status) && error::mentions_response_format(&message) {
        return RemoteError::SchemaUnsupported {
            url,
            status,
            message,
        };
    }
    RemoteError::Http {
        url,
        status,
        attempts,
        message,
    }
}

/// A request that got no HTTP answer. reqwest's own message names the URL
/// (which may hold credentials), so only the root cause is kept.
pub(super) fn transport_error(sh: &Shared, e: &reqwest::Error) -> RemoteError {
    let url = sh.endpoint.redacted();
    if e.is_connect() && e.is_timeout() {
        return RemoteError::ConnectTimeout {
            url,
            secs: sh.connect_timeout.as_secs_f64(),
        };
    }
    RemoteError::Connect {
        url,
        message: sh.endpoint.scrub(&root_cause(e)),
    }
}

pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn idle(sh: &Shared, raw: String) -> RemoteError {
    RemoteError::IdleTimeout {
        url: sh.endpoint.redacted(),
        secs: sh.idle_timeout.as_secs_f64(),
        raw,
    }
}

struct Streamed {
    reply: Reply,
    first_token: Option<Instant>,
    finished: Instant,
}

/// Read server-sent events until `[DONE]` or the end of the body, sending
/// a token event per content delta.
async fn read_stream(
    sh: &Shared,
    id: u64,
    mut resp: reqwest::Response,
) -> Result<Streamed, RemoteError> {
    let url = sh.endpoint.redacted();
    check_content_type(sh, &mut resp).await?;
    let mut decoder = SseDecoder::default();
    let mut reply = Reply::default();
    let mut first_token = None;
    let raw = |r: &Reply| clip(&r.text, RAW_KEPT);
    'read: loop {
        let bytes = match timeout(sh.idle_timeout, resp.chunk()).await {
            Err(_) => return Err(idle(sh, raw(&reply))),
            Ok(Err(e)) => {
                return Err(RemoteError::Truncated {
                    url,
                    message: sh.endpoint.scrub(&root_cause(&e)),
                    raw: raw(&reply),
                })
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(b))) => b,
        };
        let events = decoder
            .push(&bytes)
            .map_err(|message| RemoteError::Malformed {
                url: url.clone(),
                message,
            })?;
        for data in events {
            match reply.apply(&data) {
                Ok(Step::Delta(text)) => {
                    first_token.get_or_insert_with(Instant::now);
                    let _ = sh.events.send(Event::Token { id, text });
                }
                Ok(Step::Nothing) => {}
                Ok(Step::Done) => break 'read,
                Err(Fault::Malformed(message)) => {
                    return Err(RemoteError::Malformed { url, message })
                }
                Err(Fault::Server(message)) => {
                    return Err(RemoteError::InStream {
                        url,
                        message,
                        raw: raw(&reply),
                    })
                }
            }
        }
    }
    if !reply.complete() {
        let message = if decoder.pending() {
            "connection closed inside an event"
        } else {
            "connection closed without a finish reason or [DONE]"
        };
        return Err(RemoteError::Truncated {
            url,
            message: message.into(),
            raw: raw(&reply),
        });
    }
    Ok(Streamed {
        reply,
        first_token,
        finished: Instant::now(),
    })
}

/// A 200 answer that is not an event stream (a proxy's page, or a server
/// that ignored `stream: true`) is named with a bit of its body.
async fn check_content_type(sh: &Shared, resp: &mut reqwest::Response) -> Result<(), RemoteError> {
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("text/event-stream") {
        return Ok(());
    }
    let mut head = Vec::new();
    while head.len() < 300 {
        match timeout(sh.idle_timeout, resp.chunk()).await {
            Ok(Ok(Some(b))) => head.extend_from_slice(&b),
            _ => break,
        }
    }
    Err(RemoteError::Malformed {
        url: sh.endpoint.redacted(),
        message: format!(
            "expected server-sent events (text/event-stream), got content-type {:?}: {}",
            ct,
            clip(&String::from_utf8_lossy(&head), 300)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let p = RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(500),
        };
        for _ in 0..50 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d9 = p.delay(9);
            assert!(d9 >= Duration::from_millis(250) && d9 <= Duration::from_millis(500));
        }
        assert!(p.delay(40) <= p.cap, "no overflow for large retry counts");
    }
}
