//! Anthropic HH-RLHF (`{"chosen", "rejected"}` transcripts of the form
//! `"\n\nHuman: ...\n\nAssistant: ..."`): one pairwise task per record.
//!
//! The prompt is the conversation up to the final `"\n\nAssistant:"` (the
//! leading blank lines dropped so it reads as a transcript); the two answers
//! are the final assistant replies. Which one is A is decided by a hash of
//! the record, so the evaluator does not always see the preferred one first
//! and the order is the same on every machine and every run.
//!
//! Id `hh-rlhf-{source_line}` (the record's `source_line`, else its 0-based
//! line in this file). Meta `hh_rlhf` = `{"chosen": "a"|"b", "source_line"}`
//! plus `"prefix_mismatch": true` and `"rejected_prompt"` when the two
//! transcripts disagree before their final reply (the prompt is then the
//! chosen transcript's).

use super::jsonl::{opt_int, read_jsonl_at, req_str};
use super::Side;
use super::{Loaded, Result, Task};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Meta key under which the HH-RLHF fields are kept.
pub const META: &str = "hh_rlhf";

const TURN: &str = "\n\nAssistant:";

pub fn read(path: &Path) -> Result<Loaded> {
    read_jsonl_at(path, |obj, line| parse(obj, line).map(|t| vec![t]))
}

/// One record; `line` is its 1-based line in the file.
pub fn parse(obj: &Map<String, Value>, line: usize) -> std::result::Result<Task, String> {
    let source_line = opt_int(obj, "source_line")?.unwrap_or(line as i64 - 1);
    let chosen = req_str(obj, "chosen")?;
    let rejected = req_str(obj, "rejected")?;
    let (prompt, chosen_reply) = split_last_turn("chosen", &chosen)?;
    let (rejected_prompt, rejected_reply) = split_last_turn("rejected", &rejected)?;
    let side = side_for(&chosen, &rejected);
    let (a, b) = match side {
        Side::A => (chosen_reply, rejected_reply),
        Side::B => (rejected_reply, chosen_reply),
    };
    let mut m = Map::new();
    m.insert("chosen".into(), side_name(side).into());
    m.insert("source_line".into(), source_line.into());
    if prompt != rejected_prompt {
        m.insert("prefix_mismatch".into(), true.into());
        m.insert("rejected_prompt".into(), rejected_prompt.into());
    }
    let mut meta = Map::new();
    meta.insert(META.into(), Value::Object(m));
    Ok(Task {
        id: format!("hh-rlhf-{source_line}"),
        prompt: prompt.to_string(),
        answer: a.to_string(),
        answer_b: Some(b.to_string()),
        reference: None,
        steps: None,
        meta,
    })
}

/// Split a transcript into (conversation before the final assistant turn,
/// that turn's reply). Both must be non-empty.
fn split_last_turn<'a>(
    key: &str,
    text: &'a str,
) -> std::result::Result<(&'a str, &'a str), String> {
    let Some(at) = text.rfind(TURN) else {
        return Err(format!(
            "field \"{key}\" has no \"\\n\\nAssistant:\" turn (expected an HH-RLHF transcript)"
        ));
    };
    let prompt = text[..at].trim_start_matches('\n');
    let reply = &text[at + TURN.len()..];
    let reply = reply.strip_prefix(' ').unwrap_or(reply);
    if prompt.trim().is_empty() {
        return Err(format!(
            "field \"{key}\" has no conversation before its final assistant reply"
        ));
    }
    if reply.trim().is_empty() {
        return Err(format!(
            "empty answer (the final assistant reply in \"{key}\" is blank)"
        ));
    }
    Ok((prompt, reply))
}

/// Deterministic, platform-independent order: one bit of SHA-256 of the
/// record (std's hasher is not guaranteed stable across Rust releases).
fn side_for(chosen: &str, rejected: &str) -> Side {
    let mut h = Sha256::new();
    h.update(chosen.as_bytes());
    h.update([0u8]);
    h.update(rejected.as_bytes());
    if h.finalize()[0] & 1 == 0 {
        Side::A
    } else {
        Side::B
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::A => "a",
        Side::B => "b",
    }
}

fn field<'a>(task: &'a Task, key: &str) -> Option<&'a Value> {
    task.meta.get(META)?.get(key)
}

/// Which answer the crowdworker preferred (the HH-RLHF `chosen` one).
pub fn chosen_side(task: &Task) -> Option<Side> {
    match field(task, "chosen")?.as_str()? {
        "a" => Some(Side::A),
        "b" => Some(Side::B),
        _ => None,
    }
}

/// The record's 0-based line in the original HH-RLHF file.
pub fn source_line(task: &Task) -> Option<i64> {
    field(task, "source_line")?.as_i64()
}

/// True when chosen and rejected disagree before their final replies.
pub fn prefix_mismatch(task: &Task) -> bool {
    field(task, "prefix_mismatch").and_then(Value::as_bool) == Some(true)
}

/// The (chosen, rejected) final replies, in HH-RLHF's terms.
pub fn chosen_and_rejected(task: &Task) -> Option<(&str, &str)> {
    let b = task.answer_b.as_deref()?;
    match chosen_side(task)? {
        Side::A => Some((task.answer.as_str(), b)),
        Side::B => Some((b, task.answer.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_last_assistant_turn() {
        let t = "\n\nHuman: hi\n\nAssistant: hey\n\nHuman: bye\n\nAssistant: see you";
        let (prompt, reply) = split_last_turn("chosen", t).unwrap();
        assert_eq!(prompt, "Human: hi\n\nAssistant: hey\n\nHuman: bye");
        assert_eq!(reply, "see you");
    }

    #[test]
    fn order_is_a_pure_function_of_the_record() {
        assert_eq!(side_for("x", "y"), side_for("x", "y"));
        let sides: Vec<Side> = (0..16).map(|i| side_for(&i.to_string(), "r")).collect();
        assert!(sides.contains(&Side::A) && sides.contains(&Side::B));
    }
}
