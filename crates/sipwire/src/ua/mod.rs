//! The user-agent layer: configuration, events, the checks every incoming request passes
//! (RFC 3261 §8.2), the INVITE server side of a call ([`InviteUserAgentServer`]) and its
//! application-facing view ([`Invitation`]).
//!
//! Everything here is driven through [`Endpoint`](crate::Endpoint); the types are the
//! vocabulary its events and views speak.

mod checks;
mod invitation;
mod session;
mod uas;

use std::time::{Duration, Instant};

use crate::message::{Limits, Message, Method};
use crate::transaction::{Discard, Timers};

pub use invitation::{
    AcceptOptions, Body, Invitation, InvitationError, ProgressOptions, RedirectOptions,
    RejectOptions, RequestOptions, ResponseOptions,
};
pub use session::{DefaultAnswers, RequestId, RequestKind};
pub use uas::InviteUserAgentServer;

pub(crate) use checks::{Verdict, check_request};
pub(crate) use uas::{Call, Ctx, Owners};

/// Identifies an invitation (one incoming INVITE and the call it may become) in its
/// [`Endpoint`](crate::Endpoint). Opaque; stale ids are detected, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvitationId {
    slot: u32,
    generation: u32,
}

impl InvitationId {
    pub(crate) const fn new(slot: u32, generation: u32) -> Self {
        Self { slot, generation }
    }

    pub(crate) const fn slot(self) -> u32 {
        self.slot
    }

    pub(crate) const fn generation(self) -> u32 {
        self.generation
    }
}

/// The states of an invitation, with SIP.js's names and transitions.
///
/// ```text
/// Initial ──accept──▶ Establishing ──2xx sent──▶ Established ──bye──▶ Terminating ──▶ Terminated
///    │                     │                           │ BYE received / ACK missing ─────────▶
///    └── reject / CANCEL / timeout ────────────────────┴──────────────────────────▶ Terminated
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvitationState {
    /// The INVITE arrived; no final response yet. Provisional responses keep this state.
    Initial,
    /// `accept` was called; the 2xx waits for the PRACK of a reliable provisional that
    /// carried a session description (RFC 3262 §3).
    Establishing,
    /// The 2xx was sent (the ACK may still be on its way).
    Established,
    /// A BYE is sent, or will be as soon as the ACK arrives or times out (§15).
    Terminating,
    /// Over.
    Terminated,
}

/// How the caller offered reliable provisional responses (RFC 3262).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rel100 {
    /// Neither `Require` nor `Supported` lists `100rel`: provisionals are unreliable.
    None,
    /// `Supported: 100rel`: a provisional is reliable when the application asks.
    Supported,
    /// `Require: 100rel`: every provisional but 100 is sent reliably. Wins over `Supported`.
    Required,
}

/// Why an invitation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// We answered with this 4xx–6xx (`reject`, `dispose`, or a response the core chose).
    Rejected(u16),
    /// We answered with this 3xx.
    Redirected(u16),
    /// The caller sent CANCEL before the 2xx; the INVITE was answered 487.
    Cancelled,
    /// Nobody answered within the no-answer time; the INVITE was answered 480.
    NoAnswer,
    /// The INVITE's Expires ran out before an answer; it was answered 487.
    Expired,
    /// The peer sent BYE.
    RemoteBye,
    /// We sent BYE; its final status, or `None` if it timed out or could not be sent.
    LocalBye(Option<u16>),
    /// The ACK for our 2xx never came (64·T1); we sent BYE.
    AckTimeout,
    /// The PRACK for a reliable provisional never came (64·T1); the INVITE was answered 504.
    PrackTimeout,
    /// The peer's answer was missing or unexpected (RFC 3264): a BYE with a Reason header
    /// (after the 2xx) or a 488 (before it) ended the call.
    BadAnswer,
    /// The INVITE's transport failed before it could be answered.
    TransportError,
    /// A request we sent in the dialog got 481 or 408 (`Some`), or no response at all
    /// (`None`): the dialog is over (RFC 5057 §5.1, RFC 3261 §12.2.1.2). After a 408 or
    /// a timeout a BYE was sent as well, in case the peer still holds the dialog.
    DialogFailed(Option<u16>),
}

/// What the endpoint tells its application. Drain with
/// [`Endpoint::poll_output`](crate::Endpoint::poll_output).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new INVITE is waiting for an answer: see [`Endpoint::invitation`](crate::Endpoint::invitation).
    /// The 100 (and, with auto-provisional on, the 180) already went out.
    Invitation {
        /// The invitation.
        id: InvitationId,
    },
    /// The invitation moved to `state` (every transition but the last: see `Terminated`).
    StateChanged {
        /// The invitation.
        id: InvitationId,
        /// Its new state.
        state: InvitationState,
    },
    /// The caller sent CANCEL. Before the 2xx the invitation ends (a `Terminated` event
    /// follows); after it the call goes on (`after_answer`), which SIP.js never reports.
    Cancelled {
        /// The invitation.
        id: InvitationId,
        /// The 2xx was already sent: the CANCEL changed nothing.
        after_answer: bool,
    },
    /// The ACK for our 2xx arrived: the session is confirmed.
    Acked {
        /// The invitation.
        id: InvitationId,
        /// Whether the ACK carried a body (the answer to an offer in our 2xx).
        with_body: bool,
    },
    /// The PRACK for the reliable provisional with this RSeq arrived and was answered 200.
    Pracked {
        /// The invitation.
        id: InvitationId,
        /// The RSeq it acknowledged.
        rseq: u32,
        /// Whether it carried a body (an answer to an offer in the provisional).
        with_body: bool,
    },
    /// No ACK came for our 2xx within 64·T1: a BYE is being sent.
    AckTimeout {
        /// The invitation.
        id: InvitationId,
    },
    /// The invitation is over (state Terminated), and why.
    Terminated {
        /// The invitation.
        id: InvitationId,
        /// Who or what ended it.
        reason: EndReason,
    },
    /// The peer sent a request in the call's dialog (re-INVITE, UPDATE, INFO, MESSAGE,
    /// REFER, or NOTIFY of a REFER we sent). Answer it with
    /// [`Invitation::respond`]; unanswered for
    /// [`Config::request_timeout`], it gets the [`Config::default_answers`] code.
    Request {
        /// The invitation.
        id: InvitationId,
        /// The request, for `respond`.
        request: RequestId,
        /// What it is.
        kind: RequestKind,
        /// The request itself (its offer, Refer-To, sipfrag …).
        message: Box<Message>,
    },
    /// A response to a request we sent in the dialog: each provisional and the final one.
    Response {
        /// The invitation.
        id: InvitationId,
        /// Our request.
        request: RequestId,
        /// What it was.
        kind: RequestKind,
        /// The response (its answer, or its offer when our re-INVITE had none).
        response: Box<Message>,
    },
    /// Our re-INVITE or UPDATE met 491 (glare): it goes again, with the same offer, at
    /// `retry_at` (RFC 3261 §14.1). If the dialog is busy then, the 491 arrives as its
    /// `Response`.
    Glare {
        /// The invitation.
        id: InvitationId,
        /// Our request.
        request: RequestId,
        /// When it is sent again.
        retry_at: Instant,
    },
    /// A request we sent got no response (Timer B or F), or could not be sent: the dialog
    /// ends (a `Terminated` with [`EndReason::DialogFailed`] follows).
    RequestTimeout {
        /// The invitation.
        id: InvitationId,
        /// Our request.
        request: RequestId,
        /// What it was.
        kind: RequestKind,
    },
    /// The ACK for our 2xx to the peer's re-INVITE arrived (with the answer, if our 2xx
    /// carried the offer).
    ReInviteAcked {
        /// The invitation.
        id: InvitationId,
        /// Their re-INVITE.
        request: RequestId,
        /// The ACK.
        message: Box<Message>,
    },
    /// The application left a request unanswered for [`Config::request_timeout`]: the
    /// core sent `status`.
    DefaultAnswered {
        /// The invitation.
        id: InvitationId,
        /// Their request.
        request: RequestId,
        /// What it was.
        kind: RequestKind,
        /// The status sent.
        status: u16,
    },
    /// The peer cancelled its re-INVITE before we answered it: it got 487, and its offer
    /// is void.
    RequestCancelled {
        /// The invitation.
        id: InvitationId,
        /// Their re-INVITE.
        request: RequestId,
    },
    /// A message no part of the endpoint takes, and why. Requests that could be answered
    /// were answered (with 400, 481 …) instead.
    Discarded {
        /// Why.
        reason: Discard,
        /// Where it came from.
        source: std::net::SocketAddr,
    },
}

impl Event {
    /// Returns the invitation the event is about, if any: a driver routes events by it
    /// without listing the variants (new ones that carry an id are covered too).
    #[must_use]
    pub const fn invitation(&self) -> Option<InvitationId> {
        match self {
            Self::Invitation { id }
            | Self::StateChanged { id, .. }
            | Self::Cancelled { id, .. }
            | Self::Acked { id, .. }
            | Self::Pracked { id, .. }
            | Self::AckTimeout { id }
            | Self::Terminated { id, .. }
            | Self::Request { id, .. }
            | Self::Response { id, .. }
            | Self::Glare { id, .. }
            | Self::RequestTimeout { id, .. }
            | Self::ReInviteAcked { id, .. }
            | Self::DefaultAnswered { id, .. }
            | Self::RequestCancelled { id, .. } => Some(*id),
            Self::Discarded { .. } => None,
        }
    }
}

/// How an [`Endpoint`](crate::Endpoint) behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Our Contact URI, put in every 18x and 2xx and in our requests (e.g.
    /// `sip:alice@192.0.2.1:5060`).
    pub contact: String,
    /// Our address of record (`sip:alice@example.com`): the identity of requests we start
    /// outside a dialog. Defaults to `contact`.
    pub aor: String,
    /// The `host[:port]` of the Via of our requests (derived from `contact` by
    /// [`Config::new`]).
    pub sent_by: String,
    /// Seeds tags, branches and RSeq values: same seed and inputs, same bytes out.
    pub seed: u64,
    /// T1, T2, T4 and the derived transaction timers.
    pub timers: Timers,
    /// Message size and header limits; a larger request is answered 513.
    pub limits: Limits,
    /// Most live transactions; a request beyond gets 503 with Retry-After.
    pub max_transactions: usize,
    /// Most invitations (ringing, in a call, or just ended), and so most dialogs (each
    /// invitation holds at most one); an INVITE beyond gets 503.
    pub max_invitations: usize,
    /// Retry-After, in seconds, of those 503s.
    pub retry_after: u32,
    /// Option tags we support (listed in Supported; a Require outside it gets 420).
    pub extensions: Vec<String>,
    /// Methods we accept; another known method gets 405 with Allow, an unknown one 501.
    pub allowed_methods: Vec<Method>,
    /// Body types we accept (`type/subtype`); another gets 415 with Accept.
    pub accepted_body_types: Vec<String>,
    /// Sent in a Server header on responses and User-Agent on requests, if set.
    pub user_agent: Option<String>,
    /// Send 100 Trying as soon as an INVITE arrives (otherwise the transaction sends it
    /// after 200 ms if nothing else went out).
    pub auto_trying: bool,
    /// Send 180 Ringing before telling the application of an INVITE (not when the caller
    /// requires 100rel): SIP.js's `auto_send_an_initial_provisional_response`.
    pub auto_ringing: bool,
    /// Reject with 480 when an invitation is not answered within this time.
    pub no_answer_timeout: Duration,
    /// How long a request in the dialog (re-INVITE, UPDATE, INFO …) waits for the
    /// application's answer before the default one goes out.
    pub request_timeout: Duration,
    /// The answers sent when `request_timeout` runs out.
    pub default_answers: DefaultAnswers,
}

impl Config {
    /// Returns the defaults for a UA whose Contact is `contact`: seed 0, RFC timers,
    /// default limits, 65 536 transactions and invitations, Retry-After 5 s, `100rel`,
    /// methods INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, MESSAGE, REFER,
    /// NOTIFY, bodies `application/sdp`, `message/sipfrag`, `text/plain` and
    /// `application/dtmf-relay`, 100 and 180 sent automatically, 60 s no-answer time, 10 s
    /// for the application to answer a request in the dialog, [`DefaultAnswers::DEFAULT`].
    #[must_use]
    pub fn new(contact: &str) -> Self {
        Self {
            contact: contact.to_owned(),
            aor: contact.trim_matches(['<', '>']).to_owned(),
            sent_by: sent_by_of(contact),
            seed: 0,
            timers: Timers::DEFAULT,
            limits: Limits::DEFAULT,
            max_transactions: 65_536,
            max_invitations: 65_536,
            retry_after: 5,
            extensions: vec!["100rel".to_owned()],
            allowed_methods: vec![
                Method::Invite,
                Method::Ack,
                Method::Cancel,
                Method::Bye,
                Method::Options,
                Method::Prack,
                Method::Update,
                Method::Info,
                Method::Message,
                Method::Refer,
                Method::Notify,
            ],
            accepted_body_types: vec![
                "application/sdp".to_owned(),
                "message/sipfrag".to_owned(),
                "text/plain".to_owned(),
                "application/dtmf-relay".to_owned(),
            ],
            user_agent: None,
            auto_trying: true,
            auto_ringing: true,
            no_answer_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
            default_answers: DefaultAnswers::DEFAULT,
        }
    }

    /// Sets the seed.
    #[must_use]
    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the timers.
    #[must_use]
    pub const fn with_timers(mut self, timers: Timers) -> Self {
        self.timers = timers;
        self
    }

    pub(crate) fn supports(&self, tag: &str) -> bool {
        self.extensions.iter().any(|e| e.eq_ignore_ascii_case(tag))
    }

    pub(crate) fn allows(&self, method: &Method) -> bool {
        self.allowed_methods.contains(method)
    }

    /// `Allow`: the allowed methods, comma separated.
    pub(crate) fn allow_header(&self) -> String {
        join(self.allowed_methods.iter().map(Method::as_str))
    }

    /// `Accept`: the accepted body types, comma separated.
    pub(crate) fn accept_header(&self) -> String {
        join(self.accepted_body_types.iter().map(String::as_str))
    }

    /// `Supported`: our option tags, comma separated.
    pub(crate) fn supported_header(&self) -> String {
        join(self.extensions.iter().map(String::as_str))
    }
}

/// Header values every call repeats, built once from the configuration by
/// [`Endpoint::new`](crate::Endpoint::new).
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) allow: String,
    pub(crate) accept: String,
    pub(crate) supported: String,
    /// Our Contact, in angle brackets.
    pub(crate) contact: String,
}

impl Prepared {
    pub(crate) fn new(config: &Config) -> Self {
        let contact = if config.contact.starts_with('<') {
            config.contact.clone()
        } else {
            format!("<{}>", config.contact)
        };
        Self {
            allow: config.allow_header(),
            accept: config.accept_header(),
            supported: config.supported_header(),
            contact,
        }
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    out
}

/// The `host[:port]` of a SIP URI, for the Via of our requests.
fn sent_by_of(contact: &str) -> String {
    match crate::message::Uri::parse(contact.trim_matches(['<', '>'])) {
        Ok(crate::message::Uri::Sip(u)) => {
            let host = match u.host {
                crate::message::Host::Domain(d) => d.to_owned(),
                crate::message::Host::Ipv4(a) => a.to_string(),
                crate::message::Host::Ipv6(a) => format!("[{a}]"),
            };
            match u.port {
                Some(p) => format!("{host}:{p}"),
                None => host,
            }
        }
        _ => "invalid.invalid".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_by_comes_from_the_contact() {
        assert_eq!(Config::new("sip:a@192.0.2.1:5070").sent_by, "192.0.2.1:5070");
        assert_eq!(Config::new("<sip:a@[2001:db8::1]>").sent_by, "[2001:db8::1]");
        assert_eq!(Config::new("nonsense").sent_by, "invalid.invalid");
        let c = Config::new("sip:a@h");
        assert_eq!(
            c.allow_header(),
            "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, MESSAGE, REFER, NOTIFY"
        );
        assert_eq!(
            c.accept_header(),
            "application/sdp, message/sipfrag, text/plain, application/dtmf-relay"
        );
    }
}
