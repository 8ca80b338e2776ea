//! reject, redirect, dispose, the no-answer timer and the INVITE's Expires, and the typed
//! errors of calls in the wrong state.

mod uac;

use std::time::Duration;

use sipwire::HeaderName;
use sipwire::ua::{
    AcceptOptions, Config, EndReason, Event, InvitationError, InvitationState, ProgressOptions,
    RedirectOptions, RejectOptions,
};
use uac::{ANSWER, BOB, Harness, OFFER};

fn ended(h: &Harness) -> Vec<EndReason> {
    h.events()
        .iter()
        .filter_map(
            |(_, e)| if let Event::Terminated { reason, .. } = e { Some(*reason) } else { None },
        )
        .collect()
}

#[test]
fn reject_sends_the_code_with_the_to_tag_and_ends_the_invitation() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    h.act(|inv, now| {
        inv.reject(now, RejectOptions::new().status_code(486).extra_header("X-Why", "busy"))
    })
    .expect("reject");
    h.settle();
    let busy = h.last(486).expect("486");
    assert_eq!(busy.to_tag().unwrap(), h.last(180).unwrap().to_tag().unwrap());
    assert_eq!(Harness::header(&busy, HeaderName::Other).as_deref(), None);
    assert!(busy.as_bytes().windows(11).any(|w| w == b"X-Why: busy"));
    assert_eq!(ended(&h), [EndReason::Rejected(486)]);
    // accept after reject: a typed error, nothing sent.
    let before = h.codes().len();
    let err =
        h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)));
    assert_eq!(err, Err(InvitationError::Terminated(EndReason::Rejected(486))));
    h.ack(); // the non-2xx ACK is absorbed by the transaction
    h.settle();
    assert_eq!(h.codes().len(), before);
    assert_eq!(h.endpoint().dialog_count(), 0);
}

#[test]
fn reject_defaults_to_480_and_refuses_codes_outside_4xx_to_6xx() {
    let mut h = Harness::new();
    h.invite("", None);
    h.settle();
    assert_eq!(
        h.act(|inv, now| inv.reject(now, RejectOptions::new().status_code(200))),
        Err(InvitationError::StatusCode(200))
    );
    h.act(|inv, now| inv.reject(now, RejectOptions::new())).expect("reject");
    h.settle();
    assert_eq!(h.codes(), [100, 180, 480]);
}

#[test]
fn redirect_sends_302_with_the_contacts() {
    let mut h = Harness::new();
    h.invite("", None);
    h.settle();
    assert_eq!(
        h.act(|inv, now| inv.redirect(now, &[], RedirectOptions::new())),
        Err(InvitationError::NoContacts)
    );
    h.act(|inv, now| inv.redirect(now, &["<sip:carol@192.0.2.9>"], RedirectOptions::new()))
        .expect("redirect");
    h.settle();
    let moved = h.last(302).expect("302");
    assert_eq!(
        Harness::header(&moved, HeaderName::Contact).as_deref(),
        Some("<sip:carol@192.0.2.9>")
    );
    assert_eq!(ended(&h), [EndReason::Redirected(302)]);
}

#[test]
fn nobody_answers_within_60_s_so_480() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    let t0 = h.world.elapsed();
    h.run_for(Duration::from_secs(61));
    let at = h.times_of(480);
    assert_eq!(at.len(), 2, "the 480, and its Timer G retransmission (no ACK yet)");
    // Arrival = 60 s after the INVITE reached bob, plus one link latency each way.
    let invite_to_480 = at[0] - h.times_of(100)[0];
    assert_eq!(invite_to_480, 60_000, "the 100 left when the INVITE arrived");
    assert!(t0.as_millis() < at[0]);
    assert_eq!(ended(&h), [EndReason::NoAnswer]);
}

#[test]
fn the_invites_expires_rejects_with_487_in_initial() {
    let mut h = Harness::new();
    h.invite("Expires: 5\r\n", Some(OFFER));
    h.run_for(Duration::from_secs(6));
    assert_eq!(h.times_of(487)[0] - h.times_of(100)[0], 5_000);
    assert_eq!(ended(&h), [EndReason::Expired]);
}

#[test]
fn the_no_answer_time_is_configurable() {
    let mut config = Config::new(&format!("sip:bob@{BOB}"));
    config.no_answer_timeout = Duration::from_secs(3);
    let mut h = Harness::with_config(config);
    h.invite("", None);
    h.run_for(Duration::from_secs(4));
    assert_eq!(h.times_of(480)[0] - h.times_of(100)[0], 3_000);
}

#[test]
fn dispose_rejects_an_unanswered_invitation_with_480() {
    let mut h = Harness::new();
    h.invite("", None);
    h.settle();
    h.act(|inv, now| inv.dispose(now)).expect("dispose");
    h.settle();
    assert_eq!(h.codes(), [100, 180, 480]);
    assert_eq!(h.state(), Some(InvitationState::Terminated));
    assert_eq!(h.act(|inv, now| inv.dispose(now)), Ok(()), "dispose twice is harmless");
}

#[test]
fn progress_after_accept_and_accept_twice_are_errors() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    assert_eq!(
        h.act(|inv, now| inv.progress(now, ProgressOptions::new().status_code(100))),
        Err(InvitationError::StatusCode(100))
    );
    h.act(|inv, now| {
        inv.progress(now, ProgressOptions::new().status_code(183).body("application/sdp", ANSWER))
    })
    .expect("183 with early media");
    h.act(|inv, now| inv.accept(now, AcceptOptions::new().body("application/sdp", ANSWER)))
        .expect("accept");
    assert_eq!(
        h.act(|inv, now| inv.progress(now, ProgressOptions::new())),
        Err(InvitationError::WrongState(InvitationState::Established))
    );
    assert_eq!(
        h.act(|inv, now| inv.accept(now, AcceptOptions::new())),
        Err(InvitationError::WrongState(InvitationState::Established))
    );
    assert_eq!(
        h.act(|inv, now| inv.reject(now, RejectOptions::new())),
        Err(InvitationError::WrongState(InvitationState::Established))
    );
    h.settle();
    assert_eq!(h.codes(), [100, 180, 183, 200]);
}

#[test]
fn accept_without_the_answer_the_offer_needs_is_an_error() {
    let mut h = Harness::new();
    h.invite("", Some(OFFER));
    h.settle();
    assert_eq!(
        h.act(|inv, now| inv.accept(now, AcceptOptions::new())),
        Err(InvitationError::BodyRequired)
    );
    assert_eq!(h.state(), Some(InvitationState::Initial), "nothing changed");
    h.settle();
    assert_eq!(h.codes(), [100, 180]);
}

#[test]
fn expires_while_the_2xx_waits_for_a_prack_ends_the_invitation_487() {
    use sipwire::ua::ProgressOptions;
    let mut h = Harness::new();
    h.invite("Supported: 100rel\r\nExpires: 5\r\n", None);
    h.settle();
    h.act(|inv, now| {
        inv.progress(
            now,
            ProgressOptions::new().status_code(183).rel100(true).body("application/sdp", ANSWER),
        )
    })
    .expect("our offer in a reliable 183");
    // The answer needs the PRACK first: the 2xx waits (state Establishing).
    h.act(|inv, now| inv.accept(now, AcceptOptions::new())).expect("accept");
    assert_eq!(h.state(), Some(InvitationState::Establishing));
    h.run_for(Duration::from_secs(6));
    assert_eq!(h.codes().last(), Some(&487), "the INVITE expired before its final response");
    assert_eq!(h.state(), Some(InvitationState::Terminated));
}
