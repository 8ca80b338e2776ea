//! Dropping an unanswered invitation rejects it with 480, like SIP.js's `dispose`.

mod support;

use sipwire_tokio::Options;
use support::{Call, UdpPeer, WAIT, endpoint, loopback, to_tag};
use tokio::time::timeout;

#[tokio::test]
async fn dropping_an_unanswered_invitation_rejects_it_with_480() {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new("drop-480", peer.local(), ep.local_addr(), "UDP");

    peer.send(&call.invite()).await;
    peer.expect(100).await;
    peer.expect(180).await;
    let invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");
    drop(invitation);

    let rejected = peer.expect(480).await;
    peer.send(&call.ack_error(&to_tag(&rejected))).await;
    // The driver is still there and answers the next call.
    let second = Call::new("drop-480-b", peer.local(), ep.local_addr(), "UDP");
    peer.send(&second.invite()).await;
    peer.expect(100).await;
    let next = timeout(WAIT, incoming.next()).await.unwrap().expect("a second invitation");
    assert_eq!(next.call_id(), "drop-480-b");
}

#[tokio::test]
async fn dropping_incoming_rejects_what_it_would_have_delivered() {
    let (ep, incoming) = endpoint(Options::udp(loopback())).await;
    drop(incoming);
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new("no-listener", peer.local(), ep.local_addr(), "UDP");
    peer.send(&call.invite()).await;
    peer.expect(100).await;
    peer.expect(180).await;
    peer.expect(480).await;
}
