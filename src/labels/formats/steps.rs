//! Step ratings: `trl-stepwise` and `prm800k`. Ratings are on the task's own
//! steps (PRM800K tasks; `Target::Step` without assistance), their rated
//! alternatives (`Target::Alternative`), or the steps of a decomposition.

use super::{push, Ctx};
use crate::assist::Output;
use crate::labels::meta::Meta;
use crate::labels::records::{
    FinishReason, Prm800kCompletion, Prm800kLabel, Prm800kQuestion, Prm800kRecord, Prm800kStep,
    Record, StepwiseRecord,
};
use crate::labels::resolve::{Candidate, Slots};
use crate::labels::{Counts, LabelKind};
use crate::session::event::{LabelValue, Source, Target};
use crate::session::fold::{EvaluatorWork, Stamp};
use serde_json::Value;
use std::collections::BTreeMap;

/// One evaluator's ratings over one sequence of steps.
struct StepPath {
    texts: Vec<String>,
    /// Rating per step (`None`: unlabelled).
    ratings: Vec<Option<i8>>,
    /// Ratings of alternatives: (step, candidate index) -> rating.
    alternatives: BTreeMap<(usize, usize), i8>,
    stamps: Vec<Stamp>,
    /// The label event behind each step's and each alternative's rating.
    step_stamps: BTreeMap<usize, Stamp>,
    alt_stamps: BTreeMap<(usize, usize), Stamp>,
    assistance: Option<u64>,
    source: Option<Source>,
}

/// What the source (PRM800K) says about the candidates at one step.
pub struct SourceStep {
    /// (text, written by the human labeller)
    pub candidates: Vec<(String, bool)>,
    /// Index of the kept candidate; a `human_completion` (OpenAI's layout)
    /// is appended to `candidates` and chosen when nothing else was.
    pub chosen: Option<usize>,
}

/// The candidates at each step, from the task's meta (the task reader keeps
/// PRM800K's steps verbatim; see `task::prm800k::steps`).
pub fn source_steps(task: &crate::task::Task) -> Vec<SourceStep> {
    let is_human = |c: &crate::task::prm800k::Completion| {
        c.extra
            .get("is_human")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let steps = crate::task::prm800k::steps(task).unwrap_or_default();
    steps
        .into_iter()
        .map(|step| {
            let mut candidates: Vec<(String, bool)> = step
                .completions
                .iter()
                .map(|c| (c.text.clone(), is_human(c)))
                .collect();
            let mut chosen = step.chosen_completion;
            if let Some(h) = &step.human_completion {
                candidates.push((h.text.clone(), true));
                chosen = chosen.or(Some(candidates.len() - 1));
            }
            SourceStep { candidates, chosen }
        })
        .collect()
}

/// Source step `i` of the task, parsed once per task.
fn source_step<'a>(ctx: &'a Ctx, i: usize) -> Option<&'a SourceStep> {
    ctx.source_steps
        .get_or_init(|| source_steps(ctx.task))
        .get(i)
}

fn rating(v: &LabelValue) -> Option<i8> {
    match v {
        LabelValue::Step { rating } => Some(*rating),
        _ => None,
    }
}

fn step_path(ctx: &Ctx, work: &EvaluatorWork) -> Option<StepPath> {
    let own = work.labels.keys().any(|t| {
        matches!(
            t,
            Target::Step {
                assistance: None,
                ..
            } | Target::Alternative { .. }
        )
    });
    if own {
        own_path(ctx, work)
    } else {
        decompose_path(ctx, work)
    }
}

fn own_path(ctx: &Ctx, work: &EvaluatorWork) -> Option<StepPath> {
    let n = ctx.task.steps.as_ref().map_or(0, Vec::len);
    let mut path = StepPath {
        texts: (0..n)
            .map(|i| ctx.task.step_text(i).unwrap_or_default().to_string())
            .collect(),
        ratings: vec![None; n],
        alternatives: BTreeMap::new(),
        stamps: Vec::new(),
        step_stamps: BTreeMap::new(),
        alt_stamps: BTreeMap::new(),
        assistance: None,
        source: None,
    };
    for (target, l) in &work.labels {
        let Some(r) = rating(&l.value) else { continue };
        match target {
            Target::Step {
                assistance: None,
                index,
            } if *index < n => {
                path.ratings[*index] = Some(r);
                path.step_stamps.insert(*index, l.stamp);
            }
            Target::Alternative { step, index } => {
                path.alternatives.insert((*step, *index), r);
                path.alt_stamps.insert((*step, *index), l.stamp);
            }
            _ => continue,
        }
        path.stamps.push(l.stamp);
        path.source = path.source.take().or_else(|| l.source.clone());
    }
    // One record from many imported ratings: the line is shared, the
    // per-candidate detail is not.
    if path.stamps.len() > 1 {
        if let Some(s) = &mut path.source {
            s.detail = None;
        }
    }
    Some(path)
}

fn decompose_path(ctx: &Ctx, work: &EvaluatorWork) -> Option<StepPath> {
    // The decomposition this evaluator labelled most recently.
    let (seq, _) = work
        .labels
        .iter()
        .filter_map(|(t, l)| match t {
            Target::Step {
                assistance: Some(a),
                ..
            } => Some((*a, l.stamp.seq)),
            _ => None,
        })
        .max_by_key(|(_, s)| *s)?;
    let rec = ctx.ts.find_assistance(seq)?;
    let Output::Decompose { steps } = &rec.assistance.output else {
        return None;
    };
    let mut path = StepPath {
        texts: steps.iter().map(|s| s.text.clone()).collect(),
        ratings: vec![None; steps.len()],
        alternatives: BTreeMap::new(),
        stamps: Vec::new(),
        step_stamps: BTreeMap::new(),
        alt_stamps: BTreeMap::new(),
        assistance: Some(seq),
        source: None,
    };
    for (target, l) in &work.labels {
        if let (
            Target::Step {
                assistance: Some(a),
                index,
            },
            Some(r),
        ) = (target, rating(&l.value))
        {
            if *a == seq && *index < steps.len() {
                path.ratings[*index] = Some(r);
                path.stamps.push(l.stamp);
                path.step_stamps.insert(*index, l.stamp);
            }
        }
    }
    Some(path)
}

fn meta_for(path: &StepPath, work: &EvaluatorWork) -> Option<Meta> {
    let first = path.stamps.first()?;
    let mut m = Meta::new(LabelKind::Step, first);
    m.stamps = path.stamps.clone();
    m.stamps.sort_by_key(|s| s.seq);
    m.arm = work.arm;
    m.assistance = path.assistance.into_iter().collect();
    m.source = path.source.clone();
    Some(m)
}

/// The same meta, naming only the events behind the first `prefix` steps
/// (and one alternative).
fn narrowed(meta: &Meta, path: &StepPath, prefix: usize, alt: Option<(usize, usize)>) -> Meta {
    let mut m = meta.clone();
    m.stamps = path.step_stamps.range(..prefix).map(|(_, s)| *s).collect();
    m.stamps
        .extend(alt.and_then(|k| path.alt_stamps.get(&k)).cloned());
    m
}

/// Is step `i` written by the source's human labeller (counts as correct,
/// as in TRL's PRM800K conversion)?
fn human_step(ctx: &Ctx, i: usize) -> bool {
    source_step(ctx, i)
        .and_then(|s| s.chosen.and_then(|c| s.candidates.get(c).map(|x| x.1)))
        .unwrap_or(false)
}

/// TRL's convention: a step is good only when rated +1.
fn good(r: i8) -> bool {
    r == 1
}

/// Labels of the longest rated prefix (human-written steps count as good).
fn prefix_labels(ctx: &Ctx, path: &StepPath) -> Vec<bool> {
    let mut out = Vec::new();
    for (i, r) in path.ratings.iter().enumerate() {
        match r {
            Some(r) => out.push(good(*r)),
            None if human_step(ctx, i) => out.push(true),
            None => break,
        }
    }
    out
}

/// Each evaluator's rated step path on this task, with the meta it exports.
fn rated_paths<'c>(
    ctx: &'c Ctx<'_>,
) -> impl Iterator<Item = (&'c String, &'c EvaluatorWork, StepPath, Meta)> + 'c {
    ctx.works().filter_map(move |(ev, work)| {
        let path = step_path(ctx, work)?;
        let meta = meta_for(&path, work)?;
        Some((ev, work, path, meta))
    })
}

pub fn stepwise_slots(ctx: &Ctx, counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    for (ev, _work, path, meta) in rated_paths(ctx) {
        let labels = prefix_labels(ctx, &path);
        count_unrated_alternatives(ctx, &path, counts);
        let prompt = &ctx.task.prompt;
        // Rated alternatives first (TRL's order): prefix + the alternative.
        for (&(step, index), &r) in &path.alternatives {
            let alt = source_step(ctx, step).and_then(|s| s.candidates.get(index).cloned());
            let (Some((text, _)), true) = (alt, step <= labels.len()) else {
                counts.skip("alternative_without_rated_prefix");
                continue;
            };
            let mut completions = path.texts[..step].to_vec();
            completions.push(text);
            let mut ls = labels[..step].to_vec();
            ls.push(good(r));
            let record = Record::Stepwise(StepwiseRecord {
                prompt: prompt.clone(),
                completions,
                labels: ls,
            });
            let meta = narrowed(&meta, &path, step, Some((step, index)));
            push(
                &mut slots,
                (0, step as u64, index as u64),
                Candidate::new(ev, r.to_string(), record, meta),
            );
        }
        if labels.is_empty() {
            counts.skip("steps_without_rated_prefix");
            continue;
        }
        let key = format!("{:?}", &path.ratings[..labels.len()]);
        let meta = narrowed(&meta, &path, labels.len(), None);
        let record = Record::Stepwise(StepwiseRecord {
            prompt: prompt.clone(),
            completions: path.texts[..labels.len()].to_vec(),
            labels,
        });
        push(&mut slots, (1, 0, 0), Candidate::new(ev, key, record, meta));
    }
    slots
}

/// Machine-written alternatives the source offers but nobody rated: TRL's
/// PRM800K script labels them false, crit leaves them out (an unrated step
/// is not a bad one) and counts them, per evaluator path.
fn count_unrated_alternatives(ctx: &Ctx, path: &StepPath, counts: &mut Counts) {
    for i in 0..rated_steps(path) {
        let Some(src) = source_step(ctx, i) else {
            break;
        };
        for (j, (_, is_human)) in src.candidates.iter().enumerate() {
            let alternative = src.chosen != Some(j) && !is_human;
            if alternative && !path.alternatives.contains_key(&(i, j)) {
                counts.skip("unrated_alternative");
            }
        }
    }
}

/// Steps up to the last one with any rating (its own or an alternative's):
/// the steps a `prm800k` record holds.
fn rated_steps(path: &StepPath) -> usize {
    let last_alt = path.alternatives.keys().map(|(s, _)| *s).max();
    let last_own = path.ratings.iter().rposition(Option::is_some);
    last_alt.max(last_own).map_or(0, |i| i + 1)
}

fn ratings_key(path: &StepPath) -> String {
    let main: Vec<String> = path
        .ratings
        .iter()
        .map(|r| r.map_or("_".into(), |r| r.to_string()))
        .collect();
    let alts: Vec<String> = path
        .alternatives
        .iter()
        .map(|((s, i), r)| format!("{s}.{i}={r}"))
        .collect();
    format!("{}|{}", main.join(","), alts.join(","))
}

pub fn prm800k_slots(ctx: &Ctx, _counts: &mut Counts) -> Slots {
    let mut slots = Slots::new();
    for (ev, work, path, meta) in rated_paths(ctx) {
        let record = Record::Prm800k(Box::new(prm800k_record(ctx, ev, work, &path, &meta)));
        push(
            &mut slots,
            (0, 0, 0),
            Candidate::new(ev, ratings_key(&path), record, meta),
        );
    }
    slots
}

fn prm800k_record(
    ctx: &Ctx,
    ev: &str,
    work: &EvaluatorWork,
    path: &StepPath,
    meta: &Meta,
) -> Prm800kRecord {
    let n = rated_steps(path);
    let steps = (0..n).map(|i| prm800k_step(ctx, path, i)).collect();
    let found_error = path.ratings.contains(&Some(-1));
    let complete =
        path.ratings.len() == n && (0..n).all(|i| path.ratings[i].is_some() || human_step(ctx, i));
    let computed = if found_error {
        FinishReason::FoundError
    } else if complete {
        FinishReason::Solution
    } else {
        FinishReason::GiveUp
    };
    // Ratings imported from PRM800K keep the source's own outcome and time.
    let imported = path
        .source
        .as_ref()
        .is_some_and(|s| s.format == crate::session::event::SourceFormat::Prm800k);
    let from_source = |k: &str| imported.then(|| prm_meta(ctx, k)).flatten();
    let finish_reason = from_source("finish_reason")
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or(computed);
    let total_time = from_source("total_time")
        .and_then(|v| v.as_u64())
        .unwrap_or(work.active_ms);
    let timestamp = meta
        .stamps
        .iter()
        .max_by_key(|s| s.seq)
        .map(|s| s.ts.to_string());
    Prm800kRecord {
        labeler: ev.to_string(),
        timestamp,
        generation: None,
        is_quality_control_question: false,
        is_initial_screening_question: false,
        question: Prm800kQuestion {
            problem: ctx.task.prompt.clone(),
            ground_truth_answer: ctx.task.reference.clone(),
        },
        label: Prm800kLabel {
            steps,
            total_time,
            finish_reason,
        },
    }
}

/// A field the PRM800K reader kept in the task's meta.
fn prm_meta(ctx: &Ctx, key: &str) -> Option<Value> {
    let v = ctx.task.meta.get(crate::task::prm800k::META)?.get(key)?;
    (!v.is_null()).then(|| v.clone())
}

fn completion(text: &str, rating: Option<i8>) -> Prm800kCompletion {
    Prm800kCompletion {
        text: text.to_string(),
        rating,
        flagged: false,
    }
}

/// One step in PRM800K's layout: machine-written candidates with ratings,
/// the human-written step (if the labeller wrote one), and which was kept.
fn prm800k_step(ctx: &Ctx, path: &StepPath, i: usize) -> Prm800kStep {
    let own = path.ratings.get(i).copied().flatten();
    let text = path.texts.get(i).map_or("", String::as_str);
    let Some(src) = source_step(ctx, i) else {
        return Prm800kStep {
            completions: vec![completion(text, own)],
            human_completion: None,
            chosen_completion: Some(0),
        };
    };
    let mut completions = Vec::new();
    let mut chosen = None;
    let mut human = None;
    for (j, (t, is_human)) in src.candidates.iter().enumerate() {
        let is_chosen = src.chosen == Some(j);
        let r = if is_chosen {
            own
        } else {
            path.alternatives.get(&(i, j)).copied()
        };
        if *is_human {
            human = Some(completion(t, r));
            continue;
        }
        if is_chosen {
            chosen = Some(completions.len());
        }
        completions.push(completion(t, r));
    }
    Prm800kStep {
        completions,
        human_completion: human,
        chosen_completion: chosen,
    }
}
