//! Single-answer verdicts: `trl-kto` (accept/reject) and `reward` (1-7).

use super::pairs::{prompt_text, reply_text};
use super::{push, verdict, verdict_meta, Ctx};
use crate::labels::chat;
use crate::labels::records::{KtoRecord, Record, RewardRecord, Score};
use crate::labels::resolve::{Candidate, Slots};
use crate::labels::Counts;
use crate::session::event::Verdict;
use crate::session::fold::{EvaluatorWork, VerdictRecord};

/// (accept, score, confidence) of each evaluator's single verdict.
fn singles<'a>(
    ctx: &'a Ctx,
    counts: &'a mut Counts,
) -> impl Iterator<Item = (&'a String, &'a EvaluatorWork, &'a VerdictRecord, Single)> + 'a {
    ctx.works().filter_map(move |(ev, work)| {
        let v = verdict(ctx, work, false, counts)?;
        match &v.verdict {
            Verdict::Single {
                accept,
                score,
                confidence,
                ..
            } => Some((
                ev,
                work,
                v,
                Single {
                    accept: *accept,
                    score: *score,
                    confidence: *confidence,
                },
            )),
            Verdict::Pairwise { .. } => None,
        }
    })
}

struct Single {
    accept: Option<bool>,
    score: Option<u8>,
    confidence: Option<u8>,
}

pub fn kto_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    let mut without_accept = 0;
    let d = chat::dialogue(
        &ctx.task.prompt,
        &[&ctx.task.answer],
        ctx.opts.merge_consecutive,
    );
    for (ev, work, v, s) in singles(ctx, counts) {
        let Some(label) = s.accept else {
            without_accept += 1;
            continue;
        };
        let record = Record::Kto(KtoRecord {
            prompt: prompt_text(ctx, &d),
            completion: reply_text(ctx, &d.replies[0]),
            label,
        });
        let mut c = Candidate::new(ev, label.to_string(), record, verdict_meta(ctx, work, v));
        c.consecutive = d.consecutive;
        push(&mut slots, (0, 0, 0), c);
    }
    for _ in 0..without_accept {
        counts.skip("verdict_without_accept");
    }
    slots
}

pub fn reward_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    let mut without_score = 0;
    let d = chat::dialogue(
        &ctx.task.prompt,
        &[&ctx.task.answer],
        ctx.opts.merge_consecutive,
    );
    for (ev, work, v, s) in singles(ctx, counts) {
        let Some(score) = s.score else {
            without_score += 1;
            continue;
        };
        let score_value = if ctx.opts.normalize {
            Score::Normalized(f64::from(score - 1) / 6.0)
        } else {
            Score::Scale(score)
        };
        let record = Record::Reward(RewardRecord {
            prompt: prompt_text(ctx, &d),
            response: reply_text(ctx, &d.replies[0]),
            score: score_value,
            confidence: s.confidence,
        });
        let mut c = Candidate::new(ev, score.to_string(), record, verdict_meta(ctx, work, v));
        c.consecutive = d.consecutive;
        push(&mut slots, (0, 0, 0), c);
    }
    for _ in 0..without_score {
        counts.skip("verdict_without_score");
    }
    slots
}
