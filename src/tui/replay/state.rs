//! The replay screen's state: a [`Recording`], the position in it, the
//! playback clock, and the review's own [`App`] at that position (folded
//! from the events up to it, with the tab, selection and scroll the events
//! record), so the review's views draw what the evaluator saw.

use crate::replay::{Mark, Recording, Screen};
use crate::session::event::{Body, Event};
use crate::tui::state::{App, Focus, Mode as ReviewMode, Options, Tab};

/// The model that wrote the session's assistance, for the status line.
fn model_name(rec: &Recording) -> String {
    rec.replay()
        .events()
        .iter()
        .find_map(|e| match &e.body {
            // Computed checks name no model: the first model-written piece does.
            Body::Assistance { assistance, .. } => Some(assistance.provenance.model_name())
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            _ => None,
        })
        .unwrap_or_else(|| "no model".into())
}

/// Playback speeds, slowest first.
pub const SPEEDS: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    /// Choosing a task to jump to; `sel` is the highlighted one.
    Picker {
        sel: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Player {
    pub rec: Recording,
    /// The event shown (index into the event list).
    pub pos: usize,
    pub playing: bool,
    pub speed: u32,
    /// Playback time banked toward the next event, in ms at 1×.
    pub budget_ms: u64,
    pub last_tick_ms: Option<u64>,
    pub mode: Mode,
    /// A note for the user (end of the log, a jump that found nothing).
    pub message: Option<String>,
    /// Set when a followed log could not be read any more.
    pub follow_error: Option<String>,
    pub quit: bool,
    /// The review's state at `pos`, read-only.
    pub app: App,
    /// The position `app` was folded to.
    app_pos: usize,
}

impl Player {
    /// Start at `pos`. `opts` are the review's options for drawing (the
    /// evaluator, the session name, read-only).
    pub fn new(rec: Recording, mut opts: Options, pos: usize) -> Player {
        let pos = pos.min(rec.last());
        opts.read_only = true;
        opts.evaluator = rec.evaluator().unwrap_or("-").to_string();
        opts.session_name = rec.replay().name();
        opts.model_name = model_name(&rec);
        let replay = rec.state_at(pos);
        let mut player = Player {
            app: App::new(opts, replay),
            rec,
            pos,
            playing: false,
            speed: 1,
            budget_ms: 0,
            last_tick_ms: None,
            mode: Mode::Normal,
            message: None,
            follow_error: None,
            quit: false,
            app_pos: pos,
        };
        player.show_screen();
        player
    }

    /// Move to `pos` (clamped) and fold the review's state to it: forward
    /// by pushing the events in between, backward by folding again.
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.rec.last());
        if self.pos > self.app_pos {
            for p in self.app_pos + 1..=self.pos {
                self.app.apply(self.rec.event(p).clone());
            }
        } else if self.pos < self.app_pos {
            self.app.replay = self.rec.state_at(self.pos);
        }
        self.app_pos = self.pos;
        self.show_screen();
    }

    /// Put the recorded screen into the review's state.
    fn show_screen(&mut self) {
        let screen: Screen = self.rec.screen(self.pos).clone();
        let app = &mut self.app;
        app.opts.protocol = screen.protocol.clone();
        let event_task = self
            .rec
            .event(self.pos)
            .body
            .task()
            .and_then(|t| self.rec.replay().index_of(t));
        app.current = match (self.rec.evaluator(), screen.task) {
            (_, Some(t)) => t,
            // Before the evaluator opened any: the first task, closed.
            (Some(_), None) => 0,
            // Nobody reviewed (a generated session): follow the events' task.
            (None, None) => event_task.unwrap_or(app.current),
        };
        app.tab = screen.tab;
        app.sel = screen.sel;
        for tab in [Tab::Critiques, Tab::Checks, Tab::Steps] {
            let n = app.item_count(tab);
            let s = &mut app.sel[tab.index()];
            *s = (*s).min(n.saturating_sub(1));
        }
        app.answer_scroll = screen.scroll as usize;
        app.focus = Focus::Assist;
        app.mode = ReviewMode::Normal;
        app.side_b = false;
        app.anchor = None;
        app.cursor = 0;
        app.message = match (self.rec.evaluator(), screen.task) {
            (Some(_), None) => Some("replay: no task opened yet".into()),
            (Some(_), Some(_)) if screen.closed => Some("replay: task closed".into()),
            _ => None,
        };
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.rec.last()
    }

    /// One event forward (`1`) or back (`-1`); pauses playback.
    pub fn step(&mut self, dir: isize) {
        self.playing = false;
        let to = self.pos as isize + dir;
        if to < 0 || to as usize > self.rec.last() {
            self.message = Some(if dir > 0 { "last event" } else { "first event" }.into());
            return;
        }
        self.set_pos(to as usize);
    }

    /// Jump to the next (`1`) or previous (`-1`) label or verdict.
    pub fn jump_mark(&mut self, dir: isize) {
        let wanted = |m: Mark| matches!(m, Mark::Label | Mark::Verdict);
        let tl = self.rec.timeline();
        let found = if dir > 0 {
            tl.next_mark(self.pos, wanted)
        } else {
            tl.prev_mark(self.pos, wanted)
        };
        match found {
            Some(p) => {
                self.budget_ms = 0;
                self.set_pos(p);
            }
            None => {
                let which = if dir > 0 { "next" } else { "previous" };
                self.message = Some(format!("no {which} label or verdict"));
            }
        }
    }

    /// Jump to where the evaluator first opened task `i`.
    pub fn jump_task(&mut self, i: usize) {
        match self.rec.task_start(i) {
            Some(p) => {
                self.budget_ms = 0;
                self.set_pos(p);
            }
            None => self.message = Some("nothing happened on that task".into()),
        }
    }

    /// Faster (`1`) or slower (`-1`), within [`SPEEDS`].
    pub fn change_speed(&mut self, dir: isize) {
        let i = SPEEDS.iter().position(|s| *s == self.speed).unwrap_or(0) as isize;
        let j = (i + dir).clamp(0, SPEEDS.len() as isize - 1) as usize;
        self.speed = SPEEDS[j];
    }

    pub fn toggle_play(&mut self) {
        if self.playing {
            self.playing = false;
            return;
        }
        if self.at_end() {
            self.set_pos(0);
        }
        self.playing = true;
        self.budget_ms = 0;
        // Time paused does not count: the clock restarts at the next tick.
        self.last_tick_ms = None;
    }

    /// Advance the playback clock by `dt_ms` of real time.
    pub fn play(&mut self, dt_ms: u64) {
        if !self.playing {
            return;
        }
        self.budget_ms += dt_ms * self.speed as u64;
        let mut to = self.pos;
        while let Some(gap) = self.rec.timeline().play_gap(to) {
            if self.budget_ms < gap {
                break;
            }
            self.budget_ms -= gap;
            to += 1;
        }
        if to != self.pos {
            self.set_pos(to);
        }
        if self.at_end() {
            self.playing = false;
            self.budget_ms = 0;
            self.message = Some("end of the log".into());
        }
    }

    /// Events another process appended to the log. Sitting paused on the
    /// last event means watching live: stay on the last one.
    pub fn appended(&mut self, events: Vec<Event>) {
        let live = self.at_end() && !self.playing;
        for e in events {
            self.rec.push(e);
        }
        if live {
            self.set_pos(self.rec.last());
        }
    }
}
