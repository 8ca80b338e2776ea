//! Nodes and helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::{Message, Output, Transmit, Transport};
use sipwire_sim::{Node, Record, RecordKind};

/// `192.0.2.n:5060`.
pub(crate) fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 5060))
}

/// A valid OPTIONS request, told apart by `seq` (its CSeq and branch).
pub(crate) fn options(seq: u32, from: SocketAddr, to: SocketAddr) -> Bytes {
    Bytes::from(format!(
        "OPTIONS sip:bob@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK{seq:08}\r\n\
         From: <sip:alice@{from}>;tag=a{seq}\r\n\
         To: <sip:bob@{to}>\r\n\
         Call-ID: c{seq}@sim\r\n\
         CSeq: {seq} OPTIONS\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

/// A valid INVITE from `from` to `to`.
pub(crate) fn invite(from: SocketAddr, to: SocketAddr) -> Bytes {
    Bytes::from(format!(
        "INVITE sip:bob@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bKinvite1\r\n\
         From: <sip:alice@{from}>;tag=a1\r\n\
         To: <sip:bob@{to}>\r\n\
         Call-ID: invite1@sim\r\n\
         CSeq: 1 INVITE\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

/// Returns the CSeq number of a SIP payload.
pub(crate) fn cseq_of(payload: &[u8]) -> Option<u32> {
    Message::parse(payload).ok()?.cseq().ok().map(|c| c.seq)
}

/// Sends `count` OPTIONS (CSeq 0, 1, …) to `dest`, one every `interval`, the first at
/// `start`.
#[derive(Debug)]
pub(crate) struct Pinger {
    me: SocketAddr,
    dest: SocketAddr,
    transport: Transport,
    interval: Duration,
    next: Option<Instant>,
    sent: u32,
    count: u32,
    outbox: VecDeque<Transmit>,
}

impl Pinger {
    pub(crate) fn new(
        me: SocketAddr,
        dest: SocketAddr,
        start: Instant,
        count: u32,
        interval: Duration,
    ) -> Self {
        Self {
            me,
            dest,
            transport: Transport::Udp,
            interval,
            next: (count > 0).then_some(start),
            sent: 0,
            count,
            outbox: VecDeque::new(),
        }
    }

    pub(crate) fn over(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }
}

impl Node for Pinger {
    type Event = std::convert::Infallible;

    fn handle_datagram(&mut self, _: Instant, _: SocketAddr, _: Transport, _: Bytes) {}

    fn handle_timeout(&mut self, now: Instant) {
        while let Some(at) = self.next
            && at <= now
        {
            let payload = options(self.sent, self.me, self.dest);
            self.outbox.push_back(Transmit::new(self.dest, self.transport, payload, None));
            self.sent += 1;
            self.next = (self.sent < self.count).then(|| at + self.interval);
        }
    }

    fn poll_output(&mut self) -> Option<Output<Self::Event>> {
        self.outbox.pop_front().map(Output::Transmit)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }
}

/// What a [`Requester`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequesterEvent {
    Response(u16),
    TimedOut,
}

/// Sends one INVITE at `start` and retransmits it as Timer A says (500 ms, doubling) until
/// a response arrives or Timer B (32 s) fires.
#[derive(Debug)]
pub(crate) struct Requester {
    me: SocketAddr,
    dest: SocketAddr,
    timer_a: Option<(Instant, Duration)>,
    timer_b: Option<Instant>,
    outbox: VecDeque<Output<RequesterEvent>>,
}

impl Requester {
    pub(crate) fn new(me: SocketAddr, dest: SocketAddr, start: Instant) -> Self {
        Self {
            me,
            dest,
            timer_a: Some((start, Duration::ZERO)),
            timer_b: Some(start + Duration::from_secs(32)),
            outbox: VecDeque::new(),
        }
    }
}

impl Node for Requester {
    type Event = RequesterEvent;

    fn handle_datagram(&mut self, _: Instant, _: SocketAddr, _: Transport, payload: Bytes) {
        let Some(code) = Message::parse(payload).ok().and_then(|m| m.status()) else { return };
        if self.timer_b.is_some() {
            self.timer_a = None;
            self.timer_b = None;
        }
        self.outbox.push_back(Output::Event(RequesterEvent::Response(code)));
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.timer_b.is_some_and(|t| t <= now) {
            self.timer_a = None;
            self.timer_b = None;
            self.outbox.push_back(Output::Event(RequesterEvent::TimedOut));
            return;
        }
        if let Some((at, interval)) = self.timer_a
            && at <= now
        {
            let payload = invite(self.me, self.dest);
            self.outbox.push_back(Output::Transmit(Transmit::new(
                self.dest,
                Transport::Udp,
                payload,
                None,
            )));
            let next = if interval.is_zero() { Duration::from_millis(500) } else { interval * 2 };
            self.timer_a = Some((at + next, next));
        }
    }

    fn poll_output(&mut self) -> Option<Output<RequesterEvent>> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.timer_a.map(|(at, _)| at), self.timer_b].into_iter().flatten().min()
    }
}

/// Re-arms a timer every `period`, forever, recording when it fired.
#[derive(Debug)]
pub(crate) struct Ticker {
    pub(crate) next: Instant,
    pub(crate) period: Duration,
    pub(crate) fired: Vec<Instant>,
}

impl Node for Ticker {
    type Event = std::convert::Infallible;

    fn handle_datagram(&mut self, _: Instant, _: SocketAddr, _: Transport, _: Bytes) {}

    fn handle_timeout(&mut self, now: Instant) {
        if now >= self.next {
            self.fired.push(now);
            self.next += self.period;
        }
    }

    fn poll_output(&mut self) -> Option<Output<Self::Event>> {
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next)
    }
}

/// The records of one kind, by a predicate on the kind.
pub(crate) fn count<'a>(
    trace: impl Iterator<Item = &'a Record>,
    f: impl Fn(&RecordKind) -> bool,
) -> usize {
    trace.filter(|r| f(&r.kind)).count()
}

/// Has the `Sink` node `from` send `n` OPTIONS (CSeq 0..n) to `to` at once.
pub(crate) fn blast(
    world: &mut sipwire_sim::World,
    from: sipwire_sim::NodeId,
    to: SocketAddr,
    n: u32,
    transport: Transport,
) {
    let me = world.addr(from).expect("a node");
    world
        .with_node(from, |sink: &mut sipwire_sim::script::Sink, _| {
            for seq in 0..n {
                sink.send(to, transport, options(seq, me, to));
            }
        })
        .expect("a Sink");
}

/// The datagram ids the trace shows dropped, in order.
pub(crate) fn dropped_ids(world: &sipwire_sim::World) -> Vec<u64> {
    world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Dropped(d, _) => Some(d.id),
            _ => None,
        })
        .collect()
}
