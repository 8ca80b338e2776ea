//! Ready-made nodes for tests: a [`Sink`] that never answers and a [`Scripted`] peer.
//!
//! Testing one side of a conversation needs a peer whose behaviour is fixed in advance: a
//! silent one, to watch retransmissions and timeouts, or one that answers in a set way.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use sipwire::Transport;
//! use sipwire_sim::{World, script::{Scripted, Sink}};
//!
//! let mut world = World::new(1);
//! let caller = world.add_node("caller", "192.0.2.1:5060".parse().unwrap(), Sink::new());
//! let callee = world.add_node("callee", "192.0.2.2:5060".parse().unwrap(), Scripted::responder(&[180, 486]));
//! let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:alice@192.0.2.1>;tag=a\r\n\
//!     To: <sip:bob@192.0.2.2>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
//!     Content-Length: 0\r\n\r\n";
//! world.with_node(caller, |sink: &mut Sink, _now| {
//!     sink.send("192.0.2.2:5060".parse().unwrap(), Transport::Udp, Bytes::from(invite));
//! });
//! world.drive(100).unwrap();
//! let codes: Vec<_> = world.node::<Sink>(caller).unwrap().received().iter()
//!     .filter_map(|r| r.message()?.status()).collect();
//! assert_eq!(codes, [180, 486]);
//! assert_eq!(world.elapsed(), Duration::from_millis(20));
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::{Message, Method, Output, Transmit, Transport};

use crate::node::Node;

/// One datagram a node received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Received {
    /// When it arrived.
    pub at: Instant,
    /// The sender's address.
    pub source: SocketAddr,
    /// The transport it came over.
    pub transport: Transport,
    /// The bytes.
    pub payload: Bytes,
}

impl Received {
    /// Returns the payload parsed as a SIP message, or `None` if it is not one.
    #[must_use]
    pub fn message(&self) -> Option<Message> {
        Message::parse(self.payload.clone()).ok()
    }
}

/// A node that swallows everything it receives and records it; it sends only what a test
/// tells it to.
///
/// As a peer it is silence: the far end of a dead link, or a UAS that never answers.
#[derive(Debug, Default)]
pub struct Sink {
    received: Vec<Received>,
    failed: Vec<Transmit>,
    outbox: VecDeque<Transmit>,
}

impl Sink {
    /// Returns a sink that has received nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `payload` for `destination`; the world sends it when it next drains the
    /// node (at once, from inside [`World::with_node`](crate::World::with_node)).
    pub fn send(&mut self, destination: SocketAddr, transport: Transport, payload: Bytes) {
        self.outbox.push_back(Transmit::new(destination, transport, payload, None));
    }

    /// Returns what the sink has received, oldest first.
    #[must_use]
    pub fn received(&self) -> &[Received] {
        &self.received
    }

    /// Takes what the sink has received, oldest first.
    pub fn take_received(&mut self) -> Vec<Received> {
        std::mem::take(&mut self.received)
    }

    /// Returns the transmits of this node that failed (see
    /// [`PartitionMode::FailSends`](crate::PartitionMode::FailSends)).
    #[must_use]
    pub fn send_failures(&self) -> &[Transmit] {
        &self.failed
    }
}

impl Node for Sink {
    type Event = Infallible;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        self.received.push(Received { at: now, source, transport, payload });
    }

    fn handle_send_failed(&mut self, _now: Instant, transmit: &Transmit) {
        self.failed.push(transmit.clone());
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_output(&mut self) -> Option<Output<Infallible>> {
        self.outbox.pop_front().map(Output::Transmit)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// A free-text event of a [`Scripted`] node; `Debug` shows the bare text, so the ladder
/// reads `* text`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Note(pub String);

impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a [`Scripted`] node's handler can do in answer to a datagram: send now, send
/// later, note something.
#[derive(Debug)]
pub struct Actions<'a> {
    now: Instant,
    state: &'a mut State,
}

impl Actions<'_> {
    /// Returns the time the datagram arrived at.
    #[must_use]
    pub const fn now(&self) -> Instant {
        self.now
    }

    /// Sends `payload` to `destination` now.
    pub fn send(
        &mut self,
        destination: SocketAddr,
        transport: Transport,
        payload: impl Into<Bytes>,
    ) {
        self.state.send(destination, transport, payload.into());
    }

    /// Sends `payload` back to where `to` came from, over the same transport.
    pub fn reply(&mut self, to: &Received, payload: impl Into<Bytes>) {
        self.send(to.source, to.transport, payload);
    }

    /// Sends `payload` to `destination` after `delay`.
    pub fn send_after(
        &mut self,
        delay: Duration,
        destination: SocketAddr,
        transport: Transport,
        payload: impl Into<Bytes>,
    ) {
        let at = self.now.checked_add(delay).unwrap_or(self.now);
        self.state.send_at(at, destination, transport, payload.into());
    }

    /// Emits `text` as an event (a [`Note`]).
    pub fn note(&mut self, text: impl Into<String>) {
        self.state.outbox.push_back(Output::Event(Note(text.into())));
    }
}

/// The part of a [`Scripted`] node its handler may touch.
#[derive(Debug, Default)]
struct State {
    outbox: VecDeque<Output<Note>>,
    /// Sends waiting for their time, in time order; the counter keeps equal times in the
    /// order they were asked for.
    timed: BTreeMap<(Instant, u64), Transmit>,
    next: u64,
}

impl State {
    fn send(&mut self, destination: SocketAddr, transport: Transport, payload: Bytes) {
        self.outbox.push_back(Output::Transmit(Transmit::new(
            destination,
            transport,
            payload,
            None,
        )));
    }

    fn send_at(
        &mut self,
        at: Instant,
        destination: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        self.timed.insert((at, self.next), Transmit::new(destination, transport, payload, None));
        self.next += 1;
    }
}

/// The handler type of a [`Scripted`] node.
type Handler = Box<dyn FnMut(&mut Actions<'_>, &Received)>;

/// A node that answers each datagram by running a closure: the scripted peer.
///
/// It records what it receives, like a [`Sink`], and sends what the closure asks, now or
/// later. [`Scripted::responder`] answers requests with fixed status codes.
pub struct Scripted {
    handler: Handler,
    received: Vec<Received>,
    failed: Vec<Transmit>,
    state: State,
}

impl Scripted {
    /// Returns a node that calls `handler` for every datagram it receives.
    #[must_use]
    pub fn new(handler: impl FnMut(&mut Actions<'_>, &Received) + 'static) -> Self {
        Self {
            handler: Box::new(handler),
            received: Vec::new(),
            failed: Vec::new(),
            state: State::default(),
        }
    }

    /// Returns a node that answers every request but ACK with responses carrying `codes`,
    /// in order, at once (To tag `scripted` on all but 100). Anything else it ignores.
    #[must_use]
    pub fn responder(codes: &[u16]) -> Self {
        let steps: Vec<(Duration, u16)> = codes.iter().map(|&c| (Duration::ZERO, c)).collect();
        Self::delayed_responder(&steps)
    }

    /// Returns a node that answers every request but ACK with a response per
    /// `(delay, code)`, each sent `delay` after the request arrived.
    #[must_use]
    pub fn delayed_responder(steps: &[(Duration, u16)]) -> Self {
        let steps = steps.to_vec();
        Self::new(move |act, rx| {
            let Some(request) = rx.message() else { return };
            if request.method().is_none_or(|m| *m == Method::Ack) {
                return;
            }
            for &(delay, code) in &steps {
                let mut builder = request.reply(code);
                if code > 100 {
                    builder = builder.to_tag("scripted");
                }
                let mut wire = Vec::new();
                if builder.write_to(&mut wire).is_err() {
                    continue;
                }
                if delay.is_zero() {
                    act.reply(rx, wire);
                } else {
                    act.send_after(delay, rx.source, rx.transport, wire);
                }
            }
        })
    }

    /// Sends `payload` to `destination` when the world next drains the node.
    pub fn send(&mut self, destination: SocketAddr, transport: Transport, payload: Bytes) {
        self.state.send(destination, transport, payload);
    }

    /// Sends `payload` to `destination` at `at`.
    pub fn send_at(
        &mut self,
        at: Instant,
        destination: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        self.state.send_at(at, destination, transport, payload);
    }

    /// Returns what the node has received, oldest first.
    #[must_use]
    pub fn received(&self) -> &[Received] {
        &self.received
    }

    /// Returns the transmits of this node that failed.
    #[must_use]
    pub fn send_failures(&self) -> &[Transmit] {
        &self.failed
    }
}

impl fmt::Debug for Scripted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scripted")
            .field("received", &self.received.len())
            .field("pending", &self.state.timed.len())
            .finish_non_exhaustive()
    }
}

impl Node for Scripted {
    type Event = Note;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        let received = Received { at: now, source, transport, payload };
        let mut actions = Actions { now, state: &mut self.state };
        (self.handler)(&mut actions, &received);
        self.received.push(received);
    }

    fn handle_send_failed(&mut self, _now: Instant, transmit: &Transmit) {
        self.failed.push(transmit.clone());
    }

    fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.state.timed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let transmit = entry.remove();
            self.state.outbox.push_back(Output::Transmit(transmit));
        }
    }

    fn poll_output(&mut self) -> Option<Output<Note>> {
        self.state.outbox.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.state.timed.keys().next().map(|&(at, _)| at)
    }
}
