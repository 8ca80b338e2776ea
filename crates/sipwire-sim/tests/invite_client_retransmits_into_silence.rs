//! An INVITE from a real transaction layer into silence over UDP: Timer A resends it at
//! 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s (doubling, no T2 cap, RFC 3261 §17.1.1.2) and
//! Timer B ends the transaction at exactly 64·T1 = 32 s — on the simulator's virtual clock,
//! to the nanosecond.

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::transaction::{LayerConfig, Target, Timer, TransactionLayer, TxEvent};
use sipwire::{HeaderName, Method, RequestBuilder, Transport};
use sipwire_sim::script::Sink;
use sipwire_sim::{LinkConfig, RecordKind, World};

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn request(method: &Method) -> RequestBuilder {
    RequestBuilder::new(method, "sip:bob@192.0.2.2")
        .header(HeaderName::From, "<sip:alice@192.0.2.1>;tag=a1")
        .header(HeaderName::To, "<sip:bob@192.0.2.2>")
        .header(HeaderName::CallId, "silence@192.0.2.1")
        .cseq(1, method)
        .max_forwards(70)
}

/// Sends one `method` request from a layer into a `Sink` and runs until the world is idle;
/// returns the send times and the layer's timeouts and terminations, since the start.
fn into_silence(
    method: &Method,
    transport: Transport,
) -> (Vec<Duration>, Vec<(Duration, Timer)>, Vec<Duration>) {
    let mut world = World::new(3);
    let client = world.add_node("client", addr(1), TransactionLayer::new(LayerConfig::default()));
    let void = world.add_node("void", addr(2), Sink::new());
    world.link(client, void, LinkConfig::new(ms(25)));
    world
        .with_node(client, |layer: &mut TransactionLayer, now| {
            layer.send_request(now, request(method), Target::new(addr(2), transport), "192.0.2.1")
        })
        .expect("a layer")
        .expect("the request is sent");
    world.drive(1_000).expect("the transaction ends");
    let start = world.start();
    let sends = world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Sent(d) if d.from == client => Some(r.at - start),
            _ => None,
        })
        .collect();
    let events = world.take_events_as::<TxEvent>(client);
    let timeouts = events
        .iter()
        .filter_map(|(at, e)| match e {
            TxEvent::Timeout { timer, .. } => Some((*at - start, *timer)),
            _ => None,
        })
        .collect();
    let ends = events
        .iter()
        .filter(|(_, e)| matches!(e, TxEvent::Terminated { .. }))
        .map(|(at, _)| *at - start)
        .collect();
    assert!(world.node::<TransactionLayer>(client).unwrap().is_empty());
    assert_eq!(world.elapsed(), ms(32_000), "the world is idle once Timer B fired");
    (sends, timeouts, ends)
}

#[test]
fn an_invite_into_silence_is_resent_on_timer_a_until_timer_b() {
    let (sends, timeouts, ends) = into_silence(&Method::Invite, Transport::Udp);
    let expected: Vec<Duration> =
        [0, 500, 1_500, 3_500, 7_500, 15_500, 31_500].into_iter().map(ms).collect();
    assert_eq!(sends, expected);
    assert_eq!(timeouts, [(ms(32_000), Timer::B)]);
    assert_eq!(ends, [ms(32_000)]);
}

#[test]
fn over_tcp_the_invite_is_sent_once_and_timer_b_still_fires() {
    let (sends, timeouts, ends) = into_silence(&Method::Invite, Transport::Tcp);
    assert_eq!(sends, [Duration::ZERO]);
    assert_eq!(timeouts, [(ms(32_000), Timer::B)]);
    assert_eq!(ends, [ms(32_000)]);
}

#[test]
fn the_schedule_scales_with_t1() {
    // T1 = 100 ms: A at 0.1, 0.3, 0.7, 1.5, 3.1, 6.3 s; B at 6.4 s.
    let mut config = LayerConfig::default();
    config.timers.t1 = ms(100);
    let mut world = World::new(4);
    let client = world.add_node("client", addr(1), TransactionLayer::new(config));
    world.add_node("void", addr(2), Sink::new());
    world.with_node(client, |layer: &mut TransactionLayer, now| {
        let target = Target::new(addr(2), Transport::Udp);
        layer.send_request(now, request(&Method::Invite), target, "192.0.2.1").unwrap();
    });
    world.drive(1_000).unwrap();
    let sends: Vec<Duration> = world
        .trace()
        .filter(|r| matches!(r.kind, RecordKind::Sent(_)))
        .map(|r| r.at - world.start())
        .collect();
    let expected: Vec<Duration> =
        [0, 100, 300, 700, 1_500, 3_100, 6_300].into_iter().map(ms).collect();
    assert_eq!(sends, expected);
    assert_eq!(world.elapsed(), ms(6_400));
}
