//! A duplicating link delivers some datagrams twice, and says so in the trace.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{addr, blast, cseq_of};
use sipwire::Transport;
use sipwire_sim::script::Sink;
use sipwire_sim::{LinkConfig, RecordKind, World};

#[test]
fn duplicates_arrive_twice_at_about_the_configured_rate() {
    const N: u32 = 10_000;
    let mut world = World::new(21);
    let a = world.add_node("a", addr(1), Sink::new());
    let b = world.add_node("b", addr(2), Sink::new());
    world.link(
        a,
        b,
        LinkConfig::default().with_duplicate(0.1).with_jitter(Duration::from_millis(5)),
    );
    blast(&mut world, a, addr(2), N, Transport::Udp);
    world.drive(100_000).unwrap();

    let duplicated: Vec<u64> = world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Duplicated(d) => Some(d.id),
            _ => None,
        })
        .collect();
    let rate = duplicated.len() as f64 / f64::from(N);
    assert!((rate - 0.1).abs() < 0.02, "duplication rate {rate}");

    let copies = world
        .trace()
        .filter(|r| matches!(&r.kind, RecordKind::Delivered(d) if d.duplicate))
        .count();
    assert_eq!(copies, duplicated.len());

    let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
    for r in world.node::<Sink>(b).unwrap().received() {
        *seen.entry(cseq_of(&r.payload).unwrap()).or_default() += 1;
    }
    assert_eq!(seen.len(), N as usize, "every datagram arrived at least once");
    assert_eq!(seen.values().filter(|&&n| n == 2).count(), duplicated.len());
    assert!(seen.values().all(|&n| n <= 2));
}

#[test]
fn the_ladder_marks_duplicates() {
    let mut world = World::new(22);
    let a = world.add_node("a", addr(1), Sink::new());
    let b = world.add_node("b", addr(2), Sink::new());
    world.link(a, b, LinkConfig::default().with_duplicate(1.0));
    blast(&mut world, a, addr(2), 1, Transport::Udp);
    world.drive(10).unwrap();
    assert_eq!(world.node::<Sink>(b).unwrap().received().len(), 2);
    assert!(world.ladder().contains("(duplicated)"), "{}", world.ladder());
}
