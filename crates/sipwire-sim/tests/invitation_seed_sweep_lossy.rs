//! Seed sweep: real UACs (transaction layer + a TU that ACKs every 2xx) call a real
//! Endpoint over UDP links that lose, duplicate and reorder datagrams. The application
//! accepts each invitation after a ring delay with an offer (the callers' INVITEs have
//! none); the callers' ACKs carry no answer, so the endpoint ends each confirmed call with
//! a BYE and a Reason header (RFC 3264), which puts ACK matching and BYE through the losses
//! all the same. Some callers CANCEL. Every invitation must end exactly once for a reason the losses justify,
//! every caller that got the 200 must have its call confirmed (or the ACK timeout fired,
//! which needs every ACK lost), and every table must drain. Failures name their seed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::transaction::Target;
use sipwire::ua::{AcceptOptions, Config, EndReason, Event, InvitationId};
use sipwire::{Endpoint, Output, Transmit, Transport};
use sipwire_sim::layer::{Agent, AgentConfig, Outgoing};
use sipwire_sim::{LinkConfig, Node, World};

/// An application around the endpoint: accepts after `ring`, sends BYE 1 s after the ACK.
struct App {
    ep: Endpoint,
    now: Option<Instant>,
    ring: Duration,
    todo: Vec<(Instant, InvitationId, bool)>,
    events: Vec<Event>,
    call_ids: BTreeMap<InvitationId, String>,
}

impl App {
    fn new(seed: u64, ring: Duration) -> Self {
        let config = Config::new("sip:app@192.0.2.2:5060").with_seed(seed);
        Self {
            ep: Endpoint::new(config),
            now: None,
            ring,
            todo: Vec::new(),
            events: Vec::new(),
            call_ids: BTreeMap::new(),
        }
    }

    fn run_due(&mut self, now: Instant) {
        let due: Vec<_> = self.todo.iter().filter(|t| t.0 <= now).copied().collect();
        self.todo.retain(|t| t.0 > now);
        for (_, id, accept) in due {
            if let Some(mut inv) = self.ep.invitation(id) {
                // Either may lose a race with the caller (CANCEL, BYE): a typed error.
                let _ = if accept {
                    inv.accept(now, AcceptOptions::new().body("application/sdp", "v=0\r\n"))
                } else {
                    inv.bye(now)
                };
            }
        }
    }
}

impl Node for App {
    type Event = Event;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        self.now = Some(now);
        self.ep.handle_datagram(now, source, transport, payload);
    }

    fn handle_send_failed(&mut self, now: Instant, transmit: &Transmit) {
        self.ep.handle_send_failed(now, transmit);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        self.run_due(now);
        Node::handle_timeout(&mut self.ep, now);
    }

    fn poll_output(&mut self) -> Option<Output<Event>> {
        let out = Node::poll_output(&mut self.ep)?;
        if let (Output::Event(e), Some(now)) = (&out, self.now) {
            match e {
                Event::Invitation { id } => {
                    self.todo.push((now + self.ring, *id, true));
                    let call_id = self
                        .ep
                        .invitation(*id)
                        .and_then(|i| i.request().call_id().ok().map(str::to_owned));
                    self.call_ids.insert(*id, call_id.unwrap_or_default());
                }
                Event::Acked { id, .. } => {
                    self.todo.push((now + Duration::from_secs(1), *id, false))
                }
                _ => {}
            }
            self.events.push(e.clone());
        }
        Some(out)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let app = self.todo.iter().map(|t| t.0).min();
        match (Node::poll_timeout(&self.ep), app) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

const SEEDS: u64 = 500;
const CALLS: usize = 6;

#[derive(Debug, Default)]
struct Tally {
    calls: usize,
    confirmed: usize,
    cancelled: usize,
    ack_timeouts: usize,
    byes: usize,
}

fn run(seed: u64) -> Tally {
    let (a, b): (SocketAddr, SocketAddr) =
        ("192.0.2.1:5060".parse().unwrap(), "192.0.2.2:5060".parse().unwrap());
    let mut world = World::new(seed);
    let uac = world.add_node(
        "uac",
        a,
        Agent::new(a, AgentConfig::default().with_seed(seed).with_user("alice")),
    );
    let app = world.add_node("app", b, App::new(seed, Duration::from_millis(300 + seed % 700)));
    world.link(
        uac,
        app,
        LinkConfig::new(Duration::from_millis(15))
            .with_jitter(Duration::from_millis(10))
            .with_loss(0.25)
            .with_duplicate(0.1)
            .with_reorder(0.1, Duration::from_millis(30)),
    );
    world.with_node(uac, |agent: &mut Agent, now| {
        for i in 0..CALLS {
            let mut call = Outgoing::invite(Target::new(b, Transport::Udp));
            if (seed + i as u64).is_multiple_of(3) {
                call = call.cancel_after(Duration::from_millis(200 + 97 * i as u64 % 600));
            }
            agent.schedule(now + Duration::from_millis(40 * i as u64), call);
        }
    });
    world.run_for(Duration::from_secs(200));
    let agent = world.node::<Agent>(uac).unwrap();
    let app_node = world.node::<App>(app).unwrap();
    let ep = &app_node.ep;
    assert_eq!(
        (ep.transaction_count(), ep.dialog_count(), ep.invitation_count()),
        (0, 0, 0),
        "seed {seed}: drained"
    );
    let mut tally = Tally::default();
    let mut ended: BTreeMap<InvitationId, Vec<EndReason>> = BTreeMap::new();
    for e in &app_node.events {
        match e {
            Event::Terminated { id, reason } => ended.entry(*id).or_default().push(*reason),
            Event::Acked { .. } => tally.confirmed += 1,
            Event::AckTimeout { .. } => tally.ack_timeouts += 1,
            _ => {}
        }
    }
    for (id, call_id) in &app_node.call_ids {
        let reasons = ended.get(id).unwrap_or_else(|| panic!("seed {seed}: {call_id} never ended"));
        assert_eq!(reasons.len(), 1, "seed {seed}: {call_id} ended {reasons:?}");
        match reasons[0] {
            EndReason::Cancelled => tally.cancelled += 1,
            EndReason::BadAnswer => tally.byes += 1,
            EndReason::AckTimeout => {}
            other => panic!("seed {seed}: {call_id} ended {other:?}"),
        }
        tally.calls += 1;
        let client = agent
            .clients()
            .find(|c| c.call_id == *call_id && c.method == sipwire::Method::Invite)
            .unwrap_or_else(|| panic!("seed {seed}: no caller for {call_id}"));
        match client.final_response().map(|(_, code)| code) {
            Some(200) => assert!(
                matches!(reasons[0], EndReason::BadAnswer | EndReason::AckTimeout),
                "seed {seed}: {call_id} got 200 but ended {:?}",
                reasons[0]
            ),
            Some(487) => assert_eq!(reasons[0], EndReason::Cancelled, "seed {seed}: {call_id}"),
            other => panic!("seed {seed}: {call_id} caller got {other:?}"),
        }
    }
    tally
}

#[test]
fn every_invitation_ends_once_and_everything_drains_under_loss() {
    let mut total = Tally::default();
    for seed in 0..SEEDS {
        let t = run(seed);
        total.calls += t.calls;
        total.confirmed += t.confirmed;
        total.cancelled += t.cancelled;
        total.ack_timeouts += t.ack_timeouts;
        total.byes += t.byes;
    }
    println!("{total:#?}");
    assert!(total.calls >= SEEDS as usize * CALLS * 9 / 10, "invitations went missing: {total:?}");
    assert!(
        total.confirmed > 300 && total.cancelled > 50,
        "the sweep must exercise both: {total:?}"
    );
    assert_eq!(total.byes, total.confirmed, "one BYE per confirmed call: {total:?}");
}
