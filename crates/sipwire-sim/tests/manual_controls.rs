//! `drop_next` and `delay_next` act on exactly the datagrams they name; odd sends are safe.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{addr, blast, cseq_of};
use sipwire::{Transmit, Transport};
use sipwire_sim::script::Sink;
use sipwire_sim::{DropReason, LinkConfig, RecordKind, World};

fn pair() -> (World, sipwire_sim::NodeId, sipwire_sim::NodeId) {
    let mut world = World::new(51);
    let a = world.add_node("a", addr(1), Sink::new());
    let b = world.add_node("b", addr(2), Sink::new());
    (world, a, b)
}

fn received(world: &World, id: sipwire_sim::NodeId) -> Vec<(Duration, u32)> {
    world
        .node::<Sink>(id)
        .unwrap()
        .received()
        .iter()
        .map(|r| (r.at - world.start(), cseq_of(&r.payload).unwrap()))
        .collect()
}

#[test]
fn drop_next_drops_the_next_datagram_in_that_direction_only() {
    let (mut world, a, b) = pair();
    world.drop_next(a, b);
    world.drop_next(a, b);
    blast(&mut world, a, addr(2), 4, Transport::Udp);
    blast(&mut world, b, addr(1), 2, Transport::Udp);
    world.drive(100).unwrap();
    let got: Vec<u32> = received(&world, b).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, [2, 3]);
    assert_eq!(received(&world, a).len(), 2);
    let manual = world
        .trace()
        .filter(|r| matches!(r.kind, RecordKind::Dropped(_, DropReason::Manual)))
        .count();
    assert_eq!(manual, 2);
    assert!(world.ladder().contains("(dropped)"));
}

#[test]
fn drop_next_applies_to_reliable_transports_too() {
    let (mut world, a, b) = pair();
    world.drop_next(a, b);
    blast(&mut world, a, addr(2), 2, Transport::Tcp);
    world.drive(100).unwrap();
    assert_eq!(received(&world, b), [(Duration::from_millis(10), 1)]);
}

#[test]
fn delay_next_delays_exactly_one_datagram_by_exactly_that_much() {
    let (mut world, a, b) = pair();
    world.link(a, b, LinkConfig::new(Duration::from_millis(20)));
    world.delay_next(a, b, Duration::from_millis(135));
    blast(&mut world, a, addr(2), 2, Transport::Udp);
    world.drive(100).unwrap();
    assert_eq!(
        received(&world, b),
        [(Duration::from_millis(20), 1), (Duration::from_millis(155), 0)]
    );
}

#[test]
fn a_dropped_datagram_does_not_use_up_a_delay() {
    let (mut world, a, b) = pair();
    world.drop_next(a, b);
    world.delay_next(a, b, Duration::from_millis(5));
    blast(&mut world, a, addr(2), 3, Transport::Udp);
    world.drive(100).unwrap();
    assert_eq!(
        received(&world, b),
        [(Duration::from_millis(10), 2), (Duration::from_millis(15), 1)]
    );
}

#[test]
fn a_delayed_reliable_datagram_holds_back_the_ones_behind_it() {
    let (mut world, a, b) = pair();
    world.delay_next(a, b, Duration::from_millis(100));
    blast(&mut world, a, addr(2), 3, Transport::Tcp);
    world.drive(100).unwrap();
    let ms = Duration::from_millis(110);
    assert_eq!(received(&world, b), [(ms, 0), (ms, 1), (ms, 2)]);
}

#[test]
fn sends_to_nowhere_and_odd_payloads_do_not_panic() {
    let (mut world, a, b) = pair();
    let nowhere = "203.0.113.9:5060".parse().unwrap();
    let v6 = "[2001:db8::1]:5060".parse().unwrap();
    world.with_node(a, |sink: &mut Sink, _| {
        sink.send(nowhere, Transport::Udp, Bytes::from_static(b"OPTIONS sip:x SIP/2.0\r\n\r\n"));
        sink.send(v6, Transport::Udp, Bytes::new());
        sink.send(addr(2), Transport::Udp, Bytes::new());
        sink.send(addr(2), Transport::Ws, Bytes::from_static(b"\xff\x00\xfe garbage"));
        sink.send(addr(1), Transport::Udp, Bytes::from_static(b"\r\n\r\n"));
    });
    world.drive(100).unwrap();
    let no_route = world
        .trace()
        .filter(|r| matches!(r.kind, RecordKind::Dropped(_, DropReason::NoRoute)))
        .count();
    assert_eq!(no_route, 2);
    let at_b = world.node::<Sink>(b).unwrap().received();
    assert_eq!(at_b.len(), 2);
    assert!(at_b[0].payload.is_empty());
    assert!(at_b[0].message().is_none());
    // A node may send to itself.
    assert_eq!(world.node::<Sink>(a).unwrap().received().len(), 1);
    let ladder = world.ladder();
    assert!(ladder.contains("(no route to 203.0.113.9:5060)"), "{ladder}");
    assert!(ladder.contains("(empty)") && ladder.contains("(keep-alive)"), "{ladder}");
    // The IPv4-to-IPv6 datagram cannot be one packet and is left out of the capture; the
    // others are in it.
    assert!(world.pcap().len() > 24);
}

#[test]
fn unknown_ids_and_wrong_types_are_refused_quietly() {
    let (mut world, a, _) = pair();
    let mut other = World::new(0);
    other.add_node("x", addr(9), Sink::new());
    let second = other.add_node("y", addr(8), Sink::new());
    let stranger = other.add_node("z", addr(7), Sink::new());
    // `stranger` is index 2: no such node in `world`.
    assert!(world.node::<Sink>(stranger).is_none());
    assert!(world.name(stranger).is_none());
    assert!(world.with_node(stranger, |_: &mut Sink, _| ()).is_none());
    assert!(world.with_node(a, |_: &mut String, _| ()).is_none());
    world.link(a, stranger, LinkConfig::default());
    world.drop_next(stranger, a);
    world.delay_next(stranger, a, Duration::from_secs(1));
    world.partition(a, stranger);
    world.heal(a, stranger);
    world.flush(stranger);
    world.inject(stranger, Transmit::new(addr(1), Transport::Udp, Bytes::new(), None));
    assert!(world.take_events(stranger).is_empty());
    assert_eq!(world.events(stranger).count(), 0);
    // Ids are indices: one from another world names whatever node has that index here.
    assert_eq!(world.name(second), Some("b"));
    assert_eq!(world.drive(10), Ok(0));
}

#[test]
fn inject_sends_as_the_node() {
    let (mut world, a, b) = pair();
    world.inject(a, Transmit::new(addr(2), Transport::Udp, Bytes::from_static(b"hi"), None));
    world.drive(10).unwrap();
    let got = world.node::<Sink>(b).unwrap().received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].source, addr(1));
    assert_eq!(world.node_at(addr(1)), Some(a));
    assert_eq!(world.node_named("b"), Some(b));
}

#[test]
#[should_panic(expected = "two nodes at 192.0.2.1:5060")]
fn two_nodes_at_one_address_is_a_test_bug() {
    let (mut world, _, _) = pair();
    world.add_node("again", addr(1), Sink::new());
}
