//! Adapters for the peer SIP crates' server transaction layers, shared by the benches through
//! `#[path = "common/tx_peers.rs"] mod tx_peers;`.
//!
//! Each peer gets one small driver struct that owns the peer's transaction layer and the bits of
//! a real driver the measured work cannot do without; both are created once, outside any timed
//! loop, and reused, so the layer's hash tables are already grown:
//!
//! * a [`TimerList`]: the timers the layer asked for, in arrival order. Time is frozen at the
//!   start of the transaction, and "advancing time" means firing the earliest pending timer;
//! * for sipx-sip, a reused `Vec<u8>`: its `Output::Send` carries a `Message`, which the driver
//!   must serialize before it can hand bytes to a socket. rsiprtp serializes inside
//!   `send_response` and hands out `Bytes`, so its `Send` needs no work here.
//!
//! Every message a layer wants sent is passed to a `sink(&[u8])` (the "socket").
//!
//! Both peers are synchronous and sans-IO at this level (`sipx_sip::TransactionLayer`,
//! `rsiprtp::transaction::TransactionManager`): no tokio runtime, no clock, no socket.
//!
//! The lifecycles (the transaction user's responses are the same for both peers):
//!
//! * INVITE: parse the datagram, the layer creates a server transaction and hands the request up;
//!   the TU sends 100 Trying (no To tag), 180 Ringing (To tag [`TO_TAG`], Contact [`CONTACT`]),
//!   200 OK (the same plus `Content-Type: application/sdp` and [`SDP`]); the INVITE datagram is
//!   parsed and fed again and must be absorbed (nothing sent, nothing to the TU); then time
//!   advances until the layer has dropped the transaction.
//! * Non-INVITE (OPTIONS): parse, create, 200 OK (To tag, `Allow: `[`ALLOW`]); the retransmitted
//!   OPTIONS must be answered by the layer with the stored 200 and not reach the TU; Timer J fires
//!   and the transaction is dropped.
//!
//! What differs between the peers (see also each adapter's docs):
//!
//! * 100 Trying: sipx-sip would send one itself after 200 ms (`Timer::Trying100`); rsiprtp
//!   never does. Here the TU sends it explicitly in both.
//! * After a 2xx to INVITE, sipx-sip follows RFC 6026 (`Accepted`, Timer L = 64·T1, absorbs
//!   INVITE retransmissions, passes 2xx ACKs up). rsiprtp goes straight to `Terminated` (RFC 3261
//!   as originally written) and keeps the entry only until the driver calls
//!   `cleanup_terminated`; the retransmitted INVITE is absorbed here only because it arrives
//!   before that call. After it, the same retransmission creates a new transaction and
//!   reaches the TU again.
//!
//! Every function panics when a peer misbehaves on a benchmark message: a broken adapter is loud.

// Each bench includes this file as a private module (so `pub` is crate-visible only) and may use
// a subset of it.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use bytes::Bytes;

/// The To tag the TU puts on 180 and 200 (the same as `parse`'s `sipwire-build`).
pub const TO_TAG: &str = "8f7a6c1d2b3e4f50";
/// The Contact of 180 and 200.
pub const CONTACT: &str = "<sip:bob@127.0.0.1:5060>";
/// [`CONTACT`]'s URI, for APIs that take a URI and add the brackets themselves.
pub const CONTACT_URI: &str = "sip:bob@127.0.0.1:5060";
/// The SDP answer in the 200 OK to INVITE (the same as `parse`'s `sipwire-build`).
pub const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";
/// The Allow header value of the 200 OK to OPTIONS.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS";

/// The status code of a serialized response (`SIP/2.0 NNN ...`), for checks.
pub fn status_of(wire: &[u8]) -> u16 {
    let code = wire.get(8..11).expect("response too short");
    std::str::from_utf8(code).expect("status code").parse().expect("status code")
}

/// The timers a transaction asked its driver for, with the delay each was set with.
///
/// Deliberately tiny: one transaction is in flight at a time, so a timer is named by its
/// letter alone, and a linear scan of at most a few entries beats any wheel or heap.
#[derive(Debug)]
pub struct TimerList<T> {
    pending: Vec<(T, Duration)>,
}

impl<T: Copy + PartialEq> TimerList<T> {
    fn new() -> Self {
        Self { pending: Vec::with_capacity(8) }
    }

    fn set(&mut self, timer: T, after: Duration) {
        self.clear(timer);
        self.pending.push((timer, after));
    }

    fn clear(&mut self, timer: T) {
        self.pending.retain(|&(t, _)| t != timer);
    }

    /// Advances the (frozen) clock to the earliest pending timer and returns it.
    fn pop_earliest(&mut self) -> Option<T> {
        let i = (0..self.pending.len()).min_by_key(|&i| self.pending[i].1)?;
        Some(self.pending.swap_remove(i).0)
    }

    /// The timers still pending.
    pub fn pending(&self) -> impl Iterator<Item = T> + '_ {
        self.pending.iter().map(|&(t, _)| t)
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// sipx-sip 1.0.1: `TransactionLayer` (RFC 3261 §17 + RFC 6026), sans-IO, outputs are values
// ---------------------------------------------------------------------------------------------

/// A driver around `sipx_sip::TransactionLayer` over an unreliable (UDP) transport.
///
/// Calls used: `parse_datagram(Bytes, &Limits::datagram())`, `TransactionLayer::new(Timers::
/// default())`, `receive(Message, Reliability::Unreliable) -> Dispatch::{Created, Matched}`,
/// `send_response(&TransactionKey, Response) -> Vec<Output>`, `on_timer(&key, Timer)`,
/// `abandon(&key)`, `len()`; the TU builds responses with `ResponseBuilder::to_request` (copies
/// Via, From, To, Call-ID, CSeq), `set_header(To, ..)` for the tag (sipx-sip has no To-tag
/// helper, so the TU appends `;tag=` to the request's To value), `header`, `body` and `build`.
/// Each `Output::Send(Box<Message>)` is serialized with `Message::write_to` into a reused
/// `Vec<u8>`.
#[derive(Debug)]
pub struct SipxSip {
    layer: sipx_sip::TransactionLayer,
    timers: TimerList<sipx_sip::Timer>,
    wire: Vec<u8>,
    /// Messages handed to the sink so far, for absorption checks.
    sent: usize,
}

/// What the sipx-sip TU keeps of a ringing INVITE: the key to answer on and its copy of the
/// request (which it may drop: `TransactionLayer::server_request` gives the layer's copy back).
#[derive(Debug)]
pub struct SipxRinging {
    pub key: sipx_sip::TransactionKey,
    pub request: Box<sipx_sip::Request>,
}

fn sipx_status(code: u16) -> sipx_sip::StatusCode {
    sipx_sip::StatusCode::new(code).expect("sipx-sip: status code")
}

/// The request's To value with the UAS tag appended.
fn sipx_to_with_tag(request: &sipx_sip::Request) -> Bytes {
    let to = request.headers.value(&sipx_sip::HeaderName::To).expect("sipx-sip: To");
    let mut value = Vec::with_capacity(to.len() + 5 + TO_TAG.len());
    value.extend_from_slice(&to);
    value.extend_from_slice(b";tag=");
    value.extend_from_slice(TO_TAG.as_bytes());
    Bytes::from(value)
}

impl Default for SipxSip {
    fn default() -> Self {
        Self::new()
    }
}

impl SipxSip {
    /// A layer with RFC 3261 default timers (T1 500 ms, T2 4 s, T4 5 s).
    pub fn new() -> Self {
        Self {
            layer: sipx_sip::TransactionLayer::new(sipx_sip::Timers::default()),
            timers: TimerList::new(),
            wire: Vec::with_capacity(2048),
            sent: 0,
        }
    }

    /// Server transactions in the layer.
    pub fn server_transactions(&self) -> usize {
        self.layer.len().1
    }

    /// The timers the driver still has pending.
    pub fn pending_timers(&self) -> &TimerList<sipx_sip::Timer> {
        &self.timers
    }

    /// Does what the outputs say; returns the request handed to the TU, if any.
    fn perform(
        &mut self,
        outputs: Vec<sipx_sip::Output>,
        sink: &mut impl FnMut(&[u8]),
    ) -> Option<Box<sipx_sip::Request>> {
        use sipx_sip::{Output, TuEvent};
        let mut request = None;
        for output in outputs {
            match output {
                Output::Send(message) => {
                    self.wire.clear();
                    message.write_to(&mut self.wire);
                    sink(&self.wire);
                    self.sent += 1;
                }
                Output::SetTimer { timer, after } => self.timers.set(timer, after),
                Output::ClearTimer(timer) => self.timers.clear(timer),
                Output::ToTu(event) => match *event {
                    TuEvent::Request(r) => request = Some(r),
                    other => panic!("sipx-sip: unexpected TU event {other:?}"),
                },
                Output::Terminated(_) => {}
                other => panic!("sipx-sip: unexpected output {other:?}"),
            }
        }
        request
    }

    /// Parses a datagram the way a UDP receive path would and routes it.
    fn receive(&mut self, datagram: &[u8]) -> sipx_sip::transaction::Dispatch {
        let message = sipx_sip::parse_datagram(
            Bytes::copy_from_slice(datagram),
            &sipx_sip::Limits::datagram(),
        )
        .expect("sipx-sip: parse failed");
        self.layer.receive(message, sipx_sip::Reliability::Unreliable)
    }

    fn respond(
        &mut self,
        key: &sipx_sip::TransactionKey,
        response: sipx_sip::Response,
        sink: &mut impl FnMut(&[u8]),
    ) {
        let outputs = self.layer.send_response(key, response);
        assert!(self.perform(outputs, sink).is_none(), "sipx-sip: TU event on a response");
    }

    /// Parses a new request, which must create a server transaction and reach the TU.
    fn create(
        &mut self,
        datagram: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) -> (sipx_sip::TransactionKey, Box<sipx_sip::Request>) {
        let sipx_sip::transaction::Dispatch::Created { key, outputs } = self.receive(datagram)
        else {
            panic!("sipx-sip: request did not create a server transaction");
        };
        let request = self.perform(outputs, sink).expect("sipx-sip: request not passed to the TU");
        (key, request)
    }

    /// Feeds a retransmission, which must match, stay away from the TU and make the layer send
    /// exactly `resends` messages.
    fn retransmission(&mut self, datagram: &[u8], resends: usize, sink: &mut impl FnMut(&[u8])) {
        let sipx_sip::transaction::Dispatch::Matched { outputs, .. } = self.receive(datagram)
        else {
            panic!("sipx-sip: retransmission did not match its transaction");
        };
        let before = self.sent;
        assert!(self.perform(outputs, sink).is_none(), "sipx-sip: retransmission reached the TU");
        assert_eq!(self.sent - before, resends, "sipx-sip: wrong response to a retransmission");
    }

    /// Fires pending timers, earliest first, until none is left.
    fn run_timers(&mut self, key: &sipx_sip::TransactionKey, sink: &mut impl FnMut(&[u8])) {
        while let Some(timer) = self.timers.pop_earliest() {
            let outputs = self.layer.on_timer(key, timer);
            self.perform(outputs, sink);
        }
    }

    /// INVITE in; 100 Trying and 180 Ringing out.
    pub fn invite_ringing(&mut self, invite: &[u8], sink: &mut impl FnMut(&[u8])) -> SipxRinging {
        use sipx_sip::{HeaderName, ResponseBuilder};
        let (key, request) = self.create(invite, sink);
        let trying = ResponseBuilder::to_request(&request, sipx_status(100), "Trying")
            .expect("sipx-sip: 100")
            .build();
        self.respond(&key, trying, sink);
        let ringing = ResponseBuilder::to_request(&request, sipx_status(180), "Ringing")
            .and_then(|b| b.set_header(&HeaderName::To, sipx_to_with_tag(&request)))
            .and_then(|b| b.header(HeaderName::Contact, CONTACT))
            .expect("sipx-sip: 180")
            .build();
        self.respond(&key, ringing, sink);
        SipxRinging { key, request }
    }

    /// 200 OK with SDP, the retransmitted INVITE (absorbed in `Accepted`), then Timer L.
    pub fn invite_answer_and_finish(
        &mut self,
        ringing: SipxRinging,
        invite: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) {
        use sipx_sip::{HeaderName, ResponseBuilder};
        let SipxRinging { key, request } = ringing;
        let ok = ResponseBuilder::to_request(&request, sipx_status(200), "OK")
            .and_then(|b| b.set_header(&HeaderName::To, sipx_to_with_tag(&request)))
            .and_then(|b| b.header(HeaderName::Contact, CONTACT))
            .and_then(|b| b.header(HeaderName::ContentType, "application/sdp"))
            .expect("sipx-sip: 200")
            .body(Bytes::from_static(SDP))
            .build();
        drop(request);
        self.respond(&key, ok, sink);
        // RFC 6026 Accepted: a retransmitted INVITE is absorbed without a resend.
        self.retransmission(invite, 0, sink);
        // Timer L (64·T1); Trying100 was cleared by the first response.
        self.run_timers(&key, sink);
        assert_eq!(self.server_transactions(), 0, "sipx-sip: INVITE transaction not dropped");
    }

    /// The whole INVITE server transaction lifecycle.
    pub fn invite_lifecycle(&mut self, invite: &[u8], sink: &mut impl FnMut(&[u8])) {
        let ringing = self.invite_ringing(invite, sink);
        self.invite_answer_and_finish(ringing, invite, sink);
    }

    /// The whole non-INVITE server transaction lifecycle.
    pub fn non_invite_lifecycle(&mut self, request: &[u8], sink: &mut impl FnMut(&[u8])) {
        use sipx_sip::{HeaderName, ResponseBuilder};
        let (key, request_tu) = self.create(request, sink);
        let ok = ResponseBuilder::to_request(&request_tu, sipx_status(200), "OK")
            .and_then(|b| b.set_header(&HeaderName::To, sipx_to_with_tag(&request_tu)))
            .and_then(|b| b.header(HeaderName::Allow, ALLOW))
            .expect("sipx-sip: 200")
            .build();
        drop(request_tu);
        self.respond(&key, ok, sink);
        // Completed: the layer answers a retransmission with its stored 200.
        self.retransmission(request, 1, sink);
        // Timer J (64·T1).
        self.run_timers(&key, sink);
        assert_eq!(self.server_transactions(), 0, "sipx-sip: non-INVITE transaction not dropped");
    }

    /// Drops a transaction without finishing it (`TransactionLayer::abandon`).
    pub fn abandon(&mut self, key: &sipx_sip::TransactionKey) {
        assert!(self.layer.abandon(key), "sipx-sip: nothing to abandon");
        self.timers.pending.clear();
    }
}

// ---------------------------------------------------------------------------------------------
// rsiprtp 0.4.1: `TransactionManager` (RFC 3261 §17), sans-IO, outputs are queued actions
// ---------------------------------------------------------------------------------------------

/// A driver around `rsiprtp::transaction::TransactionManager` over an unreliable transport.
///
/// Calls used: `SipMessage::parse(&[u8])`, `TransactionManager::new(false)` (unreliable),
/// `handle_message(SipMessage)`, `poll_actions() -> Vec<ManagerAction>` (`Send(Bytes)`,
/// `SetTimer`, `CancelTimer`, `Event(handle, InviteRequest | NonInviteRequest)`),
/// `send_response(TransactionHandle, SipResponse)`, `handle_timeout(handle, Timer)`,
/// `handle_transport_error(handle)` and `cleanup_terminated()`; the TU builds responses with
/// `SipResponse::builder().status(..).from_request(&req)` (copies Via, From, To, Call-ID, CSeq),
/// `.to_tag`, `.contact` (takes a URI string and parses it), `.body(Vec<u8>, ..)`, `.allow` and
/// `.build()`. `send_response` serializes the response to `Bytes` itself.
///
/// Differences that matter for reading the numbers:
///
/// * A 2xx to INVITE terminates the transaction at once (no RFC 6026 `Accepted`, no Timer L);
///   the entry lingers until `cleanup_terminated`, which scans every transaction map, so a
///   driver calls it per batch rather than per message. It is called once per lifecycle here.
/// * Transactions are matched on branch and method only (no sent-by).
/// * The manager has no public way to count its transactions; [`Rsiprtp::is_empty`] reads its
///   `Debug` output (checks only, never timed).
#[derive(Debug)]
pub struct Rsiprtp {
    manager: rsiprtp::transaction::TransactionManager,
    timers: TimerList<rsiprtp::transaction::Timer>,
    /// Messages handed to the sink so far, for absorption checks.
    sent: usize,
}

/// What the rsiprtp TU keeps of a ringing INVITE: the handle to answer on and the request.
///
/// The manager exposes no accessor for a server transaction's request, so a TU that wants to
/// answer later must keep the request (or something built from it) itself.
#[derive(Debug)]
pub struct RsiprtpRinging {
    pub handle: rsiprtp::transaction::TransactionHandle,
    pub request: rsiprtp::sip::SipRequest,
}

impl Default for Rsiprtp {
    fn default() -> Self {
        Self::new()
    }
}

impl Rsiprtp {
    /// A manager for an unreliable transport, with its built-in RFC 3261 default timers.
    pub fn new() -> Self {
        Self {
            manager: rsiprtp::transaction::TransactionManager::new(false),
            timers: TimerList::new(),
            sent: 0,
        }
    }

    /// Whether the manager holds no transaction at all. Reads the `Debug` output, because
    /// the manager has no public count: for checks, never inside a timed loop.
    pub fn is_empty(&self) -> bool {
        let debug = format!("{:?}", self.manager);
        ["invite_servers: {}", "non_invite_servers: {}", "id_to_handle: {}"]
            .iter()
            .all(|empty| debug.contains(empty))
    }

    /// The timers the driver still has pending.
    pub fn pending_timers(&self) -> &TimerList<rsiprtp::transaction::Timer> {
        &self.timers
    }

    /// Does what the queued actions say; returns the request handed to the TU, if any.
    fn perform(
        &mut self,
        sink: &mut impl FnMut(&[u8]),
    ) -> Option<(rsiprtp::transaction::TransactionHandle, rsiprtp::sip::SipRequest)> {
        use rsiprtp::transaction::{ManagerAction, ManagerEvent};
        let mut request = None;
        for action in self.manager.poll_actions() {
            match action {
                ManagerAction::Send(bytes) => {
                    sink(&bytes);
                    self.sent += 1;
                }
                ManagerAction::SetTimer(_, timer, after) => self.timers.set(timer, after),
                ManagerAction::CancelTimer(_, timer) => self.timers.clear(timer),
                ManagerAction::Event(
                    handle,
                    ManagerEvent::InviteRequest(r) | ManagerEvent::NonInviteRequest(r),
                ) => request = Some((handle, r)),
                ManagerAction::Event(_, other) => panic!("rsiprtp: unexpected event {other:?}"),
            }
        }
        request
    }

    /// Parses a datagram and routes it.
    fn receive(&mut self, datagram: &[u8]) {
        let message = rsiprtp::sip::SipMessage::parse(datagram).expect("rsiprtp: parse failed");
        self.manager.handle_message(message);
    }

    fn respond(
        &mut self,
        handle: rsiprtp::transaction::TransactionHandle,
        response: rsiprtp::sip::SipResponse,
        sink: &mut impl FnMut(&[u8]),
    ) {
        self.manager.send_response(handle, response);
        assert!(self.perform(sink).is_none(), "rsiprtp: TU event on a response");
    }

    /// Parses a new request, which must create a server transaction and reach the TU.
    fn create(
        &mut self,
        datagram: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) -> (rsiprtp::transaction::TransactionHandle, rsiprtp::sip::SipRequest) {
        self.receive(datagram);
        self.perform(sink).expect("rsiprtp: request did not create a server transaction")
    }

    /// Feeds a retransmission, which must stay away from the TU and make the manager send
    /// exactly `resends` messages.
    fn retransmission(&mut self, datagram: &[u8], resends: usize, sink: &mut impl FnMut(&[u8])) {
        self.receive(datagram);
        let before = self.sent;
        assert!(self.perform(sink).is_none(), "rsiprtp: retransmission reached the TU");
        assert_eq!(self.sent - before, resends, "rsiprtp: wrong response to a retransmission");
    }

    /// Fires pending timers, earliest first, until none is left; then drops terminated
    /// transactions.
    fn run_timers(
        &mut self,
        handle: rsiprtp::transaction::TransactionHandle,
        sink: &mut impl FnMut(&[u8]),
    ) {
        while let Some(timer) = self.timers.pop_earliest() {
            self.manager.handle_timeout(handle, timer);
            self.perform(sink);
        }
        self.manager.cleanup_terminated();
    }

    /// INVITE in; 100 Trying and 180 Ringing out.
    pub fn invite_ringing(
        &mut self,
        invite: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) -> RsiprtpRinging {
        use rsiprtp::sip::SipResponse;
        let (handle, request) = self.create(invite, sink);
        let trying = SipResponse::builder()
            .status(100, "Trying")
            .from_request(&request)
            .build()
            .expect("rsiprtp: 100");
        self.respond(handle, trying, sink);
        let ringing = SipResponse::builder()
            .status(180, "Ringing")
            .from_request(&request)
            .to_tag(TO_TAG)
            .contact(CONTACT_URI)
            .build()
            .expect("rsiprtp: 180");
        self.respond(handle, ringing, sink);
        RsiprtpRinging { handle, request }
    }

    /// 200 OK with SDP (the transaction terminates at once), the retransmitted INVITE
    /// (absorbed only because the terminated entry is still in the map), then
    /// `cleanup_terminated`.
    pub fn invite_answer_and_finish(
        &mut self,
        ringing: RsiprtpRinging,
        invite: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) {
        use rsiprtp::sip::SipResponse;
        let RsiprtpRinging { handle, request } = ringing;
        let ok = SipResponse::builder()
            .status(200, "OK")
            .from_request(&request)
            .to_tag(TO_TAG)
            .contact(CONTACT_URI)
            .body(SDP.to_vec(), "application/sdp")
            .build()
            .expect("rsiprtp: 200");
        drop(request);
        self.respond(handle, ok, sink);
        self.retransmission(invite, 0, sink);
        // No timer is pending after a 2xx: the transaction is already Terminated.
        debug_assert!(self.timers.is_empty(), "rsiprtp: timer pending after 2xx");
        self.run_timers(handle, sink);
    }

    /// The whole INVITE server transaction lifecycle.
    pub fn invite_lifecycle(&mut self, invite: &[u8], sink: &mut impl FnMut(&[u8])) {
        let ringing = self.invite_ringing(invite, sink);
        self.invite_answer_and_finish(ringing, invite, sink);
    }

    /// The whole non-INVITE server transaction lifecycle.
    pub fn non_invite_lifecycle(&mut self, request: &[u8], sink: &mut impl FnMut(&[u8])) {
        use rsiprtp::sip::{Method, SipResponse};
        let (handle, request_tu) = self.create(request, sink);
        let ok = SipResponse::builder()
            .status(200, "OK")
            .from_request(&request_tu)
            .to_tag(TO_TAG)
            .allow(&[Method::Invite, Method::Ack, Method::Cancel, Method::Bye, Method::Options])
            .build()
            .expect("rsiprtp: 200");
        drop(request_tu);
        self.respond(handle, ok, sink);
        // Completed: the manager answers a retransmission with its stored 200.
        self.retransmission(request, 1, sink);
        // Timer J (64·T1), then `cleanup_terminated`.
        self.run_timers(handle, sink);
    }

    /// Drops a transaction without finishing it: rsiprtp has no abandon, so this reports a
    /// transport error for it and cleans up.
    pub fn abandon(&mut self, handle: rsiprtp::transaction::TransactionHandle) {
        self.manager.handle_transport_error(handle);
        // The only action is the TransportError event for the TU.
        drop(self.manager.poll_actions());
        self.timers.pending.clear();
        self.manager.cleanup_terminated();
    }
}
