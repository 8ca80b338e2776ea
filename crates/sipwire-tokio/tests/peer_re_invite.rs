//! The caller's re-INVITE reaches the session as `Event::Request`: answered, its ACK comes
//! as `ReInviteAcked`; cancelled first, the session sees `RequestCancelled`.

mod support;

use sipwire_tokio::{Error, Event, InvitationError, RequestKind, ResponseOptions};
use support::{ANSWER, Established, SDP, WAIT, established, next_event};
use tokio::time::timeout;

#[tokio::test]
async fn the_callers_re_invite_is_answered_and_its_ack_reaches_the_session() {
    let Established { ep, mut peer, call, tag, mut session, .. } =
        established("peer-re-invite").await;

    peer.send(&call.in_dialog("INVITE", 2, &tag, &[], Some(("application/sdp", SDP)))).await;
    let (request, kind, message) = next_event(&mut session, |e| match e {
        Event::Request { request, kind, message, .. } => Some((request, kind, message)),
        _ => None,
    })
    .await;
    assert_eq!(kind, RequestKind::ReInvite);
    assert_eq!(message.body(), SDP.as_bytes());

    let answer = ResponseOptions::new().body("application/sdp", ANSWER);
    timeout(WAIT, session.respond(request, answer)).await.unwrap().expect("answered");
    let ok = peer.expect(200).await;
    assert_eq!(ok.cseq().unwrap().method.as_str(), "INVITE");
    assert_eq!(ok.body(), ANSWER.as_bytes());

    peer.send(&call.in_dialog("ACK", 2, &tag, &[], None)).await;
    let (acked, ack) = next_event(&mut session, |e| match e {
        Event::ReInviteAcked { request, message, .. } => Some((request, message)),
        _ => None,
    })
    .await;
    assert_eq!(acked, request);
    assert_eq!(ack.cseq().unwrap().seq, 2);
    drop(session);
    timeout(WAIT, ep.shutdown()).await.unwrap();
}

#[tokio::test]
async fn the_callers_cancelled_re_invite_reaches_the_session_as_request_cancelled() {
    let Established { ep, mut peer, call, tag, mut session, .. } =
        established("peer-re-invite-cancel").await;

    peer.send(&call.in_dialog("INVITE", 2, &tag, &[], Some(("application/sdp", SDP)))).await;
    let request = next_event(&mut session, |e| match e {
        Event::Request { request, kind: RequestKind::ReInvite, .. } => Some(request),
        _ => None,
    })
    .await;

    let branch = "peer-re-invite-cancel-invite-2";
    peer.send(&call.in_dialog_on(branch, "CANCEL", 2, &tag, &[], None)).await;
    let ok = peer.expect(200).await;
    assert_eq!(ok.cseq().unwrap().method.as_str(), "CANCEL");
    peer.expect(487).await;
    peer.send(&call.in_dialog_on(branch, "ACK", 2, &tag, &[], None)).await;

    let cancelled = next_event(&mut session, |e| match e {
        Event::RequestCancelled { request, .. } => Some(request),
        _ => None,
    })
    .await;
    assert_eq!(cancelled, request);
    let late = timeout(
        WAIT,
        session.respond(request, ResponseOptions::new().body("application/sdp", ANSWER)),
    )
    .await
    .unwrap();
    assert_eq!(late, Err(Error::Invitation(InvitationError::UnknownRequest)));
    drop(session);
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
