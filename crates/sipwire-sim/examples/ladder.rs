//! An INVITE that ends in 486 Busy Here, over a lossy UDP link, drawn as a ladder.
//!
//! ```sh
//! cargo run -p sipwire-sim --example ladder -- [--seed N] [--loss 0.3] [--latency-ms 20] [--pcap out.pcap]
//! ```
//!
//! Both ends are scripted stand-ins for the transaction layer, timed as RFC 3261 §17 says
//! for UDP (T1 = 500 ms, T2 = 4 s): the caller retransmits the INVITE on Timer A until a
//! response comes, then ACKs the 486 (and every retransmission of it); the callee answers
//! 100 at once, 180 after 50 ms and 486 after a second, and retransmits the 486 on Timer G
//! until the ACK comes or Timer H (32 s) gives up. Same seed, same ladder.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::{HeaderName, Message, Method, Output, RequestBuilder, Transmit, Transport};
use sipwire_sim::{LinkConfig, Node, World};

const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

/// What the caller tells its application.
#[derive(Debug)]
enum CallerEvent {
    Provisional(u16),
    Final(u16),
    TimedOut,
}

impl fmt::Display for CallerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Provisional(code) => write!(f, "provisional response {code}"),
            Self::Final(code) => write!(f, "final response {code}, ACK sent"),
            Self::TimedOut => f.write_str("no response: Timer B fired"),
        }
    }
}

/// The INVITE client transaction's states (RFC 3261 figure 5), Terminated left out: this
/// caller keeps ACKing retransmitted final responses instead of running Timer D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Calling,
    Proceeding,
    Completed,
}

/// A UAC that sends one INVITE and sees it through, RFC 3261 §17.1.1 style.
#[derive(Debug)]
struct Caller {
    me: SocketAddr,
    callee: SocketAddr,
    state: State,
    invite: Option<Message>,
    /// Timer A's next firing and interval (Calling only).
    timer_a: Option<(Instant, Duration)>,
    /// Timer B (Calling only).
    timer_b: Option<Instant>,
    ack: Option<Bytes>,
    outbox: VecDeque<Output<CallerEvent>>,
}

impl Caller {
    fn new(me: SocketAddr, callee: SocketAddr) -> Self {
        Self {
            me,
            callee,
            state: State::Idle,
            invite: None,
            timer_a: None,
            timer_b: None,
            ack: None,
            outbox: VecDeque::new(),
        }
    }

    fn call(&mut self, now: Instant) {
        let invite = RequestBuilder::new(&Method::Invite, &format!("sip:bob@{}", self.callee))
            .header(HeaderName::Via, format!("SIP/2.0/UDP {};branch=z9hG4bK74bf9", self.me))
            .header(
                HeaderName::From,
                format!("\"Alice\" <sip:alice@{}>;tag=9fxced76sl", self.me.ip()),
            )
            .header(HeaderName::To, format!("<sip:bob@{}>", self.callee.ip()))
            .header(HeaderName::CallId, format!("3848276298220188511@{}", self.me.ip()))
            .cseq(1, &Method::Invite)
            .max_forwards(70)
            .header(HeaderName::Contact, format!("<sip:alice@{}>", self.me))
            .build()
            .expect("a well-formed INVITE");
        self.send(invite.to_bytes());
        self.invite = Some(invite);
        self.state = State::Calling;
        self.timer_a = Some((now + T1, T1));
        self.timer_b = Some(now + 64 * T1);
    }

    fn send(&mut self, payload: Bytes) {
        self.outbox.push_back(Output::Transmit(Transmit::new(
            self.callee,
            Transport::Udp,
            payload,
            None,
        )));
    }

    /// The ACK for a non-2xx final response (§17.1.1.3): the INVITE's Request-URI, Via,
    /// From, Call-ID and CSeq number, and the response's To.
    fn ack_for(&self, response: &Message) -> Option<Bytes> {
        let invite = self.invite.as_ref()?;
        let mut wire = Vec::new();
        RequestBuilder::new(&Method::Ack, invite.request_uri_str()?)
            .header(HeaderName::Via, invite.header(HeaderName::Via)?)
            .header(HeaderName::From, invite.header(HeaderName::From)?)
            .header(HeaderName::To, response.header(HeaderName::To)?)
            .header(HeaderName::CallId, invite.header(HeaderName::CallId)?)
            .cseq(1, &Method::Ack)
            .max_forwards(70)
            .write_to(&mut wire)
            .ok()?;
        Some(Bytes::from(wire))
    }
}

impl Node for Caller {
    type Event = CallerEvent;

    fn handle_datagram(
        &mut self,
        _now: Instant,
        _source: SocketAddr,
        _transport: Transport,
        payload: Bytes,
    ) {
        let Ok(response) = Message::parse(payload) else { return };
        let Some(code) = response.status() else { return };
        match (self.state, code) {
            (State::Calling | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                self.timer_a = None;
                self.timer_b = None;
                self.outbox.push_back(Output::Event(CallerEvent::Provisional(code)));
            }
            (State::Calling | State::Proceeding, _) => {
                self.state = State::Completed;
                self.timer_a = None;
                self.timer_b = None;
                self.outbox.push_back(Output::Event(CallerEvent::Final(code)));
                self.ack = self.ack_for(&response);
                if let Some(ack) = self.ack.clone() {
                    self.send(ack);
                }
            }
            // A retransmitted final response: our ACK was lost, send it again.
            (State::Completed, 200..) => {
                if let Some(ack) = self.ack.clone() {
                    self.send(ack);
                }
            }
            _ => {}
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.timer_b.is_some_and(|t| t <= now) {
            self.state = State::Idle;
            self.timer_a = None;
            self.timer_b = None;
            self.outbox.push_back(Output::Event(CallerEvent::TimedOut));
            return;
        }
        if let Some((at, interval)) = self.timer_a
            && at <= now
        {
            if let Some(invite) = &self.invite {
                let bytes = invite.to_bytes();
                self.send(bytes);
            }
            self.timer_a = Some((now + interval * 2, interval * 2));
        }
    }

    fn poll_output(&mut self) -> Option<Output<CallerEvent>> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.timer_a.map(|(at, _)| at), self.timer_b].into_iter().flatten().min()
    }
}

/// What the callee tells its application.
#[derive(Debug)]
enum CalleeEvent {
    Incoming,
    Acked,
    NoAck,
}

/// A UAS that rings, then declines with 486, RFC 3261 §17.2.1 style.
#[derive(Debug)]
struct Callee {
    invite: Option<(Message, SocketAddr)>,
    /// The last response sent, resent when the INVITE is retransmitted.
    last: Option<Bytes>,
    /// When to send 180, then 486.
    ring_at: Option<Instant>,
    busy_at: Option<Instant>,
    /// Timer G's next firing and interval, and Timer H, once the 486 is out.
    timer_g: Option<(Instant, Duration)>,
    timer_h: Option<Instant>,
    done: bool,
    outbox: VecDeque<Output<CalleeEvent>>,
}

impl Callee {
    fn new() -> Self {
        Self {
            invite: None,
            last: None,
            ring_at: None,
            busy_at: None,
            timer_g: None,
            timer_h: None,
            done: false,
            outbox: VecDeque::new(),
        }
    }

    fn respond(&mut self, code: u16) {
        let Some((invite, peer)) = &self.invite else { return };
        let mut wire = Vec::new();
        let reply = invite.reply(code);
        let reply = if code > 100 { reply.to_tag("8321234356") } else { reply };
        if reply.write_to(&mut wire).is_ok() {
            let wire = Bytes::from(wire);
            self.outbox.push_back(Output::Transmit(Transmit::new(
                *peer,
                Transport::Udp,
                wire.clone(),
                None,
            )));
            self.last = Some(wire);
        }
    }

    fn resend_last(&mut self) {
        if let (Some(last), Some((_, peer))) = (&self.last, &self.invite) {
            self.outbox.push_back(Output::Transmit(Transmit::new(
                *peer,
                Transport::Udp,
                last.clone(),
                None,
            )));
        }
    }
}

impl Node for Callee {
    type Event = CalleeEvent;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        _transport: Transport,
        payload: Bytes,
    ) {
        let Ok(request) = Message::parse(payload) else { return };
        match request.method() {
            Some(Method::Invite) if self.invite.is_none() => {
                self.invite = Some((request, source));
                self.outbox.push_back(Output::Event(CalleeEvent::Incoming));
                self.respond(100);
                self.ring_at = Some(now + Duration::from_millis(50));
                self.busy_at = Some(now + Duration::from_secs(1));
            }
            // A retransmitted INVITE: the most recent response again (§17.2.1).
            Some(Method::Invite) if !self.done => self.resend_last(),
            Some(Method::Ack) if self.timer_h.is_some() => {
                self.timer_g = None;
                self.timer_h = None;
                self.done = true;
                self.outbox.push_back(Output::Event(CalleeEvent::Acked));
            }
            _ => {}
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.ring_at.is_some_and(|t| t <= now) {
            self.ring_at = None;
            self.respond(180);
        }
        if self.busy_at.is_some_and(|t| t <= now) {
            self.busy_at = None;
            self.respond(486);
            self.timer_g = Some((now + T1, T1));
            self.timer_h = Some(now + 64 * T1);
        }
        if self.timer_h.is_some_and(|t| t <= now) {
            self.timer_g = None;
            self.timer_h = None;
            self.done = true;
            self.outbox.push_back(Output::Event(CalleeEvent::NoAck));
        }
        if let Some((at, interval)) = self.timer_g
            && at <= now
        {
            self.resend_last();
            let interval = (interval * 2).min(T2);
            self.timer_g = Some((now + interval, interval));
        }
    }

    fn poll_output(&mut self) -> Option<Output<CalleeEvent>> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.ring_at, self.busy_at, self.timer_g.map(|(at, _)| at), self.timer_h]
            .into_iter()
            .flatten()
            .min()
    }
}

struct Args {
    seed: u64,
    loss: f64,
    latency: Duration,
    pcap: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { seed: 1, loss: 0.3, latency: Duration::from_millis(20), pcap: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--loss" => args.loss = value()?.parse().map_err(|e| format!("--loss: {e}"))?,
            "--latency-ms" => {
                args.latency = Duration::from_millis(
                    value()?.parse().map_err(|e| format!("--latency-ms: {e}"))?,
                );
            }
            "--pcap" => args.pcap = Some(value()?),
            "-h" | "--help" => {
                return Err(
                    "usage: ladder [--seed N] [--loss P] [--latency-ms MS] [--pcap FILE]".into()
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    println!("seed {} · loss {} · latency {:?}\n", args.seed, args.loss, args.latency);

    let alice_addr: SocketAddr = "192.0.2.1:5060".parse().expect("an address");
    let bob_addr: SocketAddr = "192.0.2.2:5060".parse().expect("an address");
    let mut world = World::new(args.seed);
    let alice = world.add_node("alice", alice_addr, Caller::new(alice_addr, bob_addr));
    let bob = world.add_node("bob", bob_addr, Callee::new());
    world.link(alice, bob, LinkConfig::new(args.latency).with_loss(args.loss));

    world.with_node(alice, |caller: &mut Caller, now| caller.call(now));
    let outcome = world.drive(10_000);

    print!("{}", world.ladder());
    println!();
    match outcome {
        Ok(steps) => println!("idle after {steps} steps, at +{:?}", world.elapsed()),
        Err(e) => println!("{e}"),
    }
    for (at, event) in world.take_events_as::<CallerEvent>(alice) {
        println!("alice +{:?}: {event}", at - world.start());
    }
    for (at, event) in world.take_events_as::<CalleeEvent>(bob) {
        println!("bob   +{:?}: {event:?}", at - world.start());
    }

    if let Some(path) = &args.pcap {
        if let Err(e) = std::fs::write(path, world.pcap()) {
            eprintln!("writing {path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("capture written to {path}");
    }
    ExitCode::SUCCESS
}
