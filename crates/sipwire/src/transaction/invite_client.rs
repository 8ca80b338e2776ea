//! The INVITE client transaction: RFC 3261 §17.1.1 (figure 5) as RFC 6026 §8.4 and
//! figure 3 amend it.
//!
//! ```text
//! state       | input                          | action                          | next
//! ------------+--------------------------------+---------------------------------+-----------
//! (created)   | INVITE from TU                 | send, start A (unrel.), B       | Calling
//! Calling     | A fires                        | re-send, A = 2A                 | Calling
//! Calling     | B fires                        | tell TU: timeout                | Terminated
//! Calling     | transport error                | tell TU (§17.1.4)               | Terminated
//! Calling     | 1xx                            | pass to TU, start C             | Proceeding
//! Proceeding  | 1xx                            | pass to TU                      | Proceeding
//! Proceeding  | C fires                        | tell TU: timeout                | Terminated
//! Calling/Pr. | 2xx                            | pass to TU, start M             | Accepted
//! Calling/Pr. | 300-699                        | send ACK, pass to TU, start D   | Completed
//! Accepted    | 2xx                            | pass to TU (the TU re-ACKs)     | Accepted
//! Accepted    | M fires                        |                                 | Terminated
//! Completed   | 300-699                        | re-send ACK                     | Completed
//! Completed   | transport error                | tell TU                         | Terminated
//! Completed   | D fires (≥32 s unrel., 0 rel.) |                                 | Terminated
//! ```
//!
//! Timer C is this crate's bound on Proceeding (see [`Timers::timer_c`]); RFC 3261 leaves
//! it to the TU. Once the TU has sent a CANCEL, it is brought forward to 64·T1 (§9.1).

use std::time::Instant;

use bytes::Bytes;

use super::{Class, Outbox, SlotKind, Slots, Target, Timer, Timers, TransactionId, TxEvent, class};
use crate::message::{HeaderName, Message, Method, ParseOptions, RequestBuilder};

/// The states of figure 5 with RFC 6026's Accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InviteClientState {
    /// The INVITE was sent; no response yet.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A 2xx arrived; passing its retransmissions to the TU (RFC 6026).
    Accepted,
    /// A 300–699 arrived and was ACKed; re-ACKing its retransmissions.
    Completed,
    /// Done.
    Terminated,
}

/// One INVITE client transaction.
#[derive(Debug)]
pub struct InviteClient {
    id: TransactionId,
    state: InviteClientState,
    target: Target,
    request: Bytes,
    ack: Option<Bytes>,
    timers: Slots,
}

impl InviteClient {
    /// Creates the transaction and sends `request` (which already carries its top Via) to
    /// `target`.
    #[must_use]
    pub fn new(
        id: TransactionId,
        now: Instant,
        request: Bytes,
        target: Target,
        timers: &Timers,
        out: &mut Outbox,
    ) -> Self {
        let mut slots = Slots::default();
        if !target.transport.is_reliable() {
            slots.start_retransmit(now, timers.t1); // Timer A
        }
        slots.start_lifetime(now, timers.t1x64()); // Timer B
        out.transmit(target.transmit(request.clone(), id));
        Self { id, state: InviteClientState::Calling, target, request, ack: None, timers: slots }
    }

    /// Returns the state.
    #[must_use]
    pub const fn state(&self) -> InviteClientState {
        self.state
    }

    /// Returns the transaction's id.
    #[must_use]
    pub const fn id(&self) -> TransactionId {
        self.id
    }

    /// Returns where the INVITE went.
    #[must_use]
    pub const fn target(&self) -> Target {
        self.target
    }

    /// Returns whether the transaction is over.
    #[must_use]
    pub fn is_terminated(&self) -> bool {
        self.state == InviteClientState::Terminated
    }

    /// Returns the INVITE as sent.
    #[must_use]
    pub const fn request(&self) -> &Bytes {
        &self.request
    }

    /// Returns the next deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Takes a response that matched this transaction (§17.1.3).
    pub fn handle_response(
        &mut self,
        now: Instant,
        response: Message,
        timers: &Timers,
        out: &mut Outbox,
    ) {
        use InviteClientState as S;
        let Some(Ok(class)) = response.status().map(class) else { return };
        match (self.state, class) {
            (S::Calling | S::Proceeding, Class::Provisional) => {
                if self.state == S::Calling {
                    self.state = S::Proceeding;
                    self.timers.retransmit = None;
                    self.timers.start_lifetime(now, timers.timer_c);
                }
                out.event(TxEvent::Response { id: self.id, response: Box::new(response) });
            }
            (S::Calling | S::Proceeding, Class::Success) => {
                self.state = S::Accepted;
                self.timers.retransmit = None;
                self.timers.start_lifetime(now, timers.t1x64()); // Timer M
                out.event(TxEvent::Response { id: self.id, response: Box::new(response) });
            }
            (S::Accepted, Class::Success) => {
                out.event(TxEvent::Response { id: self.id, response: Box::new(response) });
            }
            (S::Calling | S::Proceeding, Class::Failure) => {
                self.state = S::Completed;
                self.timers.retransmit = None;
                self.ack = build_ack(&self.request, &response);
                self.send_ack(false, out);
                out.event(TxEvent::Response { id: self.id, response: Box::new(response) });
                let d = timers.d(self.target.transport.is_reliable());
                if d.is_zero() {
                    self.terminate(out);
                } else {
                    self.timers.start_lifetime(now, d); // Timer D
                }
            }
            (S::Completed, Class::Failure) => self.send_ack(true, out),
            // Provisionals after a final, a non-2xx after the 2xx, anything once over.
            (S::Accepted | S::Completed | S::Terminated, _) => {}
        }
    }

    /// Fires whichever timers are due at `now`; a spurious call does nothing.
    pub fn handle_timeout(&mut self, now: Instant, timers: &Timers, out: &mut Outbox) {
        let _ = timers;
        use InviteClientState as S;
        while let Some(slot) = self.timers.due(now) {
            match (self.state, slot) {
                (S::Calling, SlotKind::Retransmit) => {
                    // Timer A: doubles without the T2 cap.
                    out.retransmit(self.target.transmit(self.request.clone(), self.id));
                    let interval = self.timers.interval * 2;
                    self.timers.start_retransmit(now, interval);
                }
                (S::Calling, SlotKind::Lifetime) => {
                    out.event(TxEvent::Timeout { id: self.id, timer: Timer::B });
                    self.terminate(out);
                }
                (S::Proceeding, SlotKind::Lifetime) => {
                    out.event(TxEvent::Timeout { id: self.id, timer: Timer::C });
                    self.terminate(out);
                }
                // Timer M (Accepted) and Timer D (Completed).
                (S::Accepted | S::Completed, SlotKind::Lifetime) => self.terminate(out),
                _ => self.timers.clear(),
            }
        }
    }

    /// The TU sent a CANCEL for this INVITE: if no final response arrives within 64·T1, the
    /// transaction gives up (§9.1), reporting Timer C.
    pub fn cancelled(&mut self, now: Instant, timers: &Timers) {
        if self.state == InviteClientState::Proceeding {
            self.timers.shorten_lifetime(now, timers.t1x64());
        }
    }

    /// A send for this transaction failed. In Calling (the INVITE) and Completed (the ACK)
    /// the TU is told and the transaction ends (§17.1.4); in Proceeding and Accepted the
    /// transaction has nothing in flight, so a late report is ignored.
    pub fn handle_send_failed(&mut self, out: &mut Outbox) {
        use InviteClientState as S;
        if matches!(self.state, S::Calling | S::Completed) {
            out.event(TxEvent::TransportError { id: self.id });
            self.terminate(out);
        }
    }

    fn send_ack(&self, again: bool, out: &mut Outbox) {
        if let Some(ack) = &self.ack {
            let transmit = self.target.transmit(ack.clone(), self.id);
            if again { out.retransmit(transmit) } else { out.transmit(transmit) }
        }
    }

    fn terminate(&mut self, out: &mut Outbox) {
        self.state = InviteClientState::Terminated;
        self.timers.clear();
        self.ack = None;
        out.event(TxEvent::Terminated { id: self.id });
    }
}

/// Builds the ACK for a non-2xx final response (§17.1.1.3): the INVITE's Request-URI,
/// Call-ID, From, CSeq number and top Via (so the same branch), its Route headers, and the
/// response's To.
fn build_ack(invite: &Bytes, response: &Message) -> Option<Bytes> {
    let lenient = ParseOptions { validate: false, ..ParseOptions::DEFAULT };
    let invite = Message::parse_with(invite.clone(), &lenient).ok()?;
    let mut ack = RequestBuilder::new(&Method::Ack, invite.request_uri_str()?)
        .header(HeaderName::Via, invite.header(HeaderName::Via)?);
    for route in invite.header_lines(HeaderName::Route) {
        ack = ack.header(HeaderName::Route, route);
    }
    ack = ack
        .header(HeaderName::From, invite.header(HeaderName::From)?)
        .header(HeaderName::To, response.header(HeaderName::To)?)
        .header(HeaderName::CallId, invite.header(HeaderName::CallId)?)
        .cseq(invite.cseq().ok()?.seq, &Method::Ack)
        .max_forwards(70);
    let mut out = Vec::with_capacity(invite.as_bytes().len());
    ack.write_to(&mut out).ok()?;
    Some(Bytes::from(out))
}
