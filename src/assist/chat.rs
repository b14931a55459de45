//! Messages wrapped in the model's chat template, kept in pieces: the text
//! the template writes around the messages (where its special tokens live)
//! and the messages themselves (prompt-file and task text). The tokenizer
//! parses special tokens in the first kind only, so an answer that contains
//! `<|im_end|><|im_start|>system` stays text inside its message.
//!
//! The pieces come from rendering the template once with a placeholder per
//! message and splitting at the placeholders; the split is used only when
//! the pieces join to exactly what the template renders for the real
//! messages (a template that rewrites message text falls back to the plain
//! layout, which has no special tokens at all).

use super::prompt::{Messages, PromptError, Result};
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};

/// Placeholder delimiter: a noncharacter no chat template writes.
const MARK: char = '\u{FFFF}';

/// A rendered chat prompt in pieces, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatPrompt {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Written by the chat template: may hold special tokens.
    Template(String),
    /// A message's text: always plain text to the tokenizer.
    Message(String),
}

impl Part {
    pub fn text(&self) -> &str {
        match self {
            Part::Template(t) | Part::Message(t) => t,
        }
    }
}

impl ChatPrompt {
    /// The whole prompt as one string (what the chat template renders).
    pub fn text(&self) -> String {
        self.parts.iter().map(Part::text).collect()
    }
}

/// Wrap messages in the model's chat template (its GGUF metadata); models
/// without one get a plain `System:/User:/Assistant:` layout.
pub fn chat_prompt(model: &LlamaModel, msgs: &Messages) -> Result<String> {
    Ok(chat_parts(model, msgs)?.text())
}

/// `chat_prompt`, in template and message pieces.
pub fn chat_parts(model: &LlamaModel, msgs: &Messages) -> Result<ChatPrompt> {
    let turns = turns(msgs);
    if turns.iter().any(|(_, text)| text.contains('\0')) {
        return Err(PromptError::Nul);
    }
    if let Ok(template) = model.chat_template(None) {
        match templated(model, &template, &turns) {
            Ok(Some(prompt)) => return Ok(prompt),
            Ok(None) => tracing::warn!(
                "the chat template rewrites message text, so template and message text cannot be told apart; using a plain layout"
            ),
            Err(e) => {
                tracing::warn!("chat template could not be applied ({e}); using a plain layout")
            }
        }
    }
    Ok(plain_parts(msgs))
}

/// The layout used when the model has no (usable) chat template.
pub fn plain_prompt(msgs: &Messages) -> String {
    plain_parts(msgs).text()
}

/// (role, text) of every message, in chat order.
fn turns(msgs: &Messages) -> Vec<(&'static str, &str)> {
    let mut turns = Vec::with_capacity(2 + 2 * msgs.examples.len());
    if let Some(system) = &msgs.system {
        turns.push(("system", system.as_str()));
    }
    for (user, assistant) in &msgs.examples {
        turns.push(("user", user.as_str()));
        turns.push(("assistant", assistant.as_str()));
    }
    turns.push(("user", msgs.user.as_str()));
    turns
}

fn apply(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    turns: &[(&str, String)],
) -> std::result::Result<String, String> {
    let chat = turns
        .iter()
        .map(|(role, text)| LlamaChatMessage::new(role.to_string(), text.clone()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    model
        .apply_chat_template(template, &chat, true)
        .map_err(|e| e.to_string())
}

/// Render with placeholders, split, and check the split against the real
/// rendering. `Ok(None)`: the template changes message text.
fn templated(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    turns: &[(&'static str, &str)],
) -> std::result::Result<Option<ChatPrompt>, String> {
    let placeholders: Vec<(&str, String)> = turns
        .iter()
        .enumerate()
        .map(|(i, (role, _))| (*role, format!("{MARK}{i}{MARK}")))
        .collect();
    let skeleton = apply(model, template, &placeholders)?;
    let Some(prompt) = split(&skeleton, turns) else {
        return Ok(None);
    };
    let real: Vec<(&str, String)> = turns.iter().map(|(r, t)| (*r, t.to_string())).collect();
    Ok((prompt.text() == apply(model, template, &real)?).then_some(prompt))
}

/// Cut a placeholder rendering into template text and messages. `None`
/// when a placeholder is malformed or used twice.
fn split(skeleton: &str, turns: &[(&str, &str)]) -> Option<ChatPrompt> {
    let mut parts = Vec::new();
    let mut used = vec![false; turns.len()];
    let mut rest = skeleton;
    while let Some(open) = rest.find(MARK) {
        push_template(&mut parts, &rest[..open]);
        let after = &rest[open + MARK.len_utf8()..];
        let close = after.find(MARK)?;
        let i: usize = after[..close].parse().ok()?;
        if std::mem::replace(used.get_mut(i)?, true) {
            return None;
        }
        parts.push(Part::Message(turns[i].1.to_string()));
        rest = &after[close + MARK.len_utf8()..];
    }
    push_template(&mut parts, rest);
    Some(ChatPrompt { parts })
}

fn push_template(parts: &mut Vec<Part>, text: &str) {
    if !text.is_empty() {
        parts.push(Part::Template(text.to_string()));
    }
}

fn plain_parts(msgs: &Messages) -> ChatPrompt {
    let mut parts = Vec::new();
    let mut label = String::new();
    for (role, text) in turns(msgs) {
        label.push_str(match role {
            "system" => "System: ",
            "assistant" => "Assistant: ",
            _ => "User: ",
        });
        parts.push(Part::Template(std::mem::take(&mut label)));
        parts.push(Part::Message(text.to_string()));
        label.push_str("\n\n");
    }
    label.push_str("Assistant: ");
    parts.push(Part::Template(label));
    ChatPrompt { parts }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs() -> Messages {
        Messages {
            system: Some("S".into()),
            examples: vec![("Q1".into(), "A1".into())],
            user: "Real <|im_end|>".into(),
        }
    }

    #[test]
    fn plain_layout_is_unchanged_and_split_by_role() {
        let m = msgs();
        assert_eq!(
            plain_prompt(&m),
            "System: S\n\nUser: Q1\n\nAssistant: A1\n\nUser: Real <|im_end|>\n\nAssistant: "
        );
        let p = plain_parts(&m);
        assert_eq!(p.parts[1], Part::Message("S".into()));
        assert_eq!(p.parts[2], Part::Template("\n\nUser: ".into()));
    }

    #[test]
    fn placeholders_split_into_template_and_messages() {
        let turns = [("system", "S"), ("user", "U <|im_start|>")];
        let skeleton = format!("<|im_start|>system\n{MARK}0{MARK}<|im_end|>\n<|im_start|>user\n{MARK}1{MARK}<|im_end|>\n<|im_start|>assistant\n");
        let p = split(&skeleton, &turns).unwrap();
        assert_eq!(
            p.parts,
            vec![
                Part::Template("<|im_start|>system\n".into()),
                Part::Message("S".into()),
                Part::Template("<|im_end|>\n<|im_start|>user\n".into()),
                Part::Message("U <|im_start|>".into()),
                Part::Template("<|im_end|>\n<|im_start|>assistant\n".into()),
            ]
        );
        // A placeholder used twice or malformed: no split.
        assert!(split(&format!("{MARK}0{MARK}{MARK}0{MARK}"), &turns).is_none());
        assert!(split(&format!("{MARK}x{MARK}"), &turns).is_none());
        assert!(split(&format!("{MARK}7{MARK}"), &turns).is_none());
    }
}
