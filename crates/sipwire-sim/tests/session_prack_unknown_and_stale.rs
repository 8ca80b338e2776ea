//! The requests in a confirmed dialog the session does not surface: a late PRACK
//! (RFC 3262 §3), an unknown method (501, RFC 3261 §8.2.1), a CSeq lower than the last
//! (500, §12.2.2), and anything after the call ended (481, §12.2.2, RFC 5407 §3.2.2).

mod uac;

use std::time::Duration;

use sipwire::ua::{AcceptOptions, Event, InvitationState, ProgressOptions, RequestKind};
use sipwire::{HeaderName, Message, Method};
use uac::{ANSWER, BOB, Harness, OFFER};

const DTMF: &str = "Signal=5\r\nDuration=160\r\n";

/// Alice's DTMF INFO with CSeq `cseq` (the harness's `in_dialog` would label it SDP).
fn info(h: &mut Harness, cseq: u32) {
    let tag = h.to_tag.clone().expect("bob's To tag");
    let text = format!(
        "INFO sip:bob@{BOB} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinfo{cseq}\r\n\
         From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=alice-tag\r\nTo: <sip:bob@{BOB}>;tag={tag}\r\n\
         Call-ID: call-1@192.0.2.1\r\nCSeq: {cseq} INFO\r\nMax-Forwards: 70\r\n\
         Contact: <sip:alice@192.0.2.1:5060>\r\nInfo-Package: dtmf\r\n\
         Content-Type: application/dtmf-relay\r\nContent-Length: {}\r\n\r\n{DTMF}",
        DTMF.len()
    );
    h.send(text);
}

/// `(status, CSeq number)` of the responses alice got to `method`.
fn answers(h: &Harness, method: &Method) -> Vec<(u16, u32)> {
    h.responses_to(method)
        .into_iter()
        .map(|(_, m)| (m.status().unwrap(), m.cseq().unwrap().seq))
        .collect()
}

fn rseq(m: &Message) -> u32 {
    m.rseq().unwrap().expect("an RSeq")
}

/// A call bob answered after a reliable 180 that alice never PRACKed, ACKed: the dialog
/// is confirmed. Returns the harness and the 180's RSeq.
fn established_after_a_reliable_180() -> (Harness, u32) {
    let mut h = Harness::new();
    h.invite("Supported: 100rel\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.progress(now, ProgressOptions::new().status_code(180).rel100(true)))
        .expect("reliable 180");
    h.settle();
    let ringing = h.last(180).expect("180");
    assert_eq!(Harness::header(&ringing, HeaderName::Require).as_deref(), Some("100rel"));
    let r = rseq(&ringing);
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("200");
    h.settle();
    h.ack();
    h.settle();
    assert_eq!(h.state(), Some(InvitationState::Established));
    (h, r)
}

#[test]
fn a_prack_in_the_confirmed_dialog_for_the_reliable_provisional_before_the_2xx_gets_200() {
    let (mut h, r) = established_after_a_reliable_180();
    h.prack(2, r, 1, None);
    h.settle();
    assert_eq!(answers(&h, &Method::Prack), [(200, 2)]);
    // Nothing is left of the 180 to acknowledge: no Pracked, and the call goes on.
    assert!(!h.events().iter().any(|(_, e)| matches!(e, Event::Pracked { .. })));
    assert!(h.incoming().is_empty(), "PRACK is the core's, not the application's");
    h.run_for(Duration::from_secs(40));
    let reliable = h
        .received()
        .iter()
        .filter(|(_, m)| m.status() == Some(180) && m.rseq().unwrap().is_some())
        .count();
    assert_eq!(reliable, 1, "the 2xx ended the reliable 180's retransmissions");
    assert!(h.requests_of(&Method::Bye).is_empty());
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn a_prack_in_the_confirmed_dialog_for_an_rseq_never_sent_gets_481_and_the_call_goes_on() {
    let (mut h, r) = established_after_a_reliable_180();
    h.prack(2, r.wrapping_add(1), 1, None);
    h.settle();
    h.prack(3, r, 2, None);
    h.settle();
    assert_eq!(answers(&h, &Method::Prack), [(481, 2), (481, 3)]);
    h.prack(4, r, 1, None);
    h.settle();
    assert_eq!(answers(&h, &Method::Prack)[2], (200, 4));
    assert!(h.requests_of(&Method::Bye).is_empty());
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn an_unknown_method_in_the_dialog_gets_501_with_allow_and_the_dialog_is_untouched() {
    let mut h = Harness::established();
    h.in_dialog("FOO", &format!("sip:bob@{BOB}"), 2, "", None);
    h.settle();
    let refused = h.last(501).expect("501");
    assert_eq!(refused.cseq().unwrap().seq, 2);
    assert_eq!(refused.cseq().unwrap().method.as_str(), "FOO");
    assert_eq!(
        Harness::header(&refused, HeaderName::Allow).as_deref(),
        Some("INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, MESSAGE, REFER, NOTIFY")
    );
    assert!(h.incoming().is_empty());
    info(&mut h, 3);
    h.settle();
    assert_eq!(h.incoming().pop().map(|i| i.1), Some(RequestKind::Info));
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn a_stale_cseq_info_gets_500_and_is_not_surfaced() {
    let mut h = Harness::established();
    info(&mut h, 5);
    h.settle();
    assert_eq!(h.incoming().len(), 1);
    info(&mut h, 3);
    h.settle();
    assert_eq!(h.incoming().len(), 1, "the stale one is not surfaced");
    assert_eq!(answers(&h, &Method::Info), [(500, 3)]);
    // Lower than the INVITE's CSeq is stale too.
    let mut h2 = Harness::established();
    info(&mut h2, 0);
    h2.settle();
    assert_eq!(answers(&h2, &Method::Info), [(500, 0)]);
    assert!(h2.incoming().is_empty());
    // The stale request moved nothing: the next in order is taken.
    info(&mut h, 6);
    h.settle();
    assert_eq!(h.incoming().len(), 2);
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn an_info_after_the_peer_ended_the_call_gets_481() {
    let mut h = Harness::established();
    h.bye(2);
    h.settle();
    assert_eq!(answers(&h, &Method::Bye), [(200, 2)]);
    info(&mut h, 3);
    h.settle();
    assert_eq!(answers(&h, &Method::Info), [(481, 3)]);
    assert!(h.incoming().is_empty());
}

#[test]
fn an_info_after_our_bye_gets_481() {
    let mut h = Harness::established();
    h.act(|inv, now| inv.bye(now)).expect("bye");
    h.settle();
    let (_, bye) = h.requests_of(&Method::Bye).pop().expect("BYE");
    // Before alice answers the BYE, and after.
    info(&mut h, 2);
    h.settle();
    h.reply_to(&bye, 200, None, "");
    h.settle();
    info(&mut h, 3);
    h.settle();
    assert_eq!(answers(&h, &Method::Info), [(481, 2), (481, 3)]);
    assert!(h.incoming().is_empty());
}
