//! A zero T1 or T2 in `Timers` must not hang the layer. Timers A, E and G re-armed at
//! `now + 0` would be due again within the same `handle_timeout` and loop forever, queueing
//! one transmit per turn; the machines take a zero interval as 1 ms instead. These tests
//! would hang without that, and count the sends that the clamp makes exact.

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::transaction::{LayerConfig, Target, Timers, TransactionLayer};
use sipwire::{HeaderName, Method, RequestBuilder, Transport};
use sipwire_sim::script::Sink;
use sipwire_sim::{RecordKind, World};

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

/// Sends one `method` request over UDP from a layer with `timers` into silence, runs the
/// world for one virtual second, and returns how many times the request was sent.
fn sends_in_one_second(method: Method, timers: Timers) -> usize {
    let mut config = LayerConfig::default();
    config.timers = timers;
    let mut world = World::new(1);
    let client = world.add_node("client", addr(1), TransactionLayer::new(config));
    world.add_node("void", addr(2), Sink::new());
    let request = RequestBuilder::new(&method, "sip:bob@192.0.2.2")
        .header(HeaderName::From, "<sip:alice@192.0.2.1>;tag=a1")
        .header(HeaderName::To, "<sip:bob@192.0.2.2>")
        .header(HeaderName::CallId, "zero@192.0.2.1")
        .cseq(1, &method)
        .max_forwards(70);
    world.with_node(client, |layer: &mut TransactionLayer, now| {
        let target = Target::new(addr(2), Transport::Udp);
        layer.send_request(now, request, target, "192.0.2.1").unwrap();
    });
    world.run_for(Duration::from_secs(1));
    world.trace().filter(|r| matches!(r.kind, RecordKind::Sent(_))).count()
}

#[test]
fn sane_timers_send_at_0_and_500ms() {
    assert_eq!(sends_in_one_second(Method::Options, Timers::DEFAULT), 2);
}

#[test]
fn a_zero_t2_does_not_hang_a_non_invite_client() {
    let mut timers = Timers::DEFAULT;
    timers.t2 = Duration::ZERO;
    // 0 and 0.5 s, then Timer E every 1 ms (the clamp) up to 1 s.
    assert_eq!(sends_in_one_second(Method::Options, timers), 2 + 500);
}

#[test]
fn a_zero_t1_does_not_hang_an_invite_client() {
    let mut timers = Timers::DEFAULT;
    timers.t1 = Duration::ZERO;
    // Timer B is 64·0 = 0: the transaction times out at once, after its first send.
    assert_eq!(sends_in_one_second(Method::Invite, timers), 1);
}
