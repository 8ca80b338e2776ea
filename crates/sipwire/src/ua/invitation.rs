//! [`Invitation`]: SIP.js's incoming-call API as a view borrowed from the endpoint.

use std::time::Instant;

use bytes::Bytes;

use super::{
    Call, Ctx, EndReason, InvitationId, InvitationState, InviteUserAgentServer, Rel100, RequestId,
    RequestKind,
};
use crate::endpoint::Endpoint;
use crate::message::{BuildError, Message, NameAddr, ParseError};
use crate::transaction::TxError;

/// Why an [`Invitation`] refused a call: always a misuse of the API, never the peer's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvitationError {
    /// The caller cancelled the invitation (CANCEL arrived first): there is nothing left
    /// to accept or reject.
    #[error("the invitation was cancelled by the caller")]
    Cancelled,
    /// The invitation is over, for this reason.
    #[error("the invitation has ended ({0:?})")]
    Terminated(EndReason),
    /// The call does not fit the current state (progress after accept, bye twice …).
    #[error("not allowed in state {0:?}")]
    WrongState(InvitationState),
    /// The status code does not fit the call (progress 101–199, accept 2xx, redirect 3xx,
    /// reject 4xx–6xx).
    #[error("status code {0} does not fit this call")]
    StatusCode(u16),
    /// A reliable provisional was asked for, but the caller does not support 100rel.
    #[error("the caller does not support reliable provisional responses")]
    Rel100NotSupported,
    /// The response must carry a body: the answer to the INVITE's offer, or our offer.
    #[error("this response must carry a session description")]
    BodyRequired,
    /// Our offer is still waiting for its answer; a second one would break RFC 3264.
    #[error("an offer is waiting for its answer")]
    OfferPending,
    /// An offer may only go in a reliable response (RFC 3261 §13.2.1).
    #[error("an offer must go in a reliable response")]
    OfferNotReliable,
    /// Too many reliable provisionals are queued behind an unacknowledged one.
    #[error("too many reliable provisional responses waiting for PRACK")]
    TooManyProvisionals,
    /// `redirect` needs at least one Contact.
    #[error("a redirect needs at least one contact")]
    NoContacts,
    /// BYE is for a confirmed call; an unanswered invitation is rejected instead.
    #[error("BYE on an early dialog: reject the invitation instead")]
    EarlyDialog,
    /// No open request of the peer's (or of ours, for `ack`) has this id: it was
    /// answered already, timed out, or never was.
    #[error("no open request with this id")]
    UnknownRequest,
    /// This response must not carry a body (a 2xx to an UPDATE without an offer).
    #[error("this response must not carry a session description")]
    BodyNotAllowed,
    /// An INVITE transaction is running in the dialog, either way (RFC 3261 §14.1): the
    /// first INVITE until its ACK, or a re-INVITE.
    #[error("an INVITE transaction is in progress in this dialog")]
    InviteInProgress,
    /// NOTIFY needs a REFER we accepted whose subscription is still active.
    #[error("no such subscription")]
    NoSubscription,
    /// A header or body could not be serialized.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The transaction layer refused (its table is full, or the transaction is gone).
    #[error(transparent)]
    Transaction(#[from] TxError),
}

/// A body and its Content-Type, owned by an options struct.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnedBody {
    /// `type/subtype`.
    pub content_type: String,
    /// The bytes; opaque to the core (no SDP parsing).
    pub content: Bytes,
}

/// A received body: its Content-Type and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Body<'a> {
    /// The Content-Type, as received.
    pub content_type: &'a str,
    /// The bytes.
    pub content: &'a [u8],
}

macro_rules! common_options {
    () => {
        /// Sets the status code.
        #[must_use]
        pub const fn status_code(mut self, code: u16) -> Self {
            self.status_code = code;
            self
        }

        /// Sets the reason phrase (default: the RFC's).
        #[must_use]
        pub fn reason_phrase(mut self, reason: &str) -> Self {
            self.reason_phrase = Some(reason.to_owned());
            self
        }

        header_and_body_options!();
    };
}

macro_rules! header_and_body_options {
    () => {
        /// Adds a header line (e.g. `("X-Call", "7")`).
        #[must_use]
        pub fn extra_header(mut self, name: &str, value: &str) -> Self {
            self.extra_headers.push((name.to_owned(), value.to_owned()));
            self
        }

        /// Sets the body and its Content-Type.
        #[must_use]
        pub fn body(mut self, content_type: &str, content: impl Into<Bytes>) -> Self {
            self.body =
                Some(OwnedBody { content_type: content_type.to_owned(), content: content.into() });
            self
        }
    };
}

/// Options of a request sent in the dialog ([`Invitation::re_invite`], `update`, `info`,
/// `message`, `refer`, `notify`) and of the ACK of [`Invitation::ack`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Extra header lines.
    pub extra_headers: Vec<(String, String)>,
    /// The body: for re-INVITE and UPDATE an offer (none asks the peer for one); for INFO,
    /// MESSAGE and NOTIFY their payload.
    pub body: Option<OwnedBody>,
}

impl RequestOptions {
    /// No extra headers, no body.
    #[must_use]
    pub const fn new() -> Self {
        Self { extra_headers: Vec::new(), body: None }
    }

    header_and_body_options!();
}

/// Options of [`Invitation::respond`]: the answer to a request the peer sent in the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseOptions {
    /// 101–699; default 200.
    pub status_code: u16,
    /// Default: the RFC's phrase.
    pub reason_phrase: Option<String>,
    /// Extra header lines.
    pub extra_headers: Vec<(String, String)>,
    /// The answer to the request's offer, or our offer when a re-INVITE had none.
    pub body: Option<OwnedBody>,
}

impl ResponseOptions {
    /// 200 OK, no body.
    #[must_use]
    pub const fn new() -> Self {
        Self { status_code: 200, reason_phrase: None, extra_headers: Vec::new(), body: None }
    }

    common_options!();
}

impl Default for ResponseOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Options of [`Invitation::progress`] (SIP.js `InvitationProgressOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgressOptions {
    /// 101–199; default 180.
    pub status_code: u16,
    /// Default: the RFC's phrase.
    pub reason_phrase: Option<String>,
    /// Extra header lines.
    pub extra_headers: Vec<(String, String)>,
    /// An optional body (early media answer, or an offer in a reliable provisional).
    pub body: Option<OwnedBody>,
    /// Send reliably (RFC 3262) when the caller supports it; always reliable when the
    /// caller requires it.
    pub rel100: bool,
}

impl ProgressOptions {
    /// 180, no body, unreliable unless the caller requires 100rel.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            status_code: 180,
            reason_phrase: None,
            extra_headers: Vec::new(),
            body: None,
            rel100: false,
        }
    }

    common_options!();

    /// Asks for a reliable provisional.
    #[must_use]
    pub const fn rel100(mut self, reliable: bool) -> Self {
        self.rel100 = reliable;
        self
    }
}

impl Default for ProgressOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Options of [`Invitation::accept`] (SIP.js `InvitationAcceptOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptOptions {
    /// 200–299; default 200.
    pub status_code: u16,
    /// Default: the RFC's phrase.
    pub reason_phrase: Option<String>,
    /// Extra header lines.
    pub extra_headers: Vec<(String, String)>,
    /// The answer to the INVITE's offer, or our offer when it had none.
    pub body: Option<OwnedBody>,
}

impl AcceptOptions {
    /// 200 with no body.
    #[must_use]
    pub const fn new() -> Self {
        Self { status_code: 200, reason_phrase: None, extra_headers: Vec::new(), body: None }
    }

    common_options!();
}

impl Default for AcceptOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Options of [`Invitation::reject`] (SIP.js `InvitationRejectOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RejectOptions {
    /// 400–699; default 480.
    pub status_code: u16,
    /// Default: the RFC's phrase.
    pub reason_phrase: Option<String>,
    /// Extra header lines.
    pub extra_headers: Vec<(String, String)>,
    /// An optional body.
    pub body: Option<OwnedBody>,
}

impl RejectOptions {
    /// 480 Temporarily Unavailable.
    #[must_use]
    pub const fn new() -> Self {
        Self { status_code: 480, reason_phrase: None, extra_headers: Vec::new(), body: None }
    }

    common_options!();
}

impl Default for RejectOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Options of [`Invitation::redirect`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedirectOptions {
    /// 300–399; default 302.
    pub status_code: u16,
    /// Default: the RFC's phrase.
    pub reason_phrase: Option<String>,
    /// Extra header lines.
    pub extra_headers: Vec<(String, String)>,
    /// An optional body.
    pub body: Option<OwnedBody>,
}

impl RedirectOptions {
    /// 302 Moved Temporarily.
    #[must_use]
    pub const fn new() -> Self {
        Self { status_code: 302, reason_phrase: None, extra_headers: Vec::new(), body: None }
    }

    common_options!();
}

impl Default for RedirectOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// An incoming INVITE and the call it becomes, borrowed from its endpoint: SIP.js's
/// `Invitation`. Get one with [`Endpoint::invitation`]; drain
/// [`Endpoint::poll_output`] after each command.
///
/// Getters take `&self`; commands take `now` and return a typed error when the call does
/// not fit the state. An invitation stays readable for 64·T1 after it ends, so a command
/// racing a CANCEL gets [`InvitationError::Cancelled`].
#[derive(Debug)]
pub struct Invitation<'a> {
    ep: &'a mut Endpoint,
    id: InvitationId,
}

impl<'a> Invitation<'a> {
    pub(crate) const fn new(ep: &'a mut Endpoint, id: InvitationId) -> Self {
        Self { ep, id }
    }

    fn uas_ref(&self) -> &InviteUserAgentServer {
        // The endpoint hands out a view only for a live id, and nothing else can remove
        // the call while the view borrows the endpoint.
        self.ep.call(self.id).unwrap_or_else(|| unreachable!("the view outlived its call"))
    }

    fn act<T>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Call, &mut Ctx<'_>) -> Result<T, InvitationError>,
    ) -> Result<T, InvitationError> {
        self.ep.act(now, self.id, f)
    }

    /// Returns the invitation's id.
    #[must_use]
    pub const fn id(&self) -> InvitationId {
        self.id
    }

    /// Returns the user-agent server behind this invitation (To tag, dialog, RSeq …).
    #[must_use]
    pub fn uas(&self) -> &InviteUserAgentServer {
        self.uas_ref()
    }

    /// Returns the INVITE.
    #[must_use]
    pub fn request(&self) -> &Message {
        self.uas_ref().request()
    }

    /// Returns the INVITE's body with its Content-Type, if it has one.
    #[must_use]
    pub fn body(&self) -> Option<Body<'_>> {
        let request = self.uas_ref().request();
        if request.body().is_empty() {
            return None;
        }
        let content_type = request
            .header(crate::HeaderName::ContentType)
            .and_then(|v| std::str::from_utf8(v).ok())
            .unwrap_or("");
        Some(Body { content_type, content: request.body() })
    }

    /// Returns our identity: the INVITE's To header.
    ///
    /// # Errors
    /// The To header does not decode (the core answered such an INVITE 400, so a live
    /// invitation always has one).
    pub fn local_identity(&self) -> Result<NameAddr<'_>, ParseError> {
        self.uas_ref().request().to_header()
    }

    /// Returns the caller's identity: the INVITE's From header.
    ///
    /// # Errors
    /// As [`local_identity`](Self::local_identity).
    pub fn remote_identity(&self) -> Result<NameAddr<'_>, ParseError> {
        self.uas_ref().request().from_header()
    }

    /// Returns the state.
    #[must_use]
    pub fn state(&self) -> InvitationState {
        self.uas_ref().state()
    }

    /// Returns how the caller offered reliable provisionals.
    #[must_use]
    pub fn rel100(&self) -> Rel100 {
        self.uas_ref().rel100()
    }

    /// Returns why the invitation ended, once it has.
    #[must_use]
    pub fn end_reason(&self) -> Option<EndReason> {
        self.uas_ref().end_reason()
    }

    /// Returns whether the endpoint sends a 180 before the application sees an
    /// invitation (configured, and not when the caller requires 100rel).
    #[must_use]
    pub fn auto_send_an_initial_provisional_response(&self) -> bool {
        self.ep.config().auto_ringing && self.rel100() != Rel100::Required
    }

    /// Sends a provisional response (default 180), reliably if asked and supported, or if
    /// the caller requires it. A reliable one waits for the PRACK of the previous one.
    ///
    /// # Errors
    /// Not in state Initial, a code outside 101–199, 100rel asked but not supported, an
    /// offer while one is pending or in an unreliable response, or too many queued.
    pub fn progress(
        &mut self,
        now: Instant,
        options: ProgressOptions,
    ) -> Result<(), InvitationError> {
        self.act(now, |c, ctx| c.progress(now, &options, ctx))
    }

    /// Accepts with a 2xx (default 200), retransmitted until the ACK. Waits for the PRACK
    /// first if a reliable provisional with a body is unacknowledged (state Establishing).
    ///
    /// # Errors
    /// [`InvitationError::Cancelled`] if the CANCEL won the race; not in state Initial; a
    /// code outside 2xx; no body where the offer/answer needs one.
    pub fn accept(&mut self, now: Instant, options: AcceptOptions) -> Result<(), InvitationError> {
        self.act(now, |c, ctx| c.accept(now, &options, ctx))
    }

    /// Rejects with a 4xx–6xx (default 480).
    ///
    /// # Errors
    /// Already answered or ended; a code outside 400–699.
    pub fn reject(&mut self, now: Instant, options: RejectOptions) -> Result<(), InvitationError> {
        self.act(now, |c, ctx| c.reject(now, &options, &[], ctx))
    }

    /// Redirects with a 3xx (default 302) listing `contacts` (each a Contact value, e.g.
    /// `<sip:bob@192.0.2.9>`).
    ///
    /// # Errors
    /// No contacts; already answered or ended; a code outside 300–399.
    pub fn redirect(
        &mut self,
        now: Instant,
        contacts: &[&str],
        options: RedirectOptions,
    ) -> Result<(), InvitationError> {
        if contacts.is_empty() {
            return Err(InvitationError::NoContacts);
        }
        let contacts: Vec<String> = contacts.iter().map(|c| (*c).to_owned()).collect();
        let options = RejectOptions {
            status_code: options.status_code,
            reason_phrase: options.reason_phrase,
            extra_headers: options.extra_headers,
            body: options.body,
        };
        self.act(now, |c, ctx| c.reject(now, &options, &contacts, ctx))
    }

    /// Ends the call with BYE; before the ACK, the BYE goes out when it arrives or times
    /// out (state Terminating meanwhile).
    ///
    /// # Errors
    /// [`InvitationError::EarlyDialog`] before the 2xx; already ending or ended.
    pub fn bye(&mut self, now: Instant) -> Result<(), InvitationError> {
        self.act(now, |c, ctx| c.bye(now, ctx))
    }

    /// SIP.js `dispose`: rejects (480) an unanswered invitation, sends BYE on an
    /// established one, does nothing once it is ending or ended.
    ///
    /// # Errors
    /// Only if the 480 or the BYE cannot be sent.
    pub fn dispose(&mut self, now: Instant) -> Result<(), InvitationError> {
        self.act(now, |c, ctx| c.dispose(now, ctx))
    }

    /// Answers request `request`, which the peer sent in the dialog (an
    /// [`Event::Request`](super::Event::Request)): 101–699, default 200.
    ///
    /// A 2xx to a re-INVITE carries the answer to its offer, or our offer when it had none
    /// (the answer then comes in the ACK, reported by
    /// [`Event::ReInviteAcked`](super::Event::ReInviteAcked)); it is retransmitted until
    /// that ACK. A 2xx to a REFER starts its subscription: report progress with
    /// [`notify`](Self::notify). A 3xx–6xx to an offer leaves the session as it was.
    ///
    /// # Errors
    /// [`InvitationError::UnknownRequest`] once it is answered (by us, by the default
    /// answer, or a BYE or CANCEL); a code outside 101–699; a missing or unexpected body.
    pub fn respond(
        &mut self,
        now: Instant,
        request: RequestId,
        options: ResponseOptions,
    ) -> Result<(), InvitationError> {
        self.act(now, |c, ctx| c.respond(now, request, &options, ctx))
    }

    /// Sends a re-INVITE (RFC 3261 §14.1): with `options.body` as a new offer, or without
    /// one to ask the peer for an offer (answer it with [`ack`](Self::ack) after its 2xx).
    /// The core ACKs a 2xx to an offer by itself and retries once the 491 back-off is over.
    ///
    /// # Errors
    /// Not established; [`InvitationError::InviteInProgress`] before the first ACK or
    /// while a re-INVITE runs; [`InvitationError::OfferPending`] while an offer waits.
    pub fn re_invite(
        &mut self,
        now: Instant,
        options: RequestOptions,
    ) -> Result<RequestId, InvitationError> {
        self.act(now, |c, ctx| c.send(now, RequestKind::ReInvite, None, &options, 0, ctx))
    }

    /// Sends UPDATE (RFC 3311), in the early or confirmed dialog: an offer in
    /// `options.body`, or just a target refresh.
    ///
    /// # Errors
    /// No dialog or over; [`InvitationError::OfferPending`] for an offer while one waits.
    pub fn update(
        &mut self,
        now: Instant,
        options: RequestOptions,
    ) -> Result<RequestId, InvitationError> {
        self.act(now, |c, ctx| c.send(now, RequestKind::Update, None, &options, 0, ctx))
    }

    /// Sends INFO (RFC 6086): put `Info-Package` in the extra headers to name its package.
    ///
    /// # Errors
    /// No dialog, or the call is ending or over.
    pub fn info(
        &mut self,
        now: Instant,
        options: RequestOptions,
    ) -> Result<RequestId, InvitationError> {
        self.act(now, |c, ctx| c.send(now, RequestKind::Info, None, &options, 0, ctx))
    }

    /// Sends MESSAGE (RFC 3428) in the dialog.
    ///
    /// # Errors
    /// No dialog, or the call is ending or over.
    pub fn message(
        &mut self,
        now: Instant,
        options: RequestOptions,
    ) -> Result<RequestId, InvitationError> {
        self.act(now, |c, ctx| c.send(now, RequestKind::Message, None, &options, 0, ctx))
    }

    /// Sends REFER (RFC 3515) with `refer_to` (e.g. `<sip:carol@192.0.2.3>`) as its
    /// Refer-To. The NOTIFYs of its subscription arrive as
    /// [`Event::Request`](super::Event::Request)s of kind [`RequestKind::Notify`].
    ///
    /// # Errors
    /// Not established.
    pub fn refer(
        &mut self,
        now: Instant,
        refer_to: &str,
        options: RequestOptions,
    ) -> Result<RequestId, InvitationError> {
        let options = options.extra_header("Refer-To", refer_to);
        self.act(now, |c, ctx| c.send(now, RequestKind::Refer, None, &options, 0, ctx))
    }

    /// Sends a NOTIFY in the subscription of REFER `refer`, which we accepted (RFC 3515
    /// §2.4.4): `Event: refer;id=<its CSeq>`, a `message/sipfrag` body with `status` (the
    /// progress of the referred request) unless `options` carries a body, and
    /// `Subscription-State: terminated` from a final status on, which ends the
    /// subscription.
    ///
    /// # Errors
    /// [`InvitationError::NoSubscription`] if `refer` was not accepted or its subscription
    /// ended; a status outside 100–699; not established.
    pub fn notify(
        &mut self,
        now: Instant,
        refer: RequestId,
        status: u16,
        options: RequestOptions,
    ) -> Result<RequestId, InvitationError> {
        self.act(now, |c, ctx| c.notify(now, refer, status, &options, ctx))
    }

    /// Sends the ACK, with our answer in `options.body`, for the 2xx that carried the
    /// peer's offer to our offerless re-INVITE `request`.
    ///
    /// # Errors
    /// [`InvitationError::UnknownRequest`] if no such 2xx waits; no body.
    pub fn ack(
        &mut self,
        now: Instant,
        request: RequestId,
        options: RequestOptions,
    ) -> Result<(), InvitationError> {
        self.act(now, |c, ctx| c.ack_reinvite(request, &options, ctx))
    }
}
