//! Random loss happens at about the configured rate, and only on UDP.

mod common;

use common::{addr, blast, cseq_of};
use sipwire::Transport;
use sipwire_sim::script::Sink;
use sipwire_sim::{DropReason, LinkConfig, RecordKind, World};

const N: u32 = 20_000;

/// Sends `N` datagrams over a link with `loss` and returns (lost, received).
fn run(seed: u64, loss: f64, transport: Transport) -> (usize, usize) {
    let mut world = World::new(seed);
    let a = world.add_node("a", addr(1), Sink::new());
    let b = world.add_node("b", addr(2), Sink::new());
    world.link(a, b, LinkConfig::default().with_loss(loss));
    blast(&mut world, a, addr(2), N, transport);
    world.drive(10).unwrap();
    let lost = world
        .trace()
        .filter(|r| matches!(r.kind, RecordKind::Dropped(_, DropReason::Loss)))
        .count();
    let received = world.node::<Sink>(b).unwrap().received().len();
    (lost, received)
}

#[test]
fn loss_rate_is_about_as_configured() {
    for (seed, loss) in [(1, 0.05), (2, 0.2), (3, 0.5), (4, 0.9)] {
        let (lost, received) = run(seed, loss, Transport::Udp);
        assert_eq!(lost + received, N as usize);
        let rate = lost as f64 / f64::from(N);
        // The standard deviation is at most 0.0036 here: 0.02 is over five of them.
        assert!((rate - loss).abs() < 0.02, "seed {seed}: configured {loss}, measured {rate}");
    }
}

#[test]
fn no_loss_and_total_loss() {
    assert_eq!(run(5, 0.0, Transport::Udp), (0, N as usize));
    assert_eq!(run(5, 1.0, Transport::Udp), (N as usize, 0));
    // Out-of-range and NaN probabilities are clamped, not panics.
    assert_eq!(run(5, -3.0, Transport::Udp), (0, N as usize));
    assert_eq!(run(5, f64::NAN, Transport::Udp), (0, N as usize));
    assert_eq!(run(5, 7.0, Transport::Udp), (N as usize, 0));
}

#[test]
fn reliable_transports_are_never_lost_and_stay_in_order() {
    let mut world = World::new(6);
    let a = world.add_node("a", addr(1), Sink::new());
    let b = world.add_node("b", addr(2), Sink::new());
    let jittery = LinkConfig::default()
        .with_loss(0.5)
        .with_duplicate(0.5)
        .with_reorder(0.5, std::time::Duration::from_millis(100))
        .with_jitter(std::time::Duration::from_millis(30));
    world.link(a, b, jittery);
    blast(&mut world, a, addr(2), 500, Transport::Tcp);
    world.drive(1_000).unwrap();
    let got: Vec<u32> = world
        .node::<Sink>(b)
        .unwrap()
        .received()
        .iter()
        .map(|r| cseq_of(&r.payload).unwrap())
        .collect();
    assert_eq!(got, (0..500).collect::<Vec<_>>());
    assert!(
        world.node::<Sink>(b).unwrap().received().iter().all(|r| r.transport == Transport::Tcp)
    );
}
