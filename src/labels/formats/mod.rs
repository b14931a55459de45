//! Per-format record builders, one file per family: preference pairs and
//! fine-tuning answers (`pairs`), single-answer verdicts (`single`), step
//! ratings (`steps`) and critiques (`critiques`). Each turns one task's
//! folded state into slots of candidate records (one per evaluator);
//! `export_session` resolves and writes them as they come.

use super::meta::{shown_before, Meta};
use super::resolve::{resolve, Candidate, SlotId, Slots};
use super::{Counts, ExportFormat, ExportOptions, LabelKind, Result, Sink};
use crate::session::event::{Phase, Verdict};
use crate::session::fold::{EvaluatorWork, TaskState, VerdictRecord};
use crate::session::Replay;
use crate::task::Task;

mod critiques;
mod pairs;
mod single;
mod steps;

/// Everything a builder needs about one task.
pub(super) struct Ctx<'a> {
    pub task: &'a Task,
    pub ts: &'a TaskState,
    pub opts: &'a ExportOptions,
    /// PRM800K's candidates per step, parsed from the task's meta on first
    /// use (the step formats look them up per step and per evaluator).
    pub source_steps: std::cell::OnceCell<Vec<steps::SourceStep>>,
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
    replay: &Replay,
    opts: &ExportOptions,
    sink: &mut Sink,
    counts: &mut Counts,
) -> Result<()> {
    for (task, ts) in replay.tasks().iter().zip(replay.states()) {
        let ctx = Ctx {
            task,
            ts,
            opts,
            source_steps: Default::default(),
        };
        let slots = build(&ctx, counts);
        if slots.values().all(Vec::is_empty) {
            counts.tasks_without_label += 1;
            continue;
        }
        for cands in slots.into_values().filter(|c| !c.is_empty()) {
            for chosen in resolve(cands, opts.resolve, counts) {
                let c = chosen.candidate;
                let meta = (opts.meta != super::MetaMode::None).then(|| {
                    c.meta
                        .render(session, &task.id, &c.evaluator, &chosen.evaluators, ts)
                });
                sink.record(&c.record, meta.as_ref())?;
                counts.records += 1;
                counts.consecutive_turns += u64::from(c.consecutive);
                *counts.by_kind.entry(c.meta.kind.name().into()).or_default() += 1;
            }
        }
    }
    Ok(())
}

fn build(ctx: &Ctx, counts: &mut Counts) -> Slots {
    match ctx.opts.format {
        ExportFormat::TrlPreference | ExportFormat::OpenaiDpo | ExportFormat::HhRlhf => {
            pairs::preference_slots(ctx, counts)
        }
        ExportFormat::OpenaiSft => pairs::sft_slots(ctx, counts),
        ExportFormat::TrlKto => single::kto_slots(ctx, counts),
        ExportFormat::Reward => single::reward_slots(ctx, counts),
        ExportFormat::TrlStepwise => steps::stepwise_slots(ctx, counts),
        ExportFormat::Prm800k => steps::prm800k_slots(ctx, counts),
        ExportFormat::Critiques => critiques::critique_slots(ctx, counts),
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
            Some((Phase::Unaided, _)) => Phase::Unaided,
            _ => Phase::Assisted,
        },
    );
    m.assistance = shown_before(ctx.ts, v.stamp.seq);
    m.source = v.source.clone();
    m
}

fn correction_meta(
    ctx: &Ctx,
    work: &EvaluatorWork,
    c: &crate::session::fold::CorrectionRecord,
) -> Meta {
    let mut m = Meta::new(LabelKind::Correction, &c.stamp);
    m.arm = work.arm;
    m.assistance = shown_before(ctx.ts, c.stamp.seq);
    m
}
