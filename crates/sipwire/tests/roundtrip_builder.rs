//! What the builders write is what the parser reads back: for generated requests and
//! responses, `parse(serialize(m)) == m`, and every part that went in comes out unchanged.
//! The builders also refuse the caller mistakes they document.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use sipwire::message::reason_phrase;
use sipwire::{BuildError, HeaderName, Message, Method, RequestBuilder};

const ALNUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Strings of 1..=`max` characters, each drawn from `alnum + extra`, with `%HH` escapes mixed
/// in when `escapes` (RFC 3261 §19.1.2).
fn chars(extra: &'static str, max: usize, escapes: bool) -> BoxedStrategy<String> {
    let set: Vec<char> = ALNUM.chars().chain(extra.chars()).collect();
    let plain = prop::sample::select(set).prop_map(String::from);
    let piece = if escapes {
        prop_oneof![9 => plain, 1 => "%[0-9A-Fa-f]{2}"].boxed()
    } else {
        plain.boxed()
    };
    prop::collection::vec(piece, 1..=max).prop_map(|v| v.concat()).boxed()
}

/// `token` (RFC 3261 §25.1).
fn token(max: usize) -> BoxedStrategy<String> {
    chars("-.!%*_+`'~", max, false)
}

fn host() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?";
    let top = "[a-zA-Z]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?";
    prop_oneof![
        3 => (prop::collection::vec(label, 0..3), top).prop_map(|(mut labels, top)| {
            labels.push(top);
            labels.join(".")
        }),
        1 => any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string()),
        1 => any::<[u16; 8]>().prop_map(|s| format!("[{}]", Ipv6Addr::from(s))),
    ]
}

fn sip_uri() -> impl Strategy<Value = String> {
    let user = prop::option::of((
        chars("-_.!~*'()&=+$,;?/", 10, true),
        prop::option::of(chars("-_.!~*'()&=+$,", 8, true)),
    ));
    let param =
        (chars("-_.!~*'()[]/:&+$", 8, true), prop::option::of(chars("-_.!~*'()[]/:&+$", 8, true)));
    (
        prop::bool::ANY,
        user,
        host(),
        prop::option::of(any::<u16>()),
        prop::collection::vec(param, 0..4),
    )
        .prop_map(|(secure, user, host, port, params)| {
            let mut s = String::from(if secure { "sips:" } else { "sip:" });
            if let Some((user, password)) = user {
                s.push_str(&user);
                if let Some(p) = password {
                    s.push(':');
                    s.push_str(&p);
                }
                s.push('@');
            }
            s.push_str(&host);
            if let Some(port) = port {
                s.push_str(&format!(":{port}"));
            }
            for (name, value) in params {
                s.push(';');
                s.push_str(&name);
                if let Some(v) = value {
                    s.push('=');
                    s.push_str(&v);
                }
            }
            s
        })
}

fn request_uri() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => sip_uri(),
        1 => "tel:\\+?[0-9]([0-9.()-]{0,10}[0-9])?".prop_map(String::from),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        prop::sample::select(Method::KNOWN.to_vec()),
        token(12).prop_map(|t| Method::from_token(&t).expect("a token is a method")),
    ]
}

/// A quoted display name holding any printable ASCII, quotes and backslashes escaped.
fn display_name() -> impl Strategy<Value = String> {
    "[ -~]{0,12}"
}

fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Printable ASCII, the whole range: values starting or ending with spaces included.
fn header_value() -> impl Strategy<Value = String> {
    "[ -~]{0,40}"
}

/// Extension header names: tokens that name no header this crate knows, so that their
/// random values never meet a typed decoder.
fn extension_name() -> impl Strategy<Value = String> {
    token(16).prop_filter("a known header name", |n| {
        HeaderName::from_bytes(n.as_bytes()) == HeaderName::Other
    })
}

fn body() -> impl Strategy<Value = Option<(String, Vec<u8>)>> {
    let content_type = prop_oneof![
        prop::sample::select(vec![
            "application/sdp".to_owned(),
            "text/plain;charset=UTF-8".to_owned(),
            "multipart/mixed;boundary=\"b 1\"".to_owned(),
        ]),
        (token(10), token(10)).prop_map(|(t, s)| format!("{t}/{s}")),
    ];
    prop::option::of((content_type, prop::collection::vec(any::<u8>(), 0..300)))
}

#[derive(Debug, Clone)]
struct Via {
    transport: &'static str,
    host: String,
    port: Option<u16>,
    branch: String,
    rport: bool,
}

impl Via {
    fn text(&self) -> String {
        let mut s = format!("SIP/2.0/{} {}", self.transport, self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s.push_str(";branch=");
        s.push_str(&self.branch);
        if self.rport {
            s.push_str(";rport");
        }
        s
    }
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop::sample::select(vec!["UDP", "TCP", "TLS", "SCTP", "WS", "WSS"]),
        host(),
        prop::option::of(any::<u16>()),
        token(16),
        prop::bool::ANY,
    )
        .prop_map(|(transport, host, port, branch, rport)| Via {
            transport,
            host,
            port,
            branch: format!("z9hG4bK{branch}"),
            rport,
        })
}

/// Everything a generated request is made of.
#[derive(Debug, Clone)]
struct Request {
    method: Method,
    uri: String,
    vias: Vec<Via>,
    /// All Via values on one line, comma-separated.
    vias_on_one_line: bool,
    from_name: Option<String>,
    from_uri: String,
    from_tag: String,
    to_uri: String,
    to_tag: Option<String>,
    call_id: String,
    cseq: u32,
    max_forwards: u8,
    extra: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
}

fn request() -> impl Strategy<Value = Request> {
    let word = "-.!%*_+`'~()<>:\\\"/[]?{}";
    let call_id = (chars(word, 16, false), prop::option::of(chars(word, 16, false)))
        .prop_map(|(a, b)| b.map_or_else(|| a.clone(), |b| format!("{a}@{b}")));
    (
        (method(), request_uri(), prop::collection::vec(via(), 1..4), prop::bool::ANY),
        (prop::option::of(display_name()), sip_uri(), token(12)),
        (sip_uri(), prop::option::of(token(12)), call_id),
        (0..=0x7fff_ffffu32, any::<u8>()),
        (prop::collection::vec((extension_name(), header_value()), 0..10), body()),
    )
        .prop_map(
            |(
                (method, uri, vias, vias_on_one_line),
                (from_name, from_uri, from_tag),
                (to_uri, to_tag, call_id),
                (cseq, max_forwards),
                (extra, body),
            )| Request {
                method,
                uri,
                vias,
                vias_on_one_line,
                from_name,
                from_uri,
                from_tag,
                to_uri,
                to_tag,
                call_id,
                cseq,
                max_forwards,
                extra,
                body,
            },
        )
}

impl Request {
    fn via_lines(&self) -> Vec<String> {
        let texts = self.vias.iter().map(Via::text);
        if self.vias_on_one_line {
            vec![texts.collect::<Vec<_>>().join(", ")]
        } else {
            texts.collect()
        }
    }

    fn value_of_from(&self) -> String {
        let name = self.from_name.as_deref().map(|n| format!("{} ", quote(n))).unwrap_or_default();
        format!("{name}<{}>;tag={}", self.from_uri, self.from_tag)
    }

    fn value_of_to(&self) -> String {
        match &self.to_tag {
            Some(tag) => format!("<{}>;tag={tag}", self.to_uri),
            None => format!("<{}>", self.to_uri),
        }
    }

    fn builder(&self) -> RequestBuilder {
        let mut b = RequestBuilder::new(&self.method, &self.uri);
        for line in self.via_lines() {
            b = b.header(HeaderName::Via, line);
        }
        b = b
            .header(HeaderName::From, self.value_of_from())
            .header(HeaderName::To, self.value_of_to())
            .header(HeaderName::CallId, &self.call_id)
            .cseq(self.cseq, &self.method)
            .max_forwards(self.max_forwards);
        for (name, value) in &self.extra {
            b = b.header_named(name, value);
        }
        if let Some((ct, body)) = &self.body {
            b = b.body(ct, body.clone());
        }
        b
    }

    /// The header lines the builder writes, in order, as `(name, value)`.
    fn expected_headers(&self) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> =
            self.via_lines().into_iter().map(|v| ("Via".to_owned(), v)).collect();
        h.push(("From".to_owned(), self.value_of_from()));
        h.push(("To".to_owned(), self.value_of_to()));
        h.push(("Call-ID".to_owned(), self.call_id.clone()));
        h.push(("CSeq".to_owned(), format!("{} {}", self.cseq, self.method)));
        h.push(("Max-Forwards".to_owned(), self.max_forwards.to_string()));
        h.extend(extra_expected(&self.extra));
        h.extend(body_expected(self.body.as_ref()));
        h
    }
}

/// Extension headers come back with the white space around the value removed: RFC 3261
/// §7.3.1 makes it no part of the value.
fn extra_expected(extra: &[(String, String)]) -> Vec<(String, String)> {
    extra.iter().map(|(n, v)| (n.clone(), v.trim_matches(' ').to_owned())).collect()
}

fn body_expected(body: Option<&(String, Vec<u8>)>) -> Vec<(String, String)> {
    let mut h = Vec::new();
    if let Some((ct, _)) = body {
        h.push(("Content-Type".to_owned(), ct.clone()));
    }
    let len = body.map_or(0, |(_, b)| b.len());
    h.push(("Content-Length".to_owned(), len.to_string()));
    h
}

fn header_list(msg: &Message) -> Vec<(String, String)> {
    msg.headers()
        .map(|f| (f.raw_name().to_owned(), String::from_utf8(f.value().to_vec()).expect("ASCII")))
        .collect()
}

/// `header_lines` wants a `'static` name; these tests generate a few hundred.
fn leak(name: &str) -> &'static str {
    Box::leak(name.to_owned().into_boxed_str())
}

/// Every generated extension header comes back through `header_lines`, in order, under any
/// spelling of its name.
fn check_extension_headers(msg: &Message, extra: &[(String, String)]) -> Result<(), TestCaseError> {
    let mut by_name: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (name, value) in extra_expected(extra) {
        by_name
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| (name, Vec::new()))
            .1
            .push(value);
    }
    for (name, values) in by_name.into_values() {
        let got: Vec<&[u8]> = msg.header_lines(leak(&name)).collect();
        let want: Vec<&[u8]> = values.iter().map(String::as_bytes).collect();
        prop_assert_eq!(got, want, "header_lines({:?})", name);
    }
    Ok(())
}

fn serialize(write: impl FnOnce(&mut Vec<u8>) -> Result<(), BuildError>) -> Vec<u8> {
    let mut wire = Vec::new();
    write(&mut wire).expect("a generated message is valid");
    wire
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn built_requests_parse_back_unchanged(r in request()) {
        let builder = r.builder();
        let built = builder.clone().build().expect("a generated request builds");
        let wire = serialize(|w| builder.write_to(w));
        prop_assert_eq!(built.as_bytes(), &wire[..], "build and write_to write the same bytes");
        let parsed = Message::parse(wire.clone()).expect("a built request parses");
        prop_assert_eq!(&parsed, &built);

        prop_assert_eq!(parsed.method(), Some(&r.method));
        prop_assert_eq!(parsed.request_uri_str(), Some(r.uri.as_str()));
        prop_assert_eq!(parsed.request_uri().map(|u| u.as_str()), Some(r.uri.as_str()));
        prop_assert_eq!(header_list(&parsed), r.expected_headers());
        check_extension_headers(&parsed, &r.extra)?;
        let body: &[u8] = r.body.as_ref().map_or(&[], |(_, b)| b);
        prop_assert_eq!(parsed.body(), body);
        prop_assert_eq!(parsed.content_length(), Some(body.len() as u32));

        let cseq = parsed.cseq().expect("CSeq decodes");
        prop_assert_eq!((cseq.seq, &cseq.method), (r.cseq, &r.method));
        let branches: Vec<String> = parsed
            .via()
            .map(|v| v.expect("Via decodes").branch().expect("branch").to_owned())
            .collect();
        let want: Vec<String> = r.vias.iter().map(|v| v.branch.clone()).collect();
        prop_assert_eq!(branches, want);
        prop_assert_eq!(parsed.top_via().expect("top Via").branch(), Some(r.vias[0].branch.as_str()));
        let from = parsed.from_header().expect("From decodes");
        prop_assert_eq!(from.tag(), Some(r.from_tag.as_str()));
        prop_assert_eq!(from.uri.as_str(), r.from_uri.as_str());
        prop_assert_eq!(from.display_name.map(|d| d.text().into_owned()), r.from_name.clone());
        let to = parsed.to_header().expect("To decodes");
        prop_assert_eq!(to.tag(), r.to_tag.as_deref());
        prop_assert_eq!(parsed.call_id().expect("Call-ID"), r.call_id.as_str());
        prop_assert_eq!(parsed.max_forwards().expect("Max-Forwards"), Some(r.max_forwards));
        parsed.check_request().expect("a built request has what RFC 3261 §8.1.1 requires");
    }

    #[test]
    fn built_responses_parse_back_unchanged(
        r in request(),
        code in 100..=699u16,
        to_tag in prop::option::of(token(12)),
        reason in prop::option::of("[ -~]{0,20}"),
        extra in prop::collection::vec((extension_name(), header_value()), 0..4),
        resp_body in body(),
    ) {
        let request = r.builder().build().expect("a generated request builds");
        let mut builder = request.reply(code);
        if let Some(tag) = &to_tag {
            builder = builder.to_tag(tag);
        }
        if let Some(reason) = &reason {
            builder = builder.reason(reason);
        }
        for (name, value) in &extra {
            builder = builder.header_named(name, value);
        }
        if let Some((ct, b)) = &resp_body {
            builder = builder.body(ct, b.clone());
        }
        let built = builder.clone().build().expect("a reply to a generated request builds");
        let wire = serialize(|w| builder.write_to(w));
        prop_assert_eq!(built.as_bytes(), &wire[..], "build and write_to write the same bytes");
        let parsed = Message::parse(wire).expect("a built response parses");
        prop_assert_eq!(&parsed, &built);

        prop_assert_eq!(parsed.status(), Some(code));
        prop_assert_eq!(parsed.reason(), Some(reason.as_deref().unwrap_or(reason_phrase(code))));
        // RFC 3261 §8.2.6.2: Via (all of them, in order), From, To, Call-ID and CSeq are
        // copied; To gains the tag only if it had none.
        let tag = r.to_tag.clone().or(to_tag);
        let mut want: Vec<(String, String)> = r
            .expected_headers()
            .into_iter()
            .filter(|(n, _)| ["Via", "From", "To", "Call-ID", "CSeq"].contains(&n.as_str()))
            .map(|(n, v)| match (&r.to_tag, &tag) {
                (None, Some(tag)) if n == "To" => (n, format!("{v};tag={tag}")),
                _ => (n, v),
            })
            .collect();
        want.extend(extra_expected(&extra));
        want.extend(body_expected(resp_body.as_ref()));
        prop_assert_eq!(header_list(&parsed), want);
        check_extension_headers(&parsed, &extra)?;

        let to = parsed.to_header().expect("To decodes");
        prop_assert_eq!(to.tag(), tag.as_deref());
        let tags = to.params.iter().filter(|p| p.name.eq_ignore_ascii_case("tag")).count();
        prop_assert_eq!(tags, usize::from(tag.is_some()), "To carries at most one tag");
        prop_assert_eq!(parsed.call_id().expect("Call-ID"), request.call_id().expect("Call-ID"));
        prop_assert_eq!(parsed.cseq().expect("CSeq"), request.cseq().expect("CSeq"));
        prop_assert_eq!(
            parsed.top_via().expect("Via").branch(),
            request.top_via().expect("Via").branch()
        );
        prop_assert_eq!(
            parsed.from_header().expect("From").tag(),
            request.from_header().expect("From").tag()
        );
        prop_assert_eq!(parsed.header(HeaderName::MaxForwards), None, "Max-Forwards is not copied");
        let body: &[u8] = resp_body.as_ref().map_or(&[], |(_, b)| b);
        prop_assert_eq!(parsed.body(), body);
    }

    /// BuildError: "caller mistakes, reported instead of putting a malformed message on the
    /// wire". A reason phrase that `write_to` accepts must therefore come out parseable.
    #[test]
    fn any_reason_phrase_is_refused_or_written_parseably(reason in "\\PC{0,8}|[\\x00-\\x7f]{0,8}") {
        let request = invite();
        let mut wire = Vec::new();
        if request.reply(486).reason(&reason).write_to(&mut wire).is_ok() {
            let parsed = Message::parse(&wire[..]);
            prop_assert!(parsed.is_ok(), "reason {:?} was written as {:?}: {:?}",
                reason, String::from_utf8_lossy(&wire), parsed);
            if let Ok(msg) = parsed {
                prop_assert_eq!(msg.reason(), Some(reason.as_str()));
            }
        }
    }
}

fn invite() -> Message {
    RequestBuilder::new(&Method::Invite, "sip:bob@biloxi.example.com")
        .header(HeaderName::Via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776")
        .header(HeaderName::From, "<sip:alice@atlanta.example.com>;tag=1928")
        .header(HeaderName::To, "<sip:bob@biloxi.example.com>")
        .header(HeaderName::CallId, "a84b4c76e66710")
        .cseq(1, &Method::Invite)
        .max_forwards(70)
        .build()
        .expect("a plain INVITE builds")
}

fn options() -> RequestBuilder {
    RequestBuilder::new(&Method::Options, "sip:bob@biloxi.example.com")
        .header(HeaderName::Via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK1")
        .header(HeaderName::From, "<sip:alice@atlanta.example.com>;tag=1")
        .header(HeaderName::To, "<sip:bob@biloxi.example.com>")
        .header(HeaderName::CallId, "c1")
        .cseq(1, &Method::Options)
        .max_forwards(70)
}

fn write_err(b: &RequestBuilder) -> Option<BuildError> {
    b.write_to(&mut Vec::new()).err()
}

#[test]
fn request_builder_refuses_cr_or_lf_in_a_header_value() {
    for value in ["a\r\nVia: SIP/2.0/UDP evil", "a\rb", "a\nb", "\r\n"] {
        let b = options().header_named("X-Evil", value);
        assert_eq!(write_err(&b), Some(BuildError::HeaderValue), "{value:?}");
        assert_eq!(b.build().err(), Some(BuildError::HeaderValue), "{value:?}");
        let b = options().header(HeaderName::Subject, value);
        assert_eq!(write_err(&b), Some(BuildError::HeaderValue), "{value:?}");
    }
    assert_eq!(write_err(&options().header_named("X-Fine", "a b\tc")), None);
}

#[test]
fn response_builder_refuses_cr_or_lf_in_a_header_value_or_reason() {
    let invite = invite();
    let mut out = Vec::new();
    let r = invite.reply(200).header_named("X-Evil", "a\r\nContact: <sip:evil>").write_to(&mut out);
    assert_eq!(r, Err(BuildError::HeaderValue));
    assert_eq!(
        invite.reply(200).reason("OK\r\nX: y").build().err(),
        Some(BuildError::ReasonPhrase)
    );
    assert!(out.is_empty(), "nothing is written when the builder refuses");
}

#[test]
fn cseq_above_2_pow_31_minus_1_is_refused() {
    assert_eq!(
        write_err(&options().cseq(0x8000_0000, &Method::Options)),
        Some(BuildError::CSeqRange)
    );
    assert_eq!(write_err(&options().cseq(u32::MAX, &Method::Options)), Some(BuildError::CSeqRange));
    let b = RequestBuilder::new(&Method::Options, "sip:bob@biloxi.example.com")
        .header(HeaderName::Via, "SIP/2.0/UDP h.example.com;branch=z9hG4bK1")
        .header(HeaderName::From, "<sip:a@h.example.com>;tag=1")
        .header(HeaderName::To, "<sip:b@h.example.com>")
        .header(HeaderName::CallId, "c1")
        .cseq(0x7fff_ffff, &Method::Options);
    let msg = b.build().expect("2^31 - 1 is the largest CSeq a UAC may choose");
    assert_eq!(msg.cseq().unwrap().seq, 0x7fff_ffff);
}

#[test]
fn status_codes_outside_100_to_699_are_refused() {
    let invite = invite();
    for code in [0, 1, 99, 700, 999, u16::MAX] {
        let mut out = Vec::new();
        assert_eq!(invite.reply(code).write_to(&mut out), Err(BuildError::StatusCode), "{code}");
        assert_eq!(invite.reply(code).build().err(), Some(BuildError::StatusCode), "{code}");
    }
    for code in [100, 699] {
        assert_eq!(invite.reply(code).build().expect("in range").status(), Some(code));
    }
}

#[test]
fn content_length_cannot_be_set_by_hand() {
    let cases = [
        options().header(HeaderName::ContentLength, "0"),
        options().header_named("Content-Length", "0"),
        options().header_named("content-LENGTH", "12"),
        options().header_named("l", "0"),
    ];
    for b in &cases {
        assert_eq!(write_err(b), Some(BuildError::ContentLength), "{b:?}");
    }
    let invite = invite();
    let mut out = Vec::new();
    let r = invite.reply(200).header(HeaderName::ContentLength, "0").write_to(&mut out);
    assert_eq!(r, Err(BuildError::ContentLength));
    assert_eq!(
        invite.reply(200).header_named("L", "0").build().err(),
        Some(BuildError::ContentLength)
    );
}

#[test]
fn to_tag_is_kept_not_doubled_when_the_request_has_one() {
    let bye = RequestBuilder::new(&Method::Bye, "sip:bob@biloxi.example.com")
        .header(HeaderName::Via, "SIP/2.0/UDP h.example.com;branch=z9hG4bK2")
        .header(HeaderName::From, "<sip:a@h.example.com>;tag=1")
        .header(HeaderName::To, "<sip:b@h.example.com>;tag=existing")
        .header(HeaderName::CallId, "c2")
        .cseq(2, &Method::Bye)
        .build()
        .expect("builds");
    let mut wire = Vec::new();
    bye.reply(200).to_tag("new").write_to(&mut wire).expect("writes");
    let resp = Message::parse(&wire[..]).expect("parses");
    assert_eq!(resp.header(HeaderName::To), Some(&b"<sip:b@h.example.com>;tag=existing"[..]));
    let resp = invite().reply(180).to_tag("t9").build().expect("builds");
    assert_eq!(resp.header(HeaderName::To), Some(&b"<sip:bob@biloxi.example.com>;tag=t9"[..]));
}

/// RFC 3261 §19.1.1 table 1: a Request-URI carries no header components, and the parser
/// rejects one that does. `BuildError::Uri` ("the Request-URI does not parse") exists to
/// refuse it before it reaches the wire.
#[test]
fn request_uri_with_header_components_is_refused_by_the_builder() {
    let b = RequestBuilder::new(&Method::Options, "sip:bob@biloxi.example.com?Subject=hi")
        .header(HeaderName::Via, "SIP/2.0/UDP h.example.com;branch=z9hG4bK1")
        .header(HeaderName::From, "<sip:a@h.example.com>;tag=1")
        .header(HeaderName::To, "<sip:b@h.example.com>")
        .header(HeaderName::CallId, "c1")
        .cseq(1, &Method::Options);
    let mut wire = Vec::new();
    let written = b.write_to(&mut wire);
    assert_eq!(
        written,
        Err(BuildError::Uri),
        "write_to put {:?} on the wire, which parses as {:?}",
        String::from_utf8_lossy(&wire),
        Message::parse(&wire[..]).err()
    );
}

/// `HeaderName::Other` has no spelling: the builder refuses it rather than invent one.
#[test]
fn header_name_other_is_refused() {
    let mut out = Vec::new();
    let e = RequestBuilder::new(&Method::Options, "sip:a@example.com")
        .header(HeaderName::Other, "x")
        .write_to(&mut out)
        .unwrap_err();
    assert_eq!(e, BuildError::HeaderName);
}
