//! Locating quoted text in an answer: the quotes a model may choose from
//! (the answer's own segments, so generated critiques are anchored by
//! construction), and a loose search used only for imported critiques.

use crate::task::segment::segment;
use crate::task::Span;

/// Budget for all quote choices of one answer, in bytes: keeps the schema
/// and its grammar bounded for long answers.
const CHOICES_BUDGET: usize = 6000;
/// Bounds on one choice's length: a long segment is offered as a prefix.
const CHOICE_MIN: usize = 24;
const CHOICE_MAX: usize = 120;
/// Segments offered at most: a critique points into the first ones of a
/// very long answer (the prompt shows only a prefix of it anyway).
const MAX_CHOICES: usize = 400;

/// The quotes a model may write for one answer, one per segment: the
/// segment's text, or a verbatim prefix of it when it is long. Choosing a
/// quote chooses its whole segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choices {
    pub texts: Vec<String>,
    pub spans: Vec<Span>,
}

impl Choices {
    /// Choices for `answer`, segmented by `task::segment` (`steps` are the
    /// task's own boundaries, when it has them).
    pub fn new(answer: &str, steps: Option<&[Span]>) -> Choices {
        let spans: Vec<Span> = segment(answer, steps).spans().take(MAX_CHOICES).collect();
        let cap = (CHOICES_BUDGET / spans.len().max(1)).clamp(CHOICE_MIN, CHOICE_MAX);
        let mut texts: Vec<String> = Vec::with_capacity(spans.len());
        for span in &spans {
            let whole = &answer[span.start..span.end];
            // Lengthen a prefix that equals an earlier choice, so each
            // choice names one segment (identical segments stay equal and
            // name the first).
            let mut len = cap;
            let mut text = prefix(whole, len);
            while texts.contains(&text) && text.len() < whole.len() {
                len += cap;
                text = prefix(whole, len);
            }
            texts.push(text);
        }
        Choices { texts, spans }
    }

    /// The span of the segment `quote` names, if it is one of the choices.
    pub fn resolve(&self, quote: &str) -> Option<Span> {
        let i = self.texts.iter().position(|t| t == quote)?;
        Some(self.spans[i])
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

/// At most `max` bytes of `s`, cut on a char boundary.
fn prefix(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Find `quote` in `answer`: exactly first, then ignoring case and runs of
/// whitespace. Returns a byte span on char boundaries, or `None`.
pub fn find(answer: &str, quote: &str) -> Option<Span> {
    let quote_trim = quote.trim().trim_matches('"').trim();
    if quote_trim.is_empty() {
        return None;
    }
    if let Some(start) = answer.find(quote_trim) {
        return Some(Span {
            start,
            end: start + quote_trim.len(),
        });
    }
    find_loose(answer, quote_trim)
}

/// Whitespace- and case-insensitive search, mapping back to original bytes.
fn find_loose(answer: &str, quote: &str) -> Option<Span> {
    let (norm, map) = normalize(answer);
    let (q, _) = normalize(quote);
    if q.is_empty() {
        return None;
    }
    let pos = norm.find(&q)?;
    let start = map[pos];
    let last = pos + q.len() - 1;
    let end_char_start = map[last];
    let end = end_char_start + answer[end_char_start..].chars().next()?.len_utf8();
    Some(Span { start, end })
}

/// Lowercased text with whitespace runs folded to one space, and for each
/// byte of it the byte offset in the original.
fn normalize(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    let mut last_space = true;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
                map.push(i);
            }
            last_space = true;
            continue;
        }
        last_space = false;
        for lc in c.to_lowercase() {
            let before = out.len();
            out.push(lc);
            map.extend(std::iter::repeat_n(i, out.len() - before));
        }
    }
    if out.ends_with(' ') {
        out.pop();
        map.pop();
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_loose_matches() {
        let a = "She sells  16 - 3 = 13\neggs, for $2 each.";
        assert_eq!(find(a, "16 - 3 = 13"), Some(Span { start: 11, end: 22 }));
        let s = find(a, "13 EGGS,").unwrap();
        assert_eq!(&a[s.start..s.end], "13\neggs,");
        let s = find(a, "\"for $2\"").unwrap();
        assert_eq!(&a[s.start..s.end], "for $2");
        assert_eq!(find(a, "seventeen"), None);
        assert_eq!(find(a, "  "), None);
    }

    #[test]
    fn choices_are_segments_clipped_unique_and_resolve_to_spans() {
        let a = "First line here.\nSecond line, which is long: ".to_string() + &"x".repeat(300);
        let c = Choices::new(&a, None);
        assert_eq!(c.texts.len(), 2);
        assert_eq!(c.texts[0], "First line here.");
        assert_eq!(c.texts[1].len(), CHOICE_MAX);
        assert!(a.contains(&c.texts[1]), "a choice is verbatim");
        let s = c.resolve(&c.texts[1]).unwrap();
        assert_eq!(s.end, a.len(), "a prefix chooses its whole segment");
        assert_eq!(c.resolve("First line"), None);

        // Many lines sharing a long prefix: each still names its own line.
        let lines: Vec<String> = (0..400)
            .map(|i| format!("{} {i}", "same ".repeat(10)))
            .collect();
        let a = lines.join("\n");
        let c = Choices::new(&a, None);
        let unique: std::collections::HashSet<_> = c.texts.iter().collect();
        assert_eq!(unique.len(), 400);
        for (t, s) in c.texts.iter().zip(&c.spans) {
            assert!(a[s.start..s.end].starts_with(t.as_str()));
        }
        assert!(Choices::new("", None).is_empty());
    }

    #[test]
    fn multibyte_text_keeps_char_boundaries() {
        let a = "Janet’s ducks lay ÉGGS";
        let s = find(a, "éggs").unwrap();
        assert_eq!(&a[s.start..s.end], "ÉGGS");
    }
}
