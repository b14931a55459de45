//! llama.cpp set-up: the process-wide backend, model loading and
//! identification, contexts, warm-up and per-kind grammar samplers.

use super::EngineError;
use crate::assist::{schema, Kind, ModelInfo};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;

/// The process-wide llama.cpp backend; its logs go to tracing, never to
/// the terminal. Initialised once (llama.cpp refuses a second init).
pub fn backend() -> Result<&'static LlamaBackend, EngineError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::Backend(e.clone()))
}

/// Threads to use: as asked, but never more than the machine has.
pub fn effective_threads(asked: i32) -> i32 {
    asked.clamp(1, crate::assist::default_threads().max(1))
}

/// Identify a model file by name, size and (cached) SHA-256.
pub fn model_info(path: &Path) -> Result<ModelInfo, EngineError> {
    let io = |source| EngineError::ModelFile {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    let sha256 = crate::hash::sha256_file_cached(path).map_err(io)?;
    Ok(ModelInfo {
        file_name: path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        size,
        sha256,
    })
}

/// Load a model for inference on the CPU.
pub fn load_model(path: &Path) -> Result<LlamaModel, EngineError> {
    LlamaModel::load_from_file(backend()?, path, &LlamaModelParams::default()).map_err(|e| {
        EngineError::ModelLoad {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}

/// A context with the given size and thread count (prompt and generation).
pub fn new_context(
    model: &LlamaModel,
    n_ctx: u32,
    n_threads: i32,
) -> Result<LlamaContext<'_>, EngineError> {
    let ctx_err = |message: String| EngineError::Context { n_ctx, message };
    let size = NonZeroU32::new(n_ctx).ok_or_else(|| ctx_err("n_ctx must be > 0".into()))?;
    let params = LlamaContextParams::default()
        .with_n_ctx(Some(size))
        .with_n_batch(n_ctx.min(2048))
        .with_n_threads(n_threads)
        .with_n_threads_batch(n_threads);
    model
        .new_context(backend()?, params)
        .map_err(|e| ctx_err(e.to_string()))
}

/// Decode one token and clear the cache, as llama.cpp's own tools do: the
/// first decode pays for page faults, thread start-up and buffer set-up,
/// which would otherwise land on the first request.
pub fn warm_up(model: &LlamaModel, ctx: &mut LlamaContext<'_>) -> Result<(), EngineError> {
    let vocab = model.vocab();
    let tok = if vocab.bos().0 >= 0 {
        vocab.bos()
    } else {
        vocab.eos()
    };
    let mut batch = LlamaBatch::new(1, 1);
    let n_ctx = ctx.n_ctx();
    let err = move |e: String| EngineError::Context {
        n_ctx,
        message: format!("warm-up decode failed: {e}"),
    };
    batch
        .add(tok, 0, &[0], true)
        .map_err(|e| err(e.to_string()))?;
    let r = ctx.decode(&mut batch).map_err(|e| e.to_string());
    ctx.clear_kv_cache();
    r.map_err(err)
}

pub(super) fn grammar_sampler(model: &LlamaModel, kind: Kind) -> Result<LlamaSampler, EngineError> {
    let err = |message: String| EngineError::Grammar {
        kind: kind.name(),
        message,
    };
    let gbnf = llama_cpp_2::json_schema_to_grammar(&schema::schema(kind))
        .map_err(|e| err(e.to_string()))?;
    LlamaSampler::grammar(model, &gbnf, "root").map_err(|e| err(e.to_string()))
}
