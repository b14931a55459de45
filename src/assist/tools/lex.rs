//! Tokens of the math written in an answer. The lexer reads everything (prose
//! included) so that the finder can see what surrounds a calculation: a
//! letter glued to a number (`2x`, `r_1`) or a power sign means algebra, not
//! arithmetic, and no check is made there.

use super::number::{self, Number, CURRENCY};
use crate::task::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Pow => "^",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Num(Number),
    Op(Op),
    Open,
    Close,
    Percent,
    /// `of` after a percent or a fraction: multiplication.
    Of,
    Eq,
    Word,
    Newline,
    /// A list bullet at the start of a line (`- `, `* `).
    Bullet,
    Other(char),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    pub span: Span,
    /// No whitespace between this token and the previous one.
    pub glued: bool,
}

impl Token {
    pub fn is_math(&self) -> bool {
        matches!(
            self.kind,
            Kind::Num(_)
                | Kind::Op(_)
                | Kind::Open
                | Kind::Close
                | Kind::Percent
                | Kind::Of
                | Kind::Eq
        )
    }

    pub fn number(&self) -> Option<&Number> {
        match &self.kind {
            Kind::Num(n) => Some(n),
            _ => None,
        }
    }
}

/// Tokens of `text[range]`, skipping the byte ranges in `masks` (sorted,
/// non-overlapping) as if they were not there: GSM8K's `<<...>>` calculator
/// annotations are read separately, and the prose around them reads as
/// `16 - 3 = 13`.
pub fn lex(text: &str, range: Span, masks: &[Span]) -> Vec<Token> {
    let chars = visible(text, range, masks);
    let mut lx = Lexer {
        text,
        chars: &chars,
        i: 0,
        out: Vec::new(),
        glued: false,
        line_start: true,
    };
    lx.run();
    let mut tokens = lx.out;
    resolve_words(text, &mut tokens);
    tokens
}

fn visible(text: &str, range: Span, masks: &[Span]) -> Vec<(usize, char)> {
    text[range.start..range.end]
        .char_indices()
        .map(|(i, c)| (i + range.start, c))
        .filter(|(i, _)| !masks.iter().any(|m| m.start <= *i && *i < m.end))
        .collect()
}

struct Lexer<'a> {
    text: &'a str,
    chars: &'a [(usize, char)],
    i: usize,
    out: Vec<Token>,
    glued: bool,
    line_start: bool,
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).map(|c| c.1)
    }

    fn pos(&self, k: usize) -> usize {
        self.chars.get(self.i + k).map_or(self.text.len(), |c| c.0)
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize) {
        let glued = self.glued;
        self.out.push(Token {
            kind,
            span: Span { start, end },
            glued,
        });
        self.glued = true;
        self.line_start = false;
    }

    /// Consume `n` chars as one token.
    fn take(&mut self, kind: Kind, n: usize) {
        let start = self.pos(0);
        let end = self.end_of(n);
        self.i += n;
        self.push(kind, start, end);
    }

    fn end_of(&self, n: usize) -> usize {
        let (p, c) = self.chars[self.i + n - 1];
        p + c.len_utf8()
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                self.take(Kind::Newline, 1);
                self.glued = false;
                self.line_start = true;
            } else if c.is_whitespace() {
                self.i += 1;
                self.glued = false;
            } else if self.line_start && matches!(c, '-' | '*' | '+' | '•') && self.spaced(1) {
                self.take(Kind::Bullet, 1);
            } else if !self.number() {
                self.symbol(c);
            }
        }
    }

    fn spaced(&self, k: usize) -> bool {
        self.peek(k).is_some_and(char::is_whitespace)
    }

    fn digit_at(&self, k: usize) -> bool {
        self.peek(k).is_some_and(|c| c.is_ascii_digit())
    }

    /// A number (with a currency sign glued in front) at the cursor.
    fn number(&mut self) -> bool {
        let start = self.pos(0);
        let mut k = 0;
        if self.peek(0) == Some('\\') && self.peek(1) == Some('$') {
            k = 2;
        } else if self.peek(0).is_some_and(|c| CURRENCY.contains(&c)) {
            k = 1;
        }
        let starts = self.digit_at(k)
            || (self.peek(k) == Some('.') && self.digit_at(k + 1) && !self.after_word_or_digit());
        if !starts {
            return false;
        }
        let at = self.pos(k);
        let Some((value, decimals, grouped, end)) = self.contiguous_scan(at) else {
            return false;
        };
        while self.i < self.chars.len() && self.pos(0) < end {
            self.i += 1;
        }
        let num = Number {
            value,
            decimals,
            currency: k > 0,
            grouped,
            digits: Span { start: at, end },
            unit: None,
        };
        self.push(Kind::Num(num), start, end);
        true
    }

    /// Scan only within the visible run of chars (a mask ends the number).
    fn contiguous_scan(&self, at: usize) -> Option<(number::Q, u32, bool, usize)> {
        let mut stop = at;
        for &(p, c) in self.chars[self.i..].iter().skip_while(|(p, _)| *p < at) {
            // A mask (a gap in positions) or a character no number has ends it.
            if p != stop || !(c.is_ascii_digit() || c == ',' || c == '.') {
                break;
            }
            stop = p + 1;
        }
        number::scan(&self.text[..stop], at)
    }

    fn after_word_or_digit(&self) -> bool {
        self.glued
            && self
                .out
                .last()
                .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Num(_)))
    }

    fn symbol(&mut self, c: char) {
        let kind = match c {
            '+' => Kind::Op(Op::Add),
            '-' | '−' | '–' => Kind::Op(Op::Sub),
            '*' if self.peek(1) == Some('*') => return self.take(Kind::Op(Op::Pow), 2),
            '*' | '×' | '·' | '⋅' | '∙' => Kind::Op(Op::Mul),
            '/' | '÷' => Kind::Op(Op::Div),
            '^' => Kind::Op(Op::Pow),
            '(' => Kind::Open,
            ')' => Kind::Close,
            '%' => Kind::Percent,
            '=' => Kind::Eq,
            '\\' => return self.command(),
            c if c.is_alphabetic() => return self.word(),
            c => match number::vulgar(c) {
                Some(value) => {
                    let start = self.pos(0);
                    let end = start + c.len_utf8();
                    let digits = Span { start, end };
                    let num = Number {
                        value,
                        decimals: 0,
                        currency: false,
                        grouped: false,
                        digits,
                        unit: None,
                    };
                    Kind::Num(num)
                }
                None => Kind::Other(c),
            },
        };
        self.take(kind, 1);
    }

    fn word(&mut self) {
        let n = self.chars[self.i..]
            .iter()
            .take_while(|(_, c)| c.is_alphabetic())
            .count();
        self.take(Kind::Word, n);
    }

    /// LaTeX: operators, spacing and `\%`; other commands read as words.
    fn command(&mut self) {
        let n = 1 + self.chars[self.i + 1..]
            .iter()
            .take_while(|(_, c)| c.is_ascii_alphabetic())
            .count();
        if n == 1 {
            return match self.peek(1) {
                Some('%') => self.take(Kind::Percent, 2),
                Some(',' | ';' | '!' | ' ') => {
                    self.i += 2;
                    self.glued = false;
                }
                _ => self.take(Kind::Other('\\'), 1),
            };
        }
        let start = self.pos(1);
        let name = &self.text[start..self.end_of(n)];
        match name {
            "times" | "cdot" => self.take(Kind::Op(Op::Mul), n),
            "div" => self.take(Kind::Op(Op::Div), n),
            "left" | "right" => self.i += n,
            _ => self.take(Kind::Word, n),
        }
    }
}

/// Words that act as math between numbers: `x`/`times` as multiplication,
/// `of` after a percent or a fraction, `percent` after a number.
fn resolve_words(text: &str, tokens: &mut [Token]) {
    for i in 0..tokens.len() {
        if tokens[i].kind != Kind::Word {
            continue;
        }
        let word = &text[tokens[i].span.start..tokens[i].span.end];
        let prev = i.checked_sub(1).map(|p| &tokens[p].kind);
        let next = tokens.get(i + 1).map(|t| &t.kind);
        let operand_before = matches!(prev, Some(Kind::Num(_) | Kind::Close | Kind::Percent));
        let operand_after = matches!(next, Some(Kind::Num(_) | Kind::Open));
        let fraction_before =
            matches!(prev, Some(Kind::Num(_))) && i >= 2 && tokens[i - 2].kind == Kind::Op(Op::Div);
        let kind = match word {
            "x" | "X" | "times" if operand_before && operand_after => Kind::Op(Op::Mul),
            "of" if (prev == Some(&Kind::Percent) || fraction_before) && operand_after => Kind::Of,
            "percent" if matches!(prev, Some(Kind::Num(_))) => Kind::Percent,
            _ => continue,
        };
        tokens[i].kind = kind;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<String> {
        lex(
            text,
            Span {
                start: 0,
                end: text.len(),
            },
            &[],
        )
        .iter()
        .map(|t| match &t.kind {
            Kind::Num(n) => format!("N{}", number::show(&n.value)),
            Kind::Op(o) => o.symbol().to_string(),
            k => format!("{k:?}"),
        })
        .collect()
    }

    #[test]
    fn numbers_operators_and_words() {
        assert_eq!(
            kinds("$1,200.50 × 2 − 3"),
            ["N1200.5", "*", "N2", "-", "N3"]
        );
        assert_eq!(kinds("2 x 3"), ["N2", "*", "N3"]);
        assert_eq!(kinds("2x + 1"), ["N2", "Word", "+", "N1"]);
        assert_eq!(kinds("20% of 50"), ["N20", "Percent", "Of", "N50"]);
        assert_eq!(
            kinds("3 \\times \\left(4\\right)"),
            ["N3", "*", "Open", "N4", "Close"]
        );
        assert_eq!(kinds("- 3 + 4"), ["Bullet", "N3", "+", "N4"]);
        assert_eq!(kinds("½ ** 2"), ["N0.5", "^", "N2"]);
    }

    #[test]
    fn masks_are_skipped_and_glue_across_them() {
        let text = "= $<<9*2=18>>18 a";
        let mask = [Span { start: 3, end: 13 }];
        let toks = lex(
            text,
            Span {
                start: 0,
                end: text.len(),
            },
            &mask,
        );
        assert_eq!(toks.len(), 3);
        let n = toks[1].number().unwrap();
        assert!(n.currency);
        assert_eq!(n.digits, Span { start: 13, end: 15 });
        assert_eq!(toks[1].span, Span { start: 2, end: 15 });
    }
}
