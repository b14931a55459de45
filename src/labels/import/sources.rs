//! Human labels from public data sets, read by the task readers: PRM800K
//! step ratings, HH-RLHF preferences, MT-Bench human pairwise votes.

use super::{Origin, Pending, Plan};
use crate::labels::{LabelError, Result};
use crate::session::event::{Body, LabelValue, Phase, Preference, Side, Target, Verdict};
use crate::task::{self, Format, Loaded, Task, TaskError};
use std::path::Path;

/// Read tasks with the format's reader; bad lines fail the import.
fn load(file: &Path, format: Format, skip_invalid: bool) -> Result<Loaded> {
    match task::load(file, Some(format), skip_invalid) {
        Ok(l) => Ok(l),
        Err(TaskError::Invalid { errors, .. }) => Err(LabelError::BadLines(errors)),
        Err(e) => Err(e.into()),
    }
}

pub fn prm800k(file: &Path, origin: &Origin, evaluator: Option<&str>, skip: bool) -> Result<Plan> {
    let mut loaded = load(file, Format::Prm800k, skip)?;
    let mut plan = Plan {
        skipped: std::mem::take(&mut loaded.skipped),
        lines: loaded.lines.clone(),
        ..Default::default()
    };
    for (t, &line) in loaded.tasks.iter().zip(&loaded.lines) {
        let ev = evaluator
            .map(str::to_string)
            .or_else(|| labeler(t))
            .unwrap_or_else(|| "prm800k".into());
        for (target, rating, detail) in prm800k_ratings(t) {
            plan.events.push(Pending::Ready(Body::Label {
                task: t.id.clone(),
                evaluator: ev.clone(),
                target,
                value: LabelValue::Step { rating },
                source: Some(origin.source(line, Some(detail))),
            }));
        }
    }
    plan.tasks = loaded.tasks;
    Ok(plan)
}

/// OpenAI's layout names its labeller.
fn labeler(t: &Task) -> Option<String> {
    let l = t.meta.get(task::prm800k::META)?.get("labeler")?.as_str()?;
    Some(format!("prm800k:{l}"))
}

/// Every rated candidate: the kept one at each answer step becomes a rating
/// of that step, the others ratings of alternatives (same indices as the
/// source; a `human_completion` is index `completions.len()`).
fn prm800k_ratings(t: &Task) -> Vec<(Target, i8, String)> {
    let n = t.steps.as_ref().map_or(0, Vec::len);
    let mut out = Vec::new();
    for (i, step) in task::prm800k::steps(t)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let human = step.human_completion.iter();
        let kept = step.chosen_completion.or(step
            .human_completion
            .as_ref()
            .map(|_| step.completions.len()));
        for (j, c) in step.completions.iter().chain(human).enumerate() {
            let Some(rating) = c.rating else { continue };
            let target = if kept == Some(j) && i < n {
                Target::Step {
                    assistance: None,
                    index: i,
                }
            } else {
                Target::Alternative { step: i, index: j }
            };
            let detail = if j < step.completions.len() {
                format!("steps[{i}].completions[{j}]")
            } else {
                format!("steps[{i}].human_completion")
            };
            out.push((target, rating, detail));
        }
    }
    out
}

fn pairwise(side: Side) -> Verdict {
    Verdict::Pairwise {
        preferred: match side {
            Side::A => Preference::A,
            Side::B => Preference::B,
        },
        strength: None,
        confidence: None,
        rationale: String::new(),
    }
}

/// One pairwise verdict per task, from `side_of` (the reader's accessor).
fn verdicts(
    loaded: Loaded,
    origin: &Origin,
    evaluator: &str,
    side_of: fn(&Task) -> Option<Side>,
    file: &Path,
    skip: bool,
) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut bad = Vec::new();
    let mut keep = Vec::new();
    for (t, &line) in loaded.tasks.iter().zip(&loaded.lines) {
        let Some(side) = side_of(t) else {
            bad.push(super::line_err(
                file,
                line,
                format!(
                    "no human preference in this record (is this a {} file?)",
                    origin.format.name()
                ),
            ));
            continue;
        };
        keep.push(t.clone());
        plan.lines.push(line);
        plan.events.push(Pending::Ready(Body::Verdict {
            task: t.id.clone(),
            evaluator: evaluator.into(),
            verdict: pairwise(side),
            // Given without crit's assistance.
            phase: Phase::Unaided,
            source: Some(origin.source(line, None)),
        }));
    }
    if !bad.is_empty() && !skip {
        return Err(LabelError::BadLines(bad));
    }
    plan.skipped = loaded.skipped;
    plan.skipped.extend(bad);
    plan.skipped.sort_by_key(|e| e.line);
    plan.tasks = keep;
    Ok(plan)
}

pub fn hh_rlhf(file: &Path, origin: &Origin, evaluator: Option<&str>, skip: bool) -> Result<Plan> {
    let loaded = load(file, Format::HhRlhf, skip)?;
    let ev = evaluator.unwrap_or("hh-rlhf");
    verdicts(loaded, origin, ev, task::hh_rlhf::chosen_side, file, skip)
}

pub fn mt_bench_human(
    file: &Path,
    origin: &Origin,
    evaluator: Option<&str>,
    skip: bool,
) -> Result<Plan> {
    let loaded = load(file, Format::MtBench, skip)?;
    let ev = evaluator.unwrap_or("mt-bench-human");
    verdicts(loaded, origin, ev, task::mt_bench::human_label, file, skip)
}
