//! Heap held by an [`Endpoint`](sipwire::Endpoint) per call, counted with a counting global
//! allocator, at 100 000 concurrent calls. Not a criterion bench: it prints a table.
//!
//! ```text
//! cargo bench -p sipwire-benches --bench ua_memory
//! ```
//!
//! The calls are those of the `endpoint` bench (`common/ua_call.rs`: a 596-byte INVITE with
//! an SDP offer, each call with its own Call-ID, From tag and branches), held at each stage:
//!
//! - `ringing`: INVITE received, 100 and 180 sent, the application told, no answer yet;
//! - `confirmed, INVITE tx in Accepted`: accepted (200 with SDP sent) and ACKed, while the
//!   INVITE server transaction still waits out Timer L (64·T1 = 32 s after the 200);
//! - `confirmed`: the same 32 s later: the dialog alone, what a long call holds;
//! - `ended, lingering`: BYE received and answered; the invitation lingers 64·T1 and the
//!   BYE's transaction waits out Timer J;
//! - `left`: 32 s later still: nothing of the calls, only the tables' capacity.
//!
//! Each stage's figure is (live bytes − live bytes before the first INVITE) / N. The driver's
//! own vectors (ids, To tags) are allocated before that baseline. Bytes are the sizes asked
//! of the allocator (`Layout::size`): malloc's headers and rounding (8–16 bytes a block with
//! glibc) are not included, so blocks are counted too.
//!
//! `fresh` runs in a new endpoint, so its figures include every table growing (by doubling)
//! to hold N calls; `warm` runs rounds of new calls in that endpoint until a round leaves
//! nothing behind (the hash tables grow once or twice more under churn first): its figures
//! are the calls' own heap. The allocations of one whole call are counted step by step. The transaction layer alone, holding the same INVITEs
//! ringing (100 and 180 sent by a TU that then drops its copy of the request), is measured
//! the same way for comparison.

// A `GlobalAlloc` impl is unsafe by definition; this is bench scaffolding (the core forbids
// unsafe code in its lib.rs).
#![allow(unsafe_code)]

use std::mem::size_of;

use sipwire::dialog::Dialog;
use sipwire::ua::{InvitationId, InviteUserAgentServer};
use sipwire::{Endpoint, Message};

#[path = "common/ua_call.rs"]
mod ua_call;

#[path = "../../crates/sipwire/tests/support/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// Live heap: (bytes, blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Live(isize, isize);

fn live() -> Live {
    Live(counting::live_bytes(), counting::live_blocks())
}

impl std::ops::Sub for Live {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0 - rhs.0, self.1 - rhs.1)
    }
}

/// Per call, over `n` calls.
fn per(l: Live, n: usize) -> String {
    format!("{:>6} B / {:>4.1} blocks", l.0 / n as isize, l.1 as f64 / n as f64)
}

fn discard(_: &[u8]) {}

/// What one round of N calls held at each stage, measured from `base`.
struct Round {
    ringing: Live,
    accepted: Live,
    confirmed: Live,
    ended: Live,
    left: Live,
}

/// Takes N calls through every stage in `ua`, all at once.
fn round(
    ua: &mut ua_call::SipwireUa,
    first: u64,
    ids: &mut Vec<InvitationId>,
    tags: &mut Vec<u8>,
) -> Round {
    let n = ids.capacity();
    let base = live();
    for i in 0..n as u64 {
        ids.push(ua.ring(first + i, &mut discard));
    }
    let ringing = live() - base;
    for &id in ids.iter() {
        ua.accept(id, &mut discard);
        tags.extend_from_slice(&ua.caller.tag);
    }
    let tag_len = ua.caller.tag.len();
    for (i, tag) in tags.chunks(tag_len).enumerate() {
        ua.caller.tag.clear();
        ua.caller.tag.extend_from_slice(tag);
        ua.ack(first + i as u64, &mut discard);
    }
    let accepted = live() - base;
    ua.advance(&mut discard);
    assert_eq!(ua.ep.transaction_count(), 0, "Timer L ended every INVITE transaction");
    assert_eq!(ua.ep.dialog_count(), n, "every dialog is confirmed");
    let confirmed = live() - base;
    for (i, tag) in tags.chunks(tag_len).enumerate() {
        ua.caller.tag.clear();
        ua.caller.tag.extend_from_slice(tag);
        ua.bye(first + i as u64, &mut discard);
    }
    let ended = live() - base;
    ua.advance(&mut discard);
    assert_eq!(ua.ep.invitation_count(), 0, "every invitation forgotten");
    assert_eq!(ua.ep.transaction_count(), 0, "every BYE transaction ended");
    let left = live() - base;
    ids.clear();
    tags.clear();
    Round { ringing, accepted, confirmed, ended, left }
}

fn print_round(name: &str, r: &Round, n: usize) {
    println!("  {name}:");
    println!("    ringing:                            {}", per(r.ringing, n));
    println!("    confirmed, INVITE tx in Accepted:   {}", per(r.accepted, n));
    println!("    confirmed:                          {}", per(r.confirmed, n));
    println!("    ended, lingering:                   {}", per(r.ended, n));
    println!(
        "    left once all ended (tables):       {} B in total ({} blocks)",
        r.left.0, r.left.1
    );
}

/// The transaction layer alone, holding `n` of the same INVITEs ringing: (fresh, warm).
fn transactions_only(n: usize) -> (Live, Live) {
    use sipwire::transaction::{LayerConfig, TransactionLayer, TxEvent};
    use sipwire::{HeaderName, Output, Transport};
    let invite = ua_call::Template::invite();
    let peer = ua_call::CALLER.parse().unwrap();
    let mut config = LayerConfig::default();
    config.max_transactions = 1 << 20;
    let mut layer = TransactionLayer::new(config);
    #[allow(clippy::disallowed_methods)] // the virtual clock's epoch
    let mut now = std::time::Instant::now();
    let busy = Message::parse(invite.render(0, b""))
        .expect("invite")
        .reply(486)
        .to_tag("x")
        .build()
        .expect("486");
    let mut ids = Vec::with_capacity(n);
    let mut measure = |layer: &mut TransactionLayer, now: &mut std::time::Instant| {
        let base = live();
        for i in 0..n as u64 {
            let bytes = bytes::Bytes::from(invite.render(i, b""));
            layer.handle_datagram(*now, peer, Transport::Udp, bytes);
            while let Some(out) = layer.poll_output() {
                if let Output::Event(TxEvent::Request { id, request, .. }) = out {
                    layer.respond(*now, id, request.reply(100)).expect("100");
                    let ringing = request
                        .reply(180)
                        .to_tag("8f7a6c1d2b3e4f50")
                        .header(HeaderName::Contact, ua_call::UAS_CONTACT);
                    layer.respond(*now, id, ringing).expect("180");
                    ids.push(id);
                }
            }
        }
        let held = live() - base;
        // 486 to each, then Timer H ends them.
        for id in ids.drain(..) {
            layer.respond(*now, id, &busy).expect("486");
        }
        *now += std::time::Duration::from_secs(33);
        layer.handle_timeout(*now);
        while layer.poll_output().is_some() {}
        assert!(layer.is_empty());
        held
    };
    let fresh = measure(&mut layer, &mut now);
    let warm = measure(&mut layer, &mut now);
    (fresh, warm)
}

/// Allocations (alloc + realloc calls) in each step of one whole call in a warm endpoint,
/// the caller's own buffers included (one per message it sends).
fn allocations_per_call(ua: &mut ua_call::SipwireUa, i: u64) -> [(&'static str, isize); 5] {
    let mut at = counting::allocations() as isize;
    let mut step = |name, f: &mut dyn FnMut(&mut ua_call::SipwireUa)| {
        f(ua);
        let now = counting::allocations() as isize;
        let n = now - at;
        at = now;
        (name, n)
    };
    let mut id = None;
    [
        step("INVITE -> 100, 180", &mut |ua| id = Some(ua.ring(i, &mut discard))),
        step("accept -> 200", &mut |ua| ua.accept(id.expect("rung"), &mut discard)),
        step("ACK", &mut |ua| ua.ack(i, &mut discard)),
        step("BYE -> 200", &mut |ua| ua.bye(i, &mut discard)),
        step("64·T1 later", &mut |ua| ua.advance(&mut discard)),
    ]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: keep that run short.
    let n = if std::env::args().any(|a| a == "--bench") { 100_000 } else { 1_000 };
    println!("sipwire Endpoint, {n} concurrent calls, per call:");
    let mut ua = ua_call::SipwireUa::new();
    let mut ids = Vec::with_capacity(n);
    let mut tags = Vec::with_capacity(n * 16);
    let fresh = round(&mut ua, 0, &mut ids, &mut tags);
    print_round("fresh endpoint (table growth included)", &fresh, n);
    // The hash tables grow once or twice more under churn (hashbrown resizes instead of
    // clearing tombstones while more than half full); then a round leaves nothing.
    let mut rounds = 1;
    let warm = loop {
        let r = round(&mut ua, rounds * n as u64, &mut ids, &mut tags);
        rounds += 1;
        if r.left == Live(0, 0) || rounds == 6 {
            break r;
        }
    };
    print_round(&format!("warm endpoint, round {rounds} (the calls' own heap)"), &warm, n);
    assert_eq!(warm.left, Live(0, 0), "a round of calls in a warm endpoint leaves nothing");
    let steps = allocations_per_call(&mut ua, rounds * n as u64);
    let total: isize = steps.iter().map(|s| s.1).sum();
    println!("  allocations (alloc + realloc) in one whole call, warm: {total}");
    for (name, n) in steps {
        println!("    {name:<20} {n:>3}");
    }

    let (tx_fresh, tx_warm) = transactions_only(n);
    println!("sipwire TransactionLayer alone, {n} ringing INVITE server transactions, per one:");
    println!("    fresh layer:                        {}", per(tx_fresh, n));
    println!("    warm layer:                         {}", per(tx_warm, n));

    println!("sizes (inline, bytes):");
    println!(
        "  InviteUserAgentServer {:>5}  (boxed, one per call)",
        size_of::<InviteUserAgentServer>()
    );
    println!("    of which Message    {:>5}  (the stored INVITE's index)", size_of::<Message>());
    println!("    of which Dialog     {:>5}", size_of::<Dialog>());
    println!("  Endpoint              {:>5}", size_of::<Endpoint>());
    println!("  queued Output<Event>  {:>5}", size_of::<sipwire::Output<sipwire::ua::Event>>());
    println!("  queued TxEvent        {:>5}", size_of::<sipwire::transaction::TxEvent>());
    println!(
        "  queued Output<TxEvent>{:>5}",
        size_of::<sipwire::Output<sipwire::transaction::TxEvent>>()
    );
}
