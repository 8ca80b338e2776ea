//! The transaction layer: RFC 3261 §17 with the RFC 6026 corrections.
//!
//! One file per machine, each a transition table that reads beside its RFC figure:
//!
//! | file | machine | RFC |
//! |---|---|---|
//! | `invite_client.rs` | [`InviteClient`] | RFC 3261 fig. 5, RFC 6026 fig. 3 |
//! | `non_invite_client.rs` | [`NonInviteClient`] | RFC 3261 fig. 6 |
//! | `invite_server.rs` | [`InviteServer`] | RFC 3261 fig. 7, RFC 6026 fig. 5 |
//! | `non_invite_server.rs` | [`NonInviteServer`] | RFC 3261 fig. 8 |
//!
//! [`TransactionLayer`] owns the machines, matches incoming messages to them (§17.1.3,
//! §17.2.3), inserts the top Via of outgoing requests, and works out where responses go
//! (§18.2.2, RFC 3581).
//!
//! A machine can also run on its own. Its inputs take an [`Outbox`] it writes into, so a
//! table of a hundred thousand machines shares one queue instead of holding one each; the
//! caller drains the outbox with [`Outbox::poll_output`] and asks the machine for its next
//! deadline with `poll_timeout`.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::message::Message;
use crate::transport::{Output, Transmit, Transport};

mod invite_client;
mod invite_server;
pub(crate) mod key;
mod layer;
mod non_invite_client;
mod non_invite_server;

pub use invite_client::{InviteClient, InviteClientState};
pub use invite_server::{InviteServer, InviteServerState};
pub use layer::{IntoRequest, LayerConfig, TransactionLayer, TxState};
pub(crate) use layer::{received_params, response_target, rport_and_maddr};
pub use non_invite_client::{NonInviteClient, NonInviteClientState};
pub use non_invite_server::{NonInviteServer, NonInviteServerState};

/// Identifies one transaction in a [`TransactionLayer`]: an opaque handle, never reused
/// while the layer lives.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId {
    slot: u32,
    generation: u32,
}

impl TransactionId {
    pub(crate) const fn new(slot: u32, generation: u32) -> Self {
        Self { slot, generation }
    }

    pub(crate) const fn slot(self) -> usize {
        self.slot as usize
    }

    pub(crate) const fn generation(self) -> u32 {
        self.generation
    }

    /// The id a machine created on its own (outside a layer) reports in its events.
    pub const STANDALONE: Self = Self { slot: u32::MAX, generation: 0 };
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}.{}", self.slot, self.generation)
    }
}

/// The RFC 3261 timer values (table 4). Everything else is derived from these exactly as
/// §17 says, depending on whether the transport is reliable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timers {
    /// T1, the round-trip estimate: 500 ms.
    pub t1: Duration,
    /// T2, the cap on non-INVITE request and INVITE response retransmission: 4 s.
    pub t2: Duration,
    /// T4, how long a message may stay in the network: 5 s.
    pub t4: Duration,
    /// Timer D on unreliable transports: 32 s (at least 32 s, §17.1.1.2).
    pub timer_d: Duration,
    /// How long an INVITE server waits for its TU before sending 100 Trying itself: 200 ms
    /// (§17.2.1).
    pub trying: Duration,
    /// How long an INVITE client waits in Proceeding for a final response: 180 s. RFC 3261
    /// leaves this to the TU (timer C, §16.6, is the proxy's); a bound keeps memory bounded
    /// when a peer never answers and the TU never cancels.
    pub timer_c: Duration,
}

impl Timers {
    /// T1 500 ms, T2 4 s, T4 5 s, D 32 s, 100 Trying after 200 ms, C 180 s.
    pub const DEFAULT: Self = Self {
        t1: Duration::from_millis(500),
        t2: Duration::from_secs(4),
        t4: Duration::from_secs(5),
        timer_d: Duration::from_secs(32),
        trying: Duration::from_millis(200),
        timer_c: Duration::from_secs(180),
    };

    /// 64·T1: timers B, F, H, L, M, and J on unreliable transports.
    #[must_use]
    pub fn t1x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer D: `timer_d` unreliable, zero reliable.
    #[must_use]
    pub fn d(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.timer_d }
    }

    /// Timers I and K: T4 unreliable, zero reliable.
    #[must_use]
    pub fn t4_unless(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t4 }
    }

    /// Timer J: 64·T1 unreliable, zero reliable.
    #[must_use]
    pub fn j(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t1x64() }
    }
}

impl Default for Timers {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The RFC names of the transaction timers, as reported in events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// INVITE client request retransmission.
    A,
    /// INVITE client transaction timeout.
    B,
    /// INVITE client Proceeding bound (see [`Timers::timer_c`]).
    C,
    /// INVITE client wait time for response retransmissions.
    D,
    /// Non-INVITE client request retransmission.
    E,
    /// Non-INVITE client transaction timeout.
    F,
    /// INVITE server response retransmission.
    G,
    /// INVITE server wait time for ACK.
    H,
    /// INVITE server wait time for ACK retransmissions.
    I,
    /// Non-INVITE server wait time for request retransmissions.
    J,
    /// Non-INVITE client wait time for response retransmissions.
    K,
    /// INVITE server wait time for INVITE retransmissions after a 2xx (RFC 6026).
    L,
    /// INVITE client wait time for 2xx retransmissions (RFC 6026).
    M,
    /// INVITE server: the TU has not answered, send 100 Trying (§17.2.1).
    Trying,
}

/// Where and how a transaction sends: the peer's address and the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// The address.
    pub addr: SocketAddr,
    /// The transport.
    pub transport: Transport,
}

impl Target {
    /// Returns a target.
    #[must_use]
    pub const fn new(addr: SocketAddr, transport: Transport) -> Self {
        Self { addr, transport }
    }

    pub(crate) const fn transmit(self, payload: Bytes, id: TransactionId) -> Transmit {
        Transmit::new(self.addr, self.transport, payload, Some(id))
    }
}

/// What the transaction layer tells its transaction user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxEvent {
    /// A new request created server transaction `id`. Answer it with
    /// [`TransactionLayer::respond`].
    Request {
        /// The new server transaction.
        id: TransactionId,
        /// The request, with `received`/`rport` already added to its top Via where
        /// §18.2.1 and RFC 3581 ask, so responses built from it copy them. Boxed, like every
        /// message in an event, so that outputs stay small to queue and move.
        request: Box<Message>,
        /// Where it came from.
        source: SocketAddr,
        /// The transport it came over.
        transport: Transport,
        /// For a CANCEL: the INVITE server transaction it cancels (§9.2), if one matches.
        cancels: Option<TransactionId>,
        /// A live server transaction with the same From tag, Call-ID and CSeq but another
        /// branch: this request is a merged copy (§8.2.2.2) and the TU should answer 482.
        merged_with: Option<TransactionId>,
    },
    /// An ACK for the TU: for a 2xx (`id` is the INVITE server transaction in Accepted), or
    /// one that matched no transaction (`id` is `None`) — a 2xx's ACK is a transaction of
    /// its own (§17.1.1.3), so the TU matches it to its dialog.
    Ack {
        /// The INVITE server transaction the ACK matched, if any.
        id: Option<TransactionId>,
        /// The ACK.
        request: Box<Message>,
        /// Where it came from.
        source: SocketAddr,
        /// The transport it came over.
        transport: Transport,
    },
    /// A response for client transaction `id`: provisional, the 2xx (and each
    /// retransmitted 2xx while in Accepted: the TU re-ACKs), or the first non-2xx final.
    Response {
        /// The client transaction.
        id: TransactionId,
        /// The response.
        response: Box<Message>,
    },
    /// Timer B, F, H or C fired: the transaction failed and is terminated.
    Timeout {
        /// The transaction.
        id: TransactionId,
        /// Which timer.
        timer: Timer,
    },
    /// A send failed. A client transaction is terminated (§17.1.4); a server transaction
    /// keeps its state (RFC 6026 §7.1).
    TransportError {
        /// The transaction.
        id: TransactionId,
    },
    /// The transaction reached Terminated and is gone.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
    /// A message no transaction or TU gets, and why.
    Discarded {
        /// Why.
        reason: Discard,
        /// Where it came from.
        source: SocketAddr,
    },
}

/// Why the layer discarded a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discard {
    /// The bytes are not a SIP message; the error says what and where.
    Unparseable(crate::ParseError),
    /// The top Via or the CSeq is unreadable, so the message cannot be matched.
    Unmatchable,
    /// A response that matches no client transaction (§17.1.3).
    StrayResponse,
    /// A response with more than one Via, or whose top Via we did not write (§18.1.2).
    NotForUs,
    /// A CANCEL that matches no INVITE server transaction; it was answered 481 (§9.2).
    UnmatchedCancel,
    /// An ACK for a server transaction still waiting for its final response.
    AckBeforeFinal,
    /// The table is full; the request was answered 503 with Retry-After.
    Overloaded,
    /// An ACK that matches no dialog (the user-agent core's verdict; the layer passes
    /// every unmatched ACK up).
    NoDialog,
    /// An ACK in a dialog whose CSeq is not the INVITE's it should acknowledge.
    AckMismatch,
}

/// Why a command to a transaction was refused: always a caller mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// No live transaction has this id (it terminated, or never existed).
    #[error("no such transaction")]
    NoSuchTransaction,
    /// A response for a client transaction, or a CANCEL for a server one.
    #[error("wrong kind of transaction for this call")]
    WrongKind,
    /// A status code outside 100–699.
    #[error("status code outside 100-699")]
    StatusCode,
    /// The transaction already sent its final response.
    #[error("final response already sent")]
    FinalSent,
    /// A non-2xx after a 2xx on an INVITE server transaction.
    #[error("a non-2xx response after the 2xx")]
    AfterAccept,
    /// A CANCEL before any provisional response (§9.1: wait for one).
    #[error("no provisional response yet: CANCEL must wait for one")]
    NoProvisional,
    /// The INVITE already has a final response; there is nothing to cancel.
    #[error("the INVITE is already answered")]
    AlreadyAnswered,
    /// The request is not a request, is an ACK (not a transaction), or its method does not
    /// fit the call.
    #[error("not a request this call can send")]
    NotARequest,
    /// The configured transaction limit is reached.
    #[error("transaction table full")]
    TableFull,
    /// The response could not be serialized.
    #[error(transparent)]
    Build(#[from] crate::BuildError),
}

/// The queue a machine writes its outputs into; drain it with [`Outbox::poll_output`].
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Output<TxEvent>>,
    retransmissions: u64,
}

impl Outbox {
    /// Returns an empty outbox.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the next output, oldest first.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output<TxEvent>> {
        self.queue.pop_front()
    }

    /// Returns how many outputs are waiting.
    #[must_use]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Returns whether no output is waiting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn transmit(&mut self, transmit: Transmit) {
        self.queue.push_back(Output::Transmit(transmit));
    }

    /// Queues a message sent before, counting it in [`retransmissions`](Self::retransmissions).
    pub(crate) fn retransmit(&mut self, transmit: Transmit) {
        self.retransmissions += 1;
        self.transmit(transmit);
    }

    /// Returns how many messages were sent again: on a timer (A, E, G) or because the
    /// peer retransmitted (a request's last response, a non-2xx's ACK).
    #[must_use]
    pub const fn retransmissions(&self) -> u64 {
        self.retransmissions
    }

    pub(crate) fn event(&mut self, event: TxEvent) {
        self.queue.push_back(Output::Event(event));
    }
}

/// A response handed to a server transaction: its status code and its bytes.
pub trait IntoResponse {
    /// Returns the status code and the serialized response.
    ///
    /// # Errors
    /// The response cannot be serialized, or is not a response.
    fn into_response(self) -> Result<(u16, Bytes), TxError>;
}

impl IntoResponse for crate::ResponseBuilder<'_> {
    fn into_response(self) -> Result<(u16, Bytes), TxError> {
        (&self).into_response()
    }
}

impl IntoResponse for &crate::ResponseBuilder<'_> {
    fn into_response(self) -> Result<(u16, Bytes), TxError> {
        // Measured first, so the buffer the transaction keeps has no slack.
        let mut buf = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut buf)?;
        Ok((self.code(), Bytes::from(buf)))
    }
}

impl IntoResponse for (u16, Bytes) {
    /// A response already serialized, with its status code: how a TU retransmits a 2xx or
    /// a reliable provisional without building it again.
    fn into_response(self) -> Result<(u16, Bytes), TxError> {
        class(self.0)?;
        Ok(self)
    }
}

impl IntoResponse for Message {
    fn into_response(self) -> Result<(u16, Bytes), TxError> {
        let code = self.status().ok_or(TxError::StatusCode)?;
        Ok((code, self.to_bytes()))
    }
}

impl IntoResponse for &Message {
    fn into_response(self) -> Result<(u16, Bytes), TxError> {
        let code = self.status().ok_or(TxError::StatusCode)?;
        Ok((code, self.to_bytes()))
    }
}

/// The deadline slots a machine uses: one retransmission timer (A, E, G, or the 100 Trying
/// wait) with its current interval, and one lifetime timer (B, C, D, F, H, I, J, K, L or
/// M). Which RFC timer a slot holds follows from the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slots {
    pub(crate) retransmit: Option<Instant>,
    pub(crate) interval: Duration,
    pub(crate) lifetime: Option<Instant>,
}

impl Slots {
    pub(crate) fn next(&self) -> Option<Instant> {
        match (self.retransmit, self.lifetime) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Arms the retransmission slot. A zero interval (T1 or T2 configured as zero) is taken
    /// as 1 ms: a timer due at `now` would fire again in the same `handle_timeout`, forever.
    pub(crate) fn start_retransmit(&mut self, now: Instant, interval: Duration) {
        self.interval = interval.max(MIN_INTERVAL);
        self.retransmit = now.checked_add(self.interval);
    }

    pub(crate) fn start_lifetime(&mut self, now: Instant, after: Duration) {
        self.lifetime = now.checked_add(after);
    }

    /// Brings the lifetime deadline forward to `now + after` if that is sooner.
    pub(crate) fn shorten_lifetime(&mut self, now: Instant, after: Duration) {
        let at = now.checked_add(after);
        self.lifetime = match (self.lifetime, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// Which slot is due at `now`: the retransmission one first, so that a retransmission
    /// due at the same instant as the timeout still goes out in order.
    pub(crate) fn due(&self, now: Instant) -> Option<SlotKind> {
        if self.retransmit.is_some_and(|t| t <= now) {
            Some(SlotKind::Retransmit)
        } else if self.lifetime.is_some_and(|t| t <= now) {
            Some(SlotKind::Lifetime)
        } else {
            None
        }
    }

    pub(crate) fn clear(&mut self) {
        self.retransmit = None;
        self.lifetime = None;
    }
}

/// The shortest retransmission interval a machine arms.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotKind {
    Retransmit,
    Lifetime,
}

/// The class of a final or provisional status code, as the figures use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Provisional,
    Success,
    Failure,
}

pub(crate) fn class(code: u16) -> Result<Class, TxError> {
    match code {
        100..=199 => Ok(Class::Provisional),
        200..=299 => Ok(Class::Success),
        300..=699 => Ok(Class::Failure),
        _ => Err(TxError::StatusCode),
    }
}
