//! The sipwire side of the transaction benches: the same lifecycles as `tx_peers.rs`, through
//! `sipwire::transaction::TransactionLayer`.
//!
//! The layer runs on a virtual clock owned by the driver: "advancing time" moves it by 32 s
//! (64·T1) and calls `handle_timeout`, which fires Timer L (INVITE, RFC 6026 Accepted) or
//! Timer J (non-INVITE). The TU answers with `request.reply(..)` builders, which the layer
//! serializes straight into the buffer it keeps for retransmission.

// Shared by several bench targets; each uses part of it.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::transaction::{LayerConfig, TransactionId, TransactionLayer, TxEvent};
use sipwire::{HeaderName, Message, Output, ParseOptions, Transport};

use super::tx_peers::{ALLOW, CONTACT, SDP, TO_TAG};

/// A transaction layer, its clock, and a TU that answers.
#[derive(Debug)]
pub struct Sipwire {
    layer: TransactionLayer,
    now: Instant,
    peer: SocketAddr,
}

/// A ringing INVITE: the transaction and the TU's copy of the request.
#[derive(Debug)]
pub struct SipwireRinging {
    /// The server transaction.
    pub id: TransactionId,
    /// The TU's copy of the INVITE (shares the received buffer).
    pub request: Message,
}

impl Sipwire {
    /// A layer that parses only what it matches on (the default).
    pub fn new() -> Self {
        Self::with_parse(LayerConfig::DEFAULT.parse)
    }

    /// A layer that validates every core header while parsing, as a UA core would.
    pub fn strict() -> Self {
        Self::with_parse(ParseOptions::DEFAULT)
    }

    fn with_parse(parse: ParseOptions) -> Self {
        let mut config = LayerConfig::default();
        config.parse = parse;
        config.max_transactions = 1 << 20;
        #[allow(clippy::disallowed_methods)] // the virtual clock's epoch
        let now = Instant::now();
        Self { layer: TransactionLayer::new(config), now, peer: "127.0.0.2:5060".parse().unwrap() }
    }

    /// Live transactions.
    pub fn len(&self) -> usize {
        self.layer.len()
    }

    /// Sends what the layer wants sent; returns the new request handed to the TU, if any.
    fn drain(&mut self, sink: &mut impl FnMut(&[u8])) -> Option<(TransactionId, Message)> {
        let mut new = None;
        while let Some(output) = self.layer.poll_output() {
            match output {
                Output::Transmit(t) => sink(&t.payload),
                Output::Event(TxEvent::Request { id, request, .. }) => new = Some((id, *request)),
                Output::Event(_) => {}
            }
        }
        new
    }

    fn receive(
        &mut self,
        datagram: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) -> Option<(TransactionId, Message)> {
        self.layer.handle_datagram(
            self.now,
            self.peer,
            Transport::Udp,
            Bytes::copy_from_slice(datagram),
        );
        self.drain(sink)
    }

    fn advance(&mut self, sink: &mut impl FnMut(&[u8])) {
        self.now += Duration::from_secs(32);
        self.layer.handle_timeout(self.now);
        self.drain(sink);
    }

    /// INVITE in; 100 Trying and 180 Ringing out.
    pub fn invite_ringing(
        &mut self,
        invite: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) -> SipwireRinging {
        let (id, request) = self.receive(invite, sink).expect("sipwire: INVITE reaches the TU");
        self.layer.respond(self.now, id, request.reply(100)).expect("sipwire: 100");
        self.layer
            .respond(
                self.now,
                id,
                request.reply(180).to_tag(TO_TAG).header(HeaderName::Contact, CONTACT),
            )
            .expect("sipwire: 180");
        self.drain(sink);
        SipwireRinging { id, request }
    }

    /// 200 OK with SDP, the retransmitted INVITE (absorbed in Accepted), then Timer L.
    pub fn invite_answer_and_finish(
        &mut self,
        ringing: SipwireRinging,
        invite: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) {
        let SipwireRinging { id, request } = ringing;
        let ok = request
            .reply(200)
            .to_tag(TO_TAG)
            .header(HeaderName::Contact, CONTACT)
            .body("application/sdp", Bytes::from_static(SDP));
        self.layer.respond(self.now, id, ok).expect("sipwire: 200");
        drop(request);
        self.drain(sink);
        let mut resent = 0;
        let again = self.receive(invite, &mut |_| resent += 1);
        assert!(again.is_none() && resent == 0, "sipwire: retransmission not absorbed");
        self.advance(sink);
        assert_eq!(self.layer.len(), 0, "sipwire: INVITE transaction not dropped");
    }

    /// The whole INVITE server transaction lifecycle.
    pub fn invite_lifecycle(&mut self, invite: &[u8], sink: &mut impl FnMut(&[u8])) {
        let ringing = self.invite_ringing(invite, sink);
        self.invite_answer_and_finish(ringing, invite, sink);
    }

    /// The whole non-INVITE server transaction lifecycle.
    pub fn non_invite_lifecycle(&mut self, request: &[u8], sink: &mut impl FnMut(&[u8])) {
        let (id, req) = self.receive(request, sink).expect("sipwire: OPTIONS reaches the TU");
        let ok = req.reply(200).to_tag(TO_TAG).header(HeaderName::Allow, ALLOW);
        self.layer.respond(self.now, id, ok).expect("sipwire: 200");
        drop(req);
        self.drain(sink);
        // Completed: the layer answers the retransmission with its stored 200.
        let again = self.receive(request, sink);
        assert!(again.is_none(), "sipwire: retransmission reached the TU");
        self.advance(sink);
        assert_eq!(self.layer.len(), 0, "sipwire: non-INVITE transaction not dropped");
    }

    /// Feeds one datagram and sends whatever the layer answers; returns how many it sent.
    pub fn retransmission(&mut self, datagram: Bytes) -> usize {
        self.layer.handle_datagram(self.now, self.peer, Transport::Udp, datagram);
        let mut sent = 0;
        while let Some(output) = self.layer.poll_output() {
            if let Output::Transmit(t) = output {
                std::hint::black_box(&t.payload);
                sent += 1;
            }
        }
        sent
    }

    /// Ends a ringing transaction: a final response, then its timers run out.
    pub fn finish(&mut self, id: TransactionId, final_response: &Message) {
        self.layer.respond(self.now, id, final_response).expect("sipwire: final");
        self.advance(&mut |_| {});
    }
}
