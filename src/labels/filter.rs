//! Event filters applied before the fold: evaluator, label kind and time
//! window. Filtering events (not records) keeps retractions consistent: a
//! window ending at `until` is exactly a replay up to `until`.

use super::{Filters, LabelError, LabelKind, Result};
use crate::session::event::{Body, LabelValue};
use crate::session::Event;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parsed `--since/--until`.
#[derive(Debug, Default)]
pub struct Window {
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
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

    fn contains(&self, ts: &str) -> bool {
        // An unparseable stamp cannot be placed in the window: left out.
        let Ok(t) = OffsetDateTime::parse(ts, &Rfc3339) else {
            return false;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }
}

fn parse_time(flag: &str, s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
        LabelError::BadOption(format!(
            "{flag} {s:?} is not an RFC 3339 time (e.g. 2026-11-26T21:00:00Z): {e}"
        ))
    })
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

fn evaluator_of(body: &Body) -> Option<&str> {
    match body {
        Body::Label { evaluator, .. }
        | Body::UserCritique { evaluator, .. }
        | Body::Correction { evaluator, .. }
        | Body::Verdict { evaluator, .. }
        | Body::Retract { evaluator, .. }
        | Body::View { evaluator, .. }
        | Body::ActiveTime { evaluator, .. } => Some(evaluator),
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
        if let Some(ev) = evaluator_of(&e.body) {
            if !f.evaluators.is_empty() && !f.evaluators.iter().any(|x| x == ev) {
                return false;
            }
        }
        let kind = kind_of(&e.body);
        let is_judgement = kind.is_some() || matches!(e.body, Body::Retract { .. });
        if is_judgement && !window.is_open() && !window.contains(&e.ts) {
            return false;
        }
        // A retraction of an event filtered out is harmless: the fold
        // ignores retractions of absent events.
        kind.is_none_or(|k| f.kinds.is_empty() || f.kinds.contains(&k))
    });
    events
}

/// No export reads the model's raw text (the typed output is there): drop it
/// before the fold copies every assistance, halving their memory.
pub fn drop_raw_output(events: &mut [Event]) {
    for e in events {
        if let Body::Assistance { assistance, .. } = &mut e.body {
            assistance.raw = String::new();
        }
    }
}
