//! What a simulated participant is, and how the world holds participants of any type.

use std::any::Any;
use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use sipwire::{Output, Transmit, Transport};

/// The handle/poll contract every simulated participant implements.
///
/// It is the sans-IO loop of the core (see the `sipwire` crate guide) narrowed to
/// datagrams: the world hands a node its inputs (`handle_*`) and, after each one, drains
/// [`poll_output`](Node::poll_output) until it returns `None`. It asks
/// [`poll_timeout`](Node::poll_timeout) for the node's next deadline and calls
/// [`handle_timeout`](Node::handle_timeout) once the virtual clock reaches it.
pub trait Node {
    /// What the node tells its application; recorded in the trace through `Debug`.
    type Event: fmt::Debug;

    /// Bytes arrived from `source` (the sender node's address) over `transport`.
    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    );

    /// A transmit this node produced could not be delivered (a partition made with
    /// [`PartitionMode::FailSends`](crate::PartitionMode::FailSends)). Does nothing by
    /// default.
    fn handle_send_failed(&mut self, _now: Instant, _transmit: &Transmit) {}

    /// The clock reached the deadline [`poll_timeout`](Node::poll_timeout) returned (or
    /// passed it). Spurious calls must be harmless.
    fn handle_timeout(&mut self, now: Instant);

    /// Returns the next thing the node wants done: bytes to send or an event to record.
    fn poll_output(&mut self) -> Option<Output<Self::Event>>;

    /// Returns the node's next deadline, if it has one.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Identifies a node in the [`World`](crate::World) that added it: an opaque handle.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    pub(crate) fn new(index: usize) -> Self {
        // A world never holds 2^32 nodes; saturate rather than wrap onto another node.
        Self(u32::try_from(index).unwrap_or(u32::MAX))
    }

    pub(crate) const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node{}", self.0)
    }
}

/// One event a node emitted, with when and who.
///
/// The event keeps its type: [`downcast_ref`](Self::downcast_ref) gets it back, and
/// [`text`](Self::text) is its `Debug` rendering, as the trace shows it.
pub struct NodeEvent {
    at: Instant,
    node: NodeId,
    text: String,
    value: Box<dyn Any>,
}

impl NodeEvent {
    /// Returns the virtual time the node emitted the event at.
    #[must_use]
    pub const fn at(&self) -> Instant {
        self.at
    }

    /// Returns the node that emitted it.
    #[must_use]
    pub const fn node(&self) -> NodeId {
        self.node
    }

    /// Returns the event's `Debug` rendering.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Returns the event as its node's `Event` type, or `None` if `E` is another type.
    #[must_use]
    pub fn downcast_ref<E: 'static>(&self) -> Option<&E> {
        self.value.downcast_ref()
    }

    /// Returns the event as its node's `Event` type, or gives `self` back if `E` is another
    /// type.
    ///
    /// # Errors
    /// `self`, unchanged, when the event is not an `E`.
    pub fn downcast<E: 'static>(self) -> Result<E, Self> {
        let Self { at, node, text, value } = self;
        match value.downcast::<E>() {
            Ok(e) => Ok(*e),
            Err(value) => Err(Self { at, node, text, value }),
        }
    }
}

impl fmt::Debug for NodeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeEvent")
            .field("at", &self.at)
            .field("node", &self.node)
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

/// A [`Node`] with its event type erased, so one world can hold nodes of different types.
pub(crate) trait ErasedNode {
    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    );
    fn handle_send_failed(&mut self, now: Instant, transmit: &Transmit);
    fn handle_timeout(&mut self, now: Instant);
    /// Like `poll_output`, with the event rendered and boxed into a [`NodeEvent`].
    fn poll_output(&mut self, now: Instant, id: NodeId) -> Option<Output<NodeEvent>>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<N> ErasedNode for N
where
    N: Node + 'static,
    N::Event: 'static,
{
    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        Node::handle_datagram(self, now, source, transport, payload);
    }

    fn handle_send_failed(&mut self, now: Instant, transmit: &Transmit) {
        Node::handle_send_failed(self, now, transmit);
    }

    fn handle_timeout(&mut self, now: Instant) {
        Node::handle_timeout(self, now);
    }

    fn poll_output(&mut self, now: Instant, node: NodeId) -> Option<Output<NodeEvent>> {
        Some(match Node::poll_output(self)? {
            Output::Transmit(t) => Output::Transmit(t),
            Output::Event(e) => {
                let text = format!("{e:?}");
                Output::Event(NodeEvent { at: now, node, text, value: Box::new(e) })
            }
        })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Node::poll_timeout(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
