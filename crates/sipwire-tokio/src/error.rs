//! [`Error`]: why a command on an invitation or session failed.

use sipwire::ua::InvitationError;

/// Why a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The core refused the command (wrong state, a CANCEL won the race …).
    #[error(transparent)]
    Invitation(#[from] InvitationError),
    /// The invitation ended long enough ago (64·T1) that the core forgot it.
    #[error("the invitation is over and forgotten")]
    Gone,
    /// The endpoint's driver has stopped (shut down, or its handle dropped).
    #[error("the endpoint has stopped")]
    Closed,
}
