//! The transaction layer (RFC 3261 §17, with RFC 6026).

use std::fmt;

/// Identifies one transaction in a [`TransactionLayer`]: an opaque handle, never reused
/// while the layer lives.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId {
    slot: u32,
    generation: u32,
}

impl TransactionId {
    pub(crate) const fn new(slot: u32, generation: u32) -> Self {
        Self { slot, generation }
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}.{}", self.slot, self.generation)
    }
}
