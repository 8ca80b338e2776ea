//! The non-INVITE client transaction: RFC 3261 §17.1.2, figure 6.
//!
//! ```text
//! state       | input                          | action                          | next
//! ------------+--------------------------------+---------------------------------+-----------
//! (created)   | request from TU                | send, start E (unrel.), F       | Trying
//! Trying      | E fires                        | re-send, E = min(2E, T2)        | Trying
//! Trying      | 1xx                            | pass to TU                      | Proceeding
//! Trying      | 200-699                        | pass to TU, start K             | Completed
//! Proceeding  | E fires                        | re-send, E = T2                 | Proceeding
//! Proceeding  | 1xx                            | pass to TU                      | Proceeding
//! Proceeding  | 200-699                        | pass to TU, start K             | Completed
//! Trying/Proc.| F fires                        | tell TU: timeout                | Terminated
//! Trying/Proc.| transport error                | tell TU (§17.1.4)               | Terminated
//! Completed   | any response                   | absorb                          | Completed
//! Completed   | K fires (T4 unrel., 0 rel.)    |                                 | Terminated
//! ```

use std::time::Instant;

use bytes::Bytes;

use super::{Class, Outbox, SlotKind, Slots, Target, Timer, Timers, TransactionId, TxEvent, class};
use crate::message::Message;

/// The states of figure 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NonInviteClientState {
    /// The request was sent; no response yet.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// The final response arrived; absorbing its retransmissions.
    Completed,
    /// Done.
    Terminated,
}

/// One non-INVITE client transaction.
#[derive(Debug)]
pub struct NonInviteClient {
    id: TransactionId,
    state: NonInviteClientState,
    target: Target,
    request: Bytes,
    timers: Slots,
}

impl NonInviteClient {
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
            slots.start_retransmit(now, timers.t1); // Timer E
        }
        slots.start_lifetime(now, timers.t1x64()); // Timer F
        out.transmit(target.transmit(request.clone(), id));
        Self { id, state: NonInviteClientState::Trying, target, request, timers: slots }
    }

    /// Returns the state.
    #[must_use]
    pub const fn state(&self) -> NonInviteClientState {
        self.state
    }

    /// Returns the transaction's id.
    #[must_use]
    pub const fn id(&self) -> TransactionId {
        self.id
    }

    /// Returns whether the transaction is over.
    #[must_use]
    pub fn is_terminated(&self) -> bool {
        self.state == NonInviteClientState::Terminated
    }

    /// Returns the request as sent.
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
        use NonInviteClientState as S;
        let Some(Ok(class)) = response.status().map(class) else { return };
        match (self.state, class) {
            (S::Trying | S::Proceeding, Class::Provisional) => {
                self.state = S::Proceeding;
                out.event(TxEvent::Response { id: self.id, response: Box::new(response) });
            }
            (S::Trying | S::Proceeding, Class::Success | Class::Failure) => {
                self.state = S::Completed;
                self.timers.retransmit = None;
                out.event(TxEvent::Response { id: self.id, response: Box::new(response) });
                let k = timers.t4_unless(self.target.transport.is_reliable());
                if k.is_zero() {
                    self.terminate(out);
                } else {
                    self.timers.start_lifetime(now, k); // Timer K
                }
            }
            (S::Completed | S::Terminated, _) => {}
        }
    }

    /// Fires whichever timers are due at `now`; a spurious call does nothing.
    pub fn handle_timeout(&mut self, now: Instant, timers: &Timers, out: &mut Outbox) {
        use NonInviteClientState as S;
        while let Some(slot) = self.timers.due(now) {
            match (self.state, slot) {
                (S::Trying | S::Proceeding, SlotKind::Retransmit) => {
                    // Timer E.
                    out.retransmit(self.target.transmit(self.request.clone(), self.id));
                    let interval = if self.state == S::Trying {
                        (self.timers.interval * 2).min(timers.t2)
                    } else {
                        timers.t2
                    };
                    self.timers.start_retransmit(now, interval);
                }
                (S::Trying | S::Proceeding, SlotKind::Lifetime) => {
                    out.event(TxEvent::Timeout { id: self.id, timer: Timer::F });
                    self.terminate(out);
                }
                // Timer K.
                (S::Completed, SlotKind::Lifetime) => self.terminate(out),
                _ => self.timers.clear(),
            }
        }
    }

    /// A send for this transaction failed: the TU is told and the transaction ends
    /// (§17.1.4).
    pub fn handle_send_failed(&mut self, out: &mut Outbox) {
        use NonInviteClientState as S;
        if matches!(self.state, S::Trying | S::Proceeding) {
            out.event(TxEvent::TransportError { id: self.id });
            self.terminate(out);
        }
    }

    fn terminate(&mut self, out: &mut Outbox) {
        self.state = NonInviteClientState::Terminated;
        self.timers.clear();
        out.event(TxEvent::Terminated { id: self.id });
    }
}
