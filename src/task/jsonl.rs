//! The line-by-line JSONL plumbing every task reader (and the label
//! importers) share: streaming, `file:line` errors, typed field access.

use super::{LineError, Loaded, Result, Task, TaskError};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Read a file as JSONL, calling `parse` on each non-blank line's JSON
/// object. Invalid UTF-8 and invalid JSON become line errors.
pub fn read_jsonl(
    path: &Path,
    mut parse: impl FnMut(&Map<String, Value>) -> std::result::Result<Vec<Task>, String>,
) -> Result<Loaded> {
    read_jsonl_at(path, |obj, _| parse(obj))
}

/// Like [`read_jsonl`], but `parse` also gets the 1-based line number (for
/// ids of records that carry none).
pub fn read_jsonl_at(
    path: &Path,
    mut parse: impl FnMut(&Map<String, Value>, usize) -> std::result::Result<Vec<Task>, String>,
) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    loaded.skipped = for_each_object(path, |obj, line| {
        for task in parse(&obj, line)? {
            loaded.tasks.push(task);
            loaded.lines.push(line);
        }
        Ok(())
    })?;
    Ok(loaded)
}

/// Stream `path` line by line (one line in memory at a time, so huge files
/// are fine), calling `visit` on each non-blank line's JSON object. Returns
/// every bad line: invalid UTF-8, invalid JSON, non-object, or `visit`'s
/// error. A file with no non-blank line at all is [`TaskError::Empty`].
pub fn for_each_object(
    path: &Path,
    mut visit: impl FnMut(Map<String, Value>, usize) -> std::result::Result<(), String>,
) -> Result<Vec<LineError>> {
    let io = |error| TaskError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut errors = Vec::new();
    let mut raw = Vec::new();
    let mut line = 0;
    let mut any = false;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw).map_err(io)? == 0 {
            break;
        }
        line += 1;
        let Some(obj) = parse_line(&raw) else {
            continue;
        };
        any = true;
        if let Err(message) = obj.and_then(|obj| visit(obj, line)) {
            errors.push(LineError {
                file: path.to_path_buf(),
                line,
                message,
            });
        }
    }
    if !any {
        return Err(TaskError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(errors)
}

pub(crate) type LineResult = std::result::Result<Map<String, Value>, String>;

/// serde_json says "at line 1 column N" (its line is always 1 here, which
/// would contradict the file line we report), so keep just the column.
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(w, _)| w);
    format!("invalid JSON at column {}: {what}", e.column())
}

/// One raw line: `None` if blank, else the object or what is wrong.
pub(crate) fn parse_line(raw: &[u8]) -> Option<LineResult> {
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => return Some(Err(format!("invalid UTF-8 at byte {}", e.valid_up_to()))),
    };
    // A BOM (Windows editors) is not part of the JSON.
    let text = text
        .trim_end_matches(['\n', '\r'])
        .trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return None;
    }
    Some(match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => match nul_field(&obj) {
            Some(field) => Err(format!(
                "field \"{field}\" contains a NUL character (U+0000), which no model or terminal can take; remove it"
            )),
            None => Ok(obj),
        },
        Ok(other) => Err(format!(
            "expected a JSON object, found {}",
            type_name(&other)
        )),
        Err(e) => Err(json_error(&e)),
    })
}

/// The path of the first string (or key) holding a NUL character.
fn nul_field(obj: &Map<String, Value>) -> Option<String> {
    fn walk(v: &Value, path: &str) -> Option<String> {
        match v {
            Value::String(s) => s.contains('\0').then(|| path.to_string()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, &format!("{path}[{i}]"))),
            Value::Object(map) => map.iter().find_map(|(k, x)| {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k.contains('\0') {
                    return Some(p);
                }
                walk(x, &p)
            }),
            _ => None,
        }
    }
    obj.iter().find_map(|(k, v)| {
        if k.contains('\0') {
            return Some(k.clone());
        }
        walk(v, k)
    })
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

/// A required integer field.
pub fn req_int(obj: &Map<String, Value>, key: &str) -> std::result::Result<i64, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(format!("missing field \"{key}\"")),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
        Some(other) => Err(format!(
            "field \"{key}\" must be an integer, found {}",
            describe(other)
        )),
    }
}

/// An optional integer field (absent or null = `None`).
pub fn opt_int(obj: &Map<String, Value>, key: &str) -> std::result::Result<Option<i64>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => req_int(obj, key).map(Some),
    }
}

/// A required boolean field.
pub fn req_bool(obj: &Map<String, Value>, key: &str) -> std::result::Result<bool, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(format!("missing field \"{key}\"")),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!(
            "field \"{key}\" must be a boolean, found {}",
            type_name(other)
        )),
    }
}

/// A required object field.
pub fn req_obj<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> std::result::Result<&'a Map<String, Value>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(format!("missing field \"{key}\"")),
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(format!(
            "field \"{key}\" must be an object, found {}",
            type_name(other)
        )),
    }
}

/// A required array field.
pub fn req_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> std::result::Result<&'a Vec<Value>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(format!("missing field \"{key}\"")),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(format!(
            "field \"{key}\" must be an array, found {}",
            type_name(other)
        )),
    }
}

/// Prefix a field error with where the object sits (`steps[3]`), turning
/// `field "x" ...` into `field "steps[3].x" ...`.
pub fn within(path: &str, message: String) -> String {
    match message.split_once("field \"") {
        Some((head, rest)) => format!("{head}field \"{path}.{rest}"),
        None => format!("{path}: {message}"),
    }
}

/// A value's type, and the value itself when it is a short scalar.
fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("{n}"),
        other => type_name(other).to_string(),
    }
}

/// Like [`non_empty`] for the text being judged, so the message says so.
pub fn non_empty_answer(key: &str, text: String) -> std::result::Result<String, String> {
    if text.trim().is_empty() {
        Err(format!("empty answer (field \"{key}\" is blank)"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_and_bad_ones_described() {
        assert!(parse_line(b"  \r\n").is_none());
        assert_eq!(
            parse_line(b"[1]").unwrap().unwrap_err(),
            "expected a JSON object, found an array"
        );
        assert_eq!(
            parse_line(b"{\"a\":}").unwrap().unwrap_err(),
            "invalid JSON at column 6: expected value"
        );
        assert!(parse_line("\u{feff}{}".as_bytes()).unwrap().is_ok());
        let nul = parse_line(br#"{"id":"t","steps":[{"text":"a\u0000b"}]}"#);
        let msg = nul.unwrap().unwrap_err();
        assert!(
            msg.contains("steps[0].text") && msg.contains("NUL"),
            "{msg}"
        );
    }

    #[test]
    fn within_prefixes_the_field_path() {
        assert_eq!(
            within("a[1]", "missing field \"x\"".into()),
            "missing field \"a[1].x\""
        );
        assert_eq!(within("a", "odd".into()), "a: odd");
    }
}
