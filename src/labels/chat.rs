//! Conversations, for exporters and importers alike: a task's prompt as
//! chat turns (an HH-RLHF transcript prompt becomes its turns, anything
//! else one user turn), rendered as messages, as a transcript, or as TRL's
//! plain-text pair (prompt ending with the assistant turn marker, reply
//! starting with its separating space), and read back. Transcripts are
//! parsed only by `task::hh_rlhf`.

use super::records::{Message, Role};
use crate::task::hh_rlhf::{self, Speaker, ASSISTANT};

/// The marker a plain prompt ends with; the reply starts with its space.
pub const PLAIN_PROMPT_END: &str = "\n\nAssistant:";

/// A prompt and the replies to it, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialogue {
    pub prompt: Vec<Message>,
    pub replies: Vec<String>,
    /// Two adjacent turns of one role somewhere (joined when merged).
    pub consecutive: bool,
}

/// The prompt's turns.
pub fn prompt_turns(prompt: &str) -> Vec<Message> {
    match hh_rlhf::turns(prompt) {
        Some(turns) => turns.into_iter().map(|(s, t)| message(s, t)).collect(),
        None => vec![Message::user(prompt)],
    }
}

fn message(speaker: Speaker, text: &str) -> Message {
    Message {
        role: match speaker {
            Speaker::Human => Role::User,
            Speaker::Assistant => Role::Assistant,
        },
        content: text.to_string(),
    }
}

fn speaker(role: Role) -> Speaker {
    match role {
        Role::Assistant => Speaker::Assistant,
        Role::User | Role::System => Speaker::Human,
    }
}

/// The prompt and replies of a record; with `merge`, adjacent turns of one
/// role are joined (blank line between), and assistant turns that end the
/// prompt move into every reply, so roles alternate and the prompt ends on
/// a user turn.
pub fn dialogue(prompt: &str, replies: &[&str], merge: bool) -> Dialogue {
    let mut turns = prompt_turns(prompt);
    let reply_turns: Vec<Vec<(Speaker, &str)>> = replies
        .iter()
        .map(|r| hh_rlhf::continuation(Speaker::Assistant, r))
        .collect();
    let ends_on_assistant = turns.last().is_some_and(|m| m.role == Role::Assistant);
    let consecutive = ends_on_assistant
        || turns.windows(2).any(|w| w[0].role == w[1].role)
        || reply_turns
            .iter()
            .any(|t| t.windows(2).any(|w| w[0].0 == w[1].0));
    if !merge || !consecutive {
        return Dialogue {
            prompt: turns,
            replies: replies.iter().map(|r| r.to_string()).collect(),
            consecutive,
        };
    }
    turns = merge_messages(turns);
    let lead = match turns.last() {
        Some(m) if m.role == Role::Assistant => turns.pop().map(|m| m.content),
        _ => None,
    };
    let replies = reply_turns
        .into_iter()
        .map(|t| {
            let mut all: Vec<(Speaker, &str)> = Vec::new();
            if let Some(lead) = &lead {
                all.push((Speaker::Assistant, lead.as_str()));
            }
            all.extend(t);
            merged_reply(&all)
        })
        .collect();
    Dialogue {
        prompt: turns,
        replies,
        consecutive,
    }
}

fn merge_messages(turns: Vec<Message>) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(turns.len());
    for m in turns {
        match out.last_mut() {
            Some(last) if last.role == m.role => {
                last.content.push_str("\n\n");
                last.content.push_str(&m.content);
            }
            _ => out.push(m),
        }
    }
    out
}

/// A reply's turns (the first is the assistant's) back to text, adjacent
/// turns of one speaker joined by a blank line.
fn merged_reply(turns: &[(Speaker, &str)]) -> String {
    let mut out = String::new();
    let mut prev = Speaker::Assistant;
    for (i, (who, text)) in turns.iter().enumerate() {
        if i > 0 {
            if *who == prev {
                out.push_str("\n\n");
            } else {
                out.push_str(marker(*who));
            }
        }
        out.push_str(text);
        prev = *who;
    }
    out
}

fn marker(s: Speaker) -> &'static str {
    match s {
        Speaker::Human => hh_rlhf::HUMAN,
        Speaker::Assistant => ASSISTANT,
    }
}

/// `\n\nHuman: ...\n\nAssistant: reply` (the HH-RLHF layout).
pub fn transcript(prompt: &[Message], reply: &str) -> String {
    let mut out = render(prompt);
    out.push_str(ASSISTANT);
    out.push_str(reply);
    out
}

fn render(turns: &[Message]) -> String {
    hh_rlhf::render(turns.iter().map(|m| (speaker(m.role), m.content.as_str())))
}

/// TRL's plain-text prompt: the transcript up to the assistant's marker.
pub fn plain_prompt(prompt: &[Message]) -> String {
    render(prompt) + PLAIN_PROMPT_END
}

/// TRL's plain-text completion: the separating space, then the reply.
pub fn plain_reply(reply: &str) -> String {
    format!(" {reply}")
}

/// Turns back to a task prompt: one user turn is its text, several a
/// transcript (`Human: ...`), the form the HH-RLHF reader gives.
pub fn prompt_text(turns: &[Message]) -> String {
    match turns {
        [m] if m.role == Role::User => m.content.clone(),
        _ => render(turns).trim_start_matches('\n').to_string(),
    }
}

/// A plain prompt and its replies back to task text: a prompt in TRL's
/// plain layout loses its marker and the replies their separating space;
/// anything else is taken as it is.
pub fn from_plain(prompt: &str, replies: &[&str]) -> (String, Vec<String>) {
    let turns = prompt
        .strip_suffix(PLAIN_PROMPT_END)
        .and_then(hh_rlhf::turns);
    let spaced = replies.iter().all(|r| r.starts_with(' '));
    match turns {
        Some(turns) if spaced => {
            let msgs: Vec<Message> = turns.into_iter().map(|(s, t)| message(s, t)).collect();
            let replies = replies.iter().map(|r| r[1..].to_string()).collect();
            (prompt_text(&msgs), replies)
        }
        _ => (
            prompt.to_string(),
            replies.iter().map(|r| r.to_string()).collect(),
        ),
    }
}

/// Prompt messages back to task text; the first must be the user's and
/// only user and assistant turns are kept apart in a transcript.
pub fn prompt_from_messages(msgs: &[Message]) -> Result<String, String> {
    check_roles(msgs)?;
    match msgs.first() {
        None => Err("no messages".into()),
        Some(m) if m.role != Role::User => Err(format!(
            "the first message is from the {}, not the user",
            <&str>::from(m.role)
        )),
        Some(_) => Ok(prompt_text(msgs)),
    }
}

/// Reply messages back to one reply: assistant first; several turns keep
/// their markers (the transcript form of a multi-turn reply).
pub fn reply_from_messages(msgs: &[Message]) -> Result<String, String> {
    check_roles(msgs)?;
    match msgs.first() {
        None => Err("no messages".into()),
        Some(m) if m.role != Role::Assistant => Err(format!(
            "the reply starts with a message from the {}, not the assistant",
            <&str>::from(m.role)
        )),
        Some(_) => Ok(render(msgs)[ASSISTANT.len()..].to_string()),
    }
}

fn check_roles(msgs: &[Message]) -> Result<(), String> {
    match msgs.iter().find(|m| m.role == Role::System) {
        Some(_) => Err(
            "system messages have no place in a crit task (user and assistant turns only)".into(),
        ),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HH: &str = "Human: a\n\nAssistant: b\n\nHuman: c";

    #[test]
    fn transcript_prompts_become_turns_and_come_back() {
        let turns = prompt_turns(HH);
        assert_eq!(turns.len(), 3);
        assert_eq!(prompt_text(&turns), HH);
        assert_eq!(transcript(&turns, "d"), format!("\n\n{HH}\n\nAssistant: d"));
        assert_eq!(
            prompt_turns("What is 2+2?"),
            vec![Message::user("What is 2+2?")]
        );
        assert_eq!(prompt_text(&prompt_turns("What is 2+2?")), "What is 2+2?");
    }

    #[test]
    fn plain_pairs_end_on_the_marker_and_read_back() {
        let p = plain_prompt(&prompt_turns("2+2?"));
        assert_eq!(p, "\n\nHuman: 2+2?\n\nAssistant:");
        let r = plain_reply("4");
        assert_eq!(format!("{p}{r}"), "\n\nHuman: 2+2?\n\nAssistant: 4");
        assert_eq!(
            from_plain(&p, &[&r]),
            ("2+2?".to_string(), vec!["4".to_string()])
        );
        let p = plain_prompt(&prompt_turns(HH));
        assert_eq!(from_plain(&p, &[" x"]).0, HH);
        // Someone else's plain file is taken as it is.
        assert_eq!(from_plain("The sky is", &[" blue"]).0, "The sky is");
    }

    #[test]
    fn consecutive_turns_are_counted_and_merged_on_request() {
        let prompt = "Human: joke?\n\nAssistant: here:\n\nAssistant:  Q?\n\nHuman: more";
        let d = dialogue(prompt, &["ok", "no"], false);
        assert!(d.consecutive);
        assert_eq!(d.prompt.len(), 4);
        let d = dialogue(prompt, &["ok", "no"], true);
        assert_eq!(d.prompt.len(), 3);
        assert_eq!(d.prompt[1].content, "here:\n\n Q?");
        // A reply spanning two assistant turns, and a prompt ending on one.
        let d = dialogue("Human: key?", &["here:\n\nAssistant:  ok"], true);
        assert!(d.consecutive);
        assert_eq!(d.replies, vec!["here:\n\n ok"]);
        let d = dialogue("Human: q\n\nAssistant: hm", &["a", "b"], true);
        assert_eq!(d.prompt, vec![Message::user("q")]);
        assert_eq!(d.replies, vec!["hm\n\na", "hm\n\nb"]);
        assert!(!dialogue(HH, &["x"], true).consecutive);
    }

    #[test]
    fn messages_read_back_with_clear_errors() {
        let turns = prompt_turns(HH);
        assert_eq!(prompt_from_messages(&turns).unwrap(), HH);
        let two = [Message::assistant("a"), Message::assistant(" b")];
        assert_eq!(reply_from_messages(&two).unwrap(), "a\n\nAssistant:  b");
        assert!(reply_from_messages(&[Message::user("x")]).is_err());
        assert!(prompt_from_messages(&[]).is_err());
        let sys = Message {
            role: Role::System,
            content: "s".into(),
        };
        assert!(prompt_from_messages(&[sys]).unwrap_err().contains("system"));
    }
}
