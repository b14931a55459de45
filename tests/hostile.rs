//! Terminal safety against a hostile corpus (issue 8 §1-2): escape
//! sequences, controls, bidi, invisible and tag characters, combining piles,
//! long lines and wide text in every field that reaches the screen (task
//! id, prompt, answers, reference, critiques, checks, steps, your own
//! critique, verdict rationale, correction, evaluator and session names,
//! guidelines, key names, error messages). Every screen and overlay is drawn
//! at 120x40 and 80x24 on ratatui's TestBackend (no cell may hold a control,
//! bidi or invisible character, nor the scrubber's mark) and through a
//! CrosstermBackend into bytes (only crossterm's own CSI sequences; no OSC,
//! DCS, APC, C1, BEL or bare CR). `crit show`, `crit sessions` and error
//! messages are checked byte by byte too. The review runs on the real
//! driver; assistance comes from a hand-driven assistant, so the stream,
//! the results and a failure are all hostile.

mod hostile_support;

use crit::assist::{
    anchor, Assistance, Assistant, Event as AssistEvent, Kind, Request, Severity, Truncation,
};
use crit::session::event::{Body, Phase, SourceFormat, Verdict};
use crit::session::Session;
use crit::task::Span;
use crit::tui::driver::{self, Clock, Driver};
use crit::tui::{App, Keymap, Msg, Options, Protocol};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hostile_support::*;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

/// An assistant the test drives by hand: requests wait until `serve`.
struct Manual(Arc<Mutex<Vec<Request>>>);

impl Assistant for Manual {
    fn submit(&self, request: Request) {
        self.0.lock().unwrap().push(request);
    }
    fn cancel(&self, _id: u64) {}
    fn name(&self) -> String {
        short("manual")
    }
}

/// The review UI over a hostile session, on the real driver.
struct Review {
    app: App,
    driver: Driver,
    requests: Arc<Mutex<Vec<Request>>>,
    streaming: Vec<Request>,
}

fn hostile_opts() -> Options {
    let keys = BTreeMap::from([
        ("help".to_string(), vec!["?".to_string(), "\u{202e}".into()]),
        (
            "guidelines".to_string(),
            vec!["g".to_string(), "\u{7}".into()],
        ),
    ]);
    Options {
        evaluator: short("evaluator"),
        session_name: short("session"),
        model_name: short("model"),
        guidelines: Some(with_nul("guidelines")),
        keymap: Keymap::with_overrides(&keys).unwrap(),
        ..Options::default()
    }
}

/// A session of the hostile tasks in `dir` holding your own critique, a
/// verdict and a correction on the first task, as an import could write.
fn hostile_session(dir: &Path, evaluator: &str) -> Session {
    let tasks = hostile_tasks();
    let mut s =
        Session::create_or_open(dir, &tasks, &short("tasks.jsonl"), SourceFormat::Native).unwrap();
    let t = &tasks[0];
    let span = anchor::find(&t.answer, &quote()).unwrap_or(Span { start: 0, end: 4 });
    let bodies = [
        Body::UserCritique {
            task: t.id.clone(),
            evaluator: evaluator.into(),
            span: Some(span),
            quote: t.answer[span.start..span.end].to_string(),
            comment: evil("own comment"),
            severity: Severity::Minor,
            category: short("own category"),
            answer: None,
            source: None,
        },
        Body::Verdict {
            task: t.id.clone(),
            evaluator: evaluator.into(),
            verdict: Verdict::Single {
                accept: Some(false),
                score: Some(2),
                confidence: Some(80),
                rationale: evil("rationale"),
            },
            phase: Phase::Assisted,
            source: None,
        },
        Body::Correction {
            task: t.id.clone(),
            evaluator: evaluator.into(),
            text: evil("correction"),
        },
    ];
    for b in bodies {
        s.append(b).unwrap();
    }
    s
}

fn still_clock() -> Clock {
    Arc::new(|| 1_000)
}

impl Review {
    fn new(dir: &Path, opts: Options) -> Review {
        let (log, replay) = hostile_session(dir, &opts.evaluator).split();
        let app = App::new(opts, replay);
        let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let assistant = Box::new(Manual(requests.clone()));
        let driver = Driver::new(Some(log), Some(assistant), rx, still_clock());
        let mut r = Review {
            app,
            driver,
            requests,
            streaming: Vec::new(),
        };
        r.send(Msg::Resize(120, 40));
        r.send(Msg::Start);
        r
    }

    fn send(&mut self, m: Msg) {
        self.driver.dispatch(&mut self.app, m).unwrap();
    }

    fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn keys(&mut self, s: &str) {
        s.chars().for_each(|c| self.key(KeyCode::Char(c)));
    }

    /// Start every waiting request with a hostile stream; with `finish`,
    /// also complete everything started (checks on the pairwise task fail
    /// with a hostile message).
    fn serve(&mut self, finish: bool) {
        let waiting: Vec<Request> = std::mem::take(&mut *self.requests.lock().unwrap());
        for r in waiting {
            let truncated = Some(Truncation {
                kept_bytes: 10,
                total_bytes: 20,
            });
            self.send(Msg::Assist(AssistEvent::Started {
                id: r.id,
                prompt_tokens: 12,
                truncated,
            }));
            let text = with_nul("stream");
            self.send(Msg::Assist(AssistEvent::Token { id: r.id, text }));
            self.streaming.push(r);
        }
        if !finish {
            return;
        }
        for r in std::mem::take(&mut self.streaming) {
            let ev = if r.kind == Kind::Checks && r.task.is_pairwise() {
                AssistEvent::Failed {
                    id: r.id,
                    error: evil("server error"),
                }
            } else {
                let output = output(&r.task, r.kind);
                let assistance = Arc::new(Assistance {
                    raw: short("raw"),
                    provenance: provenance(),
                    output,
                    truncated: None,
                });
                AssistEvent::Done {
                    id: r.id,
                    assistance,
                }
            };
            self.send(Msg::Assist(ev));
        }
    }
}

/// Draw `app` at `w`x`h` on both backends; returns what is wrong.
fn frame_problems(r: &mut Review, w: u16, h: u16) -> (Vec<String>, String) {
    r.send(Msg::Resize(w, h));
    let mut test = Terminal::new(TestBackend::new(w, h)).unwrap();
    r.driver.draw(&mut test, &r.app).unwrap();
    let mut problems = cell_problems(&test);
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
    };
    let bytes = Shared::default();
    let mut ct = Terminal::with_options(CrosstermBackend::new(bytes.clone()), options).unwrap();
    driver::draw(&mut ct, &r.app).unwrap();
    problems.extend(byte_problems(&bytes.0.lock().unwrap()));
    (problems, test.backend().to_string())
}

/// Check one screen at both sizes, collecting what is wrong under `name`.
fn check(r: &mut Review, name: &str, failures: &mut Vec<String>) -> String {
    let mut first = String::new();
    for (w, h) in SIZES {
        let (problems, screen) = frame_problems(r, w, h);
        let n = problems.len();
        for p in problems.into_iter().take(5) {
            failures.push(format!("{name} {w}x{h}: {p}"));
        }
        if n > 5 {
            failures.push(format!("{name} {w}x{h}: ... {} more", n - 5));
        }
        if first.is_empty() {
            first = screen;
        }
    }
    first
}

fn tmp_session(tmp: &Path, name: &str) -> PathBuf {
    tmp.join("sessions").join(name)
}

#[test]
fn every_screen_and_overlay_is_safe() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = Review::new(&tmp_session(tmp.path(), &short("s")), hostile_opts());
    let mut f = Vec::new();
    r.serve(false);
    check(&mut r, "streaming", &mut f);
    r.serve(true);
    let main = check(&mut r, "critiques", &mut f);
    // The placeholders are there to see, and counted in the header.
    for shown in [
        "⟨U+202E⟩",
        "⟨U+200B⟩",
        "\\e]0;PWNED\\x07",
        "invisible characters",
    ] {
        assert!(main.contains(shown), "{shown} not on screen:\n{main}");
    }
    let steps: &[(&str, &[KeyCode])] = &[
        ("critique_2", &[KeyCode::Char('j')]),
        ("checks", &[KeyCode::Char(']')]),
        ("steps", &[KeyCode::Char(']')]),
        ("diff", &[KeyCode::Char(']')]),
        ("diff_scrolled", &[KeyCode::Char('G')]),
        ("answer_focus", &[KeyCode::Char(']'), KeyCode::Tab]),
        (
            "visual",
            &[KeyCode::Char('v'), KeyCode::Char('w'), KeyCode::Char('w')],
        ),
        ("answer_end", &[KeyCode::Esc, KeyCode::Char('G')]),
        ("help", &[KeyCode::Char('?')]),
        ("help_scrolled", &[KeyCode::Char('j'), KeyCode::Char('j')]),
        ("guidelines", &[KeyCode::Esc, KeyCode::Char('g')]),
        ("guidelines_scrolled", &[KeyCode::PageDown]),
        ("verdict_form", &[KeyCode::Esc, KeyCode::Char('V')]),
        (
            "verdict_rationale",
            &[KeyCode::Tab, KeyCode::Tab, KeyCode::Tab],
        ),
        ("correction_editor", &[KeyCode::Esc, KeyCode::Char('e')]),
        (
            "correction_moved",
            &[KeyCode::Down, KeyCode::Down, KeyCode::End],
        ),
        ("correction_bottom", &[KeyCode::PageDown, KeyCode::PageDown]),
        ("filter", &[KeyCode::Esc, KeyCode::Char('f')]),
    ];
    for (name, keys) in steps {
        keys.iter().for_each(|k| r.key(*k));
        check(&mut r, name, &mut f);
    }
    // Your own critique: filter off, select, open the form, type hostile
    // characters.
    r.keys("fv");
    r.key(KeyCode::Char('w'));
    r.key(KeyCode::Char('c'));
    "\u{1b}]0;x\u{7}\u{202e}\u{200b}\r"
        .chars()
        .for_each(|c| r.key(KeyCode::Char(c)));
    check(&mut r, "critique_form", &mut f);
    r.key(KeyCode::Esc);
    r.key(KeyCode::Char('/'));
    "\u{1b}]0;x\u{7}\u{202e}q"
        .chars()
        .for_each(|c| r.key(KeyCode::Char(c)));
    check(&mut r, "search", &mut f);
    r.key(KeyCode::Enter);
    check(&mut r, "search_miss_message", &mut f);
    // The pairwise task: B, its A/B diff, and the checks that failed.
    r.keys("n");
    r.serve(true);
    check(&mut r, "pairwise", &mut f);
    r.keys("o");
    check(&mut r, "pairwise_b", &mut f);
    r.keys("]");
    check(&mut r, "failed_checks", &mut f);
    r.keys("]]");
    check(&mut r, "pairwise_diff", &mut f);
    r.keys("V");
    check(&mut r, "pairwise_verdict_form", &mut f);
    r.key(KeyCode::Esc);
    let (p, _) = frame_problems(&mut r, 50, 12);
    f.extend(p.into_iter().map(|p| format!("too small 50x12: {p}")));
    assert!(f.is_empty(), "{} problems:\n{}", f.len(), f.join("\n"));
}

#[test]
fn blind_first_and_no_assistance_screens_are_safe() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        protocol: crit::tui::state::ProtocolSpec::Fixed(Protocol::BlindFirst),
        no_assist: Some(with_nul("no model because")),
        ..hostile_opts()
    };
    let mut r = Review::new(&tmp_session(tmp.path(), "blind"), opts);
    r.serve(true);
    let mut f = Vec::new();
    let screen = check(&mut r, "blind_first_hidden", &mut f);
    assert!(screen.contains("(hidden)"), "{screen}");
    for t in [']', ']', ']'] {
        r.keys(&t.to_string());
        check(&mut r, "blind_first_tab", &mut f);
    }
    assert!(f.is_empty(), "{} problems:\n{}", f.len(), f.join("\n"));
}

/// The review of one native task file with `answer`, `--no-assist`.
fn unassisted(tmp: &Path, answer: &str) -> Review {
    let line = serde_json::json!({"id": "esc", "prompt": "Say ok", "answer": answer});
    let file = tmp.join("esc.jsonl");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let loaded = crit::task::load(&file, None, false).unwrap();
    let dir = tmp_session(tmp, "esc");
    let s = Session::create_or_open(&dir, &loaded.tasks, "esc.jsonl", SourceFormat::Native);
    let (log, replay) = s.unwrap().split();
    let opts = Options {
        no_assist: Some("--no-assist".into()),
        ..Options::default()
    };
    let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
    Review {
        app: App::new(opts, replay),
        driver: Driver::new(Some(log), None, rx, still_clock()),
        requests: Arc::default(),
        streaming: Vec::new(),
    }
}

/// Placeholders are display only: a selection over invisible characters
/// moves one character per key and records the exact raw bytes and span.
#[test]
fn selections_over_placeholders_keep_exact_spans() {
    let tmp = tempfile::tempdir().unwrap();
    let answer = "x a\u{200b}b\u{202e}c y";
    let mut r = unassisted(tmp.path(), answer);
    r.send(Msg::Start);
    r.key(KeyCode::Tab);
    r.keys("wv");
    (0..4).for_each(|_| r.key(KeyCode::Char('l')));
    r.keys("c");
    r.keys("hidden text");
    for k in [KeyCode::Tab, KeyCode::Right, KeyCode::Tab, KeyCode::Right] {
        r.key(k);
    }
    r.send(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    let found = r.app.replay.events().iter().find_map(|e| match &e.body {
        Body::UserCritique { quote, span, .. } => Some((quote.clone(), *span)),
        _ => None,
    });
    let (quote, span) = found.expect("a user critique is recorded");
    assert_eq!(quote, "a\u{200b}b\u{202e}c");
    assert_eq!(span, Some(Span { start: 2, end: 11 }));
    assert_eq!(&answer[2..11], quote);
}

/// The issue's reproduction: a native task file whose answer sets the
/// terminal title and writes the clipboard, reviewed with --no-assist;
/// `e` opens the correction editor. The frames carry neither sequence, and
/// the editor edits the raw text: a control character is one visible token
/// that the cursor steps over and Delete removes whole, and everything
/// untouched is saved byte for byte.
#[test]
fn issue_reproduction_correction_editor() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = unassisted(tmp.path(), ISSUE_ANSWER);
    r.send(Msg::Start);
    r.keys("e");
    let mut f = Vec::new();
    let screen = check(&mut r, "correction editor", &mut f);
    assert!(f.is_empty(), "{}", f.join("\n"));
    assert!(
        screen.contains("ok \\e]0;PWNED\\x07\\e]52;c;cHduZWQ=\\x07"),
        "{screen}"
    );
    // Ctrl-S with nothing changed records nothing.
    r.send(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(r.app.message.as_deref(), Some("no change to the answer"));
    // Three steps right, then Delete: the ESC goes as one character.
    r.keys("e");
    [
        KeyCode::Right,
        KeyCode::Right,
        KeyCode::Right,
        KeyCode::Delete,
    ]
    .into_iter()
    .for_each(|k| r.key(k));
    r.keys("X");
    r.send(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    let saved = r.app.correction().unwrap();
    assert_eq!(saved, "ok X]0;PWNED\u{7}\u{1b}]52;c;cHduZWQ=\u{7}");
}

fn crit(sessions: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crit"))
        .arg("--sessions-dir")
        .arg(sessions)
        .args(args)
        .env("CRIT_LOG", "off")
        .output()
        .unwrap()
}

#[test]
fn show_sessions_and_errors_are_sanitized() {
    let tmp = tempfile::tempdir().unwrap();
    let name = short("session");
    let dir = tmp_session(tmp.path(), &name);
    {
        let mut r = Review::new(&dir, hostile_opts());
        r.serve(true);
        r.keys("n");
        r.serve(true);
        r.driver.finish().unwrap();
    }
    let sessions = tmp.path().join("sessions");
    let dir_arg = dir.to_str().unwrap();
    let show = crit(&sessions, &["show", dir_arg]);
    assert!(show.status.success(), "{show:?}");
    let out = String::from_utf8_lossy(&show.stdout);
    assert!(out.contains("⟨U+202E⟩") && out.contains("\\e]52;c;cHduZWQ=\\x07"));
    assert!(out.contains("invisible characters"), "header counts them");
    let listed = crit(&sessions, &["sessions"]);
    assert!(listed.status.success(), "{listed:?}");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("session\\e]0;PWNED\\x07"));
    let runs = [
        ("show", show),
        ("sessions", listed),
        (
            "show --task",
            crit(&sessions, &["show", dir_arg, "--task", &short("no")]),
        ),
        (
            "show missing",
            crit(&sessions, &["show", &format!("{dir_arg}-missing/")]),
        ),
        (
            "bad session name",
            crit(&sessions, &["show", "x\u{1b}]0;PWNED\u{7}"]),
        ),
        (
            "usage error",
            crit(&sessions, &["review", "x", "--protocol", &short("p")]),
        ),
    ];
    let mut f = Vec::new();
    for (what, o) in &runs {
        f.extend(plain_problems(&format!("{what} stdout"), &o.stdout));
        f.extend(plain_problems(&format!("{what} stderr"), &o.stderr));
        if *what != "show" && *what != "sessions" {
            assert_eq!(o.status.code(), Some(2), "{what}: {o:?}");
            assert!(!o.stderr.is_empty(), "{what} says why");
        }
    }
    assert!(f.is_empty(), "{}", f.join("\n"));
}

/// The issue's reproduction with the real binary in a real terminal (a
/// pseudo-terminal 120x40): `crit review FILE --session esc --no-assist`,
/// `e`, Esc, `q`. Nothing crit writes to the terminal may set its title,
/// write its clipboard or carry a raw BEL or C1 control; the editor shows
/// the sequences escaped.
#[cfg(target_os = "linux")]
#[test]
fn issue_reproduction_in_a_pseudo_terminal() {
    use hostile_support::pty::Pty;
    let tmp = tempfile::tempdir().unwrap();
    let line = serde_json::json!({"id": "esc", "prompt": "Say ok", "answer": ISSUE_ANSWER});
    let file = tmp.path().join("esc.jsonl");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let mut pty = Pty::spawn(&[
        "--sessions-dir",
        tmp.path().join("sessions").to_str().unwrap(),
        "review",
        file.to_str().unwrap(),
        "--session",
        "esc",
        "--no-assist",
    ]);
    pty.wait_for("Task 1/1");
    let before_editor = pty.len();
    pty.send(b"e");
    pty.wait_for("Corrected answer");
    pty.send(b"\x1b");
    std::thread::sleep(std::time::Duration::from_millis(300));
    pty.send(b"q");
    assert!(pty.exited(), "crit review quits on q");
    let out = pty.output();
    for (what, bad) in [
        ("OSC", &b"\x1b]"[..]),
        ("DCS", b"\x1bP"),
        ("APC", b"\x1b_"),
        ("BEL", b"\x07"),
        ("C1 CSI", "\u{9b}".as_bytes()),
        ("C1 OSC", "\u{9d}".as_bytes()),
    ] {
        assert!(
            !out.windows(bad.len()).any(|w| w == bad),
            "{what} reached the terminal"
        );
    }
    // The editor frame shows the sequences as text (styled apart, so the
    // escape token and the rest may be separate runs).
    let drawn = String::from_utf8_lossy(&out[before_editor..]).into_owned();
    assert!(
        drawn.contains("]0;PWNED") && drawn.contains("]52;c;cHduZWQ="),
        "{drawn:?}"
    );
    assert!(
        drawn.contains("\\e") && drawn.contains("\\x07"),
        "{drawn:?}"
    );
}

const ISSUE_ANSWER: &str = "ok \u{1b}]0;PWNED\u{7}\u{1b}]52;c;cHduZWQ=\u{7}";
