//! The std driver over real loopback sockets: a scripted caller on one side, a `Driver`
//! answering in a thread on the other. Every wait is bounded by a socket timeout; nothing
//! asserts on elapsed time.

// A test of an adapter: it opens sockets and spawns the driver's thread.
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use sipwire::ua::{AcceptOptions, Config, Event};
use sipwire::{Message, Transport};
use sipwire_std::{Driver, Options, Stats, Step, Stopper};

const WAIT: Duration = Duration::from_secs(5);

/// What the answering thread saw, once stopped.
#[derive(Debug)]
struct Report {
    events: Vec<Event>,
    stats: Stats,
    transactions: usize,
    invitations: usize,
    max_transactions_seen: usize,
}

/// Starts a driver that accepts every invitation at once, in a thread.
fn answerer(
    options: Options,
    tune: impl FnOnce(&mut Config) + Send + 'static,
) -> (SocketAddr, Stopper, JoinHandle<Report>) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let mut driver = Driver::bind(options.seed(7), |local| {
            let mut config = Config::new(&format!("sip:answer@{local}"));
            tune(&mut config);
            config
        })
        .expect("bind");
        let local = driver
            .local_addr(Transport::Udp)
            .or_else(|| driver.local_addr(Transport::Tcp))
            .expect("bound");
        tx.send((local, driver.stopper())).expect("test alive");
        let mut events = Vec::new();
        let mut max_transactions_seen = 0;
        loop {
            max_transactions_seen =
                max_transactions_seen.max(driver.endpoint().transaction_count());
            match driver.next_event(None).expect("poll") {
                Step::Event(Event::Invitation { id }) => {
                    let now = driver.now();
                    let mut invitation = driver.invitation(id).expect("live");
                    invitation
                        .accept(now, AcceptOptions::new().body("application/sdp", "v=0\r\n"))
                        .expect("accept");
                    events.push(Event::Invitation { id });
                }
                Step::Event(Event::Discarded { .. }) => {} // the floods make many
                Step::Event(e) => events.push(e),
                Step::Deadline => {}
                Step::Stopped => break,
            }
        }
        let ep = driver.endpoint();
        Report {
            events,
            stats: driver.stats(),
            transactions: ep.transaction_count(),
            invitations: ep.invitation_count(),
            max_transactions_seen,
        }
    });
    let (addr, stopper) = rx.recv_timeout(WAIT).expect("driver started");
    (addr, stopper, handle)
}

fn request(method: &str, via: &str, call_id: &str, cseq: u32, to_tag: &str, body: &str) -> String {
    let cl = body.len();
    format!(
        "{method} sip:answer@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{via};branch=z9hG4bK{call_id}{method}{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=c1\r\nTo: <sip:answer@127.0.0.1>{to_tag}\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@127.0.0.1>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {cl}\r\n\r\n{body}"
    )
}

fn udp_caller() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.set_read_timeout(Some(WAIT)).expect("timeout");
    socket
}

fn recv(socket: &UdpSocket) -> Message {
    let mut buf = vec![0; 65_535];
    let (n, _) = socket.recv_from(&mut buf).expect("a response in time");
    Message::parse(buf[..n].to_vec()).expect("parses")
}

/// Receives until a response with `code` (skipping others).
fn recv_code(socket: &UdpSocket, code: u16) -> Message {
    loop {
        let m = recv(socket);
        if m.status() == Some(code) {
            return m;
        }
    }
}

#[test]
fn a_udp_call_is_answered_acked_and_ended_by_the_callers_bye() {
    let (addr, stopper, handle) =
        answerer(Options::new().udp("127.0.0.1:0".parse().unwrap()), |_| {});
    let caller = udp_caller();
    let via = format!("UDP {}", caller.local_addr().unwrap());
    caller.send_to(request("INVITE", &via, "call1", 1, "", "v=0\r\n").as_bytes(), addr).unwrap();
    assert_eq!(recv(&caller).status(), Some(100));
    assert_eq!(recv(&caller).status(), Some(180));
    let ok = recv(&caller);
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.body(), b"v=0\r\n");
    let tag = format!(";tag={}", ok.to_tag().unwrap().expect("a To tag"));
    caller.send_to(request("ACK", &via, "call1", 1, &tag, "").as_bytes(), addr).unwrap();
    caller.send_to(request("BYE", &via, "call1", 2, &tag, "").as_bytes(), addr).unwrap();
    let bye_ok = recv_code(&caller, 200);
    assert_eq!(bye_ok.cseq().unwrap().method, sipwire::Method::Bye);
    stopper.stop();
    let report = handle.join().expect("driver thread");
    assert!(report.events.iter().any(|e| matches!(e, Event::Acked { .. })));
    assert!(
        report.events.iter().any(|e| matches!(
            e,
            Event::Terminated { reason: sipwire::ua::EndReason::RemoteBye, .. }
        ))
    );
    assert_eq!(report.stats.datagrams_in, 3);
    assert_eq!(report.stats.datagrams_out, 4, "100, 180, 200, 200 for the BYE");
}

fn tcp_caller(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream
}

/// Reads from `stream` until it holds `count` whole responses, or it closes.
fn read_responses(stream: &mut TcpStream, count: usize) -> Vec<Message> {
    let mut framer = sipwire::StreamFramer::new(
        sipwire::ParseOptions::DEFAULT,
        sipwire::message::KeepAliveRole::Client,
    );
    let mut out = Vec::new();
    let mut buf = [0; 4096];
    while out.len() < count {
        let n = stream.read(&mut buf).expect("read in time");
        if n == 0 {
            break;
        }
        framer.push(&buf[..n]);
        while let Some(sipwire::message::Frame::Message(m)) = framer.next_frame().expect("frames") {
            out.push(m);
        }
    }
    out
}

/// Reads until the peer closes; returns whether it did (rather than time out).
fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn a_tcp_invite_in_three_writes_is_framed_and_answered_on_its_connection() {
    let (addr, stopper, handle) =
        answerer(Options::new().tcp("127.0.0.1:0".parse().unwrap()), |_| {});
    let mut caller = tcp_caller(addr);
    let via = format!("TCP {}", caller.local_addr().unwrap());
    let invite = request("INVITE", &via, "tcp1", 1, "", "v=0\r\n");
    let bytes = invite.as_bytes();
    let (a, rest) = bytes.split_at(40);
    let (b, c) = rest.split_at(rest.len() - 3);
    for part in [a, b, c] {
        caller.write_all(part).unwrap();
        caller.flush().unwrap();
        thread::sleep(Duration::from_millis(20)); // so the parts arrive apart, not to time
    }
    let got = read_responses(&mut caller, 3);
    let codes: Vec<_> = got.iter().map(Message::status).collect();
    assert_eq!(codes, [Some(100), Some(180), Some(200)]);
    stopper.stop();
    let report = handle.join().unwrap();
    assert_eq!(report.stats.frames_in, 1, "one message, whatever the chunks");
    assert_eq!(report.stats.connections, 1);
}

#[test]
fn a_tcp_peer_sending_an_endless_header_is_cut_off() {
    let (addr, stopper, handle) =
        answerer(Options::new().tcp("127.0.0.1:0".parse().unwrap()), |c| {
            c.limits.max_message_size = 16 * 1024;
        });
    let mut caller = tcp_caller(addr);
    caller.write_all(b"INVITE sip:answer@127.0.0.1 SIP/2.0\r\nX-Endless: ").unwrap();
    let chunk = [b'a'; 1024];
    let mut sent = 0;
    // Writes fail once the driver has cut the connection; the limit is 16 KiB.
    while sent < 1024 * 1024 && caller.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    assert!(closed_by_peer(&mut caller), "the driver closed the connection");
    stopper.stop();
    let report = handle.join().unwrap();
    assert_eq!(report.stats.connections_cut, 1);
}

#[test]
fn a_tcp_peer_that_stalls_mid_message_is_cut_after_the_stall_timeout() {
    let options = Options::new()
        .tcp("127.0.0.1:0".parse().unwrap())
        .stall_timeout(Duration::from_millis(200));
    let (addr, stopper, handle) = answerer(options, |_| {});
    let mut caller = tcp_caller(addr);
    let via = format!("TCP {}", caller.local_addr().unwrap());
    let invite = request("INVITE", &via, "stall", 1, "", "v=0\r\n");
    caller.write_all(&invite.as_bytes()[..invite.len() / 2]).unwrap();
    assert!(closed_by_peer(&mut caller), "cut, within the 5 s read bound");
    stopper.stop();
    let report = handle.join().unwrap();
    assert_eq!(report.stats.connections_cut, 1);
    assert_eq!(report.stats.frames_in, 0);
}

#[test]
fn connections_beyond_the_limit_are_closed_at_once() {
    let options = Options::new().tcp("127.0.0.1:0".parse().unwrap()).max_connections(2);
    let (addr, stopper, handle) = answerer(options, |_| {});
    let _kept: Vec<TcpStream> = (0..2).map(|_| tcp_caller(addr)).collect();
    let mut third = tcp_caller(addr);
    assert!(closed_by_peer(&mut third));
    stopper.stop();
    let report = handle.join().unwrap();
    assert_eq!(report.stats.connections, 2);
    assert_eq!(report.stats.connections_cut, 1);
}

/// A small xorshift, so the flood is the same every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn floods_of_garbage_and_unwanted_requests_leave_the_tables_bounded_and_calls_working() {
    const MAX: usize = 2_000;
    let (addr, stopper, handle) =
        answerer(Options::new().udp("127.0.0.1:0".parse().unwrap()), |c| c.max_transactions = MAX);
    let flood = UdpSocket::bind("127.0.0.1:0").unwrap();
    flood.set_nonblocking(true).unwrap();
    let via = format!("UDP {}", flood.local_addr().unwrap());
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let mut sink = vec![0; 65_535];
    for i in 0..20_000u32 {
        let datagram = if i % 2 == 0 {
            let len = 1 + (xorshift(&mut seed) % 1400) as usize;
            let mut d: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
            if i % 4 == 0 {
                d.splice(0..0, b"INVITE ".iter().copied());
            }
            d
        } else {
            request("REGISTER", &via, &format!("f{i}"), 1, "", "").into_bytes()
        };
        // A full socket buffer drops datagrams, as the network would.
        let _ = flood.send_to(&datagram, addr);
        while flood.recv_from(&mut sink).is_ok() {}
    }
    // A call placed after the flood still completes. The driver may still be draining the
    // flood from a full socket buffer, which drops datagrams: the caller retransmits its
    // INVITE every 500 ms, as timer A would, until something comes back.
    let caller = udp_caller();
    caller.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let via = format!("UDP {}", caller.local_addr().unwrap());
    let invite = request("INVITE", &via, "after", 1, "", "v=0\r\n");
    let mut buf = vec![0; 65_535];
    let first = (0..20).find_map(|_| {
        caller.send_to(invite.as_bytes(), addr).unwrap();
        caller.recv_from(&mut buf).ok().map(|(n, _)| Message::parse(buf[..n].to_vec()))
    });
    assert!(first.is_some(), "the INVITE got through within 20 tries");
    caller.set_read_timeout(Some(WAIT)).unwrap();
    let ok = recv_code(&caller, 200);
    let tag = format!(";tag={}", ok.to_tag().unwrap().unwrap());
    caller.send_to(request("ACK", &via, "after", 1, &tag, "").as_bytes(), addr).unwrap();
    // An OPTIONS behind the ACK: once it is answered, the ACK (read first from the same
    // socket) has been handled, and stopping cannot overtake it.
    caller.send_to(request("OPTIONS", &via, "probe", 1, "", "").as_bytes(), addr).unwrap();
    while recv_code(&caller, 200).cseq().map(|c| c.method) != Ok(sipwire::Method::Options) {}
    stopper.stop();
    let report = handle.join().unwrap();
    assert!(report.max_transactions_seen <= MAX, "{} transactions", report.max_transactions_seen);
    assert!(report.transactions <= MAX);
    assert_eq!(report.invitations, 1, "only the real call");
    assert!(report.stats.datagrams_in > 1_000, "the flood arrived: {}", report.stats.datagrams_in);
    assert!(report.events.iter().any(|e| matches!(e, Event::Acked { .. })));
}

#[test]
fn the_stopper_stops_an_idle_driver_from_another_thread() {
    let (_, stopper, handle) = answerer(Options::new().udp("127.0.0.1:0".parse().unwrap()), |_| {});
    stopper.stop();
    let report = handle.join().expect("returned Step::Stopped");
    assert!(report.events.is_empty());
}

#[test]
fn binding_nothing_is_an_error() {
    let result = Driver::bind(Options::new(), |local| Config::new(&format!("sip:x@{local}")));
    assert!(matches!(result, Err(sipwire_std::Error::NothingToBind)));
}
