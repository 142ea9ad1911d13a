//! Live browsers: the localStorage of a running Chromium (`cdp://HOST:PORT`, the DevTools
//! protocol) or Firefox (`bidi://HOST:PORT`, WebDriver BiDi), without closing it.
//!
//! An origin's localStorage is reached through a document of that origin, so meshpeers opens
//! a background tab of its own, navigates it to the origin and answers that navigation — and
//! every other request of the tab — in the browser with an empty page: no request leaves the
//! browser and no code of the app runs there. Reads and writes are scripts evaluated in that
//! page; a write applies every change in one script task (no other page of the origin sees
//! half of it), after checking that the origin still holds what the plan was made from, and
//! is read back. The tab is closed after each read and write, and in every case (an error, a
//! Ctrl-C).
//!
//! - `conn`: the WebSocket, with deadlines and Ctrl-C; `cdp` and `bidi`: the two protocols.

mod bidi;
mod cdp;
mod conn;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::{Area, Backend, BackendKind, ChangeSet, OriginInfo, SaveOptions, jsontext};
use crate::error::MeshError;
use crate::js::JsString;

/// The page that answers meshpeers' navigation: no script, and an icon of its own so that the
/// browser does not ask the real origin for `/favicon.ico`.
pub(crate) const STUB_PAGE: &str = "<!doctype html><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>meshpeers</title>";

/// The seconds every protocol call may take by default (`--browser-timeout`).
pub const DEFAULT_TIMEOUT_SECS: f64 = 15.0;

/// Which protocol a live store speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Cdp,
    Bidi,
}

/// A running browser's debugging endpoint, as `--store` names it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub protocol: Protocol,
    /// `host:port` (an IPv6 host in brackets).
    pub authority: String,
    host: String,
    port: u16,
    /// The WebSocket path of a `ws://` URL.
    path: Option<String>,
}

impl Endpoint {
    /// `cdp://HOST[:PORT]`, `bidi://HOST[:PORT]` or a `ws://` URL (`/devtools/…` is the
    /// DevTools protocol, `/session` WebDriver BiDi); `None` when `arg` names none of these
    /// (it is a path).
    pub fn parse(arg: &str) -> Option<Result<Endpoint, String>> {
        let (scheme, rest) = arg.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "cdp" | "bidi" | "ws" | "wss") {
            return None;
        }
        Some(Self::parse_parts(&scheme, rest))
    }

    fn parse_parts(scheme: &str, rest: &str) -> Result<Endpoint, String> {
        if scheme == "wss" {
            return Err("wss:// is not supported: browsers serve their debugging port as plain ws:// on the local machine".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("{p:?} is not a port number"))?,
            ),
            _ => (authority, 9222),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("no host given (e.g. cdp://127.0.0.1:9222)".into());
        }
        let protocol = match scheme {
            "cdp" => Protocol::Cdp,
            "bidi" => Protocol::Bidi,
            _ if path.starts_with("/devtools/") => Protocol::Cdp,
            _ if path == "/session" || path.starts_with("/session/") => Protocol::Bidi,
            _ => {
                return Err(format!(
                    "{path:?} is neither a DevTools WebSocket (/devtools/browser/…) nor WebDriver BiDi's (/session); or use cdp://HOST:PORT or bidi://HOST:PORT"
                ));
            }
        };
        let path = match (scheme, path) {
            ("ws", p) => Some(p.to_owned()),
            (_, "" | "/") => None,
            (_, p) => return Err(format!("unexpected path {p:?} (give only HOST:PORT)")),
        };
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        Ok(Endpoint {
            protocol,
            authority: format!("{bracketed}:{port}"),
            host: host.to_owned(),
            port,
            path,
        })
    }

    /// The addresses to connect to: the host's, all of them loopback unless `allow_remote`.
    fn address(&self, location: &str, allow_remote: bool) -> Result<SocketAddr> {
        let addrs: Vec<SocketAddr> = match self.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.port)],
            Err(_) => (self.host.as_str(), self.port)
                .to_socket_addrs()
                .map_err(|e| {
                    MeshError::unreachable(format!(
                        "cannot reach the browser at {}: cannot resolve {} ({e})",
                        self.authority, self.host
                    ))
                })?
                .collect(),
        };
        let Some(first) = addrs.first().copied() else {
            return Err(MeshError::unreachable(format!(
                "cannot reach the browser at {}: {} has no address",
                self.authority, self.host
            ))
            .into());
        };
        if !allow_remote && !addrs.iter().all(|a| a.ip().is_loopback()) {
            return Err(MeshError::usage_hint(
                format!(
                    "--store {location}: {} is not this machine (a loopback address); a browser's debugging port gives full control of the browser, so meshpeers connects only to loopback hosts",
                    self.host
                ),
                "pass --allow-remote to connect to it anyway (only over a network you trust, e.g. an SSH tunnel is safer)",
            )
            .into());
        }
        Ok(first)
    }
}

/// One protocol's way of working with meshpeers' tab.
trait Browser {
    /// The browser's name and version (`Chrome/156.0…`, `firefox 153.8.0`).
    fn product(&self) -> String;
    /// Opens meshpeers' background tab, every request of which is answered in the browser.
    fn open_tab(&mut self) -> Result<()>;
    /// Navigates meshpeers' tab to `url` (answered with the stub page) and waits for it.
    fn navigate(&mut self, url: &str) -> Result<()>;
    /// Evaluates `expression` in meshpeers' tab; its value, a string.
    fn evaluate(&mut self, expression: &str, what: &str) -> Result<String>;
    /// Closes meshpeers' tab (best effort, even after a Ctrl-C).
    fn close_tab(&mut self);
    /// The URLs of the browser's other tabs.
    fn page_urls(&mut self) -> Result<Vec<String>>;
    /// Closes the tab and ends the connection.
    fn end(&mut self);
}

/// A script in the page threw.
fn page_error(who: &str, what: &str, text: &str) -> anyhow::Error {
    MeshError::Refused(format!(
        "the page meshpeers opened in {who} failed during {what}: {text}"
    ))
    .into()
}

/// How to reach a running browser.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub allow_remote: bool,
    pub timeout: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            allow_remote: false,
            timeout: Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS),
        }
    }
}

pub struct LiveStore {
    endpoint: Endpoint,
    browser: Box<dyn Browser>,
    who: String,
    /// The origin the tab shows now.
    at: Option<String>,
    /// What `load` read: what a save checks the origin still holds.
    basis: Option<(String, Area)>,
}

impl LiveStore {
    pub fn connect(location: &str, endpoint: Endpoint, opts: &LiveOptions) -> Result<LiveStore> {
        let addr = endpoint.address(location, opts.allow_remote)?;
        conn::install_interrupt_handler();
        let who = format!("the browser at {}", endpoint.authority);
        let browser: Box<dyn Browser> = match endpoint.protocol {
            Protocol::Cdp => Box::new(cdp::Cdp::connect(
                addr,
                &endpoint.authority,
                endpoint.path.as_deref(),
                who.clone(),
                opts.timeout,
            )?),
            Protocol::Bidi => Box::new(bidi::Bidi::connect(
                addr,
                &endpoint.authority,
                endpoint.path.as_deref(),
                who.clone(),
                opts.timeout,
            )?),
        };
        Ok(LiveStore {
            endpoint,
            browser,
            who,
            at: None,
            basis: None,
        })
    }

    /// The browser, e.g. for the note of what a store is.
    pub fn product(&self) -> String {
        self.browser.product()
    }

    /// Shows `origin` in meshpeers' tab (opening the tab first).
    fn visit(&mut self, origin: &str) -> Result<()> {
        self.browser.open_tab()?;
        if self.at.as_deref() == Some(origin) {
            return Ok(());
        }
        self.at = None;
        self.browser.navigate(&format!("{origin}/"))?;
        self.at = Some(origin.to_owned());
        Ok(())
    }

    fn close_tab(&mut self) {
        self.browser.close_tab();
        self.at = None;
    }

    /// Evaluates `script` (whose result is a JSON object text) in the tab showing `origin`,
    /// checks that the page is of that origin, and gives the object's members.
    fn run(&mut self, origin: &str, script: &str, what: &str) -> Result<String> {
        self.visit(origin)?;
        let text = self.browser.evaluate(script, what)?;
        let members = jsontext::object_members(&text).map_err(|e| self.garbled(what, &e))?;
        let page_origin = members
            .iter()
            .find(|(k, _)| *k == "\"origin\"")
            .and_then(|(_, v)| serde_json::from_str::<String>(v).ok());
        if page_origin.as_deref() != Some(origin) {
            return Err(MeshError::unreachable(format!(
                "{}: meshpeers' tab shows {} instead of {origin} during {what}",
                self.who,
                page_origin.unwrap_or_else(|| "no origin".into())
            ))
            .into());
        }
        Ok(text)
    }

    fn garbled(&self, what: &str, e: &dyn std::fmt::Display) -> anyhow::Error {
        MeshError::unreachable(format!(
            "{} gave an unreadable answer during {what} ({e})",
            self.who
        ))
        .into()
    }

    /// The origin's whole map, in the page's key order.
    fn read(&mut self, origin: &str) -> Result<Area> {
        let what = format!("reading the localStorage of {origin}");
        let text = self.run(origin, READ_SCRIPT, &what)?;
        let members = jsontext::object_members(&text).map_err(|e| self.garbled(&what, &e))?;
        let raw = members
            .iter()
            .find(|(k, _)| *k == "\"entries\"")
            .map_or("[]", |(_, v)| *v);
        let items = jsontext::array_elements(raw).map_err(|e| self.garbled(&what, &e))?;
        let mut area = Area::with_capacity(items.len() / 2);
        for pair in items.chunks(2) {
            let [k, v] = pair else {
                return Err(self.garbled(&what, &"an odd number of strings"));
            };
            let k = JsString::from_json_literal(k).map_err(|e| self.garbled(&what, &e))?;
            let v = JsString::from_json_literal(v).map_err(|e| self.garbled(&what, &e))?;
            area.insert(k, v);
        }
        Ok(area)
    }

    /// Keys, quota bytes and keys starting with `prefix` of each origin of the other tabs.
    fn summaries(&mut self, prefix: &str) -> Result<Vec<(String, Summary)>> {
        let mut origins: Vec<String> = Vec::new();
        for url in self.browser.page_urls()? {
            if let Some(o) = origin_of_url(&url) {
                if !origins.contains(&o) {
                    origins.push(o);
                }
            }
        }
        let script = summary_script(prefix);
        let mut out = Vec::new();
        for o in origins {
            let what = format!("counting the localStorage of {o}");
            let text = self.run(&o, &script, &what)?;
            let s: Summary = serde_json::from_str(&text).map_err(|e| self.garbled(&what, &e))?;
            out.push((o, s));
        }
        Ok(out)
    }

    /// Where a backup of this store goes by default: the current directory, named after the
    /// origin.
    pub fn backup_anchor(origin: Option<&str>) -> PathBuf {
        let name: String = origin
            .unwrap_or("live")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = name
            .split('_')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        PathBuf::from(name)
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for LiveStore {
    fn drop(&mut self) {
        self.browser.end();
    }
}

#[derive(serde::Deserialize)]
struct Summary {
    keys: usize,
    bytes: u64,
    namespace: usize,
}

/// An origin (`scheme://host[:port]`) from a tab's URL; `None` for pages that are not http(s)
/// (`about:blank`, `chrome://…`).
fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    normalize(&format!("{scheme}://{authority}")).ok()
}

/// The origin as the page's `location.origin` writes it: lower-case scheme and host, no
/// default port, no trailing slash; only http(s) origins have a page to open.
pub fn normalize(origin: &str) -> Result<String, String> {
    let o = origin.trim_end_matches('/');
    let Some((scheme, authority)) = o.split_once("://") else {
        return Err(format!(
            "{origin} is not an origin like http://127.0.0.1:3000"
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => {
            return Err(format!(
                "{origin}: a running browser's localStorage is reached through a page of the origin, so it must be an http:// or https:// origin"
            ));
        }
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "{origin} is not an origin like http://127.0.0.1:3000"
        ));
    }
    let authority = authority.to_ascii_lowercase();
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Ok(format!("{scheme}://{authority}"))
}

/// Reads the whole map in one task: `{origin, entries: [k0, v0, k1, v1, …]}`.
const READ_SCRIPT: &str = r#"(() => {
  const s = localStorage, entries = [];
  for (let i = 0; i < s.length; i++) { const k = s.key(i); entries.push(k, s.getItem(k)); }
  return JSON.stringify({origin: location.origin, entries});
})()"#;

fn summary_script(prefix: &str) -> String {
    format!(
        r#"((prefix) => {{
  const s = localStorage;
  let bytes = 0, namespace = 0;
  for (let i = 0; i < s.length; i++) {{
    const k = s.key(i);
    bytes += 2 * (k.length + s.getItem(k).length);
    if (k.startsWith(prefix)) namespace++;
  }}
  return JSON.stringify({{origin: location.origin, keys: s.length, bytes, namespace}});
}})({})"#,
        JsString::from(prefix).to_json()
    )
}

/// Applies `changes` in one task if the map is still `basis`; else names the keys that differ.
/// A failure half-way (the quota) puts back what it had changed, in the same task.
fn write_script(basis: &Area, changes: &ChangeSet) -> String {
    let mut b = String::from("[");
    for (i, (k, v)) in basis.iter().enumerate() {
        if i > 0 {
            b.push(',');
        }
        k.write_json(&mut b, false);
        b.push(',');
        v.write_json(&mut b, false);
    }
    b.push(']');
    let mut c = String::from("[");
    for (i, (k, v)) in changes.iter().enumerate() {
        if i > 0 {
            c.push(',');
        }
        k.write_json(&mut c, false);
        c.push(',');
        match v {
            Some(v) => v.write_json(&mut c, false),
            None => c.push_str("null"),
        }
    }
    c.push(']');
    format!(
        r#"((basis, changes) => {{
  const s = localStorage, now = new Map();
  for (let i = 0; i < s.length; i++) {{ const k = s.key(i); now.set(k, s.getItem(k)); }}
  const differ = [], seen = new Set();
  for (let i = 0; i < basis.length; i += 2) {{
    seen.add(basis[i]);
    if (now.get(basis[i]) !== basis[i + 1]) differ.push(basis[i]);
  }}
  for (const k of now.keys()) if (!seen.has(k)) differ.push(k);
  if (differ.length) return JSON.stringify({{origin: location.origin, differ: differ.length, keys: differ.slice(0, 5)}});
  const done = [];
  try {{
    for (let i = 0; i < changes.length; i += 2) {{
      const k = changes[i], v = changes[i + 1];
      done.push([k, now.has(k) ? now.get(k) : null]);
      if (v === null) s.removeItem(k); else s.setItem(k, v);
    }}
  }} catch (e) {{
    for (const [k, old] of done.reverse()) {{
      try {{ if (old === null) s.removeItem(k); else s.setItem(k, old); }} catch (_) {{}}
    }}
    return JSON.stringify({{origin: location.origin, error: String(e && e.name) + ": " + String(e && e.message)}});
  }}
  return JSON.stringify({{origin: location.origin, applied: changes.length / 2}});
}})({b}, {c})"#
    )
}

#[derive(serde::Deserialize)]
struct WriteOutcome {
    #[serde(default)]
    differ: usize,
    #[serde(default)]
    keys: Vec<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
}

impl Backend for LiveStore {
    fn kind(&self) -> BackendKind {
        match self.endpoint.protocol {
            Protocol::Cdp => BackendKind::Cdp,
            Protocol::Bidi => BackendKind::Bidi,
        }
    }

    fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        let summaries = self.summaries("")?;
        Ok(summaries
            .into_iter()
            .map(|(origin, s)| OriginInfo {
                origin,
                keys: s.keys,
                bytes: s.bytes,
                last_modified: None,
                firefox_usage: None,
            })
            .collect())
    }

    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>> {
        let summaries = self.summaries(prefix)?;
        Ok(summaries
            .into_iter()
            .map(|(o, s)| (o, s.namespace))
            .collect())
    }

    fn has_origin(&mut self, origin: &str) -> Result<bool> {
        let what = format!("counting the localStorage of {origin}");
        let text = self.run(origin, &summary_script(""), &what)?;
        let s: Summary = serde_json::from_str(&text).map_err(|e| self.garbled(&what, &e))?;
        Ok(s.keys > 0)
    }

    fn probes_origins(&self) -> bool {
        true
    }

    fn load(&mut self, origin: Option<&str>) -> Result<Area> {
        let Some(origin) = origin else {
            self.close_tab();
            return Ok(Area::new());
        };
        let result = self.read(origin);
        self.close_tab();
        let area = result?;
        self.basis = Some((origin.to_owned(), area.clone()));
        Ok(area)
    }

    fn save(
        &mut self,
        origin: Option<&str>,
        changes: &ChangeSet,
        _opts: &SaveOptions,
    ) -> Result<Option<PathBuf>> {
        let Some(origin) = origin else {
            return Err(MeshError::usage_hint(
                format!("{} has no origin to write to", self.who),
                "name one with --origin ORIGIN",
            )
            .into());
        };
        let empty = Area::new();
        let basis = match &self.basis {
            Some((o, a)) if o == origin => a,
            _ => &empty,
        };
        let script = write_script(basis, changes);
        let what = format!("writing the localStorage of {origin}");
        let result = self.run(origin, &script, &what);
        let text = match result {
            Ok(t) => t,
            Err(e) => {
                self.close_tab();
                // Whether the script ran is not known once it was sent.
                return Err(match e.downcast::<MeshError>() {
                    Ok(MeshError::Unreachable { message, .. }) => MeshError::Unreachable {
                        message,
                        outcome_unknown: true,
                    }
                    .into(),
                    Ok(other) => other.into(),
                    Err(e) => e,
                });
            }
        };
        let outcome: WriteOutcome =
            serde_json::from_str(&text).map_err(|e| self.garbled(&what, &e))?;
        if outcome.differ > 0 {
            self.close_tab();
            let keys: Vec<String> = outcome
                .keys
                .iter()
                .map(|k| k.as_str().unwrap_or("?").to_owned())
                .collect();
            return Err(MeshError::Changed(format!(
                "{origin} in {}: the page's localStorage changed since it was read ({} {} differ: {}); nothing was written",
                self.who,
                outcome.differ,
                crate::words::plural(outcome.differ, "key", "keys"),
                keys.join(", ")
            ))
            .into());
        }
        if let Some(error) = outcome.error {
            self.close_tab();
            return Err(MeshError::Refused(format!(
                "{origin} in {}: the browser refused the changes ({error}); the changes already made were undone in the same task, nothing was changed",
                self.who
            ))
            .into());
        }
        self.basis = None;
        Ok(None)
    }

    fn verify(&mut self, origin: Option<&str>, expected: &Area) -> Result<()> {
        let Some(origin) = origin else {
            return Ok(());
        };
        let result = self.read(origin);
        self.close_tab();
        let found = result.map_err(|e| match e.downcast::<MeshError>() {
            Ok(MeshError::Unreachable { message, .. }) => MeshError::Unreachable {
                message: format!("{message}; the changes were applied but could not be read back"),
                outcome_unknown: true,
            }
            .into(),
            Ok(other) => other.into(),
            Err(e) => e,
        })?;
        let differences = differences(expected, &found);
        if differences.is_empty() {
            return Ok(());
        }
        let shown: Vec<String> = differences.iter().take(10).cloned().collect();
        Err(MeshError::Refused(format!(
            "{origin} in {}: after the write the page's localStorage is not what was written — something else (the app?) wrote meanwhile; {} {} differ:\n  {}{}",
            self.who,
            differences.len(),
            crate::words::plural(differences.len(), "key", "keys"),
            shown.join("\n  "),
            if differences.len() > shown.len() {
                format!("\n  … and {} more", differences.len() - shown.len())
            } else {
                String::new()
            }
        ))
        .into())
    }
}

/// What differs between the map meshpeers wrote and the one it read back, one line a key.
fn differences(expected: &Area, found: &Area) -> Vec<String> {
    let short = |v: &JsString| {
        let t = v.to_string_lossy();
        if t.chars().count() > 40 {
            format!("{}…", t.chars().take(40).collect::<String>())
        } else {
            t.into_owned()
        }
    };
    let mut out = Vec::new();
    for (k, v) in expected {
        match found.get(k) {
            None => out.push(format!("{}: written, now missing", k.to_string_lossy())),
            Some(f) if f != v => out.push(format!(
                "{}: written {:?}, now {:?}",
                k.to_string_lossy(),
                short(v),
                short(f)
            )),
            _ => {}
        }
    }
    for k in found.keys().filter(|k| !expected.contains_key(*k)) {
        out.push(format!("{}: not written, now present", k.to_string_lossy()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("cdp://127.0.0.1:9333").unwrap().unwrap();
        assert_eq!(
            (e.protocol, e.authority.as_str(), e.path),
            (Protocol::Cdp, "127.0.0.1:9333", None)
        );
        let e = Endpoint::parse("bidi://[::1]:4444/").unwrap().unwrap();
        assert_eq!(
            (e.protocol, e.authority.as_str()),
            (Protocol::Bidi, "[::1]:4444")
        );
        let e = Endpoint::parse("ws://localhost:9222/devtools/browser/abc")
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.protocol, e.path.as_deref()),
            (Protocol::Cdp, Some("/devtools/browser/abc"))
        );
        let e = Endpoint::parse("ws://localhost:9222/session")
            .unwrap()
            .unwrap();
        assert_eq!(e.protocol, Protocol::Bidi);
        assert_eq!(
            Endpoint::parse("cdp://localhost")
                .unwrap()
                .unwrap()
                .authority,
            "localhost:9222"
        );
        assert!(Endpoint::parse("ws://h:1/other").unwrap().is_err());
        assert!(Endpoint::parse("cdp://h:x").unwrap().is_err());
        assert!(Endpoint::parse("wss://h:1/session").unwrap().is_err());
        assert!(Endpoint::parse("store.json").is_none());
        assert!(Endpoint::parse("file:///x").is_none());
    }

    #[test]
    fn only_loopback_without_allow_remote() {
        let e = Endpoint::parse("cdp://192.0.2.1:9222").unwrap().unwrap();
        let err = e.address("cdp://192.0.2.1:9222", false).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), crate::error::exit::USAGE);
        assert!(e.address("x", true).is_ok());
        let e = Endpoint::parse("cdp://127.0.0.2:9222").unwrap().unwrap();
        assert!(e.address("x", false).is_ok());
        let e = Endpoint::parse("cdp://[::1]:9222").unwrap().unwrap();
        assert!(e.address("x", false).is_ok());
    }

    #[test]
    fn origins_normalize_like_location_origin() {
        assert_eq!(
            normalize("HTTP://Example.com:80/").unwrap(),
            "http://example.com"
        );
        assert_eq!(normalize("https://a.b:443").unwrap(), "https://a.b");
        assert_eq!(
            normalize("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert!(normalize("file:///x").is_err());
        assert!(normalize("http://h/path").is_err());
        assert_eq!(
            origin_of_url("http://u:p@127.0.0.1:3000/app?x#y").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(origin_of_url("about:blank"), None);
        assert_eq!(origin_of_url("chrome://newtab/"), None);
    }

    #[test]
    fn backups_are_named_after_the_origin() {
        assert_eq!(
            LiveStore::backup_anchor(Some("http://127.0.0.1:3000")),
            PathBuf::from("http_127.0.0.1_3000")
        );
    }
}
