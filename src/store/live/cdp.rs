//! Chromium, Chrome, Edge, Brave, Electron over the DevTools protocol: a background tab of
//! meshpeers' own (`Target.createTarget`) whose every request is answered in the browser
//! (`Fetch.enable` for `*`, `Fetch.fulfillRequest`), with the page's own `Runtime.evaluate`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;
use base64::Engine;
use serde_json::{Value, json};

use super::conn::{Conn, TabCount};
use super::{Browser, STUB_PAGE};
use crate::error::MeshError;

pub struct Cdp {
    conn: Conn,
    product: String,
    tab: Option<Tab>,
}

struct Tab {
    target: String,
    session: String,
    /// The navigation in progress: the throwaway address first asked for, and the origin's
    /// URL it is redirected to.
    redirect: Option<(String, String)>,
    loaded: bool,
    /// The tab went away (closed by someone else, or its renderer crashed).
    detached: bool,
    _count: TabCount,
}

impl Cdp {
    /// Asks the port for its browser WebSocket (`/json/version`) and connects to it, or to
    /// `ws_path` when the user gave the `ws://` URL itself.
    pub fn connect(
        addr: SocketAddr,
        authority: &str,
        ws_path: Option<&str>,
        who: String,
        timeout: Duration,
    ) -> Result<Cdp> {
        let (url, product) = match ws_path {
            Some(path) => (format!("ws://{authority}{path}"), String::new()),
            None => version(addr, authority, &who, timeout)?,
        };
        let conn = Conn::connect(addr, &url, who, timeout)?;
        let mut cdp = Cdp {
            conn,
            product,
            tab: None,
        };
        if cdp.product.is_empty() {
            let v = cdp.call(
                None,
                "Browser.getVersion",
                json!({}),
                "Browser.getVersion",
                true,
            )?;
            cdp.product = v["product"].as_str().unwrap_or("Chromium").to_owned();
        }
        Ok(cdp)
    }

    /// Sends `method` (on the tab's session when `session` is given) and waits for its answer,
    /// answering the tab's paused requests meanwhile.
    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
        what: &str,
        interruptible: bool,
    ) -> Result<Value> {
        let id = self.conn.id();
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.conn.send(&msg, what)?;
        let deadline = Instant::now() + self.conn.timeout;
        loop {
            let m = self.conn.next(deadline, what, interruptible)?;
            if m["id"].as_u64() == Some(id) {
                if let Some(err) = m.get("error") {
                    return Err(MeshError::unreachable(format!(
                        "{} refused {method} during {what}: {}",
                        self.conn.who,
                        err["message"].as_str().unwrap_or("an error")
                    ))
                    .into());
                }
                return Ok(m["result"].clone());
            }
            self.on_event(&m)?;
            if interruptible {
                self.check_tab(what)?;
            }
        }
    }

    fn check_tab(&self, what: &str) -> Result<()> {
        if self.tab.as_ref().is_some_and(|t| t.detached) {
            return Err(MeshError::unreachable(format!(
                "the tab meshpeers opened in {} went away during {what} (closed, or its page crashed)",
                self.conn.who
            ))
            .into());
        }
        Ok(())
    }

    /// Answers every request of meshpeers' tab in the browser (the stub page for the
    /// document, an empty 404 for anything else), so none leaves it.
    fn on_event(&mut self, m: &Value) -> Result<()> {
        let Some(tab) = &mut self.tab else {
            return Ok(());
        };
        if m["sessionId"].as_str() != Some(tab.session.as_str()) {
            if m["method"] == "Target.detachedFromTarget"
                && m["params"]["sessionId"].as_str() == Some(tab.session.as_str())
            {
                tab.detached = true;
            }
            return Ok(());
        }
        match m["method"].as_str() {
            Some("Fetch.requestPaused") => {
                let url = m["params"]["request"]["url"].as_str().unwrap_or_default();
                let document = m["params"]["resourceType"] == "Document";
                let redirect = match &tab.redirect {
                    Some((from, to)) if from == url => Some(to.clone()),
                    _ => None,
                };
                let (code, body) = if redirect.is_some() {
                    (302, "")
                } else if document {
                    (200, STUB_PAGE)
                } else {
                    (404, "")
                };
                let mut headers = vec![
                    json!({"name": "Content-Type", "value": "text/html; charset=utf-8"}),
                    json!({"name": "Cache-Control", "value": "no-store"}),
                ];
                if let Some(to) = redirect {
                    headers.push(json!({"name": "Location", "value": to}));
                }
                let id = self.conn.id();
                let reply = json!({
                    "id": id,
                    "sessionId": tab.session,
                    "method": "Fetch.fulfillRequest",
                    "params": {
                        "requestId": m["params"]["requestId"],
                        "responseCode": code,
                        "responseHeaders": headers,
                        "body": base64::engine::general_purpose::STANDARD.encode(body),
                    }
                });
                self.conn
                    .send(&reply, "answering a request of meshpeers' tab")?;
            }
            Some("Page.loadEventFired") => tab.loaded = true,
            Some("Inspector.targetCrashed") => tab.detached = true,
            _ => {}
        }
        Ok(())
    }

    fn session(&self) -> Result<String> {
        self.tab
            .as_ref()
            .map(|t| t.session.clone())
            .ok_or_else(|| anyhow::anyhow!("no tab open"))
    }
}

impl Browser for Cdp {
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
            None,
            "Target.createTarget",
            json!({"url": "about:blank", "background": true}),
            what,
            true,
        )?;
        let target = created["targetId"].as_str().unwrap_or_default().to_owned();
        // From here on the tab exists: whatever fails, it is closed.
        self.tab = Some(Tab {
            target: target.clone(),
            session: String::new(),
            redirect: None,
            loaded: false,
            detached: false,
            _count: count,
        });
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
            what,
            true,
        )?;
        let session = attached["sessionId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(t) = &mut self.tab {
            t.session = session.clone();
        }
        let s = Some(session.as_str());
        self.call(s, "Page.enable", json!({}), what, true)?;
        // A service worker of the origin must not answer the navigation (it would serve the
        // app itself), and every request of the tab is answered here.
        self.call(s, "Network.enable", json!({}), what, true)?;
        self.call(
            s,
            "Network.setBypassServiceWorker",
            json!({"bypass": true}),
            what,
            true,
        )?;
        if std::env::var_os("MP_OFFLINE").is_some() {
            self.call(
            s,
            "Network.emulateNetworkConditions",
            json!({"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
            what,
            true,
        )?;
        }
        self.call(
            s,
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
            what,
            true,
        )?;
        Ok(())
    }

    fn navigate(&mut self, url: &str) -> Result<()> {
        let what = format!("opening {url} in meshpeers' tab");
        let session = self.session()?;
        // Chromium's loading predictor opens speculative connections to the server of every
        // page a tab starts to load — before, and whatever, the request interception answers.
        // So the tab asks for a throwaway address first (a fresh `*.localhost` name on port 0,
        // which nothing can listen on and which Chromium never looks up in DNS), answered with
        // a redirect to the origin: the redirect is answered in the browser too, and the
        // predictor's connections go to port 0. The name is new each time so that the
        // predictor, which learns redirects by host, never predicts the origin from it.
        let start = format!("http://m{:016x}.meshpeers.localhost:0/", fresh_number());
        if let Some(t) = &mut self.tab {
            t.loaded = false;
            t.redirect = Some((start.clone(), url.to_owned()));
        }
        let r = self.call(
            Some(&session),
            "Page.navigate",
            json!({"url": start}),
            &what,
            true,
        )?;
        if let Some(err) = r["errorText"].as_str() {
            return Err(MeshError::unreachable(format!(
                "{} could not open {url} in meshpeers' tab: {err}",
                self.conn.who
            ))
            .into());
        }
        let deadline = Instant::now() + self.conn.timeout;
        while !self.tab.as_ref().is_some_and(|t| t.loaded) {
            let m = self.conn.next(deadline, &what, true)?;
            self.on_event(&m)?;
            self.check_tab(&what)?;
        }
        Ok(())
    }

    fn evaluate(&mut self, expression: &str, what: &str) -> Result<String> {
        let session = self.session()?;
        let r = self.call(
            Some(&session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
            what,
            true,
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            let text = ex["exception"]["description"]
                .as_str()
                .or(ex["text"].as_str())
                .unwrap_or("an exception");
            return Err(super::page_error(&self.conn.who, what, text));
        }
        Ok(r["result"]["value"].as_str().unwrap_or_default().to_owned())
    }

    fn close_tab(&mut self) {
        if let Some(tab) = self.tab.take() {
            let what = "closing meshpeers' tab";
            let id = self.conn.id();
            let msg = json!({"id": id, "method": "Target.closeTarget", "params": {"targetId": tab.target}});
            if self.conn.send(&msg, what).is_ok() {
                let deadline = Instant::now() + self.conn.timeout.min(Duration::from_secs(5));
                while let Ok(m) = self.conn.next(deadline, what, false) {
                    if m["id"].as_u64() == Some(id) {
                        break;
                    }
                }
                // Chromium answers before the tab is gone from its list: wait until it is, so
                // that what runs next (a script, a test) sees the browser as it was.
                while Instant::now() < deadline {
                    let listed = self.call(None, "Target.getTargets", json!({}), what, true);
                    let Ok(r) = listed else { break };
                    let still = r["targetInfos"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|t| t["targetId"].as_str() == Some(tab.target.as_str()));
                    if !still {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    fn page_urls(&mut self) -> Result<Vec<String>> {
        let r = self.call(
            None,
            "Target.getTargets",
            json!({}),
            "listing the browser's tabs",
            true,
        )?;
        let ours = self.tab.as_ref().map(|t| t.target.clone());
        Ok(r["targetInfos"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["type"] == "page" && t["targetId"].as_str() != ours.as_deref())
            .filter_map(|t| t["url"].as_str().map(str::to_owned))
            .collect())
    }

    fn end(&mut self) {
        self.close_tab();
        self.conn.close();
    }
}

/// A number no earlier call gave (with a random start per process).
fn fresh_number() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNT.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The browser's WebSocket URL and product name from `/json/version`.
fn version(
    addr: SocketAddr,
    authority: &str,
    who: &str,
    timeout: Duration,
) -> Result<(String, String)> {
    let url = format!("http://{authority}/json/version");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .proxy(None)
        .http_status_as_error(false)
        .build()
        .into();
    // The address checked to be allowed is the one connected to.
    let resolved = format!("http://{addr}/json/version");
    let cannot = |e: String| MeshError::unreachable(format!("cannot reach {who}: {e}"));
    let mut response = agent.get(&resolved).call().map_err(|e| match e {
        ureq::Error::Timeout(_) => cannot(format!(
            "no answer from {url} within {} s",
            timeout.as_secs_f64()
        )),
        ureq::Error::Io(io) => cannot(io.to_string()),
        other => cannot(other.to_string()),
    })?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(MeshError::unreachable(format!(
            "{who} does not speak the DevTools protocol ({url} answered HTTP {status}); for Firefox, use bidi://{authority}"
        ))
        .into());
    }
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| cannot(e.to_string()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| cannot(format!("{url} did not answer JSON ({e})")))?;
    let ws = v["webSocketDebuggerUrl"]
        .as_str()
        .ok_or_else(|| cannot(format!("{url} names no webSocketDebuggerUrl")))?;
    // Connect to the same host and port, whatever name the browser put in the URL.
    let path = ws
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/");
    let product = v["Browser"].as_str().unwrap_or("Chromium").to_owned();
    Ok((format!("ws://{authority}{path}"), product))
}
