//! The application's handles on one call: [`Invitation`] while it rings, [`Session`] once
//! accepted. Each sends commands to the driver and receives the call's events.

use std::net::SocketAddr;

use sipwire::Message;
use sipwire::transaction::Target;
use sipwire::transport::Transport;
use sipwire::ua::{
    AcceptOptions, EndReason, Event, InvitationId, InvitationState, ProgressOptions,
    RedirectOptions, RejectOptions, Rel100, RequestId, RequestOptions, ResponseOptions,
};
use tokio::sync::{mpsc, oneshot};

use crate::driver::{Action, Command, InDialog};
use crate::error::Error;

/// The id of a call and the way to its driver.
#[derive(Debug, Clone)]
struct Link {
    id: InvitationId,
    commands: mpsc::UnboundedSender<Command>,
}

impl Link {
    /// Sends `action` now (before any await point) and waits for the core's verdict.
    async fn act(&self, action: Action) -> Result<(), Error> {
        self.ask(|reply| Command::Act { id: self.id, action, reply }).await
    }

    /// Sends `request` now (before any await point) and waits for its id or the refusal.
    async fn send(&self, request: InDialog) -> Result<RequestId, Error> {
        self.ask(|reply| Command::Send { id: self.id, request, reply }).await
    }

    /// Sends the command `make` builds around a reply channel, and waits for the reply.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (reply, verdict) = oneshot::channel();
        self.commands.send(make(reply)).map_err(|_| Error::Closed)?;
        verdict.await.map_err(|_| Error::Closed)?
    }

    /// SIP.js `dispose`, without waiting: for `Drop`, so it never blocks nor panics.
    fn dispose(&self) {
        let _ = self.commands.send(Command::Dispose(self.id));
    }
}

/// The state and end reason as told by the events the application has taken.
#[derive(Debug, Clone, Copy)]
struct Seen {
    state: InvitationState,
    ended: Option<EndReason>,
}

impl Seen {
    const fn new() -> Self {
        Self { state: InvitationState::Initial, ended: None }
    }

    fn update(&mut self, event: &Event) {
        match event {
            Event::StateChanged { state, .. } => self.state = *state,
            Event::Terminated { reason, .. } => {
                self.state = InvitationState::Terminated;
                self.ended = Some(*reason);
            }
            _ => {}
        }
    }
}

/// An incoming INVITE waiting for its answer: SIP.js's `Invitation`, owned.
///
/// The 100 and (unless the caller requires 100rel, or the configuration says otherwise)
/// the 180 already went out when the application gets it. Answer with
/// [`progress`](Self::progress), [`accept`](Self::accept), [`reject`](Self::reject) or
/// [`redirect`](Self::redirect); watch CANCEL, PRACK and the end with
/// [`next_event`](Self::next_event).
///
/// **Drop**: dropping an invitation that was not accepted disposes of it: an unanswered
/// one is rejected with 480 (SIP.js `dispose`); one already rejected or ended is left as
/// it is. Dropping never blocks and never panics, even once the endpoint has stopped.
#[derive(Debug)]
pub struct Invitation {
    link: Link,
    events: mpsc::UnboundedReceiver<Event>,
    // Boxed: a `Message` carries its header index inline, and handles travel by channel.
    request: Box<Message>,
    rel100: Rel100,
    source: Target,
    seen: Seen,
    accepted: bool,
}

impl Invitation {
    pub(crate) const fn new(
        id: InvitationId,
        commands: mpsc::UnboundedSender<Command>,
        events: mpsc::UnboundedReceiver<Event>,
        request: Box<Message>,
        rel100: Rel100,
        source: Target,
    ) -> Self {
        Self {
            link: Link { id, commands },
            events,
            request,
            rel100,
            source,
            seen: Seen::new(),
            accepted: false,
        }
    }

    /// Returns the core's id of this invitation.
    #[must_use]
    pub const fn id(&self) -> InvitationId {
        self.link.id
    }

    /// Returns the INVITE.
    #[must_use]
    pub const fn request(&self) -> &Message {
        &self.request
    }

    /// Returns the INVITE's Call-ID (the core answered an INVITE without one 400, so a
    /// live invitation always has one).
    #[must_use]
    pub fn call_id(&self) -> &str {
        self.request.call_id().unwrap_or_default()
    }

    /// Returns the INVITE's body (usually the SDP offer), if it has one.
    #[must_use]
    pub fn body(&self) -> Option<&[u8]> {
        Some(self.request.body()).filter(|b| !b.is_empty())
    }

    /// Returns how the caller offered reliable provisional responses.
    #[must_use]
    pub const fn rel100(&self) -> Rel100 {
        self.rel100
    }

    /// Returns the address the INVITE came from.
    #[must_use]
    pub const fn source(&self) -> SocketAddr {
        self.source.addr
    }

    /// Returns the transport the INVITE came over.
    #[must_use]
    pub const fn transport(&self) -> Transport {
        self.source.transport
    }

    /// Returns the state, as of the last event [`next_event`](Self::next_event) returned.
    #[must_use]
    pub const fn state(&self) -> InvitationState {
        self.seen.state
    }

    /// Returns why the invitation ended, once `next_event` has returned its
    /// `Terminated` event.
    #[must_use]
    pub const fn end_reason(&self) -> Option<EndReason> {
        self.seen.ended
    }

    /// Returns the next event of this invitation (`Cancelled`, `Pracked`, `StateChanged`,
    /// `Terminated` …), or `None` after `Terminated` or once the endpoint has stopped. The
    /// caller's requests in the early dialog (UPDATE, INFO …) come as `Request`: answer
    /// them with [`respond`](Self::respond).
    ///
    /// Cancellation-safe: a dropped future loses no event.
    pub async fn next_event(&mut self) -> Option<Event> {
        let event = self.events.recv().await?;
        self.seen.update(&event);
        Some(event)
    }

    /// Sends a provisional response (default 180; reliable if asked and the caller
    /// supports it, or if the caller requires it).
    ///
    /// The command reaches the driver when the future is first polled, before it waits;
    /// dropping the future afterwards loses only the result, not the command.
    ///
    /// # Errors
    /// The core refused ([`Error::Invitation`]), or the endpoint stopped.
    pub async fn progress(&mut self, options: ProgressOptions) -> Result<(), Error> {
        self.link.act(Action::Progress(options)).await
    }

    /// Answers `request`, which the caller sent in the early dialog (an
    /// [`Event::Request`]): see [`sipwire::ua::Invitation::respond`]. After `accept`, the
    /// [`Session`] answers them.
    ///
    /// Cancellation: as [`progress`](Self::progress).
    ///
    /// # Errors
    /// The core refused (the request is answered already, a code outside 101–699, a
    /// missing or unexpected body …), or the endpoint stopped.
    pub async fn respond(
        &mut self,
        request: RequestId,
        options: ResponseOptions,
    ) -> Result<(), Error> {
        self.link.act(Action::Respond(request, options)).await
    }

    /// Accepts with a 2xx (default 200) and returns the [`Session`], which takes over this
    /// invitation's events.
    ///
    /// The command reaches the driver when the future is first polled. The future owns the
    /// invitation: dropping it before it completes drops the invitation, which disposes of
    /// the call, so an accept that already went out is followed by a BYE once the ACK is
    /// in. On an error the invitation is dropped the same way (a 480 if it was still
    /// unanswered).
    ///
    /// # Errors
    /// [`InvitationError::Cancelled`](sipwire::ua::InvitationError::Cancelled) if a CANCEL
    /// won the race; any other refusal of the core; the endpoint stopped.
    pub async fn accept(mut self, options: AcceptOptions) -> Result<Session, Error> {
        self.link.act(Action::Accept(options)).await?;
        self.accepted = true;
        let events = std::mem::replace(&mut self.events, mpsc::unbounded_channel().1);
        Ok(Session {
            link: self.link.clone(),
            events,
            call_id: self.call_id().to_owned(),
            seen: self.seen,
        })
    }

    /// Rejects with a 4xx–6xx (default 480). The `Terminated` event follows.
    ///
    /// Cancellation: as [`progress`](Self::progress).
    ///
    /// # Errors
    /// The core refused (already answered, a code outside 400–699), or the endpoint
    /// stopped.
    pub async fn reject(&mut self, options: RejectOptions) -> Result<(), Error> {
        self.link.act(Action::Reject(options)).await
    }

    /// Redirects with a 3xx (default 302) listing `contacts` (Contact values such as
    /// `<sip:bob@192.0.2.9>`). The `Terminated` event follows.
    ///
    /// Cancellation: as [`progress`](Self::progress).
    ///
    /// # Errors
    /// The core refused (no contacts, already answered, a code outside 300–399), or the
    /// endpoint stopped.
    pub async fn redirect<I, S>(
        &mut self,
        contacts: I,
        options: RedirectOptions,
    ) -> Result<(), Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let contacts = contacts.into_iter().map(Into::into).collect();
        self.link.act(Action::Redirect(contacts, options)).await
    }
}

impl Drop for Invitation {
    fn drop(&mut self) {
        if !self.accepted && self.seen.ended.is_none() {
            self.link.dispose();
        }
    }
}

/// An accepted call: the events of its dialog, the requests either side sends inside it,
/// and the way to end it.
///
/// The peer's re-INVITE, UPDATE, INFO, MESSAGE, REFER and NOTIFY arrive from
/// [`next_event`](Self::next_event) as [`Event::Request`]; answer each with
/// [`respond`](Self::respond) (unanswered for the configuration's `request_timeout`, the
/// core sends its default answer). Start requests of our own with
/// [`re_invite`](Self::re_invite), [`update`](Self::update), [`info`](Self::info),
/// [`message`](Self::message), [`refer`](Self::refer) and [`notify`](Self::notify); their
/// responses come back as [`Event::Response`], tagged with the [`RequestId`] the method
/// returned. Every SIP rule (CSeq, glare and its retry, ACKs of 2xx, offer/answer
/// checks) stays in the core: these methods hand the command over and return its verdict.
///
/// **Drop**: dropping a session that has not ended disposes of it: an established call
/// is ended with BYE (after the ACK, if it has not come yet); one already ending or ended
/// is left as it is. Dropping never blocks and never panics.
#[derive(Debug)]
pub struct Session {
    link: Link,
    events: mpsc::UnboundedReceiver<Event>,
    call_id: String,
    seen: Seen,
}

impl Session {
    /// Returns the core's id of the call.
    #[must_use]
    pub const fn id(&self) -> InvitationId {
        self.link.id
    }

    /// Returns the Call-ID.
    #[must_use]
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Returns the state, as of the last event [`next_event`](Self::next_event) returned.
    #[must_use]
    pub const fn state(&self) -> InvitationState {
        self.seen.state
    }

    /// Returns why the call ended, once `next_event` has returned `Terminated`.
    #[must_use]
    pub const fn end_reason(&self) -> Option<EndReason> {
        self.seen.ended
    }

    /// Returns the next event of the call, or `None` after `Terminated` or once the
    /// endpoint has stopped. Every event the core has about the call comes through,
    /// unchanged:
    ///
    /// - the call: `StateChanged`, `Cancelled` (after the answer), `Acked`, `AckTimeout`,
    ///   and last `Terminated` (with [`EndReason::DialogFailed`] when a request of ours got
    ///   481, 408 or no response);
    /// - the peer's requests: `Request` (answer with [`respond`](Self::respond)),
    ///   `ReInviteAcked` (the ACK of our 2xx to its re-INVITE), `RequestCancelled` (it
    ///   cancelled its re-INVITE), `DefaultAnswered` (the core answered for us);
    /// - our requests: `Response` (each provisional and the final one), `Glare` (491: the
    ///   core sends it again at `retry_at`), `RequestTimeout`.
    ///
    /// Cancellation-safe: a dropped future loses no event.
    pub async fn next_event(&mut self) -> Option<Event> {
        let event = self.events.recv().await?;
        self.seen.update(&event);
        Some(event)
    }

    /// Waits for the end of the call and returns why it ended (`None` if the endpoint
    /// stopped first). Cancellation-safe, as `next_event`.
    pub async fn ended(&mut self) -> Option<EndReason> {
        while self.seen.ended.is_none() {
            self.next_event().await?;
        }
        self.seen.ended
    }

    /// Ends the call with BYE (sent once the ACK is in, if it is not yet). The
    /// `Terminated` event follows with the BYE's outcome.
    ///
    /// The command reaches the driver when the future is first polled; dropping the
    /// future afterwards loses only the result.
    ///
    /// # Errors
    /// The core refused (already ending or ended), or the endpoint stopped.
    pub async fn bye(&mut self) -> Result<(), Error> {
        self.link.act(Action::Bye).await
    }

    /// Answers `request`, which the peer sent in the dialog (an [`Event::Request`]): see
    /// [`sipwire::ua::Invitation::respond`].
    ///
    /// Cancellation: as [`bye`](Self::bye); so for every command below.
    ///
    /// # Errors
    /// The core refused ([`InvitationError::UnknownRequest`] once the request is answered,
    /// a code outside 101–699, a missing or unexpected body …), or the endpoint stopped.
    ///
    /// [`InvitationError::UnknownRequest`]: sipwire::ua::InvitationError::UnknownRequest
    pub async fn respond(
        &mut self,
        request: RequestId,
        options: ResponseOptions,
    ) -> Result<(), Error> {
        self.link.act(Action::Respond(request, options)).await
    }

    /// Sends a re-INVITE with the offer in `options.body`, or without one to ask the peer
    /// for an offer (then answer its 2xx with [`ack`](Self::ack)), and returns its id: see
    /// [`sipwire::ua::Invitation::re_invite`].
    ///
    /// # Errors
    /// The core refused (not established, an INVITE transaction in progress, an offer
    /// waiting for its answer …), or the endpoint stopped.
    pub async fn re_invite(&mut self, options: RequestOptions) -> Result<RequestId, Error> {
        self.link.send(InDialog::ReInvite(options)).await
    }

    /// Sends UPDATE (an offer in `options.body`, or a target refresh) and returns its id:
    /// see [`sipwire::ua::Invitation::update`].
    ///
    /// # Errors
    /// The core refused (the call is over, an offer waiting …), or the endpoint stopped.
    pub async fn update(&mut self, options: RequestOptions) -> Result<RequestId, Error> {
        self.link.send(InDialog::Update(options)).await
    }

    /// Sends INFO and returns its id: see [`sipwire::ua::Invitation::info`].
    ///
    /// # Errors
    /// The core refused (the call is ending or over), or the endpoint stopped.
    pub async fn info(&mut self, options: RequestOptions) -> Result<RequestId, Error> {
        self.link.send(InDialog::Info(options)).await
    }

    /// Sends MESSAGE and returns its id: see [`sipwire::ua::Invitation::message`].
    ///
    /// # Errors
    /// The core refused (the call is ending or over), or the endpoint stopped.
    pub async fn message(&mut self, options: RequestOptions) -> Result<RequestId, Error> {
        self.link.send(InDialog::Message(options)).await
    }

    /// Sends REFER with `refer_to` (e.g. `<sip:carol@192.0.2.3>`) as its Refer-To and
    /// returns its id; the NOTIFYs of its subscription arrive as [`Event::Request`]s. See
    /// [`sipwire::ua::Invitation::refer`].
    ///
    /// # Errors
    /// The core refused (not established), or the endpoint stopped.
    pub async fn refer(
        &mut self,
        refer_to: &str,
        options: RequestOptions,
    ) -> Result<RequestId, Error> {
        self.link.send(InDialog::Refer(refer_to.to_owned(), options)).await
    }

    /// Sends a NOTIFY with `status` in the subscription of the peer's REFER `refer`, which
    /// we accepted, and returns its id: see [`sipwire::ua::Invitation::notify`].
    ///
    /// # Errors
    /// The core refused (no such subscription, a status outside 100–699 …), or the
    /// endpoint stopped.
    pub async fn notify(
        &mut self,
        refer: RequestId,
        status: u16,
        options: RequestOptions,
    ) -> Result<RequestId, Error> {
        self.link.send(InDialog::Notify(refer, status, options)).await
    }

    /// Sends the ACK, with our answer in `options.body`, for the 2xx that carried the
    /// peer's offer to our offerless re-INVITE `request`: see
    /// [`sipwire::ua::Invitation::ack`]. (The core ACKs every other 2xx by itself.)
    ///
    /// # Errors
    /// The core refused (no such 2xx waits, no body), or the endpoint stopped.
    pub async fn ack(&mut self, request: RequestId, options: RequestOptions) -> Result<(), Error> {
        self.link.act(Action::Ack(request, options)).await
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.seen.ended.is_none() {
            self.link.dispose();
        }
    }
}
