//! # sipwire-sim: a deterministic network for sans-IO SIP
//!
//! A [`World`] holds [`Node`]s — anything with the sans-IO shape of the `sipwire` core:
//! `handle_datagram`, `handle_timeout`, `poll_output`, `poll_timeout` — at network
//! addresses, joined by links that delay, lose, duplicate and reorder datagrams. Time is
//! virtual: it starts at [`World::start`] and only moves when the world steps, straight to
//! the next delivery or deadline. A 32-second timer costs nothing to wait for.
//!
//! ## The run loop
//!
//! [`World::step`] drains every node's outputs, jumps the clock to the earliest of (next
//! delivery, next node deadline), delivers every datagram due then, and fires
//! `handle_timeout` on every node whose deadline has come. After every input to a node the
//! world drains that node's `poll_output` until `None`: transmits go onto their links,
//! events into the trace. On top of `step`: [`World::run_until`], [`World::run_for`] and
//! [`World::drive`] (run until idle, with a bound). A test acts on a node from outside with
//! [`World::with_node`], which drains the node afterwards.
//!
//! ## Determinism
//!
//! Everything random comes from the seed given to [`World::new`]; each direction of each
//! link draws from its own stream, derived from the seed and the two addresses. Datagrams
//! due at the same instant are delivered in the order they were queued. Nothing reads the
//! wall clock but the one reading [`World::start`] is made of, which no result depends on.
//! So the same seed and the same nodes give the same [`trace`](World::trace), the same
//! [`ladder`](World::ladder) and the same [`pcap`](World::pcap), on every run. Print the
//! seed when a seeded test fails and the failure can be replayed.
//!
//! ## The real transaction layer
//!
//! [`layer`] makes `sipwire`'s [`TransactionLayer`](sipwire::transaction::TransactionLayer)
//! a node as it is, and wraps it in [`layer::Agent`], a simple transaction user that
//! answers, ACKs, CANCELs and records what reached it — so that whole exchanges between
//! real layers can run over lossy links and be checked against RFC 3261 and RFC 6026. The
//! [`script`] nodes stay for the other side of one-sided tests: a silent [`Sink`](script::Sink),
//! a [`Scripted`](script::Scripted) peer.
//!
//! ## Seeing what happened
//!
//! [`World::trace`] lists every datagram sent, delivered and dropped (with a
//! [`DropReason`]) and every event, timestamped. [`World::ladder`] draws it as a text
//! ladder diagram, [`World::pcap`] as a capture for Wireshark.
//!
//! ## Example
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use sipwire::Transport;
//! use sipwire_sim::{LinkConfig, World, script::{Scripted, Sink}};
//!
//! let mut world = World::new(42);
//! let alice = world.add_node("alice", "192.0.2.1:5060".parse()?, Sink::new());
//! let bob = world.add_node("bob", "192.0.2.2:5060".parse()?, Scripted::responder(&[200]));
//! world.link(alice, bob, LinkConfig::new(Duration::from_millis(30)));
//!
//! let options = "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8\r\n\
//!     From: <sip:alice@192.0.2.1>;tag=1928301774\r\nTo: <sip:bob@192.0.2.2>\r\n\
//!     Call-ID: a84b4c76e66710\r\nCSeq: 63104 OPTIONS\r\nMax-Forwards: 70\r\n\
//!     Content-Length: 0\r\n\r\n";
//! world.with_node(alice, |sink: &mut Sink, _now| {
//!     sink.send("192.0.2.2:5060".parse().unwrap(), Transport::Udp, Bytes::from(options));
//! });
//! world.drive(1_000)?;
//!
//! assert_eq!(world.elapsed(), Duration::from_millis(60));
//! let answer = world.node::<Sink>(alice).unwrap().received()[0].message().unwrap();
//! assert_eq!(answer.status(), Some(200));
//! print!("{}", world.ladder());
//! let capture = world.pcap(); // open in Wireshark: two SIP packets
//! assert_eq!(&capture[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod endpoint;
mod ladder;
pub mod layer;
mod link;
mod node;
mod pcap;
mod rng;
pub mod script;
mod trace;
mod world;

pub use link::{Burst, LinkConfig, PartitionMode};
pub use node::{Node, NodeEvent, NodeId};
pub use rng::Rng;
pub use trace::{Datagram, DropReason, Record, RecordKind};
pub use world::{NotIdle, World};
