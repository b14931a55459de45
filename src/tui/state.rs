//! The review UI's state: a mirror of the session log (folded), plus what is
//! on screen. Changed only by `update`; drawn from `&App`.

use super::keymap::Keymap;
use crate::assist::{Check, Critique, Kind, Output, Severity, Step};
use crate::session::event::{Body, Event, Phase, Preference, ViewAction};
use crate::session::fold::{AssistRecord, EvaluatorWork, TaskState};
use crate::session::{fold, SessionState};
use crate::task::{Span, Task};
use ratatui::layout::Rect;
use std::collections::BTreeMap;
use std::sync::Arc;
use tui_textarea::TextArea;

/// How assistance is shown on a task (measuring the help itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Assisted,
    /// Hidden until an unaided verdict is recorded, then revealed.
    BlindFirst,
    /// Control arm: no assistance.
    Unassisted,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Assisted => "assisted",
            Protocol::BlindFirst => "blind-first",
            Protocol::Unassisted => "unassisted",
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        [
            Protocol::Assisted,
            Protocol::BlindFirst,
            Protocol::Unassisted,
        ]
        .into_iter()
        .find(|p| p.name() == s.trim())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Critiques,
    Checks,
    Steps,
    Diff,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Critiques, Tab::Checks, Tab::Steps, Tab::Diff];

    pub fn name(self) -> &'static str {
        match self {
            Tab::Critiques => "critiques",
            Tab::Checks => "checks",
            Tab::Steps => "steps",
            Tab::Diff => "diff",
        }
    }

    pub fn parse(s: &str) -> Option<Tab> {
        Tab::ALL.into_iter().find(|t| t.name() == s)
    }

    pub fn kind(self) -> Option<Kind> {
        match self {
            Tab::Critiques => Some(Kind::Critique),
            Tab::Checks => Some(Kind::Checks),
            Tab::Steps => Some(Kind::Decompose),
            Tab::Diff => None,
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn of_kind(kind: Kind) -> Tab {
        match kind {
            Kind::Critique => Tab::Critiques,
            Kind::Checks => Tab::Checks,
            Kind::Decompose => Tab::Steps,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Answer,
    Assist,
}

/// Fixed for the life of the UI.
#[derive(Debug, Clone)]
pub struct Options {
    pub evaluator: String,
    pub session_name: String,
    pub protocol: Protocol,
    /// Non-empty: the protocol is drawn per task from these arms.
    pub arms: Vec<Protocol>,
    pub arm_seed: u64,
    pub prefetch: usize,
    pub idle_ms: u64,
    pub read_only: bool,
    /// `None` when assistance is available; else why not (shown).
    pub no_assist: Option<String>,
    pub model_name: String,
    pub guidelines: Option<String>,
    pub no_color: bool,
    pub keymap: Keymap,
    pub seed: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            evaluator: "evaluator".into(),
            session_name: "session".into(),
            protocol: Protocol::Assisted,
            arms: Vec::new(),
            arm_seed: 0,
            prefetch: 2,
            idle_ms: 60_000,
            read_only: false,
            no_assist: None,
            model_name: "scripted".into(),
            guidelines: None,
            no_color: false,
            keymap: Keymap::default(),
            seed: 42,
        }
    }
}

/// A generation in flight.
#[derive(Debug, Clone)]
pub struct Gen {
    pub task: usize,
    pub kind: Kind,
    pub seed: u32,
    /// Tail of the streamed text (bounded).
    pub text: String,
    pub tokens: u32,
    pub started: bool,
    /// Prompt size, and whether the answer was cut to fit (from `Started`).
    pub prompt_tokens: u32,
    pub truncated: Option<crate::assist::Truncation>,
    /// Cancelled because the evaluator jumped away (not a failure).
    pub dropped: bool,
    pub first_token_ms: Option<u64>,
    pub last_token_ms: u64,
}

impl Gen {
    pub fn tokens_per_s(&self) -> Option<f64> {
        let first = self.first_token_ms?;
        let ms = self.last_token_ms.saturating_sub(first);
        (ms > 0 && self.tokens > 1).then(|| (self.tokens - 1) as f64 * 1000.0 / ms as f64)
    }
}

pub const CATEGORIES: [&str; 6] = [
    "correctness",
    "reasoning",
    "completeness",
    "safety",
    "style",
    "other",
];

pub const SEVERITIES: [Severity; 3] = [Severity::Minor, Severity::Major, Severity::Critical];

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Minor => "minor",
        Severity::Major => "major",
        Severity::Critical => "critical",
    }
}

/// The evaluator's own critique being written.
#[derive(Debug, Clone)]
pub struct CritiqueForm {
    pub span: Span,
    pub side_b: bool,
    pub quote: String,
    /// 0 comment, 1 severity, 2 category.
    pub field: usize,
    pub severity: Severity,
    pub category: usize,
    pub comment: TextArea<'static>,
}

/// The verdict being recorded.
#[derive(Debug, Clone)]
pub struct VerdictForm {
    pub pairwise: bool,
    pub phase: Phase,
    /// 0 accept/preferred, 1 score/strength, 2 confidence, 3 rationale.
    pub field: usize,
    pub accept: Option<bool>,
    pub score: Option<u8>,
    pub preferred: Option<Preference>,
    pub strength: Option<u8>,
    pub confidence: Option<u8>,
    pub rationale: TextArea<'static>,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Help { scroll: u16 },
    Guidelines { scroll: u16 },
    Search { query: String },
    Critique(Box<CritiqueForm>),
    Verdict(Box<VerdictForm>),
    Correction(Box<TextArea<'static>>),
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    pub opts: Options,
    pub tasks: Vec<Task>,
    /// Mirror of the session log; `session` is its fold.
    pub events: Vec<Event>,
    pub session: SessionState,
    pub current: usize,
    pub tab: Tab,
    pub focus: Focus,
    /// Selected item per tab (critiques, checks, steps).
    pub sel: [usize; 3],
    /// Answer cursor (byte offset) and visual-selection anchor.
    pub cursor: usize,
    pub anchor: Option<usize>,
    /// First visible visual line of the answer.
    pub answer_scroll: usize,
    /// First visible line of the diff tab (clamped when drawn).
    pub diff_scroll: usize,
    pub side_b: bool,
    pub mode: Mode,
    pub gens: BTreeMap<u64, Gen>,
    pub next_id: u64,
    pub size: Rect,
    pub now_ms: u64,
    pub last_input_ms: Option<u64>,
    /// Active time on the current task not yet recorded.
    pub pending_active_ms: u64,
    /// Debounced view actions: (action, first queued at).
    pub pending_views: Vec<(ViewAction, u64)>,
    pub filter_unlabelled: bool,
    pub stop_at_first_bad: bool,
    pub message: Option<String>,
    pub last_search: String,
    pub started: bool,
    pub quit: bool,
    /// Answer scroll to restore when the resumed task opens.
    pub resume_scroll: Option<usize>,
}

impl App {
    pub fn new(opts: Options, tasks: Vec<Task>, events: Vec<Event>) -> App {
        let session = fold(&tasks, &events);
        let mut app = App {
            opts,
            tasks,
            events,
            session,
            current: 0,
            tab: Tab::Critiques,
            focus: Focus::Assist,
            sel: [0; 3],
            cursor: 0,
            anchor: None,
            answer_scroll: 0,
            diff_scroll: 0,
            side_b: false,
            mode: Mode::Normal,
            gens: BTreeMap::new(),
            next_id: 1,
            size: Rect::new(0, 0, 120, 40),
            now_ms: 0,
            last_input_ms: None,
            pending_active_ms: 0,
            pending_views: Vec::new(),
            filter_unlabelled: false,
            stop_at_first_bad: false,
            message: None,
            last_search: String::new(),
            started: false,
            quit: false,
            resume_scroll: None,
        };
        app.resume();
        app
    }

    /// Put the cursor where this evaluator left off: last opened task, then
    /// the tab and focused item recorded after it.
    fn resume(&mut self) {
        let me = self.opts.evaluator.clone();
        let mut task = None;
        let mut tab = None;
        let mut focus = None;
        let mut scroll = None;
        for e in &self.events {
            let Body::View {
                task: t,
                evaluator,
                action,
            } = &e.body
            else {
                continue;
            };
            if *evaluator != me {
                continue;
            }
            match action {
                ViewAction::TaskOpened { .. } => {
                    task = Some(t.clone());
                    tab = None;
                    focus = None;
                    scroll = None;
                }
                ViewAction::Scrolled { panel, offset } if panel == "answer" => {
                    scroll = Some(*offset as usize)
                }
                ViewAction::TabSwitched { tab: name } => tab = Tab::parse(name),
                ViewAction::Focused { assistance, index } => focus = Some((*assistance, *index)),
                _ => {}
            }
        }
        let Some(i) = task.and_then(|t| self.session.index_of(&t)) else {
            return;
        };
        self.current = i;
        self.resume_scroll = scroll;
        if let Some(t) = tab {
            self.tab = t;
        }
        if let Some((seq, index)) = focus {
            self.restore_focus(seq, index);
        }
    }

    fn restore_focus(&mut self, seq: u64, index: usize) {
        let kind = self
            .task_state()
            .find_assistance(seq)
            .map(|r| r.assistance.output.kind());
        if let Some(kind) = kind {
            let tab = Tab::of_kind(kind);
            self.sel[tab.index()] = index;
        }
    }

    /// Record a new log event (from the driver) and refold.
    pub fn apply(&mut self, event: Event) {
        let retract = matches!(event.body, Body::Retract { .. });
        if retract {
            self.events.push(event);
            self.session = fold(&self.tasks, &self.events);
        } else {
            self.session.push(&event);
            self.events.push(event);
        }
    }

    pub fn task(&self) -> &Arc<Task> {
        &self.session.tasks[self.current]
    }

    pub fn task_state(&self) -> &TaskState {
        &self.session.states[self.current]
    }

    pub fn work(&self) -> Option<&EvaluatorWork> {
        self.task_state().by_evaluator.get(&self.opts.evaluator)
    }

    pub fn work_on(&self, i: usize) -> Option<&EvaluatorWork> {
        self.session.states[i]
            .by_evaluator
            .get(&self.opts.evaluator)
    }

    /// The protocol arm of task `i`: recorded arm first (resume), else drawn
    /// from the arms by a stable hash of seed and task id.
    pub fn arm(&self, i: usize) -> Protocol {
        if let Some(p) = self
            .work_on(i)
            .and_then(|w| w.arm.as_deref())
            .and_then(Protocol::parse)
        {
            return p;
        }
        if self.opts.arms.is_empty() {
            return self.opts.protocol;
        }
        let key = format!("{}:{}", self.opts.arm_seed, self.tasks[i].id);
        let digest = crate::hash::sha256_hex(key.as_bytes());
        let n = u64::from_str_radix(&digest[..15], 16).unwrap_or(0);
        self.opts.arms[(n % self.opts.arms.len() as u64) as usize]
    }

    /// Is assistance hidden on the current task?
    pub fn hidden(&self) -> bool {
        match self.arm(self.current) {
            Protocol::Assisted => false,
            Protocol::Unassisted => true,
            Protocol::BlindFirst => !self.work().is_some_and(|w| w.revealed),
        }
    }

    /// Phase a verdict recorded now belongs to.
    pub fn phase(&self) -> Phase {
        match self.arm(self.current) {
            Protocol::Assisted => Phase::Assisted,
            Protocol::Unassisted => Phase::Unaided,
            Protocol::BlindFirst if self.hidden() => Phase::Unaided,
            Protocol::BlindFirst => Phase::Assisted,
        }
    }

    /// The answer text the left pane shows.
    pub fn answer(&self) -> &str {
        let t = self.task();
        match (&t.answer_b, self.side_b) {
            (Some(b), true) => b,
            _ => &t.answer,
        }
    }

    pub fn current_assist(&self, kind: Kind) -> Option<&AssistRecord> {
        self.task_state().current(kind)
    }

    pub fn critiques(&self) -> Option<(u64, &[Critique])> {
        let r = self.current_assist(Kind::Critique)?;
        match &r.assistance.output {
            Output::Critique { critiques } => Some((r.stamp.seq, critiques)),
            _ => None,
        }
    }

    pub fn checks(&self) -> Option<(u64, &[Check])> {
        let r = self.current_assist(Kind::Checks)?;
        match &r.assistance.output {
            Output::Checks { checks } => Some((r.stamp.seq, checks)),
            _ => None,
        }
    }

    /// Steps to rate: the task's own (PRM800K, seq `None`) or the
    /// decomposition's.
    pub fn steps(&self) -> Option<(Option<u64>, Vec<StepView>)> {
        let t = self.task();
        if let Some(spans) = &t.steps {
            let steps = spans
                .iter()
                .enumerate()
                .map(|(i, s)| StepView {
                    text: t.step_text(i).unwrap_or("").to_string(),
                    span: Some(*s),
                    kind: None,
                })
                .collect();
            return Some((None, steps));
        }
        let r = self.current_assist(Kind::Decompose)?;
        match &r.assistance.output {
            Output::Decompose { steps } => Some((
                Some(r.stamp.seq),
                steps.iter().map(StepView::from).collect(),
            )),
            _ => None,
        }
    }

    /// Number of selectable items on a tab.
    pub fn item_count(&self, tab: Tab) -> usize {
        if self.hidden() && tab != Tab::Diff {
            return 0;
        }
        match tab {
            Tab::Critiques => self.critiques().map_or(0, |c| c.1.len()),
            Tab::Checks => self.checks().map_or(0, |c| c.1.len()),
            Tab::Steps => self.steps().map_or(0, |s| s.1.len()),
            Tab::Diff => 0,
        }
    }

    pub fn selected(&self) -> usize {
        match self.tab {
            Tab::Diff => 0,
            t => self.sel[t.index()],
        }
    }

    /// The generation in flight for `kind` on the current task.
    pub fn gen_for(&self, kind: Kind) -> Option<(u64, &Gen)> {
        self.gens
            .iter()
            .find(|(_, g)| g.task == self.current && g.kind == kind)
            .map(|(id, g)| (*id, g))
    }

    /// Labels this evaluator gave on the current task's current items, and
    /// how many items there are.
    pub fn labelled_count(&self) -> (usize, usize) {
        let Some(work) = self.work() else {
            return (0, self.total_items());
        };
        let done = work
            .labels
            .keys()
            .filter(|t| match t.assistance() {
                Some(seq) => self.is_current_seq(seq),
                None => self.task().steps.is_some(),
            })
            .count();
        (done, self.total_items())
    }

    fn total_items(&self) -> usize {
        [Tab::Critiques, Tab::Checks, Tab::Steps]
            .iter()
            .map(|t| self.item_count(*t))
            .sum()
    }

    fn is_current_seq(&self, seq: u64) -> bool {
        Kind::ALL
            .iter()
            .any(|k| self.current_assist(*k).is_some_and(|r| r.stamp.seq == seq))
    }

    /// Active time on the current task, recorded plus pending.
    pub fn active_ms(&self) -> u64 {
        // The time since the last input counts while it is under the idle limit.
        let live = self
            .last_input_ms
            .map(|t| self.now_ms.saturating_sub(t))
            .filter(|gap| *gap <= self.opts.idle_ms)
            .unwrap_or(0);
        self.work().map_or(0, |w| w.active_ms) + self.pending_active_ms + live
    }

    /// Does task `i` have a verdict from this evaluator?
    pub fn has_verdict(&self, i: usize) -> bool {
        self.work_on(i).is_some_and(|w| !w.verdicts.is_empty())
    }
}

/// A step as shown, from either source.
#[derive(Debug, Clone)]
pub struct StepView {
    pub text: String,
    pub span: Option<Span>,
    pub kind: Option<crate::assist::StepKind>,
}

impl From<&Step> for StepView {
    fn from(s: &Step) -> Self {
        StepView {
            text: s.text.clone(),
            span: s.span,
            kind: Some(s.kind),
        }
    }
}
