//! A scripted caller against a real [`Endpoint`]: the harness of the invitation tests.
//!
//! The caller is a [`Sink`]: it sends exactly the bytes a test writes, never retransmits
//! on its own, and records what the endpoint sent it. Times are relative to the world's
//! start, so schedules are asserted to the millisecond on the virtual clock.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sipwire::ua::{
    AcceptOptions, Config, Event, Invitation, InvitationError, InvitationId, RequestId, RequestKind,
};
use sipwire::{Endpoint, HeaderName, Message, Transport};
use sipwire_sim::script::Sink;
use sipwire_sim::{NodeId, World};

pub(crate) const ALICE: &str = "192.0.2.1:5060";
pub(crate) const BOB: &str = "192.0.2.2:5060";
pub(crate) const OFFER: &str = "v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n";
pub(crate) const ANSWER: &str = "v=0\r\no=bob 2 2 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0\r\n";

/// The world with a scripted caller (alice) and the endpoint under test (bob).
pub(crate) struct Harness {
    pub(crate) world: World,
    pub(crate) alice: NodeId,
    pub(crate) bob: NodeId,
    pub(crate) call_id: String,
    pub(crate) from_tag: String,
    branch: u32,
    /// The To tag bob put on its responses, once seen.
    pub(crate) to_tag: Option<String>,
    events: Vec<(Duration, Event)>,
}

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("an address")
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_config(Config::new(&format!("sip:bob@{BOB}")))
    }

    pub(crate) fn with_config(config: Config) -> Self {
        Self::with_seeded_config(config.with_seed(42))
    }

    /// As [`with_config`](Self::with_config), keeping the configuration's seed.
    pub(crate) fn with_seeded_config(config: Config) -> Self {
        let mut world = World::new(1);
        let alice = world.add_node("alice", addr(ALICE), Sink::new());
        let bob = world.add_node("bob", addr(BOB), Endpoint::new(config));
        Self {
            world,
            alice,
            bob,
            call_id: "call-1@192.0.2.1".to_owned(),
            from_tag: "alice-tag".to_owned(),
            branch: 0,
            to_tag: None,
            events: Vec::new(),
        }
    }

    /// Sends raw bytes from alice to bob, now.
    pub(crate) fn send(&mut self, bytes: String) {
        let bob = addr(BOB);
        self.world.with_node(self.alice, |s: &mut Sink, _| {
            s.send(bob, Transport::Udp, Bytes::from(bytes));
        });
    }

    fn next_branch(&mut self) -> String {
        self.branch += 1;
        format!("z9hG4bKalice{}", self.branch)
    }

    /// The INVITE (CSeq 1), with extra header lines and an optional SDP body.
    pub(crate) fn invite_text(&mut self, extra: &str, body: Option<&str>) -> String {
        let branch = self.next_branch();
        self.request("INVITE", &format!("sip:bob@{BOB}"), &branch, 1, "INVITE", false, extra, body)
    }

    pub(crate) fn invite(&mut self, extra: &str, body: Option<&str>) {
        let text = self.invite_text(extra, body);
        self.send(text);
    }

    /// The ACK for a 2xx: a new branch, bob's To tag, CSeq 1 (or `cseq`).
    pub(crate) fn ack_with(&mut self, cseq: u32, body: Option<&str>) {
        let branch = self.next_branch();
        let text =
            self.request("ACK", &format!("sip:bob@{BOB}"), &branch, cseq, "ACK", true, "", body);
        self.send(text);
    }

    pub(crate) fn ack(&mut self) {
        self.ack_with(1, None);
    }

    /// A request inside the dialog (bob's To tag), to `uri`.
    pub(crate) fn in_dialog(
        &mut self,
        method: &str,
        uri: &str,
        cseq: u32,
        extra: &str,
        body: Option<&str>,
    ) {
        let branch = self.next_branch();
        let text = self.request(method, uri, &branch, cseq, method, true, extra, body);
        self.send(text);
    }

    pub(crate) fn bye(&mut self, cseq: u32) {
        self.in_dialog("BYE", &format!("sip:bob@{BOB}"), cseq, "", None);
    }

    pub(crate) fn prack(&mut self, cseq: u32, rseq: u32, invite_cseq: u32, body: Option<&str>) {
        let rack = format!("RAck: {rseq} {invite_cseq} INVITE\r\n");
        self.in_dialog("PRACK", &format!("sip:bob@{BOB}"), cseq, &rack, body);
    }

    /// The CANCEL for the INVITE: the INVITE's branch (the first one) and CSeq number.
    pub(crate) fn cancel(&mut self) {
        let text = self.request(
            "CANCEL",
            &format!("sip:bob@{BOB}"),
            "z9hG4bKalice1",
            1,
            "CANCEL",
            false,
            "",
            None,
        );
        self.send(text);
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        method: &str,
        uri: &str,
        branch: &str,
        cseq: u32,
        cseq_method: &str,
        with_to_tag: bool,
        extra: &str,
        body: Option<&str>,
    ) -> String {
        let to_tag = match (&self.to_tag, with_to_tag) {
            (Some(t), true) => format!(";tag={t}"),
            _ => String::new(),
        };
        let body_headers = match body {
            Some(b) => format!("Content-Type: application/sdp\r\nContent-Length: {}\r\n", b.len()),
            None => "Content-Length: 0\r\n".to_owned(),
        };
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {ALICE};branch={branch}\r\n\
             From: \"Alice\" <sip:alice@{ALICE}>;tag={}\r\nTo: <sip:bob@{BOB}>{to_tag}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} {cseq_method}\r\nMax-Forwards: 70\r\n\
             Contact: <sip:alice@{ALICE}>\r\n{extra}{body_headers}\r\n{}",
            self.from_tag,
            self.call_id,
            body.unwrap_or("")
        )
    }

    /// Runs the world for `d` of virtual time.
    pub(crate) fn run_for(&mut self, d: Duration) {
        self.world.run_for(d);
        self.collect();
    }

    /// Runs until every datagram in flight is delivered (a few ms), without firing far
    /// timers.
    pub(crate) fn settle(&mut self) {
        self.run_for(Duration::from_millis(50));
    }

    fn collect(&mut self) {
        let start = self.world.start();
        for (at, e) in self.world.take_events_as::<Event>(self.bob) {
            self.events.push((at - start, e));
        }
        if self.to_tag.is_none() {
            self.to_tag = self
                .received()
                .iter()
                .find_map(|(_, m)| m.to_tag().ok().flatten().map(str::to_owned));
        }
    }

    /// Every message alice received, with its arrival time.
    pub(crate) fn received(&self) -> Vec<(Duration, Message)> {
        let start = self.world.start();
        let sink = self.world.node::<Sink>(self.alice).expect("alice is a sink");
        sink.received().iter().filter_map(|r| Some((r.at - start, r.message()?))).collect()
    }

    /// The status codes alice received, in order.
    pub(crate) fn codes(&self) -> Vec<u16> {
        self.received().iter().filter_map(|(_, m)| m.status()).collect()
    }

    /// Arrival times (ms) of the responses with `code`.
    pub(crate) fn times_of(&self, code: u16) -> Vec<u128> {
        self.received()
            .iter()
            .filter(|(_, m)| m.status() == Some(code))
            .map(|(t, _)| t.as_millis())
            .collect()
    }

    /// The requests (method names) alice received, with times.
    pub(crate) fn requests(&self) -> Vec<(u128, Message)> {
        self.received()
            .into_iter()
            .filter(|(_, m)| m.is_request())
            .map(|(t, m)| (t.as_millis(), m))
            .collect()
    }

    /// The last response alice received with `code`.
    pub(crate) fn last(&self, code: u16) -> Option<Message> {
        self.received().into_iter().rev().find(|(_, m)| m.status() == Some(code)).map(|(_, m)| m)
    }

    pub(crate) fn events(&self) -> &[(Duration, Event)] {
        &self.events
    }

    /// The id of the first invitation bob announced.
    pub(crate) fn invitation(&self) -> InvitationId {
        self.events
            .iter()
            .find_map(|(_, e)| if let Event::Invitation { id } = e { Some(*id) } else { None })
            .expect("bob announced an invitation")
    }

    /// Runs a command on bob's invitation with the world's `now`.
    pub(crate) fn act<T>(
        &mut self,
        f: impl FnOnce(&mut Invitation<'_>, std::time::Instant) -> Result<T, InvitationError>,
    ) -> Result<T, InvitationError> {
        let id = self.invitation();
        let result = self
            .world
            .with_node(self.bob, |ep: &mut Endpoint, now| match ep.invitation(id) {
                Some(mut inv) => f(&mut inv, now),
                None => Err(InvitationError::WrongState(sipwire::ua::InvitationState::Terminated)),
            })
            .expect("bob is an endpoint");
        self.collect();
        result
    }

    /// Reads bob's endpoint.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        self.world.node::<Endpoint>(self.bob).expect("bob is an endpoint")
    }

    /// The state of bob's invitation, if it is still held.
    pub(crate) fn state(&mut self) -> Option<sipwire::ua::InvitationState> {
        let id = self.invitation();
        self.world
            .with_node(self.bob, |ep: &mut Endpoint, _| ep.invitation(id).map(|i| i.state()))
            .flatten()
    }

    /// The header of a message as text.
    pub(crate) fn header(m: &Message, name: HeaderName) -> Option<String> {
        m.header(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// A call alice offered, bob accepted with an answer, and alice ACKed.
    pub(crate) fn established() -> Self {
        Self::established_with(Config::new(&format!("sip:bob@{BOB}")).with_seed(42))
    }

    /// As [`established`](Self::established), with `config` (and its seed).
    pub(crate) fn established_with(config: Config) -> Self {
        let mut h = Self::with_seeded_config(config);
        h.invite("", Some(OFFER));
        h.settle();
        h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
            .expect("accept");
        h.settle();
        h.ack();
        h.settle();
        h
    }

    /// The text of an in-dialog request from alice with its own `branch` and a body of any
    /// type (`(content_type, content)`).
    pub(crate) fn typed_request(
        &self,
        method: &str,
        branch: &str,
        cseq: u32,
        extra: &str,
        body: Option<(&str, &str)>,
    ) -> String {
        let tag = self.to_tag.as_deref().expect("bob's To tag");
        let body_headers = match body {
            Some((ty, b)) => format!("Content-Type: {ty}\r\nContent-Length: {}\r\n", b.len()),
            None => "Content-Length: 0\r\n".to_owned(),
        };
        format!(
            "{method} sip:bob@{BOB} SIP/2.0\r\nVia: SIP/2.0/UDP {ALICE};branch={branch}\r\n\
             From: \"Alice\" <sip:alice@{ALICE}>;tag={}\r\nTo: <sip:bob@{BOB}>;tag={tag}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n\
             Contact: <sip:alice@{ALICE}>\r\n{extra}{body_headers}\r\n{}",
            self.from_tag,
            self.call_id,
            body.map_or("", |(_, b)| b)
        )
    }

    /// A re-INVITE from alice with CSeq `cseq` and an optional offer.
    pub(crate) fn reinvite(&mut self, cseq: u32, body: Option<&str>) {
        self.in_dialog("INVITE", &format!("sip:bob@{BOB}"), cseq, "", body);
    }

    /// Alice answers `request` (one bob sent) with `code`, an optional SDP body and extra
    /// header lines; a Contact goes on every 1xx–2xx.
    pub(crate) fn reply_to(
        &mut self,
        request: &Message,
        code: u16,
        body: Option<&str>,
        extra: &str,
    ) {
        let mut b = request.reply(code);
        if code < 300 {
            b = b.header(HeaderName::Contact, format!("<sip:alice@{ALICE}>"));
        }
        for line in extra.split("\r\n").filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').expect("name: value");
            b = b.header_named(name.trim(), value.trim());
        }
        if let Some(body) = body {
            b = b.body("application/sdp", body.to_owned());
        }
        let response = b.build().expect("a response");
        self.send(String::from_utf8(response.as_bytes().to_vec()).expect("text"));
    }

    /// The requests with `method` alice received, with their arrival times (ms).
    pub(crate) fn requests_of(&self, method: &sipwire::Method) -> Vec<(u128, Message)> {
        self.requests().into_iter().filter(|(_, m)| m.method() == Some(method)).collect()
    }

    /// The responses alice received to requests with `method` (by CSeq), with times (ms).
    pub(crate) fn responses_to(&self, method: &sipwire::Method) -> Vec<(u128, Message)> {
        self.received()
            .into_iter()
            .filter(|(_, m)| m.status().is_some() && m.cseq().is_ok_and(|c| c.method == *method))
            .map(|(t, m)| (t.as_millis(), m))
            .collect()
    }

    /// The requests bob announced with [`Event::Request`], in order.
    pub(crate) fn incoming(&self) -> Vec<(RequestId, RequestKind, Message)> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Request { request, kind, message, .. } => {
                    Some((*request, *kind, (**message).clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The id of the last request bob announced.
    pub(crate) fn last_incoming(&self) -> RequestId {
        self.incoming().last().expect("bob announced a request").0
    }
}
