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
use crate::session::event::{Body, Event, Target, ViewAction};
use std::collections::{HashMap, HashSet};

/// What the walk found about one label event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelView {
    /// Milliseconds from the item first shown to the label.
    pub latency_ms: Option<i64>,
    /// For critiques: focused (selected, quote highlighted) before the label.
    pub focused: bool,
}

#[derive(Default)]
struct Screen {
    task: Option<String>,
    visible: bool,
    tab: String,
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

fn tab_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Critique => "critiques",
        Kind::Checks => "checks",
        Kind::Decompose => "steps",
    }
}

/// Milliseconds since the epoch of an RFC 3339 timestamp.
pub fn epoch_ms(ts: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Replay the views of one session; results keyed by label event seq.
pub fn walk(events: &[Event], retracted: &HashSet<u64>) -> HashMap<u64, LabelView> {
    let mut w = Walk::default();
    for e in events.iter().filter(|e| !retracted.contains(&e.seq)) {
        match &e.body {
            Body::Assistance { task, kind, .. } => w.arrive(task, *kind, e),
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
                tab: "critiques".into(),
                ..Screen::default()
            })
    }

    /// Record as shown, for `evaluator`, every arrived assistance of the
    /// current task whose tab is showing.
    fn mark(&mut self, evaluator: &str, ts: &str) {
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
                tab_of(*k) == s.tab && !self.shown.contains_key(&(evaluator.to_string(), *seq))
            })
            .map(|(_, seq)| *seq)
            .peekable();
        if new.peek().is_none() {
            return;
        }
        let seqs: Vec<u64> = new.collect();
        let Some(ms) = epoch_ms(ts) else { return };
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
            self.mark(&ev, &e.ts);
        }
    }

    fn view(&mut self, task: &str, evaluator: &str, action: &ViewAction, e: &Event) {
        let key = (evaluator.to_string(), task.to_string());
        match action {
            ViewAction::TaskOpened { arm } => {
                let visible = match arm.as_deref() {
                    Some("unassisted") => false,
                    Some("blind-first") => self.revealed.contains(&key),
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
            ViewAction::TabSwitched { tab } => self.screen(evaluator).tab = tab.clone(),
            ViewAction::TaskClosed => self.screen(evaluator).task = None,
            ViewAction::Focused { assistance, index } => {
                self.focused
                    .insert((evaluator.to_string(), *assistance, *index));
                if let Some(ms) = epoch_ms(&e.ts) {
                    self.shown
                        .entry((evaluator.to_string(), *assistance))
                        .or_insert(ms);
                }
            }
            ViewAction::Scrolled { .. } => {}
        }
        self.mark(evaluator, &e.ts);
    }

    fn label(&mut self, evaluator: &str, target: &Target, e: &Event) {
        let Some(a) = target.assistance() else {
            return;
        };
        let shown = self.shown.get(&(evaluator.to_string(), a)).copied();
        let latency_ms = shown.and_then(|s| Some(epoch_ms(&e.ts)? - s));
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
