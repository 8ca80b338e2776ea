//! # sipwire: sans-IO SIP
//!
//! sipwire is a SIP signalling core written as pure state machines. It opens no socket,
//! reads no clock, spawns nothing and draws no OS randomness: it consumes bytes plus `now`
//! and emits bytes to send, events and its next deadline. Same inputs, same outputs.
//!
//! Most applications use one type: [`Endpoint`], which wires the layers below into a
//! user agent (its docs show the loop). `ep.invitation(id)` returns an [`ua::Invitation`],
//! SIP.js's incoming-call API (`progress`, `accept`, `reject`, `redirect`, `bye`,
//! `dispose`) as a view borrowed from the endpoint; once answered, the same view is the
//! session: the peer's re-INVITE, UPDATE, INFO, MESSAGE, REFER and NOTIFY arrive as
//! [`ua::Event::Request`]s answered with `respond`, and `re_invite`, `update`, `info`,
//! `message`, `refer` and `notify` send ours (responses as [`ua::Event::Response`]). The
//! layers are public too, for those who build their own user agent:
//!
//! The message layer:
//!
//! - [`Message::parse`] parses a datagram once into an index over its bytes; typed accessors
//!   ([`Message::via`], [`Message::from_header`], [`Message::cseq`] …) decode on demand and
//!   return views borrowing from the message.
//! - [`StreamFramer`] frames messages on stream transports, incrementally.
//! - [`RequestBuilder`] and [`ResponseBuilder`] serialize into any [`bytes::BufMut`].
//! - [`Uri`] models `sip:`, `sips:` and `tel:` URIs with RFC 3261 §19.1.4 equality.
//!
//! The transaction layer ([`transaction`]): the four RFC 3261 §17 machines with the RFC 6026
//! corrections, and [`transaction::TransactionLayer`], which owns them, matches messages to
//! them, inserts the top Via of outgoing requests and works out where responses go. Like
//! every state machine here it follows one loop: feed inputs (`handle_*`) with `now`, then
//! drain `poll_output` (bytes to send, events for the layer above) and arm one timer for
//! `poll_timeout`:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sipwire::transaction::{LayerConfig, TransactionLayer, TxEvent};
//! use sipwire::{Output, Transport};
//!
//! # let start = Instant::now();
//! let mut layer = TransactionLayer::new(LayerConfig::default()); // seed 0: reproducible
//! let invite = include_bytes!("../tests/fixtures/bench/invite-461.sip");
//! let peer = "192.0.2.4:5060".parse().unwrap();
//! layer.handle_datagram(start, peer, Transport::Udp, invite[..].into());
//! let mut sent = Vec::new();
//! let mut now = start;
//! loop {
//!     while let Some(output) = layer.poll_output() {
//!         match output {
//!             Output::Transmit(t) => sent.push((now - start, t.payload)),
//!             Output::Event(TxEvent::Request { id, request, .. }) => {
//!                 // The TU answers Busy; the transaction retransmits it until the ACK.
//!                 layer.respond(now, id, request.reply(486).to_tag("b1"))?;
//!             }
//!             Output::Event(_) => {}
//!         }
//!     }
//!     let Some(deadline) = layer.poll_timeout() else { break };
//!     now = deadline; // a real driver sleeps until then, or until bytes arrive
//!     layer.handle_timeout(now);
//! }
//! // Timer G: 0, 0.5, 1.5, 3.5, 7.5 s, then every 4 s; Timer H ends it at 32 s.
//! assert_eq!(sent[..4].iter().map(|(t, _)| t.as_millis()).collect::<Vec<_>>(), [0, 500, 1500, 3500]);
//! assert_eq!(now - start, Duration::from_secs(32));
//! # Ok::<(), sipwire::transaction::TxError>(())
//! ```
//!
//! Peer faults never panic and never surface as anything but a [`ParseError`], which says
//! what was wrong, where, and which status a UAS answers with:
//!
//! ```
//! use sipwire::{ErrorKind, Message};
//! let err = Message::parse(&b"OPTIONS sip:a@example.com SIP/7.0\r\n\r\n"[..]).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Version);
//! assert_eq!(err.status_hint(), Some(505));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod dialog;
mod endpoint;
pub mod message;
mod rng;
pub mod transaction;
pub mod transport;
pub mod ua;

pub use endpoint::{Endpoint, Input};
pub use message::{
    BuildError, CSeq, ErrorKind, Frame, HeaderField, HeaderKey, HeaderName, IntoBuffer,
    KeepAliveRole, Limits, Message, MessageKind, Method, ParseError, ParseOptions, RAck,
    RequestBuilder, ResponseBuilder, StreamFramer, Uri,
};
pub use transaction::TransactionId;
pub use transport::{Output, Transmit, Transport};
