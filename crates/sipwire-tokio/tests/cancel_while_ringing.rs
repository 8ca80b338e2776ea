//! A CANCEL while ringing reaches the invitation as an event; the CANCEL gets 200 and the
//! INVITE 487.

mod support;

use sipwire_tokio::{AcceptOptions, EndReason, Error, Event, InvitationError, Options};
use support::{ANSWER, Call, UdpPeer, WAIT, endpoint, loopback, to_tag};
use tokio::time::timeout;

#[tokio::test]
async fn cancel_while_ringing_reaches_the_invitation_and_gets_200_and_487() {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new("cancel-ringing", peer.local(), ep.local_addr(), "UDP");

    peer.send(&call.invite()).await;
    peer.expect(100).await;
    peer.expect(180).await;
    let mut invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");

    peer.send(&call.cancel()).await;
    let ok = peer.expect(200).await;
    assert_eq!(ok.cseq().unwrap().method.as_str(), "CANCEL");
    let terminated = peer.expect(487).await;
    peer.send(&call.ack_error(&to_tag(&terminated))).await;

    let mut saw_cancel = false;
    let reason = timeout(WAIT, async {
        loop {
            match invitation.next_event().await {
                Some(Event::Cancelled { after_answer, .. }) => {
                    assert!(!after_answer);
                    saw_cancel = true;
                }
                Some(Event::Terminated { reason, .. }) => return Some(reason),
                Some(_) => {}
                None => return None,
            }
        }
    })
    .await
    .unwrap();
    assert!(saw_cancel, "the Cancelled event reached the invitation");
    assert_eq!(reason, Some(EndReason::Cancelled));

    // Accepting now is refused: the CANCEL won.
    let late =
        timeout(WAIT, invitation.accept(AcceptOptions::new().body("application/sdp", ANSWER)))
            .await
            .unwrap();
    assert!(
        matches!(
            late,
            Err(Error::Invitation(InvitationError::Cancelled | InvitationError::Terminated(_)))
        ),
        "{late:?}"
    );
}
