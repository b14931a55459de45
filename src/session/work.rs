//! What a task still needs from the assistant, and the event that records
//! each finished request. `crit generate` and the review UI both ask here,
//! so they agree on what is missing and record results the same way.
//!
//! Tool checks (`Kind::ToolChecks`) have their own rule: they need no
//! model, so they are computed on the spot ([`tool_checks`]) whenever a
//! task has none ([`needs_tool_checks`]); no attempts, no seeds.

use super::event::{Body, FailReason};
use super::fold::TaskState;
use crate::assist::{self, Kind};
use crate::task::Task;

/// Failed attempts after which a kind is left alone until asked for again
/// (`R` in review).
pub const MAX_ATTEMPTS: u32 = 3;

/// One piece of assistance a task still lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub kind: Kind,
    /// Attempts that failed so far; the next one uses another seed.
    pub attempt: u32,
}

impl Need {
    /// The seed for this attempt on task `index` (see [`assist::derive_seed`]).
    pub fn seed(&self, base: u32, index: usize) -> u32 {
        assist::derive_seed(base, index, self.kind, self.attempt)
    }
}

/// Does `task` still need the model kind `kind`? Not when it has output, when the task
/// brings its own steps (decomposition), when an evaluator cancelled it (a
/// recorded choice: only asking again, `R`, overrides it), or when
/// [`MAX_ATTEMPTS`] attempts failed.
pub fn need(task: &Task, state: &TaskState, kind: Kind) -> Option<Need> {
    if !kind.is_model()
        || state.current(kind).is_some()
        || (kind == Kind::Decompose && task.steps.is_some())
    {
        return None;
    }
    let failures = state.failures.iter().filter(|f| f.kind == kind);
    if failures.clone().any(|f| f.reason == FailReason::Cancelled) {
        return None;
    }
    let attempt = failures.count() as u32;
    (attempt < MAX_ATTEMPTS).then_some(Need { kind, attempt })
}

/// Every kind of `wanted` that `task` still needs, in order.
pub fn missing(task: &Task, state: &TaskState, wanted: &[Kind]) -> Vec<Need> {
    wanted
        .iter()
        .filter_map(|k| need(task, state, *k))
        .collect()
}

/// Does the task lack computed checks? (Only one set is ever recorded per
/// task; a task with no calculation and no reference has an empty set.)
pub fn needs_tool_checks(state: &TaskState) -> bool {
    state.current(Kind::ToolChecks).is_none()
}

/// The event recording `task`'s tool checks, computed now (pure and
/// instant: callers record it before any model work).
pub fn tool_checks(task: &Task) -> Body {
    Body::Assistance {
        task: task.id.clone(),
        assistance: std::sync::Arc::new(assist::computed_checks(task)),
    }
}

/// The event that records how a request for `kind` on `task` ended, or
/// `None` for events that do not end it (start, tokens).
pub fn outcome(task: &str, kind: Kind, seed: u32, event: &assist::Event) -> Option<Body> {
    let failed = |reason, error: &str| Body::AssistanceFailed {
        task: task.to_string(),
        kind,
        reason,
        error: error.to_string(),
        seed: Some(seed),
    };
    match event {
        assist::Event::Done { assistance, .. } => Some(Body::Assistance {
            task: task.to_string(),
            assistance: assistance.clone(),
        }),
        assist::Event::Failed { error, .. } => Some(failed(FailReason::Error, error)),
        assist::Event::Cancelled { .. } => Some(failed(FailReason::Cancelled, "")),
        assist::Event::Started { .. } | assist::Event::Token { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::event::Event;
    use crate::session::{Replay, Timestamp};

    fn task(steps: bool) -> Task {
        let mut t: Task = serde_json::from_value(serde_json::json!({
            "id": "t", "prompt": "p", "answer": "One. Two."
        }))
        .unwrap();
        if steps {
            t.steps = Some(vec![crate::task::Span { start: 0, end: 4 }]);
        }
        t
    }

    fn fold(task: &Task, bodies: Vec<Body>) -> TaskState {
        let events = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| Event {
                v: 2,
                seq: i as u64 + 1,
                ts: Timestamp::now(),
                body,
            })
            .collect();
        Replay::new(vec![task.clone()], events).state(0).clone()
    }

    fn failure(kind: Kind, reason: FailReason) -> Body {
        Body::AssistanceFailed {
            task: "t".into(),
            kind,
            reason,
            error: "x".into(),
            seed: None,
        }
    }

    #[test]
    fn tasks_with_their_own_steps_need_no_decomposition() {
        let kinds: Vec<Kind> = missing(&task(false), &TaskState::default(), &Kind::ALL)
            .iter()
            .map(|n| n.kind)
            .collect();
        assert_eq!(kinds, Kind::ALL);
        let own = missing(&task(true), &TaskState::default(), &Kind::ALL);
        assert!(own.iter().all(|n| n.kind != Kind::Decompose));
        assert_eq!(own.len(), 2);
    }

    #[test]
    fn failures_move_the_seed_and_give_up_after_the_limit() {
        let t = task(false);
        let once = fold(&t, vec![failure(Kind::Critique, FailReason::Error)]);
        let need = need(&t, &once, Kind::Critique).unwrap();
        assert_eq!(need.attempt, 1);
        assert_ne!(need.seed(42, 0), Need { attempt: 0, ..need }.seed(42, 0));
        // A recorded cancellation is the evaluator's choice: left alone.
        let cancelled = fold(&t, vec![failure(Kind::Critique, FailReason::Cancelled)]);
        assert_eq!(need_attempt(&t, &cancelled), None);
        let given_up = fold(&t, vec![failure(Kind::Critique, FailReason::Error); 3]);
        assert_eq!(need_attempt(&t, &given_up), None);
    }

    fn need_attempt(t: &Task, s: &TaskState) -> Option<u32> {
        need(t, s, Kind::Critique).map(|n| n.attempt)
    }

    #[test]
    fn tool_checks_are_needed_once_and_never_from_a_model() {
        let mut t = task(false);
        t.answer = "2 + 2 = 5".into();
        assert!(needs_tool_checks(&TaskState::default()));
        assert_eq!(need(&t, &TaskState::default(), Kind::ToolChecks), None);
        let body = tool_checks(&t);
        let Body::Assistance { assistance, .. } = &body else {
            panic!("an assistance event")
        };
        assert_eq!(assistance.output.kind(), Kind::ToolChecks);
        assert_eq!(assistance.output.len(), 1);
        let done = fold(&t, vec![body]);
        assert!(!needs_tool_checks(&done));
        // The model kinds are still missing: the tool's checks are not the model's.
        assert_eq!(missing(&t, &done, &Kind::ALL).len(), 3);
    }

    #[test]
    fn the_first_seed_is_the_one_generate_always_used() {
        // Recorded sessions hold these seeds: base + 3 * task + kind.
        assert_eq!(assist::derive_seed(42, 0, Kind::Critique, 0), 42);
        assert_eq!(assist::derive_seed(42, 1, Kind::Checks, 0), 46);
        assert_eq!(assist::derive_seed(42, 2, Kind::Decompose, 0), 50);
    }
}
