//! The user-agent server for one INVITE (RFC 3261 §13.3, RFC 3262, RFC 3264 via RFC 6337):
//! what SIP.js calls `InviteUserAgentServer`, plus the session state its `Invitation` keeps.
//!
//! ```text
//! state         | input                         | action                                  | next
//! --------------+-------------------------------+-----------------------------------------+-------------
//! Initial       | progress (unreliable)         | send 1xx with To tag; early dialog      | Initial
//! Initial       | progress (reliable)           | send (or queue behind the unPRACKed one)| Initial
//! Initial       | PRACK matching RSeq           | 200; send next queued / deferred 2xx    | Initial / Established
//! Initial       | rel. 1xx retransmit due       | re-send, interval doubles               | Initial
//! Initial       | 64·T1 without PRACK           | 504                                     | Terminated
//! Initial       | accept, 1xx with SDP unPRACKed| defer the 2xx                           | Establishing
//! Initial       | accept                        | send 2xx; retransmit T1..T2             | Established
//! Initial/Est.. | reject / redirect / dispose   | send 3xx–6xx                            | Terminated
//! Initial/Est.. | CANCEL                        | 487                                     | Terminated
//! Initial       | no-answer timer / Expires     | 480 / 487                               | Terminated
//! Established   | ACK (same CSeq)               | stop retransmitting; check the answer   | Established
//! Established   | 2xx retransmit due            | re-send, min(2·interval, T2)            | Established
//! Established   | 64·T1 without ACK             | BYE                                     | Terminating
//! Established   | bye (ACK seen / not yet)      | BYE now / when the ACK comes            | Terminating
//! Established   | CANCEL                        | (200 by the endpoint) tell the app      | Established
//! any live      | BYE                           | 200 (and 487 to a pending INVITE)       | Terminated
//! Terminating   | BYE's final response/timeout  |                                         | Terminated
//! Terminated    | linger (64·T1) runs out       | forget the invitation                   | (gone)
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::invitation::{AcceptOptions, InvitationError, ProgressOptions, RejectOptions};
use super::{Config, EndReason, Event, InvitationId, InvitationState, Rel100};
use crate::dialog::Dialog;
use crate::message::{HeaderName, Message, Method, ResponseBuilder};
use crate::rng::Rng;
use crate::transaction::{Target, TransactionId, TransactionLayer, TxEvent};
use crate::transport::Output;

/// Most reliable provisionals that may wait behind an unacknowledged one.
const MAX_QUEUED_RELIABLE: usize = 8;

/// The Reason header of a BYE that ends a call over a missing or unexpected answer.
pub(super) const BAD_ANSWER_REASON: &str = "SIP;cause=488;text=\"Missing or unexpected answer\"";
/// The Reason header of a BYE sent because the ACK never came.
pub(super) const ACK_TIMEOUT_REASON: &str = "SIP;cause=408;text=\"ACK Timeout\"";

/// What a call needs from the endpoint while it acts: the transaction layer to send
/// through, the output queue, the configuration and the seeded generator.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) layer: &'a mut TransactionLayer,
    pub(crate) out: &'a mut VecDeque<Output<Event>>,
    pub(crate) pending: &'a mut VecDeque<TxEvent>,
    pub(crate) config: &'a Config,
    pub(crate) prepared: &'a super::Prepared,
    pub(crate) rng: &'a mut Rng,
    pub(crate) owners: &'a mut Owners,
}

impl Ctx<'_> {
    /// Moves the layer's outputs out first, so that an event never overtakes the bytes
    /// that caused it (the 180 goes out before the application hears of the INVITE).
    pub(crate) fn pump(&mut self) {
        while let Some(o) = self.layer.poll_output() {
            match o {
                Output::Transmit(t) => self.out.push_back(Output::Transmit(t)),
                Output::Event(e) => self.pending.push_back(e),
            }
        }
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.pump();
        self.out.push_back(Output::Event(event));
    }
}

/// Which invitation owns each transaction, indexed by the transaction's slot.
#[derive(Debug, Default)]
pub(crate) struct Owners(Vec<Option<(TransactionId, InvitationId)>>);

impl Owners {
    pub(crate) fn set(&mut self, tx: TransactionId, owner: InvitationId) {
        let i = tx.slot();
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        if let Some(s) = self.0.get_mut(i) {
            *s = Some((tx, owner));
        }
    }

    pub(crate) fn get(&self, tx: TransactionId) -> Option<InvitationId> {
        match self.0.get(tx.slot()) {
            Some(Some((t, owner))) if *t == tx => Some(*owner),
            _ => None,
        }
    }
}

/// Offer/answer progress for the INVITE (RFC 3264, RFC 6337 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OfferAnswer {
    /// The INVITE had no body: our offer goes in the first reliable response with a body.
    NoOffer,
    /// The INVITE carried the offer: our answer is due.
    RemoteOffer,
    /// Our offer went in the reliable provisional with this RSeq; the PRACK answers it.
    OfferInProvisional(u32),
    /// Our offer went in the 2xx; the ACK answers it.
    OfferIn2xx,
    /// Offer and answer exchanged.
    Done,
}

/// A reliable provisional (RFC 3262 §3) waiting for its PRACK.
#[derive(Debug, Clone)]
struct Reliable {
    rseq: u32,
    code: u16,
    bytes: Bytes,
    with_body: bool,
    next: Option<Instant>,
    interval: Duration,
    give_up: Option<Instant>,
}

/// The 2xx, retransmitted by the UAS core until the ACK (§13.3.1.4).
#[derive(Debug, Clone)]
struct Success {
    code: u16,
    bytes: Bytes,
    next: Option<Instant>,
    interval: Duration,
    give_up: Option<Instant>,
}

/// The user-agent server of one INVITE and the session it becomes: To tag, early and
/// confirmed dialog, reliable provisionals, the 2xx retransmissions and the ACK wait.
///
/// Read it through [`Invitation::uas`](super::Invitation::uas); act on it through the
/// [`Invitation`](super::Invitation) view.
#[derive(Debug)]
pub struct InviteUserAgentServer {
    pub(super) id: InvitationId,
    pub(super) state: InvitationState,
    end: Option<EndReason>,
    request: Message,
    tx: TransactionId,
    pub(super) source: Target,
    rel100: Rel100,
    pub(super) dialog: Dialog,
    /// A response with our To tag went out: the dialog exists (§12.1.1).
    pub(super) has_dialog: bool,
    oa: OfferAnswer,
    /// The RSeq the next reliable provisional gets.
    next_rseq: u32,
    first_rseq: u32,
    /// Reliable provisionals with RSeq below this were acknowledged (or abandoned by the
    /// 2xx): a PRACK for one of them is answered 200.
    acked_below: u32,
    // Boxed: most calls never use them, and a ringing call should stay small.
    reliable: Option<Box<Reliable>>,
    queued: Vec<(u32, u16, Bytes, bool)>,
    deferred: Option<Box<(u16, Bytes)>>,
    success: Option<Box<Success>>,
    pub(super) acked: bool,
    bye_pending: Option<EndReason>,
    bye_tx: Option<TransactionId>,
    no_answer: Option<Instant>,
    expires: Option<Instant>,
    linger: Option<Instant>,
    /// Requests in the dialog after the INVITE (made on the first one).
    pub(super) session: Option<Box<super::session::Session>>,
    pub(crate) armed: Option<Instant>,
    pub(crate) indexed: Option<u64>,
}

/// The endpoint keeps calls under this name.
pub(crate) type Call = InviteUserAgentServer;

impl InviteUserAgentServer {
    /// Creates the UAS for `request`, which arrived at `now` on server transaction `tx`
    /// from `source`. `None` if no dialog can be built from it (no SIP Contact).
    pub(crate) fn new(
        id: InvitationId,
        now: Instant,
        request: Message,
        tx: TransactionId,
        source: Target,
        ctx: &mut Ctx<'_>,
    ) -> Option<Self> {
        let mut tag = Vec::with_capacity(16);
        ctx.rng.push_token(&mut tag, 16); // 82 random bits
        let to_tag = std::str::from_utf8(&tag).ok()?;
        let local_seq = random_31(ctx.rng);
        let dialog = Dialog::from_request(&request, to_tag, local_seq)?;
        let rel100 = if request.require().flatten().any(|t| t.eq_ignore_ascii_case("100rel")) {
            Rel100::Required
        } else if request.supported().flatten().any(|t| t.eq_ignore_ascii_case("100rel")) {
            Rel100::Supported
        } else {
            Rel100::None
        };
        let oa = if request.body().is_empty() || !is_session_body(&request) {
            OfferAnswer::NoOffer
        } else {
            OfferAnswer::RemoteOffer
        };
        let first_rseq = random_31(ctx.rng);
        let expires = request
            .expires()
            .ok()
            .flatten()
            .and_then(|s| now.checked_add(Duration::from_secs(u64::from(s))));
        Some(Self {
            id,
            state: InvitationState::Initial,
            end: None,
            request,
            tx,
            source,
            rel100,
            dialog,
            has_dialog: false,
            oa,
            next_rseq: first_rseq,
            first_rseq,
            acked_below: first_rseq,
            reliable: None,
            queued: Vec::new(),
            deferred: None,
            success: None,
            acked: false,
            bye_pending: None,
            bye_tx: None,
            no_answer: now.checked_add(ctx.config.no_answer_timeout),
            expires,
            linger: None,
            session: None,
            armed: None,
            indexed: None,
        })
    }

    /// Returns the invitation's id.
    #[must_use]
    pub const fn id(&self) -> InvitationId {
        self.id
    }

    /// Returns the state.
    #[must_use]
    pub const fn state(&self) -> InvitationState {
        self.state
    }

    /// Returns why the invitation ended, once it has.
    #[must_use]
    pub const fn end_reason(&self) -> Option<EndReason> {
        self.end
    }

    /// Returns the INVITE.
    #[must_use]
    pub const fn request(&self) -> &Message {
        &self.request
    }

    /// Returns the INVITE server transaction.
    #[must_use]
    pub const fn transaction(&self) -> TransactionId {
        self.tx
    }

    /// Returns where the INVITE came from.
    #[must_use]
    pub const fn source(&self) -> Target {
        self.source
    }

    /// Returns our To tag, used on every response but 100.
    #[must_use]
    pub fn to_tag(&self) -> &str {
        self.dialog.local_tag()
    }

    /// Returns how the caller offered reliable provisionals.
    #[must_use]
    pub const fn rel100(&self) -> Rel100 {
        self.rel100
    }

    /// Returns the dialog, once a response with our To tag created it.
    #[must_use]
    pub const fn dialog(&self) -> Option<&Dialog> {
        if self.has_dialog { Some(&self.dialog) } else { None }
    }

    /// Returns the RSeq of the reliable provisional waiting for its PRACK, if any.
    #[must_use]
    pub fn unacknowledged_rseq(&self) -> Option<u32> {
        self.reliable.as_ref().map(|r| r.rseq)
    }

    /// Returns whether the ACK for our 2xx arrived.
    #[must_use]
    pub const fn acked(&self) -> bool {
        self.acked
    }

    /// Returns the transaction of our BYE, while it runs.
    #[must_use]
    pub const fn bye_transaction(&self) -> Option<TransactionId> {
        self.bye_tx
    }

    pub(crate) fn in_dialog_index(&self) -> bool {
        self.has_dialog && self.state != InvitationState::Terminated
    }

    pub(crate) fn dialog_mut(&mut self) -> Option<&mut Dialog> {
        if self.has_dialog { Some(&mut self.dialog) } else { None }
    }

    /// The earliest of the call's deadlines.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [
            self.no_answer,
            self.expires,
            self.linger,
            self.reliable.as_ref().and_then(|r| r.next),
            self.reliable.as_ref().and_then(|r| r.give_up),
            self.success.as_ref().and_then(|s| s.next),
            self.success.as_ref().and_then(|s| s.give_up),
            self.session.as_ref().and_then(|s| s.next_deadline()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether the invitation ended long enough ago to be forgotten.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        self.linger.is_some_and(|t| t <= now)
    }

    /// Whether the INVITE's own offer/answer is unfinished: our offer (in a reliable
    /// provisional or the 2xx) waits for its answer, or theirs (or the lack of one) for ours.
    pub(super) const fn initial_busy(&self) -> Option<super::session::Busy> {
        match self.oa {
            OfferAnswer::OfferInProvisional(_) | OfferAnswer::OfferIn2xx => {
                Some(super::session::Busy::Ours)
            }
            OfferAnswer::NoOffer | OfferAnswer::RemoteOffer => Some(super::session::Busy::Theirs),
            OfferAnswer::Done => None,
        }
    }

    /// Stops retransmitting the 2xx (the call is ending another way).
    pub(super) fn stop_success(&mut self) {
        self.success = None;
    }

    pub(super) const fn answerable(&self) -> bool {
        matches!(self.state, InvitationState::Initial | InvitationState::Establishing)
    }

    pub(super) fn set_state(&mut self, state: InvitationState, ctx: &mut Ctx<'_>) {
        if self.state != state {
            self.state = state;
            ctx.emit(Event::StateChanged { id: self.id, state });
        }
    }

    /// Ends the invitation: every timer stops; it lingers 64·T1 so that late calls get
    /// [`InvitationError::Cancelled`] or [`InvitationError::Terminated`], not "gone".
    pub(super) fn terminate(&mut self, now: Instant, reason: EndReason, ctx: &mut Ctx<'_>) {
        if self.state == InvitationState::Terminated {
            return;
        }
        self.state = InvitationState::Terminated;
        self.end = Some(reason);
        self.no_answer = None;
        self.expires = None;
        self.reliable = None;
        self.queued.clear();
        self.deferred = None;
        self.success = None;
        self.bye_pending = None;
        self.close_incoming(now, ctx);
        self.linger = now.checked_add(ctx.config.timers.t1x64());
        ctx.emit(Event::Terminated { id: self.id, reason });
    }

    /// Refuses an operation in a state that does not allow it.
    pub(super) fn refuse(&self) -> InvitationError {
        match (self.state, self.end) {
            (InvitationState::Terminated, Some(EndReason::Cancelled)) => InvitationError::Cancelled,
            (InvitationState::Terminated, Some(reason)) => InvitationError::Terminated(reason),
            (state, _) => InvitationError::WrongState(state),
        }
    }

    /// Starts a response with our To tag, Contact, the Record-Route of the INVITE
    /// (§12.1.1) and Server.
    fn response<'r>(
        request: &'r Message,
        to_tag: &'r str,
        code: u16,
        config: &'r Config,
        contact: &'r str,
    ) -> ResponseBuilder<'r> {
        let mut b = request.reply(code).to_tag(to_tag);
        if code < 300 {
            for rr in request.header_lines(HeaderName::RecordRoute) {
                b = b.header(HeaderName::RecordRoute, rr);
            }
            b = b.header(HeaderName::Contact, contact);
        }
        if let Some(ua) = &config.user_agent {
            b = b.header(HeaderName::Server, ua);
        }
        b
    }

    fn ensure_dialog(&mut self) {
        self.has_dialog = true;
    }

    /// Sends a provisional response (SIP.js `progress`).
    pub(crate) fn progress(
        &mut self,
        now: Instant,
        options: &ProgressOptions,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), InvitationError> {
        if self.state != InvitationState::Initial {
            return Err(self.refuse());
        }
        let code = options.status_code;
        if !(101..=199).contains(&code) {
            return Err(InvitationError::StatusCode(code));
        }
        let reliable = match (self.rel100, options.rel100) {
            (Rel100::Required, _) | (Rel100::Supported, true) => true,
            (Rel100::None, true) => return Err(InvitationError::Rel100NotSupported),
            _ => false,
        };
        let with_body = options.body.is_some();
        if with_body {
            match (self.oa, reliable) {
                (OfferAnswer::OfferInProvisional(_) | OfferAnswer::OfferIn2xx, _) => {
                    return Err(InvitationError::OfferPending);
                }
                (OfferAnswer::NoOffer, false) => return Err(InvitationError::OfferNotReliable),
                _ => {}
            }
        }
        if reliable && self.queued.len() >= MAX_QUEUED_RELIABLE {
            return Err(InvitationError::TooManyProvisionals);
        }
        let rseq = self.next_rseq;
        let mut b = Self::response(
            &self.request,
            self.dialog.local_tag(),
            code,
            ctx.config,
            &ctx.prepared.contact,
        );
        if let Some(reason) = &options.reason_phrase {
            b = b.reason(reason);
        }
        let mut rseq_text = String::new();
        if reliable {
            rseq_text = rseq.to_string();
            b = b.header(HeaderName::Require, "100rel").header(HeaderName::RSeq, &rseq_text);
        }
        b = add_extra(b, &options.extra_headers, options.body.as_ref());
        let bytes = serialize(&b)?;
        drop(rseq_text);
        self.ensure_dialog();
        if reliable {
            self.next_rseq = self.next_rseq.wrapping_add(1);
            if with_body {
                self.oa = match self.oa {
                    OfferAnswer::NoOffer => OfferAnswer::OfferInProvisional(rseq),
                    _ => OfferAnswer::Done,
                };
            }
            if self.reliable.is_some() {
                self.queued.push((rseq, code, bytes, with_body));
            } else {
                self.send_reliable(now, rseq, code, bytes, with_body, ctx);
            }
            return Ok(());
        }
        ctx.layer.respond(now, self.tx, (code, bytes)).map_err(InvitationError::Transaction)
    }

    fn send_reliable(
        &mut self,
        now: Instant,
        rseq: u32,
        code: u16,
        bytes: Bytes,
        with_body: bool,
        ctx: &mut Ctx<'_>,
    ) {
        let t1 = ctx.config.timers.t1.max(Duration::from_millis(1));
        let _ = ctx.layer.respond(now, self.tx, (code, bytes.clone()));
        self.reliable = Some(Box::new(Reliable {
            rseq,
            code,
            bytes,
            with_body,
            next: now.checked_add(t1),
            interval: t1,
            give_up: now.checked_add(ctx.config.timers.t1x64()),
        }));
    }

    /// Sends the 2xx (SIP.js `accept`), or defers it behind the PRACK of a reliable
    /// provisional that carried a session description (RFC 3262 §3).
    pub(crate) fn accept(
        &mut self,
        now: Instant,
        options: &AcceptOptions,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), InvitationError> {
        if self.state != InvitationState::Initial {
            return Err(self.refuse());
        }
        let code = options.status_code;
        if !(200..=299).contains(&code) {
            return Err(InvitationError::StatusCode(code));
        }
        let with_body = options.body.is_some();
        if !with_body && matches!(self.oa, OfferAnswer::NoOffer | OfferAnswer::RemoteOffer) {
            return Err(InvitationError::BodyRequired);
        }
        let prepared = ctx.prepared;
        let mut b = Self::response(
            &self.request,
            self.dialog.local_tag(),
            code,
            ctx.config,
            &prepared.contact,
        );
        if let Some(reason) = &options.reason_phrase {
            b = b.reason(reason);
        }
        b = b.header(HeaderName::Allow, &prepared.allow);
        if !prepared.supported.is_empty() {
            b = b.header(HeaderName::Supported, &prepared.supported);
        }
        b = add_extra(b, &options.extra_headers, options.body.as_ref());
        let bytes = serialize(&b)?;
        self.ensure_dialog();
        self.oa = match self.oa {
            OfferAnswer::NoOffer => OfferAnswer::OfferIn2xx,
            OfferAnswer::RemoteOffer => OfferAnswer::Done,
            other => other,
        };
        self.set_state(InvitationState::Establishing, ctx);
        let waits =
            self.reliable.as_ref().is_some_and(|r| r.with_body) || self.queued.iter().any(|q| q.3);
        if waits {
            self.deferred = Some(Box::new((code, bytes)));
            return Ok(());
        }
        self.send_success(now, code, bytes, ctx);
        Ok(())
    }

    fn send_success(&mut self, now: Instant, code: u16, bytes: Bytes, ctx: &mut Ctx<'_>) {
        // Unacknowledged reliable provisionals without a body are abandoned (RFC 3262 §3);
        // a PRACK that still comes for the one sent is answered 200.
        if let Some(r) = self.reliable.take() {
            self.acked_below = r.rseq.wrapping_add(1);
        }
        self.queued.clear();
        self.no_answer = None;
        self.expires = None;
        self.dialog.confirm();
        let t1 = ctx.config.timers.t1.max(Duration::from_millis(1));
        let _ = ctx.layer.respond(now, self.tx, (code, bytes.clone()));
        self.success = Some(Box::new(Success {
            code,
            bytes,
            next: now.checked_add(t1),
            interval: t1,
            give_up: now.checked_add(ctx.config.timers.t1x64()),
        }));
        self.set_state(InvitationState::Established, ctx);
    }

    /// Sends a 3xx–6xx (SIP.js `reject` / `redirect`) and ends the invitation.
    pub(crate) fn reject(
        &mut self,
        now: Instant,
        options: &RejectOptions,
        contacts: &[String],
        ctx: &mut Ctx<'_>,
    ) -> Result<(), InvitationError> {
        if !self.answerable() {
            return Err(self.refuse());
        }
        let code = options.status_code;
        let redirect = !contacts.is_empty();
        if redirect && !(300..=399).contains(&code) || !redirect && !(400..=699).contains(&code) {
            return Err(InvitationError::StatusCode(code));
        }
        let mut b = Self::response(&self.request, self.dialog.local_tag(), code, ctx.config, "");
        if let Some(reason) = &options.reason_phrase {
            b = b.reason(reason);
        }
        for c in contacts {
            b = b.header(HeaderName::Contact, c);
        }
        b = add_extra(b, &options.extra_headers, options.body.as_ref());
        let bytes = serialize(&b)?;
        ctx.layer.respond(now, self.tx, (code, bytes)).map_err(InvitationError::Transaction)?;
        let reason = if redirect { EndReason::Redirected(code) } else { EndReason::Rejected(code) };
        self.terminate(now, reason, ctx);
        Ok(())
    }

    /// Answers the INVITE with `code` for a reason of the core's own.
    pub(super) fn fail(
        &mut self,
        now: Instant,
        code: u16,
        reason: EndReason,
        extra: Option<&str>,
        ctx: &mut Ctx<'_>,
    ) {
        if self.answerable() {
            let mut b = self.request.reply(code).to_tag(self.dialog.local_tag());
            if let Some(r) = extra {
                b = b.header(HeaderName::Reason, r);
            }
            let _ = ctx.layer.respond(now, self.tx, &b);
        }
        self.terminate(now, reason, ctx);
    }

    /// Ends an established call with BYE (SIP.js `bye`). Before the ACK, the BYE waits for
    /// it or for its timeout (§15).
    pub(crate) fn bye(&mut self, now: Instant, ctx: &mut Ctx<'_>) -> Result<(), InvitationError> {
        match self.state {
            InvitationState::Initial | InvitationState::Establishing => {
                Err(InvitationError::EarlyDialog)
            }
            InvitationState::Established => {
                self.end_with_bye(now, EndReason::LocalBye(None), None, ctx);
                Ok(())
            }
            _ => Err(self.refuse()),
        }
    }

    /// SIP.js `dispose`: reject an unanswered invitation with 480, end a call with BYE.
    pub(crate) fn dispose(
        &mut self,
        now: Instant,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), InvitationError> {
        match self.state {
            InvitationState::Initial | InvitationState::Establishing => {
                self.reject(now, &RejectOptions::new(), &[], ctx)
            }
            InvitationState::Established => self.bye(now, ctx),
            _ => Ok(()),
        }
    }

    /// Sends BYE now if the ACK is in, else once it arrives or times out.
    fn end_with_bye(
        &mut self,
        now: Instant,
        cause: EndReason,
        reason: Option<&str>,
        ctx: &mut Ctx<'_>,
    ) {
        self.set_state(InvitationState::Terminating, ctx);
        if !self.acked && self.success.is_some() {
            self.bye_pending = Some(cause);
            return;
        }
        self.success = None;
        self.send_bye(now, cause, reason, ctx);
    }

    pub(super) fn send_bye(
        &mut self,
        now: Instant,
        cause: EndReason,
        reason: Option<&str>,
        ctx: &mut Ctx<'_>,
    ) {
        self.bye_pending = None;
        // Nothing else in the dialog goes on: open requests get 487, our 2xx to a
        // re-INVITE stops.
        self.close_incoming(now, ctx);
        let d = &mut self.dialog;
        let mut b = d.request(&Method::Bye);
        if let Some(r) = reason {
            b = b.header(HeaderName::Reason, r);
        }
        if let Some(ua) = &ctx.config.user_agent {
            b = b.header(HeaderName::UserAgent, ua);
        }
        let target = d.next_hop(self.source);
        match ctx.layer.send_request(now, &b, target, &ctx.config.sent_by) {
            Ok(tx) => {
                self.bye_tx = Some(tx);
                self.end = Some(cause);
                ctx.owners.set(tx, self.id);
            }
            Err(_) => self.terminate(now, cause, ctx),
        }
    }

    /// The final response to our BYE arrived (`Some`), or its transaction failed (`None`).
    pub(crate) fn on_bye_outcome(
        &mut self,
        now: Instant,
        tx: TransactionId,
        status: Option<u16>,
        ctx: &mut Ctx<'_>,
    ) {
        if self.bye_tx != Some(tx) {
            return;
        }
        self.bye_tx = None;
        let reason = match self.end {
            Some(EndReason::LocalBye(_)) | None => EndReason::LocalBye(status),
            Some(other) => other,
        };
        self.terminate(now, reason, ctx);
    }

    /// The INVITE server transaction could not send: an unanswered invitation is lost. It
    /// still gets a final response (500), so that its transaction moves on to Completed
    /// and ends with Timer H instead of waiting in Proceeding for ever (RFC 6026 §7.1
    /// keeps a server transaction's state on a transport error).
    pub(crate) fn on_transport_error(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        if self.answerable() {
            self.fail(now, 500, EndReason::TransportError, None, ctx);
        }
    }

    /// A CANCEL for our INVITE (answered 200 by the endpoint).
    pub(crate) fn on_cancel(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        match self.state {
            InvitationState::Initial | InvitationState::Establishing => {
                ctx.emit(Event::Cancelled { id: self.id, after_answer: false });
                self.fail(now, 487, EndReason::Cancelled, None, ctx);
            }
            InvitationState::Established | InvitationState::Terminating => {
                ctx.emit(Event::Cancelled { id: self.id, after_answer: true });
            }
            InvitationState::Terminated => {}
        }
    }

    /// A BYE in our dialog: 200, and 487 to the INVITE if it is still unanswered.
    pub(crate) fn on_bye(
        &mut self,
        now: Instant,
        tx: TransactionId,
        bye: &Message,
        ctx: &mut Ctx<'_>,
    ) {
        // Requests still open (a re-INVITE, an INFO …) are over: 487 first, then the 200.
        self.close_incoming(now, ctx);
        if self.answerable() {
            let b = self.request.reply(487).to_tag(self.dialog.local_tag());
            let _ = ctx.layer.respond(now, self.tx, &b);
        }
        let _ = ctx.layer.respond(now, tx, bye.reply(200));
        // Their BYE crossing ours: the reason ours went out for (an ACK or request that
        // timed out, a bad answer …) is still why the call ended; a plain `bye` of ours
        // yields to theirs.
        let reason = match self.end {
            Some(EndReason::LocalBye(_)) | None => EndReason::RemoteBye,
            Some(other) => other,
        };
        self.terminate(now, reason, ctx);
    }

    /// An ACK matched to our dialog: `false` if it is not for our 2xx (its CSeq differs).
    pub(crate) fn on_ack(&mut self, now: Instant, ack: &Message, ctx: &mut Ctx<'_>) -> bool {
        let invite_seq = self.request.cseq().map(|c| c.seq).ok();
        if ack.cseq().map(|c| c.seq).ok() != invite_seq {
            return self.on_reinvite_ack(now, ack, ctx);
        }
        if self.acked || (self.success.is_none() && self.bye_pending.is_none()) {
            return true; // a retransmitted ACK, or one after the wait ended
        }
        self.acked = true;
        self.success = None;
        let with_body = !ack.body().is_empty();
        ctx.emit(Event::Acked { id: self.id, with_body });
        let bad = match self.oa {
            OfferAnswer::OfferIn2xx if with_body => {
                self.oa = OfferAnswer::Done;
                false
            }
            OfferAnswer::OfferIn2xx => true,
            _ => with_body,
        };
        if bad {
            self.set_state(InvitationState::Terminating, ctx);
            self.send_bye(now, EndReason::BadAnswer, Some(BAD_ANSWER_REASON), ctx);
        } else if let Some(cause) = self.bye_pending {
            self.send_bye(now, cause, None, ctx);
        }
        true
    }

    /// A PRACK in our early (or confirmed) dialog (RFC 3262 §3).
    pub(crate) fn on_prack(
        &mut self,
        now: Instant,
        tx: TransactionId,
        prack: &Message,
        ctx: &mut Ctx<'_>,
    ) {
        let invite_seq = self.request.cseq().map(|c| c.seq).ok();
        let rack = prack.rack().ok().flatten();
        let matches_pending = rack.as_ref().zip(self.reliable.as_ref()).is_some_and(|(r, p)| {
            r.rseq == p.rseq && Some(r.cseq) == invite_seq && r.method == Method::Invite
        });
        if !matches_pending {
            // A PRACK for a provisional already acknowledged (a new PRACK after the 200,
            // or a second one) is answered; anything else matches nothing we sent.
            let known = rack.is_some_and(|r| {
                Some(r.cseq) == invite_seq
                    && r.method == Method::Invite
                    && r.rseq.wrapping_sub(self.first_rseq)
                        < self.acked_below.wrapping_sub(self.first_rseq)
            });
            let code = if known { 200 } else { 481 };
            let _ = ctx.layer.respond(now, tx, prack.reply(code));
            return;
        }
        let _ = ctx.layer.respond(now, tx, prack.reply(200));
        let Some(pending) = self.reliable.take() else { return };
        self.acked_below = pending.rseq.wrapping_add(1);
        let with_body = !prack.body().is_empty();
        ctx.emit(Event::Pracked { id: self.id, rseq: pending.rseq, with_body });
        let bad = match self.oa {
            OfferAnswer::OfferInProvisional(r) if r == pending.rseq => {
                self.oa = OfferAnswer::Done;
                !with_body
            }
            _ => with_body,
        };
        if bad {
            return self.fail(now, 488, EndReason::BadAnswer, Some(BAD_ANSWER_REASON), ctx);
        }
        if !self.queued.is_empty() {
            let (rseq, code, bytes, with_body) = self.queued.remove(0);
            self.send_reliable(now, rseq, code, bytes, with_body, ctx);
        } else if let Some(deferred) = self.deferred.take() {
            let (code, bytes) = *deferred;
            self.send_success(now, code, bytes, ctx);
        }
    }

    /// Fires the call's timers due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        if self.session.is_some() && self.state != InvitationState::Terminated {
            self.session_timeout(now, ctx);
        }
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.expires) {
            if self.answerable() {
                return self.fail(now, 487, EndReason::Expired, None, ctx);
            }
            // Answered or ending another way: the Expires no longer matters, and a past
            // deadline left armed would fire for ever.
            self.expires = None;
        }
        if due(self.no_answer) {
            return self.fail(now, 480, EndReason::NoAnswer, None, ctx);
        }
        if let Some(r) = &mut self.reliable {
            if due(r.give_up) {
                return self.fail(now, 504, EndReason::PrackTimeout, None, ctx);
            }
            if due(r.next) {
                let _ = ctx.layer.respond(now, self.tx, (r.code, r.bytes.clone()));
                ctx.layer.count_retransmission();
                r.interval = r.interval.saturating_mul(2);
                r.next = now.checked_add(r.interval);
            }
        }
        let t2 = ctx.config.timers.t2.max(Duration::from_millis(1));
        if let Some(s) = &mut self.success {
            if due(s.give_up) {
                self.success = None;
                ctx.emit(Event::AckTimeout { id: self.id });
                self.set_state(InvitationState::Terminating, ctx);
                return self.send_bye(now, EndReason::AckTimeout, Some(ACK_TIMEOUT_REASON), ctx);
            }
            if due(s.next) {
                let _ = ctx.layer.respond(now, self.tx, (s.code, s.bytes.clone()));
                ctx.layer.count_retransmission();
                s.interval = s.interval.saturating_mul(2).min(t2);
                s.next = now.checked_add(s.interval);
            }
        }
    }
}

/// A random number in 1..2^31 (RSeq, RFC 3262 §3; a dialog's first CSeq).
fn random_31(rng: &mut Rng) -> u32 {
    u32::try_from(rng.next_u64() % 0x7fff_ffff).unwrap_or(0) + 1
}

/// A body whose Content-Disposition is `session` (the default) or absent.
fn is_session_body(request: &Message) -> bool {
    match request.content_disposition() {
        Ok(Some(d)) => d.value.eq_ignore_ascii_case("session"),
        Ok(None) => true,
        Err(_) => false,
    }
}

pub(super) fn add_extra<'r>(
    mut b: ResponseBuilder<'r>,
    extra: &[(String, String)],
    body: Option<&super::invitation::OwnedBody>,
) -> ResponseBuilder<'r> {
    for (name, value) in extra {
        b = b.header_named(name, value);
    }
    if let Some(body) = body {
        b = b.body(&body.content_type, body.content.clone());
    }
    b
}

pub(super) fn serialize(b: &ResponseBuilder<'_>) -> Result<Bytes, InvitationError> {
    let mut buf = Vec::with_capacity(b.encoded_len());
    b.write_to(&mut buf).map_err(InvitationError::Build)?;
    Ok(Bytes::from(buf))
}
