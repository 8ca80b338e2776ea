//! Session requests both ways over lossy links (RFC 3261 §13–14, RFC 3311, RFC 6086,
//! RFC 5057): a real caller and the Endpoint under test exchange re-INVITEs, INFO and
//! UPDATE inside one call while the link loses, duplicates and reorders, then one of them
//! hangs up. Per seed: every request bob's application is shown is answered exactly once
//! on the wire; bob's 2xx to a re-INVITE goes out at T1 doubling to T2 until the ACK and
//! never after; each request bob sends ends in one final response or one timeout (which
//! ends the call with `DialogFailed(None)`); the call ends once; every table drains.
//! The parties and the checks are in `session_sweep/mod.rs`.

mod session_sweep;

use std::time::Duration;

use session_sweep::{
    ALICE, BOB, Bob, BobBye, BobPlan, Caller, CallerPlan, Fate, addr, check, lossy_link, run, wires,
};
use sipwire::Method;
use sipwire::ua::{EndReason, Event, RequestKind};
use sipwire_sim::{DropReason, LinkConfig, RecordKind};

const SEEDS: u64 = 200;
const HEAVY_SEEDS: u64 = 1000;

#[test]
fn session_requests_both_ways_survive_loss_and_every_table_drains() {
    let mut total = session_sweep::Tally::default();
    for seed in 0..SEEDS {
        let r = run(seed, lossy_link(0.2));
        total.add(&check(&r));
    }
    println!("{total:#?}");
    let runs = SEEDS as usize;
    assert!(total.established >= runs * 9 / 10, "calls went missing: {total:?}");
    assert!(
        total.surfaced_reinvites >= runs * 8 / 10 && total.bob_sent >= runs * 2,
        "the sweep must exercise requests both ways: {total:?}"
    );
    assert!(total.reinvite_2xx_copies > total.surfaced_reinvites, "no 2xx was ever resent");
    assert!(total.glares > 0, "no glare: {total:?}");
    assert!(total.remote_bye > 0 && total.local_bye > 0, "both hang-ups: {total:?}");
}

/// The same at 50 % loss, where requests time out (RFC 5057 endings), ACKs never come,
/// and calls end with requests still open: the paths 20 % loss almost never takes.
#[test]
fn session_requests_under_heavy_loss_end_as_rfc_5057_says() {
    let mut total = session_sweep::Tally::default();
    for seed in 0..HEAVY_SEEDS {
        let r = run(seed, lossy_link(0.5));
        total.add(&check(&r));
    }
    println!("{total:#?}");
    assert!(
        total.bob_request_timeouts > 0
            && total.dialog_failed > 0
            && total.ack_timeouts > 0
            && total.bob_cut_by_end > 0,
        "heavy loss must reach the failure paths: {total:?}"
    );
}

/// Bob answers alice's re-INVITE 200; her first two ACKs for it are lost. The 2xx goes
/// out at 0, T1 and 3·T1 (T1 doubling, §13.3.1.4), the third ACK gets through, and no
/// copy follows.
#[test]
fn reinvite_2xx_retransmitted_until_ack_despite_lost_acks() {
    let mut world = sipwire_sim::World::new(7);
    let caller = CallerPlan { automatic: false, bye_after: None, max_answer_delay: Duration::ZERO };
    let plan = BobPlan { steps: Vec::new(), bye: BobBye::Never, max_answer_delay: Duration::ZERO };
    let alice = world.add_node("alice", addr(ALICE), Caller::new(7, caller));
    let bob = world.add_node("bob", addr(BOB), Bob::new(7, plan));
    world.link(alice, bob, LinkConfig::new(Duration::from_millis(20)));
    world.with_node(alice, |c: &mut Caller, now| c.start(now));
    world.run_for(Duration::from_secs(2));
    let b = world.node::<Bob>(bob).unwrap();
    assert!(b.events.iter().any(|(_, e)| matches!(e, Event::Acked { .. })), "the call is up");

    world.with_node(alice, |c: &mut Caller, now| c.send_reinvite(now));
    // The re-INVITE is on the link; the next two datagrams alice sends bob are her ACKs.
    world.drop_next(alice, bob);
    world.drop_next(alice, bob);
    world.run_for(Duration::from_secs(40));

    let wires = wires(&world);
    let oks: Vec<Duration> = wires
        .iter()
        .filter(|w| {
            w.fate == Fate::Sent
                && w.from == bob
                && w.code == Some(200)
                && w.cseq == 2
                && w.cseq_method == Some(Method::Invite)
        })
        .map(|w| w.at - world.start())
        .collect();
    let first = oks[0];
    let gaps: Vec<u128> = oks.iter().map(|t| (*t - first).as_millis()).collect();
    assert_eq!(gaps, [0, 500, 1_500], "T1, then doubling, until the ACK that gets through");

    let dropped: Vec<(Method, u32)> = world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Dropped(d, DropReason::Manual) => {
                let m = sipwire::Message::parse(d.payload.clone()).ok()?;
                Some((m.method()?.clone(), m.cseq().ok()?.seq))
            }
            _ => None,
        })
        .collect();
    assert_eq!(dropped, [(Method::Ack, 2), (Method::Ack, 2)], "the two lost datagrams");
    let acks: Vec<u128> = wires
        .iter()
        .filter(|w| w.fate == Fate::Delivered && w.to == Some(bob) && w.method == Some(Method::Ack))
        .filter(|w| w.cseq == 2)
        .map(|w| (w.at - world.start() - first).as_millis())
        .collect();
    assert_eq!(acks, [1_500 + 40], "the third ACK, a round trip after the third copy");

    let b = world.node::<Bob>(bob).unwrap();
    let shown: Vec<_> = b.surfaced.iter().map(|s| (s.kind, s.cseq)).collect();
    assert_eq!(shown, [(RequestKind::ReInvite, 2)]);
    let acked = b.events.iter().filter(|(_, e)| matches!(e, Event::ReInviteAcked { .. })).count();
    assert_eq!(acked, 1, "one ReInviteAcked");
    assert!(
        !b.events.iter().any(|(_, e)| matches!(e, Event::AckTimeout { .. })),
        "the ACK came in time"
    );
}

/// Bob's INFO gets no response (bob → alice is cut): Timer F, `RequestTimeout`, and bob
/// sends BYE (RFC 5057), which is lost too. Alice, who never saw the INFO, hangs up; her
/// BYE reaches bob while his own is still open. `Event::RequestTimeout` promises that a
/// `Terminated` with `DialogFailed` follows; the call must not end as `RemoteBye`.
/// (Found by the 50 % sweep, seed 838.)
#[test]
fn request_timeout_ends_dialog_failed_even_when_the_peers_bye_crosses_ours() {
    let mut world = sipwire_sim::World::new(3);
    let caller = CallerPlan {
        automatic: false,
        bye_after: Some(Duration::from_secs(40)),
        max_answer_delay: Duration::ZERO,
    };
    let plan = BobPlan { steps: Vec::new(), bye: BobBye::Never, max_answer_delay: Duration::ZERO };
    let alice = world.add_node("alice", addr(ALICE), Caller::new(3, caller));
    let bob = world.add_node("bob", addr(BOB), Bob::new(3, plan));
    let link = LinkConfig::new(Duration::from_millis(20));
    world.link(alice, bob, link);
    world.with_node(alice, |c: &mut Caller, now| c.start(now));
    world.run_for(Duration::from_secs(2));
    let id = world
        .node::<Bob>(bob)
        .unwrap()
        .events
        .iter()
        .find_map(|(_, e)| if let Event::Invitation { id } = e { Some(*id) } else { None })
        .expect("an invitation");

    world.link_one_way(bob, alice, link.with_loss(1.0));
    let info = world
        .with_node(bob, |b: &mut Bob, now| {
            b.ep.invitation(id).expect("live").info(now, sipwire::ua::RequestOptions::new())
        })
        .unwrap()
        .expect("INFO sent");
    world.run_for(Duration::from_secs(60));

    let b = world.node::<Bob>(bob).unwrap();
    let events: Vec<&Event> = b.events.iter().map(|(_, e)| e).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RequestTimeout { request, .. } if *request == info)),
        "Timer F: {events:?}"
    );
    let ends: Vec<EndReason> = events
        .iter()
        .filter_map(|e| if let Event::Terminated { reason, .. } = e { Some(*reason) } else { None })
        .collect();
    assert_eq!(ends, [EndReason::DialogFailed(None)], "the timeout ended the call");
}
