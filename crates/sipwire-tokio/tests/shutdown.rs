//! Shutting down with live calls returns, ends them on the wire, and leaves the handles
//! harmless.

mod support;

use sipwire::Method;
use sipwire_tokio::{AcceptOptions, Error, Options};
use support::{ANSWER, Call, UdpPeer, WAIT, endpoint, loopback, to_tag};
use tokio::time::timeout;

#[tokio::test]
async fn shutdown_with_live_calls_returns_and_ends_them() {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let server = ep.local_addr();
    let mut peer = UdpPeer::new(server).await;

    // One established call …
    let up = Call::new("shutdown-up", peer.local(), server, "UDP");
    peer.send(&up.invite()).await;
    peer.expect(100).await;
    peer.expect(180).await;
    let invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");
    let answer = AcceptOptions::new().body("application/sdp", ANSWER);
    let mut session = timeout(WAIT, invitation.accept(answer)).await.unwrap().expect("accepted");
    let ok = peer.expect(200).await;
    peer.send(&up.ack(&to_tag(&ok))).await;

    // … and one still ringing.
    let mut ringer = UdpPeer::new(server).await;
    let ringing = Call::new("shutdown-ringing", ringer.local(), server, "UDP");
    ringer.send(&ringing.invite()).await;
    ringer.expect(100).await;
    ringer.expect(180).await;
    let mut waiting = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");

    timeout(WAIT, ep.shutdown()).await.expect("shutdown returns");

    let bye = peer.next().await;
    assert_eq!(bye.method(), Some(&Method::Bye));
    ringer.expect(480).await;

    // The handles outlive the driver without harm.
    let drained = timeout(WAIT, async { while session.next_event().await.is_some() {} }).await;
    assert!(drained.is_ok(), "next_event ends once the driver is gone");
    assert_eq!(timeout(WAIT, session.bye()).await.unwrap(), Err(Error::Closed));
    assert_eq!(
        timeout(WAIT, waiting.reject(Default::default())).await.unwrap(),
        Err(Error::Closed)
    );
    assert!(timeout(WAIT, incoming.next()).await.unwrap().is_none());
    drop(session);
    drop(waiting);
}

#[tokio::test]
async fn dropping_the_endpoint_stops_the_driver() {
    let (ep, mut incoming) = endpoint(Options::udp_and_tcp(loopback())).await;
    assert_eq!(ep.udp_addr().map(|a| a.port()), ep.tcp_addr().map(|a| a.port()));
    drop(ep);
    assert!(timeout(WAIT, incoming.next()).await.unwrap().is_none(), "the stream ends");
}
