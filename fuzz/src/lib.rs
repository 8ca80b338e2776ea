//! Fuzz target functions for sipwire.
//!
//! Each function takes the fuzzer's bytes, drives the public API as deeply as it can and
//! panics when an invariant breaks. They are plain functions, free of libFuzzer, so that
//! `fuzz_targets/*.rs` wrap them for `cargo +nightly fuzz run` and
//! `crates/sipwire/tests/fuzz_corpus.rs` replays every corpus file through them on stable.
//!
//! That test includes this file with `#[path]`, so nothing here may name `crate::`.
#![allow(unreachable_pub)]

mod endpoint;

#[allow(unused_imports)] // the tests that include this file each use some of them
pub use endpoint::{
    RECORD_SEPARATOR, Record, encode_records, endpoint_ops, endpoint_receive,
    endpoint_receive_seeds,
};

use arbitrary::{Arbitrary, Unstructured};
use sipwire::message::{Contact, Host, MediaType, NameAddr, Params, Seconds, TokenParams, Via};
use sipwire::{
    BuildError, ErrorKind, Frame, HeaderName, KeepAliveRole, Limits, Message, MessageKind, Method,
    ParseError, ParseOptions, RequestBuilder, StreamFramer, Uri,
};

/// Byte-at-a-time feeding is quadratic in the worst case; beyond this it is left to the
/// chunked runs.
const BYTEWISE_MAX: usize = 4096;

/// Parses `data` as one datagram, strict and lenient, with default and tight limits, and
/// checks every accessor of whatever parses.
pub fn parse_datagram(data: &[u8]) {
    let strict = Message::parse(data);
    let lenient = Message::parse_with(data, &options(false));

    // Strict parsing is lenient parsing followed by `validate`. When the framing fails too,
    // which of the two faults is reported first is the parser's choice.
    match (&lenient, &strict) {
        (Ok(m), s) => {
            // `validate` reports offsets in the message, which starts after any CRLFs that
            // preceded the start line; parse errors report offsets in the input.
            let skip = data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
            let in_message = s.clone().map(drop).map_err(|e| (e.kind(), e.offset() - skip));
            let validated = m.validate().map_err(|e| (e.kind(), e.offset()));
            assert_eq!(in_message, validated, "strict parse != lenient + validate()");
            if let Ok(s) = s {
                assert_eq!(s, m, "strict and lenient parses differ");
            }
        }
        (Err(_), Ok(s)) => panic!("lenient parse fails where strict parse gives {s:?}"),
        (Err(_), Err(e)) => check_error(e, data.len()),
    }

    // Every way of handing over the bytes gives the same answer.
    assert_eq!(Message::parse(data.to_vec()), strict, "Vec<u8> input differs from &[u8]");

    match &lenient {
        Err(e) => check_error(e, data.len()),
        Ok(m) => {
            check_datagram(m, data);
            exercise(m);
            if let Ok(s) = &strict {
                check_validated(s);
                check_rebuild(s);
                check_reply(s, data.len());
            }
            // The message's own bytes parse back to the same message.
            assert_eq!(
                Message::parse_with(m.as_bytes(), &options(false)).as_ref(),
                Ok(m),
                "as_bytes() does not re-parse to an equal message"
            );
            // The same message without the CRLFs that preceded it: offsets move by that much.
            let skip = data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
            let again = Message::parse(m.to_bytes()).map_err(|e| (e.kind(), e.offset() + skip));
            let first = strict.clone().map_err(|e| (e.kind(), e.offset()));
            assert_eq!(again, first, "Bytes input differs from &[u8]");
        }
    }

    // Tighter limits only ever reject more.
    let mut tight = ParseOptions::DEFAULT;
    tight.limits = tight_limits();
    match Message::parse_with(data, &tight) {
        Ok(t) => assert_eq!(Ok(&t), strict.as_ref(), "tight limits accepted what defaults reject"),
        Err(e) => check_error(&e, data.len()),
    }
}

/// Frames `data` as a stream, whole, in data-derived chunks and byte by byte, for both
/// keep-alive roles, strict and lenient: every way of feeding must give the same frames.
pub fn parse_stream(data: &[u8]) {
    let chunk = 1 + usize::from(data.first().copied().unwrap_or(0) % 61);
    let split = data.len() / 2 + usize::from(data.last().copied().unwrap_or(0)) % 7;
    let split = split.min(data.len());
    for role in [KeepAliveRole::Server, KeepAliveRole::Client] {
        let mut per_validate = Vec::with_capacity(2);
        for validate in [false, true] {
            let whole = frame_all(data, role, validate, &[data], true);
            let halves = frame_all(data, role, validate, &[&data[..split], &data[split..]], false);
            assert_eq!(whole, halves, "split at {split} differs from whole ({role:?})");
            let chunks: Vec<&[u8]> = data.chunks(chunk).collect();
            let chunked = frame_all(data, role, validate, &chunks, false);
            assert_eq!(whole, chunked, "chunks of {chunk} differ from whole ({role:?})");
            if data.len() <= BYTEWISE_MAX {
                let bytes: Vec<&[u8]> = data.chunks(1).collect();
                let bytewise = frame_all(data, role, validate, &bytes, false);
                assert_eq!(whole, bytewise, "byte-at-a-time differs from whole ({role:?})");
            }
            per_validate.push(whole);
        }
        let strict = per_validate.pop().unwrap_or_default();
        let lenient = per_validate.pop().unwrap_or_default();
        check_strict_framing(&strict, &lenient);
    }
}

/// Parses `data` as a URI (if it is UTF-8) and checks display, equality and the URI's
/// behaviour inside a request line and a To header.
pub fn parse_uri(data: &[u8]) {
    let Ok(s) = core::str::from_utf8(data) else { return };
    match Uri::parse(s) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Uri, "{s:?}: Uri::parse failed with {e:?}");
            assert!(e.offset() <= s.len(), "{s:?}: error offset {} past the end", e.offset());
        }
        Ok(uri) => {
            check_uri(&uri);
            assert_eq!(uri.as_str(), s, "a parsed URI is the whole input");
            // Schemes compare case-insensitively.
            let colon = s.find(':').unwrap_or(0);
            let upper = format!("{}{}", s[..colon].to_ascii_uppercase(), &s[colon..]);
            let other = Uri::parse(&upper)
                .unwrap_or_else(|e| panic!("{upper:?} fails ({e}) where {s:?} parses"));
            assert!(eq_both_ways(&uri, &other), "{s:?} != {upper:?}");
            check_uri_in_message(s, &uri);
        }
    }
}

/// Builds a request from a structured description derived from `data`, then checks that it
/// parses back to the same message with the header lines in the order they were added.
pub fn roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(spec) = RequestSpec::arbitrary(&mut u) else { return };
    let method = spec.method.method();
    let uri = spec.uri.render();
    let body = spec.body.map(|b| (b.content_type(), b.bytes));

    let mut builder = RequestBuilder::new(&method, &uri);
    let mut first_err = if uri_ok(&uri) { None } else { Some(BuildError::Uri) };
    let mut lines: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut add = |err: Option<BuildError>, line: Option<(Vec<u8>, Vec<u8>)>| {
        if first_err.is_none() {
            first_err = err;
        }
        if let Some(l) = line {
            lines.push(l);
        }
    };
    for op in spec.ops.iter().take(12) {
        match op {
            HeaderOp::Known(i, v) => {
                let name = KNOWN_HEADERS[usize::from(*i) % KNOWN_HEADERS.len()];
                let value = v.bytes();
                let text = name.as_str().unwrap_or_default();
                // `HeaderName::Other` has no spelling: the builder refuses it.
                let err = match name {
                    HeaderName::Other => Some(BuildError::HeaderName),
                    HeaderName::ContentLength => Some(BuildError::ContentLength),
                    _ => None,
                };
                add(err, Some((text.as_bytes().to_vec(), value.clone())));
                builder = builder.header(name, &value);
            }
            HeaderOp::Named(n, v) => {
                let name = map(n, NAME_CHARS);
                let value = v.bytes();
                let err = if name.is_empty() || !name.bytes().all(is_token) {
                    Some(BuildError::HeaderName)
                } else if HeaderName::from_bytes(name.as_bytes()) == HeaderName::ContentLength {
                    Some(BuildError::ContentLength)
                } else {
                    None
                };
                add(err, Some((name.clone().into_bytes(), value.clone())));
                builder = builder.header_named(&name, &value);
            }
            HeaderOp::CSeq(seq, m) => {
                let m = m.method();
                let err = (*seq > 0x7fff_ffff).then_some(BuildError::CSeqRange);
                add(err, Some((b"CSeq".to_vec(), format!("{seq} {m}").into_bytes())));
                builder = builder.cseq(*seq, &m);
            }
            HeaderOp::MaxForwards(n) => {
                add(None, Some((b"Max-Forwards".to_vec(), n.to_string().into_bytes())));
                builder = builder.max_forwards(*n);
            }
        }
    }
    if let Some((ct, bytes)) = &body {
        if !ct.is_empty() {
            add(None, Some((b"Content-Type".to_vec(), ct.as_bytes().to_vec())));
        }
        builder = builder.body(ct, bytes.clone());
    }
    let body_len = body.as_ref().map_or(0, |(_, b)| b.len());
    lines.push((b"Content-Length".to_vec(), body_len.to_string().into_bytes()));

    let mut wire = Vec::new();
    let written = builder.write_to(&mut wire);
    assert_eq!(written, first_err.map_or(Ok(()), Err), "write_to: unexpected outcome");
    let built = builder.build();
    if written.is_err() {
        assert_eq!(built.map(drop), written, "build and write_to disagree");
        return;
    }
    let parsed = Message::parse(&wire[..]);
    let msg = match (built, parsed) {
        (Ok(b), Ok(p)) => {
            assert_eq!(b, p, "build() differs from parse(write_to())");
            b
        }
        (Err(BuildError::Invalid(e)), Err(f)) => {
            assert_eq!(e, f, "build() and parse(write_to()) fail differently");
            return;
        }
        (b, p) => panic!("build() gave {b:?} but parse(write_to()) gave {p:?}"),
    };

    assert_eq!(msg.as_bytes(), &wire[..], "a built message is its wire bytes");
    assert_eq!(msg.method(), Some(&method));
    assert_eq!(msg.request_uri_str(), Some(uri.as_str()));
    assert_eq!(msg.body(), body.as_ref().map_or(&[][..], |(_, b)| &b[..]));
    assert_eq!(msg.content_length().map(|n| n as usize), Some(body_len));
    let got: Vec<(&[u8], &[u8])> =
        msg.headers().map(|f| (f.raw_name().as_bytes(), f.value())).collect();
    let want: Vec<(&[u8], &[u8])> = lines.iter().map(|(n, v)| (&n[..], trim_lws(v))).collect();
    assert_eq!(got, want, "header lines differ from the ones added");
    for &name in KNOWN_HEADERS {
        let want: Vec<&[u8]> = lines
            .iter()
            .filter(|(n, _)| HeaderName::from_bytes(n) == name)
            .map(|(_, v)| trim_lws(v))
            .collect();
        let got: Vec<&[u8]> = msg.header_lines(name).collect();
        if name != HeaderName::Other {
            assert_eq!(got, want, "header_lines({name:?})");
        }
    }
    exercise(&msg);
    check_validated(&msg);
    check_reply(&msg, wire.len());
}

// ---------------------------------------------------------------------------------------
// Datagram checks

fn options(validate: bool) -> ParseOptions {
    let mut o = ParseOptions::DEFAULT;
    o.validate = validate;
    o
}

fn tight_limits() -> Limits {
    let mut l = Limits::DEFAULT;
    l.max_message_size = 1024;
    l.max_body_size = 64;
    l.max_headers = 12;
    l.max_header_line = 128;
    l.max_uri_len = 48;
    l.max_vias = 2;
    l
}

fn is_limit(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::MessageTooLarge
            | ErrorKind::BodyTooLarge
            | ErrorKind::TooManyHeaders
            | ErrorKind::HeaderTooLong
            | ErrorKind::UriTooLong
            | ErrorKind::TooManyVias
    )
}

fn check_error(e: &ParseError, len: usize) {
    assert!(e.offset() <= len, "{e:?}: offset past the end of {len} bytes");
    let _ = (e.to_string(), e.reason_phrase(), e.kind(), e.message_kind());
    match e.message_kind() {
        MessageKind::Request => assert!(e.status_hint().is_some_and(|s| (400..=599).contains(&s))),
        _ => assert_eq!(e.status_hint(), None, "{e:?}: only requests are answered"),
    }
}

/// Where the message sits in the datagram it came from.
fn check_datagram(m: &Message, data: &[u8]) {
    let bytes = m.as_bytes();
    // CRLFs before the start line may or may not be kept; nothing else is skipped.
    let lead = data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
    assert!(
        (0..=lead).any(|k| data[k..].starts_with(bytes)),
        "as_bytes() is not the input's prefix"
    );
    match m.content_length() {
        Some(n) => assert_eq!(m.body().len(), n as usize, "body length != Content-Length"),
        None => {
            assert!(data.ends_with(m.body()), "without Content-Length the body runs to the end")
        }
    }
}

/// Every accessor, every list, every typed value; internal consistency of the answers.
fn exercise(m: &Message) {
    let len = m.as_bytes().len();
    let kind = if m.is_request() { MessageKind::Request } else { MessageKind::Response };
    let err = |e: &ParseError| {
        check_error(e, len);
        assert_eq!(e.message_kind(), kind, "{e:?}: wrong message kind");
    };

    let _ = format!("{m:?}");
    assert_ne!(m.is_request(), m.is_response());
    assert!(m.as_bytes().ends_with(m.body()), "the body is the tail of the message");
    assert_eq!(m.to_bytes(), m.as_bytes());
    assert_eq!(m.body_bytes(), m.body());
    let mut out = Vec::new();
    m.write_to(&mut out);
    assert_eq!(out, m.as_bytes());

    if let Some(method) = m.method() {
        assert!(m.status().is_none() && m.reason().is_none());
        assert_eq!(Method::from_token(method.as_str()).as_ref(), Some(method));
        assert_eq!(method.to_string(), method.as_str());
        let raw = m.request_uri_str().expect("a request has a Request-URI");
        let uri = m.request_uri().expect("a parsed Request-URI decodes again");
        assert_eq!(uri.as_str(), raw);
        check_uri(&uri);
        assert_eq!(Uri::parse(raw).as_ref(), Ok(&uri), "Request-URI decodes differently alone");
        if let Err(e) = m.check_request() {
            err(&e);
        }
    } else {
        assert!(m.request_uri().is_none() && m.request_uri_str().is_none());
        let code = m.status().expect("a response has a status");
        assert!((100..=699).contains(&code), "status {code}");
        let _ = m.reason().expect("a response has a reason phrase");
    }

    assert_eq!(m.headers().len(), m.header_count());
    for f in m.headers() {
        let raw = f.raw_name();
        assert!(!raw.is_empty() && raw.bytes().all(is_token), "header name {raw:?}");
        assert_eq!(HeaderName::from_bytes(raw.as_bytes()), f.name());
        let v = f.value();
        assert_eq!(v, trim_lws(v), "header values are trimmed of LWS");
        let _ = f.name().to_string();
        if f.name() != HeaderName::Other {
            assert_eq!(m.header(f.name()), m.header_lines(f.name()).next());
            let lines = m.header_lines(f.name()).count();
            let values = m.header_values(f.name()).count();
            assert!(lines >= 1, "{raw}: header_lines finds nothing");
            if f.name().is_list() {
                assert!(values >= lines, "{raw}: fewer values than lines");
            } else {
                assert_eq!(values, lines, "{raw}: a single-valued header was split");
            }
        }
    }

    for v in m.via() {
        v.map_or_else(|e| err(&e), |v| check_via(&v));
    }
    match (m.top_via(), m.via().next()) {
        (Ok(a), Some(Ok(b))) => assert_eq!(a.params, b.params),
        (Err(a), Some(Err(b))) => assert_eq!(a, b),
        (Err(e), None) => assert_eq!(e.kind(), ErrorKind::MissingHeader(HeaderName::Via)),
        (a, b) => panic!("top_via() {a:?} is not via().next() {b:?}"),
    }
    for r in [m.from_header(), m.to_header()] {
        r.map_or_else(|e| err(&e), |n| check_name_addr(&n));
    }
    if let Err(e) = m.call_id() {
        err(&e);
    }
    match m.cseq() {
        Ok(c) => {
            assert_eq!(Method::from_token(c.method.as_str()), Some(c.method.clone()));
            let _ = c.seq;
        }
        Err(e) => err(&e),
    }
    if let Err(e) = m.max_forwards() {
        err(&e);
    }
    if let Some(n) = m.content_length() {
        assert_eq!(m.body().len(), n as usize);
    }
    for c in m.contacts() {
        match c {
            Ok(Contact::Addr(n)) => check_name_addr(&n),
            Ok(_) => {}
            Err(e) => err(&e),
        }
    }
    for r in m.routes().chain(m.record_routes()) {
        r.map_or_else(|e| err(&e), |n| check_name_addr(&n));
    }
    match m.content_type() {
        Ok(t) => t.iter().for_each(check_media_type),
        Err(e) => err(&e),
    }
    for a in m.accept() {
        a.map_or_else(|e| err(&e), |t| check_media_type(&t));
    }
    for r in [m.content_disposition(), m.event()] {
        match r {
            Ok(t) => t.iter().for_each(check_token_params),
            Err(e) => err(&e),
        }
    }
    for r in m.reasons() {
        r.map_or_else(|e| err(&e), |t| check_token_params(&t));
    }
    for t in m.require().chain(m.supported()).chain(m.unsupported()).chain(m.proxy_require()) {
        match t {
            Ok(t) => assert!(!t.is_empty() && t.bytes().all(is_token), "option tag {t:?}"),
            Err(e) => err(&e),
        }
    }
    for a in m.allow() {
        match a {
            Ok(method) => assert_eq!(Method::from_token(method.as_str()), Some(method)),
            Err(e) => err(&e),
        }
    }
    if let Err(e) = m.rseq() {
        err(&e);
    }
    match m.rack() {
        Ok(Some(r)) => assert_eq!(Method::from_token(r.method.as_str()), Some(r.method.clone())),
        Ok(None) => {}
        Err(e) => err(&e),
    }
    if let Err(e) = m.expires() {
        err(&e);
    }
    for r in [m.retry_after(), m.session_expires(), m.min_se()] {
        match r {
            Ok(s) => s.iter().for_each(check_seconds),
            Err(e) => err(&e),
        }
    }
    match m.refer_to() {
        Ok(n) => n.iter().for_each(check_name_addr),
        Err(e) => err(&e),
    }
    if let Err(e) = m.validate() {
        err(&e);
    }
}

/// What `validate` promises: the headers every layer relies on decode.
fn check_validated(m: &Message) {
    assert_eq!(m.validate(), Ok(()), "a strictly parsed message validates");
    let vias: Vec<_> = m.via().collect();
    assert!(vias.iter().all(Result::is_ok), "validated, yet a Via fails: {vias:?}");
    assert!(vias.len() <= Limits::DEFAULT.max_vias);
    assert!(m.contacts().all(|c| c.is_ok()), "validated, yet a Contact fails");
    assert!(m.routes().all(|r| r.is_ok()), "validated, yet a Route fails");
    assert!(m.record_routes().all(|r| r.is_ok()), "validated, yet a Record-Route fails");
    let only_count = |e: ParseError| {
        assert!(
            matches!(e.kind(), ErrorKind::MissingHeader(_) | ErrorKind::DuplicateHeader(_)),
            "validated, yet {e:?}"
        );
    };
    if let Err(e) = m.from_header() {
        only_count(e);
    }
    if let Err(e) = m.to_header() {
        only_count(e);
    }
    if let Err(e) = m.call_id() {
        only_count(e);
    }
    if let Err(e) = m.cseq() {
        only_count(e);
    }
    if let Err(e) = m.max_forwards() {
        only_count(e);
    }
    if m.is_request() && m.check_request().is_ok() {
        let (Ok(_), Ok(_), Ok(_), Ok(c), Ok(_), Ok(_)) =
            (m.from_header(), m.to_header(), m.call_id(), m.cseq(), m.top_via(), m.max_forwards())
        else {
            panic!("check_request() passed but a mandatory header does not decode");
        };
        assert_eq!(Some(&c.method), m.method(), "check_request() passed with a CSeq mismatch");
    }
}

/// A validated request without folded lines rebuilds, through `RequestBuilder`, into the
/// same start line, header lines and body.
fn check_rebuild(m: &Message) {
    let (Some(method), Some(uri)) = (m.method(), m.request_uri_str()) else { return };
    if m.headers().any(|f| f.value().iter().any(|&b| b == b'\r' || b == b'\n')) {
        return;
    }
    let mut b = RequestBuilder::new(method, uri);
    for f in m.headers().filter(|f| f.name() != HeaderName::ContentLength) {
        b = b.header_named(f.raw_name(), f.value());
    }
    b = b.body("", m.body().to_vec());
    let rebuilt = match b.build() {
        Ok(r) => r,
        Err(BuildError::Invalid(e)) if is_limit(e.kind()) => return,
        Err(e) => panic!("a valid request does not rebuild: {e:?}"),
    };
    assert_eq!(rebuilt.method(), m.method());
    assert_eq!(rebuilt.request_uri_str(), m.request_uri_str());
    assert_eq!(rebuilt.body(), m.body());
    let strip = |m: &Message| -> Vec<(String, Vec<u8>)> {
        m.headers()
            .filter(|f| f.name() != HeaderName::ContentLength)
            .map(|f| (f.raw_name().to_owned(), f.value().to_vec()))
            .collect()
    };
    assert_eq!(strip(&rebuilt), strip(m), "rebuilt header lines differ");
}

/// A validated request can be answered, and the answer copies what RFC 3261 §8.2.6.2 says.
fn check_reply(m: &Message, len: usize) {
    if !m.is_request() {
        return;
    }
    let code = 100 + u16::try_from(len % 600).unwrap_or(0);
    let reply = m.reply(code).to_tag("fz1");
    let mut wire = Vec::new();
    reply.write_to(&mut wire).expect("a reply with a valid code and tag writes");
    let r = match reply.build() {
        Ok(r) => r,
        Err(BuildError::Invalid(e)) if is_limit(e.kind()) => return,
        Err(e) => panic!("a valid request cannot be answered {code}: {e:?}"),
    };
    assert_eq!(Message::parse(&wire[..]).as_ref(), Ok(&r), "reply: build() != parse(write_to())");
    assert_eq!(r.status(), Some(code));
    for name in [HeaderName::Via, HeaderName::From, HeaderName::CallId, HeaderName::CSeq] {
        let a: Vec<&[u8]> = m.header_lines(name).collect();
        let b: Vec<&[u8]> = r.header_lines(name).collect();
        assert_eq!(a, b, "reply does not copy {name}");
    }
    assert_eq!(m.header_lines(HeaderName::To).count(), r.header_lines(HeaderName::To).count());
    if let (Ok(req_to), Ok(resp_to)) = (m.to_header(), r.to_header()) {
        assert_eq!(resp_to.tag(), req_to.tag().or(Some("fz1")), "reply To tag");
        assert!(req_to.uri == resp_to.uri, "reply To URI");
    }
    exercise(&r);
    check_validated(&r);
}

// ---------------------------------------------------------------------------------------
// Typed values

fn check_params(p: &Params<'_>) {
    let _ = p.is_empty();
    for param in p.iter() {
        assert!(!param.name.is_empty() && param.name.bytes().all(is_token));
        assert!(p.contains(param.name), "param {:?} not found by name", param.name);
    }
}

fn check_host(h: &Host<'_>) {
    let shown = h.to_string();
    assert!(!shown.is_empty());
    let same = *h;
    assert!(same == *h, "host {shown} is not equal to itself");
}

fn check_via(v: &Via<'_>) {
    let _ = (v.protocol, v.version, v.port, v.transport.as_str(), v.transport.is_reliable());
    let _ = (v.branch(), v.has_magic_cookie(), v.received(), v.rport(), v.maddr(), v.ttl());
    if v.has_magic_cookie() {
        assert!(v.branch().is_some_and(|b| b.starts_with("z9hG4bK")));
    }
    check_host(&v.host);
    check_params(&v.params);
}

fn check_name_addr(n: &NameAddr<'_>) {
    if let Some(d) = &n.display_name {
        let _ = (d.as_raw(), d.is_quoted(), d.text());
    }
    check_uri(&n.uri);
    check_params(&n.params);
    let _ = (n.tag(), n.expires());
    if let Some(q) = n.q() {
        assert!(q <= 1000, "q {q} above 1");
    }
}

fn check_media_type(t: &MediaType<'_>) {
    assert!(t.is(t.ty, t.subtype) && t.admits(t.ty, t.subtype));
    check_params(&t.params);
}

fn check_token_params(t: &TokenParams<'_>) {
    assert!(!t.value.is_empty());
    let _ = (t.id(), t.cause(), t.reason_text(), t.handling());
    check_params(&t.params);
}

fn check_seconds(s: &Seconds<'_>) {
    let _ = (s.seconds, s.comment, s.refresher(), s.duration());
    check_params(&s.params);
}

/// Display round-trips and equality is reflexive and symmetric.
fn check_uri(uri: &Uri<'_>) {
    let shown = uri.to_string();
    assert_eq!(shown, uri.as_str());
    let again = Uri::parse(&shown).unwrap_or_else(|e| panic!("{shown:?} does not re-parse: {e}"));
    let same = *uri;
    assert!(same == *uri, "{shown:?} is not equal to itself");
    assert!(eq_both_ways(&again, uri), "{shown:?} is not equal to its re-parse");
    assert_eq!(again.scheme(), uri.scheme());
    assert!(!uri.scheme().is_empty());
    match uri {
        Uri::Sip(s) => {
            assert_eq!(uri.as_sip().map(|u| u.as_str()), Some(s.as_str()));
            let _ = (s.secure, s.user, s.password, s.port, s.headers);
            let _ = (s.user_unescaped(), s.password_unescaped());
            let _ = (s.transport(), s.user_param(), s.maddr(), s.lr());
            let _ = s.header_fields().count();
            for (name, _) in s.params.iter() {
                assert!(s.params.get(name).is_some(), "uri param {name:?} not found by name");
            }
            check_host(&s.host);
        }
        Uri::Tel(t) => {
            assert!(!t.number.is_empty());
            let _ = t.params.iter().count();
        }
        Uri::Absolute(a) => {
            assert!(uri.scheme().eq_ignore_ascii_case(a.scheme));
            let _ = a.rest;
        }
        _ => {}
    }
}

/// Equality must be symmetric: asks both sides.
fn eq_both_ways(a: &Uri<'_>, b: &Uri<'_>) -> bool {
    let ab = a == b;
    let ba = b == a;
    ab && ba
}

/// A URI that parses alone parses the same as a Request-URI and inside `To: <…>`.
fn check_uri_in_message(s: &str, uri: &Uri<'_>) {
    if s.len() > Limits::DEFAULT.max_uri_len {
        return;
    }
    let req = format!("OPTIONS {s} SIP/2.0\r\nTo: <{s}>\r\nContent-Length: 0\r\n\r\n");
    match Message::parse(req.as_bytes()) {
        Ok(m) => {
            let ruri = m.request_uri().expect("request");
            assert!(ruri == *uri, "{s:?}: Request-URI decodes differently");
            let to = m.to_header().expect("To validated");
            assert!(to.uri == *uri, "{s:?}: the URI in To decodes differently");
            exercise(&m);
        }
        Err(e) => {
            // A Request-URI carries no header components (RFC 3261 §19.1.1).
            let has_headers = uri.as_sip().is_some_and(|u| !u.headers.is_empty());
            assert!(
                has_headers && e.kind() == ErrorKind::Uri,
                "{s:?} parses alone but not as a Request-URI: {e:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Stream framing

/// What a framer produced from one way of feeding the input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Framed {
    frames: Vec<Frame>,
    error: Option<ParseError>,
    buffered: usize,
}

/// Feeds `chunks` to a fresh framer, draining it after each; `deep` also checks each frame.
fn frame_all(
    data: &[u8],
    role: KeepAliveRole,
    validate: bool,
    chunks: &[&[u8]],
    deep: bool,
) -> Framed {
    let opts = options(validate);
    let mut framer = StreamFramer::new(opts, role);
    let mut out = Framed::default();
    'feed: for chunk in chunks {
        framer.push(chunk);
        loop {
            match framer.next_frame() {
                Ok(Some(f)) => out.frames.push(f),
                Ok(None) => break,
                Err(e) => {
                    out.error = Some(e);
                    break 'feed;
                }
            }
        }
    }
    if let Some(e) = out.error {
        // The error sticks, whatever comes next.
        framer.push(b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(framer.next_frame(), Err(e), "a framer error does not stick");
        assert!(e.offset() <= data.len() || e.kind() == ErrorKind::MessageTooLarge);
    }
    out.buffered = if out.error.is_some() { 0 } else { framer.buffered() };
    let framed: usize = out
        .frames
        .iter()
        .map(|f| match f {
            Frame::Message(m) => m.as_bytes().len(),
            _ => 0,
        })
        .sum();
    assert!(framed + out.buffered <= data.len(), "the framer made up bytes");
    for f in out.frames.iter().filter(|_| deep) {
        match f {
            Frame::Message(m) => {
                let n = m.content_length().expect("stream messages carry Content-Length");
                assert_eq!(m.body().len(), n as usize);
                assert_eq!(
                    Message::parse_with(m.as_bytes(), &opts).as_ref(),
                    Ok(m),
                    "a framed message does not parse alone as a datagram"
                );
                exercise(m);
                if validate {
                    check_validated(m);
                }
            }
            Frame::Ping => assert_eq!(role, KeepAliveRole::Server, "ping on the client side"),
            Frame::Pong => assert_eq!(role, KeepAliveRole::Client, "pong on the server side"),
            _ => {}
        }
    }
    out
}

/// The strict run is the lenient run cut at the first message that fails `validate`, except
/// that a strict framer may reject an invalid header section before its body has arrived, or
/// report a validation fault before a framing fault found in the same header section.
fn check_strict_framing(strict: &Framed, lenient: &Framed) {
    let expected = validated(lenient);
    if *strict == expected {
        return;
    }
    assert_eq!(strict.frames, expected.frames, "strict framing is not lenient + validate()");
    match (strict.error, expected.error) {
        (Some(_), None) => {
            assert!(lenient.buffered > 0, "strict framing fails on bytes lenient never saw");
        }
        (Some(_), Some(_)) if lenient.error.is_some() => {}
        (s, e) => panic!("strict framing ends in {s:?}, lenient + validate() in {e:?}"),
    }
}

/// The lenient run cut at the first message that fails `validate`.
fn validated(lenient: &Framed) -> Framed {
    let mut out = Framed { buffered: lenient.buffered, ..Framed::default() };
    for f in &lenient.frames {
        if let Frame::Message(m) = f
            && let Err(e) = m.validate()
        {
            return Framed { frames: out.frames, error: Some(e), buffered: 0 };
        }
        out.frames.push(f.clone());
    }
    out.error = lenient.error;
    out
}

// ---------------------------------------------------------------------------------------
// The structured request description for `roundtrip`

const TOKEN_CHARS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~";
/// Token characters, then a few that are not, so that invalid names turn up too.
const NAME_CHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~-- :@";
const URI_CHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyz0123456789ABCZ-_.!~*'()%&=+$,;?/:@[]%%2541ff <>\"#";

const KNOWN_HEADERS: &[HeaderName] = &[
    HeaderName::Via,
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::Contact,
    HeaderName::Route,
    HeaderName::RecordRoute,
    HeaderName::Expires,
    HeaderName::Supported,
    HeaderName::Require,
    HeaderName::Allow,
    HeaderName::Accept,
    HeaderName::Event,
    HeaderName::Subject,
    HeaderName::Reason,
    HeaderName::RSeq,
    HeaderName::RAck,
    HeaderName::SessionExpires,
    HeaderName::MinSe,
    HeaderName::RetryAfter,
    HeaderName::ReferTo,
    HeaderName::ContentDisposition,
    HeaderName::ContentType,
    HeaderName::MaxForwards,
    HeaderName::CSeq,
    HeaderName::ContentLength,
    HeaderName::Other,
];

/// Well-formed values to splice in, so that builds get past validation.
const CANNED: &[&str] = &[
    "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
    "SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx;received=192.0.2.7;rport",
    "\"Alice \\\"A\\\"\" <sip:alice@atlanta.example.com>;tag=1928301774",
    "<sip:bob@biloxi.example.com>",
    "sip:carol@chicago.example.com;tag=xyz",
    "a84b4c76e66710@pc33.atlanta.example.com",
    "314159 INVITE",
    "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
    "*",
    "<sips:bob@192.0.2.4>;expires=60;q=0.5",
    "100rel, timer",
    "INVITE, ACK, BYE, CANCEL, OPTIONS",
    "application/sdp;level=1, text/*",
    "presence;id=7",
    "SIP;cause=200;text=\"Call completed elsewhere\"",
    "1800;refresher=uac",
    "120 (I'm in a meeting);duration=3600",
    "776656 1 INVITE",
    "session;handling=required",
    "70",
    "",
    "   padded value   ",
];

#[derive(Debug, Arbitrary)]
struct RequestSpec {
    method: MethodSpec,
    uri: UriSpec,
    ops: Vec<HeaderOp>,
    body: Option<BodySpec>,
}

#[derive(Debug, Arbitrary)]
enum MethodSpec {
    Known(u8),
    Token(Vec<u8>),
}

impl MethodSpec {
    fn method(&self) -> Method {
        match self {
            Self::Known(i) => Method::KNOWN[usize::from(*i) % Method::KNOWN.len()].clone(),
            Self::Token(t) => {
                let t = map(t, TOKEN_CHARS);
                Method::from_token(&t).unwrap_or(Method::Options)
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
enum HeaderOp {
    Known(u8, ValueSpec),
    Named(Vec<u8>, ValueSpec),
    CSeq(u32, MethodSpec),
    MaxForwards(u8),
}

#[derive(Debug, Arbitrary)]
enum ValueSpec {
    Canned(u8),
    Raw(Vec<u8>),
    CannedWithSuffix(u8, Vec<u8>),
}

impl ValueSpec {
    /// The value bytes, never with CR or LF (the builder refuses those, as it should).
    fn bytes(&self) -> Vec<u8> {
        let canned = |i: &u8| CANNED[usize::from(*i) % CANNED.len()].as_bytes().to_vec();
        let mut v = match self {
            Self::Canned(i) => canned(i),
            Self::Raw(r) => r.clone(),
            Self::CannedWithSuffix(i, s) => {
                let mut v = canned(i);
                v.extend_from_slice(map(s, URI_CHARS).as_bytes());
                v
            }
        };
        v.retain(|&b| b != b'\r' && b != b'\n');
        v
    }
}

#[derive(Debug, Arbitrary)]
struct UriSpec {
    scheme: u8,
    user: Option<Vec<u8>>,
    password: Option<Vec<u8>>,
    host: HostSpec,
    port: Option<u16>,
    params: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Arbitrary)]
enum HostSpec {
    Name(Vec<Vec<u8>>),
    V4([u8; 4]),
    V6([u16; 8]),
    Raw(Vec<u8>),
}

const SCHEMES: &[&str] = &["sip", "sips", "SIP", "tel", "mailto", "urn", "x-1.a+b", "1bad", ""];

impl UriSpec {
    fn render(&self) -> String {
        let scheme = SCHEMES[usize::from(self.scheme) % SCHEMES.len()];
        let mut s = format!("{scheme}:");
        if let Some(u) = &self.user {
            s.push_str(&map(u, URI_CHARS));
            if let Some(p) = &self.password {
                s.push(':');
                s.push_str(&map(p, URI_CHARS));
            }
            if !scheme.eq_ignore_ascii_case("tel") {
                s.push('@');
            }
        }
        match &self.host {
            HostSpec::Name(labels) => {
                let labels: Vec<String> =
                    labels.iter().take(4).map(|l| map(l, b"abcxyz019-_")).collect();
                s.push_str(&labels.join("."));
            }
            HostSpec::V4(a) => s.push_str(&core::net::Ipv4Addr::from(*a).to_string()),
            HostSpec::V6(a) => s.push_str(&format!("[{}]", core::net::Ipv6Addr::from(*a))),
            HostSpec::Raw(r) => s.push_str(&map(r, URI_CHARS)),
        }
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        for (n, v) in self.params.iter().take(4) {
            s.push(';');
            s.push_str(&map(n, URI_CHARS));
            if let Some(v) = v {
                s.push('=');
                s.push_str(&map(v, URI_CHARS));
            }
        }
        for (i, (n, v)) in self.headers.iter().take(2).enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(&map(n, URI_CHARS));
            s.push('=');
            s.push_str(&map(v, URI_CHARS));
        }
        s
    }
}

#[derive(Debug, Arbitrary)]
struct BodySpec {
    content_type: u8,
    bytes: Vec<u8>,
}

const CONTENT_TYPES: &[&str] =
    &["", "application/sdp", "text/plain;charset=utf-8", "multipart/mixed;boundary=x", "bogus"];

impl BodySpec {
    fn content_type(&self) -> &'static str {
        CONTENT_TYPES[usize::from(self.content_type) % CONTENT_TYPES.len()]
    }
}

/// Maps each byte onto `alphabet`, so that short fuzz inputs make plausible text.
fn map(bytes: &[u8], alphabet: &[u8]) -> String {
    bytes.iter().take(64).map(|&b| char::from(alphabet[usize::from(b) % alphabet.len()])).collect()
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// What `RequestBuilder::new` accepts as a Request-URI: a URI without header components
/// (RFC 3261 §19.1.1, table 1).
fn uri_ok(uri: &str) -> bool {
    match Uri::parse(uri) {
        Ok(u) => u.as_sip().is_none_or(|s| s.headers.is_empty()),
        Err(_) => false,
    }
}

/// Trims the linear white space the parser trims around a value: SP, HT, CR and LF.
fn trim_lws(v: &[u8]) -> &[u8] {
    let lws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = v.iter().position(|b| !lws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !lws(b)).map_or(start, |e| e + 1);
    &v[start..end]
}

/// One step of [`transaction_ops`]: a message from the network, a TU call, a send failure
/// or the clock moving.
#[derive(Debug, Arbitrary)]
enum TxOp {
    /// A request from a peer, from a small space so that retransmissions and matches occur.
    Request { method: u8, branch: u8, host: u8, to_tag: bool, cseq: u8, tcp: bool },
    /// A response to one of our client transactions (`pick` chooses which).
    Response { pick: u8, code: u16, extra_via: bool },
    /// A response nobody asked for.
    StrayResponse { branch: u8, code: u16 },
    /// Arbitrary bytes.
    Raw(Vec<u8>),
    /// The TU starts a client transaction.
    Send { invite: bool, tcp: bool },
    /// The TU cancels one of its INVITEs.
    Cancel { pick: u8 },
    /// The TU answers one of the server transactions.
    Respond { pick: u8, code: u16 },
    /// The TU sends an ACK for a 2xx.
    Ack { pick: u8 },
    /// A send failed.
    SendFailed { pick: u8 },
    /// The clock moves and due timers fire.
    Advance { ms: u16 },
}

const TX_METHODS: [&str; 6] = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "PRACK"];

fn tx_request(method: &str, branch: u8, host: u8, to_tag: bool, cseq: u8) -> Vec<u8> {
    let branch = if branch % 8 == 7 { format!("old{branch}") } else { format!("z9hG4bK{branch}") };
    let tag = if to_tag { ";tag=t1" } else { "" };
    format!(
        "{method} sip:bob@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.{host}:5060;branch={branch};rport\r\n\
         From: <sip:alice@example.com>;tag=f1\r\nTo: <sip:bob@example.com>{tag}\r\n\
         Call-ID: c{cseq}@x\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Drives one transaction layer with an arbitrary sequence of network messages, TU calls,
/// send failures and clock moves. Checks that nothing panics, that every transaction a
/// well-behaved TU then finishes is gone within 64·T1 + T4, and that the layer's deadline
/// is never in the past after an input.
pub fn transaction_ops(data: &[u8]) {
    use sipwire::transaction::{LayerConfig, Target, TransactionId, TransactionLayer, TxEvent};
    use sipwire::{Output, Transport};
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    let mut u = Unstructured::new(data);
    let mut config = LayerConfig::default();
    config.max_transactions = 16;
    config.timers.timer_c = Duration::from_secs(32);
    let bound = config.timers.t1 * 64 + config.timers.t4;
    let mut layer = TransactionLayer::new(config);
    #[allow(clippy::disallowed_methods)] // the virtual clock's epoch
    let t0 = Instant::now();
    let mut now = t0;
    let peer = |host: u8| std::net::SocketAddr::from(([192, 0, 2, host], 5060));
    // What the TU knows: its client transactions' requests and the server requests.
    let mut sent: BTreeMap<TransactionId, Message> = BTreeMap::new();
    let mut servers: BTreeMap<TransactionId, Message> = BTreeMap::new();
    let mut oks: Vec<Message> = Vec::new();
    let drain = |layer: &mut TransactionLayer,
                 sent: &mut BTreeMap<TransactionId, Message>,
                 servers: &mut BTreeMap<TransactionId, Message>,
                 oks: &mut Vec<Message>| {
        while let Some(output) = layer.poll_output() {
            match output {
                Output::Transmit(t) => {
                    if let (Some(id), Ok(m)) = (t.transaction, Message::parse(&t.payload[..]))
                        && m.is_request()
                        && m.method() != Some(&Method::Ack)
                    {
                        sent.entry(id).or_insert(m);
                    }
                }
                Output::Event(TxEvent::Request { id, request, .. }) => {
                    servers.insert(id, *request);
                }
                Output::Event(TxEvent::Response { response, .. }) => {
                    if response.status().is_some_and(|c| (200..300).contains(&c)) {
                        oks.push(*response);
                    }
                }
                Output::Event(TxEvent::Terminated { id }) => {
                    sent.remove(&id);
                    servers.remove(&id);
                }
                Output::Event(_) => {}
            }
        }
    };
    let pick = |n: u8, len: usize| (len > 0).then(|| usize::from(n) % len);
    for _ in 0..64 {
        let Ok(op) = TxOp::arbitrary(&mut u) else { break };
        match op {
            TxOp::Request { method, branch, host, to_tag, cseq, tcp } => {
                let method = TX_METHODS[usize::from(method) % TX_METHODS.len()];
                let bytes = tx_request(method, branch % 16, host % 4 + 1, to_tag, cseq % 4);
                let transport = if tcp { Transport::Tcp } else { Transport::Udp };
                layer.handle_datagram(now, peer(host % 4 + 1), transport, bytes.into());
            }
            TxOp::Response { pick: p, code, extra_via } => {
                let Some(i) = pick(p, sent.len()) else { continue };
                let request = sent.values().nth(i).expect("picked");
                let code = 100 + code % 600;
                if let Ok(resp) = request.reply(code).to_tag("r1").build() {
                    let mut bytes = resp.as_bytes().to_vec();
                    if extra_via {
                        let text = String::from_utf8_lossy(&bytes).replacen(
                            "Via: ",
                            "Via: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKx\r\nVia: ",
                            1,
                        );
                        bytes = text.into_bytes();
                    }
                    layer.handle_datagram(now, peer(9), Transport::Udp, bytes.into());
                }
            }
            TxOp::StrayResponse { branch, code } => {
                let req = tx_request("OPTIONS", branch, 1, false, 1);
                if let Ok(m) = Message::parse(&req[..])
                    && let Ok(resp) = m.reply(100 + code % 600).build()
                {
                    layer.handle_message(now, resp, peer(9), Transport::Udp);
                }
            }
            TxOp::Raw(bytes) => layer.handle_datagram(now, peer(3), Transport::Udp, bytes.into()),
            TxOp::Send { invite, tcp } => {
                let method = if invite { Method::Invite } else { Method::Options };
                let request = RequestBuilder::new(&method, "sip:bob@192.0.2.9")
                    .header(HeaderName::From, "<sip:alice@example.com>;tag=u1")
                    .header(HeaderName::To, "<sip:bob@example.com>")
                    .header(HeaderName::CallId, "uac@x")
                    .cseq(1, &method);
                let transport = if tcp { Transport::Tcp } else { Transport::Udp };
                let _ =
                    layer.send_request(now, request, Target::new(peer(9), transport), "192.0.2.1");
            }
            TxOp::Cancel { pick: p } => {
                let Some(i) = pick(p, sent.len()) else { continue };
                let id = *sent.keys().nth(i).expect("picked");
                let _ = layer.cancel(now, id);
            }
            TxOp::Respond { pick: p, code } => {
                let Some(i) = pick(p, servers.len()) else { continue };
                let (&id, request) = servers.iter().nth(i).expect("picked");
                let _ = layer.respond(now, id, request.reply(100 + code % 600).to_tag("s1"));
            }
            TxOp::Ack { pick: p } => {
                let Some(i) = pick(p, oks.len()) else { continue };
                let ok = &oks[i];
                let ack = RequestBuilder::new(&Method::Ack, "sip:bob@192.0.2.9")
                    .header(HeaderName::From, ok.header(HeaderName::From).unwrap_or_default())
                    .header(HeaderName::To, ok.header(HeaderName::To).unwrap_or_default())
                    .header(HeaderName::CallId, "uac@x")
                    .cseq(1, &Method::Ack);
                let _ = layer.send_ack(ack, Target::new(peer(9), Transport::Udp), "192.0.2.1");
            }
            TxOp::SendFailed { pick: p } => {
                let ids: Vec<TransactionId> = sent.keys().chain(servers.keys()).copied().collect();
                if let Some(i) = pick(p, ids.len()) {
                    layer.handle_send_failed(now, ids[i]);
                }
            }
            TxOp::Advance { ms } => {
                now += Duration::from_millis(u64::from(ms) * 8);
                layer.handle_timeout(now);
            }
        }
        drain(&mut layer, &mut sent, &mut servers, &mut oks);
        if let Some(deadline) = layer.poll_timeout() {
            assert!(deadline > now, "a deadline left in the past after an input");
        }
    }
    // A well-behaved TU answers everything still open; then every transaction ends in time.
    let open: Vec<(TransactionId, Message)> =
        servers.iter().map(|(id, m)| (*id, m.clone())).collect();
    for (id, request) in open {
        let _ = layer.respond(now, id, request.reply(500));
    }
    drain(&mut layer, &mut sent, &mut servers, &mut oks);
    let deadline = now + bound;
    while let Some(at) = layer.poll_timeout() {
        if at > deadline {
            break;
        }
        now = at;
        layer.handle_timeout(now);
        drain(&mut layer, &mut sent, &mut servers, &mut oks);
    }
    assert_eq!(layer.len(), 0, "transactions left {bound:?} after the last input");
}
