//! Shared helpers for the review UI tests: tasks, a simulated driver that
//! turns effects into log events without IO, and key constructors.
#![allow(dead_code)]

use crit::assist::scripted::{default_output, provenance};
use crit::assist::{self, Assistance};
use crit::session::event::{Body, Event, SourceFormat, SCHEMA_VERSION};
use crit::session::{Replay, Timestamp};
use crit::task::Task;
use crit::tui::{update, App, Effect, Msg, Options};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub fn task(id: &str, prompt: &str, answer: &str) -> Task {
    serde_json::from_value(serde_json::json!({"id": id, "prompt": prompt, "answer": answer}))
        .unwrap()
}

pub fn tasks() -> Vec<Task> {
    let mut t1 = task(
        "t1",
        "What is 12 * 13? Show your work.",
        "12 * 13 = 12 * 10 + 12 * 3. That is 120 + 36. So the answer is 156.",
    );
    t1.reference = Some("156".into());
    let t2 = task(
        "t2",
        "Name the capital of Australia.",
        "The capital of Australia is Sydney. It is the largest city.\nCanberra is only a small town.",
    );
    let mut t3 = task(
        "t3",
        "Which reply is more helpful for resetting a password?",
        "You can reset it in the settings menu.",
    );
    t3.answer_b = Some("Go to Settings, then Security, then Reset password.".into());
    vec![t1, t2, t3]
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Keys for typing `s` into a text field.
pub fn typed(s: &str) -> Vec<Msg> {
    s.chars().map(key).collect()
}

/// A driver without IO: appends become events with sequence numbers,
/// submits are answered at once by the default script (unless `hold`).
pub struct Sim {
    pub app: App,
    pub log: Vec<Event>,
    pub effects: Vec<Effect>,
    pub now: u64,
    pub hold: bool,
    pub held: Vec<(u64, usize, assist::Kind, u32)>,
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        Sim::with_tasks(opts, tasks())
    }

    pub fn with_tasks(opts: Options, tasks: Vec<Task>) -> Sim {
        let created = Event {
            v: SCHEMA_VERSION,
            seq: 1,
            ts: Timestamp::now(),
            body: Body::SessionCreated {
                crit_version: "test".into(),
                source_path: "tasks.jsonl".into(),
                source_format: SourceFormat::Native,
                tasks_sha256: "0".repeat(64),
                task_count: tasks.len(),
            },
        };
        let mut app = App::new(opts, Replay::new(tasks, vec![created.clone()]));
        app.size = ratatui::layout::Rect::new(0, 0, 120, 40);
        Sim {
            app,
            log: vec![created],
            effects: Vec::new(),
            now: 0,
            hold: false,
            held: Vec::new(),
        }
    }

    /// Send one message; returns the effects it produced (after feedback).
    pub fn send(&mut self, msg: Msg) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut queue = vec![msg];
        while !queue.is_empty() {
            let m = queue.remove(0);
            for fx in update(&mut self.app, m, self.now) {
                out.push(fx.clone());
                match fx {
                    Effect::Append { body, .. } => {
                        let ev = Event {
                            v: SCHEMA_VERSION,
                            seq: self.log.len() as u64 + 1,
                            ts: Timestamp::now(),
                            body,
                        };
                        self.log.push(ev.clone());
                        queue.push(Msg::Appended(ev));
                    }
                    Effect::Submit {
                        id,
                        task,
                        kind,
                        seed,
                    } => {
                        if self.hold {
                            self.held.push((id, task, kind, seed));
                        } else {
                            queue.extend(self.answer(id, task, kind, seed));
                        }
                    }
                    _ => {}
                }
            }
        }
        self.effects.extend(out.clone());
        out
    }

    pub fn send_all(&mut self, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
        msgs.into_iter().flat_map(|m| self.send(m)).collect()
    }

    /// The scripted answer to a request, as messages.
    pub fn answer(&self, id: u64, task: usize, kind: assist::Kind, seed: u32) -> Vec<Msg> {
        let req = update::request(&self.app, id, task, kind, seed);
        let output = default_output(&req.task, kind);
        let raw = serde_json::to_string(&output).unwrap();
        vec![
            Msg::Assist(assist::Event::Started {
                id,
                prompt_tokens: 10,
                truncated: None,
            }),
            Msg::Assist(assist::Event::Token {
                id,
                text: raw.clone(),
            }),
            Msg::Assist(assist::Event::Done {
                id,
                assistance: std::sync::Arc::new(Assistance {
                    output,
                    raw,
                    provenance: provenance(&req, 1),
                    truncated: None,
                }),
            }),
        ]
    }

    /// Release held requests.
    pub fn release(&mut self) {
        let held = std::mem::take(&mut self.held);
        for (id, task, kind, seed) in held {
            for m in self.answer(id, task, kind, seed) {
                self.send(m);
            }
        }
    }

    /// Log bodies of a type, e.g. "label".
    pub fn of_type(&self, t: &str) -> Vec<&Body> {
        self.log
            .iter()
            .map(|e| &e.body)
            .filter(|b| b.type_name() == t)
            .collect()
    }
}

pub fn opts() -> Options {
    Options {
        evaluator: "alice".into(),
        session_name: "demo".into(),
        ..Options::default()
    }
}
