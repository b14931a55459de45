//! [`Recording`]: a session as a sequence of moments. Position `i` is the
//! moment right after event `i` (0-based in the event list); for each one
//! it keeps what the chosen evaluator had on screen and where it sits on
//! the clock. The session's fold is the one [`Replay`], fed event by event,
//! so a log another process is still writing just keeps growing.

use super::screen::Screen;
use super::timeline::{Mark, Timeline};
use super::{ReplayError, Result};
use crate::sanitize::sanitize_line;
use crate::session::event::{Body, Event, ViewAction};
use crate::session::{Replay, Timestamp};

/// A point asked for on the command line: an event or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Seq(u64),
    Time(Timestamp),
}

impl At {
    /// A sequence number (digits) or an RFC 3339 time.
    pub fn parse(s: &str) -> Result<At> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse()
                .map(At::Seq)
                .map_err(|_| ReplayError::BadPoint(sanitize_line(s)));
        }
        Timestamp::parse(s)
            .map(At::Time)
            .map_err(|_| ReplayError::BadPoint(sanitize_line(s)))
    }
}

#[derive(Debug, Clone)]
pub struct Recording {
    /// The session folded over every event so far.
    replay: Replay,
    evaluator: Option<String>,
    /// The evaluator's screen after each event.
    screens: Vec<Screen>,
    timeline: Timeline,
}

impl Recording {
    /// The moments of `replay` as `evaluator` saw them (default: the first
    /// evaluator who opened a task; `None` when nobody did).
    pub fn new(replay: Replay, evaluator: Option<&str>) -> Result<Recording> {
        let evaluator = match evaluator {
            Some(name) => Some(check_evaluator(&replay, name)?),
            None => first_reviewer(&replay),
        };
        let dir = replay.dir().map(|d| d.to_path_buf());
        let (tasks, events) = replay.into_parts();
        let mut empty = Replay::new(tasks, Vec::new());
        if let Some(dir) = dir {
            empty = empty.at(&dir);
        }
        let mut rec = Recording {
            replay: empty,
            timeline: Timeline::new(evaluator.as_deref()),
            evaluator,
            screens: Vec::with_capacity(events.len()),
        };
        for e in events {
            rec.push(e);
        }
        Ok(rec)
    }

    /// One more event (appended to the log after the others).
    pub fn push(&mut self, event: Event) {
        let mut screen = self.screens.last().cloned().unwrap_or_default();
        if let Some(me) = &self.evaluator {
            screen.apply(&event, me, &self.replay);
        }
        self.timeline.push(&event);
        self.screens.push(screen);
        self.replay.push(event);
    }

    /// The whole session folded.
    pub fn replay(&self) -> &Replay {
        &self.replay
    }

    pub fn evaluator(&self) -> Option<&str> {
        self.evaluator.as_deref()
    }

    /// Number of positions (events).
    pub fn len(&self) -> usize {
        self.screens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.screens.is_empty()
    }

    pub fn last(&self) -> usize {
        self.len().saturating_sub(1)
    }

    pub fn event(&self, pos: usize) -> &Event {
        &self.replay.events()[pos]
    }

    pub fn screen(&self, pos: usize) -> &Screen {
        &self.screens[pos]
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The session as it stood at position `pos`.
    pub fn state_at(&self, pos: usize) -> Replay {
        self.replay.until(self.event(pos).seq)
    }

    /// The position of an event, or of the last event at or before a time.
    pub fn position(&self, at: At) -> Result<usize> {
        let events = self.replay.events();
        let (first, last) = match (events.first(), events.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => return Err(ReplayError::Empty),
        };
        match at {
            At::Seq(seq) => {
                events
                    .binary_search_by_key(&seq, |e| e.seq)
                    .map_err(|_| ReplayError::NoSuchEvent {
                        seq,
                        first: first.seq,
                        last: last.seq,
                    })
            }
            At::Time(t) => match events.iter().rposition(|e| e.ts <= t) {
                Some(i) => Ok(i),
                None => Err(ReplayError::BeforeStart {
                    at: t,
                    first: first.ts,
                }),
            },
        }
    }

    /// Where a jump to task `i` lands: the evaluator's first opening of
    /// it, else the first event about it.
    pub fn task_start(&self, i: usize) -> Option<usize> {
        let opened = (0..self.len()).find(|&p| {
            self.timeline.point(p).mark == Some(Mark::Task) && self.screens[p].task == Some(i)
        });
        opened.or_else(|| {
            let id = self.replay.task(i).id.as_str();
            self.replay
                .events()
                .iter()
                .position(|e| e.body.task() == Some(id))
        })
    }
}

/// The first evaluator who opened a task.
fn first_reviewer(replay: &Replay) -> Option<String> {
    replay.events().iter().find_map(|e| match &e.body {
        Body::View {
            evaluator,
            action: ViewAction::TaskOpened { .. },
            ..
        } => Some(evaluator.clone()),
        _ => None,
    })
}

/// Everyone named in the log as having done something.
pub fn evaluators(replay: &Replay) -> Vec<String> {
    let mut names: Vec<String> = replay
        .events()
        .iter()
        .filter_map(|e| match &e.body {
            Body::Opened { evaluator, .. } => evaluator.clone(),
            b => b.evaluator().map(str::to_string),
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn check_evaluator(replay: &Replay, name: &str) -> Result<String> {
    let known = evaluators(replay);
    if known.iter().any(|k| k == name) {
        return Ok(name.to_string());
    }
    let list: Vec<String> = known.iter().map(|k| sanitize_line(k)).collect();
    Err(ReplayError::UnknownEvaluator {
        name: sanitize_line(name),
        known: if list.is_empty() {
            "none (nobody reviewed in this session)".into()
        } else {
            list.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::event::{Protocol, Tab};
    use crate::task::Task;

    fn task(id: &str) -> Task {
        serde_json::from_value(serde_json::json!({"id": id, "prompt": "p", "answer": "a"})).unwrap()
    }

    fn view(seq: u64, who: &str, task: &str, action: ViewAction) -> Event {
        Event {
            v: 2,
            seq,
            ts: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
            body: Body::View {
                task: task.into(),
                evaluator: who.into(),
                action,
            },
        }
    }

    /// Two evaluators on one log: each screen follows only its owner.
    fn shared() -> Replay {
        let open = |arm| ViewAction::TaskOpened { arm: Some(arm) };
        let tab = |tab| ViewAction::TabSwitched { tab };
        let events = vec![
            view(1, "bo", "t2", open(Protocol::Unassisted)),
            view(2, "al", "t1", open(Protocol::Assisted)),
            view(3, "al", "t1", tab(Tab::Steps)),
            view(4, "bo", "t2", tab(Tab::Checks)),
        ];
        Replay::new(vec![task("t1"), task("t2")], events)
    }

    #[test]
    fn each_evaluator_has_their_own_screen_default_the_first_to_open() {
        let bo = Recording::new(shared(), None).unwrap();
        assert_eq!(bo.evaluator(), Some("bo"), "the first to open a task");
        let s = bo.screen(bo.last());
        assert_eq!((s.task, s.tab), (Some(1), Tab::Checks));

        let al = Recording::new(shared(), Some("al")).unwrap();
        let s = al.screen(al.last());
        assert_eq!(
            (s.task, s.tab),
            (Some(0), Tab::Steps),
            "bo's tab is not al's"
        );
        assert_eq!(al.screen(0).task, None, "al had nothing open yet");

        let err = Recording::new(shared(), Some("cy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("evaluators: al, bo"), "{err}");
        assert_eq!(
            At::parse("2026-01-01T00:00:00Z").unwrap(),
            At::Time(Timestamp::parse("2026-01-01T00:00:00Z").unwrap())
        );
        assert_eq!(At::parse(" 7 ").unwrap(), At::Seq(7));
        assert!(At::parse("-3").is_err());
    }
}
