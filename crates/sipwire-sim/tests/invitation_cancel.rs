//! CANCEL against an invitation: while ringing, racing accept in both orders, and after
//! the 2xx (which SIP.js swallows).

mod uac;

use std::time::Duration;

use sipwire::ua::{AcceptOptions, EndReason, Event, InvitationError, InvitationState};
use uac::{ANSWER, Harness, OFFER};

fn accept() -> AcceptOptions {
    AcceptOptions::new().body("application/sdp", ANSWER)
}

fn cancel_responses(h: &Harness) -> Vec<u16> {
    h.received()
        .iter()
        .filter(|(_, m)| m.cseq().is_ok_and(|c| c.method == sipwire::Method::Cancel))
        .filter_map(|(_, m)| m.status())
        .collect()
}

#[test]
fn cancel_while_ringing_gets_200_and_the_invite_487() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.cancel();
    h.settle();
    assert_eq!(cancel_responses(&h), [200]);
    let terminated = h.last(487).expect("487 to the INVITE");
    assert_eq!(terminated.cseq().unwrap().method, sipwire::Method::Invite);
    assert_eq!(terminated.to_tag().unwrap(), h.last(180).unwrap().to_tag().unwrap());
    let cancel_ok = h
        .received()
        .into_iter()
        .find(|(_, m)| m.cseq().is_ok_and(|c| c.method == sipwire::Method::Cancel))
        .expect("the CANCEL's 200")
        .1;
    assert_eq!(cancel_ok.to_tag().unwrap(), terminated.to_tag().unwrap(), "§9.2: same To tag");
    let events: Vec<_> = h.events().iter().map(|(_, e)| e.clone()).collect();
    let id = h.invitation();
    assert!(events.contains(&Event::Cancelled { id, after_answer: false }));
    assert!(events.contains(&Event::Terminated { id, reason: EndReason::Cancelled }));
    assert_eq!(h.state(), Some(InvitationState::Terminated));
    h.ack();
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.endpoint().invitation_count(), 0);
    assert_eq!(h.endpoint().transaction_count(), 0);
}

#[test]
fn accept_after_the_cancel_won_is_a_typed_cancelled_error() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.cancel();
    h.settle();
    let err = h.act(|inv, now| inv.accept(now, accept()));
    assert_eq!(err, Err(InvitationError::Cancelled));
    assert!(err.unwrap_err().to_string().contains("cancelled"));
    h.settle();
    assert!(h.last(200).is_none_or(|m| m.cseq().unwrap().method == sipwire::Method::Cancel));
}

#[test]
fn cancel_after_the_200_is_answered_and_the_call_goes_on() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.act(|inv, now| inv.accept(now, accept())).expect("accept wins the race");
    h.cancel();
    h.settle();
    assert_eq!(cancel_responses(&h), [200]);
    assert!(h.last(487).is_none(), "no 487 after the 2xx");
    let id = h.invitation();
    assert!(h.events().iter().any(|(_, e)| *e == Event::Cancelled { id, after_answer: true }));
    assert_eq!(h.state(), Some(InvitationState::Established));
    h.ack();
    h.run_for(Duration::from_secs(5));
    assert!(h.events().iter().any(|(_, e)| matches!(e, Event::Acked { .. })));
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn a_cancel_for_an_unknown_invite_gets_481() {
    let mut h = Harness::new();
    h.cancel();
    h.settle();
    assert_eq!(cancel_responses(&h), [481]);
}
