//! A scripted caller on loopback: raw sockets, hand-written requests, and a reader that
//! waits (boundedly) for the next response.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::transaction::Timers;
use sipwire::{Frame, KeepAliveRole, Message, ParseOptions, StreamFramer};
use sipwire_tokio::{AcceptOptions, Config, Endpoint, Event, Incoming, Options, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// T1 in the tests: short, so that "nothing more comes" is quick to show.
pub const T1: Duration = Duration::from_millis(50);

pub const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                       m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

pub const ANSWER: &str = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                          m=audio 10000 RTP/AVP 0\r\n";

/// Binds an endpoint on loopback, port 0, with a fixed seed and a short T1.
pub async fn endpoint(options: Options) -> (Endpoint, Incoming) {
    Endpoint::bind(options.seed(7), |local| {
        let mut timers = Timers::DEFAULT;
        timers.t1 = T1;
        Config::new(&format!("sip:bob@{local}")).with_timers(timers)
    })
    .await
    .expect("bind on loopback")
}

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Requests of one call from `local` to `server`.
#[derive(Debug, Clone)]
pub struct Call {
    pub id: String,
    pub local: SocketAddr,
    pub server: SocketAddr,
    pub transport: &'static str,
}

impl Call {
    pub fn new(id: &str, local: SocketAddr, server: SocketAddr, transport: &'static str) -> Self {
        Self { id: id.to_owned(), local, server, transport }
    }

    fn head(&self, method: &str, branch: &str, to_tag: Option<&str>, cseq: u32) -> String {
        let (local, server, id, t) = (self.local, self.server, &self.id, self.transport);
        let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        format!(
            "{method} sip:bob@{server} SIP/2.0\r\n\
             Via: SIP/2.0/{t} {local};branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@{local}>;tag=alice-{id}\r\n\
             To: <sip:bob@{server}>{to_tag}\r\n\
             Call-ID: {id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:alice@{local};transport={t}>\r\n"
        )
    }

    pub fn invite(&self) -> String {
        let head = self.head("INVITE", &format!("{}-1", self.id), None, 1);
        format!("{head}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}", SDP.len())
    }

    /// The ACK of a non-2xx: part of the INVITE transaction (same branch).
    pub fn ack_error(&self, to_tag: &str) -> String {
        let head = self.head("ACK", &format!("{}-1", self.id), Some(to_tag), 1);
        format!("{head}Content-Length: 0\r\n\r\n")
    }

    /// The ACK of a 2xx: a transaction of its own.
    pub fn ack(&self, to_tag: &str) -> String {
        let head = self.head("ACK", &format!("{}-ack", self.id), Some(to_tag), 1);
        format!("{head}Content-Length: 0\r\n\r\n")
    }

    pub fn cancel(&self) -> String {
        let head = self.head("CANCEL", &format!("{}-1", self.id), None, 1);
        format!("{head}Content-Length: 0\r\n\r\n")
    }

    pub fn bye(&self, to_tag: &str) -> String {
        let head = self.head("BYE", &format!("{}-bye", self.id), Some(to_tag), 2);
        format!("{head}Content-Length: 0\r\n\r\n")
    }

    /// A request of the caller's inside the dialog (`to_tag` is the server's tag), with
    /// its own branch, extra header lines and an optional `(content type, body)`.
    pub fn in_dialog(
        &self,
        method: &str,
        cseq: u32,
        to_tag: &str,
        extra: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> String {
        let branch = format!("{}-{}-{cseq}", self.id, method.to_ascii_lowercase());
        self.in_dialog_on(&branch, method, cseq, to_tag, extra, body)
    }

    /// As [`in_dialog`](Self::in_dialog), on branch `z9hG4bK<branch>`: a CANCEL, or the
    /// ACK of a non-2xx, takes the branch of the request it is about
    /// (`<call id>-<method, lower case>-<cseq>` for those from `in_dialog`).
    pub fn in_dialog_on(
        &self,
        branch: &str,
        method: &str,
        cseq: u32,
        to_tag: &str,
        extra: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> String {
        let mut out = self.head(method, branch, Some(to_tag), cseq);
        for (name, value) in extra {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        match body {
            Some((ct, body)) => out.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => out.push_str("Content-Length: 0\r\n\r\n"),
        }
        out
    }

    /// The 200 to a BYE the server sent.
    pub fn ok_to(request: &Message) -> String {
        Self::reply(request, "200 OK", None, None)
    }

    /// A response to a request the server sent: its Via, From, To, Call-ID and CSeq,
    /// then `contact` (a URI) and `(content type, body)` if given.
    pub fn reply(
        request: &Message,
        status: &str,
        contact: Option<&str>,
        body: Option<(&str, &str)>,
    ) -> String {
        let mut out = format!("SIP/2.0 {status}\r\n");
        for h in request.headers() {
            let name = h.raw_name();
            if ["Via", "From", "To", "Call-ID", "CSeq"].iter().any(|n| n.eq_ignore_ascii_case(name))
            {
                out.push_str(&format!("{name}: {}\r\n", String::from_utf8_lossy(h.value())));
            }
        }
        if let Some(contact) = contact {
            out.push_str(&format!("Contact: <{contact}>\r\n"));
        }
        match body {
            Some((ct, body)) => out.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => out.push_str("Content-Length: 0\r\n\r\n"),
        }
        out
    }

    /// The caller's Contact URI.
    pub fn contact(&self) -> String {
        format!("sip:alice@{};transport={}", self.local, self.transport)
    }
}

/// Returns the To tag of a response.
pub fn to_tag(m: &Message) -> String {
    m.to_tag().expect("a To header").expect("a To tag").to_owned()
}

/// The caller's side over UDP.
#[derive(Debug)]
pub struct UdpPeer {
    pub socket: UdpSocket,
    pub server: SocketAddr,
    seen: Vec<Vec<u8>>,
}

impl UdpPeer {
    pub async fn new(server: SocketAddr) -> Self {
        let socket = UdpSocket::bind(loopback()).await.expect("bind");
        Self { socket, server, seen: Vec::new() }
    }

    pub fn local(&self) -> SocketAddr {
        self.socket.local_addr().expect("local addr")
    }

    pub async fn send(&self, message: &str) {
        self.socket.send_to(message.as_bytes(), self.server).await.expect("send");
    }

    /// Returns the next message that is not a retransmission of one already seen, or
    /// `None` if nothing new comes within `within`.
    pub async fn next_within(&mut self, within: Duration) -> Option<Message> {
        let mut buf = vec![0; 65_536];
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (n, _) = tokio::time::timeout_at(deadline, self.socket.recv_from(&mut buf))
                .await
                .ok()?
                .expect("recv");
            let bytes = buf[..n].to_vec();
            if self.seen.contains(&bytes) {
                continue;
            }
            self.seen.push(bytes.clone());
            return Some(Message::parse(bytes).expect("the endpoint sends valid SIP"));
        }
    }

    /// Returns the next new message, failing the test if none comes within [`WAIT`].
    pub async fn next(&mut self) -> Message {
        self.next_within(WAIT).await.expect("a message within the bound")
    }

    /// Returns the next new message, asserting its status.
    pub async fn expect(&mut self, status: u16) -> Message {
        let m = self.next().await;
        assert_eq!(m.status(), Some(status), "got {}", String::from_utf8_lossy(m.as_bytes()));
        m
    }
}

/// The caller's side over TCP, framing responses with the core's framer.
#[derive(Debug)]
pub struct TcpPeer {
    pub stream: TcpStream,
    framer: StreamFramer,
}

impl TcpPeer {
    pub async fn connect(server: SocketAddr) -> Self {
        let stream = TcpStream::connect(server).await.expect("connect");
        let framer = StreamFramer::new(ParseOptions::DEFAULT, KeepAliveRole::Client);
        Self { stream, framer }
    }

    pub fn local(&self) -> SocketAddr {
        self.stream.local_addr().expect("local addr")
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    pub async fn next(&mut self) -> Message {
        let wait = async {
            loop {
                match self.framer.next_frame().expect("the endpoint frames correctly") {
                    Some(Frame::Message(m)) => return m,
                    Some(_) => continue,
                    None => {}
                }
                let n = self.stream.read_buf(self.framer.buffer_mut()).await.expect("read");
                assert!(n > 0, "the endpoint closed the connection");
            }
        };
        tokio::time::timeout(WAIT, wait).await.expect("a message within the bound")
    }

    pub async fn expect(&mut self, status: u16) -> Message {
        let m = self.next().await;
        assert_eq!(m.status(), Some(status), "got {}", String::from_utf8_lossy(m.as_bytes()));
        m
    }

    /// Waits until the endpoint closes the connection (a read of 0 bytes or an error);
    /// returns whether it did within `within`.
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let mut buf = [0u8; 4096];
        let wait = async {
            loop {
                match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        tokio::time::timeout(within, wait).await.is_ok()
    }
}

/// A call over UDP, answered and ACKed: the session is Established and has taken the
/// `Acked` event.
#[derive(Debug)]
pub struct Established {
    pub ep: Endpoint,
    pub incoming: Incoming,
    pub peer: UdpPeer,
    pub call: Call,
    /// The server's To tag.
    pub tag: String,
    pub session: Session,
}

/// Sets up an [`Established`] call with Call-ID `id`; the 200 to the INVITE carries
/// [`ANSWER`].
pub async fn established(id: &str) -> Established {
    let (ep, mut incoming) = endpoint(Options::udp(loopback())).await;
    let mut peer = UdpPeer::new(ep.local_addr()).await;
    let call = Call::new(id, peer.local(), ep.local_addr(), "UDP");
    peer.send(&call.invite()).await;
    peer.expect(100).await;
    let tag = to_tag(&peer.expect(180).await);
    let invitation = tokio::time::timeout(WAIT, incoming.next()).await.unwrap().expect("invited");
    let answer = AcceptOptions::new().body("application/sdp", ANSWER);
    let mut session =
        tokio::time::timeout(WAIT, invitation.accept(answer)).await.unwrap().expect("accepted");
    peer.expect(200).await;
    peer.send(&call.ack(&tag)).await;
    next_event(&mut session, |e| matches!(e, Event::Acked { .. }).then_some(())).await;
    Established { ep, incoming, peer, call, tag, session }
}

/// Returns what `pick` makes of the first event it takes, skipping the others; fails the
/// test if the session ends, or nothing fits within [`WAIT`].
pub async fn next_event<T>(session: &mut Session, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    let wait = async {
        loop {
            let event = session.next_event().await.expect("the session ended first");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    };
    tokio::time::timeout(WAIT, wait).await.expect("the event within the bound")
}
