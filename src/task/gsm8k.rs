//! GSM8K model solutions (openai/grade-school-math
//! `example_model_solutions.jsonl`): one record per problem with the human
//! reference solution and several model solutions, each auto-graded.
//!
//! One task per model solution: id `gsm8k-{index}-{model}`, prompt = the
//! question, answer = the solution, reference = the ground truth. Meta
//! `gsm8k` = `{"index", "model", "is_correct"}`; `is_correct` is an automatic
//! final-answer match, not a human judgement.

use super::jsonl::{non_empty, non_empty_answer, read_jsonl, req_bool, req_int, req_str, within};
use super::{Loaded, Result, Task};
use serde_json::{json, Map, Value};
use std::path::Path;

/// Meta key under which the GSM8K fields are kept.
pub const META: &str = "gsm8k";

pub fn read(path: &Path) -> Result<Loaded> {
    read_jsonl(path, parse)
}

/// One problem record into one task per model solution.
pub fn parse(obj: &Map<String, Value>) -> std::result::Result<Vec<Task>, String> {
    let index = req_int(obj, "index")?;
    let question = non_empty("question", req_str(obj, "question")?)?;
    let reference = req_str(obj, "ground_truth")?;
    let mut tasks = Vec::new();
    // Model solutions are the object-valued fields; known keys are not fixed
    // (the paper's release has four, forks may add more).
    for (model, value) in obj {
        let Value::Object(sol) = value else { continue };
        let solution = req_str(sol, "solution").map_err(|e| within(model, e))?;
        let answer = non_empty_answer("solution", solution).map_err(|e| within(model, e))?;
        let is_correct = req_bool(sol, "is_correct").map_err(|e| within(model, e))?;
        tasks.push(Task {
            id: format!("gsm8k-{index}-{model}"),
            prompt: question.clone(),
            answer,
            answer_b: None,
            reference: Some(reference.clone()),
            steps: None,
            meta: meta(index, model, is_correct),
        });
    }
    if tasks.is_empty() {
        return Err("no model solutions: expected fields like \"6b_finetuning\": {\"solution\", \"is_correct\"}".into());
    }
    Ok(tasks)
}

fn meta(index: i64, model: &str, is_correct: bool) -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert(
        META.into(),
        json!({"index": index, "model": model, "is_correct": is_correct}),
    );
    meta
}

fn field<'a>(task: &'a Task, key: &str) -> Option<&'a Value> {
    task.meta.get(META)?.get(key)
}

/// The automatic final-answer grade of the solution (not a human label).
pub fn is_correct(task: &Task) -> Option<bool> {
    field(task, "is_correct")?.as_bool()
}

/// Which model wrote the solution (e.g. `"175b_verification"`).
pub fn model(task: &Task) -> Option<&str> {
    field(task, "model")?.as_str()
}

/// The problem's `index` in the GSM8K test set.
pub fn problem_index(task: &Task) -> Option<i64> {
    field(task, "index")?.as_i64()
}
