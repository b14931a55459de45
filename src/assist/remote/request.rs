//! The backend's address and the body of one chat-completions request.
//!
//! The body carries the same messages the local engine renders (system,
//! worked-example turns, user) and the kind's JSON schema verbatim: the
//! schema's property order steers the output's field order (a critique's
//! quote before its comment), so it is embedded as raw JSON rather than
//! rebuilt through `serde_json::Value`, which would sort the keys.

use super::error::RemoteError;
use crate::assist::prompt::Messages;
use crate::assist::{schema, Kind, SamplerSettings};
use crate::task::Task;
use reqwest::Url;
use serde::Serialize;
use serde_json::value::RawValue;

/// Where the server is: the API base as OpenAI clients take it
/// (`http://host:8080/v1`). A bare `host:port` means `host:port/v1`.
#[derive(Clone)]
pub struct Endpoint {
    base: Url,
}

/// Shows the URL without credentials.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({})", self.redacted())
    }
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, RemoteError> {
        let bad = |reason: &str| RemoteError::BadUrl {
            url: redact_text(text),
            reason: reason.into(),
        };
        let mut base = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("use an http:// or https:// URL"));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(bad("the URL has no host"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("give the API base without a query or fragment"));
        }
        let path = base.path().trim_end_matches('/').to_string();
        base.set_path(if path.is_empty() { "/v1" } else { &path });
        Ok(Endpoint { base })
    }

    /// `{base}/{path}`.
    pub fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        u.set_path(&format!("{}/{}", self.base.path(), path));
        u
    }

    /// The server's root (the base without a trailing `/v1`): llama.cpp
    /// serves `/props` and `/health` there.
    pub fn root_url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        let root = self.base.path().trim_end_matches("/v1");
        u.set_path(&format!("{root}/{path}"));
        u
    }

    /// `text` with this URL's credentials taken out (an HTTP library's
    /// message may quote the URL it was given).
    pub fn scrub(&self, text: &str) -> String {
        let user = self.base.username();
        match (user, self.base.password()) {
            ("", None) => text.to_string(),
            (u, Some(pw)) => text.replace(&format!("{u}:{pw}@"), ""),
            (u, None) => text.replace(&format!("{u}@"), ""),
        }
    }

    /// The base URL without credentials: safe for provenance and logs.
    pub fn redacted(&self) -> String {
        let mut u = self.base.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    }
}

/// A URL as typed, minus anything that looks like credentials (for error
/// messages about URLs that did not parse).
fn redact_text(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &text[..s + 3], &text[at..]),
        _ => text.to_string(),
    }
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

/// The chat messages of a rendered prompt, in order.
fn messages(msgs: &Messages) -> Vec<Message<'_>> {
    let mut out = Vec::with_capacity(2 + 2 * msgs.examples.len());
    if let Some(system) = &msgs.system {
        out.push(Message {
            role: "system",
            content: system,
        });
    }
    for (user, assistant) in &msgs.examples {
        out.push(Message {
            role: "user",
            content: user,
        });
        out.push(Message {
            role: "assistant",
            content: assistant,
        });
    }
    out.push(Message {
        role: "user",
        content: &msgs.user,
    });
    out
}

/// SHA-256 of the messages as JSON: what the server was asked, before its
/// own chat template.
pub fn messages_sha256(msgs: &Messages) -> String {
    let json = serde_json::to_vec(&messages(msgs)).unwrap_or_default();
    crate::hash::sha256_hex(&json)
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct JsonSchema<'a> {
    name: &'static str,
    schema: &'a RawValue,
}

#[derive(Serialize)]
struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: JsonSchema<'a>,
}

/// The request body. Sampler fields outside OpenAI's API (`top_k`, `min_p`,
/// the repetition penalty) are sent under the names llama.cpp and vLLM use;
/// servers ignore fields they do not know.
#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    stream: bool,
    stream_options: StreamOptions,
    response_format: ResponseFormat<'a>,
    seed: u32,
    temperature: f32,
    top_p: f32,
    top_k: i32,
    min_p: f32,
    repeat_penalty: f32,
    repetition_penalty: f32,
    repeat_last_n: i32,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_prompt: Option<bool>,
}

/// What one request asks for besides the messages.
pub struct Ask<'a> {
    pub model: &'a str,
    pub kind: Kind,
    /// The task, for its own schema (quotes are its segments).
    pub task: &'a Task,
    pub sampler: &'a SamplerSettings,
    pub seed: u32,
    pub max_tokens: u32,
    /// llama.cpp's `cache_prompt`, sent only when set.
    pub cache_prompt: Option<bool>,
}

/// The JSON body of a streamed, schema-constrained chat completion.
pub fn chat_body(msgs: &Messages, ask: &Ask<'_>) -> Vec<u8> {
    let schema_text = schema::task_schema(ask.kind, ask.task);
    let schema = RawValue::from_string(schema_text).expect("crit's schemas are JSON");
    let s = ask.sampler;
    let body = ChatRequest {
        model: ask.model,
        messages: messages(msgs),
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
        response_format: ResponseFormat {
            kind: "json_schema",
            json_schema: JsonSchema {
                name: ask.kind.name(),
                schema: &schema,
            },
        },
        seed: ask.seed,
        temperature: s.temperature,
        top_p: s.top_p,
        top_k: s.top_k,
        min_p: s.min_p,
        repeat_penalty: s.repeat_penalty,
        repetition_penalty: s.repeat_penalty,
        repeat_last_n: s.repeat_last_n,
        max_tokens: ask.max_tokens,
        cache_prompt: ask.cache_prompt,
    };
    serde_json::to_vec(&body).expect("the request body serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_default_to_v1_and_drop_credentials() {
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            e.url("chat/completions").as_str(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(e.root_url("props").as_str(), "http://127.0.0.1:8080/props");
        let e = Endpoint::parse("https://bob:s3cret@gpu.example:8000/v1/").unwrap();
        assert_eq!(e.redacted(), "https://gpu.example:8000/v1");
        assert_eq!(
            e.url("models").as_str(),
            "https://bob:s3cret@gpu.example:8000/v1/models"
        );
        assert_eq!(
            e.scrub("error sending request for url (https://bob:s3cret@gpu.example:8000/v1/x)"),
            "error sending request for url (https://gpu.example:8000/v1/x)"
        );
        let e = Endpoint::parse("http://h/api/openai/v1").unwrap();
        assert_eq!(e.root_url("props").as_str(), "http://h/api/openai/props");
        for bad in [
            "localhost:8080",
            "ftp://h/v1",
            "http://h/v1?key=1",
            "not a url",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        let err = Endpoint::parse("ftp://u:pw@h").unwrap_err().to_string();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn body_keeps_message_order_and_schema_property_order() {
        let msgs = Messages {
            system: Some("S".into()),
            examples: vec![("EU".into(), "EA".into())],
            user: "U".into(),
        };
        let sampler = SamplerSettings::default();
        let task = Task {
            id: "t".into(),
            prompt: "p".into(),
            answer: "One.\nTwo.".into(),
            answer_b: None,
            reference: None,
            steps: None,
            meta: Default::default(),
        };
        let mut ask = Ask {
            model: "m",
            kind: Kind::Critique,
            task: &task,
            sampler: &sampler,
            seed: 7,
            max_tokens: 99,
            cache_prompt: None,
        };
        let text = String::from_utf8(chat_body(&msgs, &ask)).unwrap();
        assert!(
            !text.contains("cache_prompt"),
            "only llama.cpp knows the field: sent only when asked"
        );
        ask.cache_prompt = Some(false);
        let off: serde_json::Value = serde_json::from_slice(&chat_body(&msgs, &ask)).unwrap();
        assert_eq!(off["cache_prompt"], false);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let roles: Vec<&str> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        assert_eq!(v["messages"][3]["content"], "U");
        assert_eq!(v["response_format"]["type"], "json_schema");
        assert_eq!(v["response_format"]["json_schema"]["name"], "critique");
        assert_eq!(
            v["response_format"]["json_schema"]["schema"],
            serde_json::from_str::<serde_json::Value>(&schema::task_schema(Kind::Critique, &task))
                .unwrap()
        );
        let quote = &v["response_format"]["json_schema"]["schema"]["properties"]["critiques"]
            ["items"]["properties"]["quote"];
        assert_eq!(
            quote["enum"],
            serde_json::json!(["One.", "Two."]),
            "quotes are the answer's segments"
        );
        assert!(text.find("\"quote\"").unwrap() < text.find("\"comment\"").unwrap());
        assert_eq!(
            (v["seed"].as_u64(), v["max_tokens"].as_u64()),
            (Some(7), Some(99))
        );
        assert_eq!(v["stream"], true);
        assert_eq!(v["top_k"], sampler.top_k);
        assert_eq!(messages_sha256(&msgs).len(), 64);
    }
}
