//! REFER (RFC 3515) both ways inside the dialog. The peer's REFER: surfaced, accepted by
//! the application and reported by our NOTIFYs (`message/sipfrag`, RFC 3515 §2.4.4–2.4.5),
//! refused 400 without exactly one Refer-To, declined 603 by default. Our REFER: sent with
//! Refer-To and Contact; the peer's NOTIFYs in its subscription are surfaced, the rest get
//! 489 (another event package, RFC 6665 §8.3.1) or 481 (no such subscription).

mod uac;

use std::time::Duration;

use sipwire::ua::{
    Config, Event, InvitationError, InvitationState, RequestId, RequestKind, RequestOptions,
    ResponseOptions,
};
use sipwire::{HeaderName, Message, Method};
use uac::{BOB, Harness};

const CAROL: &str = "<sip:carol@192.0.2.3>";
const TRYING: &str = "SIP/2.0 100 Trying\r\n";
const OK: &str = "SIP/2.0 200 OK\r\n";

/// Alice's NOTIFY (CSeq `cseq`) with `event` and `state`, its body a sipfrag.
fn notify(h: &mut Harness, cseq: u32, event: &str, state: &str, frag: &str) {
    let text = Harness::typed_request(
        h,
        "NOTIFY",
        &format!("z9hG4bKnotify{cseq}"),
        cseq,
        &format!("Event: {event}\r\nSubscription-State: {state}\r\n"),
        Some(("message/sipfrag", frag)),
    );
    h.send(text);
}

/// Alice's REFER (CSeq `cseq`) to carol.
fn refer_to_carol(h: &mut Harness, cseq: u32) {
    h.in_dialog("REFER", &format!("sip:bob@{BOB}"), cseq, &format!("Refer-To: {CAROL}\r\n"), None);
}

/// `(status, CSeq number, arrival ms)` of the responses alice got to `method`.
fn answers(h: &Harness, method: &Method) -> Vec<(u16, u32, u128)> {
    h.responses_to(method)
        .into_iter()
        .map(|(t, m)| (m.status().unwrap(), m.cseq().unwrap().seq, t))
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

/// When (ms) bob announced request `rid`.
fn announced(h: &Harness, rid: RequestId) -> u128 {
    h.events()
        .iter()
        .find_map(|(t, e)| {
            matches!(e, Event::Request { request, .. } if *request == rid).then_some(t.as_millis())
        })
        .expect("announced")
}

/// The final responses bob reported for its request `rid`.
fn reported(h: &Harness, rid: RequestId) -> Vec<(RequestKind, u16)> {
    h.events()
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Response { request, kind, response, .. } if *request == rid => {
                Some((*kind, response.status()?))
            }
            _ => None,
        })
        .collect()
}

fn text(m: &Message, name: HeaderName) -> Option<String> {
    Harness::header(m, name)
}

// ---- the peer's REFER --------------------------------------------------------------

#[test]
fn the_peers_refer_is_accepted_202_and_reported_by_notify_100_then_200() {
    let mut h = Harness::established();
    refer_to_carol(&mut h, 2);
    h.settle();
    let (rid, kind, refer) = h.incoming().pop().expect("the REFER is an event");
    assert_eq!(kind, RequestKind::Refer);
    let refer_to = refer.refer_to().expect("one Refer-To").expect("present");
    assert_eq!(refer_to.uri.to_string(), "sip:carol@192.0.2.3");
    assert_eq!(
        h.act(|inv, now| inv.notify(now, rid, 100, RequestOptions::new())),
        Err(InvitationError::NoSubscription),
        "no subscription before the REFER is accepted"
    );
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new().status_code(202))).expect("202");
    h.settle();
    assert_eq!(answers(&h, &Method::Refer).iter().map(|a| a.0).collect::<Vec<_>>(), [202]);

    let n1 = h.act(|inv, now| inv.notify(now, rid, 100, RequestOptions::new())).expect("100");
    h.settle();
    let (_, first) = h.requests_of(&Method::Notify).pop().expect("the first NOTIFY");
    h.reply_to(&first, 200, None, "");
    h.settle();
    let n2 = h.act(|inv, now| inv.notify(now, rid, 200, RequestOptions::new())).expect("200");
    h.settle();
    let notifies = h.requests_of(&Method::Notify);
    assert_eq!(notifies.len(), 2);
    let second = notifies[1].1.clone();
    h.reply_to(&second, 200, None, "");
    h.settle();

    for (m, state, frag) in
        [(&first, "active;expires=60", TRYING), (&second, "terminated;reason=noresource", OK)]
    {
        assert_eq!(m.request_uri_str(), Some("sip:alice@192.0.2.1:5060"), "the remote target");
        assert_eq!(text(m, HeaderName::Event).as_deref(), Some("refer;id=2"), "the REFER's CSeq");
        assert_eq!(text(m, HeaderName::SubscriptionState).as_deref(), Some(state));
        assert_eq!(text(m, HeaderName::ContentType).as_deref(), Some("message/sipfrag"));
        assert_eq!(m.body(), frag.as_bytes());
        assert_eq!(text(m, HeaderName::Contact).as_deref(), Some("<sip:bob@192.0.2.2:5060>"));
        assert_eq!(m.from_tag().unwrap(), h.to_tag.as_deref(), "bob's tag");
        assert_eq!(m.to_tag().unwrap(), Some("alice-tag"));
        assert_eq!(m.call_id().unwrap(), "call-1@192.0.2.1");
    }
    let (c1, c2) = (first.cseq().unwrap(), second.cseq().unwrap());
    assert_eq!((c1.method.clone(), c2.method.clone()), (Method::Notify, Method::Notify));
    assert_eq!(c2.seq, c1.seq + 1, "NOTIFY CSeqs increase");
    assert_eq!(reported(&h, n1), [(RequestKind::Notify, 200)]);
    assert_eq!(reported(&h, n2), [(RequestKind::Notify, 200)]);

    assert_eq!(
        h.act(|inv, now| inv.notify(now, rid, 200, RequestOptions::new())),
        Err(InvitationError::NoSubscription),
        "the final NOTIFY ended the subscription"
    );
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.requests_of(&Method::Notify).len(), 2, "answered NOTIFYs are not resent");
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn a_notify_of_a_refused_refer_is_no_subscription() {
    let mut h = Harness::established();
    refer_to_carol(&mut h, 2);
    h.settle();
    let rid = h.last_incoming();
    h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new().status_code(603))).expect("603");
    h.settle();
    assert_eq!(
        h.act(|inv, now| inv.notify(now, rid, 100, RequestOptions::new())),
        Err(InvitationError::NoSubscription)
    );
    assert!(h.requests_of(&Method::Notify).is_empty());
}

#[test]
fn a_refer_without_exactly_one_refer_to_gets_400_and_is_not_surfaced() {
    let mut h = Harness::established();
    h.in_dialog("REFER", &format!("sip:bob@{BOB}"), 2, "", None);
    h.settle();
    assert_eq!(h.last(400).unwrap().reason(), Some("Bad Request - Exactly One Refer-To"));
    let two = format!("Refer-To: {CAROL}\r\nRefer-To: <sip:dave@192.0.2.4>\r\n");
    h.in_dialog("REFER", &format!("sip:bob@{BOB}"), 3, &two, None);
    h.settle();
    let listed = format!("Refer-To: {CAROL}, <sip:dave@192.0.2.4>\r\n");
    h.in_dialog("REFER", &format!("sip:bob@{BOB}"), 4, &listed, None);
    h.settle();
    let refused = answers(&h, &Method::Refer);
    assert_eq!(
        refused.iter().map(|a| (a.0, a.1)).collect::<Vec<_>>(),
        [(400, 2), (400, 3), (400, 4)]
    );
    assert!(h.incoming().is_empty());
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn an_unanswered_refer_gets_the_default_603_exactly_10_000_ms_after_it_arrived() {
    let mut h = Harness::established();
    refer_to_carol(&mut h, 2);
    h.settle();
    let rid = h.last_incoming();
    let arrived = announced(&h, rid);
    h.run_for(Duration::from_secs(11));
    assert_eq!(defaults(&h, RequestKind::Refer), [(arrived + 10_000, 603)]);
    let id = h.invitation();
    assert!(h.events().iter().any(|(_, e)| *e
        == Event::DefaultAnswered { id, request: rid, kind: RequestKind::Refer, status: 603 }));
    assert_eq!(answers(&h, &Method::Refer), [(603, 2, arrived + 10_010)]);
    assert_eq!(
        h.act(|inv, now| inv.notify(now, rid, 100, RequestOptions::new())),
        Err(InvitationError::NoSubscription),
        "a declined REFER has no subscription"
    );
    assert_eq!(
        h.act(|inv, now| inv.respond(now, rid, ResponseOptions::new().status_code(202))),
        Err(InvitationError::UnknownRequest)
    );
}

#[test]
fn a_default_2xx_to_a_refer_starts_its_subscription() {
    let mut config = Config::new(&format!("sip:bob@{BOB}"));
    config.default_answers.refer = 202;
    let mut h = Harness::established_with(config);
    refer_to_carol(&mut h, 2);
    h.settle();
    let rid = h.last_incoming();
    h.run_for(Duration::from_secs(11));
    assert_eq!(answers(&h, &Method::Refer).iter().map(|a| a.0).collect::<Vec<_>>(), [202]);
    h.act(|inv, now| inv.notify(now, rid, 200, RequestOptions::new())).expect("subscribed");
    h.settle();
    let (_, n) = h.requests_of(&Method::Notify).pop().expect("NOTIFY");
    assert_eq!(text(&n, HeaderName::Event).as_deref(), Some("refer;id=2"));
    assert_eq!(n.body(), OK.as_bytes());
}

// ---- our REFER -----------------------------------------------------------------------

/// Bob sends REFER to carol; returns its id and the REFER alice got.
fn our_refer(h: &mut Harness) -> (RequestId, Message) {
    let rid = h.act(|inv, now| inv.refer(now, CAROL, RequestOptions::new())).expect("refer");
    h.settle();
    let (_, refer) = h.requests_of(&Method::Refer).pop().expect("REFER sent");
    (rid, refer)
}

#[test]
fn our_refer_carries_refer_to_and_contact_and_the_peers_notifies_are_surfaced() {
    let mut h = Harness::established();
    let (rid, refer) = our_refer(&mut h);
    assert_eq!(text(&refer, HeaderName::ReferTo).as_deref(), Some(CAROL));
    assert_eq!(text(&refer, HeaderName::Contact).as_deref(), Some("<sip:bob@192.0.2.2:5060>"));
    assert_eq!(refer.request_uri_str(), Some("sip:alice@192.0.2.1:5060"));
    let seq = refer.cseq().unwrap().seq;
    h.reply_to(&refer, 202, None, "");
    h.settle();
    assert_eq!(reported(&h, rid), [(RequestKind::Refer, 202)]);

    let event = format!("refer;id={seq}");
    notify(&mut h, 2, &event, "active;expires=60", TRYING);
    h.settle();
    let (n1, kind, m) = h.incoming().pop().expect("the NOTIFY is an event");
    assert_eq!(kind, RequestKind::Notify);
    assert_eq!(m.body(), TRYING.as_bytes());
    assert_eq!(text(&m, HeaderName::ContentType).as_deref(), Some("message/sipfrag"));
    let answered = h.world.elapsed().as_millis();
    h.act(|inv, now| inv.respond(now, n1, ResponseOptions::new())).expect("200");
    h.settle();
    assert_eq!(answers(&h, &Method::Notify), [(200, 2, answered + 10)]);

    // The final NOTIFY, left to the default answer.
    notify(&mut h, 3, &event, "terminated;reason=noresource", OK);
    h.settle();
    let (n2, kind, m) = h.incoming().pop().expect("the final NOTIFY is an event");
    assert_eq!((kind, m.body()), (RequestKind::Notify, OK.as_bytes()));
    let arrived = announced(&h, n2);
    h.run_for(Duration::from_secs(11));
    assert_eq!(defaults(&h, RequestKind::Notify), [(arrived + 10_000, 200)]);
    assert_eq!(answers(&h, &Method::Notify)[1], (200, 3, arrived + 10_010));

    // The subscription is over.
    notify(&mut h, 4, &event, "active;expires=60", TRYING);
    h.settle();
    assert_eq!(answers(&h, &Method::Notify)[2].0, 481);
    assert_eq!(h.incoming().len(), 2, "not surfaced");
    assert_eq!(h.state(), Some(InvitationState::Established), "481 to a NOTIFY keeps the call");
}

#[test]
fn a_notify_without_an_id_is_taken_for_our_refer() {
    let mut h = Harness::established();
    let (_, refer) = our_refer(&mut h);
    h.reply_to(&refer, 202, None, "");
    h.settle();
    notify(&mut h, 2, "refer", "active;expires=60", TRYING);
    h.settle();
    assert_eq!(h.incoming().pop().map(|i| i.1), Some(RequestKind::Notify));
}

#[test]
fn a_notify_that_overtakes_the_202_is_taken() {
    let mut h = Harness::established();
    let (rid, refer) = our_refer(&mut h);
    let seq = refer.cseq().unwrap().seq;
    notify(&mut h, 2, &format!("refer;id={seq}"), "active;expires=60", TRYING);
    h.settle();
    assert_eq!(h.incoming().pop().map(|i| i.1), Some(RequestKind::Notify), "RFC 3515 §2.4.4");
    h.reply_to(&refer, 202, None, "");
    h.settle();
    assert_eq!(reported(&h, rid), [(RequestKind::Refer, 202)]);
}

#[test]
fn a_notify_for_another_event_package_gets_489() {
    let mut h = Harness::established();
    let (_, refer) = our_refer(&mut h);
    h.reply_to(&refer, 202, None, "");
    h.settle();
    let text = Harness::typed_request(
        &h,
        "NOTIFY",
        "z9hG4bKpresence",
        2,
        "Event: presence\r\nSubscription-State: active;expires=60\r\n",
        None,
    );
    h.send(text);
    h.settle();
    assert_eq!(
        answers(&h, &Method::Notify).iter().map(|a| (a.0, a.1)).collect::<Vec<_>>(),
        [(489, 2)]
    );
    let bad = h.last(489).expect("489");
    assert_eq!(Harness::header(&bad, HeaderName::AllowEvents).as_deref(), Some("refer"));
    assert!(h.incoming().is_empty());
    // The refer subscription is untouched.
    let seq = refer.cseq().unwrap().seq;
    notify(&mut h, 3, &format!("refer;id={seq}"), "active;expires=60", TRYING);
    h.settle();
    assert_eq!(h.incoming().len(), 1);
}

#[test]
fn a_notify_when_we_sent_no_refer_gets_481() {
    let mut h = Harness::established();
    notify(&mut h, 2, "refer;id=1", "active;expires=60", TRYING);
    h.settle();
    notify(&mut h, 3, "refer", "active;expires=60", TRYING);
    h.settle();
    let got: Vec<(u16, u32)> = answers(&h, &Method::Notify).iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(got, [(481, 2), (481, 3)]);
    assert!(h.incoming().is_empty());
    assert_eq!(h.state(), Some(InvitationState::Established));
}

#[test]
fn a_notify_for_another_refer_id_or_a_refused_refer_gets_481() {
    let mut h = Harness::established();
    let (_, refer) = our_refer(&mut h);
    let seq = refer.cseq().unwrap().seq;
    h.reply_to(&refer, 202, None, "");
    h.settle();
    notify(&mut h, 2, &format!("refer;id={}", seq + 7), "active;expires=60", TRYING);
    h.settle();
    assert_eq!(answers(&h, &Method::Notify)[0].0, 481, "no REFER with that CSeq");

    // A second REFER, refused: its subscription never starts.
    let (_, refer2) = our_refer(&mut h);
    let seq2 = refer2.cseq().unwrap().seq;
    h.reply_to(&refer2, 603, None, "");
    h.settle();
    notify(&mut h, 3, &format!("refer;id={seq2}"), "active;expires=60", TRYING);
    h.settle();
    assert_eq!(answers(&h, &Method::Notify)[1].0, 481);
    assert!(h.incoming().is_empty());
}
