//! The table that owns the transactions and routes inputs to them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use hashbrown::HashTable;

use super::key::{self, KeyHasher, Material};
use super::{
    Discard, IntoResponse, InviteClient, InviteClientState, InviteServer, InviteServerState,
    NonInviteClient, NonInviteClientState, NonInviteServer, NonInviteServerState, Outbox, Target,
    Timers, TransactionId, TxError, TxEvent,
};
use crate::message::{HeaderName, Message, Method, ParseOptions, RequestBuilder, Via};
use crate::rng::Rng;
use crate::transport::{Output, Transmit, Transport};

/// How a [`TransactionLayer`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LayerConfig {
    /// T1, T2, T4 and the derived timers.
    pub timers: Timers,
    /// Most live transactions; a new request beyond it is answered 503 statelessly.
    pub max_transactions: usize,
    /// The Retry-After, in seconds, of that 503.
    pub retry_after: u32,
    /// Seeds branches and the table's hash keys: same seed, same bytes out.
    pub seed: u64,
    /// How [`TransactionLayer::handle_datagram`] parses. The default checks framing and
    /// the start line only: the layer decodes just what it matches on (top Via, CSeq), and
    /// leaves judging the rest to its TU.
    pub parse: ParseOptions,
}

impl LayerConfig {
    /// RFC timers, 65 536 transactions, Retry-After 5 s, seed 0, lenient parsing.
    pub const DEFAULT: Self = Self {
        timers: Timers::DEFAULT,
        max_transactions: 65_536,
        retry_after: 5,
        seed: 0,
        parse: ParseOptions { validate: false, ..ParseOptions::DEFAULT },
    };
}

impl Default for LayerConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The state of a live transaction, whichever machine it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TxState {
    /// An INVITE client transaction.
    InviteClient(InviteClientState),
    /// A non-INVITE client transaction.
    NonInviteClient(NonInviteClientState),
    /// An INVITE server transaction.
    InviteServer(InviteServerState),
    /// A non-INVITE server transaction.
    NonInviteServer(NonInviteServerState),
}

#[derive(Debug)]
enum Machine {
    InviteClient(InviteClient),
    NonInviteClient(NonInviteClient),
    InviteServer(InviteServer),
    NonInviteServer(NonInviteServer),
}

impl Machine {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Self::InviteClient(m) => m.poll_timeout(),
            Self::NonInviteClient(m) => m.poll_timeout(),
            Self::InviteServer(m) => m.poll_timeout(),
            Self::NonInviteServer(m) => m.poll_timeout(),
        }
    }

    fn is_terminated(&self) -> bool {
        match self {
            Self::InviteClient(m) => m.is_terminated(),
            Self::NonInviteClient(m) => m.is_terminated(),
            Self::InviteServer(m) => m.is_terminated(),
            Self::NonInviteServer(m) => m.is_terminated(),
        }
    }

    fn state(&self) -> TxState {
        match self {
            Self::InviteClient(m) => TxState::InviteClient(m.state()),
            Self::NonInviteClient(m) => TxState::NonInviteClient(m.state()),
            Self::InviteServer(m) => TxState::InviteServer(m.state()),
            Self::NonInviteServer(m) => TxState::NonInviteServer(m.state()),
        }
    }

    fn handle_timeout(&mut self, now: Instant, timers: &Timers, out: &mut Outbox) {
        match self {
            Self::InviteClient(m) => m.handle_timeout(now, timers, out),
            Self::NonInviteClient(m) => m.handle_timeout(now, timers, out),
            Self::InviteServer(m) => m.handle_timeout(now, timers, out),
            Self::NonInviteServer(m) => m.handle_timeout(now, out),
        }
    }

    fn handle_send_failed(&mut self, out: &mut Outbox) {
        match self {
            Self::InviteClient(m) => m.handle_send_failed(out),
            Self::NonInviteClient(m) => m.handle_send_failed(out),
            Self::InviteServer(m) => m.handle_send_failed(out),
            Self::NonInviteServer(m) => m.handle_send_failed(out),
        }
    }
}

#[derive(Debug)]
struct Entry {
    /// The matching key, followed by the merged-request key when there is one.
    material: Material,
    key_len: u16,
    hash: u64,
    merge_hash: Option<u64>,
    /// The deadline the heap holds for this entry; heap items that disagree are stale.
    armed: Option<Instant>,
    machine: Machine,
}

impl Entry {
    fn key(&self) -> &[u8] {
        self.material.get(..usize::from(self.key_len)).unwrap_or_default()
    }

    fn merge_key(&self) -> &[u8] {
        self.material.get(usize::from(self.key_len)..).unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// Owns every transaction, matches messages to them and drives their timers.
///
/// Its methods fall into quinn-proto's four kinds:
///
/// - inputs: [`handle_datagram`](Self::handle_datagram) or
///   [`handle_message`](Self::handle_message), [`handle_timeout`](Self::handle_timeout),
///   [`handle_send_failed`](Self::handle_send_failed);
/// - commands from the transaction user: [`send_request`](Self::send_request),
///   [`send_ack`](Self::send_ack), [`cancel`](Self::cancel), [`respond`](Self::respond);
/// - outputs: [`poll_output`](Self::poll_output) (drain it after every input and command)
///   and [`poll_timeout`](Self::poll_timeout);
/// - getters: [`len`](Self::len), [`state`](Self::state).
///
/// ```
/// use std::time::{Duration, Instant};
/// use sipwire::transaction::{LayerConfig, Target, TransactionLayer, TxEvent};
/// use sipwire::{Output, Transport};
///
/// let now = Instant::now();
/// let mut layer = TransactionLayer::new(LayerConfig::default());
/// let invite = include_bytes!("../../tests/fixtures/bench/invite-461.sip");
/// let peer = "192.0.2.4:5060".parse().unwrap();
/// layer.handle_datagram(now, peer, Transport::Udp, invite[..].into());
/// let Some(Output::Event(TxEvent::Request { id, request, .. })) = layer.poll_output() else {
///     panic!("the INVITE reaches the TU")
/// };
/// layer.respond(now, id, request.reply(180).to_tag("a1"))?;
/// let Some(Output::Transmit(ringing)) = layer.poll_output() else { panic!() };
/// assert!(ringing.payload.starts_with(b"SIP/2.0 180 Ringing"));
/// assert_eq!(layer.poll_timeout(), None, "Proceeding waits for the TU");
/// # Ok::<(), sipwire::transaction::TxError>(())
/// ```
#[derive(Debug)]
pub struct TransactionLayer {
    config: LayerConfig,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    index: HashTable<u32>,
    merged: HashTable<u32>,
    heap: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    out: Outbox,
    rng: Rng,
    hasher: KeyHasher,
    scratch: Material,
}

impl TransactionLayer {
    /// Returns an empty layer.
    #[must_use]
    pub fn new(config: LayerConfig) -> Self {
        let mut rng = Rng::new(config.seed);
        let hasher = KeyHasher::new([rng.next_u64(), rng.next_u64(), rng.next_u64()]);
        Self {
            config,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            index: HashTable::new(),
            merged: HashTable::new(),
            heap: BinaryHeap::new(),
            out: Outbox::new(),
            rng,
            hasher,
            scratch: Material::new(),
        }
    }

    /// Returns the configuration.
    #[must_use]
    pub const fn config(&self) -> &LayerConfig {
        &self.config
    }

    /// Returns how many transactions are live.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.live
    }

    /// Returns how many messages the layer and its transaction users sent again (timers
    /// A, E and G, answers to a peer's retransmissions, and a TU's 2xx and reliable
    /// provisional retransmissions).
    #[must_use]
    pub const fn retransmissions(&self) -> u64 {
        self.out.retransmissions()
    }

    /// Counts a retransmission a transaction user makes through [`respond`](Self::respond).
    pub(crate) const fn count_retransmission(&mut self) {
        self.out.retransmissions += 1;
    }

    /// Returns whether no transaction is live.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Returns the state of transaction `id`, or `None` once it has terminated.
    #[must_use]
    pub fn state(&self, id: TransactionId) -> Option<TxState> {
        self.entry(id).map(|e| e.machine.state())
    }

    /// Returns the next output: a [`Transmit`] or a [`TxEvent`]. Drain until `None` after
    /// every input and command.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output<TxEvent>> {
        self.out.poll_output()
    }

    /// Returns the earliest deadline of any transaction.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, ..))| *t)
    }

    /// Takes bytes that arrived from `source` over `transport`. Bytes that do not parse
    /// are reported as [`Discard::Unparseable`].
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        match Message::parse_with(payload, &self.config.parse) {
            Ok(message) => self.handle_message(now, message, source, transport),
            Err(e) => {
                self.out.event(TxEvent::Discarded { reason: Discard::Unparseable(e), source });
            }
        }
    }

    /// Takes a parsed message that arrived from `source` over `transport`.
    pub fn handle_message(
        &mut self,
        now: Instant,
        message: Message,
        source: SocketAddr,
        transport: Transport,
    ) {
        if message.is_request() {
            self.on_request(now, message, source, transport);
        } else {
            self.on_response(now, message, source);
        }
        self.clean_heap();
    }

    /// Fires every timer due at `now`. Calling it early, or twice, does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((at, slot, generation))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            let timers = self.config.timers;
            let Some(e) = entry_mut(&mut self.slots, slot, generation) else { continue };
            if e.armed != Some(at) {
                continue;
            }
            e.armed = None;
            e.machine.handle_timeout(now, &timers, &mut self.out);
            self.settle(slot);
        }
        self.clean_heap();
    }

    /// A transmit of transaction `id` could not be sent: clients terminate (§17.1.4),
    /// servers keep their state (RFC 6026 §7.1); the TU hears of it either way. An unknown
    /// or finished transaction is ignored.
    pub fn handle_send_failed(&mut self, now: Instant, id: TransactionId) {
        let _ = now;
        if let Some(e) = entry_mut(&mut self.slots, id.slot, id.generation) {
            e.machine.handle_send_failed(&mut self.out);
            self.settle(id.slot);
        }
        self.clean_heap();
    }

    /// Sends `request` in a new client transaction to `target`, with a top Via for
    /// `target.transport` and `sent_by` (`host[:port]`), a fresh `z9hG4bK` branch and
    /// `rport` (RFC 3581).
    ///
    /// # Errors
    /// [`TxError::NotARequest`] for an ACK (use [`send_ack`](Self::send_ack)) or a CANCEL
    /// (use [`cancel`](Self::cancel)), [`TxError::TableFull`], or a build error (also for a
    /// `sent_by` that is not a host and port).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: impl IntoRequest,
        target: Target,
        sent_by: &str,
    ) -> Result<TransactionId, TxError> {
        let method = request.method().ok_or(TxError::NotARequest)?.clone();
        if matches!(method, Method::Ack | Method::Cancel) {
            return Err(TxError::NotARequest);
        }
        if self.live >= self.config.max_transactions {
            return Err(TxError::TableFull);
        }
        let (line, branch_at) = self.via_line(target.transport, sent_by)?;
        let mut buf = Vec::new();
        request.write_request(&line, &mut buf)?;
        let branch = line.get(branch_at..branch_at + BRANCH_LEN).unwrap_or_default();
        let branch = std::str::from_utf8(branch).unwrap_or_default();
        let id = self.start_client(now, &method, branch, Bytes::from(buf), target);
        self.clean_heap();
        Ok(id)
    }

    /// Sends the ACK for a 2xx (a transaction of its own, §17.1.1.3 and §13.2.2.4): a top
    /// Via with a fresh branch is added and the ACK goes out once, with no transaction.
    ///
    /// # Errors
    /// [`TxError::NotARequest`] if `request` is not an ACK, or a build error.
    pub fn send_ack(
        &mut self,
        request: impl IntoRequest,
        target: Target,
        sent_by: &str,
    ) -> Result<(), TxError> {
        self.send_ack_bytes(request, target, sent_by).map(drop)
    }

    /// [`send_ack`](Self::send_ack), returning the bytes sent, for the TU to send again
    /// when the 2xx is retransmitted.
    pub(crate) fn send_ack_bytes(
        &mut self,
        request: impl IntoRequest,
        target: Target,
        sent_by: &str,
    ) -> Result<Bytes, TxError> {
        if request.method() != Some(&Method::Ack) {
            return Err(TxError::NotARequest);
        }
        let (line, _) = self.via_line(target.transport, sent_by)?;
        let mut buf = Vec::new();
        request.write_request(&line, &mut buf)?;
        let bytes = Bytes::from(buf);
        self.out.transmit(Transmit::new(target.addr, target.transport, bytes.clone(), None));
        Ok(bytes)
    }

    /// Sends `bytes` (an ACK the TU sent before) again to `target`, counted as a
    /// retransmission.
    pub(crate) fn resend(&mut self, target: Target, bytes: Bytes) {
        self.out.retransmit(Transmit::new(target.addr, target.transport, bytes, None));
    }

    /// Cancels the INVITE of client transaction `invite` (§9.1): builds the CANCEL (same
    /// Request-URI, Call-ID, From, To, CSeq number, top Via and Route) and sends it in a
    /// non-INVITE client transaction of its own, whose id is returned.
    ///
    /// # Errors
    /// [`TxError::NoSuchTransaction`], [`TxError::WrongKind`] for anything but an INVITE
    /// client, [`TxError::NoProvisional`] before the first provisional response (§9.1 says
    /// wait), [`TxError::AlreadyAnswered`] after a final one, or [`TxError::TableFull`].
    pub fn cancel(
        &mut self,
        now: Instant,
        invite: TransactionId,
    ) -> Result<TransactionId, TxError> {
        let e = self.entry(invite).ok_or(TxError::NoSuchTransaction)?;
        let Machine::InviteClient(m) = &e.machine else { return Err(TxError::WrongKind) };
        match m.state() {
            InviteClientState::Proceeding => {}
            InviteClientState::Calling => return Err(TxError::NoProvisional),
            _ => return Err(TxError::AlreadyAnswered),
        }
        if self.live >= self.config.max_transactions {
            return Err(TxError::TableFull);
        }
        let target = m.target();
        let lenient = ParseOptions { validate: false, ..ParseOptions::DEFAULT };
        let inv =
            Message::parse_with(m.request().clone(), &lenient).map_err(|_| TxError::NotARequest)?;
        let via = inv.top_via().map_err(|_| TxError::NotARequest)?;
        let branch = via.branch().ok_or(TxError::NotARequest)?;
        let header = |name| inv.header(name).ok_or(TxError::NotARequest);
        let mut cancel = RequestBuilder::new(
            &Method::Cancel,
            inv.request_uri_str().unwrap_or_default(),
        )
        .header(HeaderName::Via, inv.header_values(HeaderName::Via).next().unwrap_or_default());
        for route in inv.header_lines(HeaderName::Route) {
            cancel = cancel.header(HeaderName::Route, route);
        }
        cancel = cancel
            .header(HeaderName::From, header(HeaderName::From)?)
            .header(HeaderName::To, header(HeaderName::To)?)
            .header(HeaderName::CallId, header(HeaderName::CallId)?)
            .cseq(inv.cseq().map_err(|_| TxError::NotARequest)?.seq, &Method::Cancel)
            .max_forwards(70);
        let mut buf = Vec::new();
        cancel.write_to(&mut buf)?;
        let id = self.start_client(now, &Method::Cancel, branch, Bytes::from(buf), target);
        let timers = self.config.timers;
        if let Some(e) = entry_mut(&mut self.slots, invite.slot, invite.generation)
            && let Machine::InviteClient(m) = &mut e.machine
        {
            m.cancelled(now, &timers);
            self.settle(invite.slot);
        }
        self.clean_heap();
        Ok(id)
    }

    /// Sends the TU's response on server transaction `id`.
    ///
    /// # Errors
    /// [`TxError::NoSuchTransaction`], [`TxError::WrongKind`] for a client transaction,
    /// or the machine's refusal (a second final response, a bad status code…).
    pub fn respond(
        &mut self,
        now: Instant,
        id: TransactionId,
        response: impl IntoResponse,
    ) -> Result<(), TxError> {
        let timers = self.config.timers;
        let out = &mut self.out;
        let e = self
            .slots
            .get_mut(id.slot())
            .filter(|s| s.generation == id.generation())
            .and_then(|s| s.entry.as_mut())
            .ok_or(TxError::NoSuchTransaction)?;
        let result = match &mut e.machine {
            Machine::InviteServer(m) => m.respond(now, response, &timers, out),
            Machine::NonInviteServer(m) => m.respond(now, response, &timers, out),
            _ => Err(TxError::WrongKind),
        };
        self.settle(id.slot);
        self.clean_heap();
        result
    }

    /// Ends non-INVITE server transaction `id` at once if it has sent its final response,
    /// rather than keeping it for Timer J (RFC 3261 §8.2.7: a UAS may answer statelessly
    /// under load). Anything else is left alone.
    pub(crate) fn forget(&mut self, id: TransactionId) {
        let out = &mut self.out;
        if let Some(Machine::NonInviteServer(m)) = self
            .slots
            .get_mut(id.slot())
            .filter(|s| s.generation == id.generation())
            .and_then(|s| s.entry.as_mut())
            .map(|e| &mut e.machine)
        {
            m.forget(out);
        }
        self.settle(id.slot);
        self.clean_heap();
    }

    fn on_request(
        &mut self,
        now: Instant,
        request: Message,
        source: SocketAddr,
        transport: Transport,
    ) {
        let Some(method) = request.method().cloned() else { return };
        let Ok(via) = request.top_via() else {
            return self.discard(Discard::Unmatchable, source);
        };
        let mut material = std::mem::take(&mut self.scratch);
        if key::server(&request, &via, &method, &mut material).is_none() {
            self.scratch = material;
            return self.discard(Discard::Unmatchable, source);
        }
        let hash = self.hasher.hash(&material);
        let found = self.find(hash, &material);
        let timers = self.config.timers;
        if let Some(slot) = found {
            self.scratch = material;
            let out = &mut self.out;
            if let Some(e) = self.slots.get_mut(slot as usize).and_then(|s| s.entry.as_mut()) {
                match &mut e.machine {
                    Machine::InviteServer(m) => {
                        m.handle_request(now, &request, source, &timers, out)
                    }
                    Machine::NonInviteServer(m) if method != Method::Ack => m.handle_request(out),
                    _ => {}
                }
            }
            return self.settle(slot);
        }
        if method == Method::Ack {
            self.scratch = material;
            return self.out.event(TxEvent::Ack {
                id: None,
                request: Box::new(request),
                source,
                transport,
            });
        }
        let (rport, maddr) = rport_and_maddr(&via);
        let target = response_target(&via, rport, maddr, source, transport);
        if self.live >= self.config.max_transactions {
            self.scratch = material;
            self.overloaded(&request, target);
            return self.discard(Discard::Overloaded, source);
        }
        let (received, rport) = received_params(&via, rport, source, transport);
        let cancels = if method == Method::Cancel {
            let mut target_key = Material::new();
            key::server(&request, &via, &Method::Invite, &mut target_key)
                .and_then(|()| self.find(self.hasher.hash(&target_key), &target_key))
                .and_then(|slot| self.id_of(slot))
                .filter(|id| matches!(self.state(*id), Some(TxState::InviteServer(_))))
        } else {
            None
        };
        let key_len = u16::try_from(material.len()).unwrap_or(u16::MAX);
        let has_to_tag = request.to_tag().is_ok_and(|t| t.is_some());
        let (merged_with, merge_hash) = if has_to_tag {
            (None, None)
        } else {
            let mut merge = Material::new();
            match key::merge(&request, &mut merge) {
                Some(()) => {
                    let h = self.hasher.hash(&merge);
                    let found = self.find_merged(h, &merge).and_then(|s| self.id_of(s));
                    material.extend_from_slice(&merge);
                    (found, Some(h))
                }
                None => (None, None),
            }
        };
        let request = match received {
            Some(ip) => request.with_top_via_params(Some(ip), rport).unwrap_or(request),
            None => request,
        };
        let (slot, generation) = self.alloc();
        let id = TransactionId::new(slot, generation);
        let machine = if method == Method::Invite {
            Machine::InviteServer(InviteServer::new(id, now, &request, target, &timers))
        } else {
            Machine::NonInviteServer(NonInviteServer::new(id, target))
        };
        self.insert(slot, Entry { material, key_len, hash, merge_hash, armed: None, machine });
        if method == Method::Cancel && cancels.is_none() {
            // §9.2: no transaction to cancel; answer 481 from the CANCEL's own transaction
            // so that its retransmissions are absorbed.
            let tag = self.tag();
            let _ = self.respond(now, id, request.reply(481).to_tag(&tag));
            return self.discard(Discard::UnmatchedCancel, source);
        }
        self.out.event(TxEvent::Request {
            id,
            request: Box::new(request),
            source,
            transport,
            cancels,
            merged_with,
        });
        self.settle(slot);
    }

    fn on_response(&mut self, now: Instant, response: Message, source: SocketAddr) {
        // §18.1.2: a response with more than one Via, or for a request we did not send.
        let mut vias = response.via();
        let (Some(Ok(via)), None) = (vias.next(), vias.next()) else {
            return self.discard(Discard::NotForUs, source);
        };
        let (Some(branch), Ok(cseq)) = (via.branch(), response.cseq()) else {
            return self.discard(Discard::Unmatchable, source);
        };
        let mut material = std::mem::take(&mut self.scratch);
        key::client(branch, &cseq.method, &mut material);
        let found = self.find(self.hasher.hash(&material), &material);
        self.scratch = material;
        let Some(slot) = found else {
            return self.discard(Discard::StrayResponse, source);
        };
        let timers = self.config.timers;
        let out = &mut self.out;
        if let Some(e) = self.slots.get_mut(slot as usize).and_then(|s| s.entry.as_mut()) {
            match &mut e.machine {
                Machine::InviteClient(m) => m.handle_response(now, response, &timers, out),
                Machine::NonInviteClient(m) => m.handle_response(now, response, &timers, out),
                _ => {}
            }
        }
        self.settle(slot);
    }

    /// Answers 503 with Retry-After without creating a transaction.
    fn overloaded(&mut self, request: &Message, target: Target) {
        let mut secs = Vec::with_capacity(10);
        let _ = write!(secs, "{}", self.config.retry_after);
        // §8.2.7: a stateless response carries a To tag of its own.
        let tag = self.tag();
        if let Ok((_, bytes)) =
            request.reply(503).to_tag(&tag).header(HeaderName::RetryAfter, &secs).into_response()
        {
            self.out.transmit(Transmit::new(target.addr, target.transport, bytes, None));
        }
    }

    /// A To tag for a response the layer sends on its own.
    fn tag(&mut self) -> String {
        let mut t = Vec::with_capacity(10);
        self.rng.push_token(&mut t, 10);
        String::from_utf8(t).unwrap_or_default()
    }

    fn discard(&mut self, reason: Discard, source: SocketAddr) {
        self.out.event(TxEvent::Discarded { reason, source });
    }

    fn start_client(
        &mut self,
        now: Instant,
        method: &Method,
        branch: &str,
        request: Bytes,
        target: Target,
    ) -> TransactionId {
        let mut material = Material::new();
        key::client(branch, method, &mut material);
        let hash = self.hasher.hash(&material);
        let (slot, generation) = self.alloc();
        let id = TransactionId::new(slot, generation);
        let timers = self.config.timers;
        let machine = if *method == Method::Invite {
            Machine::InviteClient(InviteClient::new(
                id,
                now,
                request,
                target,
                &timers,
                &mut self.out,
            ))
        } else {
            Machine::NonInviteClient(NonInviteClient::new(
                id,
                now,
                request,
                target,
                &timers,
                &mut self.out,
            ))
        };
        let key_len = u16::try_from(material.len()).unwrap_or(u16::MAX);
        self.insert(
            slot,
            Entry { material, key_len, hash, merge_hash: None, armed: None, machine },
        );
        self.settle(slot);
        id
    }

    /// Writes `Via: SIP/2.0/<transport> <sent_by>;branch=z9hG4bK<random>;rport\r\n` and
    /// returns it with the offset of the branch.
    fn via_line(
        &mut self,
        transport: Transport,
        sent_by: &str,
    ) -> Result<(Vec<u8>, usize), TxError> {
        let ok = !sent_by.is_empty()
            && sent_by.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        if !ok {
            return Err(TxError::Build(crate::BuildError::HeaderValue));
        }
        let mut line = Vec::with_capacity(64 + sent_by.len());
        line.extend_from_slice(b"Via: SIP/2.0/");
        line.extend_from_slice(transport.as_str().as_bytes());
        line.push(b' ');
        line.extend_from_slice(sent_by.as_bytes());
        line.extend_from_slice(b";branch=");
        let at = line.len();
        line.extend_from_slice(b"z9hG4bK");
        self.rng.push_token(&mut line, BRANCH_LEN - 7);
        line.extend_from_slice(b";rport\r\n");
        Ok((line, at))
    }

    fn find(&self, hash: u64, material: &[u8]) -> Option<u32> {
        self.index
            .find(hash, |&s| {
                self.slots
                    .get(s as usize)
                    .and_then(|s| s.entry.as_ref())
                    .is_some_and(|e| e.key() == material)
            })
            .copied()
    }

    fn find_merged(&self, hash: u64, material: &[u8]) -> Option<u32> {
        self.merged
            .find(hash, |&s| {
                self.slots
                    .get(s as usize)
                    .and_then(|s| s.entry.as_ref())
                    .is_some_and(|e| e.merge_key() == material)
            })
            .copied()
    }

    fn id_of(&self, slot: u32) -> Option<TransactionId> {
        let s = self.slots.get(slot as usize)?;
        s.entry.as_ref().map(|_| TransactionId::new(slot, s.generation))
    }

    fn entry(&self, id: TransactionId) -> Option<&Entry> {
        self.slots.get(id.slot()).filter(|s| s.generation == id.generation())?.entry.as_ref()
    }

    fn alloc(&mut self) -> (u32, u32) {
        if let Some(slot) = self.free.pop() {
            let generation = self.slots.get(slot as usize).map_or(0, |s| s.generation);
            return (slot, generation);
        }
        self.slots.push(Slot::default());
        (u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX), 0)
    }

    fn insert(&mut self, slot: u32, entry: Entry) {
        let (hash, merge_hash) = (entry.hash, entry.merge_hash);
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.entry = Some(entry);
        }
        let slots = &self.slots;
        self.index.insert_unique(hash, slot, |&s| self_hash(slots, s, false));
        if let Some(h) = merge_hash {
            self.merged.insert_unique(h, slot, |&s| self_hash(slots, s, true));
        }
        self.live += 1;
    }

    /// After a machine ran: remove it if it terminated, else keep the heap in step with
    /// its deadline.
    fn settle(&mut self, slot: u32) {
        let Some(s) = self.slots.get_mut(slot as usize) else { return };
        let generation = s.generation;
        let Some(e) = s.entry.as_mut() else { return };
        if e.machine.is_terminated() {
            let (hash, merge_hash) = (e.hash, e.merge_hash);
            s.entry = None;
            s.generation = s.generation.wrapping_add(1);
            if let Ok(found) = self.index.find_entry(hash, |&x| x == slot) {
                found.remove();
            }
            if let Some(h) = merge_hash
                && let Ok(found) = self.merged.find_entry(h, |&x| x == slot)
            {
                found.remove();
            }
            self.free.push(slot);
            self.live -= 1;
            return;
        }
        let next = e.machine.poll_timeout();
        if next != e.armed {
            e.armed = next;
            if let Some(at) = next {
                self.heap.push(Reverse((at, slot, generation)));
            }
        }
    }

    /// Pops stale deadlines off the top of the heap, so that `poll_timeout` is exact.
    fn clean_heap(&mut self) {
        while let Some(&Reverse((at, slot, generation))) = self.heap.peek() {
            let live = self
                .slots
                .get(slot as usize)
                .filter(|s| s.generation == generation)
                .and_then(|s| s.entry.as_ref())
                .is_some_and(|e| e.armed == Some(at));
            if live {
                break;
            }
            self.heap.pop();
        }
    }
}

const BRANCH_LEN: usize = 7 + 16; // the cookie and 16 base-36 digits: 82 random bits

fn entry_mut(slots: &mut [Slot], slot: u32, generation: u32) -> Option<&mut Entry> {
    slots.get_mut(slot as usize).filter(|s| s.generation == generation)?.entry.as_mut()
}

fn self_hash(slots: &[Slot], slot: u32, merge: bool) -> u64 {
    slots
        .get(slot as usize)
        .and_then(|s| s.entry.as_ref())
        .map_or(0, |e| if merge { e.merge_hash.unwrap_or(0) } else { e.hash })
}

/// Where responses to a request go (RFC 3261 §18.2.2, RFC 3581 §4): over a reliable
/// transport, back on the flow it came in on; to `maddr` when the Via names one; with
/// `rport`, to the source address and port; otherwise to the source address (the
/// `received` value) and the sent-by port.
/// Reads `rport` (present or not) and `maddr` in one pass over the Via's parameters.
pub(crate) fn rport_and_maddr<'a>(via: &Via<'a>) -> (bool, Option<&'a str>) {
    let (mut rport, mut maddr) = (false, None);
    for p in via.params.iter() {
        if p.name.eq_ignore_ascii_case("rport") {
            rport = true;
        } else if p.name.eq_ignore_ascii_case("maddr") {
            maddr = p.value;
        }
    }
    (rport, maddr)
}

/// What §18.2.1 and RFC 3581 §4 note in the top Via of a request from `source`: `rport=`
/// with the source port when asked (unreliable transports), and `received` when the sent-by
/// is not the source address (or `rport` is set).
pub(crate) fn received_params(
    via: &Via<'_>,
    rport: bool,
    source: SocketAddr,
    transport: Transport,
) -> (Option<IpAddr>, Option<u16>) {
    let rport = rport.then_some(source.port()).filter(|_| !transport.is_reliable());
    let received =
        (rport.is_some() || !key::host_is(&via.host, source.ip())).then_some(source.ip());
    (received, rport)
}

pub(crate) fn response_target(
    via: &Via<'_>,
    rport: bool,
    maddr: Option<&str>,
    source: SocketAddr,
    transport: Transport,
) -> Target {
    if transport.is_reliable() {
        return Target::new(source, transport);
    }
    let default_port = transport.default_port();
    if let Some(maddr) = maddr.and_then(|m| m.trim_matches(['[', ']']).parse::<IpAddr>().ok()) {
        return Target::new(SocketAddr::new(maddr, via.port.unwrap_or(default_port)), transport);
    }
    if rport {
        return Target::new(source, transport);
    }
    Target::new(SocketAddr::new(source.ip(), via.port.unwrap_or(default_port)), transport)
}

/// A request the layer can put its Via on.
pub trait IntoRequest {
    /// Returns the method.
    fn method(&self) -> Option<&Method>;

    /// Serializes the request with `via` (a whole header line) as its first header.
    ///
    /// # Errors
    /// The request cannot be serialized.
    fn write_request(&self, via: &[u8], out: &mut Vec<u8>) -> Result<(), TxError>;
}

impl IntoRequest for RequestBuilder {
    fn method(&self) -> Option<&Method> {
        Some(Self::method(self))
    }

    fn write_request(&self, via: &[u8], out: &mut Vec<u8>) -> Result<(), TxError> {
        Ok(self.write_with_first_line(via, out)?)
    }
}

impl IntoRequest for &RequestBuilder {
    fn method(&self) -> Option<&Method> {
        Some(RequestBuilder::method(self))
    }

    fn write_request(&self, via: &[u8], out: &mut Vec<u8>) -> Result<(), TxError> {
        Ok(self.write_with_first_line(via, out)?)
    }
}

impl IntoRequest for &Message {
    fn method(&self) -> Option<&Method> {
        Message::method(self)
    }

    fn write_request(&self, via: &[u8], out: &mut Vec<u8>) -> Result<(), TxError> {
        let bytes = self.as_bytes();
        let line_end = bytes.iter().position(|&b| b == b'\n').ok_or(TxError::NotARequest)? + 1;
        out.reserve(bytes.len() + via.len());
        out.extend_from_slice(bytes.get(..line_end).unwrap_or_default());
        out.extend_from_slice(via);
        out.extend_from_slice(bytes.get(line_end..).unwrap_or_default());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, Slot};

    /// The slab slot is the fixed part of every transaction's memory (docs/benchmarks.md).
    #[test]
    fn a_slot_stays_small() {
        let (slot, entry) = (size_of::<Slot>(), size_of::<Entry>());
        println!("slot {slot} B, entry {entry} B");
        assert!(slot <= 336, "slot grew to {slot} B");
        let output = size_of::<crate::Output<super::TxEvent>>();
        assert!(output <= 96, "an output grew to {output} B");
    }
}
