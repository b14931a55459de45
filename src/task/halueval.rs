//! HaluEval "general" (RUCAIBox/HaluEval `general_data.json`, as JSONL):
//! ChatGPT responses to user queries with a human hallucination label.
//!
//! One task per record: id `halueval-{source_line}` (the record's
//! `source_line`, else its 0-based line in this file; the original `ID`
//! field is unreliable), prompt = `user_query`, answer = `chatgpt_response`.
//! Meta `halueval` = `{"source_line", "ID"?, "hallucination": "yes"|"no",
//! "hallucination_spans": [..]}`.

use super::jsonl::{
    non_empty, non_empty_answer, opt_int, read_jsonl_at, req_array, req_str, type_name,
};
use super::{Loaded, Result, Task};
use serde_json::{Map, Value};
use std::path::Path;

/// Meta key under which the HaluEval fields are kept.
pub const META: &str = "halueval";

pub fn read(path: &Path) -> Result<Loaded> {
    read_jsonl_at(path, |obj, line| parse(obj, line).map(|t| vec![t]))
}

/// One record; `line` is its 1-based line in the file.
pub fn parse(obj: &Map<String, Value>, line: usize) -> std::result::Result<Task, String> {
    let source_line = opt_int(obj, "source_line")?.unwrap_or(line as i64 - 1);
    let prompt = non_empty("user_query", req_str(obj, "user_query")?)?;
    let answer = non_empty_answer("chatgpt_response", req_str(obj, "chatgpt_response")?)?;
    let label = req_str(obj, "hallucination")?;
    if label != "yes" && label != "no" {
        return Err(format!(
            "field \"hallucination\" must be \"yes\" or \"no\", found {label:?}"
        ));
    }
    let spans = spans_field(obj)?;
    let mut m = Map::new();
    m.insert("source_line".into(), source_line.into());
    if let Some(id) = obj.get("ID").filter(|v| !v.is_null()) {
        m.insert("ID".into(), id.clone());
    }
    m.insert("hallucination".into(), label.into());
    m.insert("hallucination_spans".into(), Value::Array(spans));
    let mut meta = Map::new();
    meta.insert(META.into(), Value::Object(m));
    Ok(Task {
        id: format!("halueval-{source_line}"),
        prompt,
        answer,
        answer_b: None,
        reference: None,
        steps: None,
        meta,
    })
}

/// `hallucination_spans`: a list of strings (absent = none).
fn spans_field(obj: &Map<String, Value>) -> std::result::Result<Vec<Value>, String> {
    if obj.get("hallucination_spans").is_none_or(Value::is_null) {
        return Ok(Vec::new());
    }
    let spans = req_array(obj, "hallucination_spans")?;
    for (i, s) in spans.iter().enumerate() {
        if !s.is_string() {
            return Err(format!(
                "field \"hallucination_spans[{i}]\" must be a string, found {}",
                type_name(s)
            ));
        }
    }
    Ok(spans.clone())
}

fn field<'a>(task: &'a Task, key: &str) -> Option<&'a Value> {
    task.meta.get(META)?.get(key)
}

/// The human label: `Some(true)` = the response hallucinates.
pub fn hallucination(task: &Task) -> Option<bool> {
    match field(task, "hallucination")?.as_str()? {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// The annotated hallucinated spans (some are annotator notes, not quotes).
pub fn hallucination_spans(task: &Task) -> Option<Vec<&str>> {
    let spans = field(task, "hallucination_spans")?.as_array()?;
    Some(spans.iter().filter_map(Value::as_str).collect())
}

/// The record's 0-based line in the original HaluEval file.
pub fn source_line(task: &Task) -> Option<i64> {
    field(task, "source_line")?.as_i64()
}
