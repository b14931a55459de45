//! The remote backend against small scripted HTTP servers on loopback:
//! each fault the backend must survive, without a model. (tests/server.rs
//! runs the same paths against a real llama-server.)

use super::*;
use crate::assist::{Event, EventReceiver, Kind, Output};
use crate::task::Task;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What the scripted server does with one chat request.
#[derive(Clone)]
enum Act {
    /// Write these bytes and close.
    Send(Vec<u8>),
    /// Write these bytes, then hold the connection open until the client
    /// goes; counts the clients that went.
    Stall(Vec<u8>),
}

struct Fake {
    url: String,
    /// Chat request bodies and headers, in arrival order.
    requests: Arc<Mutex<Vec<String>>>,
    /// Stalled connections the client closed.
    closed: Arc<AtomicUsize>,
}

const MODELS: &str = r#"{"object":"list","data":[{"id":"fake-model","object":"model"}]}"#;

/// A server answering `/models`, `/props` (when `props` is given) and
/// chat completions with `acts` in turn (the last one repeats).
fn fake(acts: Vec<Act>, props: Option<&str>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let closed = Arc::new(AtomicUsize::new(0));
    let (reqs, gone) = (requests.clone(), closed.clone());
    let props = props.map(str::to_string);
    std::thread::spawn(move || {
        let mut next = 0;
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let Some(head) = read_request(&mut conn) else {
                continue;
            };
            let act = if head.starts_with("GET /v1/models") {
                Act::Send(http(200, "application/json", MODELS))
            } else if head.starts_with("GET /props") {
                match &props {
                    Some(p) => Act::Send(http(200, "application/json", p)),
                    None => Act::Send(http(404, "text/plain", "no")),
                }
            } else {
                reqs.lock().unwrap().push(head);
                let a = acts[next.min(acts.len() - 1)].clone();
                next += 1;
                a
            };
            let gone = gone.clone();
            std::thread::spawn(move || perform(conn, act, &gone));
        }
    });
    Fake {
        url,
        requests,
        closed,
    }
}

fn perform(mut conn: TcpStream, act: Act, gone: &AtomicUsize) {
    match act {
        Act::Send(bytes) => {
            let _ = conn.write_all(&bytes);
        }
        Act::Stall(bytes) => {
            let _ = conn.write_all(&bytes);
            let _ = conn.flush();
            let mut buf = [0u8; 64];
            conn.set_read_timeout(Some(Duration::from_secs(20))).ok();
            if matches!(conn.read(&mut buf), Ok(0)) {
                gone.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// Read one request (headers and a Content-Length body) as text.
fn read_request(conn: &mut TcpStream) -> Option<String> {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + len {
                return Some(text);
            }
        }
    }
}

fn http(status: u16, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An SSE answer streaming `text` in pieces of `piece` bytes.
fn sse(text: &str, piece: usize, finish: &str, done: bool) -> String {
    let mut out = String::from("data: {\"model\":\"served-id\",\"system_fingerprint\":\"fp-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n");
    let chars: Vec<char> = text.chars().collect();
    for part in chars.chunks(piece) {
        let s: String = part.iter().collect();
        let delta = serde_json::json!({"choices":[{"index":0,"delta":{"content":s}}]});
        out.push_str(&format!("data: {delta}\n\n"));
    }
    if !finish.is_empty() {
        out.push_str(&format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"{finish}\"}}]}}\n\n"));
        out.push_str(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":321,\"completion_tokens\":17}}\n\n",
        );
    }
    if done {
        out.push_str("data: [DONE]\n\n");
    }
    out
}

fn sse_response(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{body}")
        .into_bytes()
}

const CRITIQUE: &str = r#"{"critiques":[{"quote":"2+2=5","comment":"2+2 is 4","severity":"critical","category":"arithmetic"}]}"#;

fn task() -> Arc<Task> {
    Arc::new(Task {
        id: "t1".into(),
        prompt: "What is 2+2?".into(),
        answer: "I think 2+2=5.".into(),
        answer_b: None,
        reference: None,
        steps: None,
        meta: Default::default(),
    })
}

fn settings(url: &str) -> RemoteSettings {
    let mut s = RemoteSettings::new(url);
    s.idle_timeout = Duration::from_secs(5);
    s.connect_timeout = Duration::from_secs(2);
    s.retry = RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(80),
    };
    s
}

fn connect(s: RemoteSettings) -> (Remote, EventReceiver) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let r = Remote::connect(s, Prompts::builtin(), tx).expect("connects");
    (r, rx)
}

fn submit(r: &Remote, id: u64) {
    r.submit(Request {
        id,
        task: task(),
        kind: Kind::Critique,
        seed: 9,
    });
}

/// Events until the terminal one (bounded in time).
fn collect(rx: &mut EventReceiver, within: Duration) -> Vec<Event> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        match rx.try_recv() {
            Ok(ev) => {
                let last = matches!(
                    ev,
                    Event::Done { .. } | Event::Failed { .. } | Event::Cancelled { .. }
                );
                out.push(ev);
                if last {
                    return out;
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    panic!("no terminal event within {within:?}; got {out:?}");
}

fn failure(events: &[Event]) -> String {
    match events.last() {
        Some(Event::Failed { error, .. }) => error.clone(),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn streams_tokens_and_records_served_provenance() {
    let f = fake(
        vec![Act::Send(sse_response(&sse(CRITIQUE, 7, "stop", true)))],
        None,
    );
    let mut s = settings(&f.url);
    s.api_key = Some(ApiKey("tok-123".into()));
    assert!(!format!("{s:?}").contains("tok-123"), "Debug hides the key");
    let (r, mut rx) = connect(s);
    assert_eq!(r.model(), "fake-model", "first listed model");
    assert_eq!(r.concurrency(), DEFAULT_CONCURRENCY, "no /props: default");
    submit(&r, 1);
    let events = collect(&mut rx, Duration::from_secs(10));
    assert!(matches!(events[0], Event::Started { id: 1, .. }));
    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Token { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, CRITIQUE);
    let Some(Event::Done { assistance, .. }) = events.last() else {
        panic!("{events:?}")
    };
    let Output::Critique { critiques } = &assistance.output else {
        panic!()
    };
    assert!(
        critiques[0].span.is_some(),
        "quote anchored like the engine does"
    );
    let p = &assistance.provenance;
    assert!(p.model.is_none(), "no model file for remote assistance");
    let served = p.served.as_ref().unwrap();
    assert_eq!(served.model, "served-id");
    assert_eq!(served.requested_model, "fake-model");
    assert_eq!(served.system_fingerprint.as_deref(), Some("fp-1"));
    assert_eq!(served.backend, f.url);
    assert_eq!(
        (served.attempts, p.prompt_tokens, p.gen_tokens),
        (1, 321, 17)
    );
    assert_eq!((p.seed, p.template_name.as_str()), (9, "critique"));
    let sent = f.requests.lock().unwrap()[0].clone();
    assert!(sent.starts_with("POST /v1/chat/completions"), "{sent}");
    assert!(
        sent.contains("authorization: Bearer tok-123")
            || sent.contains("Authorization: Bearer tok-123")
    );
    assert!(sent.contains(r#""type":"json_schema""#) && sent.contains(r#""stream":true"#));
    let json = serde_json::to_string(&assistance).unwrap();
    assert!(
        !json.contains("tok-123") && !json.contains("\"model\":{"),
        "{json}"
    );
}

#[test]
fn retries_503_then_succeeds() {
    let busy = http(
        503,
        "application/json",
        r#"{"error":{"message":"Loading model"}}"#,
    );
    let ok = sse_response(&sse(CRITIQUE, 50, "stop", true));
    let f = fake(
        vec![Act::Send(busy.clone()), Act::Send(busy), Act::Send(ok)],
        None,
    );
    let (r, mut rx) = connect(settings(&f.url));
    submit(&r, 1);
    let events = collect(&mut rx, Duration::from_secs(10));
    let Some(Event::Done { assistance, .. }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(assistance.provenance.served.as_ref().unwrap().attempts, 3);
    assert_eq!(f.requests.lock().unwrap().len(), 3);
}

#[test]
fn gives_up_on_429_with_the_servers_message() {
    let limited = http(
        429,
        "application/json",
        r#"{"error":{"message":"slow down"}}"#,
    );
    let f = fake(vec![Act::Send(limited)], None);
    let (r, mut rx) = connect(settings(&f.url));
    submit(&r, 1);
    let err = failure(&collect(&mut rx, Duration::from_secs(10)));
    assert!(
        err.contains("HTTP 429") && err.contains("slow down") && err.contains("3 attempt"),
        "{err}"
    );
}

#[test]
fn a_refused_schema_is_named_with_the_servers_answer() {
    let no = http(
        400,
        "application/json",
        r#"{"error":{"message":"response_format type must be one of \"text\" or \"json_object\""}}"#,
    );
    let f = fake(vec![Act::Send(no)], None);
    let (r, mut rx) = connect(settings(&f.url));
    submit(&r, 1);
    let err = failure(&collect(&mut rx, Duration::from_secs(10)));
    assert!(
        err.contains("JSON-schema response format") && err.contains("json_object"),
        "{err}"
    );
    assert_eq!(f.requests.lock().unwrap().len(), 1, "not retried");
}

#[test]
fn output_off_the_schema_fails_with_the_raw_text() {
    let text = "Sure! Here is my critique: the answer is wrong.";
    let f = fake(
        vec![Act::Send(sse_response(&sse(text, 10, "stop", true)))],
        None,
    );
    let (r, mut rx) = connect(settings(&f.url));
    submit(&r, 1);
    let err = failure(&collect(&mut rx, Duration::from_secs(10)));
    assert!(
        err.contains("does not match the critique schema") && err.contains(text),
        "{err}"
    );
}

#[test]
fn stopping_at_max_tokens_is_a_failure_not_assistance() {
    let f = fake(
        vec![Act::Send(sse_response(&sse(
            "{\"critiques\":[",
            5,
            "length",
            true,
        )))],
        None,
    );
    let (r, mut rx) = connect(settings(&f.url));
    submit(&r, 1);
    let err = failure(&collect(&mut rx, Duration::from_secs(10)));
    assert!(err.contains("max_tokens"), "{err}");
}

#[test]
fn truncated_and_malformed_streams_fail_clearly() {
    let cut = sse_response(&sse(CRITIQUE, 9, "", false));
    let html = http(200, "text/html", "<html>proxy login</html>");
    let junk = sse_response("data: {not json\n\n");
    let f = fake(vec![Act::Send(cut), Act::Send(html), Act::Send(junk)], None);
    let (r, mut rx) = connect(settings(&f.url));
    submit(&r, 1);
    let err = failure(&collect(&mut rx, Duration::from_secs(10)));
    assert!(
        err.contains("stream ended before") && err.contains("critiques"),
        "{err}"
    );
    submit(&r, 2);
    let err = failure(&collect(&mut rx, Duration::from_secs(10)));
    assert!(
        err.contains("text/html") && err.contains("proxy login"),
        "{err}"
    );
    submit(&r, 3);
    let err = failure(&collect(&mut rx, Duration::from_secs(10)));
    assert!(err.contains("malformed stream"), "{err}");
}

#[test]
fn a_stalled_stream_hits_the_idle_timeout() {
    let head = sse_response(&sse("{\"critiques\":[", 4, "", false));
    let f = fake(vec![Act::Stall(head)], None);
    let mut s = settings(&f.url);
    s.idle_timeout = Duration::from_millis(300);
    let (r, mut rx) = connect(s);
    let t0 = Instant::now();
    submit(&r, 1);
    let events = collect(&mut rx, Duration::from_secs(10));
    let err = failure(&events);
    assert!(
        err.contains("sent nothing for 0.3 s") && err.contains("critiques"),
        "{err}"
    );
    assert!(events.iter().any(|e| matches!(e, Event::Token { .. })));
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn cancel_aborts_the_http_request() {
    let head = sse_response(&sse("{\"critiques\":[", 4, "", false));
    let f = fake(vec![Act::Stall(head)], None);
    let (r, mut rx) = connect(settings(&f.url));
    submit(&r, 7);
    // Wait until tokens flow, then cancel.
    loop {
        match rx.try_recv() {
            Ok(Event::Token { .. }) => break,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    r.cancel(7);
    let events = collect(&mut rx, Duration::from_secs(5));
    assert!(
        matches!(events.last(), Some(Event::Cancelled { id: 7 })),
        "{events:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while f.closed.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        f.closed.load(Ordering::SeqCst),
        1,
        "the server saw the connection close"
    );
}

#[test]
fn queued_requests_wait_for_a_slot_and_can_be_cancelled() {
    let head = sse_response(&sse("{\"critiques\":[", 4, "", false));
    let f = fake(
        vec![Act::Stall(head)],
        Some(r#"{"total_slots":1,"default_generation_settings":{"n_ctx":2048}}"#),
    );
    let (r, mut rx) = connect(settings(&f.url));
    assert_eq!(r.concurrency(), 1, "slots from /props");
    assert_eq!(r.server_info().n_ctx, Some(2048));
    submit(&r, 1);
    submit(&r, 2);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(f.requests.lock().unwrap().len(), 1, "one in flight");
    r.cancel(2);
    r.cancel(1);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let events = collect(&mut rx, Duration::from_secs(5));
        let Some(Event::Cancelled { id }) = events.last() else {
            panic!("{events:?}")
        };
        ids.push(*id);
    }
    ids.sort();
    assert_eq!(ids, [1, 2]);
    assert_eq!(
        f.requests.lock().unwrap().len(),
        1,
        "the queued one never went out"
    );
}

#[test]
fn concurrency_flag_wins_over_the_server() {
    let f = fake(
        vec![Act::Send(http(500, "text/plain", "x"))],
        Some(r#"{"total_slots":3}"#),
    );
    let (r, _rx) = connect(settings(&f.url));
    assert_eq!(r.concurrency(), 3);
    let mut s = settings(&f.url);
    s.concurrency = Some(6);
    s.model_name = Some("other".into());
    let (r, _rx) = connect(s);
    assert_eq!((r.concurrency(), r.model()), (6, "other"));
}

#[test]
fn an_absent_server_fails_to_connect_quickly() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let t0 = Instant::now();
    let err = Remote::connect(
        settings(&format!("http://user:pw@127.0.0.1:{port}/v1")),
        Prompts::builtin(),
        tx,
    )
    .err()
    .expect("nothing listens there")
    .to_string();
    assert!(
        err.contains("cannot connect to http://127.0.0.1") && err.contains("refused"),
        "{err}"
    );
    assert!(!err.contains("pw"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(matches!(
        ApiKey::from_env("CRIT_TEST_SURELY_UNSET_VARIABLE"),
        Err(RemoteError::MissingKey { .. })
    ));
}

#[test]
fn a_server_that_never_accepts_hits_the_connect_timeout() {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: shrinking the backlog of a socket we own; once its queue is
    // full the kernel drops further SYNs, so connecting hangs.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    while let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
        held.push(s);
        assert!(held.len() < 64, "the backlog never filled");
    }
    let mut s = settings(&format!("http://{addr}/v1"));
    s.connect_timeout = Duration::from_millis(400);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let t0 = Instant::now();
    let err = Remote::connect(s, Prompts::builtin(), tx)
        .err()
        .expect("never accepted")
        .to_string();
    assert!(
        err.contains("timed out after 0.4 s (--connect-timeout)"),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
}
