//! TCP: framing across writes, answers on the same connection, and the limits that cut a
//! misbehaving peer off.

mod support;

use std::time::Duration;

use sipwire_tokio::{AcceptOptions, EndReason, Options};
use support::{ANSWER, Call, TcpPeer, WAIT, endpoint, loopback, to_tag};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

#[tokio::test]
async fn an_invite_split_into_three_writes_is_framed_and_answered_on_the_same_connection() {
    let (ep, mut incoming) = endpoint(Options::tcp(loopback())).await;
    let server = ep.tcp_addr().expect("TCP is bound");
    let mut peer = TcpPeer::connect(server).await;
    let call = Call::new("tcp-split", peer.local(), server, "TCP");

    let invite = call.invite();
    let bytes = invite.as_bytes();
    let (a, rest) = bytes.split_at(40); // inside the start line
    let (b, c) = rest.split_at(rest.len() - 10); // inside the body
    for part in [a, b, c] {
        peer.send(part).await;
        peer.stream.flush().await.unwrap();
        tokio::task::yield_now().await;
    }

    peer.expect(100).await;
    let ringing = peer.expect(180).await;
    let tag = to_tag(&ringing);
    let invitation = timeout(WAIT, incoming.next()).await.unwrap().expect("an invitation");
    assert_eq!(invitation.request().as_bytes(), bytes, "the three writes make one message");
    assert_eq!(invitation.source(), peer.local());

    let answer = AcceptOptions::new().body("application/sdp", ANSWER);
    let mut session = timeout(WAIT, invitation.accept(answer)).await.unwrap().expect("accepted");
    let ok = peer.expect(200).await;
    assert_eq!(ok.body(), ANSWER.as_bytes());
    peer.send(call.ack(&tag).as_bytes()).await;
    peer.send(call.bye(&tag).as_bytes()).await;
    let bye_ok = peer.expect(200).await;
    assert_eq!(bye_ok.cseq().unwrap().method.as_str(), "BYE");
    assert_eq!(timeout(WAIT, session.ended()).await.unwrap(), Some(EndReason::RemoteBye));
}

#[tokio::test]
async fn a_peer_sending_an_endless_header_is_disconnected() {
    let (ep, _incoming) = endpoint(Options::tcp(loopback())).await;
    let mut peer = TcpPeer::connect(ep.tcp_addr().unwrap()).await;
    peer.send(b"INVITE sip:bob@127.0.0.1 SIP/2.0\r\n").await;
    // Past the core's 64 KiB max_message_size, without ever ending the header section.
    let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
    for _ in 0..100 {
        if peer.stream.write_all(line.as_bytes()).await.is_err() {
            break; // already cut off
        }
    }
    assert!(peer.closed_within(WAIT).await, "the connection stays open");
}

#[tokio::test]
async fn a_peer_that_stalls_mid_message_is_cut_off_after_the_idle_timeout() {
    let options = Options::tcp(loopback()).idle_timeout(Duration::from_millis(200));
    let (ep, _incoming) = endpoint(options).await;
    let server = ep.tcp_addr().unwrap();
    let mut peer = TcpPeer::connect(server).await;
    let call = Call::new("tcp-stall", peer.local(), server, "TCP");
    let invite = call.invite();
    peer.send(&invite.as_bytes()[..invite.len() / 2]).await;
    assert!(peer.closed_within(WAIT).await, "the stalled connection stays open");

    // A quiet connection with nothing pending is not cut: it still carries a call.
    let mut quiet = TcpPeer::connect(server).await;
    let call = Call::new("tcp-quiet", quiet.local(), server, "TCP");
    assert!(!quiet.closed_within(Duration::from_millis(600)).await, "an idle flow was closed");
    quiet.send(call.invite().as_bytes()).await;
    quiet.expect(100).await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused() {
    let options = Options::tcp(loopback()).max_connections(1);
    let (ep, _incoming) = endpoint(options).await;
    let server = ep.tcp_addr().unwrap();
    let mut first = TcpPeer::connect(server).await;
    let call = Call::new("cap-1", first.local(), server, "TCP");
    first.send(call.invite().as_bytes()).await;
    first.expect(100).await;
    let mut second = TcpPeer::connect(server).await;
    assert!(second.closed_within(WAIT).await, "a second connection was kept");
}
