//! The session's re-INVITE without an offer: the caller's 200 carries one, reaches the
//! session as `Event::Response`, and the session's `ack` sends the answer in the ACK.

mod support;

use sipwire_tokio::{Error, Event, InvitationError, RequestOptions};
use support::{ANSWER, Call, Established, SDP, WAIT, established, next_event};
use tokio::time::timeout;

#[tokio::test]
async fn an_offerless_re_invite_is_acked_with_the_sessions_answer() {
    let Established { ep, mut peer, call, mut session, .. } = established("re-invite-none").await;

    let id = timeout(WAIT, session.re_invite(RequestOptions::new())).await.unwrap().expect("sent");
    let invite = peer.next().await;
    assert_eq!(invite.method().map(|m| m.as_str()), Some("INVITE"));
    assert!(invite.body().is_empty(), "no offer");

    // Before the 2xx there is nothing to ACK.
    let early =
        timeout(WAIT, session.ack(id, RequestOptions::new().body("application/sdp", ANSWER)))
            .await
            .unwrap();
    assert_eq!(early, Err(Error::Invitation(InvitationError::UnknownRequest)));

    let offer =
        Call::reply(&invite, "200 OK", Some(&call.contact()), Some(("application/sdp", SDP)));
    peer.send(&offer).await;
    let response = next_event(&mut session, |e| match e {
        Event::Response { request, response, .. } if request == id => Some(response),
        _ => None,
    })
    .await;
    assert_eq!(response.status(), Some(200));
    assert_eq!(response.body(), SDP.as_bytes());

    let no_body = timeout(WAIT, session.ack(id, RequestOptions::new())).await.unwrap();
    assert_eq!(no_body, Err(Error::Invitation(InvitationError::BodyRequired)));
    timeout(WAIT, session.ack(id, RequestOptions::new().body("application/sdp", ANSWER)))
        .await
        .unwrap()
        .expect("acked");

    let ack = peer.next().await;
    assert_eq!(ack.method().map(|m| m.as_str()), Some("ACK"));
    assert_eq!(ack.cseq().unwrap().seq, invite.cseq().unwrap().seq);
    assert_eq!(ack.body(), ANSWER.as_bytes());
    drop(session);
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
