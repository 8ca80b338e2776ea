//! A request that reaches a UAS twice by two paths — same From tag, Call-ID and CSeq, two
//! branches — is a merged request (RFC 3261 §8.2.2.2): the layer flags the second copy,
//! and the agent answers it 482 Loop Detected while the first is answered as usual.

use std::net::SocketAddr;

use bytes::Bytes;
use sipwire::Transport;
use sipwire_sim::World;
use sipwire_sim::layer::{Agent, AgentConfig};
use sipwire_sim::script::Sink;

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

fn options(branch: &str) -> Bytes {
    Bytes::from(format!(
        "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{branch}\r\n\
         From: <sip:alice@192.0.2.1>;tag=a1\r\n\
         To: <sip:bob@192.0.2.2>\r\n\
         Call-ID: forked@192.0.2.1\r\n\
         CSeq: 7 OPTIONS\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

#[test]
fn the_second_copy_is_answered_482() {
    let mut world = World::new(51);
    let alice = world.add_node("alice", addr(1), Sink::new());
    let bob = world.add_node("bob", addr(2), Agent::new(addr(2), AgentConfig::default()));
    world.with_node(alice, |s: &mut Sink, _| {
        s.send(addr(2), Transport::Udp, options("path1"));
        s.send(addr(2), Transport::Udp, options("path2"));
    });
    world.drive(100).unwrap();
    let codes: Vec<u16> = world
        .node::<Sink>(alice)
        .unwrap()
        .received()
        .iter()
        .filter_map(|r| r.message()?.status())
        .collect();
    assert_eq!(codes, [200, 482]);
    let agent = world.node::<Agent>(bob).unwrap();
    let servers: Vec<_> = agent.servers().collect();
    assert_eq!(servers[1].merged_with, Some(servers[0].id));
    assert_eq!(servers[1].final_code(), Some(482));
    assert!(agent.is_idle());
}
