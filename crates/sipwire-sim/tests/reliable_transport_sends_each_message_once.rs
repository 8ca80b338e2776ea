//! Over TCP nothing is retransmitted: not the requests (no Timers A and E), not the final
//! responses (no Timer G), not the 2xx (the UAS TU retransmits only over UDP). Each
//! transaction puts exactly its messages on the wire, once — the request, each response
//! the client's TU sees, and the ACK of an answered INVITE — and still ends cleanly, with
//! Timers D, I, J and K at zero.

mod sweep;

use std::collections::BTreeSet;

use sipwire::{Method, Transport};
use sipwire_sim::RecordKind;
use sipwire_sim::layer::Agent;
use sweep::{Scenario, Tally, check, run};

const SEEDS: u64 = 100;

#[test]
fn every_message_crosses_the_wire_exactly_once() {
    let mut total = Tally::default();
    for seed in 0..SEEDS {
        // The lossy link's impairments apply to UDP only: TCP sees its latency and jitter.
        let scenario = Scenario { transport: Transport::Tcp, ..Scenario::lossy_udp(seed) };
        let run = run(&scenario);
        let tally = check(&run);
        assert_eq!(tally.timeouts, 0, "seed {seed}: a timeout over TCP");

        // Each request once, each response once (every one reaches the client's TU: TCP
        // neither loses nor doubles), and one ACK per answered INVITE.
        let mut expected = 0;
        for &uac in &run.uacs {
            for c in run.world.node::<Agent>(uac).unwrap().clients() {
                let ack = c.method == Method::Invite && c.final_response().is_some();
                expected += 1 + c.responses.len() + usize::from(ack);
            }
        }
        let mut seen = BTreeSet::new();
        let mut sent = 0;
        for record in run.world.trace() {
            let RecordKind::Sent(d) = &record.kind else { continue };
            assert_eq!(d.transport, Transport::Tcp, "seed {seed}: {}", d.summary());
            assert!(seen.insert(d.payload.clone()), "seed {seed}: sent twice: {}", d.summary());
            sent += 1;
        }
        assert_eq!(sent, expected, "seed {seed}: datagrams on the wire");
        let lost = run.world.trace().filter(|r| matches!(r.kind, RecordKind::Dropped(..))).count();
        assert_eq!(lost, 0, "seed {seed}");
        total += tally;
    }
    println!("{total:#?}");
    assert_eq!(total.retransmitted_2xx_to_tu, 0, "{total:?}");
    assert!(total.transactions >= 1_500 && total.cancels > 0, "{total:?}");
}
