//! Matching keys (RFC 3261 §17.1.3, §17.2.3, §8.2.2.2), as byte strings.
//!
//! A key is the concatenation of the fields a rule compares, normalised where the RFC
//! compares loosely (host names case-insensitively, an absent port as the transport's
//! default), with a leading tag byte so that keys of different rules never collide.

use std::net::IpAddr;

use smallvec::SmallVec;

use crate::message::{Host, Message, Method, Via};
use crate::transport::Transport;

/// Key material; 96 bytes inline covers a cookie branch plus an address without the heap.
pub(crate) type Material = SmallVec<[u8; 96]>;

const SERVER: u8 = b'S';
const FALLBACK: u8 = b'F';
const CLIENT: u8 = b'C';
const MERGE: u8 = b'M';

/// The method a server transaction is keyed on: ACK matches the INVITE's (§17.2.3).
fn server_method(method: &Method) -> &str {
    match method {
        Method::Ack => Method::Invite.as_str(),
        m => m.as_str(),
    }
}

/// Writes the server-transaction key of `request` (whose top Via is `via`) as if its
/// method were `method`: branch, sent-by and method when the branch has the RFC 3261
/// cookie, otherwise the RFC 2543 fields (Request-URI, From tag, Call-ID, CSeq number, top
/// Via). The To tag is not part of the fallback key: see docs/conformance.md.
pub(crate) fn server(
    request: &Message,
    via: &Via<'_>,
    method: &Method,
    out: &mut Material,
) -> Option<()> {
    out.clear();
    match via.branch() {
        Some(branch) if branch.starts_with("z9hG4bK") => {
            out.push(SERVER);
            out.extend_from_slice(server_method(method).as_bytes());
            out.push(0);
            out.extend_from_slice(branch.as_bytes());
            out.push(0);
            push_host(out, &via.host);
            let port = via.port.unwrap_or_else(|| {
                Transport::from_token(via.transport.as_str()).map_or(5060, Transport::default_port)
            });
            out.extend_from_slice(&port.to_be_bytes());
        }
        _ => {
            out.push(FALLBACK);
            out.extend_from_slice(server_method(method).as_bytes());
            out.push(0);
            out.extend_from_slice(request.request_uri_str()?.as_bytes());
            out.push(0);
            out.extend_from_slice(request.from_tag().ok()?.unwrap_or("").as_bytes());
            out.push(0);
            out.extend_from_slice(request.call_id().ok()?.as_bytes());
            out.push(0);
            out.extend_from_slice(&request.cseq().ok()?.seq.to_be_bytes());
            out.extend_from_slice(request.header(crate::HeaderName::Via)?);
        }
    }
    Some(())
}

/// Writes the client-transaction key: the top Via branch and the CSeq method (§17.1.3).
pub(crate) fn client(branch: &str, method: &Method, out: &mut Material) {
    out.clear();
    out.push(CLIENT);
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(0);
    out.extend_from_slice(branch.as_bytes());
}

/// Writes the merged-request key (§8.2.2.2): From tag, Call-ID and CSeq.
pub(crate) fn merge(request: &Message, out: &mut Material) -> Option<()> {
    out.clear();
    out.push(MERGE);
    out.extend_from_slice(request.from_tag().ok()??.as_bytes());
    out.push(0);
    out.extend_from_slice(request.call_id().ok()?.as_bytes());
    out.push(0);
    let cseq = request.cseq().ok()?;
    out.extend_from_slice(&cseq.seq.to_be_bytes());
    out.extend_from_slice(cseq.method.as_str().as_bytes());
    Some(())
}

fn push_host(out: &mut Material, host: &Host<'_>) {
    match host {
        Host::Domain(d) => out.extend(d.bytes().map(|b| b.to_ascii_lowercase())),
        Host::Ipv4(a) => out.extend_from_slice(&a.octets()),
        Host::Ipv6(a) => out.extend_from_slice(&a.octets()),
    }
}

/// Returns whether a Via sent-by host is the literal address `ip` (§18.2.1 adds `received`
/// when it is not).
pub(crate) fn host_is(host: &Host<'_>, ip: IpAddr) -> bool {
    match (host, ip) {
        (Host::Ipv4(a), IpAddr::V4(b)) => *a == b,
        (Host::Ipv6(a), IpAddr::V6(b)) => *a == b,
        _ => false,
    }
}

/// The table's hash: a folded 64×64→128-bit multiply over 16-byte blocks (the construction
/// of wyhash and foldhash), keyed with three secrets drawn from the seed so that a peer who
/// does not know the seed cannot aim collisions at one bucket. About three times faster than
/// SipHash-1-3 on 40-byte keys, which matters at two or three lookups per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyHasher {
    keys: [u64; 3],
}

const fn fold(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = bytes.len().min(8);
    w[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(w)
}

impl KeyHasher {
    pub(crate) const fn new(keys: [u64; 3]) -> Self {
        Self { keys }
    }

    pub(crate) fn hash(&self, material: &[u8]) -> u64 {
        let [k0, k1, k2] = self.keys;
        let mut h = k0 ^ (material.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for block in material.chunks(16) {
            let (a, b) = block.split_at(block.len().min(8));
            h = fold(word(a) ^ k1, word(b) ^ h);
        }
        fold(h ^ k2, k1 ^ 0x2d35_8dcc_aa6c_78a5)
    }
}

#[cfg(test)]
mod tests {
    use super::KeyHasher;

    #[test]
    fn the_hash_depends_on_every_byte_the_length_and_the_keys() {
        let h = KeyHasher::new([1, 2, 3]);
        let base = h.hash(b"Sz9hG4bK-abcdef0123456789 example.com");
        for i in 0..37 {
            let mut m = b"Sz9hG4bK-abcdef0123456789 example.com".to_vec();
            m[i] ^= 1;
            assert_ne!(h.hash(&m), base, "byte {i}");
        }
        assert_ne!(h.hash(b"ab"), h.hash(b"ab\0"));
        assert_ne!(KeyHasher::new([1, 2, 4]).hash(b"ab"), h.hash(b"ab"));
    }
}
