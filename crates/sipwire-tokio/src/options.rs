//! [`Options`]: what the adapter binds and the limits it puts on TCP flows.

use std::net::SocketAddr;
use std::time::Duration;

/// What [`Endpoint::bind`](crate::Endpoint::bind) binds, and the adapter's own limits.
///
/// The SIP behaviour (timers, message limits, the Contact …) is the core's
/// [`Config`](sipwire::ua::Config), built by the closure given to `bind` once the real local
/// address is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub(crate) addr: SocketAddr,
    pub(crate) udp: bool,
    pub(crate) tcp: bool,
    pub(crate) seed: Option<u64>,
    pub(crate) max_connections: usize,
    pub(crate) max_queued_bytes: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) connect_timeout: Duration,
}

impl Options {
    /// Returns options that listen on UDP only, at `addr`.
    #[must_use]
    pub const fn udp(addr: SocketAddr) -> Self {
        Self::new(addr, true, false)
    }

    /// Returns options that listen on TCP only, at `addr`.
    #[must_use]
    pub const fn tcp(addr: SocketAddr) -> Self {
        Self::new(addr, false, true)
    }

    /// Returns options that listen on UDP at `addr` and on TCP at the same address and
    /// port (the UDP socket's port when `addr` asks for port 0), so that one Contact serves
    /// both.
    #[must_use]
    pub const fn udp_and_tcp(addr: SocketAddr) -> Self {
        Self::new(addr, true, true)
    }

    const fn new(addr: SocketAddr, udp: bool, tcp: bool) -> Self {
        Self {
            addr,
            udp,
            tcp,
            seed: None,
            max_connections: 1024,
            max_queued_bytes: 1 << 20,
            idle_timeout: Duration::from_secs(32),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Keeps this seed instead of one drawn from the OS, for reproducible tags and branches
    /// (tests, captures).
    #[must_use]
    pub const fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the most TCP connections open at once, accepted and opened together (default
    /// 1024). A connection beyond is closed at once; a message that would need one fails.
    #[must_use]
    pub const fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets the most bytes queued for one TCP connection that the peer has not read yet
    /// (default 1 MiB). A message that would go beyond closes the connection and fails.
    #[must_use]
    pub const fn max_queued_bytes(mut self, n: usize) -> Self {
        self.max_queued_bytes = n;
        self
    }

    /// Sets how long a TCP peer may take to finish a message it started (default 32 s,
    /// 64·T1). A connection whose partial message is older is closed.
    #[must_use]
    pub const fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets how long opening a TCP connection to a peer may take (default 10 s).
    #[must_use]
    pub const fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
}
