//! Two real transaction layers on a lossy link, run twice from the same seed, draw the
//! same ladder and write the same capture, byte for byte: the layers draw their branches
//! from their configured seeds and read no clock, and the world draws everything else
//! from its own.

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::transaction::Target;
use sipwire::{Method, Transport};
use sipwire_sim::layer::{Agent, AgentConfig, Answer, Outgoing};
use sipwire_sim::{LinkConfig, World};

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

fn bob_answers(request: &sipwire::Message) -> Answer {
    let busy = request.request_uri_str().is_some_and(|uri| uri.starts_with("sip:busy@"));
    match request.method() {
        Some(Method::Invite) => Answer::new(if busy { 486 } else { 200 })
            .with_provisional(180)
            .after(Duration::from_secs(1)),
        _ => Answer::new(200),
    }
}

/// The example's calls — 486, 200 with ACK, OPTIONS, and a CANCELled INVITE — over a link
/// that loses, duplicates and reorders. `layer_seed` seeds both layers.
fn calls(seed: u64, layer_seed: u64) -> World {
    let mut world = World::new(seed);
    let alice_config = AgentConfig::default().with_user("alice").with_seed(layer_seed);
    let bob_config = AgentConfig::default().with_user("bob").with_seed(layer_seed + 1);
    let alice = world.add_node("alice", addr(1), Agent::new(addr(1), alice_config));
    let bob =
        world.add_node("bob", addr(2), Agent::new(addr(2), bob_config).with_policy(bob_answers));
    let lossy = LinkConfig::new(Duration::from_millis(20))
        .with_jitter(Duration::from_millis(10))
        .with_loss(0.3)
        .with_duplicate(0.1)
        .with_reorder(0.1, Duration::from_millis(40));
    world.link(alice, bob, lossy);
    let bob_udp = Target::new(addr(2), Transport::Udp);
    world.with_node(alice, |agent: &mut Agent, now| {
        let s = Duration::from_secs;
        agent.schedule(now, Outgoing::invite(bob_udp).to_user("busy"));
        agent.schedule(now + s(3), Outgoing::invite(bob_udp).to_user("bob"));
        agent.schedule(now + s(6), Outgoing::options(bob_udp).to_user("bob"));
        let cancelled = Outgoing::invite(bob_udp).to_user("bob").cancel_after(s(0));
        agent.schedule(now + s(8), cancelled);
    });
    world.drive(10_000).expect("the calls end");
    world
}

#[test]
fn same_seed_same_ladder_and_capture() {
    for seed in [0, 1, 2, 42, 0xdead_beef] {
        let (a, b) = (calls(seed, seed), calls(seed, seed));
        assert!(a.trace().eq(b.trace()), "seed {seed}: traces differ");
        assert_eq!(a.ladder(), b.ladder(), "seed {seed}");
        assert_eq!(a.pcap(), b.pcap(), "seed {seed}");
        assert_eq!(a.elapsed(), b.elapsed(), "seed {seed}");
        let ladder = a.ladder();
        // Real layers at work, whatever the losses: the TUs' events are in the ladder.
        for needle in ["new INVITE", "INVITE got", "new OPTIONS", "terminated"] {
            assert!(ladder.contains(needle), "seed {seed}: no {needle:?} in\n{ladder}");
        }
    }
}

#[test]
fn another_seed_draws_another_run() {
    let ladders: Vec<String> = (0..6).map(|seed| calls(seed, seed).ladder()).collect();
    for (i, a) in ladders.iter().enumerate() {
        for b in &ladders[i + 1..] {
            assert_ne!(a, b, "two seeds gave the same lossy run");
        }
    }
}

#[test]
fn the_layer_seed_alone_changes_the_branches_on_the_wire() {
    let (a, b) = (calls(5, 1), calls(5, 2));
    assert_ne!(a.pcap(), b.pcap(), "the layers' seeds must reach the bytes");
}
