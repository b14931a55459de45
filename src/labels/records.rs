//! One record type per export format, derived `Serialize`/`Deserialize`:
//! the exporters write them, the importers of crit's own formats read them
//! back (so a field's name and type live in one place). Keys are written in
//! the order declared here; `meta` (when inline) comes last.

use crate::assist::Severity;
use crate::session::event::CritiqueLabel;
use crate::task::Span;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Who speaks a chat message.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumIter,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One chat message (`{role, content}`, as TRL and OpenAI take them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A prompt or reply: plain text, or chat messages (`--conversational`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    Messages(Vec<Message>),
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of {\"role\", \"content\"} messages")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::Plain(v.to_string()))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text::Plain(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                let mut out = Vec::new();
                while let Some(m) = seq.next_element::<Message>()? {
                    out.push(m);
                }
                Ok(Text::Messages(out))
            }
        }
        d.deserialize_any(TextVisitor)
    }
}

/// `trl-preference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferenceRecord {
    pub prompt: Text,
    pub chosen: Text,
    pub rejected: Text,
}

/// `trl-kto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KtoRecord {
    pub prompt: Text,
    pub completion: Text,
    pub label: bool,
}

/// A 1-7 score, or 0-1 with `--normalize`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Score {
    Scale(u8),
    Normalized(f64),
}

/// `reward`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardRecord {
    pub prompt: Text,
    pub response: Text,
    pub score: Score,
    pub confidence: Option<u8>,
}

/// `trl-stepwise`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepwiseRecord {
    pub prompt: String,
    pub completions: Vec<String>,
    pub labels: Vec<bool>,
}

/// `prm800k`: PRM800K's own layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prm800kRecord {
    pub labeler: String,
    pub timestamp: Option<String>,
    pub generation: Option<i64>,
    pub is_quality_control_question: bool,
    pub is_initial_screening_question: bool,
    pub question: Prm800kQuestion,
    pub label: Prm800kLabel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prm800kQuestion {
    pub problem: String,
    pub ground_truth_answer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prm800kLabel {
    pub steps: Vec<Prm800kStep>,
    /// Active time in ms.
    pub total_time: u64,
    pub finish_reason: FinishReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prm800kStep {
    pub completions: Vec<Prm800kCompletion>,
    pub human_completion: Option<Prm800kCompletion>,
    pub chosen_completion: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prm800kCompletion {
    pub text: String,
    pub rating: Option<i8>,
    pub flagged: bool,
}

/// How a PRM800K labelling ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FinishReason {
    Solution,
    FoundError,
    GiveUp,
    BadProblem,
}

/// `openai-sft`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftRecord {
    pub messages: Vec<Message>,
}

/// `openai-dpo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpoRecord {
    pub input: DpoInput,
    pub preferred_output: Vec<Message>,
    pub non_preferred_output: Vec<Message>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpoInput {
    pub messages: Vec<Message>,
}

/// Who wrote a critique.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CritiqueSource {
    Assistant,
    Human,
}

/// `critiques`: one record per labelled critique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CritiqueRecord {
    pub prompt: String,
    pub answer: String,
    pub quote: String,
    pub span: Option<Span>,
    pub comment: String,
    pub severity: Severity,
    pub category: String,
    pub source: CritiqueSource,
    /// Human-written critiques are flaws the evaluator found: `valid`.
    pub label: CritiqueLabel,
    /// The evaluator's correction of the severity, if any.
    pub corrected_severity: Option<Severity>,
}

/// `hh-rlhf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HhRecord {
    pub chosen: String,
    pub rejected: String,
}

/// Any export record (serialized as the record itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Record {
    Preference(PreferenceRecord),
    Kto(KtoRecord),
    Reward(RewardRecord),
    Stepwise(StepwiseRecord),
    Prm800k(Box<Prm800kRecord>),
    Sft(SftRecord),
    Dpo(DpoRecord),
    Critique(Box<CritiqueRecord>),
    Hh(HhRecord),
}

/// A record with its `meta` inline (the last key).
#[derive(Serialize)]
pub(crate) struct WithMeta<'a, M: Serialize> {
    #[serde(flatten)]
    pub record: &'a Record,
    pub meta: &'a M,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_reads_a_string_or_messages_and_names_what_is_wrong() {
        let t: Text = serde_json::from_str("\"hi\"").unwrap();
        assert_eq!(t, Text::Plain("hi".into()));
        let t: Text = serde_json::from_str(r#"[{"role":"user","content":"hi"}]"#).unwrap();
        assert_eq!(t, Text::Messages(vec![Message::user("hi")]));
        let v = serde_json::json!({"prompt": 3, "chosen": "a", "rejected": "b"});
        let e = serde_path_to_error::deserialize::<_, PreferenceRecord>(v).unwrap_err();
        assert_eq!(e.path().to_string(), "prompt");
        assert!(e.inner().to_string().contains("a string or a list"), "{e}");
    }

    #[test]
    fn inline_meta_is_the_last_key() {
        let r = Record::Hh(HhRecord {
            chosen: "c".into(),
            rejected: "r".into(),
        });
        let line = serde_json::to_string(&WithMeta {
            record: &r,
            meta: &serde_json::json!({"task": "t"}),
        })
        .unwrap();
        assert_eq!(line, r#"{"chosen":"c","rejected":"r","meta":{"task":"t"}}"#);
    }
}
