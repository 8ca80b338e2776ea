//! Requests inside an established call (issue 6), through [`sipwire::Endpoint`], in process.
//!
//! ```text
//! cargo bench -p sipwire-benches --bench session -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! The call is set up once per bench as in the `endpoint` bench (`common/ua_call.rs`): the
//! caller's INVITE with an SDP offer, `invitation(id).accept(..)` with an SDP answer, the
//! caller's ACK. Then each iteration is one exchange in that dialog:
//!
//! - `session/info_in`: the caller's INFO (a DTMF `application/dtmf-relay` body) is parsed
//!   and matched to the dialog; the application gets `Event::Request` and answers with
//!   `respond(.., ResponseOptions::new())`; the 200 goes out.
//! - `session/reinvite_in`: the caller's re-INVITE with an SDP offer; `Event::Request`; the
//!   application answers 200 with an SDP answer (`ResponseOptions::body`); the caller's ACK
//!   for that 200 arrives and stops its retransmission (`Event::ReInviteAcked`).
//! - `session/reinvite_out`: the application sends `re_invite(.., RequestOptions::body(..))`
//!   with an SDP offer; the caller answers 200 with an SDP answer; `Event::Response`; the core
//!   sends the ACK. The caller's 200 is built from the INVITE we sent (parse it, `reply(200)`,
//!   Contact, body, build), which is the caller's share, timed on its own as
//!   `session_peer/reinvite_out_200`.
//!
//! Every request of the caller has a fresh branch and the next CSeq, so nothing is a
//! retransmission; the caller's messages are rendered from templates into a fresh buffer
//! each (one allocation, as a socket read would be). Every message the core sends is
//! serialized and handed to a sink.
//!
//! The clock moves 1 ms per iteration and the endpoint's due timers are fired in the same
//! iteration. Each exchange leaves a transaction waiting out its 64·T1 (Timer J, L or M, 32
//! s), so in the steady state about 32 000 transactions are live and every iteration also pays
//! for the expiry of the transaction of the iteration 32 000 before: what a server handling
//! 1 000 such requests per second does.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sipwire::ua::{
    Event, InvitationId, InvitationState, RequestId, RequestKind, RequestOptions, ResponseOptions,
};
use sipwire::{HeaderName, Input, Message, Output, Transport};

#[path = "common/ua_call.rs"]
mod ua_call;

/// The clock step per iteration.
const STEP: Duration = Duration::from_millis(1);

/// The caller's requests in the dialog (LF line ends; CRLF on the wire); `Content-Length`
/// is added. `{ID}` and `{TAG}` are the call's and filled in once; `{N}` (16 hex digits, the
/// branch) and `{CSEQ}` change on every request.
const INFO_HEAD: &str = "INFO sip:bob@192.0.2.2:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKn{N}
Max-Forwards: 70
From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=f{ID}
To: \"Bob\" <sip:bob@192.0.2.2:5060>;tag={TAG}
Call-ID: {ID}@192.0.2.1
CSeq: {CSEQ} INFO
Contact: <sip:alice@192.0.2.1:5060>
Content-Type: application/dtmf-relay
";

const DTMF: &str = "Signal=5
Duration=160
";

const REINVITE_HEAD: &str = "INVITE sip:bob@192.0.2.2:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKr{N}
Max-Forwards: 70
From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=f{ID}
To: \"Bob\" <sip:bob@192.0.2.2:5060>;tag={TAG}
Call-ID: {ID}@192.0.2.1
CSeq: {CSEQ} INVITE
Contact: <sip:alice@192.0.2.1:5060>
Content-Type: application/sdp
";

/// The caller's new offer: the same stream, put on hold.
const HOLD_OFFER: &str = "v=0
o=alice 2890844526 2890844527 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 49170 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendonly
";

/// The ACK for our 2xx to the re-INVITE: its own branch, the re-INVITE's CSeq number.
const REACK_HEAD: &str = "ACK sip:bob@192.0.2.2:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKk{N}
Max-Forwards: 70
From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=f{ID}
To: \"Bob\" <sip:bob@192.0.2.2:5060>;tag={TAG}
Call-ID: {ID}@192.0.2.1
CSeq: {CSEQ} ACK
";

/// Our answer to the hold offer.
const HOLD_ANSWER: &[u8] = b"v=0\r\no=bob 2808844564 2808844565 IN IP4 192.0.2.2\r\ns=-\r\n\
c=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=recvonly\r\n";

/// Our re-INVITE's offer: a new media port.
const NEW_OFFER: &[u8] = b"v=0\r\no=bob 2808844564 2808844566 IN IP4 192.0.2.2\r\ns=-\r\n\
c=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3458 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n";

/// The caller's answer to it.
const NEW_ANSWER: &[u8] = b"v=0\r\no=alice 2890844526 2890844528 IN IP4 192.0.2.1\r\ns=-\r\n\
c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n";

/// The caller's Contact, on its 200 to our re-INVITE.
const CALLER_CONTACT: &str = "<sip:alice@192.0.2.1:5060>";

enum Piece {
    Text(Box<[u8]>),
    Branch,
    CSeq,
}

/// A request of the caller in one dialog, with holes for the branch and the CSeq number.
struct Template {
    pieces: Vec<Piece>,
    len: usize,
}

impl Template {
    /// `head` with the dialog's `id` and `tag` filled in, plus Content-Length, the blank line
    /// and `body`, all CRLF.
    fn new(head: &str, body: &str, id: &str, tag: &str) -> Self {
        let head = head.replace("{ID}", id).replace("{TAG}", tag).replace('\n', "\r\n");
        let body = body.replace('\n', "\r\n");
        let text = format!("{head}Content-Length: {}\r\n\r\n{body}", body.len());
        let mut pieces = Vec::new();
        let mut len = 0;
        let mut rest = text.as_str();
        while let Some(at) = rest.find('{') {
            let (piece, hole, width) = if rest[at..].starts_with("{N}") {
                (Piece::Branch, "{N}", 16)
            } else if rest[at..].starts_with("{CSEQ}") {
                (Piece::CSeq, "{CSEQ}", 10)
            } else {
                panic!("unknown hole in {rest}")
            };
            pieces.push(Piece::Text(rest.as_bytes()[..at].into()));
            pieces.push(piece);
            len += at + width;
            rest = &rest[at + hole.len()..];
        }
        len += rest.len();
        pieces.push(Piece::Text(rest.as_bytes().into()));
        Self { pieces, len }
    }

    /// Request `n` of the dialog, with CSeq number `cseq`, in a buffer of its own.
    fn render(&self, n: u64, cseq: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t),
                Piece::Branch => out.extend_from_slice(&hex16(n)),
                Piece::CSeq => decimal(&mut out, cseq),
            }
        }
        out
    }
}

fn hex16(n: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, d) in out.iter_mut().enumerate() {
        *d = DIGITS[((n >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

fn decimal(out: &mut Vec<u8>, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The "socket": keeps each message to send alive until it has been looked at.
fn discard(message: &[u8]) {
    black_box(message);
}

/// What the application saw while the endpoint's outputs were drained.
#[derive(Default)]
struct Seen {
    /// The peer's request, from `Event::Request`.
    request: Option<(RequestId, RequestKind)>,
    /// The final status of a response to our request, from `Event::Response`.
    response: Option<u16>,
    /// `Event::ReInviteAcked` came.
    re_invite_acked: bool,
    /// The last INVITE we sent.
    invite: Option<Bytes>,
}

/// An established call on one endpoint (the UAS of `common/ua_call.rs`) and its caller's
/// requests in the dialog.
struct Call {
    ua: ua_call::SipwireUa,
    peer: std::net::SocketAddr,
    id: InvitationId,
    /// Requests the caller sent in the dialog: the branch, and CSeq `1 + n`.
    n: u64,
    info: Template,
    reinvite: Template,
    ack: Template,
}

impl Call {
    /// INVITE with an SDP offer, 100 and 180, accepted with an SDP answer (200), ACK.
    fn established() -> Self {
        let mut ua = ua_call::SipwireUa::new();
        let i = 1;
        let id = ua.ring(i, &mut discard);
        ua.accept(id, &mut discard);
        ua.ack(i, &mut discard);
        let mut seen = Seen::default();
        drain(&mut ua, &mut seen, &mut discard);
        let state = ua.ep.invitation(id).expect("live").state();
        assert_eq!(state, InvitationState::Established, "the call is up");
        let call_id = String::from_utf8(hex16(i).to_vec()).unwrap();
        let tag = String::from_utf8(ua.caller.tag.clone()).unwrap();
        Self {
            peer: ua_call::CALLER.parse().unwrap(),
            id,
            n: 0,
            info: Template::new(INFO_HEAD, DTMF, &call_id, &tag),
            reinvite: Template::new(REINVITE_HEAD, HOLD_OFFER, &call_id, &tag),
            ack: Template::new(REACK_HEAD, "", &call_id, &tag),
            ua,
        }
    }

    /// Moves the clock one step on and fires what is due.
    fn tick(&mut self, seen: &mut Seen, sink: &mut impl FnMut(&[u8])) {
        self.ua.now += STEP;
        if self.ua.ep.poll_timeout().is_some_and(|t| t <= self.ua.now) {
            self.ua.ep.handle_timeout(self.ua.now);
            drain(&mut self.ua, seen, sink);
        }
    }

    fn receive(&mut self, datagram: Bytes, seen: &mut Seen, sink: &mut impl FnMut(&[u8])) {
        let input = Input::received(self.peer, Transport::Udp, datagram);
        self.ua.ep.handle_input(self.ua.now, input);
        drain(&mut self.ua, seen, sink);
    }

    /// The next request of the caller: its branch number and CSeq.
    fn next(&mut self) -> (u64, u32) {
        self.n += 1;
        (self.n, u32::try_from(1 + self.n).expect("CSeq below 2^31"))
    }

    /// The caller's INFO in, the application's 200 out.
    fn info_in(&mut self, sink: &mut impl FnMut(&[u8])) {
        let mut seen = Seen::default();
        self.tick(&mut seen, sink);
        let (n, cseq) = self.next();
        let info = self.info.render(n, cseq);
        self.receive(Bytes::from(info), &mut seen, sink);
        let (request, _) = seen.request.expect("sipwire: the INFO reaches the application");
        let now = self.ua.now;
        let mut invitation = self.ua.ep.invitation(self.id).expect("live");
        invitation.respond(now, request, ResponseOptions::new()).expect("respond 200");
        drain(&mut self.ua, &mut seen, sink);
    }

    /// The caller's re-INVITE in; the application answers 200 with an SDP answer; the
    /// caller's ACK in.
    fn reinvite_in(&mut self, sink: &mut impl FnMut(&[u8])) {
        let mut seen = Seen::default();
        self.tick(&mut seen, sink);
        let (n, cseq) = self.next();
        let invite = self.reinvite.render(n, cseq);
        self.receive(Bytes::from(invite), &mut seen, sink);
        let (request, _) = seen.request.expect("sipwire: the re-INVITE reaches the application");
        let now = self.ua.now;
        let options =
            ResponseOptions::new().body("application/sdp", Bytes::from_static(HOLD_ANSWER));
        let mut invitation = self.ua.ep.invitation(self.id).expect("live");
        invitation.respond(now, request, options).expect("respond 200");
        drain(&mut self.ua, &mut seen, sink);
        let ack = self.ack.render(n, cseq);
        self.receive(Bytes::from(ack), &mut seen, sink);
        assert!(seen.re_invite_acked, "sipwire: the ACK reaches the re-INVITE");
    }

    /// Our re-INVITE with an SDP offer out; the caller's 200 with an answer (built from the
    /// INVITE we sent by `answer`) in; the ACK out.
    fn reinvite_out(&mut self, sink: &mut impl FnMut(&[u8])) {
        let mut seen = Seen::default();
        self.tick(&mut seen, sink);
        let now = self.ua.now;
        let options = RequestOptions::new().body("application/sdp", Bytes::from_static(NEW_OFFER));
        let mut invitation = self.ua.ep.invitation(self.id).expect("live");
        invitation.re_invite(now, options).expect("re-INVITE");
        drain(&mut self.ua, &mut seen, sink);
        let invite = seen.invite.take().expect("sipwire: the re-INVITE goes out");
        self.receive(answer(invite), &mut seen, sink);
        assert_eq!(seen.response, Some(200), "sipwire: the 200 reaches the application");
    }
}

/// The caller's 200 with [`NEW_ANSWER`] to the re-INVITE `invite`, as bytes on the wire.
fn answer(invite: Bytes) -> Bytes {
    let invite = Message::parse(invite).expect("our re-INVITE parses");
    let ok = invite
        .reply(200)
        .header(HeaderName::Contact, CALLER_CONTACT)
        .body("application/sdp", Bytes::from_static(NEW_ANSWER))
        .build()
        .expect("200");
    ok.to_bytes()
}

/// Hands what the endpoint sends to `sink` and notes what the application is told.
fn drain(ua: &mut ua_call::SipwireUa, seen: &mut Seen, sink: &mut impl FnMut(&[u8])) {
    while let Some(out) = ua.ep.poll_output() {
        match out {
            Output::Transmit(t) => {
                if t.payload.starts_with(b"INVITE ") {
                    seen.invite = Some(t.payload.clone());
                }
                sink(&t.payload);
            }
            Output::Event(Event::Request { request, kind, message, .. }) => {
                black_box(message.body());
                seen.request = Some((request, kind));
            }
            Output::Event(Event::Response { response, .. }) => {
                black_box(response.body());
                seen.response = response.status();
            }
            Output::Event(Event::ReInviteAcked { .. }) => seen.re_invite_acked = true,
            Output::Event(_) => {}
        }
    }
}

/// One exchange of [`Call`], handing what it sends to the sink.
type Exchange = fn(&mut Call, &mut dyn FnMut(&[u8]));

/// What an exchange sends: each message's status (or method) and CSeq method.
fn sent(call: &mut Call, exchange: Exchange) -> Vec<String> {
    let mut lines = Vec::new();
    exchange(call, &mut |m: &[u8]| {
        let m = Message::parse(m).expect("we send what parses");
        let cseq = m.cseq().expect("CSeq").method;
        lines.push(match (m.status(), m.method()) {
            (Some(code), _) => format!("{code} {cseq}"),
            (None, Some(method)) => format!("{method} {cseq}"),
            (None, None) => unreachable!("a message is a request or a response"),
        });
    });
    lines
}

/// Each exchange sends exactly what it should, twice in a row, and leaves nothing behind
/// once 64·T1 has passed.
fn cross_check() {
    let mut call = Call::established();
    for _ in 0..2 {
        let info = sent(&mut call, |c, s| c.info_in(&mut |m| s(m)));
        assert_eq!(info, ["200 INFO"], "info_in");
        let re_in = sent(&mut call, |c, s| c.reinvite_in(&mut |m| s(m)));
        assert_eq!(re_in, ["200 INVITE"], "reinvite_in");
        let re_out = sent(&mut call, |c, s| c.reinvite_out(&mut |m| s(m)));
        assert_eq!(re_out, ["INVITE INVITE", "ACK ACK"], "reinvite_out");
    }
    // The 200 to the peer's re-INVITE carries our answer; our ACK carries nothing.
    let mut bodies = Vec::new();
    call.reinvite_in(&mut |m| bodies.push(Message::parse(m).unwrap().body().to_vec()));
    assert_eq!(bodies, [HOLD_ANSWER.to_vec()]);
    bodies.clear();
    call.reinvite_out(&mut |m| bodies.push(Message::parse(m).unwrap().body().to_vec()));
    assert_eq!(bodies, [NEW_OFFER.to_vec(), Vec::new()]);
    settle(&mut call);
}

/// After a bench: the call is still up, and 64·T1 later no transaction is left.
fn settle(call: &mut Call) {
    call.ua.now += Duration::from_secs(33);
    call.ua.ep.handle_timeout(call.ua.now);
    drain(&mut call.ua, &mut Seen::default(), &mut discard);
    assert_eq!(call.ua.ep.invitation_count(), 1, "the call is the only invitation");
    let state = call.ua.ep.invitation(call.id).expect("live").state();
    assert_eq!(state, InvitationState::Established, "the call is still up");
    assert_eq!(call.ua.ep.transaction_count(), 0, "no transaction left behind");
}

fn session(c: &mut Criterion) {
    cross_check();
    let mut group = c.benchmark_group("session");
    let mut call = Call::established();
    group.bench_function("info_in", |b| b.iter(|| call.info_in(&mut discard)));
    settle(&mut call);
    let mut call = Call::established();
    group.bench_function("reinvite_in", |b| b.iter(|| call.reinvite_in(&mut discard)));
    settle(&mut call);
    let mut call = Call::established();
    group.bench_function("reinvite_out", |b| b.iter(|| call.reinvite_out(&mut discard)));
    settle(&mut call);
    group.finish();
}

/// The caller's share inside `session/reinvite_out`: parse the INVITE we sent and build the
/// 200 with its answer.
fn session_peer(c: &mut Criterion) {
    let mut call = Call::established();
    let mut invite = None;
    let now = call.ua.now;
    let options = RequestOptions::new().body("application/sdp", Bytes::from_static(NEW_OFFER));
    call.ua.ep.invitation(call.id).expect("live").re_invite(now, options).expect("re-INVITE");
    while let Some(out) = call.ua.ep.poll_output() {
        if let Output::Transmit(t) = out {
            invite = Some(t.payload);
        }
    }
    let invite = invite.expect("the re-INVITE");
    c.bench_function("session_peer/reinvite_out_200", |b| {
        b.iter(|| black_box(answer(black_box(invite.clone()))));
    });
}

criterion_group!(benches, session, session_peer);
criterion_main!(benches);
