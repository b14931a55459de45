//! The review UI's state: a mirror of the session log (folded), plus what is
//! on screen. Changed only by `update`; drawn from `&App`.

use super::keymap::Keymap;
use crate::assist::{Check, Critique, Kind, Output, Severity, Step};
use crate::session::event::{Event, Phase, Preference, ViewAction};
pub use crate::session::event::{Protocol, ProtocolSpec, Tab};
use crate::session::fold::{AssistRecord, EvaluatorWork, TaskState};
use crate::session::protocol::{arm_of, is_hidden};
use crate::session::Replay;
use crate::task::{Span, Task};
use ratatui::layout::Rect;
use std::collections::BTreeMap;
use std::sync::Arc;
use tui_textarea::TextArea;

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
    /// One protocol for every task, or arms drawn per task.
    pub protocol: ProtocolSpec,
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
            protocol: ProtocolSpec::Fixed(Protocol::Assisted),
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
    s.into()
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
    /// The session's tasks, events and their fold (the one owner).
    pub replay: Replay,
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
    pub fn new(opts: Options, replay: Replay) -> App {
        let mut app = App {
            opts,
            replay,
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
    /// the tab, focused item and scroll recorded after it.
    fn resume(&mut self) {
        let Some(point) = self.replay.resume_point(&self.opts.evaluator).cloned() else {
            return;
        };
        let Some(i) = self.replay.index_of(&point.task) else {
            return;
        };
        self.current = i;
        self.resume_scroll = point.scroll.map(|s| s as usize);
        if let Some(t) = point.tab {
            self.tab = t;
        }
        if let Some((seq, index)) = point.focus {
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
            self.sel[tab.index()] = match tab {
                Tab::Checks => self.check_row_of(seq, index).unwrap_or(0),
                _ => index,
            };
        }
    }

    /// Fold an event the driver appended to the log.
    pub fn apply(&mut self, event: Event) {
        self.replay.push(event);
    }

    pub fn task_count(&self) -> usize {
        self.replay.tasks().len()
    }

    pub fn task(&self) -> &Arc<Task> {
        self.replay.task(self.current)
    }

    pub fn task_state(&self) -> &TaskState {
        self.replay.state(self.current)
    }

    pub fn work(&self) -> Option<&EvaluatorWork> {
        self.task_state().by_evaluator.get(&self.opts.evaluator)
    }

    pub fn work_on(&self, i: usize) -> Option<&EvaluatorWork> {
        self.replay.state(i).by_evaluator.get(&self.opts.evaluator)
    }

    /// The protocol arm of task `i`: the arm this evaluator saw (resume),
    /// else the study design's (`crit assign`), else drawn from the spec.
    pub fn arm(&self, i: usize) -> Protocol {
        let id = &self.replay.task(i).id;
        arm_of(&self.replay, &self.opts.evaluator, id, &self.opts.protocol)
    }

    /// Is assistance hidden on the current task?
    pub fn hidden(&self) -> bool {
        is_hidden(self.arm(self.current), self.work())
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

    /// The Checks tab's rows: the computed (tool) checks first, then the
    /// model's, each with the assistance event and index labels target.
    pub fn check_rows(&self) -> Vec<CheckRow<'_>> {
        let mut rows = Vec::new();
        for kind in [Kind::ToolChecks, Kind::Checks] {
            let Some(r) = self.current_assist(kind) else {
                continue;
            };
            let tool = r.assistance.provenance.tool.as_ref();
            let checks = r.assistance.output.checks().unwrap_or_default();
            rows.extend(checks.iter().enumerate().map(|(index, check)| CheckRow {
                seq: r.stamp.seq,
                index,
                check,
                tool,
            }));
        }
        rows
    }

    /// The row showing check `index` of assistance `seq`.
    pub fn check_row_of(&self, seq: u64, index: usize) -> Option<usize> {
        self.check_rows()
            .iter()
            .position(|r| r.seq == seq && r.index == index)
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
                    restatement: None,
                    verify: None,
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
            Tab::Checks => self.check_rows().len(),
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
            .chain([&Kind::ToolChecks])
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

/// One check as the Checks tab lists it.
#[derive(Debug, Clone, Copy)]
pub struct CheckRow<'a> {
    /// The assistance event holding it (labels target `seq`, `index`).
    pub seq: u64,
    pub index: usize,
    pub check: &'a Check,
    /// The tool that computed it; `None` for a model's check.
    pub tool: Option<&'a crate::assist::ToolInfo>,
}

/// A step as shown, from either source.
#[derive(Debug, Clone)]
pub struct StepView {
    pub text: String,
    pub span: Option<Span>,
    pub kind: Option<crate::assist::StepKind>,
    /// The model's one-line restatement and how to verify the step.
    pub restatement: Option<String>,
    pub verify: Option<String>,
}

impl From<&Step> for StepView {
    fn from(s: &Step) -> Self {
        StepView {
            text: s.text.clone(),
            span: s.span,
            kind: Some(s.kind),
            restatement: s.restatement.clone(),
            verify: s.verify.clone(),
        }
    }
}
