//! A real headless Chromium driven over the DevTools protocol (CDP) on its WebSocket: launch,
//! open a page, navigate, evaluate JavaScript, wait for a condition, take a screenshot. Small
//! on purpose: what the screen tests need, nothing more.
//!
//! Chromium is Debian's `chromium` (`SWITCHDESK_CHROMIUM` names another binary). Without it
//! the tests say so and pass, unless `CI` is set, where a missing browser fails them.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// English texts left on the page in a language that translates them: every text node (and
/// translated attribute: titles, labels, and placeholders the page marks; the scripts' other
/// placeholders are examples of values such as `voicemail`) of the document whose text is an
/// English key of the language file with a different translation. Hidden views count too:
/// their page text is translated at load.
pub const UNTRANSLATED: &str = "(async () => { \
    const texts = await (await fetch('/lang/' + document.documentElement.lang + '.json')).json(); \
    const english = new Set(Object.entries(texts).filter(([k, v]) => typeof v === 'string' && v !== k).map(([k]) => k)); \
    const left = []; \
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT); \
    while (walker.nextNode()) { const t = walker.currentNode.textContent.trim(); if (english.has(t)) left.push(t); } \
    for (const node of document.querySelectorAll('[title], [aria-label], [data-i18n-attrs]')) \
      for (const a of ['title', 'aria-label', 'placeholder']) if (english.has(node.getAttribute(a))) left.push(a + '=' + node.getAttribute(a)); \
    return left; })()";

pub struct Browser {
    child: Child,
    socket: Socket,
    next_id: AtomicU64,
    session: String,
    _profile: tempfile::TempDir,
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SWITCHDESK_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

impl Browser {
    /// A fresh browser with one blank page; None (after saying why) when Chromium is missing
    /// and `CI` is not set.
    pub async fn launch() -> Option<Browser> {
        let Some(binary) = binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but Chromium is not installed (apt-get install chromium)"
            );
            eprintln!("skipping: Chromium is not installed");
            return None;
        };
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start Chromium");
        let stderr = child.stderr.take().unwrap();
        let (found, url) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = found.send(url.trim().to_owned());
                }
            }
        });
        let url = url
            .recv_timeout(Duration::from_secs(30))
            .expect("Chromium's DevTools address");
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut browser = Browser {
            child,
            socket,
            next_id: AtomicU64::new(1),
            session: String::new(),
            _profile: profile,
        };
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call("Page.enable", json!({})).await;
        browser.call("Runtime.enable", json!({})).await;
        Some(browser)
    }

    /// One CDP command (on the page's session once attached); its `result`.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params).await {
            Ok(result) => result,
            Err(error) => panic!("{method}: {error}"),
        }
    }

    /// One CDP command; its `result`, or Chromium's `error`.
    async fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut command = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            command["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::Text(command.to_string().into()))
            .await
            .unwrap();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer from Chromium"))
                .expect("Chromium's socket stays open")
                .unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == json!(id) {
                return match reply["error"].is_null() {
                    true => Ok(reply["result"].clone()),
                    false => Err(reply["error"].clone()),
                };
            }
        }
    }

    pub async fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_for("the page to load", "document.readyState === 'complete'")
            .await;
    }

    /// Evaluates `expression` in the page (promises awaited); its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Polls `condition` (a JavaScript expression) until it is truthy, for up to 30 s.
    pub async fn wait_for(&mut self, what: &str, condition: &str) -> Value {
        self.wait_for_up_to(what, condition, Duration::from_secs(30))
            .await
    }

    pub async fn wait_for_up_to(&mut self, what: &str, condition: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // A page that is navigating (a reload the test asked for) has no context to
            // evaluate in for a moment: ask again, as for a condition not yet true.
            let evaluated = self
                .try_call(
                    "Runtime.evaluate",
                    json!({"expression": condition, "awaitPromise": true, "returnByValue": true}),
                )
                .await;
            let value = match evaluated {
                Ok(result) if result["exceptionDetails"].is_null() => {
                    result["result"]["value"].clone()
                }
                Ok(result) => panic!("{condition}: {}", result["exceptionDetails"]),
                Err(error) if navigating(&error) => Value::Null,
                Err(error) => panic!("Runtime.evaluate: {error}"),
            };
            let truthy = !matches!(value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            if truthy {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what} ({condition})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The languages the page's browser asks for, as `Accept-Language` and
    /// `navigator.languages` (`"ru-RU,ru;q=0.9"`), from the next request on.
    pub async fn accept_language(&mut self, languages: &str) {
        let agent = self.eval("navigator.userAgent").await;
        self.call("Network.enable", json!({})).await;
        self.call(
            "Network.setUserAgentOverride",
            json!({"userAgent": agent, "acceptLanguage": languages}),
        )
        .await;
    }

    /// A click on the page as a person makes it (a user gesture: browsers allow sound only
    /// after one); true when the page took it.
    pub async fn click_as_a_user(&mut self) -> bool {
        let clicked = self
            .call(
                "Runtime.evaluate",
                json!({
                    "expression": "document.dispatchEvent(new PointerEvent('pointerdown')); true",
                    "userGesture": true,
                }),
            )
            .await;
        clicked["result"]["value"] == json!(true)
    }

    /// Signs in through the page's form.
    pub async fn sign_in(&mut self, base: &str, name: &str, password: &str) {
        self.goto(&format!("{base}/")).await;
        self.wait_for(
            "the sign-in form",
            "!!document.querySelector('#login-name')",
        )
        .await;
        let script = format!(
            "(() => {{ document.querySelector('#login-name').value = {name}; \
             document.querySelector('#login-password').value = {password}; \
             document.querySelector('#login-submit').click(); return true; }})()",
            name = json!(name),
            password = json!(password),
        );
        self.eval(&script).await;
    }

    /// A PNG of the page, kept as a test artifact under `target/screenshots/`.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium's answer to an evaluation in a page that is being replaced.
fn navigating(error: &Value) -> bool {
    let message = error["message"].as_str().unwrap_or_default();
    message.contains("navigated or closed") || message.contains("context was destroyed")
}
