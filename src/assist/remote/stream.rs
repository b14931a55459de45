//! Server-sent events from a streamed chat completion: the byte stream is
//! cut into events (`data:` lines up to a blank line), each event's JSON
//! chunk adds a delta to the reply, and the last chunks bring the finish
//! reason, token usage and (llama.cpp) the server's own timings.

use serde::Deserialize;

/// Cuts a byte stream into SSE `data` payloads. Lines may end in `\n`,
/// `\r\n` or `\r`; several `data:` lines of one event are joined by `\n`;
/// comments (`:`) and other fields are ignored.
#[derive(Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    data: Option<String>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one
    /// belongs to that line ending.
    after_cr: bool,
}

impl SseDecoder {
    /// Feed bytes; returns the payloads of the events they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut bytes = bytes;
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\n' || b == b'\r' {
                self.buf.extend_from_slice(&bytes[start..i]);
                self.line(&mut out)?;
                if b == b'\r' {
                    if i + 1 == bytes.len() {
                        self.after_cr = true;
                    } else if bytes[i + 1] == b'\n' {
                        i += 1;
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        self.buf.extend_from_slice(&bytes[start..]);
        Ok(out)
    }

    /// Bytes received but not yet a complete event (for a truncation report).
    pub fn pending(&self) -> bool {
        !self.buf.is_empty() || self.data.is_some()
    }

    fn line(&mut self, out: &mut Vec<String>) -> Result<(), String> {
        let line = std::mem::take(&mut self.buf);
        let line =
            String::from_utf8(line).map_err(|_| "an event line is not valid UTF-8".to_string())?;
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(data);
            }
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    system_fingerprint: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    timings: Option<Timings>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// OpenAI's (and llama.cpp's, vLLM's) prompt tokens taken from a cache.
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: Option<u32>,
}

/// llama.cpp's per-request timings (milliseconds; `cache_n` prompt tokens
/// reused, `prompt_n` processed).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Timings {
    pub prompt_ms: f64,
    pub predicted_ms: f64,
    #[serde(default)]
    pub cache_n: Option<u32>,
}

/// What a chunk meant for the caller.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// New text from the model.
    Delta(String),
    /// Metadata only (usage, finish reason, role).
    Nothing,
    /// `[DONE]`: the stream is complete.
    Done,
}

/// The reply as it accumulates.
#[derive(Debug, Default)]
pub struct Reply {
    pub text: String,
    pub model: Option<String>,
    pub fingerprint: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
    pub timings: Option<Timings>,
    /// Content deltas received (a token count when `usage` is missing).
    pub deltas: u32,
    pub done: bool,
}

impl Reply {
    /// Apply one event's payload. An `error` object in the stream, or a
    /// payload that is not a chunk, is an error with the server's words.
    pub fn apply(&mut self, data: &str) -> Result<Step, Fault> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(Step::Done);
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
            Fault::Malformed(format!(
                "an event is not a chat-completion chunk ({e}): {}",
                crate::assist::schema::clip(data, 300)
            ))
        })?;
        if let Some(err) = chunk.error {
            return Err(Fault::Server(super::error::error_message(
                &serde_json::json!({ "error": err }).to_string(),
            )));
        }
        if chunk.model.is_some() {
            self.model = chunk.model;
        }
        if chunk.system_fingerprint.is_some() {
            self.fingerprint = chunk.system_fingerprint;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        if chunk.timings.is_some() {
            self.timings = chunk.timings;
        }
        let mut text = String::new();
        for choice in chunk.choices {
            if let Some(c) = choice.delta.content {
                text.push_str(&c);
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        if text.is_empty() {
            return Ok(Step::Nothing);
        }
        self.deltas += 1;
        self.text.push_str(&text);
        Ok(Step::Delta(text))
    }

    /// Prompt tokens the server says it reused from its cache.
    pub fn cached_tokens(&self) -> Option<u32> {
        self.usage
            .and_then(|u| u.prompt_tokens_details)
            .and_then(|d| d.cached_tokens)
            .or_else(|| self.timings.and_then(|t| t.cache_n))
    }

    /// The stream ended: complete if `[DONE]` or a finish reason arrived.
    pub fn complete(&self) -> bool {
        self.done || self.finish_reason.is_some()
    }
}

/// A problem inside an otherwise successful (HTTP 200) stream.
#[derive(Debug, PartialEq)]
pub enum Fault {
    Malformed(String),
    Server(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_reads_and_line_endings() {
        let mut d = SseDecoder::default();
        let mut got = Vec::new();
        for part in [
            "data: {\"a\"",
            ":1}\n\n: keep-alive\r",
            "\ndata: x\r\ndata: y\r\n\r\nevent: e\ndata:[DONE]\n",
            "\n",
        ] {
            got.extend(d.push(part.as_bytes()).unwrap());
        }
        assert_eq!(got, ["{\"a\":1}", "x\ny", "[DONE]"]);
        assert!(!d.pending());
        d.push(b"data: half").unwrap();
        assert!(d.pending());
        assert!(SseDecoder::default().push(b"data: \xff\n").is_err());
    }

    #[test]
    fn chunks_accumulate_text_usage_and_finish() {
        let mut r = Reply::default();
        let first = r#"{"model":"smol","system_fingerprint":"b1-abc","choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#;
        assert_eq!(r.apply(first).unwrap(), Step::Nothing);
        let d = r#"{"choices":[{"index":0,"delta":{"content":"{\"cr"}}]}"#;
        assert_eq!(r.apply(d).unwrap(), Step::Delta("{\"cr".into()));
        assert!(!r.complete());
        r.apply(r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#)
            .unwrap();
        r.apply(r#"{"choices":[],"usage":{"prompt_tokens":600,"completion_tokens":42,"total_tokens":642},"timings":{"prompt_n":600,"prompt_ms":1500.5,"predicted_n":42,"predicted_ms":800.0}}"#).unwrap();
        assert_eq!(r.apply(" [DONE]").unwrap(), Step::Done);
        assert!(r.complete());
        assert_eq!(r.text, "{\"cr");
        assert_eq!(
            (r.model.as_deref(), r.fingerprint.as_deref()),
            (Some("smol"), Some("b1-abc"))
        );
        assert_eq!(r.usage.unwrap().completion_tokens, 42);
        assert_eq!(r.timings.unwrap().prompt_ms, 1500.5);
        assert_eq!(r.deltas, 1);
        assert_eq!(r.cached_tokens(), None, "this server did not say");
        r.apply(r#"{"choices":[],"timings":{"prompt_ms":1.0,"predicted_ms":2.0,"cache_n":512}}"#)
            .unwrap();
        assert_eq!(r.cached_tokens(), Some(512), "llama.cpp's cache_n");
        r.apply(r#"{"choices":[],"usage":{"prompt_tokens":600,"completion_tokens":42,"prompt_tokens_details":{"cached_tokens":500}}}"#)
            .unwrap();
        assert_eq!(r.cached_tokens(), Some(500), "usage wins");
    }

    #[test]
    fn errors_in_the_stream_are_faults_with_the_servers_words() {
        let mut r = Reply::default();
        assert_eq!(
            r.apply(r#"{"error":{"code":500,"message":"slot crashed"}}"#),
            Err(Fault::Server("slot crashed".into()))
        );
        assert!(matches!(r.apply("<html>"), Err(Fault::Malformed(_))));
    }
}
