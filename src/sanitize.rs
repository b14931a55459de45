//! Text from task files and models never reaches the terminal raw.

use std::borrow::Cow;

/// Replace control characters (C0, DEL, C1) except `\n` and `\t` with visible
/// escapes, so escape sequences in data cannot drive the terminal.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
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
/// anything [`is_unsafe`] as a visible escape. The review UI draws every
/// cell through this.
pub fn push_line_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push(' '),
        c if is_unsafe(c) => push_escaped(out, c),
        c => out.push(c),
    }
}

/// The one test of "unsafe for the terminal": control characters other
/// than newline and tab (which cannot drive a terminal), and bidi overrides.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        // bidi overrides can reorder what the evaluator reads
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\u{1b}' => out.push_str("\\e"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_made_visible() {
        assert_eq!(sanitize("a\u{1b}[31mred"), "a\\e[31mred");
        assert_eq!(sanitize("ok\nline\ttab"), "ok\nline\ttab");
        assert_eq!(sanitize("bell\u{7}\u{9b}"), "bell\\x07\\x9b");
        assert_eq!(sanitize_line("a\nb\r"), "a\\nb\\r");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
    }
}
