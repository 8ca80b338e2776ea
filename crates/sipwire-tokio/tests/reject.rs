//! reject(486): the 486 goes out, is retransmitted until the ACK, and nothing follows.

mod support;

use sipwire_tokio::{EndReason, Event, Options, RejectOptions};
use support::{Call, T1, UdpPeer, WAIT, endpoint, loopback, to_tag};
use tokio::time::timeout;

#[tokio::test]
async fn reject_486_is_sent_and_after_the_ack_nothing_more() {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new("reject-486", peer.local(), ep.local_addr(), "UDP");

    peer.send(&call.invite()).await;
    peer.expect(100).await;
    peer.expect(180).await;
    let mut invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");
    timeout(WAIT, invitation.reject(RejectOptions::new().status_code(486)))
        .await
        .unwrap()
        .expect("rejected");
    let busy = peer.expect(486).await;
    peer.send(&call.ack_error(&to_tag(&busy))).await;

    // Timer G would resend the 486 after T1, 2·T1, 4·T1 …: 20·T1 of silence shows it
    // stopped. `next_within` skips copies of what was already seen, so count raw datagrams.
    let mut buf = [0u8; 2048];
    let more = timeout(T1 * 20, peer.socket.recv_from(&mut buf)).await;
    assert!(more.is_err(), "something came after the ACK: {more:?}");

    let end = timeout(WAIT, async {
        loop {
            match invitation.next_event().await {
                Some(Event::Terminated { reason, .. }) => return Some(reason),
                Some(_) => {}
                None => return None,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(end, Some(EndReason::Rejected(486)));
    assert_eq!(invitation.end_reason(), Some(EndReason::Rejected(486)));
    // Rejecting twice is the application's mistake, reported as such.
    let again = timeout(WAIT, invitation.reject(RejectOptions::new())).await.unwrap();
    assert!(matches!(again, Err(sipwire_tokio::Error::Invitation(_))), "{again:?}");
}
