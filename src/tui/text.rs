//! Text measuring, wrapping and cursor motion over raw (unsanitized) text.
//! Widths count what is drawn: every char is drawn as
//! `crate::sanitize::push_line_char` writes it (a tab as one space, unsafe
//! chars as their visible escape or `⟨U+XXXX⟩` placeholder), so wrapping and
//! highlighting stay aligned. Positions are always byte offsets into the raw
//! text: a placeholder is display only, and the cursor steps over it as one
//! character.

use crate::sanitize::{is_unsafe, push_line_char};
use std::ops::Range;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The drawn form of a raw slice (one visual line).
pub fn display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_line_char(&mut out, c);
    }
    out
}

/// Columns `c` takes once drawn.
pub fn char_width(c: char) -> usize {
    if c == '\t' {
        1
    } else if c == '\n' || is_unsafe(c) {
        let mut drawn = String::new();
        push_line_char(&mut drawn, c);
        drawn.width()
    } else {
        c.width().unwrap_or(0)
    }
}

pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Byte ranges of the visual lines of `text` word-wrapped at `width`
/// columns. Newlines end lines and are not part of any range.
pub fn wrap(text: &str, width: usize) -> Vec<Range<usize>> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut offset = 0;
    for para in text.split('\n') {
        wrap_para(para, offset, width, &mut lines);
        offset += para.len() + 1;
    }
    lines
}

fn wrap_para(para: &str, base: usize, width: usize, out: &mut Vec<Range<usize>>) {
    let mut start = 0;
    let mut col = 0;
    let mut brk: Option<(usize, usize)> = None; // (byte after space, col there)
    for (i, c) in para.char_indices() {
        let w = char_width(c);
        if col + w > width && i > start {
            let (cut, cut_col) = brk.filter(|b| b.0 > start).unwrap_or((i, col));
            out.push(base + start..base + cut);
            start = cut;
            col -= cut_col;
            brk = None;
        }
        col += w;
        if c == ' ' || c == '\t' {
            brk = Some((i + c.len_utf8(), col));
        }
    }
    out.push(base + start..base + para.len());
}

/// Index of the visual line holding byte `pos` (the last line if past end).
pub fn line_of(lines: &[Range<usize>], pos: usize) -> usize {
    let i = lines.partition_point(|r| r.start <= pos);
    i.saturating_sub(1)
}

/// Column of `pos` within its visual line.
pub fn column(text: &str, line: &Range<usize>, pos: usize) -> usize {
    str_width(&text[line.start..pos.clamp(line.start, line.end)])
}

/// Byte position at column `col` of `line` (clamped to the line's end).
pub fn at_column(text: &str, line: &Range<usize>, col: usize) -> usize {
    let mut w = 0;
    for (i, c) in text[line.clone()].char_indices() {
        let cw = char_width(c);
        if w + cw > col {
            return line.start + i;
        }
        w += cw;
    }
    last_char_start(text, line)
}

/// Start of the last char of `line`, or its start when empty.
fn last_char_start(text: &str, line: &Range<usize>) -> usize {
    text[line.clone()]
        .char_indices()
        .last()
        .map_or(line.start, |(i, _)| line.start + i)
}

pub fn next_char(text: &str, pos: usize) -> usize {
    text[pos.min(text.len())..]
        .chars()
        .next()
        .map_or(text.len(), |c| pos + c.len_utf8())
        .min(last_start(text))
}

pub fn prev_char(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())]
        .char_indices()
        .last()
        .map_or(0, |(i, _)| i)
}

fn last_start(text: &str) -> usize {
    text.char_indices().last().map_or(0, |(i, _)| i)
}

/// Start of the next word after `pos`.
pub fn next_word(text: &str, pos: usize) -> usize {
    let mut seen_space = false;
    for (i, c) in text[pos.min(text.len())..].char_indices() {
        if c.is_whitespace() {
            seen_space = true;
        } else if seen_space {
            return pos + i;
        }
    }
    last_start(text)
}

/// Start of the word before `pos`.
pub fn prev_word(text: &str, pos: usize) -> usize {
    let before = &text[..pos.min(text.len())];
    let trimmed = before.trim_end();
    trimmed
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// The byte range covered by the char at `pos` (cursor), for selections.
pub fn char_end(text: &str, pos: usize) -> usize {
    text[pos.min(text.len())..]
        .chars()
        .next()
        .map_or(text.len(), |c| pos + c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_words_and_newlines() {
        let t = "hello world foo\nbar";
        let lines = wrap(t, 11);
        let strs: Vec<&str> = lines.iter().map(|r| &t[r.clone()]).collect();
        assert_eq!(strs, vec!["hello ", "world foo", "bar"]);
    }

    #[test]
    fn hard_breaks_long_words() {
        let t = "abcdefghij";
        let strs: Vec<String> = wrap(t, 4)
            .iter()
            .map(|r| t[r.clone()].to_string())
            .collect();
        assert_eq!(strs, vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn widths_match_what_is_drawn() {
        for c in [
            'a',
            '\t',
            '\u{1b}',
            '\u{7}',
            '\u{9b}',
            '\u{202e}',
            '\n',
            '界',
            '\u{200b}',
            '\u{e0041}',
            '\u{fe0f}',
        ] {
            let drawn = display(&c.to_string());
            let w = unicode_width::UnicodeWidthStr::width(drawn.as_str());
            assert_eq!(char_width(c), w, "{c:?} drawn as {drawn:?}");
            assert!(
                !drawn.chars().any(|d| is_unsafe(d) || d == '\t'),
                "{drawn:?}"
            );
        }
        assert_eq!(display("a\tb"), "a b", "a tab is drawn as one space");
        assert_eq!(char_width('\u{200b}'), 8, "⟨U+200B⟩");
    }

    #[test]
    fn positions_stay_on_the_raw_text() {
        // The placeholder is 8 columns wide but one char of the text: the
        // cursor steps over it in one move and columns map back onto it.
        let t = "a\u{200b}b";
        assert_eq!(next_char(t, 1), 4);
        assert_eq!(prev_char(t, 4), 1);
        let line = 0..t.len();
        assert_eq!(column(t, &line, 4), 9);
        assert_eq!(at_column(t, &line, 5), 1, "inside the placeholder");
        assert_eq!(at_column(t, &line, 9), 4);
        assert_eq!(wrap(t, 4), vec![0..1, 1..4, 4..5]);
    }

    #[test]
    fn word_motion() {
        let t = "one two  three";
        assert_eq!(next_word(t, 0), 4);
        assert_eq!(next_word(t, 4), 9);
        assert_eq!(prev_word(t, 9), 4);
        assert_eq!(prev_word(t, 4), 0);
    }
}
