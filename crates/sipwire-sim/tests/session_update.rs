//! UPDATE (RFC 3311) both ways, in the early dialog before the 200 and in the confirmed
//! one: offer/answer without an ACK, the 491 / 500 rules, target refresh.

mod uac;

use sipwire::ua::{
    AcceptOptions, Event, InvitationError, InvitationState, ProgressOptions, RequestKind,
    RequestOptions, ResponseOptions,
};
use sipwire::{HeaderName, Method};
use uac::{ANSWER, BOB, Harness, OFFER};

const OFFER2: &str = "v=0\r\no=alice 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49172 RTP/AVP 8\r\n";
const ANSWER2: &str = "v=0\r\no=bob 2 3 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3458 RTP/AVP 8\r\n";

fn update(h: &mut Harness, cseq: u32, body: Option<&str>) {
    h.in_dialog("UPDATE", &format!("sip:bob@{BOB}"), cseq, "", body);
    h.settle();
}

fn update_codes(h: &Harness) -> Vec<u16> {
    h.responses_to(&Method::Update).iter().filter_map(|(_, m)| m.status()).collect()
}

/// An INVITE with `Supported: 100rel`, answered with a reliable 183 carrying our answer
/// and PRACKed: the early dialog's offer/answer is complete before any 200.
fn early_with_answer() -> Harness {
    let mut h = Harness::new();
    h.invite("Supported: 100rel\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| {
        inv.progress(
            now,
            ProgressOptions::new().status_code(183).rel100(true).body("application/sdp", ANSWER),
        )
    })
    .expect("183");
    h.settle();
    let rseq: u32 =
        Harness::header(&h.last(183).unwrap(), HeaderName::RSeq).unwrap().parse().unwrap();
    h.prack(2, rseq, 1, None);
    h.settle();
    h
}

#[test]
fn update_in_the_early_dialog_before_the_200_is_answered_by_the_application() {
    let mut h = early_with_answer();
    update(&mut h, 3, Some(OFFER2));
    let (rid, kind, message) = h.incoming().pop().expect("surfaced");
    assert_eq!((kind, message.body()), (RequestKind::Update, OFFER2.as_bytes()));
    assert_eq!(h.state(), Some(InvitationState::Initial));
    h.act(|inv, now| {
        inv.respond(now, rid, ResponseOptions::new().body("application/sdp", ANSWER2))
    })
    .expect("answer");
    h.settle();
    assert_eq!(update_codes(&h), [200]);
    let ok = h.responses_to(&Method::Update).pop().unwrap().1;
    assert_eq!(ok.body(), ANSWER2.as_bytes(), "answered in the 2xx: no ACK for UPDATE");
    assert!(Harness::header(&ok, HeaderName::Contact).is_some(), "a target refresh answer");
    // The call goes on to its 200 as usual.
    h.act(|inv, now| inv.accept(now, AcceptOptions::new())).expect("no body: all answered");
    h.settle();
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn update_with_an_offer_before_the_initial_exchange_is_done_gets_500_with_retry_after() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER)); // the 180 made an early dialog; our answer is still due
    h.settle();
    update(&mut h, 2, Some(OFFER2));
    assert_eq!(update_codes(&h), [500]);
    let refused = h.responses_to(&Method::Update).pop().unwrap().1;
    let after: u32 = Harness::header(&refused, HeaderName::RetryAfter).unwrap().parse().unwrap();
    assert!(after <= 10);
    assert!(h.incoming().is_empty());
}

#[test]
fn update_with_an_offer_while_ours_waits_for_its_answer_gets_491() {
    let mut h = Harness::new();
    h.invite("Supported: 100rel\r\n", None);
    h.settle();
    h.act(|inv, now| {
        inv.progress(
            now,
            ProgressOptions::new().status_code(183).rel100(true).body("application/sdp", ANSWER),
        )
    })
    .expect("our offer in a reliable 183");
    h.settle();
    update(&mut h, 2, Some(OFFER2));
    assert_eq!(update_codes(&h), [491], "RFC 3311 §5.2");
}

#[test]
fn update_without_an_offer_refreshes_the_target_and_its_2xx_has_no_body() {
    let mut h = Harness::established();
    update(&mut h, 2, None);
    let rid = h.last_incoming();
    assert_eq!(
        h.act(|inv, now| inv.respond(
            now,
            rid,
            ResponseOptions::new().body("application/sdp", ANSWER2)
        )),
        Err(InvitationError::BodyNotAllowed)
    );
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())).expect("200");
    h.settle();
    assert_eq!(update_codes(&h), [200]);
}

#[test]
fn a_second_update_offer_while_the_first_is_unanswered_gets_500() {
    let mut h = Harness::established();
    update(&mut h, 2, Some(OFFER2));
    update(&mut h, 3, Some(OFFER2));
    assert_eq!(update_codes(&h), [500]);
    // And a re-INVITE then: 500 too (their offer is open).
    h.reinvite(4, Some(OFFER2));
    h.settle();
    assert_eq!(h.codes().last(), Some(&500));
}

#[test]
fn our_update_in_the_confirmed_dialog_gets_its_answer_in_the_2xx() {
    let mut h = Harness::established();
    let rid = h
        .act(|inv, now| inv.update(now, RequestOptions::new().body("application/sdp", ANSWER2)))
        .expect("UPDATE");
    h.settle();
    let (_, sent) = h.requests_of(&Method::Update).pop().expect("UPDATE");
    assert_eq!(sent.body(), ANSWER2.as_bytes());
    assert!(Harness::header(&sent, HeaderName::Contact).is_some());
    // Their re-INVITE with an offer now: glare on our UPDATE's offer.
    h.reinvite(2, Some(OFFER2));
    h.settle();
    assert_eq!(h.codes().last(), Some(&491));
    h.reply_to(&sent, 200, Some(OFFER2), "");
    h.settle();
    assert!(h.events().iter().any(|(_, e)| matches!(
        e,
        Event::Response { request, kind: RequestKind::Update, response, .. }
            if *request == rid && response.status() == Some(200)
    )));
    assert!(h.requests_of(&Method::Ack).is_empty(), "UPDATE has no ACK");
    h.act(|inv, now| inv.re_invite(now, RequestOptions::new().body("application/sdp", ANSWER2)))
        .expect("the offer is answered: free again");
}

#[test]
fn our_update_in_the_early_dialog_goes_before_the_200() {
    let mut h = early_with_answer();
    h.act(|inv, now| inv.update(now, RequestOptions::new().body("application/sdp", ANSWER2)))
        .expect("UPDATE in the early dialog");
    h.settle();
    let (_, sent) = h.requests_of(&Method::Update).pop().expect("UPDATE");
    assert_eq!(sent.to_tag().unwrap(), Some("alice-tag"));
    assert_eq!(sent.from_tag().unwrap(), h.to_tag.as_deref());
    assert_eq!(h.state(), Some(InvitationState::Initial));
}
