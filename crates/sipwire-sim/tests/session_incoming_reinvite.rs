//! The peer's re-INVITE (RFC 3261 §14.2, RFC 5407 §3.1.5, RFC 6141): surfaced with its
//! offer or none, answered by the application, its 2xx retransmitted until the ACK, the
//! remote target refreshed, and the 500 / 491 rules when another INVITE or offer is open.

mod uac;

use std::time::Duration;

use sipwire::ua::{
    AcceptOptions, EndReason, Event, InvitationError, InvitationState, RequestKind, ResponseOptions,
};
use sipwire::{HeaderName, Method};
use uac::{ANSWER, Harness, OFFER};

const OFFER2: &str = "v=0\r\no=alice 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\n";
const ANSWER2: &str = "v=0\r\no=bob 2 3 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3458 RTP/AVP 0\r\n";

fn sdp(body: &str) -> ResponseOptions {
    ResponseOptions::new().body("application/sdp", body.to_owned())
}

/// The 200s alice got for her re-INVITE (CSeq 2), as arrival times in ms.
fn reinvite_oks(h: &Harness, seq: u32) -> Vec<u128> {
    h.responses_to(&Method::Invite)
        .into_iter()
        .filter(|(_, m)| m.status() == Some(200) && m.cseq().unwrap().seq == seq)
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn a_reinvite_with_an_offer_is_surfaced_and_its_2xx_is_retransmitted_until_the_ack() {
    let mut h = Harness::established();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    let (rid, kind, message) = h.incoming().pop().expect("the re-INVITE is an event");
    assert_eq!(kind, RequestKind::ReInvite);
    assert_eq!(message.body(), OFFER2.as_bytes(), "the event carries the offer");
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())),
        Err(InvitationError::BodyRequired),
        "a 2xx to an offer carries the answer"
    );
    h.act(|inv, now| inv.respond(now, rid, sdp(ANSWER2))).expect("answer");
    h.run_for(Duration::from_millis(4_000));
    let oks = reinvite_oks(&h, 2);
    let first = oks[0];
    let gaps: Vec<u128> = oks.iter().map(|t| t - first).collect();
    assert_eq!(gaps, [0, 500, 1_500, 3_500], "T1, doubling, as for the first INVITE");
    let ok = h.last(200).expect("the 200");
    assert_eq!(ok.body(), ANSWER2.as_bytes());
    assert!(Harness::header(&ok, HeaderName::Contact).is_some(), "a target refresh answer");
    h.ack_with(2, None);
    h.run_for(Duration::from_secs(10));
    assert_eq!(reinvite_oks(&h, 2).len(), 4, "no copy after the ACK");
    let id = h.invitation();
    assert!(h.events().iter().any(|(_, e)| matches!(
        e,
        Event::ReInviteAcked { id: i, request, .. } if *i == id && *request == rid
    )));
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn a_reinvite_without_an_offer_gets_ours_in_the_2xx_and_the_answer_in_the_ack() {
    let mut h = Harness::established();
    h.reinvite(2, None);
    h.settle();
    let (rid, kind, message) = h.incoming().pop().expect("event");
    assert_eq!((kind, message.body().is_empty()), (RequestKind::ReInvite, true));
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())),
        Err(InvitationError::BodyRequired),
        "with no offer in the re-INVITE, the 2xx carries ours"
    );
    h.act(|inv, now| inv.respond(now, rid, sdp(ANSWER2))).expect("our offer");
    h.settle();
    assert_eq!(h.last(200).unwrap().body(), ANSWER2.as_bytes());
    h.ack_with(2, Some(OFFER2));
    h.settle();
    let acked = h.events().iter().find_map(|(_, e)| match e {
        Event::ReInviteAcked { request, message, .. } if *request == rid => Some(message.clone()),
        _ => None,
    });
    assert_eq!(acked.expect("the ACK is reported").body(), OFFER2.as_bytes());
    assert!(h.requests_of(&Method::Bye).is_empty(), "a good answer keeps the call");
}

#[test]
fn an_ack_without_the_answer_to_our_offer_ends_the_call() {
    let mut h = Harness::established();
    h.reinvite(2, None);
    h.settle();
    let rid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, rid, sdp(ANSWER2))).expect("our offer");
    h.settle();
    h.ack_with(2, None);
    h.settle();
    let (_, bye) = h.requests_of(&Method::Bye).pop().expect("BYE");
    assert!(Harness::header(&bye, HeaderName::Reason).unwrap().contains("488"));
}

#[test]
fn the_reinvite_refreshes_the_remote_target_once_answered_2xx() {
    let mut h = Harness::established();
    let tag = h.to_tag.clone().unwrap();
    let text = format!(
        "INVITE sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKre\r\n\
         From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=alice-tag\r\nTo: <sip:bob@192.0.2.2:5060>;tag={tag}\r\n\
         Call-ID: call-1@192.0.2.1\r\nCSeq: 2 INVITE\r\nMax-Forwards: 70\r\n\
         Contact: <sip:alice-moved@192.0.2.1:5060>\r\nContent-Length: 0\r\n\r\n"
    );
    h.send(text);
    h.settle();
    let rid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, rid, sdp(ANSWER2))).expect("offer");
    h.ack_with(2, Some(OFFER2));
    h.settle();
    h.act(|inv, now| inv.bye(now)).expect("bye");
    h.settle();
    let (_, bye) = h.requests_of(&Method::Bye).pop().expect("BYE");
    assert_eq!(bye.request_uri_str(), Some("sip:alice-moved@192.0.2.1:5060"));
}

#[test]
fn a_refused_reinvite_leaves_the_target_and_session_as_they_were() {
    let mut h = Harness::established();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    let rid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new().status_code(488))).expect("488");
    h.settle();
    assert_eq!(h.codes().last(), Some(&488));
    // The offer is void: a new one is welcome.
    h.ack_with(2, None); // the transaction's ACK for the 488
    h.reinvite(3, Some(OFFER2));
    h.settle();
    let rid3 = h.last_incoming();
    assert_ne!(rid, rid3);
    h.act(|inv, now| inv.respond(now, rid3, sdp(ANSWER2))).expect("answer");
    h.settle();
    // The dialog is confirmed: BYE need not wait for the re-INVITE's ACK, and it stops
    // that 2xx.
    h.act(|inv, now| inv.bye(now)).expect("bye");
    h.run_for(Duration::from_secs(5));
    assert_eq!(reinvite_oks(&h, 3).len(), 1, "no copy of the 2xx once the BYE is out");
}

#[test]
fn a_second_reinvite_before_the_first_is_answered_gets_500_with_retry_after_up_to_10() {
    let mut h = Harness::established();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    h.reinvite(3, Some(OFFER2));
    h.settle();
    let refused = h.last(500).expect("§14.2: 500");
    assert_eq!(refused.cseq().unwrap().seq, 3);
    let after: u32 =
        Harness::header(&refused, HeaderName::RetryAfter).expect("Retry-After").parse().unwrap();
    assert!(after <= 10, "{after}");
    assert_eq!(h.incoming().len(), 1, "the second is not surfaced");
}

#[test]
fn a_reinvite_while_the_first_invite_is_unanswered_gets_500() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    let refused = h.last(500).expect("500");
    assert!(Harness::header(&refused, HeaderName::RetryAfter).is_some());
    assert_eq!(h.state(), Some(InvitationState::Initial));
}

#[test]
fn rfc5407_a_reinvite_before_the_initial_ack_is_taken_when_the_2xx_answered_the_offer() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("accept");
    h.settle();
    // The ACK is late (lost on its first try); the re-INVITE overtakes it.
    h.reinvite(2, Some(OFFER2));
    h.settle();
    let (rid, kind, _) = h.incoming().pop().expect("surfaced: the offer/answer was complete");
    assert_eq!(kind, RequestKind::ReInvite);
    h.act(|inv, now| inv.respond(now, rid, sdp(ANSWER2))).expect("answer");
    h.run_for(Duration::from_millis(600));
    // The first 200 keeps going until its own ACK.
    let first_oks = h
        .responses_to(&Method::Invite)
        .into_iter()
        .filter(|(_, m)| m.status() == Some(200) && m.cseq().unwrap().seq == 1)
        .count();
    assert_eq!(first_oks, 2, "the initial 2xx is still retransmitted");
    h.ack();
    h.ack_with(2, None);
    h.run_for(Duration::from_secs(5));
    let id = h.invitation();
    assert!(h.events().iter().any(|(_, e)| matches!(e, Event::Acked { id: i, .. } if *i == id)));
    assert!(h.events().iter().any(|(_, e)| matches!(e, Event::ReInviteAcked { .. })));
}

#[test]
fn rfc5407_a_reinvite_before_the_initial_ack_gets_491_when_our_2xx_held_the_offer() {
    let mut h = Harness::new();
    h.invite("", None);
    h.settle();
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("accept with our offer");
    h.settle();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    assert_eq!(h.codes().last(), Some(&491), "our offer waits for the answer in the ACK");
    assert!(h.incoming().is_empty());
}

#[test]
fn an_unanswered_reinvite_gets_the_default_488_after_the_request_timeout() {
    let mut h = Harness::established();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    let arrived = h
        .events()
        .iter()
        .find_map(|(t, e)| matches!(e, Event::Request { .. }).then_some(t.as_millis()));
    h.run_for(Duration::from_secs(11));
    let (at, refused) = h
        .responses_to(&Method::Invite)
        .into_iter()
        .find(|(_, m)| m.status() == Some(488))
        .expect("the default answer");
    assert_eq!(refused.cseq().unwrap().seq, 2);
    let answered_at = h.events().iter().find_map(|(t, e)| {
        matches!(e, Event::DefaultAnswered { status: 488, kind: RequestKind::ReInvite, .. })
            .then_some(t.as_millis())
    });
    assert_eq!(answered_at.unwrap() - arrived.unwrap(), 10_000, "Config::request_timeout");
    assert!(at >= answered_at.unwrap());
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn cancel_of_a_pending_reinvite_gets_487_and_voids_its_offer() {
    let mut h = Harness::established();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    let rid = h.last_incoming();
    // The CANCEL for the re-INVITE: its branch (the harness's 3rd) and CSeq.
    let tag = h.to_tag.clone().unwrap();
    h.send(format!(
        "CANCEL sip:bob@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKalice3\r\n\
         From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=alice-tag\r\nTo: <sip:bob@192.0.2.2:5060>;tag={tag}\r\n\
         Call-ID: call-1@192.0.2.1\r\nCSeq: 2 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ));
    h.settle();
    let to_invite: Vec<u16> =
        h.responses_to(&Method::Invite).iter().filter_map(|(_, m)| m.status()).collect();
    assert_eq!(to_invite.last(), Some(&487));
    assert!(
        h.events()
            .iter()
            .any(|(_, e)| matches!(e, Event::RequestCancelled { request, .. } if *request == rid))
    );
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, sdp(ANSWER2))),
        Err(InvitationError::UnknownRequest)
    );
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn bye_during_a_pending_reinvite_answers_it_487_then_the_bye_200() {
    let mut h = Harness::established();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    h.bye(3);
    h.settle();
    let tail: Vec<(u16, Method)> = h
        .received()
        .iter()
        .filter_map(|(_, m)| Some((m.status()?, m.cseq().ok()?.method)))
        .collect::<Vec<_>>()
        .split_off(3);
    assert_eq!(tail, [(487, Method::Invite), (200, Method::Bye)]);
    let id = h.invitation();
    assert!(
        h.events()
            .iter()
            .any(|(_, e)| *e == Event::Terminated { id, reason: EndReason::RemoteBye })
    );
}

#[test]
fn a_reinvite_2xx_never_acked_ends_the_call_with_bye_after_64_t1() {
    let mut h = Harness::established();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    let rid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, rid, sdp(ANSWER2))).expect("answer");
    h.settle();
    let sent = reinvite_oks(&h, 2)[0];
    h.run_for(Duration::from_secs(33));
    let (at, bye) = h.requests_of(&Method::Bye).into_iter().next().expect("BYE");
    assert_eq!(at - sent, 32_000);
    assert!(Harness::header(&bye, HeaderName::Reason).unwrap().contains("408"));
    let oks = reinvite_oks(&h, 2);
    let gaps: Vec<u128> = oks.iter().map(|t| t - sent).collect();
    assert_eq!(
        gaps,
        [0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500],
        "T1 doubling up to T2 = 4 s"
    );
}

#[test]
fn rfc5407_a_reinvite_once_our_bye_is_out_gets_481() {
    let mut h = Harness::established();
    h.act(|inv, now| inv.bye(now)).expect("bye");
    h.settle();
    assert_eq!(h.state(), Some(InvitationState::Terminating));
    h.reinvite(2, Some(OFFER2));
    h.settle();
    assert_eq!(h.codes().last(), Some(&481), "§3.2.2: the Mortal state takes nothing new");
    assert!(h.incoming().is_empty());
}

#[test]
fn the_peer_may_leave_at_most_16_requests_open_then_503() {
    let mut h = Harness::established();
    for cseq in 2..20 {
        h.in_dialog("INFO", "sip:bob@192.0.2.2:5060", cseq, "", None);
    }
    h.settle();
    assert_eq!(h.incoming().len(), 16, "bounded");
    let refused = h.responses_to(&Method::Info);
    assert_eq!(refused.len(), 2);
    assert!(
        refused.iter().all(|(_, m)| m.status() == Some(503)
            && Harness::header(m, HeaderName::RetryAfter).is_some())
    );
}

#[test]
fn a_copy_of_the_reinvite_ack_is_absorbed_quietly() {
    let mut h = Harness::established();
    h.reinvite(2, Some(OFFER2));
    h.settle();
    let rid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, rid, sdp(ANSWER2))).expect("answer");
    h.settle();
    h.ack_with(2, None);
    h.ack_with(2, None);
    h.settle();
    let acked = h.events().iter().filter(|(_, e)| matches!(e, Event::ReInviteAcked { .. })).count();
    assert_eq!(acked, 1);
    assert!(
        !h.events().iter().any(|(_, e)| matches!(e, Event::Discarded { .. })),
        "{:?}",
        h.events()
    );
}
