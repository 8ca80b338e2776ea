//! A send that fails (a `FailSends` partition: an ICMP unreachable, a refused connection)
//! is reported to the transaction that sent it: a client transaction ends at once
//! (RFC 3261 §17.1.4), a server transaction keeps its state (RFC 6026 §7.1) so that the
//! TU's retransmissions can get through once the path heals.

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::transaction::{LayerConfig, Target, TransactionLayer, TxEvent};
use sipwire::{HeaderName, Method, RequestBuilder, Transport};
use sipwire_sim::layer::{Agent, AgentConfig, Answer, Outgoing};
use sipwire_sim::script::Sink;
use sipwire_sim::{LinkConfig, PartitionMode, World};

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn a_bare_layer_hears_of_its_failed_send_and_ends_the_client_transaction() {
    let mut world = World::new(31);
    let client = world.add_node("client", addr(1), TransactionLayer::new(LayerConfig::default()));
    let peer = world.add_node("peer", addr(2), Sink::new());
    world.partition_with(client, peer, PartitionMode::FailSends);
    let options = RequestBuilder::new(&Method::Options, "sip:bob@192.0.2.2")
        .header(HeaderName::From, "<sip:alice@192.0.2.1>;tag=a1")
        .header(HeaderName::To, "<sip:bob@192.0.2.2>")
        .header(HeaderName::CallId, "unreachable@192.0.2.1")
        .cseq(1, &Method::Options)
        .max_forwards(70);
    let id = world
        .with_node(client, |layer: &mut TransactionLayer, now| {
            layer.send_request(now, options, Target::new(addr(2), Transport::Udp), "192.0.2.1")
        })
        .unwrap()
        .unwrap();
    let events: Vec<TxEvent> =
        world.take_events_as::<TxEvent>(client).into_iter().map(|(_, e)| e).collect();
    assert_eq!(events, [TxEvent::TransportError { id }, TxEvent::Terminated { id }]);
    assert!(world.node::<TransactionLayer>(client).unwrap().is_empty());
    assert!(world.is_idle(), "no timer is left running");
}

#[test]
fn an_agents_invite_fails_at_once_on_an_unreachable_peer() {
    let mut world = World::new(32);
    let alice = world.add_node("alice", addr(1), Agent::new(addr(1), AgentConfig::default()));
    let bob = world.add_node("bob", addr(2), Sink::new());
    world.partition_with(alice, bob, PartitionMode::FailSends);
    world.with_node(alice, |a: &mut Agent, now| {
        a.schedule(now, Outgoing::invite(Target::new(addr(2), Transport::Udp)));
    });
    world.drive(100).unwrap();
    let call = world.node::<Agent>(alice).unwrap().client(0).unwrap();
    assert_eq!(call.transport_error, Some(world.start()));
    assert_eq!(call.terminated_at, Some(world.start()));
    assert_eq!((call.finals(), call.timeout), (0, None));
    assert!(world.node::<Agent>(alice).unwrap().is_idle());
}

#[test]
fn a_server_keeps_its_state_through_failed_sends_and_its_2xx_gets_through_after_healing() {
    let mut world = World::new(33);
    let alice = world.add_node("alice", addr(1), Agent::new(addr(1), AgentConfig::default()));
    let answer = Answer::new(200).with_provisional(180).after(ms(1_000));
    let bob = world.add_node(
        "bob",
        addr(2),
        Agent::new(addr(2), AgentConfig::default().with_invite(answer)),
    );
    world.link(alice, bob, LinkConfig::new(ms(20)));
    world.with_node(alice, |a: &mut Agent, now| {
        a.schedule(now, Outgoing::invite(Target::new(addr(2), Transport::Udp)));
    });
    // The 180 arrives at 40 ms; the 200 OK, due at 1.02 s, and its resends at 1.52 and
    // 2.52 s fail; the one at 4.52 s goes through.
    world.run_until(world.start() + ms(500));
    world.partition_with(alice, bob, PartitionMode::FailSends);
    world.run_until(world.start() + ms(3_000));
    world.heal(alice, bob);
    world.drive(1_000).unwrap();

    let start = world.start();
    let answered = world.node::<Agent>(bob).unwrap().server(0).unwrap();
    assert_eq!(answered.transport_errors, 3);
    assert_eq!(answered.retransmitted_2xx, 3);
    assert_eq!(answered.acks.iter().map(|&t| t - start).collect::<Vec<_>>(), [ms(4_560)]);
    let call = world.node::<Agent>(alice).unwrap().client(0).unwrap();
    let seen: Vec<(Duration, u16)> = call.responses.iter().map(|&(t, c)| (t - start, c)).collect();
    assert_eq!(seen, [(ms(40), 180), (ms(4_540), 200)]);
    for node in [alice, bob] {
        assert!(world.node::<Agent>(node).unwrap().is_idle());
    }
}
