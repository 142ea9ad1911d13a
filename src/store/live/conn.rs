//! One WebSocket connection to a browser's debugging port, carrying JSON messages, where every
//! wait has a deadline and a Ctrl-C is noticed within a tenth of a second.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::Value;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use crate::error::MeshError;

/// Set by the signal handler while a tab is open: the next wait stops, the tab is closed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// How many tabs meshpeers has open; a signal when there are none ends the process at once.
static TABS_OPEN: AtomicUsize = AtomicUsize::new(0);

/// Installs (once) the Ctrl-C / SIGTERM handler of live stores: with no tab of meshpeers open
/// the process ends at once (exit 130); otherwise the wait in progress stops and the tab is
/// closed before the command fails.
pub fn install_interrupt_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if TABS_OPEN.load(Ordering::SeqCst) == 0 {
                std::process::exit(i32::from(crate::error::exit::INTERRUPTED));
            }
            INTERRUPTED.store(true, Ordering::SeqCst);
        });
    });
}

/// Counts an open tab for the signal handler while it lives.
pub struct TabCount;

impl TabCount {
    pub fn new() -> TabCount {
        TABS_OPEN.fetch_add(1, Ordering::SeqCst);
        TabCount
    }
}

impl Drop for TabCount {
    fn drop(&mut self) {
        TABS_OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The largest message accepted: a 10 MiB localStorage map, JSON-escaped twice.
const MAX_MESSAGE: usize = 512 << 20;
/// How often a blocked read wakes up to look for a Ctrl-C.
const TICK: Duration = Duration::from_millis(100);

pub struct Conn {
    ws: WebSocket<TcpStream>,
    /// `the browser at 127.0.0.1:9222`, for messages.
    pub who: String,
    pub timeout: Duration,
    next_id: u64,
}

impl Conn {
    /// Connects to `url` at `addr` (already checked to be allowed) and upgrades to WebSocket.
    pub fn connect(addr: SocketAddr, url: &str, who: String, timeout: Duration) -> Result<Conn> {
        let cannot =
            |e: &dyn std::fmt::Display| MeshError::unreachable(format!("cannot reach {who}: {e}"));
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| cannot(&e))?;
        stream.set_nodelay(true).map_err(|e| cannot(&e))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| cannot(&e))?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| cannot(&e))?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let (ws, _) =
            tungstenite::client::client_with_config(url, stream, Some(config)).map_err(|e| {
                let text = match e {
                    tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r)) => format!(
                        "the WebSocket handshake at {url} was answered with HTTP {}",
                        r.status()
                    ),
                    tungstenite::HandshakeError::Interrupted(_) => format!(
                        "no answer to the WebSocket handshake at {url} within {} s",
                        timeout.as_secs_f64()
                    ),
                    other => format!("the WebSocket handshake at {url} failed ({other})"),
                };
                cannot(&text)
            })?;
        ws.get_ref()
            .set_read_timeout(Some(TICK))
            .map_err(|e| cannot(&e))?;
        Ok(Conn {
            ws,
            who,
            timeout,
            next_id: 0,
        })
    }

    /// A fresh message id.
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Sends one JSON message.
    pub fn send(&mut self, msg: &Value, what: &str) -> Result<()> {
        let text = serde_json::to_string(msg)?;
        self.ws
            .send(Message::text(text))
            .map_err(|e| self.lost(&e, what).into())
    }

    /// The next JSON message, waiting until `deadline`. `interruptible`: a Ctrl-C stops the
    /// wait (the closing of a tab after an interrupt is not interruptible).
    pub fn next(&mut self, deadline: Instant, what: &str, interruptible: bool) -> Result<Value> {
        loop {
            if interruptible && interrupted() {
                return Err(MeshError::Interrupted(format!(
                    "interrupted during {what}; the tab meshpeers opened in {} was closed",
                    self.who
                ))
                .into());
            }
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    return serde_json::from_str(t.as_str()).map_err(|e| {
                        MeshError::unreachable(format!(
                            "{} sent a message that is not JSON during {what} ({e})",
                            self.who
                        ))
                        .into()
                    });
                }
                Ok(Message::Close(_)) => return Err(self.closed(what).into()),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return Err(MeshError::unreachable(format!(
                            "{} did not answer {what} within {} s",
                            self.who,
                            self.timeout.as_secs_f64()
                        ))
                        .into());
                    }
                }
                Err(e) => return Err(self.lost(&e, what).into()),
            }
        }
    }

    fn closed(&self, what: &str) -> MeshError {
        MeshError::unreachable(format!(
            "{} closed the connection during {what} (did the browser quit?)",
            self.who
        ))
    }

    fn lost(&self, e: &tungstenite::Error, what: &str) -> MeshError {
        match e {
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                self.closed(what)
            }
            tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.closed(what)
            }
            tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ) => self.closed(what),
            other => MeshError::unreachable(format!(
                "the connection to {} failed during {what} ({other})",
                self.who
            )),
        }
    }

    /// Closes the connection politely (best effort).
    pub fn close(&mut self) {
        let _ = self.ws.close(None);
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
    }
}
