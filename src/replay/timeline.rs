//! The replay's clock: for each event its wall time since the session's
//! first event, its time on the playback clock (idle gaps compressed), the
//! evaluator's recorded active time so far, and what to mark on the
//! timeline (labels, verdicts, retractions, task switches).

use crate::session::event::{Body, Event, ViewAction};
use crate::session::Timestamp;

/// A pause between two events longer than this is idle time.
pub const IDLE_GAP_MS: u64 = 5_000;
/// An idle gap plays as this long (at 1×), whatever its length.
pub const IDLE_PLAY_MS: u64 = 1_000;

/// What an event is marked as on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// The evaluator opened a task.
    Task,
    /// A label, an own critique or a correction.
    Label,
    Verdict,
    /// An undo (a retraction).
    Retract,
}

impl Mark {
    /// One-character symbol (timeline and legend).
    pub fn symbol(self) -> char {
        match self {
            Mark::Task => '|',
            Mark::Label => 'l',
            Mark::Verdict => 'V',
            Mark::Retract => 'x',
        }
    }

    /// Which of two marks in one timeline cell to show.
    pub fn priority(self) -> u8 {
        match self {
            Mark::Task => 1,
            Mark::Label => 2,
            Mark::Retract => 3,
            Mark::Verdict => 4,
        }
    }
}

/// One event on the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub seq: u64,
    pub ts: Timestamp,
    /// Milliseconds since the first event.
    pub wall_ms: u64,
    /// Milliseconds on the playback clock at 1×.
    pub play_ms: u64,
    /// The idle gap before this event (compressed in playback), if any.
    pub idle_before_ms: Option<u64>,
    /// The evaluator's active time recorded up to and including this event.
    pub active_ms: u64,
    pub mark: Option<Mark>,
}

/// The clock of a whole log, extended as events arrive.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    points: Vec<Point>,
    evaluator: Option<String>,
}

impl Timeline {
    /// Marks and active time are `evaluator`'s (everyone's when `None`).
    pub fn new(evaluator: Option<&str>) -> Timeline {
        Timeline {
            points: Vec::new(),
            evaluator: evaluator.map(str::to_string),
        }
    }

    pub fn push(&mut self, event: &Event) {
        let (wall_ms, play_ms, active_ms, idle) = match self.points.last() {
            None => (0, 0, 0, None),
            Some(p) => {
                // A clock set back plays as no time, never as negative time.
                let gap = event.ts.ms_since(p.ts).max(0) as u64;
                let idle = (gap > IDLE_GAP_MS).then_some(gap);
                let played = if idle.is_some() { IDLE_PLAY_MS } else { gap };
                (p.wall_ms + gap, p.play_ms + played, p.active_ms, idle)
            }
        };
        let mine = self.is_mine(&event.body);
        let active = match &event.body {
            Body::ActiveTime { ms, .. } if mine => *ms,
            _ => 0,
        };
        self.points.push(Point {
            seq: event.seq,
            ts: event.ts,
            wall_ms,
            play_ms,
            idle_before_ms: idle,
            active_ms: active_ms + active,
            mark: if mine { mark(&event.body) } else { None },
        });
    }

    fn is_mine(&self, body: &Body) -> bool {
        match (&self.evaluator, body.evaluator()) {
            (None, _) => true,
            (Some(me), Some(who)) => me == who,
            (Some(_), None) => false,
        }
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    pub fn point(&self, pos: usize) -> &Point {
        &self.points[pos]
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The last point (the whole session so far).
    pub fn end(&self) -> Option<&Point> {
        self.points.last()
    }

    /// The playback time from `pos` to the next event, at 1×.
    pub fn play_gap(&self, pos: usize) -> Option<u64> {
        let next = self.points.get(pos + 1)?;
        Some(next.play_ms - self.points[pos].play_ms)
    }

    /// The next position after `pos` whose mark `wanted` accepts.
    pub fn next_mark(&self, pos: usize, wanted: impl Fn(Mark) -> bool) -> Option<usize> {
        (pos + 1..self.points.len()).find(|&i| self.points[i].mark.is_some_and(&wanted))
    }

    /// The previous position before `pos` whose mark `wanted` accepts.
    pub fn prev_mark(&self, pos: usize, wanted: impl Fn(Mark) -> bool) -> Option<usize> {
        (0..pos.min(self.points.len()))
            .rev()
            .find(|&i| self.points[i].mark.is_some_and(&wanted))
    }
}

fn mark(body: &Body) -> Option<Mark> {
    match body {
        Body::View {
            action: ViewAction::TaskOpened { .. },
            ..
        } => Some(Mark::Task),
        Body::Label { .. } | Body::UserCritique { .. } | Body::Correction { .. } => {
            Some(Mark::Label)
        }
        Body::Verdict { .. } => Some(Mark::Verdict),
        Body::Retract { .. } => Some(Mark::Retract),
        _ => None,
    }
}

/// `mm:ss`, or `h:mm:ss` from an hour on.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// A gap in words: `12s`, `3m05s`, `1h02m`.
pub fn span(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::event::{Body, Event, Tab, ViewAction};

    fn at(seq: u64, secs: i64, body: Body) -> Event {
        let t0 = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let ts = Timestamp::from_datetime(t0.datetime() + time::Duration::milliseconds(secs));
        Event {
            v: 2,
            seq,
            ts,
            body,
        }
    }

    fn view(who: &str, action: ViewAction) -> Body {
        Body::View {
            task: "t".into(),
            evaluator: who.into(),
            action,
        }
    }

    #[test]
    fn idle_gaps_are_compressed_and_marks_are_the_evaluators() {
        let mut tl = Timeline::new(Some("ana"));
        let opened = ViewAction::TaskOpened { arm: None };
        let tab = ViewAction::TabSwitched { tab: Tab::Checks };
        tl.push(&at(1, 0, view("ana", opened.clone())));
        tl.push(&at(2, 2_000, view("ana", tab)));
        tl.push(&at(3, 62_000, view("ben", opened)));
        let active = Body::ActiveTime {
            task: "t".into(),
            evaluator: "ana".into(),
            ms: 1_500,
        };
        tl.push(&at(4, 63_000, active));
        let p = tl.points();
        assert_eq!(p[0].mark, Some(Mark::Task));
        assert_eq!(p[1].mark, None, "a tab switch is no mark");
        assert_eq!(p[2].mark, None, "another evaluator's task switch");
        assert_eq!((p[2].wall_ms, p[2].play_ms), (62_000, 2_000 + IDLE_PLAY_MS));
        assert_eq!(p[2].idle_before_ms, Some(60_000));
        assert_eq!(p[3].idle_before_ms, None);
        assert_eq!(p[3].active_ms, 1_500);
        assert_eq!(tl.play_gap(1), Some(IDLE_PLAY_MS));
        assert_eq!(tl.next_mark(0, |_| true), None);
        assert_eq!(tl.prev_mark(3, |m| m == Mark::Task), Some(0));
    }

    #[test]
    fn durations_read_as_clocks_and_spans() {
        assert_eq!(clock(65_000), "01:05");
        assert_eq!(clock(3_725_000), "1:02:05");
        assert_eq!(span(9_999), "9s");
        assert_eq!(span(185_000), "3m05s");
        assert_eq!(span(3_720_000), "1h02m");
    }
}
