//! Each kind's fixed prompt prefix (system message and worked example),
//! decoded once per engine and restored for every request of that kind, so
//! a request only decodes its task's own tokens.
//!
//! A prefix is kept as a saved sequence state (the KV cells of its tokens).
//! Restoring it into an empty cache puts the same values in the same cells
//! that decoding it would, so what follows computes exactly as if the whole
//! prompt had been decoded: same logits, same sampled tokens (the engine
//! tests check this on the real model). A snapshot is used only when its
//! tokens are a prefix of the request's tokens, so a template whose system
//! text depends on the task simply gets no reuse.
//!
//! One condition makes this exact: llama.cpp's CPU flash attention takes a
//! different kernel (and rounds differently) for a batch of fewer than 64
//! prompt tokens, so every prompt token must be decoded in a batch of at
//! least `MIN_SEGMENT`, cached or not: both the prefix and the rest must be
//! that long, and `Worker::decode_tokens` never leaves a short batch.

use crate::assist::Kind;
use llama_cpp_2::context::session::{LlamaStateSeqFlags, SeqState};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::token::LlamaToken;

/// Fewest prompt tokens decoded in one batch: ggml's flash-attention query
/// tile (`GGML_FA_TILE_Q`); below it the CPU backend uses another kernel.
pub(super) const MIN_SEGMENT: usize = 64;

struct Snapshot {
    tokens: Vec<LlamaToken>,
    state: SeqState,
}

/// One snapshot per kind.
#[derive(Default)]
pub(super) struct PrefixCache {
    snapshots: [Option<Snapshot>; 3],
}

impl PrefixCache {
    /// Restore the kind's prefix into the (cleared) cache if it starts
    /// `tokens` and leaves at least one token to decode. Returns how many
    /// tokens are now in the cache (0: nothing restored).
    pub fn restore(&self, kind: Kind, ctx: &mut LlamaContext<'_>, tokens: &[LlamaToken]) -> usize {
        let Some(snap) = &self.snapshots[kind as usize] else {
            return 0;
        };
        let n = snap.tokens.len();
        if !Self::worth_saving(n, tokens.len()) || tokens[..n] != snap.tokens[..] {
            return 0;
        }
        match ctx.state_seq_set(&snap.state, 0) {
            Ok(()) => n,
            Err(e) => {
                tracing::warn!("restoring the {} prompt prefix failed: {e}", kind.name());
                ctx.clear_kv_cache();
                0
            }
        }
    }

    /// Can a prompt of `prompt_len` tokens be split after `len` (both
    /// parts long enough to decode exactly as the whole)?
    pub fn worth_saving(len: usize, prompt_len: usize) -> bool {
        len >= MIN_SEGMENT && prompt_len >= len + MIN_SEGMENT
    }

    /// Keep the cache's sequence 0 (holding exactly `tokens`) as the kind's
    /// prefix.
    pub fn save(&mut self, kind: Kind, ctx: &LlamaContext<'_>, tokens: &[LlamaToken]) {
        match ctx.state_seq_get(0, LlamaStateSeqFlags::empty()) {
            Ok(state) => {
                tracing::debug!(
                    kind = kind.name(),
                    tokens = tokens.len(),
                    bytes = state.byte_len(),
                    "prompt prefix saved"
                );
                self.snapshots[kind as usize] = Some(Snapshot {
                    tokens: tokens.to_vec(),
                    state,
                });
            }
            Err(e) => tracing::warn!("saving the {} prompt prefix failed: {e}", kind.name()),
        }
    }
}

/// Length of the common prefix of two token sequences.
pub(super) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Split `n` into the fewest chunks of at most `max`, as even as possible.
pub(super) fn even_chunks(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let chunks = n.div_ceil(max.max(1));
    (0..chunks).map(move |c| n / chunks + usize::from(c < n % chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_even_and_bounded() {
        assert_eq!(even_chunks(571, 512).collect::<Vec<_>>(), vec![286, 285]);
        assert_eq!(even_chunks(512, 512).collect::<Vec<_>>(), vec![512]);
        assert_eq!(
            even_chunks(1025, 512).collect::<Vec<_>>(),
            vec![342, 342, 341]
        );
        assert_eq!(even_chunks(0, 512).count(), 0);
        assert!(PrefixCache::worth_saving(64, 128));
        assert!(!PrefixCache::worth_saving(64, 127));
        assert!(!PrefixCache::worth_saving(63, 500));
    }
}
