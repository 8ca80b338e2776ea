//! Our re-INVITE (RFC 3261 §14.1): sent in the dialog with its route set, the 2xx ACKed by
//! the dialog and re-ACKed for each copy, an offerless one answered in our ACK, and only
//! one INVITE or offer in flight (typed errors, nothing on the wire).

mod uac;

use sipwire::ua::{AcceptOptions, Event, InvitationError, RequestKind, RequestOptions};
use sipwire::{HeaderName, Method};
use uac::{ANSWER, Harness, OFFER};

const NEW_OFFER: &str = "v=0\r\no=bob 2 3 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3460 RTP/AVP 0\r\n";
const NEW_ANSWER: &str = "v=0\r\no=alice 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49174 RTP/AVP 0\r\n";

fn offer() -> RequestOptions {
    RequestOptions::new().body("application/sdp", NEW_OFFER)
}

fn acks(h: &Harness) -> Vec<(u128, sipwire::Message)> {
    h.requests_of(&Method::Ack)
}

#[test]
fn re_invite_goes_in_the_dialog_and_its_2xx_is_acked_and_re_acked_per_copy() {
    let mut h = Harness::established();
    let rid = h.act(|inv, now| inv.re_invite(now, offer())).expect("re-INVITE");
    h.settle();
    let (_, invite) = h.requests_of(&Method::Invite).pop().expect("the re-INVITE");
    assert_eq!(invite.from_tag().unwrap(), h.to_tag.as_deref(), "our tag in From");
    assert_eq!(invite.to_tag().unwrap(), Some("alice-tag"));
    assert_eq!(invite.call_id().unwrap(), "call-1@192.0.2.1");
    assert_eq!(invite.request_uri_str(), Some("sip:alice@192.0.2.1:5060"), "remote target");
    assert_eq!(invite.body(), NEW_OFFER.as_bytes());
    assert!(Harness::header(&invite, HeaderName::Contact).is_some());
    let seq = invite.cseq().unwrap().seq;
    h.reply_to(&invite, 180, None, "");
    h.settle();
    h.reply_to(&invite, 200, Some(NEW_ANSWER), "");
    h.settle();
    let responses: Vec<(u16, bool)> = h
        .events()
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Response { request, kind: RequestKind::ReInvite, response, .. }
                if *request == rid =>
            {
                Some((response.status().unwrap(), response.body() == NEW_ANSWER.as_bytes()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(responses, [(180, false), (200, true)]);
    let sent = acks(&h);
    assert_eq!(sent.len(), 1, "the dialog ACKs the 2xx");
    let (_, ack) = &sent[0];
    assert_eq!(ack.cseq().unwrap().seq, seq, "the INVITE's CSeq number");
    assert_eq!(ack.cseq().unwrap().method, Method::Ack);
    assert_eq!(ack.to_tag().unwrap(), Some("alice-tag"));
    assert!(ack.body().is_empty(), "our offer was answered in the 2xx");
    // Two copies of the 2xx (its ACK lost, say): one ACK each.
    h.reply_to(&invite, 200, Some(NEW_ANSWER), "");
    h.settle();
    h.reply_to(&invite, 200, Some(NEW_ANSWER), "");
    h.settle();
    let again = acks(&h);
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|(_, a)| a.as_bytes() == sent[0].1.as_bytes()), "the same ACK");
    let finals = h
        .events()
        .iter()
        .filter(|(_, e)| matches!(e, Event::Response { response, .. } if response.status() == Some(200)))
        .count();
    assert_eq!(finals, 1, "the copies are not news to the application");
    assert_eq!(h.endpoint().retransmissions(), 2, "the two re-sent ACKs, nothing else");
}

#[test]
fn the_route_set_goes_on_the_re_invite_and_its_ack() {
    let mut h = Harness::new();
    h.invite("Record-Route: <sip:192.0.2.1:5060;lr>\r\n", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("accept");
    h.settle();
    h.ack();
    h.settle();
    h.act(|inv, now| inv.re_invite(now, offer())).expect("re-INVITE");
    h.settle();
    let (_, invite) = h.requests_of(&Method::Invite).pop().expect("re-INVITE");
    assert_eq!(
        Harness::header(&invite, HeaderName::Route).as_deref(),
        Some("<sip:192.0.2.1:5060;lr>")
    );
    h.reply_to(&invite, 200, Some(NEW_ANSWER), "");
    h.settle();
    let (_, ack) = acks(&h).pop().expect("ACK");
    assert_eq!(
        Harness::header(&ack, HeaderName::Route).as_deref(),
        Some("<sip:192.0.2.1:5060;lr>")
    );
    assert_eq!(ack.request_uri_str(), Some("sip:alice@192.0.2.1:5060"));
}

#[test]
fn an_offerless_re_invite_gets_the_offer_in_the_2xx_and_our_answer_goes_in_the_ack() {
    let mut h = Harness::established();
    let rid = h.act(|inv, now| inv.re_invite(now, RequestOptions::new())).expect("re-INVITE");
    h.settle();
    let (_, invite) = h.requests_of(&Method::Invite).pop().expect("re-INVITE");
    assert!(invite.body().is_empty());
    h.reply_to(&invite, 200, Some(NEW_ANSWER), "");
    h.settle();
    assert!(acks(&h).is_empty(), "the answer is the application's to give");
    assert_eq!(
        h.act(|inv, now| inv.ack(now, rid, RequestOptions::new())),
        Err(InvitationError::BodyRequired)
    );
    // No other offer meanwhile.
    assert_eq!(h.act(|inv, now| inv.update(now, offer())), Err(InvitationError::OfferPending));
    h.act(|inv, now| inv.ack(now, rid, offer())).expect("ACK with the answer");
    h.settle();
    let (_, ack) = acks(&h).pop().expect("ACK");
    assert_eq!(ack.body(), NEW_OFFER.as_bytes());
    assert_eq!(ack.cseq().unwrap().seq, invite.cseq().unwrap().seq);
    assert_eq!(
        h.act(|inv, now| inv.ack(now, rid, offer())),
        Err(InvitationError::UnknownRequest),
        "one ACK"
    );
    // A copy of the 2xx gets the same ACK again.
    h.reply_to(&invite, 200, Some(NEW_ANSWER), "");
    h.settle();
    assert_eq!(acks(&h).len(), 2);
    h.act(|inv, now| inv.update(now, offer())).expect("the exchange is complete");
}

#[test]
fn one_invite_and_one_offer_at_a_time_are_typed_errors_with_nothing_sent() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("accept");
    h.settle();
    assert_eq!(
        h.act(|inv, now| inv.re_invite(now, offer())),
        Err(InvitationError::InviteInProgress),
        "the first INVITE runs until its ACK"
    );
    h.ack();
    h.settle();
    let before = h.requests().len();
    h.act(|inv, now| inv.re_invite(now, offer())).expect("first");
    assert_eq!(
        h.act(|inv, now| inv.re_invite(now, offer())),
        Err(InvitationError::InviteInProgress)
    );
    assert_eq!(h.act(|inv, now| inv.update(now, offer())), Err(InvitationError::OfferPending));
    // INFO and an offerless UPDATE do not touch the offer/answer.
    h.act(|inv, now| inv.info(now, RequestOptions::new())).expect("INFO");
    h.act(|inv, now| inv.update(now, RequestOptions::new())).expect("target refresh");
    h.settle();
    assert_eq!(h.requests().len(), before + 3, "re-INVITE, INFO, UPDATE; nothing else");
}

#[test]
fn a_refused_re_invite_keeps_the_call_and_frees_the_offer() {
    let mut h = Harness::established();
    let rid = h.act(|inv, now| inv.re_invite(now, offer())).expect("re-INVITE");
    h.settle();
    let (_, invite) = h.requests_of(&Method::Invite).pop().expect("re-INVITE");
    h.reply_to(&invite, 488, None, "");
    h.settle();
    assert!(h.events().iter().any(|(_, e)| matches!(
        e,
        Event::Response { request, response, .. }
            if *request == rid && response.status() == Some(488)
    )));
    let acks = acks(&h);
    assert_eq!(acks.len(), 1, "the transaction ACKs a non-2xx");
    assert_eq!(
        acks[0].1.top_via().unwrap().branch(),
        invite.top_via().unwrap().branch(),
        "§17.1.1.3: same branch as the INVITE"
    );
    h.act(|inv, now| inv.re_invite(now, offer())).expect("free again");
}

#[test]
fn re_invite_and_refer_need_a_confirmed_dialog_but_update_and_info_work_early() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    // The 180 made an early dialog, but the INVITE's offer is not answered yet.
    assert!(matches!(
        h.act(|inv, now| inv.re_invite(now, offer())),
        Err(InvitationError::WrongState(_))
    ));
    assert!(matches!(
        h.act(|inv, now| inv.refer(now, "<sip:carol@192.0.2.3>", RequestOptions::new())),
        Err(InvitationError::WrongState(_))
    ));
    assert_eq!(h.act(|inv, now| inv.update(now, offer())), Err(InvitationError::OfferPending));
    h.act(|inv, now| inv.info(now, RequestOptions::new())).expect("INFO in the early dialog");
    h.settle();
    let (_, info) = h.requests_of(&Method::Info).pop().expect("INFO");
    assert_eq!(info.to_tag().unwrap(), Some("alice-tag"));
}

#[test]
fn a_2xx_to_our_re_invite_after_our_bye_is_still_acked() {
    let mut h = Harness::established();
    h.act(|inv, now| inv.re_invite(now, RequestOptions::new())).expect("re-INVITE");
    h.settle();
    let (_, invite) = h.requests_of(&Method::Invite).pop().expect("re-INVITE");
    h.act(|inv, now| inv.bye(now)).expect("bye");
    h.settle();
    h.reply_to(&invite, 200, Some(NEW_ANSWER), "");
    h.settle();
    let (_, ack) = acks(&h).pop().expect("§13.2.2.4: every 2xx is ACKed");
    assert_eq!(ack.cseq().unwrap().seq, invite.cseq().unwrap().seq);
    assert!(
        !h.events().iter().any(|(_, e)| matches!(e, Event::Response { .. })),
        "the call is ending: no news for the application"
    );
}
