//! What one evaluator had on screen, folded from the events: the task open,
//! the tab, the selected item per tab and the answer's scroll, following the
//! review's own rules (the tab is kept across tasks, the selection and the
//! scroll start over on each task).
//!
//! View events are debounced (written up to a second late), so the records
//! also say what was on screen: a label was given on the selected item of
//! its tab, after which the review selects the next item; a correction
//! switches to the Diff tab.

use crate::assist::Kind;
use crate::session::event::{
    Body, Event, LabelValue, Panel, Protocol, ProtocolSpec, Tab, Target, ViewAction,
};
use crate::session::Replay;

/// The evaluator's screen after some event.
#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    /// Index of the task open, once one was opened.
    pub task: Option<usize>,
    pub tab: Tab,
    /// Selected item per tab (critiques, checks, steps), as the review keeps it.
    pub sel: [usize; 3],
    /// First answer line shown.
    pub scroll: u32,
    /// The protocol of the evaluator's latest `crit review` (for tasks whose
    /// opening did not record an arm).
    pub protocol: ProtocolSpec,
    /// The task was closed (the evaluator moved on or quit).
    pub closed: bool,
}

impl Default for Screen {
    fn default() -> Self {
        Screen {
            task: None,
            tab: Tab::Critiques,
            sel: [0; 3],
            scroll: 0,
            protocol: ProtocolSpec::Fixed(Protocol::Assisted),
            closed: false,
        }
    }
}

impl Screen {
    /// Apply `event`; `before` is the session folded up to the event before
    /// it (what the evaluator was looking at when it happened).
    pub fn apply(&mut self, event: &Event, evaluator: &str, before: &Replay) {
        match &event.body {
            Body::Opened {
                evaluator: Some(e),
                protocol: Some(p),
                ..
            } if e == evaluator => self.protocol = p.clone(),
            Body::View {
                task,
                evaluator: e,
                action,
            } if e == evaluator => self.view(task, action, before),
            Body::Label {
                task,
                evaluator: e,
                target,
                value,
                source: None,
            } if e == evaluator => self.label(task, evaluator, target, value, before),
            Body::Correction { evaluator: e, .. } if e == evaluator => self.tab = Tab::Diff,
            _ => {}
        }
    }

    fn view(&mut self, task: &str, action: &ViewAction, before: &Replay) {
        match action {
            ViewAction::TaskOpened { .. } => {
                self.task = before.index_of(task);
                self.sel = [0; 3];
                self.scroll = 0;
                self.closed = false;
            }
            ViewAction::TabSwitched { tab } => self.tab = *tab,
            ViewAction::Focused { assistance, index } => {
                if let Some(kind) = kind_of(before, *assistance) {
                    self.sel[Tab::of_kind(kind).index()] = *index;
                }
            }
            ViewAction::Scrolled {
                panel: Panel::Answer,
                offset,
            } => self.scroll = *offset,
            ViewAction::TaskClosed => self.closed = true,
            ViewAction::AssistanceRevealed => {}
        }
    }

    /// A label was given on the selected item of its tab; the review then
    /// selects the next item, unless the label only changed the severity
    /// of an earlier one (`s`), which keeps the selection.
    fn label(
        &mut self,
        task: &str,
        evaluator: &str,
        target: &Target,
        value: &LabelValue,
        before: &Replay,
    ) {
        let (tab, index) = match target {
            Target::Critique { index, .. } => (Tab::Critiques, *index),
            Target::Check { index, .. } => (Tab::Checks, *index),
            Target::Step { index, .. } => (Tab::Steps, *index),
            Target::Alternative { .. } => return,
        };
        let count = item_count(before, task, target);
        let severity_only = before
            .task_state(task)
            .and_then(|s| s.by_evaluator.get(evaluator))
            .and_then(|w| w.labels.get(target))
            .is_some_and(|old| is_severity_change(&old.value, value));
        self.tab = tab;
        self.sel[tab.index()] = if !severity_only && index + 1 < count {
            index + 1
        } else {
            index
        };
    }

    /// The selected item on the current tab (none on Diff).
    pub fn selected(&self) -> Option<usize> {
        match self.tab {
            Tab::Diff => None,
            t => Some(self.sel[t.index()]),
        }
    }
}

fn is_severity_change(old: &LabelValue, new: &LabelValue) -> bool {
    match (old, new) {
        (
            LabelValue::Critique {
                verdict: a,
                severity: x,
            },
            LabelValue::Critique {
                verdict: b,
                severity: y,
            },
        ) => a == b && x != y,
        _ => false,
    }
}

/// The kind of the assistance event `seq`.
fn kind_of(replay: &Replay, seq: u64) -> Option<Kind> {
    match &replay.event(seq)?.body {
        Body::Assistance { assistance, .. } => Some(assistance.output.kind()),
        _ => None,
    }
}

/// How many items the labelled list has (to know whether the selection
/// moved on).
fn item_count(replay: &Replay, task: &str, target: &Target) -> usize {
    match target.assistance() {
        Some(seq) => match replay.event(seq).map(|e| &e.body) {
            Some(Body::Assistance { assistance, .. }) => assistance.output.len(),
            _ => 0,
        },
        None => replay
            .index_of(task)
            .and_then(|i| replay.task(i).steps.as_ref())
            .map_or(0, |s| s.len()),
    }
}
