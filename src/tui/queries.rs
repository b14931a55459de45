//! Questions the update and the views both ask of the state (geometry of
//! the screen, what is selected, what this evaluator recorded). Pure reads
//! of `&App`; neither `update` nor `view` owns them, so neither imports the
//! other.

use super::keymap::Action;
use super::layout::{self, Areas};
use super::state::{App, Protocol, Tab};
use super::text;
use crate::sanitize::Census;
use crate::session::event::{LabelValue, Target};
use crate::task::Span;
use ratatui::layout::Rect;
use std::ops::Range;

impl App {
    /// The key to name for `action` in hints and messages (the live keymap's
    /// first binding, so a rebound key shows as bound).
    pub fn key(&self, action: Action) -> String {
        self.opts.keymap.first(action)
    }

    pub fn areas(&self) -> Areas {
        self.areas_in(self.size)
    }

    /// Layout for a screen of `area`: the prompt block fits its text.
    pub fn areas_in(&self, area: Rect) -> Areas {
        let wide = area.width >= layout::WIDE;
        let w = if wide { area.width / 2 } else { area.width };
        let lines = text::wrap(&self.prompt_text(), w.saturating_sub(2) as usize).len();
        layout::areas(area, lines.min(u16::MAX as usize) as u16)
    }

    /// Prompt plus reference, as shown in the prompt block.
    pub fn prompt_text(&self) -> String {
        let t = self.task();
        match &t.reference {
            Some(r) => format!("{}\nReference: {}", t.prompt.trim_end(), r.trim()),
            None => t.prompt.trim_end().to_string(),
        }
    }

    /// Visual lines of the answer at the answer pane's width.
    pub fn answer_lines(&self) -> Vec<Range<usize>> {
        let w = layout::inner(self.areas().answer).width as usize;
        text::wrap(self.answer(), w)
    }

    pub fn answer_height(&self) -> usize {
        layout::inner(self.areas().answer).height as usize
    }

    /// The visual selection as a byte span, if any.
    pub fn selection(&self) -> Option<Span> {
        let a = self.anchor?;
        let (s, e) = (a.min(self.cursor), a.max(self.cursor));
        Some(Span {
            start: s,
            end: text::char_end(self.answer(), e),
        })
    }

    /// The word under the cursor, for a critique without a selection.
    pub fn word_at_cursor(&self) -> Span {
        let t = self.answer();
        let pos = self.cursor.min(t.len());
        let start = t[..pos]
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        let end = t[pos..]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map_or(t.len(), |(i, _)| pos + i);
        Span { start, end }
    }

    /// Answer span of the selected item, if it has one.
    pub fn selected_span(&self) -> Option<Span> {
        if self.hidden() || self.side_b {
            return None;
        }
        let i = self.selected();
        match self.tab {
            Tab::Critiques => self.critiques()?.1.get(i)?.span,
            Tab::Checks => self.check_rows().get(i)?.check.span,
            Tab::Steps => self.steps()?.1.get(i)?.span,
            Tab::Diff => None,
        }
    }

    /// Log sequence number of the assistance shown on the current tab.
    pub fn tab_seq(&self) -> Option<u64> {
        match self.tab {
            Tab::Critiques => self.critiques().map(|c| c.0),
            Tab::Checks => self.checks().map(|c| c.0),
            Tab::Steps => self.steps().and_then(|s| s.0),
            Tab::Diff => None,
        }
    }

    /// The assistance event and item index that row `i` of the current tab
    /// shows (what a focus is recorded on); the Checks tab lists two events.
    pub fn item_source(&self, i: usize) -> Option<(u64, usize)> {
        match self.tab {
            Tab::Checks => self.check_rows().get(i).map(|r| (r.seq, r.index)),
            _ => self.tab_seq().map(|seq| (seq, i)),
        }
    }

    /// This evaluator's label on `target`, if any.
    pub fn label_on(&self, target: &Target) -> Option<&LabelValue> {
        self.work()?.labels.get(target).map(|r| &r.value)
    }

    /// Index of the first step this evaluator rated -1.
    pub fn first_bad_step(&self, seq: Option<u64>) -> Option<usize> {
        let work = self.work()?;
        work.labels
            .iter()
            .filter_map(|(t, r)| match (t, &r.value) {
                (Target::Step { assistance, index }, LabelValue::Step { rating: -1 })
                    if *assistance == seq =>
                {
                    Some(*index)
                }
                _ => None,
            })
            .min()
    }

    /// Why assistance cannot be used on the current task (hidden).
    pub fn hidden_reason(&self) -> String {
        match self.arm(self.current) {
            Protocol::Unassisted => "this task is unassisted (control arm)".into(),
            _ => format!(
                "assistance is hidden until you record an unaided verdict ({})",
                self.key(Action::Verdict)
            ),
        }
    }

    /// This evaluator's corrected answer, if any.
    pub fn correction(&self) -> Option<&str> {
        self.work()?.correction.as_ref().map(|c| c.text.as_str())
    }

    /// Warnings for the task header, about what the evaluator reads but
    /// might not see as the model and the training data will: invisible,
    /// direction-changing and control characters in the task's text (id,
    /// prompt, reference, answers), shown as placeholders in the panes,
    /// and instruction-like or chat-template-like text in the answers.
    pub fn task_notes(&self) -> Vec<String> {
        let census = Census::of_texts(self.task().texts());
        let injected = crate::assist::inject::header_note(self.task());
        census.describe().into_iter().chain(injected).collect()
    }
}
