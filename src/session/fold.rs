//! What one task's events add up to. [`super::Replay`] owns one
//! [`TaskState`] per task and applies events to it; retracted events are
//! skipped, so a retraction restores whatever its target replaced.

use super::event::{
    Body, Event, FailReason, LabelValue, Phase, Protocol, Side, Source, Target, Verdict, ViewAction,
};
use super::time::Timestamp;
use crate::assist::{Assistance, Kind, Severity};
use crate::task::Span;
use std::collections::BTreeMap;
use std::sync::Arc;

/// When and by which event something was recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    pub seq: u64,
    pub ts: Timestamp,
}

impl Stamp {
    pub fn of(event: &Event) -> Stamp {
        Stamp {
            seq: event.seq,
            ts: event.ts,
        }
    }
}

/// One piece of assistance, shared with the event it came from.
#[derive(Debug, Clone)]
pub struct AssistRecord {
    pub stamp: Stamp,
    pub assistance: Arc<Assistance>,
}

/// A generation that did not finish.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    pub stamp: Stamp,
    pub kind: Kind,
    pub reason: FailReason,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelRecord {
    pub stamp: Stamp,
    pub value: LabelValue,
    pub source: Option<Source>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserCritiqueRecord {
    pub stamp: Stamp,
    pub evaluator: String,
    pub span: Option<Span>,
    pub quote: String,
    pub comment: String,
    pub severity: Severity,
    pub category: String,
    pub side: Side,
    pub source: Option<Source>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerdictRecord {
    pub stamp: Stamp,
    pub verdict: Verdict,
    pub source: Option<Source>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CorrectionRecord {
    pub stamp: Stamp,
    pub text: String,
}

/// Everything one evaluator recorded on one task.
#[derive(Debug, Clone, Default)]
pub struct EvaluatorWork {
    /// Latest label per target.
    pub labels: BTreeMap<Target, LabelRecord>,
    pub correction: Option<CorrectionRecord>,
    /// Latest verdict per phase.
    pub verdicts: BTreeMap<Phase, VerdictRecord>,
    pub active_ms: u64,
    /// Arm of the protocol this evaluator saw for this task.
    pub arm: Option<Protocol>,
    pub revealed: bool,
}

impl EvaluatorWork {
    /// The verdict that counts: assisted if given, else unaided.
    pub fn final_verdict(&self) -> Option<&VerdictRecord> {
        self.verdicts
            .get(&Phase::Assisted)
            .or_else(|| self.verdicts.get(&Phase::Unaided))
    }
}

#[derive(Debug, Clone, Default)]
pub struct TaskState {
    /// Every assistance generated, oldest first, per kind; the last is current.
    pub assistance: BTreeMap<Kind, Vec<AssistRecord>>,
    pub failures: Vec<FailureRecord>,
    pub user_critiques: Vec<UserCritiqueRecord>,
    pub by_evaluator: BTreeMap<String, EvaluatorWork>,
}

impl TaskState {
    pub fn current(&self, kind: Kind) -> Option<&AssistRecord> {
        self.assistance.get(&kind).and_then(|v| v.last())
    }

    /// Has any evaluator recorded a verdict?
    pub fn has_verdict(&self) -> bool {
        self.by_evaluator.values().any(|w| !w.verdicts.is_empty())
    }

    pub fn find_assistance(&self, seq: u64) -> Option<&AssistRecord> {
        self.assistance
            .values()
            .flat_map(|v| v.iter())
            .find(|r| r.stamp.seq == seq)
    }

    /// The latest failure of `kind`, if any.
    pub fn last_failure(&self, kind: Kind) -> Option<&FailureRecord> {
        self.failures.iter().rev().find(|f| f.kind == kind)
    }

    /// Fold one (not retracted) event about this task.
    pub fn apply(&mut self, event: &Event) {
        let stamp = Stamp::of(event);
        match &event.body {
            Body::Assistance { assistance, .. } => {
                let kind = assistance.output.kind();
                let record = AssistRecord {
                    stamp,
                    assistance: assistance.clone(),
                };
                self.assistance.entry(kind).or_default().push(record);
            }
            Body::AssistanceFailed {
                kind,
                reason,
                error,
                ..
            } => self.failures.push(FailureRecord {
                stamp,
                kind: *kind,
                reason: *reason,
                error: error.clone(),
            }),
            Body::UserCritique { .. } => {
                self.user_critiques.push(user_critique(stamp, &event.body))
            }
            body => {
                if let Some(evaluator) = body.evaluator() {
                    let work = self.by_evaluator.entry(evaluator.to_string()).or_default();
                    apply_own(work, stamp, body);
                }
            }
        }
    }
}

fn user_critique(stamp: Stamp, body: &Body) -> UserCritiqueRecord {
    let Body::UserCritique {
        evaluator,
        span,
        quote,
        comment,
        severity,
        category,
        answer,
        source,
        ..
    } = body
    else {
        unreachable!("called on user critiques only")
    };
    UserCritiqueRecord {
        stamp,
        evaluator: evaluator.clone(),
        span: *span,
        quote: quote.clone(),
        comment: comment.clone(),
        severity: *severity,
        category: category.clone(),
        side: answer.unwrap_or(Side::A),
        source: source.clone(),
    }
}

/// Events that belong to one evaluator's work on the task.
fn apply_own(work: &mut EvaluatorWork, stamp: Stamp, body: &Body) {
    match body {
        Body::Label {
            target,
            value,
            source,
            ..
        } => {
            let record = LabelRecord {
                stamp,
                value: value.clone(),
                source: source.clone(),
            };
            work.labels.insert(target.clone(), record);
        }
        Body::Correction { text, .. } => {
            work.correction = Some(CorrectionRecord {
                stamp,
                text: text.clone(),
            })
        }
        Body::Verdict {
            verdict,
            phase,
            source,
            ..
        } => {
            let record = VerdictRecord {
                stamp,
                verdict: verdict.clone(),
                source: source.clone(),
            };
            work.verdicts.insert(*phase, record);
        }
        Body::ActiveTime { ms, .. } => work.active_ms += ms,
        Body::View { action, .. } => match action {
            ViewAction::TaskOpened { arm: Some(arm) } => work.arm = Some(*arm),
            ViewAction::AssistanceRevealed => work.revealed = true,
            _ => {}
        },
        _ => {}
    }
}
