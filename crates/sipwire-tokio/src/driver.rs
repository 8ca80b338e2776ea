//! The driver task: the one owner of the core [`sipwire::Endpoint`], its sockets and its
//! timer. Everything else talks to it through channels.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use sipwire::ua::{
    AcceptOptions, Event, InvitationId, ProgressOptions, RedirectOptions, RejectOptions, RequestId,
    RequestOptions, ResponseOptions,
};
use sipwire::{Input, Output, Transmit, Transport};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::error::Error;
use crate::handles::Invitation;
use crate::tcp::{self, ConnEvent, Flow, Outgoing, Settings};

/// Returns the adapter's clock. Adapters own the clock; tokio's (rather than
/// `std::time::Instant::now`) so that tests with paused time move it too.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What a handle asks of the driver.
#[derive(Debug)]
pub(crate) enum Command {
    /// Run `action` on invitation `id`; the verdict goes to `reply`, if anyone still waits.
    Act { id: InvitationId, action: Action, reply: oneshot::Sender<Result<(), Error>> },
    /// Send `request` in the dialog of invitation `id`; its id or the refusal goes to `reply`.
    Send { id: InvitationId, request: InDialog, reply: oneshot::Sender<Result<RequestId, Error>> },
    /// SIP.js `dispose`, from a dropped handle: nobody waits for the verdict.
    Dispose(InvitationId),
    /// The core's retransmission count.
    Retransmissions(oneshot::Sender<u64>),
    /// Dispose of every live call, send what that produces, and stop.
    Shutdown,
}

/// The commands of the core's `Invitation` view.
#[derive(Debug)]
pub(crate) enum Action {
    Progress(ProgressOptions),
    Accept(AcceptOptions),
    Reject(RejectOptions),
    Redirect(Vec<String>, RedirectOptions),
    Bye,
    Respond(RequestId, ResponseOptions),
    Ack(RequestId, RequestOptions),
}

/// The commands of the core's `Invitation` view that start a request in the dialog.
#[derive(Debug)]
pub(crate) enum InDialog {
    ReInvite(RequestOptions),
    Update(RequestOptions),
    Info(RequestOptions),
    Message(RequestOptions),
    Refer(String, RequestOptions),
    Notify(RequestId, u16, RequestOptions),
}

/// One open TCP flow, keyed by the peer's address.
#[derive(Debug)]
struct Conn {
    /// Tells this flow's events from those of an earlier flow with the same peer.
    id: u64,
    queue: mpsc::UnboundedSender<Outgoing>,
    queued: Arc<AtomicUsize>,
    task: AbortHandle,
}

/// What woke the driver.
#[derive(Debug)]
enum Wake {
    Command(Command),
    Datagram(io::Result<(usize, SocketAddr)>),
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Flow(ConnEvent),
    Timer,
}

/// The driver: owns the core and every socket; runs until [`Command::Shutdown`].
#[derive(Debug)]
pub(crate) struct Driver {
    ep: sipwire::Endpoint,
    udp: Option<UdpSocket>,
    listener: Option<TcpListener>,
    /// After a failed `accept` (out of file descriptors, say), when to try again.
    accept_after: Option<tokio::time::Instant>,
    tcp_enabled: bool,
    buf: Box<[u8]>,
    commands_tx: mpsc::UnboundedSender<Command>,
    commands: mpsc::UnboundedReceiver<Command>,
    incoming: mpsc::UnboundedSender<Invitation>,
    /// The event channel of every invitation the application holds a handle to.
    routes: HashMap<InvitationId, mpsc::UnboundedSender<Event>>,
    conns: HashMap<SocketAddr, Conn>,
    next_conn: u64,
    flow_tx: mpsc::Sender<ConnEvent>,
    flows: mpsc::Receiver<ConnEvent>,
    settings: Arc<Settings>,
}

/// What [`Driver::new`] needs besides the core.
#[derive(Debug)]
pub(crate) struct Parts {
    pub(crate) udp: Option<UdpSocket>,
    pub(crate) listener: Option<TcpListener>,
    pub(crate) commands_tx: mpsc::UnboundedSender<Command>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) incoming: mpsc::UnboundedSender<Invitation>,
    pub(crate) settings: Settings,
}

impl Driver {
    pub(crate) fn new(ep: sipwire::Endpoint, parts: Parts) -> Self {
        // Bounded, so that a TCP peer faster than the core is slowed by TCP itself.
        let (flow_tx, flows) = mpsc::channel(256);
        Self {
            ep,
            tcp_enabled: parts.listener.is_some(),
            udp: parts.udp,
            listener: parts.listener,
            accept_after: None,
            buf: vec![0; 65_536].into_boxed_slice(),
            commands_tx: parts.commands_tx,
            commands: parts.commands,
            incoming: parts.incoming,
            routes: HashMap::new(),
            conns: HashMap::new(),
            next_conn: 0,
            flow_tx,
            flows,
            settings: Arc::new(parts.settings),
        }
    }

    /// Runs the loop: wait for whatever comes first, feed it to the core, drain the core's
    /// outputs, re-arm the one timer from `poll_timeout`.
    pub(crate) async fn run(mut self) {
        let timer = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(timer);
        loop {
            let deadline = self.ep.poll_timeout();
            if let Some(at) = deadline {
                timer.as_mut().reset(tokio::time::Instant::from_std(at));
            }
            // Every branch is cancellation-safe: a branch that loses the race loses nothing.
            let wake = tokio::select! {
                Some(command) = self.commands.recv() => Wake::Command(command),
                r = recv_datagram(self.udp.as_ref(), &mut self.buf) => Wake::Datagram(r),
                r = accept(self.listener.as_ref(), self.accept_after) => Wake::Accepted(r),
                Some(event) = self.flows.recv() => Wake::Flow(event),
                () = &mut timer, if deadline.is_some() => Wake::Timer,
            };
            let now = now();
            match wake {
                Wake::Command(Command::Shutdown) => return self.shutdown(now).await,
                Wake::Command(command) => self.command(now, command),
                Wake::Datagram(Ok((n, peer))) => {
                    let payload = Bytes::copy_from_slice(self.buf.get(..n).unwrap_or_default());
                    self.ep.handle_input(now, Input::received(peer, Transport::Udp, payload));
                }
                // An unconnected UDP socket may report an earlier ICMP error here; the
                // transactions find out by their own timers.
                Wake::Datagram(Err(_)) => {}
                Wake::Accepted(Ok((stream, peer))) => {
                    self.accept_after = None;
                    self.accepted(stream, peer);
                }
                // Such errors tend to repeat at once: back off rather than spin.
                Wake::Accepted(Err(_)) => {
                    self.accept_after =
                        Some(tokio::time::Instant::now() + std::time::Duration::from_millis(100));
                }
                Wake::Flow(event) => self.flow_event(now, event),
                Wake::Timer => self.ep.handle_timeout(now),
            }
            self.drain().await;
        }
    }

    /// Sends and routes everything the core has to say, until it is quiet.
    async fn drain(&mut self) {
        while let Some(output) = self.ep.poll_output() {
            match output {
                Output::Transmit(t) => self.transmit(t).await,
                Output::Event(event) => self.route(event),
            }
        }
    }

    async fn transmit(&mut self, t: Transmit) {
        let sent = match t.transport {
            Transport::Udp => match &self.udp {
                Some(udp) => udp.send_to(&t.payload, t.destination).await.is_ok(),
                None => false,
            },
            Transport::Tcp => self.send_tcp(t.destination, t.payload, t.transaction),
            // TLS, WebSocket …: this adapter has no such flows.
            _ => false,
        };
        if !sent {
            self.ep.handle_input(now(), Input::SendFailed { transaction: t.transaction });
        }
    }

    /// Queues `payload` on the flow to `peer`, opening one if there is none.
    fn send_tcp(
        &mut self,
        peer: SocketAddr,
        payload: Bytes,
        transaction: Option<sipwire::TransactionId>,
    ) -> bool {
        if !self.conns.contains_key(&peer) {
            if !self.tcp_enabled || self.conns.len() >= self.settings.max_connections {
                return false;
            }
            self.open(peer, None);
        }
        let Some(conn) = self.conns.get(&peer) else { return false };
        let len = payload.len();
        if conn.queued.load(Ordering::Relaxed) + len > self.settings.max_queued_bytes {
            // The peer does not read: give up on the flow rather than buffer without end.
            self.close(peer);
            return false;
        }
        conn.queued.fetch_add(len, Ordering::Relaxed);
        // If the task has just ended, its `Closed` is on the way and will tell the core.
        conn.queue.send(Outgoing { payload, transaction }).is_ok()
    }

    /// Starts the task of a flow: accepted (`stream`) or to be opened to `peer`.
    fn open(&mut self, peer: SocketAddr, stream: Option<TcpStream>) {
        let id = self.next_conn;
        self.next_conn += 1;
        let (queue, outgoing) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let flow = Flow {
            peer,
            id,
            stream,
            outgoing,
            queued: Arc::clone(&queued),
            events: self.flow_tx.clone(),
            settings: Arc::clone(&self.settings),
        };
        let task = tokio::spawn(tcp::run(flow)).abort_handle();
        if let Some(old) = self.conns.insert(peer, Conn { id, queue, queued, task }) {
            old.task.abort();
        }
    }

    /// Cuts the flow to `peer` at once and tells the core.
    fn close(&mut self, peer: SocketAddr) {
        if let Some(conn) = self.conns.remove(&peer) {
            conn.task.abort();
            self.ep.handle_input(now(), Input::FlowClosed { peer, transport: Transport::Tcp });
        }
    }

    fn accepted(&mut self, stream: TcpStream, peer: SocketAddr) {
        if self.conns.len() >= self.settings.max_connections {
            return; // dropping the stream closes it
        }
        self.open(peer, Some(stream));
    }

    fn flow_event(&mut self, now: Instant, event: ConnEvent) {
        match event {
            ConnEvent::Message { peer, payload } => {
                self.ep.handle_input(now, Input::received(peer, Transport::Tcp, payload));
            }
            ConnEvent::Ping { peer, id } => {
                if self.conns.get(&peer).is_some_and(|c| c.id == id) {
                    let _ = self.send_tcp(peer, Bytes::from_static(b"\r\n"), None);
                }
            }
            ConnEvent::SendFailed(transaction) => {
                self.ep.handle_input(now, Input::SendFailed { transaction });
            }
            ConnEvent::Closed { peer, id } => {
                if self.conns.get(&peer).is_some_and(|c| c.id == id) {
                    self.conns.remove(&peer);
                    self.ep
                        .handle_input(now, Input::FlowClosed { peer, transport: Transport::Tcp });
                }
            }
        }
    }

    fn command(&mut self, now: Instant, command: Command) {
        match command {
            Command::Act { id, action, reply } => {
                let verdict = match self.ep.invitation(id) {
                    None => Err(Error::Gone),
                    Some(mut inv) => match action {
                        Action::Progress(o) => inv.progress(now, o),
                        Action::Accept(o) => inv.accept(now, o),
                        Action::Reject(o) => inv.reject(now, o),
                        Action::Redirect(contacts, o) => {
                            let contacts: Vec<&str> = contacts.iter().map(String::as_str).collect();
                            inv.redirect(now, &contacts, o)
                        }
                        Action::Bye => inv.bye(now),
                        Action::Respond(request, o) => inv.respond(now, request, o),
                        Action::Ack(request, o) => inv.ack(now, request, o),
                    }
                    .map_err(Error::from),
                };
                // The caller may have dropped its future: the command stands all the same.
                let _ = reply.send(verdict);
            }
            Command::Send { id, request, reply } => {
                let verdict = match self.ep.invitation(id) {
                    None => Err(Error::Gone),
                    Some(mut inv) => match request {
                        InDialog::ReInvite(o) => inv.re_invite(now, o),
                        InDialog::Update(o) => inv.update(now, o),
                        InDialog::Info(o) => inv.info(now, o),
                        InDialog::Message(o) => inv.message(now, o),
                        InDialog::Refer(refer_to, o) => inv.refer(now, &refer_to, o),
                        InDialog::Notify(refer, status, o) => inv.notify(now, refer, status, o),
                    }
                    .map_err(Error::from),
                };
                let _ = reply.send(verdict);
            }
            Command::Dispose(id) => {
                if let Some(mut inv) = self.ep.invitation(id) {
                    let _ = inv.dispose(now);
                }
            }
            Command::Retransmissions(reply) => {
                let _ = reply.send(self.ep.retransmissions());
            }
            Command::Shutdown => {}
        }
    }

    /// Hands an event to whoever holds the invitation it is about.
    fn route(&mut self, event: Event) {
        if let Event::Invitation { id } = event {
            return self.offer(id);
        }
        // Discarded messages, and events about no invitation: nobody to tell.
        let Some(id) = event.invitation() else { return };
        let last = matches!(event, Event::Terminated { .. });
        let delivered = self.routes.get(&id).is_some_and(|r| r.send(event).is_ok());
        if last || !delivered {
            self.routes.remove(&id);
        }
    }

    /// Gives the application a handle on a new invitation.
    fn offer(&mut self, id: InvitationId) {
        let Some(inv) = self.ep.invitation(id) else { return };
        let request = Box::new(inv.request().clone());
        let rel100 = inv.rel100();
        let source = inv.uas().source();
        let (events_tx, events) = mpsc::unbounded_channel();
        self.routes.insert(id, events_tx);
        let handle = Invitation::new(id, self.commands_tx.clone(), events, request, rel100, source);
        // With nobody listening the handle comes back and is dropped here, which disposes
        // of the invitation (480) through the command channel.
        let _ = self.incoming.send(handle);
    }

    /// Disposes of every call the application still holds (480 or BYE), sends what that
    /// produces, and lets every flow write out its queue and close.
    async fn shutdown(mut self, now: Instant) {
        let live: Vec<InvitationId> = self.routes.keys().copied().collect();
        for id in live {
            if let Some(mut inv) = self.ep.invitation(id) {
                let _ = inv.dispose(now);
            }
        }
        self.drain().await;
        // Dropping `self` closes the sockets, every handle's event channel and every
        // flow's queue; each flow task writes what is queued, then closes.
    }
}

async fn recv_datagram(udp: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match udp {
        Some(udp) => udp.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn accept(
    listener: Option<&TcpListener>,
    after: Option<tokio::time::Instant>,
) -> io::Result<(TcpStream, SocketAddr)> {
    let Some(listener) = listener else { return std::future::pending().await };
    if let Some(at) = after {
        tokio::time::sleep_until(at).await;
    }
    listener.accept().await
}
