//! Plain observations drawn from the folds of a study's sessions: what the
//! metrics compute over. Nothing here knows about events or the fold, so
//! metric functions are pure and testable on hand-made values.

use crate::assist::{CheckVerdict, Severity};
use crate::session::event::{CritiqueLabel, Preference};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Shared string (task ids, evaluator names and hashes repeat a lot).
pub type Id = Arc<str>;

/// Everything the audit metrics read.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    pub sessions: Vec<SessionInfo>,
    /// Current label of each evaluator on each assistant critique.
    pub critique_labels: Vec<CritiqueLabelObs>,
    /// Flaws the evaluators wrote themselves.
    pub user_critiques: Vec<UserCritiqueObs>,
    /// For each assistant critique on a planted task: does it quote (overlap)
    /// the planted span?
    pub planted_quotes: Vec<bool>,
    pub checks: Vec<CheckObs>,
    /// One per (task, evaluator, step list) with step ratings.
    pub step_paths: Vec<StepPathObs>,
    /// One per (task, evaluator) with any recorded work.
    pub work: Vec<WorkObs>,
    /// Latency from an item first shown to its label, per current label on
    /// assistance where the view events tell when it was shown.
    pub label_latencies: Vec<LatencyObs>,
    /// Verdicts that came in through `crit import` (gold candidates).
    pub imported_verdicts: Vec<(Id, VerdictValue)>,
    /// Planted tasks seen in any session.
    pub planted_tasks: Vec<Id>,
}

/// One session of the study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    pub name: String,
    pub events: usize,
    pub tasks: usize,
    pub evaluators: Vec<String>,
    /// The `assigned` event, when `crit assign` made the session.
    pub design: Option<Design>,
}

/// The study design recorded in a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Design {
    pub study: String,
    pub evaluator: String,
    pub evaluators: Vec<String>,
    pub overlap: usize,
    pub seed: u64,
    pub qc_rate: f64,
    /// Items assigned (regular and planted).
    pub items: usize,
    /// Planted QC items among them.
    pub qc: usize,
    #[serde(skip)]
    pub arms: BTreeMap<String, crate::session::event::Protocol>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CritiqueLabelObs {
    pub task: Id,
    pub evaluator: Id,
    /// SHA-256 of the model file that wrote the critique.
    pub model: Id,
    /// SHA-256 of the prompt template.
    pub template: Id,
    /// Severity the assistant gave.
    pub severity: Severity,
    pub category: Id,
    pub label: CritiqueLabel,
    /// Identifies the critique across sessions (task, quote, comment).
    pub unit: u64,
    /// Did the evaluator focus the critique (its quoted span is then
    /// highlighted) before labelling it?
    pub focused: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserCritiqueObs {
    pub task: Id,
    pub evaluator: Id,
    /// `None`: not comparable (no span, answer B, or no assistant critique
    /// on the task). `Some(true)`: some assistant critique overlaps it.
    pub found_by_assistant: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckObs {
    pub evaluator: Id,
    pub assistant: CheckVerdict,
    pub human: CheckVerdict,
    /// Identifies the check across sessions (task, question).
    pub unit: u64,
    /// Computed by crit's tools (`tool_checks`), not written by a model.
    pub computed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepPathObs {
    pub task: Id,
    pub evaluator: Id,
    /// Steps in the list rated (decomposition or the task's own steps).
    pub steps: usize,
    /// Whether the steps are the assistant's decomposition.
    pub decomposition: bool,
    /// 0-based position of the first step rated -1.
    pub first_error: Option<usize>,
    /// Does an assistant critique overlap the first -1 step? `None` when the
    /// step has no located span or there is no first error.
    pub flagged_by_critique: Option<bool>,
    /// (unit, rating) per rated step, for agreement.
    pub ratings: Vec<(u64, i8)>,
}

/// The value of a verdict, flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerdictValue {
    pub accept: Option<bool>,
    pub score: Option<u8>,
    pub confidence: Option<u8>,
    pub preferred: Option<Preference>,
}

/// One evaluator's work on one task.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkObs {
    pub session: usize,
    pub task: Id,
    pub evaluator: Id,
    /// Protocol arm recorded when the task was opened (else the design's).
    pub arm: Option<Id>,
    pub planted: bool,
    /// An evaluator critique overlaps the planted span.
    pub critique_on_plant: bool,
    pub wrote_critique: bool,
    pub unaided: Option<VerdictValue>,
    pub assisted: Option<VerdictValue>,
    pub active_ms: u64,
}

impl WorkObs {
    /// The verdict that counts: assisted if given, else unaided.
    pub fn verdict(&self) -> Option<&VerdictValue> {
        self.assisted.as_ref().or(self.unaided.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LatencyObs {
    pub evaluator: Id,
    pub ms: i64,
}
