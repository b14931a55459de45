//! crit's native JSONL task format.

use super::jsonl::{non_empty, non_empty_answer, opt_str, read_jsonl, req_id, req_str, type_name};
use super::{Format, Loaded, Result, Span, Task, TaskError};
use serde_json::{Map, Value};
use std::path::Path;

/// Parse one native record.
pub fn parse_native(obj: &Map<String, Value>) -> std::result::Result<Task, String> {
    let id = req_id(obj, "id")?;
    let prompt = non_empty("prompt", req_str(obj, "prompt")?)?;
    let (answer, answer_b) = if obj.contains_key("answer_a") || obj.contains_key("answer_b") {
        let a = non_empty_answer("answer_a", req_str(obj, "answer_a")?)?;
        let b = non_empty_answer("answer_b", req_str(obj, "answer_b")?)?;
        (a, Some(b))
    } else {
        (non_empty_answer("answer", req_str(obj, "answer")?)?, None)
    };
    let meta = match obj.get("meta") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "field \"meta\" must be an object, found {}",
                type_name(other)
            ))
        }
    };
    let steps = match obj.get("steps") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let spans: Vec<Span> = serde_json::from_value(v.clone())
                .map_err(|e| format!("field \"steps\" must be a list of {{start,end}}: {e}"))?;
            check_spans(&answer, &spans)?;
            Some(spans)
        }
    };
    Ok(Task {
        id,
        prompt,
        answer,
        answer_b,
        reference: opt_str(obj, "reference")?,
        steps,
        meta,
    })
}

/// Read a native file; an empty file is [`TaskError::Empty`] (user input).
pub fn read_strict(path: &Path) -> Result<Loaded> {
    read_jsonl(path, |obj| parse_native(obj).map(|t| vec![t]))
}

/// Read a native file where an empty file simply holds no tasks (session
/// snapshots of an empty task set).
pub fn read(path: &Path) -> Result<Loaded> {
    match read_strict(path) {
        Err(TaskError::Empty { .. }) => Ok(Loaded::default()),
        other => other,
    }
}

/// Write tasks in native form (used for session snapshots).
pub fn to_native_line(task: &Task) -> String {
    let mut obj = Map::new();
    obj.insert("id".into(), task.id.clone().into());
    obj.insert("prompt".into(), task.prompt.clone().into());
    match &task.answer_b {
        Some(b) => {
            obj.insert("answer_a".into(), task.answer.clone().into());
            obj.insert("answer_b".into(), b.clone().into());
        }
        None => {
            obj.insert("answer".into(), task.answer.clone().into());
        }
    }
    if let Some(r) = &task.reference {
        obj.insert("reference".into(), r.clone().into());
    }
    if let Some(steps) = &task.steps {
        obj.insert("steps".into(), serde_json::to_value(steps).unwrap());
    }
    if !task.meta.is_empty() {
        obj.insert("meta".into(), Value::Object(task.meta.clone()));
    }
    Value::Object(obj).to_string()
}

/// Step spans must lie in the answer, in order, on character boundaries,
/// so that slicing never panics and steps never overlap.
pub fn check_spans(answer: &str, spans: &[Span]) -> std::result::Result<(), String> {
    let mut prev_end = 0;
    for (i, s) in spans.iter().enumerate() {
        if s.start > s.end || s.end > answer.len() {
            return Err(format!(
                "steps[{i}] = {}..{} is outside the answer ({} bytes)",
                s.start,
                s.end,
                answer.len()
            ));
        }
        if !answer.is_char_boundary(s.start) || !answer.is_char_boundary(s.end) {
            return Err(format!(
                "steps[{i}] = {}..{} splits a character",
                s.start, s.end
            ));
        }
        if s.start < prev_end {
            return Err(format!(
                "steps[{i}] overlaps or precedes the step before it"
            ));
        }
        prev_end = s.end;
    }
    Ok(())
}

/// Guess the format from the first JSON object's keys (see [`super::detect`]).
pub fn detect(path: &Path) -> Result<Format> {
    super::detect::detect(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_must_be_ordered_in_bounds_and_on_char_boundaries() {
        let span = |start, end| Span { start, end };
        assert!(check_spans("héllo", &[span(0, 1), span(1, 3), span(3, 6)]).is_ok());
        assert!(check_spans("héllo", &[span(0, 2)])
            .unwrap_err()
            .contains("splits"));
        assert!(check_spans("abc", &[span(2, 1)])
            .unwrap_err()
            .contains("outside"));
        assert!(check_spans("abc", &[span(0, 2), span(1, 3)])
            .unwrap_err()
            .contains("overlaps"));
    }
}
