//! Judging the assistance: label keys per tab, severity corrections, the
//! stop-at-first-bad-step rule, and undo (a retraction of the latest own
//! record).

use super::msg::Effect;
use super::navigate::select;
use super::record::{append, refuse_read_only};
use crate::assist::CheckVerdict;
use crate::session::event::{Body, CritiqueLabel, LabelValue, Target};
use crate::tui::keymap::Action;
use crate::tui::state::{App, Tab, SEVERITIES};

/// A label key's meaning on each tab.
#[derive(Debug, Clone, Copy)]
pub(super) enum Grade {
    Good,
    Bad,
    Neutral,
}

pub(super) fn label(app: &mut App, g: Grade, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) {
        return;
    }
    if app.hidden() {
        app.message = Some(app.hidden_reason());
        return;
    }
    let i = app.selected();
    if i >= app.item_count(app.tab) {
        app.message = Some("nothing to label here".into());
        return;
    }
    let made = match app.tab {
        Tab::Critiques => label_critique(app, i, g),
        Tab::Checks => label_check(app, i, g),
        Tab::Steps => label_step(app, i, g),
        Tab::Diff => None,
    };
    let Some((target, value)) = made else { return };
    let stop = matches!(value, LabelValue::Step { rating: -1 }) && app.stop_at_first_bad;
    record_label(app, target, value, fx);
    if stop {
        app.message = Some(format!(
            "first -1 at step {}: later steps are not rated",
            i + 1
        ));
    } else if i + 1 < app.item_count(app.tab) {
        select(app, i + 1);
    }
}

fn record_label(app: &mut App, target: Target, value: LabelValue, fx: &mut Vec<Effect>) {
    let body = Body::Label {
        task: app.task().id.clone(),
        evaluator: app.opts.evaluator.clone(),
        target,
        value,
        source: None,
    };
    append(app, fx, body, true);
}

fn label_critique(app: &App, i: usize, g: Grade) -> Option<(Target, LabelValue)> {
    let (seq, _) = app.critiques()?;
    let target = Target::Critique {
        assistance: seq,
        index: i,
    };
    let severity = match app.label_on(&target) {
        Some(LabelValue::Critique { severity, .. }) => *severity,
        _ => None,
    };
    let verdict = match g {
        Grade::Good => CritiqueLabel::Valid,
        Grade::Bad => CritiqueLabel::Hallucinated,
        Grade::Neutral => CritiqueLabel::Nitpick,
    };
    Some((target, LabelValue::Critique { verdict, severity }))
}

fn label_check(app: &App, i: usize, g: Grade) -> Option<(Target, LabelValue)> {
    let (seq, index) = app.item_source(i)?;
    let verdict = match g {
        Grade::Good => CheckVerdict::Pass,
        Grade::Bad => CheckVerdict::Fail,
        Grade::Neutral => CheckVerdict::Unsure,
    };
    Some((
        Target::Check {
            assistance: seq,
            index,
        },
        LabelValue::Check { verdict },
    ))
}

fn label_step(app: &mut App, i: usize, g: Grade) -> Option<(Target, LabelValue)> {
    let (seq, _) = app.steps()?;
    if app.stop_at_first_bad {
        if let Some(first) = app.first_bad_step(seq).filter(|f| *f < i) {
            app.message = Some(format!(
                "rating stopped at the first -1 (step {}); {} turns this off",
                first + 1,
                app.key(Action::StopAtFirstBad)
            ));
            return None;
        }
    }
    let rating = match g {
        Grade::Good => 1,
        Grade::Bad => -1,
        Grade::Neutral => 0,
    };
    Some((
        Target::Step {
            assistance: seq,
            index: i,
        },
        LabelValue::Step { rating },
    ))
}

pub(super) fn cycle_severity(app: &mut App, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) || app.tab != Tab::Critiques || app.hidden() {
        return;
    }
    let i = app.selected();
    let Some((seq, crits)) = app.critiques() else {
        return;
    };
    let Some(model_sev) = crits.get(i).map(|c| c.severity) else {
        return;
    };
    let target = Target::Critique {
        assistance: seq,
        index: i,
    };
    let Some(LabelValue::Critique { verdict, severity }) = app.label_on(&target).cloned() else {
        app.message = Some(format!(
            "label the critique first ({} valid / {} hallucinated / {} nitpick)",
            app.key(Action::LabelGood),
            app.key(Action::LabelBad),
            app.key(Action::LabelNeutral)
        ));
        return;
    };
    let from = severity.unwrap_or(model_sev);
    let pos = SEVERITIES.iter().position(|s| *s == from).unwrap_or(0);
    let next = SEVERITIES[(pos + 1) % SEVERITIES.len()];
    let severity = (next != model_sev).then_some(next);
    record_label(app, target, LabelValue::Critique { verdict, severity }, fx);
}

/// Retract this evaluator's latest record on the current task.
pub(super) fn undo(app: &mut App, fx: &mut Vec<Effect>) {
    if refuse_read_only(app) {
        return;
    }
    let me = &app.opts.evaluator;
    let Some(target) = app.replay.last_own_record(me, &app.task().id) else {
        app.message = Some("nothing to undo on this task".into());
        return;
    };
    let what = target.body.type_name();
    let body = Body::Retract {
        target_seq: target.seq,
        evaluator: me.clone(),
        reason: Some("undo".into()),
    };
    app.message = Some(format!("undone: {what} (#{})", target.seq));
    append(app, fx, body, true);
}

pub(super) fn toggle_stop_at_first_bad(app: &mut App) {
    app.stop_at_first_bad = !app.stop_at_first_bad;
    app.message = Some(format!(
        "stop at first -1: {}",
        if app.stop_at_first_bad { "on" } else { "off" }
    ));
}
