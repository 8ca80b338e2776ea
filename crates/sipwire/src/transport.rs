//! What crosses the boundary between the sans-IO core and whoever owns the sockets.
//!
//! The core never touches a socket. It hands out [`Transmit`]s (bytes plus where and how to
//! send them) through `poll_output`, and the driver hands back what arrived, with the
//! address it came from. Everything here is plain data.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::transaction::TransactionId;

/// A SIP transport protocol, as named in a Via header (RFC 3261 §18, RFC 7118).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Transport {
    /// UDP: unreliable, so the transaction layer retransmits.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket.
    Ws,
    /// Secure WebSocket.
    Wss,
}

impl Transport {
    /// Returns whether the transport delivers reliably, which turns off retransmission
    /// timers A, E and G and zeroes timers D, I, J and K (RFC 3261 §17).
    #[must_use]
    pub const fn is_reliable(self) -> bool {
        !matches!(self, Self::Udp)
    }

    /// Returns the Via spelling: `UDP`, `TCP`, `TLS`, `SCTP`, `WS` or `WSS`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Sctp => "SCTP",
            Self::Ws => "WS",
            Self::Wss => "WSS",
        }
    }

    /// Returns the transport a Via transport token names, if it is one of ours
    /// (case-insensitive).
    #[must_use]
    pub fn from_token(token: &str) -> Option<Self> {
        Some(match token.len() {
            2 if token.eq_ignore_ascii_case("WS") => Self::Ws,
            3 if token.eq_ignore_ascii_case("UDP") => Self::Udp,
            3 if token.eq_ignore_ascii_case("TCP") => Self::Tcp,
            3 if token.eq_ignore_ascii_case("TLS") => Self::Tls,
            3 if token.eq_ignore_ascii_case("WSS") => Self::Wss,
            4 if token.eq_ignore_ascii_case("SCTP") => Self::Sctp,
            _ => return None,
        })
    }

    /// Returns the default port: 5061 for TLS, 443 for WSS, 80 for WS, 5060 otherwise.
    #[must_use]
    pub const fn default_port(self) -> u16 {
        match self {
            Self::Tls => 5061,
            Self::Wss => 443,
            Self::Ws => 80,
            Self::Udp | Self::Tcp | Self::Sctp => 5060,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bytes the core wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transmit {
    /// Where to send them. For responses this is already the §18.2.2 / RFC 3581 answer
    /// (received, rport, maddr), so the driver sends exactly here.
    pub destination: SocketAddr,
    /// Over which transport. On a reliable transport the driver uses the flow the request
    /// came in on, or opens one to `destination`.
    pub transport: Transport,
    /// One whole SIP message.
    pub payload: Bytes,
    /// The transaction that sent it, to quote back if the send fails.
    pub transaction: Option<TransactionId>,
}

impl Transmit {
    /// Returns a transmit of `payload` to `destination` over `transport`.
    #[must_use]
    pub const fn new(
        destination: SocketAddr,
        transport: Transport,
        payload: Bytes,
        transaction: Option<TransactionId>,
    ) -> Self {
        Self { destination, transport, payload, transaction }
    }
}

/// What a sans-IO state machine asks its driver to do next: send bytes or tell the
/// application something. Drain with `poll_output` until it returns `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<E> {
    /// Send these bytes.
    Transmit(Transmit),
    /// Something the layer above should know.
    Event(E),
}
