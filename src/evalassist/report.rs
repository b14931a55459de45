//! The figures of an `eval-assist` run: hit rates on the first marked
//! error, false alarms on correct answers, detection on wrong ones, the
//! exact baselines and the cost, each with n and a bootstrap 95% CI.
//! Field names of [`Report`] are the JSON output's and stay stable.

use super::gold::overlaps;
use super::run::{Outcome, Run};
use crate::assist::{tools, Check, CheckVerdict, Critique, Severity};
use crate::audit::stats::{self, Bootstrap, Figure};
use crate::task::Span;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::BTreeMap;

/// Schema name and version of the JSON report.
pub const SCHEMA: &str = "crit.eval_assist/1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub data: String,
    pub tasks: usize,
    pub samples: usize,
    pub seed: u32,
    /// The assistant's short name (model file, served model, "scripted").
    pub assistant: String,
    /// Model file SHA-256, or the served model id.
    pub model_id: Option<String>,
    pub model_name: Option<String>,
    /// Prompt template SHA-256 by template name.
    pub templates: BTreeMap<String, String>,
    /// The computed checks' tool, e.g. "crit-tools 1".
    pub tool: String,
    pub bootstrap: Bootstrap,
    pub first_error: FirstError,
    pub false_alarm: Alarms,
    pub detection: Alarms,
    pub cost: Cost,
    pub notes: Vec<String>,
}

/// On answers with a marked first wrong step: the share where the
/// assistance anchors on it.
#[derive(Debug, Clone, Serialize)]
pub struct FirstError {
    pub n: usize,
    /// The first critique (sample 0) overlaps the step.
    pub critique_top1: Figure,
    /// Any critique of sample 0 overlaps it.
    pub critique_any: Figure,
    /// Any critique of any sample overlaps it.
    pub critique_any_sample: Figure,
    /// A failing model check's span overlaps it.
    pub model_check: Figure,
    /// Model alone: `critique_any` or `model_check`.
    pub model: Figure,
    /// Tool checks alone: a failing computed check's span overlaps it.
    pub tool: Figure,
    /// Either.
    pub both: Figure,
    /// Exact expectation of pointing at a uniformly random segment.
    pub random_segment: Figure,
    /// Always pointing at the last segment.
    pub last_segment: Figure,
}

/// The share of answers flagged: a major or critical critique (sample 0)
/// or a failing check.
#[derive(Debug, Clone, Serialize)]
pub struct Alarms {
    pub n: usize,
    pub model: Figure,
    pub tool: Figure,
    pub both: Figure,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub ms_per_task: Figure,
    pub prompt_tokens_per_task: Figure,
    pub gen_tokens_per_task: Figure,
    pub failed_requests: usize,
}

/// What produced the run, besides its outcomes.
#[derive(Debug, Clone)]
pub struct Header {
    pub data: String,
    pub samples: usize,
    pub seed: u32,
    pub assistant: String,
}

pub fn report(run: &Run, header: Header, boot: Bootstrap) -> Report {
    let o = &run.outcomes;
    Report {
        schema: SCHEMA,
        data: header.data,
        tasks: o.len(),
        samples: header.samples,
        seed: header.seed,
        assistant: header.assistant,
        model_id: run.model_id.clone(),
        model_name: run.model_name.clone(),
        templates: run.templates.clone(),
        tool: format!("{} {}", tools::TOOL_NAME, tools::TOOL_VERSION),
        bootstrap: boot,
        first_error: first_error(o, boot),
        false_alarm: alarms(o.iter().filter(|t| t.gold.correct == Some(true)), boot),
        detection: alarms(o.iter().filter(|t| t.gold.correct == Some(false)), boot),
        cost: cost(o),
        notes: notes(run),
    }
}

fn failing(checks: &[Check]) -> impl Iterator<Item = &Check> {
    checks
        .iter()
        .filter(|c| c.assistant_verdict == CheckVerdict::Fail)
}

fn check_hits(checks: &[Check], wrong: Span) -> bool {
    failing(checks).any(|c| c.span.is_some_and(|s| overlaps(s, wrong)))
}

fn critique_hits(critiques: &[Critique], wrong: Span) -> bool {
    critiques
        .iter()
        .any(|c| c.span.is_some_and(|s| overlaps(s, wrong)))
}

fn sample0(t: &Outcome) -> &[Critique] {
    t.critiques.first().map_or(&[], Vec::as_slice)
}

fn first_error(o: &[Outcome], boot: Bootstrap) -> FirstError {
    let marked: Vec<(&Outcome, Span)> = o
        .iter()
        .filter_map(|t| Some((t, t.gold.first_wrong?)))
        .collect();
    let share = |f: &dyn Fn(&Outcome, Span) -> bool| {
        stats::share(marked.iter().map(|(t, w)| f(t, *w)), boot)
    };
    let model = |t: &Outcome, w| critique_hits(sample0(t), w) || check_hits(&t.model_checks, w);
    let tool = |t: &Outcome, w| check_hits(&t.tool_checks, w);
    let random: Vec<f64> = marked
        .iter()
        .filter_map(|(t, _)| t.baseline.map(|b| b.0))
        .collect();
    FirstError {
        n: marked.len(),
        critique_top1: share(&|t, w| critique_hits(&sample0(t)[..sample0(t).len().min(1)], w)),
        critique_any: share(&|t, w| critique_hits(sample0(t), w)),
        critique_any_sample: share(&|t, w| t.critiques.iter().any(|c| critique_hits(c, w))),
        model_check: share(&|t, w| check_hits(&t.model_checks, w)),
        model: share(&model),
        tool: share(&tool),
        both: share(&|t, w| model(t, w) || tool(t, w)),
        random_segment: mean_ci(&random, boot),
        last_segment: share(&|t, _| t.baseline.is_some_and(|b| b.1)),
    }
}

fn alarms<'a>(answers: impl Iterator<Item = &'a Outcome>, boot: Bootstrap) -> Alarms {
    let answers: Vec<&Outcome> = answers.collect();
    let model = |t: &Outcome| {
        sample0(t)
            .iter()
            .any(|c| matches!(c.severity, Severity::Major | Severity::Critical))
            || failing(&t.model_checks).next().is_some()
    };
    let tool = |t: &Outcome| failing(&t.tool_checks).next().is_some();
    let share = |f: &dyn Fn(&Outcome) -> bool| stats::share(answers.iter().map(|t| f(t)), boot);
    Alarms {
        n: answers.len(),
        model: share(&model),
        tool: share(&tool),
        both: share(&|t| model(t) || tool(t)),
    }
}

fn cost(o: &[Outcome]) -> Cost {
    let per = |f: &dyn Fn(&Outcome) -> u64| {
        let v: Vec<f64> = o.iter().map(|t| f(t) as f64).collect();
        stats::mean(&v)
    };
    Cost {
        ms_per_task: per(&|t| t.ms),
        prompt_tokens_per_task: per(&|t| t.prompt_tokens),
        gen_tokens_per_task: per(&|t| t.gen_tokens),
        failed_requests: o.iter().map(|t| t.failed).sum(),
    }
}

/// Mean with a percentile bootstrap 95% CI (resampling the values).
fn mean_ci(values: &[f64], boot: Bootstrap) -> Figure {
    let mut figure = stats::mean(values);
    if figure.value.is_none() {
        return figure;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(boot.seed);
    let n = values.len();
    let mut means: Vec<f64> = (0..boot.resamples.max(1))
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    figure.ci95 = Some(stats::interval(&mut means));
    figure
}

fn notes(run: &Run) -> Vec<String> {
    let o = &run.outcomes;
    let mut notes = Vec::new();
    let unmarked = o
        .iter()
        .filter(|t| t.gold.correct == Some(false) && t.gold.first_wrong.is_none())
        .count();
    if unmarked > 0 {
        notes.push(format!(
            "{unmarked} wrong answers have no marked first error (answer-level labels only, \
             or spans not found verbatim): counted in detection, not in hit rates"
        ));
    }
    let unlabelled = o.iter().filter(|t| t.gold.correct.is_none()).count();
    if unlabelled > 0 {
        notes.push(format!("{unlabelled} tasks carry no correctness label"));
    }
    if let Some(e) = &run.first_error {
        notes.push(format!("first failed request: {e}"));
    }
    notes
}
