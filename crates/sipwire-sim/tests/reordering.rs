//! Reordering: held-back datagrams are overtaken; without impairments order is kept.

mod common;

use std::time::Duration;

use common::{Pinger, addr, cseq_of};
use sipwire_sim::script::Sink;
use sipwire_sim::{LinkConfig, World};

/// Sends `n` datagrams 1 ms apart over `config`; returns their CSeqs in arrival order.
fn arrival_order(seed: u64, n: u32, config: LinkConfig) -> (World, Vec<u32>) {
    let mut world = World::new(seed);
    let start = world.now();
    let a = world.add_node(
        "a",
        addr(1),
        Pinger::new(addr(1), addr(2), start, n, Duration::from_millis(1)),
    );
    let b = world.add_node("b", addr(2), Sink::new());
    world.link(a, b, config);
    world.drive(100_000).unwrap();
    let order = world
        .node::<Sink>(b)
        .unwrap()
        .received()
        .iter()
        .map(|r| cseq_of(&r.payload).unwrap())
        .collect();
    (world, order)
}

/// Datagrams that arrived after one sent later than them.
fn overtaken(order: &[u32]) -> usize {
    let mut highest = None;
    let mut late = 0;
    for &seq in order {
        if highest.is_some_and(|h| seq < h) {
            late += 1;
        }
        highest = highest.max(Some(seq));
    }
    late
}

#[test]
fn reordered_datagrams_are_overtaken() {
    let config = LinkConfig::default().with_reorder(0.1, Duration::from_millis(20));
    let (world, order) = arrival_order(31, 5_000, config);
    assert_eq!(order.len(), 5_000, "reordering loses nothing");
    let late = overtaken(&order) as f64 / 5_000.0;
    assert!((late - 0.1).abs() < 0.02, "overtaken share {late}");
    assert!(world.ladder().contains("(reordered)"));
}

#[test]
fn a_plain_link_keeps_order() {
    let (_, order) = arrival_order(32, 1_000, LinkConfig::new(Duration::from_millis(3)));
    assert_eq!(order, (0..1_000).collect::<Vec<_>>());
}

#[test]
fn jitter_alone_reorders_close_datagrams() {
    let config = LinkConfig::default().with_jitter(Duration::from_millis(10));
    let (_, order) = arrival_order(33, 1_000, config);
    assert!(overtaken(&order) > 100);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1_000).collect::<Vec<_>>());
}
