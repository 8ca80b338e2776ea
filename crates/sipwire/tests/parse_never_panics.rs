//! Peer faults never panic: whatever bytes arrive, `Message::parse` returns `Ok` or `Err`,
//! and a message that parsed can be read through every accessor, every list iterator run to
//! its end, without a panic.
//!
//! Three sources of input: arbitrary bytes, mutations (byte flips, inserts, deletions,
//! truncations) of a valid INVITE that uses every typed header, and a deterministic sweep
//! over the RFC 4475 / RFC 5118 fixtures (every prefix, and each interesting byte written at
//! every position).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::Index;
use sipwire::message::{Contact, NameAddr, Params, Uri};
use sipwire::{Message, MessageKind, ParseError};

/// Header names looked up by text (`HeaderKey for &str` needs `'static` names): an
/// extension header and a compact form.
const NAMES: [&str; 2] = ["X-Custom", "v"];

/// Checks what every parse error promises: a status hint exactly for requests, and an
/// offset inside the input.
fn check_error(e: &ParseError, input_len: usize) {
    assert_eq!(
        e.status_hint().is_some(),
        e.message_kind() == MessageKind::Request,
        "{e:?}: a status hint is given for requests and only for requests"
    );
    if let Some(code) = e.status_hint() {
        assert!((400..=599).contains(&code), "{e:?}: status hint {code} is not an error status");
    }
    assert!(e.offset() <= input_len, "{e:?}: offset past the end of a {input_len}-byte input");
    let _ = (e.kind(), e.reason_phrase(), e.to_string());
}

/// Accessor errors point into the message's own bytes.
fn check<T>(msg: &Message, r: Result<T, ParseError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            check_error(&e, msg.as_bytes().len());
            None
        }
    }
}

fn touch_params(p: &Params<'_>) {
    for param in p.iter() {
        let _ = (param.name.len(), param.value.map(str::len));
    }
    let _ = (p.as_str(), p.is_empty(), p.get("tag"), p.contains("lr"));
}

fn touch_uri(u: &Uri<'_>) {
    let _ = (u.as_str(), u.scheme(), u.to_string());
    match u {
        Uri::Sip(s) => {
            let _ = (s.secure, s.user, s.password, s.port, s.headers, s.as_str());
            let _ = (s.user_unescaped(), s.password_unescaped(), s.host.to_string());
            let _ = s.header_fields().count();
            let _ = (s.transport(), s.user_param(), s.maddr(), s.lr());
            let _ = (s.params.as_str(), s.params.is_empty(), s.params.iter().count());
            let _ = s.params.get("transport");
        }
        Uri::Tel(t) => {
            let _ = (t.number, t.params.iter().count(), t.params.get("phone-context"));
        }
        Uri::Absolute(a) => {
            let _ = (a.scheme, a.rest);
        }
        _ => {}
    }
    let _ = u.as_sip();
    // Equality must at least run; whether a URI equals itself is uri_equality.rs's business.
    let same = *u;
    let _ = same == *u;
}

fn touch_name_addr(n: &NameAddr<'_>) {
    if let Some(d) = n.display_name {
        let _ = (d.as_raw(), d.is_quoted(), d.text());
    }
    touch_uri(&n.uri);
    touch_params(&n.params);
    let _ = (n.tag(), n.expires(), n.q());
}

/// Reads everything a message offers. Panics only through the assertions it makes.
fn touch(msg: &Message) {
    let _ = format!("{msg:?}");
    let clone = msg.clone();
    assert_eq!(&clone, msg, "a clone equals its original");
    assert_ne!(msg.is_request(), msg.is_response());
    assert_eq!(msg.method().is_some(), msg.is_request());
    assert_eq!(msg.request_uri_str().is_some(), msg.is_request());
    assert_eq!(
        msg.request_uri().is_some(),
        msg.is_request(),
        "the Request-URI was checked while parsing, so it decodes again"
    );
    assert_eq!(msg.status().is_some(), msg.is_response());
    assert_eq!(msg.reason().is_some(), msg.is_response());
    let _ = msg.method().map(sipwire::Method::as_str);
    if let Some(u) = msg.request_uri() {
        assert_eq!(Some(u.as_str()), msg.request_uri_str());
        touch_uri(&u);
    }

    assert_eq!(msg.headers().len(), msg.header_count());
    let mut names = BTreeSet::new();
    for f in msg.headers() {
        let _ = (f.raw_name(), f.value());
        names.insert(f.name());
    }
    // One lookup per distinct name: per header line it would be quadratic, and slow in
    // debug builds for the fixture sweep below.
    for name in names {
        let _ = msg.header_values(name).count();
    }
    if let Some(f) = msg.headers().next() {
        let _ = (msg.header(f.name()), msg.header_lines(f.name()).count());
    }
    for name in NAMES {
        let _ = (msg.header(name), msg.header_values(name).count());
    }

    for v in msg.via() {
        if let Some(v) = check(msg, v) {
            let _ = (v.protocol, v.version, v.transport.as_str(), v.transport.is_reliable());
            let _ = (v.host.to_string(), v.port);
            touch_params(&v.params);
            let _ = (v.branch(), v.has_magic_cookie(), v.received(), v.rport());
            let _ = (v.maddr(), v.ttl());
        }
    }
    let _ = check(msg, msg.top_via());
    for n in [msg.from_header(), msg.to_header()] {
        if let Some(n) = check(msg, n) {
            touch_name_addr(&n);
        }
    }
    let _ = check(msg, msg.call_id());
    if let Some(c) = check(msg, msg.cseq()) {
        let _ = (c.seq, c.method.as_str());
    }
    let _ = check(msg, msg.max_forwards());
    if let Some(n) = msg.content_length() {
        assert_eq!(msg.body().len(), n as usize, "the body is framed by Content-Length");
    }
    for c in msg.contacts() {
        if let Some(Contact::Addr(n)) = check(msg, c) {
            touch_name_addr(&n);
        }
    }
    for n in msg.routes().chain(msg.record_routes()) {
        if let Some(n) = check(msg, n) {
            touch_name_addr(&n);
        }
    }
    if let Some(n) = check(msg, msg.refer_to()).flatten() {
        touch_name_addr(&n);
    }
    let media = check(msg, msg.content_type()).flatten().into_iter();
    for m in media.chain(msg.accept().filter_map(|m| check(msg, m))) {
        let _ = (m.ty, m.subtype, m.is("application", "sdp"), m.admits("text", "plain"));
        touch_params(&m.params);
    }
    for t in
        msg.require().chain(msg.supported()).chain(msg.unsupported()).chain(msg.proxy_require())
    {
        let _ = check(msg, t);
    }
    for m in msg.allow() {
        let _ = check(msg, m).map(|m| m.is_known());
    }
    let _ = check(msg, msg.rseq());
    if let Some(r) = check(msg, msg.rack()).flatten() {
        let _ = (r.rseq, r.cseq, r.method.as_str());
    }
    let _ = check(msg, msg.expires());
    let token_params = [msg.content_disposition(), msg.event()];
    let token_params = token_params.into_iter().filter_map(|t| check(msg, t).flatten());
    for t in token_params.chain(msg.reasons().filter_map(|t| check(msg, t))) {
        let _ = (t.value, t.id(), t.cause(), t.reason_text(), t.handling());
        touch_params(&t.params);
    }
    for s in [msg.retry_after(), msg.session_expires(), msg.min_se()] {
        if let Some(s) = check(msg, s).flatten() {
            let _ = (s.seconds, s.comment, s.refresher(), s.duration());
            touch_params(&s.params);
        }
    }
    let _ = (msg.body(), msg.body_bytes(), msg.to_bytes());
    assert!(msg.as_bytes().ends_with(msg.body()));
    let mut wire = Vec::new();
    msg.write_to(&mut wire);
    assert_eq!(wire, msg.as_bytes());
    let _ = check(msg, msg.validate());
    if msg.is_request() {
        let _ = check(msg, msg.check_request());
        let mut out = Vec::new();
        let _ = msg.reply(200).to_tag("t1").write_to(&mut out);
    }
}

/// Parses `input`, checks the outcome and reads everything on success.
fn parse_and_touch(input: &[u8]) -> Result<Message, ParseError> {
    let r = Message::parse(input);
    match &r {
        Ok(msg) => {
            touch(msg);
            let again =
                Message::parse(msg.as_bytes()).expect("the bytes of a parsed message parse again");
            assert_eq!(&again, msg, "a parsed message reparses to itself");
        }
        Err(e) => check_error(e, input.len()),
    }
    r
}

/// A valid INVITE holding every header with a typed accessor.
fn invite() -> Vec<u8> {
    let body: &[u8] = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n\
        t=0 0\r\nm=audio 49170 RTP/AVP 0\r\n";
    let head = "INVITE sip:bob@biloxi.example.com;transport=tcp SIP/2.0\r\n\
        Via: SIP/2.0/TCP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
        v: SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKabc;received=192.0.2.7, \
        SIP/2.0/WS client.invalid;branch=z9hG4bKws\r\n\
        Max-Forwards: 70\r\n\
        To: \"Bob \\\"B\\\"\" <sip:bob@biloxi.example.com>\r\n\
        From: Alice <sip:alice@atlanta.example.com;user=phone>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
        CSeq: 314159 INVITE\r\n\
        Contact: <sip:alice@pc33.atlanta.example.com>;q=0.7;expires=3600, \
        \"Alt\" <sips:alice@[2001:db8::1]:5061>\r\n\
        Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
        Record-Route: <sip:p3.example.com;lr>\r\n\
        Refer-To: <sip:carol@chicago.example.com?Replaces=abc%40def>\r\n\
        Require: 100rel, timer\r\n\
        Supported: replaces\r\n\
        Unsupported: foo\r\n\
        Proxy-Require: sec-agree\r\n\
        Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE, X-EXT\r\n\
        Accept: application/sdp;level=1, */*\r\n\
        RSeq: 988789\r\n\
        RAck: 776656 1 INVITE\r\n\
        Expires: 7200\r\n\
        Retry-After: 18000 (in a meeting);duration=3600\r\n\
        Event: dialog;id=42\r\n\
        Session-Expires: 1800;refresher=uac\r\n\
        Min-SE: 90\r\n\
        Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n\
        Content-Disposition: session;handling=required\r\n\
        Subject: lunch\r\n\
        \x20folded\r\n\
        Content-Type: application/sdp\r\n";
    let mut out = head.as_bytes().to_vec();
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn the_base_invite_is_valid_and_fully_readable() {
    let msg = parse_and_touch(&invite()).expect("the base INVITE parses");
    msg.check_request().expect("the base INVITE is a well-formed request");
    // Every typed decoder must have something to decode, or mutating it tests nothing.
    assert_eq!(msg.via().filter(Result::is_ok).count(), 3);
    assert_eq!(msg.contacts().filter(Result::is_ok).count(), 2);
    assert_eq!(msg.routes().filter(Result::is_ok).count(), 2);
    assert!(msg.rack().unwrap().is_some() && msg.retry_after().unwrap().is_some());
    assert!(msg.event().unwrap().is_some() && msg.refer_to().unwrap().is_some());
    assert_eq!(msg.reasons().filter(Result::is_ok).count(), 1);
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0..8u8).prop_map(|(i, bit)| Mutation::Flip(i, 1 << bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), prop::sample::select(&b"\r\n :;,\"<>%[]@=?\t\0\xff"[..]))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(input: &mut Vec<u8>, m: &Mutation) {
    if input.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip(ref i, bit) => {
            let at = i.index(input.len());
            input[at] ^= bit;
        }
        Mutation::Set(ref i, b) => {
            let at = i.index(input.len());
            input[at] = b;
        }
        Mutation::Insert(ref i, b) => input.insert(i.index(input.len() + 1), b),
        Mutation::Delete(ref i) => {
            input.remove(i.index(input.len()));
        }
        Mutation::Truncate(ref i) => input.truncate(i.index(input.len())),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_and_touch(&input);
    }

    #[test]
    fn arbitrary_header_sections_never_panic(
        lines in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "Via", "v", "From", "To", "t", "Call-ID", "CSeq", "Max-Forwards",
                    "Contact", "m", "Route", "Record-Route", "Content-Type", "Accept",
                    "Allow", "Require", "RSeq", "RAck", "Expires", "Retry-After", "Event",
                    "Refer-To", "Session-Expires", "Min-SE", "Reason",
                    "Content-Disposition", "Content-Length", "l", "X-Other",
                ]),
                prop::collection::vec(
                    prop::sample::select(&b"ab1 ;,=:<>\"\\@[].%/?-*sip:SIP/2.0\t\r\n"[..]),
                    0..40,
                ),
            ),
            0..8,
        ),
        start in prop::sample::select(vec![
            "INVITE sip:a@b.example SIP/2.0\r\n",
            "SIP/2.0 200 OK\r\n",
        ]),
    ) {
        // Header values made of the grammar's separators reach the decoders' corners far
        // more often than uniform random bytes do.
        let mut input = start.as_bytes().to_vec();
        for (name, value) in &lines {
            input.extend_from_slice(name.as_bytes());
            input.extend_from_slice(b": ");
            input.extend_from_slice(value);
            input.extend_from_slice(b"\r\n");
        }
        input.extend_from_slice(b"\r\n");
        let _ = parse_and_touch(&input);
    }

    #[test]
    fn mutated_invites_never_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        let base = invite();
        let mut input = base.clone();
        for m in &mutations {
            apply(&mut input, m);
        }
        let request_line_end = base.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
        let r = parse_and_touch(&input);
        if let Err(e) = r
            && input.starts_with(&base[..request_line_end])
        {
            // The request line survived, so whatever broke, it broke in a request and a UAS
            // must be able to answer it.
            prop_assert_eq!(e.message_kind(), MessageKind::Request, "{:?}", e);
            prop_assert!(e.status_hint().is_some(), "{:?}", e);
        }
    }
}

fn fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "sip") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance"), &mut out);
    out
}

/// Bytes that end, start or split a grammar element, written over each position in turn.
const INTERESTING: [u8; 13] =
    [0x00, b'\r', b'\n', b' ', b':', b';', b',', b'"', b'<', b'>', b'%', b'[', 0xff];

/// Mutating every position of every fixture costs over 10 s in a debug build: in a file
/// longer than this, only every ⌈len / LARGE⌉-th position is mutated (all prefixes are
/// still taken).
const LARGE: usize = 512;

#[test]
fn conformance_fixtures_survive_every_prefix_and_single_byte_mutation() {
    let files = fixtures();
    assert!(files.len() >= 60, "found only {} fixtures", files.len());
    let mut parsed = 0usize;
    for path in &files {
        let bytes = std::fs::read(path).expect("fixture");
        for end in 0..=bytes.len() {
            parsed += usize::from(parse_and_touch(&bytes[..end]).is_ok());
        }
        let stride = bytes.len().div_ceil(LARGE).max(1);
        let mut input = bytes.clone();
        for at in (0..bytes.len()).step_by(stride) {
            for b in INTERESTING {
                input[at] = b;
                parsed += usize::from(parse_and_touch(&input).is_ok());
            }
            input[at] = bytes[at];
        }
    }
    // Guards against the sweep silently testing nothing but errors.
    assert!(parsed > 10_000, "only {parsed} inputs parsed");
}
