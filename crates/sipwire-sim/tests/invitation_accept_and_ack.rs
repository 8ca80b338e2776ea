//! accept → 200 → ACK (SIP.js `Invitation.accept`), and the 2xx retransmitted until the
//! ACK, or until 64·T1 when the call is ended with BYE (RFC 3261 §13.3.1.4).

mod uac;

use std::time::Duration;

use sipwire::HeaderName;
use sipwire::ua::{AcceptOptions, EndReason, Event, InvitationState};
use uac::{ANSWER, Harness, OFFER};

fn answer() -> AcceptOptions {
    AcceptOptions::new().body("application/sdp", ANSWER)
}

#[test]
fn invite_gets_100_then_180_before_the_application_hears_of_it() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    assert_eq!(h.codes(), [100, 180]);
    let ringing = h.last(180).expect("a 180");
    assert!(ringing.to_tag().unwrap().is_some_and(|t| t.len() >= 13), "≥ 64 random bits");
    assert!(h.last(100).unwrap().to_tag().unwrap().is_none(), "no To tag on the 100");
    assert!(matches!(h.events(), [(_, Event::Invitation { .. })]));
    assert_eq!(h.state(), Some(InvitationState::Initial));
    let dialog_count = h.endpoint().dialog_count();
    assert_eq!(dialog_count, 1, "the 180 made an early dialog");
}

#[test]
fn accept_sends_200_with_the_answer_and_the_ack_confirms_the_call() {
    let mut h = Harness::new();
    h.invite("Record-Route: <sip:192.0.2.7;lr>\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, answer())).expect("accept");
    h.settle();
    let ok = h.last(200).expect("a 200");
    assert_eq!(ok.body(), ANSWER.as_bytes());
    assert_eq!(ok.to_tag().unwrap(), h.last(180).unwrap().to_tag().unwrap(), "one To tag");
    assert_eq!(
        Harness::header(&ok, HeaderName::RecordRoute).as_deref(),
        Some("<sip:192.0.2.7;lr>")
    );
    assert_eq!(
        Harness::header(&ok, HeaderName::Contact).as_deref(),
        Some("<sip:bob@192.0.2.2:5060>")
    );
    assert_eq!(h.state(), Some(InvitationState::Established));
    h.ack();
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.times_of(200).len(), 1, "the ACK stopped the retransmissions");
    assert_eq!(h.endpoint().retransmissions(), 0, "nothing was sent twice");
    let states: Vec<_> = h
        .events()
        .iter()
        .filter_map(
            |(_, e)| if let Event::StateChanged { state, .. } = e { Some(*state) } else { None },
        )
        .collect();
    assert_eq!(states, [InvitationState::Establishing, InvitationState::Established]);
    assert!(h.events().iter().any(|(_, e)| matches!(e, Event::Acked { with_body: false, .. })));
    assert_eq!(h.state(), Some(InvitationState::Established));
    assert!(h.requests().is_empty(), "no BYE");
}

#[test]
fn without_ack_the_200_is_retransmitted_then_bye_at_32_s() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    let t0 = h.world.elapsed();
    h.act(|inv, now| inv.accept(now, answer())).expect("accept");
    h.run_for(Duration::from_secs(40));
    let t0 = t0.as_millis();
    let sent: Vec<u128> = h.times_of(200).iter().map(|t| t - t0).collect();
    // T1 doubling to T2: 0, 0.5, 1.5, 3.5, 7.5, then every 4 s; one-way latency included
    // equally in each (the world's default link), so the offsets are exact.
    let first = sent[0];
    let offsets: Vec<u128> = sent.iter().map(|t| t - first).collect();
    assert_eq!(offsets, [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    let byes: Vec<_> = h
        .requests()
        .into_iter()
        .filter(|(_, m)| m.method() == Some(&sipwire::Method::Bye))
        .collect();
    // The Sink never answers, so the BYE's own transaction retransmits it: one CSeq.
    let (at, bye) = &byes[0];
    assert!(byes.iter().all(|(_, b)| b.cseq().unwrap() == bye.cseq().unwrap()));
    assert_eq!(at - t0 - first, 32_000, "BYE at 64·T1");
    assert_eq!(
        h.endpoint().retransmissions(),
        (sent.len() - 1 + byes.len() - 1) as u64,
        "every 200 after the first and every BYE after the first is counted"
    );
    assert_eq!(byes.len(), 5, "BYE at 32, 32.5, 33.5, 35.5 and 39.5 s");
    assert!(Harness::header(bye, HeaderName::Reason).is_some_and(|r| r.contains("cause=408")));
    assert_eq!(bye.request_uri_str(), Some("sip:alice@192.0.2.1:5060"), "to the remote target");
    assert!(h.events().iter().any(|(_, e)| matches!(e, Event::AckTimeout { .. })));
    assert_eq!(h.state(), Some(InvitationState::Terminating));
}

#[test]
fn an_ack_with_the_wrong_cseq_is_ignored() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, answer())).expect("accept");
    h.settle();
    h.ack_with(2, None);
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.times_of(200).len(), 3, "200 still retransmitted at 0.5 and 1.5 s");
    assert!(h.events().iter().any(|(_, e)| matches!(
        e,
        Event::Discarded { reason: sipwire::transaction::Discard::AckMismatch, .. }
    )));
    h.ack();
    h.run_for(Duration::from_secs(10));
    assert_eq!(h.times_of(200).len(), 3, "the right ACK stops them");
}

#[test]
fn the_bye_after_an_ack_timeout_ends_the_call_when_answered() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, answer())).expect("accept");
    h.run_for(Duration::from_secs(33));
    let (_, bye) = h
        .requests()
        .into_iter()
        .find(|(_, m)| m.method() == Some(&sipwire::Method::Bye))
        .expect("BYE");
    let ok = bye.reply(200).build().expect("200");
    h.send(String::from_utf8(ok.as_bytes().to_vec()).unwrap());
    h.settle();
    assert!(
        h.events()
            .iter()
            .any(|(_, e)| matches!(e, Event::Terminated { reason: EndReason::AckTimeout, .. }))
    );
    assert_eq!(h.state(), Some(InvitationState::Terminated));
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.endpoint().invitation_count(), 0, "forgotten 64·T1 after it ended");
    assert_eq!(h.endpoint().dialog_count(), 0);
    assert_eq!(h.endpoint().transaction_count(), 0);
}
