//! String escapes in model output: what the grammar allows, and what a
//! server's or an older log's JSON meant.

/// Restrict a grammar from llama.cpp's JSON-schema converter so strings
/// can escape only `\\`, `\"`, `\n` and `\uXXXX`: a model writing LaTeX
/// (`\frac`, `\times`, `\binom`) cannot produce a form feed, tab or
/// backspace by accident; it must write `\\frac`, which decodes as written.
pub fn plain_escapes(gbnf: &str) -> String {
    gbnf.replace(r#"["\\bfnrt]"#, r#"["\\n]"#)
}

/// Keep backslashes as written where a JSON escape was surely not meant:
/// LaTeX such as `\frac`, `\times`, `\binom`, `\rho` (a `\b`, `\f`, `\t` or
/// `\r` escape followed by a letter) and escapes JSON does not have
/// (`\(`, `\sqrt`). `\n` is left alone: a newline before a word is common.
/// The local engine's grammar already rules these out; this covers
/// servers and older logs.
pub fn keep_backslashes(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('\\') {
        return raw.into();
    }
    let mut out = String::with_capacity(raw.len() + 8);
    let mut in_string = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            in_string = !in_string;
            continue;
        }
        if c != '\\' || !in_string {
            continue;
        }
        let Some(&next) = chars.peek() else { break };
        let ahead: Vec<char> = chars.clone().skip(1).take(4).collect();
        let meant = match next {
            '"' | '\\' | '/' | 'n' => true,
            'b' | 'f' | 't' | 'r' => !ahead.first().is_some_and(|a| a.is_ascii_alphabetic()),
            'u' => ahead.len() == 4 && ahead.iter().all(|a| a.is_ascii_hexdigit()),
            _ => false,
        };
        if !meant {
            out.push('\\');
        } else {
            out.push(next);
            chars.next();
        }
    }
    out.into()
}
