//! What an `Endpoint` holds per call, and that it gives everything back once calls end:
//! counted with a counting global allocator, per thread, so parallel tests do not disturb the
//! count.
//!
//! The issue asks for at most 2 KiB per ringing invitation (asserted, on a warm endpoint) and
//! 1 KiB per confirmed dialog, which is not met: the stored INVITE alone is about 1 KiB with
//! its index, so that bound is a regression guard. docs/benchmarks.md ("User agent") has
//! where the bytes go.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipwire::ua::{AcceptOptions, Config, Event, InvitationId};
use sipwire::{Endpoint, Input, Output, Transport};

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn live() -> isize {
    counting::live_bytes()
}

const N: usize = 1000;

/// The SDP offer of every INVITE (224 bytes; the INVITE is 596).
const OFFER: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\n\
    c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n\
    a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\
    a=sendrecv\r\n";

const ANSWER: &[u8] = b"v=0\r\no=bob 2808844564 2808844564 IN IP4 192.0.2.2\r\ns=-\r\n\
    c=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
    a=sendrecv\r\n";

/// A request of call `i` from the caller: `method`, CSeq `seq`, To tag `tag` (if not empty),
/// in a buffer of exactly its size, like a datagram read from a socket.
fn request(method: &str, i: usize, seq: u32, tag: &str, body: &str) -> Bytes {
    let to_tag = if tag.is_empty() { String::new() } else { format!(";tag={tag}") };
    let (contact, content_type) = if method == "INVITE" {
        ("Contact: <sip:alice@192.0.2.1:5060>\r\n", "Content-Type: application/sdp\r\n")
    } else {
        ("", "")
    };
    let text = format!(
        "{method} sip:bob@192.0.2.2:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK{}{i:016x}\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:alice@192.0.2.1:5060>;tag=f{i:016x}\r\n\
         To: \"Bob\" <sip:bob@192.0.2.2:5060>{to_tag}\r\n\
         Call-ID: {i:016x}@192.0.2.1\r\n\
         CSeq: {seq} {method}\r\n\
         {contact}{content_type}Content-Length: {}\r\n\r\n{body}",
        &method[..1],
        body.len()
    );
    Bytes::copy_from_slice(text.as_bytes())
}

/// An endpoint, its clock, and the N calls it holds at once.
struct Calls {
    ep: Endpoint,
    now: Instant,
    peer: SocketAddr,
    ids: Vec<InvitationId>,
    tags: Vec<String>,
}

impl Calls {
    fn new() -> Self {
        #[allow(clippy::disallowed_methods)] // the virtual clock's epoch
        let now = Instant::now();
        let mut tags = Vec::with_capacity(N);
        tags.extend((0..N).map(|_| String::with_capacity(32)));
        Self {
            ep: Endpoint::new(Config::new("sip:bob@192.0.2.2:5060").with_seed(3)),
            now,
            peer: "192.0.2.1:5060".parse().unwrap(),
            ids: Vec::with_capacity(N),
            tags,
        }
    }

    /// Drains the outputs; returns the new invitation, if one came.
    fn drain(&mut self) -> Option<InvitationId> {
        let mut new = None;
        while let Some(out) = self.ep.poll_output() {
            if let Output::Event(Event::Invitation { id }) = out {
                new = Some(id);
            }
        }
        new
    }

    fn receive(&mut self, bytes: Bytes) -> Option<InvitationId> {
        self.ep.handle_input(self.now, Input::received(self.peer, Transport::Udp, bytes));
        self.drain()
    }

    /// N INVITEs: each answered 100 and 180, each an invitation.
    fn ring(&mut self, round: usize) {
        for i in 0..N {
            let id = self.receive(request("INVITE", round * N + i, 1, "", OFFER));
            self.ids.push(id.expect("an invitation"));
        }
    }

    /// Every invitation accepted with an SDP answer, and ACKed.
    fn accept_and_ack(&mut self, round: usize) {
        for i in 0..N {
            let id = self.ids[i];
            let mut invitation = self.ep.invitation(id).expect("live");
            let tag = &mut self.tags[i];
            tag.clear();
            tag.push_str(invitation.uas().to_tag());
            let answer = AcceptOptions::new().body("application/sdp", Bytes::from_static(ANSWER));
            invitation.accept(self.now, answer).expect("accepted");
            self.drain();
            let ack = request("ACK", round * N + i, 1, &self.tags[i], "");
            self.receive(ack);
        }
    }

    fn bye(&mut self, round: usize) {
        for i in 0..N {
            let bye = request("BYE", round * N + i, 2, &self.tags[i], "");
            self.receive(bye);
        }
        self.ids.clear();
    }

    /// Moves the clock 32 s (64·T1) on.
    fn advance(&mut self) {
        self.now += Duration::from_secs(32);
        self.ep.handle_timeout(self.now);
        self.drain();
    }
}

/// Bytes held per call at each stage of one round of N concurrent calls, and what the round
/// left once every call ended and time ran on.
struct Round {
    ringing: isize,
    confirmed: isize,
    left: isize,
}

fn round(calls: &mut Calls, r: usize) -> Round {
    let base = live();
    calls.ring(r);
    let ringing = (live() - base) / N as isize;
    calls.accept_and_ack(r);
    calls.advance(); // Timer L ends the INVITE transactions; the dialogs stay
    assert_eq!(calls.ep.dialog_count(), N);
    assert_eq!(calls.ep.transaction_count(), 0);
    let confirmed = (live() - base) / N as isize;
    calls.bye(r);
    calls.advance(); // Timer J and the invitations' linger run out
    assert_eq!(calls.ep.invitation_count(), 0, "every invitation is forgotten");
    assert_eq!(calls.ep.transaction_count(), 0);
    assert_eq!(calls.ep.dialog_count(), 0);
    Round { ringing, confirmed, left: live() - base }
}

#[test]
fn calls_hold_a_bounded_heap_and_give_it_all_back_once_they_end() {
    let mut calls = Calls::new();
    // A fresh endpoint: the figures include every table growing to hold N calls.
    let fresh = round(&mut calls, 0);
    println!(
        "{N} calls, fresh endpoint: {} B per ringing invitation, {} B per confirmed dialog, \
         {} B of table capacity left in all",
        fresh.ringing, fresh.confirmed, fresh.left
    );
    assert!(fresh.ringing <= 5 * 512, "{} B per ringing invitation", fresh.ringing);
    assert!(fresh.confirmed <= 5 * 512, "{} B per confirmed dialog", fresh.confirmed);
    // What stays is the tables' capacity, not calls: well under what the calls held.
    assert!(fresh.left < fresh.confirmed * N as isize, "{} B left", fresh.left);
    // Under churn the hash tables grow once or twice more (hashbrown resizes instead of
    // clearing tombstones while more than half full); after that a round leaves nothing.
    let mut warm = round(&mut calls, 1);
    for r in 2..6 {
        if warm.left == 0 {
            break;
        }
        warm = round(&mut calls, r);
    }
    println!(
        "{N} calls, warm endpoint: {} B per ringing invitation, {} B per confirmed dialog",
        warm.ringing, warm.confirmed
    );
    assert_eq!(warm.left, 0, "bytes left once every call ended and 64·T1 passed");
    // The target: at most 2 KiB per ringing invitation, stored messages included.
    assert!(warm.ringing <= 2 * 1024, "{} B per ringing invitation", warm.ringing);
    // The 1 KiB per confirmed dialog target is not met (the stored INVITE alone is ~1 KiB
    // with its index; see docs/benchmarks.md): this guards against growth.
    assert!(warm.confirmed <= 1700, "{} B per confirmed dialog", warm.confirmed);
    // The stored INVITE alone is 596 bytes: a figure below it means the count is broken.
    assert!(warm.confirmed > 596, "{} B: is the INVITE really stored?", warm.confirmed);
}
