//! Events, labels and verdicts in words, one line each, sanitized (task ids,
//! names and rationales come from files and people).

use crate::sanitize::sanitize_line;
use crate::session::event::{Body, Event, LabelValue, Preference, Target, Verdict, ViewAction};

/// At most `n` chars, with an ellipsis when cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `#seq what happened` in one sanitized line; the evaluator is named
/// when it is not `me`.
pub fn event(e: &Event, me: Option<&str>) -> String {
    let who = match e.body.evaluator() {
        Some(w) if Some(w) != me => format!("{}: ", sanitize_line(w)),
        _ => String::new(),
    };
    format!("#{} {who}{}", e.seq, body(&e.body))
}

fn body(b: &Body) -> String {
    let what = what(b);
    match b.task() {
        Some(t) => format!("{what} · {}", sanitize_line(t)),
        None => what,
    }
}

/// What happened, without the task.
fn what(b: &Body) -> String {
    match b {
        Body::SessionCreated { task_count, .. } => format!("session created ({task_count} tasks)"),
        Body::Assigned { evaluator, .. } => format!("assigned to {}", sanitize_line(evaluator)),
        Body::Opened {
            command, evaluator, ..
        } => match evaluator {
            Some(e) => format!("{} opened by {}", sanitize_line(command), sanitize_line(e)),
            None => format!("{} opened", sanitize_line(command)),
        },
        Body::ImportBegun {
            file,
            format,
            events,
            ..
        } => format!(
            "import of {} ({format}, {events} events) begun",
            sanitize_line(file)
        ),
        Body::ImportCommitted { begun } => format!("import #{begun} committed"),
        Body::ImportAborted { begun } => format!("import #{begun} aborted (discarded)"),
        Body::Recovered { dropped_bytes } => format!("recovered (torn line of {dropped_bytes} B)"),
        Body::Assistance { assistance, .. } => format!(
            "{} ({} items)",
            assistance.output.kind(),
            assistance.output.len()
        ),
        Body::AssistanceFailed { kind, reason, .. } => format!("{kind} failed ({reason})"),
        Body::Label { target, value, .. } => {
            format!("label {}: {}", self::target(target), label(value))
        }
        Body::UserCritique { severity, .. } => format!("own critique ({severity})"),
        Body::Correction { .. } => "correction".into(),
        Body::Verdict {
            verdict: v, phase, ..
        } => format!("verdict {phase}: {}", verdict(v)),
        Body::Retract { target_seq, .. } => format!("undo #{target_seq}"),
        Body::View { action, .. } => view(action),
        Body::ActiveTime { ms, .. } => format!("active +{}", super::timeline::span(*ms)),
    }
}

fn view(a: &ViewAction) -> String {
    match a {
        ViewAction::TaskOpened { arm: Some(arm) } => format!("open ({arm})"),
        ViewAction::TaskOpened { arm: None } => "open".into(),
        ViewAction::TabSwitched { tab } => format!("tab {tab}"),
        ViewAction::Focused { assistance, index } => {
            format!("focus #{assistance} item {}", index + 1)
        }
        ViewAction::AssistanceRevealed => "reveal".into(),
        ViewAction::Scrolled { offset, .. } => format!("scroll to line {}", offset + 1),
        ViewAction::TaskClosed => "close".into(),
    }
}

/// What a label is on: `critique #12 item 2`, `step item 3` (the task's own
/// steps), `alternative 1 for step 2`. Items count from 1, as on screen.
pub fn target(t: &Target) -> String {
    match t {
        Target::Critique { assistance, index } => {
            format!("critique #{assistance} item {}", index + 1)
        }
        Target::Check { assistance, index } => format!("check #{assistance} item {}", index + 1),
        Target::Step {
            assistance: Some(seq),
            index,
        } => format!("step #{seq} item {}", index + 1),
        Target::Step {
            assistance: None,
            index,
        } => format!("step item {}", index + 1),
        Target::Alternative { step, index } => {
            format!("alternative {} for step {}", index + 1, step + 1)
        }
    }
}

/// A label's value: `valid`, `valid (severity minor)`, `fail`, `+1`.
pub fn label(v: &LabelValue) -> String {
    match v {
        LabelValue::Critique {
            verdict,
            severity: Some(s),
        } => format!("{verdict} (severity {s})"),
        LabelValue::Critique { verdict, .. } => verdict.to_string(),
        LabelValue::Check { verdict } => verdict.to_string(),
        LabelValue::Step { rating } => format!("{rating:+}"),
    }
}

/// A verdict in one line: `accept · score 6/7 · 80% · "why"`.
pub fn verdict(v: &Verdict) -> String {
    let (mut s, rationale) = match v {
        Verdict::Single {
            accept,
            score,
            rationale,
            ..
        } => {
            let mut s = match accept {
                Some(true) => "accept".to_string(),
                Some(false) => "reject".to_string(),
                None => "no decision".to_string(),
            };
            if let Some(x) = score {
                s += &format!(" · score {x}/7");
            }
            (s, rationale)
        }
        Verdict::Pairwise {
            preferred,
            strength,
            rationale,
            ..
        } => {
            let mut s = match preferred {
                Preference::Tie => "tie".to_string(),
                p => format!("prefers {}", p.to_string().to_uppercase()),
            };
            if let Some(x) = strength {
                s += &format!(" · strength {x}/3");
            }
            (s, rationale)
        }
    };
    if let Some(c) = v.confidence() {
        s += &format!(" · {c}%");
    }
    if !rationale.is_empty() {
        s += &format!(" · \"{}\"", clip(&sanitize_line(rationale), 60));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::event::CritiqueLabel;
    use crate::session::Timestamp;

    #[test]
    fn events_read_in_one_sanitized_line() {
        let e = Event {
            v: 2,
            seq: 7,
            ts: Timestamp::now(),
            body: Body::Label {
                task: "t\u{1b}[31m".into(),
                evaluator: "ben".into(),
                target: Target::Critique {
                    assistance: 3,
                    index: 0,
                },
                value: LabelValue::Critique {
                    verdict: CritiqueLabel::Nitpick,
                    severity: None,
                },
                source: None,
            },
        };
        assert_eq!(
            event(&e, Some("ana")),
            "#7 ben: label critique #3 item 1: nitpick · t\\e[31m"
        );
        assert_eq!(
            event(&e, Some("ben")),
            "#7 label critique #3 item 1: nitpick · t\\e[31m"
        );
        let v = Verdict::Pairwise {
            preferred: Preference::B,
            strength: Some(2),
            confidence: Some(90),
            rationale: "clearer\nsteps".into(),
        };
        assert_eq!(
            verdict(&v),
            "prefers B · strength 2/3 · 90% · \"clearer\\nsteps\""
        );
    }
}
