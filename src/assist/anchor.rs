//! Locating quoted text in an answer.

use crate::task::Span;

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
    fn multibyte_text_keeps_char_boundaries() {
        let a = "Janet’s ducks lay ÉGGS";
        let s = find(a, "éggs").unwrap();
        assert_eq!(&a[s.start..s.end], "ÉGGS");
    }
}
