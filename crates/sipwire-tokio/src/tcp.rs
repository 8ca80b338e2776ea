//! TCP flows: a [`Decoder`] over the core's [`StreamFramer`] for `FramedRead`, and the task
//! that runs one connection (read half → driver, driver → write half).

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use sipwire::{Frame, KeepAliveRole, ParseOptions, StreamFramer, TransactionId};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::{Decoder, FramedRead};

/// The adapter's TCP limits, shared by every flow task.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) parse: ParseOptions,
    pub(crate) idle: Duration,
    pub(crate) connect: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_queued_bytes: usize,
}

/// A message for the peer, and its transaction to report if it cannot be written.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) payload: Bytes,
    pub(crate) transaction: Option<TransactionId>,
}

/// What a flow task tells the driver.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// A whole message, framed.
    Message { peer: SocketAddr, payload: Bytes },
    /// An RFC 5626 double-CRLF ping, to answer with a CRLF.
    Ping { peer: SocketAddr, id: u64 },
    /// This message could not be written.
    SendFailed(Option<TransactionId>),
    /// The flow is closed (end of stream, error, lost framing, stalled partial message).
    Closed { peer: SocketAddr, id: u64 },
}

/// Frames SIP messages with the core's framer. `FramedRead` reads into its own buffer;
/// each chunk is moved into the framer at once, so the framer sees every byte exactly once
/// and its message buffers are handed out without a further copy.
#[derive(Debug)]
pub(crate) struct SipCodec {
    framer: StreamFramer,
    /// When the bytes of a message not yet complete started to wait.
    partial_since: Option<Instant>,
}

impl SipCodec {
    pub(crate) fn new(options: ParseOptions, role: KeepAliveRole) -> Self {
        Self { framer: StreamFramer::new(options, role), partial_since: None }
    }
}

impl Decoder for SipCodec {
    type Item = Frame;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, io::Error> {
        if !src.is_empty() {
            self.framer.push(src);
            src.clear();
        }
        // A framing error loses the flow's framing for good: the caller closes it.
        let frame =
            self.framer.next_frame().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if self.framer.buffered() == 0 {
            self.partial_since = None;
        } else if frame.is_some() {
            self.partial_since = Some(Instant::now()); // the next message has begun
        } else {
            self.partial_since.get_or_insert_with(Instant::now);
        }
        Ok(frame)
    }
}

/// One connection, for its task.
#[derive(Debug)]
pub(crate) struct Flow {
    pub(crate) peer: SocketAddr,
    pub(crate) id: u64,
    /// An accepted connection, or `None` to open one to `peer`.
    pub(crate) stream: Option<TcpStream>,
    pub(crate) outgoing: mpsc::UnboundedReceiver<Outgoing>,
    pub(crate) queued: Arc<AtomicUsize>,
    pub(crate) events: mpsc::Sender<ConnEvent>,
    pub(crate) settings: Arc<Settings>,
}

/// Runs one connection until either half ends, then reports what could not be written
/// and the close.
pub(crate) async fn run(flow: Flow) {
    let Flow { peer, id, stream, mut outgoing, queued, events, settings } = flow;
    let (stream, role) = match stream {
        Some(s) => (Some(s), KeepAliveRole::Server),
        None => {
            let connect = tokio::time::timeout(settings.connect, TcpStream::connect(peer));
            (connect.await.ok().and_then(Result::ok), KeepAliveRole::Client)
        }
    };
    if let Some(stream) = stream {
        let _ = stream.set_nodelay(true);
        let (r, w) = stream.into_split();
        tokio::select! {
            () = read(r, peer, id, role, &events, &settings) => {}
            () = write(w, &mut outgoing, &queued, &events) => {}
        }
    }
    outgoing.close();
    while let Ok(out) = outgoing.try_recv() {
        let _ = events.send(ConnEvent::SendFailed(out.transaction)).await;
    }
    let _ = events.send(ConnEvent::Closed { peer, id }).await;
}

/// Frames what the peer sends and hands it to the driver, until the end of the stream,
/// an error, lost framing, or a partial message older than the idle timeout.
async fn read(
    r: OwnedReadHalf,
    peer: SocketAddr,
    id: u64,
    role: KeepAliveRole,
    events: &mpsc::Sender<ConnEvent>,
    settings: &Settings,
) {
    let mut framed = FramedRead::new(r, SipCodec::new(settings.parse, role));
    loop {
        let deadline = framed.decoder().partial_since.map(|t| t + settings.idle);
        // `FramedRead` keeps its state between polls, so losing this race loses nothing;
        // without a partial message the sleep only re-checks whether one has begun.
        let item = tokio::select! {
            item = next(&mut framed) => item,
            () = tokio::time::sleep_until(deadline.unwrap_or_else(|| Instant::now() + settings.idle)) => {
                if deadline.is_some() {
                    return;
                }
                continue;
            }
        };
        let event = match item {
            Some(Ok(Frame::Message(m))) => ConnEvent::Message { peer, payload: m.to_bytes() },
            Some(Ok(Frame::Ping)) => ConnEvent::Ping { peer, id },
            Some(Ok(_)) => continue, // a pong
            Some(Err(_)) | None => return,
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// Writes the driver's messages in order until the driver drops the queue (then closes
/// the write side) or a write fails.
async fn write(
    mut w: OwnedWriteHalf,
    outgoing: &mut mpsc::UnboundedReceiver<Outgoing>,
    queued: &AtomicUsize,
    events: &mpsc::Sender<ConnEvent>,
) {
    while let Some(out) = outgoing.recv().await {
        let written = w.write_all(&out.payload).await;
        queued.fetch_sub(out.payload.len(), Ordering::Relaxed);
        if written.is_err() {
            let _ = events.send(ConnEvent::SendFailed(out.transaction)).await;
            return;
        }
    }
    let _ = w.shutdown().await;
}

fn next<S: Stream + Unpin>(s: &mut S) -> impl Future<Output = Option<S::Item>> + '_ {
    poll_fn(move |cx| Pin::new(&mut *s).poll_next(cx))
}
