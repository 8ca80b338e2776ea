//! # sipwire-tokio: the tokio adapter for sipwire
//!
//! A thin driver around the sans-IO [`sipwire::Endpoint`]: this crate owns the sockets, the
//! clock and OS randomness, and nothing else. Every SIP decision (what to answer, when to
//! retransmit, when a call is over) stays in the core.
//!
//! ```no_run
//! use sipwire_tokio::{AcceptOptions, Config, Endpoint, Options};
//!
//! # async fn run() -> std::io::Result<()> {
//! let options = Options::udp_and_tcp("127.0.0.1:5060".parse().unwrap());
//! let (endpoint, mut incoming) =
//!     Endpoint::bind(options, |local| Config::new(&format!("sip:bob@{local}"))).await?;
//! while let Some(invitation) = incoming.next().await {
//!     tokio::spawn(async move {
//!         let answer = AcceptOptions::new().body("application/sdp", "v=0\r\n");
//!         if let Ok(mut session) = invitation.accept(answer).await {
//!             let why = session.ended().await; // the caller's BYE, usually
//!             println!("call over: {why:?}");
//!         }
//!     });
//! }
//! endpoint.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## Shape (after quinn)
//!
//! [`Endpoint::bind`] spawns **one driver task** per endpoint. It owns the core, the UDP
//! socket, the TCP listener and the map of TCP flows, and waits in one `tokio::select!` on:
//! a command from a handle, a datagram, a new connection, an event from a flow task, and
//! **one** `sleep_until` re-armed from `poll_timeout()` on every turn. After each wake-up it
//! feeds the core and drains `poll_output()`: transmits go to the socket or flow (a failed
//! send is fed back as `Input::SendFailed`), events go to the handle of the invitation they
//! are about. `Event::Invitation` becomes an [`Invitation`] on [`Incoming`]; `Discarded`
//! has nobody to go to and is dropped.
//!
//! Each TCP connection has its own task: a `FramedRead` over the read half, with a decoder
//! around the core's [`StreamFramer`](sipwire::StreamFramer), sends whole messages to the
//! driver (a bounded channel, so a fast peer is slowed by TCP itself); the write half
//! writes the queue the driver fills. Writes do not go through a codec: the core's messages
//! are already serialized `Bytes`, and writing them as they are saves a copy and lets the
//! driver count what each flow has queued. Flows are keyed by the peer's address, which is
//! what the core puts in a response's `Transmit::destination`, so answers go back on the
//! connection the request came in on; a transmit to a peer with no flow opens one. The
//! adapter caps the number of flows, the bytes queued per flow, and how long a started
//! message may take to finish ([`Options`]); a framing error (an endless header, a message
//! over the core's `max_message_size`) closes the flow. Every close is fed to the core as
//! `Input::FlowClosed`.
//!
//! ## Handles, cancellation and drop
//!
//! Handles talk to the driver over an unbounded command channel, so that `Drop` can send
//! without waiting. Each `async` command method sends its command when first polled,
//! before it waits, and the reply only reports the core's verdict: dropping the future
//! later never half-applies a command, it only loses the verdict. `next_event` and
//! [`Incoming::next`] are cancellation-safe.
//!
//! - Dropping an unanswered [`Invitation`] rejects it with 480 (SIP.js `dispose`).
//!   [`Invitation::accept`] consumes the invitation and returns a [`Session`]; dropping
//!   its future therefore drops the invitation, which ends the call cleanly (BYE once
//!   accepted).
//! - Dropping a [`Session`] that has not ended sends BYE.
//! - Dropping the [`Endpoint`] stops the driver; [`Endpoint::shutdown`] does the same and
//!   waits. Live calls are disposed of first. Handles outliving the driver get `None`
//!   from `next_event` and [`Error::Closed`] from commands; nothing panics.
//!
//! ## Choices, and why
//!
//! - `bind` takes a closure that builds the [`Config`] from the bound address, because
//!   the Contact must carry the real port when binding port 0. With
//!   [`Options::udp_and_tcp`] the listener takes the UDP socket's port, so one Contact
//!   serves both transports.
//! - `bind` returns the [`Endpoint`] and [`Incoming`] as a pair (like a channel), so that a
//!   task can wait on new invitations while others use the endpoint, without a lock.
//! - [`Invitation::accept`] consumes the invitation and returns a [`Session`]: the types say
//!   which commands are left. `progress`, `reject` and `redirect` borrow, so that the
//!   application can still read the `Terminated` event (and its reason) afterwards.
//! - Requests inside the dialog are [`Session`] commands that return the core's
//!   [`RequestId`] once the request is out; its responses (provisionals, the final one, a
//!   491's `Glare`, a timeout) come as events from `next_event`, in order with the rest of
//!   the call. A future per request would have to live as long as Timer B, lose the
//!   provisionals or buffer them, and make "drop the future" mean something on the wire.
//!   The peer's requests come the same way (`Event::Request`), answered with
//!   [`Session::respond`].
//! - Handles deliver the core's own [`Event`]s: the adapter adds no vocabulary of its own,
//!   and new events of the core reach the application unchanged. `state()` and
//!   `end_reason()` on a handle reflect the events it has returned.
//! - A partial TCP message must be finished within the idle timeout of its first byte (a
//!   slow-loris guard); a connection with nothing pending may stay quiet for ever, within
//!   the connection cap.
//!
//! ## Clock and randomness
//!
//! The clock is `tokio::time::Instant::now()` (so that paused tokio time moves the core's
//! clock too), handed to the core as a `std::time::Instant`. The core's seed comes from
//! the OS (`getrandom`) unless [`Options::seed`] fixes one.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod driver;
mod endpoint;
mod error;
mod handles;
mod options;
mod tcp;

pub use endpoint::{Endpoint, Incoming};
pub use error::Error;
pub use handles::{Invitation, Session};
pub use options::Options;

pub use sipwire::ua::{
    AcceptOptions, Config, EndReason, Event, InvitationError, InvitationState, ProgressOptions,
    RedirectOptions, RejectOptions, Rel100, RequestId, RequestKind, RequestOptions,
    ResponseOptions,
};
