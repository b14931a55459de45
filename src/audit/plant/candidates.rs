//! What can be changed in an answer: the candidate flaws of each kind.

use super::draft::write_like;
use super::{Candidate, Edit, PlantKind};
use crate::assist::tools::arith::{self, Calc};
use crate::assist::tools::final_answer;
use crate::assist::tools::lex::{Kind as Tok, Op, Token};
use crate::assist::tools::number::{self, Number, Q};
use crate::task::{Span, Task};
use num_traits::{One, Signed, Zero};
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

/// The source task and what was read from its answer.
pub(super) struct Source<'a> {
    pub(super) task: &'a Task,
    pub(super) calcs: Vec<Calc>,
    pub(super) final_value: Option<final_answer::Value>,
}

impl<'a> Source<'a> {
    pub(super) fn new(task: &'a Task) -> Source<'a> {
        Source {
            task,
            calcs: arith::all_calcs(&task.answer),
            final_value: final_answer::extract(&task.answer).and_then(|f| f.value),
        }
    }

    pub(super) fn text(&self, span: Span) -> &str {
        &self.task.answer[span.start..span.end]
    }

    /// Right calculations a reader sees: prose ones, and annotations that
    /// no prose calculation surrounds.
    fn visible(&self) -> impl Iterator<Item = &Calc> {
        self.calcs
            .iter()
            .filter(|c| c.ok && (!c.annotation || self.around(c).is_none()))
    }

    /// The prose calculation around annotation `c`.
    fn around(&self, c: &Calc) -> Option<&Calc> {
        self.calcs
            .iter()
            .find(|p| !p.annotation && arith::contains(p.span, c.span))
    }

    /// The annotation inside prose calculation `p` that computes the same.
    fn note_of(&self, p: &Calc) -> Option<&Calc> {
        self.calcs.iter().find(|c| {
            c.annotation && !p.annotation && arith::contains(p.span, c.span) && c.value == p.value
        })
    }

    /// An annotation after prose this reader could not parse (`160 sheep +
    /// 80 sheep = <<160+80=240>>240`): changing only the annotation's left
    /// side would leave the prose saying the old thing.
    fn behind_prose(&self, c: &Calc) -> bool {
        let before = &self.task.answer[..c.span.start];
        let line = before.rsplit('\n').next().unwrap_or(before);
        line.trim_end_matches(|ch: char| ch.is_whitespace() || number::CURRENCY.contains(&ch))
            .ends_with('=')
    }

    pub(super) fn candidates(&self, kind: PlantKind, rng: &mut ChaCha8Rng) -> Vec<Candidate> {
        let calcs: Vec<&Calc> = self.visible().collect();
        let open: Vec<&Calc> = calcs
            .iter()
            .copied()
            .filter(|c| !(c.annotation && self.behind_prose(c)))
            .collect();
        match kind {
            PlantKind::Number => {
                let mut v: Vec<Candidate> = open
                    .iter()
                    .flat_map(|c| self.operand_changes(c, rng, false))
                    .collect();
                v.extend(calcs.iter().filter_map(|c| self.result_change(c, rng)));
                v
            }
            PlantKind::Unit => open
                .iter()
                .flat_map(|c| self.operand_changes(c, rng, true))
                .collect(),
            PlantKind::Operator => open.iter().flat_map(|c| self.operator_changes(c)).collect(),
            PlantKind::Step => open.iter().filter_map(|c| self.skip_step(c)).collect(),
        }
    }

    /// Edits of token `i` of `c`'s left side, and of the same token in
    /// the annotation that repeats `c` (GSM8K), so both stay in step.
    fn linked(
        &self,
        c: &Calc,
        pick: impl Fn(&[Token]) -> Option<usize>,
        text: &str,
    ) -> Option<Vec<Edit>> {
        let i = pick(&c.lhs)?;
        let mut edits = vec![Edit {
            span: token_digits(&c.lhs[i]),
            text: text.into(),
        }];
        if let Some(note) = self.note_of(c) {
            let j = pick(&note.lhs)?;
            let plain = text.trim_start_matches(number::CURRENCY);
            edits.push(Edit {
                span: token_digits(&note.lhs[j]),
                text: ascii_op(plain).to_string(),
            });
        }
        Some(edits)
    }

    /// Change operand `k` of `c` (a conversion factor when `unit`).
    fn operand_changes(&self, c: &Calc, rng: &mut ChaCha8Rng, unit: bool) -> Vec<Candidate> {
        let nums: Vec<&Number> = c.lhs.iter().filter_map(Token::number).collect();
        let mut out = Vec::new();
        for (k, n) in nums.iter().enumerate() {
            let new = if unit {
                self.wrong_factor(c, n)
            } else {
                nudge(&n.value, rng)
            };
            let Some(new) = new else { continue };
            let Some(text) = write_like(&new, n) else {
                continue;
            };
            let pick = |t: &[Token]| {
                t.iter()
                    .enumerate()
                    .filter(|(_, t)| t.number().is_some())
                    .nth(k)
                    .map(|(i, _)| i)
            };
            if self.note_of(c).is_some_and(|a| !same_shape(c, a)) {
                continue;
            }
            let Some(edits) = self.linked(c, pick, &text) else {
                continue;
            };
            let what = if unit { "conversion factor" } else { "number" };
            out.push(Candidate {
                kind: if unit { PlantKind::Unit } else { PlantKind::Number },
                edits,
                follow: Vec::new(),
                wrong: Vec::new(),
                description: format!(
                    "the {what} {} in {} was changed to {text}; the work after it follows from the changed value",
                    self.text(n.digits),
                    c.lhs_text
                ),
            });
        }
        out
    }

    /// A conversion factor replaced by a plausible wrong one: the number
    /// multiplies or divides, and the task names it with its unit (`60
    /// minutes`, `7 days`; for 100, a percent).
    fn wrong_factor(&self, c: &Calc, n: &Number) -> Option<Q> {
        let i = c.lhs.iter().position(|t| t.number() == Some(n))?;
        let scales =
            |t: Option<&Token>| matches!(t.map(|t| &t.kind), Some(Tok::Op(Op::Mul | Op::Div)));
        if !scales(i.checked_sub(1).map(|p| &c.lhs[p])) && !scales(c.lhs.get(i + 1)) {
            return None;
        }
        let words = format!("{} {}", self.task.prompt, self.task.answer).to_lowercase();
        let v: i64 = n
            .value
            .is_integer()
            .then(|| n.value.to_integer().try_into().ok())??;
        let (to, units): (i64, &[&str]) = match v {
            60 => (100, &["minute", "hour", "second"]),
            24 => (12, &["hour", "day"]),
            7 => (5, &["day", "week"]),
            12 => (10, &["month", "inch", "foot", "feet", "dozen"]),
            52 => (48, &["week"]),
            365 => (360, &["day", "year"]),
            100 => (10, &["cent", "percent", "%"]),
            1000 => (
                100,
                &["gram", "meter", "metre", "liter", "litre", "kilo", "ml"],
            ),
            16 => (12, &["ounce", "pound", "cup"]),
            3 => (12, &["feet", "foot", "yard"]),
            _ => return None,
        };
        let named = |u: &&str| {
            if v == 100 {
                words.contains(u)
            } else {
                words.contains(&format!("{v} {u}"))
            }
        };
        units.iter().any(named).then(|| Q::from_integer(to.into()))
    }

    /// The written result of `c` changed (an arithmetic slip), with the
    /// annotation's result in step; later uses follow the wrong value.
    fn result_change(&self, c: &Calc, rng: &mut ChaCha8Rng) -> Option<Candidate> {
        let n = c.result.as_ref().filter(|_| !is_percent_rhs(c))?;
        let new = nudge(&n.value, rng)?;
        let text = write_like(&new, n)?;
        let mut edits = vec![Edit {
            span: n.digits,
            text: text.clone(),
        }];
        let mut wrong = vec![n.digits];
        if let Some(r) = self.note_of(c).and_then(|a| a.result.as_ref()) {
            edits.push(Edit {
                span: r.digits,
                text: write_like(&new, r)?,
            });
            wrong.push(r.digits);
        }
        if c.annotation {
            if let Some(shown) = self.shown_after(c, &n.value) {
                edits.insert(
                    0,
                    Edit {
                        span: shown.digits,
                        text: write_like(&new, &shown)?,
                    },
                );
            }
        }
        Some(Candidate {
            kind: PlantKind::Number,
            edits,
            follow: vec![(n.value.clone(), new)],
            wrong,
            description: format!(
                "the result of {} was changed from {} to {text}, a miscalculation carried into the rest",
                c.lhs_text,
                self.text(n.digits)
            ),
        })
    }

    /// The number printed right after an annotation (`<<9*2=18>>18`).
    fn shown_after(&self, note: &Calc, value: &Q) -> Option<Number> {
        arith::numbers(&self.task.answer)
            .into_iter()
            .find(|n| n.digits.start == note.span.end && n.value == *value)
    }

    fn operator_changes(&self, c: &Calc) -> Vec<Candidate> {
        let ops: Vec<(usize, Op)> = c
            .lhs
            .iter()
            .enumerate()
            .filter(|(i, _)| binary(&c.lhs, *i))
            .filter_map(|(i, t)| match t.kind {
                Tok::Op(op @ (Op::Add | Op::Sub | Op::Mul | Op::Div)) => Some((i, op)),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for (k, (i, op)) in ops.iter().enumerate() {
            let to = match op {
                Op::Add => "-",
                Op::Sub => "+",
                Op::Mul => "+",
                _ => "*",
            };
            if self.note_of(c).is_some_and(|a| !same_shape(c, a)) {
                continue;
            }
            let pick = |t: &[Token]| {
                (0..t.len())
                    .filter(|&j| binary(t, j))
                    .filter(|&j| {
                        matches!(t[j].kind, Tok::Op(Op::Add | Op::Sub | Op::Mul | Op::Div))
                    })
                    .nth(k)
            };
            let Some(edits) = self.linked(c, pick, to) else {
                continue;
            };
            let was = self.text(c.lhs[*i].span);
            out.push(Candidate {
                kind: PlantKind::Operator,
                edits,
                follow: Vec::new(),
                wrong: Vec::new(),
                description: format!(
                    "the operator {was} in {} was changed to {to}; the work after it follows",
                    c.lhs_text
                ),
            });
        }
        out
    }

    /// Leave out the line of `c` when the next calculation uses its result:
    /// that calculation then uses what `c` started from.
    fn skip_step(&self, c: &Calc) -> Option<Candidate> {
        if self.task.steps.is_some() {
            return None; // step boundaries would no longer match the text
        }
        let r = c.result.as_ref()?;
        let start_from = c.lhs.iter().find_map(Token::number)?;
        let answer = &self.task.answer;
        let line_start = answer[..c.span.start].rfind('\n').map_or(0, |i| i + 1);
        let next_line = c.span.end + answer[c.span.end..].find('\n')? + 1;
        let user = self.visible().find(|d| d.span.start >= next_line)?;
        let uses: Vec<&Number> = user
            .lhs
            .iter()
            .filter_map(Token::number)
            .filter(|n| n.value == r.value)
            .collect();
        let [operand] = uses[..] else {
            return None; // no use, or several: which one was the result?
        };
        let new = write_like(&start_from.value, operand)?;
        let between = &answer[next_line..operand.digits.start];
        let dropped = answer[line_start..next_line].trim();
        let mut edits = vec![Edit {
            span: Span {
                start: line_start,
                end: operand.digits.end,
            },
            text: format!("{between}{new}"),
        }];
        if let Some(note) = self.note_of(user) {
            // The annotation repeats the calculation: change it alike.
            let k = user
                .lhs
                .iter()
                .filter_map(Token::number)
                .position(|n| n == operand)?;
            let theirs = note.lhs.iter().filter_map(Token::number).nth(k)?;
            if !same_shape(user, note) {
                return None;
            }
            edits.push(Edit {
                span: theirs.digits,
                text: write_like(&start_from.value, theirs)?,
            });
        }
        Some(Candidate {
            kind: PlantKind::Step,
            edits,
            follow: Vec::new(),
            wrong: Vec::new(),
            description: format!(
                "the step \"{dropped}\" was left out, so {} uses {new} where it used {}",
                user.lhs_text,
                self.text(operand.digits)
            ),
        })
    }

    /// Last resort: the final answer itself changed.
    pub(super) fn final_candidate(&self, rng: &mut ChaCha8Rng) -> Option<Candidate> {
        let f = final_answer::extract(&self.task.answer)?;
        let v = f.value?;
        let digits = v.digits?;
        let written = Number {
            value: v.value.abs(), // the digits, after any minus sign
            decimals: v.decimals,
            currency: false,
            grouped: self.text(digits).contains(','),
            digits,
            unit: None,
        };
        let new = nudge(&v.value.abs(), rng)?;
        let text = write_like(&new, &written)?;
        Some(Candidate {
            kind: PlantKind::Number,
            edits: vec![Edit {
                span: digits,
                text: text.clone(),
            }],
            follow: Vec::new(),
            wrong: Vec::new(),
            description: format!(
                "the final answer was changed from {} to {text}; it no longer follows from the work",
                self.text(digits)
            ),
        })
    }
}

/// Token `i` is an operator between two operands, not a sign.
fn binary(tokens: &[Token], i: usize) -> bool {
    i > 0 && matches!(tokens[i - 1].kind, Tok::Num(_) | Tok::Close | Tok::Percent)
}

fn token_digits(t: &Token) -> Span {
    t.number().map_or(t.span, |n| n.digits)
}

fn ascii_op(text: &str) -> &str {
    match text {
        "×" | "x" | "X" | "·" => "*",
        "÷" => "/",
        "−" | "–" => "-",
        t => t,
    }
}

/// Same numbers and operators in the same order (prose and annotation).
fn same_shape(a: &Calc, b: &Calc) -> bool {
    let shape = |c: &Calc| -> Vec<String> {
        c.lhs
            .iter()
            .filter_map(|t| match &t.kind {
                Tok::Num(n) => Some(number::show(&n.value)),
                Tok::Op(op) => Some(op.symbol().to_string()),
                _ => None,
            })
            .collect()
    };
    shape(a) == shape(b)
}

pub(super) fn is_percent_rhs(c: &Calc) -> bool {
    c.rhs.iter().any(|t| t.kind == Tok::Percent)
}

/// A nearby different value of the same sign and kind (whole stays whole).
fn nudge(v: &Q, rng: &mut ChaCha8Rng) -> Option<Q> {
    let one = Q::one();
    let two = Q::from_integer(2.into());
    let ten = Q::from_integer(10.into());
    let mut options = vec![v + &one, v - &one, v + &two, v * &two, v + &ten];
    if (v / &two).is_integer() || !v.is_integer() {
        options.push(v / &two);
    }
    options.retain(|o| o != v && !o.is_zero() && o.is_positive() == v.is_positive());
    options.retain(|o| !v.is_integer() || o.is_integer());
    options.choose(rng).cloned()
}
