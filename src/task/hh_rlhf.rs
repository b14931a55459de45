//! Anthropic HH-RLHF (`{"chosen", "rejected"}` transcripts of the form
//! `"\n\nHuman: ...\n\nAssistant: ..."`): one pairwise task per record, and
//! the one parser of such transcripts (turns, rendering, the pair split)
//! that the exporters and importers use too.
//!
//! The prompt is the longest common prefix of the two transcripts, cut at
//! the last `"\n\nAssistant: "` inside it, as TRL's own HH-RLHF extraction
//! does (leading blank lines dropped so it reads as a transcript); the two
//! answers are what follows in each transcript. A reply can span several
//! turns (the source has an assistant turn followed by another): it is
//! kept whole, so `"\n\n" + prompt + "\n\nAssistant: " + reply` gives back
//! each transcript exactly. Which answer is A is decided by a hash of the
//! record, so the evaluator does not always see the preferred one first and
//! the order is the same on every machine and every run.
//!
//! Id `hh-rlhf-{source_line}` (the record's `source_line`, else its 0-based
//! line in this file). Meta `hh_rlhf` = `{"chosen": "a"|"b", "source_line"}`
//! plus `"prefix_mismatch": true` when the transcripts diverge before their
//! final turns (a reply then spans several turns).

use super::jsonl::{opt_int, read_jsonl_at, req_str};
use super::Side;
use super::{Loaded, Result, Task};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Meta key under which the HH-RLHF fields are kept.
pub const META: &str = "hh_rlhf";

/// Turn markers, with the space that separates them from the text (TRL
/// splits at these exact strings).
pub const HUMAN: &str = "\n\nHuman: ";
pub const ASSISTANT: &str = "\n\nAssistant: ";

pub fn read(path: &Path) -> Result<Loaded> {
    read_jsonl_at(path, |obj, line| parse(obj, line).map(|t| vec![t]))
}

/// One record; `line` is its 1-based line in the file.
pub fn parse(obj: &Map<String, Value>, line: usize) -> std::result::Result<Task, String> {
    let source_line = opt_int(obj, "source_line")?.unwrap_or(line as i64 - 1);
    let chosen = req_str(obj, "chosen")?;
    let rejected = req_str(obj, "rejected")?;
    let pair = split_pair(&chosen, &rejected)?;
    let side = side_for(&chosen, &rejected);
    let (a, b) = match side {
        Side::A => (pair.chosen, pair.rejected),
        Side::B => (pair.rejected, pair.chosen),
    };
    let mut m = Map::new();
    m.insert("chosen".into(), side_name(side).into());
    m.insert("source_line".into(), source_line.into());
    if is_multi_turn(pair.chosen) || is_multi_turn(pair.rejected) {
        m.insert("prefix_mismatch".into(), true.into());
    }
    let mut meta = Map::new();
    meta.insert(META.into(), Value::Object(m));
    Ok(Task {
        id: format!("hh-rlhf-{source_line}"),
        prompt: pair.prompt.to_string(),
        answer: a.to_string(),
        answer_b: Some(b.to_string()),
        reference: None,
        steps: None,
        meta,
    })
}

/// A preference pair split into the shared conversation and two replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    /// Transcript form without the leading blank lines (`Human: ...`).
    pub prompt: &'a str,
    pub chosen: &'a str,
    pub rejected: &'a str,
}

/// Split two transcripts at the last assistant turn marker inside their
/// longest common prefix. Both replies must be non-blank.
pub fn split_pair<'a>(chosen: &'a str, rejected: &'a str) -> std::result::Result<Pair<'a>, String> {
    for (key, text) in [("chosen", chosen), ("rejected", rejected)] {
        if !text.contains(ASSISTANT) {
            return Err(format!(
                "field \"{key}\" has no \"\\n\\nAssistant:\" turn (expected an HH-RLHF transcript)"
            ));
        }
    }
    let common = common_prefix(chosen, rejected);
    let Some(cut) = chosen[..common].rfind(ASSISTANT) else {
        return Err(
            "\"chosen\" and \"rejected\" differ before their first assistant turn: no shared prompt"
                .into(),
        );
    };
    let prompt = chosen[..cut].trim_start_matches('\n');
    if prompt.trim().is_empty() {
        return Err("no conversation before the assistant replies".into());
    }
    let reply = |key: &str, text: &'a str| {
        let r = &text[cut + ASSISTANT.len()..];
        if r.trim().is_empty() {
            Err(format!(
                "empty answer (the final assistant reply in \"{key}\" is blank)"
            ))
        } else {
            Ok(r)
        }
    };
    Ok(Pair {
        prompt,
        chosen: reply("chosen", chosen)?,
        rejected: reply("rejected", rejected)?,
    })
}

/// Length in bytes of the longest common prefix, on a character boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    (0..=n).rev().find(|&i| a.is_char_boundary(i)).unwrap_or(0)
}

/// Does a reply carry further turns of its own?
fn is_multi_turn(reply: &str) -> bool {
    reply.contains(ASSISTANT) || reply.contains(HUMAN)
}

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Human,
    Assistant,
}

impl Speaker {
    fn marker(self) -> &'static str {
        match self {
            Speaker::Human => HUMAN,
            Speaker::Assistant => ASSISTANT,
        }
    }
}

/// The turns of a transcript (`"\n\nHuman: ..."` or, as a task prompt keeps
/// it, `"Human: ..."`); `None` when it does not start with a human turn.
/// [`render`] gives back the same text (with the leading blank lines).
pub fn turns(text: &str) -> Option<Vec<(Speaker, &str)>> {
    let body = text
        .strip_prefix(HUMAN)
        .or_else(|| text.strip_prefix(&HUMAN[2..]))?;
    Some(continuation(Speaker::Human, body))
}

/// Turns of text that starts inside a turn of `first` (a reply after its
/// `"\n\nAssistant: "` marker): split at every marker.
pub fn continuation(first: Speaker, text: &str) -> Vec<(Speaker, &str)> {
    let mut out = Vec::new();
    let (mut who, mut rest) = (first, text);
    loop {
        let next = [Speaker::Human, Speaker::Assistant]
            .into_iter()
            .filter_map(|s| rest.find(s.marker()).map(|at| (at, s)))
            .min_by_key(|(at, _)| *at);
        match next {
            Some((at, s)) => {
                out.push((who, &rest[..at]));
                rest = &rest[at + s.marker().len()..];
                who = s;
            }
            None => {
                out.push((who, rest));
                return out;
            }
        }
    }
}

/// Turns back to a transcript, with the leading `"\n\n"`.
pub fn render<'a>(turns: impl IntoIterator<Item = (Speaker, &'a str)>) -> String {
    let mut out = String::new();
    for (who, text) in turns {
        out.push_str(who.marker());
        out.push_str(text);
    }
    out
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
    fn splits_at_the_last_assistant_turn_of_the_common_part() {
        let c = "\n\nHuman: hi\n\nAssistant: hey\n\nHuman: bye\n\nAssistant: see you";
        let r = "\n\nHuman: hi\n\nAssistant: hey\n\nHuman: bye\n\nAssistant: go";
        let p = split_pair(c, r).unwrap();
        assert_eq!(p.prompt, "Human: hi\n\nAssistant: hey\n\nHuman: bye");
        assert_eq!((p.chosen, p.rejected), ("see you", "go"));
        // Two assistant turns in a row in one transcript: the reply keeps both.
        let c2 = "\n\nHuman: key?\n\nAssistant: here:\n\nAssistant:  ok";
        let r2 = "\n\nHuman: key?\n\nAssistant: no";
        let p = split_pair(c2, r2).unwrap();
        assert_eq!(p.prompt, "Human: key?");
        assert_eq!(p.chosen, "here:\n\nAssistant:  ok");
        assert_eq!(format!("\n\n{}{ASSISTANT}{}", p.prompt, p.chosen), c2);
        assert!(split_pair(
            "\n\nHuman: a\n\nAssistant: x",
            "\n\nHuman: b\n\nAssistant: y"
        )
        .is_err());
    }

    #[test]
    fn turns_render_back_exactly() {
        let t = "\n\nHuman: a\n\nAssistant: b\n\nAssistant:  c\n\nHuman: d";
        let ts = turns(t).unwrap();
        assert_eq!(ts.len(), 4);
        assert_eq!(ts[2], (Speaker::Assistant, " c"));
        assert_eq!(render(ts), t);
        assert_eq!(turns("Human: a").unwrap(), vec![(Speaker::Human, "a")]);
        assert!(turns("What is 2+2?").is_none());
    }

    #[test]
    fn order_is_a_pure_function_of_the_record() {
        assert_eq!(side_for("x", "y"), side_for("x", "y"));
        let sides: Vec<Side> = (0..16).map(|i| side_for(&i.to_string(), "r")).collect();
        assert!(sides.contains(&Side::A) && sides.contains(&Side::B));
    }
}
