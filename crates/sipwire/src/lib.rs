//! # sipwire: sans-IO SIP
//!
//! sipwire is a SIP signalling core written as pure state machines. It opens no socket,
//! reads no clock, spawns nothing and draws no OS randomness: it consumes bytes plus `now`
//! and emits bytes to send, events and its next deadline. Same inputs, same outputs.
//!
//! This release holds the message layer, the foundation the transaction, dialog and
//! user-agent layers stand on:
//!
//! - [`Message::parse`] parses a datagram once into an index over its bytes; typed accessors
//!   ([`Message::via`], [`Message::from_header`], [`Message::cseq`] …) decode on demand and
//!   return views borrowing from the message.
//! - [`StreamFramer`] frames messages on stream transports, incrementally.
//! - [`RequestBuilder`] and [`ResponseBuilder`] serialize into any [`bytes::BufMut`].
//! - [`Uri`] models `sip:`, `sips:` and `tel:` URIs with RFC 3261 §19.1.4 equality.
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

pub mod message;
mod rng;
pub mod transaction;
pub mod transport;

pub use message::{
    BuildError, CSeq, ErrorKind, Frame, HeaderField, HeaderKey, HeaderName, IntoBuffer,
    KeepAliveRole, Limits, Message, MessageKind, Method, ParseError, ParseOptions, RAck,
    RequestBuilder, ResponseBuilder, StreamFramer, Uri,
};
pub use transaction::TransactionId;
pub use transport::{Output, Transmit, Transport};
