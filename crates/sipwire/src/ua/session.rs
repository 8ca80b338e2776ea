//! The session of an answered [`Invitation`](super::Invitation): every request either side
//! sends inside its dialog, after SIP.js's `Session` and with the RFC rules it leaves out.
//!
//! ```text
//! incoming                     | rule                                                     | answer
//! -----------------------------+----------------------------------------------------------+---------------
//! re-INVITE, first INVITE open | §14.2: a second INVITE before the first's final           | 500 + Retry-After 0–10 s
//! re-INVITE, ours in progress  | §14.2 glare: our INVITE transaction is running           | 491
//! re-INVITE / UPDATE + offer   | our offer unanswered (2xx, reliable 1xx, re-INVITE, UPDATE)| 491
//! re-INVITE / UPDATE + offer   | their earlier offer not answered yet (RFC 3311 §5.2)      | 500 + Retry-After
//! re-INVITE before initial ACK | RFC 5407 §3.1.5: handled as usual; our 2xx keeps going    | (application)
//! re-INVITE, INFO, MESSAGE …   | event; the application answers with `respond`            | (application)
//! … unanswered for `request_timeout` | default answer (200 INFO/MESSAGE/NOTIFY, 603 REFER, 488 offers) | default
//! REFER without one Refer-To   | RFC 3515 §2.4.1                                           | 400
//! NOTIFY, Event not `refer`    | RFC 6665 §8.3.1                                           | 489
//! NOTIFY, no REFER of ours     | no such subscription                                     | 481
//! BYE, requests still open     | they are over                                            | 487 each, then BYE 200
//! CANCEL of a re-INVITE        | §9.2                                                     | 487, offer rolled back
//! 2xx to re-INVITE             | retransmitted T1…T2 until the ACK, BYE after 64·T1       |
//!
//! outgoing (client transactions)
//! -----------------------------+----------------------------------------------------------+---------------
//! re-INVITE 2xx (and each copy)| ACK built by the dialog (§13.2.2.4), re-sent per copy     |
//! re-INVITE / UPDATE 491       | §14.1: retry after 0–2 s (2.1–4 s if we own the Call-ID)  | Glare event
//! 481, 408, Timer B/F timeout  | RFC 5057 / §12.2.1.2: the dialog is over (BYE on 408/timeout) | Terminated
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::invitation::{InvitationError, RequestOptions};
use super::{Ctx, EndReason, Event, InvitationState, InviteUserAgentServer};
use crate::message::{HeaderName, Message, Method, RequestBuilder};
use crate::rng::Rng;
use crate::transaction::TransactionId;

/// Most requests the peer may leave open in one dialog at a time; more get 503.
const MAX_OPEN: usize = 16;
/// Most times a re-INVITE or UPDATE is sent again after 491 before the 491 is final.
const MAX_GLARE_RETRIES: u8 = 3;

/// Identifies a request in one call's dialog, sent or received. Opaque; unique within its
/// invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u32);

/// The requests a session exchanges inside its dialog, besides BYE, ACK, CANCEL and PRACK
/// (which the core handles itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// An INVITE in the dialog (RFC 3261 §14): a new offer, or a request for one.
    ReInvite,
    /// UPDATE (RFC 3311): an offer, or a target refresh, without an ACK.
    Update,
    /// INFO (RFC 6086).
    Info,
    /// MESSAGE (RFC 3428).
    Message,
    /// REFER (RFC 3515).
    Refer,
    /// NOTIFY in a REFER's implicit subscription (RFC 3515 §2.4.4).
    Notify,
}

impl RequestKind {
    /// Returns the method of requests of this kind.
    #[must_use]
    pub const fn method(self) -> Method {
        match self {
            Self::ReInvite => Method::Invite,
            Self::Update => Method::Update,
            Self::Info => Method::Info,
            Self::Message => Method::Message,
            Self::Refer => Method::Refer,
            Self::Notify => Method::Notify,
        }
    }

    /// Returns the kind of a request with `method` inside a dialog, if the session takes it.
    #[must_use]
    pub const fn of(method: &Method) -> Option<Self> {
        Some(match method {
            Method::Invite => Self::ReInvite,
            Method::Update => Self::Update,
            Method::Info => Self::Info,
            Method::Message => Self::Message,
            Method::Refer => Self::Refer,
            Method::Notify => Self::Notify,
            _ => return None,
        })
    }

    const fn offers(self) -> bool {
        matches!(self, Self::ReInvite | Self::Update)
    }
}

/// The answer the core sends to a request the application left unanswered for
/// [`Config::request_timeout`](super::Config::request_timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DefaultAnswers {
    /// INFO: default 200.
    pub info: u16,
    /// MESSAGE: default 200.
    pub message: u16,
    /// NOTIFY: default 200.
    pub notify: u16,
    /// REFER: default 603 Decline.
    pub refer: u16,
    /// re-INVITE and UPDATE: default 488. A 2xx would need a session description, so
    /// anything below 300 is taken as 488.
    pub offer: u16,
}

impl DefaultAnswers {
    /// 200 for INFO, MESSAGE and NOTIFY, 603 for REFER, 488 for re-INVITE and UPDATE.
    pub const DEFAULT: Self = Self { info: 200, message: 200, notify: 200, refer: 603, offer: 488 };

    const fn for_kind(&self, kind: RequestKind) -> u16 {
        let code = match kind {
            RequestKind::Info => self.info,
            RequestKind::Message => self.message,
            RequestKind::Notify => self.notify,
            RequestKind::Refer => self.refer,
            RequestKind::ReInvite | RequestKind::Update => {
                if self.offer >= 300 && self.offer <= 699 { self.offer } else { 488 }
            }
        };
        if code >= 200 && code <= 699 { code } else { 500 }
    }
}

impl Default for DefaultAnswers {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Who holds an offer that waits for its answer, outside the initial INVITE's exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Pending {
    #[default]
    Idle,
    /// The peer's offer (in this request, or in the 2xx to our offerless re-INVITE).
    Remote(RequestId),
    /// Our offer (in this request, or in our 2xx to the peer's offerless re-INVITE).
    Local(RequestId),
}

/// A request the peer sent, waiting for the application.
#[derive(Debug)]
struct Incoming {
    id: RequestId,
    tx: TransactionId,
    kind: RequestKind,
    request: Message,
    offer: bool,
    deadline: Option<Instant>,
    /// A REFER's CSeq number: the `id` of its subscription's NOTIFYs.
    seq: u32,
}

/// A request we sent, waiting for its final response.
#[derive(Debug)]
struct Outgoing {
    id: RequestId,
    tx: TransactionId,
    kind: RequestKind,
    seq: u32,
    offer: bool,
    /// What to send again after a 491.
    options: RequestOptions,
    retries: u8,
    /// For a terminal NOTIFY: the subscription it ends.
    ends: Option<RequestId>,
}

/// Our 2xx to a re-INVITE, retransmitted until its ACK (§13.3.1.4).
#[derive(Debug)]
struct Unacked {
    id: RequestId,
    tx: TransactionId,
    seq: u32,
    bytes: Bytes,
    next: Option<Instant>,
    interval: Duration,
    give_up: Option<Instant>,
}

/// The ACK we sent for the 2xx to our re-INVITE, sent again for each copy of the 2xx.
#[derive(Debug)]
struct SentAck {
    tx: TransactionId,
    bytes: Bytes,
}

/// A re-INVITE or UPDATE that met 491, waiting out its back-off.
#[derive(Debug)]
struct Retry {
    at: Instant,
    id: RequestId,
    kind: RequestKind,
    options: RequestOptions,
    retries: u8,
    status: Box<Message>,
}

/// A REFER's implicit subscription (RFC 3515 §2.4.4).
#[derive(Debug, Clone, Copy)]
struct Subscription {
    refer: RequestId,
    seq: u32,
}

/// The session state of one call, made on its first in-dialog request.
#[derive(Debug, Default)]
pub(crate) struct Session {
    next_id: u32,
    incoming: Vec<Incoming>,
    outgoing: Vec<Outgoing>,
    pending: Pending,
    unacked: Option<Unacked>,
    /// The CSeq of the last re-INVITE whose 2xx the peer ACKed.
    acked_seq: Option<u32>,
    /// The 2xx to our offerless re-INVITE: its ACK (with our answer) is the application's.
    awaiting_ack: Option<(RequestId, TransactionId, u32)>,
    sent_ack: Option<SentAck>,
    retry: Option<Retry>,
    /// REFERs we accepted: we send their NOTIFYs.
    notifier: Vec<Subscription>,
    /// REFERs we sent: their NOTIFYs come to us.
    subscriber: Vec<Subscription>,
}

impl Session {
    fn next_id(&mut self) -> RequestId {
        self.next_id = self.next_id.wrapping_add(1);
        RequestId(self.next_id)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let incoming = self.incoming.iter().filter_map(|i| i.deadline).min();
        let unacked = self.unacked.as_ref().and_then(|u| u.next.min(u.give_up).or(u.give_up));
        [incoming, unacked, self.retry.as_ref().map(|r| r.at)].into_iter().flatten().min()
    }

    /// Whether an INVITE transaction runs in the dialog either way (§14.1). A re-INVITE of
    /// ours waiting out its 491 back-off has none running: the peer's may go first.
    fn invite_in_progress(&self) -> bool {
        self.unacked.is_some()
            || self.awaiting_ack.is_some()
            || self.incoming.iter().any(|i| i.kind == RequestKind::ReInvite)
            || self.outgoing.iter().any(|o| o.kind == RequestKind::ReInvite)
    }
}

/// What blocks a new offer: ours waits for an answer, or theirs does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Busy {
    Ours,
    Theirs,
}

/// A random back-off after 491 (§14.1): 2.1–4 s for the owner of the Call-ID, else 0–2 s,
/// in units of 10 ms.
pub(crate) fn glare_backoff(owns_call_id: bool, rng: &mut Rng) -> Duration {
    if owns_call_id {
        Duration::from_millis(2100 + rng.next_u64() % 191 * 10)
    } else {
        Duration::from_millis(rng.next_u64() % 201 * 10)
    }
}

fn has_session_body(m: &Message) -> bool {
    !m.body().is_empty()
        && match m.content_disposition() {
            Ok(Some(d)) => d.value.eq_ignore_ascii_case("session"),
            Ok(None) => true,
            Err(_) => false,
        }
}

/// The call's session state, made on first use.
fn sess(session: &mut Option<Box<Session>>) -> &mut Session {
    session.get_or_insert_with(Box::default)
}

impl InviteUserAgentServer {
    /// Whether an offer waits for its answer, in the initial exchange or a later one.
    fn busy(&self) -> Option<Busy> {
        if let Some(b) = self.initial_busy() {
            return Some(b);
        }
        match self.session.as_ref().map(|s| s.pending) {
            Some(Pending::Local(_)) => Some(Busy::Ours),
            Some(Pending::Remote(_)) => Some(Busy::Theirs),
            _ => None,
        }
    }

    fn live(&self) -> bool {
        !matches!(self.state, InvitationState::Terminating | InvitationState::Terminated)
    }

    /// Answers `request` on `tx` with `code` and an optional Retry-After of 0–10 s.
    fn refuse_request(
        now: Instant,
        tx: TransactionId,
        request: &Message,
        code: u16,
        reason: Option<&str>,
        retry_after: bool,
        ctx: &mut Ctx<'_>,
    ) {
        let secs = if retry_after { (ctx.rng.next_u64() % 11).to_string() } else { String::new() };
        let mut b = request.reply(code);
        if let Some(r) = reason {
            b = b.reason(r);
        }
        if retry_after {
            b = b.header(HeaderName::RetryAfter, &secs);
        }
        if code == 489 {
            // RFC 6665 §8.3.1: the packages we take.
            b = b.header(HeaderName::AllowEvents, "refer");
        }
        if let Some(ua) = &ctx.config.user_agent {
            b = b.header(HeaderName::Server, ua);
        }
        let _ = ctx.layer.respond(now, tx, b);
    }

    /// A re-INVITE, UPDATE, INFO, MESSAGE, REFER or NOTIFY in our dialog.
    pub(crate) fn on_request(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: Message,
        kind: RequestKind,
        ctx: &mut Ctx<'_>,
    ) {
        let refuse = |code, reason, retry, ctx: &mut Ctx<'_>| {
            Self::refuse_request(now, tx, &request, code, reason, retry, ctx);
        };
        if !self.live() {
            // RFC 5407 §3.2.2: once our BYE is out, the dialog takes nothing new.
            return refuse(481, None, false, ctx);
        }
        let confirmed = matches!(self.state, InvitationState::Established);
        let offer = kind.offers() && has_session_body(&request);
        match kind {
            RequestKind::ReInvite => {
                if !confirmed || self.session.as_deref().is_some_and(Session::invite_in_progress) {
                    let ours = self.session.as_ref().is_some_and(|s| {
                        s.outgoing.iter().any(|o| o.kind == RequestKind::ReInvite)
                            || s.awaiting_ack.is_some()
                    });
                    // §14.2: glare with our own INVITE is 491; an INVITE of theirs still
                    // unanswered (the first one, or an earlier re-INVITE) is 500.
                    return if ours {
                        refuse(491, None, false, ctx)
                    } else {
                        refuse(500, None, true, ctx)
                    };
                }
                match self.busy() {
                    Some(Busy::Ours) => return refuse(491, None, false, ctx),
                    Some(Busy::Theirs) => return refuse(500, None, true, ctx),
                    None => {}
                }
            }
            RequestKind::Update => {
                if offer {
                    match self.busy() {
                        Some(Busy::Ours) => return refuse(491, None, false, ctx),
                        Some(Busy::Theirs) => return refuse(500, None, true, ctx),
                        None => {}
                    }
                }
            }
            RequestKind::Refer => {
                if !matches!(request.refer_to(), Ok(Some(_))) {
                    return refuse(400, Some("Bad Request - Exactly One Refer-To"), false, ctx);
                }
            }
            RequestKind::Notify => {
                let event = request.event().ok().flatten();
                let Some(event) = event.filter(|e| e.value.eq_ignore_ascii_case("refer")) else {
                    return refuse(489, None, false, ctx);
                };
                let id = event.id().and_then(|i| i.parse::<u32>().ok());
                let subs = self.session.as_ref().map_or(&[][..], |s| &s.subscriber[..]);
                let found = subs.iter().position(|s| id.is_none_or(|i| i == s.seq));
                let Some(i) = found else {
                    return refuse(481, Some("Subscription Does Not Exist"), false, ctx);
                };
                let terminated = request
                    .header(HeaderName::SubscriptionState)
                    .is_some_and(|v| v.trim_ascii_start().starts_with(b"terminated"));
                if terminated {
                    sess(&mut self.session).subscriber.remove(i);
                }
            }
            RequestKind::Info | RequestKind::Message => {}
        }
        if self.session.as_ref().is_some_and(|s| s.incoming.len() >= MAX_OPEN) {
            return refuse(503, None, true, ctx);
        }
        let deadline = now.checked_add(ctx.config.request_timeout);
        let seq = request.cseq().map_or(0, |c| c.seq);
        let call_id = self.id;
        ctx.owners.set(tx, call_id);
        let session = sess(&mut self.session);
        let id = session.next_id();
        if offer {
            session.pending = Pending::Remote(id);
        }
        let message = Box::new(request.clone());
        session.incoming.push(Incoming { id, tx, kind, request, offer, deadline, seq });
        ctx.emit(Event::Request { id: call_id, request: id, kind, message });
    }

    /// Answers request `id` of the peer's (SIP.js `IncomingRequest.accept` / `reject`).
    pub(crate) fn respond(
        &mut self,
        now: Instant,
        id: RequestId,
        options: &super::ResponseOptions,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), InvitationError> {
        let code = options.status_code;
        if !(101..=699).contains(&code) {
            return Err(InvitationError::StatusCode(code));
        }
        let session = self.session.as_deref().ok_or(InvitationError::UnknownRequest)?;
        let i = session
            .incoming
            .iter()
            .position(|i| i.id == id)
            .ok_or(InvitationError::UnknownRequest)?;
        let incoming = session.incoming.get(i).ok_or(InvitationError::UnknownRequest)?;
        let (kind, offer) = (incoming.kind, incoming.offer);
        let with_body = options.body.is_some();
        if (200..300).contains(&code) {
            match kind {
                RequestKind::ReInvite if !with_body => return Err(InvitationError::BodyRequired),
                RequestKind::Update if offer && !with_body => {
                    return Err(InvitationError::BodyRequired);
                }
                RequestKind::Update if !offer && with_body => {
                    return Err(InvitationError::BodyNotAllowed);
                }
                _ => {}
            }
        } else if code < 200 && kind.offers() && with_body {
            return Err(InvitationError::OfferNotReliable);
        }
        let prepared = ctx.prepared;
        let mut b = incoming.request.reply(code);
        if let Some(reason) = &options.reason_phrase {
            b = b.reason(reason);
        }
        if kind.offers() && code < 300 {
            b = b.header(HeaderName::Contact, &prepared.contact);
        }
        if kind == RequestKind::ReInvite && (200..300).contains(&code) {
            b = b.header(HeaderName::Allow, &prepared.allow);
            if !prepared.supported.is_empty() {
                b = b.header(HeaderName::Supported, &prepared.supported);
            }
        }
        if let Some(ua) = &ctx.config.user_agent {
            b = b.header(HeaderName::Server, ua);
        }
        b = super::uas::add_extra(b, &options.extra_headers, options.body.as_ref());
        let bytes = super::uas::serialize(&b)?;
        let tx = incoming.tx;
        ctx.layer.respond(now, tx, (code, bytes.clone())).map_err(InvitationError::Transaction)?;
        if code < 200 {
            return Ok(());
        }
        let session = sess(&mut self.session);
        let incoming = session.incoming.remove(i);
        if session.pending == Pending::Remote(id) {
            session.pending = Pending::Idle;
        }
        if code >= 300 {
            return Ok(());
        }
        match kind {
            RequestKind::ReInvite => {
                if !offer {
                    session.pending = Pending::Local(id);
                }
                let t1 = ctx.config.timers.t1.max(Duration::from_millis(1));
                session.unacked = Some(Unacked {
                    id,
                    tx,
                    seq: incoming.seq,
                    bytes,
                    next: now.checked_add(t1),
                    interval: t1,
                    give_up: now.checked_add(ctx.config.timers.t1x64()),
                });
                self.dialog.refresh_target(&incoming.request);
            }
            RequestKind::Update => self.dialog.refresh_target(&incoming.request),
            RequestKind::Refer => {
                session.notifier.push(Subscription { refer: id, seq: incoming.seq });
            }
            _ => {}
        }
        Ok(())
    }

    /// The ACK for our 2xx to a re-INVITE: `false` if it matches none.
    pub(crate) fn on_reinvite_ack(
        &mut self,
        now: Instant,
        ack: &Message,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let seq = ack.cseq().map(|c| c.seq).ok();
        let Some(session) = self.session.as_deref_mut() else { return false };
        if seq.is_some() && seq == session.acked_seq {
            return true; // a copy: the peer re-ACKs each copy of our 2xx
        }
        let Some(u) = session.unacked.as_ref().filter(|u| Some(u.seq) == seq) else {
            return false;
        };
        let id = u.id;
        session.acked_seq = seq;
        session.unacked = None;
        let answer = has_session_body(ack);
        let bad = match session.pending {
            Pending::Local(p) if p == id => {
                session.pending = Pending::Idle;
                !answer
            }
            _ => answer,
        };
        let call = self.id;
        ctx.emit(Event::ReInviteAcked { id: call, request: id, message: Box::new(ack.clone()) });
        if bad {
            self.set_state(InvitationState::Terminating, ctx);
            // The ACK arrived: nothing waits for it any more, so the BYE goes now.
            self.send_bye(now, EndReason::BadAnswer, Some(super::uas::BAD_ANSWER_REASON), ctx);
        }
        true
    }

    /// A CANCEL for request transaction `tx` of ours, if it is an open re-INVITE: 487.
    pub(crate) fn on_request_cancel(
        &mut self,
        now: Instant,
        tx: TransactionId,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let Some(session) = self.session.as_deref_mut() else { return false };
        let Some(i) = session.incoming.iter().position(|i| i.tx == tx) else { return false };
        let incoming = session.incoming.remove(i);
        if session.pending == Pending::Remote(incoming.id) {
            session.pending = Pending::Idle;
        }
        let _ = ctx.layer.respond(now, tx, incoming.request.reply(487));
        ctx.emit(Event::RequestCancelled { id: self.id, request: incoming.id });
        true
    }

    /// Answers every request still open with 487 (a BYE arrived, or the call ended).
    pub(crate) fn close_incoming(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        let Some(session) = self.session.as_deref_mut() else { return };
        for incoming in session.incoming.drain(..) {
            let _ = ctx.layer.respond(now, incoming.tx, incoming.request.reply(487));
        }
        session.pending = Pending::Idle;
        session.unacked = None;
        session.retry = None;
    }

    /// Fires the session's timers: default answers, re-INVITE 2xx retransmissions and
    /// ACK timeout, the glare back-off.
    pub(crate) fn session_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        let Some(session) = self.session.as_deref_mut() else { return };
        while let Some(i) = session.incoming.iter().position(|i| due(i.deadline)) {
            let incoming = session.incoming.remove(i);
            if session.pending == Pending::Remote(incoming.id) {
                session.pending = Pending::Idle;
            }
            let status = ctx.config.default_answers.for_kind(incoming.kind);
            let mut b = incoming.request.reply(status);
            if let Some(ua) = &ctx.config.user_agent {
                b = b.header(HeaderName::Server, ua);
            }
            let _ = ctx.layer.respond(now, incoming.tx, b);
            if incoming.kind == RequestKind::Refer && status < 300 {
                session.notifier.push(Subscription { refer: incoming.id, seq: incoming.seq });
            }
            ctx.emit(Event::DefaultAnswered {
                id: self.id,
                request: incoming.id,
                kind: incoming.kind,
                status,
            });
        }
        let t2 = ctx.config.timers.t2.max(Duration::from_millis(1));
        let mut ack_timeout = false;
        if let Some(u) = &mut session.unacked {
            if due(u.give_up) {
                ack_timeout = true;
            } else if due(u.next) {
                let _ = ctx.layer.respond(now, u.tx, (200, u.bytes.clone()));
                ctx.layer.count_retransmission();
                u.interval = u.interval.saturating_mul(2).min(t2);
                u.next = now.checked_add(u.interval);
            }
        }
        if ack_timeout {
            session.unacked = None;
            ctx.emit(Event::AckTimeout { id: self.id });
            self.set_state(InvitationState::Terminating, ctx);
            return self.send_bye(
                now,
                EndReason::AckTimeout,
                Some(super::uas::ACK_TIMEOUT_REASON),
                ctx,
            );
        }
        if let Some(session) = self.session.as_deref_mut()
            && session.retry.as_ref().is_some_and(|r| r.at <= now)
            && let Some(retry) = session.retry.take()
        {
            let id = retry.id;
            let kind = retry.kind;
            let retries = retry.retries;
            // The way may have closed while we waited (their re-INVITE got in): the 491
            // stands.
            if let Err(_e) = self.send(now, kind, Some(id), &retry.options, retries, ctx) {
                ctx.emit(Event::Response {
                    id: self.id,
                    request: id,
                    kind,
                    response: retry.status,
                });
            }
        }
    }

    /// Sends a request of `kind` in the dialog (a fresh one, or `again` after 491).
    pub(crate) fn send(
        &mut self,
        now: Instant,
        kind: RequestKind,
        again: Option<RequestId>,
        options: &RequestOptions,
        retries: u8,
        ctx: &mut Ctx<'_>,
    ) -> Result<RequestId, InvitationError> {
        self.may_send(kind, options)?;
        let offer = kind.offers() && options.body.is_some();
        let method = kind.method();
        let mut b = self.dialog.request(&method);
        let seq = self.dialog.local_seq();
        if matches!(
            kind,
            RequestKind::ReInvite | RequestKind::Update | RequestKind::Refer | RequestKind::Notify
        ) {
            b = b.header(HeaderName::Contact, &ctx.prepared.contact);
        }
        if kind == RequestKind::ReInvite {
            b = b.header(HeaderName::Allow, &ctx.prepared.allow);
            if !ctx.prepared.supported.is_empty() {
                b = b.header(HeaderName::Supported, &ctx.prepared.supported);
            }
        }
        b = self.finish_request(b, options, ctx);
        let target = self.dialog.next_hop(self.source);
        let tx = ctx
            .layer
            .send_request(now, &b, target, &ctx.config.sent_by)
            .map_err(InvitationError::Transaction)?;
        ctx.owners.set(tx, self.id);
        let ends = if kind == RequestKind::Notify { self.notify_ends(options) } else { None };
        let session = sess(&mut self.session);
        let id = again.unwrap_or_else(|| session.next_id());
        if offer {
            session.pending = Pending::Local(id);
        }
        session.outgoing.push(Outgoing {
            id,
            tx,
            kind,
            seq,
            offer,
            options: options.clone(),
            retries,
            ends,
        });
        if kind == RequestKind::Refer {
            session.subscriber.push(Subscription { refer: id, seq });
        }
        Ok(id)
    }

    /// Adds User-Agent, the extra headers and the body.
    fn finish_request(
        &self,
        mut b: RequestBuilder,
        options: &RequestOptions,
        ctx: &Ctx<'_>,
    ) -> RequestBuilder {
        if let Some(ua) = &ctx.config.user_agent {
            b = b.header(HeaderName::UserAgent, ua);
        }
        for (name, value) in &options.extra_headers {
            b = b.header_named(name, value);
        }
        if let Some(body) = &options.body {
            b = b.body(&body.content_type, body.content.clone());
        }
        b
    }

    /// For a NOTIFY whose Subscription-State is `terminated`: the subscription it ends.
    fn notify_ends(&self, options: &RequestOptions) -> Option<RequestId> {
        let state = options
            .extra_headers
            .iter()
            .find(|(n, _)| HeaderName::from_bytes(n.as_bytes()) == HeaderName::SubscriptionState)?;
        if !state.1.trim_start().starts_with("terminated") {
            return None;
        }
        let seq = options.extra_headers.iter().find_map(|(n, v)| {
            (HeaderName::from_bytes(n.as_bytes()) == HeaderName::Event)
                .then(|| {
                    v.split(';').find_map(|p| p.trim().strip_prefix("id=")?.parse::<u32>().ok())
                })
                .flatten()
        })?;
        let session = self.session.as_deref()?;
        session.notifier.iter().find(|s| s.seq == seq).map(|s| s.refer)
    }

    /// Refuses a request the dialog's state does not allow now.
    fn may_send(&self, kind: RequestKind, options: &RequestOptions) -> Result<(), InvitationError> {
        if !self.live() {
            return Err(self.refuse());
        }
        if !self.has_dialog {
            return Err(InvitationError::WrongState(self.state));
        }
        let confirmed = self.state == InvitationState::Established;
        let session = self.session.as_deref();
        match kind {
            RequestKind::ReInvite => {
                if !confirmed {
                    return Err(InvitationError::WrongState(self.state));
                }
                // §14.1: not while an INVITE runs either way (the first one runs until its
                // ACK).
                let waiting = session.and_then(|s| s.retry.as_ref()).is_some();
                if !self.acked || waiting || session.is_some_and(Session::invite_in_progress) {
                    return Err(InvitationError::InviteInProgress);
                }
                if self.busy().is_some() {
                    return Err(InvitationError::OfferPending);
                }
            }
            RequestKind::Update if options.body.is_some() && self.busy().is_some() => {
                return Err(InvitationError::OfferPending);
            }
            RequestKind::Refer | RequestKind::Notify if !confirmed => {
                return Err(InvitationError::WrongState(self.state));
            }
            _ => {}
        }
        Ok(())
    }

    /// Sends a NOTIFY in the subscription of REFER `refer` (RFC 3515 §2.4.4): its progress
    /// as a `message/sipfrag` status line; a final status ends the subscription.
    pub(crate) fn notify(
        &mut self,
        now: Instant,
        refer: RequestId,
        status: u16,
        options: &RequestOptions,
        ctx: &mut Ctx<'_>,
    ) -> Result<RequestId, InvitationError> {
        if !(100..=699).contains(&status) {
            return Err(InvitationError::StatusCode(status));
        }
        let sub = self
            .session
            .as_deref()
            .and_then(|s| s.notifier.iter().find(|s| s.refer == refer))
            .copied()
            .ok_or(InvitationError::NoSubscription)?;
        let mut options = options.clone();
        let state =
            if status >= 200 { "terminated;reason=noresource" } else { "active;expires=60" };
        options.extra_headers.insert(0, ("Event".to_owned(), format!("refer;id={}", sub.seq)));
        options.extra_headers.insert(1, ("Subscription-State".to_owned(), state.to_owned()));
        if options.body.is_none() {
            let phrase = crate::message::reason_phrase(status);
            options = options.body("message/sipfrag", format!("SIP/2.0 {status} {phrase}\r\n"));
        }
        let id = self.send(now, RequestKind::Notify, None, &options, 0, ctx)?;
        if status >= 200
            && let Some(s) = self.session.as_deref_mut()
        {
            s.notifier.retain(|s| s.refer != refer);
        }
        Ok(id)
    }

    /// Sends the ACK, with our answer, for the 2xx to our offerless re-INVITE `id`.
    pub(crate) fn ack_reinvite(
        &mut self,
        id: RequestId,
        options: &RequestOptions,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), InvitationError> {
        let (tx, seq) = match self.session.as_deref().and_then(|s| s.awaiting_ack) {
            Some((r, tx, seq)) if r == id => (tx, seq),
            _ => return Err(InvitationError::UnknownRequest),
        };
        if options.body.is_none() {
            return Err(InvitationError::BodyRequired);
        }
        let b = self.finish_request(self.dialog.ack(seq), options, ctx);
        let bytes = self.send_ack(&b, ctx)?;
        let session = sess(&mut self.session);
        session.awaiting_ack = None;
        session.pending = Pending::Idle;
        session.sent_ack = Some(SentAck { tx, bytes });
        Ok(())
    }

    fn send_ack(&self, b: &RequestBuilder, ctx: &mut Ctx<'_>) -> Result<Bytes, InvitationError> {
        let target = self.dialog.next_hop(self.source);
        ctx.layer
            .send_ack_bytes(b, target, &ctx.config.sent_by)
            .map_err(InvitationError::Transaction)
    }

    /// A response for client transaction `tx` of this call: its BYE's, or a session
    /// request's.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: &Message,
        ctx: &mut Ctx<'_>,
    ) {
        if self.bye_transaction() == Some(tx) {
            if let Some(code) = response.status().filter(|c| *c >= 200) {
                self.on_bye_outcome(now, tx, Some(code), ctx);
            }
            return;
        }
        self.on_session_response(now, tx, response, ctx);
    }

    /// Client transaction `tx` of this call timed out or could not send.
    pub(crate) fn on_client_failure(&mut self, now: Instant, tx: TransactionId, ctx: &mut Ctx<'_>) {
        if !self.on_session_failure(now, tx, ctx) {
            self.on_bye_outcome(now, tx, None, ctx);
        }
    }

    /// A response to one of our requests in the dialog. `false` if it is not one of ours.
    pub(crate) fn on_session_response(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: &Message,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let Some(code) = response.status() else { return false };
        let Some(session) = self.session.as_deref_mut() else { return false };
        // A copy of a 2xx we already ACKed: the ACK again (§13.2.2.4).
        if let Some(sent) = session.sent_ack.as_ref().filter(|a| a.tx == tx) {
            if (200..300).contains(&code) {
                ctx.layer.resend(self.dialog.next_hop(self.source), sent.bytes.clone());
            }
            return true;
        }
        if session.awaiting_ack.is_some_and(|(_, t, _)| t == tx) {
            return true; // the application's ACK is still to come
        }
        let Some(i) = session.outgoing.iter().position(|o| o.tx == tx) else { return false };
        let call = self.id;
        let Some(o) = session.outgoing.get(i) else { return false };
        let (id, kind, seq, offer) = (o.id, o.kind, o.seq, o.offer);
        if code < 200 {
            if self.live() {
                ctx.emit(Event::Response {
                    id: call,
                    request: id,
                    kind,
                    response: Box::new(response.clone()),
                });
            }
            return true;
        }
        let o = session.outgoing.remove(i);
        if session.pending == Pending::Local(id) {
            session.pending = Pending::Idle;
        }
        if let Some(ended) = o.ends {
            session.notifier.retain(|s| s.refer != ended);
        }
        if kind == RequestKind::Refer && code >= 300 {
            session.subscriber.retain(|s| s.refer != id);
        }
        let success = (200..300).contains(&code);
        let live = self.live();
        if kind.offers() && success && live {
            self.dialog.refresh_target(response);
        }
        if kind == RequestKind::ReInvite && success {
            // A 2xx to an INVITE is ACKed even when the call is ending (§13.2.2.4); an
            // offer in it then goes unanswered, as the BYE ends the session anyway.
            if offer || !live {
                let b = self.finish_request(self.dialog.ack(seq), &RequestOptions::new(), ctx);
                if let Ok(bytes) = self.send_ack(&b, ctx) {
                    sess(&mut self.session).sent_ack = Some(SentAck { tx, bytes });
                }
            } else {
                // Their offer is in the 2xx; our answer goes in the ACK (`ack`).
                let session = sess(&mut self.session);
                session.pending = Pending::Remote(id);
                session.awaiting_ack = Some((id, tx, seq));
            }
        }
        if !live {
            return true;
        }
        if code == 491 && kind.offers() && o.retries < MAX_GLARE_RETRIES {
            let at = now + glare_backoff(self.dialog.owns_call_id(), ctx.rng);
            sess(&mut self.session).retry = Some(Retry {
                at,
                id,
                kind,
                options: o.options,
                retries: o.retries + 1,
                status: Box::new(response.clone()),
            });
            ctx.emit(Event::Glare { id: call, request: id, retry_at: at });
            return true;
        }
        ctx.emit(Event::Response {
            id: call,
            request: id,
            kind,
            response: Box::new(response.clone()),
        });
        match code {
            // RFC 5057 §5.1 / RFC 3261 §12.2.1.2: the peer has no such dialog.
            481 => self.dialog_failed(now, Some(481), false, ctx),
            408 => self.dialog_failed(now, Some(408), true, ctx),
            _ => {}
        }
        true
    }

    /// Our request on `tx` got no response (Timer B/F) or could not be sent. `false` if
    /// it is not one of ours.
    pub(crate) fn on_session_failure(
        &mut self,
        now: Instant,
        tx: TransactionId,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let Some(session) = self.session.as_deref_mut() else { return false };
        let Some(i) = session.outgoing.iter().position(|o| o.tx == tx) else { return false };
        let o = session.outgoing.remove(i);
        if session.pending == Pending::Local(o.id) {
            session.pending = Pending::Idle;
        }
        if self.live() {
            ctx.emit(Event::RequestTimeout { id: self.id, request: o.id, kind: o.kind });
            self.dialog_failed(now, None, true, ctx);
        }
        true
    }

    /// Ends the dialog after a failed request (RFC 5057): with a BYE if the peer may still
    /// hold it, else at once.
    fn dialog_failed(&mut self, now: Instant, status: Option<u16>, bye: bool, ctx: &mut Ctx<'_>) {
        let reason = EndReason::DialogFailed(status);
        self.close_incoming(now, ctx);
        if self.answerable() {
            // The early dialog failed: its INVITE still needs a final response, and one
            // ends the early dialog without a BYE.
            return self.fail(now, 500, reason, None, ctx);
        }
        if bye {
            self.set_state(InvitationState::Terminating, ctx);
            self.stop_success();
            self.send_bye(now, reason, None, ctx);
        } else {
            self.terminate(now, reason, ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glare_backoff_stays_in_its_window_in_steps_of_10_ms() {
        let mut rng = Rng::new(3);
        let (mut lo, mut hi) = (u128::MAX, 0);
        for _ in 0..2000 {
            let d = glare_backoff(false, &mut rng).as_millis();
            assert!(d <= 2000 && d.is_multiple_of(10), "{d}");
            lo = lo.min(d);
            hi = hi.max(d);
            let o = glare_backoff(true, &mut rng).as_millis();
            assert!((2100..=4000).contains(&o) && o.is_multiple_of(10), "{o}");
        }
        assert_eq!((lo, hi), (0, 2000), "the whole window is reachable");
    }

    #[test]
    fn default_answers_never_send_a_2xx_to_an_offer() {
        let d = DefaultAnswers { offer: 200, ..DefaultAnswers::DEFAULT };
        assert_eq!(d.for_kind(RequestKind::ReInvite), 488);
        assert_eq!(DefaultAnswers::DEFAULT.for_kind(RequestKind::Refer), 603);
        assert_eq!(DefaultAnswers::DEFAULT.for_kind(RequestKind::Info), 200);
        let silly = DefaultAnswers { info: 42, ..DefaultAnswers::DEFAULT };
        assert_eq!(silly.for_kind(RequestKind::Info), 500);
    }
}
