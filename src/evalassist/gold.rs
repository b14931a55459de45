//! What the human labels say about an answer: where its first error is,
//! and whether it is correct, read from each data set's own labels.

use crate::task::{gsm8k, halueval, prm800k, segment, Span, Task};

/// The human verdict on one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gold {
    /// Byte span of the first wrong step, when the labels mark one.
    pub first_wrong: Option<Span>,
    /// `Some(true)` when the answer is labelled correct, `Some(false)` when
    /// labelled wrong (with or without a marked step), `None` when unlabelled.
    pub correct: Option<bool>,
}

/// The labels of `task`, by its source format (PRM800K step ratings,
/// GSM8K `is_correct`, HaluEval `hallucination` and its quoted spans).
pub fn gold(task: &Task) -> Gold {
    if let Some(ratings) = prm800k::ratings(task) {
        return prm800k_gold(task, &ratings);
    }
    if let Some(correct) = gsm8k::is_correct(task) {
        return Gold {
            first_wrong: None,
            correct: Some(correct),
        };
    }
    if let Some(hallucinated) = halueval::hallucination(task) {
        return Gold {
            first_wrong: hallucinated.then(|| first_quoted(task)).flatten(),
            correct: Some(!hallucinated),
        };
    }
    Gold::default()
}

/// PRM800K: the first step rated -1 is the first error; a trajectory whose
/// steps are all rated 1 is correct (see `prepare` for where -1 steps come
/// from).
fn prm800k_gold(task: &Task, ratings: &[Option<i8>]) -> Gold {
    let steps = task.steps.as_deref().unwrap_or_default();
    match ratings.iter().position(|r| *r == Some(-1)) {
        Some(i) => Gold {
            first_wrong: steps.get(i).copied(),
            correct: Some(false),
        },
        None => Gold {
            first_wrong: None,
            correct: (!ratings.is_empty() && ratings.iter().all(|r| *r == Some(1))).then_some(true),
        },
    }
}

/// HaluEval: the annotated spans are free text, most of them quotes of the
/// response (some are annotator notes); the earliest one found verbatim in
/// the answer is taken as the first error.
fn first_quoted(task: &Task) -> Option<Span> {
    halueval::hallucination_spans(task)?
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .filter_map(|s| {
            let start = task.answer.find(s)?;
            Some(Span {
                start,
                end: start + s.len(),
            })
        })
        .min_by_key(|s| s.start)
}

/// Do two byte spans share at least one byte?
pub fn overlaps(a: Span, b: Span) -> bool {
    a.start < b.end && b.start < a.end
}

/// The exact baselines on one answer with a marked first error: the
/// expected hit of a uniformly random segment (segments overlapping the
/// error / segments) and whether the last segment overlaps it.
pub fn baselines(task: &Task, wrong: Span) -> (f64, bool) {
    let spans: Vec<Span> = segment::segment_task(task).spans().collect();
    if spans.is_empty() {
        return (0.0, false);
    }
    let hits = spans.iter().filter(|s| overlaps(**s, wrong)).count();
    let last = spans.last().is_some_and(|s| overlaps(*s, wrong));
    (hits as f64 / spans.len() as f64, last)
}
