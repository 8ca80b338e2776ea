//! Partitions cut both directions; heal restores them; `FailSends` tells the sender.

mod common;

use std::time::Duration;

use common::{addr, blast, options};
use sipwire::Transport;
use sipwire_sim::script::Sink;
use sipwire_sim::{DropReason, LinkConfig, PartitionMode, RecordKind, World};

fn pair() -> (World, sipwire_sim::NodeId, sipwire_sim::NodeId) {
    let mut world = World::new(41);
    let a = world.add_node("a", addr(1), Sink::new());
    let b = world.add_node("b", addr(2), Sink::new());
    (world, a, b)
}

fn drops(world: &World, reason: DropReason) -> usize {
    world
        .trace()
        .filter(|r| matches!(&r.kind, RecordKind::Dropped(_, why) if *why == reason))
        .count()
}

#[test]
fn a_partition_drops_both_ways_until_healed() {
    let (mut world, a, b) = pair();
    world.partition(a, b);
    assert!(world.is_partitioned(a, b) && world.is_partitioned(b, a));
    blast(&mut world, a, addr(2), 3, Transport::Udp);
    blast(&mut world, b, addr(1), 2, Transport::Udp);
    world.drive(100).unwrap();
    assert!(world.node::<Sink>(a).unwrap().received().is_empty());
    assert!(world.node::<Sink>(b).unwrap().received().is_empty());
    assert_eq!(drops(&world, DropReason::Partition), 5);
    // Silent: the senders learn nothing.
    assert!(world.node::<Sink>(a).unwrap().send_failures().is_empty());
    assert!(world.ladder().contains("(partitioned)"));

    world.heal(a, b);
    assert!(!world.is_partitioned(a, b));
    blast(&mut world, a, addr(2), 3, Transport::Udp);
    world.drive(100).unwrap();
    assert_eq!(world.node::<Sink>(b).unwrap().received().len(), 3);
}

#[test]
fn datagrams_in_flight_are_lost_when_the_partition_starts() {
    let (mut world, a, b) = pair();
    world.link(a, b, LinkConfig::new(Duration::from_millis(100)));
    blast(&mut world, a, addr(2), 1, Transport::Udp);
    world.run_for(Duration::from_millis(50));
    world.partition(a, b);
    world.drive(100).unwrap();
    assert!(world.node::<Sink>(b).unwrap().received().is_empty());
    let dropped: Vec<_> = world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Dropped(_, DropReason::Partition) => Some(r.at - world.start()),
            _ => None,
        })
        .collect();
    // Dropped when it would have arrived.
    assert_eq!(dropped, [Duration::from_millis(100)]);
}

#[test]
fn fail_sends_tells_the_sender_and_keeps_it_off_the_wire() {
    let (mut world, a, b) = pair();
    world.partition_with(a, b, PartitionMode::FailSends);
    blast(&mut world, a, addr(2), 2, Transport::Udp);
    world.drive(100).unwrap();
    let failures = world.node::<Sink>(a).unwrap().send_failures().to_vec();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].destination, addr(2));
    assert_eq!(failures[0].payload, options(0, addr(1), addr(2)));
    assert_eq!(drops(&world, DropReason::SendFailed), 2);
    assert!(world.node::<Sink>(b).unwrap().received().is_empty());
    // The capture holds only its 24-byte global header.
    assert_eq!(world.pcap().len(), 24);
}

#[test]
fn a_partition_leaves_other_pairs_alone() {
    let (mut world, a, b) = pair();
    let c = world.add_node("c", addr(3), Sink::new());
    world.partition(a, b);
    blast(&mut world, a, addr(3), 1, Transport::Udp);
    blast(&mut world, c, addr(2), 1, Transport::Udp);
    world.drive(100).unwrap();
    assert_eq!(world.node::<Sink>(c).unwrap().received().len(), 1);
    assert_eq!(world.node::<Sink>(b).unwrap().received().len(), 1);
}
