//! The engine thread's worker: fit the prompt, decode it, sample until the
//! JSON closes, and turn the text into typed assistance.

use super::sampler::{allowed, sampler_chain, TokenSampler};
use super::stream::{JsonTracker, Utf8Stream};
use super::tokens::Tokenizer;
use super::truncate;
use super::{llama, EngineError, Setup, Shared};
use crate::assist::prompt::{self, Prompts};
use crate::assist::{
    schema, Assistance, EngineSettings, Event, EventSender, Kind, ModelInfo, Provenance, Request,
    Truncation,
};
use crate::task::Task;
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
    Prompt(#[from] prompt::PromptError),
    #[error("the prompt needs {needed} tokens even with the answer cut to nothing, but only {budget} fit (n_ctx {n_ctx} - max_tokens {max_tokens}); raise n_ctx or lower max_tokens")]
    PromptTooLong {
        needed: usize,
        budget: usize,
        n_ctx: u32,
        max_tokens: u32,
    },
    #[error("llama.cpp decode failed: {0}")]
    Decode(String),
    #[error("generation stopped at max_tokens ({max_tokens}) before the JSON was complete; raise max_tokens. Raw output: {raw}")]
    MaxTokens { max_tokens: u32, raw: String },
    #[error(transparent)]
    Parse(#[from] schema::ParseError),
}

/// Everything that lives on the engine thread.
pub(super) struct Worker<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    settings: EngineSettings,
    prompts: Prompts,
    info: ModelInfo,
    events: EventSender,
    shared: Arc<Shared>,
    /// One grammar sampler per kind, reset per request.
    grammars: Vec<LlamaSampler>,
    sampler: TokenSampler,
    tokenizer: Tokenizer,
}

enum Outcome {
    Done(Box<Assistance>),
    Cancelled,
}

/// A prompt that fits the context.
struct Fitted {
    /// The rendered prompt (hashed for provenance).
    text: String,
    tokens: Vec<LlamaToken>,
    truncated: Option<Truncation>,
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
            tokenizer: Tokenizer::new(model),
            settings: setup.settings,
            prompts: setup.prompts,
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
                Ok(Outcome::Done(assistance)) => Event::Done { id, assistance },
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
        let fitted = self.fit(req.kind, &req.task)?;
        self.send(Event::Started {
            id: req.id,
            prompt_tokens: fitted.tokens.len() as u32,
            truncated: fitted.truncated.clone(),
        });
        let t0 = Instant::now();
        self.decode_prompt(&fitted.tokens)?;
        let prompt_ms = t0.elapsed().as_millis() as u64;
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
        let template = self.prompts.template(req.kind);
        let provenance = Provenance {
            model: self.info.clone(),
            template_name: template.name.clone(),
            template_sha256: template.sha256.clone(),
            prompt_sha256: crate::hash::sha256_hex(fitted.text.as_bytes()),
            sampler: self.settings.sampler.clone(),
            seed: req.seed,
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

    fn render(&self, kind: Kind, task: &Task) -> Result<Fitted, GenError> {
        let msgs = self.prompts.render(kind, task)?;
        let prompt = prompt::chat_parts(self.model, &msgs)?;
        let tokens = self.tokenizer.prompt(self.model, &prompt);
        Ok(Fitted {
            text: prompt.text(),
            tokens,
            truncated: None,
        })
    }

    /// Render the prompt; when it leaves less than `max_tokens` of context,
    /// cut the answer (visibly, with a note in the prompt) until it fits.
    fn fit(&self, kind: Kind, task: &Task) -> Result<Fitted, GenError> {
        let budget = (self.settings.n_ctx - self.settings.max_tokens) as usize;
        let fit = truncate::fit(
            task,
            budget,
            |t| {
                let fitted = self.render(kind, t)?;
                let n = fitted.tokens.len();
                Ok::<_, GenError>((fitted, n))
            },
            |text| self.tokenizer.piece_lens(self.model, text),
        )?;
        match fit {
            truncate::Fit::Fits(fitted, None) => Ok(fitted),
            truncate::Fit::Fits(fitted, Some(cut)) => {
                tracing::warn!(task = %task.id, kept_bytes = cut.kept_bytes, total = cut.total_bytes, "answer truncated to fit the context");
                Ok(Fitted {
                    truncated: Some(cut),
                    ..fitted
                })
            }
            truncate::Fit::TooLong { needed } => Err(GenError::PromptTooLong {
                needed,
                budget,
                n_ctx: self.settings.n_ctx,
                max_tokens: self.settings.max_tokens,
            }),
        }
    }

    fn decode_prompt(&mut self, tokens: &[LlamaToken]) -> Result<(), GenError> {
        self.ctx.clear_kv_cache();
        let n_batch = self.ctx.n_batch() as usize;
        let last = tokens.len().saturating_sub(1);
        for (c, chunk) in tokens.chunks(n_batch).enumerate() {
            self.batch.clear();
            for (i, &tok) in chunk.iter().enumerate() {
                let pos = c * n_batch + i;
                self.batch
                    .add(tok, pos as i32, &[0], pos == last)
                    .map_err(|e| GenError::Decode(e.to_string()))?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| GenError::Decode(e.to_string()))?;
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
        let grammar = if self.settings.sampler.grammar {
            let g = &mut self.grammars[req.kind as usize];
            g.reset();
            Some(g)
        } else {
            None
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
