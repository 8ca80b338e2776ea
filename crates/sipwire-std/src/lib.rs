//! A blocking driver for [`sipwire::Endpoint`] over `std::net` sockets (through mio's
//! readiness, so one thread can wait on UDP, a TCP listener and every connection at once).
//!
//! The driver owns what the core may not touch: sockets, the clock and OS randomness. Every
//! protocol decision stays in the core. The loop is the one the core documents: wait on the
//! sockets until `poll_timeout()`, feed what arrived, fire the timers, drain `poll_output()`
//! and send.
//!
//! The application stays single-threaded: it asks [`Driver::next_event`] for the next
//! [`Event`] (with an optional deadline of its own, for "answer in two seconds"), and acts on
//! invitations through [`Driver::invitation`]. What its commands queue is sent at the start
//! of the next `next_event`.
//!
//! ```no_run
//! use sipwire::ua::{AcceptOptions, Config, Event};
//! use sipwire_std::{Driver, Options, Step};
//!
//! let options = Options::new().udp("127.0.0.1:5060".parse()?);
//! let mut driver = Driver::bind(options, |local| Config::new(&format!("sip:bob@{local}")))?;
//! driver.stop_on_ctrl_c()?;
//! loop {
//!     match driver.next_event(None)? {
//!         Step::Event(Event::Invitation { id }) => {
//!             let now = driver.now();
//!             if let Some(mut invitation) = driver.invitation(id) {
//!                 invitation.accept(now, AcceptOptions::new().body("application/sdp", "v=0\r\n"))?;
//!             }
//!         }
//!         Step::Event(_) | Step::Deadline => {}
//!         Step::Stopped => break,
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! TCP follows RFC 3261 §18: one connection per flow, framed by the core's
//! [`StreamFramer`]; responses go back over the connection the request came in on; a
//! request to a peer with no connection opens one. A connection is cut when its framing
//! fails (an endless header hits `max_message_size`), when a partial message stalls longer
//! than [`Options::stall_timeout`], or when more than [`Options::max_queued`] bytes wait to
//! be written to it; at most [`Options::max_connections`] are open.

#![forbid(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};
use sipwire::message::{Frame, KeepAliveRole, ParseOptions, StreamFramer};
use sipwire::ua::{Config, Event, Invitation, InvitationId};
use sipwire::{Endpoint, Input, Output, TransactionId, Transmit, Transport};

const UDP: Token = Token(0);
const LISTENER: Token = Token(1);
const WAKER: Token = Token(2);
const FIRST_CONN: usize = 3;
/// The largest UDP datagram.
const DATAGRAM: usize = 65_535;

/// What the driver binds and its limits on TCP.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The UDP socket's address, if any.
    pub udp: Option<SocketAddr>,
    /// The TCP listener's address, if any.
    pub tcp: Option<SocketAddr>,
    /// A connection holding part of a message for this long without completing it is cut
    /// (default 32 s, 64·T1).
    pub stall_timeout: Duration,
    /// Most TCP connections open at once, accepted and opened (default 1024). Beyond it
    /// new connections are closed at once.
    pub max_connections: usize,
    /// Most bytes queued for writing on one connection (default 1 MiB); a peer that stops
    /// reading is cut off rather than growing the queue.
    pub max_queued: usize,
    /// Most UDP datagrams queued while the socket's send buffer is full (default 4096);
    /// beyond it a send fails and the core is told.
    pub max_udp_backlog: usize,
    /// A fixed seed for the core, instead of one from the OS (for reproducible runs).
    pub seed: Option<u64>,
}

impl Options {
    /// Nothing bound yet, default limits.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            udp: None,
            tcp: None,
            stall_timeout: Duration::from_secs(32),
            max_connections: 1024,
            max_queued: 1 << 20,
            max_udp_backlog: 4096,
            seed: None,
        }
    }

    /// Binds UDP on `addr`.
    #[must_use]
    pub const fn udp(mut self, addr: SocketAddr) -> Self {
        self.udp = Some(addr);
        self
    }

    /// Listens for TCP on `addr`.
    #[must_use]
    pub const fn tcp(mut self, addr: SocketAddr) -> Self {
        self.tcp = Some(addr);
        self
    }

    /// Sets [`stall_timeout`](Self::stall_timeout).
    #[must_use]
    pub const fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    #[must_use]
    pub const fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets a fixed [`seed`](Self::seed).
    #[must_use]
    pub const fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`Driver::next_event`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The core reported something.
    Event(Event),
    /// The application's own deadline passed.
    Deadline,
    /// [`Stopper::stop`] was called, or Ctrl-C / SIGTERM arrived.
    Stopped,
}

/// Errors of the driver itself (the core's errors are its own types).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A socket operation failed.
    Io(io::Error),
    /// Neither UDP nor TCP was asked for.
    NothingToBind,
    /// The OS gave no randomness for the seed.
    Random(getrandom::Error),
    /// The Ctrl-C handler could not be installed (one per process).
    CtrlC(ctrlc::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "socket: {e}"),
            Self::NothingToBind => f.write_str("neither UDP nor TCP to bind"),
            Self::Random(e) => write!(f, "OS randomness: {e}"),
            Self::CtrlC(e) => write!(f, "Ctrl-C handler: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::CtrlC(e) => Some(e),
            Self::NothingToBind | Self::Random(_) => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Stops a [`Driver`] from any thread: its `next_event` returns [`Step::Stopped`].
#[derive(Debug, Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    /// Asks the driver to stop and wakes it.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

/// What the driver counts, beside the core's own counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Messages framed on TCP connections.
    pub frames_in: u64,
    /// TCP connections accepted or opened.
    pub connections: u64,
    /// TCP connections cut by a limit (framing error, stall, write queue, count).
    pub connections_cut: u64,
    /// Sends that failed (reported to the core).
    pub send_failures: u64,
}

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    framer: StreamFramer,
    /// Bytes waiting to be written, with the transaction to blame if the write fails.
    queue: VecDeque<(Bytes, Option<TransactionId>)>,
    /// How much of the front of `queue` is already written.
    written: usize,
    queued: usize,
    /// When the partial message now buffered started arriving.
    partial_since: Option<Instant>,
    /// Whether WRITABLE interest is registered.
    want_write: bool,
}

/// The blocking driver: one [`Endpoint`], its sockets, and the loop between them.
#[derive(Debug)]
pub struct Driver {
    endpoint: Endpoint,
    options: Options,
    parse: ParseOptions,
    poll: Poll,
    events: Events,
    udp: Option<UdpSocket>,
    udp_backlog: VecDeque<Transmit>,
    listener: Option<TcpListener>,
    conns: HashMap<Token, Conn>,
    by_peer: HashMap<SocketAddr, Token>,
    next_token: usize,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    ready: VecDeque<Event>,
    buf: Vec<u8>,
    stats: Stats,
}

/// The adapter's clock: the one place the wall-free monotonic clock is read.
#[allow(clippy::disallowed_methods)] // adapters own the clock; the core never reads it
fn clock() -> Instant {
    Instant::now()
}

impl Driver {
    /// Binds the sockets `options` asks for, then builds the core from `config`, which is
    /// given the first bound address (UDP's, else TCP's) so that a Contact can carry the
    /// real port when binding port 0. The core's seed comes from the OS unless
    /// [`Options::seed`] is set.
    ///
    /// # Errors
    /// A socket cannot be bound, nothing was asked for, or the OS has no randomness.
    pub fn bind(
        options: Options,
        config: impl FnOnce(SocketAddr) -> Config,
    ) -> Result<Self, Error> {
        let poll = Poll::new()?;
        let udp = options.udp.map(UdpSocket::bind).transpose()?;
        let listener = options.tcp.map(TcpListener::bind).transpose()?;
        let mut local = None;
        let mut udp = udp;
        if let Some(s) = &mut udp {
            local = Some(s.local_addr()?);
            poll.registry().register(s, UDP, Interest::READABLE)?;
        }
        let mut listener = listener;
        if let Some(l) = &mut listener {
            local = local.or(Some(l.local_addr()?));
            poll.registry().register(l, LISTENER, Interest::READABLE)?;
        }
        let local = local.ok_or(Error::NothingToBind)?;
        let mut config = config(local);
        config.seed = match options.seed {
            Some(seed) => seed,
            None => getrandom::u64().map_err(Error::Random)?,
        };
        // The framer only cuts frames; the core checks each message itself.
        let mut parse = ParseOptions::DEFAULT;
        parse.limits = config.limits;
        parse.validate = false;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Self {
            endpoint: Endpoint::new(config),
            options,
            parse,
            poll,
            events: Events::with_capacity(256),
            udp,
            udp_backlog: VecDeque::new(),
            listener,
            conns: HashMap::new(),
            by_peer: HashMap::new(),
            next_token: FIRST_CONN,
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            ready: VecDeque::new(),
            buf: vec![0; DATAGRAM],
            stats: Stats::default(),
        })
    }

    /// Returns the bound address of `transport` (UDP or TCP).
    #[must_use]
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        match transport {
            Transport::Udp => self.udp.as_ref()?.local_addr().ok(),
            Transport::Tcp => self.listener.as_ref()?.local_addr().ok(),
            _ => None,
        }
    }

    /// Returns the clock reading the driver passes to the core.
    #[must_use]
    pub fn now(&self) -> Instant {
        clock()
    }

    /// Returns the core, for its getters.
    #[must_use]
    pub const fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Returns the core mutably, e.g. to feed it an input by hand.
    pub const fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// Returns the view of invitation `id`; what its commands send goes out at the start
    /// of the next [`next_event`](Self::next_event).
    pub fn invitation(&mut self, id: InvitationId) -> Option<Invitation<'_>> {
        self.endpoint.invitation(id)
    }

    /// Returns the driver's counters.
    #[must_use]
    pub const fn stats(&self) -> Stats {
        self.stats
    }

    /// Returns how many TCP connections are open.
    #[must_use]
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Returns a handle that stops the driver from another thread.
    #[must_use]
    pub fn stopper(&self) -> Stopper {
        Stopper { flag: Arc::clone(&self.stop), waker: Arc::clone(&self.waker) }
    }

    /// Makes Ctrl-C (SIGINT) and SIGTERM stop the driver: `next_event` returns
    /// [`Step::Stopped`].
    ///
    /// # Errors
    /// A handler is already installed in this process.
    pub fn stop_on_ctrl_c(&self) -> Result<(), Error> {
        let stopper = self.stopper();
        ctrlc::set_handler(move || stopper.stop()).map_err(Error::CtrlC)
    }

    /// Runs the loop until the core has an event, `deadline` passes, or the driver is
    /// stopped. Sends everything queued first.
    ///
    /// # Errors
    /// Waiting on the sockets failed (not a send or receive on one socket: those are
    /// reported to the core or cut the connection).
    pub fn next_event(&mut self, deadline: Option<Instant>) -> Result<Step, Error> {
        loop {
            self.flush();
            if let Some(event) = self.ready.pop_front() {
                return Ok(Step::Event(event));
            }
            if self.stop.load(Ordering::Acquire) {
                return Ok(Step::Stopped);
            }
            let now = clock();
            if deadline.is_some_and(|d| d <= now) {
                return Ok(Step::Deadline);
            }
            if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
                self.endpoint.handle_timeout(now);
                continue;
            }
            if self.cut_stalled(now) {
                continue;
            }
            let wake = [self.endpoint.poll_timeout(), deadline, self.next_stall()]
                .into_iter()
                .flatten()
                .min();
            let timeout = wake.map(|w| w.saturating_duration_since(now));
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            let tokens: Vec<(Token, bool, bool)> = self
                .events
                .iter()
                .map(|e| (e.token(), e.is_readable() || e.is_read_closed(), e.is_writable()))
                .collect();
            for (token, readable, writable) in tokens {
                match token {
                    UDP => {
                        if readable {
                            self.read_udp();
                        }
                        if writable {
                            self.drain_udp_backlog();
                        }
                    }
                    LISTENER => self.accept(),
                    WAKER => {}
                    token => self.conn_ready(token, readable, writable),
                }
            }
        }
    }

    /// Sends every transmit the core has queued and keeps its events for the application.
    fn flush(&mut self) {
        while let Some(output) = self.endpoint.poll_output() {
            match output {
                Output::Transmit(t) => self.send(t),
                Output::Event(e) => self.ready.push_back(e),
            }
        }
    }

    fn send_failed(&mut self, transaction: Option<TransactionId>) {
        self.stats.send_failures += 1;
        if transaction.is_some() {
            self.endpoint.handle_input(clock(), Input::SendFailed { transaction });
        }
    }

    fn send(&mut self, t: Transmit) {
        match t.transport {
            Transport::Udp => self.send_udp(t),
            Transport::Tcp => self.send_tcp(t),
            _ => self.send_failed(t.transaction),
        }
    }

    fn send_udp(&mut self, t: Transmit) {
        let Some(udp) = &self.udp else { return self.send_failed(t.transaction) };
        if !self.udp_backlog.is_empty() {
            return self.queue_udp(t);
        }
        match udp.send_to(&t.payload, t.destination) {
            Ok(_) => self.stats.datagrams_out += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.queue_udp(t),
            Err(_) => self.send_failed(t.transaction),
        }
    }

    fn queue_udp(&mut self, t: Transmit) {
        if self.udp_backlog.len() >= self.options.max_udp_backlog {
            return self.send_failed(t.transaction);
        }
        if self.udp_backlog.is_empty()
            && let Some(udp) = &mut self.udp
        {
            let both = Interest::READABLE | Interest::WRITABLE;
            let _ = self.poll.registry().reregister(udp, UDP, both);
        }
        self.udp_backlog.push_back(t);
    }

    fn drain_udp_backlog(&mut self) {
        let Some(udp) = &mut self.udp else { return };
        while let Some(t) = self.udp_backlog.front() {
            match udp.send_to(&t.payload, t.destination) {
                Ok(_) => {
                    self.stats.datagrams_out += 1;
                    self.udp_backlog.pop_front();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    let failed = self.udp_backlog.pop_front().and_then(|t| t.transaction);
                    self.send_failed(failed);
                    return self.drain_udp_backlog();
                }
            }
        }
        let _ = self.poll.registry().reregister(udp, UDP, Interest::READABLE);
    }

    fn read_udp(&mut self) {
        loop {
            let Some(udp) = &self.udp else { return };
            match udp.recv_from(&mut self.buf) {
                Ok((n, source)) => {
                    self.stats.datagrams_in += 1;
                    let payload = Bytes::copy_from_slice(&self.buf[..n]);
                    self.endpoint
                        .handle_input(clock(), Input::received(source, Transport::Udp, payload));
                    // Send as we go, so a burst of requests doesn't pile up answers.
                    self.flush();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // An ICMP error from an earlier send (ECONNREFUSED on Linux): nothing to
                // read; the transaction layer's timers deal with the silence.
                Err(_) => {}
            }
        }
    }

    fn accept(&mut self) {
        loop {
            let Some(listener) = &self.listener else { return };
            match listener.accept() {
                Ok((stream, peer)) => {
                    self.add_conn(stream, peer, KeepAliveRole::Server);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // ECONNABORTED, EMFILE …: skip this one; the listener stays.
                Err(_) => return,
            }
        }
    }

    fn add_conn(
        &mut self,
        mut stream: TcpStream,
        peer: SocketAddr,
        role: KeepAliveRole,
    ) -> Option<Token> {
        if self.conns.len() >= self.options.max_connections {
            self.stats.connections_cut += 1;
            return None; // dropped: closed at once
        }
        let token = Token(self.next_token);
        self.next_token += 1;
        let _ = stream.set_nodelay(true);
        if self.poll.registry().register(&mut stream, token, Interest::READABLE).is_err() {
            return None;
        }
        self.stats.connections += 1;
        if let Some(old) = self.by_peer.insert(peer, token) {
            // A second connection from the same address and port replaces the first.
            self.close(old, false);
            self.by_peer.insert(peer, token);
        }
        let framer = StreamFramer::new(self.parse, role);
        self.conns.insert(
            token,
            Conn {
                stream,
                peer,
                framer,
                queue: VecDeque::new(),
                written: 0,
                queued: 0,
                partial_since: None,
                want_write: false,
            },
        );
        Some(token)
    }

    fn send_tcp(&mut self, t: Transmit) {
        let token = match self.by_peer.get(&t.destination) {
            Some(&token) => token,
            None => {
                let opened = TcpStream::connect(t.destination)
                    .ok()
                    .and_then(|s| self.add_conn(s, t.destination, KeepAliveRole::Client));
                match opened {
                    Some(token) => token,
                    None => return self.send_failed(t.transaction),
                }
            }
        };
        let Some(conn) = self.conns.get_mut(&token) else { return self.send_failed(t.transaction) };
        if conn.queued + t.payload.len() > self.options.max_queued {
            self.stats.connections_cut += 1;
            self.send_failed(t.transaction);
            return self.close(token, true);
        }
        conn.queued += t.payload.len();
        conn.queue.push_back((t.payload, t.transaction));
        self.write(token);
    }

    /// Writes what the connection has queued, until the socket would block.
    fn write(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else { return };
        let mut failed = None;
        while let Some((bytes, transaction)) = conn.queue.front() {
            match conn.stream.write(&bytes[conn.written..]) {
                Ok(0) => {
                    failed = Some(*transaction);
                    break;
                }
                Ok(n) => {
                    conn.written += n;
                    if conn.written == bytes.len() {
                        conn.queued -= bytes.len();
                        conn.written = 0;
                        conn.queue.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Not connected yet (a connect in progress): wait for WRITABLE.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    failed = Some(*transaction);
                    break;
                }
            }
        }
        if let Some(transaction) = failed {
            self.send_failed(transaction);
            return self.close(token, true);
        }
        let want = !conn.queue.is_empty();
        if want != conn.want_write {
            conn.want_write = want;
            let interest =
                if want { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            let _ = self.poll.registry().reregister(&mut conn.stream, token, interest);
        }
    }

    fn conn_ready(&mut self, token: Token, readable: bool, writable: bool) {
        if writable {
            self.write(token);
        }
        if readable {
            self.read_conn(token);
        }
    }

    fn read_conn(&mut self, token: Token) {
        let mut closed = false;
        loop {
            let Some(conn) = self.conns.get_mut(&token) else { return };
            match conn.stream.read(&mut self.buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => conn.framer.push(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            if !self.frame(token) {
                return; // cut
            }
        }
        if closed {
            self.close(token, true);
        }
    }

    /// Hands every whole message the connection holds to the core. Returns false when the
    /// connection was cut for a framing error.
    fn frame(&mut self, token: Token) -> bool {
        loop {
            let Some(conn) = self.conns.get_mut(&token) else { return false };
            match conn.framer.next_frame() {
                Ok(Some(Frame::Message(message))) => {
                    let peer = conn.peer;
                    self.stats.frames_in += 1;
                    let input = Input::received(peer, Transport::Tcp, message.to_bytes());
                    self.endpoint.handle_input(clock(), input);
                }
                Ok(Some(Frame::Ping)) => {
                    conn.queue.push_back((Bytes::from_static(b"\r\n"), None));
                    conn.queued += 2;
                    self.write(token);
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    conn.partial_since = match (conn.framer.buffered(), conn.partial_since) {
                        (0, _) => None,
                        (_, Some(since)) => Some(since),
                        (_, None) => Some(clock()),
                    };
                    return true;
                }
                Err(_) => {
                    self.stats.connections_cut += 1;
                    self.close(token, true);
                    return false;
                }
            }
        }
    }

    fn next_stall(&self) -> Option<Instant> {
        self.conns
            .values()
            .filter_map(|c| c.partial_since)
            .min()
            .map(|since| since + self.options.stall_timeout)
    }

    /// Cuts connections whose partial message has stalled. Returns whether any was cut.
    fn cut_stalled(&mut self, now: Instant) -> bool {
        let stall = self.options.stall_timeout;
        let stalled: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.partial_since.is_some_and(|s| now.saturating_duration_since(s) >= stall)
            })
            .map(|(&t, _)| t)
            .collect();
        for &token in &stalled {
            self.stats.connections_cut += 1;
            self.close(token, true);
        }
        !stalled.is_empty()
    }

    /// Closes a connection; tells the core when `tell` (the flow is gone, and what was
    /// queued on it failed).
    fn close(&mut self, token: Token, tell: bool) {
        let Some(mut conn) = self.conns.remove(&token) else { return };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if self.by_peer.get(&conn.peer) == Some(&token) {
            self.by_peer.remove(&conn.peer);
        }
        if tell {
            for (_, transaction) in conn.queue.drain(..) {
                self.send_failed(transaction);
            }
            let input = Input::FlowClosed { peer: conn.peer, transport: Transport::Tcp };
            self.endpoint.handle_input(clock(), input);
        }
    }
}
