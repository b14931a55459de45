//! A real llama.cpp `llama-server` for tests, and a loopback proxy that
//! injects faults in front of it.
//!
//! The server binary is the one `scripts/llama-tools.sh` caches (`make
//! tools`, a prerequisite of `make test`), or `$LLAMA_SERVER`. It serves
//! the default model on a free loopback port and is killed by pid when the
//! `LlamaServer` is dropped, which also happens when a test panics; if the
//! test process itself dies, the kernel ends the server (parent-death
//! signal).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One server (and one model) at a time: two llama.cpp processes on two
/// cores run many times slower each.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cached `llama-server`, located the way scripts/llama-tools.sh
/// stores it (the version is read from the script: one source).
pub fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("LLAMA_SERVER").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/llama-tools.sh");
    let text = std::fs::read_to_string(&script).expect("scripts/llama-tools.sh");
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("VERSION=\"")?.strip_suffix('"'))
        .expect("VERSION=\"...\" in scripts/llama-tools.sh");
    let bin = crit::paths::cache_dir()
        .join("tools")
        .join(format!("llama.cpp-{version}"))
        .join("bin/llama-server");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `make tools` (scripts/llama-tools.sh)",
        bin.display()
    );
    bin
}

pub fn model_path() -> PathBuf {
    crit::assist::model::resolve(None, None).unwrap_or_else(|e| panic!("{e}"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port")
        .port()
}

pub struct LlamaServer {
    child: Option<Child>,
    pub port: u16,
    /// API base for crit: `http://127.0.0.1:PORT/v1`.
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl LlamaServer {
    /// The default model, two slots, one thread, a 4096-token context.
    pub fn start() -> LlamaServer {
        LlamaServer::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> LlamaServer {
        let mut last = String::new();
        for _ in 0..3 {
            match LlamaServer::try_start(extra) {
                Ok(s) => return s,
                Err(e) => last = e, // most likely the port was taken meanwhile
            }
        }
        panic!("llama-server did not start: {last}");
    }

    fn try_start(extra: &[&str]) -> Result<LlamaServer, String> {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("llama-server.log");
        let port = free_port();
        let model = model_path();
        let mut cmd = Command::new(server_binary());
        cmd.args(["-m", model.to_str().unwrap()])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-np", "2", "-c", "4096", "-t", "1", "-tb", "1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to
        // end the server when the thread that started it is gone.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        let mut server = LlamaServer {
            child: Some(child),
            port,
            url: format!("http://127.0.0.1:{port}/v1"),
            log,
            _dir: dir,
        };
        server.wait_healthy(Duration::from_secs(90))?;
        Ok(server)
    }

    fn wait_healthy(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!("exited with {status}: {}", self.log_tail()));
            }
            if matches!(http_get(self.port, "/health"), Some((200, _))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "not healthy within {within:?}: {}",
            self.log_tail()
        ))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's output so far (for failure messages).
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        for name in ["llama-server.log", "stderr.log"] {
            let t = std::fs::read_to_string(self.log.with_file_name(name)).unwrap_or_default();
            let start = t.len().saturating_sub(2000);
            let start = (start..t.len())
                .find(|i| t.is_char_boundary(*i))
                .unwrap_or(0);
            text.push_str(&t[start..]);
        }
        text
    }

    /// Kill the server by pid and reap it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The first model id the server lists.
    pub fn model_id(&self) -> String {
        let (status, body) = http_get(self.port, "/v1/models").expect("/v1/models answers");
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"][0]["id"].as_str().expect("a model id").to_string()
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `GET path` on loopback: (status, body), or `None` if nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |p| p.1).to_string();
    Some((status, body))
}

/// What the proxy does with chat-completion requests (everything else is
/// passed through).
#[derive(Clone)]
pub enum Fault {
    /// Pass everything through.
    None,
    /// Answer the first `n` chat requests with HTTP 503, then pass through.
    Unavailable(usize),
    /// Pass the request on, relay this many bytes of the answer, then send
    /// nothing more (the connection stays open).
    StallAfter(usize),
    /// Answer chat requests with this event stream instead of the server.
    Replace(String),
}

/// A loopback proxy in front of a server, one request per connection.
pub struct Proxy {
    pub url: String,
    /// Chat requests seen.
    pub chats: Arc<AtomicUsize>,
    /// Connections the client closed before the answer ended.
    pub client_closed: Arc<AtomicUsize>,
}

impl Proxy {
    pub fn start(upstream: u16, fault: Fault) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let chats = Arc::new(AtomicUsize::new(0));
        let client_closed = Arc::new(AtomicUsize::new(0));
        let (c, gone) = (chats.clone(), client_closed.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (c, gone, fault) = (c.clone(), gone.clone(), fault.clone());
                std::thread::spawn(move || handle(conn, upstream, &fault, &c, &gone));
            }
        });
        Proxy {
            url,
            chats,
            client_closed,
        }
    }
}

fn handle(
    mut client: TcpStream,
    upstream: u16,
    fault: &Fault,
    chats: &AtomicUsize,
    gone: &Arc<AtomicUsize>,
) {
    let Some(request) = read_request(&mut client) else {
        return;
    };
    let is_chat = request.starts_with(b"POST ") && contains(&request, b"/chat/completions");
    let nth = if is_chat {
        chats.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        0
    };
    let mut limit = None;
    if is_chat {
        match fault {
            Fault::Unavailable(n) if nth <= *n => {
                let body = r#"{"error":{"code":503,"message":"proxy: temporarily unavailable"}}"#;
                let _ = write!(
                    client,
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                return;
            }
            Fault::Replace(events) => {
                let _ = write!(
                    client,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{events}"
                );
                return;
            }
            Fault::StallAfter(n) => limit = Some(*n),
            _ => {}
        }
    }
    let counted = if is_chat {
        gone.clone()
    } else {
        Arc::default()
    };
    forward(client, upstream, &close_after(&request), limit, &counted);
}

/// Relay one request and its answer. When the client hangs up before the
/// answer is complete (no `[DONE]` relayed, server still sending), that is
/// counted in `gone` and the proxy hangs up on the server too, as a
/// client's abort would.
fn forward(
    mut client: TcpStream,
    upstream: u16,
    request: &[u8],
    limit: Option<usize>,
    gone: &Arc<AtomicUsize>,
) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return; // the client sees the connection close
    };
    if server.write_all(request).is_err() {
        return;
    }
    let complete = Arc::new(AtomicBool::new(false));
    let watcher = watch_client(&client, &server, &complete, gone);
    let mut relayed = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let n = limit.map_or(n, |l| n.min(l.saturating_sub(relayed.len())));
        relayed.extend_from_slice(&buf[..n]);
        if contains(&relayed, b"[DONE]") {
            complete.store(true, Ordering::SeqCst);
        }
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
        if limit.is_some_and(|l| relayed.len() >= l) {
            let _ = watcher.join(); // stall until the client leaves
            return;
        }
    }
    complete.store(true, Ordering::SeqCst);
    let _ = client.shutdown(Shutdown::Both);
    let _ = watcher.join();
}

/// A thread that waits for the client to hang up.
fn watch_client(
    client: &TcpStream,
    server: &TcpStream,
    complete: &Arc<AtomicBool>,
    gone: &Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    let mut c = client.try_clone().unwrap();
    let s = server.try_clone().unwrap();
    let (complete, gone) = (complete.clone(), gone.clone());
    std::thread::spawn(move || {
        let mut b = [0u8; 256];
        while matches!(c.read(&mut b), Ok(n) if n > 0) {}
        if !complete.load(Ordering::SeqCst) {
            gone.fetch_add(1, Ordering::SeqCst);
            let _ = s.shutdown(Shutdown::Both);
        }
    })
}

/// The request with `Connection: close`, so each connection carries one
/// request and the proxy sees every request.
fn close_after(request: &[u8]) -> Vec<u8> {
    let end = find(request, b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&request[end + 4..]);
    bytes
}

/// One request: its head and a Content-Length body.
fn read_request(conn: &mut TcpStream) -> Option<Vec<u8>> {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + len {
                conn.set_read_timeout(None).ok()?;
                return Some(data);
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// Run crit with a deadline (killed and failed past it), with no backend,
/// model or prompts from the caller's environment.
pub fn crit(sessions: &Path, args: &[&str], within: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crit"))
        .args(args)
        .env("CRIT_SESSIONS", sessions)
        .env("CRIT_CONFIG", sessions.join("no-config.toml"))
        .env_remove("CRIT_BACKEND")
        .env_remove("CRIT_MODEL")
        .env_remove("CRIT_PROMPTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "crit {args:?} ran past {within:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}
