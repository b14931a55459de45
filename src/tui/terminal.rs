//! Terminal setup and restore. The panic hook restores the terminal first,
//! then reports, so a panic never leaves the shell in raw mode.

use super::driver::EditorHost;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{stdout, Stdout};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode, alternate screen, mouse capture; installs the panic hook.
pub fn init() -> std::io::Result<Term> {
    install_panic_hook();
    enable_raw_mode()?;
    if let Err(e) = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(stdout()))
}

/// Undo `init`; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Runs `$VISUAL`/`$EDITOR` (default `vi`) on a temp file, with the
/// terminal handed over to it meanwhile.
pub struct ExternalEditor;

impl EditorHost for ExternalEditor {
    fn edit(&mut self, text: &str) -> Option<String> {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("crit-correction-{}.txt", std::process::id()));
        std::fs::write(&path, text).ok()?;
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        restore();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("crit-editor")
            .arg(&path)
            .status();
        let _ = enable_raw_mode();
        let _ = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture);
        let out = match status {
            Ok(s) if s.success() => std::fs::read_to_string(&path).ok(),
            _ => None,
        };
        let _ = std::fs::remove_file(&path);
        out
    }
}
