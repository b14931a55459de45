//! From a task to the tokens the engine decodes: render the kind's
//! template, wrap it in the chat template, tokenize it safely (see
//! `tokens`), and cut long answers until the prompt leaves room for
//! `max_tokens` (see `truncate`).

use super::prefix::common_prefix;
use super::tokens::Tokenizer;
use super::truncate;
use crate::assist::prompt::{self, PromptError, Prompts};
use crate::assist::{EngineSettings, Kind, Truncation};
use crate::task::Task;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error("the prompt needs {needed} tokens even with the answer cut to nothing, but only {budget} fit (n_ctx {n_ctx} - max_tokens {max_tokens}); raise n_ctx or lower max_tokens")]
    PromptTooLong {
        needed: usize,
        budget: usize,
        n_ctx: u32,
        max_tokens: u32,
    },
}

/// A prompt that fits the context.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The rendered prompt (hashed for provenance).
    pub text: String,
    pub tokens: Vec<LlamaToken>,
    pub truncated: Option<Truncation>,
}

/// Renders, tokenizes and fits prompts for one model and set of templates.
pub struct Prompter<'m> {
    model: &'m LlamaModel,
    tokenizer: Tokenizer,
    prompts: Prompts,
    n_ctx: u32,
    max_tokens: u32,
}

impl<'m> Prompter<'m> {
    pub fn new(model: &'m LlamaModel, prompts: Prompts, settings: &EngineSettings) -> Self {
        Prompter {
            model,
            tokenizer: Tokenizer::new(model),
            prompts,
            n_ctx: settings.n_ctx,
            max_tokens: settings.max_tokens,
        }
    }

    pub fn prompts(&self) -> &Prompts {
        &self.prompts
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The prompt for `task` as it is, whether it fits or not.
    pub fn render(&self, kind: Kind, task: &Task) -> Result<Fitted, PromptError> {
        let msgs = self.prompts.render(kind, task)?;
        let prompt = prompt::chat_parts(self.model, &msgs)?;
        Ok(Fitted {
            text: prompt.text(),
            tokens: self.tokenizer.prompt(self.model, &prompt),
            truncated: None,
        })
    }

    /// Render the prompt; when it leaves less than `max_tokens` of context,
    /// cut the answer (visibly, with a note in the prompt) until it fits.
    pub fn fit(&self, kind: Kind, task: &Task) -> Result<Fitted, FitError> {
        let budget = (self.n_ctx.saturating_sub(self.max_tokens)) as usize;
        let fit = truncate::fit(
            task,
            budget,
            |t| {
                let fitted = self.render(kind, t)?;
                let n = fitted.tokens.len();
                Ok::<_, PromptError>((fitted, n))
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
            truncate::Fit::TooLong { needed } => Err(FitError::PromptTooLong {
                needed,
                budget,
                n_ctx: self.n_ctx,
                max_tokens: self.max_tokens,
            }),
        }
    }

    /// How many leading tokens of the prompt are the same for every task:
    /// the common prefix with the prompts of two probe tasks that differ
    /// from it and from each other in every field (the system message,
    /// the worked examples and the instructions before the first field).
    pub fn fixed_prefix(&self, kind: Kind, tokens: &[LlamaToken]) -> usize {
        ["0", "1"]
            .iter()
            .map(|text| {
                let probe = Task {
                    id: String::new(),
                    prompt: text.to_string(),
                    answer: text.to_string(),
                    answer_b: None,
                    reference: None,
                    steps: None,
                    meta: Default::default(),
                };
                self.render(kind, &probe)
                    .map_or(0, |f| common_prefix(&f.tokens, tokens))
            })
            .min()
            .unwrap_or(0)
    }
}
