//! An INVITE server transaction answering 486 over UDP to a scripted client: Timer G
//! resends the 486 at 0.5, 1.5, 3.5, 7.5 s and then every T2 = 4 s until Timer H gives up
//! at 64·T1 = 32 s (RFC 3261 §17.2.1) — unless an ACK comes, which stops it at once and
//! starts Timer I (T4).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::transaction::{LayerConfig, Timer, TransactionLayer, TxEvent};
use sipwire::{Message, Transport};
use sipwire_sim::script::Scripted;
use sipwire_sim::{LinkConfig, NodeId, RecordKind, World};

const LATENCY: Duration = Duration::from_millis(10);

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

const INVITE: &str = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbusy1\r\n\
    From: <sip:alice@192.0.2.1>;tag=a1\r\n\
    To: <sip:bob@192.0.2.2>\r\n\
    Call-ID: busy@192.0.2.1\r\n\
    CSeq: 1 INVITE\r\n\
    Max-Forwards: 70\r\n\
    Content-Length: 0\r\n\r\n";

/// The ACK for a non-2xx final response (§17.1.1.3): the INVITE's Via (so its branch),
/// From, Call-ID and CSeq number, and the response's To.
fn ack_for(response: &Message) -> Bytes {
    let to = String::from_utf8_lossy(response.header("To").unwrap_or_default()).into_owned();
    Bytes::from(format!(
        "ACK sip:bob@192.0.2.2 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbusy1\r\n\
         From: <sip:alice@192.0.2.1>;tag=a1\r\n\
         To: {to}\r\n\
         Call-ID: busy@192.0.2.1\r\n\
         CSeq: 1 ACK\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

/// A client that sends the INVITE once and, if `acks`, ACKs every final response.
fn client(acks: bool) -> Scripted {
    Scripted::new(move |act, rx| {
        if let Some(response) = rx.message().filter(|m| m.status().is_some_and(|c| c >= 300))
            && acks
        {
            act.reply(rx, ack_for(&response));
        }
    })
}

/// The world after the client's INVITE reached the server and the test, as its TU,
/// answered 486 at once; returns it with the server node and when the 486 went out.
fn busy(acks: bool) -> (World, NodeId, NodeId, Instant) {
    let mut world = World::new(9);
    let caller = world.add_node("caller", addr(1), client(acks));
    let server = world.add_node("server", addr(2), TransactionLayer::new(LayerConfig::default()));
    world.link(caller, server, LinkConfig::new(LATENCY));
    world.with_node(caller, |s: &mut Scripted, _| {
        s.send(addr(2), Transport::Udp, Bytes::from_static(INVITE.as_bytes()));
    });
    world.run_until(world.start() + LATENCY);
    let events = world.take_events_as::<TxEvent>(server);
    let Some((_, TxEvent::Request { id, request, .. })) = events.first() else {
        panic!("the INVITE reaches the TU: {events:?}")
    };
    let answered = world.now();
    world
        .with_node(server, |layer: &mut TransactionLayer, now| {
            layer.respond(now, *id, request.reply(486).to_tag("b1"))
        })
        .unwrap()
        .unwrap();
    (world, caller, server, answered)
}

/// The times the server sent its 486, since `from`.
fn finals_sent(world: &World, server: NodeId, from: Instant) -> Vec<Duration> {
    world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Sent(d) if d.from == server && d.payload.starts_with(b"SIP/2.0 486") => {
                Some(r.at - from)
            }
            _ => None,
        })
        .collect()
}

fn layer_events(world: &mut World, server: NodeId, from: Instant) -> Vec<(Duration, TxEvent)> {
    world.take_events_as::<TxEvent>(server).into_iter().map(|(at, e)| (at - from, e)).collect()
}

#[test]
fn without_an_ack_the_486_is_resent_on_timer_g_until_timer_h() {
    let (mut world, _, server, answered) = busy(false);
    world.drive(1_000).unwrap();
    let expected: Vec<Duration> = [0, 500, 1_500, 3_500, 7_500]
        .into_iter()
        .chain((11_500..32_000).step_by(4_000))
        .map(ms)
        .collect();
    assert_eq!(finals_sent(&world, server, answered), expected);
    let events = layer_events(&mut world, server, answered);
    assert!(
        matches!(events.as_slice(), [
            (t1, TxEvent::Timeout { timer: Timer::H, .. }),
            (t2, TxEvent::Terminated { .. }),
        ] if *t1 == ms(32_000) && *t2 == ms(32_000)),
        "{events:?}"
    );
    assert!(world.node::<TransactionLayer>(server).unwrap().is_empty());
    assert_eq!(world.now() - answered, ms(32_000));
}

#[test]
fn an_ack_stops_the_retransmissions_and_timer_i_ends_the_transaction() {
    let (mut world, _, server, answered) = busy(true);
    world.drive(1_000).unwrap();
    assert_eq!(finals_sent(&world, server, answered), [Duration::ZERO]);
    let events = layer_events(&mut world, server, answered);
    // The ACK is absorbed by the transaction (it is for a non-2xx): the TU only hears
    // that the transaction ended, T4 after the ACK arrived.
    let ack_arrived = 2 * LATENCY;
    assert!(
        matches!(events.as_slice(), [(t, TxEvent::Terminated { .. })] if *t == ack_arrived + ms(5_000)),
        "{events:?}"
    );
    assert!(world.node::<TransactionLayer>(server).unwrap().is_empty());
}

#[test]
fn a_lost_ack_costs_one_retransmission() {
    let (mut world, caller, server, answered) = busy(true);
    world.drop_next(caller, server);
    world.drive(1_000).unwrap();
    assert_eq!(finals_sent(&world, server, answered), [Duration::ZERO, ms(500)]);
    let events = layer_events(&mut world, server, answered);
    let ack_arrived = ms(500) + 2 * LATENCY;
    assert!(
        matches!(events.as_slice(), [(t, TxEvent::Terminated { .. })] if *t == ack_arrived + ms(5_000)),
        "{events:?}"
    );
}
