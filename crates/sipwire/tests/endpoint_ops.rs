//! proptest over arbitrary sequences of caller messages (matching the endpoint's dialogs or
//! deliberately not), application commands on the invitations and clock moves against one
//! `Endpoint`: never a panic, commands act as documented or return `Err`, and once the
//! caller and application finish, everything drains. The sequence decoder and the checks
//! are the `endpoint_ops` fuzz target's, shared by path.

use proptest::prelude::*;

#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_calls_and_commands_drains_the_endpoint(
        data in proptest::collection::vec(any::<u8>(), 0..2048)
    ) {
        targets::endpoint_ops(&data);
    }
}
