//! JSON schemas of the assistance kinds (for grammar-constrained generation)
//! and parsing of the model's raw text into typed `Output`s.
//!
//! The model writes one JSON object per request: `{"critiques": [...]}`,
//! `{"checks": [...]}` or `{"steps": [...]}`. Arrays and strings are bounded
//! so that a small model stops in a bounded number of tokens.

use super::anchor::{self, Choices};
use super::{Check, Critique, Kind, Output, Step, StepKind};
use crate::task::segment::segment_task;
use crate::task::{Side, Task};
use serde::Deserialize;
use serde_json::Value;

/// Upper bound on items per output (keeps generation finite).
pub const MAX_ITEMS: usize = 8;
/// Steps the model annotates at most; later segments are listed as steps
/// without annotation (generation time grows with every item).
pub const MAX_NOTES: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("model output is not valid JSON for {kind}: {source}; raw output: {raw}")]
    Json {
        kind: &'static str,
        source: serde_json::Error,
        raw: String,
    },
}

mod escapes;
pub use escapes::{keep_backslashes, plain_escapes};

pub type Result<T> = std::result::Result<T, ParseError>;

/// The JSON schema of `kind` for no task in particular, as JSON text:
/// quotes are free text and steps carry their own text. Used where no
/// task is at hand; generation uses [`task_schema`].
pub fn schema(kind: Kind) -> String {
    let (key, item, max) = match kind {
        Kind::Critique => ("critiques", critique_item(None, None), MAX_ITEMS),
        // Tool checks are computed, never generated; same shape as checks.
        Kind::Checks | Kind::ToolChecks => ("checks", check_item(), MAX_ITEMS),
        Kind::Decompose => ("steps", note_item(), MAX_NOTES),
    };
    // "No flaw" is an answer; an empty list of checks or steps is not.
    let min = usize::from(kind != Kind::Critique);
    list(key, &item, min, max)
}

/// The schema the model's output must follow for `kind` on `task`.
/// Property order matters (the grammar follows it: a critique's quote comes
/// before its comment), so it is written out rather than built with
/// `json!`, which sorts keys.
///
/// Critiques: `quote` is an `enum` of the answer's segments (see
/// [`anchor::Choices`]), so every generated critique is anchored by
/// construction; on pairwise tasks each item first names its `side` and
/// quotes that answer. An empty list means "no flaw found". Steps: one note
/// per segment of the answer, in order (kind, restatement, how to verify);
/// the step text is the answer's own.
pub fn task_schema(kind: Kind, task: &Task) -> String {
    match kind {
        Kind::Critique => critique_list(task),
        Kind::Checks | Kind::ToolChecks => schema(kind),
        Kind::Decompose => {
            // At least one note (a model may not skip them all), so the
            // budget can still close the list early on long answers.
            let n = segment_task(task).len().min(MAX_NOTES);
            let array = format!(
                r#"{{"type":"array","items":{},"minItems":{},"maxItems":{n}}}"#,
                note_item(),
                n.min(1)
            );
            object(&[("steps", array)], &["steps"])
        }
    }
}

/// The quote choices of each side of `task` (only A for single answers).
pub fn side_choices(task: &Task) -> Vec<(Side, Choices)> {
    let mut out = vec![(Side::A, Choices::new(&task.answer, task.steps.as_deref()))];
    if let Some(b) = &task.answer_b {
        out.push((Side::B, Choices::new(b, None)));
    }
    out
}

fn critique_list(task: &Task) -> String {
    let pairwise = task.is_pairwise();
    let items: Vec<String> = side_choices(task)
        .iter()
        .filter(|(_, c)| !c.is_empty())
        .map(|(side, c)| critique_item(pairwise.then_some(*side), Some(c)))
        .collect();
    match items.len() {
        0 => list("critiques", &critique_item(None, None), 0, 0),
        1 => list("critiques", &items[0], 0, MAX_ITEMS),
        _ => {
            let any = format!(r#"{{"anyOf":[{}]}}"#, items.join(","));
            list("critiques", &any, 0, MAX_ITEMS)
        }
    }
}

/// `{"key": [item, ...]}` with `min` to `max` items.
fn list(key: &str, item: &str, min: usize, max: usize) -> String {
    let array = format!(r#"{{"type":"array","items":{item},"minItems":{min},"maxItems":{max}}}"#);
    object(&[(key, array)], &[key])
}

fn object(props: &[(&str, String)], required: &[&str]) -> String {
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(*k)))
        .collect();
    let required: Vec<String> = required
        .iter()
        .map(|k| Value::from(*k).to_string())
        .collect();
    format!(
        r#"{{"type":"object","properties":{{{}}},"required":[{}],"additionalProperties":false}}"#,
        props.join(","),
        required.join(",")
    )
}

fn text(max: usize) -> String {
    format!(r#"{{"type":"string","minLength":1,"maxLength":{max}}}"#)
}

fn one_of<S: AsRef<str>>(values: &[S]) -> String {
    let values: Vec<String> = values
        .iter()
        .map(|v| Value::from(v.as_ref()).to_string())
        .collect();
    format!(r#"{{"enum":[{}]}}"#, values.join(","))
}

/// One critique; `side` only on pairwise tasks; free-text quote without
/// `choices`.
fn critique_item(side: Option<Side>, choices: Option<&Choices>) -> String {
    let mut props = Vec::new();
    let mut required = Vec::new();
    if let Some(side) = side {
        props.push(("side", one_of(&[side.to_string()])));
        required.push("side");
    }
    let quote = choices.map_or_else(|| text(100), |c| one_of(&c.texts));
    props.extend([
        ("quote", quote),
        ("comment", text(200)),
        ("severity", one_of(&["minor", "major", "critical"])),
        ("category", text(24)),
    ]);
    required.extend(["quote", "comment", "severity", "category"]);
    object(&props, &required)
}

fn check_item() -> String {
    object(
        &[
            ("question", text(120)),
            ("method", text(120)),
            ("assistant_verdict", one_of(&["pass", "fail", "unsure"])),
            ("evidence", text(200)),
        ],
        &["question", "method", "assistant_verdict", "evidence"],
    )
}

/// The model's note on one step of the answer.
fn note_item() -> String {
    object(
        &[
            ("kind", one_of(&["step", "claim", "subquestion"])),
            ("restatement", text(120)),
            ("verify", text(120)),
        ],
        &["kind", "restatement", "verify"],
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CritiquesJson {
    critiques: Vec<Critique>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksJson {
    checks: Vec<Check>,
}

/// Steps as the model writes them now (notes on the answer's segments),
/// or as older prompts asked (each step with its own text).
#[derive(Deserialize)]
#[serde(untagged)]
enum StepsJson {
    Notes { steps: Vec<Note> },
    Written { steps: Vec<Step> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    kind: StepKind,
    restatement: String,
    verify: String,
}

/// Parse the model's raw text for `kind` on `task`. Spans the model may have
/// written are ignored: crit computes them. A critique's span is the
/// segment its quote chose (of answer B when its side is B); steps are the
/// answer's segments with the model's notes.
pub fn parse(kind: Kind, raw: &str, task: &Task) -> Result<Output> {
    let err = |source| ParseError::Json {
        kind: kind.name(),
        source,
        raw: clip(raw, 400),
    };
    let text = keep_backslashes(raw.trim());
    Ok(match kind {
        Kind::Critique => {
            let mut critiques = serde_json::from_str::<CritiquesJson>(&text)
                .map_err(err)?
                .critiques;
            anchor_critiques(&mut critiques, task);
            Output::Critique { critiques }
        }
        Kind::Checks => {
            let mut checks = serde_json::from_str::<ChecksJson>(&text)
                .map_err(err)?
                .checks;
            checks.iter_mut().for_each(|c| c.span = None);
            Output::Checks { checks }
        }
        // Computed by crit, so their spans are crit's own.
        Kind::ToolChecks => Output::ToolChecks {
            checks: serde_json::from_str::<ChecksJson>(&text)
                .map_err(err)?
                .checks,
        },
        Kind::Decompose => {
            let steps = match serde_json::from_str::<StepsJson>(&text).map_err(err)? {
                StepsJson::Notes { steps } => annotated_steps(steps, task),
                StepsJson::Written { mut steps } => {
                    for s in &mut steps {
                        s.span = anchor::find(&task.answer, &s.text);
                    }
                    steps
                }
            };
            Output::Decompose { steps }
        }
    })
}

/// Give each critique the span of the segment it quotes (the whole
/// segment, whose text becomes the quote); a quote that is no choice (a
/// server that ignored the schema, grammar off) is searched for, and
/// stays unanchored when absent.
fn anchor_critiques(critiques: &mut [Critique], task: &Task) {
    let sides = side_choices(task);
    for c in critiques {
        c.span = None;
        c.agreement = None;
        if !task.is_pairwise() {
            c.side = None;
        }
        let side = c.side.unwrap_or(Side::A);
        let answer = match side {
            Side::A => task.answer.as_str(),
            Side::B => task.answer_b.as_deref().unwrap_or(""),
        };
        let choices = sides.iter().find(|(s, _)| *s == side).map(|(_, c)| c);
        if let Some(span) = choices.and_then(|ch| ch.resolve(&c.quote)) {
            c.quote = answer[span.start..span.end].to_string();
            c.span = Some(span);
        } else {
            c.span = anchor::find(answer, &c.quote);
        }
    }
}

/// The answer's segments as steps, with the model's notes in order.
fn annotated_steps(notes: Vec<Note>, task: &Task) -> Vec<Step> {
    let mut notes = notes.into_iter();
    segment_task(task)
        .spans()
        .enumerate()
        .map(|(i, span)| {
            let note = notes.next();
            Step {
                id: (i + 1).to_string(),
                text: task.answer[span.start..span.end].to_string(),
                parent: None,
                kind: note.as_ref().map_or(StepKind::Step, |n| n.kind),
                span: Some(span),
                restatement: note.as_ref().map(|n| n.restatement.clone()),
                verify: note.map(|n| n.verify),
            }
        })
        .collect()
}

/// At most `max` bytes of `s` (on a char boundary), marked when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes]", &s[..end], s.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assist::{CheckVerdict, Severity, StepKind};
    use crate::task::Span;

    fn task(answer: &str) -> Task {
        Task {
            id: "t".into(),
            prompt: "p".into(),
            answer: answer.into(),
            answer_b: None,
            reference: None,
            steps: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn critique_quotes_are_anchored_or_marked_unanchored() {
        let t = task("Janet has 16 eggs. She eats 3, so 16 - 3 = 12 remain.");
        let raw = r#"{"critiques":[
            {"quote":"16 - 3 = 12","comment":"should be 13","severity":"critical","category":"arithmetic"},
            {"quote":"she bakes muffins","comment":"not in the answer","severity":"minor","category":"omission"}]}"#;
        let Output::Critique { critiques } = parse(Kind::Critique, raw, &t).unwrap() else {
            panic!("wrong kind");
        };
        assert_eq!(critiques.len(), 2);
        let span = critiques[0].span.unwrap();
        assert_eq!(&t.answer[span.start..span.end], "16 - 3 = 12");
        assert_eq!(critiques[0].severity, Severity::Critical);
        assert_eq!(
            critiques[1].span, None,
            "unanchored quote is kept with no span"
        );
    }

    #[test]
    fn checks_and_steps_parse() {
        let raw = r#" {"checks":[{"question":"Is 16-3 right?","method":"recompute","assistant_verdict":"fail","evidence":"16-3=13"}]} "#;
        let Output::Checks { checks } = parse(Kind::Checks, raw, &task("x")).unwrap() else {
            panic!("wrong kind");
        };
        assert_eq!(checks[0].assistant_verdict, CheckVerdict::Fail);

        let t = task("First add. Then multiply.");
        let raw = r#"{"steps":[{"id":"1","text":"First add.","kind":"step"},
            {"id":"2","text":"then multiply","kind":"claim","parent":"1"}]}"#;
        let Output::Decompose { steps } = parse(Kind::Decompose, raw, &t).unwrap() else {
            panic!("wrong kind");
        };
        assert_eq!(steps[0].span, Some(Span { start: 0, end: 10 }));
        assert_eq!(steps[1].parent.as_deref(), Some("1"));
        assert_eq!(steps[1].kind, StepKind::Claim);
        assert_eq!(
            &t.answer[steps[1].span.unwrap().start..steps[1].span.unwrap().end],
            "Then multiply"
        );
    }

    #[test]
    fn invalid_json_is_an_error_with_the_raw_text() {
        let t = task("x");
        for raw in [
            r#"{"critiques":[{"quote":"a","comment":"b","severity":"mino"#,
            r#"{"critiques":[{"quote":"a","comment":"b","severity":"huge","category":"c"}]}"#,
            r#"{"checks":[]}"#,
            "not json",
        ] {
            let err = parse(Kind::Critique, raw, &t).unwrap_err().to_string();
            assert!(err.contains("critique"), "{err}");
        }
        let long = "x".repeat(5000);
        let msg = parse(Kind::Checks, &long, &t).unwrap_err().to_string();
        assert!(msg.len() < 1000 && msg.contains("more bytes"), "{msg}");
    }

    #[test]
    fn model_written_spans_are_ignored() {
        let raw = r#"{"critiques":[{"quote":"zzz","comment":"c","severity":"minor","category":"k","span":{"start":0,"end":1}}]}"#;
        // deny_unknown_fields is on the wrapper only; the item accepts `span`
        // but crit recomputes it.
        let out = parse(Kind::Critique, raw, &task("abc")).unwrap();
        let Output::Critique { critiques } = out else {
            panic!()
        };
        assert_eq!(critiques[0].span, None);
    }

    #[test]
    fn schemas_are_json_in_field_order_and_convert_to_grammars() {
        for kind in Kind::ALL {
            let text = schema(kind);
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["additionalProperties"], false);
            let g = llama_cpp_2::json_schema_to_grammar(&text).unwrap();
            assert!(g.contains("root"), "{g}");
        }
        let c = schema(Kind::Critique);
        assert!(c.find("quote").unwrap() < c.find("comment").unwrap());
        assert!(c.find("comment").unwrap() < c.find("severity").unwrap());
    }

    fn quote_enum(schema: &str, side: Option<&str>) -> Vec<String> {
        let v: Value = serde_json::from_str(schema).unwrap();
        let items = &v["properties"]["critiques"]["items"];
        let item = match side {
            None => items.clone(),
            Some(side) => items["anyOf"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["properties"]["side"]["enum"][0] == side)
                .unwrap()
                .clone(),
        };
        serde_json::from_value(item["properties"]["quote"]["enum"].clone()).unwrap()
    }

    #[test]
    fn task_schema_admits_only_the_answers_own_segments() {
        let t = task("16 - 3 = 12 eggs.\nShe sells them for $2 each.\n\nSo $24.");
        let text = task_schema(Kind::Critique, &t);
        assert_eq!(
            quote_enum(&text, None),
            [
                "16 - 3 = 12 eggs.",
                "She sells them for $2 each.",
                "So $24."
            ]
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["properties"]["critiques"]["minItems"], 0,
            "no flaw is an answer"
        );
        let g = plain_escapes(&llama_cpp_2::json_schema_to_grammar(&text).unwrap());
        for seg in [
            "16 - 3 = 12 eggs.",
            "She sells them for $2 each.",
            "So $24.",
        ] {
            assert!(g.contains(seg), "{g}");
        }
        assert!(!g.contains("4 x $1"), "nothing else can be quoted");
        // Every choice resolves to its segment's exact span.
        let raw = r#"{"critiques":[{"quote":"So $24.","comment":"c","severity":"major","category":"k"}]}"#;
        let Output::Critique { critiques } = parse(Kind::Critique, raw, &t).unwrap() else {
            panic!()
        };
        let span = critiques[0].span.unwrap();
        assert_eq!(&t.answer[span.start..span.end], "So $24.");
        assert_eq!(critiques[0].side, None);
        // An empty answer admits only the empty list.
        let g =
            llama_cpp_2::json_schema_to_grammar(&task_schema(Kind::Critique, &task(" "))).unwrap();
        assert!(g.contains("root"), "{g}");
    }

    #[test]
    fn pairwise_critiques_name_their_side_and_quote_that_answer() {
        let mut t = task("A says 2 + 2 = 5.");
        t.answer_b = Some("B says 2 + 2 = 4.\nDone.".into());
        let text = task_schema(Kind::Critique, &t);
        assert_eq!(quote_enum(&text, Some("a")), ["A says 2 + 2 = 5."]);
        assert_eq!(quote_enum(&text, Some("b")), ["B says 2 + 2 = 4.", "Done."]);
        assert!(llama_cpp_2::json_schema_to_grammar(&text).is_ok());
        let raw = r#"{"critiques":[{"side":"b","quote":"Done.","comment":"c","severity":"minor","category":"k"},
            {"side":"a","quote":"A says 2 + 2 = 5.","comment":"c","severity":"critical","category":"k"}]}"#;
        let Output::Critique { critiques } = parse(Kind::Critique, raw, &t).unwrap() else {
            panic!()
        };
        assert_eq!(critiques[0].side, Some(Side::B));
        assert_eq!(critiques[0].span, Some(Span { start: 18, end: 23 }));
        assert_eq!(critiques[1].side, Some(Side::A));
        assert_eq!(critiques[1].span, Some(Span { start: 0, end: 17 }));
    }

    #[test]
    fn long_segments_are_offered_as_prefixes_and_quote_the_whole_segment() {
        let long = format!("Start {}end.", "word ".repeat(200));
        let t = task(&format!("Short.\n{long}"));
        let choices = quote_enum(&task_schema(Kind::Critique, &t), None);
        assert!(choices[1].len() < 200 && long.starts_with(&choices[1]));
        let raw = serde_json::json!({"critiques":[{"quote":choices[1],"comment":"c","severity":"minor","category":"k"}]});
        let Output::Critique { critiques } = parse(Kind::Critique, &raw.to_string(), &t).unwrap()
        else {
            panic!()
        };
        assert_eq!(critiques[0].quote, long, "the quote is the whole segment");
    }

    #[test]
    fn latex_escapes_survive() {
        // What a model writes for \frac, \times, \binom, \theta, \sqrt.
        let raw = r#"{"critiques":[{"quote":"x","comment":"use \frac{1}{2} \times 3, \binom{4}{2}, \theta, \sqrt{2}, \(x\), \underline","severity":"minor","category":"k"}]}"#;
        let Output::Critique { critiques } = parse(Kind::Critique, raw, &task("x")).unwrap() else {
            panic!()
        };
        assert_eq!(
            critiques[0].comment,
            r"use \frac{1}{2} \times 3, \binom{4}{2}, \theta, \sqrt{2}, \(x\), \underline"
        );
        // Meant escapes keep their meaning.
        let raw = r#"{"critiques":[{"quote":"x","comment":"a\nb \"q\" \\ \u00e9 \t1","severity":"minor","category":"k"}]}"#;
        let Output::Critique { critiques } = parse(Kind::Critique, raw, &task("x")).unwrap() else {
            panic!()
        };
        assert_eq!(critiques[0].comment, "a\nb \"q\" \\ é \t1");
        // The local grammar admits no escape but \\, \", \n and \uXXXX.
        let g = plain_escapes(&llama_cpp_2::json_schema_to_grammar(&schema(Kind::Checks)).unwrap());
        assert!(g.contains(r#"["\\n]"#) && !g.contains("bfnrt"), "{g}");
    }

    #[test]
    fn steps_are_the_answers_segments_with_notes() {
        let t = task("First add 2 and 3.\nThen 5 * 2 = 10.\nSo 10.");
        let v: Value = serde_json::from_str(&task_schema(Kind::Decompose, &t)).unwrap();
        assert_eq!(v["properties"]["steps"]["maxItems"], 3);
        let raw = r#"{"steps":[{"kind":"step","restatement":"Add.","verify":"2+3"},{"kind":"claim","restatement":"Double.","verify":"5*2"}]}"#;
        let Output::Decompose { steps } = parse(Kind::Decompose, raw, &t).unwrap() else {
            panic!()
        };
        assert_eq!(steps.len(), 3, "every segment is a step, noted or not");
        let mut at = 0;
        for s in &steps {
            let span = s.span.unwrap();
            assert!(span.start >= at, "in order");
            assert_eq!(
                t.answer[span.start..span.end],
                s.text,
                "the answer's own text"
            );
            at = span.end;
        }
        assert_eq!(steps[1].kind, StepKind::Claim);
        assert_eq!(steps[1].verify.as_deref(), Some("5*2"));
        assert_eq!(steps[2].restatement, None);
    }
}
