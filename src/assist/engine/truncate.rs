//! Cutting a task's answer(s) to fit the context, visibly.
//!
//! The cut costs about one tokenization of the part that is kept, however
//! long the answer: the answer's first few tokens' worth of bytes are
//! tokenized alone to estimate how many bytes fit, then the cut prompt is
//! rendered and counted; if the estimate was off (tokens merge differently
//! at the edges, the cut marker's digits), it is corrected by the excess.

use crate::assist::Truncation;
use crate::task::Task;

/// Answers up to this size are first tried whole, as before.
const TRY_WHOLE: usize = 64 * 1024;
/// Corrections after the first estimate before giving up on a better cut.
const MAX_TRIES: usize = 8;

/// A prompt that fits, and whether the answer had to be cut for it.
pub(super) enum Fit<R> {
    Fits(R, Option<Truncation>),
    /// Even with the answers cut to nothing the prompt needs this many tokens.
    TooLong {
        needed: usize,
    },
}

/// Fit `task`'s prompt into `budget` tokens. `render` renders a task's
/// prompt and counts its tokens; `pieces` gives the byte length of each
/// token of a text tokenized alone.
pub(super) fn fit<R, E>(
    task: &Task,
    budget: usize,
    render: impl Fn(&Task) -> Result<(R, usize), E>,
    pieces: impl Fn(&str) -> Vec<usize>,
) -> Result<Fit<R>, E> {
    let total = task.answer.len() + task.answer_b.as_ref().map_or(0, String::len);
    if total <= TRY_WHOLE {
        let (r, n) = render(task)?;
        if n <= budget {
            return Ok(Fit::Fits(r, None));
        }
    }
    let (empty, fixed) = render(&truncated_task(task, 0, total))?;
    if fixed > budget {
        return Ok(Fit::TooLong { needed: fixed });
    }
    let room = budget - fixed;
    let a = Prefix::measure(&task.answer, room, &pieces);
    let b = task
        .answer_b
        .as_deref()
        .map(|b| Prefix::measure(b, room, &pieces));
    let whole_tokens = a
        .whole()
        .zip(b.as_ref().map_or(Some(0), Prefix::whole))
        .map(|(x, y)| x + y);
    if total > TRY_WHOLE && whole_tokens.is_some_and(|n| n <= room) {
        let (r, n) = render(task)?;
        if n <= budget {
            return Ok(Fit::Fits(r, None));
        }
    }
    let mut room = room;
    for _ in 0..MAX_TRIES {
        let kept = largest_kept(task, total, room, &a, b.as_ref());
        if kept == 0 {
            break;
        }
        let (r, n) = render(&truncated_task(task, kept, total))?;
        if n <= budget {
            let kept_bytes = kept_bytes(task, kept, total);
            return Ok(Fit::Fits(r, Some(truncation(kept_bytes, total))));
        }
        room -= (n - budget).min(room);
    }
    Ok(Fit::Fits(empty, Some(truncation(0, total))))
}

fn truncation(kept_bytes: usize, total_bytes: usize) -> Truncation {
    Truncation {
        kept_bytes,
        total_bytes,
    }
}

/// Where the tokens of the start of one answer end (byte offsets).
struct Prefix {
    ends: Vec<usize>,
    /// The whole answer was measured.
    complete: bool,
}

impl Prefix {
    /// Measure enough of `text` to hold more than `room` tokens (or all of
    /// it), doubling the slice so a text of long tokens costs at most twice.
    fn measure(text: &str, room: usize, pieces: impl Fn(&str) -> Vec<usize>) -> Prefix {
        let mut len = room.saturating_mul(8).max(4096);
        loop {
            let end = floor_char(text, len);
            let mut ends = Vec::new();
            let mut at = 0;
            for piece in pieces(&text[..end]) {
                at = (at + piece).min(end);
                ends.push(at);
            }
            let complete = end == text.len();
            if complete || ends.len() > room {
                return Prefix { ends, complete };
            }
            len = len.saturating_mul(2);
        }
    }

    /// Tokens of the whole answer, if it was measured whole.
    fn whole(&self) -> Option<usize> {
        self.complete.then_some(self.ends.len())
    }

    /// Tokens needed to show the first `bytes` bytes; more than measured
    /// when they reach past the measured slice.
    fn tokens_for(&self, bytes: usize) -> usize {
        if bytes == 0 {
            return 0;
        }
        let last = self.ends.last().copied().unwrap_or(0);
        if bytes > last && !self.complete {
            return usize::MAX / 4;
        }
        (self.ends.partition_point(|&e| e < bytes) + 1).min(self.ends.len())
    }
}

/// The most bytes (over both answers, shared as `truncated_task` shares
/// them) whose tokens fit in `room`.
fn largest_kept(task: &Task, total: usize, room: usize, a: &Prefix, b: Option<&Prefix>) -> usize {
    let need = |kept: usize| {
        let na = a.tokens_for(share(task.answer.len(), kept, total));
        let nb = match (b, &task.answer_b) {
            (Some(b), Some(text)) => b.tokens_for(share(text.len(), kept, total)),
            _ => 0,
        };
        na + nb
    };
    let (mut lo, mut hi) = (0usize, total);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if need(mid) <= room {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// The task with its answer(s) cut to `kept` of `total` bytes (shared
/// proportionally between the answers of a pairwise task), each cut marked.
/// Only what prompts show is copied: never the whole of a long answer.
pub(super) fn truncated_task(task: &Task, kept: usize, total: usize) -> Task {
    Task {
        id: task.id.clone(),
        prompt: task.prompt.clone(),
        answer: cut_marked(&task.answer, share(task.answer.len(), kept, total)),
        answer_b: task
            .answer_b
            .as_ref()
            .map(|b| cut_marked(b, share(b.len(), kept, total))),
        reference: task.reference.clone(),
        steps: None,
        meta: Default::default(),
    }
}

pub(super) fn kept_bytes(task: &Task, kept: usize, total: usize) -> usize {
    let a = floor_char(&task.answer, share(task.answer.len(), kept, total));
    let b = task
        .answer_b
        .as_ref()
        .map_or(0, |b| floor_char(b, share(b.len(), kept, total)));
    a + b
}

fn share(len: usize, kept: usize, total: usize) -> usize {
    if total == 0 {
        0
    } else {
        ((len as u128 * kept as u128) / total as u128) as usize
    }
}

fn floor_char(s: &str, mut n: usize) -> usize {
    n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

fn cut_marked(s: &str, n: usize) -> String {
    let end = floor_char(s, n);
    if end == s.len() {
        return s.to_string();
    }
    format!(
        "{}\n[... answer truncated by crit to fit the context: first {end} of {} bytes shown]",
        &s[..end],
        s.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn task(answer: &str, answer_b: Option<&str>) -> Task {
        Task {
            id: "t".into(),
            prompt: "p".into(),
            answer: answer.into(),
            answer_b: answer_b.map(Into::into),
            reference: None,
            steps: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn truncation_cuts_on_char_boundaries_and_marks_the_cut() {
        let t = task("ééé", Some("bbbbbb"));
        let cut = truncated_task(&t, 6, 12);
        assert!(
            cut.answer.starts_with("é\n[... answer truncated by crit"),
            "{}",
            cut.answer
        );
        assert!(cut.answer_b.unwrap().starts_with("bbb\n"));
        assert_eq!(kept_bytes(&t, 6, 12), 2 + 3);
        assert_eq!(truncated_task(&t, 12, 12).answer, "ééé");
    }

    /// A stand-in tokenizer: one token per 4 bytes, plus 10 for the frame.
    fn count(t: &Task) -> usize {
        10 + t.answer.len().div_ceil(4) + t.answer_b.as_ref().map_or(0, |b| b.len().div_ceil(4))
    }

    fn pieces(text: &str) -> Vec<usize> {
        (0..text.len().div_ceil(4))
            .map(|i| 4.min(text.len() - 4 * i))
            .collect()
    }

    #[test]
    fn long_answers_are_cut_to_fit_after_measuring_only_a_prefix() {
        let long = "word ".repeat(2_000_000); // 10 MB
        let t = task(&long, None);
        let rendered_bytes = Cell::new(0usize);
        let measured = Cell::new(0usize);
        let render = |t: &Task| -> Result<(String, usize), ()> {
            rendered_bytes.set(rendered_bytes.get() + t.answer.len());
            Ok((t.answer.clone(), count(t)))
        };
        let measure = |text: &str| {
            measured.set(measured.get() + text.len());
            pieces(text)
        };
        let Ok(Fit::Fits(text, Some(cut))) = fit(&t, 1000, render, measure) else {
            panic!("expected a cut")
        };
        assert_eq!(cut.total_bytes, long.len());
        assert!(count(&task(&text, None)) <= 1000);
        assert!(cut.kept_bytes > 3000 && cut.kept_bytes < 4000, "{cut:?}");
        // Work is bounded by the budget, not by the answer's length.
        assert!(rendered_bytes.get() < 20_000, "{}", rendered_bytes.get());
        assert!(measured.get() < 20_000, "{}", measured.get());
    }

    #[test]
    fn pairwise_answers_share_the_cut_and_short_ones_stay_whole() {
        let t = task(&"a".repeat(8000), Some(&"b".repeat(4000)));
        let render = |t: &Task| -> Result<(Task, usize), ()> { Ok((t.clone(), count(t))) };
        let Ok(Fit::Fits(cut, Some(tr))) = fit(&t, 1010, render, pieces) else {
            panic!("expected a cut")
        };
        assert!(count(&cut) <= 1010);
        assert_eq!(tr.total_bytes, 12_000);
        let a = cut.answer.find('\n').unwrap();
        let b = cut.answer_b.as_ref().unwrap().find('\n').unwrap();
        assert!(a.abs_diff(2 * b) <= 1, "shared in proportion: {a} {b}");
        assert_eq!(tr.kept_bytes, a + b);

        let short = task("fits", None);
        assert!(matches!(
            fit(&short, 100, render, pieces),
            Ok(Fit::Fits(_, None))
        ));
        assert!(matches!(
            fit(&short, 5, render, pieces),
            Ok(Fit::TooLong { needed }) if needed > 5
        ));
    }
}
