//! Server transaction layers side by side: one whole transaction per iteration, from the
//! request's bytes to the layer dropping the transaction.
//!
//! ```text
//! cargo bench -p sipwire-benches --bench transaction
//! ```
//!
//! Groups (the steps are spelled out in `common/tx_peers.rs`):
//! - `invite_server_lifecycle`: parse `invite-461`, create the server transaction, TU sends
//!   100 Trying, 180 Ringing (To tag, Contact) and 200 OK (To tag, Contact, SDP body), the
//!   INVITE's bytes arrive again and are absorbed, timers fire until the transaction is gone.
//! - `non_invite_server_lifecycle`: parse `options`, create, TU sends 200 OK (To tag, Allow),
//!   the OPTIONS arrives again and the layer resends its 200, Timer J fires, transaction gone.
//!
//! Each iteration includes parsing both copies of the request, building the responses through
//! the crate's own API, turning every message to send into bytes (sipx-sip hands out messages,
//! so its driver serializes them into a reused buffer; rsiprtp hands out `Bytes`), and the
//! driver's bookkeeping of requested timers. Every layer is built once, outside the timed loop,
//! and is empty again after each iteration. Neither peer needs an async runtime.
//!
//! Peer caveats that change what "the same lifecycle" means are documented on each adapter; the
//! big one is that rsiprtp has no RFC 6026 `Accepted` state (its INVITE transaction ends on the
//! 2xx, and a later retransmission is absorbed only until `cleanup_terminated` runs).
//!
//! Memory held per ringing INVITE transaction is measured by the `tx_memory` bench.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/tx_peers.rs"]
mod tx_peers;
#[path = "common/tx_sipwire.rs"]
mod tx_sipwire;

/// The benchmark requests, exact bytes (CRLF).
const INVITE: &[u8] = include_bytes!("../data/invite-461.sip");
const OPTIONS: &[u8] = include_bytes!("../data/options.sip");

/// The "socket": keeps each message to send alive until it has been looked at.
fn discard(message: &[u8]) {
    black_box(message);
}

/// A "socket" that records the status code of each response sent.
fn record(sent: &mut Vec<u16>) -> impl FnMut(&[u8]) + '_ {
    |message| sent.push(tx_peers::status_of(message))
}

/// Every implementation must send the same responses and leave its layer empty, twice in a row
/// (the second run reuses the layer, as every timed iteration does).
fn cross_check() {
    const INVITE_SENT: [u16; 3] = [100, 180, 200];
    // The 200 to OPTIONS, then the layer's own resend of it for the retransmission.
    const OPTIONS_SENT: [u16; 2] = [200, 200];
    let mut sipx = tx_peers::SipxSip::new();
    let mut rsiprtp = tx_peers::Rsiprtp::new();
    let mut sipwire = tx_sipwire::Sipwire::new();
    for _ in 0..2 {
        let mut sent = Vec::new();
        sipwire.invite_lifecycle(INVITE, &mut record(&mut sent));
        assert_eq!(sent, INVITE_SENT, "sipwire: INVITE");
        sent.clear();
        sipwire.non_invite_lifecycle(OPTIONS, &mut record(&mut sent));
        assert_eq!(sent, OPTIONS_SENT, "sipwire: OPTIONS");
        assert_eq!(sipwire.len(), 0, "sipwire: left behind");
        sent.clear();
        sipx.invite_lifecycle(INVITE, &mut record(&mut sent));
        assert_eq!(sent, INVITE_SENT, "sipx-sip: INVITE");
        assert_eq!(sipx.server_transactions(), 0, "sipx-sip: INVITE left behind");
        sent.clear();
        rsiprtp.invite_lifecycle(INVITE, &mut record(&mut sent));
        assert_eq!(sent, INVITE_SENT, "rsiprtp: INVITE");
        assert!(rsiprtp.is_empty(), "rsiprtp: INVITE left behind");

        sent.clear();
        sipx.non_invite_lifecycle(OPTIONS, &mut record(&mut sent));
        assert_eq!(sent, OPTIONS_SENT, "sipx-sip: OPTIONS");
        assert_eq!(sipx.server_transactions(), 0, "sipx-sip: OPTIONS left behind");
        sent.clear();
        rsiprtp.non_invite_lifecycle(OPTIONS, &mut record(&mut sent));
        assert_eq!(sent, OPTIONS_SENT, "rsiprtp: OPTIONS");
        assert!(rsiprtp.is_empty(), "rsiprtp: OPTIONS left behind");
    }
    assert_eq!(sipx.pending_timers().pending().count(), 0, "sipx-sip: timers left behind");
    assert_eq!(rsiprtp.pending_timers().pending().count(), 0, "rsiprtp: timers left behind");
}

fn invite_server_lifecycle(c: &mut Criterion) {
    cross_check();
    let mut group = c.benchmark_group("invite_server_lifecycle");
    let mut sipwire = tx_sipwire::Sipwire::new();
    group.bench_function("sipwire", |b| {
        b.iter(|| sipwire.invite_lifecycle(black_box(INVITE), &mut discard));
    });
    let mut strict = tx_sipwire::Sipwire::strict();
    group.bench_function("sipwire-strict", |b| {
        b.iter(|| strict.invite_lifecycle(black_box(INVITE), &mut discard));
    });
    let mut sipx = tx_peers::SipxSip::new();
    group.bench_function("sipx-sip", |b| {
        b.iter(|| sipx.invite_lifecycle(black_box(INVITE), &mut discard));
    });
    let mut rsiprtp = tx_peers::Rsiprtp::new();
    group.bench_function("rsiprtp", |b| {
        b.iter(|| rsiprtp.invite_lifecycle(black_box(INVITE), &mut discard));
    });
    group.finish();
}

fn non_invite_server_lifecycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("non_invite_server_lifecycle");
    let mut sipwire = tx_sipwire::Sipwire::new();
    group.bench_function("sipwire", |b| {
        b.iter(|| sipwire.non_invite_lifecycle(black_box(OPTIONS), &mut discard));
    });
    let mut strict = tx_sipwire::Sipwire::strict();
    group.bench_function("sipwire-strict", |b| {
        b.iter(|| strict.non_invite_lifecycle(black_box(OPTIONS), &mut discard));
    });
    let mut sipx = tx_peers::SipxSip::new();
    group.bench_function("sipx-sip", |b| {
        b.iter(|| sipx.non_invite_lifecycle(black_box(OPTIONS), &mut discard));
    });
    let mut rsiprtp = tx_peers::Rsiprtp::new();
    group.bench_function("rsiprtp", |b| {
        b.iter(|| rsiprtp.non_invite_lifecycle(black_box(OPTIONS), &mut discard));
    });
    group.finish();
}

/// `invite-461` with its branch made unique by `i` (same length).
fn invite_numbered(i: usize) -> Vec<u8> {
    const BRANCH: &[u8] = b"abcdef0123456789";
    let mut bytes = INVITE.to_vec();
    let at = bytes.windows(BRANCH.len()).position(|w| w == BRANCH).expect("branch");
    bytes[at..at + BRANCH.len()].copy_from_slice(format!("{i:016x}").as_bytes());
    bytes
}

/// Matching cost as the table grows: a retransmitted INVITE (parse, match, re-send the 180)
/// against a layer holding 1 or 100 000 ringing INVITE server transactions.
fn match_in_large_table(c: &mut Criterion) {
    let mut group = c.benchmark_group("retransmission_match");
    for live in [1usize, 100_000] {
        let mut layer = tx_sipwire::Sipwire::new();
        let invites: Vec<bytes::Bytes> = (0..live).map(|i| invite_numbered(i).into()).collect();
        for invite in &invites {
            let ringing = layer.invite_ringing(invite, &mut discard);
            drop(ringing.request);
        }
        assert_eq!(layer.len(), live);
        let mut i = 0;
        group.bench_function(format!("sipwire/{live}_live"), |b| {
            b.iter(|| {
                i = (i + 7919) % live;
                let sent = layer.retransmission(invites[i].clone());
                assert_eq!(sent, 1, "the 180 is re-sent");
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    invite_server_lifecycle,
    non_invite_server_lifecycle,
    match_in_large_table
);
criterion_main!(benches);
