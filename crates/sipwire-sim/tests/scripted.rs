//! The ready-made nodes: `Scripted` answers by closure, `Sink` records; tests reach them
//! through `with_node`, `node_mut` and the event queue.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{addr, invite};
use sipwire::{Method, Transport};
use sipwire_sim::script::{Note, Scripted, Sink};
use sipwire_sim::{RecordKind, World};

fn statuses(world: &World, id: sipwire_sim::NodeId) -> Vec<(Duration, u16)> {
    world
        .node::<Sink>(id)
        .unwrap()
        .received()
        .iter()
        .map(|r| (r.at - world.start(), r.message().unwrap().status().unwrap()))
        .collect()
}

#[test]
fn a_delayed_responder_answers_on_time_with_valid_responses() {
    let mut world = World::new(61);
    let uac = world.add_node("uac", addr(1), Sink::new());
    world.add_node(
        "uas",
        addr(2),
        Scripted::delayed_responder(&[
            (Duration::ZERO, 100),
            (Duration::from_millis(300), 180),
            (Duration::from_secs(2), 486),
        ]),
    );
    world.with_node(uac, |s: &mut Sink, _| {
        s.send(addr(2), Transport::Udp, invite(addr(1), addr(2)))
    });
    world.drive(100).unwrap();
    let ms = Duration::from_millis;
    assert_eq!(statuses(&world, uac), [(ms(20), 100), (ms(320), 180), (ms(2_020), 486)]);
    let received = world.node::<Sink>(uac).unwrap().received();
    let busy = received[2].message().unwrap();
    assert_eq!(busy.to_header().unwrap().tag(), Some("scripted"));
    assert_eq!(busy.cseq().unwrap().method, Method::Invite);
    assert_eq!(busy.top_via().unwrap().branch(), Some("z9hG4bKinvite1"));
    assert_eq!(received[0].message().unwrap().to_header().unwrap().tag(), None);
}

#[test]
fn a_responder_ignores_ack_responses_and_garbage() {
    let mut world = World::new(62);
    let peer = world.add_node("peer", addr(1), Sink::new());
    let uas = world.add_node("uas", addr(2), Scripted::responder(&[200]));
    let ack =
        String::from_utf8(invite(addr(1), addr(2)).to_vec()).unwrap().replace("INVITE", "ACK");
    world.with_node(peer, |s: &mut Sink, _| {
        s.send(addr(2), Transport::Udp, Bytes::from(ack));
        s.send(addr(2), Transport::Udp, Bytes::from_static(b"SIP/2.0 200 OK\r\n\r\n"));
        s.send(addr(2), Transport::Udp, Bytes::from_static(b"\x00garbage"));
    });
    world.drive(100).unwrap();
    assert!(world.node::<Sink>(peer).unwrap().received().is_empty());
    assert_eq!(world.node::<Scripted>(uas).unwrap().received().len(), 3);
}

#[test]
fn notes_are_events_in_the_trace_and_in_the_queue() {
    let mut world = World::new(63);
    let peer = world.add_node("peer", addr(1), Sink::new());
    let noter = world.add_node(
        "noter",
        addr(2),
        Scripted::new(|act, rx| {
            act.note(format!("got {} bytes", rx.payload.len()));
            act.send_after(Duration::from_secs(1), rx.source, rx.transport, "later");
        }),
    );
    world.with_node(peer, |s: &mut Sink, _| {
        s.send(addr(2), Transport::Udp, Bytes::from_static(b"hello"))
    });
    world.drive(100).unwrap();

    let texts: Vec<&str> = world.events(noter).map(|e| e.text()).collect();
    assert_eq!(texts, ["got 5 bytes"]);
    assert!(
        world
            .trace()
            .any(|r| matches!(&r.kind, RecordKind::Event { text, .. } if text == "got 5 bytes"))
    );
    assert!(world.ladder().contains("* got 5 bytes"));
    let events = world.take_events_as::<Note>(noter);
    assert_eq!(events, [(world.start() + Duration::from_millis(10), Note("got 5 bytes".into()))]);
    assert_eq!(world.events(noter).count(), 0);
    assert_eq!(
        world.node::<Sink>(peer).unwrap().received()[0].at - world.start(),
        Duration::from_millis(1_020)
    );
}

#[test]
fn events_of_another_type_stay_queued() {
    let mut world = World::new(64);
    let noter = world.add_node("n", addr(1), Scripted::new(|act, _| act.note("x")));
    world.inject(noter, sipwire::Transmit::new(addr(1), Transport::Udp, Bytes::new(), None));
    world.drive(10).unwrap();
    assert!(world.take_events_as::<String>(noter).is_empty());
    let events = world.take_events(noter);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].node(), noter);
    assert_eq!(events[0].downcast_ref::<Note>(), Some(&Note("x".into())));
}

#[test]
fn node_mut_then_flush_sends_at_the_current_time() {
    let mut world = World::new(65);
    let a = world.add_node("a", addr(1), Scripted::responder(&[]));
    let b = world.add_node("b", addr(2), Sink::new());
    world.run_for(Duration::from_millis(250));
    world.node_mut::<Scripted>(a).unwrap().send(
        addr(2),
        Transport::Udp,
        Bytes::from_static(b"one"),
    );
    // Nothing moves until the node is drained.
    assert!(world.is_idle());
    world.flush(a);
    assert_eq!(world.in_flight(), 1);
    let at = world.now() + Duration::from_secs(1);
    world.node_mut::<Scripted>(a).unwrap().send_at(
        at,
        addr(2),
        Transport::Udp,
        Bytes::from_static(b"two"),
    );
    world.drive(10).unwrap();
    let got: Vec<(Duration, &[u8])> = world
        .node::<Sink>(b)
        .unwrap()
        .received()
        .iter()
        .map(|r| (r.at - world.start(), &r.payload[..]))
        .collect();
    assert_eq!(
        got,
        [(Duration::from_millis(260), &b"one"[..]), (Duration::from_millis(1_260), &b"two"[..])]
    );
}

#[test]
fn limits_bound_the_trace_and_the_event_queues() {
    let mut world = World::new(66);
    let noter = world.add_node("n", addr(1), Scripted::new(|act, _| act.note("x")));
    world.set_trace_limit(Some(10));
    world.set_event_limit(Some(3));
    for _ in 0..20 {
        world.inject(noter, sipwire::Transmit::new(addr(1), Transport::Udp, Bytes::new(), None));
    }
    world.drive(100).unwrap();
    assert_eq!(world.trace().len(), 10);
    // Each injected datagram leaves Sent, Delivered and an Event: 60 records.
    assert_eq!(world.trace_evicted(), 50);
    assert_eq!(world.events(noter).count(), 3);
    world.set_trace_limit(Some(2));
    assert_eq!(world.trace().len(), 2);
    world.clear_trace();
    assert_eq!(world.trace().len(), 0);
    assert_eq!(world.ladder().lines().count(), 2, "header and lifelines only");
}
