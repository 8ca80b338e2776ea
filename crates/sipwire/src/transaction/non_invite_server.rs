//! The non-INVITE server transaction: RFC 3261 §17.2.2, figure 8, with RFC 6026 §7.1 for
//! transport errors.
//!
//! ```text
//! state       | input                          | action                          | next
//! ------------+--------------------------------+---------------------------------+-----------
//! (created)   | request                        |                                 | Trying
//! Trying      | request (retransmission)       | absorb                          | Trying
//! Trying      | 1xx from TU                    | send                            | Proceeding
//! Trying      | 200-699 from TU                | send, start J (64·T1 unrel.)    | Completed
//! Proceeding  | request                        | re-send last 1xx                | Proceeding
//! Proceeding  | 1xx from TU                    | send                            | Proceeding
//! Proceeding  | 200-699 from TU                | send, start J                   | Completed
//! Completed   | request                        | re-send final                   | Completed
//! Completed   | J fires                        |                                 | Terminated
//! any         | transport error                | tell TU (RFC 6026 §7.1)         | unchanged
//! ```

use std::time::Instant;

use bytes::Bytes;

use super::{
    Class, IntoResponse, Outbox, SlotKind, Slots, Target, Timers, TransactionId, TxError, TxEvent,
    class,
};

/// The states of figure 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NonInviteServerState {
    /// Waiting for the TU's first response.
    Trying,
    /// A provisional was sent.
    Proceeding,
    /// The final response was sent; absorbing retransmissions until Timer J.
    Completed,
    /// Done.
    Terminated,
}

/// One non-INVITE server transaction.
#[derive(Debug)]
pub struct NonInviteServer {
    id: TransactionId,
    state: NonInviteServerState,
    target: Target,
    /// The last provisional (Proceeding) or the final response (Completed).
    response: Option<Bytes>,
    timers: Slots,
}

impl NonInviteServer {
    /// Creates the transaction for a request answering to `target` (§18.2.2).
    #[must_use]
    pub fn new(id: TransactionId, target: Target) -> Self {
        Self {
            id,
            state: NonInviteServerState::Trying,
            target,
            response: None,
            timers: Slots::default(),
        }
    }

    /// Returns the state.
    #[must_use]
    pub const fn state(&self) -> NonInviteServerState {
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
        self.state == NonInviteServerState::Terminated
    }

    /// Returns the next deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Takes a retransmission of the request.
    pub fn handle_request(&mut self, out: &mut Outbox) {
        use NonInviteServerState as S;
        match self.state {
            S::Proceeding | S::Completed => {
                if let Some(last) = &self.response {
                    out.retransmit(self.target.transmit(last.clone(), self.id));
                }
            }
            S::Trying | S::Terminated => {}
        }
    }

    /// Sends the TU's response.
    ///
    /// # Errors
    /// [`TxError::FinalSent`] after the final response, [`TxError::StatusCode`] for a code
    /// outside 100–699, or a build error.
    pub fn respond(
        &mut self,
        now: Instant,
        response: impl IntoResponse,
        timers: &Timers,
        out: &mut Outbox,
    ) -> Result<(), TxError> {
        use NonInviteServerState as S;
        let (code, bytes) = response.into_response()?;
        let class = class(code)?;
        match (self.state, class) {
            (S::Trying | S::Proceeding, Class::Provisional) => {
                self.state = S::Proceeding;
                self.response = Some(bytes.clone());
                out.transmit(self.target.transmit(bytes, self.id));
            }
            (S::Trying | S::Proceeding, Class::Success | Class::Failure) => {
                self.state = S::Completed;
                out.transmit(self.target.transmit(bytes.clone(), self.id));
                let j = timers.j(self.target.transport.is_reliable());
                if j.is_zero() {
                    self.terminate(out);
                } else {
                    self.response = Some(bytes);
                    self.timers.start_lifetime(now, j);
                }
            }
            (S::Completed | S::Terminated, _) => return Err(TxError::FinalSent),
        }
        Ok(())
    }

    /// Fires Timer J when due; a spurious call does nothing.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        if let Some(slot) = self.timers.due(now) {
            match (self.state, slot) {
                (NonInviteServerState::Completed, SlotKind::Lifetime) => self.terminate(out),
                _ => self.timers.clear(),
            }
        }
    }

    /// A send for this transaction failed: the TU is told and the state kept (RFC 6026
    /// §7.1).
    pub fn handle_send_failed(&mut self, out: &mut Outbox) {
        if self.state != NonInviteServerState::Terminated {
            out.event(TxEvent::TransportError { id: self.id });
        }
    }

    /// Ends the transaction now if its final response is sent, instead of at Timer J
    /// (stateless UAS behaviour, RFC 3261 §8.2.7): a retransmitted request then starts a
    /// new transaction and is answered again.
    pub(crate) fn forget(&mut self, out: &mut Outbox) {
        if self.state == NonInviteServerState::Completed {
            self.terminate(out);
        }
    }

    fn terminate(&mut self, out: &mut Outbox) {
        self.state = NonInviteServerState::Terminated;
        self.timers.clear();
        self.response = None;
        out.event(TxEvent::Terminated { id: self.id });
    }
}
