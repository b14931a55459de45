//! Per-format record builders. Each turns one task's folded state into slots
//! of candidate records (one per evaluator); `export_session` resolves and
//! writes them as they come.

use super::meta::{shown_before, Meta};
use super::resolve::{resolve, Candidate, SlotId, Slots};
use super::{Counts, ExportFormat, ExportOptions, LabelKind, Result, Sink};
use crate::assist::Output;
use crate::session::event::{CritiqueLabel, LabelValue, Preference, Target, Verdict};
use crate::session::fold::{EvaluatorWork, TaskState, VerdictRecord};
use crate::task::Task;
use serde_json::{json, Map, Value};

mod steps;

/// Everything a builder needs about one task.
pub(super) struct Ctx<'a> {
    pub task: &'a Task,
    pub ts: &'a TaskState,
    pub opts: &'a ExportOptions,
}

impl<'a> Ctx<'a> {
    /// Evaluators whose work counts (the `--arm` filter).
    pub fn works(&self) -> impl Iterator<Item = (&'a String, &'a EvaluatorWork)> + '_ {
        let arm = self.opts.filters.arm;
        self.ts
            .by_evaluator
            .iter()
            .filter(move |(_, w)| arm.is_none_or(|a| w.arm == Some(a)))
    }

    /// Does the evaluator's arm pass the `--arm` filter?
    pub fn arm_ok(&self, evaluator: &str) -> bool {
        let Some(arm) = self.opts.filters.arm else {
            return true;
        };
        self.ts
            .by_evaluator
            .get(evaluator)
            .is_some_and(|w| w.arm == Some(arm))
    }
}

/// Write the records of one session.
pub fn export_session(
    session: &str,
    replay: &crate::session::Replay,
    opts: &ExportOptions,
    sink: &mut Sink,
    counts: &mut Counts,
) -> Result<()> {
    for (task, ts) in replay.tasks().iter().zip(replay.states()) {
        let ctx = Ctx { task, ts, opts };
        let slots = build(&ctx, counts);
        if slots.values().all(Vec::is_empty) {
            counts.tasks_without_label += 1;
            continue;
        }
        for cands in slots.into_values().filter(|c| !c.is_empty()) {
            for chosen in resolve(cands, opts.resolve, counts) {
                let c = chosen.candidate;
                let mut record = c.record;
                if !opts.no_meta {
                    let meta =
                        c.meta
                            .render(session, &task.id, &c.evaluator, &chosen.evaluators, ts);
                    record.insert("meta".into(), meta);
                }
                sink.record(&Value::Object(record))?;
                counts.records += 1;
                *counts.by_kind.entry(c.meta.kind.name().into()).or_default() += 1;
            }
        }
    }
    Ok(())
}

fn build(ctx: &Ctx, counts: &mut Counts) -> Slots {
    match ctx.opts.format {
        ExportFormat::TrlPreference | ExportFormat::OpenaiDpo | ExportFormat::HhRlhf => {
            preference_slots(ctx, counts)
        }
        ExportFormat::TrlKto => kto_slots(ctx, counts),
        ExportFormat::Reward => reward_slots(ctx, counts),
        ExportFormat::TrlStepwise => steps::stepwise_slots(ctx, counts),
        ExportFormat::Prm800k => steps::prm800k_slots(ctx, counts),
        ExportFormat::OpenaiSft => sft_slots(ctx, counts),
        ExportFormat::Critiques => critique_slots(ctx, counts),
    }
}

pub(super) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("records are objects"),
    }
}

pub(super) fn push(slots: &mut Slots, id: SlotId, c: Candidate) {
    slots.entry(id).or_default().push(c);
}

/// The verdict that counts for this evaluator, if it is the kind the format
/// reads (`pairwise` or single) and passes `--min-confidence`.
fn verdict<'a>(
    ctx: &Ctx,
    work: &'a EvaluatorWork,
    pairwise: bool,
    counts: &mut Counts,
) -> Option<&'a VerdictRecord> {
    let v = work.final_verdict()?;
    if matches!(v.verdict, Verdict::Pairwise { .. }) != pairwise {
        return None;
    }
    if let Some(min) = ctx.opts.filters.min_confidence {
        if v.verdict.confidence().is_none_or(|c| c < min) {
            counts.skip("below_min_confidence");
            return None;
        }
    }
    Some(v)
}

fn verdict_meta(ctx: &Ctx, work: &EvaluatorWork, v: &VerdictRecord) -> Meta {
    let mut m = Meta::new(LabelKind::Verdict, &v.stamp);
    m.arm = work.arm;
    m.phase = Some(
        match work.verdicts.iter().find(|(_, r)| r.stamp == v.stamp) {
            Some((crate::session::event::Phase::Unaided, _)) => "unaided",
            _ => "assisted",
        },
    );
    m.assistance = shown_before(ctx.ts, v.stamp.seq);
    m.source = v.source.clone();
    m
}

// ---- preference pairs: trl-preference, openai-dpo, hh-rlhf ----

const SLOT_VERDICT: u8 = 0;
const SLOT_CORRECTION: u8 = 1;

fn preference_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
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
                    Some((chosen, rejected, key)) => push(
                        &mut slots,
                        (SLOT_VERDICT, 0, 0),
                        Candidate {
                            evaluator: ev.clone(),
                            key: key.into(),
                            record: pair_record(ctx, chosen, rejected),
                            meta: verdict_meta(ctx, work, v),
                        },
                    ),
                    None => counts.skip("pairwise_tie"),
                }
            }
        }
        if let Some(c) = &work.correction {
            if c.text == task.answer {
                counts.skip("correction_unchanged");
                continue;
            }
            let mut meta = Meta::new(LabelKind::Correction, &c.stamp);
            meta.arm = work.arm;
            meta.assistance = shown_before(ctx.ts, c.stamp.seq);
            push(
                &mut slots,
                (SLOT_CORRECTION, 0, 0),
                Candidate {
                    evaluator: ev.clone(),
                    key: c.text.clone(),
                    record: pair_record(ctx, &c.text, &task.answer),
                    meta,
                },
            );
        }
    }
    slots
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn assistant(text: &str) -> Value {
    json!({"role": "assistant", "content": text})
}

const HUMAN: &str = "\n\nHuman: ";
const ASSISTANT: &str = "\n\nAssistant: ";

/// The prompt as chat messages. A prompt in the HH-RLHF reader's transcript
/// form (`Human: ...\n\nAssistant: ...\n\nHuman: ...`) becomes its turns;
/// anything else is one user message. `prompt_from_messages` inverts it.
pub fn prompt_messages(prompt: &str) -> Vec<Value> {
    let Some(mut rest) = prompt.strip_prefix("Human: ") else {
        return vec![user(prompt)];
    };
    let mut out = Vec::new();
    let mut is_user = true;
    loop {
        let next = [
            (rest.find(HUMAN), HUMAN, true),
            (rest.find(ASSISTANT), ASSISTANT, false),
        ]
        .into_iter()
        .filter_map(|(at, marker, u)| at.map(|a| (a, marker, u)))
        .min_by_key(|(a, _, _)| *a);
        let (text, after) = match next {
            Some((at, marker, u)) => (&rest[..at], Some((&rest[at + marker.len()..], u))),
            None => (rest, None),
        };
        out.push(if is_user { user(text) } else { assistant(text) });
        match after {
            Some((r, u)) => {
                rest = r;
                is_user = u;
            }
            None => return out,
        }
    }
}

/// Inverse of `prompt_messages`: several turns back to transcript form.
pub fn prompt_from_messages(messages: &[(String, String)]) -> String {
    if let [(role, content)] = messages {
        if role == "user" {
            return content.clone();
        }
    }
    let turns: Vec<String> = messages
        .iter()
        .map(|(role, content)| {
            let who = if role == "assistant" {
                "Assistant"
            } else {
                "Human"
            };
            format!("{who}: {content}")
        })
        .collect();
    turns.join("\n\n")
}

fn pair_record(ctx: &Ctx, chosen: &str, rejected: &str) -> Map<String, Value> {
    let prompt = ctx.task.prompt.as_str();
    obj(match ctx.opts.format {
        ExportFormat::OpenaiDpo => json!({
            "input": {"messages": prompt_messages(prompt)},
            "preferred_output": [assistant(chosen)],
            "non_preferred_output": [assistant(rejected)],
        }),
        ExportFormat::HhRlhf => json!({
            "chosen": hh_transcript(prompt, chosen),
            "rejected": hh_transcript(prompt, rejected),
        }),
        _ if ctx.opts.conversational => json!({
            "prompt": prompt_messages(prompt),
            "chosen": [assistant(chosen)],
            "rejected": [assistant(rejected)],
        }),
        _ => json!({"prompt": prompt, "chosen": chosen, "rejected": rejected}),
    })
}

/// HH-RLHF transcript. A prompt that already is a transcript (the HH-RLHF
/// reader keeps `Human: ...\n\nAssistant: ...\n\nHuman: ...`) gets the
/// blank lines back and the answer as the final assistant turn; any other
/// prompt becomes a one-turn dialogue.
pub fn hh_transcript(prompt: &str, answer: &str) -> String {
    if prompt.starts_with("Human:") {
        format!("\n\n{prompt}\n\nAssistant: {answer}")
    } else if prompt.starts_with("\n\nHuman:") {
        format!("{prompt}\n\nAssistant: {answer}")
    } else {
        format!("\n\nHuman: {prompt}\n\nAssistant: {answer}")
    }
}

// ---- single-answer verdicts: trl-kto, reward ----

fn single(v: &VerdictRecord) -> Option<(Option<bool>, Option<u8>, Option<u8>)> {
    match &v.verdict {
        Verdict::Single {
            accept,
            score,
            confidence,
            ..
        } => Some((*accept, *score, *confidence)),
        Verdict::Pairwise { .. } => None,
    }
}

fn kto_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    for (ev, work) in ctx.works() {
        let Some(v) = verdict(ctx, work, false, counts) else {
            continue;
        };
        let Some((accept, _, _)) = single(v) else {
            continue;
        };
        let Some(label) = accept else {
            counts.skip("verdict_without_accept");
            continue;
        };
        let record =
            json!({"prompt": ctx.task.prompt, "completion": ctx.task.answer, "label": label});
        push(
            &mut slots,
            (SLOT_VERDICT, 0, 0),
            Candidate {
                evaluator: ev.clone(),
                key: label.to_string(),
                record: obj(record),
                meta: verdict_meta(ctx, work, v),
            },
        );
    }
    slots
}

fn reward_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    for (ev, work) in ctx.works() {
        let Some(v) = verdict(ctx, work, false, counts) else {
            continue;
        };
        let Some((_, score, confidence)) = single(v) else {
            continue;
        };
        let Some(score) = score else {
            counts.skip("verdict_without_score");
            continue;
        };
        let score_value = if ctx.opts.normalize {
            json!(f64::from(score - 1) / 6.0)
        } else {
            json!(score)
        };
        let record = json!({
            "prompt": ctx.task.prompt,
            "response": ctx.task.answer,
            "score": score_value,
            "confidence": confidence,
        });
        push(
            &mut slots,
            (SLOT_VERDICT, 0, 0),
            Candidate {
                evaluator: ev.clone(),
                key: score.to_string(),
                record: obj(record),
                meta: verdict_meta(ctx, work, v),
            },
        );
    }
    slots
}

// ---- openai-sft: accepted or corrected answers ----

fn sft_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    for (ev, work) in ctx.works() {
        // A correction is the better answer; else an accepted original.
        let (text, meta) = if let Some(c) = &work.correction {
            let mut m = Meta::new(LabelKind::Correction, &c.stamp);
            m.arm = work.arm;
            m.assistance = shown_before(ctx.ts, c.stamp.seq);
            (c.text.as_str(), m)
        } else {
            let Some(v) = verdict(ctx, work, false, counts) else {
                continue;
            };
            match single(v) {
                Some((Some(true), _, _)) => (ctx.task.answer.as_str(), verdict_meta(ctx, work, v)),
                Some((Some(false), _, _)) => {
                    counts.skip("rejected_without_correction");
                    continue;
                }
                _ => continue,
            }
        };
        let mut messages = prompt_messages(&ctx.task.prompt);
        messages.push(assistant(text));
        let record = json!({ "messages": messages });
        push(
            &mut slots,
            (SLOT_VERDICT, 0, 0),
            Candidate {
                evaluator: ev.clone(),
                key: text.to_string(),
                record: obj(record),
                meta,
            },
        );
    }
    slots
}

// ---- critiques: critic training data ----

const SLOT_ASSISTANT_CRITIQUE: u8 = 0;
const SLOT_USER_CRITIQUE: u8 = 1;

pub fn critique_label_name(l: CritiqueLabel) -> &'static str {
    match l {
        CritiqueLabel::Valid => "valid",
        CritiqueLabel::Hallucinated => "hallucinated",
        CritiqueLabel::Nitpick => "nitpick",
    }
}

fn critique_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    assistant_critiques(ctx, counts, &mut slots);
    for uc in &ctx.ts.user_critiques {
        if !ctx.arm_ok(&uc.evaluator) {
            continue;
        }
        let answer = match (&ctx.task.answer_b, uc.side) {
            (Some(b), crate::task::Side::B) => b,
            _ => &ctx.task.answer,
        };
        let record = json!({
            "prompt": ctx.task.prompt,
            "answer": answer,
            "quote": uc.quote,
            "span": uc.span,
            "comment": uc.comment,
            "severity": uc.severity,
            "category": uc.category,
            "source": "human",
            "label": "valid",
            "corrected_severity": null,
        });
        let mut meta = Meta::new(LabelKind::UserCritique, &uc.stamp);
        meta.arm = ctx.ts.by_evaluator.get(&uc.evaluator).and_then(|w| w.arm);
        meta.source = uc.source.clone();
        push(
            &mut slots,
            (SLOT_USER_CRITIQUE, uc.stamp.seq, 0),
            Candidate {
                evaluator: uc.evaluator.clone(),
                key: "valid".into(),
                record: obj(record),
                meta,
            },
        );
    }
    slots
}

fn assistant_critiques(ctx: &Ctx, counts: &mut Counts, slots: &mut Slots) {
    let Some(versions) = ctx.ts.assistance.get(&crate::assist::Kind::Critique) else {
        return;
    };
    let current = versions.last().map(|r| r.stamp.seq);
    for rec in versions {
        let Output::Critique { critiques } = &rec.assistance.output else {
            continue;
        };
        for (i, c) in critiques.iter().enumerate() {
            let target = Target::Critique {
                assistance: rec.stamp.seq,
                index: i,
            };
            let before = slots.len();
            for (ev, work) in ctx.works() {
                let Some(l) = work.labels.get(&target) else {
                    continue;
                };
                let LabelValue::Critique { verdict, severity } = &l.value else {
                    continue;
                };
                let label = critique_label_name(*verdict);
                let record = json!({
                    "prompt": ctx.task.prompt,
                    "answer": ctx.task.answer,
                    "quote": c.quote,
                    "span": c.span,
                    "comment": c.comment,
                    "severity": c.severity,
                    "category": c.category,
                    "source": "assistant",
                    "label": label,
                    "corrected_severity": severity,
                });
                let mut meta = Meta::new(LabelKind::Critique, &l.stamp);
                meta.arm = work.arm;
                meta.assistance = vec![rec.stamp.seq];
                meta.source = l.source.clone();
                let id = (SLOT_ASSISTANT_CRITIQUE, rec.stamp.seq, i as u64);
                push(
                    slots,
                    id,
                    Candidate {
                        evaluator: ev.clone(),
                        key: label.into(),
                        record: obj(record),
                        meta,
                    },
                );
            }
            // Unlabelled items of a regenerated (superseded) version are
            // not missing labels.
            if slots.len() == before && current == Some(rec.stamp.seq) {
                counts.skip("unlabelled_critique");
            }
        }
    }
}
