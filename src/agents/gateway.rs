//! The websocket side of an agent connection, from the first frame to the last: `hello` and
//! version negotiation, the class-load stream into the registry, pings and the idle timeout,
//! a bounded outbox that closes slow readers, and the close reason kept in the agent's
//! history. The HTTP upgrade (and the pool-key check before it) is `http::agent_upgrade`;
//! this module gets the upgraded byte stream and the pool the key belongs to.
//!
//! Each connection is one task; a bad or slow agent can only ever end its own connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use super::history;
use super::metered::Metered;
use super::protocol::{
    self, AgentMessage, CloseReason, DecodeError, ErrorCode, ErrorMessage, Hello, HelloAck, LIMITS,
    ServerMessage,
};
use super::registry::{AgentSummary, IngestError, Registry};
use crate::clock::SharedClock;
use crate::iam::pools::Pool;
use crate::iam::tokens;
use crate::ops::service_config::{Settings, capture_limits_message};
use crate::store::Store;

/// Time an agent has to send `hello` after the upgrade.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the appliance pings (DEFAULTS.md: 25 s).
pub const PING_INTERVAL: Duration = Duration::from_secs(25);
/// Silence after which a connection is closed (DEFAULTS.md: 90 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Longest wait for one frame to leave: a peer that does not read is closed after it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages waiting for one agent; more and the agent is closed as a slow reader.
pub const OUTBOX_CAPACITY: usize = 256;

/// The websocket settings of DEFAULTS.md: a 4 KiB read buffer and no write buffer keep an
/// idle connection in the tens of kilobytes; 1 MiB caps a message.
/// Frames are capped well below messages because tungstenite's read buffer grows to the
/// largest frame and keeps that size for the connection's life (measured: 780 KiB per agent
/// after a start-up state sent in 900 KiB frames); agents send longer messages in fragments.
pub fn websocket_config() -> WebSocketConfig {
    let max = LIMITS.max_message_bytes as usize;
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(max.saturating_mul(2))
        .max_message_size(Some(max))
        .max_frame_size(Some(LIMITS.max_frame_bytes as usize))
}

/// What every connection shares: the registry, the store for the history, the clock.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Who is connected.
    pub registry: Arc<Registry>,
    /// The decoded agent history, kept while unchanged (lists read all of it per request).
    pub history: Arc<history::HistoryCache>,
    /// Every agent's row as lists show them, kept for a moment (`view::RowsCache`).
    pub rows: Arc<super::view::RowsCache>,
    /// The lists made of those rows for recent requests (`view::Listings`).
    pub listings: Arc<super::view::Listings>,
    /// Which actions run where, and their results (`crate::actions::live`).
    pub actions: Arc<crate::actions::live::Live>,
    /// Service Configuration in force: capture limits sent after `hello_ack` and on change.
    pub settings: Arc<Settings>,
    /// The configuration agents get: PII redaction and the blocklist (`config_push`).
    pub config: Arc<super::config_push::ConfigPush>,
    /// What agents have sent since start (System Diagnostics' ingest rates).
    pub ingest: Arc<super::ingest::IngestCounters>,
    store: Store,
    clock: SharedClock,
}

/// How a connection ended, for the log and the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The appliance closed it for this reason.
    Closed(CloseReason),
    /// The agent closed it (with its close code, when it sent one).
    ByAgent(Option<u16>),
    /// The connection broke without a close.
    Lost,
}

impl Ending {
    /// The name kept in the agent's history.
    pub fn as_str(&self) -> String {
        match self {
            Ending::Closed(r) => r.as_str().to_string(),
            Ending::ByAgent(Some(1001)) => "agent_stopped".to_string(),
            Ending::ByAgent(Some(code)) => format!("agent_closed_{code}"),
            Ending::ByAgent(None) => "agent_closed".to_string(),
            Ending::Lost => "connection_lost".to_string(),
        }
    }
}

type Sink<S> = SplitSink<WebSocketStream<Metered<S>>, Message>;
type Source<S> = SplitStream<WebSocketStream<Metered<S>>>;

impl Gateway {
    /// A gateway over `store`, with an empty registry; `settings` is Service Configuration
    /// in force (metric window, capture limits).
    pub fn new(store: Store, clock: SharedClock, settings: Arc<Settings>) -> Gateway {
        let registry = Arc::new(Registry::new());
        let config = Arc::new(super::config_push::ConfigPush::new(
            store.clone(),
            Arc::clone(&registry),
        ));
        let actions = Arc::new(crate::actions::live::Live::new(
            store.clone(),
            Arc::clone(&registry),
            clock.clone(),
            Arc::clone(&settings),
            Arc::clone(&config),
        ));
        Gateway {
            registry,
            history: Arc::default(),
            rows: Arc::new(super::view::rows_cache()),
            listings: Arc::new(super::view::listings()),
            actions,
            settings,
            config,
            ingest: Arc::default(),
            store,
            clock,
        }
    }

    /// Sends the capture limits in force to every connected agent that runs actions (after
    /// a Service Configuration save). Never waits: a full outbox misses it, and the agent
    /// gets the limits again when it reconnects.
    pub fn send_capture_limits(&self) -> usize {
        let config = self.settings.get();
        let mut sent = 0;
        for agent in self.registry.list() {
            let capable = agent
                .hello
                .capabilities
                .iter()
                .any(|c| c == crate::actions::live::CAPABILITY);
            if capable {
                let text = capture_limits_message(&config, &agent.hello.runtime.name).to_string();
                if self.registry.send_to(agent.session, text) {
                    sent += 1;
                }
            }
        }
        sent
    }

    /// Serves one upgraded connection of an agent of `pool` until it ends. `guard` is held
    /// for the connection's life (the appliance's connection cap).
    pub async fn serve<S, G>(&self, io: S, peer: SocketAddr, pool: Pool, guard: G) -> Ending
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        G: Send,
    {
        let io = Metered::new(io);
        let bytes_read = io.counter();
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(websocket_config())).await;
        let (mut sink, mut source) = ws.split();
        let ending = self
            .run(&mut sink, &mut source, peer, pool, &bytes_read)
            .await;
        match &ending {
            Ending::Closed(reason) => close(&mut sink, *reason, &close_text(*reason)).await,
            // tungstenite queued the reply to the agent's close frame; send it (RFC 6455 §5.5.1).
            Ending::ByAgent(_) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
            }
            Ending::Lost => {}
        }
        drop(guard);
        ending
    }

    async fn run<S>(
        &self,
        sink: &mut Sink<S>,
        source: &mut Source<S>,
        peer: SocketAddr,
        pool: Pool,
        bytes_read: &AtomicU64,
    ) -> Ending
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let hello = match tokio::time::timeout(HELLO_TIMEOUT, first_hello(sink, source)).await {
            Err(_) => return Ending::Closed(CloseReason::HelloTimeout),
            Ok(Err(ending)) => return ending,
            Ok(Ok(hello)) => hello,
        };
        let Some(protocol) = negotiate(&hello) else {
            return Ending::Closed(CloseReason::UnsupportedVersion);
        };
        let now = self.clock.now_ms();
        let session = self.registry.next_session();
        let session_id = tokens::hex(&tokens::random_bytes::<8>());
        let (kick, mut kicked) = mpsc::channel(4);
        let (outbox, mut outgoing) = mpsc::channel::<String>(OUTBOX_CAPACITY);
        // The history write comes first: an agent the portal lists must also be on record.
        let (h, pool_id) = (hello.clone(), pool.id.clone());
        if let Err(e) = self
            .store
            .write(move |tx| history::connected(tx, &h, &pool_id, now))
            .await
        {
            tracing::warn!(agent = %hello.agent_id, "agent history not written: {e}");
        }
        let summary = AgentSummary {
            session,
            session_id: session_id.clone(),
            hello: hello.clone(),
            pool_id: pool.id.clone(),
            pool_name: pool.name.clone(),
            peer,
            protocol,
            connected_ms: now,
            last_heartbeat_ms: now,
            classes_loaded: 0,
            artifacts: 0,
            initial_done: false,
            stats: None,
        };
        self.registry.register(summary.clone(), kick, outbox);
        tracing::info!(agent = %hello.agent_id, name = %hello.display_name, pool = %pool.name, %peer, "agent connected");
        let ack = ServerMessage::HelloAck(HelloAck {
            protocol,
            session_id,
            heartbeat_secs: u32::try_from(PING_INTERVAL.as_secs()).unwrap_or(25),
            limits: LIMITS,
        });
        let ending = match send(sink, &protocol::encode(&ack)).await {
            Err(ending) => ending,
            Ok(()) => {
                // The configuration (redaction, blocklist), the capture limits, then the whole
                // action set follow the acknowledgement (queued; sent by `stream`): probes are
                // installed under the current set.
                self.config.connected(session, &summary);
                if hello
                    .capabilities
                    .iter()
                    .any(|c| c == crate::actions::live::CAPABILITY)
                {
                    let limits = capture_limits_message(&self.settings.get(), &hello.runtime.name);
                    self.registry.send_to(session, limits.to_string());
                }
                self.actions.connected(session, &summary).await;
                self.stream(
                    sink,
                    source,
                    &summary,
                    bytes_read,
                    &mut kicked,
                    &mut outgoing,
                )
                .await
            }
        };
        self.registry.remove(session);
        let (agent_id, reason, now) =
            (hello.agent_id.clone(), ending.as_str(), self.clock.now_ms());
        tracing::info!(agent = %hello.agent_id, %reason, "agent disconnected");
        if let Err(e) = self
            .store
            .write(move |tx| history::disconnected(tx, &agent_id, &reason, now))
            .await
        {
            tracing::warn!(agent = %hello.agent_id, "agent history not written: {e}");
        }
        ending
    }

    /// The connection after `hello_ack`: frames in, pings and queued messages out.
    ///
    /// Life is any byte received, not a whole frame: a big state can take the busy appliance
    /// longer than the idle timeout to read. The `select!` is biased so that input already
    /// waiting is read before the idle check looks at the clock (a task woken late after a
    /// busy spell finds both ready).
    async fn stream<S>(
        &self,
        sink: &mut Sink<S>,
        source: &mut Source<S>,
        agent: &AgentSummary,
        bytes_read: &AtomicU64,
        kicked: &mut mpsc::Receiver<CloseReason>,
        outgoing: &mut mpsc::Receiver<String>,
    ) -> Ending
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let session = agent.session;
        let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        let mut last_heard = Instant::now();
        let mut bytes_seen = bytes_read.load(Ordering::Relaxed);
        loop {
            tokio::select! {
                biased;
                Some(reason) = kicked.recv() => return Ending::Closed(reason),
                Some(text) = outgoing.recv() => {
                    if let Err(ending) = send(sink, &text).await {
                        return ending;
                    }
                }
                frame = source.next() => {
                    last_heard = Instant::now();
                    self.registry.heartbeat(session, self.clock.now_ms());
                    let frame = match frame {
                        None => return Ending::Lost,
                        Some(Err(e)) => return read_error(&e),
                        Some(Ok(frame)) => frame,
                    };
                    match frame {
                        Message::Text(text) => {
                            if let Some(ending) = self.on_text(sink, agent, text.as_str()).await {
                                return ending;
                            }
                        }
                        Message::Binary(_) => return Ending::Closed(CloseReason::BinaryFrame),
                        Message::Close(frame) => {
                            return Ending::ByAgent(frame.map(|f| u16::from(f.code)));
                        }
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                _ = ping.tick() => {
                    let bytes_now = bytes_read.load(Ordering::Relaxed);
                    if bytes_now != bytes_seen {
                        bytes_seen = bytes_now;
                        last_heard = Instant::now();
                    }
                    if last_heard.elapsed() >= IDLE_TIMEOUT {
                        return Ending::Closed(CloseReason::IdleTimeout);
                    }
                    if let Err(ending) = send_message(sink, Message::Ping(Default::default())).await {
                        return ending;
                    }
                }
            }
        }
    }

    /// One text frame after `hello_ack`; `Some` ends the connection.
    async fn on_text<S>(
        &self,
        sink: &mut Sink<S>,
        agent: &AgentSummary,
        text: &str,
    ) -> Option<Ending>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        use super::ingest::Kind;
        let session = agent.session;
        self.ingest.received(text.len());
        let reply = match protocol::decode(text) {
            Err(DecodeError::Malformed(_)) => {
                return Some(Ending::Closed(CloseReason::ProtocolError));
            }
            Err(DecodeError::UnknownType(kind)) => error_reply(
                ErrorCode::UnknownType,
                format!("this appliance does not know the message type {kind:?}; it was ignored"),
                Some(kind),
            ),
            Err(e @ DecodeError::Invalid { .. }) => {
                let about = match &e {
                    DecodeError::Invalid { kind, .. } => Some(kind.clone()),
                    _ => None,
                };
                error_reply(ErrorCode::InvalidMessage, e.to_string(), about)
            }
            Ok(AgentMessage::Hello(_)) => error_reply(
                ErrorCode::OutOfOrder,
                "hello was already acknowledged on this connection".into(),
                Some("hello".into()),
            ),
            Ok(AgentMessage::ClassLoads(batch)) => match self.registry.ingest(session, &batch) {
                Ok(()) => {
                    self.ingest.stored(Kind::ClassLoads);
                    return None;
                }
                Err(IngestError::Sequence { .. }) => {
                    return Some(Ending::Closed(CloseReason::ProtocolError));
                }
                Err(IngestError::Invalid(reason)) => error_reply(
                    ErrorCode::InvalidMessage,
                    format!("invalid class_loads message: {reason}"),
                    Some("class_loads".into()),
                ),
            },
            Ok(AgentMessage::AgentStats(stats)) => {
                self.registry.stats(session, stats);
                return None;
            }
            Ok(AgentMessage::Error(e)) => {
                tracing::info!(code = %e.code, "agent reported: {}", e.message);
                return None;
            }
            Ok(AgentMessage::ActionStatus(s)) => {
                self.actions.status(agent, s);
                return None;
            }
            Ok(AgentMessage::Metric(m)) => {
                self.ingest.stored(Kind::Metric);
                self.actions.metric(agent, m);
                return None;
            }
            Ok(AgentMessage::Snapshot(snap)) => {
                let id = snap.id.clone();
                match self.actions.snapshot(agent, snap).await {
                    Ok(true) => {
                        self.ingest.stored(Kind::Snapshot);
                        return None;
                    }
                    Ok(false) => unknown_action("snapshot", &id),
                    Err(e) => {
                        tracing::warn!(agent = %agent.hello.agent_id, "snapshot not stored: {e}");
                        return None;
                    }
                }
            }
            Ok(AgentMessage::Log(line)) => {
                let id = line.id.clone();
                match self.actions.log(agent, line).await {
                    Ok(true) => {
                        self.ingest.stored(Kind::LogLine);
                        return None;
                    }
                    Ok(false) => unknown_action("log", &id),
                    Err(e) => {
                        tracing::warn!(agent = %agent.hello.agent_id, "log line not stored: {e}");
                        return None;
                    }
                }
            }
        };
        send(sink, &reply).await.err()
    }
}

/// A result for an action the appliance does not have (deleted meanwhile): said once per
/// result, so the agent can drop the probe; nothing is stored.
fn unknown_action(kind: &str, id: &str) -> String {
    error_reply(
        ErrorCode::InvalidMessage,
        format!("no action {id:?}: the {kind} was not kept"),
        Some(kind.to_string()),
    )
}

fn error_reply(code: ErrorCode, message: String, about: Option<String>) -> String {
    protocol::encode(&ServerMessage::Error(ErrorMessage {
        code: code.as_str().to_string(),
        message,
        about,
    }))
}

/// Waits for the first text frame and insists that it is `hello`.
async fn first_hello<S>(sink: &mut Sink<S>, source: &mut Source<S>) -> Result<Hello, Ending>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let frame = match source.next().await {
            None => return Err(Ending::Lost),
            Some(Err(e)) => return Err(read_error(&e)),
            Some(Ok(frame)) => frame,
        };
        let text = match frame {
            Message::Text(text) => text,
            Message::Binary(_) => return Err(Ending::Closed(CloseReason::BinaryFrame)),
            Message::Close(frame) => return Err(Ending::ByAgent(frame.map(|f| u16::from(f.code)))),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
        };
        let reply = match protocol::decode(text.as_str()) {
            Ok(AgentMessage::Hello(hello)) => return Ok(hello),
            Err(DecodeError::Malformed(_)) => {
                return Err(Ending::Closed(CloseReason::ProtocolError));
            }
            // A bad hello cannot open a session: say why, then close.
            Err(e @ DecodeError::Invalid { .. }) if text.contains("\"hello\"") => {
                let reply = error_reply(
                    ErrorCode::InvalidMessage,
                    e.to_string(),
                    Some("hello".into()),
                );
                let _ = send(sink, &reply).await;
                return Err(Ending::Closed(CloseReason::ProtocolError));
            }
            Err(e) => error_reply(
                ErrorCode::OutOfOrder,
                format!("{e}; the first message must be hello"),
                None,
            ),
            Ok(other) => error_reply(
                ErrorCode::OutOfOrder,
                format!(
                    "{} before hello; the first message must be hello",
                    protocol::message_type(&other)
                ),
                Some(protocol::message_type(&other).to_string()),
            ),
        };
        send(sink, &reply).await?;
        return Err(Ending::Closed(CloseReason::ProtocolError));
    }
}

/// The reason text of a close frame.
fn close_text(reason: CloseReason) -> String {
    match reason {
        CloseReason::UnsupportedVersion => format!(
            "unsupported_version: this appliance speaks protocol {} to {}",
            protocol::MIN_PROTOCOL_VERSION,
            protocol::PROTOCOL_VERSION
        ),
        other => other.as_str().to_string(),
    }
}

/// The newest version both sides speak.
fn negotiate(hello: &Hello) -> Option<u32> {
    let agent_min = hello.min_protocol.unwrap_or(hello.protocol);
    let chosen = hello.protocol.min(protocol::PROTOCOL_VERSION);
    (chosen >= agent_min.max(protocol::MIN_PROTOCOL_VERSION)).then_some(chosen)
}

fn read_error(e: &tungstenite::Error) -> Ending {
    match e {
        tungstenite::Error::Capacity(_) => Ending::Closed(CloseReason::TooBig),
        tungstenite::Error::Utf8(_) => Ending::Closed(CloseReason::InvalidUtf8),
        tungstenite::Error::Protocol(_) => Ending::Closed(CloseReason::ProtocolError),
        _ => Ending::Lost,
    }
}

async fn send<S>(sink: &mut Sink<S>, text: &str) -> Result<(), Ending>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    send_message(sink, Message::text(text)).await
}

/// Sends one frame within [`SEND_TIMEOUT`]; a peer that does not read is a slow reader.
async fn send_message<S>(sink: &mut Sink<S>, message: Message) -> Result<(), Ending>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
        Err(_) => Err(Ending::Closed(CloseReason::SlowReader)),
        Ok(Err(_)) => Err(Ending::Lost),
        Ok(Ok(())) => Ok(()),
    }
}

/// Sends a close frame with a reason, without waiting long for a peer that does not read.
async fn close<S>(sink: &mut Sink<S>, reason: CloseReason, text: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(reason.code()),
        reason: text.chars().take(120).collect::<String>().into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        sink.send(Message::Close(Some(frame))),
    )
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
}
