//! A send failure on an unanswered INVITE's transaction ends the invitation
//! (`EndReason::TransportError`), and the transaction still gets a final response so that
//! it ends with Timer H rather than waiting in Proceeding for ever (RFC 6026 §7.1 keeps a
//! server transaction's state after a transport error).

use std::time::{Duration, Instant};

use sipwire::ua::{Config, EndReason, Event};
use sipwire::{Endpoint, Input, Output, Transport};

#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

const INVITE: &str = "INVITE sip:bob@192.0.2.2:5060 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\nMax-Forwards: 70\r\n\
    From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\n\
    CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1:5060>\r\nContent-Length: 0\r\n\r\n";

#[test]
fn a_send_failure_ends_the_invitation_and_its_transaction_drains() {
    let t0 = epoch();
    let mut ep = Endpoint::new(Config::new("sip:bob@192.0.2.2:5060"));
    ep.handle_input(t0, Input::received("192.0.2.1:5060".parse().unwrap(), Transport::Udp, INVITE));
    let mut tx = None;
    while let Some(o) = ep.poll_output() {
        if let Output::Transmit(t) = o {
            tx = t.transaction;
        }
    }
    assert!(tx.is_some(), "the 180 went out on the INVITE's transaction");
    ep.handle_input(t0, Input::SendFailed { transaction: tx });
    let mut sent = Vec::new();
    let mut ended = Vec::new();
    while let Some(o) = ep.poll_output() {
        match o {
            Output::Transmit(t) => sent.push(t.payload),
            Output::Event(Event::Terminated { reason, .. }) => ended.push(reason),
            Output::Event(_) => {}
        }
    }
    assert_eq!(ended, [EndReason::TransportError]);
    assert!(sent.iter().any(|p| p.starts_with(b"SIP/2.0 500")), "a final response is attempted");
    let mut now = t0;
    while let Some(at) = ep.poll_timeout() {
        now = at;
        ep.handle_timeout(now);
        while ep.poll_output().is_some() {}
    }
    assert_eq!(now - t0, Duration::from_secs(32), "Timer H and the linger end it at 64·T1");
    assert_eq!((ep.transaction_count(), ep.dialog_count(), ep.invitation_count()), (0, 0, 0));
}
