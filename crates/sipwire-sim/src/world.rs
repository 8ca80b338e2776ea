//! The world: nodes, links, the virtual clock and the trace.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sipwire::{Output, Transmit};

use crate::link::{Channel, Fate, LinkConfig, PartitionMode};
use crate::node::{ErasedNode, Node, NodeEvent, NodeId};
use crate::rng::{Rng, stream_seed};
use crate::trace::{Datagram, DropReason, Record, RecordKind};
use crate::{ladder, pcap};

/// Returns the instant every world's clock starts at.
///
/// `Instant` has no constructor but the OS clock, so a virtual clock needs one real reading
/// to count from. It is taken once per process and shared by every world: simulated time
/// is always `start + offset`, and nothing the simulator computes depends on what the
/// reading was. This is the only clock read in the crate.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Steps at one instant after which [`World::run_until`] calls it a livelock.
const LIVELOCK_STEPS: u64 = 100_000;

/// A deterministic network of [`Node`]s on a virtual clock.
///
/// Nodes have addresses; a transmit to an address crosses the link between the two nodes
/// (see [`LinkConfig`]) and arrives later, or not at all. The clock only moves when the
/// world steps, and then straight to the next thing due: a delivery or a node's deadline.
/// All randomness comes from the seed, so the same seed and the same nodes give the same
/// trace, byte for byte.
///
/// Method kinds, as in the core: getters take `&self`; configuration (`link`, `partition`
/// …) and running (`step`, `run_*`, `drive`) take `&mut self`. After any input to a node —
/// a datagram, a timeout, or a test's own call through [`with_node`](Self::with_node) — the
/// world drains that node's outputs at once.
pub struct World {
    seed: u64,
    start: Instant,
    now: Instant,
    nodes: Vec<Slot>,
    by_addr: BTreeMap<SocketAddr, NodeId>,
    channels: BTreeMap<(NodeId, NodeId), Channel>,
    default_link: LinkConfig,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    next_seq: u64,
    next_datagram: u64,
    trace: VecDeque<Record>,
    trace_limit: Option<usize>,
    trace_evicted: u64,
    event_limit: Option<usize>,
    /// Steps taken without the clock moving, to tell a livelock from progress.
    steps_at_now: u64,
}

struct Slot {
    name: String,
    addr: SocketAddr,
    node: Box<dyn ErasedNode>,
    events: VecDeque<NodeEvent>,
}

/// A datagram on its way, ordered by arrival time, then by when it was queued.
struct InFlight {
    at: Instant,
    seq: u64,
    datagram: Datagram,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// [`World::drive`] ran out of steps before the world went idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotIdle {
    /// The steps taken.
    pub steps: usize,
    /// The virtual time since the world's start when it gave up.
    pub elapsed: Duration,
    /// How far after `elapsed` the next step was due.
    pub next_in: Option<Duration>,
}

impl fmt::Display for NotIdle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "world not idle after {} steps ({} of virtual time)",
            self.steps,
            ladder::format_elapsed(self.elapsed)
        )?;
        if let Some(next) = self.next_in {
            write!(f, "; next step due {next:?} later")?;
        }
        Ok(())
    }
}

impl std::error::Error for NotIdle {}

impl World {
    /// Returns an empty world whose randomness all comes from `seed`.
    ///
    /// Each direction of each link draws from its own stream, derived from the seed and the
    /// two node addresses only: adding a node, or configuring links in another order,
    /// never changes what an existing direction draws.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let start = epoch();
        Self {
            seed,
            start,
            now: start,
            nodes: Vec::new(),
            by_addr: BTreeMap::new(),
            channels: BTreeMap::new(),
            default_link: LinkConfig::default(),
            in_flight: BinaryHeap::new(),
            next_seq: 0,
            next_datagram: 0,
            trace: VecDeque::new(),
            trace_limit: None,
            trace_evicted: 0,
            event_limit: None,
            steps_at_now: 0,
        }
    }

    /// Returns the seed the world was made with.
    #[must_use]
    pub const fn seed(&self) -> u64 {
        self.seed
    }

    // ---- the clock -------------------------------------------------------------------

    /// Returns the virtual time now.
    #[must_use]
    pub const fn now(&self) -> Instant {
        self.now
    }

    /// Returns the virtual time the world started at (the same for every world in a
    /// process).
    #[must_use]
    pub const fn start(&self) -> Instant {
        self.start
    }

    /// Returns the virtual time since the start.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.now.duration_since(self.start)
    }

    // ---- nodes -----------------------------------------------------------------------

    /// Adds `node` at `addr`, named `name` in the ladder, and returns its id.
    ///
    /// Use port 5060 where you can: Wireshark decodes UDP on 5060 as SIP in the
    /// [`pcap`](Self::pcap) export.
    ///
    /// # Panics
    /// If another node already has `addr`: the world could not tell them apart.
    pub fn add_node<N>(&mut self, name: &str, addr: SocketAddr, node: N) -> NodeId
    where
        N: Node + 'static,
        N::Event: 'static,
    {
        let id = NodeId::new(self.nodes.len());
        assert!(
            !self.by_addr.contains_key(&addr),
            "sipwire-sim: two nodes at {addr} (adding {name:?})"
        );
        self.by_addr.insert(addr, id);
        self.nodes.push(Slot {
            name: name.to_owned(),
            addr,
            node: Box::new(node),
            events: VecDeque::new(),
        });
        id
    }

    /// Returns the ids of all nodes, in the order they were added.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = NodeId> + use<> {
        (0..self.nodes.len()).map(NodeId::new)
    }

    /// Returns the node named `name` (the first one, if several share it).
    #[must_use]
    pub fn node_named(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|s| s.name == name).map(NodeId::new)
    }

    /// Returns the node at `addr`.
    #[must_use]
    pub fn node_at(&self, addr: SocketAddr) -> Option<NodeId> {
        self.by_addr.get(&addr).copied()
    }

    /// Returns a node's name.
    #[must_use]
    pub fn name(&self, id: NodeId) -> Option<&str> {
        self.nodes.get(id.index()).map(|s| s.name.as_str())
    }

    /// Returns a node's address.
    #[must_use]
    pub fn addr(&self, id: NodeId) -> Option<SocketAddr> {
        self.nodes.get(id.index()).map(|s| s.addr)
    }

    /// Returns the node as its concrete type, or `None` if `id` is not a node of this world
    /// or `T` is not its type.
    #[must_use]
    pub fn node<T: 'static>(&self, id: NodeId) -> Option<&T> {
        self.nodes.get(id.index())?.node.as_any().downcast_ref()
    }

    /// Returns the node as its concrete type, for a test to change it.
    ///
    /// Whatever the change makes the node want to send waits until the next
    /// [`flush`](Self::flush) or step. [`with_node`](Self::with_node) does both at once.
    #[must_use]
    pub fn node_mut<T: 'static>(&mut self, id: NodeId) -> Option<&mut T> {
        self.nodes.get_mut(id.index())?.node.as_any_mut().downcast_mut()
    }

    /// Calls `f` with the node, as its concrete type, and the time now; then drains the
    /// node's outputs. Returns what `f` returns, or `None` (without calling `f`) if `id`
    /// is not a node of this world or `T` is not its type.
    ///
    /// This is how a test acts as the application: answering a request, starting a call.
    pub fn with_node<T: 'static, R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut T, Instant) -> R,
    ) -> Option<R> {
        let now = self.now;
        let node = self.nodes.get_mut(id.index())?.node.as_any_mut().downcast_mut::<T>()?;
        let result = f(node, now);
        self.drain(id);
        Some(result)
    }

    /// Drains a node's outputs now: its transmits go onto their links, its events into the
    /// trace.
    pub fn flush(&mut self, id: NodeId) {
        if id.index() < self.nodes.len() {
            self.drain(id);
        }
    }

    /// Drains every node's outputs, in the order the nodes were added.
    pub fn flush_all(&mut self) {
        for id in self.nodes() {
            self.drain(id);
        }
    }

    /// Sends `transmit` as if node `from` had produced it: from its address, over its links.
    /// If the send fails, `from` is told through `handle_send_failed`.
    pub fn inject(&mut self, from: NodeId, transmit: Transmit) {
        if id_valid(&self.nodes, from) {
            self.send(from, transmit);
            // A failed send was an input to `from`: drain what it answered with.
            self.drain(from);
        }
    }

    // ---- links -----------------------------------------------------------------------

    /// Sets the config of every direction not set with [`link`](Self::link) or
    /// [`link_one_way`](Self::link_one_way), including those already used.
    pub fn set_default_link(&mut self, config: LinkConfig) {
        self.default_link = config;
        for channel in self.channels.values_mut().filter(|c| !c.configured) {
            channel.config = config;
        }
    }

    /// Sets the config of both directions between `a` and `b`.
    pub fn link(&mut self, a: NodeId, b: NodeId, config: LinkConfig) {
        self.link_one_way(a, b, config);
        self.link_one_way(b, a, config);
    }

    /// Sets the config of the direction `from → to` only.
    pub fn link_one_way(&mut self, from: NodeId, to: NodeId, config: LinkConfig) {
        if let Some(channel) = self.channel(from, to) {
            channel.config = config;
            channel.configured = true;
        }
    }

    /// Drops the next datagram `from` sends to `to` (one more per call), whatever the link.
    pub fn drop_next(&mut self, from: NodeId, to: NodeId) {
        if let Some(channel) = self.channel(from, to) {
            channel.drop_next();
        }
    }

    /// Delays the next datagram the link carries `from → to` by `extra` on top of its
    /// usual delay (one more datagram per call). A datagram the link loses or drops does not
    /// use it up.
    pub fn delay_next(&mut self, from: NodeId, to: NodeId, extra: Duration) {
        if let Some(channel) = self.channel(from, to) {
            channel.delay_next(extra);
        }
    }

    /// Cuts both directions between `a` and `b` silently: datagrams sent meanwhile, and
    /// those in flight when they would arrive, are dropped. See
    /// [`partition_with`](Self::partition_with).
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.partition_with(a, b, PartitionMode::Silent);
    }

    /// Cuts both directions between `a` and `b`, with `mode` saying whether senders are
    /// told.
    pub fn partition_with(&mut self, a: NodeId, b: NodeId, mode: PartitionMode) {
        for (from, to) in [(a, b), (b, a)] {
            if let Some(channel) = self.channel(from, to) {
                channel.partition = Some(mode);
            }
        }
    }

    /// Ends a partition between `a` and `b`.
    pub fn heal(&mut self, a: NodeId, b: NodeId) {
        for (from, to) in [(a, b), (b, a)] {
            if let Some(channel) = self.channels.get_mut(&(from, to)) {
                channel.partition = None;
            }
        }
    }

    /// Returns whether `from → to` is cut by a partition.
    #[must_use]
    pub fn is_partitioned(&self, from: NodeId, to: NodeId) -> bool {
        self.channels.get(&(from, to)).is_some_and(|c| c.partition.is_some())
    }

    /// Returns the channel `from → to`, made on first use with the default config and its
    /// own random stream; `None` if either id is not a node of this world.
    fn channel(&mut self, from: NodeId, to: NodeId) -> Option<&mut Channel> {
        let from_addr = self.nodes.get(from.index())?.addr;
        let to_addr = self.nodes.get(to.index())?.addr;
        let (seed, config) = (self.seed, self.default_link);
        Some(self.channels.entry((from, to)).or_insert_with(|| {
            Channel::new(config, Rng::new(stream_seed(seed, from_addr, to_addr)))
        }))
    }

    // ---- running ---------------------------------------------------------------------

    /// Returns when the next step will run: the earliest delivery or node deadline, never
    /// before now; `None` if nothing is pending.
    ///
    /// Outputs a test left in a node through [`node_mut`](Self::node_mut) are not seen until
    /// a flush or step.
    #[must_use]
    pub fn next_wake(&self) -> Option<Instant> {
        let delivery = self.in_flight.peek().map(|Reverse(f)| f.at);
        let timer = self.nodes.iter().filter_map(|s| s.node.poll_timeout()).min();
        let next = match (delivery, timer) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(next.max(self.now))
    }

    /// Returns whether nothing is pending: no datagram in flight and no node deadline.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.next_wake().is_none()
    }

    /// Returns how many datagrams are on their way.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Moves the clock to the next thing due and does it; returns `false` (and does
    /// nothing) if nothing is pending.
    ///
    /// First every node's outputs are drained. Then the clock jumps, never backwards, to
    /// [`next_wake`](Self::next_wake); every datagram due by then is delivered, in order of
    /// arrival time and then of sending; then each node whose deadline has come gets
    /// `handle_timeout`, in the order nodes were added. Datagrams a step sends with zero
    /// delay arrive in the next step, at the same instant.
    pub fn step(&mut self) -> bool {
        self.flush_all();
        let Some(wake) = self.next_wake() else {
            return false;
        };
        if wake > self.now {
            self.now = wake;
            self.steps_at_now = 0;
        }
        self.steps_at_now += 1;

        let queued_before = self.next_seq;
        while self
            .in_flight
            .peek()
            .is_some_and(|Reverse(f)| f.at <= self.now && f.seq < queued_before)
        {
            if let Some(Reverse(flight)) = self.in_flight.pop() {
                self.deliver(flight.datagram);
            }
        }

        for id in self.nodes() {
            let slot = &mut self.nodes[id.index()];
            if slot.node.poll_timeout().is_some_and(|t| t <= self.now) {
                slot.node.handle_timeout(self.now);
                self.drain(id);
            }
        }
        true
    }

    /// Steps while the next step is due at or before `deadline`, then sets the clock to
    /// `deadline` (unless it is already later).
    ///
    /// # Panics
    /// If 100 000 steps pass without the clock moving: some node keeps asking for a
    /// timeout it does not advance, or nodes keep answering each other over zero-delay
    /// links. Use [`drive`](Self::drive) for a bounded run.
    pub fn run_until(&mut self, deadline: Instant) {
        self.flush_all();
        while self.next_wake().is_some_and(|t| t <= deadline) {
            self.step();
            assert!(
                self.steps_at_now < LIVELOCK_STEPS,
                "sipwire-sim: livelock, {LIVELOCK_STEPS} steps at {} without the clock moving",
                ladder::format_elapsed(self.elapsed())
            );
        }
        if deadline > self.now {
            self.now = deadline;
            self.steps_at_now = 0;
        }
    }

    /// Runs for `duration` of virtual time (see [`run_until`](Self::run_until)).
    ///
    /// # Panics
    /// As [`run_until`](Self::run_until).
    pub fn run_for(&mut self, duration: Duration) {
        let deadline = self.now.checked_add(duration).unwrap_or(self.now);
        self.run_until(deadline);
    }

    /// Steps until nothing is pending and returns the number of steps taken.
    ///
    /// # Errors
    /// [`NotIdle`] if the world is still busy after `max_steps` steps: a node re-arms a
    /// timer forever, or nodes keep talking.
    pub fn drive(&mut self, max_steps: usize) -> Result<usize, NotIdle> {
        for taken in 0..max_steps {
            if !self.step() {
                return Ok(taken);
            }
        }
        self.flush_all();
        match self.next_wake() {
            None => Ok(max_steps),
            Some(next) => Err(NotIdle {
                steps: max_steps,
                elapsed: self.elapsed(),
                next_in: Some(next.duration_since(self.now)),
            }),
        }
    }

    // ---- moving datagrams ------------------------------------------------------------

    /// Drains `id`'s outputs; the caller checked that `id` is valid.
    fn drain(&mut self, id: NodeId) {
        let (now, i) = (self.now, id.index());
        while let Some(output) = self.nodes[i].node.poll_output(now, id) {
            match output {
                Output::Transmit(transmit) => self.send(id, transmit),
                Output::Event(event) => {
                    self.record(RecordKind::Event { node: id, text: event.text().to_owned() });
                    let slot = &mut self.nodes[i];
                    push_bounded(&mut slot.events, event, self.event_limit, &mut 0);
                }
            }
        }
    }

    /// Puts a transmit of node `from` onto its link now.
    fn send(&mut self, from: NodeId, transmit: Transmit) {
        let to = self.by_addr.get(&transmit.destination).copied();
        let datagram = Datagram {
            id: self.next_datagram,
            from,
            to,
            source: self.nodes[from.index()].addr,
            destination: transmit.destination,
            transport: transmit.transport,
            payload: transmit.payload.clone(),
            sent_at: self.now,
            duplicate: false,
        };
        self.next_datagram += 1;
        self.record(RecordKind::Sent(datagram.clone()));
        let now = self.now;
        let fate = match to.and_then(|to| self.channel(from, to)) {
            Some(channel) => channel.route(now, transmit.transport.is_reliable()),
            None => Fate::Dropped(DropReason::NoRoute),
        };
        match fate {
            Fate::SendFailed => {
                self.record(RecordKind::Dropped(datagram, DropReason::SendFailed));
                self.nodes[from.index()].node.handle_send_failed(now, &transmit);
            }
            Fate::Dropped(reason) => self.record(RecordKind::Dropped(datagram, reason)),
            Fate::Deliver { at, copy } => {
                if let Some(copy_at) = copy {
                    self.record(RecordKind::Duplicated(datagram.clone()));
                    let copy = Datagram { duplicate: true, ..datagram.clone() };
                    self.enqueue(at, datagram);
                    self.enqueue(copy_at, copy);
                } else {
                    self.enqueue(at, datagram);
                }
            }
        }
    }

    fn enqueue(&mut self, at: Instant, datagram: Datagram) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight.push(Reverse(InFlight { at, seq, datagram }));
    }

    /// Hands an arrived datagram to its node, unless a partition cut it off on the way.
    fn deliver(&mut self, datagram: Datagram) {
        let Some(to) = datagram.to.filter(|to| id_valid(&self.nodes, *to)) else {
            return;
        };
        if self.is_partitioned(datagram.from, to) {
            self.record(RecordKind::Dropped(datagram, DropReason::Partition));
            return;
        }
        let (source, transport, payload) =
            (datagram.source, datagram.transport, datagram.payload.clone());
        self.record(RecordKind::Delivered(datagram));
        self.nodes[to.index()].node.handle_datagram(self.now, source, transport, payload);
        self.drain(to);
    }

    // ---- the trace -------------------------------------------------------------------

    fn record(&mut self, kind: RecordKind) {
        let record = Record { at: self.now, kind };
        push_bounded(&mut self.trace, record, self.trace_limit, &mut self.trace_evicted);
    }

    /// Returns every record kept, oldest first.
    pub fn trace(&self) -> impl ExactSizeIterator<Item = &Record> + DoubleEndedIterator {
        self.trace.iter()
    }

    /// Keeps at most `limit` trace records, forgetting the oldest (`None`: keep all, the
    /// default). The [`ladder`](Self::ladder) and [`pcap`](Self::pcap) show what is kept.
    pub fn set_trace_limit(&mut self, limit: Option<usize>) {
        self.trace_limit = limit;
        if let Some(limit) = limit {
            while self.trace.len() > limit {
                self.trace.pop_front();
                self.trace_evicted += 1;
            }
        }
    }

    /// Returns how many trace records the limit made the world forget.
    #[must_use]
    pub const fn trace_evicted(&self) -> u64 {
        self.trace_evicted
    }

    /// Forgets the trace (the nodes' stored events stay).
    pub fn clear_trace(&mut self) {
        self.trace.clear();
    }

    /// Keeps at most `limit` undrained events per node, forgetting the oldest (`None`: keep
    /// all, the default). The trace has its own limit.
    pub fn set_event_limit(&mut self, limit: Option<usize>) {
        self.event_limit = limit;
        if let Some(limit) = limit {
            for slot in &mut self.nodes {
                while slot.events.len() > limit {
                    slot.events.pop_front();
                }
            }
        }
    }

    /// Returns the events a node emitted and nobody has taken yet, oldest first.
    pub fn events(&self, id: NodeId) -> impl Iterator<Item = &NodeEvent> {
        self.nodes.get(id.index()).into_iter().flat_map(|s| s.events.iter())
    }

    /// Takes the events a node emitted, oldest first.
    pub fn take_events(&mut self, id: NodeId) -> Vec<NodeEvent> {
        self.nodes.get_mut(id.index()).map(|s| s.events.drain(..).collect()).unwrap_or_default()
    }

    /// Takes a node's events as its `Event` type `E`, with their times. Events of another
    /// type are left in place.
    pub fn take_events_as<E: 'static>(&mut self, id: NodeId) -> Vec<(Instant, E)> {
        let Some(slot) = self.nodes.get_mut(id.index()) else {
            return Vec::new();
        };
        let mut taken = Vec::new();
        let mut kept = VecDeque::new();
        for event in slot.events.drain(..) {
            let at = event.at();
            match event.downcast::<E>() {
                Ok(e) => taken.push((at, e)),
                Err(event) => kept.push_back(event),
            }
        }
        slot.events = kept;
        taken
    }

    /// Returns the trace as a text ladder diagram: one column per node, one line per
    /// datagram sent (at its send time, marked if it was lost or doubled) and per event.
    ///
    /// ```text
    ///          alice                                 bob
    ///            |                                    |
    /// +0.000s    |---INVITE sip:bob@192...--x         |  (lost)
    /// +0.500s    |---INVITE sip:bob@192.0.2.2:5060--->|
    /// +0.520s    |                                    * Incoming
    /// +0.520s    |<------------100 Trying-------------|
    /// +0.540s    * Provisional(100)                   |
    /// +1.520s    |         x------486 Busy Here-------|  (lost)
    /// ```
    #[must_use]
    pub fn ladder(&self) -> String {
        let columns: Vec<&str> = self.nodes.iter().map(|s| s.name.as_str()).collect();
        ladder::render(&columns, self.start, self.trace.iter())
    }

    /// Returns the trace as a libpcap capture (see [`write_pcap`](Self::write_pcap)).
    #[must_use]
    pub fn pcap(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_pcap(&mut out);
        out
    }

    /// Writes the trace as a classic libpcap capture (Ethernet, IPv4 or IPv6, UDP).
    ///
    /// One packet per datagram put on the wire, stamped with its send time, as a capture
    /// next to the sender would see it: lost datagrams appear, link duplicates do not, sends
    /// that failed do not. Every transport is written as UDP (the simulator carries whole
    /// messages, not byte streams). Timestamps are 1 700 000 000 s plus the virtual time
    /// elapsed. A datagram between IPv4 and IPv6 addresses, or too large for one IP packet,
    /// is left out.
    ///
    /// # Errors
    /// Whatever `out` returns.
    pub fn write_pcap<W: io::Write>(&self, out: W) -> io::Result<()> {
        pcap::write(out, self.start, self.trace.iter())
    }
}

fn id_valid(nodes: &[Slot], id: NodeId) -> bool {
    id.index() < nodes.len()
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, limit: Option<usize>, evicted: &mut u64) {
    if let Some(limit) = limit {
        if limit == 0 {
            *evicted += 1;
            return;
        }
        while queue.len() >= limit {
            queue.pop_front();
            *evicted += 1;
        }
    }
    queue.push_back(item);
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<(&str, SocketAddr)> =
            self.nodes.iter().map(|s| (s.name.as_str(), s.addr)).collect();
        f.debug_struct("World")
            .field("seed", &self.seed)
            .field("elapsed", &self.elapsed())
            .field("nodes", &nodes)
            .field("in_flight", &self.in_flight.len())
            .field("trace_len", &self.trace.len())
            .finish_non_exhaustive()
    }
}
