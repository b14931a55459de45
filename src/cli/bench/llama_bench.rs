//! llama.cpp's own `llama-bench` beside crit, when `LLAMA_BENCH` names it:
//! generation at the depth where crit's generation starts, and prompt
//! processing of a task's own tokens on top of the cached prefix, at the
//! same thread count.

use super::report::{ratio, Builder};
use serde::Serialize;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Serialize)]
pub struct LlamaBenchRow {
    pub binary: String,
    pub args: Vec<String>,
    pub n_threads: i32,
    /// Generation (`tg`) at the prompt depth where crit's generation starts.
    pub gen_depth: u32,
    pub gen_tokens: u32,
    pub llama_gen_tps: f64,
    pub crit_gen_tps: f64,
    pub gen_ratio: f64,
    /// Prompt processing (`pp`) of a task's own tokens after the prefix.
    pub prompt_depth: u32,
    pub prompt_tokens: u32,
    pub llama_prompt_tps: f64,
    pub crit_prompt_tps: f64,
    pub prompt_ratio: f64,
    /// Why llama-bench gave no figures, if it did not.
    pub error: Option<String>,
}

/// Tokens generated per llama-bench `tg` run.
const GEN_TOKENS: u32 = 128;

/// Run llama-bench if `LLAMA_BENCH` is set; `None` when it is not.
pub fn compare(model: &Path, n_threads: i32, b: &Builder) -> Option<LlamaBenchRow> {
    let binary = std::env::var_os("LLAMA_BENCH").filter(|v| !v.is_empty())?;
    let gen_depth = b.median_depth().round() as u32;
    let prompt_tokens = b.median_processed().round().max(1.0) as u32;
    let prompt_depth = gen_depth.saturating_sub(prompt_tokens);
    let (crit_prompt_tps, crit_gen_tps) = b.cached_tps();
    let args: Vec<String> = [
        "-m".to_string(),
        model.display().to_string(),
        "-t".into(),
        n_threads.to_string(),
        "-d".into(),
        format!("{prompt_depth},{gen_depth}"),
        "-p".into(),
        prompt_tokens.to_string(),
        "-n".into(),
        GEN_TOKENS.to_string(),
        "-r".into(),
        "3".into(),
        "-o".into(),
        "json".into(),
    ]
    .into();
    let mut row = LlamaBenchRow {
        binary: binary.to_string_lossy().into_owned(),
        args: args.clone(),
        n_threads,
        gen_depth,
        gen_tokens: GEN_TOKENS,
        llama_gen_tps: 0.0,
        crit_gen_tps,
        gen_ratio: 0.0,
        prompt_depth,
        prompt_tokens,
        llama_prompt_tps: 0.0,
        crit_prompt_tps,
        prompt_ratio: 0.0,
        error: None,
    };
    match run(&binary, &args) {
        Ok(results) => {
            let pick = |depth: u32, pp: bool| {
                results.iter().find_map(|r| {
                    let (n_prompt, n_gen, d, ts) = r;
                    ((*n_prompt > 0) == pp && (*n_gen > 0) != pp && *d == depth).then_some(*ts)
                })
            };
            row.llama_prompt_tps = pick(prompt_depth, true).unwrap_or(0.0);
            row.llama_gen_tps = pick(gen_depth, false).unwrap_or(0.0);
            row.prompt_ratio = ratio(crit_prompt_tps, row.llama_prompt_tps);
            row.gen_ratio = ratio(crit_gen_tps, row.llama_gen_tps);
            if row.llama_gen_tps == 0.0 || row.llama_prompt_tps == 0.0 {
                row.error = Some("llama-bench output lacks the pp or tg result".into());
            }
        }
        Err(e) => row.error = Some(e),
    }
    Some(row)
}

/// (n_prompt, n_gen, n_depth, avg_ts) of each llama-bench result.
fn run(binary: &std::ffi::OsStr, args: &[String]) -> Result<Vec<(u64, u64, u32, f64)>, String> {
    let out = Command::new(binary)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.to_string_lossy()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or_default();
        return Err(format!("llama-bench exited with {}: {last}", out.status));
    }
    parse(&out.stdout)
}

/// Results from llama-bench's `-o json` output.
fn parse(stdout: &[u8]) -> Result<Vec<(u64, u64, u32, f64)>, String> {
    let json: serde_json::Value =
        serde_json::from_slice(stdout).map_err(|e| format!("llama-bench printed no JSON: {e}"))?;
    let num = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    Ok(json
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    Some((
                        num(r, "n_prompt")? as u64,
                        num(r, "n_gen")? as u64,
                        num(r, "n_depth").unwrap_or(0.0) as u32,
                        num(r, "avg_ts")?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default())
}

pub fn render(l: &LlamaBenchRow) -> String {
    let binary = crate::sanitize::sanitize(&l.binary);
    if let Some(e) = &l.error {
        return format!(
            "llama-bench ({binary}): no figures: {}\n",
            crate::sanitize::sanitize(e)
        );
    }
    format!(
        "llama-bench ({binary}, {} threads): generation tg{} @ d{}: {:.1} tok/s, crit {:.1} tok/s = {:.3}x; prompt pp{} @ d{}: {:.1} tok/s, crit {:.1} tok/s = {:.3}x\n",
        l.n_threads,
        l.gen_tokens,
        l.gen_depth,
        l.llama_gen_tps,
        l.crit_gen_tps,
        l.gen_ratio,
        l.prompt_tokens,
        l.prompt_depth,
        l.llama_prompt_tps,
        l.crit_prompt_tps,
        l.prompt_ratio
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_read_from_llama_bench_json() {
        let out = br#"[
          {"model_type": "llama ?B Q4_1", "n_threads": 2, "n_prompt": 180, "n_gen": 0, "n_depth": 380, "avg_ts": 251.5, "stddev_ts": 3.1},
          {"model_type": "llama ?B Q4_1", "n_threads": 2, "n_prompt": 0, "n_gen": 128, "n_depth": 560, "avg_ts": 47.25, "stddev_ts": 0.4}
        ]"#;
        assert_eq!(
            parse(out).unwrap(),
            vec![(180, 0, 380, 251.5), (0, 128, 560, 47.25)]
        );
        assert!(parse(b"error: unknown argument").is_err());
    }
}
