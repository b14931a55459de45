//! Streaming trackers over generated text: where the JSON value stands,
//! and UTF-8 characters split across tokens.

/// Tracks whether the streamed text has closed its top-level JSON value.
#[derive(Default)]
pub struct JsonTracker {
    depth: u32,
    started: bool,
    pub in_string: bool,
    escape: bool,
    pub done: bool,
    /// The last significant character closed an item of the top-level list.
    boundary: bool,
}

impl JsonTracker {
    /// Between items of `{"key": [ {..}, {..} ]}`, after an item's `}`.
    pub fn at_item_boundary(&self) -> bool {
        self.boundary && !self.in_string
    }

    /// Text that would close the whole value from here, if we are right
    /// after an item or inside one (outside strings).
    pub fn closing_text(&self) -> Option<&'static str> {
        match (self.in_string, self.depth) {
            (false, 3) => Some("}]}"),
            (false, 2) if self.at_item_boundary() => Some("]}"),
            _ => None,
        }
    }

    pub fn feed(&mut self, text: &str) {
        for c in text.chars() {
            if self.done {
                return;
            }
            if self.in_string {
                match (self.escape, c) {
                    (true, _) => self.escape = false,
                    (false, '\\') => self.escape = true,
                    (false, '"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            if !c.is_whitespace() {
                self.boundary = false;
            }
            match c {
                '"' => self.in_string = true,
                '{' | '[' => {
                    self.depth += 1;
                    self.started = true;
                }
                '}' | ']' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.done = self.started && self.depth == 0;
                    self.boundary = c == '}' && self.depth == 2;
                }
                _ => {}
            }
        }
    }
}

/// Turns token bytes into text, holding back a UTF-8 character split
/// across tokens until it is complete.
#[derive(Default)]
pub(super) struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let (text, rest) = match std::str::from_utf8(&self.pending) {
            Ok(s) => (s.to_string(), 0),
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                (
                    String::from_utf8_lossy(&self.pending[..valid]).into_owned(),
                    self.pending.len() - valid,
                )
            }
            Err(_) => (String::from_utf8_lossy(&self.pending).into_owned(), 0),
        };
        let keep_from = self.pending.len() - rest;
        self.pending.drain(..keep_from);
        text
    }

    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_tokens_is_held_back() {
        let mut s = Utf8Stream::default();
        let bytes = "é€".as_bytes();
        assert_eq!(s.push(&bytes[..1]), "");
        assert_eq!(s.push(&bytes[1..3]), "é");
        assert_eq!(s.push(&bytes[3..]), "€");
        assert_eq!(s.push(b"\xffa"), "\u{fffd}a");
        assert_eq!(s.push(&bytes[..1]), "");
        assert_eq!(s.finish(), "\u{fffd}");
    }

    #[test]
    fn json_tracker_ignores_brackets_in_strings() {
        let mut j = JsonTracker::default();
        j.feed(r#"{"a":"}]\"{","b":[1,{"#);
        assert!(!j.done);
        j.feed("}");
        assert!(j.at_item_boundary());
        assert_eq!(j.closing_text(), Some("]}"));
        j.feed(",{\"a\":\"x");
        assert_eq!(j.closing_text(), None, "inside a string");
        j.feed("\"");
        assert_eq!(j.closing_text(), Some("}]}"));
        j.feed("} ]");
        assert!(!j.done && !j.at_item_boundary());
        j.feed("}");
        assert!(j.done);
    }
}
