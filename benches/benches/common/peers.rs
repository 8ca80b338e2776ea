//! Adapters for the peer SIP crates, shared by the benches through
//! `#[path = "common/peers.rs"] mod peers;`.
//!
//! Per peer there are two entry points over one datagram:
//!
//! * `*_parse` parses and returns the peer's owned message (dropping it is part of the cost);
//! * `*_parse_decode` parses and then decodes the core headers through the peer's own typed
//!   accessors — top Via (transport, sent-by host and port, branch), From and To (URI and tag),
//!   CSeq (number and method), Call-ID, Content-Length, Max-Forwards (absent in responses) and
//!   the Contact URI — folding what it read into a checksum so nothing is optimized away.
//!
//! The checksum only folds values every peer represents the same way (lengths, numbers, and
//! "is INVITE" / "is UDP" flags), so all peers must return the same checksum for the same
//! message; `peers_only` asserts that before measuring.
//!
//! Every function panics when a peer fails on a benchmark file: a broken adapter is loud.

// Each bench includes this file as a private module (so `pub` is crate-visible only) and may use
// a subset of it.
#![allow(dead_code, unreachable_pub)]

use std::net::IpAddr;

/// Folds one value into a running checksum.
fn mix(acc: u64, value: u64) -> u64 {
    (acc ^ value).wrapping_mul(0x0000_0100_0000_01b3)
}

/// Folds a length.
fn mix_len(acc: u64, len: usize) -> u64 {
    mix(acc, len as u64)
}

/// An IP address as a number (IPv6 folded to 64 bits).
pub fn ip_bits(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            (bits as u64) ^ ((bits >> 64) as u64)
        }
    }
}

/// Skips the start line and tokenizes the header block with `httparse::parse_headers`: the
/// floor for "split the head into name/value pairs", with no SIP semantics at all.
/// Returns the number of headers plus the bytes consumed.
pub fn httparse_tokenize(b: &[u8]) -> usize {
    let line_end = b.iter().position(|&c| c == b'\n').expect("httparse: no start line");
    let mut headers = [httparse::EMPTY_HEADER; 32];
    match httparse::parse_headers(&b[line_end + 1..], &mut headers)
        .expect("httparse: header block rejected")
    {
        httparse::Status::Complete((consumed, parsed)) => parsed.len() + consumed,
        httparse::Status::Partial => panic!("httparse: header block incomplete"),
    }
}

// ---------------------------------------------------------------------------------------------
// rsipstack 0.7.14 (its own `rsipstack::sip` model: String-backed untyped headers, typed on demand)
// ---------------------------------------------------------------------------------------------

/// Parses with `rsipstack::sip::SipMessage::try_from(&[u8])`, what its UDP transport calls.
pub fn rsipstack_parse(b: &[u8]) -> rsipstack::sip::SipMessage {
    rsipstack::sip::SipMessage::try_from(b).expect("rsipstack: parse failed")
}

fn rsipstack_host(acc: u64, host: &rsipstack::sip::Host) -> u64 {
    match host {
        rsipstack::sip::Host::Domain(domain) => mix_len(acc, domain.0.len()),
        rsipstack::sip::Host::IpAddr(ip) => mix(acc, ip_bits(*ip)),
    }
}

fn rsipstack_uri(acc: u64, uri: &rsipstack::sip::Uri) -> u64 {
    let acc = mix_len(acc, uri.user().map_or(0, str::len));
    let acc = rsipstack_host(acc, uri.host());
    mix(acc, uri.host_with_port.port.as_ref().map_or(0, |p| u64::from(p.value())))
}

/// [`rsipstack_parse`], then the core headers through `HeadersExt` and `ToTypedHeader::typed`.
pub fn rsipstack_parse_decode(b: &[u8]) -> u64 {
    use rsipstack::sip::prelude::*;
    use rsipstack::sip::{Header, Method, Transport};

    let msg = rsipstack_parse(b);
    let mut acc = 0;

    // The top Via the way rsipstack's own `transaction_id` reads it.
    let via = msg.top_via_header().expect("rsipstack: Via").typed().expect("rsipstack: typed Via");
    acc = mix(acc, u64::from(via.transport == Transport::Udp));
    acc = rsipstack_host(acc, &via.sent_by().host);
    acc = mix(acc, via.sent_by().port.as_ref().map_or(0, |p| u64::from(p.value())));
    acc = mix_len(acc, via.branch().expect("rsipstack: branch").value().len());

    let from = msg.from_header().expect("rsipstack: From").typed().expect("rsipstack: typed From");
    acc = rsipstack_uri(acc, &from.uri);
    acc = mix_len(acc, from.tag().map_or(0, |t| t.value().len()));

    let to = msg.to_header().expect("rsipstack: To").typed().expect("rsipstack: typed To");
    acc = rsipstack_uri(acc, &to.uri);
    acc = mix_len(acc, to.tag().map_or(0, |t| t.value().len()));

    let cseq = msg.cseq_header().expect("rsipstack: CSeq").typed().expect("rsipstack: typed CSeq");
    acc = mix(acc, u64::from(cseq.seq));
    acc = mix(acc, u64::from(cseq.method == Method::Invite));

    acc = mix_len(acc, msg.call_id_header().expect("rsipstack: Call-ID").value().len());

    // rsipstack has no typed Content-Length or Max-Forwards: the value is a String to parse.
    let content_length: u64 =
        rsipstack::sip_header_opt!(msg.headers().iter(), Header::ContentLength)
            .expect("rsipstack: Content-Length")
            .value()
            .trim()
            .parse()
            .expect("rsipstack: Content-Length value");
    acc = mix(acc, content_length);
    let max_forwards: u64 = msg
        .max_forwards_header()
        .ok()
        .map_or(0, |mf| mf.value().trim().parse().expect("rsipstack: Max-Forwards value"));
    acc = mix(acc, max_forwards);

    let contact = msg
        .contact_header()
        .expect("rsipstack: Contact")
        .typed()
        .expect("rsipstack: typed Contact");
    rsipstack_uri(acc, &contact.uri)
}

// ---------------------------------------------------------------------------------------------
// sipx-sip 1.0.1 (sans-IO, `Bytes`-backed raw headers, typed lazily through `Headers::typed`)
// ---------------------------------------------------------------------------------------------

/// Parses with `sipx_sip::parse_datagram(Bytes, &Limits::datagram())`.
///
/// `parse_datagram` takes an owned `Bytes`, so a `&[u8]` is copied into one first (a receive
/// path that already holds `Bytes` would not pay that copy).
pub fn sipx_sip_parse(b: &[u8]) -> sipx_sip::Message {
    sipx_sip::parse_datagram(bytes::Bytes::copy_from_slice(b), &sipx_sip::Limits::datagram())
        .expect("sipx-sip: parse failed")
}

fn sipx_host(acc: u64, host: &sipx_sip::uri::Host) -> u64 {
    match host {
        sipx_sip::uri::Host::Name(name) => mix_len(acc, name.as_bytes().len()),
        sipx_sip::uri::Host::Ip(ip) => mix(acc, ip_bits(*ip)),
    }
}

fn sipx_uri(acc: u64, uri: &sipx_sip::uri::Uri) -> u64 {
    let acc = mix_len(acc, uri.user().map_or(0, <[u8]>::len));
    let acc = sipx_host(acc, uri.host().expect("sipx-sip: URI host"));
    mix(acc, uri.port().map_or(0, u64::from))
}

/// [`sipx_sip_parse`], then the core headers through `Headers::typed::<H>()`.
pub fn sipx_sip_parse_decode(b: &[u8]) -> u64 {
    use sipx_sip::Method;
    use sipx_sip::headers::{CSeq, CallId, Contact, ContentLength, From, MaxForwards, To, Via};

    let msg = sipx_sip_parse(b);
    let headers = msg.headers();
    let mut acc = 0;

    let via = headers.typed::<Via>().expect("sipx-sip: Via").expect("sipx-sip: typed Via");
    acc = mix(acc, u64::from(via.transport.eq_ignore_ascii_case(b"UDP")));
    acc = sipx_host(acc, &via.host);
    acc = mix(acc, via.port.map_or(0, u64::from));
    acc = mix_len(acc, via.branch().expect("sipx-sip: branch").len());

    let from = headers.typed::<From>().expect("sipx-sip: From").expect("sipx-sip: typed From");
    acc = sipx_uri(acc, &from.uri);
    acc = mix_len(acc, from.tag().map_or(0, <[u8]>::len));

    let to = headers.typed::<To>().expect("sipx-sip: To").expect("sipx-sip: typed To");
    acc = sipx_uri(acc, &to.uri);
    acc = mix_len(acc, to.tag().map_or(0, <[u8]>::len));

    let cseq = headers.typed::<CSeq>().expect("sipx-sip: CSeq").expect("sipx-sip: typed CSeq");
    acc = mix(acc, u64::from(cseq.sequence));
    acc = mix(acc, u64::from(cseq.method == Method::Invite));

    let call_id =
        headers.typed::<CallId>().expect("sipx-sip: Call-ID").expect("sipx-sip: typed Call-ID");
    acc = mix_len(acc, call_id.0.len());

    let content_length = headers
        .typed::<ContentLength>()
        .expect("sipx-sip: Content-Length")
        .expect("sipx-sip: typed Content-Length");
    acc = mix(acc, content_length.0);
    let max_forwards =
        headers.typed::<MaxForwards>().map(|mf| mf.expect("sipx-sip: typed Max-Forwards"));
    acc = mix(acc, max_forwards.map_or(0, |mf| u64::from(mf.0)));

    let contact =
        headers.typed::<Contact>().expect("sipx-sip: Contact").expect("sipx-sip: typed Contact");
    sipx_uri(acc, &contact.uri)
}

// ---------------------------------------------------------------------------------------------
// rsip 0.4.0 (nom tokenizer, String-backed untyped headers, typed on demand)
// ---------------------------------------------------------------------------------------------

/// Parses with `rsip::SipMessage::try_from(&[u8])`.
pub fn rsip_parse(b: &[u8]) -> rsip::SipMessage {
    rsip::SipMessage::try_from(b).expect("rsip: parse failed")
}

fn rsip_host(acc: u64, host: &rsip::Host) -> u64 {
    match host {
        rsip::Host::Domain(domain) => mix_len(acc, domain.value().len()),
        rsip::Host::IpAddr(ip) => mix(acc, ip_bits(*ip)),
    }
}

fn rsip_uri(acc: u64, uri: &rsip::Uri) -> u64 {
    let acc = mix_len(acc, uri.user().map_or(0, str::len));
    let acc = rsip_host(acc, uri.host());
    mix(acc, uri.host_with_port.port.map_or(0, |p| u64::from(*p.value())))
}

/// [`rsip_parse`], then the core headers through `HeadersExt` and `ToTypedHeader::typed`.
pub fn rsip_parse_decode(b: &[u8]) -> u64 {
    use rsip::prelude::*;
    use rsip::{Header, Method, Transport};

    let msg = rsip_parse(b);
    let mut acc = 0;

    let via = msg.via_header().expect("rsip: Via").typed().expect("rsip: typed Via");
    acc = mix(acc, u64::from(via.transport == Transport::Udp));
    acc = rsip_host(acc, via.sent_by().host());
    acc = mix(acc, via.sent_by().host_with_port.port.map_or(0, |p| u64::from(*p.value())));
    acc = mix_len(acc, via.branch().expect("rsip: branch").value().len());

    let from = msg.from_header().expect("rsip: From").typed().expect("rsip: typed From");
    acc = rsip_uri(acc, &from.uri);
    acc = mix_len(acc, from.tag().map_or(0, |t| t.value().len()));

    let to = msg.to_header().expect("rsip: To").typed().expect("rsip: typed To");
    acc = rsip_uri(acc, &to.uri);
    acc = mix_len(acc, to.tag().map_or(0, |t| t.value().len()));

    let cseq = msg.cseq_header().expect("rsip: CSeq").typed().expect("rsip: typed CSeq");
    acc = mix(acc, u64::from(cseq.seq));
    acc = mix(acc, u64::from(cseq.method == Method::Invite));

    acc = mix_len(acc, msg.call_id_header().expect("rsip: Call-ID").value().len());

    // `HeadersExt` has no Content-Length accessor; `header_opt!` is rsip's own lookup macro.
    let content_length = rsip::header_opt!(msg.headers().iter(), Header::ContentLength)
        .expect("rsip: Content-Length")
        .length()
        .expect("rsip: Content-Length value");
    acc = mix(acc, u64::from(content_length));
    let max_forwards =
        msg.max_forwards_header().ok().map(|mf| mf.num().expect("rsip: Max-Forwards value"));
    acc = mix(acc, max_forwards.map_or(0, u64::from));

    let contact =
        msg.contact_header().expect("rsip: Contact").typed().expect("rsip: typed Contact");
    rsip_uri(acc, &contact.uri)
}
