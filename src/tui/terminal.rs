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

/// Runs `$VISUAL`/`$EDITOR` (default `vi`) on a private temp file (unique
/// name, created exclusively, mode 0600: another user on the machine can
/// neither read the answer nor plant a file or link where crit writes it),
/// with the terminal handed over to it meanwhile. The file is removed
/// afterwards, also when the editor fails.
pub struct ExternalEditor;

impl EditorHost for ExternalEditor {
    fn edit(&mut self, text: &str) -> Option<String> {
        let file = write_private(text).ok()?;
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        restore();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("crit-editor")
            .arg(file.path())
            .status();
        let _ = enable_raw_mode();
        let _ = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture);
        match status {
            // By path: editors that save by renaming a new file into place
            // leave the old inode behind.
            Ok(s) if s.success() => std::fs::read_to_string(file.path()).ok(),
            _ => None,
        }
    }
}

/// `text` in a new private temp file, removed when the handle drops.
pub fn write_private(text: &str) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    // tempfile creates with O_EXCL and mode 0600 under a random name.
    let mut file = tempfile::Builder::new()
        .prefix("crit-correction-")
        .suffix(".txt")
        .tempfile()?;
    file.write_all(text.as_bytes())?;
    file.flush()?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_editor_file_is_private_and_unique() {
        let a = super::write_private("ok \u{1b}]0;x\u{7}").unwrap();
        let b = super::write_private("other").unwrap();
        assert_ne!(a.path(), b.path());
        assert_eq!(
            std::fs::read_to_string(a.path()).unwrap(),
            "ok \u{1b}]0;x\u{7}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists(), "removed when done");
    }
}
