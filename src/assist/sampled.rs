//! Several critique samples behind one request, for every backend: a
//! wrapper around any `Assistant` that runs a critique request N times
//! with seeds `seed, seed+1, …` and answers with ONE `Done` whose critiques
//! are merged and ranked by how many samples flag the same segment
//! (`rank::merge`). Checks and decomposition pass through as one sample.
//!
//! Only sample 0's tokens stream to the caller (the UI shows one text); a
//! failure of any sample fails the request and cancels the rest; cancelling
//! the request cancels every sample.

use super::{options::StartError, Request};
use super::{rank, Assistance, Assistant, Event, EventReceiver, EventSender, Kind, Output};
use crate::config::Config;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;

/// Most samples a request may take (each costs a full generation).
pub const MAX_SAMPLES: u32 = 16;

/// `--samples N`: critique sets sampled per task.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SampleArgs {
    /// Critique sets sampled per task (seeds seed, seed+1, …), merged and
    /// ranked by how many agree; N times the critique cost
    /// [env: CRIT_SAMPLES] [config: samples] [default: 1]
    #[arg(long, value_name = "N")]
    pub samples: Option<u32>,
}

impl SampleArgs {
    /// `--samples`, else `CRIT_SAMPLES`, else the config's `samples`, else 1.
    /// Zero, more than [`MAX_SAMPLES`] or a non-number is a bad option.
    pub fn resolve(&self, config: &Config) -> Result<u32, StartError> {
        let env = std::env::var("CRIT_SAMPLES")
            .ok()
            .filter(|v| !v.trim().is_empty());
        let (n, from) = match (self.samples, env) {
            (Some(n), _) => (n, "--samples"),
            (None, Some(v)) => (
                v.trim().parse().map_err(|_| {
                    StartError::BadOption(format!("CRIT_SAMPLES must be a number, not {v:?}"))
                })?,
                "CRIT_SAMPLES",
            ),
            (None, None) => (config.samples.unwrap_or(1), "samples in the config file"),
        };
        if n == 0 || n > MAX_SAMPLES {
            return Err(StartError::BadOption(format!(
                "{from} must be between 1 and {MAX_SAMPLES}, not {n}"
            )));
        }
        Ok(n)
    }
}

/// Start an assistant through `start` and, when `samples` > 1, wrap it so
/// critique requests are sampled `samples` times. The name says so.
pub fn start<E>(
    samples: u32,
    events: EventSender,
    start: impl FnOnce(EventSender) -> Result<(Box<dyn Assistant>, String), E>,
) -> Result<(Box<dyn Assistant>, String), E> {
    if samples <= 1 {
        return start(events);
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (inner, name) = start(tx)?;
    let wrapped = Sampled::new(inner, rx, events, samples);
    Ok((Box::new(wrapped), format!("{name} ×{samples}")))
}

/// `assistant` (whose events arrive on `rx`) with `samples` samples per
/// critique request, and the receiver to listen on from now on.
pub fn wrap(
    assistant: Box<dyn Assistant>,
    rx: EventReceiver,
    samples: u32,
) -> (Box<dyn Assistant>, EventReceiver) {
    if samples <= 1 {
        return (assistant, rx);
    }
    let (tx, out) = tokio::sync::mpsc::unbounded_channel();
    (Box::new(Sampled::new(assistant, rx, tx, samples)), out)
}

type Inner = Mutex<Box<dyn Assistant>>;

/// The wrapper (see the module doc).
pub struct Sampled {
    inner: Option<Arc<Inner>>,
    samples: u32,
    table: Arc<Mutex<Table>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampled {
    /// Wrap `inner`, whose events arrive on `inner_rx`; the caller hears
    /// on `events`.
    pub fn new(
        inner: Box<dyn Assistant>,
        inner_rx: EventReceiver,
        events: EventSender,
        samples: u32,
    ) -> Sampled {
        let inner = Arc::new(Mutex::new(inner));
        let table = Arc::new(Mutex::new(Table::default()));
        let (weak, t) = (Arc::downgrade(&inner), table.clone());
        let thread = std::thread::Builder::new()
            .name("crit-sampled".into())
            .spawn(move || forward(inner_rx, events, t, weak))
            .expect("spawning the sample merger thread");
        Sampled {
            inner: Some(inner),
            samples: samples.max(1),
            table,
            thread: Some(thread),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Box<dyn Assistant>> {
        self.inner
            .as_ref()
            .expect("set until drop")
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Sampled {
    fn drop(&mut self) {
        // Dropping the inner assistant closes its channel, which ends the
        // forwarding thread.
        drop(self.inner.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Assistant for Sampled {
    fn submit(&self, request: Request) {
        let n = if request.kind == Kind::Critique {
            self.samples
        } else {
            1
        };
        let subs = lock(&self.table).open(&request, n);
        let inner = self.inner();
        for (sub, seed) in subs {
            inner.submit(Request {
                id: sub,
                seed,
                ..request.clone()
            });
        }
    }

    fn cancel(&self, id: u64) {
        let subs = lock(&self.table).subs_of(id);
        let inner = self.inner();
        for sub in subs {
            inner.cancel(sub);
        }
    }

    fn name(&self) -> String {
        format!("{} ×{}", self.inner().name(), self.samples)
    }

    fn concurrency(&self) -> usize {
        self.inner().concurrency()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Translate the inner assistant's events until it stops.
fn forward(
    mut rx: EventReceiver,
    events: EventSender,
    table: Arc<Mutex<Table>>,
    inner: Weak<Inner>,
) {
    while let Some(ev) = rx.blocking_recv() {
        let (out, cancel) = lock(&table).on_event(ev);
        if !cancel.is_empty() {
            if let Some(inner) = inner.upgrade() {
                let inner = lock(&inner);
                for sub in cancel {
                    inner.cancel(sub);
                }
            }
        }
        if let Some(out) = out {
            if events.send(out).is_err() {
                return;
            }
        }
    }
}

/// One caller request in flight.
struct Group {
    /// Sub-request ids, by sample.
    subs: Vec<u64>,
    seeds: Vec<u32>,
    done: Vec<Option<Arc<Assistance>>>,
}

impl Group {
    fn sampled(&self) -> bool {
        self.subs.len() > 1
    }
}

/// Which sub-request belongs to which caller request, and what is done.
#[derive(Default)]
struct Table {
    next: u64,
    /// sub id -> (caller id, sample)
    subs: HashMap<u64, (u64, usize)>,
    groups: HashMap<u64, Group>,
}

impl Table {
    /// Register `n` samples of `req`; returns their ids and seeds.
    fn open(&mut self, req: &Request, n: u32) -> Vec<(u64, u32)> {
        let seeds: Vec<u32> = (0..n).map(|k| req.seed.wrapping_add(k)).collect();
        let mut subs = Vec::new();
        for (k, &seed) in seeds.iter().enumerate() {
            self.next += 1;
            self.subs.insert(self.next, (req.id, k));
            subs.push((self.next, seed));
        }
        self.groups.insert(
            req.id,
            Group {
                subs: subs.iter().map(|s| s.0).collect(),
                seeds,
                done: vec![None; n as usize],
            },
        );
        subs
    }

    fn subs_of(&self, id: u64) -> Vec<u64> {
        self.groups
            .get(&id)
            .map_or_else(Vec::new, |g| g.subs.clone())
    }

    /// End caller request `id`: forget it; returns the samples still
    /// running, other than `ended`.
    fn close(&mut self, id: u64, ended: u64) -> Vec<u64> {
        let Some(g) = self.groups.remove(&id) else {
            return Vec::new();
        };
        let mut running = Vec::new();
        for (k, sub) in g.subs.iter().enumerate() {
            if self.subs.remove(sub).is_some() && g.done[k].is_none() && *sub != ended {
                running.push(*sub);
            }
        }
        running
    }

    /// The caller's event for an inner event (if any), and the samples to
    /// cancel because the request has ended.
    fn on_event(&mut self, ev: Event) -> (Option<Event>, Vec<u64>) {
        let sub = ev.id();
        let Some(&(id, k)) = self.subs.get(&sub) else {
            return (None, Vec::new()); // of a request that has ended
        };
        let Some(group) = self.groups.get_mut(&id) else {
            return (None, Vec::new());
        };
        let n = group.subs.len();
        match ev {
            Event::Started {
                prompt_tokens,
                truncated,
                ..
            } => {
                let e = Event::Started {
                    id,
                    prompt_tokens,
                    truncated,
                };
                ((k == 0).then_some(e), Vec::new())
            }
            Event::Token { text, .. } => ((k == 0).then_some(Event::Token { id, text }), vec![]),
            Event::Done { assistance, .. } if !group.sampled() => {
                self.close(id, sub);
                (Some(Event::Done { id, assistance }), Vec::new())
            }
            Event::Done { assistance, .. } => {
                group.done[k] = Some(assistance);
                self.subs.remove(&sub);
                if group.done.iter().any(Option::is_none) {
                    return (None, Vec::new());
                }
                let g = self.groups.remove(&id).expect("present");
                let done: Vec<Arc<Assistance>> = g.done.into_iter().flatten().collect();
                let assistance = Arc::new(merge(&g.seeds, &done));
                (Some(Event::Done { id, assistance }), Vec::new())
            }
            Event::Failed { error, .. } => {
                let error = if n > 1 {
                    let seed = group.seeds[k];
                    format!("sample {} of {n} (seed {seed}): {error}", k + 1)
                } else {
                    error
                };
                (Some(Event::Failed { id, error }), self.close(id, sub))
            }
            Event::Cancelled { .. } => (Some(Event::Cancelled { id }), self.close(id, sub)),
        }
    }
}

/// One piece of assistance from the samples of a critique request: the
/// critiques merged and ranked, every sample's text (in sample order, one
/// after another on their own lines), sample 0's settings, the seeds, and
/// the summed token counts and timings.
pub fn merge(seeds: &[u32], done: &[Arc<Assistance>]) -> Assistance {
    let sets: Vec<Vec<super::Critique>> = done
        .iter()
        .map(|a| match &a.output {
            Output::Critique { critiques } => critiques.clone(),
            _ => Vec::new(),
        })
        .collect();
    let first = &done[0];
    let mut provenance = first.provenance.clone();
    provenance.seed = seeds[0];
    provenance.sample_seeds = seeds.to_vec();
    let sum = |f: &dyn Fn(&super::Provenance) -> u64| done.iter().map(|a| f(&a.provenance)).sum();
    provenance.prompt_tokens = sum(&|p| p.prompt_tokens.into()) as u32;
    provenance.gen_tokens = sum(&|p| p.gen_tokens.into()) as u32;
    provenance.prompt_ms = sum(&|p| p.prompt_ms);
    provenance.gen_ms = sum(&|p| p.gen_ms);
    Assistance {
        output: Output::Critique {
            critiques: rank::merge(&sets),
        },
        raw: done
            .iter()
            .map(|a| a.raw.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        provenance,
        truncated: first.truncated.clone(),
    }
}

#[cfg(test)]
mod tests;
