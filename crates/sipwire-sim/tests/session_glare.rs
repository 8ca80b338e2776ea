//! re-INVITE and UPDATE glare (RFC 3261 §14.1–14.2, RFC 3311 §5.2): both sides send an
//! offer at once; each answers the other 491; we retry after a random 0–2 s (the caller
//! owns the Call-ID), in steps of 10 ms, asserted to the millisecond.

mod uac;

use std::time::Duration;

use sipwire::Method;
use sipwire::ua::{Config, Event, RequestKind, RequestOptions};
use sipwire_sim::RecordKind;
use uac::{BOB, Harness};

const OURS: &str = "v=0\r\no=bob 2 3 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3460 RTP/AVP 0\r\n";
const THEIRS: &str = "v=0\r\no=alice 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49174 RTP/AVP 0\r\n";

fn offer() -> RequestOptions {
    RequestOptions::new().body("application/sdp", OURS)
}

/// The world's time (ms since its start) of bob's Glare event and its retry time.
fn glare(h: &Harness) -> (u128, u128) {
    h.events()
        .iter()
        .find_map(|(at, e)| match e {
            Event::Glare { retry_at, .. } => Some((at.as_millis(), *retry_at)),
            _ => None,
        })
        .map(|(at, retry)| (at, (retry - h_start(h)).as_millis()))
        .expect("a Glare event")
}

fn h_start(h: &Harness) -> std::time::Instant {
    h.world.start()
}

fn glare_both_ways(seed: u64, method: &str) -> (Harness, u128, u128) {
    let mut h = Harness::established_with(Config::new(&format!("sip:bob@{BOB}")).with_seed(seed));
    let rid = match method {
        "INVITE" => h.act(|inv, now| inv.re_invite(now, offer())),
        _ => h.act(|inv, now| inv.update(now, offer())),
    }
    .expect("our offer");
    // Alice's offer crosses ours on the wire.
    h.in_dialog(method, &format!("sip:bob@{BOB}"), 2, "", Some(THEIRS));
    h.settle();
    let method: Method = Method::from_token(method).expect("a method");
    let theirs = h.responses_to(&method);
    assert_eq!(theirs.last().map(|(_, m)| m.status()), Some(Some(491)), "we refuse theirs");
    assert!(h.incoming().is_empty(), "a 491 is not the application's business");
    let (_, ours) = h.requests_of(&method).pop().expect("ours");
    h.reply_to(&ours, 491, None, "");
    h.settle();
    let (_, retry_at) = glare(&h);
    assert!(h.events().iter().all(|(_, e)| !matches!(e, Event::Response { .. })));
    h.run_for(Duration::from_millis(2_100));
    let mut sent = h.requests_of(&method);
    sent.dedup_by_key(|(_, m)| m.cseq().unwrap().seq); // Timer A/E copies
    assert_eq!(sent.len(), 2, "one retry");
    let (again_at, again) = sent.last().cloned().unwrap();
    assert_eq!(again.body(), OURS.as_bytes(), "the same offer");
    assert!(again.cseq().unwrap().seq > ours.cseq().unwrap().seq, "a new CSeq");
    // Answer it: the retry carries the same RequestId.
    h.reply_to(&again, 200, Some(THEIRS), "");
    h.settle();
    assert!(h.events().iter().any(|(_, e)| matches!(
        e,
        Event::Response { request, response, .. } if *request == rid && response.status() == Some(200)
    )));
    (h, retry_at, again_at)
}

#[test]
fn re_invite_glare_both_sides_get_491_and_we_retry_within_0_to_2_s_to_the_ms() {
    let mut waits = Vec::new();
    for seed in 0..40 {
        let (h, retry_at, again_at) = glare_both_ways(seed, "INVITE");
        let (event_at, _) = glare(&h);
        let wait = retry_at - event_at;
        assert!(wait <= 2_000 && wait % 10 == 0, "seed {seed}: back-off {wait} ms");
        // The datagram takes the link's fixed latency: sent exactly at retry_at.
        let latency = again_at - retry_at;
        assert!(latency <= 10, "seed {seed}: arrived {again_at}, due {retry_at}");
        waits.push(wait);
    }
    waits.sort_unstable();
    waits.dedup();
    assert!(waits.len() > 20, "the back-off is drawn, not fixed: {waits:?}");
}

#[test]
fn the_retry_is_sent_exactly_when_the_glare_event_says() {
    let (h, retry_at, _) = glare_both_ways(7, "INVITE");
    let sent_at: Vec<u128> = h
        .world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Sent(d) if d.from == h.bob && d.payload.starts_with(b"INVITE") => {
                Some((d.sent_at - h.world.start()).as_millis())
            }
            _ => None,
        })
        .collect();
    let (event_at, _) = glare(&h);
    let after: Vec<u128> = sent_at.into_iter().filter(|t| *t > event_at).collect();
    assert_eq!(after.first(), Some(&retry_at), "the retry leaves to the millisecond");
}

#[test]
fn update_glare_gets_491_and_the_same_back_off() {
    for seed in 0..10 {
        let (h, retry_at, _) = glare_both_ways(seed, "UPDATE");
        let (event_at, _) = glare(&h);
        assert!(retry_at - event_at <= 2_000, "seed {seed}");
    }
}

#[test]
fn their_re_invite_during_our_back_off_is_taken_and_our_retry_then_gives_up_with_the_491() {
    let mut h = Harness::established_with(Config::new(&format!("sip:bob@{BOB}")).with_seed(3));
    let rid = h.act(|inv, now| inv.re_invite(now, offer())).expect("ours");
    h.settle();
    let (_, ours) = h.requests_of(&Method::Invite).pop().expect("ours");
    h.reply_to(&ours, 491, None, "");
    h.settle();
    // Alice's re-INVITE gets in while we wait: nothing is in flight, so it is surfaced.
    h.reinvite(2, Some(THEIRS));
    h.settle();
    let (theirs, kind, _) = h.incoming().pop().expect("surfaced");
    assert_eq!(kind, RequestKind::ReInvite);
    h.run_for(Duration::from_millis(2_100));
    let mut ours_sent = h.requests_of(&Method::Invite);
    ours_sent.dedup_by_key(|(_, m)| m.cseq().unwrap().seq);
    assert_eq!(ours_sent.len(), 1, "no retry while theirs is open");
    let final491 = h.events().iter().any(|(_, e)| matches!(
        e,
        Event::Response { request, response, .. } if *request == rid && response.status() == Some(491)
    ));
    assert!(final491, "our request ends with the 491");
    h.act(|inv, now| {
        inv.respond(now, theirs, sipwire::ua::ResponseOptions::new().body("application/sdp", OURS))
    })
    .expect("answer theirs");
    h.settle();
    assert!(h.last(200).is_some_and(|m| m.cseq().unwrap().method == Method::Invite));
}
