//! One whole UAS call, as the caller's bytes, and the sipwire drivers that answer it; shared
//! by the `endpoint` and `ua_memory` benches through
//! `#[path = "common/ua_call.rs"] mod ua_call;`.
//!
//! The call, seen from the user-agent server:
//!
//! ```text
//! caller                       UAS
//!   | INVITE (SDP offer) ------> |   parse, §8.2 checks, INVITE server transaction, invitation
//!   | <------------- 100 Trying  |   (automatic)
//!   | <------------ 180 Ringing  |   (automatic: early dialog, To tag)
//!   |                            |   the application accepts with an SDP answer
//!   | <-------------- 200 OK     |   dialog confirmed, 2xx retransmission armed
//!   | ACK ---------------------> |   matched to the dialog, retransmission stops
//!   | BYE ---------------------> |   matched to the dialog, new server transaction
//!   | <-------------- 200 OK     |   the call ends
//!   ...32 s (64·T1) later: Timer L, Timer J and the invitation's linger run out, nothing left
//! ```
//!
//! Every call gets its own Call-ID, From tag and branches from a call number `i`: the caller's
//! messages are rendered from [`Template`]s by copying their fixed parts and writing `i` as 16
//! hex digits where `{ID}` stands (about 50 ns, counted in the timed loop as a socket read
//! would be: one fresh buffer per datagram). The ACK and the BYE carry the To tag the UAS put
//! on its 200, read back from the 200's bytes by [`to_tag`] (a scan for the `To:` line, no
//! parse).

// Each bench includes this file as a private module and uses part of it.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::transaction::{LayerConfig, TransactionId, TransactionLayer, TxEvent};
use sipwire::ua::{AcceptOptions, Config, Event, InvitationId};
use sipwire::{Endpoint, HeaderName, Input, Output, Transport};

/// The caller.
pub const CALLER: &str = "192.0.2.1:5060";
/// The UAS's Contact URI.
pub const UAS_CONTACT_URI: &str = "sip:bob@192.0.2.2:5060";
/// The UAS's Contact header value (for APIs that take the header value).
pub const UAS_CONTACT: &str = "<sip:bob@192.0.2.2:5060>";

/// The INVITE's headers (LF line ends; CRLF on the wire); `Content-Length` is added.
const INVITE_HEAD: &str = "INVITE sip:bob@192.0.2.2:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKi{ID}
Max-Forwards: 70
From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=f{ID}
To: \"Bob\" <sip:bob@192.0.2.2:5060>
Call-ID: {ID}@192.0.2.1
CSeq: 1 INVITE
Contact: <sip:alice@192.0.2.1:5060>
Content-Type: application/sdp
";

/// The INVITE's SDP offer: one audio stream, three payload types.
const OFFER: &str = "v=0
o=alice 2890844526 2890844526 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 49170 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
";

/// The application's SDP answer, in the 200 OK.
pub const ANSWER: &[u8] = b"v=0\r\no=bob 2808844564 2808844564 IN IP4 192.0.2.2\r\ns=-\r\n\
c=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n";

/// The ACK for the 200 (its own transaction: a new branch, §17.1.1.3).
const ACK_HEAD: &str = "ACK sip:bob@192.0.2.2:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKa{ID}
Max-Forwards: 70
From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=f{ID}
To: \"Bob\" <sip:bob@192.0.2.2:5060>;tag={TAG}
Call-ID: {ID}@192.0.2.1
CSeq: 1 ACK
";

/// The caller hangs up.
const BYE_HEAD: &str = "BYE sip:bob@192.0.2.2:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKb{ID}
Max-Forwards: 70
From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=f{ID}
To: \"Bob\" <sip:bob@192.0.2.2:5060>;tag={TAG}
Call-ID: {ID}@192.0.2.1
CSeq: 2 BYE
";

#[derive(Debug)]
enum Piece {
    Text(Box<[u8]>),
    Id,
    Tag,
}

/// A message with holes for the call number (`{ID}`, 16 hex digits) and the To tag (`{TAG}`).
#[derive(Debug)]
pub struct Template {
    pieces: Vec<Piece>,
    /// The rendered length without the To tag.
    len: usize,
}

impl Template {
    /// `head` (LF line ends) plus Content-Length, the blank line and `body`, all CRLF.
    fn new(head: &str, body: &str) -> Self {
        let body = body.replace('\n', "\r\n");
        let text =
            format!("{}Content-Length: {}\r\n\r\n{body}", head.replace('\n', "\r\n"), body.len());
        let mut pieces = Vec::new();
        let mut len = 0;
        let mut rest = text.as_str();
        while let Some(at) = rest.find('{') {
            let (piece, hole) = if rest[at..].starts_with("{ID}") {
                (Piece::Id, "{ID}")
            } else if rest[at..].starts_with("{TAG}") {
                (Piece::Tag, "{TAG}")
            } else {
                panic!("unknown hole in {rest}")
            };
            pieces.push(Piece::Text(rest.as_bytes()[..at].into()));
            len += at + if matches!(piece, Piece::Id) { 16 } else { 0 };
            pieces.push(piece);
            rest = &rest[at + hole.len()..];
        }
        len += rest.len();
        pieces.push(Piece::Text(rest.as_bytes().into()));
        Self { pieces, len }
    }

    /// The caller's INVITE.
    pub fn invite() -> Self {
        Self::new(INVITE_HEAD, OFFER)
    }

    /// The caller's ACK for the 200.
    pub fn ack() -> Self {
        Self::new(ACK_HEAD, "")
    }

    /// The caller's BYE.
    pub fn bye() -> Self {
        Self::new(BYE_HEAD, "")
    }

    /// The message of call `id` in dialog `tag`, in a buffer of its own.
    pub fn render(&self, id: u64, tag: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len + tag.len());
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t),
                Piece::Id => out.extend_from_slice(&hex16(id)),
                Piece::Tag => out.extend_from_slice(tag),
            }
        }
        out
    }
}

fn hex16(id: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, d) in out.iter_mut().enumerate() {
        *d = DIGITS[((id >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

/// The To tag of a response, read from its bytes: the `tag=` parameter on the line that
/// starts with `To:` (or compact `t:`). A scan, not a parse: about 2 000 instructions on the
/// endpoint's 639-byte 200.
pub fn to_tag(response: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    loop {
        let line_end = at + response[at..].iter().position(|&b| b == b'\n')?;
        let line = &response[at..line_end];
        if line.is_empty() || line == b"\r" {
            return None; // end of the headers
        }
        let is_to = line.len() > 3
            && (line[..3].eq_ignore_ascii_case(b"to:") || line[..2].eq_ignore_ascii_case(b"t:"));
        if is_to {
            let start = line.windows(5).position(|w| w.eq_ignore_ascii_case(b";tag="))? + 5;
            let tag = &line[start..];
            let end = tag.iter().position(|b| matches!(b, b';' | b'\r' | b' ' | b',' | b'>'));
            return Some(&tag[..end.unwrap_or(tag.len())]);
        }
        at = line_end + 1;
    }
}

/// The status code of a serialized response (`SIP/2.0 NNN ...`), for checks.
pub fn status_of(wire: &[u8]) -> u16 {
    let code = wire.get(8..11).expect("response too short");
    std::str::from_utf8(code).expect("status code").parse().expect("status code")
}

/// The caller's messages and the To tag of the call in progress.
#[derive(Debug)]
pub struct Caller {
    pub invite: Template,
    pub ack: Template,
    pub bye: Template,
    /// The To tag read from the last 200 to INVITE (reused buffer).
    pub tag: Vec<u8>,
}

impl Default for Caller {
    fn default() -> Self {
        Self::new()
    }
}

impl Caller {
    pub fn new() -> Self {
        Self {
            invite: Template::invite(),
            ack: Template::ack(),
            bye: Template::bye(),
            tag: Vec::with_capacity(64),
        }
    }

    /// Remembers the To tag of a 200 to our INVITE.
    pub fn read_tag(&mut self, ok: &[u8]) {
        let tag = to_tag(ok).expect("the 200 has a To tag");
        self.tag.clear();
        self.tag.extend_from_slice(tag);
    }
}

/// An [`Endpoint`] as the UAS, on a virtual clock, with an application that accepts every
/// invitation with [`ANSWER`].
#[derive(Debug)]
pub struct SipwireUa {
    pub ep: Endpoint,
    pub now: Instant,
    peer: SocketAddr,
    pub caller: Caller,
}

impl Default for SipwireUa {
    fn default() -> Self {
        Self::new()
    }
}

impl SipwireUa {
    /// Defaults (automatic 100 and 180), room for a million transactions and invitations.
    pub fn new() -> Self {
        let mut config = Config::new(UAS_CONTACT_URI).with_seed(7);
        config.max_transactions = 1 << 20;
        config.max_invitations = 1 << 20;
        #[allow(clippy::disallowed_methods)] // the virtual clock's epoch
        let now = Instant::now();
        Self {
            ep: Endpoint::new(config),
            now,
            peer: CALLER.parse().unwrap(),
            caller: Caller::new(),
        }
    }

    /// Sends what the endpoint wants sent (reading the To tag off a 200 to INVITE); returns
    /// the new invitation, if one came out.
    fn drain(&mut self, sink: &mut impl FnMut(&[u8])) -> Option<InvitationId> {
        let mut new = None;
        while let Some(out) = self.ep.poll_output() {
            match out {
                Output::Transmit(t) => {
                    if t.payload.starts_with(b"SIP/2.0 200") && t.payload.ends_with(ANSWER) {
                        self.caller.read_tag(&t.payload);
                    }
                    sink(&t.payload);
                }
                Output::Event(Event::Invitation { id }) => new = Some(id),
                Output::Event(_) => {}
            }
        }
        new
    }

    fn receive(&mut self, datagram: Vec<u8>, sink: &mut impl FnMut(&[u8])) -> Option<InvitationId> {
        let input = Input::received(self.peer, Transport::Udp, Bytes::from(datagram));
        self.ep.handle_input(self.now, input);
        self.drain(sink)
    }

    /// INVITE of call `i` in; 100 and 180 out; returns the invitation.
    #[inline(never)] // a frame of its own in profiles
    pub fn ring(&mut self, i: u64, sink: &mut impl FnMut(&[u8])) -> InvitationId {
        let invite = self.caller.invite.render(i, b"");
        self.receive(invite, sink).expect("sipwire: the INVITE becomes an invitation")
    }

    /// The application accepts with [`ANSWER`]; the 200 goes out and its To tag is read.
    #[inline(never)] // a frame of its own in profiles
    pub fn accept(&mut self, id: InvitationId, sink: &mut impl FnMut(&[u8])) {
        let options = AcceptOptions::new().body("application/sdp", Bytes::from_static(ANSWER));
        self.ep.invitation(id).expect("live").accept(self.now, options).expect("sipwire: accept");
        self.drain(sink);
    }

    /// The caller's ACK for call `i`, with the To tag in `caller.tag`.
    #[inline(never)] // a frame of its own in profiles
    pub fn ack(&mut self, i: u64, sink: &mut impl FnMut(&[u8])) {
        let ack = self.caller.ack.render(i, &self.caller.tag);
        self.receive(ack, sink);
    }

    /// The caller's BYE for call `i`, with the To tag in `caller.tag`; the 200 goes out.
    #[inline(never)] // a frame of its own in profiles
    pub fn bye(&mut self, i: u64, sink: &mut impl FnMut(&[u8])) {
        let bye = self.caller.bye.render(i, &self.caller.tag);
        self.receive(bye, sink);
    }

    /// Moves the clock 32 s (64·T1) on and fires what is due.
    #[inline(never)] // a frame of its own in profiles
    pub fn advance(&mut self, sink: &mut impl FnMut(&[u8])) {
        self.now += Duration::from_secs(32);
        self.ep.handle_timeout(self.now);
        self.drain(sink);
    }

    /// The whole call, from the INVITE's bytes to the endpoint holding nothing.
    pub fn call(&mut self, i: u64, sink: &mut impl FnMut(&[u8])) {
        let id = self.ring(i, sink);
        self.accept(id, sink);
        self.ack(i, sink);
        self.bye(i, sink);
        self.advance(sink);
        assert!(
            self.ep.invitation_count() == 0 && self.ep.transaction_count() == 0,
            "sipwire: the call left state behind"
        );
    }
}

/// The same call through sipwire's `TransactionLayer` alone, with the thinnest TU that can
/// carry it: a fixed To tag, no dialog, no §8.2 checks, no 2xx retransmission, the ACK
/// dropped unlooked-at and the BYE answered without finding its dialog. A floor for what the
/// user-agent layer adds, not something a UA could ship.
#[derive(Debug)]
pub struct SipwireTransactions {
    layer: TransactionLayer,
    now: Instant,
    peer: SocketAddr,
    pub caller: Caller,
}

impl Default for SipwireTransactions {
    fn default() -> Self {
        Self::new()
    }
}

/// The fixed To tag of [`SipwireTransactions`].
const FIXED_TAG: &str = "8f7a6c1d2b3e4f50";

impl SipwireTransactions {
    /// The layer as the endpoint configures it (parse with `validate: false`).
    pub fn new() -> Self {
        let mut config = LayerConfig::default();
        config.max_transactions = 1 << 20;
        #[allow(clippy::disallowed_methods)] // the virtual clock's epoch
        let now = Instant::now();
        Self {
            layer: TransactionLayer::new(config),
            now,
            peer: CALLER.parse().unwrap(),
            caller: Caller::new(),
        }
    }

    fn receive(
        &mut self,
        datagram: Vec<u8>,
        sink: &mut impl FnMut(&[u8]),
    ) -> Option<(TransactionId, Box<sipwire::Message>)> {
        self.layer.handle_datagram(self.now, self.peer, Transport::Udp, Bytes::from(datagram));
        self.drain(sink)
    }

    fn drain(
        &mut self,
        sink: &mut impl FnMut(&[u8]),
    ) -> Option<(TransactionId, Box<sipwire::Message>)> {
        let mut new = None;
        while let Some(out) = self.layer.poll_output() {
            match out {
                Output::Transmit(t) => {
                    if t.payload.starts_with(b"SIP/2.0 200") && t.payload.ends_with(ANSWER) {
                        self.caller.read_tag(&t.payload);
                    }
                    sink(&t.payload);
                }
                Output::Event(TxEvent::Request { id, request, .. }) => new = Some((id, request)),
                Output::Event(_) => {}
            }
        }
        new
    }

    /// The whole call: the TU answers 100, 180 and 200 (SDP) on the INVITE transaction and
    /// 200 on the BYE's; then Timers L and J end both transactions.
    pub fn call(&mut self, i: u64, sink: &mut impl FnMut(&[u8])) {
        let invite = self.caller.invite.render(i, b"");
        let (id, request) = self.receive(invite, sink).expect("sipwire: INVITE reaches the TU");
        let now = self.now;
        self.layer.respond(now, id, request.reply(100)).expect("100");
        let ringing = request.reply(180).to_tag(FIXED_TAG).header(HeaderName::Contact, UAS_CONTACT);
        self.layer.respond(now, id, ringing).expect("180");
        let ok = request
            .reply(200)
            .to_tag(FIXED_TAG)
            .header(HeaderName::Contact, UAS_CONTACT)
            .body("application/sdp", Bytes::from_static(ANSWER));
        self.layer.respond(now, id, ok).expect("200");
        drop(request);
        self.drain(sink);
        let ack = self.caller.ack.render(i, &self.caller.tag);
        assert!(self.receive(ack, sink).is_none(), "sipwire: the ACK is no new transaction");
        let bye = self.caller.bye.render(i, &self.caller.tag);
        let (bye_tx, bye) = self.receive(bye, sink).expect("sipwire: BYE reaches the TU");
        self.layer.respond(now, bye_tx, bye.reply(200)).expect("200 to BYE");
        drop(bye);
        self.drain(sink);
        self.now += Duration::from_secs(32);
        self.layer.handle_timeout(self.now);
        self.drain(sink);
        assert!(self.layer.is_empty(), "sipwire: transactions left behind");
    }
}
