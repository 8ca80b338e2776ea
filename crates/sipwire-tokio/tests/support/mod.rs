//! A scripted caller on loopback: raw sockets, hand-written requests, and a reader that
//! waits (boundedly) for the next response.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use sipwire::transaction::Timers;
use sipwire::{Frame, KeepAliveRole, Message, ParseOptions, StreamFramer};
use sipwire_tokio::{Config, Endpoint, Incoming, Options};
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

    /// The 200 to a BYE the server sent.
    pub fn ok_to(request: &Message) -> String {
        let mut out = String::from("SIP/2.0 200 OK\r\n");
        for h in request.headers() {
            let name = h.raw_name();
            if ["Via", "From", "To", "Call-ID", "CSeq"].iter().any(|n| n.eq_ignore_ascii_case(name))
            {
                out.push_str(&format!("{name}: {}\r\n", String::from_utf8_lossy(h.value())));
            }
        }
        out.push_str("Content-Length: 0\r\n\r\n");
        out
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
