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

    fn last_ts(&self) -> &str {
        self.stamps
            .iter()
            .max_by_key(|s| s.seq)
            .map_or("", |s| s.ts.as_str())
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
        let mut seq: Vec<u64> = self.stamps.iter().map(|s| s.seq).collect();
        seq.sort_unstable();
        let (models, templates) = hashes(&self.assistance, ts);
        json!({
            "session": session,
            "task": task,
            "kind": self.kind.name(),
            "evaluator": evaluator,
            "evaluators": evaluators,
            "seq": seq,
            "ts": self.last_ts(),
            "arm": self.arm,
            "phase": self.phase,
            "assistance_seq": self.assistance,
            "model_sha256": models,
            "template_sha256": templates,
            "source": self.source,
        })
    }
}

/// Distinct model and prompt-template SHA-256s of the given assistance.
fn hashes(seqs: &[u64], ts: &TaskState) -> (Vec<String>, Vec<String>) {
    let mut models = Vec::new();
    let mut templates = Vec::new();
    for seq in seqs {
        if let Some(rec) = ts.find_assistance(*seq) {
            let p = &rec.assistance.provenance;
            push_unique(&mut models, &p.model.sha256);
            push_unique(&mut templates, &p.template_sha256);
        }
    }
    (models, templates)
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
