//! The user-agent core's automatic responses (RFC 3261 §8.2, §12.2.2, §9.2; RFC 3262 §3)
//! that no RFC 4475 / RFC 5118 message exercises, each driven in the simulator: a
//! scripted caller ([`Sink`]) that sends exactly the bytes a test writes, and a real
//! [`Endpoint`] answering on its own.
//!
//! `sipwire/tests/endpoint_conformance.rs` covers what the conformance corpus reaches.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sipwire::transaction::Discard;
use sipwire::ua::{
    AcceptOptions, Config, EndReason, Event, InvitationId, InvitationState, ProgressOptions,
};
use sipwire::{Endpoint, ErrorKind, HeaderName, Message, Method, Transport};
use sipwire_sim::script::Sink;
use sipwire_sim::{NodeId, World};

const ALICE: &str = "192.0.2.1:5060";
const BOB: &str = "192.0.2.2:5060";
const OFFER: &str = "v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n";
const ANSWER: &str = "v=0\r\no=bob 2 2 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0\r\n";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("an address")
}

/// One request line by line; `to_tag` and `extra` header lines are optional.
#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    uri: String,
    branch: String,
    call_id: String,
    from_tag: String,
    to_tag: Option<String>,
    cseq: u32,
    cseq_method: &'static str,
    extra: String,
    via: bool,
    body: &'static str,
}

impl Req {
    fn new(method: &'static str, branch: &str, call_id: &str, cseq: u32) -> Self {
        Self {
            method,
            uri: format!("sip:bob@{BOB}"),
            branch: branch.to_owned(),
            call_id: call_id.to_owned(),
            from_tag: "alice-tag".to_owned(),
            to_tag: None,
            cseq,
            cseq_method: method,
            extra: String::new(),
            via: true,
            body: "",
        }
    }

    fn uri(mut self, uri: &str) -> Self {
        self.uri = uri.to_owned();
        self
    }

    fn tagged(mut self, tag: &str) -> Self {
        self.to_tag = Some(tag.to_owned());
        self
    }

    fn extra(mut self, line: &str) -> Self {
        self.extra.push_str(line);
        self.extra.push_str("\r\n");
        self
    }

    /// An SDP body (the offer of an INVITE).
    fn sdp(mut self, body: &'static str) -> Self {
        self.body = body;
        self.extra.push_str("Content-Type: application/sdp\r\n");
        self
    }

    fn without_via(mut self) -> Self {
        self.via = false;
        self
    }

    /// The request with the start line `start` instead of the well-formed one.
    fn text_with_start(&self, start: &str) -> String {
        let via = if self.via {
            format!("Via: SIP/2.0/UDP {ALICE};branch={}\r\n", self.branch)
        } else {
            String::new()
        };
        let to_tag = self.to_tag.as_deref().map(|t| format!(";tag={t}")).unwrap_or_default();
        format!(
            "{start}\r\n{via}From: <sip:alice@{ALICE}>;tag={}\r\nTo: <sip:bob@{BOB}>{to_tag}\r\n\
             Call-ID: {}\r\nCSeq: {} {}\r\nMax-Forwards: 70\r\nContact: <sip:alice@{ALICE}>\r\n\
             {}Content-Length: {}\r\n\r\n{}",
            self.from_tag,
            self.call_id,
            self.cseq,
            self.cseq_method,
            self.extra,
            self.body.len(),
            self.body
        )
    }

    fn text(&self) -> String {
        self.text_with_start(&format!("{} {} SIP/2.0", self.method, self.uri))
    }
}

/// The world: alice (a [`Sink`]) calls bob (the endpoint under test).
struct Sim {
    world: World,
    alice: NodeId,
    bob: NodeId,
    events: Vec<Event>,
}

impl Sim {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::new(&format!("sip:bob@{BOB}")).with_seed(3261);
        tweak(&mut config);
        let mut world = World::new(3261);
        let alice = world.add_node("alice", addr(ALICE), Sink::new());
        let bob = world.add_node("bob", addr(BOB), Endpoint::new(config));
        Self { world, alice, bob, events: Vec::new() }
    }

    /// Sends raw bytes from alice to bob now, then lets them (and any answer) cross the
    /// 10 ms links.
    fn send(&mut self, bytes: impl Into<Bytes>) {
        let (bob, bytes) = (addr(BOB), bytes.into());
        self.world
            .with_node(self.alice, |s: &mut Sink, _| s.send(bob, Transport::Udp, bytes))
            .expect("alice is a sink");
        self.run_for(Duration::from_millis(50));
    }

    fn request(&mut self, req: &Req) {
        self.send(req.text());
    }

    fn run_for(&mut self, d: Duration) {
        self.world.run_for(d);
        self.events
            .extend(self.world.take_events_as::<Event>(self.bob).into_iter().map(|(_, e)| e));
    }

    /// Every message alice received, oldest first.
    fn received(&self) -> Vec<Message> {
        let sink = self.world.node::<Sink>(self.alice).expect("alice is a sink");
        sink.received().iter().map(|r| r.message().expect("bob sends well-formed SIP")).collect()
    }

    /// The responses alice received with this CSeq method, oldest first.
    fn responses_to(&self, method: &Method) -> Vec<Message> {
        self.received()
            .into_iter()
            .filter(|m| m.status().is_some() && m.cseq().is_ok_and(|c| c.method == *method))
            .collect()
    }

    /// The one response alice received with this CSeq method.
    fn only_response_to(&self, method: &Method) -> Message {
        let mut all = self.responses_to(method);
        assert_eq!(all.len(), 1, "one response to {method:?}, got {:?}", codes(&all));
        all.remove(0)
    }

    fn invitation(&self) -> InvitationId {
        let ids: Vec<InvitationId> = self
            .events
            .iter()
            .filter_map(|e| if let Event::Invitation { id } = e { Some(*id) } else { None })
            .collect();
        assert_eq!(ids.len(), 1, "one invitation, events {:?}", self.events);
        ids[0]
    }

    fn state(&mut self, id: InvitationId) -> Option<InvitationState> {
        self.world
            .with_node(self.bob, |ep: &mut Endpoint, _| Some(ep.invitation(id)?.state()))
            .flatten()
    }

    fn discarded(&self) -> Vec<Discard> {
        self.events
            .iter()
            .filter_map(
                |e| if let Event::Discarded { reason, .. } = e { Some(*reason) } else { None },
            )
            .collect()
    }

    /// INVITE (CSeq 1 on `call`) with an offer, accepted with an answer; returns the
    /// invitation and bob's To tag. The ACK (which then carries no body) is left to the test.
    fn accepted_call(&mut self, call: &str) -> (InvitationId, String) {
        self.request(&Req::new("INVITE", "z9hG4bKinv", call, 1).sdp(OFFER));
        let id = self.invitation();
        self.world
            .with_node(self.bob, |ep: &mut Endpoint, now| {
                ep.invitation(id)
                    .expect("live")
                    .accept(now, AcceptOptions::new().body("application/sdp", ANSWER))
            })
            .expect("bob is an endpoint")
            .expect("accept");
        self.run_for(Duration::from_millis(50));
        let ok = self.responses_to(&Method::Invite).into_iter().find(|m| m.status() == Some(200));
        let tag = ok.expect("the 200").to_tag().expect("To").expect("a To tag").to_owned();
        (id, tag)
    }
}

fn codes(messages: &[Message]) -> Vec<u16> {
    messages.iter().filter_map(Message::status).collect()
}

fn header(m: &Message, name: HeaderName) -> Option<String> {
    m.header(name).map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The comma-separated values of a header, in order.
fn list(m: &Message, name: HeaderName) -> Vec<String> {
    m.header_values(name).map(|v| String::from_utf8_lossy(v).into_owned()).collect()
}

/// A response answers `req`: its Via branch, Call-ID and CSeq are the request's, and
/// (§8.2.6.2) its To carries a tag.
fn assert_answers(response: &Message, req: &Req) {
    assert_echoes(response, req);
    assert!(response.to_tag().ok().flatten().is_some(), "no To tag on {:?}", response.status());
}

/// As [`assert_answers`], but for the To tag.
fn assert_echoes(response: &Message, req: &Req) {
    assert_eq!(response.call_id().ok(), Some(req.call_id.as_str()));
    let cseq = response.cseq().expect("CSeq");
    assert_eq!((cseq.seq, cseq.method.as_str()), (req.cseq, req.cseq_method));
    assert_eq!(response.top_via().expect("Via").branch(), Some(req.branch.as_str()));
}

#[test]
fn a_merged_invite_is_answered_482_while_the_first_stays_live() {
    let mut sim = Sim::new();
    let first = Req::new("INVITE", "z9hG4bKpath1", "merged@alice", 7);
    sim.request(&first);
    let id = sim.invitation();
    // Same From tag, Call-ID and CSeq; another branch: the copy a forking proxy sent.
    let copy = Req { branch: "z9hG4bKpath2".to_owned(), ..first };
    sim.request(&copy);
    let to_copy: Vec<Message> = sim
        .responses_to(&Method::Invite)
        .into_iter()
        .filter(|m| {
            m.top_via().ok().and_then(|v| v.branch().map(str::to_owned)).as_deref()
                == Some("z9hG4bKpath2")
        })
        .collect();
    assert_eq!(codes(&to_copy), [482]);
    assert_answers(&to_copy[0], &copy);
    assert_eq!(sim.invitation(), id, "the copy raises no second invitation");
    assert_eq!(sim.state(id), Some(InvitationState::Initial));
}

#[test]
fn a_bye_outside_any_dialog_is_answered_481() {
    let mut sim = Sim::new();
    let with_tag = Req::new("BYE", "z9hG4bKbye1", "nodialog@alice", 2).tagged("never-issued");
    sim.request(&with_tag);
    let without_tag = Req::new("BYE", "z9hG4bKbye2", "nodialog2@alice", 2);
    sim.request(&without_tag);
    let answers = sim.responses_to(&Method::Bye);
    assert_eq!(codes(&answers), [481, 481]);
    assert_answers(&answers[0], &with_tag);
    assert_eq!(answers[0].to_tag().ok().flatten(), Some("never-issued"), "the To tag is kept");
    assert_answers(&answers[1], &without_tag);
}

#[test]
fn a_cancel_matching_no_transaction_is_answered_481() {
    let mut sim = Sim::new();
    let cancel = Req::new("CANCEL", "z9hG4bKnothing", "nothing@alice", 1);
    sim.request(&cancel);
    let answer = sim.only_response_to(&Method::Cancel);
    assert_eq!(answer.status(), Some(481));
    assert_echoes(&answer, &cancel);
    assert_eq!(sim.discarded(), [Discard::UnmatchedCancel]);
}

#[test]
fn the_481_to_an_unmatched_cancel_carries_a_to_tag() {
    let mut sim = Sim::new();
    let cancel = Req::new("CANCEL", "z9hG4bKnothing", "nothing@alice", 1);
    sim.request(&cancel);
    assert_answers(&sim.only_response_to(&Method::Cancel), &cancel);
}

#[test]
fn a_prack_whose_to_tag_matches_no_dialog_is_answered_481() {
    let mut sim = Sim::new();
    sim.request(&Req::new("INVITE", "z9hG4bKinv", "early@alice", 1).extra("Require: 100rel"));
    let id = sim.invitation();
    sim.world
        .with_node(sim.bob, |ep: &mut Endpoint, now| {
            ep.invitation(id).expect("live").progress(now, ProgressOptions::new())
        })
        .expect("bob is an endpoint")
        .expect("a reliable 180");
    sim.run_for(Duration::from_millis(50));
    let ringing = sim.responses_to(&Method::Invite).into_iter().find(|m| m.status() == Some(180));
    let ringing = ringing.expect("the reliable 180");
    let rseq = ringing.rseq().expect("RSeq").expect("an RSeq");
    let tag = ringing.to_tag().expect("To").expect("bob's tag").to_owned();
    // Right Call-ID, From tag and RAck, but a To tag naming no dialog of bob's.
    let rack = format!("RAck: {rseq} 1 INVITE");
    let stray = Req::new("PRACK", "z9hG4bKstray", "early@alice", 2).tagged("not-bobs").extra(&rack);
    sim.request(&stray);
    let answer = sim.only_response_to(&Method::Prack);
    assert_eq!(answer.status(), Some(481));
    assert_answers(&answer, &stray);
    assert!(!sim.events.iter().any(|e| matches!(e, Event::Pracked { .. })), "{:?}", sim.events);
    // The same PRACK in bob's dialog is the one that counts.
    sim.request(&Req::new("PRACK", "z9hG4bKprack", "early@alice", 3).tagged(&tag).extra(&rack));
    assert_eq!(codes(&sim.responses_to(&Method::Prack)), [481, 200]);
    assert!(sim.events.contains(&Event::Pracked { id, rseq, with_body: false }));
}

#[test]
fn a_request_over_the_size_limit_is_answered_513() {
    let mut sim = Sim::with(|c| c.limits.max_message_size = 512);
    let small = Req::new("OPTIONS", "z9hG4bKsmall", "small@alice", 1);
    assert!(small.text().len() < 512);
    sim.request(&small);
    let big = Req::new("OPTIONS", "z9hG4bKbig", "big@alice", 2)
        .extra(&format!("Subject: {}", "x".repeat(300)));
    assert!(big.text().len() > 512);
    sim.request(&big);
    let answers = sim.responses_to(&Method::Options);
    assert_eq!(codes(&answers), [200, 513]);
    assert_answers(&answers[1], &big);
    assert_eq!(answers[1].reason(), Some("Message Too Large"));
}

#[test]
fn an_invite_beyond_max_invitations_is_answered_503_with_retry_after() {
    let mut sim = Sim::with(|c| {
        c.max_invitations = 1;
        c.retry_after = 9;
    });
    sim.request(&Req::new("INVITE", "z9hG4bKone", "one@alice", 1));
    let id = sim.invitation();
    let second = Req::new("INVITE", "z9hG4bKtwo", "two@alice", 1);
    sim.request(&second);
    let to_second: Vec<Message> = sim
        .responses_to(&Method::Invite)
        .into_iter()
        .filter(|m| m.call_id().ok() == Some("two@alice"))
        .collect();
    assert_eq!(codes(&to_second), [503]);
    assert_answers(&to_second[0], &second);
    assert_eq!(header(&to_second[0], HeaderName::RetryAfter).as_deref(), Some("9"));
    assert_eq!(sim.invitation(), id, "no second invitation");
}

#[test]
fn a_request_beyond_max_transactions_is_answered_503_with_retry_after() {
    let mut sim = Sim::with(|c| {
        c.max_transactions = 1;
        c.retry_after = 9;
    });
    // The ringing INVITE's transaction fills the table (an INVITE's is always kept).
    sim.request(&Req::new("INVITE", "z9hG4bKfirst", "first@alice", 1));
    let second = Req::new("OPTIONS", "z9hG4bKsecond", "second@alice", 1);
    sim.request(&second);
    let answers = sim.responses_to(&Method::Options);
    assert_eq!(codes(&answers), [503]);
    let cseq = answers[0].cseq().expect("CSeq");
    assert_eq!((answers[0].call_id().ok(), cseq.seq), (Some("second@alice"), 1));
    assert_eq!(header(&answers[0], HeaderName::RetryAfter).as_deref(), Some("9"));
    assert_eq!(sim.discarded(), [Discard::Overloaded]);
}

#[test]
fn the_503_for_a_full_transaction_table_carries_a_to_tag() {
    let mut sim = Sim::with(|c| c.max_transactions = 1);
    sim.request(&Req::new("INVITE", "z9hG4bKfirst", "first@alice", 1));
    let second = Req::new("OPTIONS", "z9hG4bKsecond", "second@alice", 1);
    sim.request(&second);
    let answers = sim.responses_to(&Method::Options);
    assert_eq!(codes(&answers), [503]);
    assert_answers(&answers[0], &second);
}

#[test]
fn under_load_unwanted_requests_are_answered_statelessly_so_calls_still_get_in() {
    // Half of 8 transactions in use is "under load" (RFC 3261 §8.2.7 allows a UAS to
    // answer statelessly then): requests the core answers by itself stop holding a
    // transaction for Timer J, and a flood of them cannot lock calls out with 503.
    let mut sim = Sim::with(|c| c.max_transactions = 8);
    for i in 0..40 {
        sim.request(&Req::new("REGISTER", &format!("z9hG4bKflood{i}"), &format!("f{i}@alice"), 1));
    }
    let answers = sim.responses_to(&Method::Register);
    assert_eq!(codes(&answers), [405; 40], "every one answered, none 503");
    let held = sim.world.node::<Endpoint>(sim.bob).expect("bob").transaction_count();
    assert_eq!(held, 3, "kept for Timer J until one more would make half the table");
    // A retransmission of a forgotten request is simply answered again.
    sim.request(&Req::new("REGISTER", "z9hG4bKflood39", "f39@alice", 1));
    assert_eq!(codes(&sim.responses_to(&Method::Register)), [405; 41]);
    // A call still gets in, and its transaction is kept.
    sim.request(&Req::new("INVITE", "z9hG4bKcall", "call@alice", 1).sdp(OFFER));
    let _ = sim.invitation();
    assert_eq!(codes(&sim.responses_to(&Method::Invite)), [100, 180]);
    // Once Timer J has run out for those three, the table holds the INVITE alone.
    sim.run_for(Duration::from_secs(33));
    let held = sim.world.node::<Endpoint>(sim.bob).expect("bob").transaction_count();
    assert_eq!(held, 1);
}

#[test]
fn options_outside_a_dialog_is_answered_200_with_allow_accept_and_supported() {
    let mut sim = Sim::new();
    let options = Req::new("OPTIONS", "z9hG4bKopt", "caps@alice", 1);
    sim.request(&options);
    let ok = sim.only_response_to(&Method::Options);
    assert_eq!(ok.status(), Some(200));
    assert_answers(&ok, &options);
    assert_eq!(
        list(&ok, HeaderName::Allow),
        [
            "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "PRACK", "UPDATE", "INFO", "MESSAGE",
            "REFER", "NOTIFY"
        ]
    );
    assert_eq!(
        list(&ok, HeaderName::Accept),
        ["application/sdp", "message/sipfrag", "text/plain", "application/dtmf-relay"]
    );
    assert_eq!(list(&ok, HeaderName::Supported), ["100rel"]);
}

#[test]
fn an_ack_with_an_odd_request_uri_still_reaches_the_dialog_and_stops_the_2xx() {
    let mut sim = Sim::new();
    let (id, tag) = sim.accepted_call("ack@alice");
    // Matched by Call-ID and tags (§12.2.2), never by the Request-URI.
    let ack =
        Req::new("ACK", "z9hG4bKack", "ack@alice", 1).tagged(&tag).uri("sip:nobody@203.0.113.9");
    sim.request(&ack);
    // Without the ACK the 200 would go again at 0.5, 1.5, 3.5 … s and a BYE at 32 s.
    sim.run_for(Duration::from_secs(40));
    let oks: Vec<u16> =
        codes(&sim.responses_to(&Method::Invite)).into_iter().filter(|c| *c == 200).collect();
    assert_eq!(oks, [200], "the 200 is sent once");
    assert!(sim.events.contains(&Event::Acked { id, with_body: false }), "events {:?}", sim.events);
    assert!(sim.discarded().is_empty(), "nothing discarded: {:?}", sim.discarded());
    assert!(sim.received().iter().all(|m| m.method() != Some(&Method::Bye)), "no BYE");
    assert_eq!(sim.state(id), Some(InvitationState::Established));
}

#[test]
fn a_bye_with_a_non_sip_request_uri_still_reaches_the_dialog() {
    let mut sim = Sim::new();
    let (id, tag) = sim.accepted_call("bye@alice");
    sim.request(&Req::new("ACK", "z9hG4bKack", "bye@alice", 1).tagged(&tag));
    // Outside a dialog this scheme would get 416; inside, the dialog is found first.
    let bye = Req::new("BYE", "z9hG4bKbye", "bye@alice", 2)
        .tagged(&tag)
        .uri("nobodyKnowsThisScheme:totallyopaquecontent");
    sim.request(&bye);
    let ok = sim.only_response_to(&Method::Bye);
    assert_eq!(ok.status(), Some(200));
    assert_answers(&ok, &bye);
    assert!(
        sim.events.contains(&Event::Terminated { id, reason: EndReason::RemoteBye }),
        "events {:?}",
        sim.events
    );
}

#[test]
fn a_malformed_request_with_readable_headers_is_answered_400_naming_the_fault() {
    let mut sim = Sim::new();
    let req = Req::new("OPTIONS", "z9hG4bKbadline", "badline@alice", 1);
    // Two spaces between method and Request-URI: the start line does not parse.
    sim.send(req.text_with_start(&format!("OPTIONS  sip:bob@{BOB} SIP/2.0")));
    let answer = sim.only_response_to(&Method::Options);
    assert_eq!(answer.status(), Some(400));
    assert_eq!(answer.reason(), Some("Bad Request - Bad Request-Line"));
    assert_answers(&answer, &req);
    assert_eq!(answer.from_tag().ok().flatten(), Some("alice-tag"));
    assert!(sim.discarded().is_empty());
}

#[test]
fn a_request_without_a_via_is_discarded() {
    let mut sim = Sim::new();
    // Unparseable, and no Via to answer to.
    let req = Req::new("OPTIONS", "z9hG4bKnovia", "novia@alice", 1).without_via();
    sim.send(req.text_with_start(&format!("OPTIONS  sip:bob@{BOB} SIP/2.0")));
    // Parseable, but still no Via.
    sim.request(&Req::new("OPTIONS", "z9hG4bKnovia2", "novia2@alice", 2).without_via());
    assert!(sim.received().is_empty(), "nothing answered: {:?}", codes(&sim.received()));
    let discarded = sim.discarded();
    assert_eq!(discarded.len(), 2, "{discarded:?}");
    assert!(
        matches!(discarded[0], Discard::Unparseable(e) if e.kind() == ErrorKind::StartLine),
        "{discarded:?}"
    );
    assert!(
        matches!(discarded[1], Discard::Unmatchable | Discard::Unparseable(_)),
        "{discarded:?}"
    );
}

#[test]
fn a_response_with_two_vias_is_discarded() {
    let mut sim = Sim::new();
    let response = format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {BOB};branch=z9hG4bKours\r\n\
         Via: SIP/2.0/UDP {ALICE};branch=z9hG4bKtheirs\r\nFrom: <sip:bob@{BOB}>;tag=b\r\n\
         To: <sip:alice@{ALICE}>;tag=a\r\nCall-ID: twovias@bob\r\nCSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    sim.send(response);
    assert!(sim.received().is_empty(), "a response is never answered");
    assert_eq!(sim.discarded(), [Discard::NotForUs]);
}

#[test]
fn options_with_max_forwards_zero_is_answered_200_not_483() {
    let mut sim = Sim::new();
    let req = Req::new("OPTIONS", "z9hG4bKmf0", "mf0@alice", 1);
    // An endpoint never forwards, so Max-Forwards 0 does not stop it (RFC 4475 §3.3.11).
    sim.send(req.text().replace("Max-Forwards: 70", "Max-Forwards: 0"));
    let ok = sim.only_response_to(&Method::Options);
    assert_eq!(ok.status(), Some(200));
    assert_answers(&ok, &req);
}

#[test]
fn a_stale_cseq_inside_a_dialog_is_answered_500_and_changes_nothing() {
    let mut sim = Sim::new();
    let (id, tag) = sim.accepted_call("stale@alice");
    sim.request(&Req::new("ACK", "z9hG4bKack", "stale@alice", 1).tagged(&tag));
    sim.request(&Req::new("OPTIONS", "z9hG4bKopt5", "stale@alice", 5).tagged(&tag));
    // Lower than the 5 already seen: out of order (§12.2.2).
    let stale = Req::new("BYE", "z9hG4bKbye3", "stale@alice", 3).tagged(&tag);
    sim.request(&stale);
    let in_dialog: Vec<Message> = sim
        .received()
        .into_iter()
        .filter(|m| m.status().is_some() && m.cseq().is_ok_and(|c| c.seq > 1))
        .collect();
    assert_eq!(codes(&in_dialog), [200, 500]);
    assert_answers(&in_dialog[1], &stale);
    assert_eq!(sim.state(id), Some(InvitationState::Established), "the stale BYE ends nothing");
    // The next BYE in order does.
    sim.request(&Req::new("BYE", "z9hG4bKbye6", "stale@alice", 6).tagged(&tag));
    assert_eq!(codes(&sim.responses_to(&Method::Bye)), [500, 200]);
    assert!(sim.events.contains(&Event::Terminated { id, reason: EndReason::RemoteBye }));
}
