//! The INVITE server transaction: RFC 3261 §17.2.1 (figure 7) as RFC 6026 §7.1 and
//! figure 5 amend it.
//!
//! ```text
//! state       | input                          | action                          | next
//! ------------+--------------------------------+---------------------------------+-----------
//! (created)   | INVITE                         | start Trying (200 ms)           | Proceeding
//! Proceeding  | Trying fires                   | send 100                        | Proceeding
//! Proceeding  | INVITE (retransmission)        | re-send last 1xx (or a 100)     | Proceeding
//! Proceeding  | 1xx from TU                    | send                            | Proceeding
//! Proceeding  | 2xx from TU                    | send, start L                   | Accepted
//! Proceeding  | 300-699 from TU                | send, start G (unrel.), H       | Completed
//! Accepted    | INVITE                         | absorb                          | Accepted
//! Accepted    | ACK                            | pass to TU                      | Accepted
//! Accepted    | 2xx from TU                    | send (the TU retransmits 2xx)   | Accepted
//! Accepted    | L fires                        |                                 | Terminated
//! Completed   | INVITE                         | re-send final                   | Completed
//! Completed   | G fires                        | re-send final, G = min(2G, T2)  | Completed
//! Completed   | ACK                            | start I (T4 unrel., 0 rel.)     | Confirmed
//! Completed   | H fires                        | tell TU: timeout                | Terminated
//! Confirmed   | INVITE, ACK                    | absorb                          | Confirmed
//! Confirmed   | I fires                        |                                 | Terminated
//! any         | transport error                | tell TU (RFC 6026 §7.1)         | unchanged
//! ```

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::{
    Class, IntoResponse, Outbox, SlotKind, Slots, Target, Timer, Timers, TransactionId, TxError,
    TxEvent, class,
};
use crate::message::{Message, Method, ParseOptions};

/// The states of figure 7 with RFC 6026's Accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InviteServerState {
    /// Waiting for the TU's final response.
    Proceeding,
    /// A 2xx was sent; absorbing INVITE retransmissions, passing ACKs up (RFC 6026).
    Accepted,
    /// A 300–699 was sent; retransmitting it until the ACK.
    Completed,
    /// The ACK arrived; absorbing its retransmissions.
    Confirmed,
    /// Done.
    Terminated,
}

/// One INVITE server transaction.
#[derive(Debug)]
pub struct InviteServer {
    id: TransactionId,
    state: InviteServerState,
    target: Target,
    /// The INVITE, kept only until the TU first answers: the automatic 100 is built from it.
    request: Option<Bytes>,
    /// The last provisional (Proceeding) or the final response (Completed).
    response: Option<Bytes>,
    timers: Slots,
}

impl InviteServer {
    /// Creates the transaction for `request`, received at `now`, answering to `target`
    /// (computed per §18.2.2; [`TransactionLayer`](super::TransactionLayer) does it).
    #[must_use]
    pub fn new(
        id: TransactionId,
        now: Instant,
        request: &Message,
        target: Target,
        timers: &Timers,
    ) -> Self {
        let mut slots = Slots::default();
        slots.start_retransmit(now, timers.trying);
        Self {
            id,
            state: InviteServerState::Proceeding,
            target,
            request: Some(request.to_bytes()),
            response: None,
            timers: slots,
        }
    }

    /// Returns the state.
    #[must_use]
    pub const fn state(&self) -> InviteServerState {
        self.state
    }

    /// Returns the transaction's id.
    #[must_use]
    pub const fn id(&self) -> TransactionId {
        self.id
    }

    /// Returns where responses go.
    #[must_use]
    pub const fn target(&self) -> Target {
        self.target
    }

    /// Returns whether the transaction is over.
    #[must_use]
    pub fn is_terminated(&self) -> bool {
        self.state == InviteServerState::Terminated
    }

    /// Returns the next deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Takes a request from `source` that matched this transaction: a retransmitted INVITE
    /// or an ACK.
    pub fn handle_request(
        &mut self,
        now: Instant,
        request: &Message,
        source: SocketAddr,
        timers: &Timers,
        out: &mut Outbox,
    ) {
        use InviteServerState as S;
        let ack = request.method() == Some(&Method::Ack);
        match (self.state, ack) {
            // §17.2.1: re-send the most recent provisional; none yet means the client is
            // already retransmitting, so the 100 goes out now rather than at 200 ms.
            (S::Proceeding, false) => match &self.response {
                Some(last) => out.retransmit(self.target.transmit(last.clone(), self.id)),
                None => self.send_trying(Some(request), out),
            },
            (S::Completed, false) => self.resend(out),
            (S::Completed, true) => {
                self.state = S::Confirmed;
                self.timers.retransmit = None;
                self.after(now, timers.t4_unless(self.target.transport.is_reliable()), out);
            }
            (S::Accepted, true) => out.event(TxEvent::Ack {
                id: Some(self.id),
                request: Box::new(request.clone()),
                source,
                transport: self.target.transport,
            }),
            (S::Proceeding, true) => {
                out.event(TxEvent::Discarded { reason: super::Discard::AckBeforeFinal, source })
            }
            // Accepted absorbs INVITEs (the TU retransmits the 2xx); Confirmed absorbs all.
            (S::Accepted | S::Confirmed | S::Terminated, _) => {}
        }
    }

    /// Sends the TU's response.
    ///
    /// # Errors
    /// [`TxError::FinalSent`] after a non-2xx final, [`TxError::AfterAccept`] for a non-2xx
    /// after a 2xx, [`TxError::StatusCode`] for a code outside 100–699, or a build error.
    pub fn respond(
        &mut self,
        now: Instant,
        response: impl IntoResponse,
        timers: &Timers,
        out: &mut Outbox,
    ) -> Result<(), TxError> {
        use InviteServerState as S;
        let (code, bytes) = response.into_response()?;
        let class = class(code)?;
        match (self.state, class) {
            (S::Proceeding, Class::Provisional) => {
                self.answered();
                self.response = Some(bytes.clone());
            }
            (S::Proceeding, Class::Success) => {
                self.answered();
                self.response = None;
                self.state = S::Accepted;
                self.timers.start_lifetime(now, timers.t1x64()); // Timer L
            }
            (S::Proceeding, Class::Failure) => {
                self.answered();
                self.response = Some(bytes.clone());
                self.state = S::Completed;
                if !self.target.transport.is_reliable() {
                    self.timers.start_retransmit(now, timers.t1); // Timer G
                }
                self.timers.start_lifetime(now, timers.t1x64()); // Timer H
            }
            // The TU retransmits its 2xx through the transaction while it lives.
            (S::Accepted, Class::Success) => {}
            (S::Accepted, _) => return Err(TxError::AfterAccept),
            (S::Completed | S::Confirmed | S::Terminated, _) => return Err(TxError::FinalSent),
        }
        out.transmit(self.target.transmit(bytes, self.id));
        Ok(())
    }

    /// Fires whichever timers are due at `now`; a spurious call does nothing.
    pub fn handle_timeout(&mut self, now: Instant, timers: &Timers, out: &mut Outbox) {
        use InviteServerState as S;
        while let Some(slot) = self.timers.due(now) {
            match (self.state, slot) {
                (S::Proceeding, SlotKind::Retransmit) => {
                    // Timer Trying: the TU did not answer in time.
                    self.timers.retransmit = None;
                    self.send_trying(None, out);
                }
                (S::Completed, SlotKind::Retransmit) => {
                    // Timer G.
                    self.resend(out);
                    let interval = (self.timers.interval * 2).min(timers.t2);
                    self.timers.start_retransmit(now, interval);
                }
                (S::Completed, SlotKind::Lifetime) => {
                    // Timer H: the ACK never came.
                    out.event(TxEvent::Timeout { id: self.id, timer: Timer::H });
                    self.terminate(out);
                }
                // Timer L (Accepted) and Timer I (Confirmed).
                (S::Accepted | S::Confirmed, SlotKind::Lifetime) => self.terminate(out),
                _ => self.timers.clear(),
            }
        }
    }

    /// A send for this transaction failed: the TU is told and the state kept (RFC 6026
    /// §7.1), so that ACKs and retransmissions are still absorbed.
    pub fn handle_send_failed(&mut self, out: &mut Outbox) {
        if self.state != InviteServerState::Terminated {
            out.event(TxEvent::TransportError { id: self.id });
        }
    }

    fn answered(&mut self) {
        self.request = None;
        if self.state == InviteServerState::Proceeding {
            self.timers.retransmit = None;
        }
    }

    fn resend(&self, out: &mut Outbox) {
        if let Some(last) = &self.response {
            out.retransmit(self.target.transmit(last.clone(), self.id));
        }
    }

    /// Sends 100 Trying, built from `request` or from the stored INVITE.
    fn send_trying(&mut self, request: Option<&Message>, out: &mut Outbox) {
        let stored;
        let request = match (request, self.request.take()) {
            (Some(r), _) => r,
            (None, Some(bytes)) => {
                let lenient = ParseOptions { validate: false, ..ParseOptions::DEFAULT };
                match Message::parse_with(bytes, &lenient) {
                    Ok(m) => {
                        stored = m;
                        &stored
                    }
                    Err(_) => return,
                }
            }
            (None, None) => return,
        };
        self.request = None;
        self.timers.retransmit = None;
        if let Ok((_, bytes)) = request.reply(100).into_response() {
            self.response = Some(bytes.clone());
            out.transmit(self.target.transmit(bytes, self.id));
        }
    }

    /// Moves to Terminated after `wait`, at once when it is zero (reliable transports).
    fn after(&mut self, now: Instant, wait: std::time::Duration, out: &mut Outbox) {
        if wait.is_zero() {
            self.terminate(out);
        } else {
            self.timers.start_lifetime(now, wait);
        }
    }

    fn terminate(&mut self, out: &mut Outbox) {
        self.state = InviteServerState::Terminated;
        self.timers.clear();
        self.request = None;
        self.response = None;
        out.event(TxEvent::Terminated { id: self.id });
    }
}
