//! `critiques`: critic training data, one record per labelled assistant
//! critique and per critique an evaluator wrote.

use super::{push, Ctx};
use crate::assist::{Critique, Kind, Output};
use crate::labels::meta::Meta;
use crate::labels::records::{CritiqueRecord, CritiqueSource, Record};
use crate::labels::resolve::{Candidate, Slots};
use crate::labels::{Counts, LabelKind};
use crate::session::event::{CritiqueLabel, LabelValue, Target};
use crate::session::fold::AssistRecord;

const SLOT_ASSISTANT_CRITIQUE: u8 = 0;
const SLOT_USER_CRITIQUE: u8 = 1;

pub fn critique_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    if let Some(versions) = ctx.ts.assistance.get(&Kind::Critique) {
        let current = versions.last().map(|r| r.stamp.seq);
        for rec in versions {
            assistant_critiques(ctx, rec, current, counts, &mut slots);
        }
    }
    user_critiques(ctx, &mut slots);
    slots
}

fn user_critiques(ctx: &Ctx, slots: &mut Slots) {
    for uc in &ctx.ts.user_critiques {
        if !ctx.arm_ok(&uc.evaluator) {
            continue;
        }
        let answer = match (&ctx.task.answer_b, uc.side) {
            (Some(b), crate::task::Side::B) => b,
            _ => &ctx.task.answer,
        };
        let record = CritiqueRecord {
            prompt: ctx.task.prompt.clone(),
            answer: answer.clone(),
            quote: uc.quote.clone(),
            span: uc.span,
            comment: uc.comment.clone(),
            severity: uc.severity,
            category: uc.category.clone(),
            source: CritiqueSource::Human,
            label: CritiqueLabel::Valid,
            corrected_severity: None,
        };
        let mut meta = Meta::new(LabelKind::UserCritique, &uc.stamp);
        meta.arm = ctx.ts.by_evaluator.get(&uc.evaluator).and_then(|w| w.arm);
        meta.source = uc.source.clone();
        let record = Record::Critique(Box::new(record));
        push(
            slots,
            (SLOT_USER_CRITIQUE, uc.stamp.seq, 0),
            Candidate::new(&uc.evaluator, "valid", record, meta),
        );
    }
}

fn assistant_critiques(
    ctx: &Ctx,
    rec: &AssistRecord,
    current: Option<u64>,
    counts: &mut Counts,
    slots: &mut Slots,
) {
    let Output::Critique { critiques } = &rec.assistance.output else {
        return;
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
            let record = assistant_record(ctx, c, *verdict, *severity);
            let mut meta = Meta::new(LabelKind::Critique, &l.stamp);
            meta.arm = work.arm;
            meta.assistance = vec![rec.stamp.seq];
            meta.source = l.source.clone();
            let id = (SLOT_ASSISTANT_CRITIQUE, rec.stamp.seq, i as u64);
            let key = format!("{verdict:?}");
            push(slots, id, Candidate::new(ev, key, record, meta));
        }
        // Unlabelled items of a regenerated (superseded) version are
        // not missing labels.
        if slots.len() == before && current == Some(rec.stamp.seq) {
            counts.skip("unlabelled_critique");
        }
    }
}

fn assistant_record(
    ctx: &Ctx,
    c: &Critique,
    label: CritiqueLabel,
    corrected: Option<crate::assist::Severity>,
) -> Record {
    Record::Critique(Box::new(CritiqueRecord {
        prompt: ctx.task.prompt.clone(),
        answer: ctx.task.answer.clone(),
        quote: c.quote.clone(),
        span: c.span,
        comment: c.comment.clone(),
        severity: c.severity,
        category: c.category.clone(),
        source: CritiqueSource::Assistant,
        label,
        corrected_severity: corrected,
    }))
}
