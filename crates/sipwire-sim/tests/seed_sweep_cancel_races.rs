//! Seed sweep of CANCEL races: every request is an INVITE, and every INVITE is CANCELled
//! at a random moment after its first provisional — before the UAS answers (487), while
//! the answer crosses the CANCEL (200 or 486 stands, the CANCEL gets 200), or after the
//! answer reached the UAC (the layer refuses the CANCEL). Over lossy, duplicating,
//! reordering UDP, each INVITE must still end with one final response and every table
//! must drain.

mod sweep;

use std::time::Duration;

use sweep::{Scenario, Tally, check, run};

const SEEDS: u64 = 400;

fn races(seed: u64) -> Scenario {
    Scenario {
        cancel_share: 1.0,
        options_share: 0.0,
        max_answer_delay: Duration::from_millis(400),
        ..Scenario::lossy_udp(seed)
    }
}

#[test]
fn cancelled_invites_end_with_one_final_whoever_wins_the_race() {
    let mut total = Tally::default();
    for seed in 0..SEEDS {
        total += check(&run(&races(seed)));
    }
    println!("{total:#?}");
    assert!(total.invites >= 3_000, "the sweep shrank: {total:?}");
    assert!(total.cancelled_487 > 300, "few CANCELs won: {total:?}");
    assert!(total.answered_2xx + total.answered_486 > 300, "few answers won: {total:?}");
}
