//! The session's re-INVITE with a new offer goes out in the dialog (its tags, a higher
//! CSeq, to the caller's Contact); the caller's 200 reaches the session as
//! `Event::Response`, and the core ACKs it by itself.

mod support;

use sipwire_tokio::{Event, RequestKind, RequestOptions};
use support::{Call, Established, SDP, WAIT, established, next_event};
use tokio::time::timeout;

const OFFER: &str = "v=0\r\no=- 2 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                     m=audio 10000 RTP/AVP 0\r\na=sendonly\r\n";

#[tokio::test]
async fn a_re_invite_with_an_offer_gets_its_200_as_an_event_and_is_acked_by_the_core() {
    let Established { ep, mut peer, call, tag, mut session, .. } =
        established("re-invite-offer").await;

    let offer = RequestOptions::new().body("application/sdp", OFFER);
    let id = timeout(WAIT, session.re_invite(offer)).await.unwrap().expect("sent");

    let invite = peer.next().await;
    assert_eq!(invite.method().map(|m| m.as_str()), Some("INVITE"));
    assert_eq!(invite.request_uri_str(), Some(call.contact().as_str()));
    assert_eq!(invite.call_id().unwrap(), "re-invite-offer");
    assert_eq!(invite.from_tag().unwrap(), Some(tag.as_str()), "our tag is the From tag");
    assert_eq!(invite.to_tag().unwrap(), Some("alice-re-invite-offer"));
    let cseq = invite.cseq().unwrap();
    assert!(cseq.seq > 1, "CSeq {} after the caller's 1", cseq.seq);
    assert_eq!(cseq.method.as_str(), "INVITE");
    assert_eq!(invite.body(), OFFER.as_bytes());

    let answer =
        Call::reply(&invite, "200 OK", Some(&call.contact()), Some(("application/sdp", SDP)));
    peer.send(&answer).await;

    let (kind, response) = next_event(&mut session, |e| match e {
        Event::Response { request, kind, response, .. } if request == id => Some((kind, response)),
        _ => None,
    })
    .await;
    assert_eq!(kind, RequestKind::ReInvite);
    assert_eq!(response.status(), Some(200));
    assert_eq!(response.body(), SDP.as_bytes());

    let ack = peer.next().await;
    assert_eq!(ack.method().map(|m| m.as_str()), Some("ACK"));
    let ack_cseq = ack.cseq().unwrap();
    assert_eq!((ack_cseq.seq, ack_cseq.method.as_str()), (cseq.seq, "ACK"));
    assert_eq!(ack.call_id().unwrap(), "re-invite-offer");
    assert_eq!(ack.from_tag().unwrap(), Some(tag.as_str()));
    assert_eq!(ack.to_tag().unwrap(), Some("alice-re-invite-offer"));
    assert!(ack.body().is_empty(), "the offer was in the INVITE");

    // The call goes on: a second re-INVITE is allowed now that the first is over.
    let again =
        timeout(WAIT, session.re_invite(RequestOptions::new().body("application/sdp", OFFER)))
            .await
            .unwrap()
            .expect("the dialog is free again");
    assert_ne!(again, id);
    drop(session);
    timeout(WAIT, ep.shutdown()).await.unwrap();
}
