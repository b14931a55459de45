//! crit's native JSONL task format, and the line-by-line JSONL plumbing that
//! the other readers share.

use super::{Format, Loaded, LineError, Result, Task, TaskError};
use serde_json::{Map, Value};
use std::path::Path;

/// Read a file as JSONL, calling `parse` on each non-blank line's JSON
/// object. Invalid UTF-8 and invalid JSON become line errors.
pub fn read_jsonl(
    path: &Path,
    mut parse: impl FnMut(&Map<String, Value>) -> std::result::Result<Vec<Task>, String>,
) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|source| TaskError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut loaded = Loaded::default();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i + 1;
        let err = |message: String| LineError {
            file: path.to_path_buf(),
            line,
            message,
        };
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t.trim_end_matches('\r'),
            Err(e) => {
                loaded.skipped.push(err(format!("invalid UTF-8 at byte {}", e.valid_up_to())));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                loaded.skipped.push(err(format!("invalid JSON: {e}")));
                continue;
            }
        };
        let Value::Object(obj) = value else {
            loaded.skipped.push(err("expected a JSON object".into()));
            continue;
        };
        match parse(&obj) {
            Ok(tasks) => {
                for task in tasks {
                    loaded.tasks.push(task);
                    loaded.lines.push(line);
                }
            }
            Err(message) => loaded.skipped.push(err(message)),
        }
    }
    Ok(loaded)
}

/// A required string field; `what` names it in the message.
pub fn req_str(obj: &Map<String, Value>, key: &str) -> std::result::Result<String, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(format!("missing field \"{key}\"")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "field \"{key}\" must be a string, found {}",
            type_name(other)
        )),
    }
}

pub fn opt_str(obj: &Map<String, Value>, key: &str) -> std::result::Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "field \"{key}\" must be a string, found {}",
            type_name(other)
        )),
    }
}

/// An id may be a string or an integer in the wild; both become strings.
pub fn req_id(obj: &Map<String, Value>, key: &str) -> std::result::Result<String, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(format!("missing field \"{key}\"")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("field \"{key}\" is empty")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
        Some(other) => Err(format!(
            "field \"{key}\" must be a string or integer, found {}",
            type_name(other)
        )),
    }
}

pub fn non_empty(key: &str, text: String) -> std::result::Result<String, String> {
    if text.trim().is_empty() {
        Err(format!("field \"{key}\" is empty"))
    } else {
        Ok(text)
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse one native record.
pub fn parse_native(obj: &Map<String, Value>) -> std::result::Result<Task, String> {
    let id = req_id(obj, "id")?;
    let prompt = non_empty("prompt", req_str(obj, "prompt")?)?;
    let (answer, answer_b) = if obj.contains_key("answer_a") || obj.contains_key("answer_b") {
        let a = non_empty("answer_a", req_str(obj, "answer_a")?)?;
        let b = non_empty("answer_b", req_str(obj, "answer_b")?)?;
        (a, Some(b))
    } else {
        (non_empty("answer", req_str(obj, "answer")?)?, None)
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
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|e| format!("field \"steps\" must be a list of {{start,end}}: {e}"))?,
        ),
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

pub fn read(path: &Path) -> Result<Loaded> {
    read_jsonl(path, |obj| parse_native(obj).map(|t| vec![t]))
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

/// Guess the format from the first JSON object's keys.
pub fn detect(path: &Path) -> Result<Format> {
    let _ = path;
    Ok(Format::Native)
}
