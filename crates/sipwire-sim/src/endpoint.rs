//! The whole user agent in the world: [`Endpoint`] as a [`Node`].
//!
//! The world hands it datagrams and timeouts and records its [`Event`]s; a test plays the
//! application through [`World::with_node`](crate::World::with_node), calling
//! [`Endpoint::invitation`] with the world's `now`:
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use sipwire::{Endpoint, Transport};
//! use sipwire::ua::{Config, Event, RejectOptions};
//! use sipwire_sim::{World, script::Sink};
//!
//! let mut world = World::new(1);
//! let (caller, callee) = ("192.0.2.1:5060".parse()?, "192.0.2.2:5060".parse()?);
//! let alice = world.add_node("alice", caller, Sink::new());
//! let bob = world.add_node("bob", callee, Endpoint::new(Config::new("sip:bob@192.0.2.2:5060")));
//! let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\nFrom: <sip:alice@192.0.2.1>;tag=a\r\n\
//!     To: <sip:bob@192.0.2.2>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
//!     Contact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";
//! world.with_node(alice, |sink: &mut Sink, _| sink.send(callee, Transport::Udp, Bytes::from(invite)));
//! world.run_for(Duration::from_millis(100));
//! let id = world.take_events_as::<Event>(bob).into_iter()
//!     .find_map(|(_, e)| if let Event::Invitation { id } = e { Some(id) } else { None })
//!     .expect("an invitation");
//! world.with_node(bob, |ep: &mut Endpoint, now| {
//!     ep.invitation(id).expect("live").reject(now, RejectOptions::new().status_code(486))
//! }).expect("bob is an endpoint")?;
//! world.run_for(Duration::from_millis(100));
//! let codes: Vec<_> = world.node::<Sink>(alice).unwrap().received().iter()
//!     .filter_map(|r| r.message()?.status()).collect();
//! assert_eq!(codes, [100, 180, 486]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use sipwire::ua::Event;
use sipwire::{Endpoint, Input, Output, Transmit, Transport};

use crate::node::Node;

/// The endpoint as a node: datagrams become [`Input::Received`], failed transmits
/// [`Input::SendFailed`].
impl Node for Endpoint {
    type Event = Event;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        self.handle_input(now, Input::received(source, transport, payload));
    }

    fn handle_send_failed(&mut self, now: Instant, transmit: &Transmit) {
        self.handle_input(now, Input::SendFailed { transaction: transmit.transaction });
    }

    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now);
    }

    fn poll_output(&mut self) -> Option<Output<Event>> {
        Self::poll_output(self)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Self::poll_timeout(self)
    }
}
