//! The [`Endpoint`] targets.
//!
//! - [`endpoint_receive`] feeds one endpoint arbitrary messages from a few peers, over UDP
//!   and TCP, at increasing times;
//! - [`endpoint_ops`] plays a scripted caller, whose requests match the endpoint's dialogs,
//!   and the application, through the [`Invitation`] view, against one endpoint.
//!
//! Both drive the endpoint as a driver must (drain after every input, arm the one timer
//! `poll_timeout` names) through [`Driver`], which checks the loop's invariants at every
//! step and, once the inputs stop, that time alone empties the endpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use sipwire::ua::{
    AcceptOptions, Config, DefaultAnswers, EndReason, Event, Invitation, InvitationError,
    InvitationId, InvitationState, ProgressOptions, RedirectOptions, RejectOptions, RequestId,
    RequestKind, RequestOptions, ResponseOptions,
};
use sipwire::{
    Endpoint, HeaderName, Input, Message, Method, Output, ParseOptions, TransactionId, Transport,
};

/// The endpoint's Contact, and the Request-URI of the caller's requests.
const CONTACT: &str = "sip:bob@192.0.2.2:5060";

/// Where messages come from: two ports of one host, another host, an IPv6 host.
const PEERS: [&str; 4] =
    ["192.0.2.1:5060", "192.0.2.1:5070", "192.0.2.3:5060", "[2001:db8::1]:5060"];

/// Most timer firings in one stretch of time before the harness calls it a livelock.
const MAX_FIRINGS: usize = 100_000;

/// How long [`endpoint_receive`] lets time run after the last input: more than the
/// no-answer time (60 s), the final response's retransmissions (64·T1) and the linger
/// of an ended invitation (64·T1) put end to end.
const RECEIVE_DRAIN: Duration = Duration::from_secs(300);

/// How long [`endpoint_ops`] lets time run once the caller and the application finished:
/// more than an ACK wait (64·T1), the BYE it leads to (64·T1), the linger (64·T1) and
/// the INVITE transaction's Timer L (64·T1) put end to end.
const OPS_DRAIN: Duration = Duration::from_secs(600);

const SDP_OFFER: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\n\
    c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
const SDP_ANSWER: &str = "v=0\r\no=bob 2808844564 2808844564 IN IP4 192.0.2.2\r\ns=-\r\n\
    c=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

fn peer(i: u8) -> SocketAddr {
    PEERS[usize::from(i) % PEERS.len()].parse().expect("a socket address")
}

fn lenient() -> ParseOptions {
    let mut o = ParseOptions::DEFAULT;
    o.validate = false;
    o
}

/// An output of the endpoint, as the harness keeps it.
#[derive(Debug)]
enum Seen {
    Sent { to: SocketAddr, transport: Transport, message: Box<Message> },
    Event(Event),
}

/// One endpoint on a virtual clock, driven by the rules of the sans-IO loop, checking
/// them as it goes.
struct Driver {
    ep: Endpoint,
    t0: Instant,
    now: Instant,
    /// What the endpoint sent (parsed: it must parse) and told, in order, since the
    /// harness last looked.
    seen: Vec<Seen>,
    /// The transactions of the latest transmits, newest last.
    transactions: Vec<TransactionId>,
    /// Every invitation the endpoint announced, and those it ended and those ACKed:
    /// each happens at most once per id.
    announced: BTreeSet<InvitationId>,
    terminated: BTreeSet<InvitationId>,
    acked: BTreeSet<InvitationId>,
    /// The peer's requests the endpoint announced ([`Event::Request`]).
    incoming: BTreeMap<(InvitationId, RequestId), Announced>,
    /// The application's requests ([`Invitation::re_invite`] …): how many final
    /// [`Event::Response`]s each had since it was last sent (first, or after a glare).
    outgoing: BTreeMap<(InvitationId, RequestId), u8>,
    /// `SIPWIRE_FUZZ_TRACE` is set: print every input, transmit and event.
    trace: bool,
}

/// A request of the peer's that the endpoint announced with [`Event::Request`].
#[derive(Debug)]
struct Announced {
    kind: RequestKind,
    at: Instant,
    call_id: String,
    /// Its transaction on the wire: top Via branch, CSeq method, To tag.
    key: WireKey,
    /// The application's `respond`, the default answer or the CANCEL's 487 gave it its
    /// final response (a BYE's 487 leaves no event, so is not counted).
    answered: bool,
}

/// A request's transaction as the peer tells its responses apart: top Via branch, CSeq
/// method, To tag.
type WireKey = (String, String, String);

fn wire_key(m: &Message) -> Option<WireKey> {
    let branch = m.top_via().ok()?.branch()?.to_owned();
    let method = m.cseq().ok()?.method.as_str().to_owned();
    let tag = m.to_tag().ok()?.unwrap_or_default().to_owned();
    Some((branch, method, tag))
}

impl Driver {
    fn new(config: Config) -> Self {
        #[allow(clippy::disallowed_methods)] // the virtual clock's epoch
        let t0 = Instant::now();
        Self {
            ep: Endpoint::new(config),
            t0,
            now: t0,
            seen: Vec::new(),
            transactions: Vec::new(),
            announced: BTreeSet::new(),
            terminated: BTreeSet::new(),
            acked: BTreeSet::new(),
            incoming: BTreeMap::new(),
            outgoing: BTreeMap::new(),
            trace: std::env::var_os("SIPWIRE_FUZZ_TRACE").is_some(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Feeds one input at the current time and drains.
    fn input(&mut self, input: Input) {
        if self.trace {
            match &input {
                Input::Received { source, transport, payload } => eprintln!(
                    "{:>9.3?} <- {source} {transport:?}\n{}",
                    self.elapsed(),
                    String::from_utf8_lossy(payload).trim_end()
                ),
                other => eprintln!("{:>9.3?} <- {other:?}", self.elapsed()),
            }
        }
        self.ep.handle_input(self.now, input);
        self.drain();
    }

    /// Moves the clock to `to`, firing every deadline on the way at its time, as a
    /// driver's one timer would.
    fn run_until(&mut self, to: Instant) {
        for _ in 0..MAX_FIRINGS {
            match self.ep.poll_timeout() {
                Some(at) if at <= to => self.fire(at),
                _ => {
                    self.now = self.now.max(to);
                    return;
                }
            }
        }
        panic!("more than {MAX_FIRINGS} timer firings before {:?}", to - self.t0);
    }

    /// Fires the timers due at `at` (a late driver may pass a time well past them).
    fn fire(&mut self, at: Instant) {
        self.now = self.now.max(at);
        if self.trace {
            eprintln!("{:>9.3?} timeout", self.elapsed());
        }
        self.ep.handle_timeout(self.now);
        self.drain();
        if let Some(next) = self.ep.poll_timeout() {
            assert!(
                next > self.now,
                "handle_timeout at {:?} left a deadline it should have fired ({:?})",
                self.elapsed(),
                next - self.t0
            );
        }
    }

    /// Takes every output, checking each, then the deadline and the counts.
    fn drain(&mut self) {
        while let Some(output) = self.ep.poll_output() {
            match output {
                Output::Transmit(t) => {
                    let parsed = Message::parse_with(t.payload.clone(), &lenient());
                    if self.trace {
                        let text = String::from_utf8_lossy(&t.payload);
                        let line = text.lines().next().unwrap_or_default();
                        eprintln!("{:>9.3?} -> {} {line}", self.elapsed(), t.destination);
                    }
                    let m = parsed.unwrap_or_else(|e| {
                        panic!(
                            "the endpoint sent bytes that do not parse ({e}): {:?}",
                            String::from_utf8_lossy(&t.payload)
                        )
                    });
                    if let Some(id) = t.transaction {
                        if self.transactions.len() >= 8 {
                            self.transactions.remove(0);
                        }
                        self.transactions.push(id);
                    }
                    let (to, transport) = (t.destination, t.transport);
                    self.seen.push(Seen::Sent { to, transport, message: Box::new(m) });
                }
                Output::Event(e) => {
                    if self.trace {
                        eprintln!("{:>9.3?} event {e:?}", self.elapsed());
                    }
                    self.check_event(&e);
                    self.seen.push(Seen::Event(e));
                }
            }
        }
        if let Some(at) = self.ep.poll_timeout() {
            assert!(
                at >= self.now,
                "a deadline {:?} in the past at {:?}",
                self.now - at,
                self.elapsed()
            );
        }
        assert!(
            self.ep.dialog_count() <= self.ep.invitation_count(),
            "{} dialogs for {} invitations",
            self.ep.dialog_count(),
            self.ep.invitation_count()
        );
    }

    fn check_event(&mut self, e: &Event) {
        if let Some(id) = e.invitation() {
            assert!(!self.terminated.contains(&id), "{e:?} after {id:?} was Terminated");
        }
        self.check_session_event(e);
        match *e {
            Event::Invitation { id } => {
                assert!(self.announced.insert(id), "{id:?} announced twice");
                assert!(self.ep.invitation(id).is_some(), "{id:?} announced but not there");
            }
            Event::Terminated { id, reason } => {
                assert!(self.terminated.insert(id), "{id:?} terminated twice");
                let state = self.ep.invitation(id).map(|i| (i.state(), i.end_reason()));
                assert_eq!(
                    state,
                    Some((InvitationState::Terminated, Some(reason))),
                    "{id:?} reported Terminated({reason:?})"
                );
            }
            Event::Acked { id, .. } => {
                assert!(self.acked.insert(id), "{id:?} ACKed twice");
            }
            _ => {}
        }
    }

    /// Checks the session's events: each request announced once and answered at most
    /// once, responses and glares only for the application's requests, at most one final
    /// response per send, the 491 back-off of a UA that does not own the Call-ID.
    fn check_session_event(&mut self, e: &Event) {
        let now = self.now;
        match e {
            Event::Request { id, request, kind, message } => {
                let key = (*id, *request);
                let fresh = !self.incoming.contains_key(&key) && !self.outgoing.contains_key(&key);
                assert!(fresh, "{key:?} announced again as a {kind:?}");
                assert_eq!(message.method(), Some(&kind.method()), "{kind:?} announced");
                let announced = Announced {
                    kind: *kind,
                    at: now,
                    call_id: message.call_id().unwrap_or_default().to_owned(),
                    key: wire_key(message).unwrap_or_default(),
                    answered: false,
                };
                self.incoming.insert(key, announced);
            }
            Event::DefaultAnswered { id, request, kind, status } => {
                let a = self.answer((*id, *request), "the default answer");
                assert_eq!(a.kind, *kind, "{request:?} of {id:?} default-answered");
                assert!(now >= a.at + Config::new(CONTACT).request_timeout, "{e:?} too early");
                let d = DefaultAnswers::DEFAULT;
                let expected = match kind {
                    RequestKind::Info => d.info,
                    RequestKind::Message => d.message,
                    RequestKind::Notify => d.notify,
                    RequestKind::Refer => d.refer,
                    _ => d.offer,
                };
                assert_eq!(*status, expected, "{e:?}");
            }
            Event::RequestCancelled { id, request } => {
                let a = self.answer((*id, *request), "CANCEL");
                assert_eq!(a.kind, RequestKind::ReInvite, "{e:?}");
            }
            Event::Response { id, request, kind, response } => {
                let n = self.outgoing.get_mut(&(*id, *request));
                let n = n.unwrap_or_else(|| panic!("{e:?} for a request never sent"));
                assert_eq!(response.cseq().ok().map(|c| c.method), Some(kind.method()), "{e:?}");
                let code = response.status().unwrap_or_default();
                if code >= 200 {
                    *n += 1;
                    assert_eq!(*n, 1, "a second final response for {request:?} of {id:?}");
                }
                // RFC 5057 §5.1: 481 ends the dialog at once; 408 with a BYE.
                let state = self.ep.invitation(*id).map(|i| (i.state(), i.end_reason()));
                let ended = match code {
                    481 => state.is_none_or(|s| {
                        s == (InvitationState::Terminated, Some(EndReason::DialogFailed(Some(481))))
                    }),
                    408 => state.is_none_or(|(s, _)| {
                        matches!(s, InvitationState::Terminating | InvitationState::Terminated)
                    }),
                    _ => true,
                };
                assert!(ended, "{e:?} left the invitation {state:?}");
            }
            Event::Glare { id, request, retry_at } => {
                let n = self.outgoing.get_mut(&(*id, *request));
                let n = n.unwrap_or_else(|| panic!("{e:?} for a request never sent"));
                *n = 0;
                // §14.1: we do not own the Call-ID (the peer made the call): 0–2 s.
                assert!(
                    *retry_at >= now && *retry_at <= now + Duration::from_secs(2),
                    "{e:?} at {:?}",
                    self.elapsed()
                );
            }
            Event::RequestTimeout { id, request, .. } => {
                assert!(self.outgoing.contains_key(&(*id, *request)), "{e:?}: never sent");
                let state = self.ep.invitation(*id).map(|i| i.state());
                assert!(
                    matches!(
                        state,
                        Some(InvitationState::Terminating | InvitationState::Terminated) | None
                    ),
                    "{e:?} left the invitation {state:?}"
                );
            }
            _ => {}
        }
    }

    /// Marks a request of the peer's answered by `by`, which must be the first answer.
    fn answer(&mut self, key: (InvitationId, RequestId), by: &str) -> &Announced {
        let a = self.incoming.get_mut(&key);
        let a = a.unwrap_or_else(|| panic!("{by} for {key:?}, which was never announced"));
        assert!(!a.answered, "{by} for {key:?}, which was answered already");
        a.answered = true;
        a
    }

    /// Records a request the application sent, and checks its id is new.
    fn sent(&mut self, id: InvitationId, request: RequestId) {
        let key = (id, request);
        let fresh = !self.incoming.contains_key(&key) && !self.outgoing.contains_key(&key);
        assert!(fresh, "a send returned {key:?}, an id already in use");
        self.outgoing.insert(key, 0);
    }

    /// Checks that nothing is left: no transaction, dialog, invitation or deadline.
    fn assert_drained(&self, after: Duration) {
        let left =
            (self.ep.transaction_count(), self.ep.dialog_count(), self.ep.invitation_count());
        assert_eq!(
            left,
            (0, 0, 0),
            "(transactions, dialogs, invitations) left {after:?} after the last input"
        );
        assert_eq!(self.ep.poll_timeout(), None, "a deadline with nothing left to time");
    }
}

// ---------------------------------------------------------------------------------------
// endpoint_receive

/// Separates the records of an [`endpoint_receive`] input.
pub const RECORD_SEPARATOR: &[u8] = b"\0--next--\0";

/// Most records [`endpoint_receive`] takes from one input.
const MAX_RECORDS: usize = 64;

/// The time unit of a record, by the top three bits of its control byte.
const UNITS: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_millis(10),
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(10),
    Duration::from_secs(60),
];

/// The parts of `data` between [`RECORD_SEPARATOR`]s.
fn records(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        let at = r.windows(RECORD_SEPARATOR.len()).position(|w| w == RECORD_SEPARATOR);
        match at {
            Some(i) => {
                rest = r.get(i + RECORD_SEPARATOR.len()..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// One record of an [`endpoint_receive`] input: what arrives, from where, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Index into the peers (two ports of 192.0.2.1, 192.0.2.3, 2001:db8::1).
    pub peer: u8,
    /// TCP rather than UDP.
    pub tcp: bool,
    /// 0 or 1: a message; 2: the TCP flow to the peer closed (over UDP: a message); 3: the
    /// latest transmit failed.
    pub kind: u8,
    /// Index into the time units (0, 1 ms, 10 ms, 100 ms, 500 ms, 1 s, 10 s, 60 s).
    pub unit: u8,
    /// How many units after the previous record.
    pub delta: u8,
}

impl Record {
    /// A UDP message from peer 0, `ms` milliseconds after the previous one.
    ///
    /// # Panics
    /// If `ms` is not a whole number, below 256, of one of the units.
    #[must_use]
    pub fn after_ms(ms: u64) -> Self {
        let (unit, delta) = (1..8u8)
            .rev()
            .find_map(|u| {
                let unit = UNITS[usize::from(u)].as_millis() as u64;
                let delta = u8::try_from(ms / unit).ok()?;
                ms.is_multiple_of(unit).then_some((u, delta))
            })
            .unwrap_or_else(|| panic!("{ms} ms is no whole number of units below 256"));
        Self { peer: 0, tcp: false, kind: 0, unit, delta }
    }

    /// The record's two leading bytes.
    #[must_use]
    pub const fn header(self) -> [u8; 2] {
        let control =
            (self.peer & 3) | (self.tcp as u8) << 2 | (self.kind & 3) << 3 | self.unit << 5;
        [control, self.delta]
    }

    const fn decode(control: u8, delta: u8) -> Self {
        Self {
            peer: control & 3,
            tcp: control & 4 != 0,
            kind: (control >> 3) & 3,
            unit: control >> 5,
            delta,
        }
    }

    fn step(self) -> Duration {
        UNITS[usize::from(self.unit & 7)] * u32::from(self.delta)
    }

    fn transport(self) -> Transport {
        if self.tcp { Transport::Tcp } else { Transport::Udp }
    }
}

/// Joins records into one [`endpoint_receive`] input.
#[must_use]
pub fn encode_records(records: &[(Record, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (r, payload)) in records.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(RECORD_SEPARATOR);
        }
        out.extend_from_slice(&r.header());
        out.extend_from_slice(payload);
    }
    out
}

fn receive_config() -> Config {
    Config::new(CONTACT)
}

/// Plays one record on `driver`: the clock moves (firing what falls due), then the input.
fn play(driver: &mut Driver, record: Record, payload: &[u8]) {
    driver.run_until(driver.now + record.step());
    let source = peer(record.peer);
    let transport = record.transport();
    let input = match record.kind {
        // Only connection-oriented transports have flows to close.
        2 if record.tcp => Input::FlowClosed { peer: source, transport },
        3 => Input::SendFailed { transaction: driver.transactions.last().copied() },
        _ => Input::received(source, transport, payload.to_vec()),
    };
    driver.input(input);
}

/// Feeds one endpoint the records of `data` (see [`Record`]: two bytes of source,
/// transport, kind and time, then the message, up to the next [`RECORD_SEPARATOR`]),
/// firing each deadline that falls between them. Checks that nothing panics, that every
/// transmit parses, that no deadline is ever in the past, that events are consistent
/// with the invitations' states, and that once the inputs stop, time alone drains the
/// endpoint to no transaction, dialog or invitation.
pub fn endpoint_receive(data: &[u8]) {
    let mut driver = Driver::new(receive_config());
    for record in records(data).take(MAX_RECORDS) {
        let [control, delta, payload @ ..] = record else { continue };
        play(&mut driver, Record::decode(*control, *delta), payload);
    }
    driver.run_until(driver.now + RECEIVE_DRAIN);
    driver.assert_drained(RECEIVE_DRAIN);
}

// ---------------------------------------------------------------------------------------
// The scripted caller

/// One call as the scripted caller sees it: what it sent, and what it learnt from the
/// endpoint's responses (To tag, RSeqs, final status) to build requests that match.
#[derive(Debug, Clone)]
struct Leg {
    call_id: String,
    from_tag: String,
    peer: u8,
    transport: Transport,
    invite_cseq: u32,
    /// The CSeq of the caller's latest request in the dialog.
    cseq: u32,
    branches: u32,
    invite_branch: String,
    offer: bool,
    invite: Vec<u8>,
    last: Vec<u8>,
    to_tag: Option<String>,
    rseqs: Vec<u32>,
    final_code: Option<u16>,
    /// Our final response carried an offer (the INVITE had none): the ACK answers it.
    answer_due: bool,
    /// The reliable provisional that carried our offer (the INVITE had none).
    offer_rseq: Option<u32>,
    /// The RSeqs the caller PRACKed on its own.
    pracked: Vec<u32>,
    /// The caller ACKed the final response.
    acked: bool,
    /// The endpoint's BYEs (by branch) and whether the caller answered them.
    byes: Vec<(Message, bool)>,
    invitation: Option<InvitationId>,
    record_route: bool,
    /// By To tag: the final response and the latest RSeq the endpoint sent.
    finals: Vec<(String, u16)>,
    latest_rseq: Vec<(String, u32)>,
    /// The harness sent bytes of its own making for this call (a mutation, garbage with
    /// its Call-ID): what comes back is no longer checked against what the caller sent.
    tainted: bool,
    /// The caller's latest re-INVITE: its branch, CSeq, whether it carried an offer, and
    /// the final response it got.
    reinvite: Option<ReInvite>,
    /// The endpoint's requests in the dialog but BYE and ACK, and whether the caller
    /// answered each with a final response.
    requests: Vec<(Message, bool)>,
    /// The CSeqs of the endpoint's REFERs: the `id` of their NOTIFYs.
    refers: Vec<u32>,
    /// By transaction ([`WireKey`]), the final status the endpoint answered each of the
    /// caller's requests with: one, whoever sent it (the application, a default, a 487).
    answers: BTreeMap<WireKey, u16>,
    /// When the caller first sent each of its requests (by branch); requests sent again
    /// once their transaction may have ended (over TCP, after 31 s, or when the endpoint
    /// answers statelessly) are new transactions and left out of `answers`.
    sent_at: BTreeMap<String, Instant>,
    exempt: BTreeSet<String>,
}

/// The caller's re-INVITE.
#[derive(Debug, Clone)]
struct ReInvite {
    branch: String,
    cseq: u32,
    offer: bool,
    final_code: Option<u16>,
    acked: bool,
}

/// Which method the caller sends in the dialog.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum PeerMethod {
    ReInvite,
    Update,
    Info,
    Message,
    Refer,
    Notify,
    /// Known, not allowed: 405.
    Subscribe,
    /// Unknown: 501.
    Unknown,
}

/// The body of a request the caller sends in the dialog.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum BodySpec {
    None,
    /// What the method carries: SDP for re-INVITE and UPDATE, sipfrag for NOTIFY, text
    /// for MESSAGE, DTMF for INFO.
    Natural,
    Sdp,
    /// A type the endpoint does not accept: 415.
    Unaccepted,
    /// SDP with `Content-Disposition: render`: not a session description.
    Render,
}

/// The CSeq of a request the caller sends in the dialog.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum CSeqSpec {
    Next,
    /// The caller's latest again (equal is in order, §12.2.2).
    Same,
    /// Below the INVITE's: out of order.
    Stale,
}

/// What is odd about a request the caller sends in the dialog.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Quirk {
    None,
    /// REFER without Refer-To; NOTIFY without Event.
    Missing,
    /// REFER with two Refer-To.
    Double,
    /// NOTIFY for another event package.
    WrongEvent,
    /// NOTIFY `Event: refer` without an id.
    NoId,
    /// NOTIFY for a REFER the endpoint never sent.
    WrongId,
    /// NOTIFY with `Subscription-State: terminated`.
    Terminated,
    /// A Require the endpoint does not support: 420.
    Require,
}

/// How the caller answers one of the endpoint's requests.
const PEER_CODES: [u16; 12] = [100, 180, 200, 202, 200, 491, 481, 408, 500, 603, 488, 200];

/// How the caller offers 100rel.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Rel100Spec {
    None,
    Supported,
    Required,
}

/// Which To tag an in-dialog request carries.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum TagSpec {
    Right,
    Missing,
    Wrong,
}

/// Which RAck a PRACK carries.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum RackSpec {
    Latest,
    First,
    Next,
    WrongCSeq,
    WrongMethod,
    Missing,
}

impl Leg {
    fn new(n: usize, peer: u8, tcp: bool, offer: bool) -> Self {
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        let cseq = 1 + (n as u32 * 7) % 50;
        Self {
            call_id: format!("call{n}@192.0.2.1"),
            from_tag: format!("alice{n}"),
            peer,
            transport,
            invite_cseq: cseq,
            cseq,
            branches: 0,
            invite_branch: format!("z9hG4bKinv{n}"),
            offer,
            invite: Vec::new(),
            last: Vec::new(),
            to_tag: None,
            rseqs: Vec::new(),
            final_code: None,
            answer_due: false,
            offer_rseq: None,
            pracked: Vec::new(),
            acked: false,
            byes: Vec::new(),
            invitation: None,
            record_route: false,
            finals: Vec::new(),
            latest_rseq: Vec::new(),
            tainted: false,
            reinvite: None,
            requests: Vec::new(),
            refers: Vec::new(),
            answers: BTreeMap::new(),
            sent_at: BTreeMap::new(),
            exempt: BTreeSet::new(),
        }
    }

    fn source(&self) -> SocketAddr {
        peer(self.peer)
    }

    fn next_branch(&mut self) -> String {
        self.branches += 1;
        format!("{}.{}", self.invite_branch, self.branches)
    }

    /// A request of the call: `cseq` with `cseq_method`, `to_tag` on the To, `extra`
    /// header lines and an optional SDP body.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: &str,
        branch: &str,
        cseq: u32,
        cseq_method: &str,
        to_tag: Option<&str>,
        extra: &str,
        body: Option<&str>,
    ) -> Vec<u8> {
        let body = body.map(|b| ("Content-Type: application/sdp\r\n", b));
        self.request_typed(method, branch, cseq, cseq_method, to_tag, extra, body)
    }

    /// [`Leg::request`] with a body of any type: its header lines, and itself.
    #[allow(clippy::too_many_arguments)]
    fn request_typed(
        &self,
        method: &str,
        branch: &str,
        cseq: u32,
        cseq_method: &str,
        to_tag: Option<&str>,
        extra: &str,
        body: Option<(&str, &str)>,
    ) -> Vec<u8> {
        let src = self.source();
        let (via, param) = match self.transport {
            Transport::Tcp => ("TCP", ";transport=tcp"),
            _ => ("UDP", ""),
        };
        let to = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        let (ct, body) = body.unwrap_or(("", ""));
        format!(
            "{method} {CONTACT} SIP/2.0\r\n\
             Via: SIP/2.0/{via} {src};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"Alice\" <sip:alice@example.com>;tag={}\r\n\
             To: <sip:bob@example.com>{to}\r\n\
             Call-ID: {}\r\n\
             CSeq: {cseq} {cseq_method}\r\n\
             Contact: <sip:alice@{src}{param}>\r\n\
             {extra}{ct}Content-Length: {}\r\n\r\n{body}",
            self.from_tag,
            self.call_id,
            body.len()
        )
        .into_bytes()
    }

    fn invite(&mut self, rel100: Rel100Spec, expires: Option<u8>, record_route: bool) -> Vec<u8> {
        let mut extra = String::new();
        match rel100 {
            Rel100Spec::None => {}
            Rel100Spec::Supported => extra.push_str("Supported: 100rel, timer\r\n"),
            Rel100Spec::Required => extra.push_str("Require: 100rel\r\nSupported: timer\r\n"),
        }
        if let Some(s) = expires {
            extra.push_str(&format!("Expires: {s}\r\n"));
        }
        if record_route {
            extra.push_str("Record-Route: <sip:192.0.2.50;lr>\r\n");
        }
        self.record_route = record_route;
        let body = self.offer.then_some(SDP_OFFER);
        let branch = self.invite_branch.clone();
        let bytes = self.request("INVITE", &branch, self.invite_cseq, "INVITE", None, &extra, body);
        self.invite.clone_from(&bytes);
        bytes
    }

    /// The ACK: for a 2xx in a transaction of its own, for a 3xx–6xx in the INVITE's.
    fn ack(&mut self, body: bool, right_cseq: bool) -> Vec<u8> {
        let success = self.final_code.is_some_and(|c| c < 300);
        let branch = if success { self.next_branch() } else { self.invite_branch.clone() };
        let cseq = if right_cseq { self.invite_cseq } else { self.invite_cseq + 1 };
        let tag = self.to_tag.clone();
        let body = body.then_some(SDP_ANSWER);
        self.request("ACK", &branch, cseq, "ACK", tag.as_deref(), "", body)
    }

    fn bye(&mut self, tag: TagSpec, stale: bool) -> Vec<u8> {
        let branch = self.next_branch();
        let cseq = if stale {
            // Below the INVITE's: out of order (§12.2.2).
            self.invite_cseq.saturating_sub(1)
        } else {
            self.cseq += 1;
            self.cseq
        };
        let tag = match tag {
            TagSpec::Right => self.to_tag.clone(),
            TagSpec::Missing => None,
            TagSpec::Wrong => Some("not-ours".to_owned()),
        };
        self.request("BYE", &branch, cseq, "BYE", tag.as_deref(), "", None)
    }

    fn cancel(&self) -> Vec<u8> {
        self.request("CANCEL", &self.invite_branch, self.invite_cseq, "CANCEL", None, "", None)
    }

    /// A PRACK for the reliable provisional `rseq`.
    fn prack_rseq(&mut self, rseq: u32, body: bool) -> Vec<u8> {
        let branch = self.next_branch();
        self.cseq += 1;
        let rack = format!("RAck: {rseq} {} INVITE\r\n", self.invite_cseq);
        let tag = self.to_tag.clone();
        let body = body.then_some(SDP_ANSWER);
        self.request("PRACK", &branch, self.cseq, "PRACK", tag.as_deref(), &rack, body)
    }

    fn prack(&mut self, rack: RackSpec, body: bool) -> Vec<u8> {
        let branch = self.next_branch();
        self.cseq += 1;
        let latest = self.rseqs.last().copied().unwrap_or(1);
        let first = self.rseqs.first().copied().unwrap_or(1);
        let invite = self.invite_cseq;
        let rack = match rack {
            RackSpec::Latest => format!("RAck: {latest} {invite} INVITE\r\n"),
            RackSpec::First => format!("RAck: {first} {invite} INVITE\r\n"),
            RackSpec::Next => format!("RAck: {} {invite} INVITE\r\n", latest.wrapping_add(1)),
            RackSpec::WrongCSeq => format!("RAck: {latest} {} INVITE\r\n", invite + 1),
            RackSpec::WrongMethod => format!("RAck: {latest} {invite} BYE\r\n"),
            RackSpec::Missing => String::new(),
        };
        let tag = self.to_tag.clone();
        let body = body.then_some(SDP_ANSWER);
        self.request("PRACK", &branch, self.cseq, "PRACK", tag.as_deref(), &rack, body)
    }

    fn options(&mut self, in_dialog: bool) -> Vec<u8> {
        let branch = self.next_branch();
        self.cseq += 1;
        let tag = if in_dialog { self.to_tag.clone() } else { None };
        self.request("OPTIONS", &branch, self.cseq, "OPTIONS", tag.as_deref(), "", None)
    }

    /// A request of the caller's in the dialog (§12.2.1.1): `method` with `body`, `cseq`
    /// and `tag` as asked, and `quirk`.
    fn in_dialog(
        &mut self,
        method: PeerMethod,
        body: BodySpec,
        cseq: CSeqSpec,
        tag: TagSpec,
        quirk: Quirk,
    ) -> Vec<u8> {
        let branch = self.next_branch();
        let cseq = match cseq {
            CSeqSpec::Next => {
                self.cseq += 1;
                self.cseq
            }
            CSeqSpec::Same => self.cseq,
            CSeqSpec::Stale => self.invite_cseq.saturating_sub(1),
        };
        let tag = match tag {
            TagSpec::Right => self.to_tag.clone(),
            TagSpec::Missing => None,
            TagSpec::Wrong => Some("not-ours".to_owned()),
        };
        let name = match method {
            PeerMethod::ReInvite => "INVITE",
            PeerMethod::Update => "UPDATE",
            PeerMethod::Info => "INFO",
            PeerMethod::Message => "MESSAGE",
            PeerMethod::Refer => "REFER",
            PeerMethod::Notify => "NOTIFY",
            PeerMethod::Subscribe => "SUBSCRIBE",
            PeerMethod::Unknown => "FOO",
        };
        let mut extra = String::new();
        match (method, quirk) {
            (PeerMethod::Refer, Quirk::Missing) => {}
            (PeerMethod::Refer, Quirk::Double) => extra
                .push_str("Refer-To: <sip:carol@192.0.2.3>\r\nRefer-To: <sip:dave@192.0.2.4>\r\n"),
            (PeerMethod::Refer, _) => extra.push_str("Refer-To: <sip:carol@192.0.2.3>\r\n"),
            (PeerMethod::Notify | PeerMethod::Subscribe, quirk) => {
                let id = self.refers.last().copied().unwrap_or(1);
                match quirk {
                    Quirk::Missing => {}
                    Quirk::WrongEvent => extra.push_str("Event: dialog\r\n"),
                    Quirk::NoId => extra.push_str("Event: refer\r\n"),
                    Quirk::WrongId => {
                        extra.push_str(&format!("Event: refer;id={}\r\n", id + 1000));
                    }
                    _ => extra.push_str(&format!("Event: refer;id={id}\r\n")),
                }
                let state = if matches!(quirk, Quirk::Terminated) {
                    "terminated;reason=noresource"
                } else {
                    "active;expires=60"
                };
                extra.push_str(&format!("Subscription-State: {state}\r\n"));
            }
            _ => {}
        }
        if matches!(quirk, Quirk::Require) {
            extra.push_str("Require: foo\r\n");
        }
        const SDP: &str = "Content-Type: application/sdp\r\n";
        let natural = match method {
            PeerMethod::ReInvite | PeerMethod::Update => (SDP, SDP_OFFER),
            PeerMethod::Notify => ("Content-Type: message/sipfrag\r\n", "SIP/2.0 200 OK\r\n"),
            PeerMethod::Info => {
                ("Content-Type: application/dtmf-relay\r\n", "Signal=5\r\nDuration=160\r\n")
            }
            _ => ("Content-Type: text/plain\r\n", "hello"),
        };
        let body = match body {
            BodySpec::None => None,
            BodySpec::Natural => Some(natural),
            BodySpec::Sdp => Some((SDP, SDP_OFFER)),
            BodySpec::Unaccepted => Some(("Content-Type: application/x-fuzz\r\n", "?")),
            BodySpec::Render => Some((
                "Content-Type: application/sdp\r\nContent-Disposition: render\r\n",
                SDP_OFFER,
            )),
        };
        if matches!(method, PeerMethod::ReInvite) {
            let offer = matches!(body, Some((SDP, _)));
            let reinvite =
                ReInvite { branch: branch.clone(), cseq, offer, final_code: None, acked: false };
            self.reinvite = Some(reinvite);
        }
        self.request_typed(name, &branch, cseq, name, tag.as_deref(), &extra, body)
    }

    /// A CANCEL of the caller's latest re-INVITE.
    fn cancel_reinvite(&self) -> Option<Vec<u8>> {
        let r = self.reinvite.as_ref()?;
        let tag = self.to_tag.as_deref();
        Some(self.request("CANCEL", &r.branch, r.cseq, "CANCEL", tag, "", None))
    }

    /// The ACK of the final response to the caller's latest re-INVITE: in a transaction of
    /// its own for a 2xx (with the answer when `body`), in the re-INVITE's otherwise.
    fn ack_reinvite(&mut self, body: bool, right_cseq: bool) -> Option<Vec<u8>> {
        let r = self.reinvite.clone()?;
        let success = r.final_code.is_some_and(|c| c < 300);
        let branch = if success { self.next_branch() } else { r.branch };
        let cseq = if right_cseq { r.cseq } else { r.cseq + 1 };
        let tag = self.to_tag.clone();
        let body = body.then_some(SDP_ANSWER);
        if let Some(r) = &mut self.reinvite {
            r.acked = true;
        }
        Some(self.request("ACK", &branch, cseq, "ACK", tag.as_deref(), "", body))
    }

    /// The caller's response `code` to request `m` of the endpoint's: a 2xx to a
    /// re-INVITE or UPDATE carries a Contact, and SDP when `body`.
    fn answer(m: &Message, code: u16, body: bool, contact: &str) -> Option<Vec<u8>> {
        let mut b = m.reply(code);
        let offers = matches!(m.method(), Some(Method::Invite | Method::Update));
        if offers && (200..300).contains(&code) {
            b = b.header(HeaderName::Contact, format!("<{contact}>"));
        }
        if body {
            b = b.body("application/sdp", SDP_ANSWER);
        }
        Some(b.build().ok()?.as_bytes().to_vec())
    }

    /// The endpoint made a new invitation of this call's INVITE (the first, or one sent
    /// again after its transaction ended): what the caller learnt is about the old one.
    fn new_invitation(&mut self, id: InvitationId, to_tag: String) {
        self.invitation = Some(id);
        self.to_tag = Some(to_tag);
        self.rseqs.clear();
        self.final_code = None;
        self.answer_due = false;
        self.offer_rseq = None;
        self.pracked.clear();
        self.acked = false;
    }

    /// The caller's Contact URI: the remote target of the endpoint's requests.
    fn contact_uri(&self) -> String {
        let param = if self.transport == Transport::Tcp { ";transport=tcp" } else { "" };
        format!("sip:alice@{}{param}", self.source())
    }

    /// Learns from one message the endpoint sent for this call (to `to` over
    /// `transport`), checking it against what the caller sent.
    fn learn(&mut self, m: &Message, to: SocketAddr, transport: Transport) {
        let context =
            || format!("{} to {to}:\n{}", self.call_id, String::from_utf8_lossy(m.as_bytes()));
        let branch = |m: &Message| m.top_via().ok().and_then(|v| v.branch().map(str::to_owned));
        if let Some(method) = m.method() {
            if !self.tainted {
                self.check_request(m, to, transport);
            }
            if *method == Method::Bye {
                if !self.byes.iter().any(|(b, _)| branch(b) == branch(m)) {
                    self.byes.push((m.clone(), false));
                }
            } else if *method != Method::Ack
                && !self.requests.iter().any(|(r, _)| branch(r) == branch(m))
            {
                if *method == Method::Refer
                    && let Ok(c) = m.cseq()
                {
                    self.refers.push(c.seq);
                }
                self.requests.push((m.clone(), false));
            }
            return;
        }
        let Some(code) = m.status() else { return };
        if code >= 200
            && !self.tainted
            && let Some(key) = wire_key(m)
            && !self.exempt.contains(&key.0)
        {
            // Each request of the caller's gets one final status, whoever sends it: the
            // application, a default answer, a CANCEL's or a BYE's 487, a rule of the core.
            let first = *self.answers.entry(key).or_insert(code);
            assert_eq!(first, code, "a second final status: {}", context());
        }
        let ours = m.top_via().is_ok_and(|v| {
            v.branch().is_some_and(|b| b.starts_with(self.invite_branch.as_str()))
                && v.rport().is_some()
        });
        if ours && !self.tainted {
            // rport: the response goes back where the request came from (RFC 3581).
            assert_eq!((to, transport), (self.source(), self.transport), "{}", context());
        }
        let reinvite = m.cseq().is_ok_and(|c| c.method == Method::Invite)
            && branch(m).is_some_and(|b| b != self.invite_branch);
        if reinvite {
            if let Some(r) = &mut self.reinvite
                && branch(m).as_deref() == Some(r.branch.as_str())
                && code >= 200
                && r.final_code.is_none()
            {
                r.final_code = Some(code);
            }
            return;
        }
        if m.cseq().map(|c| c.method) != Ok(Method::Invite) {
            return;
        }
        let tag = m.to_tag().ok().flatten().map(str::to_owned);
        if code > 100
            && let Some(tag) = &tag
        {
            self.to_tag = Some(tag.clone());
        }
        if (101..300).contains(&code) && tag.is_some() {
            // §12.1.1: a response that makes a dialog carries the UAS's Contact.
            assert!(m.header(HeaderName::Contact).is_some(), "no Contact: {}", context());
        }
        if let Some(tag) = tag.filter(|_| !self.tainted && code >= 200) {
            // One INVITE, one final response (its retransmissions aside), whatever the
            // races between CANCEL, BYE, timers and the application.
            match self.finals.iter().find(|(t, _)| *t == tag) {
                Some((_, first)) => assert_eq!(*first, code, "a second final: {}", context()),
                None => self.finals.push((tag, code)),
            }
        }
        if let Ok(Some(rseq)) = m.rseq()
            && let Ok(Some(tag)) = m.to_tag()
            && !self.tainted
        {
            // RFC 3262 §3: each new reliable provisional's RSeq is the last one plus one.
            match self.latest_rseq.iter_mut().find(|(t, _)| t == tag) {
                Some((_, last)) if rseq == *last => {}
                Some((_, last)) => {
                    assert_eq!(rseq, last.wrapping_add(1), "RSeq out of step: {}", context());
                    *last = rseq;
                }
                None => self.latest_rseq.push((tag.to_owned(), rseq)),
            }
        }
        if let Ok(Some(rseq)) = m.rseq()
            && !self.rseqs.contains(&rseq)
        {
            self.rseqs.push(rseq);
            if !self.offer && self.offer_rseq.is_none() && !m.body().is_empty() {
                self.offer_rseq = Some(rseq);
            }
        }
        if code >= 200 && self.final_code.is_none() {
            self.final_code = Some(code);
            self.answer_due =
                code < 300 && !self.offer && self.offer_rseq.is_none() && !m.body().is_empty();
        }
    }

    /// The endpoint's BYE (or re-INVITE, INFO …) belongs to the dialog its INVITE made
    /// (§12.2.1.1): our tags swapped, our Contact as its Request-URI, sent there or to
    /// the Record-Route.
    fn check_request(&self, m: &Message, to: SocketAddr, transport: Transport) {
        let context =
            || format!("{} to {to}:\n{}", self.call_id, String::from_utf8_lossy(m.as_bytes()));
        let tags = (m.from_tag().ok().flatten(), m.to_tag().ok().flatten());
        let known = self.finals.iter().any(|(t, _)| Some(t.as_str()) == tags.0)
            || self.to_tag.as_deref() == tags.0;
        assert!(known, "a BYE from a tag the call never answered with: {}", context());
        assert_eq!(tags.1, Some(self.from_tag.as_str()), "{}", context());
        assert_eq!(m.request_uri_str(), Some(self.contact_uri().as_str()), "{}", context());
        let proxy: SocketAddr = "192.0.2.50:5060".parse().expect("a socket address");
        let hop = if self.record_route { proxy } else { self.source() };
        assert_eq!(to, hop, "{}", context());
        if !self.record_route {
            assert_eq!(transport, self.transport, "{}", context());
        }
    }
}

// ---------------------------------------------------------------------------------------
// endpoint_ops

/// The endpoint's configuration, and how the caller and application finish.
#[derive(Debug, Arbitrary)]
struct Setup {
    seed: u8,
    auto_trying: bool,
    auto_ringing: bool,
    /// Room for 2 invitations and 8 transactions: the 503 paths.
    small: bool,
    /// No-answer time: 60 s, 1 s, 0 or an hour.
    no_answer: u8,
    user_agent: bool,
    /// Drop `100rel` from our extensions: a `Require: 100rel` gets 420.
    no_100rel: bool,
    /// At the end, the caller ACKs every 2xx (with the answer its offer needs).
    ack_at_end: bool,
    /// At the end, the caller hangs up every call it sees established.
    bye_at_end: bool,
    /// The caller answers the endpoint's BYEs with 200 (as they come, and at the end).
    answer_byes: bool,
    /// The caller PRACKs each reliable provisional as it comes, with the answer when it
    /// carried the offer.
    auto_prack: bool,
    /// The caller ACKs each final response as it comes (its re-INVITEs' too), with the
    /// answer when a 2xx carried the offer.
    auto_ack: bool,
    /// The application answers each of the caller's requests in the dialog as it comes
    /// (200 with SDP where one is due, 202 to REFER); otherwise the default answers do.
    respond_requests: bool,
    /// The caller answers each of the endpoint's requests in the dialog as it comes (200,
    /// with SDP to a re-INVITE and to an UPDATE's offer; 202 to REFER).
    answer_requests: bool,
}

/// Extra options for a response the application sends.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Extra {
    None,
    Header,
    /// A header name that is not a token: the build fails.
    BadName,
    /// A value with CRLF in it: the build fails.
    Injection,
    Reason,
    /// A reason phrase with a control character: the build fails.
    BadReason,
}

macro_rules! decorate {
    ($options:expr, $extra:expr) => {
        match $extra {
            Extra::None => $options,
            Extra::Header => $options.extra_header("X-Fuzz", "1"),
            Extra::BadName => $options.extra_header("Bad Name", "1"),
            Extra::Injection => $options.extra_header("X-Fuzz", "1\r\nX-Injected: 1"),
            Extra::Reason => $options.reason_phrase("Fuzzy"),
            Extra::BadReason => $options.reason_phrase("Fuzzy\r\nX-Injected: 1"),
        }
    };
}

/// One step of [`endpoint_ops`]. `call` picks one of the latest four calls of the caller;
/// `inv` one of the latest four invitations the endpoint announced.
#[derive(Debug, Arbitrary)]
enum Op {
    /// The caller starts a call.
    Invite {
        offer: bool,
        rel100: Rel100Spec,
        peer: u8,
        tcp: bool,
        expires: Option<u8>,
        record_route: bool,
    },
    /// The caller sends its latest request (or the INVITE) again, byte for byte.
    Retransmit {
        call: u8,
        invite: bool,
    },
    /// ACK the final response.
    Ack {
        call: u8,
        body: bool,
        right_cseq: bool,
    },
    Bye {
        call: u8,
        tag: TagSpec,
        stale: bool,
    },
    Cancel {
        call: u8,
    },
    Prack {
        call: u8,
        rack: RackSpec,
        body: bool,
    },
    Options {
        call: u8,
        in_dialog: bool,
    },
    /// The caller answers the endpoint's latest BYE.
    AnswerBye {
        call: u8,
        code: u8,
    },
    /// The caller's latest request with one byte changed.
    Mutate {
        call: u8,
        at: u16,
        byte: u8,
    },
    /// Bytes from nowhere in particular.
    Garbage {
        peer: u8,
        tcp: bool,
        bytes: Vec<u8>,
    },
    FlowClosed {
        call: u8,
    },
    SendFailed {
        pick: u8,
    },
    /// The application.
    Progress {
        inv: u8,
        code: u8,
        rel100: bool,
        body: bool,
        extra: Extra,
    },
    Accept {
        inv: u8,
        code: u8,
        body: bool,
        extra: Extra,
    },
    Reject {
        inv: u8,
        code: u8,
        extra: Extra,
    },
    Redirect {
        inv: u8,
        code: u8,
        contacts: bool,
        extra: Extra,
    },
    HangUp {
        inv: u8,
    },
    Dispose {
        inv: u8,
    },
    /// The caller sends a request in the dialog: re-INVITE, UPDATE, INFO, MESSAGE,
    /// REFER, NOTIFY, or one the endpoint does not take.
    Request {
        call: u8,
        method: PeerMethod,
        body: BodySpec,
        cseq: CSeqSpec,
        tag: TagSpec,
        quirk: Quirk,
    },
    /// The caller cancels its latest re-INVITE.
    CancelReInvite {
        call: u8,
    },
    /// The caller ACKs the final response to its latest re-INVITE.
    AckReInvite {
        call: u8,
        body: bool,
        right_cseq: bool,
    },
    /// The caller answers one of the endpoint's latest four requests in the dialog
    /// (`code` picks from [`PEER_CODES`]).
    Answer {
        call: u8,
        pick: u8,
        code: u8,
        body: bool,
    },
    /// The application answers a request: `req` picks one of the latest eight request
    /// ids seen, of its own invitation, or (top bit) of invitation `inv` instead.
    Respond {
        inv: u8,
        req: u8,
        code: u8,
        body: bool,
        extra: Extra,
    },
    /// The application sends a re-INVITE, UPDATE, INFO or MESSAGE (with an offer or
    /// payload when `body`).
    Send {
        inv: u8,
        kind: SendKind,
        body: bool,
        extra: Extra,
    },
    /// The application sends REFER (a Refer-To that is no URI when `!good`).
    Refer {
        inv: u8,
        good: bool,
        extra: Extra,
    },
    /// The application sends a NOTIFY for a REFER (`req` as for `Respond`).
    Notify {
        inv: u8,
        req: u8,
        code: u8,
        extra: Extra,
    },
    /// The application ACKs the 2xx (with its offer) to an offerless re-INVITE of its own.
    AckOffer {
        inv: u8,
        req: u8,
        body: bool,
    },
    /// The clock moves by `amount` ms (×256 when `coarse`): each deadline fires at its
    /// time (`exact`), or all at once at the end, like a late driver.
    Tick {
        amount: u16,
        coarse: bool,
        exact: bool,
    },
}

/// Which request [`Op::Send`] sends.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum SendKind {
    ReInvite,
    Update,
    Info,
    Message,
}

/// The options of a request the application sends.
fn request_options(extra: Extra, body: Option<(&str, &'static str)>) -> RequestOptions {
    let o = RequestOptions::new();
    let o = match extra {
        Extra::None => o,
        Extra::Header => o.extra_header("X-Fuzz", "1"),
        Extra::BadName => o.extra_header("Bad Name", "1"),
        Extra::Injection => o.extra_header("X-Fuzz", "1\r\nX-Injected: 1"),
        Extra::Reason => o.extra_header("Info-Package", "dtmf"),
        // A NOTIFY that says it ends a subscription.
        Extra::BadReason => o.extra_header("Subscription-State", "terminated"),
    };
    match body {
        Some((content_type, content)) => o.body(content_type, content),
        None => o,
    }
}

/// The status the application answers a request with: common ones most of the time,
/// else one from the edges.
fn respond_code(raw: u8) -> u16 {
    const COMMON: [u16; 12] = [180, 183, 200, 200, 202, 400, 486, 488, 491, 500, 603, 100];
    const ODD: [u16; 8] = [0, 99, 101, 199, 299, 699, 700, 1000];
    if raw < 240 {
        COMMON[usize::from(raw) % COMMON.len()]
    } else {
        ODD[usize::from(raw) % ODD.len()]
    }
}

/// Most operations taken from one input.
const MAX_OPS: usize = 128;
/// Most calls the caller starts.
const MAX_CALLS: usize = 12;

/// A status code in `lo..=hi` most of the time, else one from the edges.
fn code_in(raw: u8, lo: u16, hi: u16) -> u16 {
    const ODD: [u16; 12] = [0, 99, 100, 101, 199, 200, 299, 300, 399, 400, 699, 700];
    if raw < 224 { lo + u16::from(raw) % (hi - lo + 1) } else { ODD[usize::from(raw) % ODD.len()] }
}

/// The `n`th latest of `len` items, among the latest four.
fn recent(n: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| len - 1 - usize::from(n) % len.min(4))
}

/// Which command ran, for the checks on its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Progress(u16),
    Accept(u16),
    Reject(u16),
    Redirect(u16, bool),
    Bye,
    Dispose,
    Respond(u16, bool),
    Send(RequestKind, bool),
    Notify(u16),
    AckOffer(bool),
}

/// The caller, the application and the endpoint between them.
struct Ops {
    driver: Driver,
    legs: Vec<Leg>,
    invitations: Vec<InvitationId>,
    /// What a well-behaved caller does on its own: PRACK, ACK, answer BYE.
    auto_prack: bool,
    auto_ack: bool,
    answer_byes: bool,
    respond_requests: bool,
    answer_requests: bool,
    /// Room for few transactions: the endpoint answers some requests statelessly.
    small: bool,
    /// A flow closed or a send failed: a request may stay unanswered on the wire.
    lossy: bool,
    /// Every request id the application saw (its requests and the caller's), with its
    /// invitation, for `respond`, `notify` and `ack`.
    request_ids: Vec<(InvitationId, RequestId)>,
    /// The caller's requests the application answers on its own ([`Setup::respond_requests`]).
    to_respond: Vec<(InvitationId, RequestId, Box<Message>)>,
}

impl Ops {
    fn send(&mut self, leg: usize, bytes: Vec<u8>) {
        let now = self.driver.now;
        let small = self.small;
        let Some(l) = self.legs.get_mut(leg) else { return };
        l.last.clone_from(&bytes);
        let parsed = Message::parse_with(bytes::Bytes::from(bytes.clone()), &lenient());
        if let Ok(m) = parsed
            && let Some(method) = m.method()
            && let Some(branch) = m.top_via().ok().and_then(|v| v.branch().map(str::to_owned))
        {
            // Sent again once its server transaction may be gone (Timer J over TCP is 0,
            // Timer I after an ACK T4; a stateless answer keeps none): a new transaction,
            // which may well be answered otherwise (a 500 for its CSeq, say).
            if let Some(&first) = l.sent_at.get(&branch) {
                let window = if *method == Method::Invite { 4 } else { 31 };
                let late = now - first >= Duration::from_secs(window);
                if late || small || l.transport.is_reliable() {
                    l.exempt.insert(branch);
                }
            } else {
                l.sent_at.insert(branch, now);
            }
        }
        let (source, transport) = (l.source(), l.transport);
        self.driver.input(Input::received(source, transport, bytes));
        self.learn();
    }

    /// Routes what the endpoint sent to the caller's calls, and its new invitations to
    /// the application; then the caller reacts as it was told to.
    fn learn(&mut self) {
        for seen in std::mem::take(&mut self.driver.seen) {
            match seen {
                Seen::Sent { to, transport, message: m } => {
                    let Ok(call_id) = m.call_id() else { continue };
                    if let Some(leg) = self.legs.iter_mut().find(|l| l.call_id == call_id) {
                        leg.learn(&m, to, transport);
                    }
                }
                Seen::Event(e) => self.learn_event(e),
            }
        }
        self.react();
    }

    /// The caller's own reactions: PRACK each new reliable provisional, ACK each final
    /// response, answer each BYE.
    fn react(&mut self) {
        for i in 0..self.legs.len() {
            let l = &mut self.legs[i];
            let mut out = Vec::new();
            if self.auto_prack && l.final_code.is_none() {
                for rseq in l.rseqs.clone() {
                    if !l.pracked.contains(&rseq) {
                        l.pracked.push(rseq);
                        let body = l.offer_rseq == Some(rseq);
                        out.push(l.prack_rseq(rseq, body));
                    }
                }
            }
            if self.auto_ack && l.final_code.is_some() && !l.acked {
                l.acked = true;
                let body = l.answer_due;
                out.push(l.ack(body, true));
            }
            if self.auto_ack
                && let Some(r) = &l.reinvite
                && let Some(code) = r.final_code.filter(|_| !r.acked)
            {
                let body = code < 300 && !r.offer;
                out.extend(l.ack_reinvite(body, true));
            }
            if self.answer_requests {
                let contact = l.contact_uri();
                for (m, answered) in l.requests.iter_mut().filter(|(_, a)| !*a) {
                    *answered = true;
                    let code = if m.method() == Some(&Method::Refer) { 202 } else { 200 };
                    let body = match m.method() {
                        Some(Method::Invite) => true,
                        Some(Method::Update) => !m.body().is_empty(),
                        _ => false,
                    };
                    out.extend(Leg::answer(m, code, body, &contact));
                }
            }
            let bye = self.answer_byes && l.byes.last().is_some_and(|(_, answered)| !answered);
            for bytes in out {
                self.send(i, bytes);
            }
            if bye {
                self.answer_bye(i, 200);
            }
        }
        for (id, request, m) in std::mem::take(&mut self.to_respond) {
            let kind = m.method().and_then(RequestKind::of);
            let offer = !m.body().is_empty() && matches!(m.content_disposition(), Ok(None));
            let code = if kind == Some(RequestKind::Refer) { 202 } else { 200 };
            let mut o = ResponseOptions::new().status_code(code);
            let body = match kind {
                Some(RequestKind::ReInvite) => true,
                Some(RequestKind::Update) => offer,
                _ => false,
            };
            if body {
                o = o.body("application/sdp", SDP_ANSWER);
            }
            self.respond(id, request, o);
        }
    }

    /// The application answers request `request` of invitation `id`.
    fn respond(&mut self, id: InvitationId, request: RequestId, o: ResponseOptions) {
        let code = o.status_code;
        let which = Command::Respond(code, o.body.is_some());
        let r = self.command_with(id, which, |i, now| i.respond(now, request, o));
        if matches!(r, Some(Ok(()))) && code >= 200 {
            self.driver.answer((id, request), "respond");
        }
        self.learn();
    }

    /// The application sent a request (`result` of a send method on invitation `id`).
    fn sent(&mut self, id: InvitationId, result: Option<Result<RequestId, InvitationError>>) {
        if let Some(Ok(request)) = result {
            self.driver.sent(id, request);
            self.request_ids.push((id, request));
        }
        self.learn();
    }

    /// A request id the application saw: one of the latest eight, for its own invitation
    /// or, when `req`'s top bit is set, for invitation `inv` (where it may mean another
    /// request, or none).
    fn pick_request(&self, inv: u8, req: u8) -> Option<(InvitationId, RequestId)> {
        let len = self.request_ids.len();
        let i = (len > 0).then(|| len - 1 - usize::from(req & 0x7f) % len.min(8))?;
        let (own, request) = self.request_ids[i];
        let id = if req & 0x80 != 0 { self.pick_invitation(inv)? } else { own };
        Some((id, request))
    }

    /// Every request the endpoint announced got a final response on the wire, unless
    /// the harness lost track of it (a mutation, a lost flow, a stateless retransmission).
    fn assert_answered(&self) {
        if self.lossy {
            return;
        }
        for ((id, request), a) in &self.driver.incoming {
            let Some(leg) = self.legs.iter().find(|l| l.call_id == a.call_id) else { continue };
            if leg.tainted || leg.exempt.contains(&a.key.0) {
                continue;
            }
            assert!(
                leg.answers.contains_key(&a.key),
                "{request:?} of {id:?} ({:?}) got no final response",
                a.kind
            );
        }
    }

    fn learn_event(&mut self, e: Event) {
        match e {
            Event::Invitation { id } => {
                self.invitations.push(id);
                let Some(inv) = self.driver.ep.invitation(id) else { return };
                let call_id = inv.request().call_id().ok().map(str::to_owned);
                let tag = inv.uas().to_tag().to_owned();
                if let Some(leg) =
                    self.legs.iter_mut().find(|l| Some(&l.call_id) == call_id.as_ref())
                {
                    leg.new_invitation(id, tag);
                }
            }
            Event::Request { id, request, message, .. } => {
                self.request_ids.push((id, request));
                if self.respond_requests {
                    self.to_respond.push((id, request, message));
                }
            }
            Event::Pracked { id, rseq, .. } => {
                let leg = self.legs.iter().find(|l| l.invitation == Some(id));
                assert!(
                    leg.is_none_or(|l| l.rseqs.contains(&rseq)),
                    "{id:?} PRACKed RSeq {rseq}, which it never sent"
                );
            }
            _ => {}
        }
    }

    fn fire(&mut self, at: Instant) {
        self.driver.fire(at);
        self.learn();
    }

    /// Runs one application command on invitation `id` and checks its result against
    /// the states before and after.
    fn trace(&self, what: &dyn std::fmt::Debug) {
        if self.driver.trace {
            eprintln!("{:>9.3?} op {what:?}", self.driver.elapsed());
        }
    }

    fn command(
        &mut self,
        id: InvitationId,
        which: Command,
        f: impl FnOnce(&mut Invitation<'_>, Instant) -> Result<(), InvitationError>,
    ) {
        self.command_with(id, which, f);
        self.learn();
    }

    /// [`Ops::command`] for any result, leaving what the endpoint sent for the caller to
    /// learn: the caller must know the request id before the caller answers its request.
    fn command_with<T>(
        &mut self,
        id: InvitationId,
        which: Command,
        f: impl FnOnce(&mut Invitation<'_>, Instant) -> Result<T, InvitationError>,
    ) -> Option<Result<T, InvitationError>> {
        let now = self.driver.now;
        let mut inv = self.driver.ep.invitation(id)?;
        let before = inv.state();
        let result = f(&mut inv, now);
        let (after, end) = (inv.state(), inv.end_reason());
        let unit = result.as_ref().map(|_| ()).map_err(|e| *e);
        self.trace(&(which, id, before, &unit, after));
        self.driver.drain();
        let wire: Vec<(Option<Method>, Option<u16>)> = self
            .driver
            .seen
            .iter()
            .filter_map(|s| match s {
                Seen::Sent { message: m, .. } => Some((m.method().cloned(), m.status())),
                Seen::Event(_) => None,
            })
            .collect();
        check_command(which, before, after, end, unit, &wire);
        Some(result)
    }

    fn pick_leg(&self, n: u8) -> Option<usize> {
        recent(n, self.legs.len())
    }

    fn pick_invitation(&self, n: u8) -> Option<InvitationId> {
        recent(n, self.invitations.len()).map(|i| self.invitations[i])
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Invite { offer, rel100, peer, tcp, expires, record_route } => {
                if self.legs.len() >= MAX_CALLS {
                    return;
                }
                let mut leg = Leg::new(self.legs.len(), peer, tcp, offer);
                let bytes = leg.invite(rel100, expires, record_route);
                self.legs.push(leg);
                self.send(self.legs.len() - 1, bytes);
            }
            Op::Retransmit { call, invite } => {
                let Some(i) = self.pick_leg(call) else { return };
                let l = &self.legs[i];
                let bytes = if invite { l.invite.clone() } else { l.last.clone() };
                self.send(i, bytes);
            }
            Op::Ack { call, body, right_cseq } => {
                let Some(i) = self.pick_leg(call) else { return };
                let bytes = self.legs[i].ack(body, right_cseq);
                self.legs[i].acked = true;
                self.send(i, bytes);
            }
            Op::Bye { call, tag, stale } => {
                let Some(i) = self.pick_leg(call) else { return };
                let bytes = self.legs[i].bye(tag, stale);
                self.send(i, bytes);
            }
            Op::Cancel { call } => {
                let Some(i) = self.pick_leg(call) else { return };
                let bytes = self.legs[i].cancel();
                self.send(i, bytes);
            }
            Op::Prack { call, rack, body } => {
                let Some(i) = self.pick_leg(call) else { return };
                let bytes = self.legs[i].prack(rack, body);
                self.send(i, bytes);
            }
            Op::Options { call, in_dialog } => {
                let Some(i) = self.pick_leg(call) else { return };
                let bytes = self.legs[i].options(in_dialog);
                self.send(i, bytes);
            }
            Op::AnswerBye { call, code } => {
                let Some(i) = self.pick_leg(call) else { return };
                self.answer_bye(i, code_in(code, 100, 699));
            }
            Op::Mutate { call, at, byte } => {
                let Some(i) = self.pick_leg(call) else { return };
                let mut bytes = self.legs[i].last.clone();
                if bytes.is_empty() {
                    return;
                }
                let at = usize::from(at) % bytes.len();
                bytes[at] = byte;
                self.legs[i].tainted = true;
                let (source, transport) = (self.legs[i].source(), self.legs[i].transport);
                self.driver.input(Input::received(source, transport, bytes));
                self.learn();
            }
            Op::Garbage { peer: p, tcp, mut bytes } => {
                bytes.truncate(4096);
                for l in &mut self.legs {
                    let id = l.call_id.as_bytes();
                    l.tainted |= bytes.windows(id.len()).any(|w| w == id);
                }
                let transport = if tcp { Transport::Tcp } else { Transport::Udp };
                self.driver.input(Input::received(peer(p), transport, bytes));
                self.learn();
            }
            Op::FlowClosed { call } => {
                // Only connection-oriented transports have flows to close.
                let Some(i) = self.pick_leg(call) else { return };
                let (source, transport) = (self.legs[i].source(), self.legs[i].transport);
                if !transport.is_reliable() {
                    return;
                }
                self.lossy = true;
                self.driver.input(Input::FlowClosed { peer: source, transport });
                self.learn();
            }
            Op::SendFailed { pick } => {
                let ids = &self.driver.transactions;
                let Some(i) = recent(pick, ids.len()) else { return };
                let transaction = Some(ids[i]);
                self.lossy = true;
                self.driver.input(Input::SendFailed { transaction });
                self.learn();
            }
            Op::Progress { inv, code, rel100, body, extra } => {
                let Some(id) = self.pick_invitation(inv) else { return };
                let code = code_in(code, 101, 199);
                let mut o = ProgressOptions::new().status_code(code).rel100(rel100);
                if body {
                    o = o.body("application/sdp", SDP_ANSWER);
                }
                let o = decorate!(o, extra);
                self.command(id, Command::Progress(code), |i, now| i.progress(now, o));
            }
            Op::Accept { inv, code, body, extra } => {
                let Some(id) = self.pick_invitation(inv) else { return };
                let code = code_in(code, 200, 299);
                let mut o = AcceptOptions::new().status_code(code);
                if body {
                    o = o.body("application/sdp", SDP_ANSWER);
                }
                let o = decorate!(o, extra);
                self.command(id, Command::Accept(code), |i, now| i.accept(now, o));
            }
            Op::Reject { inv, code, extra } => {
                let Some(id) = self.pick_invitation(inv) else { return };
                let code = code_in(code, 400, 699);
                let o = decorate!(RejectOptions::new().status_code(code), extra);
                self.command(id, Command::Reject(code), |i, now| i.reject(now, o));
            }
            Op::Redirect { inv, code, contacts, extra } => {
                let Some(id) = self.pick_invitation(inv) else { return };
                let code = code_in(code, 300, 399);
                let o = decorate!(RedirectOptions::new().status_code(code), extra);
                let list: &[&str] = if contacts {
                    &["<sip:bob@192.0.2.9>", "<sip:bob@192.0.2.10>;q=0.5"]
                } else {
                    &[]
                };
                self.command(id, Command::Redirect(code, contacts), |i, now| {
                    i.redirect(now, list, o)
                });
            }
            Op::HangUp { inv } => {
                let Some(id) = self.pick_invitation(inv) else { return };
                self.command(id, Command::Bye, |i, now| i.bye(now));
            }
            Op::Dispose { inv } => {
                let Some(id) = self.pick_invitation(inv) else { return };
                self.command(id, Command::Dispose, |i, now| i.dispose(now));
            }
            Op::Request { call, method, body, cseq, tag, quirk } => {
                let Some(i) = self.pick_leg(call) else { return };
                // An INVITE without a To tag would be a new call, not a re-INVITE.
                let tag = match (method, tag) {
                    (PeerMethod::ReInvite, TagSpec::Missing) => TagSpec::Wrong,
                    (_, tag) => tag,
                };
                let bytes = self.legs[i].in_dialog(method, body, cseq, tag, quirk);
                self.send(i, bytes);
            }
            Op::CancelReInvite { call } => {
                let Some(i) = self.pick_leg(call) else { return };
                let Some(bytes) = self.legs[i].cancel_reinvite() else { return };
                self.send(i, bytes);
            }
            Op::AckReInvite { call, body, right_cseq } => {
                let Some(i) = self.pick_leg(call) else { return };
                let Some(bytes) = self.legs[i].ack_reinvite(body, right_cseq) else { return };
                self.send(i, bytes);
            }
            Op::Answer { call, pick, code, body } => {
                let Some(i) = self.pick_leg(call) else { return };
                let l = &mut self.legs[i];
                let Some(j) = recent(pick, l.requests.len()) else { return };
                let code = PEER_CODES[usize::from(code) % PEER_CODES.len()];
                let Some(bytes) = Leg::answer(&l.requests[j].0, code, body, &l.contact_uri())
                else {
                    return;
                };
                if code >= 200 {
                    l.requests[j].1 = true;
                }
                self.send(i, bytes);
            }
            Op::Respond { inv, req, code, body, extra } => {
                let Some((id, request)) = self.pick_request(inv, req) else { return };
                let code = respond_code(code);
                let mut o = ResponseOptions::new().status_code(code);
                if body {
                    o = o.body("application/sdp", SDP_ANSWER);
                }
                let o = decorate!(o, extra);
                self.respond(id, request, o);
            }
            Op::Send { inv, kind, body, extra } => {
                let Some(id) = self.pick_invitation(inv) else { return };
                let sdp = ("application/sdp", SDP_OFFER);
                let (kind, content) = match kind {
                    SendKind::ReInvite => (RequestKind::ReInvite, sdp),
                    SendKind::Update => (RequestKind::Update, sdp),
                    SendKind::Info => (
                        RequestKind::Info,
                        ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"),
                    ),
                    SendKind::Message => (RequestKind::Message, ("text/plain", "hello")),
                };
                let o = request_options(extra, body.then_some(content));
                let r = self.command_with(id, Command::Send(kind, body), |i, now| match kind {
                    RequestKind::ReInvite => i.re_invite(now, o),
                    RequestKind::Update => i.update(now, o),
                    RequestKind::Info => i.info(now, o),
                    _ => i.message(now, o),
                });
                self.sent(id, r);
            }
            Op::Refer { inv, good, extra } => {
                let Some(id) = self.pick_invitation(inv) else { return };
                let target = if good {
                    "<sip:carol@192.0.2.3>"
                } else {
                    "<sip:carol@192.0.2.3>\r\nX-Injected: 1"
                };
                let o = request_options(extra, None);
                let which = Command::Send(RequestKind::Refer, false);
                let r = self.command_with(id, which, |i, now| i.refer(now, target, o));
                self.sent(id, r);
            }
            Op::Notify { inv, req, code, extra } => {
                let Some((id, refer)) = self.pick_request(inv, req) else { return };
                const CODES: [u16; 8] = [100, 180, 200, 503, 603, 0, 700, 150];
                let status = CODES[usize::from(code) % CODES.len()];
                let o = request_options(extra, None);
                let which = Command::Notify(status);
                let r = self.command_with(id, which, |i, now| i.notify(now, refer, status, o));
                self.sent(id, r);
            }
            Op::AckOffer { inv, req, body } => {
                let Some((id, request)) = self.pick_request(inv, req) else { return };
                let o =
                    request_options(Extra::None, body.then_some(("application/sdp", SDP_ANSWER)));
                self.command(id, Command::AckOffer(body), |i, now| i.ack(now, request, o));
            }
            Op::Tick { amount, coarse, exact } => {
                let ms = u64::from(amount) * if coarse { 256 } else { 1 };
                let to = self.driver.now + Duration::from_millis(ms);
                if exact {
                    while let Some(at) = self.driver.ep.poll_timeout().filter(|at| *at <= to) {
                        self.fire(at);
                    }
                }
                self.fire(to);
            }
        }
    }

    /// The caller answers the latest of the endpoint's BYEs on call `leg`.
    fn answer_bye(&mut self, leg: usize, code: u16) {
        let Some((bye, answered)) = self.legs[leg].byes.last_mut() else { return };
        *answered = true;
        let Ok(response) = bye.reply(code).to_tag("alice-bye").build() else { return };
        let bytes = response.as_bytes().to_vec();
        self.send(leg, bytes);
    }

    /// A well-behaved caller and application finish: ACK the 2xx, hang up, dispose.
    fn finish(&mut self, setup: &Setup) {
        for i in 0..self.legs.len() {
            let l = &self.legs[i];
            let (success, failure) = match l.final_code {
                Some(c) if c < 300 => (true, false),
                Some(_) => (false, true),
                None => (false, false),
            };
            if failure || (success && setup.ack_at_end) {
                let body = l.answer_due;
                let bytes = self.legs[i].ack(body, true);
                self.send(i, bytes);
            }
        }
        if setup.ack_at_end {
            for i in 0..self.legs.len() {
                let Some(r) = self.legs[i].reinvite.clone() else { continue };
                let Some(code) = r.final_code.filter(|_| !r.acked) else { continue };
                let body = code < 300 && !r.offer;
                if let Some(bytes) = self.legs[i].ack_reinvite(body, true) {
                    self.send(i, bytes);
                }
            }
        }
        if setup.bye_at_end {
            for i in 0..self.legs.len() {
                let Some(id) = self.legs[i].invitation else { continue };
                let established = self.driver.ep.invitation(id).map(|inv| inv.state());
                if established == Some(InvitationState::Established) {
                    let bytes = self.legs[i].bye(TagSpec::Right, false);
                    self.send(i, bytes);
                }
            }
        }
        for id in self.invitations.clone() {
            self.command(id, Command::Dispose, |i, now| i.dispose(now));
        }
    }
}

/// Checks what an application command returned against the invitation's states.
fn check_command(
    which: Command,
    before: InvitationState,
    after: InvitationState,
    end: Option<EndReason>,
    result: Result<(), InvitationError>,
    wire: &[(Option<Method>, Option<u16>)],
) {
    use InvitationState as S;
    let context = format!("{which:?} in {before:?} gave {result:?}, now {after:?} ({end:?})");
    if before == S::Terminated {
        assert_eq!(after, S::Terminated, "{context}");
    }
    let Ok(()) = result else {
        if let Err(InvitationError::StatusCode(c)) = result {
            let fits = match which {
                Command::Progress(c) => (101..=199).contains(&c),
                Command::Accept(c) => (200..=299).contains(&c),
                Command::Reject(c) => (400..=699).contains(&c),
                Command::Redirect(c, _) => (300..=399).contains(&c),
                Command::Respond(c, _) => (101..=699).contains(&c),
                Command::Notify(c) => (100..=699).contains(&c),
                Command::Bye | Command::Dispose | Command::Send(..) | Command::AckOffer(_) => false,
            };
            assert!(!fits, "{context}: {c} refused");
        }
        return;
    };
    match which {
        Command::Progress(code) => {
            assert!((101..=199).contains(&code), "{context}");
            assert_eq!(before, S::Initial, "{context}");
        }
        Command::Accept(code) => {
            assert!((200..=299).contains(&code), "{context}");
            assert_eq!(before, S::Initial, "{context}");
            assert!(matches!(after, S::Establishing | S::Established), "{context}");
        }
        Command::Reject(code) => {
            assert!((400..=699).contains(&code), "{context}");
            assert!(matches!(before, S::Initial | S::Establishing), "{context}");
            assert_eq!((after, end), (S::Terminated, Some(EndReason::Rejected(code))), "{context}");
        }
        Command::Redirect(code, contacts) => {
            assert!(contacts && (300..=399).contains(&code), "{context}");
            assert!(matches!(before, S::Initial | S::Establishing), "{context}");
            let reason = Some(EndReason::Redirected(code));
            assert_eq!((after, end), (S::Terminated, reason), "{context}");
        }
        Command::Bye => {
            assert_eq!(before, S::Established, "{context}");
            assert!(matches!(after, S::Terminating | S::Terminated), "{context}");
        }
        Command::Dispose => {
            assert!(!matches!(after, S::Initial | S::Establishing), "{context}");
        }
        Command::Respond(code, _) => {
            assert!((101..=699).contains(&code), "{context}");
            assert_ne!(before, S::Terminated, "{context}");
            assert!(wire.iter().any(|(_, c)| *c == Some(code)), "{context}: not sent");
        }
        Command::Send(kind, _) => {
            if matches!(kind, RequestKind::ReInvite | RequestKind::Refer) {
                assert_eq!(before, S::Established, "{context}");
            } else {
                assert!(
                    matches!(before, S::Initial | S::Establishing | S::Established),
                    "{context}"
                );
            }
            let method = Some(kind.method());
            assert!(wire.iter().any(|(m, _)| *m == method), "{context}: not sent");
        }
        Command::Notify(code) => {
            assert!((100..=699).contains(&code), "{context}");
            assert_eq!(before, S::Established, "{context}");
            let method = Some(Method::Notify);
            assert!(wire.iter().any(|(m, _)| *m == method), "{context}: not sent");
        }
        Command::AckOffer(body) => {
            assert!(body, "{context}");
            let method = Some(Method::Ack);
            assert!(wire.iter().any(|(m, _)| *m == method), "{context}: not sent");
        }
    }
}

/// Plays an arbitrary sequence of caller messages (matching the endpoint's dialogs, or
/// deliberately not), application commands and clock moves against one endpoint. Checks
/// the [`Driver`] invariants at every step, that commands either act as documented or
/// return `Err`, and that once a well-behaved caller and application finish (ACK the
/// 2xx, hang up or dispose), everything drains within [`OPS_DRAIN`].
pub fn endpoint_ops(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut u) else { return };
    let mut config = Config::new(CONTACT).with_seed(u64::from(setup.seed));
    config.auto_trying = setup.auto_trying;
    config.auto_ringing = setup.auto_ringing;
    if setup.small {
        config.max_invitations = 2;
        config.max_transactions = 8;
    }
    config.no_answer_timeout = match setup.no_answer % 4 {
        0 => Duration::from_secs(60),
        1 => Duration::from_secs(1),
        2 => Duration::ZERO,
        _ => Duration::from_secs(3600),
    };
    if setup.user_agent {
        config.user_agent = Some("sipwire-fuzz/0".to_owned());
    }
    if setup.no_100rel {
        config.extensions.clear();
    }
    let mut ops = Ops {
        driver: Driver::new(config),
        legs: Vec::new(),
        invitations: Vec::new(),
        auto_prack: setup.auto_prack,
        auto_ack: setup.auto_ack,
        answer_byes: setup.answer_byes,
        respond_requests: setup.respond_requests,
        answer_requests: setup.answer_requests,
        small: setup.small,
        lossy: false,
        request_ids: Vec::new(),
        to_respond: Vec::new(),
    };
    for _ in 0..MAX_OPS {
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        ops.trace(&op);
        ops.apply(op);
    }
    ops.trace(&setup);
    ops.finish(&setup);
    let deadline = ops.driver.now + OPS_DRAIN;
    for _ in 0..MAX_FIRINGS {
        match ops.driver.ep.poll_timeout() {
            Some(at) if at <= deadline => ops.fire(at),
            _ => break,
        }
    }
    ops.driver.assert_drained(OPS_DRAIN);
    ops.assert_answered();
}

// ---------------------------------------------------------------------------------------
// Seeds

/// Builds an [`endpoint_receive`] input record by record, playing each on a driver as
/// the target will, so that later requests carry the To tag the endpoint answered with.
struct Flow {
    driver: Driver,
    records: Vec<(Record, Vec<u8>)>,
    leg: Leg,
    codes: Vec<u16>,
}

impl Flow {
    fn new(leg: Leg) -> Self {
        Self { driver: Driver::new(receive_config()), records: Vec::new(), leg, codes: Vec::new() }
    }

    /// Plays a record `ms` after the previous one; returns the statuses the endpoint sent
    /// for the call meanwhile.
    fn record(&mut self, ms: u64, kind: u8, bytes: Vec<u8>) -> Vec<u16> {
        let mut r = Record::after_ms(ms);
        r.peer = self.leg.peer;
        r.tcp = self.leg.transport == Transport::Tcp;
        r.kind = kind;
        play(&mut self.driver, r, &bytes);
        self.records.push((r, bytes));
        let mut codes = Vec::new();
        for seen in std::mem::take(&mut self.driver.seen) {
            let Seen::Sent { to, transport, message: m } = seen else { continue };
            if m.call_id().ok() == Some(self.leg.call_id.as_str()) {
                self.leg.learn(&m, to, transport);
            }
            codes.extend(m.status());
        }
        self.codes.extend(&codes);
        codes
    }

    fn send(&mut self, ms: u64, bytes: Vec<u8>) -> Vec<u16> {
        self.record(ms, 0, bytes)
    }

    fn done(self, name: &str, expect: &[u16]) -> (String, Vec<u8>) {
        assert_eq!(self.codes, expect, "seed flow {name}: the endpoint answered otherwise");
        (name.to_owned(), encode_records(&self.records))
    }
}

fn leg(n: usize, peer: u8, tcp: bool, offer: bool) -> Leg {
    Leg::new(n, peer, tcp, offer)
}

/// Whole call flows for the [`endpoint_receive`] corpus: INVITE with and without an
/// offer, 100rel supported and required, CANCEL, BYE in the early dialog, PRACK,
/// retransmissions, the no-answer and Expires timers, a merged request, requests outside
/// any dialog, a closed flow, session requests in the early dialog. Each checks the
/// statuses the endpoint answered with.
#[must_use]
pub fn endpoint_receive_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();

    let mut f = Flow::new(leg(0, 0, false, true));
    let invite = f.leg.invite(Rel100Spec::None, None, false);
    f.send(0, invite);
    let cancel = f.leg.cancel();
    f.send(1000, cancel);
    let ack = f.leg.ack(false, true);
    f.send(20, ack);
    seeds.push(f.done("flow-cancel", &[100, 180, 200, 487]));

    let mut f = Flow::new(leg(1, 1, false, false));
    let invite = f.leg.invite(Rel100Spec::Supported, None, true);
    f.send(0, invite);
    let bye = f.leg.bye(TagSpec::Right, false);
    f.send(2000, bye);
    let ack = f.leg.ack(false, true);
    f.send(10, ack);
    seeds.push(f.done("flow-early-bye", &[100, 180, 487, 200]));

    let mut f = Flow::new(leg(2, 2, true, true));
    let invite = f.leg.invite(Rel100Spec::Required, None, false);
    f.send(0, invite);
    let prack = f.leg.prack(RackSpec::Latest, true);
    f.send(100, prack);
    let cancel = f.leg.cancel();
    f.send(500, cancel);
    let ack = f.leg.ack(false, true);
    f.send(10, ack);
    seeds.push(f.done("flow-prack-required-tcp", &[100, 481, 200, 487]));

    let mut f = Flow::new(leg(3, 0, false, true));
    let invite = f.leg.invite(Rel100Spec::None, None, false);
    f.send(0, invite.clone());
    f.send(500, invite.clone());
    f.send(1000, invite);
    // The 480 goes at 60 s; the ACK comes at once.
    let ack = f.leg.ack(false, true);
    f.send(58_500, ack);
    let options = f.leg.options(false);
    f.send(1000, options);
    // The INVITE retransmissions get the latest provisional again.
    seeds.push(f.done("flow-no-answer", &[100, 180, 180, 180, 480, 200]));

    let mut f = Flow::new(leg(4, 3, false, false));
    let invite = f.leg.invite(Rel100Spec::Supported, Some(2), false);
    f.send(0, invite);
    let ack = f.leg.ack(false, true);
    f.send(2000, ack);
    seeds.push(f.done("flow-expires", &[100, 180, 487]));

    let mut f = Flow::new(leg(5, 0, false, true));
    let invite = f.leg.invite(Rel100Spec::None, None, false);
    f.send(0, invite);
    let stale = f.leg.bye(TagSpec::Right, true);
    f.send(100, stale);
    let wrong = f.leg.bye(TagSpec::Wrong, false);
    f.send(100, wrong);
    let options = f.leg.options(true);
    f.send(100, options);
    let bye = f.leg.bye(TagSpec::Right, false);
    f.send(100, bye);
    let ack = f.leg.ack(false, true);
    f.send(10, ack);
    seeds.push(f.done("flow-in-dialog", &[100, 180, 500, 481, 200, 487, 200]));

    let mut f = Flow::new(leg(6, 1, false, true));
    let options = f.leg.options(false);
    f.send(0, options);
    let unknown = f.leg.request("FOO", "z9hG4bKfoo", 2, "FOO", None, "", None);
    f.send(10, unknown);
    let bye = f.leg.bye(TagSpec::Missing, false);
    f.send(10, bye);
    let prack = f.leg.prack(RackSpec::First, false);
    f.send(10, prack);
    let ack = f.leg.request("ACK", "z9hG4bKack", 1, "ACK", Some("gone"), "", None);
    f.send(10, ack);
    let stray = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKnone\r\n\
        From: <sip:bob@example.com>;tag=b\r\nTo: <sip:alice@example.com>;tag=a\r\n\
        Call-ID: stray@192.0.2.1\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
    f.send(10, stray.to_vec());
    f.send(10, b"\r\n\r\n".to_vec());
    seeds.push(f.done("flow-outside-dialogs", &[200, 501, 481, 481]));

    let mut f = Flow::new(leg(7, 0, false, true));
    let invite = f.leg.invite(Rel100Spec::None, None, false);
    f.send(0, invite);
    f.leg.invite_branch = "z9hG4bKmerged".to_owned();
    let merged = f.leg.invite(Rel100Spec::None, None, false);
    f.send(50, merged);
    f.leg.invite_branch = "z9hG4bKinv7".to_owned();
    let cancel = f.leg.cancel();
    f.send(100, cancel);
    let ack = f.leg.ack(false, true);
    f.send(10, ack);
    seeds.push(f.done("flow-merged", &[100, 180, 482, 200, 487]));

    let mut f = Flow::new(leg(8, 2, true, true));
    let invite = f.leg.invite(Rel100Spec::None, None, false);
    f.send(0, invite);
    f.record(200, 2, Vec::new());
    // The flow is gone, but the INVITE's transaction still gets a final response (500) so
    // that it ends with Timer H; the driver reports the send failure.
    seeds.push(f.done("flow-closed", &[100, 180, 500]));

    // Requests in the early dialog, which nobody answers: INFO and MESSAGE wait for the
    // application, then get the default 200 or the BYE's 487; the rest are refused at once.
    let mut f = Flow::new(leg(9, 0, false, true));
    let invite = f.leg.invite(Rel100Spec::None, None, false);
    f.send(0, invite);
    let r = Quirk::None;
    let (m, b, c, t) = (PeerMethod::Info, BodySpec::Natural, CSeqSpec::Next, TagSpec::Right);
    let info = f.leg.in_dialog(m, b, c, t, r);
    f.send(100, info);
    let wrong = f.leg.in_dialog(PeerMethod::Notify, b, c, t, Quirk::WrongEvent);
    f.send(10, wrong);
    let notify = f.leg.in_dialog(PeerMethod::Notify, b, c, t, r);
    f.send(10, notify);
    let refer = f.leg.in_dialog(PeerMethod::Refer, BodySpec::None, c, t, Quirk::Missing);
    f.send(10, refer);
    let update = f.leg.in_dialog(PeerMethod::Update, b, c, t, r);
    f.send(10, update);
    let reinvite = f.leg.in_dialog(PeerMethod::ReInvite, b, c, t, r);
    f.send(10, reinvite);
    let ack = f.leg.ack_reinvite(false, true).expect("a re-INVITE");
    f.send(10, ack);
    let unknown = f.leg.in_dialog(PeerMethod::Unknown, BodySpec::None, c, t, r);
    f.send(10, unknown);
    let stale = f.leg.in_dialog(m, b, CSeqSpec::Stale, t, r);
    f.send(10, stale);
    let unaccepted = f.leg.in_dialog(PeerMethod::Message, BodySpec::Unaccepted, c, t, r);
    f.send(10, unaccepted);
    let message = f.leg.in_dialog(PeerMethod::Message, b, c, t, r);
    f.send(10_000, message);
    let bye = f.leg.bye(TagSpec::Right, false);
    f.send(100, bye);
    let ack = f.leg.ack(false, true);
    f.send(10, ack);
    let codes = [100, 180, 489, 481, 400, 500, 500, 501, 500, 415, 200, 487, 487, 200];
    seeds.push(f.done("flow-early-session", &codes));

    seeds
}
