//! A whole call through a user-agent server, in process: one call per iteration, from the
//! INVITE's bytes to the UAS holding nothing.
//!
//! ```text
//! cargo bench -p sipwire-benches --bench endpoint
//! ```
//!
//! Group `uas_call` (the flow is drawn in `common/ua_call.rs`): a 596-byte INVITE with an SDP
//! offer is parsed; the UAS sends 100 and 180; the application accepts with an SDP answer (200);
//! the caller's ACK and BYE arrive, carrying the To tag read back from the 200's bytes; the UAS
//! answers the BYE 200; the clock moves 32 s (64·T1) on and every timer that ends the call
//! fires. Each iteration is a new call (its own Call-ID, From tag and branches), and every
//! message the UAS sends is serialized and handed to a sink.
//!
//! - `sipwire`: [`sipwire::Endpoint`] with its defaults (automatic 100 and 180), the
//!   application calling `invitation(id).accept(..)`.
//! - `rsiprtp`: rsiprtp 0.4.1's `DialogManager` on its `TransactionManager`
//!   (`common/ua_peers.rs`, which also says why sipx-sip has no entry: it has no dialog layer).
//! - `sipwire-transactions`: the same messages through sipwire's `TransactionLayer` with the
//!   thinnest TU that gets them answered (fixed To tag, no dialog, no checks): the floor the
//!   user-agent layer is built on, not a UA.
//!
//! Group `caller_overhead`: the caller's share inside every iteration above (rendering the
//! INVITE, ACK and BYE into fresh buffers and reading the To tag off a 200), on its own.
//!
//! Memory per ringing invitation and per confirmed dialog is measured by the `ua_memory`
//! bench.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/ua_call.rs"]
mod ua_call;
#[path = "common/ua_peers.rs"]
mod ua_peers;

/// The "socket": keeps each message to send alive until it has been looked at.
fn discard(message: &[u8]) {
    black_box(message);
}

/// Every implementation must send 100, 180, 200 (INVITE) and 200 (BYE), and end empty, twice
/// in a row with different calls.
fn cross_check() {
    const SENT: [u16; 4] = [100, 180, 200, 200];
    let mut sipwire = ua_call::SipwireUa::new();
    let mut rsiprtp = ua_peers::Rsiprtp::new();
    let mut floor = ua_call::SipwireTransactions::new();
    let invite = ua_call::Template::invite().render(0, b"");
    assert!((450..=600).contains(&invite.len()), "INVITE of {} bytes", invite.len());
    for i in 0..2 {
        let mut sent = Vec::new();
        sipwire.call(i, &mut |m| sent.push(ua_call::status_of(m)));
        assert_eq!(sent, SENT, "sipwire");
        assert_eq!(sipwire.caller.tag.len(), 16, "sipwire: To tag");
        sent.clear();
        rsiprtp.call(i, &mut |m| sent.push(ua_call::status_of(m)));
        assert_eq!(sent, SENT, "rsiprtp");
        assert!(rsiprtp.is_empty(), "rsiprtp: left behind");
        sent.clear();
        floor.call(i, &mut |m| sent.push(ua_call::status_of(m)));
        assert_eq!(sent, SENT, "sipwire-transactions");
    }
    // The tag read from the 200 is the one the UAS keeps, and it changes from call to call.
    let id = sipwire.ring(2, &mut discard);
    sipwire.accept(id, &mut discard);
    let kept = sipwire.ep.invitation(id).expect("live").uas().to_tag().to_owned();
    assert_eq!(sipwire.caller.tag, kept.as_bytes());
    let first = kept;
    let id = sipwire.ring(3, &mut discard);
    sipwire.accept(id, &mut discard);
    assert_ne!(sipwire.caller.tag, first.as_bytes());
}

fn uas_call(c: &mut Criterion) {
    cross_check();
    let mut group = c.benchmark_group("uas_call");
    let mut sipwire = ua_call::SipwireUa::new();
    let mut i = 0u64;
    group.bench_function("sipwire", |b| {
        b.iter(|| {
            i += 1;
            sipwire.call(i, &mut discard);
        });
    });
    let mut rsiprtp = ua_peers::Rsiprtp::new();
    group.bench_function("rsiprtp", |b| {
        b.iter(|| {
            i += 1;
            rsiprtp.call(i, &mut discard);
        });
    });
    let mut floor = ua_call::SipwireTransactions::new();
    group.bench_function("sipwire-transactions", |b| {
        b.iter(|| {
            i += 1;
            floor.call(i, &mut discard);
        });
    });
    group.finish();
}

fn caller_overhead(c: &mut Criterion) {
    let mut caller = ua_call::Caller::new();
    // A 200 as the endpoint sends it, to read the tag from.
    let mut ua = ua_call::SipwireUa::new();
    let mut ok = Vec::new();
    let id = ua.ring(0, &mut discard);
    let options = sipwire::ua::AcceptOptions::new()
        .body("application/sdp", bytes::Bytes::from_static(ua_call::ANSWER));
    ua.ep.invitation(id).expect("live").accept(ua.now, options).expect("accept");
    while let Some(out) = ua.ep.poll_output() {
        if let sipwire::Output::Transmit(t) = out {
            ok = t.payload.to_vec();
        }
    }
    let mut i = 0u64;
    c.bench_function("caller_overhead", |b| {
        b.iter(|| {
            i += 1;
            black_box(caller.invite.render(i, b""));
            caller.read_tag(black_box(&ok));
            black_box(caller.ack.render(i, &caller.tag));
            black_box(caller.bye.render(i, &caller.tag));
        });
    });
}

criterion_group!(benches, uas_call, caller_overhead);
criterion_main!(benches);
