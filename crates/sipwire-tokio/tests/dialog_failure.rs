//! RFC 5057 endings reach the session: a 481 to its INFO ends the dialog
//! (`DialogFailed(Some(481))`); a MESSAGE into silence times out (`RequestTimeout`, a BYE,
//! `DialogFailed(None)`).

mod support;

use sipwire_tokio::{EndReason, Event, InvitationState, RequestKind, RequestOptions};
use support::{Call, Established, WAIT, established, next_event};
use tokio::time::timeout;

#[tokio::test]
async fn a_481_to_the_sessions_info_ends_the_call() {
    let Established { ep, mut peer, mut session, .. } = established("info-481").await;

    let options = RequestOptions::new()
        .extra_header("Info-Package", "dtmf")
        .body("application/dtmf-relay", "Signal=1\r\nDuration=100\r\n");
    let id = timeout(WAIT, session.info(options)).await.unwrap().expect("sent");
    let info = peer.next().await;
    assert_eq!(info.method().map(|m| m.as_str()), Some("INFO"));
    assert_eq!(info.header("Info-Package"), Some(&b"dtmf"[..]));
    peer.send(&Call::reply(&info, "481 Call/Transaction Does Not Exist", None, None)).await;

    let status = next_event(&mut session, |e| match e {
        Event::Response { request, kind: RequestKind::Info, response, .. } if request == id => {
            response.status()
        }
        _ => None,
    })
    .await;
    assert_eq!(status, 481);
    let reason = timeout(WAIT, session.ended()).await.unwrap();
    assert_eq!(reason, Some(EndReason::DialogFailed(Some(481))));
    assert_eq!(session.state(), InvitationState::Terminated);
    timeout(WAIT, ep.shutdown()).await.unwrap();
}

#[tokio::test]
async fn a_message_into_silence_times_out_and_ends_the_call_with_bye() {
    let Established { ep, mut peer, mut session, .. } = established("info-silence").await;

    let id = timeout(WAIT, session.message(RequestOptions::new().body("text/plain", "hello")))
        .await
        .unwrap()
        .expect("sent");
    let message = peer.next().await;
    assert_eq!(message.method().map(|m| m.as_str()), Some("MESSAGE"));
    assert_eq!(message.body(), b"hello");

    // Timer F: 64·T1 = 3.2 s with the tests' T1.
    let kind = next_event(&mut session, |e| match e {
        Event::RequestTimeout { request, kind, .. } if request == id => Some(kind),
        _ => None,
    })
    .await;
    assert_eq!(kind, RequestKind::Message);
    let bye = peer.next().await;
    assert_eq!(bye.method().map(|m| m.as_str()), Some("BYE"));
    peer.send(&Call::ok_to(&bye)).await;
    let reason = timeout(WAIT, session.ended()).await.unwrap();
    assert_eq!(reason, Some(EndReason::DialogFailed(None)));
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
