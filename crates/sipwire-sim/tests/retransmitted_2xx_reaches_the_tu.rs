//! RFC 6026: a 2xx retransmitted while the INVITE client transaction is in Accepted goes
//! up to the TU, which ACKs it again; the UAS's TU retransmits its 2xx (RFC 3261
//! §13.3.1.4) until an ACK reaches it. Here the first ACK is lost, so the 200 OK crosses
//! twice and is ACKed twice.

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::Transport;
use sipwire::transaction::Target;
use sipwire_sim::layer::{Agent, AgentConfig, Answer, Outgoing};
use sipwire_sim::{LinkConfig, RecordKind, World};

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn a_lost_ack_brings_the_2xx_back_to_the_tu_which_acks_again() {
    let mut world = World::new(11);
    let alice = world.add_node("alice", addr(1), Agent::new(addr(1), AgentConfig::default()));
    let config = AgentConfig::default().with_invite(Answer::new(200));
    let bob = world.add_node("bob", addr(2), Agent::new(addr(2), config));
    world.link(alice, bob, LinkConfig::new(ms(20)));
    world.with_node(alice, |a: &mut Agent, now| {
        a.schedule(now, Outgoing::invite(Target::new(addr(2), Transport::Udp)));
    });
    // INVITE at 0, 200 OK at 20 ms, ACK at 40 ms: lose that ACK.
    world.run_until(world.start() + ms(30));
    world.drop_next(alice, bob);
    world.drive(1_000).unwrap();

    let start = world.start();
    let oks: Vec<Duration> = world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Sent(d) if d.from == bob && d.payload.starts_with(b"SIP/2.0 200") => {
                Some(r.at - start)
            }
            _ => None,
        })
        .collect();
    assert_eq!(oks, [ms(20), ms(520)], "the UAS TU resends its 2xx after T1, then stops");

    let call = world.node::<Agent>(alice).unwrap().client(0).unwrap().clone();
    let seen: Vec<(Duration, u16)> =
        call.responses.iter().map(|&(at, c)| (at - start, c)).collect();
    assert_eq!(seen, [(ms(40), 200), (ms(540), 200)], "both 2xx reach the TU");
    assert_eq!(call.acks_sent, 2);
    assert_eq!(call.terminated_at.map(|t| t - start), Some(ms(40) + ms(32_000)), "Timer M");

    let answered = world.node::<Agent>(bob).unwrap().server(0).unwrap().clone();
    assert_eq!(answered.retransmitted_2xx, 1);
    assert_eq!(answered.acks.iter().map(|&t| t - start).collect::<Vec<_>>(), [ms(560)]);
    assert!(!answered.no_ack);
    assert_eq!(answered.terminated_at.map(|t| t - start), Some(ms(20) + ms(32_000)), "Timer L");
    for node in [alice, bob] {
        assert!(world.node::<Agent>(node).unwrap().is_idle());
    }
}

#[test]
fn without_any_ack_the_uas_gives_up_after_64_t1() {
    let mut world = World::new(12);
    let alice = world.add_node("alice", addr(1), Agent::new(addr(1), AgentConfig::default()));
    let config = AgentConfig::default().with_invite(Answer::new(200));
    let bob = world.add_node("bob", addr(2), Agent::new(addr(2), config));
    world.link(alice, bob, LinkConfig::new(ms(20)));
    world.with_node(alice, |a: &mut Agent, now| {
        a.schedule(now, Outgoing::invite(Target::new(addr(2), Transport::Udp)));
    });
    // The 200 OK reaches alice at 40 ms and her ACK leaves; from 45 ms on the two are cut
    // off, that ACK included, so no ACK ever reaches bob.
    world.run_until(world.start() + ms(45));
    world.partition(alice, bob);
    world.drive(1_000).unwrap();

    let start = world.start();
    let answered = world.node::<Agent>(bob).unwrap().server(0).unwrap().clone();
    // 2xx at 0.02, then T1 doubling up to T2: 0.52, 1.52, 3.52, 7.52, 11.52 … 31.52 s.
    assert_eq!(answered.retransmitted_2xx, 10);
    assert!(answered.no_ack && answered.acks.is_empty());
    let l = answered.terminated_at.map(|t| t - start);
    assert_eq!(l, Some(ms(20) + ms(32_000)), "the TU gives up as Timer L fires");
    assert_eq!(world.now() - start, ms(40) + ms(32_000), "and alice's Timer M ends the run");
    let call = world.node::<Agent>(alice).unwrap().client(0).unwrap();
    assert_eq!(call.finals(), 1, "only the first 2xx got through");
}
