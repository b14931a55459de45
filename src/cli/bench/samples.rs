//! What `--samples N` costs: every bench task's critique with one sample
//! and with N (through `assist::sampled`, as generate and review run it),
//! on the local engine, the two engines taking turns on each task.

use super::{load_tasks, Args};
use crate::assist::engine::Engine;
use crate::assist::prompt::Prompts;
use crate::assist::{
    derive_seed, sampled, Assistance, Assistant, Event, EventReceiver, Kind, Output, Request,
};
use crate::cli::Ctx;
use crate::task::Task;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// The critique's cost per task, one sample against N.
#[derive(Debug, Clone, Serialize)]
pub struct SamplesReport {
    pub samples: u32,
    pub tasks: usize,
    pub one: Cost,
    pub many: Cost,
    /// Wall time with N samples over wall time with one.
    pub wall_ratio: f64,
}

/// Means per task.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cost {
    pub wall_ms: f64,
    pub prompt_tokens: f64,
    pub gen_tokens: f64,
    pub critiques: f64,
    /// Critiques that more than one sample flagged.
    pub agreed: f64,
    pub failed: usize,
}

/// Run the comparison (`args.samples` > 1; `None` otherwise).
pub fn measure(args: &Args, ctx: &Ctx) -> anyhow::Result<Option<SamplesReport>> {
    if args.samples <= 1 {
        return Ok(None);
    }
    let (model_path, settings) = super::local_engine(args, ctx)?;
    let tasks = load_tasks(args.tasks.as_deref())?;
    let start = |n: u32| -> anyhow::Result<(Box<dyn Assistant>, EventReceiver)> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let e = Engine::start(&model_path, settings.clone(), Prompts::load(None)?, tx)?;
        Ok(sampled::wrap(Box::new(e), rx, n))
    };
    let mut one = start(1)?;
    let mut many = start(args.samples)?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut id = 0;
    for (i, task) in tasks.iter().enumerate() {
        let seed = derive_seed(args.seed, i, Kind::Critique, 0);
        // Alternate which goes first, so load drifts hit both alike.
        if i % 2 == 0 {
            a.push(critique(&mut one, task, seed, &mut id)?);
            b.push(critique(&mut many, task, seed, &mut id)?);
        } else {
            b.push(critique(&mut many, task, seed, &mut id)?);
            a.push(critique(&mut one, task, seed, &mut id)?);
        }
    }
    let (one, many) = (mean(&a), mean(&b));
    Ok(Some(SamplesReport {
        samples: args.samples,
        tasks: tasks.len(),
        wall_ratio: many.wall_ms / one.wall_ms.max(1.0),
        one,
        many,
    }))
}

/// One critique request and its wall time; `None` when it failed.
fn critique(
    (assistant, rx): &mut (Box<dyn Assistant>, EventReceiver),
    task: &Arc<Task>,
    seed: u32,
    id: &mut u64,
) -> anyhow::Result<(u64, Option<Arc<Assistance>>)> {
    *id += 1;
    let t0 = Instant::now();
    assistant.submit(Request {
        id: *id,
        task: task.clone(),
        kind: Kind::Critique,
        seed,
    });
    loop {
        let ev = rx
            .blocking_recv()
            .ok_or_else(|| anyhow::anyhow!("the engine stopped"))?;
        let ms = t0.elapsed().as_millis() as u64;
        match ev {
            Event::Done { id: i, assistance } if i == *id => return Ok((ms, Some(assistance))),
            Event::Failed { id: i, error } if i == *id => {
                tracing::warn!("bench critique failed: {error}");
                return Ok((ms, None));
            }
            Event::Cancelled { id: i } if i == *id => return Ok((ms, None)),
            _ => {}
        }
    }
}

fn mean(runs: &[(u64, Option<Arc<Assistance>>)]) -> Cost {
    let n = runs.len().max(1) as f64;
    let mut c = Cost::default();
    for (ms, done) in runs {
        c.wall_ms += *ms as f64 / n;
        let Some(a) = done else {
            c.failed += 1;
            continue;
        };
        let p = &a.provenance;
        c.prompt_tokens += f64::from(p.prompt_tokens) / n;
        c.gen_tokens += f64::from(p.gen_tokens) / n;
        if let Output::Critique { critiques } = &a.output {
            c.critiques += critiques.len() as f64 / n;
            let agreed = critiques.iter().filter(|x| x.agreement > Some(1)).count();
            c.agreed += agreed as f64 / n;
        }
    }
    c
}

/// One line for the bench report.
pub fn render(r: &SamplesReport) -> String {
    let cost = |c: &Cost| {
        format!(
            "{:.0} ms, {:.0} prompt + {:.0} generated tokens, {:.1} critiques",
            c.wall_ms, c.prompt_tokens, c.gen_tokens, c.critiques
        )
    };
    format!(
        "critique per task (local engine, {} tasks): --samples {}: {} ({:.1} agreed by 2+); 1 sample: {}; ×{:.2} the time{}\n",
        r.tasks,
        r.samples,
        cost(&r.many),
        r.many.agreed,
        cost(&r.one),
        r.wall_ratio,
        match r.one.failed + r.many.failed {
            0 => String::new(),
            f => format!(" ({f} requests failed)"),
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_states_both_costs_and_the_ratio() {
        let c = |ms: f64, g: f64| Cost {
            wall_ms: ms,
            gen_tokens: g,
            prompt_tokens: 700.0,
            critiques: 1.0,
            ..Cost::default()
        };
        let r = SamplesReport {
            samples: 3,
            tasks: 3,
            one: c(1000.0, 20.0),
            many: c(2500.0, 60.0),
            wall_ratio: 2.5,
        };
        let line = render(&r);
        assert!(line.contains("--samples 3: 2500 ms"), "{line}");
        assert!(line.contains("1 sample: 1000 ms"), "{line}");
        assert!(line.contains("×2.50 the time"), "{line}");
    }
}
