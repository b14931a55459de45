//! Event filters applied before the fold: evaluator, label kind and time
//! window. Filtering events (not records) keeps retractions consistent: a
//! window ending at `until` is exactly a replay up to `until`.

use super::{Filters, LabelError, LabelKind, Result};
use crate::session::event::{Body, LabelValue};
use crate::session::{Event, Timestamp};

/// Parsed `--since/--until`.
#[derive(Debug, Default)]
pub struct Window {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl Window {
    pub fn parse(f: &Filters) -> Result<Window> {
        Ok(Window {
            since: f
                .since
                .as_deref()
                .map(|s| parse_time("--since", s))
                .transpose()?,
            until: f
                .until
                .as_deref()
                .map(|s| parse_time("--until", s))
                .transpose()?,
        })
    }

    fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    fn contains(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }
}

fn parse_time(flag: &str, s: &str) -> Result<Timestamp> {
    Timestamp::parse(s).map_err(|e| LabelError::BadOption(format!("{flag} {e}")))
}

/// The label kind a judgement event carries; `None` for other events.
pub fn kind_of(body: &Body) -> Option<LabelKind> {
    match body {
        Body::Label { value, .. } => Some(match value {
            LabelValue::Critique { .. } => LabelKind::Critique,
            LabelValue::Check { .. } => LabelKind::Check,
            LabelValue::Step { .. } => LabelKind::Step,
        }),
        Body::UserCritique { .. } => Some(LabelKind::UserCritique),
        Body::Correction { .. } => Some(LabelKind::Correction),
        Body::Verdict { .. } => Some(LabelKind::Verdict),
        _ => None,
    }
}

/// Keep the events the filters allow. Assistance and session events always
/// stay (labels point at them); a retraction stays when the event it
/// retracts stays and it is itself inside the window.
pub fn apply(mut events: Vec<Event>, f: &Filters, window: &Window) -> Vec<Event> {
    if f.evaluators.is_empty() && f.kinds.is_empty() && window.is_open() {
        return events;
    }
    events.retain(|e| {
        if let Some(ev) = e.body.evaluator() {
            if !f.evaluators.is_empty() && !f.evaluators.iter().any(|x| x == ev) {
                return false;
            }
        }
        let kind = kind_of(&e.body);
        let is_judgement = kind.is_some() || matches!(e.body, Body::Retract { .. });
        if is_judgement && !window.is_open() && !window.contains(e.ts) {
            return false;
        }
        // A retraction of an event filtered out is harmless: the fold
        // ignores retractions of absent events.
        kind.is_none_or(|k| f.kinds.is_empty() || f.kinds.contains(&k))
    });
    events
}
