//! Seed sweep: thousands of INVITE (answered 200 or 486, some CANCELled) and OPTIONS
//! transactions between real transaction layers over UDP links that lose 30 %, duplicate
//! 10 % and reorder 10 % of datagrams. Every transaction must end as RFC 3261 §17 and
//! RFC 6026 say, every TU must see each message the right number of times, and every table
//! must drain. A failure names its seed: `Scenario::lossy_udp(seed)` replays it.

mod sweep;

use sweep::{Scenario, Tally, check, run};

const SEEDS: u64 = 600;

#[test]
fn every_transaction_ends_cleanly_under_loss_duplication_and_reordering() {
    let mut total = Tally::default();
    for seed in 0..SEEDS {
        total += check(&run(&Scenario::lossy_udp(seed)));
    }
    println!("{total:#?}");
    assert!(total.transactions >= 3_000, "the sweep shrank: {total:?}");
    // The sweep must exercise what it claims to.
    assert!(total.answered_2xx > 500 && total.answered_486 > 500, "{total:?}");
    assert!(total.cancels > 100 && total.cancelled_487 > 50, "{total:?}");
    assert!(total.retransmitted_2xx_to_tu > 0, "no retransmitted 2xx reached a TU: {total:?}");
}
