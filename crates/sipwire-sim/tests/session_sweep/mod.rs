//! The session sweeps' two parties, their scenario, and the invariants every run must keep.
//!
//! Alice ([`Caller`]) is a real caller: sipwire's transaction layer under a small
//! dialog-aware transaction user. She calls with an offer, ACKs every 2xx (again for each
//! copy), then sends a re-INVITE with a new offer (again after 491, as §14.1 says) and an
//! INFO. She answers bob's requests as RFC 3261 §14.2 and RFC 3311 ask: 200 (with an
//! answer where an offer came, with her offer where a re-INVITE had none), 491 while her
//! own offer or INVITE is open, 500 while an earlier one of bob's is; she retransmits her
//! 2xx to a re-INVITE until its ACK. She also checks what bob sends her (see
//! [`Caller::anomalies`]).
//!
//! Bob ([`Bob`]) is the [`Endpoint`] under test with an application driven by its events:
//! it accepts, answers each request it is shown after a random delay, and once the call is
//! confirmed sends a re-INVITE, an INFO and an UPDATE one after the other, retrying a
//! command the core refuses while an INVITE or offer is open.
//!
//! [`check`] then holds the run to the invariants, against what the trace says went over
//! the wire; every failure names its seed.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::transaction::{LayerConfig, Target, Timers, TransactionLayer, TxEvent};
use sipwire::ua::{
    AcceptOptions, Config, EndReason, Event, InvitationError, InvitationId, InvitationState,
    RequestId, RequestKind, RequestOptions, ResponseOptions,
};
use sipwire::{
    Endpoint, HeaderName, Message, Method, Output, RequestBuilder, TransactionId, Transmit,
    Transport,
};
use sipwire_sim::{LinkConfig, Node, NodeId, RecordKind, Rng, World};

/// The RFC 3261 timers both parties run with.
pub(crate) const T: Timers = Timers::DEFAULT;

pub(crate) const ALICE: &str = "192.0.2.1:5060";
pub(crate) const BOB: &str = "192.0.2.2:5060";

/// An SDP body with origin version `v`, from `who` at `host`.
pub(crate) fn sdp(who: &str, host: &str, v: u32) -> String {
    format!(
        "v=0\r\no={who} 1 {v} IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n",
        40_000 + v
    )
}

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("an address")
}

fn has_sdp(m: &Message) -> bool {
    !m.body().is_empty()
}

// ---- alice ---------------------------------------------------------------------------

/// What alice sent in a client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    Invite,
    ReInvite,
    Info,
    Bye,
}

/// One client transaction of alice's, as her TU saw it.
#[derive(Debug, Clone)]
pub(crate) struct ClientLog {
    pub(crate) what: Sent,
    pub(crate) cseq: u32,
    pub(crate) sent_at: Instant,
    /// Every response that reached the TU (each 2xx copy to an INVITE included).
    pub(crate) responses: Vec<(Instant, u16)>,
    pub(crate) timed_out: Option<Instant>,
    pub(crate) acks: u32,
}

impl ClientLog {
    pub(crate) fn final_code(&self) -> Option<u16> {
        self.responses.iter().map(|r| r.1).find(|c| *c >= 200)
    }
}

/// One request bob sent alice that reached her TU, and how she answered it.
#[derive(Debug, Clone)]
pub(crate) struct ServerLog {
    pub(crate) method: Method,
    pub(crate) cseq: u32,
    pub(crate) arrived_at: Instant,
    pub(crate) offer: bool,
    pub(crate) answered: Option<(Instant, u16)>,
}

/// Alice's 2xx to bob's re-INVITE, retransmitted until its ACK (§13.3.1.4).
#[derive(Debug)]
struct Unacked {
    tx: TransactionId,
    ok: Message,
    cseq: u32,
    /// The 2xx carried alice's offer (bob's re-INVITE had none): the ACK has the answer.
    offer: bool,
    interval: Duration,
    next: Instant,
    give_up: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    ReInvite,
    Info,
    Bye,
    Done,
}

#[derive(Debug, Clone, Copy)]
enum CallerJob {
    /// Take the next step of the plan (or try again).
    Plan,
    /// Answer server transaction `id`.
    Answer(TransactionId),
}

/// How alice behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallerPlan {
    /// Runs the re-INVITE and INFO steps by herself once the call is up; otherwise the test
    /// drives her ([`Caller::send_reinvite`]).
    pub(crate) automatic: bool,
    /// Sends BYE this long after her call is up (after her own steps are done).
    pub(crate) bye_after: Option<Duration>,
    /// Answers bob's requests after a random delay up to this.
    pub(crate) max_answer_delay: Duration,
}

/// Alice: a transaction layer and a dialog-aware TU (see the module docs).
pub(crate) struct Caller {
    me: SocketAddr,
    target: Target,
    layer: TransactionLayer,
    rng: Rng,
    plan: CallerPlan,
    call_id: String,
    from: String,
    remote_tag: Option<String>,
    remote_uri: String,
    local_seq: u32,
    remote_seq: u32,
    pub(crate) confirmed_at: Option<Instant>,
    /// When she sent or received BYE, or gave the dialog up.
    pub(crate) ended_at: Option<Instant>,
    step: Step,
    glare_retries: u8,
    offer_version: u32,
    jobs: BTreeMap<(Instant, u64), CallerJob>,
    next_job: u64,
    pub(crate) clients: Vec<ClientLog>,
    client_ids: BTreeMap<TransactionId, usize>,
    pub(crate) servers: Vec<ServerLog>,
    /// Requests of bob's waiting for her answer.
    open: BTreeMap<TransactionId, (usize, Message)>,
    unacked: Option<Unacked>,
    /// CSeq numbers of bob's re-INVITEs she answered 2xx, and whether the 2xx had her offer.
    answered_2xx: BTreeMap<u32, bool>,
    /// Her offer waits for its answer (her re-INVITE, or her 2xx to an offerless one).
    my_offer: bool,
    /// Bob's offer waits for her answer.
    their_offer: bool,
    /// ACKs that reached her TU: when, CSeq, with a body.
    pub(crate) acks: Vec<(Instant, u32, bool)>,
    /// ACKs whose body did not fit her 2xx (an answer to her offer, nothing otherwise):
    /// when, CSeq, with a body. Bob may leave out the answer once his call is ending.
    pub(crate) ack_mismatches: Vec<(Instant, u32, bool)>,
    /// Her 2xx to a re-INVITE got no ACK within 64·T1.
    pub(crate) gave_up_2xx: u32,
    /// What bob did that he should not have (each a sentence).
    pub(crate) anomalies: Vec<String>,
    pub(crate) discarded: usize,
    outbox: VecDeque<Output<String>>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("step", &self.step).finish_non_exhaustive()
    }
}

impl Caller {
    pub(crate) fn new(seed: u64, plan: CallerPlan) -> Self {
        let me = addr(ALICE);
        let mut config = LayerConfig::default();
        config.seed = seed;
        let layer = TransactionLayer::new(config);
        Self {
            me,
            target: Target::new(addr(BOB), Transport::Udp),
            layer,
            rng: Rng::new(seed ^ 0xa11c_e000),
            plan,
            call_id: format!("s{seed:x}@{ALICE}"),
            from: format!("<sip:alice@{ALICE}>;tag=a{seed:x}"),
            remote_tag: None,
            remote_uri: format!("sip:bob@{BOB}"),
            local_seq: 1,
            remote_seq: 0,
            confirmed_at: None,
            ended_at: None,
            step: Step::ReInvite,
            glare_retries: 0,
            offer_version: 1,
            jobs: BTreeMap::new(),
            next_job: 0,
            clients: Vec::new(),
            client_ids: BTreeMap::new(),
            servers: Vec::new(),
            open: BTreeMap::new(),
            unacked: None,
            answered_2xx: BTreeMap::new(),
            my_offer: false,
            their_offer: false,
            acks: Vec::new(),
            ack_mismatches: Vec::new(),
            gave_up_2xx: 0,
            anomalies: Vec::new(),
            discarded: 0,
            outbox: VecDeque::new(),
        }
    }

    /// Whether she is done: no live transaction, nothing scheduled, no 2xx to resend.
    pub(crate) fn is_idle(&self) -> bool {
        self.layer.is_empty() && self.jobs.is_empty() && self.unacked.is_none()
    }

    pub(crate) fn live_transactions(&self) -> usize {
        self.layer.len()
    }

    fn at(&mut self, at: Instant, job: CallerJob) {
        self.jobs.insert((at, self.next_job), job);
        self.next_job += 1;
    }

    fn note(&mut self, text: String) {
        self.outbox.push_back(Output::Event(text));
    }

    fn pump(&mut self, now: Instant) {
        while let Some(output) = self.layer.poll_output() {
            match output {
                Output::Transmit(t) => self.outbox.push_back(Output::Transmit(t)),
                Output::Event(e) => self.on_event(now, e),
            }
        }
    }

    /// Sends the INVITE with her offer.
    pub(crate) fn start(&mut self, now: Instant) {
        let b = RequestBuilder::new(&Method::Invite, &self.remote_uri)
            .header(HeaderName::From, &self.from)
            .header(HeaderName::To, format!("<sip:bob@{BOB}>"))
            .header(HeaderName::CallId, &self.call_id)
            .cseq(1, &Method::Invite)
            .max_forwards(70)
            .header(HeaderName::Contact, format!("<sip:alice@{ALICE}>"))
            .body("application/sdp", sdp("alice", "192.0.2.1", 1));
        self.send(now, b, Sent::Invite, 1);
        self.pump(now);
    }

    fn send(&mut self, now: Instant, b: RequestBuilder, what: Sent, cseq: u32) {
        match self.layer.send_request(now, b, self.target, &self.me.to_string()) {
            Ok(id) => {
                self.client_ids.insert(id, self.clients.len());
                self.clients.push(ClientLog {
                    what,
                    cseq,
                    sent_at: now,
                    responses: Vec::new(),
                    timed_out: None,
                    acks: 0,
                });
            }
            Err(e) => self.anomalies.push(format!("alice could not send {what:?}: {e}")),
        }
    }

    fn dialog_request(&mut self, method: &Method) -> (RequestBuilder, u32) {
        self.local_seq += 1;
        let tag = self.remote_tag.clone().unwrap_or_default();
        let b = RequestBuilder::new(method, &self.remote_uri)
            .header(HeaderName::From, &self.from)
            .header(HeaderName::To, format!("<sip:bob@{BOB}>;tag={tag}"))
            .header(HeaderName::CallId, &self.call_id)
            .cseq(self.local_seq, method)
            .max_forwards(70);
        (b, self.local_seq)
    }

    fn send_ack(&mut self, cseq: u32) {
        let tag = self.remote_tag.clone().unwrap_or_default();
        let b = RequestBuilder::new(&Method::Ack, &self.remote_uri)
            .header(HeaderName::From, &self.from)
            .header(HeaderName::To, format!("<sip:bob@{BOB}>;tag={tag}"))
            .header(HeaderName::CallId, &self.call_id)
            .cseq(cseq, &Method::Ack)
            .max_forwards(70);
        if let Err(e) = self.layer.send_ack(b, self.target, &self.me.to_string()) {
            self.anomalies.push(format!("alice could not ACK: {e}"));
        }
    }

    /// Whether §14.1 or RFC 3264 keeps her from sending a new offer now.
    fn blocked(&self) -> bool {
        self.my_offer
            || self.their_offer
            || self.unacked.is_some()
            || self.open.values().any(|(_, m)| m.method() == Some(&Method::Invite))
            || self.invite_client_open()
    }

    fn invite_client_open(&self) -> bool {
        self.clients
            .iter()
            .any(|c| c.what == Sent::ReInvite && c.final_code().is_none() && c.timed_out.is_none())
    }

    /// Sends a re-INVITE with a new offer, now.
    pub(crate) fn send_reinvite(&mut self, now: Instant) {
        self.offer_version += 1;
        let (b, cseq) = self.dialog_request(&Method::Invite);
        let b = b
            .header(HeaderName::Contact, format!("<sip:alice@{ALICE}>"))
            .body("application/sdp", sdp("alice", "192.0.2.1", self.offer_version));
        self.my_offer = true;
        self.send(now, b, Sent::ReInvite, cseq);
        self.pump(now);
    }

    fn send_bye(&mut self, now: Instant) {
        if self.ended_at.is_some() {
            return;
        }
        self.ended_at = Some(now);
        self.unacked = None;
        let (b, cseq) = self.dialog_request(&Method::Bye);
        self.send(now, b, Sent::Bye, cseq);
        self.step = Step::Done;
    }

    fn plan(&mut self, now: Instant) {
        if self.ended_at.is_some() {
            return;
        }
        match self.step {
            Step::ReInvite if self.blocked() => {
                self.at(now + Duration::from_millis(300), CallerJob::Plan);
            }
            Step::ReInvite => self.send_reinvite(now),
            Step::Info => {
                let (b, cseq) = self.dialog_request(&Method::Info);
                let b = b
                    .header_named("Info-Package", "dtmf")
                    .body("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n");
                self.send(now, b, Sent::Info, cseq);
            }
            Step::Bye => {
                let due = self.confirmed_at.zip(self.plan.bye_after).map(|(c, a)| c + a);
                match due {
                    Some(due) if due > now => self.at(due, CallerJob::Plan),
                    Some(_) => self.send_bye(now),
                    None => self.step = Step::Done,
                }
            }
            Step::Done => {}
        }
    }

    /// Moves the plan on after the step's request ended, `after` from now.
    fn next_step(&mut self, now: Instant, step: Step) {
        self.step = step;
        if self.plan.automatic || step == Step::Bye {
            let after = Duration::from_millis(100 + self.rng.below(700));
            self.at(now + after, CallerJob::Plan);
        }
    }

    fn on_event(&mut self, now: Instant, event: TxEvent) {
        match event {
            TxEvent::Request { id, request, merged_with, cancels, .. } => {
                if merged_with.is_some() {
                    let _ = self.layer.respond(now, id, request.reply(482));
                } else if cancels.is_some() || request.method() == Some(&Method::Cancel) {
                    let _ = self.layer.respond(now, id, request.reply(200));
                    self.anomalies.push("bob sent CANCEL".to_owned());
                } else {
                    self.on_request(now, id, *request);
                }
            }
            TxEvent::Ack { request, .. } => self.on_ack(now, &request),
            TxEvent::Response { id, response } => self.on_response(now, id, &response),
            TxEvent::Timeout { id, .. } => {
                let Some(&i) = self.client_ids.get(&id) else { return };
                self.clients[i].timed_out = Some(now);
                let what = self.clients[i].what;
                match what {
                    Sent::Invite => self.ended_at = self.ended_at.or(Some(now)),
                    Sent::ReInvite | Sent::Info => {
                        if what == Sent::ReInvite {
                            self.my_offer = false;
                        }
                        // RFC 5057: a request that timed out ends the dialog.
                        self.send_bye(now);
                    }
                    Sent::Bye => {}
                }
            }
            TxEvent::Discarded { .. } => self.discarded += 1,
            _ => {}
        }
    }

    fn on_response(&mut self, now: Instant, id: TransactionId, response: &Message) {
        let Some(&i) = self.client_ids.get(&id) else { return };
        let code = response.status().unwrap_or_default();
        let log = &mut self.clients[i];
        log.responses.push((now, code));
        let first_final = code >= 200 && log.responses.iter().filter(|r| r.1 >= 200).count() == 1;
        let (what, cseq) = (log.what, log.cseq);
        // Every 2xx to an INVITE is ACKed, each copy again (§13.2.2.4).
        if matches!(what, Sent::Invite | Sent::ReInvite) && (200..300).contains(&code) {
            if self.remote_tag.is_none() {
                self.remote_tag = response.to_tag().ok().flatten().map(str::to_owned);
            }
            if let Some(c) = response.header(HeaderName::Contact) {
                let c = String::from_utf8_lossy(c);
                self.remote_uri = c.trim().trim_start_matches('<').trim_end_matches('>').into();
            }
            self.clients[i].acks += 1;
            self.send_ack(cseq);
        }
        if !first_final {
            return;
        }
        match (what, code) {
            (Sent::Invite, 200..=299) => {
                self.confirmed_at = Some(now);
                if self.plan.automatic {
                    let after = self.rng.duration_up_to(Duration::from_millis(1500));
                    self.at(now + after, CallerJob::Plan);
                } else if self.plan.bye_after.is_some() {
                    self.step = Step::Bye;
                    self.at(now, CallerJob::Plan);
                }
            }
            (Sent::Invite, _) => {
                self.anomalies.push(format!("the INVITE got {code}"));
                self.ended_at = Some(now);
            }
            (Sent::ReInvite, _) => {
                self.my_offer = false;
                match code {
                    491 if self.glare_retries < 3 => {
                        // §14.1: she owns the Call-ID, so 2.1–4 s in units of 10 ms.
                        self.glare_retries += 1;
                        let wait = Duration::from_millis(2100 + self.rng.below(191) * 10);
                        self.step = Step::ReInvite;
                        if self.plan.automatic {
                            self.at(now + wait, CallerJob::Plan);
                        }
                    }
                    481 => self.ended_at = self.ended_at.or(Some(now)),
                    408 => self.send_bye(now),
                    _ => self.next_step(now, Step::Info),
                }
            }
            (Sent::Info, 481) => self.ended_at = self.ended_at.or(Some(now)),
            (Sent::Info, 408) => self.send_bye(now),
            (Sent::Info, _) => self.next_step(now, Step::Bye),
            (Sent::Bye, _) => {}
        }
    }

    fn on_request(&mut self, now: Instant, id: TransactionId, request: Message) {
        let Some(method) = request.method().cloned() else { return };
        let cseq = request.cseq().map_or(0, |c| c.seq);
        let offer = has_sdp(&request);
        let index = self.servers.len();
        self.servers.push(ServerLog {
            method: method.clone(),
            cseq,
            arrived_at: now,
            offer,
            answered: None,
        });
        let ours = request.to_tag().ok().flatten().is_some_and(|t| self.from.ends_with(t));
        let code = self.refusal(now, &method, cseq, offer, ours);
        if let Some(code) = code {
            let _ = self.layer.respond(now, id, request.reply(code));
            self.servers[index].answered = Some((now, code));
            return;
        }
        if offer {
            self.their_offer = true;
        }
        self.open.insert(id, (index, request));
        let after = self.rng.duration_up_to(self.plan.max_answer_delay);
        self.at(now + after, CallerJob::Answer(id));
    }

    /// The answer she gives at once, if the request is not one to take: 481 outside the
    /// dialog, 500 / 491 as §14.2 and RFC 3311 say, 200 to BYE (which ends the dialog).
    fn refusal(
        &mut self,
        now: Instant,
        method: &Method,
        cseq: u32,
        offer: bool,
        ours: bool,
    ) -> Option<u16> {
        if self.ended_at.is_some() || !ours || self.confirmed_at.is_none() {
            return Some(481);
        }
        if cseq <= self.remote_seq {
            self.anomalies.push(format!(
                "{method} CSeq {cseq} arrived as a new request after CSeq {}",
                self.remote_seq
            ));
            return Some(500);
        }
        self.remote_seq = cseq;
        match method {
            Method::Bye => {
                self.ended_at = Some(now);
                self.unacked = None;
                self.step = Step::Done;
                // Requests of bob's still open are over.
                for (tx, (i, m)) in std::mem::take(&mut self.open) {
                    let _ = self.layer.respond(now, tx, m.reply(487));
                    self.servers[i].answered = Some((now, 487));
                }
                Some(200)
            }
            Method::Invite => {
                let invite_open =
                    self.open.values().any(|(_, m)| m.method() == Some(&Method::Invite));
                if invite_open || (offer && self.their_offer) {
                    Some(500)
                } else if self.my_offer || self.invite_client_open() {
                    Some(491)
                } else {
                    None
                }
            }
            Method::Update if offer && self.my_offer => Some(491),
            Method::Update if offer && self.their_offer => Some(500),
            _ => None,
        }
    }

    fn answer(&mut self, now: Instant, id: TransactionId) {
        let Some((index, request)) = self.open.remove(&id) else { return };
        let log = &self.servers[index];
        let (method, offer, cseq) = (log.method.clone(), log.offer, log.cseq);
        let mut b = request.reply(200);
        let mut carries_offer = false;
        if matches!(method, Method::Invite | Method::Update) {
            b = b.header(HeaderName::Contact, format!("<sip:alice@{ALICE}>"));
            if offer || method == Method::Invite {
                self.offer_version += 1;
                b = b.body("application/sdp", sdp("alice", "192.0.2.1", self.offer_version));
                carries_offer = !offer;
            }
        }
        if offer {
            self.their_offer = false;
        }
        let Ok(ok) = b.build() else {
            self.anomalies.push("alice could not build her 200".to_owned());
            return;
        };
        if let Err(e) = self.layer.respond(now, id, &ok) {
            self.anomalies.push(format!("alice could not answer {method}: {e}"));
            return;
        }
        self.servers[index].answered = Some((now, 200));
        if method == Method::Invite {
            self.my_offer |= carries_offer;
            self.answered_2xx.insert(cseq, carries_offer);
            self.unacked = Some(Unacked {
                tx: id,
                ok,
                cseq,
                offer: carries_offer,
                interval: T.t1,
                next: now + T.t1,
                give_up: now + T.t1x64(),
            });
        }
    }

    fn on_ack(&mut self, now: Instant, ack: &Message) {
        let cseq = ack.cseq().map_or(0, |c| c.seq);
        let body = has_sdp(ack);
        self.acks.push((now, cseq, body));
        if cseq == 1 {
            self.anomalies.push("an ACK with the INVITE's CSeq reached alice".to_owned());
            return;
        }
        let Some(&offer) = self.answered_2xx.get(&cseq) else {
            self.anomalies.push(format!("ACK CSeq {cseq} matches no 2xx of alice's"));
            return;
        };
        if offer != body {
            self.ack_mismatches.push((now, cseq, body));
        }
        if self.unacked.as_ref().is_some_and(|u| u.cseq == cseq) {
            self.unacked = None;
            if offer {
                self.my_offer = false;
            }
        }
    }

    fn resend_2xx(&mut self, now: Instant) {
        let Some(u) = &mut self.unacked else { return };
        if now >= u.give_up {
            self.unacked = None;
            self.my_offer = false;
            self.gave_up_2xx += 1;
            return self.send_bye(now);
        }
        if now >= u.next {
            let _ = self.layer.respond(now, u.tx, &u.ok);
            u.interval = (u.interval * 2).min(T.t2);
            u.next = (now + u.interval).min(u.give_up);
        }
    }
}

impl Node for Caller {
    type Event = String;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        self.layer.handle_datagram(now, source, transport, payload);
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.pump(now);
        self.resend_2xx(now);
        self.pump(now);
        while let Some(entry) = self.jobs.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                CallerJob::Plan => self.plan(now),
                CallerJob::Answer(id) => self.answer(now, id),
            }
            self.pump(now);
        }
    }

    fn poll_output(&mut self) -> Option<Output<String>> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let job = self.jobs.keys().next().map(|k| k.0);
        let resend = self.unacked.as_ref().map(|u| u.next.min(u.give_up));
        [self.layer.poll_timeout(), job, resend].into_iter().flatten().min()
    }
}

// ---- bob -----------------------------------------------------------------------------

/// A request bob's application was shown, and what it did.
#[derive(Debug, Clone)]
pub(crate) struct Surfaced {
    pub(crate) id: RequestId,
    pub(crate) kind: RequestKind,
    pub(crate) method: Method,
    pub(crate) cseq: u32,
    pub(crate) offer: bool,
    pub(crate) at: Instant,
    /// The code it answered with, or why `respond` refused.
    pub(crate) answered: Option<(Instant, Result<u16, InvitationError>)>,
}

/// A request bob's application sent.
#[derive(Debug, Clone)]
pub(crate) struct SentByBob {
    pub(crate) id: RequestId,
    pub(crate) kind: RequestKind,
    pub(crate) offer: bool,
    pub(crate) at: Instant,
}

/// A step of bob's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BobStep {
    ReInvite { offer: bool },
    Info,
    Update { offer: bool },
}

/// When bob hangs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BobBye {
    Never,
    /// This long after his plan is done.
    AfterPlan(Duration),
}

/// How bob's application behaves.
#[derive(Debug, Clone)]
pub(crate) struct BobPlan {
    pub(crate) steps: Vec<BobStep>,
    pub(crate) bye: BobBye,
    /// Answers requests after a random delay up to this (0: at once).
    pub(crate) max_answer_delay: Duration,
}

#[derive(Debug, Clone, Copy)]
enum BobJob {
    Accept(InvitationId),
    Respond(InvitationId, RequestId),
    Step(InvitationId),
    Ack(InvitationId, RequestId),
    Bye(InvitationId),
}

/// Bob: the endpoint under test and an application driven by its events.
#[derive(Debug)]
pub(crate) struct Bob {
    pub(crate) ep: Endpoint,
    now: Option<Instant>,
    rng: Rng,
    plan: BobPlan,
    step: usize,
    waiting: Option<RequestId>,
    retries: u32,
    offer_version: u32,
    jobs: BTreeMap<(Instant, u64), BobJob>,
    next_job: u64,
    pub(crate) events: Vec<(Instant, Event)>,
    pub(crate) surfaced: Vec<Surfaced>,
    pub(crate) sent: Vec<SentByBob>,
    /// Commands the core refused that the application did not expect.
    pub(crate) errors: Vec<String>,
    /// Offerless re-INVITEs of bob's whose 2xx carried alice's offer: bob ACKs with an answer.
    offerless: Vec<RequestId>,
}

impl Bob {
    pub(crate) fn new(seed: u64, plan: BobPlan) -> Self {
        let config = Config::new(&format!("sip:bob@{BOB}")).with_seed(seed);
        Self {
            ep: Endpoint::new(config),
            now: None,
            rng: Rng::new(seed ^ 0xb0b0_0000),
            plan,
            step: 0,
            waiting: None,
            retries: 0,
            offer_version: 1,
            jobs: BTreeMap::new(),
            next_job: 0,
            events: Vec::new(),
            surfaced: Vec::new(),
            sent: Vec::new(),
            errors: Vec::new(),
            offerless: Vec::new(),
        }
    }

    fn at(&mut self, at: Instant, job: BobJob) {
        self.jobs.insert((at, self.next_job), job);
        self.next_job += 1;
    }

    fn answer_delay(&mut self) -> Duration {
        self.rng.duration_up_to(self.plan.max_answer_delay)
    }

    fn body(&mut self) -> String {
        self.offer_version += 1;
        sdp("bob", "192.0.2.2", self.offer_version)
    }

    fn run(&mut self, now: Instant, job: BobJob) {
        match job {
            BobJob::Accept(id) => {
                let body = self.body();
                if let Some(mut inv) = self.ep.invitation(id)
                    && let Err(e) =
                        inv.accept(now, AcceptOptions::new().body("application/sdp", body))
                {
                    self.errors.push(format!("accept: {e}"));
                }
            }
            BobJob::Respond(id, rid) => {
                let Some(i) = self.surfaced.iter().position(|s| s.id == rid) else { return };
                let (kind, offer) = (self.surfaced[i].kind, self.surfaced[i].offer);
                let mut options = ResponseOptions::new();
                if kind == RequestKind::ReInvite || (kind == RequestKind::Update && offer) {
                    options = options.body("application/sdp", self.body());
                }
                let result = match self.ep.invitation(id) {
                    Some(mut inv) => inv.respond(now, rid, options).map(|()| 200),
                    None => Err(InvitationError::UnknownRequest),
                };
                self.surfaced[i].answered = Some((now, result));
            }
            BobJob::Step(id) => self.take_step(now, id),
            BobJob::Ack(id, rid) => {
                let body = self.body();
                let options = RequestOptions::new().body("application/sdp", body);
                if let Some(mut inv) = self.ep.invitation(id)
                    && let Err(e) = inv.ack(now, rid, options)
                {
                    self.errors.push(format!("ack: {e}"));
                }
            }
            BobJob::Bye(id) => {
                if let Some(mut inv) = self.ep.invitation(id) {
                    match inv.bye(now) {
                        Ok(()) | Err(InvitationError::Terminated(_)) => {}
                        Err(InvitationError::WrongState(
                            InvitationState::Terminating | InvitationState::Terminated,
                        )) => {}
                        Err(e) => self.errors.push(format!("bye: {e}")),
                    }
                }
            }
        }
    }

    fn take_step(&mut self, now: Instant, id: InvitationId) {
        let Some(&step) = self.plan.steps.get(self.step) else { return };
        let body = self.body();
        let Some(mut inv) = self.ep.invitation(id) else { return };
        let with = |offer: bool| {
            if offer {
                RequestOptions::new().body("application/sdp", body.clone())
            } else {
                RequestOptions::new()
            }
        };
        let (kind, offer, result) = match step {
            BobStep::ReInvite { offer } => {
                (RequestKind::ReInvite, offer, inv.re_invite(now, with(offer)))
            }
            BobStep::Info => (
                RequestKind::Info,
                false,
                inv.info(
                    now,
                    RequestOptions::new()
                        .extra_header("Info-Package", "dtmf")
                        .body("application/dtmf-relay", "Signal=1\r\nDuration=100\r\n"),
                ),
            ),
            BobStep::Update { offer } => (RequestKind::Update, offer, inv.update(now, with(offer))),
        };
        match result {
            Ok(rid) => {
                self.sent.push(SentByBob { id: rid, kind, offer, at: now });
                if kind == RequestKind::ReInvite && !offer {
                    self.offerless.push(rid);
                }
                self.waiting = Some(rid);
                self.step += 1;
                self.retries = 0;
            }
            Err(InvitationError::InviteInProgress | InvitationError::OfferPending)
                if self.retries < 400 =>
            {
                self.retries += 1;
                self.at(now + Duration::from_millis(300), BobJob::Step(id));
            }
            Err(InvitationError::Terminated(_) | InvitationError::WrongState(_)) => {}
            Err(e) => self.errors.push(format!("{kind:?}: {e}")),
        }
    }

    /// Moves the plan on after request `rid` ended.
    fn request_done(&mut self, now: Instant, id: InvitationId, rid: RequestId) {
        if self.waiting != Some(rid) {
            return;
        }
        self.waiting = None;
        if self.step < self.plan.steps.len() {
            let after = Duration::from_millis(100 + self.rng.below(700));
            self.at(now + after, BobJob::Step(id));
        } else if let BobBye::AfterPlan(after) = self.plan.bye {
            let after = after + self.rng.duration_up_to(Duration::from_secs(2));
            self.at(now + after, BobJob::Bye(id));
        }
    }

    fn on_event(&mut self, now: Instant, e: &Event) {
        match e {
            Event::Invitation { id } => {
                let ring =
                    Duration::from_millis(50) + self.rng.duration_up_to(Duration::from_millis(350));
                self.at(now + ring, BobJob::Accept(*id));
            }
            Event::Acked { id, .. } => {
                if self.plan.steps.is_empty() {
                    if let BobBye::AfterPlan(after) = self.plan.bye {
                        self.at(now + after, BobJob::Bye(*id));
                    }
                } else {
                    let after = self.rng.duration_up_to(Duration::from_millis(1500));
                    self.at(now + after, BobJob::Step(*id));
                }
            }
            Event::Request { id, request, kind, message } => {
                self.surfaced.push(Surfaced {
                    id: *request,
                    kind: *kind,
                    method: message.method().cloned().unwrap_or(Method::Options),
                    cseq: message.cseq().map_or(0, |c| c.seq),
                    offer: has_sdp(message),
                    at: now,
                    answered: None,
                });
                let after = self.answer_delay();
                self.at(now + after, BobJob::Respond(*id, *request));
            }
            Event::Response { id, request, kind, response } => {
                let code = response.status().unwrap_or_default();
                if code < 200 {
                    return;
                }
                if *kind == RequestKind::ReInvite
                    && (200..300).contains(&code)
                    && self.offerless.contains(request)
                {
                    self.at(now, BobJob::Ack(*id, *request));
                }
                self.request_done(now, *id, *request);
            }
            // The dialog is over (RFC 5057): the plan stops here.
            Event::RequestTimeout { request, .. } if self.waiting == Some(*request) => {
                self.waiting = None;
            }
            _ => {}
        }
    }
}

impl Node for Bob {
    type Event = Event;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        self.now = Some(now);
        Node::handle_datagram(&mut self.ep, now, source, transport, payload);
    }

    fn handle_send_failed(&mut self, now: Instant, transmit: &Transmit) {
        Node::handle_send_failed(&mut self.ep, now, transmit);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        Node::handle_timeout(&mut self.ep, now);
        while let Some(entry) = self.jobs.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let job = entry.remove();
            self.run(now, job);
        }
    }

    fn poll_output(&mut self) -> Option<Output<Event>> {
        let out = Node::poll_output(&mut self.ep)?;
        if let (Output::Event(e), Some(now)) = (&out, self.now) {
            self.events.push((now, e.clone()));
            self.on_event(now, e);
        }
        Some(out)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let job = self.jobs.keys().next().map(|k| k.0);
        [Node::poll_timeout(&self.ep), job].into_iter().flatten().min()
    }
}

// ---- the wire ------------------------------------------------------------------------

/// Whether a record is a datagram being sent, delivered or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Sent,
    Delivered,
    Dropped,
}

/// One datagram as sent, delivered or dropped, decoded.
#[derive(Debug)]
pub(crate) struct Wire {
    /// Its place in the trace.
    pub(crate) index: usize,
    pub(crate) at: Instant,
    pub(crate) fate: Fate,
    pub(crate) from: NodeId,
    pub(crate) to: Option<NodeId>,
    pub(crate) method: Option<Method>,
    pub(crate) code: Option<u16>,
    pub(crate) cseq: u32,
    pub(crate) cseq_method: Option<Method>,
    pub(crate) body: bool,
}

/// Every datagram record of the trace, decoded, in trace order.
pub(crate) fn wires(world: &World) -> Vec<Wire> {
    world
        .trace()
        .enumerate()
        .filter_map(|(index, r)| {
            let (d, fate) = match &r.kind {
                RecordKind::Sent(d) => (d, Fate::Sent),
                RecordKind::Delivered(d) => (d, Fate::Delivered),
                RecordKind::Dropped(d, _) => (d, Fate::Dropped),
                _ => return None,
            };
            let m = Message::parse(d.payload.clone()).ok()?;
            let cseq = m.cseq().ok();
            Some(Wire {
                index,
                at: r.at,
                fate,
                from: d.from,
                to: d.to,
                method: m.method().cloned(),
                code: m.status(),
                cseq: cseq.as_ref().map_or(0, |c| c.seq),
                cseq_method: cseq.map(|c| c.method),
                body: !m.body().is_empty(),
            })
        })
        .collect()
}

// ---- the sweep -----------------------------------------------------------------------

/// A finished run.
pub(crate) struct Run {
    pub(crate) seed: u64,
    pub(crate) world: World,
    pub(crate) alice: NodeId,
    pub(crate) bob: NodeId,
    pub(crate) drive: Result<usize, sipwire_sim::NotIdle>,
}

/// `loss`, 10 % duplication, 10 % reordering by 40 ms, 20 ms ± 10 ms latency.
pub(crate) fn lossy_link(loss: f64) -> LinkConfig {
    LinkConfig::new(Duration::from_millis(20))
        .with_jitter(Duration::from_millis(10))
        .with_loss(loss)
        .with_duplicate(0.1)
        .with_reorder(0.1, Duration::from_millis(40))
}

/// The scenario of `seed`: who hangs up when, which offers go where.
pub(crate) fn run(seed: u64, link: LinkConfig) -> Run {
    let mut world = World::new(seed);
    // Even seeds: alice hangs up a minute into the call, long after both plans are done.
    // Odd seeds: bob, soon after his plan (alice's may still run) or a minute later.
    let alice_byes = seed.is_multiple_of(2);
    let caller = CallerPlan {
        automatic: true,
        bye_after: alice_byes.then_some(Duration::from_secs(60)),
        max_answer_delay: Duration::from_millis(700),
    };
    let bye = match (alice_byes, seed % 4) {
        (true, _) => BobBye::Never,
        (false, 1) => BobBye::AfterPlan(Duration::ZERO),
        (false, _) => BobBye::AfterPlan(Duration::from_secs(60)),
    };
    let plan = BobPlan {
        steps: vec![
            BobStep::ReInvite { offer: !seed.is_multiple_of(3) },
            BobStep::Info,
            BobStep::Update { offer: seed % 5 < 3 },
        ],
        bye,
        max_answer_delay: Duration::from_millis(700),
    };
    let alice = world.add_node("alice", addr(ALICE), Caller::new(seed, caller));
    let bob = world.add_node("bob", addr(BOB), Bob::new(seed, plan));
    world.link(alice, bob, link);
    world.with_node(alice, |c: &mut Caller, now| c.start(now));
    let drive = world.drive(500_000);
    Run { seed, world, alice, bob, drive }
}

/// What a sweep exercised, summed over seeds.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) runs: usize,
    pub(crate) established: usize,
    pub(crate) surfaced: usize,
    pub(crate) surfaced_reinvites: usize,
    pub(crate) answered_487: usize,
    pub(crate) reinvite_2xx_copies: usize,
    pub(crate) bob_sent: usize,
    pub(crate) bob_finals: usize,
    pub(crate) bob_request_timeouts: usize,
    pub(crate) bob_cut_by_end: usize,
    pub(crate) glares: usize,
    pub(crate) bob_491_finals: usize,
    pub(crate) remote_bye: usize,
    pub(crate) local_bye: usize,
    pub(crate) dialog_failed: usize,
    pub(crate) ack_timeouts: usize,
    pub(crate) bye_never_arrived: usize,
    pub(crate) datagrams: usize,
}

impl Tally {
    pub(crate) fn add(&mut self, o: &Self) {
        self.runs += o.runs;
        self.established += o.established;
        self.surfaced += o.surfaced;
        self.surfaced_reinvites += o.surfaced_reinvites;
        self.answered_487 += o.answered_487;
        self.reinvite_2xx_copies += o.reinvite_2xx_copies;
        self.bob_sent += o.bob_sent;
        self.bob_finals += o.bob_finals;
        self.bob_request_timeouts += o.bob_request_timeouts;
        self.bob_cut_by_end += o.bob_cut_by_end;
        self.glares += o.glares;
        self.bob_491_finals += o.bob_491_finals;
        self.remote_bye += o.remote_bye;
        self.local_bye += o.local_bye;
        self.dialog_failed += o.dialog_failed;
        self.ack_timeouts += o.ack_timeouts;
        self.bye_never_arrived += o.bye_never_arrived;
        self.datagrams += o.datagrams;
    }
}

/// The times, from the first send, at which a 2xx over UDP goes out until its ACK: T1,
/// doubling up to T2, while below 64·T1.
pub(crate) fn schedule_2xx() -> Vec<Duration> {
    let (mut at, mut interval, mut out) = (Duration::ZERO, T.t1, Vec::new());
    while at < T.t1x64() {
        out.push(at);
        at += interval;
        interval = (interval * 2).min(T.t2);
    }
    out
}

/// Checks every invariant of a finished run; panics with the seed on the first broken one.
pub(crate) fn check(run: &Run) -> Tally {
    let seed = run.seed;
    let world = &run.world;
    if let Err(e) = &run.drive {
        panic!("seed {seed}: {e}");
    }
    assert!(world.is_idle(), "seed {seed}: the world is not idle");
    let alice = world.node::<Caller>(run.alice).expect("alice");
    let bob = world.node::<Bob>(run.bob).expect("bob");
    let ep = &bob.ep;
    let mut tally = Tally { runs: 1, ..Tally::default() };
    let wires = wires(world);
    tally.datagrams = wires.iter().filter(|w| w.fate == Fate::Sent).count();

    // Tables drain, on both sides. One outcome keeps bob's call: every copy of alice's BYE
    // lost (11 in a row; never at 20 % loss), and no session timer to notice.
    let bye_lost = alice.clients.iter().any(|c| c.what == Sent::Bye && c.timed_out.is_some())
        && !wires.iter().any(|w| {
            w.fate == Fate::Delivered && w.to == Some(run.bob) && w.method == Some(Method::Bye)
        })
        && !bob.events.iter().any(|(_, e)| matches!(e, Event::Terminated { .. }));
    if bye_lost {
        assert_eq!(
            (ep.dialog_count(), ep.invitation_count()),
            (1, 1),
            "seed {seed}: every BYE was lost, yet bob's call is gone"
        );
        tally.bye_never_arrived += 1;
        return tally;
    }
    assert_eq!(
        (ep.transaction_count(), ep.dialog_count(), ep.invitation_count()),
        (0, 0, 0),
        "seed {seed}: bob's tables did not drain"
    );
    assert!(alice.is_idle(), "seed {seed}: alice is not idle ({} live)", alice.live_transactions());
    assert!(alice.anomalies.is_empty(), "seed {seed}: alice saw {:?}", alice.anomalies);
    assert!(bob.errors.is_empty(), "seed {seed}: bob's commands failed: {:?}", bob.errors);

    // The invitation ends exactly once.
    let invitations: Vec<InvitationId> = bob
        .events
        .iter()
        .filter_map(|(_, e)| if let Event::Invitation { id } = e { Some(*id) } else { None })
        .collect();
    assert!(invitations.len() <= 1, "seed {seed}: {} invitations", invitations.len());
    let ends: Vec<(Instant, EndReason)> = bob
        .events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::Terminated { reason, .. } => Some((*t, *reason)),
            _ => None,
        })
        .collect();
    if invitations.is_empty() {
        assert!(ends.is_empty(), "seed {seed}: an end without an invitation");
        return tally;
    }
    assert_eq!(ends.len(), 1, "seed {seed}: the invitation ended {ends:?}");
    let (_, reason) = ends[0];
    // When the call stopped taking part: it left Established.
    let left_established = bob
        .events
        .iter()
        .find(|(_, e)| {
            matches!(
                e,
                Event::StateChanged {
                    state: InvitationState::Terminating | InvitationState::Terminated,
                    ..
                } | Event::Terminated { .. }
            )
        })
        .map(|(t, _)| *t)
        .expect("the call ended");
    tally.established +=
        usize::from(bob.events.iter().any(|(_, e)| matches!(e, Event::Acked { .. })));
    match reason {
        EndReason::RemoteBye => tally.remote_bye += 1,
        EndReason::LocalBye(_) => tally.local_bye += 1,
        EndReason::DialogFailed(_) => tally.dialog_failed += 1,
        EndReason::AckTimeout => tally.ack_timeouts += 1,
        other => panic!("seed {seed}: the call ended {other:?}"),
    }
    assert!(
        !bob.events.iter().any(|(_, e)| matches!(e, Event::DefaultAnswered { .. })),
        "seed {seed}: the application answers within 1 s, yet a default answer went out"
    );

    // Every request shown to bob's application is answered exactly once on the wire.
    let bob_id = run.bob;
    let mut seen = BTreeMap::new();
    for s in &bob.surfaced {
        let what = format!("seed {seed}: alice's {} CSeq {} ({:?})", s.method, s.cseq, s.id);
        assert!(seen.insert((s.cseq, s.method.to_string()), s.id).is_none(), "{what}: shown twice");
        tally.surfaced += 1;
        let finals: Vec<&Wire> = wires
            .iter()
            .filter(|w| {
                w.fate == Fate::Sent
                    && w.from == bob_id
                    && w.code.is_some_and(|c| c >= 200)
                    && w.cseq == s.cseq
                    && w.cseq_method.as_ref() == Some(&s.method)
            })
            .collect();
        let mut codes: Vec<u16> = finals.iter().filter_map(|w| w.code).collect();
        codes.dedup();
        assert_eq!(codes.len(), 1, "{what}: finals sent {codes:?}");
        let code = codes[0];
        match s.answered.as_ref().map(|a| a.1) {
            Some(Ok(c)) => assert_eq!(code, c, "{what}: answered {c}, {code} went out"),
            // A BYE either way (or a failed request of bob's) closed it first: 487.
            Some(Err(InvitationError::UnknownRequest)) => {
                assert_eq!(code, 487, "{what}: respond refused, {code} went out");
            }
            other => panic!("{what}: the application's answer: {other:?}"),
        }
        tally.answered_487 += usize::from(code == 487);
        if s.kind == RequestKind::ReInvite {
            tally.surfaced_reinvites += 1;
        }
        if s.kind == RequestKind::ReInvite && (200..300).contains(&code) {
            tally.reinvite_2xx_copies += check_2xx_until_ack(seed, s, bob_id, &wires, bob);
        }
    }

    // Every request bob sent ends once: a final response, or a timeout that ends the call.
    for sent in &bob.sent {
        let what = format!("seed {seed}: bob's {:?} {:?}", sent.kind, sent.id);
        tally.bob_sent += 1;
        let mut outcome = Vec::new();
        let mut last_send = sent.at;
        let mut provisional = false;
        for (t, e) in &bob.events {
            match e {
                Event::Response { request, response, .. } if *request == sent.id => {
                    let code = response.status().unwrap_or_default();
                    assert!(outcome.is_empty(), "{what}: {code} after the outcome {outcome:?}");
                    provisional |= code < 200;
                    if code >= 200 {
                        outcome.push((*t, Some(code)));
                    }
                }
                Event::RequestTimeout { request, .. } if *request == sent.id => {
                    assert!(outcome.is_empty(), "{what}: a timeout after {outcome:?}");
                    outcome.push((*t, None));
                }
                Event::Glare { request, retry_at, .. } if *request == sent.id => {
                    assert!(outcome.is_empty(), "{what}: glare after {outcome:?}");
                    tally.glares += 1;
                    last_send = *retry_at;
                }
                _ => {}
            }
        }
        match outcome.as_slice() {
            [(_, Some(code))] => {
                tally.bob_finals += 1;
                tally.bob_491_finals += usize::from(*code == 491);
                if matches!(code, 481 | 408) {
                    assert_eq!(reason, EndReason::DialogFailed(Some(*code)), "{what}: {code}");
                }
            }
            [(_, None)] => {
                tally.bob_request_timeouts += 1;
                assert_eq!(reason, EndReason::DialogFailed(None), "{what}: timed out");
            }
            [] => {
                // The call ended while the request was open: no outcome is reported then.
                // A non-INVITE, or an INVITE with no provisional, is open 64·T1 at most
                // (Timer F / B); an INVITE in Proceeding has no timer (§17.1.1.2).
                assert!(
                    left_established <= last_send + T.t1x64()
                        || (sent.kind == RequestKind::ReInvite && provisional),
                    "{what}: no final response and no timeout, and the call was still up \
                     64·T1 after it was sent (it left Established at {:?})",
                    left_established - world.start()
                );
                tally.bob_cut_by_end += 1;
            }
            more => panic!("{what}: {more:?}"),
        }
    }
    // The ACK to alice's 2xx carries the answer to her offer, and nothing otherwise —
    // unless bob's call was already ending (§13.2.2.4: he ACKs, the BYE ends the session).
    for &(at, cseq, body) in &alice.ack_mismatches {
        assert!(
            left_established <= at,
            "seed {seed}: bob's ACK CSeq {cseq} (body: {body}) does not fit alice's 2xx"
        );
    }
    if reason == EndReason::DialogFailed(None) {
        assert!(
            bob.events.iter().any(|(_, e)| matches!(e, Event::RequestTimeout { .. })),
            "seed {seed}: DialogFailed(None) without a RequestTimeout"
        );
    }
    if reason == EndReason::RemoteBye {
        assert!(
            alice.clients.iter().any(|c| c.what == Sent::Bye),
            "seed {seed}: RemoteBye, but alice sent no BYE"
        );
    }
    tally
}

/// Checks bob's 2xx to alice's re-INVITE `s`: copies at T1 doubling to T2 from the first,
/// none missing before the ACK (or a BYE) reached bob, none after; returns the copies.
fn check_2xx_until_ack(seed: u64, s: &Surfaced, bob: NodeId, wires: &[Wire], b: &Bob) -> usize {
    let what = format!("seed {seed}: bob's 2xx to re-INVITE CSeq {}", s.cseq);
    let copies: Vec<&Wire> = wires
        .iter()
        .filter(|w| {
            w.fate == Fate::Sent
                && w.from == bob
                && w.code.is_some_and(|c| (200..300).contains(&c))
                && w.cseq == s.cseq
                && w.cseq_method == Some(Method::Invite)
        })
        .collect();
    let first = copies.first().unwrap_or_else(|| panic!("{what}: never sent")).at;
    let ack = wires.iter().find(|w| {
        w.fate == Fate::Delivered
            && w.to == Some(bob)
            && w.method == Some(Method::Ack)
            && w.cseq == s.cseq
    });
    // A BYE either way also stops it.
    let bye = wires.iter().find(|w| {
        w.method == Some(Method::Bye)
            && ((w.fate == Fate::Delivered && w.to == Some(bob))
                || (w.fate == Fate::Sent && w.from == bob))
    });
    let stop = [ack, bye].into_iter().flatten().min_by_key(|w| w.index);
    let offsets: Vec<Duration> = copies.iter().map(|w| w.at - first).collect();
    let schedule = schedule_2xx();
    assert!(
        offsets.len() <= schedule.len() && offsets[..] == schedule[..offsets.len()],
        "{what}: sent at {offsets:?}, expected a prefix of {schedule:?}"
    );
    match stop {
        Some(stop) => {
            let after: Vec<_> = copies.iter().filter(|w| w.index > stop.index).collect();
            assert!(
                after.is_empty(),
                "{what}: {} copies after the {} reached bob at {:?}",
                after.len(),
                stop.method.as_ref().map_or("?", Method::as_str),
                stop.at - first
            );
            if let Some(next) = schedule.get(offsets.len()) {
                assert!(
                    first + *next >= stop.at,
                    "{what}: the copy due at {next:?} is missing (stopped at {:?})",
                    stop.at - first
                );
            }
        }
        None => {
            assert_eq!(offsets.len(), schedule.len(), "{what}: no ACK, yet it stopped early");
            let gave_up = b
                .events
                .iter()
                .any(|(t, e)| matches!(e, Event::AckTimeout { .. }) && *t - first == T.t1x64());
            assert!(gave_up, "{what}: no ACK, and no AckTimeout 64·T1 after the first copy");
        }
    }
    copies.len()
}
