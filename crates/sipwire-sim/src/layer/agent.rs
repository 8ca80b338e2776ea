//! [`Agent`]: a simple transaction user on a real [`TransactionLayer`].

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::transaction::{
    Discard, LayerConfig, Target, Timer, Timers, TransactionLayer, TxError, TxEvent,
};
use sipwire::{HeaderName, Message, Method, Output, RequestBuilder, TransactionId, Transport};

use crate::node::Node;

/// How an [`Agent`] answers a request: an optional provisional response at once, then a
/// final response after a delay.
///
/// ```
/// use std::time::Duration;
/// use sipwire_sim::layer::Answer;
/// let busy = Answer::new(486).with_provisional(180).after(Duration::from_secs(2));
/// assert_eq!((busy.provisional, busy.code, busy.delay), (Some(180), 486, Duration::from_secs(2)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer {
    /// A 1xx code sent as soon as the request arrives; `None` sends none (the INVITE
    /// server transaction then sends 100 Trying itself after 200 ms). Codes outside
    /// 101–199 are not sent.
    pub provisional: Option<u16>,
    /// The final status code.
    pub code: u16,
    /// How long after the request arrived the final response goes out.
    pub delay: Duration,
}

impl Answer {
    /// Returns an answer with final status `code`, sent at once, and no provisional.
    #[must_use]
    pub const fn new(code: u16) -> Self {
        Self { provisional: None, code, delay: Duration::ZERO }
    }

    /// Returns the answer with provisional `code` sent as soon as the request arrives.
    #[must_use]
    pub const fn with_provisional(mut self, code: u16) -> Self {
        self.provisional = Some(code);
        self
    }

    /// Returns the answer with no provisional response.
    #[must_use]
    pub const fn without_provisional(mut self) -> Self {
        self.provisional = None;
        self
    }

    /// Returns the answer with its final response sent `delay` after the request arrived.
    #[must_use]
    pub const fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// How an [`Agent`] behaves: its layer, its name, and how it answers.
///
/// ```
/// use std::time::Duration;
/// use sipwire_sim::layer::{AgentConfig, Answer};
/// let config = AgentConfig::default()
///     .with_seed(7)
///     .with_user("bob")
///     .with_invite(Answer::new(200).with_provisional(180).after(Duration::from_millis(300)));
/// assert_eq!(config.layer.seed, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentConfig {
    /// The transaction layer's configuration: timers, seed (which draws the branches).
    pub layer: LayerConfig,
    /// The user part of the agent's own URI (From, Contact): `agent` by default. Keep it a
    /// plain token; it is also part of the To tags the agent puts on its responses.
    pub user: String,
    /// How INVITEs are answered (unless a policy says otherwise): 180 at once, 200 after
    /// 1 s.
    pub invite: Answer,
    /// How other requests but ACK and CANCEL are answered (unless a policy says otherwise):
    /// 200 at once.
    pub non_invite: Answer,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            layer: LayerConfig::default(),
            user: "agent".to_owned(),
            invite: Answer::new(200).with_provisional(180).after(Duration::from_secs(1)),
            non_invite: Answer::new(200),
        }
    }
}

impl AgentConfig {
    /// Returns the config with the layer seeded with `seed`.
    #[must_use]
    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.layer.seed = seed;
        self
    }

    /// Returns the config with these transaction timers.
    #[must_use]
    pub const fn with_timers(mut self, timers: Timers) -> Self {
        self.layer.timers = timers;
        self
    }

    /// Returns the config with `user` as the user part of the agent's URI.
    #[must_use]
    pub fn with_user(mut self, user: &str) -> Self {
        user.clone_into(&mut self.user);
        self
    }

    /// Returns the config answering INVITEs with `answer`.
    #[must_use]
    pub const fn with_invite(mut self, answer: Answer) -> Self {
        self.invite = answer;
        self
    }

    /// Returns the config answering other requests with `answer`.
    #[must_use]
    pub const fn with_non_invite(mut self, answer: Answer) -> Self {
        self.non_invite = answer;
        self
    }
}

/// A request for an [`Agent`] to send (see [`Agent::schedule`]).
///
/// ```
/// use std::time::Duration;
/// use sipwire::Transport;
/// use sipwire::transaction::Target;
/// use sipwire_sim::layer::Outgoing;
/// let bob = Target::new("192.0.2.2:5060".parse().unwrap(), Transport::Udp);
/// let call = Outgoing::invite(bob).to_user("busy").cancel_after(Duration::from_millis(100));
/// assert_eq!(call.cancel_after, Some(Duration::from_millis(100)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outgoing {
    /// The method; anything but ACK and CANCEL, which the layer refuses here.
    pub method: Method,
    /// Where it goes and over what.
    pub target: Target,
    /// The user part of the Request-URI and To: `sip:<user>@<target address>`.
    pub user: String,
    /// For an INVITE: send a CANCEL this long after the first provisional response.
    pub cancel_after: Option<Duration>,
}

impl Outgoing {
    /// Returns a `method` request to `target`, for user `callee`.
    #[must_use]
    pub fn new(method: Method, target: Target) -> Self {
        Self { method, target, user: "callee".to_owned(), cancel_after: None }
    }

    /// Returns an INVITE to `target`.
    #[must_use]
    pub fn invite(target: Target) -> Self {
        Self::new(Method::Invite, target)
    }

    /// Returns an OPTIONS to `target`.
    #[must_use]
    pub fn options(target: Target) -> Self {
        Self::new(Method::Options, target)
    }

    /// Returns the request addressed to `user` (the Request-URI's user part), which an
    /// answering agent's policy may look at.
    #[must_use]
    pub fn to_user(mut self, user: &str) -> Self {
        user.clone_into(&mut self.user);
        self
    }

    /// Returns the request set to be CANCELled `after` its first provisional response.
    #[must_use]
    pub const fn cancel_after(mut self, after: Duration) -> Self {
        self.cancel_after = Some(after);
        self
    }
}

/// What became of one client transaction of an [`Agent`], as its transaction user saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientRecord {
    /// The record's index in [`Agent::clients`].
    pub index: usize,
    /// The method.
    pub method: Method,
    /// Where the request went.
    pub target: Target,
    /// The Request-URI: `sip:<user>@<target address>`.
    pub request_uri: String,
    /// Its Call-ID: unique per scheduled request; a CANCEL shares its INVITE's.
    pub call_id: String,
    /// Its CSeq number.
    pub cseq: u32,
    /// The transaction, once the layer started it.
    pub id: Option<TransactionId>,
    /// The top Via branch the layer gave the request.
    pub branch: Option<String>,
    /// When the request was handed to the layer.
    pub started_at: Option<Instant>,
    /// Why the layer refused to start it.
    pub refused: Option<TxError>,
    /// Every response that reached the TU, with when: provisionals, the first final, and
    /// for an INVITE each retransmitted 2xx.
    pub responses: Vec<(Instant, u16)>,
    /// ACKs sent for 2xx responses, one per 2xx that reached the TU.
    pub acks_sent: u32,
    /// For a CANCEL: the index of the INVITE's record.
    pub cancels: Option<usize>,
    /// For an INVITE: the index of its CANCEL's record, once sent.
    pub cancel: Option<usize>,
    /// For an INVITE: why the layer refused the CANCEL (typically: already answered).
    pub cancel_refused: Option<TxError>,
    /// The timer that ended the transaction without a final response, and when.
    pub timeout: Option<(Instant, Timer)>,
    /// When a send failed and ended the transaction.
    pub transport_error: Option<Instant>,
    /// When the transaction terminated (the first time, should it be reported twice).
    pub terminated_at: Option<Instant>,
    /// How many times the layer reported the transaction terminated: 1 once it is over.
    pub terminations: u32,
}

impl ClientRecord {
    /// Returns the first final response that reached the TU, and when.
    #[must_use]
    pub fn final_response(&self) -> Option<(Instant, u16)> {
        self.responses.iter().copied().find(|&(_, code)| code >= 200)
    }

    /// Returns how many final responses reached the TU: 1 for a non-2xx, 1 plus the
    /// retransmissions seen for a 2xx to an INVITE.
    #[must_use]
    pub fn finals(&self) -> usize {
        self.responses.iter().filter(|&&(_, code)| code >= 200).count()
    }

    /// Returns how many provisional responses reached the TU.
    #[must_use]
    pub fn provisionals(&self) -> usize {
        self.responses.iter().filter(|&&(_, code)| code < 200).count()
    }
}

/// What one server transaction of an [`Agent`] saw and did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerRecord {
    /// The record's index in [`Agent::servers`].
    pub index: usize,
    /// The transaction.
    pub id: TransactionId,
    /// The request's method.
    pub method: Method,
    /// Its Call-ID.
    pub call_id: String,
    /// Its CSeq number.
    pub cseq: u32,
    /// Its top Via branch (empty if it had none).
    pub branch: String,
    /// Where it came from.
    pub source: SocketAddr,
    /// The transport it came over.
    pub transport: Transport,
    /// When it reached the TU.
    pub arrived_at: Instant,
    /// For a CANCEL: the INVITE server transaction it matched.
    pub cancels: Option<TransactionId>,
    /// The live transaction this request is a merged copy of (it was answered 482).
    pub merged_with: Option<TransactionId>,
    /// The responses the TU sent, with when; 2xx retransmissions are counted apart.
    pub sent: Vec<(Instant, u16)>,
    /// How many times the TU retransmitted its 2xx to an INVITE.
    pub retransmitted_2xx: u32,
    /// Whether a CANCEL ended the INVITE (answered 487).
    pub cancelled: bool,
    /// When ACKs for the 2xx reached the TU.
    pub acks: Vec<Instant>,
    /// Whether the TU gave up on its 2xx after 64·T1 without an ACK.
    pub no_ack: bool,
    /// The timer that ended the transaction in failure (Timer H), and when.
    pub timeout: Option<(Instant, Timer)>,
    /// How many sends failed.
    pub transport_errors: u32,
    /// When the transaction terminated (the first time).
    pub terminated_at: Option<Instant>,
    /// How many times the layer reported the transaction terminated.
    pub terminations: u32,
}

impl ServerRecord {
    /// Returns the final status code the TU sent, if it sent one.
    #[must_use]
    pub fn final_code(&self) -> Option<u16> {
        self.sent.iter().map(|&(_, code)| code).find(|&code| code >= 200)
    }
}

/// What an [`Agent`] reports, one line each in the ladder.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentEvent {
    /// A request reached the TU: server transaction `id` began.
    Request {
        /// The server transaction.
        id: TransactionId,
        /// The request's method.
        method: Method,
    },
    /// A response reached the TU.
    Response {
        /// The client transaction.
        id: TransactionId,
        /// The request's method.
        method: Method,
        /// The status code.
        code: u16,
    },
    /// An ACK for a 2xx reached the TU.
    Ack {
        /// The INVITE server transaction it matched, if it matched one (a 2xx's ACK
        /// usually does not: it is a transaction of its own).
        id: Option<TransactionId>,
    },
    /// A transaction failed on a timer.
    Timeout {
        /// The transaction.
        id: TransactionId,
        /// Which timer.
        timer: Timer,
    },
    /// A send failed.
    TransportError {
        /// The transaction.
        id: TransactionId,
    },
    /// A transaction terminated.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
    /// The layer discarded a message.
    Discarded {
        /// Why.
        reason: Discard,
    },
    /// The TU stopped retransmitting its 2xx: no ACK came within 64·T1.
    NoAck {
        /// The INVITE server transaction.
        id: TransactionId,
    },
    /// The layer refused a command of the TU.
    Refused {
        /// Why.
        error: TxError,
    },
}

impl fmt::Debug for AgentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request { id, method } => write!(f, "{id:?} new {method}"),
            Self::Response { id, method, code } => write!(f, "{id:?} {method} got {code}"),
            Self::Ack { id: Some(id) } => write!(f, "ACK for 2xx ({id:?})"),
            Self::Ack { id: None } => f.write_str("ACK for 2xx"),
            Self::Timeout { id, timer } => write!(f, "{id:?} Timer {timer:?} fired"),
            Self::TransportError { id } => write!(f, "{id:?} transport error"),
            Self::Terminated { id } => write!(f, "{id:?} terminated"),
            Self::Discarded { reason } => write!(f, "discarded: {reason:?}"),
            Self::NoAck { id } => write!(f, "{id:?} 2xx never ACKed"),
            Self::Refused { error } => write!(f, "refused: {error}"),
        }
    }
}

/// Something an [`Agent`] does at a set time.
#[derive(Debug, Clone, Copy)]
enum Job {
    /// Start client record `n`.
    Start(usize),
    /// CANCEL the INVITE of client record `n`.
    Cancel(usize),
    /// Send the final response of server record `n`.
    Answer(usize),
    /// Retransmit the 2xx of server record `n`.
    Resend2xx(usize),
}

#[derive(Debug)]
struct ClientTx {
    record: ClientRecord,
    outgoing: Outgoing,
    from: String,
    cancel_scheduled: bool,
}

#[derive(Debug)]
struct ServerTx {
    record: ServerRecord,
    /// The request, until the final response is sent.
    request: Option<Message>,
    answer: Answer,
    tag: String,
    /// The 2xx, while the TU retransmits it.
    ok: Option<Message>,
    interval: Duration,
    give_up: Option<Instant>,
}

/// The policy deciding how each request is answered.
type Policy = Box<dyn FnMut(&Message) -> Answer>;

/// A simple transaction user on a real [`TransactionLayer`]: a node that answers what it
/// receives and sends what it is told to, and records what happened.
///
/// As a UAS, for each new request (server transaction) it:
///
/// - answers CANCEL 200 and, if the INVITE it cancels has no final response yet, that
///   INVITE 487;
/// - answers a merged request (§8.2.2.2) 482;
/// - otherwise answers as the [`Answer`] for the request says — the policy's (see
///   [`with_policy`](Self::with_policy)), or the config's `invite` or `non_invite`: a
///   provisional at once, the final after the delay;
/// - retransmits its 2xx to an INVITE at T1, doubling up to T2, until the ACK reaches it or
///   64·T1 has passed (RFC 3261 §13.3.1.4) — over unreliable transports only. §13.3.1.4
///   asks for it whatever the transport, for the sake of unreliable hops further along;
///   between two simulated peers on a reliable hop there is none, so the 2xx is sent once.
///
/// As a UAC it starts the requests given to [`schedule`](Self::schedule) at their time,
/// ACKs every 2xx that reaches it (so each retransmitted 2xx is ACKed again), and sends a
/// CANCEL where the [`Outgoing`] asks for one. A request it receives is answered like any
/// other, so one agent can play both parts.
///
/// Every TU-visible [`TxEvent`] is folded into a [`ClientRecord`] or a [`ServerRecord`],
/// and reported as an [`AgentEvent`] (one line in the ladder). The agent never panics:
/// whatever the layer refuses is recorded ([`refused`](Self::refused)) and reported.
pub struct Agent {
    me: SocketAddr,
    sent_by: String,
    config: AgentConfig,
    layer: TransactionLayer,
    policy: Option<Policy>,
    clients: Vec<ClientTx>,
    client_ids: BTreeMap<TransactionId, usize>,
    servers: Vec<ServerTx>,
    server_ids: BTreeMap<TransactionId, usize>,
    /// INVITE server records by Call-ID and CSeq number, to match ACKs for 2xx.
    invites: BTreeMap<(String, u32), usize>,
    jobs: BTreeMap<(Instant, u64), Job>,
    next_job: u64,
    discarded: Vec<Discard>,
    refused: Vec<TxError>,
    stray_acks: usize,
    outbox: VecDeque<Output<AgentEvent>>,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("me", &self.me)
            .field("user", &self.config.user)
            .field("live", &self.layer.len())
            .field("clients", &self.clients.len())
            .field("servers", &self.servers.len())
            .field("scheduled", &self.jobs.len())
            .field("policy", &self.policy.is_some())
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// Returns an agent at address `me` (its Via sent-by and URIs) with a fresh layer.
    #[must_use]
    pub fn new(me: SocketAddr, config: AgentConfig) -> Self {
        Self {
            me,
            sent_by: me.to_string(),
            layer: TransactionLayer::new(config.layer),
            config,
            policy: None,
            clients: Vec::new(),
            client_ids: BTreeMap::new(),
            servers: Vec::new(),
            server_ids: BTreeMap::new(),
            invites: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_job: 0,
            discarded: Vec::new(),
            refused: Vec::new(),
            stray_acks: 0,
            outbox: VecDeque::new(),
        }
    }

    /// Returns the agent answering each new request as `policy` says, instead of by its
    /// config. The policy is not asked about CANCELs (always 200, and 487 to the INVITE)
    /// nor merged requests (always 482); ACKs are not requests it answers.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sipwire::Method;
    /// use sipwire_sim::layer::{Agent, AgentConfig, Answer};
    /// let bob = Agent::new("192.0.2.2:5060".parse().unwrap(), AgentConfig::default())
    ///     .with_policy(|request| {
    ///         let busy = request.request_uri_str().is_some_and(|u| u.starts_with("sip:busy@"));
    ///         match request.method() {
    ///             Some(Method::Invite) if busy => Answer::new(486).with_provisional(180),
    ///             Some(Method::Invite) => Answer::new(200).after(Duration::from_millis(300)),
    ///             _ => Answer::new(200),
    ///         }
    ///     });
    /// # let _ = bob;
    /// ```
    #[must_use]
    pub fn with_policy(mut self, policy: impl FnMut(&Message) -> Answer + 'static) -> Self {
        self.policy = Some(Box::new(policy));
        self
    }

    /// Schedules `outgoing` to be sent at `at` (at the next step if `at` has passed) and
    /// returns the index of its [`ClientRecord`].
    pub fn schedule(&mut self, at: Instant, outgoing: Outgoing) -> usize {
        let index = self.clients.len();
        let uri = format!("sip:{}@{}", outgoing.user, outgoing.target.addr);
        let from = format!("<sip:{}@{}>;tag={index}.{:x}", self.config.user, self.me, self.seed());
        let call_id = format!("c{index}.{:x}@{}", self.seed(), self.me);
        let record = ClientRecord {
            index,
            method: outgoing.method.clone(),
            target: outgoing.target,
            request_uri: uri,
            call_id,
            cseq: 1,
            id: None,
            branch: None,
            started_at: None,
            refused: None,
            responses: Vec::new(),
            acks_sent: 0,
            cancels: None,
            cancel: None,
            cancel_refused: None,
            timeout: None,
            transport_error: None,
            terminated_at: None,
            terminations: 0,
        };
        self.clients.push(ClientTx { record, outgoing, from, cancel_scheduled: false });
        self.at(at, Job::Start(index));
        index
    }

    /// Returns the agent's address.
    #[must_use]
    pub const fn addr(&self) -> SocketAddr {
        self.me
    }

    /// Returns the agent's config.
    #[must_use]
    pub const fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// Returns the transaction layer, to look at (its `len`, a transaction's `state`).
    #[must_use]
    pub const fn layer(&self) -> &TransactionLayer {
        &self.layer
    }

    /// Returns the records of the client transactions, in the order they were scheduled
    /// (CANCELs are added when sent).
    pub fn clients(&self) -> impl ExactSizeIterator<Item = &ClientRecord> {
        self.clients.iter().map(|c| &c.record)
    }

    /// Returns client record `index` (as [`schedule`](Self::schedule) returned it).
    #[must_use]
    pub fn client(&self, index: usize) -> Option<&ClientRecord> {
        self.clients.get(index).map(|c| &c.record)
    }

    /// Returns the records of the server transactions, in the order their requests came.
    pub fn servers(&self) -> impl ExactSizeIterator<Item = &ServerRecord> {
        self.servers.iter().map(|s| &s.record)
    }

    /// Returns server record `index`.
    #[must_use]
    pub fn server(&self, index: usize) -> Option<&ServerRecord> {
        self.servers.get(index).map(|s| &s.record)
    }

    /// Returns how many times a request with this Call-ID, CSeq number and method reached
    /// the TU as a new transaction: 1 for a request that got through, however often it was
    /// retransmitted or duplicated on the way; 0 if none of its copies arrived.
    #[must_use]
    pub fn requests_for(&self, call_id: &str, cseq: u32, method: &Method) -> usize {
        self.servers()
            .filter(|s| s.call_id == call_id && s.cseq == cseq && s.method == *method)
            .count()
    }

    /// Returns why the layer discarded messages, in order.
    #[must_use]
    pub fn discarded(&self) -> &[Discard] {
        &self.discarded
    }

    /// Returns the errors of commands the layer refused (responses, ACKs), in order.
    /// Refused requests and CANCELs are in their [`ClientRecord`]s instead.
    #[must_use]
    pub fn refused(&self) -> &[TxError] {
        &self.refused
    }

    /// Returns how many ACKs reached the TU that matched no INVITE the agent answered with
    /// a 2xx (by Call-ID and CSeq number).
    #[must_use]
    pub const fn stray_acks(&self) -> usize {
        self.stray_acks
    }

    /// Returns whether the agent is done: no live transaction, nothing scheduled.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.layer.is_empty() && self.jobs.is_empty()
    }

    fn seed(&self) -> u64 {
        self.config.layer.seed
    }

    fn at(&mut self, at: Instant, job: Job) {
        self.jobs.insert((at, self.next_job), job);
        self.next_job += 1;
    }

    fn emit(&mut self, event: AgentEvent) {
        self.outbox.push_back(Output::Event(event));
    }

    fn refuse(&mut self, error: TxError) {
        self.refused.push(error);
        self.emit(AgentEvent::Refused { error });
    }

    /// Drains the layer: transmits go out, events go to the TU, whose commands feed the
    /// layer again until it has nothing left.
    fn pump(&mut self, now: Instant) {
        while let Some(output) = self.layer.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    self.note_branch(&transmit.payload, transmit.transaction);
                    self.outbox.push_back(Output::Transmit(transmit));
                }
                Output::Event(event) => self.on_event(now, event),
            }
        }
    }

    /// Learns a client transaction's branch from its first request on the wire.
    fn note_branch(&mut self, payload: &Bytes, id: Option<TransactionId>) {
        let Some(tx) =
            id.and_then(|id| self.client_ids.get(&id)).and_then(|&i| self.clients.get_mut(i))
        else {
            return;
        };
        if tx.record.branch.is_some() {
            return;
        }
        let Ok(request) = Message::parse(payload.clone()) else { return };
        if let Ok(via) = request.top_via()
            && request.is_request()
        {
            tx.record.branch = via.branch().map(str::to_owned);
        }
    }

    fn run_jobs(&mut self, now: Instant) {
        while let Some(entry) = self.jobs.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                Job::Start(i) => self.start(now, i),
                Job::Cancel(i) => self.cancel(now, i),
                Job::Answer(i) => self.send_final(now, i),
                Job::Resend2xx(i) => self.resend_2xx(now, i),
            }
            self.pump(now);
        }
    }

    fn start(&mut self, now: Instant, index: usize) {
        let Some(tx) = self.clients.get_mut(index) else { return };
        let method = tx.outgoing.method.clone();
        let uri = &tx.record.request_uri;
        let mut request = RequestBuilder::new(&method, uri)
            .header(HeaderName::From, &tx.from)
            .header(HeaderName::To, format!("<{uri}>"))
            .header(HeaderName::CallId, &tx.record.call_id)
            .cseq(tx.record.cseq, &method)
            .max_forwards(70);
        if method == Method::Invite {
            request = request
                .header(HeaderName::Contact, format!("<sip:{}@{}>", self.config.user, self.me));
        }
        tx.record.started_at = Some(now);
        match self.layer.send_request(now, request, tx.outgoing.target, &self.sent_by) {
            Ok(id) => {
                tx.record.id = Some(id);
                self.client_ids.insert(id, index);
            }
            Err(error) => {
                tx.record.refused = Some(error);
                self.emit(AgentEvent::Refused { error });
            }
        }
    }

    fn cancel(&mut self, now: Instant, index: usize) {
        let Some(invite) = self.clients.get(index) else { return };
        let Some(id) = invite.record.id else { return };
        let (target, uri, from) =
            (invite.outgoing.target, invite.record.request_uri.clone(), invite.from.clone());
        let (call_id, cseq) = (invite.record.call_id.clone(), invite.record.cseq);
        match self.layer.cancel(now, id) {
            Ok(cancel_id) => {
                let at = self.clients.len();
                let record = ClientRecord {
                    index: at,
                    method: Method::Cancel,
                    target,
                    request_uri: uri,
                    call_id,
                    cseq,
                    id: Some(cancel_id),
                    branch: None,
                    started_at: Some(now),
                    refused: None,
                    responses: Vec::new(),
                    acks_sent: 0,
                    cancels: Some(index),
                    cancel: None,
                    cancel_refused: None,
                    timeout: None,
                    transport_error: None,
                    terminated_at: None,
                    terminations: 0,
                };
                let outgoing = Outgoing::new(Method::Cancel, target);
                self.clients.push(ClientTx { record, outgoing, from, cancel_scheduled: false });
                self.client_ids.insert(cancel_id, at);
                if let Some(invite) = self.clients.get_mut(index) {
                    invite.record.cancel = Some(at);
                }
            }
            Err(error) => {
                if let Some(invite) = self.clients.get_mut(index) {
                    invite.record.cancel_refused = Some(error);
                }
            }
        }
    }

    fn on_event(&mut self, now: Instant, event: TxEvent) {
        match event {
            TxEvent::Request { id, request, source, transport, cancels, merged_with } => {
                self.on_request(now, id, &request, source, transport, cancels, merged_with);
            }
            TxEvent::Ack { id, request, .. } => self.on_ack(now, id, &request),
            TxEvent::Response { id, response } => self.on_response(now, id, &response),
            TxEvent::Timeout { id, timer } => {
                if let Some(tx) = self.client_mut(id) {
                    tx.record.timeout = Some((now, timer));
                } else if let Some(tx) = self.server_mut(id) {
                    tx.record.timeout = Some((now, timer));
                }
                self.emit(AgentEvent::Timeout { id, timer });
            }
            TxEvent::TransportError { id } => {
                if let Some(tx) = self.client_mut(id) {
                    tx.record.transport_error = Some(now);
                } else if let Some(tx) = self.server_mut(id) {
                    tx.record.transport_errors += 1;
                }
                self.emit(AgentEvent::TransportError { id });
            }
            TxEvent::Terminated { id } => {
                if let Some(tx) = self.client_mut(id) {
                    tx.record.terminated_at.get_or_insert(now);
                    tx.record.terminations += 1;
                } else if let Some(tx) = self.server_mut(id) {
                    tx.record.terminated_at.get_or_insert(now);
                    tx.record.terminations += 1;
                    // The transaction is gone: nothing left to retransmit through.
                    tx.request = None;
                }
                self.emit(AgentEvent::Terminated { id });
            }
            TxEvent::Discarded { reason, .. } => {
                self.discarded.push(reason);
                self.emit(AgentEvent::Discarded { reason });
            }
            // Events a later layer may add: nothing for this TU to do.
            _ => {}
        }
    }

    fn client_mut(&mut self, id: TransactionId) -> Option<&mut ClientTx> {
        let &index = self.client_ids.get(&id)?;
        self.clients.get_mut(index)
    }

    fn server_mut(&mut self, id: TransactionId) -> Option<&mut ServerTx> {
        let &index = self.server_ids.get(&id)?;
        self.servers.get_mut(index)
    }

    #[allow(clippy::too_many_arguments)]
    fn on_request(
        &mut self,
        now: Instant,
        id: TransactionId,
        request: &Message,
        source: SocketAddr,
        transport: Transport,
        cancels: Option<TransactionId>,
        merged_with: Option<TransactionId>,
    ) {
        let Some(method) = request.method().cloned() else { return };
        let index = self.servers.len();
        let call_id = request.call_id().unwrap_or_default().to_owned();
        let cseq = request.cseq().map_or(0, |c| c.seq);
        let branch = request
            .top_via()
            .ok()
            .and_then(|via| via.branch().map(str::to_owned))
            .unwrap_or_default();
        let record = ServerRecord {
            index,
            id,
            method: method.clone(),
            call_id: call_id.clone(),
            cseq,
            branch,
            source,
            transport,
            arrived_at: now,
            cancels,
            merged_with,
            sent: Vec::new(),
            retransmitted_2xx: 0,
            cancelled: false,
            acks: Vec::new(),
            no_ack: false,
            timeout: None,
            transport_errors: 0,
            terminated_at: None,
            terminations: 0,
        };
        let tag = format!("{index}.{:x}", self.seed());
        self.servers.push(ServerTx {
            record,
            request: Some(request.clone()),
            // Decided below, once the request is known to need an answer of its own.
            answer: self.config.non_invite,
            tag,
            ok: None,
            interval: Duration::ZERO,
            give_up: None,
        });
        self.server_ids.insert(id, index);
        if method == Method::Invite {
            self.invites.insert((call_id, cseq), index);
        }
        self.emit(AgentEvent::Request { id, method: method.clone() });

        if method == Method::Cancel {
            self.respond_now(now, index, 200);
            let target = cancels.and_then(|c| self.server_ids.get(&c)).copied();
            if let Some(invite) = target.and_then(|i| self.servers.get_mut(i))
                && invite.request.is_some()
            {
                invite.record.cancelled = true;
                let invite = invite.record.index;
                self.respond_now(now, invite, 487);
            }
            return;
        }
        if merged_with.is_some() {
            self.respond_now(now, index, 482);
            return;
        }
        let answer = match (&mut self.policy, &method) {
            (Some(policy), _) => policy(request),
            (None, Method::Invite) => self.config.invite,
            (None, _) => self.config.non_invite,
        };
        if let Some(tx) = self.servers.get_mut(index) {
            tx.answer = answer;
        }
        if let Some(code) = answer.provisional.filter(|c| (101..200).contains(c)) {
            self.respond(now, index, code, false);
        }
        if answer.delay.is_zero() {
            self.send_final(now, index);
        } else {
            let at = now.checked_add(answer.delay).unwrap_or(now);
            self.at(at, Job::Answer(index));
        }
    }

    /// Sends final `code` on server record `index` at once.
    fn respond_now(&mut self, now: Instant, index: usize, code: u16) {
        self.respond(now, index, code, true);
    }

    /// Sends `code` on server record `index`; a final response uses up the request.
    fn respond(&mut self, now: Instant, index: usize, code: u16, last: bool) {
        let Some(tx) = self.servers.get_mut(index) else { return };
        let Some(request) = (if last { tx.request.take() } else { tx.request.clone() }) else {
            return;
        };
        let id = tx.record.id;
        let reply = request.reply(code).to_tag(&tx.tag);
        let two_xx_to_invite = (200..300).contains(&code) && tx.record.method == Method::Invite;
        let result = if two_xx_to_invite {
            // Keep the 2xx as a message: the TU retransmits it (§13.3.1.4).
            match reply.build() {
                Ok(ok) => {
                    let sent = self.layer.respond(now, id, &ok);
                    if sent.is_ok() && !tx.record.transport.is_reliable() {
                        let t1 = self.config.layer.timers.t1;
                        tx.ok = Some(ok);
                        tx.interval = t1;
                        tx.give_up = now.checked_add(self.config.layer.timers.t1x64());
                    }
                    sent
                }
                Err(e) => Err(TxError::Build(e)),
            }
        } else {
            self.layer.respond(now, id, reply)
        };
        match result {
            Ok(()) => {
                tx.record.sent.push((now, code));
                if tx.ok.is_some() {
                    let interval = tx.interval;
                    self.schedule_2xx(now, index, interval);
                }
            }
            Err(error) => self.refuse(error),
        }
    }

    fn schedule_2xx(&mut self, now: Instant, index: usize, interval: Duration) {
        let Some(tx) = self.servers.get(index) else { return };
        let Some(give_up) = tx.give_up else { return };
        // A zero interval (T1 = 0) would resend forever at one instant: wait out 64·T1.
        let next = now.checked_add(interval).filter(|_| !interval.is_zero());
        let at = next.map_or(give_up, |t| t.min(give_up));
        self.at(at, Job::Resend2xx(index));
    }

    fn send_final(&mut self, now: Instant, index: usize) {
        let Some(tx) = self.servers.get(index) else { return };
        let code = tx.answer.code;
        self.respond(now, index, code, true);
    }

    fn resend_2xx(&mut self, now: Instant, index: usize) {
        let t2 = self.config.layer.timers.t2;
        let Some(tx) = self.servers.get_mut(index) else { return };
        let (Some(ok), Some(give_up)) = (tx.ok.clone(), tx.give_up) else { return };
        let id = tx.record.id;
        if now >= give_up {
            tx.ok = None;
            tx.record.no_ack = true;
            self.emit(AgentEvent::NoAck { id });
            return;
        }
        match self.layer.respond(now, id, &ok) {
            Ok(()) => {
                tx.record.retransmitted_2xx += 1;
                tx.interval = tx.interval.saturating_mul(2).min(t2);
                let interval = tx.interval;
                self.schedule_2xx(now, index, interval);
            }
            Err(error) => {
                tx.ok = None;
                self.refuse(error);
            }
        }
    }

    fn on_ack(&mut self, now: Instant, id: Option<TransactionId>, request: &Message) {
        let by_id = id.and_then(|id| self.server_ids.get(&id)).copied();
        let index = by_id.or_else(|| {
            let call_id = request.call_id().ok()?.to_owned();
            let cseq = request.cseq().ok()?.seq;
            self.invites.get(&(call_id, cseq)).copied()
        });
        let answered_2xx = |tx: &&mut ServerTx| tx.record.final_code().is_some_and(|c| c < 300);
        match index.and_then(|i| self.servers.get_mut(i)).filter(answered_2xx) {
            Some(tx) => {
                tx.record.acks.push(now);
                tx.ok = None;
            }
            None => self.stray_acks += 1,
        }
        self.emit(AgentEvent::Ack { id });
    }

    fn on_response(&mut self, now: Instant, id: TransactionId, response: &Message) {
        let code = response.status().unwrap_or_default();
        let Some(&index) = self.client_ids.get(&id) else { return };
        let Some(tx) = self.clients.get_mut(index) else { return };
        tx.record.responses.push((now, code));
        let method = tx.record.method.clone();
        self.emit(AgentEvent::Response { id, method: method.clone(), code });
        if method != Method::Invite {
            return;
        }
        match code {
            100..=199 => {
                let Some(tx) = self.clients.get_mut(index) else { return };
                if let Some(after) = tx.outgoing.cancel_after
                    && !tx.cancel_scheduled
                {
                    tx.cancel_scheduled = true;
                    let at = now.checked_add(after).unwrap_or(now);
                    self.at(at, Job::Cancel(index));
                }
            }
            200..=299 => self.ack_2xx(index, response),
            _ => {}
        }
    }

    /// Sends the ACK for a 2xx that reached the TU (§13.2.2.4): a new transaction each
    /// time, so a retransmitted 2xx gets its own ACK.
    fn ack_2xx(&mut self, index: usize, response: &Message) {
        let Some(tx) = self.clients.get_mut(index) else { return };
        let to = response.header(HeaderName::To).unwrap_or_default();
        let ack = RequestBuilder::new(&Method::Ack, &tx.record.request_uri)
            .header(HeaderName::From, &tx.from)
            .header(HeaderName::To, to)
            .header(HeaderName::CallId, &tx.record.call_id)
            .cseq(tx.record.cseq, &Method::Ack)
            .max_forwards(70);
        match self.layer.send_ack(ack, tx.outgoing.target, &self.sent_by) {
            Ok(()) => tx.record.acks_sent += 1,
            Err(error) => self.refuse(error),
        }
    }
}

impl Node for Agent {
    type Event = AgentEvent;

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        transport: Transport,
        payload: Bytes,
    ) {
        self.layer.handle_datagram(now, source, transport, payload);
        self.pump(now);
    }

    fn handle_send_failed(&mut self, now: Instant, transmit: &sipwire::Transmit) {
        if let Some(id) = transmit.transaction {
            self.layer.handle_send_failed(now, id);
            self.pump(now);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.pump(now);
        self.run_jobs(now);
    }

    fn poll_output(&mut self) -> Option<Output<AgentEvent>> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let job = self.jobs.keys().next().map(|&(at, _)| at);
        match (self.layer.poll_timeout(), job) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
