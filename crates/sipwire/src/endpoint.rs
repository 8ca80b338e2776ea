//! [`Endpoint`]: the one entry point. It wires the parser, the transaction layer, the
//! user-agent core, dialogs and invitations, behind the sans-IO loop every sipwire state
//! machine follows.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use hashbrown::HashTable;

use crate::dialog;
use crate::message::{HeaderName, Message, Method, ParseError, ParseOptions};
use crate::rng::Rng;
use crate::transaction::key::KeyHasher;
use crate::transaction::{
    Discard, LayerConfig, Target, TransactionId, TransactionLayer, TxEvent, received_params,
    response_target, rport_and_maddr,
};
use crate::transport::{Output, Transmit, Transport};
use crate::ua::{
    Call, Config, Ctx, Event, Invitation, InvitationError, InvitationId, InvitationState, Owners,
    Prepared, RequestKind, Verdict, check_request,
};

/// What the driver feeds an [`Endpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// One whole message from `source`: a UDP datagram, or a message a [`StreamFramer`]
    /// cut from a TCP/TLS/WS flow.
    ///
    /// [`StreamFramer`]: crate::StreamFramer
    Received {
        /// The peer's address.
        source: SocketAddr,
        /// The transport it came over.
        transport: Transport,
        /// The bytes.
        payload: Bytes,
    },
    /// A [`Transmit`] could not be sent (its `transaction`, if it had one).
    SendFailed {
        /// The transmit's transaction.
        transaction: Option<TransactionId>,
    },
    /// A connection-oriented flow to `peer` closed: invitations that arrived on it and are
    /// still unanswered can no longer be answered.
    FlowClosed {
        /// The peer's address.
        peer: SocketAddr,
        /// The flow's transport.
        transport: Transport,
    },
}

impl Input {
    /// A message received from `source` over `transport`.
    pub fn received(source: SocketAddr, transport: Transport, payload: impl Into<Bytes>) -> Self {
        Self::Received { source, transport, payload: payload.into() }
    }
}

#[derive(Debug, Default)]
struct CallSlot {
    generation: u32,
    call: Option<Box<Call>>,
}

/// A SIP user agent as a pure state machine: bytes and `now` in; bytes to send, events
/// and one deadline out.
///
/// Methods come in four kinds (after quinn-proto):
///
/// - **inputs**: [`handle_input`](Self::handle_input), [`handle_timeout`](Self::handle_timeout);
/// - **outputs**: [`poll_output`](Self::poll_output) (drain until `None` after every input
///   and command), [`poll_timeout`](Self::poll_timeout) (the one timer a driver arms);
/// - **commands**: through the [`Invitation`] view from [`invitation`](Self::invitation);
/// - **getters**: [`config`](Self::config), [`transaction_count`](Self::transaction_count) …
///
/// ```
/// use std::time::Instant;
/// use sipwire::{Endpoint, Input, Output, Transport};
/// use sipwire::ua::{AcceptOptions, Config, Event};
///
/// # #[allow(clippy::disallowed_methods)] let now = Instant::now();
/// let mut ep = Endpoint::new(Config::new("sip:bob@192.0.2.2:5060").with_seed(7));
/// let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n\
///     Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:alice@192.0.2.1>;tag=a\r\n\
///     To: <sip:bob@192.0.2.2>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
///     Contact: <sip:alice@192.0.2.1>\r\nContent-Type: application/sdp\r\nContent-Length: 3\r\n\r\nv=0";
/// ep.handle_input(now, Input::received("192.0.2.1:5060".parse()?, Transport::Udp, invite));
/// let mut sent = Vec::new();
/// let mut ringing = None;
/// while let Some(out) = ep.poll_output() {
///     match out {
///         Output::Transmit(t) => sent.push(t.payload),
///         Output::Event(Event::Invitation { id }) => ringing = Some(id),
///         Output::Event(_) => {}
///     }
/// }
/// assert!(sent[0].starts_with(b"SIP/2.0 100 Trying"));
/// assert!(sent[1].starts_with(b"SIP/2.0 180 Ringing"));
/// let id = ringing.expect("the application is told after the 180");
/// ep.invitation(id).expect("live").accept(now, AcceptOptions::new().body("application/sdp", "v=0"))?;
/// let ok = std::iter::from_fn(|| ep.poll_output())
///     .find_map(|o| if let Output::Transmit(t) = o { Some(t) } else { None })
///     .expect("the 200");
/// assert!(ok.payload.starts_with(b"SIP/2.0 200 OK"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Endpoint {
    config: Config,
    prepared: Prepared,
    parse: ParseOptions,
    layer: TransactionLayer,
    out: VecDeque<Output<Event>>,
    pending: VecDeque<TxEvent>,
    rng: Rng,
    owners: Owners,
    calls: Vec<CallSlot>,
    free: Vec<u32>,
    live: usize,
    dialogs: HashTable<u32>,
    hasher: KeyHasher,
    heap: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    scratch: Vec<u8>,
}

impl Endpoint {
    /// Returns an endpoint with no transactions and no calls.
    #[must_use]
    pub fn new(config: Config) -> Self {
        let mut rng = Rng::new(config.seed);
        let mut layer = LayerConfig::DEFAULT;
        layer.timers = config.timers;
        layer.max_transactions = config.max_transactions;
        layer.retry_after = config.retry_after;
        layer.seed = rng.next_u64();
        let hasher = KeyHasher::new([rng.next_u64(), rng.next_u64(), rng.next_u64()]);
        Self {
            parse: ParseOptions { limits: config.limits, validate: false },
            prepared: Prepared::new(&config),
            config,
            layer: TransactionLayer::new(layer),
            out: VecDeque::new(),
            pending: VecDeque::new(),
            rng,
            owners: Owners::default(),
            calls: Vec::new(),
            free: Vec::new(),
            live: 0,
            dialogs: HashTable::new(),
            hasher,
            heap: BinaryHeap::new(),
            scratch: Vec::new(),
        }
    }

    /// Returns the configuration.
    #[must_use]
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// Returns how many transactions are live.
    #[must_use]
    pub const fn transaction_count(&self) -> usize {
        self.layer.len()
    }

    /// Returns how many dialogs (early or confirmed) are live.
    #[must_use]
    pub fn dialog_count(&self) -> usize {
        self.dialogs.len()
    }

    /// Returns how many invitations are held: live ones and those that ended less than
    /// 64·T1 ago.
    #[must_use]
    pub const fn invitation_count(&self) -> usize {
        self.live
    }

    /// Returns how many messages were sent again since the endpoint was made: requests on
    /// timers A and E, responses on timer G or for a retransmitted request, 2xx and
    /// reliable provisionals until their ACK or PRACK, ACKs for retransmitted finals.
    #[must_use]
    pub const fn retransmissions(&self) -> u64 {
        self.layer.retransmissions()
    }

    /// Returns the view of invitation `id`, or `None` once it is forgotten (64·T1 after
    /// it ended).
    pub fn invitation(&mut self, id: InvitationId) -> Option<Invitation<'_>> {
        self.call(id)?;
        Some(Invitation::new(self, id))
    }

    /// Returns the next output: a [`Transmit`] to send or an [`Event`]. Drain until `None`
    /// after every input and command.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output<Event>> {
        self.out.pop_front()
    }

    /// Returns the earliest deadline of any transaction or call.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self.heap.peek().map(|Reverse((t, ..))| *t);
        match (self.layer.poll_timeout(), calls) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes one input at `now`.
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Received { source, transport, payload } => {
                self.receive(now, source, transport, payload);
            }
            Input::SendFailed { transaction: Some(id) } => self.layer.handle_send_failed(now, id),
            Input::SendFailed { transaction: None } => {}
            Input::FlowClosed { peer, transport } => self.flow_closed(now, peer, transport),
        }
        self.settle(now);
    }

    /// Fires every timer due at `now`. Calling it early, or twice, does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.settle(now);
        while let Some(&Reverse((at, slot, generation))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            let Some(call) = self.slot_mut(slot, generation) else { continue };
            if call.armed != Some(at) {
                continue;
            }
            call.armed = None;
            if call.expired(now) {
                self.remove(slot);
                continue;
            }
            self.with_slot(slot, |call, ctx| call.handle_timeout(now, ctx));
            self.settle(now);
        }
        self.clean_heap();
    }

    pub(crate) fn call(&self, id: InvitationId) -> Option<&Call> {
        let s = self.calls.get(id.slot() as usize)?;
        if s.generation != id.generation() {
            return None;
        }
        s.call.as_deref()
    }

    /// Runs a command on invitation `id`, then lets the layers settle.
    pub(crate) fn act<T>(
        &mut self,
        now: Instant,
        id: InvitationId,
        f: impl FnOnce(&mut Call, &mut Ctx<'_>) -> Result<T, InvitationError>,
    ) -> Result<T, InvitationError> {
        if self.call(id).is_none() {
            return Err(InvitationError::Terminated(crate::ua::EndReason::TransportError));
        }
        let mut result = Err(InvitationError::Terminated(crate::ua::EndReason::TransportError));
        self.with_slot(id.slot(), |call, ctx| result = f(call, ctx));
        self.settle(now);
        result
    }

    fn slot_mut(&mut self, slot: u32, generation: u32) -> Option<&mut Call> {
        let s = self.calls.get_mut(slot as usize)?;
        if s.generation != generation {
            return None;
        }
        s.call.as_deref_mut()
    }

    /// Runs `f` on the call in `slot` with a context, then re-syncs its index entry and
    /// timer.
    fn with_slot(&mut self, slot: u32, f: impl FnOnce(&mut Call, &mut Ctx<'_>)) {
        let Some(call) = self.calls.get_mut(slot as usize).and_then(|s| s.call.as_deref_mut())
        else {
            return;
        };
        let mut ctx = Ctx {
            layer: &mut self.layer,
            out: &mut self.out,
            pending: &mut self.pending,
            config: &self.config,
            prepared: &self.prepared,
            rng: &mut self.rng,
            owners: &mut self.owners,
        };
        f(call, &mut ctx);
        ctx.pump();
        self.sync(slot);
    }

    fn ctx(&mut self) -> Ctx<'_> {
        Ctx {
            layer: &mut self.layer,
            out: &mut self.out,
            pending: &mut self.pending,
            config: &self.config,
            prepared: &self.prepared,
            rng: &mut self.rng,
            owners: &mut self.owners,
        }
    }

    /// Keeps the dialog index and the timer heap in step with the call in `slot`.
    fn sync(&mut self, slot: u32) {
        let Some(s) = self.calls.get_mut(slot as usize) else { return };
        let generation = s.generation;
        let Some(call) = s.call.as_deref_mut() else { return };
        let next = call.next_deadline();
        if next != call.armed {
            call.armed = next;
            if let Some(at) = next {
                self.heap.push(Reverse((at, slot, generation)));
            }
        }
        match (call.indexed, call.in_dialog_index()) {
            (None, true) => {
                let Some(d) = call.dialog() else { return };
                d.key(&mut self.scratch);
                let hash = self.hasher.hash(&self.scratch);
                call.indexed = Some(hash);
                let calls = &self.calls;
                self.dialogs.insert_unique(hash, slot, |&s| dialog_hash(calls, s));
            }
            (Some(hash), false) => {
                call.indexed = None;
                if let Ok(e) = self.dialogs.find_entry(hash, |&s| s == slot) {
                    e.remove();
                }
            }
            _ => {}
        }
    }

    fn remove(&mut self, slot: u32) {
        let Some(s) = self.calls.get_mut(slot as usize) else { return };
        let Some(call) = s.call.take() else { return };
        s.generation = s.generation.wrapping_add(1);
        if let Some(hash) = call.indexed
            && let Ok(e) = self.dialogs.find_entry(hash, |&x| x == slot)
        {
            e.remove();
        }
        self.free.push(slot);
        self.live -= 1;
    }

    /// Moves the layer's outputs out and answers its events until both are quiet.
    fn settle(&mut self, now: Instant) {
        loop {
            self.ctx().pump();
            let Some(event) = self.pending.pop_front() else { break };
            self.on_tx_event(now, event);
        }
        self.clean_heap();
    }

    fn clean_heap(&mut self) {
        while let Some(&Reverse((at, slot, generation))) = self.heap.peek() {
            let live = self
                .calls
                .get(slot as usize)
                .filter(|s| s.generation == generation)
                .and_then(|s| s.call.as_deref())
                .is_some_and(|c| c.armed == Some(at));
            if live {
                break;
            }
            self.heap.pop();
        }
    }

    fn receive(&mut self, now: Instant, source: SocketAddr, transport: Transport, payload: Bytes) {
        if payload.iter().all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t')) {
            return; // a keep-alive (RFC 5626 §3.5.1)
        }
        match Message::parse_with(payload.clone(), &self.parse) {
            // Without a readable top Via the transaction layer cannot match the request or
            // know where to answer: answer it here if its sent-by can be read.
            Ok(message) if message.is_request() && message.top_via().is_err() => {
                let e = message.top_via().err();
                if let Some(e) = e {
                    self.unparseable(&payload, e, source, transport);
                }
            }
            Ok(message) => self.layer.handle_message(now, message, source, transport),
            Err(e) => self.unparseable(&payload, e, source, transport),
        }
    }

    /// A request the parser refused still gets its status (400, 505, 513 …) when the
    /// headers a response copies can be read; anything less is discarded with an event.
    fn unparseable(
        &mut self,
        payload: &[u8],
        e: ParseError,
        source: SocketAddr,
        transport: Transport,
    ) {
        let max = self.parse.limits.max_message_size;
        let answered = e.status_hint().and_then(|code| {
            // The top Via decoded whole, or else its sent-by alone (RFC 4475 §3.1.2.1).
            let request = salvage(payload, max, false)
                .filter(|r| r.top_via().is_ok())
                .or_else(|| salvage(payload, max, true))?;
            let via = request.top_via().ok()?;
            let (rport, maddr) = rport_and_maddr(&via);
            let target = response_target(&via, rport, maddr, source, transport);
            let (received, rport) = received_params(&via, rport, source, transport);
            let request = request.with_top_via_params(received, rport)?;
            let tag = self.token();
            let (_, bytes) = crate::transaction::IntoResponse::into_response(
                request.reply(code).reason(e.reason_phrase()).to_tag(&tag),
            )
            .ok()?;
            let transmit = Transmit::new(target.addr, target.transport, bytes, None);
            self.out.push_back(Output::Transmit(transmit));
            Some(())
        });
        if answered.is_none() {
            self.emit(Event::Discarded { reason: Discard::Unparseable(e), source });
        }
    }

    fn token(&mut self) -> String {
        let mut t = Vec::with_capacity(10);
        self.rng.push_token(&mut t, 10);
        String::from_utf8(t).unwrap_or_default()
    }

    fn emit(&mut self, event: Event) {
        self.ctx().emit(event);
    }

    fn on_tx_event(&mut self, now: Instant, event: TxEvent) {
        match event {
            TxEvent::Request { id, request, source, transport, cancels, merged_with } => {
                self.on_request(now, id, *request, source, transport, cancels, merged_with);
            }
            TxEvent::Ack { request, source, .. } => self.on_ack(now, &request, source),
            TxEvent::Response { id, response } => {
                self.for_owner(id, |call, ctx| call.on_response(now, id, &response, ctx));
            }
            TxEvent::Timeout { id, .. } => {
                self.for_owner(id, |call, ctx| call.on_client_failure(now, id, ctx));
            }
            TxEvent::TransportError { id } => self.for_owner(id, |call, ctx| {
                if call.transaction() == id {
                    call.on_transport_error(now, ctx);
                } else {
                    call.on_client_failure(now, id, ctx);
                }
            }),
            TxEvent::Discarded { reason, source } => self.emit(Event::Discarded { reason, source }),
            TxEvent::Terminated { .. } => {}
        }
    }

    fn for_owner(&mut self, tx: TransactionId, f: impl FnOnce(&mut Call, &mut Ctx<'_>)) {
        let Some(owner) = self.owners.get(tx) else { return };
        if self.call(owner).is_some() {
            self.with_slot(owner.slot(), f);
        }
    }

    /// Answers a request on its server transaction, with a To tag if it had none.
    fn answer(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: &Message,
        code: u16,
        reason: Option<&str>,
        extra: Extra<'_>,
    ) {
        let tag = if code > 100 && request.to_tag().ok().flatten().is_none() {
            self.token()
        } else {
            String::new()
        };
        let mut b = request.reply(code);
        if !tag.is_empty() {
            b = b.to_tag(&tag);
        }
        if let Some(r) = reason {
            b = b.reason(r);
        }
        match extra {
            Extra::Nothing => {}
            Extra::Header(name, value) => b = b.header(name, value),
            Extra::Capabilities => {
                let p = &self.prepared;
                b = b.header(HeaderName::Allow, &p.allow).header(HeaderName::Accept, &p.accept);
                if !p.supported.is_empty() {
                    b = b.header(HeaderName::Supported, &p.supported);
                }
            }
        }
        if let Some(ua) = &self.config.user_agent {
            b = b.header(HeaderName::Server, ua);
        }
        let _ = self.layer.respond(now, tx, b);
        // Under load (half the transaction table in use), requests the core answers by
        // itself are answered statelessly (RFC 3261 §8.2.7): a flood of unwanted requests
        // then cannot fill the table and lock calls out with 503. An INVITE's transaction
        // is always kept, for the ACK and the final's retransmissions.
        if request.method() != Some(&Method::Invite) && self.under_load() {
            self.layer.forget(tx);
        }
    }

    /// Whether half the transaction table is in use.
    const fn under_load(&self) -> bool {
        self.layer.len() >= self.config.max_transactions / 2
    }

    #[allow(clippy::too_many_arguments)]
    fn on_request(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: Message,
        source: SocketAddr,
        transport: Transport,
        cancels: Option<TransactionId>,
        merged_with: Option<TransactionId>,
    ) {
        let Some(method) = request.method().cloned() else { return };
        if method == Method::Cancel {
            return self.on_cancel(now, tx, &request, cancels);
        }
        let in_dialog = request.to_tag().ok().flatten().is_some();
        if let Verdict::Reject { code, reason, header } =
            check_request(&request, &self.config, in_dialog)
        {
            let extra = header.as_ref().map_or(Extra::Nothing, |(n, v)| Extra::Header(*n, v));
            return self.answer(now, tx, &request, code, reason, extra);
        }
        if merged_with.is_some() {
            return self.answer(now, tx, &request, 482, None, Extra::Nothing);
        }
        if in_dialog {
            return self.in_dialog(now, tx, request, &method);
        }
        match method {
            Method::Invite => self.new_invitation(now, tx, request, source, transport),
            Method::Options => self.answer(now, tx, &request, 200, None, Extra::Capabilities),
            // BYE and PRACK need a dialog; an allowed method with no handler gets 501.
            Method::Bye | Method::Prack => {
                self.answer(now, tx, &request, 481, None, Extra::Nothing);
            }
            _ => self.answer(now, tx, &request, 501, None, Extra::Nothing),
        }
    }

    /// Finds the live dialog `request` belongs to, by Call-ID and tags (§12.2.2), before
    /// anything looks at its Request-URI.
    fn find_dialog(&mut self, request: &Message) -> Option<u32> {
        dialog::request_key(request, &mut self.scratch)?;
        let hash = self.hasher.hash(&self.scratch);
        let call_id = request.call_id().ok()?;
        let local = request.to_tag().ok()??;
        let remote = request.from_tag().ok()?.unwrap_or("");
        let calls = &self.calls;
        self.dialogs
            .find(hash, |&s| {
                calls
                    .get(s as usize)
                    .and_then(|s| s.call.as_deref())
                    .and_then(Call::dialog)
                    .is_some_and(|d| {
                        d.call_id() == call_id && d.local_tag() == local && d.remote_tag() == remote
                    })
            })
            .copied()
    }

    fn in_dialog(&mut self, now: Instant, tx: TransactionId, request: Message, method: &Method) {
        let Some(slot) = self.find_dialog(&request) else {
            return self.answer(now, tx, &request, 481, None, Extra::Nothing);
        };
        let stale = self
            .calls
            .get_mut(slot as usize)
            .and_then(|s| s.call.as_deref_mut())
            .and_then(Call::dialog_mut)
            .is_some_and(|d| d.check_remote_seq(&request).is_err());
        if stale {
            return self.answer(
                now,
                tx,
                &request,
                500,
                Some("Server Internal Error - CSeq Out of Order"),
                Extra::Nothing,
            );
        }
        match method {
            Method::Bye => self.with_slot(slot, |call, ctx| call.on_bye(now, tx, &request, ctx)),
            Method::Prack => {
                self.with_slot(slot, |call, ctx| call.on_prack(now, tx, &request, ctx));
            }
            Method::Options => self.answer(now, tx, &request, 200, None, Extra::Capabilities),
            _ => match RequestKind::of(method) {
                // The session keeps the request (to answer it later): moved, not copied.
                Some(kind) => {
                    self.with_slot(slot, |call, ctx| call.on_request(now, tx, request, kind, ctx));
                }
                // A method we allow but no dialog usage takes (SUBSCRIBE, PUBLISH …).
                None => self.answer(now, tx, &request, 501, None, Extra::Nothing),
            },
        }
    }

    fn on_cancel(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: &Message,
        cancels: Option<TransactionId>,
    ) {
        let owner =
            cancels.and_then(|invite| self.owners.get(invite)).filter(|o| self.call(*o).is_some());
        // §9.2: the CANCEL's 200 carries the To tag of the INVITE's responses.
        let tag = owner.and_then(|o| self.call(o)).map(|c| c.to_tag().to_owned());
        let mut b = request.reply(200);
        if let Some(tag) = &tag {
            b = b.to_tag(tag);
        }
        let _ = self.layer.respond(now, tx, b);
        if let (Some(owner), Some(invite)) = (owner, cancels) {
            self.with_slot(owner.slot(), |call, ctx| {
                // A CANCEL for a re-INVITE already answered changes nothing (§9.2).
                if !call.on_request_cancel(now, invite, ctx) && call.transaction() == invite {
                    call.on_cancel(now, ctx);
                }
            });
        }
    }

    fn on_ack(&mut self, now: Instant, ack: &Message, source: SocketAddr) {
        let Some(slot) = self.find_dialog(ack) else {
            return self.emit(Event::Discarded { reason: Discard::NoDialog, source });
        };
        let mut matched = true;
        self.with_slot(slot, |call, ctx| matched = call.on_ack(now, ack, ctx));
        if !matched {
            self.emit(Event::Discarded { reason: Discard::AckMismatch, source });
        }
    }

    fn new_invitation(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: Message,
        source: SocketAddr,
        transport: Transport,
    ) {
        if self.live >= self.config.max_invitations {
            let secs = self.config.retry_after.to_string();
            return self.answer(
                now,
                tx,
                &request,
                503,
                None,
                Extra::Header(HeaderName::RetryAfter, &secs),
            );
        }
        let (slot, generation) = match self.free.pop() {
            Some(slot) => (slot, self.calls.get(slot as usize).map_or(0, |s| s.generation)),
            None => {
                self.calls.push(CallSlot::default());
                (u32::try_from(self.calls.len() - 1).unwrap_or(u32::MAX), 0)
            }
        };
        let id = InvitationId::new(slot, generation);
        let target = Target::new(source, transport);
        let created = {
            let mut ctx = self.ctx();
            Call::new(id, now, request.clone(), tx, target, &mut ctx)
        };
        let Some(call) = created else {
            self.free.push(slot);
            return self.answer(
                now,
                tx,
                &request,
                400,
                Some("Bad Request - Missing Contact"),
                Extra::Nothing,
            );
        };
        if let Some(s) = self.calls.get_mut(slot as usize) {
            s.call = Some(Box::new(call));
        }
        self.live += 1;
        self.owners.set(tx, id);
        if self.config.auto_trying {
            let _ = self.layer.respond(now, tx, request.reply(100));
        }
        let ring = self.config.auto_ringing;
        self.with_slot(slot, |call, ctx| {
            if ring && call.rel100() != crate::ua::Rel100::Required {
                let _ = call.progress(now, &crate::ua::ProgressOptions::new(), ctx);
            }
            if call.state() == InvitationState::Initial {
                ctx.emit(Event::Invitation { id });
            }
        });
    }

    fn flow_closed(&mut self, now: Instant, peer: SocketAddr, transport: Transport) {
        let slots: Vec<u32> = self
            .calls
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let c = s.call.as_deref()?;
                let from = c.source() == Target::new(peer, transport);
                from.then(|| u32::try_from(i).ok()).flatten()
            })
            .collect();
        for slot in slots {
            self.with_slot(slot, |call, ctx| call.on_transport_error(now, ctx));
        }
    }
}

/// What an automatic response carries beyond the copied headers.
#[derive(Debug, Clone, Copy)]
enum Extra<'a> {
    Nothing,
    Header(HeaderName, &'a str),
    /// Allow, Accept and Supported (OPTIONS, §11.2).
    Capabilities,
}

fn dialog_hash(calls: &[CallSlot], slot: u32) -> u64 {
    calls.get(slot as usize).and_then(|s| s.call.as_deref()).and_then(|c| c.indexed).unwrap_or(0)
}

/// Rebuilds, from the raw header lines of a message the parser refused, a request that
/// holds just its Via, From, To, Call-ID and CSeq, so that the refusal can be answered.
/// `None` unless each is there (From, To, Call-ID and CSeq exactly once). With
/// `sent_by_only`, the first Via keeps only what precedes its first `;` or `,`.
fn salvage(payload: &[u8], max: usize, sent_by_only: bool) -> Option<Message> {
    let bytes = payload.get(..payload.len().min(max))?;
    let start = bytes.iter().position(|b| !matches!(b, b'\r' | b'\n'))?;
    let mut lines =
        bytes.get(start..)?.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    lines.next()?; // the start line, which is what the parser refused
    let mut out = b"OPTIONS sip:invalid.invalid SIP/2.0\r\n".to_vec();
    let mut seen = [0u8; 4];
    let mut vias = 0;
    let mut current: Option<HeaderName> = None;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if current.is_some() {
                out.truncate(out.len() - 2);
                out.push(b' ');
                out.extend_from_slice(line.trim_ascii());
                out.extend_from_slice(b"\r\n");
            }
            continue;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let name = HeaderName::from_bytes(line.get(..colon)?.trim_ascii());
        let i = match name {
            HeaderName::Via => {
                vias += 1;
                None
            }
            HeaderName::From => Some(0),
            HeaderName::To => Some(1),
            HeaderName::CallId => Some(2),
            HeaderName::CSeq => Some(3),
            _ => {
                current = None;
                continue;
            }
        };
        if let Some(i) = i {
            let count = seen.get_mut(i)?;
            *count += 1;
        }
        current = Some(name);
        let mut value = line.get(colon + 1..)?.trim_ascii();
        if sent_by_only && name == HeaderName::Via && vias == 1 {
            let end = value.iter().position(|b| matches!(b, b';' | b',')).unwrap_or(value.len());
            value = value.get(..end)?.trim_ascii();
            current = None; // a continuation line would belong to the cut-off part
        }
        out.extend_from_slice(name.as_str()?.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if vias == 0 || seen != [1; 4] {
        return None;
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    Message::parse_with(out, &ParseOptions { validate: false, ..ParseOptions::DEFAULT }).ok()
}
