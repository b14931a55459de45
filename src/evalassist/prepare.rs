//! Which answers to evaluate. PRM800K keeps only good steps on its chosen
//! path (a step rated -1 was replaced), so its errors are the rejected
//! alternatives: for each trajectory we build the answer its labeler saw
//! at the first position with a -1 candidate — the chosen steps before it,
//! then that bad step — whose first wrong step is that last one. A
//! trajectory whose chosen steps are all rated 1 is a correct answer.
//! Other formats are used as loaded; tasks without any label are dropped.

use super::gold::gold;
use crate::task::{prm800k, Span, Task};
use serde_json::{json, Value};

/// The answers to evaluate, in input order, and how many were dropped
/// for carrying no label.
pub fn prepare(tasks: &[Task]) -> (Vec<Task>, usize) {
    let mut out = Vec::new();
    let mut dropped = 0;
    for task in tasks {
        let before = out.len();
        if gold(task).first_wrong.is_some() {
            out.push(task.clone()); // its own steps already mark the error
        } else if prm800k::ratings(task).is_some() {
            out.extend(all_positive(task));
            out.extend(first_error(task));
        } else if gold(task).correct.is_some() {
            out.push(task.clone());
        }
        dropped += usize::from(out.len() == before);
    }
    (out, dropped)
}

fn all_positive(task: &Task) -> Option<Task> {
    let ratings = prm800k::ratings(task)?;
    (!ratings.is_empty() && ratings.iter().all(|r| *r == Some(1))).then(|| task.clone())
}

/// The chosen steps up to the first position with a -1 candidate, ending
/// with that candidate; its ratings mark the last step -1.
fn first_error(task: &Task) -> Option<Task> {
    let steps = prm800k::steps(task)?;
    let (at, bad) = steps.iter().enumerate().find_map(|(i, s)| {
        let bad = s.completions.iter().find(|c| c.rating == Some(-1))?;
        Some((i, bad))
    })?;
    let mut texts = Vec::with_capacity(at + 1);
    let mut ratings = Vec::with_capacity(at + 1);
    for s in &steps[..at] {
        let c = s.chosen()?;
        texts.push(c.text.as_str());
        ratings.push(json!(c.rating));
    }
    texts.push(bad.text.as_str());
    ratings.push(json!(-1));
    let (answer, spans) = join(&texts);
    let mut t = task.clone();
    t.id = format!("{}-err{at}", task.id);
    t.answer = answer;
    t.steps = Some(spans);
    let m = t.meta.get_mut(prm800k::META)?.as_object_mut()?;
    m.insert("ratings".into(), Value::Array(ratings));
    Some(t)
}

/// Steps joined as PRM800K answers are: one per line.
fn join(texts: &[&str]) -> (String, Vec<Span>) {
    let mut answer = String::new();
    let mut spans = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        if i > 0 {
            answer.push('\n');
        }
        let start = answer.len();
        answer.push_str(text);
        spans.push(Span {
            start,
            end: answer.len(),
        });
    }
    (answer, spans)
}
