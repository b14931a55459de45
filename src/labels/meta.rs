//! The `meta` object every record carries (inline, in a sidecar, or not at
//! all): where the label came from, so a training row can be traced back to
//! the log. `RecordMeta` is written by the exporters and read back by the
//! importers of crit's own formats.

use super::LabelKind;
use crate::session::event::{Phase, Protocol, Source};
use crate::session::fold::{Stamp, TaskState};
use crate::session::Timestamp;
use serde::{Deserialize, Serialize};

/// Provenance of one record, as written (every field optional on reading:
/// the importers take what is there).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordMeta {
    pub session: String,
    pub task: String,
    pub kind: Option<LabelKind>,
    pub evaluator: String,
    /// Evaluators whose value the record carries (`--resolve majority`).
    pub evaluators: Vec<String>,
    /// Events the record was built from, and their times (same order).
    pub seq: Vec<u64>,
    pub ts: Vec<Timestamp>,
    pub arm: Option<Protocol>,
    pub phase: Option<Phase>,
    /// Assistance events the label is about or was made beside.
    pub assistance_seq: Vec<u64>,
    pub model_sha256: Vec<String>,
    /// Prompt templates.
    pub template_sha256: Vec<String>,
    /// Rendered prompts.
    pub prompt_sha256: Vec<String>,
    /// For imported labels: format, file name (no directory), line, SHA-256.
    pub source: Option<Source>,
}

/// Provenance of one candidate record, before it is rendered.
#[derive(Debug, Clone)]
pub struct Meta {
    pub kind: LabelKind,
    /// Events the record was built from.
    pub stamps: Vec<Stamp>,
    pub arm: Option<Protocol>,
    pub phase: Option<Phase>,
    /// Assistance events (seq) the label is about or was made beside.
    pub assistance: Vec<u64>,
    pub source: Option<Source>,
}

impl Meta {
    pub fn new(kind: LabelKind, stamp: &Stamp) -> Meta {
        Meta {
            kind,
            stamps: vec![*stamp],
            arm: None,
            phase: None,
            assistance: Vec::new(),
            source: None,
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.stamps.iter().map(|s| s.seq).max().unwrap_or(0)
    }

    /// The record's `meta`.
    pub fn render(
        &self,
        session: &str,
        task: &str,
        evaluator: &str,
        evaluators: &[String],
        ts: &TaskState,
    ) -> RecordMeta {
        let mut stamps: Vec<&Stamp> = self.stamps.iter().collect();
        stamps.sort_by_key(|s| s.seq);
        let h = hashes(&self.assistance, ts);
        RecordMeta {
            session: session.to_string(),
            task: task.to_string(),
            kind: Some(self.kind),
            evaluator: evaluator.to_string(),
            evaluators: evaluators.to_vec(),
            seq: stamps.iter().map(|s| s.seq).collect(),
            ts: stamps.iter().map(|s| s.ts).collect(),
            arm: self.arm,
            phase: self.phase,
            assistance_seq: self.assistance.clone(),
            model_sha256: h.models,
            template_sha256: h.templates,
            prompt_sha256: h.prompts,
            source: self.source.as_ref().map(portable),
        }
    }
}

/// A source as exported: the file's name without its directory (logs
/// written before imports stored names kept the importing machine's path).
fn portable(s: &Source) -> Source {
    let mut s = s.clone();
    if let Some(name) = std::path::Path::new(&s.file).file_name() {
        s.file = name.to_string_lossy().into_owned();
    }
    s
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
