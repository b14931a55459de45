//! What surrounds a calculation: whether a run of math tokens stands on its
//! own (no algebra glued to it, no operator word before it), and which
//! words between numbers are units that the arithmetic may ignore.

use super::lex::{Kind, Op, Token};

/// Units that may be glued to a number (`5kg`); single letters are left
/// out on purpose: `2x` is algebra.
const UNITS: [&str; 17] = [
    "kg", "mg", "km", "cm", "mm", "ml", "lb", "lbs", "oz", "ft", "hr", "hrs", "min", "mins", "sec",
    "mph", "kmh",
];

/// Words that make what follows them an operand of something before.
const OPERATOR_WORDS: [&str; 8] = [
    "x",
    "X",
    "times",
    "plus",
    "minus",
    "multiplied",
    "divided",
    "per",
];

pub(super) fn word<'a>(text: &'a str, t: &Token) -> &'a str {
    &text[t.span.start..t.span.end]
}

/// Words that change a number's size or say how it combines: never read
/// as a unit (`2 dozen * 3` is 72, not 6).
const NOT_UNITS: [&str; 44] = [
    "dozen",
    "dozens",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "billions",
    "trillion",
    "half",
    "halves",
    "third",
    "thirds",
    "quarter",
    "quarters",
    "score",
    "gross",
    "percent",
    "times",
    "squared",
    "cubed",
    "of",
    "per",
    "plus",
    "minus",
    "and",
    "or",
    "to",
    "by",
    "more",
    "less",
    "fewer",
    "than",
    "is",
    "are",
    "was",
    "the",
    "each",
    "every",
    "divided",
    "multiplied",
    "equals",
];

/// Units whose name after a result says what it measures (`= 60 inches`).
const KNOWN_UNITS: [&str; 30] = [
    "second", "minute", "hour", "day", "week", "month", "year", "inche", "inch", "foot", "feet",
    "yard", "mile", "meter", "metre", "cm", "km", "ounce", "pound", "lb", "gram", "kg", "cup",
    "pint", "quart", "gallon", "liter", "litre", "cent", "dollar",
];

pub(super) fn singular(word: &str) -> String {
    word.strip_suffix('s').unwrap_or(word).to_lowercase()
}

/// Remove unit words after numbers inside calculations (`5kg + 3kg`, `160
/// sheep + 80 sheep`), keeping each on its number for [`units_agree`].
pub(super) fn drop_units(text: &str, tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        let w = word(text, t);
        let after_number = out.last().is_some_and(|p| p.number().is_some());
        let glued_unit = t.glued && UNITS.contains(&w);
        let next = tokens.get(i + 1);
        // `2 pages/1.5 minutes` is a rate, not 2 pages divided by 1.5.
        let rate = next.is_some_and(|n| n.glued && n.kind == Kind::Op(Op::Div));
        let continues =
            !rate && next.is_some_and(|n| matches!(n.kind, Kind::Op(_) | Kind::Eq | Kind::Close));
        let spaced_unit = !t.glued
            && continues
            && w.len() >= 2
            && w.chars().all(|c| c.is_ascii_lowercase())
            && !NOT_UNITS.contains(&w)
            && !OPERATOR_WORDS.contains(&w);
        if t.kind == Kind::Word && after_number && (glued_unit || spaced_unit) {
            if let Some(Kind::Num(n)) = out.last_mut().map(|p| &mut p.kind) {
                n.unit = Some(singular(w));
            }
            continue;
        }
        out.push(t.clone());
    }
    out
}

/// Units may be dropped only where they cannot change the sum: a sum or
/// difference whose numbers all carry the same unit (`3 hours + 30 minutes
/// = 3.5 hours` is not 33), with a result in that unit too. Products and
/// quotients combine units freely (`2 hours * 60 minutes = 120 minutes`).
pub(super) fn units_agree(lt: &[Token], rt: &[Token], after: Option<String>) -> bool {
    let nums = |ts: &[Token]| -> Vec<Option<String>> {
        ts.iter()
            .filter_map(Token::number)
            .map(|n| n.unit.clone())
            .collect()
    };
    let (l, r) = (nums(lt), nums(rt));
    if l.iter().chain(&r).all(Option::is_none) {
        return true;
    }
    // `1/4 container = 60/4`: two expressions in different terms.
    if rt.iter().any(|t| matches!(t.kind, Kind::Op(_))) {
        return false;
    }
    let additive = lt
        .iter()
        .chain(rt)
        .any(|t| matches!(t.kind, Kind::Op(Op::Add | Op::Sub)));
    if !additive {
        return true;
    }
    let Some(Some(unit)) = l.first().cloned() else {
        return false;
    };
    let after_differs = after.is_some_and(|w| KNOWN_UNITS.contains(&w.as_str()) && w != unit);
    l.iter().all(|u| u.as_ref() == Some(&unit))
        && r.iter().all(|u| u.is_none() || u.as_ref() == Some(&unit))
        && !after_differs
}

/// Whether the run starting at token `a` stands on its own on the left.
pub(super) fn clean_left(text: &str, tokens: &[Token], a: usize) -> bool {
    let first = &tokens[a];
    let sign = matches!(first.kind, Kind::Op(Op::Add | Op::Sub));
    if sign && !tokens.get(a + 1).is_some_and(|t| t.glued) {
        return false;
    }
    let Some(prev) = a.checked_sub(1).map(|p| &tokens[p]) else {
        return true;
    };
    if prev.kind == Kind::Word && OPERATOR_WORDS.contains(&word(text, prev)) {
        return false; // `3000 students x 1/4 = 750`: the run is a right operand
    }
    let after_digit = a >= 2 && prev.glued && tokens[a - 2].number().is_some();
    let ok_prev = match prev.kind {
        Kind::Newline | Kind::Bullet | Kind::Open => true,
        Kind::Other(':' | ',' | '.') => !after_digit,
        Kind::Other('[' | '"' | '“' | ';' | '$') => true,
        _ => false,
    };
    if sign {
        return ok_prev;
    }
    !first.glued || ok_prev
}

/// Whether the run ending before token `b` stands on its own on the right.
pub(super) fn clean_right(tokens: &[Token], b: usize) -> bool {
    let Some(next) = tokens.get(b).filter(|t| t.glued) else {
        return true;
    };
    let digit_follows = tokens
        .get(b + 1)
        .is_some_and(|t| t.glued && t.number().is_some());
    match next.kind {
        Kind::Newline | Kind::Close => true,
        Kind::Other('.' | ',' | ':') => !digit_follows,
        Kind::Other(';' | '?' | ']' | '"' | '”' | '$') => true,
        _ => false,
    }
}
