//! Format detection from the keys of the first valid JSON object.

use super::jsonl::parse_line;
use super::{Format, Result, TaskError};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Pick the format of `path` from the keys of its first valid JSON object.
/// Lines before it that are not valid JSON are left for the reader to
/// report; a file with no valid object at all is read as native so that
/// each line gets its own error. `--format` bypasses this.
pub fn detect(path: &Path) -> Result<Format> {
    let Some(first) = first_object(path)? else {
        return Ok(Format::Native);
    };
    from_keys(&first).ok_or_else(|| TaskError::Unrecognized {
        path: path.to_path_buf(),
        message: unrecognized_message(&first),
    })
}

/// The format whose characteristic keys `obj` has, if any.
pub fn from_keys(obj: &Map<String, Value>) -> Option<Format> {
    let has = |keys: &[&str]| keys.iter().all(|k| obj.contains_key(*k));
    // Most specific first: native files may carry extra keys of their own.
    if has(&["id", "prompt"]) && (has(&["answer"]) || has(&["answer_a", "answer_b"])) {
        Some(Format::Native)
    } else if has(&["question", "ground_truth"]) {
        Some(Format::Gsm8k)
    } else if has(&["problem", "steps"]) || has(&["question", "label"]) {
        Some(Format::Prm800k)
    } else if has(&["question_id", "turns"])
        || has(&["output_1", "output_2", "label"])
        || has(&["question_id", "model_id", "choices"])
    {
        Some(Format::MtBench)
    } else if has(&["chosen", "rejected"]) {
        Some(Format::HhRlhf)
    } else if has(&["user_query", "chatgpt_response"]) {
        Some(Format::Halueval)
    } else if looks_native(obj) {
        // A native record with a field missing: let the reader say which.
        Some(Format::Native)
    } else {
        None
    }
}

fn looks_native(obj: &Map<String, Value>) -> bool {
    let has = |k: &str| obj.contains_key(k);
    let answer = has("answer") || has("answer_a") || has("answer_b");
    (has("id") && (has("prompt") || answer)) || (has("prompt") && answer)
}

/// The first line that parses as a JSON object; stops reading there.
pub(crate) fn first_object(path: &Path) -> Result<Option<Map<String, Value>>> {
    let io = |error| TaskError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut raw = Vec::new();
    let mut any = false;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw).map_err(io)? == 0 {
            break;
        }
        match parse_line(&raw) {
            None => {}
            Some(Ok(obj)) => return Ok(Some(obj)),
            Some(Err(_)) => any = true,
        }
    }
    if any {
        Ok(None)
    } else {
        Err(TaskError::Empty {
            path: path.to_path_buf(),
        })
    }
}

fn unrecognized_message(obj: &Map<String, Value>) -> String {
    let keys: Vec<String> = obj.keys().map(|k| format!("{k:?}")).collect();
    let formats: Vec<&str> = <Format as clap::ValueEnum>::value_variants()
        .iter()
        .map(|f| f.name())
        .collect();
    format!(
        "cannot tell the task format: the first record has keys [{}], which match none of the \
         known formats; pass --format with one of: {}",
        keys.join(", "),
        formats.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: Value) -> Option<Format> {
        from_keys(v.as_object().unwrap())
    }

    #[test]
    fn keys_pick_formats() {
        assert_eq!(
            keys(json!({"id": 1, "prompt": "", "answer": ""})),
            Some(Format::Native)
        );
        assert_eq!(keys(json!({"id": 1, "answer": ""})), Some(Format::Native));
        assert_eq!(
            keys(json!({"question": "", "ground_truth": ""})),
            Some(Format::Gsm8k)
        );
        assert_eq!(
            keys(json!({"problem": "", "steps": []})),
            Some(Format::Prm800k)
        );
        assert_eq!(
            keys(json!({"question": {}, "label": {}})),
            Some(Format::Prm800k)
        );
        assert_eq!(
            keys(json!({"question_id": 1, "turns": []})),
            Some(Format::MtBench)
        );
        assert_eq!(
            keys(json!({"chosen": "", "rejected": ""})),
            Some(Format::HhRlhf)
        );
        assert_eq!(
            keys(json!({"user_query": "", "chatgpt_response": ""})),
            Some(Format::Halueval)
        );
        assert_eq!(keys(json!({"task_id": "", "prompt": ""})), None);
    }
}
