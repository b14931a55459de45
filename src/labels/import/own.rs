//! crit's own exports read back: `critiques` and `trl-preference`. With
//! `meta` present, tasks and evaluators are recovered from it; without, the
//! prompt identifies the task and `--evaluator` (default `imported`) is used.

use super::{line_err, source, ImportFormat, Pending, Plan};
use crate::assist::{Assistance, Critique, Kind, ModelInfo, Output, Provenance, Severity};
use crate::labels::{LabelError, Result};
use crate::session::event::{
    Body, CritiqueLabel, LabelValue, Phase, Preference, Side, Target, Verdict,
};
use crate::task::native::{for_each_object, req_str, type_name};
use crate::task::{LineError, Span, Task, TaskError};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

const DEFAULT_EVALUATOR: &str = "imported";

/// Run `visit` over every object; collect bad lines; fail if any.
fn read_all(
    file: &Path,
    skip: bool,
    mut visit: impl FnMut(Map<String, Value>, usize) -> std::result::Result<(), String>,
) -> Result<Vec<LineError>> {
    let errors: Vec<LineError> = for_each_object(file, &mut visit).map_err(|e| match e {
        TaskError::Invalid { errors, .. } => LabelError::BadLines(errors),
        other => other.into(),
    })?;
    if errors.is_empty() || skip {
        Ok(errors)
    } else {
        Err(LabelError::BadLines(errors))
    }
}

fn meta_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get("meta")?.get(key)?.as_str()
}

fn evaluator_of(obj: &Map<String, Value>, given: Option<&str>) -> String {
    given
        .or_else(|| meta_str(obj, "evaluator"))
        .unwrap_or(DEFAULT_EVALUATOR)
        .to_string()
}

/// A string, or a list of `{role, content}` messages (conversational
/// TRL): the prompt's turns in transcript form (see
/// `formats::prompt_messages`), else the content of the last message.
fn text_or_messages(obj: &Map<String, Value>, key: &str) -> std::result::Result<String, String> {
    let Some(Value::Array(msgs)) = obj.get(key) else {
        return req_str(obj, key);
    };
    let bad = || {
        format!("field \"{key}\" must be a string or a non-empty list of {{\"role\", \"content\"}} messages")
    };
    let pairs: Vec<(String, String)> = msgs
        .iter()
        .map(|m| {
            let role = m.get("role").and_then(Value::as_str);
            let content = m.get("content").and_then(Value::as_str);
            role.zip(content)
                .map(|(r, c)| (r.to_string(), c.to_string()))
        })
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    match pairs.last() {
        None => Err(bad()),
        Some(_) if key == "prompt" => Ok(crate::labels::prompt_from_messages(&pairs)),
        Some((_, content)) => Ok(content.clone()),
    }
}

fn enum_field<T: serde::de::DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
    allowed: &str,
) -> std::result::Result<T, String> {
    let v = obj
        .get(key)
        .ok_or_else(|| format!("missing field \"{key}\""))?;
    serde_json::from_value(v.clone())
        .map_err(|_| format!("field \"{key}\" must be one of {allowed}, found {v}"))
}

// ---- trl-preference ----

/// Each record becomes its own task: a pairwise one with a verdict for the
/// chosen side, or (a `correction` record) a single answer = `rejected`
/// with a correction = `chosen`. Re-exporting gives the same pairs.
pub fn trl_preference(
    file: &Path,
    name: &str,
    evaluator: Option<&str>,
    skip: bool,
) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut ids = Ids::default();
    plan.skipped = read_all(file, skip, |obj, line| {
        let prompt = text_or_messages(&obj, "prompt")?;
        let chosen = text_or_messages(&obj, "chosen")?;
        let rejected = text_or_messages(&obj, "rejected")?;
        let ev = evaluator_of(&obj, evaluator);
        let id = ids.unique(meta_str(&obj, "task").unwrap_or("pref"), line);
        let src = Some(source(ImportFormat::TrlPreference, name, line, None));
        let correction = meta_str(&obj, "kind") == Some("correction");
        plan.tasks.push(Task {
            id: id.clone(),
            prompt,
            answer: if correction {
                rejected.clone()
            } else {
                chosen.clone()
            },
            answer_b: (!correction).then(|| rejected.clone()),
            reference: None,
            steps: None,
            meta: Default::default(),
        });
        let body = if correction {
            Body::Correction {
                task: id,
                evaluator: ev,
                text: chosen,
            }
        } else {
            Body::Verdict {
                task: id,
                evaluator: ev,
                verdict: Verdict::Pairwise {
                    preferred: Preference::A,
                    strength: None,
                    confidence: None,
                    rationale: String::new(),
                },
                phase: Phase::Unaided,
                source: src,
            }
        };
        plan.events.push(Pending::Ready(body));
        Ok(())
    })?;
    Ok(plan)
}

/// Unique task ids: the recorded id, suffixed with the line when taken.
#[derive(Default)]
struct Ids(std::collections::HashSet<String>);

impl Ids {
    fn unique(&mut self, base: &str, line: usize) -> String {
        let id = if self.0.contains(base) {
            format!("{base}~{line}")
        } else {
            base.to_string()
        };
        self.0.insert(id.clone());
        id
    }
}

// ---- critiques ----

/// One parsed `critiques` record.
struct CritiqueRecord {
    prompt: String,
    answer: String,
    critique: Critique,
    human: bool,
    label: CritiqueLabel,
    corrected: Option<Severity>,
    evaluator: String,
    /// Task key (meta session/task, else the prompt) and assistance key.
    task_key: String,
    assistance_key: String,
}

fn parse_critique(
    obj: &Map<String, Value>,
    evaluator: Option<&str>,
) -> std::result::Result<CritiqueRecord, String> {
    let span = match obj.get("span") {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value::<Span>(v.clone()).map_err(|_| {
            format!(
                "field \"span\" must be null or {{\"start\", \"end\"}}, found {}",
                type_name(v)
            )
        })?),
    };
    let source = req_str(obj, "source")?;
    let human = match source.as_str() {
        "human" => true,
        "assistant" => false,
        other => {
            return Err(format!(
                "field \"source\" must be \"assistant\" or \"human\", found {other:?}"
            ))
        }
    };
    let label: CritiqueLabel =
        enum_field(obj, "label", "\"valid\", \"hallucinated\", \"nitpick\"")?;
    if human && label != CritiqueLabel::Valid {
        return Err(
            "a human-written critique is a flaw the evaluator found: its label must be \"valid\""
                .into(),
        );
    }
    let corrected = match obj.get("corrected_severity") {
        None | Some(Value::Null) => None,
        Some(_) => Some(enum_field(
            obj,
            "corrected_severity",
            "\"minor\", \"major\", \"critical\"",
        )?),
    };
    let prompt = req_str(obj, "prompt")?;
    let session = meta_str(obj, "session").unwrap_or("");
    let task_key = match meta_str(obj, "task") {
        Some(t) => format!("{session}\u{0}{t}"),
        None => format!("\u{1}{prompt}"),
    };
    let assistance_key = obj
        .get("meta")
        .and_then(|m| m.get("assistance_seq"))
        .map(|v| v.to_string())
        .unwrap_or_default();
    Ok(CritiqueRecord {
        answer: req_str(obj, "answer")?,
        critique: Critique {
            quote: req_str(obj, "quote")?,
            comment: req_str(obj, "comment")?,
            severity: enum_field(obj, "severity", "\"minor\", \"major\", \"critical\"")?,
            category: req_str(obj, "category")?,
            span,
        },
        prompt,
        human,
        label,
        corrected,
        evaluator: evaluator_of(obj, evaluator),
        task_key,
        assistance_key,
    })
}

/// Critique records grouped back into tasks, assistance and labels.
#[derive(Default)]
struct CritiqueBuilder {
    tasks: Vec<Task>,
    by_key: HashMap<String, usize>,
    ids: Ids,
    /// (task index, assistance key) -> (plan event index, critiques so far)
    assistance: HashMap<(usize, String), (usize, Vec<Critique>)>,
    /// (task index, assistance key, item, evaluator) already labelled.
    labelled: std::collections::HashSet<(usize, String, usize, String)>,
    events: Vec<Pending>,
    name: String,
}

impl CritiqueBuilder {
    /// The task for a record, created on first sight; A is the first answer
    /// seen, B the second (user critiques on pairwise tasks).
    fn task(
        &mut self,
        r: &CritiqueRecord,
        line: usize,
    ) -> std::result::Result<(usize, Side), String> {
        let i = match self.by_key.get(&r.task_key) {
            Some(&i) => i,
            None => {
                let base = r
                    .task_key
                    .rsplit('\u{0}')
                    .next()
                    .unwrap_or("critiques")
                    .trim_start_matches('\u{1}');
                let base = if r.task_key.starts_with('\u{1}') {
                    "critiques"
                } else {
                    base
                };
                let id = self.ids.unique(base, line);
                self.tasks.push(Task {
                    id,
                    prompt: r.prompt.clone(),
                    answer: r.answer.clone(),
                    answer_b: None,
                    reference: None,
                    steps: None,
                    meta: Default::default(),
                });
                self.by_key.insert(r.task_key.clone(), self.tasks.len() - 1);
                self.tasks.len() - 1
            }
        };
        let t = &mut self.tasks[i];
        if t.answer == r.answer {
            return Ok((i, Side::A));
        }
        match &t.answer_b {
            Some(b) if *b == r.answer => Ok((i, Side::B)),
            None if r.human => {
                t.answer_b = Some(r.answer.clone());
                Ok((i, Side::B))
            }
            _ => Err(format!(
                "a third different answer for task {:?}; a task has at most two",
                t.id
            )),
        }
    }

    fn add(&mut self, r: CritiqueRecord, line: usize) -> std::result::Result<(), String> {
        let (ti, side) = self.task(&r, line)?;
        let task = self.tasks[ti].id.clone();
        let src = Some(source(ImportFormat::Critiques, &self.name, line, None));
        if r.human {
            self.events.push(Pending::Ready(Body::UserCritique {
                task,
                evaluator: r.evaluator,
                span: r.critique.span,
                quote: r.critique.quote,
                comment: r.critique.comment,
                severity: r.critique.severity,
                category: r.critique.category,
                answer: (side == Side::B).then_some(Side::B),
                source: src,
            }));
            return Ok(());
        }
        if side == Side::B {
            return Err("assistant critiques are on answer A of a task".into());
        }
        let akey = r.assistance_key.clone();
        let next = self.events.len();
        let (at, items) = self
            .assistance
            .entry((ti, akey.clone()))
            .or_insert_with(|| (next, Vec::new()));
        let at = *at;
        // The same critique labelled by several evaluators is one item; a
        // repeat by the same evaluator (no meta to tell them apart) another.
        let free = |i: usize| {
            !self
                .labelled
                .contains(&(ti, akey.clone(), i, r.evaluator.clone()))
        };
        let index = match (0..items.len()).find(|&i| items[i] == r.critique && free(i)) {
            Some(i) => i,
            None => {
                items.push(r.critique);
                items.len() - 1
            }
        };
        self.labelled.insert((ti, akey, index, r.evaluator.clone()));
        if at == next {
            self.events.push(Pending::Ready(Body::AssistanceFailed {
                task: task.clone(),
                kind: Kind::Critique,
                error: String::new(),
            }));
        }
        self.events.push(Pending::OnAssistance(Body::Label {
            task,
            evaluator: r.evaluator,
            target: Target::Critique {
                assistance: at as u64,
                index,
            },
            value: LabelValue::Critique {
                verdict: r.label,
                severity: r.corrected,
            },
            source: src,
        }));
        Ok(())
    }

    /// Put the collected critiques into their assistance events (reserved
    /// in place so they precede their labels).
    fn finish(mut self) -> Plan {
        for ((ti, _), (at, critiques)) in self.assistance {
            let task = self.tasks[ti].id.clone();
            self.events[at] = Pending::Ready(Body::Assistance {
                task,
                kind: Kind::Critique,
                assistance: Box::new(imported_assistance(critiques)),
            });
        }
        Plan {
            tasks: self.tasks,
            events: self.events,
            skipped: Vec::new(),
        }
    }
}

/// Assistance read from an export: the critiques as written, provenance
/// marked as imported (template name `imported:critiques`, no model file).
fn imported_assistance(critiques: Vec<Critique>) -> Assistance {
    let output = Output::Critique { critiques };
    Assistance {
        raw: serde_json::to_string(&output).unwrap_or_default(),
        output,
        provenance: Provenance {
            model: Some(ModelInfo {
                file_name: String::new(),
                size: 0,
                sha256: String::new(),
            }),
            served: None,
            template_name: "imported:critiques".into(),
            template_sha256: String::new(),
            prompt_sha256: String::new(),
            sampler: Default::default(),
            seed: 0,
            n_ctx: 0,
            n_threads: 0,
            max_tokens: 0,
            crit_version: crate::VERSION.into(),
            prompt_tokens: 0,
            gen_tokens: 0,
            prompt_ms: 0,
            gen_ms: 0,
        },
        truncated: None,
    }
}

pub fn critiques(file: &Path, name: &str, evaluator: Option<&str>, skip: bool) -> Result<Plan> {
    let mut b = CritiqueBuilder {
        name: name.into(),
        ..Default::default()
    };
    let mut errors = Vec::new();
    let mut skipped = read_all(file, skip, |obj, line| {
        let r = parse_critique(&obj, evaluator)?;
        if let Err(e) = b.add(r, line) {
            errors.push(line_err(file, line, e));
        }
        Ok(())
    })?;
    if !errors.is_empty() && !skip {
        return Err(LabelError::BadLines(errors));
    }
    skipped.extend(errors);
    skipped.sort_by_key(|e| e.line);
    let mut plan = b.finish();
    plan.skipped = skipped;
    Ok(plan)
}
