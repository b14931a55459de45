//! Planted flaws: tampered copies of tasks whose answers are known good, for
//! measuring whether evaluators (and critiques) catch a real error.
//!
//! As in CriticGPT's tampering, one thing is changed so that the answer
//! becomes wrong: a number (an operand misread, or a result miscalculated),
//! an operator, a unit conversion factor, or a whole step left out. The
//! change is carried through the rest of the work (later calculations are
//! recomputed from it, later mentions of a changed value follow), so the
//! final answer changes too and the flaw sits where it was planted. Only a
//! miscalculated result leaves a wrong calculation behind; the other kinds
//! stay arithmetically consistent, which makes them harder to catch.
//!
//! Deterministic: each task's choices come from a ChaCha8 stream seeded with
//! SHA-256 of the seed and the task id, so a task plants the same way
//! whatever else is in the file.

use crate::assist::tools::arith::{self, Calc};
use crate::assist::tools::final_answer;
use crate::assist::tools::lex::{Kind as Tok, Op, Token};
use crate::assist::tools::number::{self, Number, Q};
use crate::assist::CheckVerdict;
use crate::task::{Span, Task};
use num_traits::{One, Signed, Zero};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Meta key of the planted flaw ([`Planting`]).
pub const META_PLANTED: &str = "planted";
/// Meta key of the source task's id.
pub const META_FROM: &str = "planted_from";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlantKind {
    Number,
    Operator,
    Unit,
    Step,
}

/// What was planted: `span` is where `replacement` sits in the planted
/// answer; it replaced `original` of the source answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planting {
    pub span: Span,
    pub original: String,
    pub replacement: String,
    pub kind: PlantKind,
    pub description: String,
}

/// The result of planting a task set.
#[derive(Debug, Default)]
pub struct Report {
    pub planted: Vec<Task>,
    /// Tasks whose answer matches their reference.
    pub known_good: usize,
    /// Known-good tasks where no change made the answer wrong.
    pub unplantable: Vec<String>,
}

/// Plant one flaw in each known-good task.
pub fn plant_all(tasks: &[Task], seed: u64) -> Report {
    let mut report = Report::default();
    for task in tasks.iter().filter(|t| known_good(t)) {
        report.known_good += 1;
        match plant(task, seed) {
            Some(t) => report.planted.push(t),
            None => report.unplantable.push(task.id.clone()),
        }
    }
    report
}

/// Single answer with a reference that its final answer matches.
pub fn known_good(task: &Task) -> bool {
    !task.is_pairwise()
        && final_answer::check(task).is_some_and(|c| c.assistant_verdict == CheckVerdict::Pass)
}

/// The planted flaw recorded in a task's meta.
pub fn planting(task: &Task) -> Option<Planting> {
    serde_json::from_value(task.meta.get(META_PLANTED)?.clone()).ok()
}

/// A tampered copy of `task`, or `None` when no change makes it wrong.
pub fn plant(task: &Task, seed: u64) -> Option<Task> {
    let mut rng = rng_for(seed, &task.id);
    let source = Source::new(task);
    let mut kinds = [
        PlantKind::Number,
        PlantKind::Operator,
        PlantKind::Unit,
        PlantKind::Step,
    ];
    kinds.shuffle(&mut rng);
    for kind in kinds {
        let mut cands = source.candidates(kind, &mut rng);
        cands.shuffle(&mut rng);
        if let Some(t) = cands.iter().find_map(|c| source.apply(c, seed)) {
            return Some(t);
        }
    }
    let last = source.final_candidate(&mut rng)?;
    source.apply(&last, seed)
}

fn rng_for(seed: u64, id: &str) -> ChaCha8Rng {
    use sha2::Digest;
    let key = sha2::Sha256::digest(format!("crit-plant\0{seed}\0{id}").as_bytes());
    ChaCha8Rng::from_seed(key.into())
}

/// One replacement in the answer.
#[derive(Debug, Clone)]
struct Edit {
    span: Span,
    text: String,
}

/// A change to try: edits in source coordinates (the first is the planted
/// one), values that later text must follow, and results left wrong.
#[derive(Debug, Clone)]
struct Candidate {
    kind: PlantKind,
    edits: Vec<Edit>,
    follow: Vec<(Q, Q)>,
    wrong: Vec<Span>,
    description: String,
}

/// The source task and what was read from its answer.
struct Source<'a> {
    task: &'a Task,
    calcs: Vec<Calc>,
    final_value: Option<final_answer::Value>,
}

impl<'a> Source<'a> {
    fn new(task: &'a Task) -> Source<'a> {
        Source {
            task,
            calcs: arith::all_calcs(&task.answer),
            final_value: final_answer::extract(&task.answer).and_then(|f| f.value),
        }
    }

    fn text(&self, span: Span) -> &str {
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

    fn candidates(&self, kind: PlantKind, rng: &mut ChaCha8Rng) -> Vec<Candidate> {
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
    fn final_candidate(&self, rng: &mut ChaCha8Rng) -> Option<Candidate> {
        let f = final_answer::extract(&self.task.answer)?;
        let v = f.value?;
        let digits = v.digits?;
        let written = Number {
            value: v.value.abs(), // the digits, after any minus sign
            decimals: v.decimals,
            currency: false,
            grouped: self.text(digits).contains(','),
            digits,
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

    /// Apply `c`, carry it through, and keep it if the answer became wrong
    /// where it should.
    fn apply(&self, c: &Candidate, seed: u64) -> Option<Task> {
        let first = &c.edits[0];
        let mut d = Draft::new(self.task);
        d.wrong = c.wrong.clone();
        d.primary = first.span;
        d.from = c.edits.iter().map(|e| e.span.end).max()?;
        // Right to left, so each edit's source span is still where it was.
        let mut edits = c.edits.clone();
        edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
        for e in &edits {
            d.replace(e.span, &e.text)?;
        }
        d.follow = c.follow.clone();
        d.propagate()?;
        let planted_span = d.primary;
        if planted_span.start >= planted_span.end {
            return None;
        }
        let planting = Planting {
            span: planted_span,
            original: self.text(first.span).to_string(),
            replacement: d.text[planted_span.start..planted_span.end].to_string(),
            kind: c.kind,
            description: c.description.clone(),
        };
        self.check(&d, c)?;
        Some(self.finish(d, planting, seed))
    }

    /// The planted answer is wrong in the intended way only.
    fn check(&self, d: &Draft, c: &Candidate) -> Option<()> {
        if d.text == self.task.answer {
            return None;
        }
        if let Some(steps) = &d.steps {
            crate::task::native::check_spans(&d.text, steps).ok()?;
        }
        let failing = |text: &str| arith::all_calcs(text).iter().filter(|c| !c.ok).count();
        if failing(&d.text) > failing(&self.task.answer) + c.wrong.len() {
            return None;
        }
        if let Some(before) = &self.final_value {
            let after = final_answer::extract(&d.text).and_then(|f| f.value)?;
            if final_answer::same_value(&after, before) {
                return None;
            }
        }
        Some(())
    }

    fn finish(&self, d: Draft, planting: Planting, seed: u64) -> Task {
        let mut task = self.task.clone();
        task.id = planted_id(seed, &self.task.id);
        task.answer = d.text;
        task.steps = d.steps;
        // Labels of the source describe the source's answer, not this one.
        task.meta.remove(crate::task::prm800k::META);
        if let Some(Value::Object(g)) = task.meta.get_mut(crate::task::gsm8k::META) {
            g.insert("is_correct".into(), Value::Bool(false));
        }
        let planted = serde_json::to_value(&planting).unwrap_or(Value::Null);
        task.meta.insert(META_PLANTED.into(), planted);
        task.meta
            .insert(META_FROM.into(), self.task.id.clone().into());
        task
    }
}

/// An id that does not say the task is planted (evaluators see ids).
pub fn planted_id(seed: u64, source_id: &str) -> String {
    let digest = crate::hash::sha256_hex(format!("crit-plant-id\0{seed}\0{source_id}").as_bytes());
    format!("t{}", &digest[..12])
}

/// Where a position moves when `at` is replaced by `new_len` bytes.
fn moved(pos: usize, at: Span, new_len: usize) -> usize {
    if pos <= at.start {
        pos
    } else if pos >= at.end {
        pos - (at.end - at.start) + new_len
    } else {
        at.start + new_len
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

fn is_percent_rhs(c: &Calc) -> bool {
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

/// `v` written like `n`: same decimals (more if needed, up to two), same
/// grouping, digits only (a sign stays where it is written); `None` when
/// it cannot be written exactly or its sign differs.
fn write_like(v: &Q, n: &Number) -> Option<String> {
    if v.is_negative() != n.value.is_negative() {
        return None;
    }
    let v = v.abs();
    let extra = if n.decimals >= number::FLOAT_DECIMALS {
        12
    } else {
        2
    };
    let needed = number::decimals_needed(&v, n.decimals.max(extra))?;
    let decimals = if n.decimals >= number::FLOAT_DECIMALS {
        needed.max(1)
    } else {
        needed.max(n.decimals)
    };
    Some(number::format(&v, decimals, n.grouped))
}

/// The answer being rewritten, with everything that must move with it.
struct Draft {
    text: String,
    steps: Option<Vec<Span>>,
    /// The planted edit, moved along with every later one.
    primary: Span,
    /// Results left wrong on purpose.
    wrong: Vec<Span>,
    /// Numbers already rewritten (not to be rewritten again).
    done: Vec<Span>,
    follow: Vec<(Q, Q)>,
    /// Text before this is final.
    from: usize,
}

impl Draft {
    fn new(task: &Task) -> Draft {
        Draft {
            text: task.answer.clone(),
            steps: task.steps.clone(),
            primary: Span { start: 0, end: 0 },
            wrong: Vec::new(),
            done: Vec::new(),
            follow: Vec::new(),
            from: 0,
        }
    }

    fn replace(&mut self, at: Span, text: &str) -> Option<()> {
        self.text.get(at.start..at.end)?;
        self.text.replace_range(at.start..at.end, text);
        let n = text.len();
        let shift = |s: &mut Span| {
            s.start = moved(s.start, at, n);
            s.end = moved(s.end, at, n);
        };
        shift(&mut self.primary);
        self.wrong.iter_mut().for_each(shift);
        self.done.iter_mut().for_each(shift);
        if let Some(steps) = &mut self.steps {
            steps.iter_mut().for_each(shift);
        }
        if self.from > at.start {
            self.from = moved(self.from, at, n);
        }
        self.done.push(Span {
            start: at.start,
            end: at.start + n,
        });
        Some(())
    }

    /// Recompute and follow until nothing changes (bounded).
    fn propagate(&mut self) -> Option<()> {
        for _ in 0..200 {
            let calcs = arith::all_calcs(&self.text);
            if self.follow_one(&calcs)? || self.fix_one(&calcs)? {
                continue;
            }
            return Some(());
        }
        None
    }

    fn untouched(&self, s: Span) -> bool {
        s.start >= self.from && !self.done.iter().any(|d| d.start < s.end && s.start < d.end)
    }

    /// Rewrite one later number (not a result) whose value changed.
    fn follow_one(&mut self, calcs: &[Calc]) -> Option<bool> {
        let results: Vec<Span> = calcs
            .iter()
            .filter_map(|c| c.result.as_ref().map(|n| n.digits))
            .collect();
        let hit = arith::numbers(&self.text).into_iter().find_map(|n| {
            let to = self
                .follow
                .iter()
                .find(|(old, _)| *old == n.value)?
                .1
                .clone();
            (self.untouched(n.digits) && !results.contains(&n.digits)).then_some((n, to))
        });
        let Some((n, to)) = hit else {
            return Some(false);
        };
        let text = write_like(&to, &n)?;
        self.replace(n.digits, &text)?;
        Some(true)
    }

    /// Recompute the first later calculation that no longer holds.
    fn fix_one(&mut self, calcs: &[Calc]) -> Option<bool> {
        let broken = calcs.iter().find(|c| {
            let r = c.result.as_ref().map(|n| n.digits);
            !c.ok && c.span.end > self.from && !r.is_some_and(|r| self.wrong.contains(&r))
        });
        let Some(c) = broken else { return Some(false) };
        let n = c.result.as_ref().filter(|_| !is_percent_rhs(c))?;
        let text = write_like(&c.value, n)?;
        self.follow.push((n.value.abs(), c.value.abs()));
        let at = n.digits;
        self.done.retain(|d| *d != at);
        self.replace(at, &text)?;
        Some(true)
    }
}
