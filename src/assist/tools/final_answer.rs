//! The final answer, extracted and compared with the task's reference.
//!
//! Extraction, first that applies: the last GSM8K `####` line, the last
//! `\boxed{...}`, the last `A:` / `Answer:` / `Final answer:` line or
//! `the answer is ...`, else the last number. The value is the number in
//! that text (after its last `=`), normalized: thousands separators,
//! currency, percent, trailing units and a trailing `.0` do not matter.
//! A reference gives its final answer the same way, but falls back to a
//! bare number only when it is short (a long explanation's last number is
//! not its answer).

use super::lex::{lex, Kind, Op, Token};
use super::number::{self, Q};
use crate::assist::{Check, CheckVerdict};
use crate::task::{Span, Task};
use num_traits::One;

/// Where the final answer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// GSM8K's `#### 18`.
    Hashes,
    Boxed,
    /// `A:`, `Answer:`, `Final answer:`, `the answer is`.
    Marker,
    LastNumber,
    /// A short reference taken whole.
    Whole,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Hashes => "the #### line",
            Source::Boxed => "the last \\boxed{}",
            Source::Marker => "the answer line",
            Source::LastNumber => "the last number",
            Source::Whole => "the whole text",
        }
    }
}

/// A numeric final answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub value: Q,
    pub decimals: u32,
    pub percent: bool,
    /// The number's digits alone (what a rewrite replaces); `None` for a
    /// fraction (`2/3`, `\frac{2}{3}`).
    pub digits: Option<Span>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FinalAnswer {
    /// The answer's text (the number, or the marked text when not numeric).
    pub span: Span,
    pub text: String,
    pub value: Option<Value>,
    /// The whole marked text (`x = 5` when `text` is `5`), for comparing
    /// answers that are not numbers.
    pub marked: String,
    pub source: Source,
}

/// The final answer of a model's answer.
pub fn extract(text: &str) -> Option<FinalAnswer> {
    marked(text, false).or_else(|| last_number(text))
}

/// The final answer of a reference solution or answer. Its value is set
/// only when the answer is a lone number (`18`, `$1,200`, `x = 5`, `25
/// billion`): `Company V ($25 billion)` or `Amazon, 7; river, 6` are text.
pub fn extract_reference(text: &str) -> Option<FinalAnswer> {
    if let Some(found) = marked(text, true) {
        return Some(found);
    }
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > 40 || trimmed.contains('\n') {
        return None;
    }
    let start = text.len() - text.trim_start().len();
    let span = Span {
        start,
        end: start + trimmed.len(),
    };
    Some(region(text, span, Source::Whole, true))
}

/// The final answer behind a marker; `lone` as in [`extract_reference`].
fn marked(text: &str, lone: bool) -> Option<FinalAnswer> {
    if let Some(span) = hashes(text) {
        return Some(region(text, span, Source::Hashes, lone));
    }
    if let Some(span) = boxed(text) {
        return Some(region(text, span, Source::Boxed, lone));
    }
    marker(text).map(|span| region(text, span, Source::Marker, lone))
}

/// Each line's start byte and text (without its line ending).
fn line_spans(text: &str) -> Vec<(usize, &str)> {
    let mut pos = 0;
    text.split_inclusive('\n')
        .map(|l| {
            let at = pos;
            pos += l.len();
            (at, l.trim_end())
        })
        .collect()
}

fn hashes(text: &str) -> Option<Span> {
    let (at, line) = line_spans(text)
        .into_iter()
        .rev()
        .find(|(_, l)| l.trim_start().starts_with("####"))?;
    let start = at + line.find("####")? + 4;
    trim(text, start, at + line.len())
}

/// Contents of the last `\boxed{...}` (braces matched).
fn boxed(text: &str) -> Option<Span> {
    let open = text.rfind("\\boxed{")? + "\\boxed{".len();
    let mut depth = 1;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return trim(text, open, open + i);
                }
            }
            _ => {}
        }
    }
    None
}

const MARKERS: [&str; 5] = [
    "final answer:",
    "answer:",
    "a:",
    "final answer is",
    "answer is",
];

/// The text after the last answer marker, to the end of its line.
fn marker(text: &str) -> Option<Span> {
    for (at, line) in line_spans(text).into_iter().rev() {
        let lower = line.to_lowercase();
        if lower.len() != line.len() {
            continue; // lowercasing changed byte offsets: no safe slicing
        }
        let found = MARKERS.iter().find_map(|m| {
            let i = lower.rfind(m)?;
            let starts_line = lower[..i].trim().is_empty();
            let word_start = i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphabetic();
            let ok = if m.ends_with(':') {
                starts_line
            } else {
                word_start
            };
            ok.then_some(i + m.len())
        });
        if let Some(after) = found {
            return trim(text, at + after, at + line.len());
        }
    }
    None
}

/// `[start, end)` without surrounding whitespace and a closing period.
fn trim(text: &str, start: usize, end: usize) -> Option<Span> {
    let s = &text[start..end];
    let head = s.trim_start_matches(|c: char| c == ':' || c.is_whitespace());
    let body = head.trim_end().trim_end_matches(['.', ' ']);
    if body.is_empty() {
        return None;
    }
    let lead = s.len() - head.len();
    Some(Span {
        start: start + lead,
        end: start + lead + body.len(),
    })
}

/// The answer in a marked region: its number if it has one (after the last
/// `=`), else the text itself. With `lone`, the number must stand alone.
fn region(text: &str, span: Span, source: Source, lone: bool) -> FinalAnswer {
    let tokens = lex(text, span, &[]);
    let after_eq = tokens
        .iter()
        .rposition(|t| t.kind == Kind::Eq)
        .map_or(0, |i| i + 1);
    let tokens = &tokens[after_eq..];
    let found = value_at(text, tokens).filter(|(at, _)| !lone || alone(tokens, *at));
    let marked = text[span.start..span.end].to_string();
    let (span, value) = match found {
        Some((at, value)) => (at, Some(value)),
        None => (span, None),
    };
    FinalAnswer {
        span,
        text: text[span.start..span.end].to_string(),
        value,
        marked,
        source,
    }
}

/// Nothing but a sign before the number at `at`, no other number after
/// it, and at most three words (units) after it.
fn alone(tokens: &[Token], at: Span) -> bool {
    let before = tokens.iter().take_while(|t| t.span.end <= at.start);
    let after: Vec<&Token> = tokens.iter().filter(|t| t.span.start >= at.end).collect();
    before.count() == 0
        && after.iter().filter(|t| t.kind == Kind::Word).count() <= 3
        && after
            .iter()
            .all(|t| matches!(t.kind, Kind::Word | Kind::Other('.' | ')' | '(')))
}

fn last_number(text: &str) -> Option<FinalAnswer> {
    let whole = Span {
        start: 0,
        end: text.len(),
    };
    let masks = super::arith::annotations(text);
    let tokens = lex(text, whole, &masks);
    let mut from = tokens.iter().rposition(|t| t.number().is_some())?;
    // Back over a fraction's numerator (`2/3`) and a glued minus sign.
    let glued = |i: usize| tokens[i].glued;
    if from >= 2
        && glued(from)
        && glued(from - 1)
        && tokens[from - 1].kind == Kind::Op(Op::Div)
        && tokens[from - 2].number().is_some()
    {
        from -= 2;
    }
    if from >= 1 && glued(from) && tokens[from - 1].kind == Kind::Op(Op::Sub) {
        from -= 1;
    }
    let (span, value) = value_at(text, &tokens[from..])?;
    let found = text[span.start..span.end].to_string();
    Some(FinalAnswer {
        span,
        text: found.clone(),
        value: Some(value),
        marked: found,
        source: Source::LastNumber,
    })
}

/// The first number in `tokens` with its sign, fraction and percent.
fn value_at(text: &str, tokens: &[Token]) -> Option<(Span, Value)> {
    if let Some(found) = latex_frac(text, tokens) {
        return Some(found);
    }
    let i = tokens.iter().position(|t| t.number().is_some())?;
    let n = tokens[i].number()?;
    let neg = i > 0 && tokens[i - 1].kind == Kind::Op(Op::Sub) && tokens[i].glued;
    let start = if neg {
        tokens[i - 1].span.start
    } else {
        tokens[i].span.start
    };
    let mut end = tokens[i].span.end;
    let mut value = Value {
        value: n.value.clone(),
        decimals: n.decimals,
        percent: false,
        digits: Some(n.digits),
    };
    let next = |k: usize| tokens.get(i + k).filter(|t| t.glued);
    if let (Some(slash), Some(den)) = (next(1), next(2)) {
        if let (Kind::Op(Op::Div), Some(d)) = (&slash.kind, den.number()) {
            if d.value != Q::from_integer(0.into()) {
                value.value = &value.value / &d.value;
                value.digits = None;
                end = den.span.end;
            }
        }
    }
    if let Some(p) = tokens.iter().skip(i + 1).find(|t| t.span.start >= end) {
        if p.kind == Kind::Percent && p.span.start - end <= 1 {
            value.percent = true;
            end = p.span.end;
        }
    }
    if neg {
        value.value = -value.value;
    }
    Some((Span { start, end }, value))
}

/// `\frac{a}{b}` (also `\dfrac`, `\tfrac`) with plain numbers.
fn latex_frac(text: &str, tokens: &[Token]) -> Option<(Span, Value)> {
    let i = tokens.iter().position(|t| t.kind == Kind::Word)?;
    let name = &text[tokens[i].span.start..tokens[i].span.end];
    if !matches!(name, "\\frac" | "\\dfrac" | "\\tfrac") {
        return None;
    }
    let k = |j: usize| tokens.get(i + j).map(|t| &t.kind);
    let (Some(Kind::Num(a)), Some(Kind::Num(b))) = (k(2), k(5)) else {
        return None;
    };
    let braces = [k(1), k(3), k(4), k(6)];
    let want = [
        Kind::Other('{'),
        Kind::Other('}'),
        Kind::Other('{'),
        Kind::Other('}'),
    ];
    if braces.iter().zip(&want).any(|(got, w)| *got != Some(w))
        || b.value == Q::from_integer(0.into())
    {
        return None;
    }
    let neg = i > 0 && tokens[i - 1].kind == Kind::Op(Op::Sub);
    let v = &a.value / &b.value;
    let start = if neg {
        tokens[i - 1].span.start
    } else {
        tokens[i].span.start
    };
    let value = Value {
        value: if neg { -v } else { v },
        decimals: 0,
        percent: false,
        digits: None,
    };
    Some((
        Span {
            start,
            end: tokens[i + 6].span.end,
        },
        value,
    ))
}

/// Whether the answer's value equals the reference's: exactly, as a
/// percent of it, or rounded to the decimals the answer wrote.
pub fn same_value(answer: &Value, reference: &Value) -> bool {
    let hundredth = Q::new(1.into(), 100.into());
    let scales: Vec<Q> = match (answer.percent, reference.percent) {
        (true, false) => vec![Q::one(), hundredth],
        (false, true) => vec![Q::one(), Q::from_integer(100.into())],
        _ => vec![Q::one()],
    };
    scales.iter().any(|s| {
        let a = &answer.value * s;
        a == reference.value
            || (answer.decimals > 0 && {
                let half = Q::new(1.into(), number::pow10(answer.decimals) * 2);
                num_traits::Signed::abs(&(&a - &reference.value)) < half * s
            })
    })
}

/// Text normalized for a non-numeric comparison.
pub fn normalize(text: &str) -> String {
    let mut s = text.to_lowercase();
    for (from, to) in [
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
        ("\\,", ""),
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("\\text", ""),
        ("\\mbox", ""),
        ("\\$", ""),
        ("$", ""),
        ("^\\circ", ""),
        ("^{\\circ}", ""),
    ] {
        s = s.replace(from, to);
    }
    s.retain(|c| !c.is_whitespace() && c != '{' && c != '}');
    s.trim_end_matches('.').to_string()
}

/// The reference check: pass when the final answers agree, fail when both
/// are numbers that differ, unsure when they differ but are not both
/// numeric (an equivalent form may have been written). `None` when the task
/// has no reference with a final answer.
pub fn check(task: &Task) -> Option<Check> {
    let reference = extract_reference(task.reference.as_deref()?)?;
    // A text reference is compared only with a marked final answer: the
    // last number of free prose says nothing about it.
    let answer = match reference.value {
        Some(_) => extract(&task.answer)?,
        None => marked(&task.answer, false)?,
    };
    let verdict = match (&answer.value, &reference.value) {
        (Some(a), Some(r)) if same_value(a, r) => CheckVerdict::Pass,
        (Some(_), Some(_)) => CheckVerdict::Fail,
        _ if normalize(&answer.marked) == normalize(&reference.marked) => CheckVerdict::Pass,
        _ => CheckVerdict::Unsure,
    };
    Some(Check {
        question: "Does the final answer match the reference?".into(),
        method: format!(
            "took {} of the answer and {} of the reference, ignoring thousands separators, \
             currency, percent signs, units and trailing zeros, and compared them exactly",
            answer.source.describe(),
            reference.source.describe()
        ),
        assistant_verdict: verdict,
        evidence: format!("answer: {}; reference: {}", answer.text, reference.text),
        span: Some(answer.span),
    })
}
