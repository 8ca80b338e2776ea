//! Cancellation: dropping an `accept` future half-way neither panics the driver nor leaves
//! the call hanging, and a dropped `next_event` loses nothing.

mod support;

use std::future::{Future, poll_fn};
use std::task::Poll;

use sipwire::Method;
use sipwire_tokio::{AcceptOptions, Event, Options};
use support::{ANSWER, Call, UdpPeer, WAIT, endpoint, loopback, to_tag};
use tokio::time::timeout;

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_accept_future_still_answers_then_ends_the_call_with_bye() {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new("dropped-accept", peer.local(), ep.local_addr(), "UDP");

    peer.send(&call.invite()).await;
    peer.expect(100).await;
    peer.expect(180).await;
    let invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");

    // Poll once (the command goes out), then drop the future before the driver (on this
    // same thread) can even answer.
    let mut accept =
        Box::pin(invitation.accept(AcceptOptions::new().body("application/sdp", ANSWER)));
    let first = poll_fn(|cx| Poll::Ready(accept.as_mut().poll(cx))).await;
    assert!(first.is_pending());
    drop(accept);

    // The accept stands; dropping the invitation with it ends the call: BYE after the ACK.
    let ok = peer.expect(200).await;
    let tag = to_tag(&ok);
    peer.send(&call.ack(&tag)).await;
    let bye = peer.next().await;
    assert_eq!(bye.method(), Some(&Method::Bye), "{}", String::from_utf8_lossy(bye.as_bytes()));
    peer.send(&Call::ok_to(&bye)).await;

    // The driver is alive and well.
    let second = Call::new("dropped-accept-2", peer.local(), ep.local_addr(), "UDP");
    peer.send(&second.invite()).await;
    peer.expect(100).await;
    let next = timeout(WAIT, incoming.next()).await.unwrap().expect("a second invitation");
    assert_eq!(next.call_id(), "dropped-accept-2");
    assert!(timeout(WAIT, ep.retransmissions()).await.unwrap().is_ok());
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_next_event_future_loses_no_event() {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new("dropped-next", peer.local(), ep.local_addr(), "UDP");
    peer.send(&call.invite()).await;
    peer.expect(100).await;
    peer.expect(180).await;
    let mut invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");

    // A next_event future that loses a race and is dropped …
    let raced = tokio::select! {
        biased;
        () = std::future::ready(()) => true,
        _ = invitation.next_event() => false,
    };
    assert!(raced);
    peer.send(&call.cancel()).await;
    // … leaves the CANCEL for the next one.
    let event = timeout(WAIT, invitation.next_event()).await.unwrap();
    assert!(matches!(event, Some(Event::Cancelled { .. })), "{event:?}");
}
