//! crit's own exports read back into their record types: `critiques` and
//! `trl-preference`. With `meta` present, tasks and evaluators are recovered
//! from it; without, the prompt identifies the task and `--evaluator`
//! (default `imported`) is used. Every record's task is checked with the
//! session reader's rules before it is kept.

use super::{line_err, readable, Origin, Pending, Plan};
use crate::assist::{Assistance, Critique, Kind, ModelInfo, Output, Provenance};
use crate::labels::chat;
use crate::labels::meta::RecordMeta;
use crate::labels::records::{CritiqueRecord, CritiqueSource, PreferenceRecord, Text};
use crate::labels::{LabelError, LabelKind, Result};
use crate::session::event::{
    Body, CritiqueLabel, LabelValue, Phase, Preference, Side, Target, Verdict,
};
use crate::task::jsonl::for_each_object;
use crate::task::{LineError, Task, TaskError};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;

const DEFAULT_EVALUATOR: &str = "imported";

type LineResult<T> = std::result::Result<T, String>;

/// Run `visit` over every record (and its `meta`: inline, else from the
/// `FILE.meta.jsonl` sidecar beside it, whose line n belongs to line n);
/// collect bad lines; fail if any (unless `skip`).
fn read_all<R: DeserializeOwned>(
    file: &Path,
    skip: bool,
    mut visit: impl FnMut(R, RecordMeta, usize) -> LineResult<()>,
) -> Result<Vec<LineError>> {
    let mut sidecar = Sidecar::open(file);
    let errors = for_each_object(file, |mut obj, line| {
        if let Some(meta) = sidecar.line(line)? {
            obj.entry("meta").or_insert(meta);
        }
        let (record, meta) = parse_record::<R>(obj)?;
        visit(record, meta, line)
    })
    .map_err(|e| match e {
        TaskError::Invalid { errors, .. } => LabelError::BadLines(errors),
        other => other.into(),
    })?;
    if errors.is_empty() || skip {
        Ok(errors)
    } else {
        Err(LabelError::BadLines(errors))
    }
}

/// The meta sidecar of an export, read in step with its records.
struct Sidecar {
    lines: Option<std::io::Lines<std::io::BufReader<std::fs::File>>>,
    at: usize,
}

impl Sidecar {
    fn open(file: &Path) -> Sidecar {
        let lines = std::fs::File::open(crate::labels::meta_path(file))
            .ok()
            .map(|f| std::io::BufRead::lines(std::io::BufReader::new(f)));
        Sidecar { lines, at: 0 }
    }

    /// The meta on line `line` (lines are asked for in increasing order).
    fn line(&mut self, line: usize) -> LineResult<Option<Value>> {
        let Some(lines) = &mut self.lines else {
            return Ok(None);
        };
        let mut text = None;
        while self.at < line {
            text = lines
                .next()
                .transpose()
                .map_err(|e| format!("meta sidecar: {e}"))?;
            self.at += 1;
        }
        text.map(|t| serde_json::from_str(&t).map_err(|e| format!("meta sidecar line {line}: {e}")))
            .transpose()
    }
}

/// One line's record and meta, with errors naming the field.
fn parse_record<R: DeserializeOwned>(mut obj: Map<String, Value>) -> LineResult<(R, RecordMeta)> {
    let meta = match obj.remove("meta") {
        None | Some(Value::Null) => RecordMeta::default(),
        Some(m) => deserialize(m).map_err(|e| format!("in \"meta\": {e}"))?,
    };
    Ok((deserialize(Value::Object(obj))?, meta))
}

fn deserialize<T: DeserializeOwned>(v: Value) -> LineResult<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("field \"{path}\": {}", e.inner())
        }
    })
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn evaluator_of(meta: &RecordMeta, given: Option<&str>) -> String {
    given
        .or_else(|| non_empty(&meta.evaluator))
        .unwrap_or(DEFAULT_EVALUATOR)
        .to_string()
}

// ---- trl-preference ----

/// Prompt, chosen and rejected as task text: plain strings in TRL's plain
/// layout lose its markers, message lists become turns.
fn pair_texts(r: PreferenceRecord) -> LineResult<(String, String, String)> {
    match (r.prompt, r.chosen, r.rejected) {
        (Text::Plain(p), Text::Plain(c), Text::Plain(j)) => {
            let (prompt, mut replies) = chat::from_plain(&p, &[&c, &j]);
            let rejected = replies.pop().unwrap_or_default();
            let chosen = replies.pop().unwrap_or_default();
            Ok((prompt, chosen, rejected))
        }
        (Text::Messages(p), Text::Messages(c), Text::Messages(j)) => Ok((
            chat::prompt_from_messages(&p).map_err(|e| format!("field \"prompt\": {e}"))?,
            chat::reply_from_messages(&c).map_err(|e| format!("field \"chosen\": {e}"))?,
            chat::reply_from_messages(&j).map_err(|e| format!("field \"rejected\": {e}"))?,
        )),
        _ => Err(
            "\"prompt\", \"chosen\" and \"rejected\" must all be strings or all be message lists"
                .into(),
        ),
    }
}

/// Each record becomes its own task: a pairwise one with a verdict for the
/// chosen side, or (a `correction` record) a single answer = `rejected`
/// with a correction = `chosen`. Re-exporting gives the same pairs.
pub fn trl_preference(
    file: &Path,
    origin: &Origin,
    evaluator: Option<&str>,
    skip: bool,
) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut ids = Ids::default();
    plan.skipped = read_all(file, skip, |r: PreferenceRecord, meta, line| {
        let (prompt, chosen, rejected) = pair_texts(r)?;
        let correction = meta.kind == Some(LabelKind::Correction);
        let mut task = Task {
            id: String::new(),
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
        };
        readable(&Task {
            id: "t".into(),
            ..task.clone()
        })?;
        if correction && chosen.trim().is_empty() {
            return Err("empty answer (field \"chosen\", the correction, is blank)".into());
        }
        task.id = ids.unique(non_empty(&meta.task).unwrap_or("pref"), line);
        let ev = evaluator_of(&meta, evaluator);
        plan.events.push(Pending::Ready(preference_body(
            &task.id, ev, chosen, correction, origin, line,
        )));
        plan.tasks.push(task);
        plan.lines.push(line);
        Ok(())
    })?;
    Ok(plan)
}

fn preference_body(
    task: &str,
    evaluator: String,
    chosen: String,
    correction: bool,
    origin: &Origin,
    line: usize,
) -> Body {
    if correction {
        return Body::Correction {
            task: task.to_string(),
            evaluator,
            text: chosen,
        };
    }
    Body::Verdict {
        task: task.to_string(),
        evaluator,
        verdict: Verdict::Pairwise {
            preferred: Preference::A,
            strength: None,
            confidence: None,
            rationale: String::new(),
        },
        phase: Phase::Unaided,
        source: Some(origin.source(line, None)),
    }
}

/// Unique task ids: the recorded id, suffixed with the line when taken.
#[derive(Default)]
struct Ids(HashSet<String>);

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

/// One `critiques` record, checked, with where it belongs.
struct Parsed {
    record: CritiqueRecord,
    evaluator: String,
    /// Task key (meta session/task, else the prompt) and assistance key.
    task_key: String,
    assistance_key: String,
}

fn parse_critique(
    record: CritiqueRecord,
    meta: &RecordMeta,
    evaluator: Option<&str>,
) -> LineResult<Parsed> {
    let human = record.source == CritiqueSource::Human;
    if human && record.label != CritiqueLabel::Valid {
        return Err(
            "a human-written critique is a flaw the evaluator found: its label must be \"valid\""
                .into(),
        );
    }
    readable(&Task {
        id: "t".into(),
        prompt: record.prompt.clone(),
        answer: record.answer.clone(),
        answer_b: None,
        reference: None,
        steps: None,
        meta: Default::default(),
    })?;
    if let Some(span) = record.span {
        crate::task::native::check_spans(&record.answer, &[span])
            .map_err(|e| format!("field \"span\": {}", e.replacen("steps[0]", "span", 1)))?;
    }
    let task_key = match non_empty(&meta.task) {
        Some(t) => format!("{}\u{0}{t}", meta.session),
        None => format!("\u{1}{}", record.prompt),
    };
    Ok(Parsed {
        evaluator: evaluator_of(meta, evaluator),
        task_key,
        assistance_key: format!("{:?}", meta.assistance_seq),
        record,
    })
}

/// Critique records grouped back into tasks, assistance and labels.
#[derive(Default)]
struct CritiqueBuilder {
    tasks: Vec<Task>,
    lines: Vec<usize>,
    by_key: HashMap<String, usize>,
    ids: Ids,
    /// (task index, assistance key) -> (plan event index, critiques so far)
    assistance: HashMap<(usize, String), (usize, Vec<Critique>)>,
    /// (task index, assistance key, item, evaluator) already labelled.
    labelled: HashSet<(usize, String, usize, String)>,
    events: Vec<Pending>,
}

impl CritiqueBuilder {
    /// The task for a record, created on first sight; A is the first answer
    /// seen, B the second (user critiques on pairwise tasks).
    fn task(&mut self, p: &Parsed, line: usize) -> LineResult<(usize, Side)> {
        let r = &p.record;
        let i = match self.by_key.get(&p.task_key) {
            Some(&i) => i,
            None => {
                let base = match p.task_key.split_once('\u{0}') {
                    Some((_, task)) => task,
                    None => "critiques",
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
                self.lines.push(line);
                self.by_key.insert(p.task_key.clone(), self.tasks.len() - 1);
                self.tasks.len() - 1
            }
        };
        let t = &mut self.tasks[i];
        if t.answer == r.answer {
            return Ok((i, Side::A));
        }
        match &t.answer_b {
            Some(b) if *b == r.answer => Ok((i, Side::B)),
            None if r.source == CritiqueSource::Human => {
                t.answer_b = Some(r.answer.clone());
                Ok((i, Side::B))
            }
            _ => Err(format!(
                "a third different answer for task {:?}; a task has at most two",
                t.id
            )),
        }
    }

    fn add(&mut self, p: Parsed, origin: &Origin, line: usize) -> LineResult<()> {
        let (ti, side) = self.task(&p, line)?;
        let task = self.tasks[ti].id.clone();
        let src = Some(origin.source(line, None));
        let r = p.record;
        let critique = Critique {
            quote: r.quote,
            comment: r.comment,
            severity: r.severity,
            category: r.category,
            span: r.span,
            side: None,
            agreement: None,
        };
        if r.source == CritiqueSource::Human {
            self.events.push(Pending::Ready(Body::UserCritique {
                task,
                evaluator: p.evaluator,
                span: critique.span,
                quote: critique.quote,
                comment: critique.comment,
                severity: critique.severity,
                category: critique.category,
                answer: (side == Side::B).then_some(Side::B),
                source: src,
            }));
            return Ok(());
        }
        if side == Side::B {
            return Err("assistant critiques are on answer A of a task".into());
        }
        let index = self.item(ti, &p.assistance_key, critique, &p.evaluator, &task);
        self.events.push(Pending::OnAssistance(Body::Label {
            task,
            evaluator: p.evaluator,
            target: Target::Critique {
                assistance: self.assistance[&(ti, p.assistance_key)].0 as u64,
                index,
            },
            value: LabelValue::Critique {
                verdict: r.label,
                severity: r.corrected_severity,
            },
            source: src,
        }));
        Ok(())
    }

    /// The item index of `critique` in its assistance (reserving the
    /// assistance event on first sight). The same critique labelled by
    /// several evaluators is one item; a repeat by the same evaluator (no
    /// meta to tell them apart) another.
    fn item(&mut self, ti: usize, akey: &str, critique: Critique, ev: &str, task: &str) -> usize {
        let next = self.events.len();
        let (at, items) = self
            .assistance
            .entry((ti, akey.to_string()))
            .or_insert_with(|| (next, Vec::new()));
        let key = |i: usize| (ti, akey.to_string(), i, ev.to_string());
        let index = match (0..items.len())
            .find(|&i| items[i] == critique && !self.labelled.contains(&key(i)))
        {
            Some(i) => i,
            None => {
                items.push(critique);
                items.len() - 1
            }
        };
        if *at == next {
            // Reserved here so it precedes its labels; filled in `finish`.
            self.events.push(Pending::Ready(Body::AssistanceFailed {
                task: task.to_string(),
                kind: Kind::Critique,
                reason: crate::session::event::FailReason::Error,
                error: String::new(),
                seed: None,
            }));
        }
        self.labelled.insert(key(index));
        index
    }

    /// Put the collected critiques into their assistance events.
    fn finish(mut self) -> Plan {
        for ((ti, _), (at, critiques)) in self.assistance {
            let task = self.tasks[ti].id.clone();
            self.events[at] = Pending::Ready(Body::Assistance {
                task,
                assistance: imported_assistance(critiques).into(),
            });
        }
        Plan {
            tasks: self.tasks,
            lines: self.lines,
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
            template_name: "imported:critiques".into(),
            sampler: Some(Default::default()),
            ..Provenance::empty()
        },
        truncated: None,
    }
}

pub fn critiques(
    file: &Path,
    origin: &Origin,
    evaluator: Option<&str>,
    skip: bool,
) -> Result<Plan> {
    let mut b = CritiqueBuilder::default();
    let mut errors = Vec::new();
    let mut skipped = read_all(file, skip, |r: CritiqueRecord, meta, line| {
        let p = parse_critique(r, &meta, evaluator)?;
        if let Err(e) = b.add(p, origin, line) {
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
