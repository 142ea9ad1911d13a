//! Firefox over WebDriver BiDi (`ws://host:port/session`): its `storage` module has cookies
//! only, so localStorage is read and written by `script.evaluate` in a background tab of
//! meshpeers' own whose every request is blocked (`network.addIntercept`) and answered in the
//! browser (`network.provideResponse`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};

use super::conn::{Conn, TabCount};
use super::{Browser, STUB_PAGE};
use crate::error::MeshError;

pub struct Bidi {
    conn: Conn,
    product: String,
    tab: Option<Tab>,
    session: bool,
}

struct Tab {
    context: String,
    intercept: Option<String>,
    detached: bool,
    _count: TabCount,
}

impl Bidi {
    /// Connects and starts a session. Firefox allows one session at a time: while another
    /// client (another meshpeers, a test runner) holds it, this waits for it up to the timeout.
    pub fn connect(
        addr: SocketAddr,
        authority: &str,
        path: Option<&str>,
        who: String,
        timeout: Duration,
    ) -> Result<Bidi> {
        let url = format!("ws://{authority}{}", path.unwrap_or("/session"));
        let deadline = Instant::now() + timeout;
        loop {
            let conn = Conn::connect(addr, &url, who.clone(), timeout)?;
            let mut bidi = Bidi {
                conn,
                product: String::new(),
                tab: None,
                session: false,
            };
            match bidi.start_session()? {
                Ok(()) => return Ok(bidi),
                Err(taken) if taken && Instant::now() < deadline => {
                    bidi.conn.close();
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(taken) => {
                    let why = if taken {
                        format!(
                            "it already has a WebDriver BiDi session and kept it for {} s (a test runner or another tool is driving it, and Firefox allows one at a time); end that session and try again",
                            timeout.as_secs_f64()
                        )
                    } else {
                        "it refused a WebDriver BiDi session".to_owned()
                    };
                    return Err(MeshError::unreachable(format!("cannot use {who}: {why}")).into());
                }
            }
        }
    }

    /// `session.new`: `Ok(Err(true))` when another client holds Firefox's only session.
    fn start_session(&mut self) -> Result<Result<(), bool>> {
        let what = "starting a WebDriver BiDi session";
        let id = self.conn.id();
        let msg = json!({"id": id, "method": "session.new", "params": {"capabilities": {}}});
        self.conn.send(&msg, what)?;
        let deadline = Instant::now() + self.conn.timeout;
        loop {
            let m = self.conn.next(deadline, what, true)?;
            if m["id"].as_u64() != Some(id) {
                continue;
            }
            if m["type"] == "error" {
                let message = m["message"].as_str().unwrap_or_default();
                return Ok(Err(message.contains("Maximum number of active sessions")));
            }
            let caps = &m["result"]["capabilities"];
            self.product = format!(
                "{} {}",
                caps["browserName"].as_str().unwrap_or("Firefox"),
                caps["browserVersion"].as_str().unwrap_or_default()
            );
            self.session = true;
            return Ok(Ok(()));
        }
    }

    fn call(
        &mut self,
        method: &str,
        params: Value,
        what: &str,
        interruptible: bool,
    ) -> Result<Value> {
        let id = self.conn.id();
        self.conn
            .send(&json!({"id": id, "method": method, "params": params}), what)?;
        let deadline = Instant::now() + self.conn.timeout;
        loop {
            let m = self.conn.next(deadline, what, interruptible)?;
            if m["id"].as_u64() == Some(id) {
                if m["type"] == "error" {
                    return Err(MeshError::unreachable(format!(
                        "{} refused {method} during {what}: {} ({})",
                        self.conn.who,
                        m["error"].as_str().unwrap_or("error"),
                        m["message"].as_str().unwrap_or_default()
                    ))
                    .into());
                }
                return Ok(m["result"].clone());
            }
            if m["type"] == "event" {
                self.on_event(&m)?;
            }
            if interruptible && self.tab.as_ref().is_some_and(|t| t.detached) {
                return Err(MeshError::unreachable(format!(
                    "the tab meshpeers opened in {} went away during {what}",
                    self.conn.who
                ))
                .into());
            }
        }
    }

    /// Answers every blocked request of meshpeers' tab: the stub page for a navigation, an
    /// empty 404 for anything else.
    fn on_event(&mut self, m: &Value) -> Result<()> {
        let Some(tab) = &mut self.tab else {
            return Ok(());
        };
        let p = &m["params"];
        match m["method"].as_str() {
            Some("browsingContext.contextDestroyed") if p["context"] == tab.context.as_str() => {
                tab.detached = true;
            }
            Some("network.beforeRequestSent")
                if p["isBlocked"] == true && p["context"] == tab.context.as_str() =>
            {
                let (code, phrase, body) = if p["navigation"].is_string() {
                    (200, "OK", STUB_PAGE)
                } else {
                    (404, "Not Found", "")
                };
                let id = self.conn.id();
                let reply = json!({
                    "id": id,
                    "method": "network.provideResponse",
                    "params": {
                        "request": p["request"]["request"],
                        "statusCode": code,
                        "reasonPhrase": phrase,
                        "headers": [
                            {"name": "Content-Type", "value": {"type": "string", "value": "text/html; charset=utf-8"}},
                            {"name": "Cache-Control", "value": {"type": "string", "value": "no-store"}}
                        ],
                        "body": {"type": "string", "value": body},
                    }
                });
                self.conn
                    .send(&reply, "answering a request of meshpeers' tab")?;
            }
            _ => {}
        }
        Ok(())
    }

    fn context(&self) -> Result<String> {
        self.tab
            .as_ref()
            .map(|t| t.context.clone())
            .ok_or_else(|| anyhow::anyhow!("no tab open"))
    }

    /// Sends `method` and waits for its answer without stopping for a Ctrl-C (cleaning up).
    fn call_quietly(&mut self, method: &str, params: Value) {
        let id = self.conn.id();
        let what = "closing meshpeers' tab";
        if self
            .conn
            .send(&json!({"id": id, "method": method, "params": params}), what)
            .is_err()
        {
            return;
        }
        let deadline = Instant::now() + self.conn.timeout.min(Duration::from_secs(5));
        while let Ok(m) = self.conn.next(deadline, what, false) {
            if m["id"].as_u64() == Some(id) {
                break;
            }
        }
    }
}

impl Browser for Bidi {
    fn product(&self) -> String {
        self.product.clone()
    }

    fn open_tab(&mut self) -> Result<()> {
        if self.tab.is_some() {
            return Ok(());
        }
        let what = "opening a background tab";
        let count = TabCount::new();
        let created = self.call(
            "browsingContext.create",
            json!({"type": "tab", "background": true}),
            what,
            true,
        )?;
        let context = created["context"].as_str().unwrap_or_default().to_owned();
        self.tab = Some(Tab {
            context: context.clone(),
            intercept: None,
            detached: false,
            _count: count,
        });
        let intercept = self.call(
            "network.addIntercept",
            json!({"phases": ["beforeRequestSent"], "contexts": [context]}),
            what,
            true,
        )?;
        if let Some(t) = &mut self.tab {
            t.intercept = intercept["intercept"].as_str().map(str::to_owned);
        }
        self.call(
            "session.subscribe",
            json!({"events": ["network.beforeRequestSent", "browsingContext.contextDestroyed"], "contexts": [context]}),
            what,
            true,
        )?;
        Ok(())
    }

    fn navigate(&mut self, url: &str) -> Result<()> {
        let context = self.context()?;
        self.call(
            "browsingContext.navigate",
            json!({"context": context, "url": url, "wait": "complete"}),
            &format!("opening {url} in meshpeers' tab"),
            true,
        )?;
        Ok(())
    }

    fn evaluate(&mut self, expression: &str, what: &str) -> Result<String> {
        let context = self.context()?;
        let r = self.call(
            "script.evaluate",
            json!({
                "expression": expression,
                "target": {"context": context},
                "awaitPromise": false,
                "resultOwnership": "none",
            }),
            what,
            true,
        )?;
        if r["type"] == "exception" {
            let d = &r["exceptionDetails"];
            let text = d["text"].as_str().unwrap_or("an exception");
            return Err(super::page_error(&self.conn.who, what, text));
        }
        Ok(r["result"]["value"].as_str().unwrap_or_default().to_owned())
    }

    fn close_tab(&mut self) {
        if let Some(tab) = self.tab.take() {
            if let Some(i) = &tab.intercept {
                self.call_quietly("network.removeIntercept", json!({"intercept": i}));
            }
            self.call_quietly("browsingContext.close", json!({"context": tab.context}));
        }
    }

    fn page_urls(&mut self) -> Result<Vec<String>> {
        let r = self.call(
            "browsingContext.getTree",
            json!({"maxDepth": 0}),
            "listing the browser's tabs",
            true,
        )?;
        let ours = self.tab.as_ref().map(|t| t.context.clone());
        Ok(r["contexts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["context"].as_str() != ours.as_deref())
            .filter_map(|c| c["url"].as_str().map(str::to_owned))
            .collect())
    }

    fn end(&mut self) {
        self.close_tab();
        if std::mem::take(&mut self.session) {
            self.call_quietly("session.end", json!({}));
        }
        self.conn.close();
    }
}
