//! What each evaluator had on screen, replayed from view events: when each
//! piece of assistance was first visible to them, and which critiques they
//! focused, so labels can be timed against what was shown.
//!
//! An item counts as shown from the first moment its task was open for the
//! evaluator, assistance was visible (arm `assisted` or unrecorded; for
//! `blind-first` after the reveal; never for `unassisted`), the tab of its
//! kind was the current tab (the review starts on `critiques` and keeps the
//! tab across tasks) and the assistance had arrived.

use crate::assist::Kind;
use crate::session::event::{Body, Event, Protocol, Tab, Target, ViewAction};
use crate::session::{Replay, Timestamp};
use std::collections::{HashMap, HashSet};

/// What the walk found about one label event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelView {
    /// Milliseconds from the item first shown to the label.
    pub latency_ms: Option<i64>,
    /// For critiques: focused (selected, quote highlighted) before the label.
    pub focused: bool,
}

struct Screen {
    task: Option<String>,
    visible: bool,
    tab: Tab,
}

#[derive(Default)]
struct Walk {
    screens: HashMap<String, Screen>,
    /// Assistance (kind, seq) per task, in arrival order.
    arrived: HashMap<String, Vec<(Kind, u64)>>,
    revealed: HashSet<(String, String)>,
    /// (evaluator, assistance seq) -> first shown, ms since the epoch.
    shown: HashMap<(String, u64), i64>,
    /// (evaluator, assistance seq, index) focused so far.
    focused: HashSet<(String, u64, usize)>,
    labels: HashMap<u64, LabelView>,
}

/// Replay the views of one session; results keyed by label event seq.
pub fn walk(replay: &Replay) -> HashMap<u64, LabelView> {
    let mut w = Walk::default();
    for e in replay
        .events()
        .iter()
        .filter(|e| !replay.is_retracted(e.seq))
    {
        match &e.body {
            Body::Assistance { task, assistance } => w.arrive(task, assistance.output.kind(), e),
            Body::View {
                task,
                evaluator,
                action,
            } => w.view(task, evaluator, action, e),
            Body::Label {
                evaluator, target, ..
            } => w.label(evaluator, target, e),
            _ => {}
        }
    }
    w.labels
}

impl Walk {
    fn screen(&mut self, evaluator: &str) -> &mut Screen {
        self.screens
            .entry(evaluator.to_string())
            .or_insert_with(|| Screen {
                task: None,
                visible: false,
                tab: Tab::Critiques,
            })
    }

    /// Record as shown, for `evaluator`, every arrived assistance of the
    /// current task whose tab is showing.
    fn mark(&mut self, evaluator: &str, ts: Timestamp) {
        let Some(s) = self.screens.get(evaluator) else {
            return;
        };
        let (Some(task), true) = (s.task.as_ref(), s.visible) else {
            return;
        };
        let Some(list) = self.arrived.get(task) else {
            return;
        };
        let mut new = list
            .iter()
            .filter(|(k, seq)| {
                Tab::of_kind(*k) == s.tab
                    && !self.shown.contains_key(&(evaluator.to_string(), *seq))
            })
            .map(|(_, seq)| *seq)
            .peekable();
        if new.peek().is_none() {
            return;
        }
        let seqs: Vec<u64> = new.collect();
        let ms = ts.unix_ms();
        for seq in seqs {
            self.shown.insert((evaluator.to_string(), seq), ms);
        }
    }

    fn arrive(&mut self, task: &str, kind: Kind, e: &Event) {
        self.arrived
            .entry(task.to_string())
            .or_default()
            .push((kind, e.seq));
        let watching: Vec<String> = self
            .screens
            .iter()
            .filter(|(_, s)| s.task.as_deref() == Some(task))
            .map(|(ev, _)| ev.clone())
            .collect();
        for ev in watching {
            self.mark(&ev, e.ts);
        }
    }

    fn view(&mut self, task: &str, evaluator: &str, action: &ViewAction, e: &Event) {
        let key = (evaluator.to_string(), task.to_string());
        match action {
            ViewAction::TaskOpened { arm } => {
                let visible = match arm {
                    Some(Protocol::Unassisted) => false,
                    Some(Protocol::BlindFirst) => self.revealed.contains(&key),
                    _ => true,
                };
                let s = self.screen(evaluator);
                s.task = Some(task.to_string());
                s.visible = visible;
            }
            ViewAction::AssistanceRevealed => {
                self.revealed.insert(key);
                let s = self.screen(evaluator);
                if s.task.as_deref() == Some(task) {
                    s.visible = true;
                }
            }
            ViewAction::TabSwitched { tab } => self.screen(evaluator).tab = *tab,
            ViewAction::TaskClosed => self.screen(evaluator).task = None,
            ViewAction::Focused { assistance, index } => {
                self.focused
                    .insert((evaluator.to_string(), *assistance, *index));
                self.shown
                    .entry((evaluator.to_string(), *assistance))
                    .or_insert(e.ts.unix_ms());
            }
            ViewAction::Scrolled { .. } => {}
        }
        self.mark(evaluator, e.ts);
    }

    fn label(&mut self, evaluator: &str, target: &Target, e: &Event) {
        let Some(a) = target.assistance() else {
            return;
        };
        let shown = self.shown.get(&(evaluator.to_string(), a)).copied();
        let latency_ms = shown.map(|s| e.ts.unix_ms() - s);
        // The first item of a list is selected (its quote highlighted) as
        // soon as the list is shown; others need a focus event.
        let focused = match target {
            Target::Critique { index, .. } => {
                self.focused.contains(&(evaluator.to_string(), a, *index))
                    || (*index == 0 && shown.is_some())
            }
            _ => false,
        };
        self.labels.insert(
            e.seq,
            LabelView {
                latency_ms,
                focused,
            },
        );
    }
}
