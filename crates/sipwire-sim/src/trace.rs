//! The trace: everything that happened in a world, timestamped.

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use sipwire::Transport;

use crate::node::NodeId;

/// One datagram as the network saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Datagram {
    /// Numbers datagrams in the order they were sent, from 0; a link's copy of a datagram
    /// keeps the original's id.
    pub id: u64,
    /// The sending node.
    pub from: NodeId,
    /// The node at `destination`, or `None` if no node has that address.
    pub to: Option<NodeId>,
    /// The sending node's address.
    pub source: SocketAddr,
    /// Where the sender sent it.
    pub destination: SocketAddr,
    /// The transport the sender named.
    pub transport: Transport,
    /// The bytes.
    pub payload: Bytes,
    /// When it was sent.
    pub sent_at: Instant,
    /// Whether this is the extra copy a duplicating link made.
    pub duplicate: bool,
}

impl Datagram {
    /// Returns the first line of the payload for display: a request line without its
    /// `SIP/2.0`, a status line without it, `(empty)`, or `(N bytes)` for binary data.
    #[must_use]
    pub fn summary(&self) -> String {
        summary(&self.payload)
    }
}

/// Returns a one-line description of a payload (see [`Datagram::summary`]).
pub(crate) fn summary(payload: &[u8]) -> String {
    let line_end = payload.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(payload.len());
    let line = &payload[..line_end];
    if line.is_empty() {
        return if payload.is_empty() {
            "(empty)".to_owned()
        } else if payload.iter().all(|&b| b == b'\r' || b == b'\n') {
            "(keep-alive)".to_owned()
        } else {
            format!("({} bytes)", payload.len())
        };
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return format!("({} bytes)", payload.len());
    };
    if text.chars().any(char::is_control) {
        return format!("({} bytes)", payload.len());
    }
    let text = text.trim();
    if let Some(status) = text.strip_prefix("SIP/2.0 ") {
        status.to_owned()
    } else if let Some(request) = text.strip_suffix(" SIP/2.0") {
        request.to_owned()
    } else {
        text.to_owned()
    }
}

/// Why a datagram did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The link lost it (random or burst loss).
    Loss,
    /// A partition separated the two nodes, when it was sent or while it was in flight.
    Partition,
    /// A partition with [`PartitionMode::FailSends`](crate::PartitionMode::FailSends): the
    /// send failed and the sender was told. It never reached the wire.
    SendFailed,
    /// No node has the destination address.
    NoRoute,
    /// The test asked for it with [`World::drop_next`](crate::World::drop_next).
    Manual,
}

impl DropReason {
    /// Returns a short name: `lost`, `partitioned`, `send failed`, `no route` or `dropped`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Loss => "lost",
            Self::Partition => "partitioned",
            Self::SendFailed => "send failed",
            Self::NoRoute => "no route",
            Self::Manual => "dropped",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that happened, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The virtual time it happened at.
    pub at: Instant,
    /// What happened.
    pub kind: RecordKind,
}

/// What happened.
///
/// Every transmit a node produces is first [`Sent`](Self::Sent); then, sooner or later,
/// each copy of it is [`Delivered`](Self::Delivered) or [`Dropped`](Self::Dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKind {
    /// A node produced a transmit.
    Sent(Datagram),
    /// The link will deliver this datagram twice; the copy follows with `duplicate` set.
    Duplicated(Datagram),
    /// A datagram reached its node, which has handled it.
    Delivered(Datagram),
    /// A datagram was lost, and why.
    Dropped(Datagram, DropReason),
    /// A node emitted an event; `text` is its `Debug` rendering.
    Event {
        /// The node that emitted it.
        node: NodeId,
        /// The event's `Debug` rendering.
        text: String,
    },
}

impl RecordKind {
    /// Returns the datagram this record is about, if it is about one.
    #[must_use]
    pub const fn datagram(&self) -> Option<&Datagram> {
        match self {
            Self::Sent(d) | Self::Duplicated(d) | Self::Delivered(d) | Self::Dropped(d, _) => {
                Some(d)
            }
            Self::Event { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn summaries() {
        assert_eq!(
            summary(b"INVITE sip:bob@b.example SIP/2.0\r\nVia: x\r\n"),
            "INVITE sip:bob@b.example"
        );
        assert_eq!(summary(b"SIP/2.0 486 Busy Here\r\n"), "486 Busy Here");
        assert_eq!(summary(b""), "(empty)");
        assert_eq!(summary(b"\r\n\r\n"), "(keep-alive)");
        assert_eq!(summary(b"\xff\xfe\r\n"), "(4 bytes)");
        assert_eq!(summary(b"a\x01b"), "(3 bytes)");
        assert_eq!(summary(b"hello"), "hello");
    }
}
