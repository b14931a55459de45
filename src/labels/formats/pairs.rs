//! Preference pairs (`trl-preference`, `openai-dpo`, `hh-rlhf`) from
//! pairwise verdicts and corrections, and fine-tuning answers
//! (`openai-sft`) from corrections and accepted answers.

use super::{correction_meta, push, verdict, verdict_meta, Ctx};
use crate::labels::chat::{self, Dialogue};
use crate::labels::records::{
    DpoInput, DpoRecord, HhRecord, Message, PreferenceRecord, Record, SftRecord, Text,
};
use crate::labels::resolve::{Candidate, Slots};
use crate::labels::{Counts, ExportFormat};
use crate::session::event::{Preference, Verdict};

const SLOT_VERDICT: u8 = 0;
const SLOT_CORRECTION: u8 = 1;

pub fn preference_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    let task = ctx.task;
    for (ev, work) in ctx.works() {
        if let Some((b, v)) = task
            .answer_b
            .as_ref()
            .and_then(|b| Some((b, verdict(ctx, work, true, counts)?)))
        {
            if let Verdict::Pairwise { preferred, .. } = &v.verdict {
                let pair = match preferred {
                    Preference::A => Some((&task.answer, b, "a")),
                    Preference::B => Some((b, &task.answer, "b")),
                    Preference::Tie => None,
                };
                match pair {
                    Some((chosen, rejected, key)) => {
                        let meta = verdict_meta(ctx, work, v);
                        let c = pair_candidate(ctx, ev, key, chosen, rejected, meta);
                        push(&mut slots, (SLOT_VERDICT, 0, 0), c);
                    }
                    None => counts.skip("pairwise_tie"),
                }
            }
        }
        if let Some(c) = &work.correction {
            if c.text == task.answer {
                counts.skip("correction_unchanged");
                continue;
            }
            let meta = correction_meta(ctx, work, c);
            let cand = pair_candidate(ctx, ev, &c.text, &c.text, &task.answer, meta);
            push(&mut slots, (SLOT_CORRECTION, 0, 0), cand);
        }
    }
    slots
}

fn pair_candidate(
    ctx: &Ctx,
    evaluator: &str,
    key: &str,
    chosen: &str,
    rejected: &str,
    meta: crate::labels::meta::Meta,
) -> Candidate {
    let d = chat::dialogue(
        &ctx.task.prompt,
        &[chosen, rejected],
        ctx.opts.merge_consecutive,
    );
    let mut c = Candidate::new(evaluator, key, pair_record(ctx, &d), meta);
    c.consecutive = d.consecutive;
    c
}

fn pair_record(ctx: &Ctx, d: &Dialogue) -> Record {
    let (chosen, rejected) = (&d.replies[0], &d.replies[1]);
    match ctx.opts.format {
        ExportFormat::OpenaiDpo => Record::Dpo(DpoRecord {
            input: DpoInput {
                messages: d.prompt.clone(),
            },
            preferred_output: vec![Message::assistant(chosen)],
            non_preferred_output: vec![Message::assistant(rejected)],
        }),
        ExportFormat::HhRlhf => Record::Hh(HhRecord {
            chosen: chat::transcript(&d.prompt, chosen),
            rejected: chat::transcript(&d.prompt, rejected),
        }),
        _ => Record::Preference(PreferenceRecord {
            prompt: prompt_text(ctx, d),
            chosen: reply_text(ctx, chosen),
            rejected: reply_text(ctx, rejected),
        }),
    }
}

/// The prompt of a plain-or-conversational format.
pub(super) fn prompt_text(ctx: &Ctx, d: &Dialogue) -> Text {
    if ctx.opts.conversational {
        Text::Messages(d.prompt.clone())
    } else {
        Text::Plain(chat::plain_prompt(&d.prompt))
    }
}

/// A reply of a plain-or-conversational format.
pub(super) fn reply_text(ctx: &Ctx, reply: &str) -> Text {
    if ctx.opts.conversational {
        Text::Messages(vec![Message::assistant(reply)])
    } else {
        Text::Plain(chat::plain_reply(reply))
    }
}

pub fn sft_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    for (ev, work) in ctx.works() {
        // A correction is the better answer; else an accepted original.
        let (text, meta) = if let Some(c) = &work.correction {
            (c.text.as_str(), correction_meta(ctx, work, c))
        } else {
            let Some(v) = verdict(ctx, work, false, counts) else {
                continue;
            };
            match &v.verdict {
                Verdict::Single {
                    accept: Some(true), ..
                } => (ctx.task.answer.as_str(), verdict_meta(ctx, work, v)),
                Verdict::Single {
                    accept: Some(false),
                    ..
                } => {
                    counts.skip("rejected_without_correction");
                    continue;
                }
                _ => continue,
            }
        };
        let d = chat::dialogue(&ctx.task.prompt, &[text], ctx.opts.merge_consecutive);
        let mut messages = d.prompt.clone();
        messages.push(Message::assistant(&d.replies[0]));
        let mut c = Candidate::new(ev, text, Record::Sft(SftRecord { messages }), meta);
        c.consecutive = d.consecutive;
        push(&mut slots, (SLOT_VERDICT, 0, 0), c);
    }
    slots
}
