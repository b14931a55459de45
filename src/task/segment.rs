//! Deterministic segmentation of an answer into steps with exact byte spans.
//!
//! The task's own step boundaries win where it has them (PRM800K); else the
//! answer's non-empty lines; else (a one-line answer) its sentences by
//! Unicode's sentence boundaries (UAX #29). Spans exclude surrounding
//! whitespace, are non-empty, in order and non-overlapping, so the answer is
//! the segments joined by the gaps between them. Critiques point at a
//! segment index and the Steps tab lists these segments.

use super::{Span, Task};
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

/// Where the boundaries came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The task's own step boundaries (`Task.steps`).
    Steps,
    /// Non-empty lines.
    Lines,
    /// Unicode sentence boundaries.
    Sentences,
}

/// One piece of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub span: Span,
    /// Index into `Task.steps` when the segment is one of the task's own
    /// steps; `None` for text between or after them (covered so that no
    /// part of the answer is left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
}

/// The segments of one answer and the rule that produced them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segmentation {
    pub basis: Basis,
    pub segments: Vec<Segment>,
}

impl Segmentation {
    pub fn spans(&self) -> impl Iterator<Item = Span> + '_ {
        self.segments.iter().map(|s| s.span)
    }

    pub fn len(&self) -> usize {
        self.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The segment containing byte `pos`, if any.
    pub fn index_at(&self, pos: usize) -> Option<usize> {
        self.segments
            .iter()
            .position(|s| s.span.start <= pos && pos < s.span.end)
    }
}

/// Segment the task's answer (answer A for pairwise tasks).
pub fn segment_task(task: &Task) -> Segmentation {
    segment(&task.answer, task.steps.as_deref())
}

/// Segment `answer`, using `steps` (byte ranges into it) when given and
/// valid; invalid step spans fall back to lines/sentences.
pub fn segment(answer: &str, steps: Option<&[Span]>) -> Segmentation {
    if let Some(steps) = steps.filter(|s| !s.is_empty() && valid_steps(answer, s)) {
        return Segmentation {
            basis: Basis::Steps,
            segments: from_steps(answer, steps),
        };
    }
    segment_text(answer)
}

/// Lines when the answer has more than one non-empty line, else sentences.
pub fn segment_text(answer: &str) -> Segmentation {
    let lines = pieces(answer, answer.split_inclusive('\n'));
    if lines.len() > 1 {
        return Segmentation {
            basis: Basis::Lines,
            segments: plain(lines),
        };
    }
    Segmentation {
        basis: Basis::Sentences,
        segments: plain(pieces(answer, answer.split_sentence_bounds())),
    }
}

fn plain(spans: Vec<Span>) -> Vec<Segment> {
    spans
        .into_iter()
        .map(|span| Segment { span, step: None })
        .collect()
}

/// Trimmed, non-empty spans of consecutive pieces that tile `text`.
fn pieces<'a>(text: &str, parts: impl Iterator<Item = &'a str>) -> Vec<Span> {
    let mut out = Vec::new();
    let mut pos = 0;
    for part in parts {
        let start = pos;
        pos += part.len();
        if let Some(span) = trimmed(text, start, pos) {
            out.push(span);
        }
    }
    debug_assert_eq!(pos, text.len());
    out
}

/// `[start, end)` without leading/trailing whitespace; `None` if blank.
fn trimmed(text: &str, start: usize, end: usize) -> Option<Span> {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let body = slice.trim();
    (!body.is_empty()).then(|| Span {
        start: start + lead,
        end: start + lead + body.len(),
    })
}

fn valid_steps(answer: &str, steps: &[Span]) -> bool {
    super::native::check_spans(answer, steps).is_ok()
}

/// The task's steps (trimmed, blank ones dropped), with any non-blank text
/// between or around them as extra segments so the whole answer is covered.
fn from_steps(answer: &str, steps: &[Span]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut pos = 0;
    for (i, step) in steps.iter().enumerate() {
        out.extend(plain(gap(answer, pos, step.start)));
        if let Some(span) = trimmed(answer, step.start, step.end) {
            out.push(Segment {
                span,
                step: Some(i),
            });
        }
        pos = step.end;
    }
    out.extend(plain(gap(answer, pos, answer.len())));
    out
}

/// Non-blank text in `[start, end)` that no step covers, split by lines.
fn gap(answer: &str, start: usize, end: usize) -> Vec<Span> {
    if start >= end {
        return Vec::new();
    }
    let text = &answer[start..end];
    pieces(text, text.split_inclusive('\n'))
        .into_iter()
        .map(|s| Span {
            start: s.start + start,
            end: s.end + start,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(answer: &'a str, s: &Segmentation) -> Vec<&'a str> {
        s.spans().map(|sp| &answer[sp.start..sp.end]).collect()
    }

    #[test]
    fn lines_when_several_non_empty_lines() {
        let a = "  First step.  \n\n Second one\r\nA: 18\n";
        let s = segment(a, None);
        assert_eq!(s.basis, Basis::Lines);
        assert_eq!(texts(a, &s), ["First step.", "Second one", "A: 18"]);
    }

    #[test]
    fn sentences_for_a_single_line() {
        let a = "It costs $2.50 each. So 3 cost $7.50! Done?  ";
        let s = segment(a, None);
        assert_eq!(s.basis, Basis::Sentences);
        assert_eq!(
            texts(a, &s),
            ["It costs $2.50 each.", "So 3 cost $7.50!", "Done?"]
        );
    }

    #[test]
    fn task_steps_win_and_gaps_are_covered() {
        let a = "intro\nstep one\n  \nstep two\ntail";
        let steps = [Span { start: 6, end: 14 }, Span { start: 15, end: 26 }];
        let s = segment(a, Some(&steps));
        assert_eq!(s.basis, Basis::Steps);
        assert_eq!(texts(a, &s), ["intro", "step one", "step two", "tail"]);
        let idx: Vec<_> = s.segments.iter().map(|g| g.step).collect();
        assert_eq!(idx, [None, Some(0), Some(1), None]);
    }

    #[test]
    fn invalid_steps_fall_back() {
        let a = "one\ntwo";
        let bad = [Span { start: 2, end: 99 }];
        assert_eq!(segment(a, Some(&bad)).basis, Basis::Lines);
    }

    #[test]
    fn blank_answer_has_no_segments_and_multibyte_is_safe() {
        assert!(segment(" \n\t", None).is_empty());
        let a = "Ça coûte 5 €. Très bien.";
        let s = segment(a, None);
        assert_eq!(texts(a, &s), ["Ça coûte 5 €.", "Très bien."]);
        assert_eq!(s.index_at(a.find("Très").unwrap()), Some(1));
    }
}
