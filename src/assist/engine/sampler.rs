//! The sampler chain and the token sampler: the chain on a prefiltered
//! candidate set, with the grammar checked on the sampled token only.

use crate::assist::SamplerSettings;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// llama.cpp's usual order: penalties, top-k, top-p, min-p, temperature,
/// then a seeded draw (greedy when temperature <= 0).
pub fn sampler_chain(s: &SamplerSettings, n_vocab: i32, seed: u32) -> LlamaSampler {
    let mut chain = vec![LlamaSampler::penalties(
        n_vocab,
        s.repeat_last_n,
        s.repeat_penalty,
        0.0,
        0.0,
    )];
    if s.top_k > 0 {
        chain.push(LlamaSampler::top_k(s.top_k));
    }
    if s.top_p < 1.0 {
        chain.push(LlamaSampler::top_p(s.top_p, 1));
    }
    if s.min_p > 0.0 {
        chain.push(LlamaSampler::min_p(s.min_p, 1));
    }
    if s.temperature > 0.0 {
        chain.push(LlamaSampler::temp(s.temperature));
        chain.push(LlamaSampler::dist(seed));
    } else {
        chain.push(LlamaSampler::greedy());
    }
    LlamaSampler::chain(chain, true)
}

/// Picks the next token with the chain and the grammar, reusing buffers.
///
/// Speed-up over running the chain on the full vocabulary: penalties only
/// lower the logits of at most `repeat_last_n` distinct tokens, so the top
/// `top_k` after penalties are always among the top `top_k + repeat_last_n`
/// raw logits. Running the chain on those gives the same draw.
pub struct TokenSampler {
    n_vocab: usize,
    prefilter: Option<usize>,
    index: Option<VocabIndex>,
    cur: LlamaTokenDataArray,
    heap: BinaryHeap<Reverse<Cand>>,
    /// Tokens sampled, tokens whose grammar check failed, and time spent
    /// sampling (logged per request, for tuning).
    pub sampled: u64,
    pub rejected: u64,
    pub sample_ns: u64,
}

#[derive(Clone, Copy, PartialEq)]
struct Cand(f32, i32);
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

impl TokenSampler {
    pub fn new(n_vocab: i32) -> TokenSampler {
        TokenSampler {
            n_vocab: n_vocab.max(0) as usize,
            prefilter: None,
            index: None,
            cur: LlamaTokenDataArray::new(Vec::with_capacity(n_vocab.max(0) as usize), false),
            heap: BinaryHeap::new(),
            sampled: 0,
            rejected: 0,
            sample_ns: 0,
        }
    }

    /// Enable the exact top-k prefilter for these settings.
    pub fn configure(&mut self, s: &SamplerSettings) {
        self.prefilter = (s.top_k > 0)
            .then(|| s.top_k as usize + s.repeat_last_n.max(0) as usize)
            .filter(|&n| n < self.n_vocab);
    }

    /// Sample the token at output `idx`; the chain and the grammar each
    /// accept it exactly once.
    /// `close_boost` > 0 raises the logits of tokens that start with `"`
    /// (ending the current string) by that much.
    pub fn sample(
        &mut self,
        ctx: &LlamaContext<'_>,
        idx: i32,
        chain: &mut LlamaSampler,
        grammar: Option<&mut LlamaSampler>,
        close_boost: f32,
    ) -> LlamaToken {
        let t0 = Instant::now();
        self.sampled += 1;
        let logits = ctx.get_logits_ith(idx);
        if close_boost > 0.0 && self.index.is_some() {
            // Full vocabulary: boosted tokens may lie outside the prefilter.
            self.fill(logits, None);
            let quotes = self
                .index
                .as_ref()
                .map_or(&[][..], |i| &i.by_first[b'"' as usize]);
            for t in quotes {
                let d = &mut self.cur.data[t.0 as usize];
                d.set_logit(d.logit() + close_boost);
            }
        } else {
            self.fill(logits, self.prefilter);
        }
        chain.apply(&mut self.cur);
        let mut tok = self.selected();
        if let Some(g) = grammar {
            if !allowed(g, tok) {
                self.rejected += 1;
                tok = self.resample(logits, chain, g);
            }
            g.accept(tok);
        }
        chain.accept(tok);
        self.sample_ns += t0.elapsed().as_nanos() as u64;
        tok
    }

    /// The sampled token broke the grammar: sample again among the tokens
    /// the grammar allows, with the same result as masking the whole
    /// vocabulary (llama.cpp's way) but without checking every token:
    /// 1. grammar on the top `RESAMPLE_TOP` logits; if at least
    ///    `top_k + repeat_last_n` survive, they contain the chain's top-k of
    ///    all allowed tokens (same argument as the prefilter);
    /// 2. otherwise grammar on the tokens whose first byte the grammar
    ///    accepts (probed with one-byte tokens; a token can only be allowed
    ///    if its first character is), plus those the probe cannot rule out.
    fn resample(
        &mut self,
        logits: &[f32],
        chain: &mut LlamaSampler,
        g: &mut LlamaSampler,
    ) -> LlamaToken {
        if let Some(need) = self.prefilter {
            self.fill(logits, Some(RESAMPLE_TOP.max(need)));
            g.apply(&mut self.cur);
            self.cur.data.retain(|d| d.logit() != f32::NEG_INFINITY);
            if self.cur.data.len() >= need {
                chain.apply(&mut self.cur);
                return self.selected();
            }
        }
        match self.index.take() {
            Some(index) => {
                index.fill_plausible(logits, g, &mut self.cur);
                self.index = Some(index);
            }
            None => self.fill(logits, None),
        }
        g.apply(&mut self.cur);
        self.cur.data.retain(|d| d.logit() != f32::NEG_INFINITY);
        self.cur.selected = None;
        if self.cur.data.is_empty() {
            return self.index.as_ref().map_or(LlamaToken(0), |i| i.eos);
        }
        chain.apply(&mut self.cur);
        self.selected()
    }

    /// Index the vocabulary by first byte (enables the cheap resample).
    pub fn index_vocab(&mut self, model: &LlamaModel) {
        self.index = Some(VocabIndex::new(model));
    }

    fn selected(&self) -> LlamaToken {
        self.cur
            .selected_token()
            .or_else(|| self.cur.data.first().map(LlamaTokenData::id))
            .unwrap_or(LlamaToken(0))
    }

    fn fill(&mut self, logits: &[f32], top: Option<usize>) {
        let data = &mut self.cur.data;
        data.clear();
        match top {
            None => data.extend(
                logits
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| LlamaTokenData::new(LlamaToken(i as i32), l, 0.0)),
            ),
            Some(n) => {
                self.heap.clear();
                for (i, &l) in logits.iter().enumerate() {
                    if self.heap.len() < n {
                        self.heap.push(Reverse(Cand(l, i as i32)));
                    } else if l > self.heap.peek().map_or(f32::NEG_INFINITY, |m| m.0 .0) {
                        *self.heap.peek_mut().unwrap() = Reverse(Cand(l, i as i32));
                    }
                }
                data.extend(
                    self.heap
                        .drain()
                        .map(|Reverse(Cand(l, i))| LlamaTokenData::new(LlamaToken(i), l, 0.0)),
                );
            }
        }
        self.cur.selected = None;
        self.cur.sorted = false;
    }
}

/// Candidates considered first when the grammar rejects the sampled token.
const RESAMPLE_TOP: usize = 512;

/// The vocabulary grouped by the first byte of each token's text (as the
/// grammar sees it), with the one-byte token for each ASCII byte.
struct VocabIndex {
    by_first: Vec<Vec<LlamaToken>>,
    /// One-byte token per ASCII byte, used to probe the grammar.
    probes: Vec<(u8, LlamaToken)>,
    /// End-of-generation, empty and special tokens: always checked.
    always: Vec<LlamaToken>,
    eos: LlamaToken,
}

impl VocabIndex {
    fn new(model: &LlamaModel) -> VocabIndex {
        let vocab = model.vocab();
        let mut by_first = vec![Vec::new(); 256];
        let mut probes = Vec::new();
        let mut always = Vec::new();
        let mut piece = Vec::with_capacity(32);
        for id in 0..model.n_vocab() {
            let tok = LlamaToken(id);
            piece.clear();
            vocab.token_to_piece_into(tok, &mut piece, true, None);
            match piece.first() {
                Some(&b) if !vocab.is_eog(tok) && b != 0 => {
                    by_first[b as usize].push(tok);
                    if piece.len() == 1 && b.is_ascii() {
                        probes.push((b, tok));
                    }
                }
                _ => always.push(tok),
            }
        }
        probes.sort_by_key(|p| p.0);
        probes.dedup_by_key(|p| p.0);
        VocabIndex {
            by_first,
            probes,
            always,
            eos: vocab.eos(),
        }
    }

    /// Fill `cur` with every token the grammar might allow now.
    fn fill_plausible(&self, logits: &[f32], g: &mut LlamaSampler, cur: &mut LlamaTokenDataArray) {
        let mut ok = [true; 256];
        let mut probe = LlamaTokenDataArray::new(
            self.probes
                .iter()
                .map(|&(_, t)| LlamaTokenData::new(t, 0.0, 0.0))
                .collect(),
            false,
        );
        g.apply(&mut probe);
        for (&(b, t), d) in self.probes.iter().zip(&probe.data) {
            if d.id() == t {
                ok[b as usize] = d.logit() != f32::NEG_INFINITY;
            }
        }
        let data = &mut cur.data;
        data.clear();
        let with_logit = |t: &LlamaToken| LlamaTokenData::new(*t, logits[t.0 as usize], 0.0);
        for (b, toks) in self.by_first.iter().enumerate() {
            if ok[b] {
                data.extend(toks.iter().map(with_logit));
            }
        }
        data.extend(self.always.iter().map(with_logit));
        cur.selected = None;
        cur.sorted = false;
    }
}

/// Does the grammar allow `tok` next? (Applies it to a one-token array.)
pub(super) fn allowed(grammar: &mut LlamaSampler, tok: LlamaToken) -> bool {
    let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(tok, 1.0, 0.0)], false);
    grammar.apply(&mut one);
    one.data
        .first()
        .is_some_and(|d| d.logit() != f32::NEG_INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_keeps_the_top_candidates() {
        let mut s = TokenSampler::new(10);
        let logits = [0.0, 5.0, 1.0, 9.0, 3.0, 8.0, 2.0, 7.0, 4.0, 6.0];
        s.fill(&logits, Some(3));
        let mut ids: Vec<i32> = s.cur.data.iter().map(|d| d.id().0).collect();
        ids.sort();
        assert_eq!(ids, vec![3, 5, 7]);
        s.fill(&logits, None);
        assert_eq!(s.cur.data.len(), 10);
    }
}
