//! Heap held by ringing INVITE server transactions in each peer's transaction layer, counted
//! with a counting global allocator. Not a criterion bench: it prints a table.
//!
//! ```text
//! cargo bench -p sipwire-benches --bench tx_memory
//! ```
//!
//! "Ringing" means: `invite-461` parsed and fed to the layer, the server transaction created,
//! the TU has sent 100 Trying and 180 Ringing (through the adapters in `common/tx_peers.rs`),
//! and the TU has dropped its own copy of the request. The caller keeps only what it needs to
//! answer later (sipx-sip: the `TransactionKey`; rsiprtp: the `TransactionHandle`, a `u64`).
//!
//! Bytes are the sizes requested from the allocator (`Layout::size`), so malloc's own headers
//! and rounding (about 8-16 bytes per block with glibc) are not included; blocks are counted
//! so that can be estimated. Columns:
//!
//! - `fresh`: live bytes after one ringing transaction in a newly built layer, minus before.
//!   Includes the layer's hash tables growing from empty to their first allocation.
//! - `TU req`: what the TU's copy of the request held on top of that, before it dropped it.
//!   A rsiprtp TU cannot drop it if it wants to answer later: its manager has no accessor for
//!   the request (sipx-sip has `TransactionLayer::server_request`).
//! - `key`: heap of the caller's `TransactionKey` (included in `fresh`; measured on a clone).
//! - `warm`: one ringing transaction in a layer whose tables already have room, i.e. the
//!   transaction's own heap, plus the bytes its entries take inline in the hash tables
//!   (`size_of` of each map's `(K, V)` plus one control byte per map; sipx-sip has one map,
//!   rsiprtp three: handle → transaction, id → handle, handle → type).
//! - `mean of N`: (live bytes with N ringing transactions − before) / N, each with its own
//!   branch, in one fresh layer; hash table slack at whatever load factor N leaves is included.
//!
//! After each step the transactions are abandoned and the bytes still held are reported as
//! `left`, which should be just the emptied tables' capacity.

// A `GlobalAlloc` impl is unsafe by definition; this is bench scaffolding (the core forbids
// unsafe code in its lib.rs).
#![allow(unsafe_code)]

use std::mem::size_of;

#[path = "common/tx_peers.rs"]
mod tx_peers;
#[path = "common/tx_sipwire.rs"]
mod tx_sipwire;

#[path = "../../crates/sipwire/tests/support/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// Live heap: (bytes, blocks).
#[derive(Debug, Clone, Copy)]
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

impl std::fmt::Display for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} B / {} blocks", self.0, self.1)
    }
}

const INVITE: &[u8] = include_bytes!("../data/invite-461.sip");
const BRANCH: &[u8] = b"abcdef0123456789";

/// `invite-461` with the branch's last 16 characters replaced by `i` in hex (same length).
fn invite(i: usize) -> Vec<u8> {
    let mut bytes = INVITE.to_vec();
    let at = bytes.windows(BRANCH.len()).position(|w| w == BRANCH).expect("branch");
    bytes[at..at + BRANCH.len()].copy_from_slice(format!("{i:016x}").as_bytes());
    bytes
}

fn discard(_: &[u8]) {}

/// One peer's transaction layer, seen from a TU that holds ringing INVITEs.
trait Peer: Sized {
    const NAME: &'static str;
    /// The TU's state after 180: what it needs to answer plus its copy of the request.
    type Ringing;
    /// What the TU keeps once it has dropped its copy of the request.
    type Kept;
    fn new() -> Self;
    fn ring(&mut self, invite: &[u8]) -> Self::Ringing;
    fn drop_request(ringing: Self::Ringing) -> Self::Kept;
    /// Heap owned by a `Kept`.
    fn kept_heap(kept: &Self::Kept) -> Live;
    fn abandon(&mut self, kept: Self::Kept);
    /// Bytes one transaction's entries take inline in the layer's hash tables.
    fn inline_entry_bytes() -> usize;
}

impl Peer for tx_peers::SipxSip {
    const NAME: &'static str = "sipx-sip";
    type Ringing = tx_peers::SipxRinging;
    type Kept = sipx_sip::TransactionKey;
    fn new() -> Self {
        Self::new()
    }
    fn ring(&mut self, invite: &[u8]) -> Self::Ringing {
        self.invite_ringing(invite, &mut discard)
    }
    fn drop_request(ringing: Self::Ringing) -> Self::Kept {
        ringing.key
    }
    fn kept_heap(kept: &Self::Kept) -> Live {
        let before = live();
        let clone = kept.clone();
        let held = live() - before;
        drop(clone);
        held
    }
    fn abandon(&mut self, kept: Self::Kept) {
        Self::abandon(self, &kept);
    }
    fn inline_entry_bytes() -> usize {
        size_of::<(sipx_sip::TransactionKey, sipx_sip::ServerTransaction)>() + 1
    }
}

impl Peer for tx_peers::Rsiprtp {
    const NAME: &'static str = "rsiprtp";
    type Ringing = tx_peers::RsiprtpRinging;
    type Kept = rsiprtp::transaction::TransactionHandle;
    fn new() -> Self {
        Self::new()
    }
    fn ring(&mut self, invite: &[u8]) -> Self::Ringing {
        self.invite_ringing(invite, &mut discard)
    }
    fn drop_request(ringing: Self::Ringing) -> Self::Kept {
        ringing.handle
    }
    fn kept_heap(_: &Self::Kept) -> Live {
        Live(0, 0)
    }
    fn abandon(&mut self, kept: Self::Kept) {
        Self::abandon(self, kept);
    }
    fn inline_entry_bytes() -> usize {
        use rsiprtp::transaction::{
            InviteServerTransaction, TransactionHandle, TransactionId, TransactionType,
        };
        size_of::<(TransactionHandle, InviteServerTransaction)>()
            + size_of::<(TransactionId, TransactionHandle)>()
            + size_of::<(TransactionHandle, TransactionType)>()
            + 3
    }
}

impl Peer for tx_sipwire::Sipwire {
    const NAME: &'static str = "sipwire";
    type Ringing = tx_sipwire::SipwireRinging;
    type Kept = sipwire::TransactionId;
    fn new() -> Self {
        Self::new()
    }
    fn ring(&mut self, invite: &[u8]) -> Self::Ringing {
        self.invite_ringing(invite, &mut discard)
    }
    fn drop_request(ringing: Self::Ringing) -> Self::Kept {
        ringing.id
    }
    fn kept_heap(_: &Self::Kept) -> Live {
        Live(0, 0)
    }
    /// sipwire has no "abandon": the transaction is finished the RFC way (a final response,
    /// then Timer H runs out), which also shows that nothing stays allocated once it ends.
    fn abandon(&mut self, kept: Self::Kept) {
        thread_local! {
            static BUSY: sipwire::Message = {
                let invite = sipwire::Message::parse(INVITE).expect("invite");
                invite.reply(486).to_tag("x").build().expect("486")
            };
        }
        BUSY.with(|busy| self.finish(kept, busy));
    }
    fn inline_entry_bytes() -> usize {
        // The slot lives in the layer's slab (counted in `warm` once the slab has grown);
        // the two hash tables hold a `u32` and a control byte each.
        2 * (size_of::<u32>() + 1)
    }
}

fn measure<P: Peer>(invites: &[Vec<u8>]) {
    // One ringing transaction in a fresh layer.
    let mut peer = P::new();
    let before = live();
    let ringing = peer.ring(&invites[0]);
    let with_request = live() - before;
    let kept = P::drop_request(ringing);
    let fresh = live() - before;
    let request = with_request - fresh;
    let key = P::kept_heap(&kept);
    peer.abandon(kept);
    let left_fresh = live() - before;

    // One more in the same, now warm, layer.
    let before = live();
    let kept = P::drop_request(peer.ring(&invites[1]));
    let warm = live() - before;
    peer.abandon(kept);
    let inline = P::inline_entry_bytes();
    drop(peer);

    // Many, in a fresh layer.
    let mut peer = P::new();
    let mut all = Vec::with_capacity(invites.len());
    let before = live();
    for invite in invites {
        all.push(P::drop_request(peer.ring(invite)));
    }
    let many = live() - before;
    for kept in all.drain(..) {
        peer.abandon(kept);
    }
    let left_many = live() - before;
    let n = invites.len() as isize;

    println!("{}:", P::NAME);
    println!("  fresh layer, 1 ringing:   {fresh}  (left after abandon: {left_fresh})");
    println!("  TU's request copy:        {request}  (dropped before `fresh` was read)");
    println!("  caller's key:             {key}  (included in `fresh`)");
    println!(
        "  warm layer, 1 ringing:    {warm} + {inline} B inline in the tables = {} B",
        warm.0 + inline as isize
    );
    println!(
        "  {:<26}{} B / {:.1} blocks per transaction  (left: {left_many})",
        format!("mean of {n} ringing:"),
        many.0 / n,
        many.1 as f64 / n as f64
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: keep that run short.
    let n = if std::env::args().any(|a| a == "--bench") { 10_000 } else { 100 };
    let invites: Vec<Vec<u8>> = (0..n).map(invite).collect();
    assert_eq!(invites[0].len(), INVITE.len());
    measure::<tx_sipwire::Sipwire>(&invites);
    measure::<tx_peers::SipxSip>(&invites);
    measure::<tx_peers::Rsiprtp>(&invites);
}
