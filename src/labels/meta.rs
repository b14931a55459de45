//! The `meta` object every record carries (unless `--no-meta`): where the
//! label came from, so a training row can be traced back to the log.

use super::LabelKind;
use crate::session::event::Source;
use crate::session::fold::{Stamp, TaskState};
use serde_json::{json, Value};

/// Provenance of one candidate record.
#[derive(Debug, Clone)]
pub struct Meta {
    pub kind: LabelKind,
    /// Events the record was built from.
    pub stamps: Vec<Stamp>,
    pub arm: Option<String>,
    pub phase: Option<&'static str>,
    /// Assistance events (seq) the label is about or was made beside.
    pub assistance: Vec<u64>,
    pub source: Option<Source>,
}

impl Meta {
    pub fn new(kind: LabelKind, stamp: &Stamp) -> Meta {
        Meta {
            kind,
            stamps: vec![stamp.clone()],
            arm: None,
            phase: None,
            assistance: Vec::new(),
            source: None,
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.stamps.iter().map(|s| s.seq).max().unwrap_or(0)
    }

    /// The JSON object written as `meta`.
    pub fn render(
        &self,
        session: &str,
        task: &str,
        evaluator: &str,
        evaluators: &[String],
        ts: &TaskState,
    ) -> Value {
        let mut stamps: Vec<&Stamp> = self.stamps.iter().collect();
        stamps.sort_by_key(|s| s.seq);
        let seq: Vec<u64> = stamps.iter().map(|s| s.seq).collect();
        let times: Vec<&str> = stamps.iter().map(|s| s.ts.as_str()).collect();
        let h = hashes(&self.assistance, ts);
        json!({
            "session": session,
            "task": task,
            "kind": self.kind.name(),
            "evaluator": evaluator,
            "evaluators": evaluators,
            "seq": seq,
            "ts": times,
            "arm": self.arm,
            "phase": self.phase,
            "assistance_seq": self.assistance,
            "model_sha256": h.models,
            "template_sha256": h.templates,
            "prompt_sha256": h.prompts,
            "source": self.source,
        })
    }
}

/// Distinct SHA-256s of the assistance a record is about or was made beside.
#[derive(Default)]
struct Hashes {
    models: Vec<String>,
    /// Prompt templates.
    templates: Vec<String>,
    /// Rendered prompts.
    prompts: Vec<String>,
}

fn hashes(seqs: &[u64], ts: &TaskState) -> Hashes {
    let mut h = Hashes::default();
    for seq in seqs {
        if let Some(rec) = ts.find_assistance(*seq) {
            let p = &rec.assistance.provenance;
            push_unique(&mut h.models, p.model_id());
            push_unique(&mut h.templates, &p.template_sha256);
            push_unique(&mut h.prompts, &p.prompt_sha256);
        }
    }
    h
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// The assistance shown on the task before `seq`: the latest of each kind.
pub fn shown_before(ts: &TaskState, seq: u64) -> Vec<u64> {
    ts.assistance
        .values()
        .filter_map(|versions| versions.iter().rev().find(|r| r.stamp.seq < seq))
        .map(|r| r.stamp.seq)
        .collect()
}
