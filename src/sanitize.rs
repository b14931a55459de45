//! Text from task files, models, configs and session names never reaches
//! the terminal raw. This is the one sanitizer: one test of what cannot be
//! shown as it is ([`is_unsafe`]) and one visible form for it
//! ([`push_visible`]), used by the review UI, `crit show`, `crit sessions`
//! and the binary's error messages.
//!
//! - Control characters (C0 other than newline and tab, DEL, C1) become
//!   escapes: `\e`, `\r`, `\x07`, `\x9b`. They could drive the terminal.
//! - Invisible and direction-changing characters (zero-width characters,
//!   bidi overrides and isolates, tags, variation selectors, every other
//!   default-ignorable code point, line and paragraph separators) become a
//!   marked placeholder such as `⟨U+200B⟩`. They cannot drive a terminal,
//!   but the evaluator would not see text the model and the training data
//!   will see, or would read it reordered.

use std::borrow::Cow;

/// Replace everything [`is_unsafe`] with its visible form; newlines and
/// tabs stay (multi-line plain output such as `crit show`).
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`sanitize`] but also escapes newlines and tabs, for one-line displays.
pub fn sanitize_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_line_char(&mut out, c);
    }
    out
}

/// Append `c` as a one-line display shows it: a newline as `\n`, a tab as
/// one space (a raw tab moves the cursor past cells a TUI thinks it drew),
/// anything [`is_unsafe`] in its visible form. The review UI draws every
/// cell through this.
pub fn push_line_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push(' '),
        c if is_unsafe(c) => push_visible(out, c),
        c => out.push(c),
    }
}

/// The one test of "cannot be shown as it is": a control character other
/// than newline and tab, or an invisible or direction-changing character.
pub fn is_unsafe(c: char) -> bool {
    is_control(c) || is_invisible(c)
}

/// C0 controls other than newline and tab, DEL and C1 controls.
pub fn is_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Characters a terminal draws as nothing, or that reorder what is drawn:
/// Unicode's default-ignorable code points (zero-width space, joiners and
/// marks, bidi embeddings, overrides and isolates, word joiner and invisible
/// operators, variation selectors, BOM, tags, fillers), plus the line and
/// paragraph separators and the interlinear annotation controls, which are
/// invisible or break lines on their own, and the noncharacters U+FFFE/F.
pub fn is_invisible(c: char) -> bool {
    let u = c as u32;
    u >= 0xAD
        && matches!(
            u,
            0xAD
                | 0x34F
                | 0x61C
                | 0x115F..=0x1160
                | 0x17B4..=0x17B5
                | 0x180B..=0x180F
                | 0x200B..=0x200F
                | 0x2028..=0x202E
                | 0x2060..=0x206F
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFEFF
                | 0xFFA0
                | 0xFFF0..=0xFFFB
                | 0xFFFE..=0xFFFF
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0000..=0xE0FFF
        )
}

/// Append the visible form of an unsafe `c`: an escape for a control
/// character, `⟨U+XXXX⟩` for an invisible one.
pub fn push_visible(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = match c {
        '\u{1b}' => write!(out, "\\e"),
        '\r' => write!(out, "\\r"),
        c if is_control(c) => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "⟨U+{:04X}⟩", c as u32),
    };
}

/// How many characters of a text [`sanitize`] replaces, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// Invisible or direction-changing characters.
    pub invisible: usize,
    /// Control characters (other than newline and tab).
    pub control: usize,
}

impl Census {
    /// Count the characters of `text` into `self`.
    pub fn add(&mut self, text: &str) {
        for c in text.chars() {
            if is_control(c) {
                self.control += 1;
            } else if is_invisible(c) {
                self.invisible += 1;
            }
        }
    }

    /// The census of one text.
    pub fn of(text: &str) -> Census {
        let mut c = Census::default();
        c.add(text);
        c
    }

    /// The census of several texts, e.g. `Task::texts` for the task header
    /// of the review UI and of `crit show`.
    pub fn of_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Census {
        let mut c = Census::default();
        texts.into_iter().for_each(|t| c.add(t));
        c
    }

    /// "3 invisible characters, 1 control character", or `None` when clean.
    pub fn describe(&self) -> Option<String> {
        let part = |n: usize, what: &str| match n {
            0 => None,
            1 => Some(format!("1 {what} character")),
            n => Some(format!("{n} {what} characters")),
        };
        let parts: Vec<String> = [
            part(self.invisible, "invisible"),
            part(self.control, "control"),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_made_visible() {
        assert_eq!(sanitize("a\u{1b}[31mred"), "a\\e[31mred");
        assert_eq!(sanitize("ok\nline\ttab"), "ok\nline\ttab");
        assert_eq!(sanitize("bell\u{7}\u{9b}\u{7f}"), "bell\\x07\\x9b\\x7f");
        assert_eq!(sanitize_line("a\nb\r"), "a\\nb\\r");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn invisible_characters_get_a_placeholder() {
        assert_eq!(sanitize("a\u{200b}b"), "a⟨U+200B⟩b");
        assert_eq!(sanitize("\u{202e}abc\u{2066}"), "⟨U+202E⟩abc⟨U+2066⟩");
        assert_eq!(sanitize("tag\u{e0041}"), "tag⟨U+E0041⟩");
        assert_eq!(sanitize("\u{feff}x\u{2060}"), "⟨U+FEFF⟩x⟨U+2060⟩");
        for c in [
            '\u{200c}', '\u{200d}', '\u{fe0f}', '\u{2028}', '\u{ad}', '\u{180e}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        // Visible text, including wide and combining characters, stays.
        for s in ["héllo", "e\u{301}", "界", "\u{a0}", "→"] {
            assert!(matches!(sanitize(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn sanitizing_twice_changes_nothing() {
        let once = sanitize_line("x\u{1b}]0;t\u{7}\u{200b}\u{202e}\r\n");
        assert_eq!(sanitize_line(&once), once);
        assert!(!once.chars().any(is_unsafe));
    }

    #[test]
    fn census_counts_by_kind() {
        let c = Census::of("a\u{200b}\u{202e}\u{e0041}b\u{1b}\n\t");
        assert_eq!(
            c,
            Census {
                invisible: 3,
                control: 1
            }
        );
        assert_eq!(
            c.describe().as_deref(),
            Some("3 invisible characters, 1 control character")
        );
        assert_eq!(Census::of("plain\ttext\n").describe(), None);
    }
}
