//! Gilbert–Elliott loss comes in bursts, at the chain's long-run rate.

mod common;

use common::{addr, blast, dropped_ids};
use sipwire::Transport;
use sipwire_sim::script::Sink;
use sipwire_sim::{Burst, LinkConfig, World};

const N: u32 = 40_000;

/// Returns the loss rate and the mean length of runs of consecutive losses.
fn run(seed: u64, config: LinkConfig) -> (f64, f64) {
    let mut world = World::new(seed);
    let a = world.add_node("a", addr(1), Sink::new());
    let b = world.add_node("b", addr(2), Sink::new());
    world.link(a, b, config);
    blast(&mut world, a, addr(2), N, Transport::Udp);
    world.drive(10).unwrap();
    let lost = dropped_ids(&world);
    let mut runs = 0;
    let mut previous = None;
    for &id in &lost {
        if previous.is_none_or(|p| p + 1 != id) {
            runs += 1;
        }
        previous = Some(id);
    }
    (lost.len() as f64 / f64::from(N), lost.len() as f64 / f64::from(runs.max(1)))
}

#[test]
fn bursts_are_long_and_the_rate_matches_the_chain() {
    let burst = Burst::new(0.05, 0.25, 1.0);
    let expected = burst.mean_loss(0.0);
    assert!((expected - 1.0 / 6.0).abs() < 1e-12);
    let (rate, mean_run) = run(11, LinkConfig::default().with_burst(burst));
    // Bursts make the rate noisier than independent loss; 0.03 is still several sigma.
    assert!((rate - expected).abs() < 0.03, "expected {expected}, measured {rate}");
    // Runs in the bad state last 1 / p_leave_bad = 4 datagrams on average.
    assert!((3.0..5.0).contains(&mean_run), "mean burst length {mean_run}");

    // Independent loss at the same rate: runs barely longer than one.
    let (rate, mean_run) = run(11, LinkConfig::default().with_loss(expected));
    assert!((rate - expected).abs() < 0.02);
    assert!(mean_run < 1.5, "independent losses clumped: {mean_run}");
}

#[test]
fn good_state_loss_adds_to_bad_state_loss() {
    let burst = Burst::new(0.02, 0.5, 0.5);
    let expected = burst.mean_loss(0.1);
    let (rate, _) = run(12, LinkConfig::default().with_loss(0.1).with_burst(burst));
    assert!((rate - expected).abs() < 0.02, "expected {expected}, measured {rate}");
}

#[test]
fn a_chain_that_never_enters_the_bad_state_loses_nothing() {
    let (rate, _) = run(13, LinkConfig::default().with_burst(Burst::new(0.0, 0.5, 1.0)));
    assert_eq!(rate, 0.0);
}
