//! A non-INVITE request from a real transaction layer into silence over UDP: Timer E
//! resends it at 0.5, 1.5, 3.5 and 7.5 s, then every T2 = 4 s (RFC 3261 §17.1.2.2), and
//! Timer F ends the transaction at exactly 64·T1 = 32 s.

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

#[test]
fn an_options_into_silence_is_resent_on_timer_e_until_timer_f() {
    let mut world = World::new(5);
    let client = world.add_node("client", addr(1), TransactionLayer::new(LayerConfig::default()));
    let void = world.add_node("void", addr(2), Sink::new());
    world.link(client, void, LinkConfig::new(ms(25)));
    let options = RequestBuilder::new(&Method::Options, "sip:bob@192.0.2.2")
        .header(HeaderName::From, "<sip:alice@192.0.2.1>;tag=a1")
        .header(HeaderName::To, "<sip:bob@192.0.2.2>")
        .header(HeaderName::CallId, "ping@192.0.2.1")
        .cseq(1, &Method::Options)
        .max_forwards(70);
    world.with_node(client, |layer: &mut TransactionLayer, now| {
        let target = Target::new(addr(2), Transport::Udp);
        layer.send_request(now, options, target, "192.0.2.1:5060").unwrap();
    });
    world.drive(1_000).unwrap();

    let start = world.start();
    let sends: Vec<Duration> = world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Sent(d) if d.from == client => Some(r.at - start),
            _ => None,
        })
        .collect();
    let expected: Vec<Duration> = [0, 500, 1_500, 3_500, 7_500]
        .into_iter()
        .chain((11_500..32_000).step_by(4_000))
        .map(ms)
        .collect();
    assert_eq!(sends, expected);
    assert_eq!(sends.len(), 11);
    let events: Vec<(Duration, TxEvent)> = world
        .take_events_as::<TxEvent>(client)
        .into_iter()
        .map(|(at, e)| (at - start, e))
        .collect();
    assert!(
        matches!(events.as_slice(), [
            (t1, TxEvent::Timeout { timer: Timer::F, .. }),
            (t2, TxEvent::Terminated { .. }),
        ] if *t1 == ms(32_000) && *t2 == ms(32_000)),
        "{events:?}"
    );
    assert!(world.node::<TransactionLayer>(client).unwrap().is_empty());
    assert_eq!(world.elapsed(), ms(32_000));
}
