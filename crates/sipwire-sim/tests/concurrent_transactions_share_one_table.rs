//! Thousands of transactions at once in one table: a UAC starts 3 000 (INVITEs and
//! OPTIONS alternately) at the same instant towards one UAS. Every one is matched to its
//! own transaction on both sides, ends with its final response, and both tables drain —
//! over lossy UDP and over TCP.

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::Transport;
use sipwire::transaction::Target;
use sipwire_sim::layer::{Agent, AgentConfig, Answer, Outgoing};
use sipwire_sim::{LinkConfig, World};

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

fn burst(transport: Transport) {
    const N: usize = 3_000;
    let mut world = World::new(61);
    let answer = Answer::new(200).with_provisional(180).after(Duration::from_millis(200));
    let uas_config = AgentConfig::default().with_seed(1).with_invite(answer);
    let uas = world.add_node("uas", addr(2), Agent::new(addr(2), uas_config));
    let uac = world.add_node("uac", addr(1), Agent::new(addr(1), AgentConfig::default()));
    let link = LinkConfig::new(Duration::from_millis(20)).with_loss(0.2).with_duplicate(0.1);
    world.link(uac, uas, link);
    world.with_node(uac, |agent: &mut Agent, now| {
        let target = Target::new(addr(2), transport);
        for k in 0..N {
            let request =
                if k % 2 == 0 { Outgoing::invite(target) } else { Outgoing::options(target) };
            agent.schedule(now, request);
        }
    });
    world.drive(1_000_000).expect("the burst ends");

    let client = world.node::<Agent>(uac).unwrap();
    let server = world.node::<Agent>(uas).unwrap();
    assert_eq!(client.clients().len(), N);
    for c in client.clients() {
        assert_eq!(c.terminations, 1, "{transport}: #{} {c:?}", c.index);
        match (c.final_response(), c.timeout) {
            (Some((_, code)), None) => assert_eq!(code, 200, "{transport}: #{}", c.index),
            (None, Some(_)) => assert_eq!(transport, Transport::Udp, "a timeout over TCP"),
            other => panic!("{transport}: #{} ended {other:?}", c.index),
        }
    }
    assert!(server.servers().len() <= N);
    assert!(server.servers().all(|s| s.terminations == 1));
    assert!(client.is_idle() && server.is_idle(), "{transport}: the tables did not drain");
    assert!(client.refused().is_empty() && server.refused().is_empty());
}

#[test]
fn three_thousand_at_once_over_lossy_udp() {
    burst(Transport::Udp);
}

#[test]
fn three_thousand_at_once_over_tcp() {
    burst(Transport::Tcp);
}
