//! BYE both ways, BYE before the ACK (RFC 3261 §15), and BYE on an early dialog.

mod uac;

use std::time::Duration;

use sipwire::Method;
use sipwire::ua::{AcceptOptions, EndReason, Event, InvitationError, InvitationState};
use uac::{ANSWER, Harness, OFFER};

fn established() -> Harness {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("accept");
    h.settle();
    h
}

fn byes(h: &Harness) -> Vec<(u128, sipwire::Message)> {
    h.requests().into_iter().filter(|(_, m)| m.method() == Some(&Method::Bye)).collect()
}

fn answer(h: &mut Harness, request: &sipwire::Message, code: u16) {
    let ok = request.reply(code).build().expect("response");
    h.send(String::from_utf8(ok.as_bytes().to_vec()).expect("text"));
    h.settle();
}

#[test]
fn the_callers_bye_is_answered_200_and_ends_the_call() {
    let mut h = established();
    h.ack();
    h.settle();
    h.bye(2);
    h.settle();
    let ok = h.received().into_iter().rev().find(|(_, m)| m.status() == Some(200)).unwrap().1;
    assert_eq!(ok.cseq().unwrap().method, Method::Bye);
    let id = h.invitation();
    assert!(
        h.events()
            .iter()
            .any(|(_, e)| *e == Event::Terminated { id, reason: EndReason::RemoteBye })
    );
    assert_eq!(h.endpoint().dialog_count(), 0);
    // A BYE for the ended dialog: 481.
    h.bye(3);
    h.settle();
    assert_eq!(h.codes().last(), Some(&481));
}

#[test]
fn bye_sends_bye_in_the_dialog_and_reports_its_outcome() {
    let mut h = established();
    h.ack();
    h.settle();
    h.act(|inv, now| inv.bye(now)).expect("bye");
    h.settle();
    assert_eq!(h.state(), Some(InvitationState::Terminating));
    let (_, bye) = byes(&h).pop().expect("a BYE");
    assert_eq!(bye.from_tag().unwrap(), h.to_tag.as_deref(), "our tag in From");
    assert_eq!(bye.to_tag().unwrap(), Some("alice-tag"));
    assert_eq!(bye.call_id().unwrap(), "call-1@192.0.2.1");
    assert_eq!(bye.request_uri_str(), Some("sip:alice@192.0.2.1:5060"));
    assert!(bye.cseq().unwrap().seq >= 1);
    assert_eq!(
        h.act(|inv, now| inv.bye(now)),
        Err(InvitationError::WrongState(InvitationState::Terminating))
    );
    answer(&mut h, &bye, 200);
    let id = h.invitation();
    assert!(
        h.events()
            .iter()
            .any(|(_, e)| *e == Event::Terminated { id, reason: EndReason::LocalBye(Some(200)) })
    );
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.endpoint().invitation_count(), 0);
    assert_eq!(h.endpoint().transaction_count(), 0);
}

#[test]
fn a_bye_that_times_out_still_ends_the_call() {
    let mut h = established();
    h.ack();
    h.settle();
    h.act(|inv, now| inv.bye(now)).expect("bye");
    h.run_for(Duration::from_secs(33));
    let id = h.invitation();
    let at = h.events().iter().find_map(|(t, e)| {
        (*e == Event::Terminated { id, reason: EndReason::LocalBye(None) }).then_some(*t)
    });
    assert!(at.is_some(), "Timer F ended it: {:?}", h.events());
}

#[test]
fn bye_before_the_ack_waits_for_it() {
    let mut h = established();
    h.act(|inv, now| inv.bye(now)).expect("bye while the 200 is unacknowledged");
    h.settle();
    assert_eq!(h.state(), Some(InvitationState::Terminating));
    assert!(byes(&h).is_empty(), "§15: not before the ACK");
    h.run_for(Duration::from_millis(700));
    h.ack();
    h.settle();
    let sent = byes(&h);
    assert_eq!(sent.len(), 1, "the BYE follows the ACK at once");
    let (_, bye) = &sent[0];
    answer(&mut h, bye, 200);
    assert_eq!(h.state(), Some(InvitationState::Terminated));
}

#[test]
fn bye_before_the_ack_goes_out_when_the_ack_times_out() {
    let mut h = established();
    let t_ok = h.times_of(200)[0];
    h.act(|inv, now| inv.bye(now)).expect("bye");
    h.run_for(Duration::from_secs(33));
    let (at, _) = byes(&h).into_iter().next().expect("BYE at the ACK timeout");
    assert_eq!(at - t_ok, 32_000);
}

#[test]
fn bye_on_an_early_dialog_is_an_error_and_dispose_of_a_call_sends_bye() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    assert_eq!(h.act(|inv, now| inv.bye(now)), Err(InvitationError::EarlyDialog));
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("accept");
    h.ack();
    h.settle();
    h.act(|inv, now| inv.dispose(now)).expect("dispose");
    h.settle();
    assert_eq!(byes(&h).len(), 1);
}

#[test]
fn the_callers_bye_before_its_ack_ends_the_call_and_stops_the_200() {
    let mut h = established();
    h.bye(2);
    h.run_for(Duration::from_secs(5));
    assert_eq!(
        h.times_of(200).len(),
        2,
        "the 200 to the INVITE, then the 200 to the BYE, nothing more"
    );
    let id = h.invitation();
    assert!(
        h.events()
            .iter()
            .any(|(_, e)| *e == Event::Terminated { id, reason: EndReason::RemoteBye })
    );
}

#[test]
fn a_stale_cseq_in_the_dialog_gets_500() {
    let mut h = established();
    h.ack();
    h.settle();
    h.bye(0); // below the INVITE's CSeq 1 (§12.2.2: "lower than" is out of order)
    h.settle();
    assert_eq!(h.codes().last(), Some(&500));
    assert_eq!(h.state(), Some(InvitationState::Established));
}
