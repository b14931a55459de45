//! [`Moment`]: what the evaluator had on screen at one position, as plain
//! sanitized text (`crit replay --at SEQ --print`). The arm and whether
//! assistance was hidden follow the review's own rule
//! (`session::protocol`), so both say the same.

use super::describe;
use super::recording::Recording;
use super::timeline::clock;
use crate::assist::Kind;
use crate::sanitize::sanitize_line;
use crate::session::event::{Phase, Protocol, Tab};
use crate::session::protocol::{arm_of, is_hidden};
use crate::session::{Replay, Timestamp};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    pub session: String,
    pub evaluator: Option<String>,
    pub seq: u64,
    pub ts: Timestamp,
    /// The event at this point, in words.
    pub event: String,
    pub wall_ms: u64,
    pub active_ms: u64,
    /// The task on screen, once the evaluator opened one.
    pub task: Option<TaskView>,
}

/// The open task as the evaluator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    pub index: usize,
    pub count: usize,
    pub id: String,
    pub closed: bool,
    pub arm: Protocol,
    pub hidden: bool,
    pub tab: Tab,
    /// The selected item, when the tab had any to select.
    pub focused: Option<Focused>,
    pub scroll: u32,
    /// The evaluator's labels on this task so far, in words.
    pub labels: Vec<String>,
    pub verdicts: Vec<(Phase, String)>,
    /// The evaluator's own critiques, in words.
    pub critiques: Vec<String>,
    pub corrected: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Focused {
    /// 0-based.
    pub index: usize,
    pub count: usize,
    /// The assistance event the item belongs to; `None` for a task's own steps.
    pub assistance: Option<u64>,
}

impl Recording {
    /// The moment right after the event at `pos`.
    pub fn moment(&self, pos: usize) -> Moment {
        let point = self.timeline().point(pos);
        let state = self.state_at(pos);
        let task = self
            .evaluator()
            .zip(self.screen(pos).task)
            .map(|(me, i)| self.task_view(&state, me, i, pos));
        Moment {
            session: state.name(),
            evaluator: self.evaluator().map(str::to_string),
            seq: point.seq,
            ts: point.ts,
            event: describe::event(self.event(pos), self.evaluator()),
            wall_ms: point.wall_ms,
            active_ms: point.active_ms,
            task,
        }
    }

    fn task_view(&self, state: &Replay, me: &str, i: usize, pos: usize) -> TaskView {
        let screen = self.screen(pos);
        let task = state.task(i);
        let work = state.state(i).by_evaluator.get(me);
        let arm = arm_of(state, me, &task.id, &screen.protocol);
        let hidden = is_hidden(arm, work);
        let focused = screen.selected().and_then(|sel| {
            let (count, assistance) = items(state, i, screen.tab);
            (count > 0 && !hidden).then(|| Focused {
                index: sel.min(count - 1),
                count,
                assistance,
            })
        });
        let critiques = state
            .state(i)
            .user_critiques
            .iter()
            .filter(|u| u.evaluator == me)
            .map(|u| {
                format!(
                    "{} {} \"{}\": {}",
                    u.severity,
                    sanitize_line(&u.category),
                    describe::clip(&sanitize_line(&u.quote), 40),
                    describe::clip(&sanitize_line(&u.comment), 80)
                )
            })
            .collect();
        TaskView {
            index: i,
            count: state.tasks().len(),
            id: task.id.clone(),
            closed: screen.closed,
            arm,
            hidden,
            tab: screen.tab,
            focused,
            scroll: screen.scroll,
            labels: work.map_or_else(Vec::new, |w| {
                w.labels
                    .iter()
                    .map(|(t, r)| format!("{}: {}", describe::target(t), describe::label(&r.value)))
                    .collect()
            }),
            verdicts: work.map_or_else(Vec::new, |w| {
                w.verdicts
                    .iter()
                    .map(|(p, r)| (*p, describe::verdict(&r.verdict)))
                    .collect()
            }),
            critiques,
            corrected: work.is_some_and(|w| w.correction.is_some()),
        }
    }
}

/// Items on `tab` of task `i` (and the assistance they come from), as the
/// review counts them: the current assistance of the tab's kind, or the
/// task's own steps.
fn items(state: &Replay, i: usize, tab: Tab) -> (usize, Option<u64>) {
    if tab == Tab::Steps {
        if let Some(steps) = &state.task(i).steps {
            return (steps.len(), None);
        }
    }
    let current = tab.kind().and_then(|k: Kind| state.state(i).current(k));
    current.map_or((0, None), |r| {
        (r.assistance.output.len(), Some(r.stamp.seq))
    })
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "session: {}", sanitize_line(&self.session))?;
        match &self.evaluator {
            Some(e) => writeln!(f, "evaluator: {}", sanitize_line(e))?,
            None => writeln!(f, "evaluator: none (nobody opened a task)")?,
        }
        writeln!(f, "event: {}", self.event)?;
        writeln!(
            f,
            "time: {} · wall {} · active {}",
            self.ts,
            clock(self.wall_ms),
            clock(self.active_ms)
        )?;
        match &self.task {
            Some(t) => t.fmt(f),
            None => writeln!(f, "task: none open"),
        }
    }
}

impl fmt::Display for TaskView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let closed = if self.closed { ", closed" } else { "" };
        writeln!(
            f,
            "task: {} ({} of {}{closed})",
            sanitize_line(&self.id),
            self.index + 1,
            self.count
        )?;
        writeln!(f, "arm: {}", self.arm)?;
        let shown = if self.hidden { "hidden" } else { "shown" };
        writeln!(f, "assistance: {shown}")?;
        writeln!(f, "tab: {}", self.tab)?;
        match (&self.focused, self.tab, self.hidden) {
            (Some(x), _, _) => {
                let from = x
                    .assistance
                    .map_or_else(|| "the task's own steps".to_string(), |s| format!("#{s}"));
                writeln!(f, "focused: item {} of {} ({from})", x.index + 1, x.count)?
            }
            (None, Tab::Diff, _) => writeln!(f, "focused: none (diff tab)")?,
            (None, _, true) => writeln!(f, "focused: none (assistance hidden)")?,
            (None, _, false) => writeln!(f, "focused: none (no items)")?,
        }
        writeln!(f, "answer scroll: line {}", self.scroll + 1)?;
        writeln!(f, "labels: {}", self.labels.len())?;
        for l in &self.labels {
            writeln!(f, "  {l}")?;
        }
        writeln!(f, "verdicts: {}", self.verdicts.len())?;
        for (phase, v) in &self.verdicts {
            writeln!(f, "  {phase}: {v}")?;
        }
        writeln!(f, "own critiques: {}", self.critiques.len())?;
        for c in &self.critiques {
            writeln!(f, "  {c}")?;
        }
        writeln!(
            f,
            "corrected: {}",
            if self.corrected { "yes" } else { "no" }
        )
    }
}
