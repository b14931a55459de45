//! [`Replay`]: a session's tasks, its events and what they add up to, in
//! one owner. Every command that reads a session holds one: review and
//! generate push the events they append, export/show/audit read one from
//! disk, replay folds a prefix. New events apply incrementally, retractions
//! included.

use super::event::{Body, Event, Panel, Protocol, Tab, ViewAction};
use super::fold::TaskState;
use super::read::{self, EVENTS_FILE, TASKS_FILE};
use super::{Result, SessionError};
use crate::task::Task;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where an evaluator left off: the last task opened and what was on
/// screen after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumePoint {
    pub task: String,
    pub tab: Option<Tab>,
    /// (assistance seq, item index) of the last focused item.
    pub focus: Option<(u64, usize)>,
    /// Answer scroll offset.
    pub scroll: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct Replay {
    dir: Option<PathBuf>,
    tasks: Vec<Arc<Task>>,
    index: HashMap<String, usize>,
    events: Vec<Event>,
    states: Vec<TaskState>,
    retracted: HashSet<u64>,
    resume: HashMap<String, ResumePoint>,
    /// Arms a study design (`crit assign`) fixed per task.
    assigned_arms: BTreeMap<String, Protocol>,
}

impl Replay {
    /// Fold `events` over `tasks`.
    pub fn new(tasks: Vec<Task>, events: Vec<Event>) -> Replay {
        let mut replay = Replay::empty(tasks);
        replay.retracted = events.iter().filter_map(retraction_target).collect();
        for event in &events {
            replay.apply(event);
        }
        replay.events = events;
        replay
    }

    fn empty(tasks: Vec<Task>) -> Replay {
        let index = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        Replay {
            states: vec![TaskState::default(); tasks.len()],
            tasks: tasks.into_iter().map(Arc::new).collect(),
            index,
            ..Replay::default()
        }
    }

    /// Read a session for replay/audit/export, without taking its lock. A
    /// torn last line (a writer killed mid-write, or one still writing) is
    /// left out, not an error.
    pub fn read(dir: &Path) -> Result<Replay> {
        let events_path = dir.join(EVENTS_FILE);
        if !events_path.is_file() {
            return Err(SessionError::NotFound(dir.to_path_buf()));
        }
        let tasks = read::read_tasks(&dir.join(TASKS_FILE))?;
        let (events, _torn) = read::read_events(&events_path)?;
        read::check_header(dir, &events)?;
        Ok(Replay::new(tasks, events).at(dir))
    }

    /// Remember the directory the session lives in.
    pub fn at(mut self, dir: &Path) -> Replay {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// The fold of the events up to and including `seq` (replay at a point
    /// in time).
    pub fn until(&self, seq: u64) -> Replay {
        let end = self.events.partition_point(|e| e.seq <= seq);
        let tasks = self.tasks.iter().map(|t| (**t).clone()).collect();
        let mut r = Replay::new(tasks, self.events[..end].to_vec());
        r.dir = self.dir.clone();
        r
    }

    /// Fold one more event (appended after the others).
    pub fn push(&mut self, event: Event) {
        match retraction_target(&event) {
            Some(target) => {
                self.retracted.insert(target);
                self.events.push(event);
                self.refold_task_of(target);
            }
            None => {
                self.apply(&event);
                self.events.push(event);
            }
        }
    }

    /// Give back the tasks and events (to filter them and fold again).
    pub fn into_parts(self) -> (Vec<Task>, Vec<Event>) {
        let tasks = self
            .tasks
            .into_iter()
            .map(|t| Arc::try_unwrap(t).unwrap_or_else(|t| (*t).clone()))
            .collect();
        (tasks, self.events)
    }

    fn apply(&mut self, event: &Event) {
        if self.retracted.contains(&event.seq) {
            return;
        }
        match &event.body {
            Body::View {
                task,
                evaluator,
                action,
            } => note_view(&mut self.resume, evaluator, task, action),
            Body::Assigned { arms, .. } => self.assigned_arms.clone_from(arms),
            _ => {}
        }
        if let Some(i) = event.body.task().and_then(|t| self.index_of(t)) {
            self.states[i].apply(event);
        }
    }

    /// A retraction changes one task: fold that task's events again.
    fn refold_task_of(&mut self, target: u64) {
        let Some(i) = self
            .event(target)
            .and_then(|e| e.body.task())
            .and_then(|t| self.index_of(t))
        else {
            return;
        };
        let id = self.tasks[i].id.as_str();
        let mut state = TaskState::default();
        for e in &self.events {
            if e.body.task() == Some(id) && !self.retracted.contains(&e.seq) {
                state.apply(e);
            }
        }
        self.states[i] = state;
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The session's name: its directory's.
    pub fn name(&self) -> String {
        self.dir
            .as_deref()
            .map_or_else(String::new, read::session_name)
    }

    pub fn tasks(&self) -> &[Arc<Task>] {
        &self.tasks
    }

    pub fn task(&self, i: usize) -> &Arc<Task> {
        &self.tasks[i]
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn states(&self) -> &[TaskState] {
        &self.states
    }

    pub fn state(&self, i: usize) -> &TaskState {
        &self.states[i]
    }

    pub fn index_of(&self, task_id: &str) -> Option<usize> {
        self.index.get(task_id).copied()
    }

    pub fn task_state(&self, task_id: &str) -> Option<&TaskState> {
        self.index_of(task_id).map(|i| &self.states[i])
    }

    /// The event with sequence number `seq`.
    pub fn event(&self, seq: u64) -> Option<&Event> {
        let i = self.events.binary_search_by_key(&seq, |e| e.seq).ok()?;
        Some(&self.events[i])
    }

    pub fn is_retracted(&self, seq: u64) -> bool {
        self.retracted.contains(&seq)
    }

    pub fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |e| e.seq)
    }

    /// Everyone who recorded work on any task, sorted.
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

    /// Where `evaluator` left off, if they opened a task of this session.
    pub fn resume_point(&self, evaluator: &str) -> Option<&ResumePoint> {
        self.resume
            .get(evaluator)
            .filter(|r| self.index.contains_key(&r.task))
    }

    /// The arm a study design assigned to `task`, if any.
    pub fn assigned_arm(&self, task: &str) -> Option<Protocol> {
        self.assigned_arms.get(task).copied()
    }

    /// `evaluator`'s latest record on `task` that still counts (what undo
    /// takes back).
    pub fn last_own_record(&self, evaluator: &str, task: &str) -> Option<&Event> {
        self.events.iter().rev().find(|e| {
            e.body.is_record()
                && e.body.evaluator() == Some(evaluator)
                && e.body.task() == Some(task)
                && !self.retracted.contains(&e.seq)
        })
    }
}

fn retraction_target(event: &Event) -> Option<u64> {
    match event.body {
        Body::Retract { target_seq, .. } => Some(target_seq),
        _ => None,
    }
}

fn note_view(
    resume: &mut HashMap<String, ResumePoint>,
    evaluator: &str,
    task: &str,
    action: &ViewAction,
) {
    if let ViewAction::TaskOpened { .. } = action {
        let point = ResumePoint {
            task: task.to_string(),
            tab: None,
            focus: None,
            scroll: None,
        };
        resume.insert(evaluator.to_string(), point);
        return;
    }
    let Some(point) = resume.get_mut(evaluator) else {
        return;
    };
    match action {
        ViewAction::TabSwitched { tab } => point.tab = Some(*tab),
        ViewAction::Focused { assistance, index } => point.focus = Some((*assistance, *index)),
        ViewAction::Scrolled {
            panel: Panel::Answer,
            offset,
        } => point.scroll = Some(*offset),
        _ => {}
    }
}
