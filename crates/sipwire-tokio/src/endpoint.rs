//! [`Endpoint`]: the application's handle on the driver task, and [`Incoming`], the
//! stream of new invitations.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use sipwire::ua::Config;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::driver::{Command, Driver, Parts};
use crate::error::Error;
use crate::handles::Invitation;
use crate::options::Options;
use crate::tcp::Settings;

/// A SIP user agent on tokio: the handle on one driver task that owns the core
/// [`sipwire::Endpoint`], the sockets and the timer.
///
/// **Drop**: dropping the endpoint stops the driver as [`shutdown`](Self::shutdown) does,
/// without waiting for it.
#[derive(Debug)]
pub struct Endpoint {
    commands: mpsc::UnboundedSender<Command>,
    driver: Option<JoinHandle<()>>,
    local: SocketAddr,
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
}

impl Endpoint {
    /// Binds the sockets `options` asks for, builds the core's configuration with
    /// `make_config` from the bound address (so that a Contact carries the real port when
    /// binding port 0), seeds it from the OS unless `options` fixed a seed, and starts the
    /// driver task. Returns the endpoint and the stream of incoming invitations.
    ///
    /// Must be called within a tokio runtime. The address given to `make_config` is the UDP
    /// socket's when UDP is bound, else the TCP listener's.
    ///
    /// # Errors
    /// A socket could not be bound, `options` binds nothing, or the OS has no randomness.
    pub async fn bind(
        options: Options,
        make_config: impl FnOnce(SocketAddr) -> Config,
    ) -> io::Result<(Self, Incoming)> {
        let udp = match options.udp {
            true => Some(UdpSocket::bind(options.addr).await?),
            false => None,
        };
        let tcp_at = match &udp {
            Some(udp) => udp.local_addr()?,
            None => options.addr,
        };
        let listener = match options.tcp {
            true => Some(TcpListener::bind(tcp_at).await?),
            false => None,
        };
        let udp_addr = udp.as_ref().map(UdpSocket::local_addr).transpose()?;
        let tcp_addr = listener.as_ref().map(TcpListener::local_addr).transpose()?;
        let local = udp_addr
            .or(tcp_addr)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "neither UDP nor TCP"))?;
        let mut config = make_config(local);
        config.seed = match options.seed {
            Some(seed) => seed,
            None => os_seed()?,
        };
        let mut parse = sipwire::ParseOptions::DEFAULT;
        parse.limits = config.limits;
        // The core answers a request with faulty headers (400); framing only needs the
        // start line, the header lines and Content-Length.
        parse.validate = false;
        let settings = Settings {
            parse,
            idle: options.idle_timeout,
            connect: options.connect_timeout,
            max_connections: options.max_connections,
            max_queued_bytes: options.max_queued_bytes,
        };
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        let parts = Parts {
            udp,
            listener,
            commands_tx: commands_tx.clone(),
            commands,
            incoming: incoming_tx,
            settings,
        };
        let driver = Driver::new(sipwire::Endpoint::new(config), parts);
        let driver = tokio::spawn(driver.run());
        let endpoint = Self {
            commands: commands_tx,
            driver: Some(driver),
            local,
            udp: udp_addr,
            tcp: tcp_addr,
        };
        Ok((endpoint, Incoming { rx: incoming }))
    }

    /// Returns the address the configuration was built from: the UDP socket's, else the
    /// TCP listener's.
    #[must_use]
    pub const fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Returns the UDP socket's address, if UDP is bound.
    #[must_use]
    pub const fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp
    }

    /// Returns the TCP listener's address, if TCP is bound.
    #[must_use]
    pub const fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp
    }

    /// Returns how many messages the core sent again (see
    /// [`sipwire::Endpoint::retransmissions`]). Cancellation-safe.
    ///
    /// # Errors
    /// [`Error::Closed`] once the driver has stopped.
    pub async fn retransmissions(&self) -> Result<u64, Error> {
        let (reply, count) = oneshot::channel();
        self.commands.send(Command::Retransmissions(reply)).map_err(|_| Error::Closed)?;
        count.await.map_err(|_| Error::Closed)
    }

    /// Stops the driver and waits for it: every call the application still holds is
    /// disposed of (480 if unanswered, BYE if established), what that produces is sent
    /// once, and the sockets close; TCP flows write out their queues, then close. Handles
    /// then see `None` from `next_event` and [`Error::Closed`] from commands. Responses to
    /// those BYEs are not waited for.
    ///
    /// The stop is ordered when the future is first polled; dropping the future after
    /// that only stops the waiting.
    pub async fn shutdown(mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(driver) = self.driver.take() {
            let _ = driver.await;
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if self.driver.is_some() {
            let _ = self.commands.send(Command::Shutdown);
        }
    }
}

/// Returns a seed for the core from the OS. Adapters own randomness; the core only ever
/// sees the seed.
fn os_seed() -> io::Result<u64> {
    getrandom::u64().map_err(io::Error::other)
}

/// The stream of incoming invitations, in arrival order. Ends once the driver stops.
///
/// Dropping it (or leaving invitations unread when the endpoint stops) rejects the
/// invitations it holds with 480, as dropping each would.
#[derive(Debug)]
pub struct Incoming {
    rx: mpsc::UnboundedReceiver<Invitation>,
}

impl Incoming {
    /// Returns the next invitation, or `None` once the driver has stopped.
    /// Cancellation-safe: a dropped future loses no invitation.
    pub async fn next(&mut self) -> Option<Invitation> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for Incoming {
    type Item = Invitation;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Invitation>> {
        self.rx.poll_recv(cx)
    }
}
