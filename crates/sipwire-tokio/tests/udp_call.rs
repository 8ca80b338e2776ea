//! A whole call over UDP: INVITE, 100, 180, the application accepts, 200 with the
//! answer, ACK, the caller's BYE, 200, and the session sees the end.

mod support;

use sipwire_tokio::{AcceptOptions, EndReason, Event, InvitationState, Options, Rel100};
use support::{ANSWER, Call, SDP, UdpPeer, WAIT, endpoint, loopback, to_tag};
use tokio::time::timeout;

#[tokio::test]
async fn a_udp_call_is_answered_and_ended_by_the_callers_bye() {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new("udp-call", peer.local(), ep.local_addr(), "UDP");

    peer.send(&call.invite()).await;
    peer.expect(100).await;
    let ringing = peer.expect(180).await;
    let tag = to_tag(&ringing);

    let invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");
    assert_eq!(invitation.call_id(), "udp-call");
    assert_eq!(invitation.body(), Some(SDP.as_bytes()));
    assert_eq!(invitation.source(), peer.local());
    assert_eq!(invitation.rel100(), Rel100::None);
    assert_eq!(invitation.state(), InvitationState::Initial);

    let answer = AcceptOptions::new().body("application/sdp", ANSWER);
    let mut session = timeout(WAIT, invitation.accept(answer)).await.unwrap().expect("accepted");
    assert_eq!(session.call_id(), "udp-call");

    let ok = peer.expect(200).await;
    assert_eq!(ok.body(), ANSWER.as_bytes());
    assert_eq!(to_tag(&ok), tag, "the 200 keeps the 180's To tag");
    assert_eq!(ok.cseq().unwrap().method.as_str(), "INVITE");

    peer.send(&call.ack(&tag)).await;
    let acked = timeout(WAIT, async {
        loop {
            match session.next_event().await {
                Some(Event::Acked { with_body, .. }) => return with_body,
                Some(_) => {}
                None => panic!("the session ended before the ACK"),
            }
        }
    })
    .await
    .unwrap();
    assert!(!acked);
    assert_eq!(session.state(), InvitationState::Established);

    peer.send(&call.bye(&tag)).await;
    let bye_ok = peer.expect(200).await;
    assert_eq!(bye_ok.cseq().unwrap().method.as_str(), "BYE");

    let reason = timeout(WAIT, session.ended()).await.unwrap();
    assert_eq!(reason, Some(EndReason::RemoteBye));
    assert_eq!(session.state(), InvitationState::Terminated);
    assert!(timeout(WAIT, session.next_event()).await.unwrap().is_none(), "nothing after the end");
    assert_eq!(timeout(WAIT, ep.retransmissions()).await.unwrap(), Ok(0));
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
