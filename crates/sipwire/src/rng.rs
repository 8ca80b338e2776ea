//! The seeded generator behind branches and tags: xoshiro256** (Blackman and Vigna),
//! seeded through SplitMix64. Not cryptographic; SIP needs identifiers that are unique and
//! hard to guess off-path, and runs that replay exactly from a seed.

/// A small seeded pseudo-random generator; same seed, same sequence.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self { s: [next(), next(), next(), next()] }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Appends `n` characters of `[0-9a-z]` (5.17 bits each) to `out`.
    pub(crate) fn push_token(&mut self, out: &mut Vec<u8>, n: usize) {
        const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut word = 0u64;
        let mut left = 0;
        for _ in 0..n {
            if left == 0 {
                word = self.next_u64();
                left = 12; // 36^12 < 2^64: twelve digits per word, bias below 2^-1
            }
            out.push(ALPHABET[(word % 36) as usize]);
            word /= 36;
            left -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_sequence_and_seeds_differ() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn tokens_are_lower_alphanumeric() {
        let mut r = Rng::new(1);
        let mut out = Vec::new();
        r.push_token(&mut out, 40);
        assert_eq!(out.len(), 40);
        assert!(out.iter().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
    }
}
