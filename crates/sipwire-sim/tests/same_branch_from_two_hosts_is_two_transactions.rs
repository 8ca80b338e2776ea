//! Server transactions are keyed on the branch *and* the Via sent-by (RFC 3261
//! §17.2.3): three UACs whose layers share a seed — so they draw the very same branches —
//! from two hosts and two ports, over IPv4 and IPv6, calling one UAS at the same instants,
//! make three separate sets of transactions, each answered on its own.

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::transaction::Target;
use sipwire::{Method, Transport};
use sipwire_sim::layer::{Agent, AgentConfig, Outgoing};
use sipwire_sim::{LinkConfig, World};

fn same_seed_callers(uacs: &[&str], uas: &str) {
    let uas: SocketAddr = uas.parse().unwrap();
    let mut world = World::new(71);
    let bob = world.add_node("bob", uas, Agent::new(uas, AgentConfig::default().with_seed(99)));
    let mut callers = Vec::new();
    for (i, me) in uacs.iter().enumerate() {
        let me: SocketAddr = me.parse().unwrap();
        let config = AgentConfig::default().with_seed(5).with_user("caller");
        let uac = world.add_node(&format!("uac{i}"), me, Agent::new(me, config));
        world.link(uac, bob, LinkConfig::new(Duration::from_millis(20)).with_loss(0.2));
        world.with_node(uac, |agent: &mut Agent, now| {
            agent.schedule(now, Outgoing::invite(Target::new(uas, Transport::Udp)));
            agent.schedule(now, Outgoing::options(Target::new(uas, Transport::Udp)));
        });
        callers.push(uac);
    }
    world.drive(100_000).unwrap();

    let branches: Vec<Option<String>> = callers
        .iter()
        .map(|&c| world.node::<Agent>(c).unwrap().client(0).unwrap().branch.clone())
        .collect();
    assert!(branches.windows(2).all(|w| w[0] == w[1]), "same seed, same branch: {branches:?}");
    for &c in &callers {
        let agent = world.node::<Agent>(c).unwrap();
        for call in agent.clients() {
            assert_eq!(call.final_response().map(|f| f.1), Some(200), "{call:?}");
            if call.method == Method::Invite {
                assert_eq!(call.acks_sent as usize, call.finals(), "one ACK per 2xx");
            } else {
                assert_eq!(call.finals(), 1);
            }
        }
        assert!(agent.is_idle());
    }
    let server = world.node::<Agent>(bob).unwrap();
    let invites = server.servers().filter(|s| s.method == Method::Invite).count();
    assert_eq!(invites, uacs.len(), "one INVITE server transaction per caller");
    assert_eq!(server.servers().len(), 2 * uacs.len());
    assert!(server.is_idle());
}

#[test]
fn ipv4_two_hosts_and_two_ports() {
    same_seed_callers(&["192.0.2.1:5060", "192.0.2.3:5060", "192.0.2.1:5070"], "192.0.2.2:5060");
}

#[test]
fn ipv6_two_hosts_and_two_ports() {
    same_seed_callers(
        &["[2001:db8::1]:5060", "[2001:db8::3]:5060", "[2001:db8::1]:5070"],
        "[2001:db8::2]:5060",
    );
}
