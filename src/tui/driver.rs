//! The effects driver: performs what `update` asks for (session appends,
//! fsync for labels and verdicts, assistant submits/cancels) and feeds the
//! results back as messages. The event loop is generic over ratatui's
//! `Backend` and over the input stream, so it runs on `TestBackend` too.
//! It keeps the layout of the last frame drawn and hands it over with each
//! mouse event, so the update hit-tests without rendering.

use super::drawn::Drawn;
use super::state::App;
use super::update::{update, Effect, Msg};
use crate::assist::{Assistant, EventReceiver, Request};
use crate::session::{Event, Log, SessionError};
use crossterm::event::Event as TermEvent;
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("recording to the session failed: {0}")]
    Session(#[from] SessionError),
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, DriverError>;

/// Monotonic milliseconds; injectable so tests control time.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub fn real_clock() -> Clock {
    let start = Instant::now();
    Arc::new(move || start.elapsed().as_millis() as u64)
}

/// Suspends the terminal around an external editor.
pub trait EditorHost {
    /// Run `$EDITOR` on `text`; `None` if it failed.
    fn edit(&mut self, text: &str) -> Option<String>;
}

/// No editor (tests, read-only).
pub struct NoEditor;

impl EditorHost for NoEditor {
    fn edit(&mut self, _text: &str) -> Option<String> {
        None
    }
}

pub struct Driver {
    /// The log's writer; `None` when read-only. The fold lives in the app.
    log: Option<Log>,
    assistant: Option<Box<dyn Assistant>>,
    pub rx: EventReceiver,
    clock: Clock,
    /// Layout of the last frame drawn (what a click is aimed at).
    drawn: Option<Arc<Drawn>>,
    /// Every effect performed or passed on, when tracing (tests).
    trace: Option<Vec<Effect>>,
}

impl Driver {
    pub fn new(
        log: Option<Log>,
        assistant: Option<Box<dyn Assistant>>,
        rx: EventReceiver,
        clock: Clock,
    ) -> Driver {
        Driver {
            log,
            assistant,
            rx,
            clock,
            drawn: None,
            trace: None,
        }
    }

    /// From now on keep a copy of every effect (see `take_trace`).
    pub fn trace(&mut self) {
        self.trace.get_or_insert_with(Vec::new);
    }

    /// The effects since the last call, in the order they were performed.
    pub fn take_trace(&mut self) -> Vec<Effect> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Draw one frame and keep its layout for the mouse.
    pub fn draw<B: Backend>(&mut self, terminal: &mut Terminal<B>, app: &App) -> Result<()> {
        self.drawn = Some(Arc::new(draw(terminal, app)?));
        Ok(())
    }

    /// The layout of the last frame drawn.
    pub fn drawn(&self) -> Option<&Drawn> {
        self.drawn.as_deref()
    }

    /// The message for a terminal event: a mouse event goes with the layout
    /// it was aimed at (none before the first frame: nothing to click).
    pub fn message(&self, ev: TermEvent) -> Option<Msg> {
        match ev {
            TermEvent::Key(k) => Some(Msg::Key(k)),
            TermEvent::Mouse(m) => self.drawn.clone().map(|d| Msg::Mouse(m, d)),
            TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
            _ => None,
        }
    }

    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    pub fn log(&self) -> Option<&Log> {
        self.log.as_ref()
    }

    /// Apply `msg` and perform its effects (and those of the messages they
    /// produce). Returns the effects only the event loop can perform
    /// (`Quit`, `OpenEditor`).
    pub fn dispatch(&mut self, app: &mut App, msg: Msg) -> Result<Vec<Effect>> {
        let mut queue = VecDeque::from([msg]);
        let mut outer = Vec::new();
        while let Some(m) = queue.pop_front() {
            for fx in update(app, m, self.now_ms()) {
                if let Some(t) = self.trace.as_mut() {
                    t.push(fx.clone());
                }
                match fx {
                    Effect::Append { body, durable } => {
                        if let Some(ev) = self.append(body, durable)? {
                            queue.push_back(Msg::Appended(ev));
                        }
                    }
                    Effect::Submit {
                        id,
                        kind,
                        seed,
                        input,
                        ..
                    } => {
                        if let Some(a) = &self.assistant {
                            let task = input;
                            a.submit(Request {
                                id,
                                task,
                                kind,
                                seed,
                            });
                        }
                    }
                    Effect::Cancel(id) => {
                        if let Some(a) = &self.assistant {
                            a.cancel(id);
                        }
                    }
                    other => outer.push(other),
                }
            }
        }
        Ok(outer)
    }

    fn append(&mut self, body: crate::session::Body, durable: bool) -> Result<Option<Event>> {
        let Some(log) = self.log.as_mut() else {
            return Ok(None);
        };
        let ev = if durable {
            log.append_durable(body)?
        } else {
            log.append(body)?
        };
        Ok(Some(ev))
    }

    /// Feed every assistant event already waiting. Returns how many.
    pub fn pump(&mut self, app: &mut App) -> Result<usize> {
        let mut n = 0;
        while let Ok(ev) = self.rx.try_recv() {
            self.dispatch(app, Msg::Assist(ev))?;
            n += 1;
        }
        Ok(n)
    }

    /// Block until no generation is in flight (tests, benches).
    pub fn wait_idle(&mut self, app: &mut App, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        while !app.gens.is_empty() {
            if Instant::now() > deadline {
                return Ok(false);
            }
            if self.pump(app)? == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(true)
    }

    /// Make everything written so far durable.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(log) = self.log.as_mut() {
            log.sync()?;
        }
        Ok(())
    }
}

/// Draw one frame; returns its layout.
pub fn draw<B: Backend>(terminal: &mut Terminal<B>, app: &App) -> std::io::Result<Drawn> {
    let mut drawn = Drawn::default();
    terminal.draw(|f| f.render_stateful_widget(app, f.area(), &mut drawn))?;
    Ok(drawn)
}

/// The event loop: input, assistant events, ticks and termination signals
/// in; one coalesced redraw after each batch. Returns when the app quits.
pub async fn run<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    driver: &mut Driver,
    mut input: S,
    editor: &mut dyn EditorHost,
) -> Result<()>
where
    B: Backend,
    S: Stream<Item = std::io::Result<TermEvent>> + Unpin,
{
    let size = terminal.size()?;
    driver.dispatch(app, Msg::Resize(size.width, size.height))?;
    let outer = driver.dispatch(app, Msg::Start)?;
    if handle_outer(app, driver, outer, editor)? {
        return driver.finish();
    }
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut signals = Signals::new();
    loop {
        driver.draw(terminal, app)?;
        let msg = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(ev)) => match driver.message(ev) { Some(m) => m, None => continue },
                Some(Err(e)) => return Err(e.into()),
                None => Msg::Quit,
            },
            Some(ev) = driver.rx.recv() => Msg::Assist(ev),
            _ = tick.tick() => Msg::Tick,
            _ = signals.next() => Msg::Quit,
        };
        let outer = driver.dispatch(app, msg)?;
        let edited = outer.iter().any(|f| matches!(f, Effect::OpenEditor { .. }));
        if handle_outer(app, driver, outer, editor)? {
            break;
        }
        if edited {
            // The editor drew over the screen: redraw all of it.
            terminal.clear()?;
        }
        driver.pump(app)?; // coalesce: all waiting tokens, then one draw
    }
    driver.draw(terminal, app)?;
    driver.finish()
}

/// Perform loop-level effects; true when the app should exit.
fn handle_outer(
    app: &mut App,
    driver: &mut Driver,
    outer: Vec<Effect>,
    editor: &mut dyn EditorHost,
) -> Result<bool> {
    let mut quit = false;
    for fx in outer {
        match fx {
            Effect::Quit => quit = true,
            Effect::OpenEditor { text } => {
                let edited = editor.edit(&text);
                let more = driver.dispatch(app, Msg::EditorDone(edited))?;
                quit |= handle_outer(app, driver, more, editor)?;
            }
            _ => {}
        }
    }
    Ok(quit)
}

/// SIGTERM, SIGHUP and SIGINT as one future stream (SIGINT arrives outside
/// raw mode, e.g. while `$EDITOR` runs).
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            let term = async {
                match self.term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let hup = async {
                match self.hup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = term => {},
                _ = hup => {},
                _ = tokio::signal::ctrl_c() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
