//! Writes a trace as a classic libpcap capture: Ethernet, IPv4 or IPv6, UDP.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::trace::{Datagram, DropReason, Record, RecordKind};

/// Capture timestamps are this many seconds after the Unix epoch plus the virtual time.
pub(crate) const EPOCH_SECS: u64 = 1_700_000_000;
/// The largest packet libpcap readers accept by default; every IP packet fits.
const SNAPLEN: u32 = 262_144;
const LINKTYPE_ETHERNET: u32 = 1;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const PROTO_UDP: u8 = 17;

pub(crate) fn write<'a, W: io::Write>(
    mut out: W,
    start: Instant,
    records: impl Iterator<Item = &'a Record> + Clone,
) -> io::Result<()> {
    // A failed send never reached the wire; its Dropped record follows its Sent record.
    let never_sent: BTreeSet<u64> = records
        .clone()
        .filter_map(|r| match &r.kind {
            RecordKind::Dropped(d, DropReason::SendFailed) => Some(d.id),
            _ => None,
        })
        .collect();

    out.write_all(&global_header())?;
    let mut frame = Vec::new();
    for record in records {
        let RecordKind::Sent(d) = &record.kind else { continue };
        if never_sent.contains(&d.id) {
            continue;
        }
        frame.clear();
        if !ethernet_frame(d, &mut frame) {
            continue;
        }
        let elapsed = record.at.saturating_duration_since(start);
        out.write_all(&record_header(elapsed, frame.len()))?;
        out.write_all(&frame)?;
    }
    out.flush()
}

fn global_header() -> [u8; 24] {
    let mut h = [0; 24];
    h[0..4].copy_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone and sigfigs stay 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    h
}

fn record_header(elapsed: Duration, len: usize) -> [u8; 16] {
    let secs = u32::try_from(EPOCH_SECS.saturating_add(elapsed.as_secs())).unwrap_or(u32::MAX);
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    let mut h = [0; 16];
    h[0..4].copy_from_slice(&secs.to_le_bytes());
    h[4..8].copy_from_slice(&elapsed.subsec_micros().to_le_bytes());
    h[8..12].copy_from_slice(&len.to_le_bytes());
    h[12..16].copy_from_slice(&len.to_le_bytes());
    h
}

/// Appends the frame carrying `d` to `out`; `false` (and nothing written) if it cannot be
/// one packet: mixed address families, or too large.
fn ethernet_frame(d: &Datagram, out: &mut Vec<u8>) -> bool {
    let payload = &d.payload[..];
    let Ok(udp_len) = u16::try_from(payload.len() + 8) else { return false };
    let (src, dst) = (d.source, d.destination);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(t)) => {
            let Ok(total) = u16::try_from(20 + usize::from(udp_len)) else { return false };
            ethernet_header(out, src, dst, ETHERTYPE_IPV4);
            let ip_start = out.len();
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&total.to_be_bytes());
            // The identification field tells retransmissions apart in Wireshark.
            out.extend_from_slice(&(d.id as u16).to_be_bytes());
            out.extend_from_slice(&[0x40, 0, 64, PROTO_UDP, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&t.octets());
            let checksum = !ones_complement_sum(&out[ip_start..], 0);
            out[ip_start + 10..ip_start + 12].copy_from_slice(&checksum.to_be_bytes());
            let mut pseudo = Vec::with_capacity(12);
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&t.octets());
            pseudo.extend_from_slice(&[0, PROTO_UDP]);
            pseudo.extend_from_slice(&udp_len.to_be_bytes());
            udp(out, src.port(), dst.port(), udp_len, &pseudo, payload);
        }
        (IpAddr::V6(s), IpAddr::V6(t)) => {
            ethernet_header(out, src, dst, ETHERTYPE_IPV6);
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&udp_len.to_be_bytes());
            out.extend_from_slice(&[PROTO_UDP, 64]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&t.octets());
            let mut pseudo = Vec::with_capacity(40);
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&t.octets());
            pseudo.extend_from_slice(&u32::from(udp_len).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, PROTO_UDP]);
            udp(out, src.port(), dst.port(), udp_len, &pseudo, payload);
        }
        _ => return false,
    }
    true
}

/// Locally administered MAC addresses made from the IP address, so each node keeps one.
fn mac(addr: SocketAddr) -> [u8; 6] {
    let tail: [u8; 4] = match addr.ip() {
        IpAddr::V4(ip) => ip.octets(),
        IpAddr::V6(ip) => {
            let o = ip.octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    [0x02, 0x00, tail[0], tail[1], tail[2], tail[3]]
}

fn ethernet_header(out: &mut Vec<u8>, src: SocketAddr, dst: SocketAddr, ethertype: u16) {
    out.extend_from_slice(&mac(dst));
    out.extend_from_slice(&mac(src));
    out.extend_from_slice(&ethertype.to_be_bytes());
}

fn udp(out: &mut Vec<u8>, src: u16, dst: u16, len: u16, pseudo: &[u8], payload: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&src.to_be_bytes());
    out.extend_from_slice(&dst.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let sum = ones_complement_sum(&out[start..], ones_complement_sum(pseudo, 0));
    // A computed 0 is sent as all ones: 0 means "no checksum" (RFC 768).
    let checksum = match !sum {
        0 => 0xffff,
        c => c,
    };
    out[start + 6..start + 8].copy_from_slice(&checksum.to_be_bytes());
}

/// The RFC 1071 sum of `data` as big-endian 16-bit words (an odd last byte padded with
/// zero), folded, added to `initial`.
pub(crate) fn ones_complement_sum(data: &[u8], initial: u16) -> u16 {
    let mut sum = u32::from(initial);
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // The worked example of RFC 1071 §3: 0x0001 f203 f4f5 f6f7 sums to 0xddf2.
        assert_eq!(
            ones_complement_sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0),
            0xddf2
        );
        assert_eq!(ones_complement_sum(&[0xff], 0), 0xff00);
    }

    #[test]
    fn header_layout() {
        let h = global_header();
        assert_eq!(&h[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        let r = record_header(Duration::from_millis(1_500), 42);
        assert_eq!(u32::from_le_bytes(r[0..4].try_into().unwrap()), 1_700_000_001);
        assert_eq!(u32::from_le_bytes(r[4..8].try_into().unwrap()), 500_000);
    }
}
