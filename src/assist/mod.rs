//! Assistance: what the local model writes to help the evaluator, its typed
//! outputs, and the `Assistant` interface the CLI and the review UI drive.

use crate::task::{Side, Span, Task};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use provenance::{computed_checks, ToolInfo};

pub mod anchor;
pub mod chat;
pub mod engine;
pub mod inject;
pub mod model;
pub mod options;
pub mod prompt;
mod provenance;
pub mod rank;
pub mod remote;
pub mod sampled;
pub mod schema;
pub mod scripted;
pub mod tools;

/// The kinds of assistance; each has a prompt template in `prompts/`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Kind {
    Critique,
    Checks,
    Decompose,
    /// Checks computed by crit's tools (`tools::checks`), no model: never
    /// sent to an assistant; `session::work` has its own rule for them.
    ToolChecks,
}

impl Kind {
    /// The kinds a model generates, in the order they are generated.
    pub const ALL: [Kind; 3] = [Kind::Critique, Kind::Checks, Kind::Decompose];

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Written by a model (through an `Assistant`), not computed by crit.
    pub fn is_model(self) -> bool {
        self != Kind::ToolChecks
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Minor,
    Major,
    Critical,
}

/// One critique as the model wrote it, plus where its quote sits in the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Critique {
    pub quote: String,
    pub comment: String,
    pub severity: Severity,
    pub category: String,
    /// Byte span in the answer the critique is about (of answer `side` for
    /// pairwise tasks): the segment the model chose. `None` means
    /// unanchored, which only imported critiques can be.
    #[serde(default)]
    pub span: Option<Span>,
    /// Which answer of a pairwise task it is about; `None` for single
    /// answers (and in sessions written before pairwise critiques had a
    /// side, where it meant answer A).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// How many sampled critique sets flag the same segment, when several
    /// were sampled and merged (`rank::merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<u32>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CheckVerdict {
    Pass,
    Fail,
    Unsure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub question: String,
    pub method: String,
    pub assistant_verdict: CheckVerdict,
    pub evidence: String,
    /// What the check is about in the answer (tool checks always set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StepKind {
    Step,
    Claim,
    Subquestion,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub kind: StepKind,
    /// The answer text this step covers, when it could be located.
    #[serde(default)]
    pub span: Option<Span>,
    /// The model's one-line restatement of the step (steps are the answer's
    /// own segments; older sessions have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restatement: Option<String>,
    /// What would verify the step, per the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
}

/// Typed output of one assistance request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Output {
    Critique {
        critiques: Vec<Critique>,
    },
    Checks {
        checks: Vec<Check>,
    },
    Decompose {
        steps: Vec<Step>,
    },
    /// Checks computed by crit's tools; each carries the span it checked.
    ToolChecks {
        checks: Vec<Check>,
    },
}

impl Output {
    pub fn kind(&self) -> Kind {
        match self {
            Output::Critique { .. } => Kind::Critique,
            Output::Checks { .. } => Kind::Checks,
            Output::Decompose { .. } => Kind::Decompose,
            Output::ToolChecks { .. } => Kind::ToolChecks,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Output::Critique { critiques } => critiques.len(),
            Output::Checks { checks } | Output::ToolChecks { checks } => checks.len(),
            Output::Decompose { steps } => steps.len(),
        }
    }

    /// The checks, model-written or computed.
    pub fn checks(&self) -> Option<&[Check]> {
        match self {
            Output::Checks { checks } | Output::ToolChecks { checks } => Some(checks),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The model file used, identified by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
}

/// Sampler chain settings (recorded with every assistance event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplerSettings {
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    /// Grammar-constrained (JSON schema of the kind).
    pub grammar: bool,
}

impl Default for SamplerSettings {
    fn default() -> Self {
        SamplerSettings {
            temperature: 0.3,
            top_k: 40,
            top_p: 0.9,
            min_p: 0.05,
            repeat_penalty: 1.15,
            repeat_last_n: 64,
            grammar: true,
        }
    }
}

/// Engine settings chosen by the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineSettings {
    pub n_ctx: u32,
    pub n_threads: i32,
    pub max_tokens: u32,
    pub sampler: SamplerSettings,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            n_ctx: 4096,
            n_threads: default_threads(),
            max_tokens: 512,
            sampler: SamplerSettings::default(),
        }
    }
}

/// Threads from the machine: physical parallelism, never a library default
/// (oversubscription costs two thirds of the speed).
pub fn default_threads() -> i32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as i32)
        .unwrap_or(1)
        .clamp(1, 16)
}

/// Where a piece of assistance came from, recorded with it. Checks
/// computed by crit's tools name the tool (`tool`) and leave out what only
/// a model generation has (template, prompt, sampler, seed, engine and
/// token figures): absent on disk, empty or zero here (see `provenance.rs`,
/// which writes it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Provenance {
    /// The local model file; absent for assistance from a server, which
    /// does not say which file it serves (see `served`).
    #[serde(default)]
    pub model: Option<ModelInfo>,
    /// The server that wrote it, when it came from one (`--backend`).
    #[serde(default)]
    pub served: Option<Served>,
    /// The tool that computed it, when no model wrote it.
    #[serde(default)]
    pub tool: Option<ToolInfo>,
    #[serde(default)]
    pub template_name: String,
    #[serde(default)]
    pub template_sha256: String,
    #[serde(default)]
    pub prompt_sha256: String,
    #[serde(default)]
    pub sampler: Option<SamplerSettings>,
    #[serde(default)]
    pub seed: u32,
    /// The seeds of the critique sets merged into this one (`--samples N`,
    /// `seed` first); empty, and absent on disk, for one sample.
    #[serde(default)]
    pub sample_seeds: Vec<u32>,
    #[serde(default)]
    pub n_ctx: u32,
    #[serde(default)]
    pub n_threads: i32,
    #[serde(default)]
    pub max_tokens: u32,
    pub crit_version: String,
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub gen_tokens: u32,
    #[serde(default)]
    pub prompt_ms: u64,
    #[serde(default)]
    pub gen_ms: u64,
}

/// Assistance from an OpenAI-compatible server: what identifies it beyond
/// the fields every provenance has. For remote assistance `n_threads` is 0
/// (not known) and `n_ctx` is the server's context per slot when it says,
/// else 0; `prompt_sha256` hashes the request's messages as JSON (the server
/// applies its own chat template).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Served {
    /// Backend URL without credentials, query or fragment.
    pub backend: String,
    /// The model id the server answered with.
    pub model: String,
    /// The model name crit asked for (`--model-name`, else the server's first).
    pub requested_model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// HTTP attempts it took (retries after 429/5xx add to it).
    pub attempts: u32,
    /// From sending the request to the first streamed token.
    pub first_token_ms: u64,
    /// Whether `prompt_ms`/`gen_ms` are the server's own timings (llama.cpp
    /// reports them) rather than measured by crit over the network.
    pub server_timings: bool,
    /// Prompt tokens the server reused from its cache instead of processing
    /// them (`usage.prompt_tokens_details.cached_tokens`, else llama.cpp's
    /// `timings.cache_n`); absent when the server does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u32>,
}

impl Provenance {
    /// What produced it: the model file's SHA-256 for local assistance, the
    /// served model id for remote assistance (exports and audits group by
    /// it); empty for computed checks (see `tool`).
    pub fn model_id(&self) -> &str {
        match (&self.model, &self.served) {
            (Some(m), _) => &m.sha256,
            (None, Some(s)) => &s.model,
            (None, None) => "",
        }
    }

    /// Short name for display: the file name, or the served model id.
    pub fn model_name(&self) -> &str {
        match (&self.model, &self.served) {
            (Some(m), _) => &m.file_name,
            (None, Some(s)) => &s.model,
            (None, None) => "",
        }
    }
}

/// Set when the answer did not fit the context and was cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// Bytes of the answer kept in the prompt.
    pub kept_bytes: usize,
    pub total_bytes: usize,
}

/// The seed of attempt `attempt` at `kind` on task `index`: distinct streams
/// per task and kind, reproducible from the base seed; attempt 0 is what
/// `crit generate` and the review UI use first, later attempts (a retry
/// after a failure, `R` in review) move away from it.
pub fn derive_seed(base: u32, index: usize, kind: Kind, attempt: u32) -> u32 {
    let k = Kind::ALL.iter().position(|x| *x == kind).unwrap_or(0) as u32;
    let first = base
        .wrapping_add((index as u32).wrapping_mul(3))
        .wrapping_add(k);
    match attempt {
        0 => first,
        n => first.wrapping_add(0x9E37_79B9u32.wrapping_mul(n)),
    }
}

/// A request for one kind of assistance on one task.
#[derive(Debug, Clone)]
pub struct Request {
    /// Caller-chosen id; echoed in every event for this request.
    pub id: u64,
    pub task: Arc<Task>,
    pub kind: Kind,
    pub seed: u32,
}

/// A finished piece of assistance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assistance {
    pub output: Output,
    /// The raw text the model produced (for audit and for re-parsing);
    /// empty, and absent on disk, for computed checks.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub raw: String,
    pub provenance: Provenance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// Streamed from the assistant to its caller.
#[derive(Debug, Clone)]
pub enum Event {
    Started {
        id: u64,
        prompt_tokens: u32,
        truncated: Option<Truncation>,
    },
    Token {
        id: u64,
        text: String,
    },
    Done {
        id: u64,
        assistance: Arc<Assistance>,
    },
    Failed {
        id: u64,
        error: String,
    },
    Cancelled {
        id: u64,
    },
}

impl Event {
    pub fn id(&self) -> u64 {
        match self {
            Event::Started { id, .. }
            | Event::Token { id, .. }
            | Event::Done { id, .. }
            | Event::Failed { id, .. }
            | Event::Cancelled { id } => *id,
        }
    }
}

pub type EventSender = tokio::sync::mpsc::UnboundedSender<Event>;
pub type EventReceiver = tokio::sync::mpsc::UnboundedReceiver<Event>;

/// Something that writes assistance: the llama.cpp engine, or a scripted
/// backend for tests. Requests are queued and served in order; results come
/// back on the receiver given at construction.
pub trait Assistant: Send {
    fn submit(&self, request: Request);
    /// Cancel a queued or running request; a `Cancelled` event follows.
    fn cancel(&self, id: u64);
    /// Short description for status lines, e.g. the model file name.
    fn name(&self) -> String;
    /// Requests worth keeping in flight at once (a server's slots); the
    /// local engine serves one at a time.
    fn concurrency(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_provenance_reads_with_its_model_and_remote_leaves_it_out() {
        let old = r#"{"model":{"file_name":"m.gguf","size":5,"sha256":"ab"},
            "template_name":"critique","template_sha256":"t","prompt_sha256":"p",
            "sampler":{"temperature":0.3,"top_k":40,"top_p":0.9,"min_p":0.05,
              "repeat_penalty":1.15,"repeat_last_n":64,"grammar":true},
            "seed":1,"n_ctx":4096,"n_threads":2,"max_tokens":512,"crit_version":"0.1.0",
            "prompt_tokens":10,"gen_tokens":5,"prompt_ms":1,"gen_ms":2}"#;
        let mut p: Provenance = serde_json::from_str(old).unwrap();
        assert_eq!(p.model.as_ref().unwrap().file_name, "m.gguf");
        assert!(p.served.is_none());
        assert_eq!((p.model_id(), p.model_name()), ("ab", "m.gguf"));
        let local = serde_json::to_value(&p).unwrap();
        assert!(local.get("served").is_none(), "local logs keep their shape");

        p.model = None;
        p.served = Some(Served {
            backend: "http://h/v1".into(),
            model: "qwen".into(),
            requested_model: "qwen".into(),
            system_fingerprint: None,
            finish_reason: Some("stop".into()),
            attempts: 1,
            first_token_ms: 3,
            server_timings: false,
            cached_tokens: None,
        });
        let v = serde_json::to_value(&p).unwrap();
        assert!(v.get("model").is_none(), "absent, not faked");
        assert_eq!(v["served"]["model"], "qwen");
        assert_eq!(p.model_id(), "qwen");
        let back: Provenance = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }
}
