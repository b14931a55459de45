//! Shared helpers for the review UI tests: tasks, key constructors, and
//! `Sim`, which drives the real `Driver` over a real session in a temp dir
//! with the scripted assistant and an injectable clock, so every test goes
//! through the driver's own effect handling (appends, fsync, submits,
//! cancels, the mouse's drawn layout).
#![allow(dead_code)]

use crit::assist::scripted::Scripted;
use crit::assist::{self, Assistant, EventSender, Request};
use crit::session::event::{Body, Event, SourceFormat};
use crit::session::Session;
use crit::task::Task;
use crit::tui::driver::Clock;
use crit::tui::{App, Driver, Effect, Msg, Options};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

pub fn opts() -> Options {
    Options {
        evaluator: "alice".into(),
        session_name: "demo".into(),
        ..Options::default()
    }
}

/// Requests held back from the scripted assistant until released.
#[derive(Default)]
struct Held {
    on: bool,
    requests: Vec<Request>,
}

/// The scripted assistant behind a gate: while holding, submitted requests
/// wait (as in a busy engine's queue); cancelling a waiting one answers
/// `Cancelled`, as the engine does for a queued request.
struct Gate {
    inner: Arc<Scripted>,
    events: EventSender,
    held: Arc<Mutex<Held>>,
}

impl Assistant for Gate {
    fn submit(&self, request: Request) {
        let mut held = self.held.lock().unwrap();
        if held.on {
            held.requests.push(request);
        } else {
            self.inner.submit(request);
        }
    }

    fn cancel(&self, id: u64) {
        let mut held = self.held.lock().unwrap();
        match held.requests.iter().position(|r| r.id == id) {
            Some(i) => {
                held.requests.remove(i);
                let _ = self.events.send(assist::Event::Cancelled { id });
            }
            None => self.inner.cancel(id),
        }
    }

    fn name(&self) -> String {
        self.inner.name()
    }
}

/// The review UI on the real driver, a real session and the scripted
/// assistant; time stands still unless a test moves it.
pub struct Sim {
    pub app: App,
    pub driver: Driver,
    /// Every effect performed so far.
    pub effects: Vec<Effect>,
    held: Arc<Mutex<Held>>,
    /// The assistant behind the gate (absent when read-only).
    scripted: Option<Arc<Scripted>>,
    time: Arc<AtomicU64>,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        Sim::with_tasks(opts, tasks())
    }

    /// A new session of `tasks` in a temp dir.
    pub fn with_tasks(opts: Options, tasks: Vec<Task>) -> Sim {
        let tmp = tempfile::tempdir().unwrap();
        let mut sim = Sim::open(&tmp.path().join("s"), opts, &tasks);
        sim._tmp = Some(tmp);
        sim
    }

    /// Open the existing session in `dir` (made by something else, e.g.
    /// `assign`), as `crit review SESSION` would.
    pub fn existing(dir: &Path, opts: Options) -> Sim {
        let replay = crit::session::Replay::read(dir).unwrap();
        let tasks: Vec<Task> = replay.tasks().iter().map(|t| (**t).clone()).collect();
        Sim::open(dir, opts, &tasks)
    }

    /// Create the session of the default tasks in `dir`, or resume it.
    pub fn in_dir(dir: &Path, opts: Options) -> Sim {
        Sim::open(dir, opts, &tasks())
    }

    fn open(dir: &Path, opts: Options, tasks: &[Task]) -> Sim {
        let session =
            Session::create_or_open(dir, tasks, "tasks.jsonl", SourceFormat::Native).unwrap();
        let (log, replay) = session.split();
        let app = App::new(opts, replay);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let time = Arc::new(AtomicU64::new(0));
        let t = time.clone();
        let clock: Clock = Arc::new(move || t.load(Ordering::SeqCst));
        let held = Arc::new(Mutex::new(Held::default()));
        // Read-only: no session to write to and no assistant, as in `crit review`.
        let scripted = (!app.opts.read_only).then(|| Arc::new(Scripted::new(tx.clone())));
        let assistant = scripted.clone().map(|inner| {
            Box::new(Gate {
                inner,
                events: tx,
                held: held.clone(),
            }) as Box<dyn Assistant>
        });
        let log = (!app.opts.read_only).then_some(log);
        let mut driver = Driver::new(log, assistant, rx, clock);
        driver.trace();
        Sim {
            app,
            driver,
            effects: Vec::new(),
            held,
            scripted,
            time,
            dir: dir.to_path_buf(),
            _tmp: None,
        }
    }

    /// Close (everything made durable, the lock released) and open the same
    /// session again, as a new `crit review` would.
    pub fn reopen(mut self, opts: Options) -> Sim {
        self.driver.finish().unwrap();
        let tmp = self._tmp.take();
        let dir = self.dir.clone();
        let tasks: Vec<Task> = self
            .app
            .replay
            .tasks()
            .iter()
            .map(|t| (**t).clone())
            .collect();
        drop(self);
        let mut sim = Sim::open(&dir, opts, &tasks);
        sim._tmp = tmp;
        sim
    }

    /// Send one message through the driver, then let the assistant finish
    /// whatever is not held. Returns every effect this produced.
    pub fn send(&mut self, msg: Msg) -> Vec<Effect> {
        self.driver.dispatch(&mut self.app, msg).unwrap();
        self.settle();
        let fx = self.driver.take_trace();
        self.effects.extend(fx.iter().cloned());
        fx
    }

    pub fn send_all(&mut self, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
        msgs.into_iter().flat_map(|m| self.send(m)).collect()
    }

    /// Messages a second apart, like a person typing.
    pub fn keys(&mut self, msgs: impl IntoIterator<Item = Msg>) {
        for m in msgs {
            self.advance(1_000);
            self.send(m);
        }
    }

    /// A terminal event as the event loop handles it: a frame is drawn, then
    /// the event becomes a message (a mouse event carries that frame's layout).
    pub fn input(&mut self, ev: TermEvent) -> Vec<Effect> {
        let (w, h) = (self.app.size.width, self.app.size.height);
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        self.driver.draw(&mut term, &self.app).unwrap();
        match self.driver.message(ev) {
            Some(m) => self.send(m),
            None => Vec::new(),
        }
    }

    /// Pump assistant events until every generation in flight is held.
    fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let waiting: Vec<u64> = self.held().into_iter().collect();
            if self.app.gens.keys().all(|id| waiting.contains(id)) {
                return;
            }
            assert!(Instant::now() < deadline, "assistant did not finish");
            if self.driver.pump(&mut self.app).unwrap() == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// Hold back new requests (or stop holding them).
    pub fn hold(&mut self, on: bool) {
        self.held.lock().unwrap().on = on;
    }

    /// Ids of the requests held back, in submission order.
    pub fn held(&self) -> Vec<u64> {
        let held = self.held.lock().unwrap();
        held.requests.iter().map(|r| r.id).collect()
    }

    /// Hand the held requests to the assistant and wait for their results.
    pub fn release(&mut self) {
        let requests = std::mem::take(&mut self.held.lock().unwrap().requests);
        if let Some(a) = &self.scripted {
            requests.into_iter().for_each(|r| a.submit(r));
        }
        self.settle();
        let fx = self.driver.take_trace();
        self.effects.extend(fx);
    }

    /// The monotonic clock the driver reads, in ms.
    pub fn set_now(&mut self, ms: u64) {
        self.time.store(ms, Ordering::SeqCst);
    }

    pub fn advance(&mut self, ms: u64) {
        self.time.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The session's events so far (the app's fold holds every one the
    /// driver appended).
    pub fn log(&self) -> &[Event] {
        self.app.replay.events()
    }

    /// Log bodies of a type, e.g. "label".
    pub fn of_type(&self, t: &str) -> Vec<&Body> {
        self.log()
            .iter()
            .map(|e| &e.body)
            .filter(|b| b.type_name() == t)
            .collect()
    }
}
