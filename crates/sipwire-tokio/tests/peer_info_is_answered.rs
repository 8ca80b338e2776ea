//! The caller's INFO inside the dialog reaches the session as `Event::Request`; the
//! session's `respond` puts the 200 on the wire, and a second answer is refused.

mod support;

use sipwire_tokio::{EndReason, Error, Event, InvitationError, RequestKind, ResponseOptions};
use support::{Call, Established, WAIT, established, next_event};
use tokio::time::timeout;

const DTMF: &str = "Signal=5\r\nDuration=160\r\n";

#[tokio::test]
async fn the_callers_info_reaches_the_session_and_its_200_the_caller() {
    let Established { ep, mut peer, call, tag, mut session, .. } = established("peer-info").await;

    let info = call.in_dialog(
        "INFO",
        2,
        &tag,
        &[("Info-Package", "dtmf")],
        Some(("application/dtmf-relay", DTMF)),
    );
    peer.send(&info).await;
    let (request, kind, message) = next_event(&mut session, |e| match e {
        Event::Request { request, kind, message, .. } => Some((request, kind, message)),
        _ => None,
    })
    .await;
    assert_eq!(kind, RequestKind::Info);
    assert_eq!(message.body(), DTMF.as_bytes());
    assert_eq!(message.cseq().unwrap().seq, 2);

    timeout(WAIT, session.respond(request, ResponseOptions::new())).await.unwrap().expect("sent");
    let ok = peer.expect(200).await;
    let cseq = ok.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method.as_str()), (2, "INFO"));
    assert_eq!(support::to_tag(&ok), tag);

    let again = timeout(WAIT, session.respond(request, ResponseOptions::new().status_code(500)))
        .await
        .unwrap();
    assert_eq!(again, Err(Error::Invitation(InvitationError::UnknownRequest)));

    timeout(WAIT, session.bye()).await.unwrap().expect("bye");
    let bye = peer.next().await;
    assert_eq!(bye.method().map(|m| m.as_str()), Some("BYE"));
    peer.send(&Call::ok_to(&bye)).await;
    let reason = timeout(WAIT, session.ended()).await.unwrap();
    assert_eq!(reason, Some(EndReason::LocalBye(Some(200))));
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
