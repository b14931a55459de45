//! Prompt tokenization that keeps data out of the control channel.
//!
//! llama.cpp's tokenizer, asked to parse special tokens, turns any
//! `<|im_start|>` in the text into the real control token. crit asks it
//! only for the chat template's own text: special tokens are located in
//! `Part::Template` pieces here (longest match first, as llama.cpp does,
//! honouring the tokens' whitespace-stripping flags), and every run of text
//! between them, message text included, is tokenized with special parsing
//! off. For text without special-token spellings the result is the same
//! token sequence as tokenizing the whole prompt with parsing on.

use crate::assist::chat::{ChatPrompt, Part};
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token_type::LlamaTokenAttr;

/// A special token as the chat template spells it.
struct Special {
    text: String,
    token: LlamaToken,
    /// Eat whitespace before / after it (llama.cpp's LSTRIP / RSTRIP).
    lstrip: bool,
    rstrip: bool,
}

/// The vocabulary's special tokens, read once per model.
pub struct Tokenizer {
    /// Longest spelling first.
    specials: Vec<Special>,
    /// Bytes a special token's spelling starts with.
    first: [bool; 256],
}

/// Is this a special token (control, user-defined, unknown or end of
/// generation) rather than ordinary text?
pub fn is_special(model: &LlamaModel, token: LlamaToken) -> bool {
    let vocab = model.vocab();
    let attr = vocab.attr(token);
    vocab.is_eog(token)
        || attr.contains(LlamaTokenAttr::Control)
        || attr.contains(LlamaTokenAttr::UserDefined)
        || attr.contains(LlamaTokenAttr::Unknown)
}

impl Tokenizer {
    pub fn new(model: &LlamaModel) -> Tokenizer {
        let vocab = model.vocab();
        let mut specials = Vec::new();
        for id in 0..model.n_vocab() {
            let token = LlamaToken(id);
            let attr = vocab.attr(token);
            if !attr.contains(LlamaTokenAttr::Control)
                && !attr.contains(LlamaTokenAttr::UserDefined)
            {
                continue;
            }
            let text = vocab.text(token).and_then(|t| t.to_str().ok());
            if let Some(text) = text.filter(|t| !t.is_empty()) {
                specials.push(Special {
                    text: text.to_string(),
                    token,
                    lstrip: attr.contains(LlamaTokenAttr::LStrip),
                    rstrip: attr.contains(LlamaTokenAttr::RStrip),
                });
            }
        }
        specials.sort_by_key(|s| std::cmp::Reverse(s.text.len()));
        let mut first = [false; 256];
        for s in &specials {
            first[s.text.as_bytes()[0] as usize] = true;
        }
        Tokenizer { specials, first }
    }

    /// Tokens of a chat prompt: special tokens only where the chat template
    /// wrote them; BOS/EOS as the model asks for them.
    pub fn prompt(&self, model: &LlamaModel, prompt: &ChatPrompt) -> Vec<LlamaToken> {
        self.tokens(model, &prompt.parts, true)
    }

    /// Tokens of the parts; `add_special` adds BOS/EOS as the model asks.
    fn tokens(&self, model: &LlamaModel, parts: &[Part], add_special: bool) -> Vec<LlamaToken> {
        let vocab = model.vocab();
        let mut out = Vec::new();
        if add_special && vocab.should_add_bos() {
            out.push(vocab.bos());
        }
        let mut raw = String::new();
        let mut strip_next = false;
        for part in parts {
            let text = part.text();
            match part {
                Part::Message(_) => push_raw(&mut raw, text, &mut strip_next),
                Part::Template(_) => {
                    let mut at = 0;
                    while let Some((pos, s)) = self.next_special(text, at) {
                        push_raw(&mut raw, &text[at..pos], &mut strip_next);
                        if s.lstrip {
                            raw.truncate(raw.trim_end().len());
                        }
                        self.flush(model, &raw, &mut out);
                        raw.clear();
                        out.push(s.token);
                        strip_next = s.rstrip;
                        at = pos + s.text.len();
                    }
                    push_raw(&mut raw, &text[at..], &mut strip_next);
                }
            }
        }
        self.flush(model, &raw, &mut out);
        if add_special && vocab.should_add_eos() {
            out.push(vocab.eos());
        }
        out
    }

    /// Plain text (data) as tokens: special-token spellings stay text.
    pub fn plain(&self, model: &LlamaModel, text: &str) -> Vec<LlamaToken> {
        let mut out = Vec::new();
        self.flush(model, text, &mut out);
        out
    }

    /// Byte length of each token of `text` tokenized as plain text.
    pub fn piece_lens(&self, model: &LlamaModel, text: &str) -> Vec<usize> {
        let vocab = model.vocab();
        let mut piece = Vec::with_capacity(64);
        self.plain(model, text)
            .into_iter()
            .map(|t| {
                piece.clear();
                vocab.token_to_piece_into(t, &mut piece, false, None);
                piece.len()
            })
            .collect()
    }

    /// The leftmost special token in `text` from byte `from`; the longest
    /// one where several start at the same place. Linear in the text.
    fn next_special<'s>(&'s self, text: &str, from: usize) -> Option<(usize, &'s Special)> {
        let bytes = text.as_bytes();
        (from..bytes.len())
            .filter(|&i| self.first[bytes[i] as usize])
            .find_map(|i| {
                let here = &bytes[i..];
                self.specials
                    .iter()
                    .find(|s| here.starts_with(s.text.as_bytes()))
                    .map(|s| (i, s))
            })
    }

    /// Tokenize the text gathered so far with special parsing off. Some
    /// vocabularies still match user-defined tokens in plain text; such a
    /// run is split until no piece spells one.
    fn flush(&self, model: &LlamaModel, raw: &str, out: &mut Vec<LlamaToken>) {
        if raw.is_empty() {
            return;
        }
        let tokens = model.vocab().tokenize(raw.as_bytes(), false, false);
        if tokens.iter().any(|&t| is_special(model, t)) {
            self.split_plain(model, raw, out);
        } else {
            out.extend(tokens);
        }
    }

    /// Tokenize `text` in pieces, each cut inside a special-token spelling
    /// (after its first character), so no piece spells a whole one.
    fn split_plain(&self, model: &LlamaModel, text: &str, out: &mut Vec<LlamaToken>) {
        let mut at = 0;
        while let Some((pos, s)) = self.next_special(text, at) {
            let first_char = s.text.chars().next().map_or(1, char::len_utf8);
            let end = pos + first_char;
            out.extend(
                model
                    .vocab()
                    .tokenize(&text.as_bytes()[at..end], false, false),
            );
            at = end;
        }
        if at < text.len() {
            out.extend(model.vocab().tokenize(&text.as_bytes()[at..], false, false));
        }
    }
}

/// Append text to the pending run, dropping its leading whitespace when the
/// special token before it strips to the right.
fn push_raw(raw: &mut String, text: &str, strip_next: &mut bool) {
    let text = if *strip_next { text.trim_start() } else { text };
    if !text.is_empty() {
        *strip_next = false;
    }
    raw.push_str(text);
}
