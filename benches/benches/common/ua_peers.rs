//! The peers' side of the `endpoint` bench: the whole UAS call of `ua_call.rs` through a peer's
//! own dialog layer, shared through `#[path = "common/ua_peers.rs"] mod ua_peers;`.
//!
//! Of the two peers the transaction benches use, only rsiprtp has a user-agent layer that runs
//! without sockets: `rsiprtp::dialog::DialogManager` (sans-IO, `handle_request`,
//! `send_response`, `poll_actions`, `cleanup_terminated`) on top of its `TransactionManager`.
//! sipx-sip 1.0.1 stops at the transaction layer: its crate documentation lists "message
//! parsing and serialization, and the client and server transaction FSMs", and its modules
//! beyond that (`rel`, `session`, `update`, `event`) are pure helpers for RFC 3262/4028/3311/
//! 6665 bookkeeping with no dialog table and no UAS; so it has no entry here.
//!
//! rsiprtp's higher `session::CallManager` is not used: it negotiates SDP and ICE itself,
//! which is not the same work.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use rsiprtp::dialog::{DialogHandle, DialogManager};
use rsiprtp::sip::{Method, SipMessage, SipRequest, SipResponse};
use rsiprtp::transaction::{Timer, TransactionHandle, TransactionManager};

use super::ua_call::{ANSWER, Caller, UAS_CONTACT_URI};

/// A driver around rsiprtp's `TransactionManager` and `DialogManager` over UDP, with an
/// application that accepts every call with the same SDP answer.
///
/// The path of each message, as rsiprtp lays it out:
///
/// * a request is parsed (`SipMessage::parse`) and given to the transaction manager; a new
///   INVITE or BYE comes out as `ManagerEvent::InviteRequest` / `NonInviteRequest` and is
///   handed to `DialogManager::handle_request`, which creates the UAS dialog (To tag from
///   `uuid::Uuid::new_v4`) or finds it and reports `ByeReceived`;
/// * an ACK for a 2xx is no transaction: the transaction manager drops it without a word
///   ("handled at dialog level"), so the driver gives ACKs straight to the dialog manager;
/// * responses to INVITE (100, 180 with the dialog's To tag and Contact, 200 with SDP) go
///   through `DialogManager::send_response` (which confirms the dialog on the 2xx) and come
///   back as `SendResponse` actions, which the driver passes to
///   `TransactionManager::send_response`; that serializes them to `Bytes`;
/// * the 200 to BYE is built from the BYE and sent on its transaction;
/// * the driver keeps the timers the transactions ask for and fires them, then calls both
///   managers' `cleanup_terminated`.
///
/// What rsiprtp's layers do not do that sipwire's endpoint does: retransmit the 2xx until the
/// ACK (§13.3.1.4) and give up after 64·T1, the §8.2 request checks, CSeq ordering of the BYE,
/// keeping the INVITE transaction in RFC 6026 Accepted (it ends on the 2xx).
#[derive(Debug)]
pub struct Rsiprtp {
    tx: TransactionManager,
    dialogs: DialogManager,
    timers: Vec<(TransactionHandle, Timer, Duration)>,
    pub caller: Caller,
    /// The INVITE transaction and dialog of the call in progress.
    invite: Option<(TransactionHandle, DialogHandle)>,
}

impl Default for Rsiprtp {
    fn default() -> Self {
        Self::new()
    }
}

impl Rsiprtp {
    pub fn new() -> Self {
        Self {
            tx: TransactionManager::new(false),
            dialogs: DialogManager::new(UAS_CONTACT_URI),
            timers: Vec::with_capacity(8),
            caller: Caller::new(),
            invite: None,
        }
    }

    /// Does what the transaction manager's actions say; returns a new request for the TU.
    fn perform_tx(
        &mut self,
        sink: &mut impl FnMut(&[u8]),
    ) -> Option<(TransactionHandle, SipRequest)> {
        use rsiprtp::transaction::{ManagerAction, ManagerEvent};
        let mut request = None;
        for action in self.tx.poll_actions() {
            match action {
                ManagerAction::Send(bytes) => {
                    if bytes.starts_with(b"SIP/2.0 200") && bytes.ends_with(ANSWER) {
                        self.caller.read_tag(&bytes);
                    }
                    sink(&bytes);
                }
                ManagerAction::SetTimer(h, timer, after) => {
                    self.timers.retain(|&(th, t, _)| (th, t) != (h, timer));
                    self.timers.push((h, timer, after));
                }
                ManagerAction::CancelTimer(h, timer) => {
                    self.timers.retain(|&(th, t, _)| (th, t) != (h, timer));
                }
                ManagerAction::Event(
                    h,
                    ManagerEvent::InviteRequest(r) | ManagerEvent::NonInviteRequest(r),
                ) => request = Some((h, r)),
                ManagerAction::Event(_, other) => panic!("rsiprtp: unexpected event {other:?}"),
            }
        }
        request
    }

    /// Passes the dialog manager's responses to the INVITE transaction; returns the new
    /// INVITE or the BYE it reports, if any.
    fn perform_dialogs(&mut self, sink: &mut impl FnMut(&[u8])) -> Option<SipRequest> {
        use rsiprtp::dialog::{ManagerAction, ManagerEvent};
        let mut request = None;
        for action in self.dialogs.poll_actions() {
            match action {
                ManagerAction::SendResponse(response) => {
                    let (tx, _) = self.invite.expect("rsiprtp: a response outside a call");
                    self.tx.send_response(tx, response);
                    assert!(self.perform_tx(sink).is_none());
                }
                ManagerAction::Event(
                    _,
                    ManagerEvent::IncomingInvite(r) | ManagerEvent::ByeReceived(r),
                ) => request = Some(r),
                ManagerAction::Event(..) => {}
                ManagerAction::SendRequest(r) => panic!("rsiprtp: unexpected request {r:?}"),
            }
        }
        request
    }

    fn parse(datagram: &[u8]) -> SipMessage {
        SipMessage::parse(datagram).expect("rsiprtp: parse failed")
    }

    fn respond(
        &mut self,
        dialog: DialogHandle,
        response: SipResponse,
        sink: &mut impl FnMut(&[u8]),
    ) {
        self.dialogs.send_response(dialog, response);
        self.perform_dialogs(sink);
    }

    /// The whole call, from the INVITE's bytes to both managers holding nothing.
    pub fn call(&mut self, i: u64, sink: &mut impl FnMut(&[u8])) {
        // INVITE: transaction, then dialog.
        let invite = self.caller.invite.render(i, b"");
        self.tx.handle_message(Self::parse(&invite));
        let (invite_tx, request) = self.perform_tx(sink).expect("rsiprtp: INVITE reaches the TU");
        let dialog = self.dialogs.handle_request(request).expect("rsiprtp: UAS dialog");
        self.invite = Some((invite_tx, dialog));
        let request = self.perform_dialogs(sink).expect("rsiprtp: IncomingInvite");
        let tag = self.dialogs.dialog(dialog).expect("dialog").id().local_tag.clone();

        // The TU: 100, 180, then accepts with the answer.
        let trying = SipResponse::builder()
            .status(100, "Trying")
            .from_request(&request)
            .build()
            .expect("rsiprtp: 100");
        self.respond(dialog, trying, sink);
        let ringing = SipResponse::builder()
            .status(180, "Ringing")
            .from_request(&request)
            .to_tag(&tag)
            .contact(UAS_CONTACT_URI)
            .build()
            .expect("rsiprtp: 180");
        self.respond(dialog, ringing, sink);
        let ok = SipResponse::builder()
            .status(200, "OK")
            .from_request(&request)
            .to_tag(&tag)
            .contact(UAS_CONTACT_URI)
            .body(ANSWER.to_vec(), "application/sdp")
            .build()
            .expect("rsiprtp: 200");
        drop(request);
        self.respond(dialog, ok, sink);

        // ACK: not a transaction; straight to the dialog.
        let ack = self.caller.ack.render(i, &self.caller.tag);
        let SipMessage::Request(ack) = Self::parse(&ack) else { panic!("rsiprtp: ACK") };
        assert_eq!(ack.method(), Method::Ack);
        assert_eq!(self.dialogs.handle_request(ack), Some(dialog), "rsiprtp: ACK's dialog");
        self.perform_dialogs(sink);
        assert!(
            self.dialogs.dialog(dialog).is_some_and(|d| d.is_ack_complete()),
            "rsiprtp: ACK not taken"
        );

        // BYE: transaction, dialog, 200.
        let bye = self.caller.bye.render(i, &self.caller.tag);
        self.tx.handle_message(Self::parse(&bye));
        let (bye_tx, bye) = self.perform_tx(sink).expect("rsiprtp: BYE reaches the TU");
        assert_eq!(self.dialogs.handle_request(bye), Some(dialog), "rsiprtp: BYE's dialog");
        let bye = self.perform_dialogs(sink).expect("rsiprtp: ByeReceived");
        let ok = SipResponse::builder()
            .status(200, "OK")
            .from_request(&bye)
            .build()
            .expect("rsiprtp: 200 to BYE");
        drop(bye);
        self.tx.send_response(bye_tx, ok);
        self.perform_tx(sink);

        // Timers (Timer J of the BYE), then both managers drop what ended.
        while let Some(i) = (0..self.timers.len()).min_by_key(|&i| self.timers[i].2) {
            let (h, timer, _) = self.timers.swap_remove(i);
            self.tx.handle_timeout(h, timer);
            self.perform_tx(sink);
        }
        self.tx.cleanup_terminated();
        self.dialogs.cleanup_terminated();
        self.invite = None;
        assert!(self.dialogs.dialog(dialog).is_none(), "rsiprtp: dialog left behind");
    }

    /// Whether the transaction manager holds nothing. Reads its `Debug` output (it has no
    /// public count): for checks, never in a timed loop.
    pub fn is_empty(&self) -> bool {
        let debug = format!("{:?}", self.tx);
        ["invite_servers: {}", "non_invite_servers: {}", "id_to_handle: {}"]
            .iter()
            .all(|empty| debug.contains(empty))
            && self.timers.is_empty()
    }
}
