//! The transaction layer: matching (§17.1.3, §17.2.3, RFC 2543 fallback), the Via it
//! inserts, where responses go (§18.2.2, RFC 3581), merged requests, bounds and draining.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipwire::transaction::{
    Discard, InviteServerState, LayerConfig, NonInviteClientState, Target, TransactionId,
    TransactionLayer, TxError, TxEvent, TxState,
};
use sipwire::{HeaderName, Message, Method, Output, RequestBuilder, Transmit, Transport};

#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn layer() -> TransactionLayer {
    TransactionLayer::new(LayerConfig::default())
}

fn drain(layer: &mut TransactionLayer) -> (Vec<Transmit>, Vec<TxEvent>) {
    let (mut tx, mut ev) = (Vec::new(), Vec::new());
    while let Some(o) = layer.poll_output() {
        match o {
            Output::Transmit(t) => tx.push(t),
            Output::Event(e) => ev.push(e),
        }
    }
    (tx, ev)
}

fn req(
    method: &str,
    branch: &str,
    via_host: &str,
    extra_via: &str,
    to_tag: &str,
    cseq: u32,
) -> Vec<u8> {
    format!(
        "{method} sip:bob@192.0.2.9 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {via_host};branch={branch}{extra_via}\r\n\
         From: <sip:alice@example.com>;tag=a1\r\n\
         To: <sip:bob@example.com>{to_tag}\r\n\
         Call-ID: call-1@192.0.2.1\r\n\
         CSeq: {cseq} {method}\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn invite(branch: &str) -> Vec<u8> {
    req("INVITE", branch, "192.0.2.1:5060", "", "", 1)
}

fn feed(
    layer: &mut TransactionLayer,
    now: Instant,
    from: &str,
    bytes: Vec<u8>,
) -> (Vec<Transmit>, Vec<TxEvent>) {
    layer.handle_datagram(now, addr(from), Transport::Udp, bytes.into());
    drain(layer)
}

fn new_request(events: &[TxEvent]) -> (TransactionId, Message) {
    match events {
        [TxEvent::Request { id, request, .. }] => (*id, (**request).clone()),
        other => panic!("expected one new request, got {other:?}"),
    }
}

fn status_of(t: &Transmit) -> u16 {
    Message::parse(&t.payload[..]).unwrap().status().unwrap()
}

#[test]
fn a_retransmitted_invite_is_absorbed_and_gets_the_last_provisional() {
    let (t0, mut l) = (epoch(), layer());
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    let (id, inv) = new_request(&ev);
    l.respond(t0, id, inv.reply(180).to_tag("t")).unwrap();
    let (tx, _) = drain(&mut l);
    assert_eq!(tx.iter().map(status_of).collect::<Vec<_>>(), [180]);
    let (tx, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    assert!(ev.is_empty(), "no second TU event: {ev:?}");
    assert_eq!(tx.iter().map(status_of).collect::<Vec<_>>(), [180]);
    assert_eq!(l.len(), 1);
}

#[test]
fn server_matching_uses_branch_sent_by_and_method() {
    let (t0, mut l) = (epoch(), layer());
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    let (first, _) = new_request(&ev);
    // Same branch, another sent-by: another transaction.
    let other = req("INVITE", "z9hG4bK-1", "192.0.2.77:5060", "", "", 1);
    let (_, ev) = feed(&mut l, t0, "192.0.2.77:5060", other);
    assert_ne!(new_request(&ev).0, first);
    // Same branch and sent-by, another method: another transaction.
    let bye = req("BYE", "z9hG4bK-1", "192.0.2.1:5060", "", ";tag=x", 2);
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", bye);
    assert_ne!(new_request(&ev).0, first);
    // Host names compare case-insensitively and an absent port is 5060.
    let (_, ev) = feed(
        &mut l,
        t0,
        "192.0.2.1:5060",
        req("OPTIONS", "z9hG4bK-h", "Host.Example.COM", "", "", 3),
    );
    let (opt, _) = new_request(&ev);
    let (_, ev) = feed(
        &mut l,
        t0,
        "192.0.2.1:5060",
        req("OPTIONS", "z9hG4bK-h", "host.example.com:5060", "", "", 3),
    );
    assert!(ev.is_empty(), "matched {opt:?}: {ev:?}");
    assert_eq!(l.len(), 4);
}

#[test]
fn an_ack_for_a_non_2xx_confirms_the_invite_transaction() {
    let (t0, mut l) = (epoch(), layer());
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    let (id, inv) = new_request(&ev);
    l.respond(t0, id, inv.reply(486).to_tag("t")).unwrap();
    let _ = drain(&mut l);
    let ack = req("ACK", "z9hG4bK-1", "192.0.2.1:5060", "", ";tag=t", 1);
    let (tx, ev) = feed(&mut l, t0 + Duration::from_millis(100), "192.0.2.1:5060", ack);
    assert!(tx.is_empty() && ev.is_empty(), "{tx:?} {ev:?}");
    assert_eq!(l.state(id), Some(TxState::InviteServer(InviteServerState::Confirmed)));
    l.handle_timeout(t0 + Duration::from_millis(5_100));
    let (_, ev) = drain(&mut l);
    assert_eq!(ev, [TxEvent::Terminated { id }]);
    assert!(l.is_empty());
}

#[test]
fn an_ack_for_a_2xx_reaches_the_tu_with_or_without_a_transaction() {
    let (t0, mut l) = (epoch(), layer());
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    let (id, inv) = new_request(&ev);
    l.respond(t0, id, inv.reply(200).to_tag("t")).unwrap();
    let _ = drain(&mut l);
    // The 2xx ACK is its own transaction (new branch): no transaction matches it.
    let ack = req("ACK", "z9hG4bK-2", "192.0.2.1:5060", "", ";tag=t", 1);
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", ack);
    assert!(matches!(ev.as_slice(), [TxEvent::Ack { id: None, .. }]), "{ev:?}");
    // One that does carry the INVITE's branch matches it in Accepted (RFC 6026).
    let ack = req("ACK", "z9hG4bK-1", "192.0.2.1:5060", "", ";tag=t", 1);
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", ack);
    assert!(matches!(ev.as_slice(), [TxEvent::Ack { id: Some(x), .. }] if *x == id), "{ev:?}");
    // Retransmitted INVITEs are absorbed in Accepted: the 2xx is the TU's to resend.
    let (tx, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    assert!(tx.is_empty() && ev.is_empty());
    l.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(drain(&mut l).1, [TxEvent::Terminated { id }], "Timer L");
}

#[test]
fn cancel_gets_its_own_transaction_and_names_the_invite() {
    let (t0, mut l) = (epoch(), layer());
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    let (invite_id, _) = new_request(&ev);
    let cancel = req("CANCEL", "z9hG4bK-1", "192.0.2.1:5060", "", "", 1);
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", cancel);
    let [TxEvent::Request { id, cancels, request, .. }] = ev.as_slice() else { panic!("{ev:?}") };
    assert_ne!(*id, invite_id);
    assert_eq!(*cancels, Some(invite_id));
    l.respond(t0, *id, request.reply(200)).unwrap();
    assert_eq!(drain(&mut l).0.iter().map(status_of).collect::<Vec<_>>(), [200]);
    assert_eq!(l.len(), 2);

    // A CANCEL for nothing is answered 481 (§9.2) and its retransmission absorbed.
    let stray = req("CANCEL", "z9hG4bK-9", "192.0.2.1:5060", "", "", 1);
    let (tx, ev) = feed(&mut l, t0, "192.0.2.1:5060", stray.clone());
    assert_eq!(tx.iter().map(status_of).collect::<Vec<_>>(), [481]);
    assert!(matches!(ev.as_slice(), [TxEvent::Discarded { reason: Discard::UnmatchedCancel, .. }]));
    let (tx, ev) = feed(&mut l, t0, "192.0.2.1:5060", stray);
    assert_eq!(tx.iter().map(status_of).collect::<Vec<_>>(), [481], "re-sent, not re-decided");
    assert!(ev.is_empty());
}

#[test]
fn rfc_2543_requests_match_on_the_fallback_fields() {
    let (t0, mut l) = (epoch(), layer());
    let old = |method: &str, to: &str| req(method, "old-branch", "192.0.2.1:5060", "", to, 1);
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", old("INVITE", ""));
    let (id, inv) = new_request(&ev);
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", old("INVITE", ""));
    assert!(ev.is_empty(), "retransmission matched: {ev:?}");
    l.respond(t0, id, inv.reply(404).to_tag("t")).unwrap();
    let _ = drain(&mut l);
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", old("ACK", ";tag=t"));
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(l.state(id), Some(TxState::InviteServer(InviteServerState::Confirmed)));
    // Another Call-ID is another transaction.
    let other = String::from_utf8(old("INVITE", "")).unwrap().replace("call-1", "call-2");
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", other.into_bytes());
    assert_ne!(new_request(&ev).0, id);
}

#[test]
fn a_merged_request_is_flagged_for_the_tu() {
    let (t0, mut l) = (epoch(), layer());
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    let (first, _) = new_request(&ev);
    // The same request forked back to us along another path: another branch.
    let (_, ev) =
        feed(&mut l, t0, "192.0.2.5:5060", req("INVITE", "z9hG4bK-2", "192.0.2.5:5060", "", "", 1));
    let [TxEvent::Request { merged_with, .. }] = ev.as_slice() else { panic!() };
    assert_eq!(*merged_with, Some(first));
    // A new CSeq is not a merge.
    let (_, ev) =
        feed(&mut l, t0, "192.0.2.5:5060", req("INVITE", "z9hG4bK-3", "192.0.2.5:5060", "", "", 2));
    let [TxEvent::Request { merged_with, .. }] = ev.as_slice() else { panic!() };
    assert_eq!(*merged_with, None);
}

#[test]
fn responses_go_where_section_18_2_2_and_rfc_3581_say() {
    let (t0, mut l) = (epoch(), layer());
    let dest =
        |l: &mut TransactionLayer, from: &str, via_host: &str, extra: &str, tr: Transport| {
            let bytes = req("OPTIONS", &format!("z9hG4bK{from}{extra}"), via_host, extra, "", 1);
            l.handle_datagram(t0, addr(from), tr, bytes.into());
            let (_, ev) = drain(l);
            let (id, request) = new_request(&ev);
            l.respond(t0, id, request.reply(200)).unwrap();
            let (tx, _) = drain(l);
            (tx[0].destination, tx[0].transport, request)
        };
    // Unreliable, no rport: the source address, the sent-by port.
    let (d, _, r) = dest(&mut l, "192.0.2.1:40000", "192.0.2.1:5062", "", Transport::Udp);
    assert_eq!(d, addr("192.0.2.1:5062"));
    assert_eq!(r.top_via().unwrap().received(), None, "sent-by is the source: no received");
    // The sent-by is a name: received is added, and used.
    let (d, _, r) = dest(&mut l, "192.0.2.2:5060", "pc.example.com", "", Transport::Udp);
    assert_eq!(d, addr("192.0.2.2:5060"));
    assert_eq!(r.top_via().unwrap().received(), Some("192.0.2.2".parse().unwrap()));
    // rport: the source address and port, both written into the Via.
    let (d, _, r) = dest(&mut l, "192.0.2.3:40001", "10.0.0.1:5060", ";rport", Transport::Udp);
    assert_eq!(d, addr("192.0.2.3:40001"));
    let via = r.top_via().unwrap();
    assert_eq!(via.rport(), Some(Some(40001)));
    assert_eq!(via.received(), Some("192.0.2.3".parse().unwrap()));
    assert!(r.reply(200).build().unwrap().top_via().unwrap().rport() == Some(Some(40001)));
    // maddr wins over the source.
    let (d, _, _) =
        dest(&mut l, "192.0.2.4:5060", "192.0.2.4:5070", ";maddr=239.255.255.1", Transport::Udp);
    assert_eq!(d, addr("239.255.255.1:5070"));
    // Reliable: back where it came from.
    let (d, tr, _) = dest(&mut l, "192.0.2.5:41000", "192.0.2.5:5060", "", Transport::Tcp);
    assert_eq!((d, tr), (addr("192.0.2.5:41000"), Transport::Tcp));
}

fn options_builder() -> RequestBuilder {
    RequestBuilder::new(&Method::Options, "sip:bob@192.0.2.9")
        .header(HeaderName::From, "<sip:alice@example.com>;tag=a1")
        .header(HeaderName::To, "<sip:bob@example.com>")
        .header(HeaderName::CallId, "c@x")
        .cseq(1, &Method::Options)
        .max_forwards(70)
}

#[test]
fn the_layer_inserts_the_top_via_with_a_seeded_branch() {
    let t0 = epoch();
    let target = Target::new(addr("192.0.2.9:5060"), Transport::Udp);
    let branches = |seed| {
        let mut config = LayerConfig::default();
        config.seed = seed;
        let mut l = TransactionLayer::new(config);
        (0..2)
            .map(|_| {
                l.send_request(t0, options_builder(), target, "192.0.2.1:5060").unwrap();
                let (tx, _) = drain(&mut l);
                let m = Message::parse(&tx[0].payload[..]).unwrap();
                let via = m.top_via().unwrap();
                assert_eq!(via.transport.as_str(), "UDP");
                assert_eq!(via.port, Some(5060));
                assert_eq!(via.rport(), Some(None), "RFC 3581: rport asked for");
                assert_eq!(m.via().count(), 1);
                via.branch().unwrap().to_owned()
            })
            .collect::<Vec<_>>()
    };
    let a = branches(1);
    assert!(a[0].starts_with("z9hG4bK") && a[0].len() >= 7 + 13, "≥ 64 random bits: {}", a[0]);
    assert_ne!(a[0], a[1]);
    assert_eq!(a, branches(1), "same seed, same branches");
    assert_ne!(a, branches(2));
    let mut l = layer();
    assert_eq!(
        l.send_request(t0, options_builder(), target, "bad host"),
        Err(TxError::Build(sipwire::BuildError::HeaderValue))
    );
    let ack = RequestBuilder::new(&Method::Ack, "sip:bob@192.0.2.9");
    assert_eq!(l.send_request(t0, ack, target, "h"), Err(TxError::NotARequest));
}

#[test]
fn responses_match_client_transactions_by_branch_and_cseq_method() {
    let t0 = epoch();
    let mut l = layer();
    let target = Target::new(addr("192.0.2.9:5060"), Transport::Udp);
    let id = l.send_request(t0, options_builder(), target, "192.0.2.1:5060").unwrap();
    let (tx, _) = drain(&mut l);
    let sent = Message::parse(&tx[0].payload[..]).unwrap();
    // The same branch with another CSeq method is not ours.
    let wrong = String::from_utf8(sent.reply(200).build().unwrap().as_bytes().to_vec())
        .unwrap()
        .replace("1 OPTIONS", "1 INFO");
    let (_, ev) = feed(&mut l, t0, "192.0.2.9:5060", wrong.into_bytes());
    assert!(matches!(ev.as_slice(), [TxEvent::Discarded { reason: Discard::StrayResponse, .. }]));
    // A response with two Vias is discarded (§18.1.2).
    let two = String::from_utf8(sent.reply(200).build().unwrap().as_bytes().to_vec())
        .unwrap()
        .replace("Via: ", "Via: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKx\r\nVia: ");
    let (_, ev) = feed(&mut l, t0, "192.0.2.9:5060", two.into_bytes());
    assert!(matches!(ev.as_slice(), [TxEvent::Discarded { reason: Discard::NotForUs, .. }]));
    // The real one.
    let ok = sent.reply(200).to_tag("z").build().unwrap();
    let (_, ev) = feed(&mut l, t0, "192.0.2.9:5060", ok.as_bytes().to_vec());
    assert!(matches!(ev.as_slice(), [TxEvent::Response { id: x, .. }] if *x == id));
    assert_eq!(l.state(id), Some(TxState::NonInviteClient(NonInviteClientState::Completed)));
    l.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(drain(&mut l).1, [TxEvent::Terminated { id }], "Timer K");
    assert!(l.is_empty());
}

#[test]
fn cancel_waits_for_a_provisional_and_reuses_the_branch() {
    let t0 = epoch();
    let mut l = layer();
    let target = Target::new(addr("192.0.2.9:5060"), Transport::Udp);
    let inv = RequestBuilder::new(&Method::Invite, "sip:bob@192.0.2.9")
        .header(HeaderName::Route, "<sip:p.example.com;lr>")
        .header(HeaderName::From, "<sip:alice@example.com>;tag=a1")
        .header(HeaderName::To, "<sip:bob@example.com>")
        .header(HeaderName::CallId, "c@x")
        .cseq(4, &Method::Invite);
    let id = l.send_request(t0, inv, target, "192.0.2.1").unwrap();
    let (tx, _) = drain(&mut l);
    let sent = Message::parse(&tx[0].payload[..]).unwrap();
    assert_eq!(l.cancel(t0, id), Err(TxError::NoProvisional));
    let ringing = sent.reply(180).to_tag("r").build().unwrap();
    let _ = feed(&mut l, t0, "192.0.2.9:5060", ringing.as_bytes().to_vec());
    let cancel_id = l.cancel(t0, id).unwrap();
    let (tx, _) = drain(&mut l);
    let cancel = Message::parse(&tx[0].payload[..]).unwrap();
    assert_eq!(cancel.method(), Some(&Method::Cancel));
    assert_eq!(cancel.top_via().unwrap().branch(), sent.top_via().unwrap().branch());
    assert_eq!(cancel.cseq().unwrap().seq, 4);
    assert_eq!(cancel.routes().count(), 1);
    assert_eq!(cancel.to_header().unwrap().tag(), None, "the INVITE's To, not the response's");
    // Its 200 goes to the CANCEL transaction, the 487 to the INVITE's.
    let (_, ev) =
        feed(&mut l, t0, "192.0.2.9:5060", cancel.reply(200).build().unwrap().as_bytes().to_vec());
    assert!(matches!(ev.as_slice(), [TxEvent::Response { id: x, .. }] if *x == cancel_id));
    let (tx, ev) = feed(
        &mut l,
        t0,
        "192.0.2.9:5060",
        sent.reply(487).to_tag("r").build().unwrap().as_bytes().to_vec(),
    );
    assert!(matches!(ev.first(), Some(TxEvent::Response { id: x, .. }) if *x == id));
    assert_eq!(Message::parse(&tx[0].payload[..]).unwrap().method(), Some(&Method::Ack));
}

#[test]
fn over_the_limit_a_request_is_answered_503_statelessly() {
    let t0 = epoch();
    let mut config = LayerConfig::default();
    config.max_transactions = 2;
    config.retry_after = 7;
    let mut l = TransactionLayer::new(config);
    for b in ["z9hG4bK-1", "z9hG4bK-2"] {
        let _ = feed(&mut l, t0, "192.0.2.1:5060", invite(b));
    }
    let (tx, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-3"));
    assert!(matches!(ev.as_slice(), [TxEvent::Discarded { reason: Discard::Overloaded, .. }]));
    let busy = Message::parse(&tx[0].payload[..]).unwrap();
    assert_eq!(busy.status(), Some(503));
    assert_eq!(busy.retry_after().unwrap().unwrap().seconds, 7);
    assert_eq!(tx[0].transaction, None, "stateless");
    assert_eq!(l.len(), 2);
    let target = Target::new(addr("192.0.2.9:5060"), Transport::Udp);
    assert_eq!(l.send_request(t0, options_builder(), target, "h"), Err(TxError::TableFull));
}

#[test]
fn send_failures_end_clients_and_spare_servers() {
    let t0 = epoch();
    let mut l = layer();
    let target = Target::new(addr("192.0.2.9:5060"), Transport::Udp);
    let client = l.send_request(t0, options_builder(), target, "h").unwrap();
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    let (server, _) = new_request(&ev);
    l.handle_send_failed(t0, client);
    l.handle_send_failed(t0, server);
    let (_, ev) = drain(&mut l);
    assert_eq!(
        ev,
        [
            TxEvent::TransportError { id: client },
            TxEvent::Terminated { id: client },
            TxEvent::TransportError { id: server }
        ]
    );
    assert_eq!(l.state(server), Some(TxState::InviteServer(InviteServerState::Proceeding)));
    assert_eq!(l.state(client), None);
    // A stale id is ignored, and commands on it are typed errors.
    l.handle_send_failed(t0, client);
    assert!(drain(&mut l).1.is_empty());
    assert_eq!(
        l.respond(t0, client, options_builder().build().unwrap()),
        Err(TxError::NoSuchTransaction)
    );
}

#[test]
fn garbage_and_unmatchable_messages_are_discarded_with_a_reason() {
    let t0 = epoch();
    let mut l = layer();
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", b"not sip at all".to_vec());
    assert!(matches!(ev.as_slice(), [TxEvent::Discarded { reason: Discard::Unparseable(_), .. }]));
    let no_via =
        b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".to_vec();
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", no_via);
    assert!(matches!(ev.as_slice(), [TxEvent::Discarded { reason: Discard::Unmatchable, .. }]));
    let stray = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKq\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".to_vec();
    let (_, ev) = feed(&mut l, t0, "192.0.2.1:5060", stray);
    assert!(matches!(ev.as_slice(), [TxEvent::Discarded { reason: Discard::StrayResponse, .. }]));
    assert!(l.is_empty());
}

#[test]
fn the_automatic_100_comes_at_200ms_through_the_layer_and_poll_timeout_is_exact() {
    let t0 = epoch();
    let mut l = layer();
    let _ = feed(&mut l, t0, "192.0.2.1:5060", invite("z9hG4bK-1"));
    assert_eq!(l.poll_timeout(), Some(t0 + Duration::from_millis(200)));
    l.handle_timeout(t0 + Duration::from_millis(199));
    assert!(drain(&mut l).0.is_empty());
    l.handle_timeout(t0 + Duration::from_millis(200));
    assert_eq!(drain(&mut l).0.iter().map(status_of).collect::<Vec<_>>(), [100]);
    assert_eq!(l.poll_timeout(), None, "nothing left armed while the TU decides");
}

#[test]
fn a_cancelled_invite_gives_up_64_t1_after_the_cancel_without_a_final_response() {
    let t0 = epoch();
    let mut l = layer();
    let target = Target::new(addr("192.0.2.9:5060"), Transport::Udp);
    let inv = RequestBuilder::new(&Method::Invite, "sip:bob@192.0.2.9")
        .header(HeaderName::From, "<sip:alice@example.com>;tag=a1")
        .header(HeaderName::To, "<sip:bob@example.com>")
        .header(HeaderName::CallId, "c@x")
        .cseq(1, &Method::Invite);
    let id = l.send_request(t0, inv, target, "192.0.2.1").unwrap();
    let sent = Message::parse(&drain(&mut l).0[0].payload[..]).unwrap();
    let ringing = sent.reply(180).to_tag("r").build().unwrap();
    let _ = feed(&mut l, t0, "192.0.2.9:5060", ringing.as_bytes().to_vec());
    let at = t0 + Duration::from_secs(10);
    l.cancel(at, id).unwrap();
    let _ = drain(&mut l);
    // §9.1: no final response within 64·T1 of the CANCEL, the INVITE transaction gives up
    // (rather than waiting for Timer C's 180 s).
    l.handle_timeout(at + Duration::from_millis(31_999));
    assert!(
        drain(&mut l).1.iter().all(|e| !matches!(e, TxEvent::Timeout { id: x, .. } if *x == id))
    );
    l.handle_timeout(at + Duration::from_secs(32));
    let (_, ev) = drain(&mut l);
    assert!(ev.contains(&TxEvent::Timeout { id, timer: sipwire::transaction::Timer::C }), "{ev:?}");
    assert_eq!(l.state(id), None);
}
