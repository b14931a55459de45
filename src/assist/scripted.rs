//! A scripted `Assistant` for tests, snapshots and benches: per request it
//! streams the JSON of a fixed output as tokens, then `Done` with
//! deterministic provenance. No model, no randomness.

use super::{
    anchor, Assistance, Assistant, Check, CheckVerdict, Critique, Event, EventSender, Kind,
    ModelInfo, Output, Provenance, Request, SamplerSettings, Severity, Step, StepKind,
};
use crate::task::{Span, Task};
use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

enum Cmd {
    Submit(Request),
    Stop,
}

/// Produces the output for a request; the default derives it from the task.
pub type Script = Arc<dyn Fn(&Task, Kind) -> Output + Send + Sync>;

/// The scripted backend. Requests are served in order on one thread, like
/// the real engine.
pub struct Scripted {
    tx: mpsc::Sender<Cmd>,
    cancelled: Arc<Mutex<HashSet<u64>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How the scripted backend behaves.
#[derive(Clone)]
pub struct ScriptConfig {
    /// Pause between streamed tokens.
    pub token_delay: Duration,
    /// Characters per streamed token.
    pub token_chars: usize,
    pub script: Script,
    /// Kinds that fail instead of producing output.
    pub fail: Vec<Kind>,
}

impl Default for ScriptConfig {
    fn default() -> Self {
        ScriptConfig {
            token_delay: Duration::ZERO,
            token_chars: 16,
            script: Arc::new(default_output),
            fail: Vec::new(),
        }
    }
}

impl Scripted {
    pub fn new(events: EventSender) -> Scripted {
        Scripted::with_config(events, ScriptConfig::default())
    }

    pub fn with_config(events: EventSender, config: ScriptConfig) -> Scripted {
        let (tx, rx) = mpsc::channel();
        let cancelled = Arc::new(Mutex::new(HashSet::new()));
        let flags = cancelled.clone();
        let thread = std::thread::Builder::new()
            .name("crit-scripted".into())
            .spawn(move || serve(rx, events, flags, config))
            .expect("spawning the scripted assistant thread");
        Scripted {
            tx,
            cancelled,
            thread: Some(thread),
        }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        let _ = self.tx.send(Cmd::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Assistant for Scripted {
    fn submit(&self, request: Request) {
        let _ = self.tx.send(Cmd::Submit(request));
    }

    fn cancel(&self, id: u64) {
        self.cancelled.lock().unwrap().insert(id);
    }

    fn name(&self) -> String {
        "scripted".to_string()
    }
}

fn serve(
    rx: mpsc::Receiver<Cmd>,
    events: EventSender,
    cancelled: Arc<Mutex<HashSet<u64>>>,
    config: ScriptConfig,
) {
    while let Ok(Cmd::Submit(req)) = rx.recv() {
        let is_cancelled = || cancelled.lock().unwrap().remove(&req.id);
        if is_cancelled() {
            let _ = events.send(Event::Cancelled { id: req.id });
            continue;
        }
        if stream_one(&req, &events, &config, &is_cancelled).is_err() {
            return; // receiver gone: nobody is listening
        }
    }
}

fn stream_one(
    req: &Request,
    events: &EventSender,
    config: &ScriptConfig,
    is_cancelled: &dyn Fn() -> bool,
) -> Result<(), ()> {
    let send = |e| events.send(e).map_err(|_| ());
    send(Event::Started {
        id: req.id,
        prompt_tokens: (req.task.answer.len() / 4) as u32,
        truncated: None,
    })?;
    let output = (config.script)(&req.task, req.kind);
    let raw = serde_json::to_string(&output).expect("outputs serialize");
    let chars: Vec<char> = raw.chars().collect();
    let mut tokens = 0u32;
    for chunk in chars.chunks(config.token_chars.max(1)) {
        if is_cancelled() {
            return send(Event::Cancelled { id: req.id });
        }
        if !config.token_delay.is_zero() {
            std::thread::sleep(config.token_delay);
        }
        tokens += 1;
        send(Event::Token {
            id: req.id,
            text: chunk.iter().collect(),
        })?;
    }
    if config.fail.contains(&req.kind) {
        return send(Event::Failed {
            id: req.id,
            error: "scripted failure".into(),
        });
    }
    let assistance = Assistance {
        output,
        raw,
        provenance: provenance(req, tokens),
        truncated: None,
    };
    send(Event::Done {
        id: req.id,
        assistance: Arc::new(assistance),
    })
}

/// Fixed provenance: the scripted backend stands in for a model file.
pub fn provenance(req: &Request, gen_tokens: u32) -> Provenance {
    Provenance {
        model: Some(ModelInfo {
            file_name: "scripted".into(),
            size: 0,
            sha256: "0".repeat(64),
        }),
        served: None,
        tool: None,
        template_name: req.kind.name().into(),
        template_sha256: "0".repeat(64),
        prompt_sha256: crate::hash::sha256_hex(req.task.answer.as_bytes()),
        sampler: Some(SamplerSettings::default()),
        seed: req.seed,
        sample_seeds: Vec::new(),
        n_ctx: 4096,
        n_threads: 1,
        max_tokens: 512,
        crit_version: crate::VERSION.into(),
        prompt_tokens: (req.task.answer.len() / 4) as u32,
        gen_tokens,
        prompt_ms: 0,
        gen_ms: 0,
    }
}

/// The default script: three critiques (two anchored in the answer, one
/// not), three checks, and one step per sentence of the answer.
pub fn default_output(task: &Task, kind: Kind) -> Output {
    match kind {
        Kind::Critique => Output::Critique {
            critiques: default_critiques(&task.answer),
        },
        Kind::Checks => Output::Checks {
            checks: default_checks(),
        },
        Kind::Decompose => Output::Decompose {
            steps: sentence_steps(&task.answer),
        },
        Kind::ToolChecks => Output::ToolChecks {
            checks: super::tools::checks(task),
        },
    }
}

fn default_critiques(answer: &str) -> Vec<Critique> {
    let first = leading_words(answer, 4);
    let last = trailing_words(answer, 3);
    let mut out = vec![critique(
        answer,
        &first,
        "The opening claim is stated without support.",
        Severity::Major,
        "reasoning",
    )];
    out.push(critique(
        answer,
        "a sentence that the answer never says",
        "Quotes text that is not in the answer.",
        Severity::Minor,
        "style",
    ));
    out.push(critique(
        answer,
        &last,
        "The final result does not follow from the steps.",
        Severity::Critical,
        "correctness",
    ));
    out
}

/// Build a critique and anchor its quote in `answer`.
pub fn critique(
    answer: &str,
    quote: &str,
    comment: &str,
    severity: Severity,
    category: &str,
) -> Critique {
    Critique {
        quote: quote.into(),
        comment: comment.into(),
        severity,
        category: category.into(),
        span: anchor::find(answer, quote),
        side: None,
        agreement: None,
    }
}

fn default_checks() -> Vec<Check> {
    let check = |q: &str, m: &str, v, e: &str| Check {
        question: q.into(),
        method: m.into(),
        assistant_verdict: v,
        evidence: e.into(),
        span: None,
    };
    vec![
        check(
            "Does the answer address the question asked?",
            "Compare the answer's conclusion with the prompt.",
            CheckVerdict::Pass,
            "The conclusion answers the prompt directly.",
        ),
        check(
            "Is the arithmetic correct?",
            "Recompute each calculation.",
            CheckVerdict::Fail,
            "One intermediate result differs.",
        ),
        check(
            "Are all assumptions stated?",
            "List the premises used.",
            CheckVerdict::Unsure,
            "An assumption may be implicit.",
        ),
    ]
}

/// One step per sentence or line of the answer, each with its span.
pub fn sentence_steps(answer: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut start = 0;
    for (i, c) in answer.char_indices() {
        let end = i + c.len_utf8();
        let boundary = matches!(c, '.' | '!' | '?' | '\n')
            && answer[end..].chars().next().is_none_or(char::is_whitespace);
        if boundary || end == answer.len() {
            push_step(&mut steps, answer, start, end);
            start = end;
        }
    }
    steps
}

fn push_step(steps: &mut Vec<Step>, answer: &str, start: usize, end: usize) {
    let text = &answer[start..end];
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return;
    }
    let lead = text.len() - text.trim_start().len();
    let s = start + lead;
    steps.push(Step {
        id: format!("s{}", steps.len() + 1),
        text: trimmed.into(),
        parent: None,
        kind: StepKind::Step,
        span: Some(Span {
            start: s,
            end: s + trimmed.len(),
        }),
        restatement: None,
        verify: None,
    });
}

fn leading_words(text: &str, n: usize) -> String {
    text.split_whitespace()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

fn trailing_words(text: &str, n: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words[words.len().saturating_sub(n)..].join(" ")
}

/// A script that returns fixed outputs per kind (for benches and tests).
pub fn fixed(outputs: BTreeMap<Kind, Output>) -> Script {
    Arc::new(move |task, kind| {
        outputs
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| default_output(task, kind))
    })
}
