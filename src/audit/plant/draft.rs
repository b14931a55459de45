//! The answer being rewritten: replacements that move every recorded span,
//! and the recomputation that carries a change through the rest.

use super::candidates::is_percent_rhs;
use crate::assist::tools::arith::{self, Calc};
use crate::assist::tools::number::{self, Number, Q};
use crate::task::{Span, Task};
use num_traits::Signed;

/// Where a position moves when `at` is replaced by `new_len` bytes.
pub(super) fn moved(pos: usize, at: Span, new_len: usize) -> usize {
    if pos <= at.start {
        pos
    } else if pos >= at.end {
        pos - (at.end - at.start) + new_len
    } else {
        at.start + new_len
    }
}

/// `v` written like `n`: same decimals (more if needed, up to two), same
/// grouping, digits only (a sign stays where it is written); `None` when
/// it cannot be written exactly or its sign differs.
pub(super) fn write_like(v: &Q, n: &Number) -> Option<String> {
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
pub(super) struct Draft {
    pub(super) text: String,
    pub(super) steps: Option<Vec<Span>>,
    /// The planted edit, moved along with every later one.
    pub(super) primary: Span,
    /// Results left wrong on purpose.
    pub(super) wrong: Vec<Span>,
    /// Numbers already rewritten (not to be rewritten again).
    pub(super) done: Vec<Span>,
    pub(super) follow: Vec<(Q, Q)>,
    /// Text before this is final.
    pub(super) from: usize,
}

impl Draft {
    pub(super) fn new(task: &Task) -> Draft {
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

    pub(super) fn replace(&mut self, at: Span, text: &str) -> Option<()> {
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
    pub(super) fn propagate(&mut self) -> Option<()> {
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
