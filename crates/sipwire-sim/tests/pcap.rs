//! The pcap export: one well-formed Ethernet/IP/UDP packet per datagram put on the wire.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use common::{Requester, addr};
use sipwire::Transport;
use sipwire_sim::script::{Scripted, Sink};
use sipwire_sim::{LinkConfig, RecordKind, World};

/// One packet read back from a capture.
#[derive(Debug)]
struct Packet {
    ts: Duration,
    src: SocketAddr,
    dst: SocketAddr,
    payload: Vec<u8>,
}

fn u16_be(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The RFC 1071 sum, folded; a correct checksum makes a covered range sum to 0xffff.
fn sum(chunks: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = chunks.concat();
    let mut s: u32 = 0;
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        s += u32::from(word);
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Parses a whole capture, checking every length and checksum on the way.
fn parse(capture: &[u8]) -> Vec<Packet> {
    assert!(capture.len() >= 24, "no global header");
    assert_eq!(u32_le(capture, 0), 0xa1b2_c3d4, "magic");
    assert_eq!(u16::from_le_bytes([capture[4], capture[5]]), 2, "major version");
    assert_eq!(u16::from_le_bytes([capture[6], capture[7]]), 4, "minor version");
    assert_eq!(u32_le(capture, 8), 0, "thiszone");
    assert_eq!(u32_le(capture, 12), 0, "sigfigs");
    let snaplen = u32_le(capture, 16);
    assert_eq!(u32_le(capture, 20), 1, "linktype Ethernet");

    let mut packets = Vec::new();
    let mut at = 24;
    while at < capture.len() {
        assert!(capture.len() - at >= 16, "truncated record header");
        let (secs, micros) = (u32_le(capture, at), u32_le(capture, at + 4));
        let (incl, orig) = (u32_le(capture, at + 8) as usize, u32_le(capture, at + 12) as usize);
        assert_eq!(incl, orig, "nothing is cut short");
        assert!(incl as u32 <= snaplen);
        assert!(micros < 1_000_000);
        at += 16;
        let frame = &capture[at..at + incl];
        at += incl;

        let ethertype = u16_be(frame, 12);
        let ip = &frame[14..];
        let (src_ip, dst_ip, udp, pseudo): (IpAddr, IpAddr, &[u8], Vec<u8>) = match ethertype {
            0x0800 => {
                assert_eq!(ip[0], 0x45, "IPv4, 20-byte header");
                assert_eq!(usize::from(u16_be(ip, 2)), ip.len(), "IPv4 total length");
                assert_eq!(ip[9], 17, "UDP");
                assert_eq!(sum(&[&ip[..20]]), 0xffff, "IPv4 header checksum");
                let src: [u8; 4] = ip[12..16].try_into().unwrap();
                let dst: [u8; 4] = ip[16..20].try_into().unwrap();
                let udp = &ip[20..];
                let mut pseudo = [&ip[12..20], &[0, 17]].concat();
                pseudo.extend_from_slice(&(udp.len() as u16).to_be_bytes());
                (src.into(), dst.into(), udp, pseudo)
            }
            0x86dd => {
                assert_eq!(ip[0] >> 4, 6);
                assert_eq!(usize::from(u16_be(ip, 4)), ip.len() - 40, "IPv6 payload length");
                assert_eq!(ip[6], 17, "UDP");
                let src: [u8; 16] = ip[8..24].try_into().unwrap();
                let dst: [u8; 16] = ip[24..40].try_into().unwrap();
                let udp = &ip[40..];
                let mut pseudo = ip[8..40].to_vec();
                pseudo.extend_from_slice(&(udp.len() as u32).to_be_bytes());
                pseudo.extend_from_slice(&[0, 0, 0, 17]);
                (src.into(), dst.into(), udp, pseudo)
            }
            other => panic!("unexpected ethertype {other:#x}"),
        };
        assert_eq!(usize::from(u16_be(udp, 4)), udp.len(), "UDP length");
        assert_ne!(u16_be(udp, 6), 0, "UDP checksum present");
        assert_eq!(sum(&[&pseudo, udp]), 0xffff, "UDP checksum");
        packets.push(Packet {
            ts: Duration::from_secs(u64::from(secs)) + Duration::from_micros(u64::from(micros)),
            src: SocketAddr::new(src_ip, u16_be(udp, 0)),
            dst: SocketAddr::new(dst_ip, u16_be(udp, 2)),
            payload: udp[8..].to_vec(),
        });
    }
    assert_eq!(at, capture.len(), "trailing bytes");
    packets
}

/// An INVITE retransmitted over a lossy link into a ringing, busy responder.
fn lossy_call() -> World {
    let mut world = World::new(3);
    let start = world.now();
    let uac = world.add_node("uac", addr(1), Requester::new(addr(1), addr(2), start));
    let uas = world.add_node("uas", addr(2), Scripted::responder(&[100, 180, 486]));
    world.link(uac, uas, LinkConfig::default().with_loss(0.4));
    world.drive(1_000).unwrap();
    world
}

#[test]
fn one_packet_per_datagram_sent_with_valid_headers_and_the_sip_bytes() {
    let world = lossy_call();
    let packets = parse(&world.pcap());
    let sent: Vec<_> = world
        .trace()
        .filter_map(|r| match &r.kind {
            RecordKind::Sent(d) => Some((r.at, d.clone())),
            _ => None,
        })
        .collect();
    let lost = world.trace().filter(|r| matches!(r.kind, RecordKind::Dropped(..))).count();
    assert!(lost > 0, "the seed should lose something; lost datagrams are in the capture too");
    assert_eq!(packets.len(), sent.len());
    for (packet, (at, datagram)) in packets.iter().zip(&sent) {
        assert_eq!(packet.payload, datagram.payload);
        assert_eq!(packet.src, datagram.source);
        assert_eq!(packet.dst, datagram.destination);
        assert_eq!(packet.ts, Duration::from_secs(1_700_000_000) + (*at - world.start()));
        assert!(sipwire::Message::parse(&packet.payload[..]).is_ok());
    }
    // Written to a writer, the same bytes.
    let mut written = Vec::new();
    world.write_pcap(&mut written).unwrap();
    assert_eq!(written, world.pcap());
}

#[test]
fn ipv6_odd_lengths_and_empty_payloads() {
    let mut world = World::new(4);
    let a6: SocketAddr = "[2001:db8::1]:5060".parse().unwrap();
    let b6: SocketAddr = "[2001:db8::2]:5062".parse().unwrap();
    let a = world.add_node("a", a6, Sink::new());
    world.add_node("b", b6, Sink::new());
    let v4 = world.add_node("c", addr(3), Sink::new());
    world.with_node(a, |s: &mut Sink, _| {
        s.send(b6, Transport::Udp, Bytes::from_static(b"odd"));
        s.send(b6, Transport::Tcp, Bytes::new());
        // Across families: cannot be one packet, left out.
        s.send(addr(3), Transport::Udp, Bytes::from_static(b"x"));
    });
    world.with_node(v4, |s: &mut Sink, _| {
        s.send(addr(9), Transport::Udp, Bytes::from_static(b"abc"))
    });
    world.drive(10).unwrap();
    let packets = parse(&world.pcap());
    let got: Vec<(SocketAddr, &[u8])> = packets.iter().map(|p| (p.dst, &p.payload[..])).collect();
    assert_eq!(got, [(b6, &b"odd"[..]), (b6, &b""[..]), (addr(9), &b"abc"[..])]);
    assert_eq!(packets[0].src, a6);
}

#[test]
fn oversized_datagrams_are_left_out() {
    let mut world = World::new(5);
    let a = world.add_node("a", addr(1), Sink::new());
    world.add_node("b", addr(2), Sink::new());
    world.with_node(a, |s: &mut Sink, _| {
        s.send(addr(2), Transport::Tcp, Bytes::from(vec![b'a'; 70_000]));
        s.send(addr(2), Transport::Udp, Bytes::from(vec![b'b'; 65_507]));
    });
    world.drive(10).unwrap();
    let packets = parse(&world.pcap());
    assert_eq!(packets.len(), 1);
    assert_eq!(packets[0].payload.len(), 65_507);
}

/// Runs tshark on a capture of a lossy call: no malformed packet or expert error, every
/// packet decoded as SIP, every checksum good. Needs tshark on PATH.
#[test]
#[ignore = "needs tshark"]
fn tshark_reads_the_capture_cleanly() {
    use std::process::Command;
    let world = lossy_call();
    let packets = parse(&world.pcap()).len();
    let path = std::env::temp_dir().join(format!("sipwire-sim-{}.pcap", std::process::id()));
    std::fs::write(&path, world.pcap()).unwrap();
    let tshark = |args: &[&str]| -> Vec<String> {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .args(["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
            .args(args)
            .output()
            .expect("tshark on PATH");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
    };
    let bad = tshark(&["-Y", "_ws.malformed || _ws.expert.severity == error"]);
    let sip = tshark(&["-Y", "sip"]);
    let bad_sums = tshark(&["-Y", "ip.checksum.status != 1 || udp.checksum.status != 1"]);
    let _ = std::fs::remove_file(&path);
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(bad_sums.is_empty(), "{bad_sums:#?}");
    assert_eq!(sip.len(), packets, "{sip:#?}");
}
