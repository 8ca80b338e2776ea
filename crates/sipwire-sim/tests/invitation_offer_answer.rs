//! Offer/answer (RFC 3264 as RFC 6337 §2 tabulates it) tracked by the invitation; bodies
//! stay opaque bytes with a content type.

mod uac;

use std::time::Duration;

use sipwire::ua::{AcceptOptions, EndReason, Event, InvitationError, ProgressOptions};
use sipwire::{HeaderName, Method};
use uac::{ANSWER, Harness, OFFER};

fn terminated(h: &Harness) -> Option<EndReason> {
    h.events().iter().find_map(|(_, e)| {
        if let Event::Terminated { reason, .. } = e { Some(*reason) } else { None }
    })
}

fn bye(h: &Harness) -> Option<sipwire::Message> {
    h.requests().into_iter().map(|(_, m)| m).find(|m| m.method() == Some(&Method::Bye))
}

#[test]
fn the_invitations_body_is_the_offer_as_received() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    let id = h.invitation();
    let (ty, content) = h
        .world
        .with_node(h.bob, |ep: &mut sipwire::Endpoint, _| {
            let inv = ep.invitation(id)?;
            let b = inv.body()?;
            Some((b.content_type.to_owned(), b.content.to_vec()))
        })
        .flatten()
        .expect("a body");
    assert_eq!((ty.as_str(), content.as_slice()), ("application/sdp", OFFER.as_bytes()));
}

#[test]
fn no_offer_in_the_invite_so_the_200_carries_ours_and_the_ack_the_answer() {
    let mut h = Harness::new();
    h.invite("", None);
    h.settle();
    assert_eq!(
        h.act(|inv, now| inv.accept(now, AcceptOptions::new())),
        Err(InvitationError::BodyRequired)
    );
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", OFFER)))
        .expect("offer");
    h.settle();
    let ok = h.last(200).unwrap();
    assert_eq!(ok.body(), OFFER.as_bytes());
    assert_eq!(Harness::header(&ok, HeaderName::ContentType).as_deref(), Some("application/sdp"));
    h.ack_with(1, Some(ANSWER));
    h.run_for(Duration::from_secs(5));
    assert!(h.events().iter().any(|(_, e)| matches!(e, Event::Acked { with_body: true, .. })));
    assert!(bye(&h).is_none());
    assert_eq!(terminated(&h), None);
}

#[test]
fn an_ack_without_the_answer_ends_the_call_with_bye_and_a_reason() {
    let mut h = Harness::new();
    h.invite("", None);
    h.settle();
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", OFFER)))
        .expect("offer");
    h.settle();
    h.ack();
    h.settle();
    let bye = bye(&h).expect("BYE");
    let reason = Harness::header(&bye, HeaderName::Reason).expect("a Reason header");
    assert!(reason.starts_with("SIP;cause=488"), "{reason}");
    let ok = bye.reply(200).build().unwrap();
    h.send(String::from_utf8(ok.as_bytes().to_vec()).unwrap());
    h.settle();
    assert_eq!(terminated(&h), Some(EndReason::BadAnswer));
}

#[test]
fn an_ack_with_an_unexpected_body_ends_the_call_too() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("answer");
    h.settle();
    h.ack_with(1, Some(OFFER));
    h.settle();
    assert!(bye(&h).and_then(|b| Harness::header(&b, HeaderName::Reason)).is_some());
}

#[test]
fn an_offer_in_a_reliable_183_is_answered_in_the_prack() {
    let mut h = Harness::new();
    h.invite("Supported: 100rel\r\n", None);
    h.settle();
    let offer183 = ProgressOptions::new().status_code(183).body("application/sdp", OFFER);
    assert_eq!(
        h.act(|inv, now| inv.progress(now, offer183.clone())),
        Err(InvitationError::OfferNotReliable),
        "no offer in an unreliable provisional"
    );
    h.act(|inv, now| inv.progress(now, offer183.rel100(true))).expect("reliable offer");
    h.settle();
    let r = h.last(183).unwrap().rseq().unwrap().unwrap();
    assert_eq!(
        h.act(|inv, now| inv
            .progress(now, ProgressOptions::new().rel100(true).body("application/sdp", OFFER))),
        Err(InvitationError::OfferPending)
    );
    h.prack(2, r, 1, Some(ANSWER));
    h.settle();
    let id = h.invitation();
    assert!(h.events().iter().any(|(_, e)| *e == Event::Pracked { id, rseq: r, with_body: true }));
    // Offer and answer are done: the 2xx needs no body, and the ACK brings none.
    h.act(|inv, now| inv.accept(now, AcceptOptions::new())).expect("accept");
    h.settle();
    h.ack();
    h.run_for(Duration::from_secs(2));
    assert!(bye(&h).is_none());
}

#[test]
fn a_prack_without_the_answer_to_our_reliable_offer_ends_the_invitation_with_488() {
    let mut h = Harness::new();
    h.invite("Require: 100rel\r\n", None);
    h.settle();
    h.act(|inv, now| {
        inv.progress(now, ProgressOptions::new().status_code(183).body("application/sdp", OFFER))
    })
    .expect("reliable offer (the caller requires 100rel)");
    h.settle();
    let r = h.last(183).unwrap().rseq().unwrap().unwrap();
    h.prack(2, r, 1, None);
    h.settle();
    let rejected = h.last(488).expect("488 to the INVITE");
    assert!(Harness::header(&rejected, HeaderName::Reason).is_some());
    assert_eq!(terminated(&h), Some(EndReason::BadAnswer));
}
