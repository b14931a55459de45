//! The engine thread's worker: fit the prompt, decode it, sample until the
//! JSON closes, and turn the text into typed assistance.

use super::fit::{FitError, Fitted, Prompter};
use super::prefix::{even_chunks, PrefixCache, MIN_SEGMENT};
use super::sampler::{allowed, sampler_chain, TokenSampler};
use super::stream::{JsonTracker, Utf8Stream};
use super::{llama, EngineError, Setup, Shared, Tuning};
use crate::assist::{
    schema, Assistance, EngineSettings, Event, EventSender, Kind, ModelInfo, Provenance, Request,
};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::sync::Arc;
use std::time::Instant;

/// Why one request did not produce assistance (sent as `Event::Failed`).
#[derive(Debug, thiserror::Error)]
enum GenError {
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error("llama.cpp decode failed: {0}")]
    Decode(String),
    #[error("generation stopped at max_tokens ({max_tokens}) before the JSON was complete; raise max_tokens. Raw output: {raw}")]
    MaxTokens { max_tokens: u32, raw: String },
    #[error(transparent)]
    Parse(#[from] schema::ParseError),
    #[error(transparent)]
    Grammar(#[from] EngineError),
}

/// Everything that lives on the engine thread.
pub(super) struct Worker<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    settings: EngineSettings,
    info: ModelInfo,
    events: EventSender,
    shared: Arc<Shared>,
    /// One grammar sampler per kind, reset per request.
    grammars: Vec<LlamaSampler>,
    sampler: TokenSampler,
    prompter: Prompter<'m>,
    tuning: Tuning,
    prefixes: PrefixCache,
}

enum Outcome {
    Done(Box<Assistance>),
    Cancelled,
}

impl<'m> Worker<'m> {
    pub fn new(model: &'m LlamaModel, setup: Setup) -> Result<Worker<'m>, EngineError> {
        let s = &setup.settings;
        let ctx = llama::new_context(model, s.n_ctx, s.n_threads)?;
        let batch = LlamaBatch::new(ctx.n_batch() as usize, 1);
        let grammars = Kind::ALL
            .iter()
            .map(|&k| llama::grammar_sampler(model, k))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ctx = ctx;
        llama::warm_up(model, &mut ctx)?;
        let mut sampler = TokenSampler::new(model.n_vocab());
        sampler.configure(&s.sampler);
        sampler.index_vocab(model);
        Ok(Worker {
            model,
            ctx,
            batch,
            sampler,
            prompter: Prompter::new(model, setup.prompts, &setup.settings),
            tuning: setup.tuning,
            prefixes: PrefixCache::default(),
            settings: setup.settings,
            info: setup.info,
            events: setup.events,
            shared: setup.shared,
            grammars,
        })
    }

    fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub fn serve(&mut self, req: Request) {
        let id = req.id;
        let event = if self.shared.is_cancelled(id) {
            Event::Cancelled { id }
        } else {
            match self.generate(&req) {
                Ok(Outcome::Done(assistance)) => Event::Done {
                    id,
                    assistance: assistance.into(),
                },
                Ok(Outcome::Cancelled) => Event::Cancelled { id },
                Err(e) => Event::Failed {
                    id,
                    error: e.to_string(),
                },
            }
        };
        self.shared.finish(id);
        self.send(event);
    }

    fn generate(&mut self, req: &Request) -> Result<Outcome, GenError> {
        let fitted = self.prompter.fit(req.kind, &req.task)?;
        self.send(Event::Started {
            id: req.id,
            prompt_tokens: fitted.tokens.len() as u32,
            truncated: fitted.truncated.clone(),
        });
        let t0 = Instant::now();
        let reused = self.decode_prompt(req.kind, &fitted)?;
        let prompt_ms = t0.elapsed().as_millis() as u64;
        self.shared.count(fitted.tokens.len(), reused);
        let t1 = Instant::now();
        let Some(gen) = self.sample_loop(req, fitted.tokens.len())? else {
            return Ok(Outcome::Cancelled);
        };
        let gen_ms = t1.elapsed().as_millis() as u64;
        if !gen.complete {
            return Err(GenError::MaxTokens {
                max_tokens: self.settings.max_tokens,
                raw: schema::clip(&gen.text, 600),
            });
        }
        let output = schema::parse(req.kind, &gen.text, &req.task)?;
        let template = self.prompter.prompts().template(req.kind);
        let provenance = Provenance {
            model: Some(self.info.clone()),
            served: None,
            tool: None,
            template_name: template.name.clone(),
            template_sha256: template.sha256.clone(),
            prompt_sha256: crate::hash::sha256_hex(fitted.text.as_bytes()),
            sampler: Some(self.settings.sampler.clone()),
            seed: req.seed,
            sample_seeds: Vec::new(),
            n_ctx: self.settings.n_ctx,
            n_threads: self.settings.n_threads,
            max_tokens: self.settings.max_tokens,
            crit_version: crate::VERSION.to_string(),
            prompt_tokens: fitted.tokens.len() as u32,
            gen_tokens: gen.tokens,
            prompt_ms,
            gen_ms,
        };
        Ok(Outcome::Done(Box::new(Assistance {
            output,
            raw: gen.text,
            provenance,
            truncated: fitted.truncated,
        })))
    }

    /// Decode the prompt into an empty cache, restoring the kind's cached
    /// prefix (or caching it) when the tuning allows. Returns how many
    /// prompt tokens were restored rather than decoded.
    fn decode_prompt(&mut self, kind: Kind, fitted: &Fitted) -> Result<usize, GenError> {
        let tokens = &fitted.tokens;
        self.ctx.clear_kv_cache();
        let mut done = 0;
        let mut reused = 0;
        if self.tuning.prefix_cache {
            reused = self.prefixes.restore(kind, &mut self.ctx, tokens);
            done = reused;
            if reused == 0 {
                let fixed = self.prompter.fixed_prefix(kind, tokens);
                if PrefixCache::worth_saving(fixed, tokens.len()) {
                    self.decode_tokens(&tokens[..fixed], 0, false)?;
                    self.prefixes.save(kind, &self.ctx, &tokens[..fixed]);
                    done = fixed;
                }
            }
        }
        self.decode_tokens(&tokens[done..], done, true)?;
        Ok(reused)
    }

    /// Decode `tokens` at positions from `start`, in batches of at most
    /// one micro-batch, as even as possible so none is shorter than it must
    /// be (see `prefix`: the batch size class changes the rounding); logits
    /// for the last token only when `logits` (the sampler reads them).
    fn decode_tokens(
        &mut self,
        tokens: &[LlamaToken],
        start: usize,
        logits: bool,
    ) -> Result<(), GenError> {
        let max = (self.ctx.n_ubatch() as usize).max(MIN_SEGMENT);
        let mut at = 0;
        for len in even_chunks(tokens.len(), max) {
            self.batch.clear();
            for (i, &tok) in tokens[at..at + len].iter().enumerate() {
                let k = at + i;
                self.batch
                    .add(
                        tok,
                        (start + k) as i32,
                        &[0],
                        logits && k + 1 == tokens.len(),
                    )
                    .map_err(|e| GenError::Decode(e.to_string()))?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| GenError::Decode(e.to_string()))?;
            at += len;
        }
        Ok(())
    }

    /// Sample until the JSON closes, an end token, max_tokens or cancel.
    /// `None` means cancelled.
    fn sample_loop(
        &mut self,
        req: &Request,
        n_prompt: usize,
    ) -> Result<Option<Generated>, GenError> {
        let model = self.model;
        let vocab = model.vocab();
        // Critiques and steps get this answer's grammar (quotes are its
        // segments); checks use the kind's grammar, reset.
        let mut own;
        let grammar = match (self.settings.sampler.grammar, req.kind) {
            (false, _) => None,
            (true, Kind::Checks) => {
                let g = &mut self.grammars[req.kind as usize];
                g.reset();
                Some(g)
            }
            (true, kind) => {
                own = llama::task_grammar(model, kind, &req.task)?;
                Some(&mut own)
            }
        };
        let mut chain = sampler_chain(&self.settings.sampler, model.n_vocab(), req.seed);
        let mut idx = self.batch.n_tokens() - 1;
        let mut pos = n_prompt as i32;
        let mut gen = Generated::default();
        let mut json = JsonTracker::default();
        let mut utf8 = Utf8Stream::default();
        let mut piece = Vec::with_capacity(32);
        let mut grammar = grammar;
        let mut decode_ns = 0u64;
        let (sampled0, rejected0, ns0) = (
            self.sampler.sampled,
            self.sampler.rejected,
            self.sampler.sample_ns,
        );
        // Below this many tokens left, lists close at the next item boundary.
        let reserve = self.settings.max_tokens / 3;
        while gen.tokens < self.settings.max_tokens {
            if self.shared.is_cancelled(req.id) {
                return Ok(None);
            }
            let left = self.settings.max_tokens - gen.tokens;
            let boost = close_boost(json.in_string, left, reserve);
            let tok =
                self.sampler
                    .sample(&self.ctx, idx, &mut chain, grammar.as_deref_mut(), boost);
            if vocab.is_eog(tok) {
                gen.complete = json.done || !self.settings.sampler.grammar;
                break;
            }
            gen.tokens += 1;
            piece.clear();
            vocab.token_to_piece_into(tok, &mut piece, false, None);
            let text = utf8.push(&piece);
            if !text.is_empty() {
                json.feed(&text);
                gen.text.push_str(&text);
                let _ = self.events.send(Event::Token { id: req.id, text });
            }
            if json.done {
                gen.complete = true;
                break;
            }
            // Low on budget: close the list as soon as the current item may
            // end (all its required fields written) or right after an item,
            // rather than start an item that cannot finish. The grammar
            // must accept the closing text; it is kept in `raw`.
            if self.settings.max_tokens - gen.tokens <= reserve {
                if let Some(close) = json.closing_text() {
                    if let Some((text, _forced)) =
                        force_text(model, close, grammar.as_deref_mut(), &mut chain)
                    {
                        // Forced tokens are not counted in gen_tokens: the
                        // model did not sample them and they are never decoded.
                        json.feed(&text);
                        gen.text.push_str(&text);
                        let _ = self.events.send(Event::Token { id: req.id, text });
                        gen.complete = json.done;
                        break;
                    }
                }
            }
            self.batch.clear();
            self.batch
                .add(tok, pos, &[0], true)
                .map_err(|e| GenError::Decode(e.to_string()))?;
            let td = Instant::now();
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| GenError::Decode(e.to_string()))?;
            decode_ns += td.elapsed().as_nanos() as u64;
            pos += 1;
            idx = 0;
        }
        gen.text.push_str(&utf8.finish());
        tracing::debug!(
            id = req.id,
            kind = req.kind.name(),
            sampled = self.sampler.sampled - sampled0,
            grammar_rejected = self.sampler.rejected - rejected0,
            sample_ms = (self.sampler.sample_ns - ns0) / 1_000_000,
            decode_ms = decode_ns / 1_000_000,
            "generation finished"
        );
        Ok(Some(gen))
    }
}

/// Inside a string with less than `reserve` tokens left, nudge the model to
/// end the string, harder as the budget runs out, so the item it is writing
/// can finish before max_tokens (then the list is closed). Only the odds
/// change: the model still writes every character.
fn close_boost(in_string: bool, left: u32, reserve: u32) -> f32 {
    if !in_string || reserve == 0 || left > reserve {
        return 0.0;
    }
    1.0 + 9.0 * (1.0 - left as f32 / reserve as f32)
}

/// Feed `text` as forced tokens if the grammar allows them (no decode is
/// needed: nothing is generated after them). Returns the text and count.
fn force_text(
    model: &LlamaModel,
    text: &str,
    mut grammar: Option<&mut LlamaSampler>,
    chain: &mut LlamaSampler,
) -> Option<(String, u32)> {
    let tokens = model.vocab().tokenize(text.as_bytes(), false, false);
    if let Some(g) = grammar.as_deref_mut() {
        // Check the whole sequence on a copy before committing to it.
        let mut probe = g.clone();
        for &t in &tokens {
            if !allowed(&mut probe, t) {
                return None;
            }
            probe.accept(t);
        }
    }
    for &t in &tokens {
        if let Some(g) = grammar.as_deref_mut() {
            g.accept(t);
        }
        chain.accept(t);
    }
    Some((text.to_string(), tokens.len() as u32))
}

#[derive(Default)]
struct Generated {
    text: String,
    tokens: u32,
    /// The top-level JSON value closed (or an end token without grammar).
    complete: bool,
}
