//! Every calculation written in an answer, recomputed exactly.
//!
//! Found: `a op b = c`, chains (`a + b = c = d`, and run-on `a + b = x * c
//! = y` where `x` is the previous result), GSM8K's `<<expr=result>>`
//! calculator annotations, percentages (`20% of 50 = 10`), fractions,
//! parentheses, powers, `x`/`×`/`*`/`·`/`÷`/`/`, the unicode minus,
//! thousands separators, currency and units glued to numbers (`5kg`).
//!
//! Not checked (no check rather than a wrong one): anything touching
//! algebra (a letter, `_`, `\frac`, `!` glued to the numbers), a percent
//! added to a plain number (`50 + 20%`, calculator notation), `≈`, and
//! equalities whose left side computes nothing (`x = 5`).
//!
//! Tolerance: a result written with d decimals is right when it is within
//! one unit of its last place (10^-d) of the exact value, so both rounding
//! and truncation pass, and an integer result of an exact integer must be
//! equal. A result written as a percent matches either as hundredths or as
//! the bare number (`10/50 = 20%` and `0.2 * 100 = 20%`).

use super::context::{clean_left, clean_right, drop_units, singular, units_agree, word};
use super::expr::{self, Expr, PercentMode};
use super::lex::{lex, Kind, Op, Token};
use super::number::{self, Number, Q};
use crate::assist::{Check, CheckVerdict};
use crate::task::Span;
use num_traits::One;

/// One written equality `lhs = rhs`, recomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Calc {
    /// From the first token of `lhs` to the last of `rhs`.
    pub span: Span,
    pub lhs: Vec<Token>,
    pub rhs: Vec<Token>,
    /// The exact value of `lhs`.
    pub value: Q,
    /// The written number `lhs` is compared with: all of `rhs` when it is a
    /// number, or its first number in a run-on chain (`= x * c`). `None`
    /// when `rhs` is an expression compared as a whole.
    pub result: Option<Number>,
    pub ok: bool,
    /// Inside a GSM8K `<<expr=result>>` annotation.
    pub annotation: bool,
    /// `lhs` and `rhs` as written (whitespace normalized).
    pub lhs_text: String,
    pub rhs_text: String,
    /// Whether a percent or a rounded result made the tolerance matter.
    pub tolerance: Option<u32>,
}

/// All calculations in `answer`, in text order; a GSM8K annotation that
/// repeats the prose calculation around it is folded into it.
pub fn calcs(answer: &str) -> Vec<Calc> {
    let (mut out, noted) = prose_and_noted(answer);
    for c in noted {
        if !out.iter().any(|p| same_calc(p, &c)) {
            out.push(c);
        }
    }
    out.sort_by_key(|c| (c.span.start, c.span.end));
    out
}

/// Every calculation, annotations kept apart from the prose around them
/// (what a rewrite of the answer needs), in text order.
pub fn all_calcs(answer: &str) -> Vec<Calc> {
    let (mut out, noted) = prose_and_noted(answer);
    out.extend(noted);
    out.sort_by_key(|c| (c.span.start, c.span.end));
    out
}

/// Every number token of the answer (prose and inside annotations), in
/// text order.
pub fn numbers(answer: &str) -> Vec<Number> {
    let notes = annotations(answer);
    let mut out: Vec<Number> = lex(answer, whole(answer), &notes)
        .iter()
        .chain(
            notes
                .iter()
                .flat_map(|n| lex(answer, inner(*n), &[]))
                .collect::<Vec<_>>()
                .iter(),
        )
        .filter_map(Token::number)
        .cloned()
        .collect();
    out.sort_by_key(|n| n.digits.start);
    out
}

fn whole(text: &str) -> Span {
    Span {
        start: 0,
        end: text.len(),
    }
}

/// The text between `<<` and `>>`.
fn inner(note: Span) -> Span {
    Span {
        start: note.start + 2,
        end: note.end - 2,
    }
}

fn prose_and_noted(answer: &str) -> (Vec<Calc>, Vec<Calc>) {
    let notes = annotations(answer);
    let mut out = in_tokens(answer, lex(answer, whole(answer), &notes), false);
    let mut noted = Vec::new();
    for note in &notes {
        for mut c in in_tokens(answer, lex(answer, inner(*note), &[]), true) {
            c.span = *note;
            noted.push(c);
        }
    }
    for c in &mut out {
        trust_calculator(c, &noted);
    }
    (out, noted)
}

/// A prose calculation that spans the annotation and computes the same.
fn same_calc(prose: &Calc, note: &Calc) -> bool {
    contains(prose.span, note.span) && prose.value == note.value && prose.ok == note.ok
}

pub fn contains(outer: Span, part: Span) -> bool {
    outer.start <= part.start && part.end <= outer.end
}

/// A prose result that rounds a right calculator result is right: the
/// calculator printed 14.999999999999998 and the text wrote 14.99.
fn trust_calculator(prose: &mut Calc, noted: &[Calc]) {
    let Some(written) = prose.result.clone().filter(|_| !prose.ok) else {
        return;
    };
    let printed = noted
        .iter()
        .filter(|n| n.ok && contains(prose.span, n.span) && n.value == prose.value)
        .filter_map(|n| n.result.as_ref());
    for p in printed {
        if number::matches(&p.value, &written.value, written.decimals, &Q::one()) {
            prose.ok = true;
            prose.tolerance = Some(written.decimals);
        }
    }
}

/// GSM8K calculator annotations `<<...>>` (on one line).
pub fn annotations(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("<<").map(|i| i + from) {
        let Some(j) = text[i + 2..].find(">>").map(|j| j + i + 2) else {
            break;
        };
        let inner = &text[i + 2..j];
        if !inner.contains('\n') && inner.contains('=') && !inner.contains("<<") {
            out.push(Span {
                start: i,
                end: j + 2,
            });
            from = j + 2;
        } else {
            from = i + 2;
        }
    }
    out
}

/// Checks for every calculation in `answer`.
pub fn checks(answer: &str) -> Vec<Check> {
    calcs(answer).iter().map(to_check).collect()
}

pub fn to_check(c: &Calc) -> Check {
    let shown = shown(c);
    let mut method = format!("recomputed {} exactly with rational arithmetic", c.lhs_text);
    if let Some(d) = c.tolerance {
        method.push_str(&format!(
            "; a result written to {d} decimal{} counts as right within {}",
            if d == 1 { "" } else { "s" },
            number::show(&Q::new(1.into(), number::pow10(d)))
        ));
    }
    let evidence = if c.ok {
        format!("{} = {shown}, as written", c.lhs_text)
    } else {
        format!("{} = {shown}, not {}", c.lhs_text, c.rhs_text)
    };
    Check {
        question: format!("Is {} = {} right?", c.lhs_text, c.rhs_text),
        method,
        assistant_verdict: if c.ok {
            CheckVerdict::Pass
        } else {
            CheckVerdict::Fail
        },
        evidence,
        span: Some(c.span),
    }
}

/// The recomputed value as the answer wrote its result: `81%` for a
/// percent result read as hundredths, else the plain value.
fn shown(c: &Calc) -> String {
    let hundred = Q::from_integer(100.into());
    let as_percent = is_percent(&c.rhs)
        && c.result.as_ref().is_none_or(|n| {
            let bare = number::matches(&c.value, &n.value, n.decimals, &Q::one());
            !(c.ok && bare)
        });
    if as_percent {
        format!("{}%", number::show(&(&c.value * hundred)))
    } else {
        number::show(&c.value)
    }
}

/// Calculations in one token stream.
fn in_tokens(text: &str, tokens: Vec<Token>, annotation: bool) -> Vec<Calc> {
    let tokens = drop_units(text, tokens);
    let mut out = Vec::new();
    for run in runs(&tokens) {
        for sub in split_unmatched(&tokens, run) {
            out.extend(in_run(text, &tokens, sub, annotation));
        }
    }
    out
}

/// Maximal ranges of math tokens.
fn runs(tokens: &[Token]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !tokens[i].is_math() {
            i += 1;
            continue;
        }
        let start = i;
        while i < tokens.len() && tokens[i].is_math() {
            i += 1;
        }
        out.push((start, i));
    }
    out
}

/// Unmatched parentheses, and pairs around an `=`, separate a run
/// (`1) 3 + 4 = 7`, `(16 - 3 = 13)`).
fn split_unmatched(tokens: &[Token], (a, b): (usize, usize)) -> Vec<(usize, usize)> {
    let mut open = Vec::new();
    let mut cut = Vec::new();
    for (i, t) in tokens.iter().enumerate().take(b).skip(a) {
        match t.kind {
            Kind::Open => open.push(i),
            Kind::Close => match open.pop() {
                None => cut.push(i),
                Some(o) if tokens[o..i].iter().any(|t| t.kind == Kind::Eq) => {
                    cut.extend([o, i]);
                }
                Some(_) => {}
            },
            _ => {}
        }
    }
    cut.extend(open);
    cut.sort_unstable();
    let mut out = Vec::new();
    let mut start = a;
    for c in cut.into_iter().chain([b]) {
        if start < c {
            out.push((start, c));
        }
        start = c + 1;
    }
    out
}

/// The equalities of one run, split at its `=` signs.
fn in_run(text: &str, tokens: &[Token], (a, b): (usize, usize), note: bool) -> Vec<Calc> {
    let mut bounds = vec![a];
    bounds.extend((a..b).filter(|&i| tokens[i].kind == Kind::Eq));
    bounds.push(b);
    if bounds.len() < 3 {
        return Vec::new();
    }
    let parts: Vec<&[Token]> = bounds
        .windows(2)
        .enumerate()
        .map(|(k, w)| &tokens[if k == 0 { w[0] } else { w[0] + 1 }..w[1]])
        .collect();
    let mut parsed: Vec<Option<Expr>> = parts.iter().map(|p| expr::parse(p)).collect();
    if !clean_left(text, tokens, a) {
        parsed[0] = None;
    }
    if !clean_right(tokens, b) {
        *parsed.last_mut().unwrap() = None;
    }
    let after = tokens
        .get(b)
        .filter(|t| t.kind == Kind::Word)
        .map(|t| singular(word(text, t)));
    let mut out = Vec::new();
    for k in 0..parts.len() - 1 {
        let (Some(l), Some(r)) = (&parsed[k], &parsed[k + 1]) else {
            continue;
        };
        let last = k + 2 == parts.len();
        if !units_agree(parts[k], parts[k + 1], after.clone().filter(|_| last)) {
            continue;
        }
        if l.computes() {
            out.extend(equality(text, parts[k], l, parts[k + 1], r, note));
        }
    }
    out
}

/// One equality `lhs = rhs`, or `None` when it cannot be evaluated.
fn equality(
    text: &str,
    lt: &[Token],
    l: &Expr,
    rt: &[Token],
    r: &Expr,
    annotation: bool,
) -> Option<Calc> {
    let lvals = readings(l)?;
    let (ok, result, tolerance) = if r.computes() {
        compare_expr(&lvals, rt, r)?
    } else {
        // The number's sign comes from the expression (`= -5`); a percent
        // is read by `matches_number`.
        let mut n = rt.iter().find_map(Token::number)?.clone();
        n.value = r.eval(PercentMode::Bare).ok()?;
        let ok = matches_number(&lvals, &n, rt) || magnitude_of_difference(l, &lvals, &n);
        let tol = tolerance_of(&lvals[0], &n, rt);
        (ok, Some(n), tol)
    };
    Some(Calc {
        span: Span {
            start: lt[0].span.start,
            end: rt.last()?.span.end,
        },
        value: lvals[0].clone(),
        lhs: lt.to_vec(),
        rhs: rt.to_vec(),
        result,
        ok,
        annotation,
        lhs_text: written(text, lt),
        rhs_text: written(text, rt),
        tolerance,
    })
}

/// The left side's value with `%` as hundredths, then (if different) bare.
fn readings(e: &Expr) -> Option<Vec<Q>> {
    let frac = e.eval(PercentMode::Fraction).ok()?;
    let bare = e.eval(PercentMode::Bare).ok()?;
    Some(if frac == bare {
        vec![frac]
    } else {
        vec![frac, bare]
    })
}

/// `360 - 480 = 120 less`: a subtraction written as the size of the
/// difference is right, not a sign error.
fn magnitude_of_difference(l: &Expr, lvals: &[Q], n: &Number) -> bool {
    let sub = matches!(l, Expr::Bin(Op::Sub, ..));
    sub && lvals
        .iter()
        .any(|v| number::matches(&-v, &n.value, n.decimals, &Q::one()))
}

fn is_percent(rt: &[Token]) -> bool {
    rt.iter().any(|t| t.kind == Kind::Percent)
}

fn matches_number(lvals: &[Q], n: &Number, rt: &[Token]) -> bool {
    let hundredth = Q::new(1.into(), 100.into());
    let mut scales = vec![Q::one()];
    if is_percent(rt) {
        scales.insert(0, hundredth);
    }
    lvals.iter().any(|v| {
        scales
            .iter()
            .any(|s| number::matches(v, &n.value, n.decimals, s))
    })
}

/// The decimals whose tolerance applies, when it mattered.
fn tolerance_of(exact: &Q, n: &Number, rt: &[Token]) -> Option<u32> {
    (n.decimals > 0 || !exact.is_integer() || is_percent(rt)).then_some(n.decimals)
}

/// `lhs = rhs` with an expression on the right: equal as a whole, or the
/// first number of `rhs` is `lhs`'s result (run-on chain `= x * c = y`).
fn compare_expr(
    lvals: &[Q],
    rt: &[Token],
    r: &Expr,
) -> Option<(bool, Option<Number>, Option<u32>)> {
    let rvals = readings(r)?;
    let d = rt
        .iter()
        .filter_map(Token::number)
        .map(|n| n.decimals)
        .max()
        .unwrap_or(0);
    let whole = lvals
        .iter()
        .any(|l| rvals.iter().any(|rv| number::matches(l, rv, d, &Q::one())));
    if whole {
        return Some((true, None, (d > 0).then_some(d)));
    }
    // The head is a number, maybe a percent, that an operator continues.
    let len = if rt.get(1).map(|t| &t.kind) == Some(&Kind::Percent) {
        2
    } else {
        1
    };
    let continued = rt
        .get(len)
        .is_some_and(|t| matches!(t.kind, Kind::Op(_) | Kind::Of));
    let Some(head) = rt[0].number().filter(|_| continued).cloned() else {
        return Some((false, None, (d > 0).then_some(d)));
    };
    let ok = matches_number(lvals, &head, &rt[..len]);
    let tol = tolerance_of(&lvals[0], &head, &rt[..len]);
    Some((ok, Some(head), tol))
}

/// Tokens as written, single-spaced where the answer had any space.
pub fn written(text: &str, tokens: &[Token]) -> String {
    let mut s = String::new();
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 && !t.glued {
            s.push(' ');
        }
        s.push_str(&token_text(text, t));
    }
    s
}

/// A token's text; a number's currency sign and digits may sit on both
/// sides of a masked annotation (`$<<9*2=18>>18`), which is left out.
pub fn token_text(text: &str, t: &Token) -> String {
    match t.number() {
        Some(n) if n.currency && n.digits.start > t.span.start => {
            let sign_len = if text[t.span.start..].starts_with("\\$") {
                2
            } else {
                text[t.span.start..]
                    .chars()
                    .next()
                    .map_or(0, char::len_utf8)
            };
            format!(
                "{}{}",
                &text[t.span.start..t.span.start + sign_len],
                &text[n.digits.start..n.digits.end]
            )
        }
        _ => text[t.span.start..t.span.end].to_string(),
    }
}
