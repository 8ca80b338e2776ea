//! The simulator's only source of randomness: a small seeded generator.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A seeded pseudo-random generator (xoshiro256\*\*, seeded through SplitMix64).
///
/// Same seed, same sequence, on every platform and every run. It is not cryptographic and
/// is not meant to be: it decides which simulated datagrams are lost, late or doubled.
///
/// ```
/// let mut a = sipwire_sim::Rng::new(7);
/// let mut b = sipwire_sim::Rng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.next_f64() < 1.0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// Returns a generator whose whole sequence is determined by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut state = [0; 4];
        for word in &mut state {
            *word = splitmix64(&mut sm);
        }
        // xoshiro's one forbidden state; SplitMix64 never yields four zeros, but say so.
        if state == [0; 4] {
            state[0] = 1;
        }
        Self { state }
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Returns a number uniformly distributed in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        #[allow(clippy::cast_precision_loss)]
        let mantissa = (self.next_u64() >> 11) as f64;
        mantissa * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns `true` with probability `p`.
    ///
    /// Always draws exactly one number, so a stream stays aligned whatever `p` is. A `p` at
    /// or below 0 (or NaN) never hits; at or above 1 always does.
    pub fn chance(&mut self, p: f64) -> bool {
        let x = self.next_f64();
        x < p
    }

    /// Returns a number uniformly distributed in `[0, n)`, or 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift; the bias is below 2^-64 * n, irrelevant here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Returns a duration uniformly distributed in `[0, max]`, at nanosecond resolution.
    pub fn duration_up_to(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.below(nanos.saturating_add(1)))
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Returns the seed of the stream for the direction `from → to`: a function of the world
/// seed and the two addresses only, so adding a node or creating links in another order
/// never changes what any other direction draws.
pub(crate) fn stream_seed(seed: u64, from: SocketAddr, to: SocketAddr) -> u64 {
    // FNV-1a over a fixed encoding, then one SplitMix64 round to spread the bits. The std
    // hasher is not promised to stay the same across Rust releases, this is.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&seed.to_le_bytes());
    for addr in [from, to] {
        match addr.ip() {
            IpAddr::V4(ip) => {
                eat(&[4]);
                eat(&ip.octets());
            }
            IpAddr::V6(ip) => {
                eat(&[6]);
                eat(&ip.octets());
            }
        }
        eat(&addr.port().to_le_bytes());
    }
    let mut state = h;
    splitmix64(&mut state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs of SplitMix64 seeded with 0 (the reference implementation's).
        let mut s = 0;
        assert_eq!(splitmix64(&mut s), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(&mut s), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn f64_in_unit_interval_and_chance_edges() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
        assert!(!r.chance(0.0));
        assert!(!r.chance(f64::NAN));
        assert!(r.chance(1.0));
        assert_eq!(r.below(0), 0);
        assert_eq!(r.duration_up_to(Duration::ZERO), Duration::ZERO);
        assert!(r.duration_up_to(Duration::MAX) <= Duration::MAX);
    }

    #[test]
    fn streams_differ_by_direction_and_seed() {
        let a: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        let b: SocketAddr = "192.0.2.2:5060".parse().unwrap();
        assert_ne!(stream_seed(1, a, b), stream_seed(1, b, a));
        assert_ne!(stream_seed(1, a, b), stream_seed(2, a, b));
        assert_eq!(stream_seed(1, a, b), stream_seed(1, a, b));
    }
}
