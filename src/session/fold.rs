//! Folding events into review state. Retracted events are dropped before the
//! fold, so a retraction restores whatever the target replaced.

use super::event::{Body, Event, LabelValue, Phase, Source, Target, Verdict, ViewAction};
use crate::assist::{Assistance, Kind, Severity};
use crate::task::{Span, Task};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// When and by which event something was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamp {
    pub seq: u64,
    pub ts: String,
}

#[derive(Debug, Clone)]
pub struct AssistRecord {
    pub stamp: Stamp,
    pub assistance: Arc<Assistance>,
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
    pub answer_b: bool,
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
    pub labels: HashMap<Target, LabelRecord>,
    pub correction: Option<CorrectionRecord>,
    /// Latest verdict per phase.
    pub verdicts: BTreeMap<PhaseKey, VerdictRecord>,
    pub active_ms: u64,
    /// Arm of the protocol this evaluator saw for this task.
    pub arm: Option<String>,
    pub revealed: bool,
}

/// `Phase` ordered for map keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PhaseKey {
    Unaided,
    Assisted,
}

impl From<Phase> for PhaseKey {
    fn from(p: Phase) -> Self {
        match p {
            Phase::Unaided => PhaseKey::Unaided,
            Phase::Assisted => PhaseKey::Assisted,
        }
    }
}

impl EvaluatorWork {
    /// The verdict that counts: assisted if given, else unaided.
    pub fn final_verdict(&self) -> Option<&VerdictRecord> {
        self.verdicts
            .get(&PhaseKey::Assisted)
            .or_else(|| self.verdicts.get(&PhaseKey::Unaided))
    }
}

#[derive(Debug, Clone, Default)]
pub struct TaskState {
    /// Every assistance generated, oldest first, per kind; the last is current.
    pub assistance: BTreeMap<Kind, Vec<AssistRecord>>,
    pub failures: Vec<(Kind, String)>,
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
}

/// Review state of a whole session.
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    pub tasks: Vec<Arc<Task>>,
    pub states: Vec<TaskState>,
    index: HashMap<String, usize>,
    pub retracted: HashSet<u64>,
    /// Last view action per evaluator: (task, action), for resume.
    pub last_view: HashMap<String, (String, ViewAction)>,
    /// Task ids of the latest `task_opened` per evaluator.
    pub last_task: HashMap<String, String>,
    pub last_seq: u64,
}

impl SessionState {
    pub fn index_of(&self, task_id: &str) -> Option<usize> {
        self.index.get(task_id).copied()
    }

    pub fn task_state(&self, task_id: &str) -> Option<&TaskState> {
        self.index_of(task_id).map(|i| &self.states[i])
    }

    pub fn evaluators(&self) -> Vec<String> {
        let mut set: Vec<String> = self
            .states
            .iter()
            .flat_map(|s| s.by_evaluator.keys().cloned())
            .collect();
        set.sort();
        set.dedup();
        set
    }
}

/// Fold all `events` over `tasks`.
pub fn fold(tasks: &[Task], events: &[Event]) -> SessionState {
    let mut state = SessionState {
        tasks: tasks.iter().cloned().map(Arc::new).collect(),
        states: vec![TaskState::default(); tasks.len()],
        index: tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect(),
        ..Default::default()
    };
    state.retracted = events
        .iter()
        .filter_map(|e| match &e.body {
            Body::Retract { target_seq, .. } => Some(*target_seq),
            _ => None,
        })
        .collect();
    for event in events {
        apply(&mut state, event);
    }
    state
}

/// Fold the events up to and including `seq` (replay at a point in time).
pub fn fold_until(tasks: &[Task], events: &[Event], seq: u64) -> SessionState {
    let end = events.partition_point(|e| e.seq <= seq);
    fold(tasks, &events[..end])
}

fn apply(state: &mut SessionState, event: &Event) {
    state.last_seq = event.seq;
    if state.retracted.contains(&event.seq) {
        return;
    }
    let stamp = Stamp {
        seq: event.seq,
        ts: event.ts.clone(),
    };
    let Some(i) = event.body.task().and_then(|t| state.index.get(t).copied()) else {
        return;
    };
    let ts = &mut state.states[i];
    match &event.body {
        Body::Assistance {
            kind, assistance, ..
        } => ts.assistance.entry(*kind).or_default().push(AssistRecord {
            stamp,
            assistance: Arc::new((**assistance).clone()),
        }),
        Body::AssistanceFailed { kind, error, .. } => ts.failures.push((*kind, error.clone())),
        Body::Label {
            evaluator,
            target,
            value,
            source,
            ..
        } => {
            let work = ts.by_evaluator.entry(evaluator.clone()).or_default();
            work.labels.insert(
                target.clone(),
                LabelRecord {
                    stamp,
                    value: value.clone(),
                    source: source.clone(),
                },
            );
        }
        Body::UserCritique {
            evaluator,
            span,
            quote,
            comment,
            severity,
            category,
            answer,
            source,
            ..
        } => ts.user_critiques.push(UserCritiqueRecord {
            stamp,
            evaluator: evaluator.clone(),
            span: *span,
            quote: quote.clone(),
            comment: comment.clone(),
            severity: *severity,
            category: category.clone(),
            answer_b: matches!(answer, Some(super::event::Side::B)),
            source: source.clone(),
        }),
        Body::Correction {
            evaluator, text, ..
        } => {
            let work = ts.by_evaluator.entry(evaluator.clone()).or_default();
            work.correction = Some(CorrectionRecord {
                stamp,
                text: text.clone(),
            });
        }
        Body::Verdict {
            evaluator,
            verdict,
            phase,
            source,
            ..
        } => {
            let work = ts.by_evaluator.entry(evaluator.clone()).or_default();
            work.verdicts.insert(
                (*phase).into(),
                VerdictRecord {
                    stamp,
                    verdict: verdict.clone(),
                    source: source.clone(),
                },
            );
        }
        Body::ActiveTime { evaluator, ms, .. } => {
            ts.by_evaluator.entry(evaluator.clone()).or_default().active_ms += ms;
        }
        Body::View {
            task,
            evaluator,
            action,
        } => {
            let work = ts.by_evaluator.entry(evaluator.clone()).or_default();
            match action {
                ViewAction::TaskOpened { arm } => {
                    if arm.is_some() {
                        work.arm = arm.clone();
                    }
                    state.last_task.insert(evaluator.clone(), task.clone());
                }
                ViewAction::AssistanceRevealed => work.revealed = true,
                _ => {}
            }
            state
                .last_view
                .insert(evaluator.clone(), (task.clone(), action.clone()));
        }
        _ => {}
    }
}
