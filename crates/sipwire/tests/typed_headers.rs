//! Typed accessors for every header the stack needs, and the list rules of RFC 3261 §7.3.1.

use bytes::{Bytes, BytesMut};
use sipwire::message::{Contact, Host, Transport, Uri};
use sipwire::{ErrorKind, HeaderName, Message, Method};

fn request(extra: &str) -> Message {
    let wire = format!(
        "INVITE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1;rport\r\n\
         From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n\
         To: <sip:bob@example.com>\r\n\
         Call-ID: c1@192.0.2.1\r\n\
         CSeq: 7 INVITE\r\n\
         Max-Forwards: 70\r\n\
         {extra}Content-Length: 0\r\n\r\n"
    );
    Message::parse(wire.as_bytes()).unwrap_or_else(|e| panic!("{e}: {extra}"))
}

#[test]
fn message_parse_takes_slices_vectors_and_owned_buffers() {
    let wire = request("").as_bytes().to_vec();
    let slice: &[u8] = &wire;
    let a = Message::parse(&wire).unwrap(); // &Vec<u8>
    // The contract: `Message::parse(&buf)` compiles for a `&[u8]` buffer too.
    #[allow(clippy::needless_borrows_for_generic_args)]
    let b = Message::parse(&slice).unwrap(); // &&[u8]
    let c = Message::parse(slice).unwrap(); // &[u8]
    let d = Message::parse(wire.clone()).unwrap(); // Vec<u8>, no copy
    let e = Message::parse(Bytes::from(wire.clone())).unwrap();
    let f = Message::parse(BytesMut::from(&wire[..])).unwrap();
    for m in [&b, &c, &d, &e, &f] {
        assert_eq!(*m, a);
    }
}

#[test]
fn via_params_and_sent_by() {
    let m = request(
        "Via: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK-2;received=192.0.2.9;rport=6000;maddr=224.0.0.1;ttl=16;x=y\r\n",
    );
    let vias: Vec<_> = m.via().collect::<Result<_, _>>().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].rport(), Some(None));
    assert!(vias[0].has_magic_cookie());
    let v = &vias[1];
    assert_eq!((v.protocol, v.version, v.transport), ("SIP", "2.0", Transport::Tcp));
    assert_eq!(v.host, Host::Ipv6("2001:db8::1".parse().unwrap()));
    assert_eq!(v.port, Some(5061));
    assert_eq!(v.received(), Some("192.0.2.9".parse().unwrap()));
    assert_eq!(v.rport(), Some(Some(6000)));
    assert_eq!((v.maddr(), v.ttl()), (Some("224.0.0.1"), Some(16)));
    assert_eq!(v.params.get("x"), Some(Some("y")));
    assert!(v.transport.is_reliable());
}

#[test]
fn malformed_via_params_are_refused() {
    for bad in ["ttl=300", "ttl", "rport=x", "received=host.example.com", "branch"] {
        let wire = request("").as_bytes().to_vec();
        let text = String::from_utf8(wire).unwrap().replace(";rport", &format!(";{bad}"));
        let e = Message::parse(text.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::HeaderValue(HeaderName::Via), "{bad}");
        assert_eq!(e.status_hint(), Some(400));
    }
}

#[test]
fn from_to_contact_and_routes() {
    let m = request(
        "Contact: <sip:alice@192.0.2.1;transport=tcp>;expires=99999999999;q=0.7, *\r\n\
         Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
         Record-Route: <sip:p3.example.com;lr>\r\nRecord-Route: <sip:p4.example.com;lr>\r\n",
    );
    let from = m.from_header().unwrap();
    assert_eq!(from.display_name.unwrap().text(), "Alice");
    assert_eq!(from.tag(), Some("a1"));
    assert_eq!(m.to_header().unwrap().tag(), None);
    let contacts: Vec<_> = m.contacts().collect::<Result<_, _>>().unwrap();
    let Contact::Addr(c) = &contacts[0] else { panic!("address") };
    assert_eq!(c.expires(), Some(u32::MAX), "delta-seconds saturate");
    assert_eq!(c.q(), Some(700));
    assert_eq!(c.uri.as_sip().unwrap().transport(), Some("tcp"));
    assert!(matches!(contacts[1], Contact::Star));
    let routes: Vec<String> = m.routes().map(|r| r.unwrap().uri.to_string()).collect();
    assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
    let rr: Vec<String> = m.record_routes().map(|r| r.unwrap().uri.to_string()).collect();
    assert_eq!(rr, ["sip:p3.example.com;lr", "sip:p4.example.com;lr"], "lines in order");
}

#[test]
fn call_id_cseq_max_forwards_content_length() {
    let m = request("");
    assert_eq!(m.call_id().unwrap(), "c1@192.0.2.1");
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (7, Method::Invite));
    assert_eq!(m.max_forwards().unwrap(), Some(70));
    assert_eq!(m.content_length(), Some(0));
}

#[test]
fn content_type_disposition_accept_and_allow() {
    let m = request(
        "Content-Type: application/sdp;charset=utf-8\r\n\
         Content-Disposition: session;handling=required\r\n\
         Accept: application/sdp;q=1, text/*, */*\r\n\
         Allow: INVITE, ACK, BYE, FOO\r\n",
    );
    let ct = m.content_type().unwrap().unwrap();
    assert!(ct.is("application", "sdp"));
    assert_eq!(ct.params.get("charset"), Some(Some("utf-8")));
    let cd = m.content_disposition().unwrap().unwrap();
    assert_eq!((cd.value, cd.handling()), ("session", Some("required")));
    let accept: Vec<_> = m.accept().collect::<Result<_, _>>().unwrap();
    assert_eq!(accept.len(), 3);
    assert!(accept[1].admits("text", "plain") && !accept[1].admits("image", "png"));
    assert!(accept[2].admits("anything", "at-all"));
    let allow: Vec<_> = m.allow().collect::<Result<_, _>>().unwrap();
    assert_eq!(allow[..3], [Method::Invite, Method::Ack, Method::Bye]);
    assert_eq!(allow[3].as_str(), "FOO");
    assert!(!allow[3].is_known());
}

#[test]
fn option_tags() {
    let m = request(
        "Require: 100rel\r\nSupported: timer, replaces\r\nk: path\r\n\
         Unsupported: foo\r\nProxy-Require: bar\r\n",
    );
    fn tags<'a>(it: impl Iterator<Item = Result<&'a str, sipwire::ParseError>>) -> Vec<&'a str> {
        it.collect::<Result<_, _>>().unwrap()
    }
    assert_eq!(tags(m.require()), ["100rel"]);
    assert_eq!(tags(m.supported()), ["timer", "replaces", "path"], "long and compact lines");
    assert_eq!(tags(m.unsupported()), ["foo"]);
    assert_eq!(tags(m.proxy_require()), ["bar"]);
    let empty = request("Supported:\r\n");
    assert_eq!(empty.supported().count(), 0, "Supported may be empty");
}

#[test]
fn reliable_provisional_headers() {
    let m = request("RSeq: 988789\r\nRAck: 776656 1 INVITE\r\n");
    assert_eq!(m.rseq().unwrap(), Some(988_789));
    let rack = m.rack().unwrap().unwrap();
    assert_eq!((rack.rseq, rack.cseq, rack.method), (776_656, 1, Method::Invite));
    let bad = request("RAck: 776656 INVITE\r\n");
    assert_eq!(bad.rack().unwrap_err().kind(), ErrorKind::HeaderValue(HeaderName::RAck));
    let big = request("RSeq: 4294967296\r\n");
    assert_eq!(big.rseq().unwrap_err().kind(), ErrorKind::OutOfRange(HeaderName::RSeq));
}

#[test]
fn timers_expiry_and_retry() {
    let m = request(
        "Session-Expires: 1800;refresher=uac\r\nMin-SE: 90\r\nExpires: 3600\r\n\
         Retry-After: 18000 (back in 5 (five) hours);duration=3600\r\n",
    );
    let se = m.session_expires().unwrap().unwrap();
    assert_eq!((se.seconds, se.refresher()), (1800, Some("uac")));
    assert_eq!(m.min_se().unwrap().unwrap().seconds, 90);
    assert_eq!(m.expires().unwrap(), Some(3600));
    let ra = m.retry_after().unwrap().unwrap();
    assert_eq!(
        (ra.seconds, ra.comment, ra.duration()),
        (18000, Some("back in 5 (five) hours"), Some(3600))
    );
    let compact = request("x: 90\r\n");
    assert_eq!(compact.session_expires().unwrap().unwrap().seconds, 90);
}

#[test]
fn event_refer_to_and_reason() {
    let m = request(
        "Event: refer;id=93809824\r\nRefer-To: <sip:carol@example.com?Replaces=abc%40d>\r\n\
         Reason: SIP;cause=200;text=\"Call completed elsewhere\", Q.850;cause=16\r\n",
    );
    let ev = m.event().unwrap().unwrap();
    assert_eq!((ev.value, ev.id()), ("refer", Some("93809824")));
    let refer = m.refer_to().unwrap().unwrap();
    let Uri::Sip(u) = refer.uri else { panic!("sip") };
    assert_eq!(u.header_fields().collect::<Vec<_>>(), [("Replaces", "abc%40d")]);
    let reasons: Vec<_> = m.reasons().collect::<Result<_, _>>().unwrap();
    assert_eq!((reasons[0].value, reasons[0].cause()), ("SIP", Some(200)));
    assert_eq!(reasons[0].reason_text(), Some("Call completed elsewhere"));
    assert_eq!((reasons[1].value, reasons[1].cause()), ("Q.850", Some(16)));
}

#[test]
fn repeated_lines_and_commas_form_one_list_in_order() {
    let m = request(
        "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK-a, SIP/2.0/UDP b.example.com;branch=z9hG4bK-b\r\nv: SIP/2.0/TCP c.example.com;branch=z9hG4bK-c\r\n",
    );
    let branches: Vec<_> = m.via().map(|v| v.unwrap().branch().unwrap()).collect();
    assert_eq!(branches, ["z9hG4bK-1", "z9hG4bK-a", "z9hG4bK-b", "z9hG4bK-c"]);
    let raw: Vec<&[u8]> = m.header_values("via").collect();
    assert_eq!(raw.len(), 4);
    assert_eq!(raw[2], b"SIP/2.0/UDP b.example.com;branch=z9hG4bK-b");
}

#[test]
fn headers_whose_grammar_holds_commas_are_not_split() {
    let m = request(
        "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n\
         WWW-Authenticate: Digest realm=\"a, b\", nonce=\"x\"\r\n\
         Subject: lunch, maybe\r\nX-Custom: one, two\r\n",
    );
    for (name, want) in [
        ("Date", &b"Sat, 13 Nov 2010 23:29:00 GMT"[..]),
        ("WWW-Authenticate", b"Digest realm=\"a, b\", nonce=\"x\""),
        ("Subject", b"lunch, maybe"),
        ("X-Custom", b"one, two"),
    ] {
        let values: Vec<&[u8]> = m.header_values(name).collect();
        assert_eq!(values, [want], "{name}");
    }
    // Quoted commas inside a list value do not split it either.
    let m = request("Contact: \"Doe, John\" <sip:j@example.com>, <sip:k@example.com>\r\n");
    assert_eq!(m.contacts().count(), 2);
    assert_eq!(m.header_values(HeaderName::Contact).count(), 2);
}

#[test]
fn unknown_headers_stay_available_raw_by_name_in_order() {
    let m = request("X-B: 2\r\nx-a: 1\r\nX-B: 3\r\n");
    let names: Vec<&str> = m.headers().map(|h| h.raw_name()).collect();
    assert!(names.ends_with(&["X-B", "x-a", "X-B", "Content-Length"]));
    let b: Vec<&[u8]> = m.header_lines("x-b").collect();
    assert_eq!(b, [&b"2"[..], b"3"]);
    assert_eq!(m.header("X-A"), Some(&b"1"[..]));
    let owned_name = String::from("X-A");
    assert_eq!(m.header(owned_name.as_str()), Some(&b"1"[..]), "non-'static names work");
}

#[test]
fn single_valued_headers_refuse_duplicates() {
    let m = Message::parse(
        &b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
           From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nTo: <sip:c@example.com>\r\n\
           Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"[..],
    )
    .unwrap();
    assert_eq!(m.to_header().unwrap_err().kind(), ErrorKind::DuplicateHeader(HeaderName::To));
    assert_eq!(m.check_request().unwrap_err().status_hint(), Some(400));
}

/// Found by the `parse_datagram` fuzz target: `;tag` without a value made a reply with a
/// new tag unreadable. The grammar requires values for tag, q and expires.
#[test]
fn tag_q_and_expires_need_values() {
    for (extra, name) in [
        ("To: <sip:bob@example.com>;tag\r\n", HeaderName::To),
        ("Contact: <sip:a@example.com>;q\r\n", HeaderName::Contact),
        ("Contact: <sip:a@example.com>;q=1.5\r\n", HeaderName::Contact),
        ("Contact: <sip:a@example.com>;expires=soon\r\n", HeaderName::Contact),
    ] {
        let wire = format!(
            "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
             From: <sip:a@example.com>;tag=1\r\n{extra}Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"
        );
        let e = Message::parse(wire.as_bytes()).expect_err(extra);
        assert_eq!(e.kind(), ErrorKind::HeaderValue(name), "{extra}");
    }
}

/// Only LWS is trimmed around a value; a form feed is part of it (RFC 3261 §7.3.1).
#[test]
fn only_linear_white_space_is_trimmed() {
    let m = request("X-Ff: \x0cfoo \r\n");
    assert_eq!(m.header("X-Ff"), Some(&b"\x0cfoo"[..]));
}

/// CRLFs before the start line are skipped and are not part of the message's bytes.
#[test]
fn leading_crlfs_are_not_part_of_the_message() {
    let wire = request("").as_bytes().to_vec();
    let mut padded = b"\r\n\r\n".to_vec();
    padded.extend_from_slice(&wire);
    let m = Message::parse(&padded[..]).unwrap();
    assert_eq!(m.as_bytes(), &wire[..]);
    let bad = Message::parse(&b"\r\n\r\nOPTIONS sip:a@b SIP/7.0\r\n\r\n"[..]).unwrap_err();
    assert_eq!((bad.kind(), bad.offset()), (ErrorKind::Version, 4 + 16), "offset in the input");
}
