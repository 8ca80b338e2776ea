//! sipwire against peer SIP crates, on the same bytes, in the same run.
//!
//! ```text
//! cargo bench -p sipwire-benches --bench parse
//! ```
//!
//! Groups (one per message file in `benches/data/`):
//! - `parse/<file>`: bytes to an owned message. `sipwire` starts from `&[u8]` (one copy into
//!   a shared buffer, as the peers copy); `sipwire-owned` takes a buffer the caller already
//!   owns (what a transport hands over); `sipwire-index` also skips header validation.
//! - `parse_decode/<file>`: the same plus decoding top Via, From, To, CSeq, Call-ID,
//!   Content-Length, Max-Forwards and Contact; every implementation folds the decoded values
//!   into a checksum, and all checksums must agree before anything is measured.
//! - `serialize/ok-200`: a parsed 200 OK back to bytes, and (`sipwire-build`) building a 200
//!   OK to invite-461 from scratch with a To tag, Contact and an SDP body.

use std::hint::black_box;
use std::net::IpAddr;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipwire::message::{Contact, Host, Transport, Uri};
use sipwire::{HeaderName, Message, Method, ParseOptions};

#[path = "common/peers.rs"]
mod peers;

/// The benchmark messages, exact bytes (CRLF).
const FILES: [(&str, &[u8]); 3] = [
    ("invite-461", include_bytes!("../data/invite-461.sip")),
    ("invite-large", include_bytes!("../data/invite-large.sip")),
    ("ok-200", include_bytes!("../data/ok-200.sip")),
];

fn mix(acc: u64, value: u64) -> u64 {
    (acc ^ value).wrapping_mul(0x0000_0100_0000_01b3)
}

fn host(acc: u64, h: &Host<'_>) -> u64 {
    match h {
        Host::Domain(d) => mix(acc, d.len() as u64),
        Host::Ipv4(a) => mix(acc, peers::ip_bits(IpAddr::V4(*a))),
        Host::Ipv6(a) => mix(acc, peers::ip_bits(IpAddr::V6(*a))),
    }
}

fn uri(acc: u64, u: &Uri<'_>) -> u64 {
    let s = u.as_sip().expect("sipwire: SIP URI");
    let acc = mix(acc, s.user.map_or(0, str::len) as u64);
    let acc = host(acc, &s.host);
    mix(acc, s.port.map_or(0, u64::from))
}

/// Decodes the core headers of a parsed message into the peers' checksum.
fn decode(msg: &Message) -> u64 {
    let mut acc = 0;
    let via = msg.top_via().expect("sipwire: Via");
    acc = mix(acc, u64::from(via.transport == Transport::Udp));
    acc = host(acc, &via.host);
    acc = mix(acc, via.port.map_or(0, u64::from));
    acc = mix(acc, via.branch().expect("sipwire: branch").len() as u64);
    let from = msg.from_header().expect("sipwire: From");
    acc = uri(acc, &from.uri);
    acc = mix(acc, from.tag().map_or(0, str::len) as u64);
    let to = msg.to_header().expect("sipwire: To");
    acc = uri(acc, &to.uri);
    acc = mix(acc, to.tag().map_or(0, str::len) as u64);
    let cseq = msg.cseq().expect("sipwire: CSeq");
    acc = mix(acc, u64::from(cseq.seq));
    acc = mix(acc, u64::from(cseq.method == Method::Invite));
    acc = mix(acc, msg.call_id().expect("sipwire: Call-ID").len() as u64);
    acc = mix(acc, u64::from(msg.content_length().expect("sipwire: Content-Length")));
    acc = mix(acc, msg.max_forwards().expect("sipwire: Max-Forwards").map_or(0, u64::from));
    match msg.contacts().next().expect("sipwire: Contact").expect("sipwire: Contact value") {
        Contact::Addr(a) => uri(acc, &a.uri),
        _ => panic!("sipwire: Contact *"),
    }
}

const INDEX_ONLY: ParseOptions = {
    let mut o = ParseOptions::DEFAULT;
    o.validate = false;
    o
};

fn sipwire_parse_decode(b: &[u8]) -> u64 {
    decode(&Message::parse(b).expect("sipwire: parse"))
}

/// Every implementation must read the same values out of every file.
fn cross_check() {
    for (name, bytes) in FILES {
        let ours = sipwire_parse_decode(bytes);
        let lazy = decode(&Message::parse_with(Bytes::from_static(bytes), &INDEX_ONLY).unwrap());
        let rsipstack = peers::rsipstack_parse_decode(bytes);
        let sipx = peers::sipx_sip_parse_decode(bytes);
        let rsip = peers::rsip_parse_decode(bytes);
        assert!(
            ours == lazy && ours == rsipstack && rsipstack == sipx && sipx == rsip,
            "{name}: disagreement: sipwire {ours:#x}, lazy {lazy:#x}, rsipstack {rsipstack:#x}, \
             sipx-sip {sipx:#x}, rsip {rsip:#x}"
        );
        assert!(peers::httparse_tokenize(bytes) > 0, "{name}: httparse");
    }
}

fn parse(c: &mut Criterion) {
    cross_check();
    for (name, bytes) in FILES {
        let owned = Bytes::from_static(bytes);
        let mut group = c.benchmark_group(format!("parse/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("sipwire", |b| b.iter(|| Message::parse(black_box(bytes)).unwrap()));
        group.bench_function("sipwire-owned", |b| {
            b.iter(|| Message::parse(black_box(owned.clone())).unwrap());
        });
        group.bench_function("sipwire-index", |b| {
            b.iter(|| Message::parse_with(black_box(owned.clone()), &INDEX_ONLY).unwrap());
        });
        group.bench_function("rsipstack", |b| b.iter(|| peers::rsipstack_parse(black_box(bytes))));
        group.bench_function("sipx-sip", |b| b.iter(|| peers::sipx_sip_parse(black_box(bytes))));
        group.bench_function("rsip", |b| b.iter(|| peers::rsip_parse(black_box(bytes))));
        group.bench_function("httparse-tokenize", |b| {
            b.iter(|| peers::httparse_tokenize(black_box(bytes)));
        });
        group.finish();
    }
}

fn parse_decode(c: &mut Criterion) {
    for (name, bytes) in FILES {
        let owned = Bytes::from_static(bytes);
        let mut group = c.benchmark_group(format!("parse_decode/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("sipwire", |b| b.iter(|| sipwire_parse_decode(black_box(bytes))));
        group.bench_function("sipwire-owned", |b| {
            b.iter(|| decode(&Message::parse(black_box(owned.clone())).unwrap()));
        });
        group.bench_function("sipwire-lazy", |b| {
            b.iter(|| decode(&Message::parse_with(black_box(owned.clone()), &INDEX_ONLY).unwrap()));
        });
        group.bench_function("rsipstack", |b| {
            b.iter(|| peers::rsipstack_parse_decode(black_box(bytes)));
        });
        group.bench_function("sipx-sip", |b| {
            b.iter(|| peers::sipx_sip_parse_decode(black_box(bytes)));
        });
        group.bench_function("rsip", |b| b.iter(|| peers::rsip_parse_decode(black_box(bytes))));
        group.finish();
    }
}

fn serialize(c: &mut Criterion) {
    let ok = FILES[2].1;
    let invite = Message::parse(FILES[0].1).unwrap();
    let parsed = Message::parse(ok).unwrap();
    let rsipstack = peers::rsipstack_parse(ok);
    let sipx = peers::sipx_sip_parse(ok);
    let rsip = peers::rsip_parse(ok);
    let sdp = Bytes::from_static(b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n");
    let mut out = Vec::with_capacity(2048);
    let mut group = c.benchmark_group("serialize/ok-200");
    group.bench_function("sipwire", |b| {
        b.iter(|| {
            out.clear();
            black_box(&parsed).write_to(&mut out);
            out.len()
        });
    });
    group.bench_function("sipwire-build", |b| {
        b.iter(|| {
            out.clear();
            black_box(&invite)
                .reply(200)
                .to_tag("8f7a6c1d2b3e4f50")
                .header(HeaderName::Contact, "<sip:bob@127.0.0.1:5060>")
                .body("application/sdp", sdp.clone())
                .write_to(&mut out)
                .unwrap();
            out.len()
        });
    });
    group.bench_function("rsipstack", |b| b.iter(|| black_box(&rsipstack).to_string()));
    group.bench_function("sipx-sip", |b| {
        b.iter(|| {
            out.clear();
            black_box(&sipx).write_to(&mut out);
            out.len()
        });
    });
    group.bench_function("rsip", |b| b.iter(|| black_box(&rsip).to_string()));
    group.finish();
}

criterion_group!(benches, parse, parse_decode, serialize);
criterion_main!(benches);
