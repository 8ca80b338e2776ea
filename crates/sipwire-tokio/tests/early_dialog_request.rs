//! The caller's INFO in the early dialog (after the 180, before the answer) reaches the
//! invitation as `Event::Request`, and the invitation's `respond` answers it.

mod support;

use sipwire_tokio::{Event, Options, RequestKind, ResponseOptions};
use support::{Call, UdpPeer, WAIT, endpoint, loopback, to_tag};
use tokio::time::timeout;

#[tokio::test]
async fn an_info_before_the_answer_is_answered_by_the_invitation() {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new("early-info", peer.local(), ep.local_addr(), "UDP");
    peer.send(&call.invite()).await;
    peer.expect(100).await;
    let tag = to_tag(&peer.expect(180).await);
    let mut invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");

    peer.send(&call.in_dialog("INFO", 2, &tag, &[], Some(("text/plain", "early")))).await;
    let wait = async {
        loop {
            let event = invitation.next_event().await.expect("the invitation ended first");
            if let Event::Request { request, kind, .. } = event {
                return (request, kind);
            }
        }
    };
    let (request, kind) = timeout(WAIT, wait).await.unwrap();
    assert_eq!(kind, RequestKind::Info);

    let answer = ResponseOptions::new();
    timeout(WAIT, invitation.respond(request, answer)).await.unwrap().expect("answered");
    let ok = peer.expect(200).await;
    assert_eq!(ok.cseq().unwrap().method.as_str(), "INFO");
    drop(invitation);
    peer.expect(480).await;
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
