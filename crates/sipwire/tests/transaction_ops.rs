//! proptest over arbitrary sequences of messages, TU calls, send failures and clock moves
//! against one transaction layer: never a panic, never a stuck transaction. The sequence
//! decoder and the checks are the `transaction_ops` fuzz target's, shared by path.

use proptest::prelude::*;

#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_inputs_drains_the_layer(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
        targets::transaction_ops(&data);
    }
}
