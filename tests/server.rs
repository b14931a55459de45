//! The remote backend against a real llama.cpp `llama-server` serving the
//! default model (built by `make tools`): `generate` and the headless review
//! through it, and each fault the backend must survive (the server stopped
//! mid-run, 503 then success, a stalled stream, output off the schema,
//! cancel mid-stream). One server at a time; every wait is bounded.

mod common;
#[path = "common/server.rs"]
mod harness;

use crit::assist::prompt::Prompts;
use crit::assist::remote::{Remote, RemoteSettings, RetryPolicy};
use crit::assist::{Assistant, Event, EventReceiver, Kind, Request};
use crit::session::event::SourceFormat;
use crit::session::{Body, Replay, Session};
use crit::task::Task;
use harness::{crit, http_get, serial, Fault, LlamaServer, Proxy};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MAX_TOKENS: u32 = 1024;

const TASKS: &str = concat!(
    r#"{"id":"eggs","prompt":"Janet has 16 eggs and eats 3. How many are left?","answer":"16 - 3 = 12. She has 12 eggs left."}"#,
    "\n",
    r#"{"id":"capital","prompt":"What is the capital of Australia?","answer":"The capital of Australia is Sydney."}"#,
    "\n"
);

fn settings(url: &str) -> RemoteSettings {
    let mut s = RemoteSettings::new(url);
    s.engine.max_tokens = MAX_TOKENS;
    s.idle_timeout = Duration::from_secs(30);
    s.retry = RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(400),
    };
    s
}

fn connect(s: RemoteSettings) -> (Remote, EventReceiver) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let remote = Remote::connect(s, Prompts::builtin(), tx).expect("connects to the server");
    (remote, rx)
}

fn task() -> Arc<Task> {
    let line = TASKS.lines().next().unwrap();
    Arc::new(serde_json::from_str(line).unwrap())
}

fn submit(r: &Remote, id: u64, kind: Kind) {
    r.submit(Request {
        id,
        task: task(),
        kind,
        seed: 42,
    });
}

fn is_terminal(e: &Event) -> bool {
    matches!(
        e,
        Event::Done { .. } | Event::Failed { .. } | Event::Cancelled { .. }
    )
}

/// Events until one request's terminal event, within `within`.
fn until_terminal(rx: &mut EventReceiver, within: Duration) -> Vec<Event> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        match rx.try_recv() {
            Ok(e) => {
                let end = is_terminal(&e);
                out.push(e);
                if end {
                    return out;
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    panic!("no terminal event within {within:?}; got {out:?}");
}

fn failure(events: &[Event]) -> &str {
    match events.last() {
        Some(Event::Failed { error, .. }) => error,
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn write_tasks(dir: &Path, text: &str) -> String {
    let p = dir.join("tasks.jsonl");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn assistance(data: &Replay) -> Vec<(String, Kind, &crit::assist::Assistance)> {
    data.events()
        .iter()
        .filter_map(|e| match &e.body {
            // Model-written only: computed checks (crit-tools) come from no server.
            Body::Assistance { task, assistance }
                if assistance.output.kind() != Kind::ToolChecks =>
            {
                Some((task.clone(), assistance.output.kind(), assistance.as_ref()))
            }
            _ => None,
        })
        .collect()
}

fn failures(data: &Replay) -> Vec<(String, String)> {
    data.events()
        .iter()
        .filter_map(|e| match &e.body {
            Body::AssistanceFailed { task, error, .. } => Some((task.clone(), error.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn generate_through_llama_server_records_served_provenance() {
    let _one = serial();
    let server = LlamaServer::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = write_tasks(dir.path(), TASKS.lines().next().unwrap());
    let max = MAX_TOKENS.to_string();
    let out = crit(
        dir.path(),
        &[
            "generate",
            &tasks,
            "--session",
            "s",
            "--backend",
            &server.url,
            "--max-tokens",
            &max,
        ],
        Duration::from_secs(240),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{}", server.log_tail());
    let data = Replay::read(&dir.path().join("s")).unwrap();
    assert!(failures(&data).is_empty(), "{:?}", failures(&data));
    let got = assistance(&data);
    assert_eq!(got.len(), 3, "every kind: {err}");
    let served_id = server.model_id();
    for (_, kind, a) in got {
        assert_eq!(a.output.kind(), kind);
        // "No flaw" is an answer: only critiques may be an empty list.
        assert!(kind == Kind::Critique || !a.output.is_empty(), "{kind:?}");
        let p = &a.provenance;
        assert!(
            p.model.is_none(),
            "no model file hash for served assistance"
        );
        let s = p.served.as_ref().expect("served provenance");
        assert_eq!(s.backend, server.url);
        assert_eq!(s.model, served_id);
        assert!(s
            .system_fingerprint
            .as_deref()
            .is_some_and(|f| !f.is_empty()));
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        assert!(s.server_timings, "llama.cpp reports its timings");
        assert!(p.prompt_tokens > 100 && p.gen_tokens > 0, "usage: {p:?}");
        assert_eq!(
            (p.max_tokens, p.template_name.as_str()),
            (MAX_TOKENS, kind.name())
        );
        assert_eq!(p.prompt_sha256.len(), 64);
    }
    // Resumable as with the local engine: nothing left to do.
    let again = crit(
        dir.path(),
        &[
            "generate",
            &tasks,
            "--session",
            "s",
            "--backend",
            &server.url,
        ],
        Duration::from_secs(60),
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 to generate"));
}

#[test]
fn review_headless_through_llama_server() {
    use crit::tui::{App, Driver, Msg, Options};
    let _one = serial();
    let server = LlamaServer::start();
    let (remote, rx) = connect(settings(&server.url));
    assert_eq!(remote.concurrency(), 2, "the server's slots (-np 2)");
    let dir = tempfile::tempdir().unwrap();
    let tasks: Vec<Task> = vec![(*task()).clone()];
    let session = Session::create_or_open(
        &dir.path().join("s"),
        &tasks,
        "t.jsonl",
        SourceFormat::Native,
    )
    .unwrap();
    let opts = Options {
        evaluator: "alice".into(),
        prefetch: 0,
        model_name: remote.name(),
        ..Options::default()
    };
    let (log, replay) = session.split();
    let mut app = App::new(opts, replay);
    let clock = crit::tui::driver::real_clock();
    let mut drv = Driver::new(Some(log), Some(Box::new(remote)), rx, clock);
    drv.dispatch(&mut app, Msg::Resize(120, 40)).unwrap();
    drv.dispatch(&mut app, Msg::Start).unwrap();
    let idle = drv.wait_idle(&mut app, Duration::from_secs(240)).unwrap();
    assert!(idle, "assistance finished in time\n{}", server.log_tail());
    // Rate the first step of the served decomposition (critiques may be none).
    for k in [']', ']', '1'] {
        drv.dispatch(&mut app, common::key(k)).unwrap();
    }
    drv.finish().unwrap();
    let data = Replay::read(&dir.path().join("s")).unwrap();
    assert!(failures(&data).is_empty(), "{:?}", failures(&data));
    let kinds: Vec<Kind> = assistance(&data).iter().map(|a| a.1).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(assistance(&data)
        .iter()
        .all(|a| a.2.provenance.served.is_some()));
    let served = |seq: u64| {
        data.event(seq).is_some_and(|e| match &e.body {
            Body::Assistance { assistance, .. } => assistance.provenance.served.is_some(),
            _ => false,
        })
    };
    assert!(
        data.events().iter().any(|e| match &e.body {
            Body::Label { target, .. } => target.assistance().is_some_and(served),
            _ => false,
        }),
        "a label on served assistance"
    );
}

#[test]
fn requests_run_in_parallel_on_the_servers_slots() {
    let _one = serial();
    let server = LlamaServer::start();
    let (remote, mut rx) = connect(settings(&server.url));
    submit(&remote, 1, Kind::Critique);
    submit(&remote, 2, Kind::Checks);
    let mut tokens_before_first_done = std::collections::HashSet::new();
    let mut done = 0;
    let deadline = Instant::now() + Duration::from_secs(240);
    while done < 2 {
        assert!(Instant::now() < deadline, "both finish in time");
        match rx.try_recv() {
            Ok(Event::Token { id, .. }) if done == 0 => {
                tokens_before_first_done.insert(id);
            }
            Ok(Event::Failed { error, .. }) => panic!("{error}"),
            Ok(e) if is_terminal(&e) => done += 1,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    assert_eq!(tokens_before_first_done.len(), 2, "both streamed at once");
}

#[test]
fn stopping_the_server_mid_run_keeps_finished_work_and_resumes() {
    let _one = serial();
    let mut server = LlamaServer::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = write_tasks(dir.path(), TASKS);
    let events = dir.path().join("s/events.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crit"))
        .args(["generate", &tasks, "--session", "s", "--kinds", "critique"])
        // One request at a time: the second is still in flight when the
        // server stops (a "no flaw" answer is only a few tokens).
        .args(["--concurrency", "1"])
        .args([
            "--backend",
            &server.url,
            "--max-tokens",
            &MAX_TOKENS.to_string(),
        ])
        .env("CRIT_SESSIONS", dir.path())
        .env("CRIT_CONFIG", dir.path().join("no-config.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    // The first critique (computed checks are written before any request).
    while !std::fs::read_to_string(&events).is_ok_and(|t| t.contains(r#""kind":"critique""#)) {
        assert!(Instant::now() < deadline, "first assistance in time");
        assert!(
            child.try_wait().unwrap().is_none(),
            "generate still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop(); // the second task's request is in flight or next
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("generate hangs after the server stopped");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let data = Replay::read(&dir.path().join("s")).expect("the session stays readable");
    assert_eq!(assistance(&data).len(), 1, "finished work kept: {err}");
    let failed = failures(&data);
    assert_eq!(failed.len(), 1, "{failed:?}");
    // A failed request makes generate exit non-zero and say so.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("requests failed"), "{err}");
    assert!(
        failed[0].1.contains("cannot connect") || failed[0].1.contains("stream ended"),
        "{failed:?}"
    );

    let server = LlamaServer::start();
    let out = crit(
        dir.path(),
        &[
            "generate",
            &tasks,
            "--session",
            "s",
            "--kinds",
            "critique",
            "--backend",
            &server.url,
        ],
        Duration::from_secs(180),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("1 to generate"),
        "{err}"
    );
    let data = Replay::read(&dir.path().join("s")).unwrap();
    let tasks_done: Vec<String> = assistance(&data).into_iter().map(|a| a.0).collect();
    assert_eq!(tasks_done, ["eggs", "capital"]);
}

#[test]
fn a_503_from_a_proxy_is_retried_then_succeeds() {
    let _one = serial();
    let server = LlamaServer::start();
    let proxy = Proxy::start(server.port, Fault::Unavailable(2));
    let (remote, mut rx) = connect(settings(&proxy.url));
    submit(&remote, 1, Kind::Critique);
    let events = until_terminal(&mut rx, Duration::from_secs(180));
    let Some(Event::Done { assistance, .. }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(assistance.provenance.served.as_ref().unwrap().attempts, 3);
    assert_eq!(proxy.chats.load(Ordering::SeqCst), 3);
}

#[test]
fn a_stalled_stream_fails_on_the_idle_timeout() {
    let _one = serial();
    let server = LlamaServer::start();
    let proxy = Proxy::start(server.port, Fault::StallAfter(900));
    let mut s = settings(&proxy.url);
    s.idle_timeout = Duration::from_secs(3);
    let (remote, mut rx) = connect(s);
    submit(&remote, 1, Kind::Critique);
    let events = until_terminal(&mut rx, Duration::from_secs(120));
    let err = failure(&events);
    assert!(err.contains("sent nothing for 3.0 s"), "{err}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.client_closed.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "crit hung up on the stalled stream"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn output_off_the_schema_is_recorded_as_failed_with_the_raw_text() {
    let _one = serial();
    let server = LlamaServer::start();
    let raw = "I am sorry, but I cannot critique this answer.";
    let chunk = serde_json::json!({"model":"x","choices":[{"index":0,"delta":{"content":raw}}]});
    let stop = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
    let events = format!("data: {chunk}\n\ndata: {stop}\n\ndata: [DONE]\n\n");
    let proxy = Proxy::start(server.port, Fault::Replace(events));
    let dir = tempfile::tempdir().unwrap();
    let tasks = write_tasks(dir.path(), TASKS.lines().next().unwrap());
    let out = crit(
        dir.path(),
        &[
            "generate",
            &tasks,
            "--session",
            "s",
            "--kinds",
            "critique",
            "--backend",
            &proxy.url,
        ],
        Duration::from_secs(60),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("1 of 1 requests failed"), "{err}");
    let data = Replay::read(&dir.path().join("s")).unwrap();
    assert!(assistance(&data).is_empty(), "never turned into assistance");
    let failed = failures(&data);
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].1.contains("does not match the critique schema") && failed[0].1.contains(raw),
        "{failed:?}"
    );
}

#[test]
fn cancel_mid_stream_aborts_the_request_on_the_server() {
    let _one = serial();
    let server = LlamaServer::start();
    let proxy = Proxy::start(server.port, Fault::None);
    let (remote, mut rx) = connect(settings(&proxy.url));
    submit(&remote, 5, Kind::Decompose);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "tokens stream in time");
        match rx.try_recv() {
            Ok(Event::Token { .. }) => break,
            Ok(e) => assert!(!is_terminal(&e), "{e:?}"),
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    let t0 = Instant::now();
    remote.cancel(5);
    let events = until_terminal(&mut rx, Duration::from_secs(5));
    assert!(
        matches!(events.last(), Some(Event::Cancelled { id: 5 })),
        "{events:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.client_closed.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the connection was closed mid-answer"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The server notices and frees the slot.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = http_get(server.port, "/slots").expect("/slots");
        assert_eq!(status, 200, "{body}");
        let slots: serde_json::Value = serde_json::from_str(&body).unwrap();
        let busy = slots
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["is_processing"] == true);
        if !busy {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server stopped generating: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn bad_backend_flags_exit_2_and_an_absent_server_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = write_tasks(dir.path(), TASKS);
    let run = |extra: &[&str]| {
        let mut args = vec!["generate", &tasks, "--session", "s"];
        args.extend_from_slice(extra);
        let out = crit(dir.path(), &args, Duration::from_secs(60));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), err)
    };
    let (code, err) = run(&["--backend", "ftp://h/v1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("use an http:// or https:// URL"), "{err}");
    let (code, err) = run(&[
        "--backend",
        "http://h/v1",
        "--api-key-env",
        "CRIT_TEST_NO_SUCH_KEY",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("CRIT_TEST_NO_SUCH_KEY is not set"), "{err}");
    let url = format!("http://127.0.0.1:{}/v1", harness::free_port());
    let (code, err) = run(&["--backend", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("cannot connect to {url}")), "{err}");
}

/// `crit bench --backend`: one task with a correct answer (its critique is
/// short enough for 64 tokens), both passes, the report as JSON.
#[test]
fn bench_against_llama_server_reports_both_passes() {
    let _one = serial();
    let server = LlamaServer::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = write_tasks(
        dir.path(),
        r#"{"id":"eggs","prompt":"Janet has 16 eggs and eats 3. How many are left?","answer":"16 - 3 = 13. She has 13 eggs left."}"#,
    );
    let args = ["bench", "--backend", &server.url, "--tasks", &tasks];
    let args = [&args[..], &["--max-tokens", "64", "--json"]].concat();
    let out = crit(dir.path(), &args, Duration::from_secs(240));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{}", server.log_tail());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(r["served_model"], server.model_id());
    assert!(r["system_fingerprint"]
        .as_str()
        .is_some_and(|f| !f.is_empty()));
    assert_eq!(
        (r["slots"].as_u64(), r["concurrency"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(r["server_timings"], true, "llama.cpp reports its timings");
    assert_eq!(r["cache_reported"], true);
    let wall = &r["task_wall_ms"][0];
    assert_eq!(wall["task"], "eggs");
    assert!(wall["cached_ms"].as_u64() > Some(0) && wall["uncached_ms"].as_u64() > Some(0));
    for key in ["first_critique", "first_critique_uncached"] {
        let f = &r[key];
        assert_eq!(f["samples"], 1, "{key}: {f}");
        let token = f["median_first_token_ms"].as_f64().unwrap();
        let item = f["median_first_item_ms"].as_f64().unwrap();
        assert!(token > 0.0 && item >= token, "{key}: {f}");
    }
    for row in [&r["total"], &r["uncached"]] {
        assert_eq!(row["requests"], 3, "{row}");
        // Usage from the server; checks or steps may stop at 64 tokens.
        assert!(row["prompt_tokens"].as_u64() > Some(300), "{row}");
        assert!(row["gen_tokens"].as_u64() > Some(0), "{row}");
        assert!(row["prompt_tps"].as_f64() > Some(0.0), "{row}");
    }
    assert_eq!(
        r["uncached"]["cached_tokens"], 0,
        "cache_prompt false: the server processed every prompt token"
    );
    assert!(
        r["cache"]["median_ratio"].as_f64() > Some(0.0),
        "{}",
        r["cache"]
    );
    assert!(
        r["cache"]["median_prompt_ratio"].as_f64() > Some(0.0),
        "{}",
        r["cache"]
    );
}

#[test]
fn bench_with_bad_backend_flags_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["bench"];
        args.extend_from_slice(extra);
        let out = crit(dir.path(), &args, Duration::from_secs(60));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), err)
    };
    let (code, err) = run(&["--backend", "ftp://h/v1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("use an http:// or https:// URL"), "{err}");
    let (code, err) = run(&["--backend", "http://h/v1", "--model", "m.gguf"]);
    assert_eq!(code, Some(2), "a server or a model file, not both: {err}");
    let url = format!("http://127.0.0.1:{}/v1", harness::free_port());
    let (code, err) = run(&["--backend", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("cannot connect to {url}")), "{err}");
}
