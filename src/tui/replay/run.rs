//! The replay's event loop: keys in, the playback clock ticking, and the
//! log polled for complete lines another process appended (parsed from
//! where the last read stopped; a torn last line waits for its end).

use super::state::Player;
use super::update::{update, Msg};
use super::view::draw;
use crate::session::LogTail;
use crate::tui::driver::Clock;
use crossterm::event::Event as TermEvent;
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use std::time::Duration;

/// How often playback advances (and the screen redraws while playing).
const TICK: Duration = Duration::from_millis(100);
/// How often the log is checked for new lines.
const POLL: Duration = Duration::from_millis(500);

/// Run until the user quits (or the input ends, or SIGTERM/SIGHUP).
pub async fn run<B, S>(
    terminal: &mut Terminal<B>,
    player: &mut Player,
    mut input: S,
    mut tail: Option<LogTail>,
    clock: Clock,
) -> std::io::Result<()>
where
    B: Backend,
    S: Stream<Item = std::io::Result<TermEvent>> + Unpin,
{
    let mut tick = tokio::time::interval(TICK);
    let mut poll = tokio::time::interval(POLL);
    let mut term = signal(tokio::signal::unix::SignalKind::terminate());
    let mut hup = signal(tokio::signal::unix::SignalKind::hangup());
    loop {
        terminal.draw(|f| draw(player, f.area(), f.buffer_mut()))?;
        let msg = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(k))) => Msg::Key(k),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => break,
            },
            _ = tick.tick() => Msg::Tick(clock()),
            _ = poll.tick() => match read_tail(player, &mut tail) {
                Some(events) => Msg::Appended(events),
                None => continue,
            },
            _ = recv(&mut term) => break,
            _ = recv(&mut hup) => break,
        };
        if update(player, msg) {
            break;
        }
    }
    Ok(())
}

/// New complete events, if any. A log that can no longer be followed
/// (repaired, replaced, a bad line) stops the following, not the replay.
fn read_tail(
    player: &mut Player,
    tail: &mut Option<LogTail>,
) -> Option<Vec<crate::session::Event>> {
    let t = tail.as_mut()?;
    match t.read_new() {
        Ok(events) if events.is_empty() => None,
        Ok(events) => Some(events),
        Err(e) => {
            player.follow_error = Some(crate::sanitize::sanitize_line(&e.to_string()));
            *tail = None;
            None
        }
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).ok()
}

async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
