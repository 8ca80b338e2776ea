//! Reliable provisional responses (RFC 3262) on the UAS side.

mod uac;

use std::time::Duration;

use sipwire::HeaderName;
use sipwire::ua::{AcceptOptions, EndReason, Event, InvitationError, ProgressOptions, Rel100};
use uac::{ANSWER, Harness, OFFER};

fn rseq(m: &sipwire::Message) -> u32 {
    m.rseq().unwrap().expect("an RSeq")
}

fn rel183() -> ProgressOptions {
    ProgressOptions::new().status_code(183).rel100(true).body("application/sdp", ANSWER)
}

fn rel100_of(extra: &str) -> Rel100 {
    let mut h = Harness::new();
    h.invite(extra, Some(OFFER));
    h.settle();
    let id = h.invitation();
    h.world
        .with_node(h.bob, |ep: &mut sipwire::Endpoint, _| ep.invitation(id).map(|i| i.rel100()))
        .flatten()
        .expect("invitation")
}

#[test]
fn require_wins_over_supported() {
    assert_eq!(rel100_of(""), Rel100::None);
    assert_eq!(rel100_of("Supported: 100rel\r\n"), Rel100::Supported);
    assert_eq!(rel100_of("Require: 100rel\r\n"), Rel100::Required);
    assert_eq!(rel100_of("Supported: timer, 100rel\r\nRequire: 100rel\r\n"), Rel100::Required);
    assert_eq!(rel100_of("Require: 100rel\r\nSupported: 100rel\r\n"), Rel100::Required);
}

#[test]
fn when_the_caller_requires_100rel_no_automatic_180_is_sent() {
    let mut h = Harness::new();
    h.invite("Require: 100rel\r\n", Some(OFFER));
    h.settle();
    assert_eq!(h.codes(), [100]);
    let id = h.invitation();
    let auto = h
        .world
        .with_node(h.bob, |ep: &mut sipwire::Endpoint, _| {
            ep.invitation(id).map(|i| i.auto_send_an_initial_provisional_response())
        })
        .flatten();
    assert_eq!(auto, Some(false));
}

#[test]
fn reliable_183_then_prack_then_200() {
    let mut h = Harness::new();
    h.invite("Supported: 100rel\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.progress(now, rel183())).expect("reliable 183");
    h.settle();
    let p = h.last(183).expect("183");
    assert_eq!(Harness::header(&p, HeaderName::Require).as_deref(), Some("100rel"));
    let r = rseq(&p);
    assert!((1..1 << 31).contains(&r), "RSeq starts in 1..2^31");
    h.prack(2, r, 1, None);
    h.settle();
    let ok = h.last(200).expect("200 to the PRACK");
    assert_eq!(ok.cseq().unwrap().method, sipwire::Method::Prack);
    let id = h.invitation();
    assert!(h.events().iter().any(|(_, e)| *e == Event::Pracked { id, rseq: r, with_body: false }));
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.times_of(183).len(), 1, "the PRACK stopped the retransmissions");
    // The answer already went in the reliable 183: the 2xx needs no body.
    h.act(|inv, now| inv.accept(now, AcceptOptions::new())).expect("accept");
    h.settle();
    assert_eq!(h.last(200).unwrap().cseq().unwrap().method, sipwire::Method::Invite);
}

#[test]
fn an_unacknowledged_reliable_provisional_is_retransmitted_then_504() {
    let mut h = Harness::new();
    h.invite("Require: 100rel\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.progress(now, ProgressOptions::new().status_code(180))).expect("180");
    h.run_for(Duration::from_secs(33));
    let times = h.times_of(180);
    let offsets: Vec<u128> = times.iter().map(|t| t - times[0]).collect();
    assert_eq!(offsets, [0, 500, 1500, 3500, 7500, 15_500, 31_500], "T1 doubling");
    let rseqs: Vec<u32> = h
        .received()
        .iter()
        .filter(|(_, m)| m.status() == Some(180))
        .map(|(_, m)| rseq(m))
        .collect();
    assert!(rseqs.windows(2).all(|w| w[0] == w[1]), "retransmissions keep the RSeq");
    assert_eq!(h.times_of(504)[0] - times[0], 32_000);
    assert!(
        h.events()
            .iter()
            .any(|(_, e)| matches!(e, Event::Terminated { reason: EndReason::PrackTimeout, .. }))
    );
}

#[test]
fn a_prack_with_a_wrong_rack_gets_481() {
    let mut h = Harness::new();
    h.invite("Require: 100rel\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.progress(now, rel183())).expect("183");
    h.settle();
    let r = rseq(&h.last(183).unwrap());
    h.prack(2, r.wrapping_add(5), 1, None);
    h.settle();
    assert_eq!(h.codes().last(), Some(&481));
    h.prack(3, r, 9, None);
    h.settle();
    assert_eq!(h.codes().last(), Some(&481), "RAck CSeq must be the INVITE's");
    h.prack(4, r, 1, None);
    h.settle();
    assert_eq!(h.codes().last(), Some(&200));
}

#[test]
fn a_second_reliable_provisional_waits_for_the_first_prack() {
    let mut h = Harness::new();
    h.invite("Require: 100rel\r\n", None);
    h.settle();
    h.act(|inv, now| inv.progress(now, ProgressOptions::new().status_code(180))).expect("180");
    h.act(|inv, now| inv.progress(now, ProgressOptions::new().status_code(183)))
        .expect("183 queued");
    h.settle();
    assert!(h.times_of(183).is_empty(), "queued behind the unacknowledged 180");
    let r = rseq(&h.last(180).unwrap());
    h.prack(2, r, 1, None);
    h.settle();
    let second = h.last(183).expect("sent after the PRACK");
    assert_eq!(rseq(&second), r + 1, "RSeq increments by one");
}

#[test]
fn accept_waits_for_the_prack_of_a_provisional_with_a_body() {
    let mut h = Harness::new();
    h.invite("Require: 100rel\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.progress(now, rel183())).expect("183 with the answer");
    h.act(|inv, now| inv.accept(now, AcceptOptions::new())).expect("accept is deferred");
    h.settle();
    assert!(h.last(200).is_none(), "RFC 3262 §3: no 2xx before that PRACK");
    assert_eq!(h.state(), Some(sipwire::ua::InvitationState::Establishing));
    let r = rseq(&h.last(183).unwrap());
    h.prack(2, r, 1, None);
    h.settle();
    let methods: Vec<_> = h
        .received()
        .iter()
        .filter(|(_, m)| m.status() == Some(200))
        .map(|(_, m)| m.cseq().unwrap().method)
        .collect();
    assert_eq!(methods, [sipwire::Method::Prack, sipwire::Method::Invite]);
    assert_eq!(h.state(), Some(sipwire::ua::InvitationState::Established));
}

#[test]
fn a_prack_after_the_200_is_answered() {
    let mut h = Harness::new();
    h.invite("Supported: 100rel\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.progress(now, ProgressOptions::new().status_code(180).rel100(true)))
        .expect("180");
    h.settle();
    let r = rseq(&h.last(180).unwrap());
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("200");
    h.settle();
    h.prack(2, r, 1, None);
    h.settle();
    let last = h.received().into_iter().last().unwrap().1;
    assert_eq!((last.status(), last.cseq().unwrap().method), (Some(200), sipwire::Method::Prack));
}

#[test]
fn reliable_progress_without_caller_support_is_an_error() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    assert_eq!(
        h.act(|inv, now| inv.progress(now, ProgressOptions::new().rel100(true))),
        Err(InvitationError::Rel100NotSupported)
    );
}
