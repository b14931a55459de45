//! MT-Bench (lm-sys/FastChat `llm_judge`), two inputs:
//!
//! - `questions.jsonl` (`{"question_id", "category", "turns", "reference"?}`)
//!   joined with the model answers found next to it (`model_answers.jsonl`,
//!   or FastChat's `model_answer/*.jsonl`) and the GPT-4 reference answers
//!   where present (`reference_answers_gpt4.jsonl` or
//!   `reference_answer/gpt-4.jsonl`; else the question's own `reference`).
//!   One task per (question, model) for turn 1: id
//!   `mtb-{question_id}-{model_id}`, meta `mt_bench` = `{"question_id",
//!   "model_id", "category", "turn": 1, "answer_id"?}`. Bad answer lines are
//!   reported against the answers file.
//! - human pairwise verdicts (LLMBar's MT-Bench set: `{"pair_index",
//!   "question_id", "turn", "input", "output_1", "output_2", "label"}`): one
//!   pairwise task per pair, A = `output_1`, B = `output_2`, id
//!   `mtb-human-{pair_index}`, meta `mt_bench_human` = `{"pair_index",
//!   "question_id", "turn", "label": 1|2, "category"}`. See [`human_label`].

use super::jsonl::{
    for_each_object, non_empty, non_empty_answer, opt_int, opt_str, read_jsonl_at, req_array,
    req_int, req_str, type_name,
};
use super::Side;
use super::{LineError, Loaded, Result, Task, TaskError};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Meta key of (question, model) tasks.
pub const META: &str = "mt_bench";
/// Meta key of human pairwise tasks.
pub const META_HUMAN: &str = "mt_bench_human";

/// Read either MT-Bench input, told apart by the first record's keys.
pub fn read(path: &Path) -> Result<Loaded> {
    let first = super::detect::first_object(path)?.unwrap_or_default();
    let has = |k: &str| first.contains_key(k);
    if has("output_1") || has("output_2") {
        read_jsonl_at(path, |obj, line| parse_pair(obj, line).map(|t| vec![t]))
    } else if has("choices") && has("model_id") {
        Err(TaskError::Unrecognized {
            path: path.to_path_buf(),
            message: "this is an MT-Bench answers file; pass the questions file \
                      (questions.jsonl) next to it, which joins these answers"
                .into(),
        })
    } else {
        read_joined(path)
    }
}

// ---- questions + model answers ----

struct Question {
    line: usize,
    id: i64,
    category: Option<String>,
    turn1: String,
    reference: Option<String>,
}

struct Answer {
    question_id: i64,
    model_id: String,
    answer_id: Option<String>,
    text: String,
}

fn read_joined(path: &Path) -> Result<Loaded> {
    let (questions, mut skipped, bad_ids) = read_questions(path)?;
    let known: HashSet<i64> = questions.iter().map(|q| q.id).collect();
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut answers = Vec::new();
    for file in answer_files(path, dir)? {
        skipped.extend(read_answers(&file, &known, &bad_ids, &mut answers)?);
    }
    let references = match reference_file(dir) {
        Some(file) => {
            let (refs, errors) = read_references(&file)?;
            skipped.extend(errors);
            refs
        }
        None => HashMap::new(),
    };
    let mut loaded = join(&questions, answers, &references);
    loaded.skipped = skipped;
    Ok(loaded)
}

/// Questions in file order; bad lines; ids of questions whose line was bad
/// (their answers are dropped quietly: the question's error says it all).
fn read_questions(path: &Path) -> Result<(Vec<Question>, Vec<LineError>, HashSet<i64>)> {
    let mut questions = Vec::new();
    let mut bad_ids = HashSet::new();
    let mut first_line: HashMap<i64, usize> = HashMap::new();
    let skipped = for_each_object(path, |obj, line| {
        let q = parse_question(&obj, line).inspect_err(|_| {
            if let Ok(id) = req_int(&obj, "question_id") {
                bad_ids.insert(id);
            }
        })?;
        if let Some(first) = first_line.insert(q.id, line) {
            first_line.insert(q.id, first);
            return Err(format!(
                "duplicate question_id {} (first seen on line {first})",
                q.id
            ));
        }
        questions.push(q);
        Ok(())
    })?;
    Ok((questions, skipped, bad_ids))
}

fn parse_question(obj: &Map<String, Value>, line: usize) -> std::result::Result<Question, String> {
    let id = req_int(obj, "question_id")?;
    let turns = req_array(obj, "turns")?;
    let turn1 = first_string("turns", turns)?;
    let reference = match obj.get("reference") {
        None | Some(Value::Null) => None,
        Some(Value::Array(r)) => Some(first_string("reference", r)?),
        Some(other) => {
            return Err(format!(
                "field \"reference\" must be an array, found {}",
                type_name(other)
            ))
        }
    };
    Ok(Question {
        line,
        id,
        category: opt_str(obj, "category")?,
        turn1: non_empty("turns[0]", turn1)?,
        reference,
    })
}

/// The first element of a list of strings.
fn first_string(key: &str, list: &[Value]) -> std::result::Result<String, String> {
    match list.first() {
        None => Err(format!("field \"{key}\" is an empty list")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "field \"{key}[0]\" must be a string, found {}",
            type_name(other)
        )),
    }
}

/// `model_answers.jsonl`, else FastChat's `model_answer/*.jsonl` (sorted).
fn answer_files(questions: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join("model_answers.jsonl");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("model_answer"))
        .map(|rd| {
            rd.filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        return Err(TaskError::Unrecognized {
            path: questions.to_path_buf(),
            message: format!(
                "MT-Bench questions need model answers next to them, but neither {} nor {} exists",
                dir.join("model_answers.jsonl").display(),
                dir.join("model_answer/*.jsonl").display()
            ),
        });
    }
    Ok(files)
}

fn reference_file(dir: &Path) -> Option<PathBuf> {
    [
        dir.join("reference_answers_gpt4.jsonl"),
        dir.join("reference_answer").join("gpt-4.jsonl"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn read_answers(
    file: &Path,
    known: &HashSet<i64>,
    bad_ids: &HashSet<i64>,
    out: &mut Vec<Answer>,
) -> Result<Vec<LineError>> {
    let mut seen: HashMap<(i64, String), usize> = HashMap::new();
    for_each_object(file, |obj, line| {
        let a = parse_answer(&obj)?;
        if bad_ids.contains(&a.question_id) {
            return Ok(());
        }
        if !known.contains(&a.question_id) {
            return Err(format!(
                "question_id {} is not in the questions file",
                a.question_id
            ));
        }
        let key = (a.question_id, a.model_id.clone());
        if let Some(first) = seen.get(&key) {
            return Err(format!(
                "duplicate answer of model {:?} to question {} (first seen on line {first})",
                a.model_id, a.question_id
            ));
        }
        seen.insert(key, line);
        out.push(a);
        Ok(())
    })
}

/// FastChat answer record: the first choice's first turn.
fn parse_answer(obj: &Map<String, Value>) -> std::result::Result<Answer, String> {
    let question_id = req_int(obj, "question_id")?;
    let model_id = non_empty("model_id", req_str(obj, "model_id")?)?;
    let text = first_turn(obj)?;
    Ok(Answer {
        question_id,
        model_id,
        answer_id: opt_str(obj, "answer_id")?,
        text: non_empty_answer("choices[0].turns[0]", text)?,
    })
}

fn first_turn(obj: &Map<String, Value>) -> std::result::Result<String, String> {
    let choices = req_array(obj, "choices")?;
    let Some(Value::Object(choice)) = choices.first() else {
        return Err("field \"choices\" must hold at least one object".into());
    };
    let turns = req_array(choice, "turns").map_err(|e| super::jsonl::within("choices[0]", e))?;
    first_string("choices[0].turns", turns)
}

/// GPT-4 reference answers by question id (turn 1).
fn read_references(file: &Path) -> Result<(HashMap<i64, String>, Vec<LineError>)> {
    let mut refs = HashMap::new();
    let errors = for_each_object(file, |obj, _| {
        let a = parse_answer(&obj)?;
        refs.insert(a.question_id, a.text);
        Ok(())
    })?;
    Ok((refs, errors))
}

/// One task per (question, model), questions in file order, models sorted.
fn join(questions: &[Question], answers: Vec<Answer>, refs: &HashMap<i64, String>) -> Loaded {
    let mut by_question: HashMap<i64, BTreeMap<String, Answer>> = HashMap::new();
    for a in answers {
        by_question
            .entry(a.question_id)
            .or_default()
            .insert(a.model_id.clone(), a);
    }
    let mut loaded = Loaded::default();
    for q in questions {
        let Some(models) = by_question.remove(&q.id) else {
            continue;
        };
        let reference = refs.get(&q.id).cloned().or_else(|| q.reference.clone());
        for (model, a) in models {
            loaded
                .tasks
                .push(question_task(q, &model, a, reference.clone()));
            loaded.lines.push(q.line);
        }
    }
    loaded
}

fn question_task(q: &Question, model: &str, a: Answer, reference: Option<String>) -> Task {
    let mut m = json!({"question_id": q.id, "model_id": model, "turn": 1});
    if let Some(c) = &q.category {
        m["category"] = c.clone().into();
    }
    if let Some(id) = a.answer_id {
        m["answer_id"] = id.into();
    }
    let mut meta = Map::new();
    meta.insert(META.into(), m);
    Task {
        id: format!("mtb-{}-{model}", q.id),
        prompt: q.turn1.clone(),
        answer: a.text,
        answer_b: None,
        reference,
        steps: None,
        meta,
    }
}

// ---- human pairwise verdicts ----

/// One LLMBar/MT-Bench human pair; `line` is its 1-based line in the file.
pub fn parse_pair(obj: &Map<String, Value>, line: usize) -> std::result::Result<Task, String> {
    let pair_index = opt_int(obj, "pair_index")?.unwrap_or(line as i64 - 1);
    let prompt = non_empty("input", req_str(obj, "input")?)?;
    let a = non_empty_answer("output_1", req_str(obj, "output_1")?)?;
    let b = non_empty_answer("output_2", req_str(obj, "output_2")?)?;
    let label = req_int(obj, "label")?;
    if label != 1 && label != 2 {
        return Err(format!("field \"label\" must be 1 or 2, found {label}"));
    }
    let mut m = json!({
        "pair_index": pair_index,
        "question_id": opt_int(obj, "question_id")?,
        "turn": opt_int(obj, "turn")?.unwrap_or(1),
        "label": label,
        "category": opt_str(obj, "category")?,
    });
    for key in ["output_1_model_guess", "output_2_model_guess"] {
        if let Some(guess) = opt_str(obj, key)? {
            m[key] = guess.into();
        }
    }
    let mut meta = Map::new();
    meta.insert(META_HUMAN.into(), m);
    Ok(Task {
        id: format!("mtb-human-{pair_index}"),
        prompt,
        answer: a,
        answer_b: Some(b),
        reference: None,
        steps: None,
        meta,
    })
}

fn field<'a>(task: &'a Task, meta: &str, key: &str) -> Option<&'a Value> {
    task.meta.get(meta)?.get(key)
}

/// The human experts' majority verdict on a pair: A (`output_1`, label 1)
/// or B (`output_2`, label 2). `None` for tasks not from that file.
pub fn human_label(task: &Task) -> Option<Side> {
    match field(task, META_HUMAN, "label")?.as_i64()? {
        1 => Some(Side::A),
        2 => Some(Side::B),
        _ => None,
    }
}

/// The MT-Bench question id of either kind of task.
pub fn question_id(task: &Task) -> Option<i64> {
    field(task, META, "question_id")
        .or_else(|| field(task, META_HUMAN, "question_id"))?
        .as_i64()
}

/// The model that wrote the answer of a (question, model) task.
pub fn model_id(task: &Task) -> Option<&str> {
    field(task, META, "model_id")?.as_str()
}

/// The question's category (`writing`, `math`, ...), for either kind.
pub fn category(task: &Task) -> Option<&str> {
    field(task, META, "category")
        .or_else(|| field(task, META_HUMAN, "category"))?
        .as_str()
}
