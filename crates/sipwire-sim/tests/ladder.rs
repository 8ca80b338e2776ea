//! The ladder diagram: columns per node, arrows per datagram, marks for what went wrong.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{addr, invite};
use sipwire::Transport;
use sipwire_sim::script::{Scripted, Sink};
use sipwire_sim::{LinkConfig, World};

/// alice calls bob through a proxy-like relay; the relay's first forward is dropped.
fn three_nodes() -> World {
    let mut world = World::new(71);
    let alice = world.add_node("alice", addr(1), Sink::new());
    let relay = world.add_node(
        "relay",
        addr(2),
        Scripted::new(|act, rx| {
            let to = if rx.source == addr(1) { addr(3) } else { addr(1) };
            act.note(format!("relaying {} bytes", rx.payload.len()));
            act.send(to, rx.transport, rx.payload.clone());
        }),
    );
    let bob = world.add_node("bob", addr(3), Scripted::responder(&[486]));
    world.link(alice, relay, LinkConfig::new(Duration::from_millis(5)));
    world.drop_next(relay, bob);
    let call = invite(addr(1), addr(3));
    world.with_node(alice, |s: &mut Sink, _| s.send(addr(2), Transport::Udp, call.clone()));
    world.run_for(Duration::from_millis(500));
    world.with_node(alice, |s: &mut Sink, _| {
        s.send(addr(2), Transport::Udp, call);
        s.send(addr(3), Transport::Tcp, Bytes::from_static(b"\r\n\r\n"));
    });
    world.drive(100).unwrap();
    world
}

#[test]
fn a_three_node_ladder() {
    let ladder = three_nodes().ladder();
    // A raw string: a `\` line continuation would eat the header's leading spaces.
    let expected = r"
         alice                                relay                                 bob
           |                                    |                                    |
+0.000s    |---INVITE sip:bob@192.0.2.3:5060--->|                                    |
+0.005s    |                                    * relaying 242 bytes                 |
+0.005s    |                                    |---INVITE sip:bob@192...--x         |  (dropped)
+0.500s    |---INVITE sip:bob@192.0.2.3:5060--->|                                    |
+0.500s    |------------------------------(keep-alive)------------------------------>|  (TCP)
+0.505s    |                                    * relaying 242 bytes                 |
+0.505s    |                                    |---INVITE sip:bob@192.0.2.3:5060--->|
+0.515s    |                                    |<----------486 Busy Here------------|
+0.525s    |                                    * relaying 221 bytes                 |
+0.525s    |<----------486 Busy Here------------|                                    |
";
    let expected = expected.strip_prefix('\n').unwrap();
    assert_eq!(ladder, expected, "\n{ladder}");
}

#[test]
fn lifelines_stay_in_their_columns_and_lost_answers_point_back() {
    let mut world = World::new(72);
    let caller = world.add_node("a-rather-long-node-name", addr(1), Sink::new());
    let callee = world.add_node("b", addr(2), Scripted::responder(&[100, 180, 200]));
    world.link(caller, callee, LinkConfig::default().with_loss(0.5));
    for _ in 0..6 {
        world.with_node(caller, |s: &mut Sink, _| {
            s.send(addr(2), Transport::Udp, invite(addr(1), addr(2)));
        });
        world.run_for(Duration::from_millis(500));
    }
    let ladder = world.ladder();
    let lines: Vec<&str> = ladder.lines().collect();
    let columns: Vec<usize> = lines[1].match_indices('|').map(|(i, _)| i).collect();
    assert_eq!(columns.len(), 2);
    assert!(lines[0].contains("a-rather-long-node-name"));
    for line in &lines[2..] {
        assert!(line.starts_with('+'), "{line}");
        let at = |i: usize| line.as_bytes().get(i).copied();
        for &c in &columns {
            assert!(matches!(at(c), Some(b'|' | b'*')), "column {c} broken in {line:?}\n{ladder}");
        }
    }
    // Lost responses: the arrow starts at the responder and stops short with an `x`.
    assert!(lines.iter().any(|l| l.contains("x---") && l.ends_with("(lost)")), "{ladder}");
    assert!(lines.iter().any(|l| l.contains("--x") && l.ends_with("(lost)")), "{ladder}");
}
