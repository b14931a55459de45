//! Imports are all or nothing as every reader sees them: the events between
//! `import_begun` and the `import_committed` that names it wait here, and
//! reach the fold only with that commit. An import that never commits (its
//! process was killed, the disk filled up) is discarded by the next writer
//! (`import_aborted`), so nothing written after it is mistaken for part of
//! it.

use super::event::{Body, Event, SourceFormat};

/// An import whose commit has not been read (yet).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenImport {
    /// Seq of its `import_begun`.
    pub begun: u64,
    pub format: SourceFormat,
    pub file: String,
    pub sha256: String,
    /// How many events it announced.
    pub expected: usize,
    /// Its events written so far, held out of the fold.
    held: Vec<Event>,
}

impl OpenImport {
    /// How many of its events are written so far.
    pub fn written(&self) -> usize {
        self.held.len()
    }

    /// The last of its events written, if any.
    pub fn last(&self) -> Option<&Event> {
        self.held.last()
    }
}

/// What an interrupted import left behind, as the writer that discarded it
/// tells the user.
#[derive(Debug, Clone, PartialEq)]
pub struct AbortedImport {
    pub begun: u64,
    pub format: SourceFormat,
    pub file: String,
    /// Events it had written (all discarded).
    pub discarded: usize,
    pub expected: usize,
}

impl std::fmt::Display for AbortedImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the import of {} ({}) was interrupted after {} of {} events; they are discarded and nothing of that import counts. Run the import again",
            crate::sanitize::sanitize_line(&self.file),
            self.format,
            self.discarded,
            self.expected
        )
    }
}

/// Routes events through the open import, if any.
#[derive(Debug, Clone, Default)]
pub(super) struct Gate {
    open: Option<OpenImport>,
}

impl Gate {
    pub fn open(&self) -> Option<&OpenImport> {
        self.open.as_ref()
    }

    /// Pass `event` on to `out` as readers see it: itself when no import
    /// is open; nothing while one is (it is held); the held events and the
    /// commit when the commit arrives; an abort drops what was held.
    pub fn route(&mut self, event: Event, out: &mut Vec<Event>) {
        match &event.body {
            Body::ImportBegun {
                format,
                file,
                sha256,
                events,
            } => {
                // A begun inside an open import cannot come from crit (the
                // next writer aborts first); the older one is dropped.
                self.open = Some(OpenImport {
                    begun: event.seq,
                    format: *format,
                    file: file.clone(),
                    sha256: sha256.clone(),
                    expected: *events,
                    held: Vec::new(),
                });
                out.push(event);
            }
            Body::ImportCommitted { begun } if self.is_open(*begun) => {
                out.extend(self.open.take().map(|o| o.held).unwrap_or_default());
                out.push(event);
            }
            Body::ImportAborted { begun } if self.is_open(*begun) => {
                self.open = None;
                out.push(event);
            }
            _ => match self.open.as_mut() {
                Some(open) => open.held.push(event),
                None => out.push(event),
            },
        }
    }

    fn is_open(&self, begun: u64) -> bool {
        self.open.as_ref().is_some_and(|o| o.begun == begun)
    }
}

/// The events of `events` every reader sees (committed imports included,
/// open and aborted ones left out), and the import still open at the end.
pub(super) fn visible(events: Vec<Event>) -> (Vec<Event>, Gate) {
    let mut gate = Gate::default();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        gate.route(e, &mut out);
    }
    (out, gate)
}

/// Was a file with this SHA-256 imported in this format, and committed?
/// (`events` as a replay holds them: an aborted import's events are gone.)
pub(super) fn committed(events: &[Event], format: SourceFormat, sha256: &str) -> bool {
    let done: std::collections::HashSet<u64> = events
        .iter()
        .filter_map(|e| match e.body {
            Body::ImportCommitted { begun } => Some(begun),
            _ => None,
        })
        .collect();
    events.iter().any(|e| match &e.body {
        Body::ImportBegun {
            format: f,
            sha256: h,
            ..
        } => *f == format && h == sha256 && done.contains(&e.seq),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::event::{LabelValue, Target};
    use crate::session::{Replay, Session};
    use crate::task::Task;

    fn task() -> Task {
        Task {
            id: "t1".into(),
            prompt: "What is 1+1?".into(),
            answer: "Two.\nSo 2.".into(),
            answer_b: None,
            reference: None,
            steps: None,
            meta: Default::default(),
        }
    }

    fn rating(index: usize) -> Body {
        Body::Label {
            task: "t1".into(),
            evaluator: "ann".into(),
            target: Target::Step {
                assistance: None,
                index,
            },
            value: LabelValue::Step { rating: 1 },
            source: None,
        }
    }

    fn begun(events: usize) -> Body {
        Body::ImportBegun {
            format: SourceFormat::Prm800k,
            file: "ratings.jsonl".into(),
            sha256: "ab".repeat(32),
            events,
        }
    }

    /// A session with `bodies` appended, closed again.
    fn session_with(bodies: Vec<Body>) -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let mut s = Session::create_or_open(&dir, &[task()], "x", SourceFormat::Native).unwrap();
        for b in bodies {
            s.append(b).unwrap();
        }
        (tmp, dir)
    }

    fn labels(r: &Replay) -> usize {
        r.task_state("t1")
            .unwrap()
            .by_evaluator
            .get("ann")
            .map_or(0, |w| w.labels.len())
    }

    #[test]
    fn an_import_counts_only_once_committed() {
        let (_tmp, dir) = session_with(vec![begun(2), rating(0), rating(1)]);
        let open = Replay::read(&dir).unwrap();
        assert_eq!(labels(&open), 0);
        assert_eq!(open.events().len(), 2, "session_created and import_begun");
        assert_eq!(open.open_import().unwrap().written(), 2);
        assert!(!open.import_committed(SourceFormat::Prm800k, &"ab".repeat(32)));

        let mut s = Session::open(&dir).unwrap();
        let a = s.aborted_import().unwrap().clone();
        assert_eq!((a.begun, a.discarded, a.expected), (2, 2, 2));
        assert!(a.to_string().contains("ratings.jsonl"));
        assert!(a.to_string().contains("Run the import again"));
        // Written after the abort: folded, not taken for the import's.
        s.append(rating(0)).unwrap();
        drop(s);
        let after = Replay::read(&dir).unwrap();
        assert!(after.open_import().is_none());
        assert_eq!(labels(&after), 1);
        let types: Vec<&str> = after.events().iter().map(|e| e.body.type_name()).collect();
        assert_eq!(
            types,
            ["session_created", "import_begun", "import_aborted", "label"]
        );
        assert!(Session::open(&dir).unwrap().aborted_import().is_none());
    }

    #[test]
    fn a_committed_import_folds_whole_and_replays_as_of_its_commit() {
        let (_tmp, dir) = session_with(vec![
            begun(2),
            rating(0),
            rating(1),
            Body::ImportCommitted { begun: 2 },
        ]);
        let r = Replay::read(&dir).unwrap();
        assert_eq!(labels(&r), 2);
        assert_eq!(r.events().len(), 5);
        assert!(r.import_committed(SourceFormat::Prm800k, &"ab".repeat(32)));
        assert!(!r.import_committed(SourceFormat::HhRlhf, &"ab".repeat(32)));
        assert_eq!(labels(&r.until(4)), 0, "before the commit nothing counts");
        assert_eq!(labels(&r.until(5)), 2);
        assert!(Session::open(&dir).unwrap().aborted_import().is_none());
    }

    #[test]
    fn pushing_holds_an_import_until_its_commit() {
        let (_tmp, dir) = session_with(vec![]);
        let mut s = Session::open(&dir).unwrap();
        let b = s.append(begun(1)).unwrap().seq;
        let held = s.append(rating(0)).unwrap().seq;
        assert_eq!(
            held,
            b + 1,
            "append returns the event it wrote, held or not"
        );
        assert_eq!(labels(s.replay()), 0);
        assert!(s.replay().event(held).is_none());
        s.append(Body::ImportCommitted { begun: b }).unwrap();
        assert_eq!(labels(s.replay()), 1);
        assert!(s.replay().event(held).is_some());
    }

    #[test]
    fn a_commit_or_abort_of_another_import_is_held_like_any_event() {
        let mut gate = Gate::default();
        let ev = |seq, body| Event {
            v: 2,
            seq,
            ts: crate::session::Timestamp::now(),
            body,
        };
        let mut out = Vec::new();
        gate.route(ev(1, begun(1)), &mut out);
        gate.route(ev(2, rating(0)), &mut out);
        gate.route(ev(3, Body::ImportCommitted { begun: 7 }), &mut out);
        gate.route(ev(4, Body::ImportAborted { begun: 7 }), &mut out);
        assert_eq!(out.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
        assert_eq!(gate.open().unwrap().written(), 3);
        gate.route(ev(5, Body::ImportCommitted { begun: 1 }), &mut out);
        let seqs: Vec<u64> = out.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5], "in order, so seq lookups hold");
    }
}
