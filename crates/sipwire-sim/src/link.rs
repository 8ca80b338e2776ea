//! Links: what the network does to a datagram between two nodes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rng::Rng;
use crate::trace::DropReason;

/// How one direction of a link treats datagrams: delay, loss, duplication, reordering.
///
/// Every random decision comes from a stream of the world seed and the two node addresses
/// (see [`World::new`](crate::World::new)). The default is 10 ms of latency and nothing else.
///
/// Impairments apply to UDP only. Every other [`Transport`](sipwire::Transport) is reliable
/// and in order: it sees `latency` and `jitter`, never loss, duplication or reordering, and
/// a datagram never overtakes an earlier one on the same direction. Partitions and the
/// manual controls ([`World::drop_next`](crate::World::drop_next),
/// [`World::delay_next`](crate::World::delay_next)) apply to every transport.
///
/// ```
/// use std::time::Duration;
/// use sipwire_sim::{Burst, LinkConfig};
/// let lossy = LinkConfig::new(Duration::from_millis(40))
///     .with_jitter(Duration::from_millis(5))
///     .with_loss(0.1)
///     .with_burst(Burst::new(0.05, 0.5, 0.9));
/// assert_eq!(lossy.latency, Duration::from_millis(40));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LinkConfig {
    /// The fixed one-way delay.
    pub latency: Duration,
    /// Each datagram waits a further delay drawn uniformly from `[0, jitter]`. Jitter alone
    /// can reorder datagrams sent less than `jitter` apart.
    pub jitter: Duration,
    /// The probability that a datagram is lost (in the good state, when `burst` is set).
    pub loss: f64,
    /// Bursty loss: a two-state Gilbert–Elliott chain; `None` for independent losses.
    pub burst: Option<Burst>,
    /// The probability that a delivered datagram arrives twice; the copy draws its own
    /// jitter.
    pub duplicate: f64,
    /// The probability that a datagram is held back by `reorder_delay`, so that datagrams
    /// sent just after it overtake it.
    pub reorder: f64,
    /// How long a reordered datagram is held back.
    pub reorder_delay: Duration,
}

impl LinkConfig {
    /// The latency of the default link.
    pub const DEFAULT_LATENCY: Duration = Duration::from_millis(10);

    /// Returns a link with this latency and no jitter, loss, duplication or reordering.
    #[must_use]
    pub const fn new(latency: Duration) -> Self {
        Self {
            latency,
            jitter: Duration::ZERO,
            loss: 0.0,
            burst: None,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(50),
        }
    }

    /// Returns the config with `latency` as its fixed one-way delay.
    #[must_use]
    pub const fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Returns the config with up to `jitter` of extra delay per datagram.
    #[must_use]
    pub const fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Returns the config losing each datagram with probability `loss` (clamped to 0..=1).
    #[must_use]
    pub const fn with_loss(mut self, loss: f64) -> Self {
        self.loss = probability(loss);
        self
    }

    /// Returns the config with bursty (Gilbert–Elliott) loss.
    #[must_use]
    pub const fn with_burst(mut self, burst: Burst) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Returns the config delivering a datagram twice with probability `p`.
    #[must_use]
    pub const fn with_duplicate(mut self, p: f64) -> Self {
        self.duplicate = probability(p);
        self
    }

    /// Returns the config holding a datagram back by `delay` with probability `p`.
    #[must_use]
    pub const fn with_reorder(mut self, p: f64, delay: Duration) -> Self {
        self.reorder = probability(p);
        self.reorder_delay = delay;
        self
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self::new(Self::DEFAULT_LATENCY)
    }
}

/// Bursty loss as a Gilbert–Elliott chain: a good state (losing with
/// [`LinkConfig::loss`]) and a bad state (losing with `loss_in_bad`).
///
/// Before each UDP datagram the chain moves: from good to bad with probability
/// `p_enter_bad`, from bad to good with probability `p_leave_bad`. Bursts last
/// `1 / p_leave_bad` datagrams on average.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Burst {
    /// The probability of moving from the good state to the bad one, per datagram.
    pub p_enter_bad: f64,
    /// The probability of moving from the bad state to the good one, per datagram.
    pub p_leave_bad: f64,
    /// The probability that a datagram is lost in the bad state.
    pub loss_in_bad: f64,
}

impl Burst {
    /// Returns a chain with these probabilities (each clamped to 0..=1).
    #[must_use]
    pub const fn new(p_enter_bad: f64, p_leave_bad: f64, loss_in_bad: f64) -> Self {
        Self {
            p_enter_bad: probability(p_enter_bad),
            p_leave_bad: probability(p_leave_bad),
            loss_in_bad: probability(loss_in_bad),
        }
    }

    /// Returns the long-run share of datagrams sent in the bad state.
    #[must_use]
    pub fn bad_fraction(&self) -> f64 {
        let total = self.p_enter_bad + self.p_leave_bad;
        if total > 0.0 { self.p_enter_bad / total } else { 0.0 }
    }

    /// Returns the long-run loss rate, given the loss rate `good_loss` of the good state.
    #[must_use]
    pub fn mean_loss(&self, good_loss: f64) -> f64 {
        let bad = self.bad_fraction();
        bad * self.loss_in_bad + (1.0 - bad) * probability(good_loss)
    }
}

/// What a partition does to a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartitionMode {
    /// Datagrams vanish, as on a cut UDP path: the sender learns nothing.
    Silent,
    /// Sends fail at once and the sender's
    /// [`Node::handle_send_failed`](crate::Node::handle_send_failed) is called, as for an ICMP unreachable or a refused connection. Datagrams already in
    /// flight when the partition starts are lost silently.
    FailSends,
}

/// Clamps to `[0, 1]`; NaN becomes 0, so a bad value never panics or always drops.
const fn probability(p: f64) -> f64 {
    if p.is_nan() || p < 0.0 {
        0.0
    } else if p > 1.0 {
        1.0
    } else {
        p
    }
}

/// What the link decided for one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Not put on the wire at all: the sender is told.
    SendFailed,
    /// Lost on the way.
    Dropped(DropReason),
    /// Arrives at `at`, and a copy at `copy` if the link duplicated it.
    Deliver { at: Instant, copy: Option<Instant> },
}

/// One direction of a link: its config, its random stream and the manual controls.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub(crate) config: LinkConfig,
    /// Set by `World::link`; otherwise the channel follows the world's default config.
    pub(crate) configured: bool,
    pub(crate) partition: Option<PartitionMode>,
    rng: Rng,
    in_bad_state: bool,
    drop_next: u32,
    delay_next: VecDeque<Duration>,
    /// The last delivery time of a reliable datagram, which later ones may not precede.
    reliable_tail: Option<Instant>,
}

impl Channel {
    pub(crate) const fn new(config: LinkConfig, rng: Rng) -> Self {
        Self {
            config,
            configured: false,
            partition: None,
            rng,
            in_bad_state: false,
            drop_next: 0,
            delay_next: VecDeque::new(),
            reliable_tail: None,
        }
    }

    pub(crate) const fn drop_next(&mut self) {
        self.drop_next = self.drop_next.saturating_add(1);
    }

    pub(crate) fn delay_next(&mut self, extra: Duration) {
        self.delay_next.push_back(extra);
    }

    /// Decides what happens to a datagram sent now.
    pub(crate) fn route(&mut self, now: Instant, reliable: bool) -> Fate {
        match self.partition {
            Some(PartitionMode::FailSends) => return Fate::SendFailed,
            Some(PartitionMode::Silent) => return Fate::Dropped(DropReason::Partition),
            None => {}
        }
        if self.drop_next > 0 {
            self.drop_next -= 1;
            return Fate::Dropped(DropReason::Manual);
        }
        let config = self.config;
        if reliable {
            let extra = self.delay_next.pop_front().unwrap_or(Duration::ZERO);
            let delay = config
                .latency
                .saturating_add(self.rng.duration_up_to(config.jitter))
                .saturating_add(extra);
            let mut at = add(now, delay);
            if let Some(tail) = self.reliable_tail {
                at = at.max(tail);
            }
            self.reliable_tail = Some(at);
            return Fate::Deliver { at, copy: None };
        }

        // Every UDP datagram draws the same numbers in the same order, whatever is decided,
        // so one datagram's fate never shifts the draws of the next.
        if let Some(burst) = config.burst {
            let flip = self.rng.chance(if self.in_bad_state {
                burst.p_leave_bad
            } else {
                burst.p_enter_bad
            });
            self.in_bad_state ^= flip;
        }
        let loss = match config.burst {
            Some(burst) if self.in_bad_state => burst.loss_in_bad,
            _ => config.loss,
        };
        let lost = self.rng.chance(loss);
        let jitter = self.rng.duration_up_to(config.jitter);
        let reordered = self.rng.chance(config.reorder);
        let duplicated = self.rng.chance(config.duplicate);
        let copy_jitter = self.rng.duration_up_to(config.jitter);
        if lost {
            return Fate::Dropped(DropReason::Loss);
        }
        // A pending `delay_next` waits for a datagram that is actually carried.
        let extra = self.delay_next.pop_front().unwrap_or(Duration::ZERO);
        let mut delay = config.latency.saturating_add(jitter).saturating_add(extra);
        if reordered {
            delay = delay.saturating_add(config.reorder_delay);
        }
        let copy = duplicated
            .then(|| add(now, config.latency.saturating_add(copy_jitter).saturating_add(extra)));
        Fate::Deliver { at: add(now, delay), copy }
    }
}

/// `now + delay`, saturating far in the future instead of panicking on overflow.
fn add(now: Instant, delay: Duration) -> Instant {
    now.checked_add(delay)
        .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(now)
}
