//! `drive` runs to idle, or says the world never gets there.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Ticker, addr};
use sipwire::Transport;
use sipwire_sim::script::{Scripted, Sink};
use sipwire_sim::{LinkConfig, World};

#[test]
fn an_idle_world_drives_in_zero_steps() {
    assert_eq!(World::new(1).drive(0), Ok(0));
    assert_eq!(World::new(1).drive(5), Ok(0));
}

#[test]
fn a_timer_re_armed_forever_is_not_idle() {
    let mut world = World::new(1);
    let start = world.now();
    world.add_node(
        "t",
        addr(1),
        Ticker { next: start, period: Duration::from_secs(1), fired: vec![] },
    );
    let err = world.drive(1_000).unwrap_err();
    assert_eq!(err.steps, 1_000);
    assert_eq!(err.elapsed, Duration::from_secs(999));
    assert_eq!(err.next_in, Some(Duration::from_secs(1)));
    assert!(err.to_string().contains("not idle after 1000 steps"), "{err}");
}

#[test]
fn nodes_talking_forever_over_zero_delay_links_are_not_idle() {
    let mut world = World::new(1);
    let echo = |act: &mut sipwire_sim::script::Actions<'_>, rx: &sipwire_sim::script::Received| {
        act.reply(rx, rx.payload.clone());
    };
    let a = world.add_node("a", addr(1), Scripted::new(echo));
    let b = world.add_node("b", addr(2), Scripted::new(echo));
    world.link(a, b, LinkConfig::new(Duration::ZERO));
    world.with_node(a, |n: &mut Scripted, _| {
        n.send(addr(2), Transport::Udp, Bytes::from_static(b"ping"))
    });
    let err = world.drive(500).unwrap_err();
    assert_eq!(err.elapsed, Duration::ZERO);
    assert_eq!(world.elapsed(), Duration::ZERO);
}

#[test]
#[should_panic(expected = "livelock")]
fn run_until_reports_a_livelock_instead_of_hanging() {
    let mut world = World::new(1);
    let echo = |act: &mut sipwire_sim::script::Actions<'_>, rx: &sipwire_sim::script::Received| {
        act.reply(rx, rx.payload.clone());
    };
    let a = world.add_node("a", addr(1), Scripted::new(echo));
    let b = world.add_node("b", addr(2), Scripted::new(echo));
    world.link(a, b, LinkConfig::new(Duration::ZERO));
    world.with_node(a, |n: &mut Scripted, _| {
        n.send(addr(2), Transport::Udp, Bytes::from_static(b"ping"))
    });
    world.run_for(Duration::from_secs(1));
}

#[test]
fn drive_counts_the_steps_to_idle() {
    let mut world = World::new(1);
    let a = world.add_node("a", addr(1), Sink::new());
    world.add_node("b", addr(2), Scripted::responder(&[200]));
    common::blast(&mut world, a, addr(2), 1, Transport::Udp);
    // One step delivers the request, one the response.
    assert_eq!(world.drive(100), Ok(2));
    assert!(world.is_idle());
    assert_eq!(world.elapsed(), Duration::from_millis(20));
}
