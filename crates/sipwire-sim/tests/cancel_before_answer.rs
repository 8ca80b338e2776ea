//! A CANCEL that reaches the UAS before its final response: the CANCEL is answered 200,
//! the INVITE 487 (RFC 3261 §9.2), the 487 is ACKed by the client transaction, and the
//! answer the UAS had planned never goes out.

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::transaction::Target;
use sipwire::{Method, Transport};
use sipwire_sim::layer::{Agent, AgentConfig, Answer, Outgoing};
use sipwire_sim::{LinkConfig, RecordKind, World};

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn the_invite_gets_487_and_the_cancel_200() {
    let mut world = World::new(21);
    let alice = world.add_node("alice", addr(1), Agent::new(addr(1), AgentConfig::default()));
    let late = Answer::new(200).with_provisional(180).after(ms(5_000));
    let bob = world.add_node(
        "bob",
        addr(2),
        Agent::new(addr(2), AgentConfig::default().with_invite(late)),
    );
    world.link(alice, bob, LinkConfig::new(ms(20)));
    world.with_node(alice, |a: &mut Agent, now| {
        let call = Outgoing::invite(Target::new(addr(2), Transport::Udp)).cancel_after(ms(10));
        a.schedule(now, call);
    });
    world.drive(1_000).unwrap();
    let start = world.start();

    let alice_agent = world.node::<Agent>(alice).unwrap();
    let invite = alice_agent.client(0).unwrap();
    let since = |rs: &[(std::time::Instant, u16)]| -> Vec<(Duration, u16)> {
        rs.iter().map(|&(at, code)| (at - start, code)).collect()
    };
    // 180 at 40 ms; CANCEL at 50 ms reaches bob at 70 ms; 200 and 487 back at 90 ms.
    assert_eq!(since(&invite.responses), [(ms(40), 180), (ms(90), 487)]);
    let cancel = alice_agent.client(invite.cancel.expect("a CANCEL was sent")).unwrap();
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.cancels, Some(0));
    assert_eq!(since(&cancel.responses), [(ms(90), 200)]);
    assert_eq!(invite.acks_sent, 0, "the transaction ACKs a 487, not the TU");

    let bob_agent = world.node::<Agent>(bob).unwrap();
    assert_eq!(bob_agent.requests_for(&invite.call_id, invite.cseq, &Method::Invite), 1);
    assert_eq!(bob_agent.requests_for(&invite.call_id, invite.cseq, &Method::Cancel), 1);
    let servers: Vec<_> = bob_agent.servers().collect();
    assert_eq!(servers.len(), 2);
    assert!(servers[0].cancelled);
    assert_eq!(since(&servers[0].sent), [(ms(20), 180), (ms(70), 487)]);
    assert_eq!(servers[1].cancels, Some(servers[0].id));
    assert_eq!(since(&servers[1].sent), [(ms(70), 200)]);
    let oks_to_invite = world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Sent(d) => sipwire::Message::parse(d.payload.clone()).ok(),
            _ => None,
        })
        .filter(|m| m.status() == Some(200) && m.cseq().is_ok_and(|c| c.method == Method::Invite))
        .count();
    assert_eq!(oks_to_invite, 0, "the planned 200 never goes out");
    for node in [alice, bob] {
        let agent = world.node::<Agent>(node).unwrap();
        assert!(agent.is_idle() && agent.refused().is_empty());
    }
}

#[test]
fn a_cancel_after_the_answer_is_refused_by_the_layer() {
    let mut world = World::new(22);
    let alice = world.add_node("alice", addr(1), Agent::new(addr(1), AgentConfig::default()));
    let quick = Answer::new(486).with_provisional(180).after(ms(100));
    let bob = world.add_node(
        "bob",
        addr(2),
        Agent::new(addr(2), AgentConfig::default().with_invite(quick)),
    );
    world.link(alice, bob, LinkConfig::new(ms(20)));
    world.with_node(alice, |a: &mut Agent, now| {
        let call = Outgoing::invite(Target::new(addr(2), Transport::Udp)).cancel_after(ms(500));
        a.schedule(now, call);
    });
    world.drive(1_000).unwrap();
    let invite = world.node::<Agent>(alice).unwrap().client(0).unwrap();
    assert_eq!(invite.final_response().map(|f| f.1), Some(486));
    assert_eq!(invite.cancel, None);
    assert_eq!(invite.cancel_refused, Some(sipwire::transaction::TxError::AlreadyAnswered));
    assert_eq!(world.node::<Agent>(bob).unwrap().servers().len(), 1, "no CANCEL on the wire");
}
