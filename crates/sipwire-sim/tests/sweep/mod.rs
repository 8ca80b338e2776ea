//! The seed sweeps' scenario and the invariants every run must keep, shared by the
//! `seed_sweep_*` files.
//!
//! A scenario is a few UACs and one UAS, each a real transaction layer under an [`Agent`],
//! on links that lose, duplicate and reorder. The UAS answers as the Request-URI user asks
//! (see [`answer_for`]): 200 or 486, after a delay, with or without a provisional.
//! [`check`] then holds every transaction up to the RFC: what reached each TU, how often,
//! and when — cross-checked against what the trace says was actually delivered.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipwire::transaction::{Discard, Target, Timer, Timers};
use sipwire::{Message, Method, Transport};
use sipwire_sim::layer::{Agent, AgentConfig, Answer, ClientRecord, Outgoing, ServerRecord};
use sipwire_sim::{LinkConfig, NodeId, RecordKind, Rng, World};

/// The RFC 3261 timers every agent runs with.
pub(crate) const T: Timers = Timers::DEFAULT;

/// `192.0.2.n:5060`.
pub(crate) fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

/// The Request-URI user of `uri` (`sip:user@host`).
fn user_of(uri: &str) -> &str {
    uri.strip_prefix("sip:").and_then(|rest| rest.split('@').next()).unwrap_or_default()
}

/// The answer the user part of a Request-URI asks for: `<kind>.<ms>[.q]` — kind `ok`
/// (200), `busy` (486) or anything else (200); the final after `<ms>`; a provisional at
/// once (180 to an INVITE, 100 otherwise) unless `.q` (quiet: the INVITE server
/// transaction then sends 100 Trying itself after 200 ms).
fn answer_for(user: &str) -> Answer {
    let mut parts = user.split('.');
    let kind = parts.next().unwrap_or_default();
    let ms = parts.next().and_then(|ms| ms.parse().ok()).unwrap_or(0);
    let quiet = parts.next() == Some("q");
    let code = if kind == "busy" { 486 } else { 200 };
    let answer = Answer::new(code).after(Duration::from_millis(ms));
    match (quiet, kind) {
        (true, _) => answer,
        (false, "ping") => answer.with_provisional(100),
        (false, _) => answer.with_provisional(180),
    }
}

/// How the UAS answers (see the module docs).
pub(crate) fn policy(request: &Message) -> Answer {
    answer_for(user_of(request.request_uri_str().unwrap_or_default()))
}

/// A sweep: how many peers, how many transactions, over what.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scenario {
    pub(crate) seed: u64,
    pub(crate) transport: Transport,
    pub(crate) link: LinkConfig,
    pub(crate) uacs: u8,
    pub(crate) per_uac: usize,
    /// The share of INVITEs the UAC CANCELs, some time after their first provisional.
    pub(crate) cancel_share: f64,
    /// The share of requests that are OPTIONS rather than INVITEs.
    pub(crate) options_share: f64,
    /// Requests start at random within this window.
    pub(crate) spread: Duration,
    /// The UAS answers INVITEs after a random delay up to this.
    pub(crate) max_answer_delay: Duration,
}

impl Scenario {
    /// 30 % loss, 10 % duplication, 10 % reordering by 40 ms, 20 ms ± 10 ms latency.
    pub(crate) fn lossy_udp(seed: u64) -> Self {
        Self {
            seed,
            transport: Transport::Udp,
            link: LinkConfig::new(Duration::from_millis(20))
                .with_jitter(Duration::from_millis(10))
                .with_loss(0.3)
                .with_duplicate(0.1)
                .with_reorder(0.1, Duration::from_millis(40)),
            uacs: 2,
            per_uac: 8,
            cancel_share: 0.2,
            options_share: 0.3,
            spread: Duration::from_secs(5),
            max_answer_delay: Duration::from_millis(800),
        }
    }
}

/// A finished run.
pub(crate) struct Run {
    pub(crate) seed: u64,
    pub(crate) world: World,
    pub(crate) uacs: Vec<NodeId>,
    pub(crate) uas: NodeId,
    /// What `World::drive` said.
    pub(crate) drive: Result<usize, sipwire_sim::NotIdle>,
}

/// Builds the world of `s`, schedules its transactions and drives it until idle.
pub(crate) fn run(s: &Scenario) -> Run {
    let mut world = World::new(s.seed);
    let mut rng = Rng::new(s.seed ^ 0x5eed_5eed);
    let uas_addr = addr(100);
    let layer_seed = |n: u64| s.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(n);
    let uas = world.add_node(
        "uas",
        uas_addr,
        Agent::new(uas_addr, AgentConfig::default().with_user("uas").with_seed(layer_seed(0)))
            .with_policy(policy),
    );
    let target = Target::new(uas_addr, s.transport);
    let mut uacs = Vec::new();
    for n in 1..=s.uacs {
        let me = addr(n);
        let config =
            AgentConfig::default().with_user(&format!("uac{n}")).with_seed(layer_seed(n.into()));
        let uac = world.add_node(&format!("uac{n}"), me, Agent::new(me, config));
        world.link(uac, uas, s.link);
        let mut plan = Vec::new();
        for _ in 0..s.per_uac {
            let at = rng.duration_up_to(s.spread);
            let quiet = if rng.chance(0.3) { ".q" } else { "" };
            let outgoing = if rng.chance(s.options_share) {
                // Half answered at once, half after up to 3 s (Timer E at T2 meanwhile).
                let delay = if rng.chance(0.5) { 0 } else { rng.below(3_000) };
                Outgoing::options(target).to_user(&format!("ping.{delay}{quiet}"))
            } else {
                let kind = if rng.chance(0.5) { "ok" } else { "busy" };
                let delay = rng.duration_up_to(s.max_answer_delay).as_millis();
                let call = Outgoing::invite(target).to_user(&format!("{kind}.{delay}{quiet}"));
                if rng.chance(s.cancel_share) {
                    call.cancel_after(rng.duration_up_to(s.max_answer_delay))
                } else {
                    call
                }
            };
            plan.push((at, outgoing));
        }
        world.with_node(uac, |agent: &mut Agent, now| {
            for (at, outgoing) in plan {
                agent.schedule(now + at, outgoing);
            }
        });
        uacs.push(uac);
    }
    let drive = world.drive(1_000_000);
    Run { seed: s.seed, world, uacs, uas, drive }
}

/// One datagram as sent or delivered, decoded.
#[derive(Debug)]
pub(crate) struct Wire {
    pub(crate) at: Instant,
    pub(crate) delivered: bool,
    pub(crate) from: NodeId,
    pub(crate) to: Option<NodeId>,
    pub(crate) payload: bytes::Bytes,
    /// The request's method, for a request.
    pub(crate) method: Option<Method>,
    /// The status code, for a response.
    pub(crate) code: Option<u16>,
    pub(crate) cseq_method: Option<Method>,
    pub(crate) branch: String,
    pub(crate) call_id: String,
}

/// Every datagram sent or delivered, decoded, in trace order.
pub(crate) fn wires(world: &World) -> Vec<Wire> {
    world
        .trace()
        .filter_map(|r| {
            let (d, delivered) = match &r.kind {
                RecordKind::Sent(d) => (d, false),
                RecordKind::Delivered(d) => (d, true),
                _ => return None,
            };
            let m = Message::parse(d.payload.clone()).ok()?;
            Some(Wire {
                at: r.at,
                delivered,
                from: d.from,
                to: d.to,
                payload: d.payload.clone(),
                method: m.method().cloned(),
                code: m.status(),
                cseq_method: m.cseq().ok().map(|c| c.method),
                branch: m
                    .top_via()
                    .ok()
                    .and_then(|v| v.branch().map(str::to_owned))
                    .unwrap_or_default(),
                call_id: m.call_id().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// What a run came to, for the sweep's totals.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) transactions: usize,
    pub(crate) invites: usize,
    pub(crate) answered_2xx: usize,
    pub(crate) answered_486: usize,
    pub(crate) cancelled_487: usize,
    pub(crate) options: usize,
    pub(crate) cancels: usize,
    pub(crate) timeouts: usize,
    pub(crate) timer_b: usize,
    pub(crate) timer_f: usize,
    pub(crate) timer_c: usize,
    pub(crate) timer_h: usize,
    pub(crate) retransmitted_2xx_to_tu: usize,
    pub(crate) no_ack: usize,
    pub(crate) datagrams: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.transactions += o.transactions;
        self.invites += o.invites;
        self.answered_2xx += o.answered_2xx;
        self.answered_486 += o.answered_486;
        self.cancelled_487 += o.cancelled_487;
        self.options += o.options;
        self.cancels += o.cancels;
        self.timeouts += o.timeouts;
        self.timer_b += o.timer_b;
        self.timer_f += o.timer_f;
        self.timer_c += o.timer_c;
        self.timer_h += o.timer_h;
        self.retransmitted_2xx_to_tu += o.retransmitted_2xx_to_tu;
        self.no_ack += o.no_ack;
        self.datagrams += o.datagrams;
    }
}

/// Checks every invariant of a finished run; panics with the seed on the first broken one.
pub(crate) fn check(run: &Run) -> Tally {
    let seed = run.seed;
    let world = &run.world;
    if let Err(e) = &run.drive {
        panic!("seed {seed}: {e}");
    }
    let wires = wires(world);
    let uas = world.node::<Agent>(run.uas).expect("the UAS");
    let mut tally =
        Tally { datagrams: wires.iter().filter(|w| !w.delivered).count(), ..Tally::default() };

    // Server records by (Call-ID, CSeq, method): each request reaches the UAS TU at most
    // once.
    let mut servers: BTreeMap<(String, u32, String), Vec<&ServerRecord>> = BTreeMap::new();
    for s in uas.servers() {
        servers.entry((s.call_id.clone(), s.cseq, s.method.to_string())).or_default().push(s);
    }
    for (key, found) in &servers {
        assert_eq!(
            found.len(),
            1,
            "seed {seed}: request {key:?} reached the UAS TU {} times",
            found.len()
        );
    }

    let mut timer_c = false;
    for &uac in &run.uacs {
        let agent = world.node::<Agent>(uac).expect("a UAC");
        let name = world.name(uac).unwrap_or_default();
        for c in agent.clients() {
            tally.transactions += 1;
            match c.method {
                Method::Invite => tally.invites += 1,
                Method::Cancel => tally.cancels += 1,
                _ => tally.options += 1,
            }
            let key = (c.call_id.clone(), c.cseq, c.method.to_string());
            let server = servers.get(&key).and_then(|s| s.first().copied());
            let outcome = check_client(seed, name, c, uac, run.uas, server, &wires);
            tally.timeouts += usize::from(c.timeout.is_some());
            match c.timeout.map(|(_, t)| t) {
                Some(Timer::B) => tally.timer_b += 1,
                Some(Timer::F) => tally.timer_f += 1,
                Some(Timer::C) => tally.timer_c += 1,
                _ => {}
            }
            timer_c |= c.timeout.is_some_and(|(_, t)| t == Timer::C);
            if outcome == Some(200) && c.method == Method::Invite {
                tally.answered_2xx += 1;
                tally.retransmitted_2xx_to_tu += c.finals() - 1;
            }
            tally.answered_486 += usize::from(outcome == Some(486));
            tally.cancelled_487 += usize::from(outcome == Some(487));
        }
        assert!(agent.refused().is_empty(), "seed {seed}: {name} refused {:?}", agent.refused());
        check_discards(seed, name, agent.discarded());
        let stray =
            agent.discarded().iter().filter(|d| matches!(d, Discard::StrayResponse)).count();
        let timed_out = agent.clients().any(|c| c.timeout.is_some());
        assert!(
            stray == 0 || timed_out,
            "seed {seed}: {name} discarded {stray} stray responses but no transaction timed out"
        );
        assert!(agent.is_idle(), "seed {seed}: {name} not idle: {} live", agent.layer().len());
        assert_eq!(agent.layer().len(), 0, "seed {seed}: {name}'s table did not drain");
    }

    for s in uas.servers() {
        tally.no_ack += usize::from(s.no_ack);
        tally.timer_h += usize::from(s.timeout.is_some_and(|(_, t)| t == Timer::H));
        check_server(seed, s, run.uas, &wires);
    }
    assert!(uas.refused().is_empty(), "seed {seed}: the UAS refused {:?}", uas.refused());
    check_discards(seed, "uas", uas.discarded());
    assert_eq!(uas.stray_acks(), 0, "seed {seed}: ACKs for calls the UAS never answered");
    assert!(uas.is_idle(), "seed {seed}: the UAS is not idle");
    assert_eq!(uas.layer().len(), 0, "seed {seed}: the UAS table did not drain");

    // After the last datagram every running timer is a lifetime timer (B, D, F, H, I, J,
    // K, L, M, or the UAS's 2xx give-up), each started by a send or a delivery and none
    // longer than 64·T1 — so the world is idle 64·T1 after the last datagram at most.
    // Timer C (180 s from the first provisional) is the one exception.
    let last = wires.iter().map(|w| w.at).max().expect("some traffic");
    let quiet = world.now() - last;
    assert!(
        timer_c || quiet <= T.t1x64(),
        "seed {seed}: idle {quiet:?} after the last datagram, beyond 64·T1"
    );
    assert!(world.is_idle(), "seed {seed}: the world is not idle");
    tally
}

/// Only what loss can cause: a response for a transaction that already timed out, or a
/// CANCEL that arrived after its INVITE's transaction ended (answered 481 by the layer).
fn check_discards(seed: u64, name: &str, discarded: &[Discard]) {
    for d in discarded {
        assert!(
            matches!(d, Discard::StrayResponse | Discard::UnmatchedCancel),
            "seed {seed}: {name} discarded a message: {d:?}"
        );
    }
}

/// Checks one client transaction; returns its final status code, if it got one.
fn check_client(
    seed: u64,
    name: &str,
    c: &ClientRecord,
    uac: NodeId,
    uas: NodeId,
    server: Option<&ServerRecord>,
    wires: &[Wire],
) -> Option<u16> {
    let what = format!("seed {seed}: {name} #{} {} {}", c.index, c.method, c.request_uri);
    assert_eq!(c.refused, None, "{what}: refused");
    assert!(c.id.is_some(), "{what}: never started");
    assert_eq!(c.transport_error, None, "{what}: transport error on a simulated link");
    let start = c.started_at.expect("started");
    let branch = c.branch.as_deref().unwrap_or_else(|| panic!("{what}: no branch seen"));
    assert_eq!(c.terminations, 1, "{what}: terminated {} times", c.terminations);
    let end = c.terminated_at.unwrap_or_else(|| panic!("{what}: never terminated"));

    let to_me: Vec<&Wire> = wires
        .iter()
        .filter(|w| {
            w.delivered
                && w.to == Some(uac)
                && w.code.is_some()
                && w.branch == branch
                && w.cseq_method.as_ref() == Some(&c.method)
        })
        .collect();
    let first_final_on_wire = to_me.iter().find(|w| w.code >= Some(200)).map(|w| w.at);
    let request_arrived = wires.iter().any(|w| {
        w.delivered
            && w.to == Some(uas)
            && w.method.as_ref() == Some(&c.method)
            && w.branch == branch
    });

    let code = match (c.final_response(), c.timeout) {
        (Some(f), Some(t)) => panic!("{what}: a final {f:?} and a timeout {t:?}"),
        (None, None) => panic!("{what}: neither a final response nor a timeout"),
        (None, Some((at, timer))) => {
            assert_eq!(end, at, "{what}: Timer {timer:?} did not terminate it");
            match timer {
                Timer::B => {
                    assert_eq!(c.method, Method::Invite, "{what}: Timer B");
                    assert_eq!(at - start, T.t1x64(), "{what}: Timer B off schedule");
                    assert_eq!(c.provisionals(), 0, "{what}: Timer B after a provisional");
                    assert!(
                        to_me.iter().all(|w| w.at > at),
                        "{what}: Timer B fired though a response was delivered"
                    );
                }
                Timer::F => {
                    assert_ne!(c.method, Method::Invite, "{what}: Timer F");
                    assert_eq!(at - start, T.t1x64(), "{what}: Timer F off schedule");
                    assert!(
                        first_final_on_wire.is_none_or(|t| t > at),
                        "{what}: Timer F fired though a final response was delivered"
                    );
                }
                Timer::C => {
                    let first = c.responses.first().map(|r| r.0).expect("a provisional");
                    assert_eq!(at - first, T.timer_c, "{what}: Timer C off schedule");
                    assert!(
                        first_final_on_wire.is_none_or(|t| t > at),
                        "{what}: Timer C fired though a final response was delivered"
                    );
                }
                other => panic!("{what}: unexpected timeout {other:?}"),
            }
            return None;
        }
        (Some((at, code)), None) => {
            assert_eq!(
                Some(at),
                first_final_on_wire,
                "{what}: the first final on the wire did not reach the TU when it arrived"
            );
            code
        }
    };
    let fat = c.final_response().map(|f| f.0).expect("a final");

    match c.method {
        Method::Invite if (200..300).contains(&code) => {
            assert!(
                c.responses.iter().all(|&(_, k)| k < 300),
                "{what}: a non-2xx after the 2xx reached the TU: {:?}",
                c.responses
            );
            let on_wire = to_me
                .iter()
                .filter(|w| w.code.is_some_and(|k| (200..300).contains(&k)) && w.at <= end)
                .count();
            assert_eq!(
                c.finals(),
                on_wire,
                "{what}: every 2xx delivered in Accepted must reach the TU (the TU re-ACKs)"
            );
            assert_eq!(c.acks_sent as usize, c.finals(), "{what}: one ACK per 2xx");
            assert_eq!(end - fat, T.t1x64(), "{what}: Timer M off schedule");
        }
        Method::Invite => {
            assert_eq!(c.finals(), 1, "{what}: a non-2xx final must reach the TU exactly once");
            assert_eq!(c.acks_sent, 0, "{what}: the TU ACKed a non-2xx");
            assert_eq!(end - fat, T.d(c.target.transport.is_reliable()), "{what}: Timer D");
        }
        _ => {
            assert_eq!(c.finals(), 1, "{what}: a final must reach the TU exactly once");
            let k = T.t4_unless(c.target.transport.is_reliable());
            assert_eq!(end - fat, k, "{what}: Timer K off schedule");
        }
    }

    let expected: &[u16] = match c.method {
        Method::Invite => {
            let asked = answer_for(user_of(&c.request_uri)).code;
            if c.cancel.is_some() {
                if asked == 200 { &[200, 487] } else { &[486, 487] }
            } else if asked == 200 {
                &[200]
            } else {
                &[486]
            }
        }
        Method::Cancel => &[200, 481],
        _ => &[200],
    };
    assert!(expected.contains(&code), "{what}: final {code}, expected one of {expected:?}");

    if c.method == Method::Cancel {
        // 200 comes from the UAS TU, 481 from the layer when the INVITE was gone.
        assert_eq!(server.is_some(), code == 200, "{what}: final {code} vs the UAS TU");
    } else {
        let server =
            server.unwrap_or_else(|| panic!("{what}: got {code} but the UAS TU never saw it"));
        assert_eq!(server.final_code(), Some(code), "{what}: the UAS sent another final");
    }
    if c.method != Method::Cancel {
        assert_eq!(
            server.is_some(),
            request_arrived,
            "{what}: the request reached the UAS but not its TU, or the reverse"
        );
    }
    Some(code)
}

/// Checks one server transaction of the UAS.
fn check_server(seed: u64, s: &ServerRecord, uas: NodeId, wires: &[Wire]) {
    let what = format!("seed {seed}: uas {:?} {} {}", s.id, s.method, s.call_id);
    assert_eq!(s.terminations, 1, "{what}: terminated {} times", s.terminations);
    assert_eq!(s.transport_errors, 0, "{what}: transport errors");
    let end = s.terminated_at.expect("terminated");
    let finals: Vec<u16> = s.sent.iter().map(|&(_, k)| k).filter(|&k| k >= 200).collect();
    assert_eq!(finals.len(), 1, "{what}: finals sent {finals:?}");
    let acks_delivered: Vec<Instant> = wires
        .iter()
        .filter(|w| {
            w.delivered
                && w.to == Some(uas)
                && w.method == Some(Method::Ack)
                && w.call_id == s.call_id
        })
        .map(|w| w.at)
        .collect();
    let final_at = s.sent.iter().find(|&&(_, k)| k >= 200).map(|&(at, _)| at).expect("a final");
    match (s.method.clone(), finals.first().copied()) {
        (Method::Invite, Some(code)) if code < 300 => {
            assert_ne!(s.acks.is_empty(), !s.no_ack, "{what}: ACKed and gave up, or neither");
            let give_up = final_at + T.t1x64();
            if s.no_ack {
                assert!(
                    acks_delivered.iter().all(|&t| t > give_up),
                    "{what}: gave up on the 2xx though an ACK was delivered"
                );
            } else {
                assert_eq!(s.acks.first(), acks_delivered.first(), "{what}: first ACK");
            }
            let sent_2xx: Vec<Instant> = wires
                .iter()
                .filter(|w| {
                    !w.delivered
                        && w.from == uas
                        && w.call_id == s.call_id
                        && w.code.is_some_and(|k| (200..300).contains(&k))
                        && w.cseq_method == Some(Method::Invite)
                })
                .map(|w| w.at)
                .collect();
            assert_eq!(sent_2xx.len(), 1 + s.retransmitted_2xx as usize, "{what}: 2xx count");
            if let Some(&ack) = s.acks.first() {
                assert!(
                    sent_2xx.iter().all(|&t| t < ack),
                    "{what}: the 2xx was retransmitted after the ACK reached the TU"
                );
            }
            assert_eq!(end - final_at, T.t1x64(), "{what}: Timer L off schedule");
            assert_eq!(s.timeout, None, "{what}: timed out after a 2xx");
        }
        (Method::Invite, Some(_)) => {
            assert!(s.acks.is_empty(), "{what}: an ACK for a non-2xx reached the TU");
            let acked = acks_delivered.iter().any(|&t| t >= final_at);
            match s.timeout {
                Some((at, Timer::H)) => {
                    assert_eq!(at - final_at, T.t1x64(), "{what}: Timer H off schedule");
                    assert!(
                        acks_delivered.iter().all(|&t| t > at),
                        "{what}: Timer H fired though the ACK was delivered"
                    );
                }
                Some(other) => panic!("{what}: unexpected timeout {other:?}"),
                None => {
                    assert!(acked, "{what}: confirmed without an ACK");
                    let first = acks_delivered.iter().find(|&&t| t >= final_at).copied();
                    let i = T.t4_unless(s.transport.is_reliable());
                    assert_eq!(first.map(|t| end - t), Some(i), "{what}: Timer I off schedule");
                }
            }
        }
        _ => {
            assert_eq!(s.timeout, None, "{what}: a non-INVITE server timed out");
            let j = T.j(s.transport.is_reliable());
            assert_eq!(end - final_at, j, "{what}: Timer J off schedule");
        }
    }
}
