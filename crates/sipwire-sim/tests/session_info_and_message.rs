//! INFO (RFC 6086) and MESSAGE (RFC 3428) from the peer inside the dialog: surfaced with
//! their bodies, answered by the application, or with the configured default answer once
//! `Config::request_timeout` runs out; a retransmission stays inside its transaction.

mod uac;

use std::time::Duration;

use sipwire::ua::{Config, Event, InvitationError, InvitationState, RequestKind, ResponseOptions};
use sipwire::{HeaderName, Method};
use uac::{BOB, Harness};

const DTMF: &str = "Signal=5\r\nDuration=160\r\n";
const TEXT: &str = "Hello, Bob";

/// A DTMF INFO (Info-Package `dtmf`) on `branch`.
fn info_text(h: &Harness, branch: &str, cseq: u32) -> String {
    Harness::typed_request(
        h,
        "INFO",
        branch,
        cseq,
        "Info-Package: dtmf\r\n",
        Some(("application/dtmf-relay", DTMF)),
    )
}

fn message_text(h: &Harness, branch: &str, cseq: u32) -> String {
    Harness::typed_request(h, "MESSAGE", branch, cseq, "", Some(("text/plain", TEXT)))
}

/// Sends `text` now and returns alice's send time in ms.
fn send_now(h: &mut Harness, text: String) -> u128 {
    let at = h.world.elapsed().as_millis();
    h.send(text);
    at
}

/// `(status, CSeq number, arrival ms)` of the responses alice got to `method`.
fn answers(h: &Harness, method: &Method) -> Vec<(u16, u32, u128)> {
    h.responses_to(method)
        .into_iter()
        .map(|(t, m)| (m.status().unwrap(), m.cseq().unwrap().seq, t))
        .collect()
}

/// When (ms) bob announced request `kind`s, in order.
fn announced_at(h: &Harness, kind: RequestKind) -> Vec<u128> {
    h.events()
        .iter()
        .filter_map(|(t, e)| {
            matches!(e, Event::Request { kind: k, .. } if *k == kind).then_some(t.as_millis())
        })
        .collect()
}

/// `(ms, status)` of each `DefaultAnswered` for `kind`.
fn defaults(h: &Harness, kind: RequestKind) -> Vec<(u128, u16)> {
    h.events()
        .iter()
        .filter_map(|(t, e)| match e {
            Event::DefaultAnswered { kind: k, status, .. } if *k == kind => {
                Some((t.as_millis(), *status))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn an_info_is_surfaced_with_its_body_and_answered_200_by_the_application() {
    let mut h = Harness::established();
    let text = info_text(&h, "z9hG4bKinfo1", 2);
    let sent = send_now(&mut h, text);
    h.settle();
    let id = h.invitation();
    let (at, announced) = h
        .events()
        .iter()
        .find_map(|(t, e)| match e {
            Event::Request { id: i, request, kind, message } if *i == id => {
                Some((t.as_millis(), (*request, *kind, message.clone())))
            }
            _ => None,
        })
        .expect("the INFO is an event of the invitation");
    let (rid, kind, message) = announced;
    assert_eq!(at, sent + 10, "surfaced as it arrives");
    assert_eq!(kind, RequestKind::Info);
    assert_eq!(message.method(), Some(&Method::Info));
    assert_eq!(message.body(), DTMF.as_bytes());
    assert_eq!(
        Harness::header(&message, HeaderName::ContentType).as_deref(),
        Some("application/dtmf-relay")
    );
    assert_eq!(message.header("Info-Package"), Some(&b"dtmf"[..]));
    assert!(answers(&h, &Method::Info).is_empty(), "the application answers, not the core");

    let answered = h.world.elapsed().as_millis();
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())).expect("200");
    h.run_for(Duration::from_secs(12));
    assert_eq!(answers(&h, &Method::Info), [(200, 2, answered + 10)]);
    let ok = h.last(200).expect("200");
    assert_eq!(ok.to_tag().unwrap(), h.to_tag.as_deref(), "the dialog's To tag");
    assert!(defaults(&h, RequestKind::Info).is_empty(), "no default after the application's");
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn an_info_refused_by_the_application_gets_its_4xx_and_the_call_goes_on() {
    let mut h = Harness::established();
    let text = info_text(&h, "z9hG4bKinfo1", 2);
    h.send(text);
    h.settle();
    let rid = h.last_incoming();
    let answered = h.world.elapsed().as_millis();
    h.act(|inv, now| {
        inv.respond(
            now,
            rid,
            ResponseOptions::new().status_code(469).reason_phrase("Bad Info Package"),
        )
    })
    .expect("469");
    h.run_for(Duration::from_secs(12));
    assert_eq!(answers(&h, &Method::Info), [(469, 2, answered + 10)]);
    assert_eq!(h.last(469).unwrap().reason(), Some("Bad Info Package"));
    assert!(defaults(&h, RequestKind::Info).is_empty());
    assert!(h.requests_of(&Method::Bye).is_empty(), "a refused INFO keeps the call");
    assert_eq!(h.state(), Some(InvitationState::Established));
    // The next INFO is taken as usual.
    let text = info_text(&h, "z9hG4bKinfo2", 3);
    h.send(text);
    h.settle();
    assert_eq!(h.incoming().len(), 2);
}

#[test]
fn an_unanswered_info_gets_the_default_200_exactly_10_000_ms_after_it_arrived() {
    let mut h = Harness::established();
    let text = info_text(&h, "z9hG4bKinfo1", 2);
    let sent = send_now(&mut h, text);
    h.settle();
    let rid = h.last_incoming();
    let arrived = announced_at(&h, RequestKind::Info)[0];
    assert_eq!(arrived, sent + 10);
    // One millisecond before the deadline nothing has gone out.
    h.run_for(Duration::from_millis(u64::try_from(arrived + 9_999 - 50 - sent).unwrap()));
    assert_eq!(h.world.elapsed().as_millis(), arrived + 9_999);
    assert!(defaults(&h, RequestKind::Info).is_empty());
    h.run_for(Duration::from_secs(1));
    assert_eq!(defaults(&h, RequestKind::Info), [(arrived + 10_000, 200)]);
    let id = h.invitation();
    assert!(h.events().iter().any(|(_, e)| *e
        == Event::DefaultAnswered { id, request: rid, kind: RequestKind::Info, status: 200 }));
    assert_eq!(answers(&h, &Method::Info), [(200, 2, arrived + 10_010)]);
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new().status_code(486))),
        Err(InvitationError::UnknownRequest),
        "the default answer closed it"
    );
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn a_configured_request_timeout_and_default_answers_are_honoured() {
    let mut config = Config::new(&format!("sip:bob@{BOB}"));
    config.request_timeout = Duration::from_secs(2);
    config.default_answers.info = 469;
    config.default_answers.message = 480;
    let mut h = Harness::established_with(config);
    let before = h.codes().len();
    let text = info_text(&h, "z9hG4bKinfo1", 2);
    h.send(text);
    h.settle();
    let text = message_text(&h, "z9hG4bKmsg1", 3);
    h.send(text);
    h.run_for(Duration::from_secs(3));
    let info_at = announced_at(&h, RequestKind::Info)[0];
    let message_at = announced_at(&h, RequestKind::Message)[0];
    assert_eq!(message_at - info_at, 50);
    assert_eq!(defaults(&h, RequestKind::Info), [(info_at + 2_000, 469)]);
    assert_eq!(defaults(&h, RequestKind::Message), [(message_at + 2_000, 480)]);
    assert_eq!(answers(&h, &Method::Info), [(469, 2, info_at + 2_010)]);
    assert_eq!(answers(&h, &Method::Message), [(480, 3, message_at + 2_010)]);
    h.run_for(Duration::from_secs(10));
    assert_eq!(h.codes().len(), before + 2, "one answer each, no more");
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn a_message_is_surfaced_with_its_text_and_answered_by_the_application() {
    let mut h = Harness::established();
    let text = message_text(&h, "z9hG4bKmsg1", 2);
    h.send(text);
    h.settle();
    let (rid, kind, message) = h.incoming().pop().expect("the MESSAGE is an event");
    assert_eq!(kind, RequestKind::Message);
    assert_eq!(message.method(), Some(&Method::Message));
    assert_eq!(message.body(), TEXT.as_bytes());
    assert_eq!(Harness::header(&message, HeaderName::ContentType).as_deref(), Some("text/plain"));
    let answered = h.world.elapsed().as_millis();
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())).expect("200");
    h.settle();
    // A second one, refused.
    let text = message_text(&h, "z9hG4bKmsg2", 3);
    h.send(text);
    h.settle();
    let rid2 = h.last_incoming();
    assert_ne!(rid, rid2);
    let refused = h.world.elapsed().as_millis();
    h.act(|inv, now| inv.respond(now, rid2, ResponseOptions::new().status_code(415))).expect("415");
    h.run_for(Duration::from_secs(12));
    assert_eq!(answers(&h, &Method::Message), [(200, 2, answered + 10), (415, 3, refused + 10)]);
    assert!(defaults(&h, RequestKind::Message).is_empty());
}

#[test]
fn an_unanswered_message_gets_the_default_200_exactly_10_000_ms_after_it_arrived() {
    let mut h = Harness::established();
    let text = message_text(&h, "z9hG4bKmsg1", 2);
    h.send(text);
    h.settle();
    let rid = h.last_incoming();
    let arrived = announced_at(&h, RequestKind::Message)[0];
    h.run_for(Duration::from_secs(11));
    assert_eq!(defaults(&h, RequestKind::Message), [(arrived + 10_000, 200)]);
    let id = h.invitation();
    assert!(h.events().iter().any(|(_, e)| *e
        == Event::DefaultAnswered { id, request: rid, kind: RequestKind::Message, status: 200 }));
    assert_eq!(answers(&h, &Method::Message), [(200, 2, arrived + 10_010)]);
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())),
        Err(InvitationError::UnknownRequest)
    );
}

#[test]
fn responding_twice_is_an_unknown_request() {
    let mut h = Harness::established();
    let text = info_text(&h, "z9hG4bKinfo1", 2);
    h.send(text);
    h.settle();
    let rid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())).expect("the first");
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())),
        Err(InvitationError::UnknownRequest)
    );
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new().status_code(486))),
        Err(InvitationError::UnknownRequest)
    );
    // The same for a MESSAGE.
    let text = message_text(&h, "z9hG4bKmsg1", 3);
    h.send(text);
    h.settle();
    let mid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, mid, ResponseOptions::new().status_code(403)))
        .expect("the first");
    assert_eq!(
        h.act(|inv, now| inv.respond(now, mid, ResponseOptions::new())),
        Err(InvitationError::UnknownRequest)
    );
    h.run_for(Duration::from_secs(12));
    let codes = |m| answers(&h, m).iter().map(|a| a.0).collect::<Vec<_>>();
    assert_eq!(codes(&Method::Info), [200]);
    assert_eq!(codes(&Method::Message), [403]);
}

#[test]
fn an_info_retransmission_is_absorbed_by_its_transaction_and_gets_the_same_answer() {
    let mut h = Harness::established();
    let text = info_text(&h, "z9hG4bKinfo1", 2);
    h.send(text.clone());
    h.settle();
    // Before the answer (Trying): absorbed, no second event, nothing sent.
    h.send(text.clone());
    h.settle();
    assert_eq!(h.incoming().len(), 1, "not surfaced twice");
    assert!(answers(&h, &Method::Info).is_empty());
    let rid = h.last_incoming();
    let answered = h.world.elapsed().as_millis();
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new().status_code(415))).expect("415");
    h.settle();
    // After it (Completed): the same answer again.
    let again = send_now(&mut h, text);
    h.run_for(Duration::from_secs(12));
    assert_eq!(answers(&h, &Method::Info), [(415, 2, answered + 10), (415, 2, again + 20)]);
    assert_eq!(h.incoming().len(), 1, "not surfaced twice");
    assert!(defaults(&h, RequestKind::Info).is_empty());
}

#[test]
fn an_info_retransmitted_after_the_default_answer_gets_the_default_again() {
    let mut config = Config::new(&format!("sip:bob@{BOB}"));
    config.request_timeout = Duration::from_secs(2);
    config.default_answers.info = 469;
    let mut h = Harness::established_with(config);
    let text = info_text(&h, "z9hG4bKinfo1", 2);
    h.send(text.clone());
    h.run_for(Duration::from_secs(3));
    let again = send_now(&mut h, text);
    h.settle();
    let arrived = announced_at(&h, RequestKind::Info)[0];
    assert_eq!(answers(&h, &Method::Info), [(469, 2, arrived + 2_010), (469, 2, again + 20)]);
    assert_eq!(h.incoming().len(), 1);
    assert_eq!(defaults(&h, RequestKind::Info).len(), 1);
}

#[test]
fn an_info_retransmitted_after_a_later_request_is_still_its_transactions_not_stale() {
    let mut h = Harness::established();
    let first = info_text(&h, "z9hG4bKinfo1", 2);
    h.send(first.clone());
    h.settle();
    let rid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())).expect("200");
    h.settle();
    let text = info_text(&h, "z9hG4bKinfo2", 3);
    h.send(text);
    h.settle();
    // CSeq 2 is below the dialog's 3 now, but this is a copy of a request already taken.
    h.send(first);
    h.settle();
    let got: Vec<(u16, u32)> = answers(&h, &Method::Info).iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(got, [(200, 2), (200, 2)], "the transaction's 200 again, not 500");
    assert_eq!(h.incoming().len(), 2);
}

#[test]
fn a_bye_while_an_info_is_open_answers_it_487_then_the_bye_200() {
    let mut h = Harness::established();
    let text = info_text(&h, "z9hG4bKinfo1", 2);
    h.send(text);
    h.settle();
    let rid = h.last_incoming();
    h.bye(3);
    h.settle();
    let tail: Vec<(u16, Method)> = h
        .received()
        .iter()
        .filter_map(|(_, m)| Some((m.status()?, m.cseq().ok()?.method)))
        .filter(|(_, m)| *m != Method::Invite)
        .collect();
    assert_eq!(tail, [(487, Method::Info), (200, Method::Bye)]);
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new())),
        Err(InvitationError::UnknownRequest),
        "the BYE answered it"
    );
    h.run_for(Duration::from_secs(11));
    assert!(defaults(&h, RequestKind::Info).is_empty(), "no default after the 487");
}

#[test]
fn the_seventeenth_open_request_gets_503_with_retry_after() {
    let mut h = Harness::established();
    for seq in 2..=18 {
        let text = info_text(&h, &format!("z9hG4bKinfo{seq}"), seq);
        h.send(text);
        h.settle();
    }
    assert_eq!(h.incoming().len(), 16, "16 wait for the application");
    let got: Vec<(u16, u32)> = answers(&h, &Method::Info).iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(got, [(503, 18)]);
    let busy = h.last(503).unwrap();
    let after: u32 =
        Harness::header(&busy, HeaderName::RetryAfter).expect("Retry-After").parse().unwrap();
    assert!(after <= 10, "{after}");
    // One answered makes room.
    let first = h.incoming()[0].0;
    h.act(|inv, now| inv.respond(now, first, ResponseOptions::new())).expect("200");
    let text = info_text(&h, "z9hG4bKinfo19", 19);
    h.send(text);
    h.settle();
    assert_eq!(h.incoming().len(), 17);
}
