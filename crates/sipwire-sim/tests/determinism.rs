//! Same seed, same world: the trace, the ladder and the capture repeat byte for byte.

mod common;

use std::time::Duration;

use common::{Pinger, Requester, addr};
use sipwire_sim::script::Scripted;
use sipwire_sim::{Burst, LinkConfig, RecordKind, World};

/// A busy, lossy world: an INVITE retransmitted into a responder, and a stream of OPTIONS,
/// over links that lose, jitter, duplicate and reorder.
fn scenario(seed: u64) -> World {
    let mut world = World::new(seed);
    let start = world.now();
    let uac = world.add_node("uac", addr(1), Requester::new(addr(1), addr(2), start));
    let uas = world.add_node(
        "uas",
        addr(2),
        Scripted::delayed_responder(&[
            (Duration::ZERO, 100),
            (Duration::from_millis(300), 180),
            (Duration::from_secs(2), 486),
        ]),
    );
    let pinger = world.add_node(
        "pinger",
        addr(3),
        Pinger::new(addr(3), addr(2), start, 40, Duration::from_millis(7)),
    );
    let lossy = LinkConfig::new(Duration::from_millis(25))
        .with_jitter(Duration::from_millis(10))
        .with_loss(0.3)
        .with_duplicate(0.05)
        .with_reorder(0.05, Duration::from_millis(40));
    world.link(uac, uas, lossy);
    world.link(pinger, uas, lossy.with_burst(Burst::new(0.1, 0.4, 0.8)));
    world.drive(10_000).expect("the scenario ends");
    world
}

#[test]
fn same_seed_same_trace_ladder_and_pcap() {
    for seed in [0, 1, 7, 0xdead_beef] {
        let (a, b) = (scenario(seed), scenario(seed));
        assert!(a.trace().eq(b.trace()), "seed {seed}: traces differ");
        assert_eq!(a.ladder(), b.ladder(), "seed {seed}");
        assert_eq!(a.pcap(), b.pcap(), "seed {seed}");
        assert_eq!(a.elapsed(), b.elapsed(), "seed {seed}");
    }
}

#[test]
fn different_seeds_differ_under_loss() {
    let ladders: Vec<String> = (0..8).map(|seed| scenario(seed).ladder()).collect();
    for (i, a) in ladders.iter().enumerate() {
        for b in &ladders[i + 1..] {
            assert_ne!(a, b, "two seeds gave the same lossy run");
        }
    }
}

/// What the direction `a → b` did, without the world-wide datagram ids.
fn fates(world: &World, from: &str, to: &str) -> Vec<(Duration, &'static str, bytes::Bytes)> {
    let (from, to) = (world.node_named(from).unwrap(), world.node_named(to).unwrap());
    world
        .trace()
        .filter_map(|r| {
            let d = r.kind.datagram()?;
            if d.from != from || d.to != Some(to) {
                return None;
            }
            let what = match r.kind {
                RecordKind::Sent(_) => "sent",
                RecordKind::Delivered(_) => "delivered",
                RecordKind::Dropped(..) => "dropped",
                RecordKind::Duplicated(_) => "duplicated",
                _ => "other",
            };
            Some((r.at.duration_since(world.start()), what, d.payload.clone()))
        })
        .collect()
}

#[test]
fn adding_nodes_does_not_perturb_other_links() {
    let build = |extra: bool| {
        let mut world = World::new(99);
        let start = world.now();
        if extra {
            // Added first, so every later node gets another id.
            let x = world.add_node(
                "x",
                addr(10),
                Pinger::new(addr(10), addr(11), start, 50, Duration::from_millis(3)),
            );
            let y = world.add_node("y", addr(11), Scripted::responder(&[200]));
            world.link(x, y, LinkConfig::default().with_loss(0.5));
        }
        let a = world.add_node(
            "a",
            addr(1),
            Pinger::new(addr(1), addr(2), start, 200, Duration::from_millis(5)),
        );
        let b = world.add_node("b", addr(2), Scripted::responder(&[200]));
        world.link(
            a,
            b,
            LinkConfig::default().with_loss(0.4).with_jitter(Duration::from_millis(20)),
        );
        world.drive(100_000).unwrap();
        world
    };
    let (alone, crowded) = (build(false), build(true));
    assert_eq!(fates(&alone, "a", "b"), fates(&crowded, "a", "b"));
    assert_eq!(fates(&alone, "b", "a"), fates(&crowded, "b", "a"));
    assert!(!fates(&alone, "a", "b").is_empty());
}

#[test]
fn every_datagram_is_accounted_for_across_seeds() {
    for seed in 0..40 {
        let world = scenario(seed);
        let mut sent = 0;
        let mut copies = 0;
        let mut settled = 0;
        for r in world.trace() {
            match r.kind {
                RecordKind::Sent(_) => sent += 1,
                RecordKind::Duplicated(_) => copies += 1,
                RecordKind::Delivered(_) | RecordKind::Dropped(..) => settled += 1,
                _ => {}
            }
        }
        assert_eq!(sent + copies, settled, "seed {seed}: a datagram went missing");
        assert_eq!(world.in_flight(), 0, "seed {seed}");
    }
}
