//! Seed sweep at 50 % loss in bursts: many exchanges become impossible, so Timers B, F and
//! H fire often. A timeout must then be consistent — the TU saw no final response, and the
//! trace shows none was delivered before the timer fired — and everything else must still
//! end cleanly, with every table drained.

mod sweep;

use std::time::Duration;

use sipwire_sim::{Burst, LinkConfig};
use sweep::{Scenario, Tally, check, run};

const SEEDS: u64 = 400;

fn heavy_loss(seed: u64) -> Scenario {
    Scenario {
        link: LinkConfig::new(Duration::from_millis(30))
            .with_jitter(Duration::from_millis(20))
            .with_loss(0.4)
            .with_burst(Burst::new(0.1, 0.3, 0.9))
            .with_duplicate(0.1)
            .with_reorder(0.1, Duration::from_millis(60)),
        ..Scenario::lossy_udp(seed)
    }
}

#[test]
fn timeouts_happen_only_when_nothing_got_through_and_tables_still_drain() {
    let mut total = Tally::default();
    for seed in 0..SEEDS {
        total += check(&run(&heavy_loss(seed)));
    }
    println!("{total:#?}");
    assert!(total.transactions >= 3_000, "the sweep shrank: {total:?}");
    assert!(total.timeouts >= 20, "too few timeouts to test them: {total:?}");
}
