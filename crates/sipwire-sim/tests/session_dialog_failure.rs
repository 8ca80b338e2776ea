//! RFC 5057 / RFC 3261 §12.2.1.2: a 481 or 408 to a request we sent in the dialog, or no
//! response at all (Timer B / F), ends the dialog, and the application is told why.

mod uac;

use std::time::Duration;

use sipwire::Method;
use sipwire::ua::{EndReason, Event, InvitationState, RequestKind, RequestOptions};
use uac::Harness;

fn terminated(h: &Harness) -> Option<(u128, EndReason)> {
    h.events().iter().find_map(|(t, e)| match e {
        Event::Terminated { reason, .. } => Some((t.as_millis(), *reason)),
        _ => None,
    })
}

#[test]
fn a_481_to_our_info_ends_the_dialog_at_once_without_a_bye() {
    let mut h = Harness::established();
    h.act(|inv, now| inv.info(now, RequestOptions::new())).expect("INFO");
    h.settle();
    let (_, info) = h.requests_of(&Method::Info).pop().expect("INFO");
    h.reply_to(&info, 481, None, "");
    h.settle();
    assert_eq!(terminated(&h).map(|t| t.1), Some(EndReason::DialogFailed(Some(481))));
    assert!(h.requests_of(&Method::Bye).is_empty(), "the peer has no dialog to end");
    assert_eq!(h.endpoint().dialog_count(), 0);
}

#[test]
fn a_408_to_our_re_invite_ends_the_dialog_with_a_bye() {
    let mut h = Harness::established();
    h.act(|inv, now| inv.re_invite(now, RequestOptions::new().body("application/sdp", "v=0\r\n")))
        .expect("re-INVITE");
    h.settle();
    let (_, invite) = h.requests_of(&Method::Invite).pop().expect("re-INVITE");
    h.reply_to(&invite, 408, None, "");
    h.settle();
    assert_eq!(h.state(), Some(InvitationState::Terminating));
    let (_, bye) = h.requests_of(&Method::Bye).pop().expect("BYE");
    h.reply_to(&bye, 200, None, "");
    h.settle();
    assert_eq!(terminated(&h).map(|t| t.1), Some(EndReason::DialogFailed(Some(408))));
}

#[test]
fn no_response_to_our_info_times_out_at_timer_f_and_ends_the_dialog() {
    let mut h = Harness::established();
    h.act(|inv, now| inv.info(now, RequestOptions::new())).expect("INFO");
    h.settle();
    let first = h.requests_of(&Method::Info)[0].0;
    h.run_for(Duration::from_secs(33));
    let timeout_at = h
        .events()
        .iter()
        .find_map(|(t, e)| {
            matches!(e, Event::RequestTimeout { kind: RequestKind::Info, .. })
                .then_some(t.as_millis())
        })
        .expect("RequestTimeout");
    // The INFO left ~latency before it arrived; Timer F is 64·T1 after it left.
    assert!((31_990..=32_000).contains(&(timeout_at + 10 - first)), "{timeout_at} {first}");
    let (at, bye) = h.requests_of(&Method::Bye).into_iter().next().expect("a BYE, best effort");
    assert!(at >= timeout_at);
    assert!(bye.to_tag().unwrap() == Some("alice-tag"));
    h.run_for(Duration::from_secs(33));
    assert_eq!(terminated(&h).map(|t| t.1), Some(EndReason::DialogFailed(None)));
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.endpoint().invitation_count(), 0);
    assert_eq!(h.endpoint().transaction_count(), 0);
}

#[test]
fn other_failures_keep_the_dialog() {
    let mut h = Harness::established();
    for code in [403, 415, 500, 603] {
        h.act(|inv, now| inv.message(now, RequestOptions::new().body("text/plain", "hi")))
            .expect("MESSAGE");
        h.settle();
        let (_, m) = h.requests_of(&Method::Message).pop().expect("MESSAGE");
        h.reply_to(&m, code, None, "");
        h.settle();
    }
    assert_eq!(h.state(), Some(InvitationState::Established));
    assert!(terminated(&h).is_none());
}

#[test]
fn a_failed_request_in_the_early_dialog_answers_the_invite_instead_of_a_bye() {
    let mut h = Harness::new();
    h.invite("", Some(uac::OFFER));
    h.settle();
    h.act(|inv, now| inv.info(now, RequestOptions::new())).expect("INFO in the early dialog");
    h.settle();
    let (_, info) = h.requests_of(&Method::Info).pop().expect("INFO");
    h.reply_to(&info, 481, None, "");
    h.settle();
    let (_, final_) = h
        .responses_to(&Method::Invite)
        .into_iter()
        .rfind(|(_, m)| m.status().is_some_and(|c| c >= 300))
        .expect("the INVITE gets its final response");
    assert_eq!(final_.status(), Some(500));
    assert!(h.requests_of(&Method::Bye).is_empty(), "a final response ends an early dialog");
    assert_eq!(terminated(&h).map(|t| t.1), Some(EndReason::DialogFailed(Some(481))));
    h.ack_with(1, None);
    h.run_for(Duration::from_secs(70));
    assert_eq!(h.endpoint().transaction_count(), 0, "nothing left behind");
    assert_eq!(h.endpoint().invitation_count(), 0);
}
