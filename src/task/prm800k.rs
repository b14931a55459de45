//! PRM800K step-rated solutions: one task per trajectory, the answer being
//! the chosen completion of each step joined with `"\n"` and `steps` the
//! byte span of each of those steps in the answer.
//!
//! Two layouts are read:
//! - trajectories (the regrouped phase-1 conversion in ../shared/data):
//!   `{"problem_index", "problem", "steps": [{"completions": [{"text",
//!   "rating", ...}], "chosen_completion"}], "final_answer", ...}`;
//! - OpenAI's own lines: `{"question": {"problem", "ground_truth_answer",
//!   ...}, "label": {"steps": [{"completions", "human_completion",
//!   "chosen_completion"}], "finish_reason", ...}, "labeler", ...}`.
//!
//! A step without a chosen completion ends the trajectory (in phase 1 the
//! labeler rated the candidates and none was kept). Its ratings stay in
//! meta, but it adds no text to the answer.
//!
//! Meta `prm800k` = `{"problem_index", "ratings": [rating of the chosen
//! completion per answer step: -1|0|1|null], "steps": [the record's steps,
//! verbatim], "finish_reason"?, "final_answer"?, ...}`: enough to write
//! PRM800K's layout back out. See [`ratings`], [`steps`].

use super::jsonl::{
    non_empty, opt_int, read_jsonl_at, req_array, req_obj, req_str, type_name, within,
};
use super::{Loaded, Result, Span, Task};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::path::Path;

/// Meta key under which the PRM800K fields are kept.
pub const META: &str = "prm800k";

/// One candidate next step and its human rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    /// -1 bad, 0 neutral, 1 good; `None` = unrated (e.g. written by a human).
    #[serde(default)]
    pub rating: Option<i8>,
    /// Other fields as found (`is_preferred`, `is_human`, `flagged`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One step position of a PRM800K solution, as stored in meta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub completions: Vec<Completion>,
    /// Index into `completions` of the one kept; `None` = none was kept
    /// (then `human_completion`, if any, continued the solution).
    #[serde(default)]
    pub chosen_completion: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_completion: Option<Completion>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<Completion>, D::Error> {
    Ok(Option::<Vec<Completion>>::deserialize(d)?.unwrap_or_default())
}

impl Step {
    /// The text that continued the solution at this step, and its rating.
    pub fn chosen(&self) -> Option<&Completion> {
        match self.chosen_completion {
            Some(i) => self.completions.get(i),
            None => self.human_completion.as_ref(),
        }
    }
}

pub fn read(path: &Path) -> Result<Loaded> {
    read_jsonl_at(path, |obj, line| parse(obj, line).map(|t| vec![t]))
}

/// One record (either layout); `line` is its 1-based line in the file.
pub fn parse(obj: &Map<String, Value>, line: usize) -> std::result::Result<Task, String> {
    let (problem, reference, raw_steps, mut m) = if obj.contains_key("label") {
        openai_layout(obj)?
    } else {
        trajectory_layout(obj)?
    };
    let problem_index = opt_int(obj, "problem_index")?.unwrap_or(line as i64 - 1);
    let steps = parse_steps(raw_steps)?;
    let joined = join_chosen(&steps)?;
    m.insert("problem_index".into(), problem_index.into());
    let ratings = joined.ratings.iter().map(|r| json!(r)).collect();
    m.insert("ratings".into(), Value::Array(ratings));
    m.insert("steps".into(), Value::Array(raw_steps.clone()));
    let mut meta = Map::new();
    meta.insert(META.into(), Value::Object(m));
    Ok(Task {
        id: format!("prm800k-{problem_index}"),
        prompt: problem,
        answer: joined.answer,
        answer_b: None,
        reference,
        steps: Some(joined.spans),
        meta,
    })
}

type Parts<'a> = (String, Option<String>, &'a Vec<Value>, Map<String, Value>);

/// The regrouped conversion: problem and steps at the top level.
fn trajectory_layout(obj: &Map<String, Value>) -> std::result::Result<Parts<'_>, String> {
    let problem = non_empty("problem", req_str(obj, "problem")?)?;
    let steps = req_array(obj, "steps")?;
    let m = copy_keys(
        obj,
        &["final_answer", "n_labeled_completions", "finish_reason"],
    );
    Ok((problem, None, steps, m))
}

/// OpenAI's layout: `question` and `label` objects plus labeler metadata.
fn openai_layout(obj: &Map<String, Value>) -> std::result::Result<Parts<'_>, String> {
    let question = req_obj(obj, "question")?;
    let label = req_obj(obj, "label")?;
    let problem = non_empty(
        "question.problem",
        req_str(question, "problem").map_err(|e| within("question", e))?,
    )?;
    let reference = ["ground_truth_solution", "ground_truth_answer"]
        .iter()
        .find_map(|k| question.get(*k).and_then(Value::as_str))
        .map(str::to_string);
    let steps = req_array(label, "steps").map_err(|e| within("label", e))?;
    let mut m = copy_keys(
        obj,
        &[
            "labeler",
            "timestamp",
            "generation",
            "is_quality_control_question",
            "is_initial_screening_question",
        ],
    );
    m.extend(copy_keys(label, &["finish_reason", "total_time"]));
    let mut q = question.clone();
    q.remove("problem");
    m.insert("question".into(), Value::Object(q));
    Ok((problem, reference, steps, m))
}

fn copy_keys(obj: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| Some((k.to_string(), obj.get(*k)?.clone())))
        .collect()
}

/// Check and type each step, with messages that name `steps[i]...`.
fn parse_steps(raw: &[Value]) -> std::result::Result<Vec<Step>, String> {
    raw.iter()
        .enumerate()
        .map(|(i, v)| parse_step(i, v))
        .collect()
}

fn parse_step(i: usize, v: &Value) -> std::result::Result<Step, String> {
    let at = format!("steps[{i}]");
    let Value::Object(obj) = v else {
        return Err(format!(
            "field \"{at}\" must be an object, found {}",
            type_name(v)
        ));
    };
    if let Some(Value::Array(cs)) = obj.get("completions") {
        for (j, c) in cs.iter().enumerate() {
            check_completion(&format!("{at}.completions[{j}]"), c)?;
        }
    } else if !obj.get("completions").is_none_or(Value::is_null) {
        return Err(format!(
            "field \"{at}.completions\" must be an array, found {}",
            type_name(&obj["completions"])
        ));
    }
    if let Some(h) = obj.get("human_completion").filter(|h| !h.is_null()) {
        check_completion(&format!("{at}.human_completion"), h)?;
    }
    let step: Step = serde_json::from_value(v.clone()).map_err(|e| format!("{at}: {e}"))?;
    if let Some(c) = step.chosen_completion {
        if c >= step.completions.len() {
            return Err(format!(
                "field \"{at}.chosen_completion\" is {c}, but the step has only {} completion(s)",
                step.completions.len()
            ));
        }
    }
    Ok(step)
}

fn check_completion(at: &str, c: &Value) -> std::result::Result<(), String> {
    let Value::Object(obj) = c else {
        return Err(format!(
            "field \"{at}\" must be an object, found {}",
            type_name(c)
        ));
    };
    req_str(obj, "text").map_err(|e| within(at, e))?;
    match obj.get("rating") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Number(n)) if matches!(n.as_i64(), Some(-1..=1)) => Ok(()),
        Some(other) => Err(format!(
            "field \"{at}.rating\" must be -1, 0, 1 or null, found {other}"
        )),
    }
}

/// The answer built from the chosen steps.
struct Joined {
    /// Chosen texts joined with "\n".
    answer: String,
    /// Each chosen step's byte range in `answer`.
    spans: Vec<Span>,
    /// Each chosen step's rating.
    ratings: Vec<Option<i8>>,
}

/// Join the chosen completions. Stops at the first step with nothing
/// chosen, which must not be followed by a step that has one.
fn join_chosen(steps: &[Step]) -> std::result::Result<Joined, String> {
    let chosen: Vec<&Completion> = steps.iter().map_while(Step::chosen).collect();
    if let Some(later) = steps[chosen.len()..]
        .iter()
        .position(|s| s.chosen().is_some())
    {
        return Err(format!(
            "steps[{}] has no chosen completion but steps[{}] does",
            chosen.len(),
            chosen.len() + later
        ));
    }
    if chosen.is_empty() {
        return Err("empty answer (no step has a chosen completion)".into());
    }
    let mut joined = Joined {
        answer: String::new(),
        spans: Vec::with_capacity(chosen.len()),
        ratings: Vec::with_capacity(chosen.len()),
    };
    for (i, c) in chosen.into_iter().enumerate() {
        if c.text.trim().is_empty() {
            return Err(format!(
                "empty answer (steps[{i}]: the chosen completion's text is blank)"
            ));
        }
        if i > 0 {
            joined.answer.push('\n');
        }
        let start = joined.answer.len();
        joined.answer.push_str(&c.text);
        let end = joined.answer.len();
        joined.spans.push(Span { start, end });
        joined.ratings.push(c.rating);
    }
    Ok(joined)
}

fn meta(task: &Task) -> Option<&Map<String, Value>> {
    task.meta.get(META)?.as_object()
}

/// The human rating of each answer step (parallel to `task.steps`): -1 bad,
/// 0 neutral, 1 good, `None` unrated.
pub fn ratings(task: &Task) -> Option<Vec<Option<i8>>> {
    serde_json::from_value(meta(task)?.get("ratings")?.clone()).ok()
}

/// All step positions with every rated candidate, as in the source (the
/// answer's steps are the first `ratings(task).len()` of them).
pub fn steps(task: &Task) -> Option<Vec<Step>> {
    serde_json::from_value(meta(task)?.get("steps")?.clone()).ok()
}

/// The problem's index (trajectories) or the record's 0-based line.
pub fn problem_index(task: &Task) -> Option<i64> {
    meta(task)?.get("problem_index")?.as_i64()
}

/// Why labelling stopped (`"solution"`, `"found_error"`, ...), if recorded.
pub fn finish_reason(task: &Task) -> Option<&str> {
    meta(task)?.get("finish_reason")?.as_str()
}

/// The model's final answer, if recorded.
pub fn final_answer(task: &Task) -> Option<&str> {
    meta(task)?.get("final_answer")?.as_str()
}
