//! JSON schemas of the assistance kinds (for grammar-constrained generation)
//! and parsing of the model's raw text into typed `Output`s.
//!
//! The model writes one JSON object per request: `{"critiques": [...]}`,
//! `{"checks": [...]}` or `{"steps": [...]}`. Arrays and strings are bounded
//! so that a small model stops in a bounded number of tokens.

use super::{anchor, Check, Critique, Kind, Output, Step};
use crate::task::Task;
use serde::Deserialize;
use serde_json::Value;

/// Upper bound on items per output (keeps generation finite).
pub const MAX_ITEMS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("model output is not valid JSON for {kind}: {source}; raw output: {raw}")]
    Json {
        kind: &'static str,
        source: serde_json::Error,
        raw: String,
    },
}

pub type Result<T> = std::result::Result<T, ParseError>;

/// The JSON schema the model's output must follow for `kind`, as JSON
/// text. Property order matters (the grammar follows it: a critique's quote
/// comes before its comment), so it is written out rather than built with
/// `json!`, which sorts keys.
pub fn schema(kind: Kind) -> String {
    let (key, item) = match kind {
        Kind::Critique => ("critiques", critique_item()),
        // Tool checks are computed, never generated; same shape as checks.
        Kind::Checks | Kind::ToolChecks => ("checks", check_item()),
        Kind::Decompose => ("steps", step_item()),
    };
    let array = format!(r#"{{"type":"array","items":{item},"minItems":1,"maxItems":{MAX_ITEMS}}}"#);
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

fn one_of(values: &[&str]) -> String {
    let values: Vec<String> = values.iter().map(|v| Value::from(*v).to_string()).collect();
    format!(r#"{{"enum":[{}]}}"#, values.join(","))
}

fn critique_item() -> String {
    object(
        &[
            ("quote", text(100)),
            ("comment", text(200)),
            ("severity", one_of(&["minor", "major", "critical"])),
            ("category", text(24)),
        ],
        &["quote", "comment", "severity", "category"],
    )
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

fn step_item() -> String {
    object(
        &[
            ("id", text(8)),
            ("text", text(200)),
            ("kind", one_of(&["step", "claim", "subquestion"])),
            ("parent", text(8)),
        ],
        &["id", "text", "kind"],
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepsJson {
    steps: Vec<Step>,
}

/// Parse the model's raw text for `kind`, then anchor quotes and steps in
/// the task's answer (answer A for pairwise tasks).
pub fn parse(kind: Kind, raw: &str, task: &Task) -> Result<Output> {
    let mut output = parse_raw(kind, raw)?;
    anchor_output(&mut output, &task.answer);
    Ok(output)
}

/// Parse without anchoring. Spans the model may have written are ignored:
/// spans are always computed by crit.
pub fn parse_raw(kind: Kind, raw: &str) -> Result<Output> {
    let err = |source| ParseError::Json {
        kind: kind.name(),
        source,
        raw: clip(raw, 400),
    };
    let text = raw.trim();
    let mut output = match kind {
        Kind::Critique => Output::Critique {
            critiques: serde_json::from_str::<CritiquesJson>(text)
                .map_err(err)?
                .critiques,
        },
        Kind::Checks => Output::Checks {
            checks: serde_json::from_str::<ChecksJson>(text)
                .map_err(err)?
                .checks,
        },
        Kind::Decompose => Output::Decompose {
            steps: serde_json::from_str::<StepsJson>(text).map_err(err)?.steps,
        },
        Kind::ToolChecks => Output::ToolChecks {
            checks: serde_json::from_str::<ChecksJson>(text)
                .map_err(err)?
                .checks,
        },
    };
    clear_spans(&mut output);
    Ok(output)
}

fn clear_spans(output: &mut Output) {
    match output {
        Output::Critique { critiques } => critiques.iter_mut().for_each(|c| c.span = None),
        Output::Decompose { steps } => steps.iter_mut().for_each(|s| s.span = None),
        Output::Checks { checks } => checks.iter_mut().for_each(|c| c.span = None),
        // Computed by crit, so their spans are crit's own.
        Output::ToolChecks { .. } => {}
    }
}

/// Resolve critique quotes to byte spans (unanchored = `None`, kept) and
/// steps to the answer text they restate, where it can be found.
pub fn anchor_output(output: &mut Output, answer: &str) {
    match output {
        Output::Critique { critiques } => {
            for c in critiques {
                c.span = anchor::find(answer, &c.quote);
            }
        }
        Output::Decompose { steps } => {
            for s in steps {
                s.span = anchor::find(answer, &s.text);
            }
        }
        Output::Checks { .. } | Output::ToolChecks { .. } => {}
    }
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
}
