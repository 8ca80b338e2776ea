//! The caller's REFER reaches the session; `respond` 202 starts its subscription, and the
//! session's `notify` reports progress in NOTIFYs whose 200s come back as events.

mod support;

use sipwire_tokio::{Event, RequestKind, RequestOptions, ResponseOptions};
use support::{Call, Established, WAIT, established, next_event};
use tokio::time::timeout;

#[tokio::test]
async fn a_refer_accepted_with_202_is_followed_by_the_sessions_notifys() {
    let Established { ep, mut peer, call, tag, mut session, .. } = established("refer").await;

    let refer = call.in_dialog("REFER", 2, &tag, &[("Refer-To", "<sip:carol@127.0.0.1>")], None);
    peer.send(&refer).await;
    let (refer_id, message) = next_event(&mut session, |e| match e {
        Event::Request { request, kind: RequestKind::Refer, message, .. } => {
            Some((request, message))
        }
        _ => None,
    })
    .await;
    assert_eq!(message.refer_to().unwrap().unwrap().uri.to_string(), "sip:carol@127.0.0.1");

    timeout(WAIT, session.respond(refer_id, ResponseOptions::new().status_code(202)))
        .await
        .unwrap()
        .expect("accepted");
    peer.expect(202).await;

    for (status, state) in [(100, "active"), (200, "terminated")] {
        let id = timeout(WAIT, session.notify(refer_id, status, RequestOptions::new()))
            .await
            .unwrap()
            .expect("notified");
        let notify = peer.next().await;
        assert_eq!(notify.method().map(|m| m.as_str()), Some("NOTIFY"));
        let event = notify.event().unwrap().expect("an Event header");
        assert_eq!((event.value, event.id()), ("refer", Some("2")));
        let sub = notify.header("Subscription-State").expect("Subscription-State");
        assert!(sub.starts_with(state.as_bytes()), "{}", String::from_utf8_lossy(sub));
        let frag = String::from_utf8_lossy(notify.body()).into_owned();
        assert!(frag.starts_with(&format!("SIP/2.0 {status}")), "{frag}");

        peer.send(&Call::reply(&notify, "200 OK", None, None)).await;
        let (kind, response) = next_event(&mut session, |e| match e {
            Event::Response { request, kind, response, .. } if request == id => {
                Some((kind, response))
            }
            _ => None,
        })
        .await;
        assert_eq!(kind, RequestKind::Notify);
        assert_eq!(response.status(), Some(200));
    }
    drop(session);
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
