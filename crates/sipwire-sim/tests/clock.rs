//! The virtual clock: exact to the nanosecond, never backwards, only moved by the world.

mod common;

use std::time::Duration;

use common::{Requester, Ticker, addr};
use sipwire_sim::script::Sink;
use sipwire_sim::{RecordKind, World};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn an_empty_world_starts_at_its_start_and_idles() {
    let mut world = World::new(1);
    assert_eq!(world.now(), world.start());
    assert_eq!(world.elapsed(), Duration::ZERO);
    assert!(world.is_idle());
    assert!(!world.step());
    assert_eq!(world.now(), world.start());
    // Every world in a process shares the start instant.
    assert_eq!(World::new(2).start(), world.start());
}

#[test]
fn run_for_and_run_until_land_exactly_on_the_deadline() {
    let mut world = World::new(1);
    let start = world.now();
    let t = world.add_node(
        "t",
        addr(1),
        Ticker { next: start + ms(500), period: ms(500), fired: vec![] },
    );
    world.run_for(ms(1_234));
    assert_eq!(world.elapsed(), ms(1_234));
    let fired: Vec<Duration> =
        world.node::<Ticker>(t).unwrap().fired.iter().map(|&i| i - start).collect();
    assert_eq!(fired, [ms(500), ms(1_000)]);

    // A deadline exactly on a timer includes it.
    world.run_until(start + ms(1_500));
    assert_eq!(world.elapsed(), ms(1_500));
    assert_eq!(world.node::<Ticker>(t).unwrap().fired.len(), 3);

    // Nanosecond precision, and no going back.
    world.run_for(Duration::from_nanos(1));
    assert_eq!(world.elapsed(), ms(1_500) + Duration::from_nanos(1));
    world.run_until(start + ms(100));
    assert_eq!(world.elapsed(), ms(1_500) + Duration::from_nanos(1));
    world.run_for(Duration::ZERO);
    assert_eq!(world.elapsed(), ms(1_500) + Duration::from_nanos(1));
    assert_eq!(world.next_wake(), Some(start + ms(2_000)));
}

#[test]
fn step_jumps_to_the_next_deadline() {
    let mut world = World::new(1);
    let start = world.now();
    world.add_node(
        "t",
        addr(1),
        Ticker { next: start + ms(250), period: ms(1_000), fired: vec![] },
    );
    assert!(world.step());
    assert_eq!(world.elapsed(), ms(250));
    assert!(world.step());
    assert_eq!(world.elapsed(), ms(1_250));
}

#[test]
fn a_deadline_in_the_past_fires_now_without_moving_the_clock_back() {
    let mut world = World::new(1);
    let start = world.now();
    world.run_for(ms(700));
    let t = world.add_node(
        "t",
        addr(1),
        Ticker { next: start + ms(100), period: ms(1_000), fired: vec![] },
    );
    assert_eq!(world.next_wake(), Some(start + ms(700)));
    assert!(world.step());
    assert_eq!(world.elapsed(), ms(700));
    assert_eq!(world.node::<Ticker>(t).unwrap().fired, [start + ms(700)]);
}

#[test]
fn invite_into_silence_follows_timer_a_and_b_exactly() {
    let mut world = World::new(1);
    let start = world.now();
    let uac = world.add_node("uac", addr(1), Requester::new(addr(1), addr(2), start));
    world.add_node("uas", addr(2), Sink::new());
    world.drive(1_000).unwrap();
    let sent: Vec<Duration> = world
        .trace()
        .filter(|r| matches!(r.kind, RecordKind::Sent(_)))
        .map(|r| r.at - start)
        .collect();
    let expected: Vec<Duration> =
        [0, 500, 1_500, 3_500, 7_500, 15_500, 31_500].into_iter().map(ms).collect();
    assert_eq!(sent, expected);
    let events = world.take_events_as::<common::RequesterEvent>(uac);
    assert_eq!(events, [(start + ms(32_000), common::RequesterEvent::TimedOut)]);
    assert_eq!(world.elapsed(), ms(32_000));
}

#[test]
fn deliveries_at_one_instant_keep_their_sending_order() {
    let mut world = World::new(1);
    let a = world.add_node("a", addr(1), Sink::new());
    let b = world.add_node("b", addr(2), Sink::new());
    common::blast(&mut world, a, addr(2), 100, sipwire::Transport::Udp);
    world.drive(10).unwrap();
    let order: Vec<u32> = world
        .node::<Sink>(b)
        .unwrap()
        .received()
        .iter()
        .map(|r| common::cseq_of(&r.payload).unwrap())
        .collect();
    assert_eq!(order, (0..100).collect::<Vec<_>>());
}
