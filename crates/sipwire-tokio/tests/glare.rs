//! Glare: the caller answers the session's re-INVITE 491; the session sees `Glare`, the
//! driver's timer sends the re-INVITE again at `retry_at`, and its 200 arrives as the
//! `Response` of the same request.

mod support;

use sipwire_tokio::{Event, RequestOptions};
use support::{ANSWER, Call, Established, SDP, WAIT, established, next_event};
use tokio::time::timeout;

#[tokio::test]
async fn a_re_invite_met_by_491_goes_again_and_completes() {
    let Established { ep, mut peer, call, mut session, .. } = established("glare").await;

    let offer = RequestOptions::new().body("application/sdp", ANSWER);
    let id = timeout(WAIT, session.re_invite(offer)).await.unwrap().expect("sent");
    let first = peer.next().await;
    assert_eq!(first.method().map(|m| m.as_str()), Some("INVITE"));
    peer.send(&Call::reply(&first, "491 Request Pending", None, None)).await;

    let retry_at = next_event(&mut session, |e| match e {
        Event::Glare { request, retry_at, .. } if request == id => Some(retry_at),
        _ => None,
    })
    .await;
    // The ACK of the 491 belongs to its transaction; then the INVITE goes again.
    let ack = peer.next().await;
    assert_eq!(ack.method().map(|m| m.as_str()), Some("ACK"));
    let second = peer.next().await;
    assert!(tokio::time::Instant::now().into_std() >= retry_at, "not before retry_at");
    assert_eq!(second.method().map(|m| m.as_str()), Some("INVITE"));
    assert!(second.cseq().unwrap().seq > first.cseq().unwrap().seq);
    assert_eq!(second.body(), ANSWER.as_bytes(), "the same offer");

    peer.send(&Call::reply(
        &second,
        "200 OK",
        Some(&call.contact()),
        Some(("application/sdp", SDP)),
    ))
    .await;
    let status = next_event(&mut session, |e| match e {
        Event::Response { request, response, .. } if request == id => response.status(),
        _ => None,
    })
    .await;
    assert_eq!(status, 200);
    let ack = peer.next().await;
    assert_eq!(ack.method().map(|m| m.as_str()), Some("ACK"));
    assert_eq!(ack.cseq().unwrap().seq, second.cseq().unwrap().seq);
    drop(session);
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
