//! The real transaction layer in the world, and a transaction user to drive it.
//!
//! [`TransactionLayer`] is a [`Node`] as it stands: the world hands it datagrams and
//! timeouts, drains its transmits onto the links and records its [`TxEvent`]s. A test then
//! plays the transaction user itself, through [`World::with_node`](crate::World::with_node)
//! — which is how exact RFC schedules are checked against a silent [`Sink`] peer:
//!
//! ```
//! use std::time::Duration;
//! use sipwire::transaction::{LayerConfig, Target, Timer, TransactionLayer, TxEvent};
//! use sipwire::{HeaderName, Method, RequestBuilder, Transport};
//! use sipwire_sim::{World, script::Sink};
//!
//! let mut world = World::new(1);
//! let (me, peer) = ("192.0.2.1:5060".parse()?, "192.0.2.2:5060".parse()?);
//! let alice = world.add_node("alice", me, TransactionLayer::new(LayerConfig::default()));
//! world.add_node("void", peer, Sink::new());
//! let invite = RequestBuilder::new(&Method::Invite, "sip:bob@192.0.2.2")
//!     .header(HeaderName::From, "<sip:alice@192.0.2.1>;tag=1")
//!     .header(HeaderName::To, "<sip:bob@192.0.2.2>")
//!     .header(HeaderName::CallId, "c1@192.0.2.1")
//!     .cseq(1, &Method::Invite)
//!     .max_forwards(70);
//! world.with_node(alice, |layer: &mut TransactionLayer, now| {
//!     layer.send_request(now, invite, Target::new(peer, Transport::Udp), "192.0.2.1:5060")
//! });
//! world.drive(100)?;
//! let timeouts: Vec<_> = world.take_events_as::<TxEvent>(alice).into_iter()
//!     .filter_map(|(at, e)| match e {
//!         TxEvent::Timeout { timer, .. } => Some((at - world.start(), timer)),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(timeouts, [(Duration::from_secs(32), Timer::B)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Agent`] wraps a layer in a simple transaction user, so that whole exchanges run
//! without a test stepping in: it answers the requests it receives (a provisional, then a
//! final response after a delay; 487 to an INVITE it is asked to CANCEL; its own 2xx
//! retransmitted until the ACK comes, RFC 3261 §13.3.1.4), starts the requests it is given
//! ([`Agent::schedule`]), ACKs every 2xx that reaches it, and CANCELs where asked. It keeps a
//! [`ClientRecord`] per client transaction and a [`ServerRecord`] per server transaction —
//! what reached the TU, how often, and when — so that a test can assert invariants over
//! thousands of exchanges on lossy links:
//!
//! ```
//! use std::time::Duration;
//! use sipwire::Transport;
//! use sipwire::transaction::Target;
//! use sipwire_sim::layer::{Agent, AgentConfig, Answer, Outgoing};
//! use sipwire_sim::{LinkConfig, World};
//!
//! let (a, b) = ("192.0.2.1:5060".parse()?, "192.0.2.2:5060".parse()?);
//! let mut world = World::new(7);
//! let alice = world.add_node("alice", a, Agent::new(a, AgentConfig::default().with_user("alice")));
//! let busy = Answer::new(486).with_provisional(180).after(Duration::from_secs(1));
//! let bob = world.add_node("bob", b, Agent::new(b, AgentConfig::default().with_invite(busy)));
//! world.link(alice, bob, LinkConfig::new(Duration::from_millis(20)).with_loss(0.2));
//!
//! world.with_node(alice, |agent: &mut Agent, now| {
//!     agent.schedule(now, Outgoing::invite(Target::new(b, Transport::Udp)));
//! });
//! world.drive(10_000)?;
//!
//! let call = world.node::<Agent>(alice).unwrap().client(0).unwrap();
//! assert_eq!(call.final_response().map(|(_, code)| code), Some(486));
//! assert_eq!(call.finals(), 1, "a non-2xx final reaches the TU once");
//! assert!(world.node::<Agent>(alice).unwrap().layer().is_empty());
//! assert!(world.node::<Agent>(bob).unwrap().layer().is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Sink`]: crate::script::Sink

mod agent;

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use sipwire::transaction::{TransactionLayer, TxEvent};
use sipwire::{Output, Transmit, Transport};

use crate::node::Node;

pub use agent::{Agent, AgentConfig, AgentEvent, Answer, ClientRecord, Outgoing, ServerRecord};

/// The transaction layer as a node: every input goes straight to the layer; a failed
/// transmit is reported to the transaction that sent it, if one did.
impl Node for TransactionLayer {
    type Event = TxEvent;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        Self::handle_datagram(self, now, source, transport, payload);
    }

    fn handle_send_failed(&mut self, now: Instant, transmit: &Transmit) {
        if let Some(id) = transmit.transaction {
            Self::handle_send_failed(self, now, id);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now);
    }

    fn poll_output(&mut self) -> Option<Output<TxEvent>> {
        Self::poll_output(self)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Self::poll_timeout(self)
    }
}
