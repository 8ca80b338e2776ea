//! RFC 4475 and RFC 5118 conformance: every message of the two RFCs' archives, copied byte
//! for byte into `tests/fixtures/conformance` (see its README and SHA256SUMS).
//!
//! Valid messages parse with the fields the manifest names checked. Each invalid message has
//! one policy, stated in `POLICY` below: rejected with the manifest's status hint, accepted
//! (liberally, with the defect kept out of every typed value), or parsed with the reaction
//! left to the user-agent core. Semantic messages parse, except `mcl01`, whose conflicting
//! Content-Length values make the framing undefined.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use sipwire::message::{Contact, Host, Transport, Uri};
use sipwire::{ErrorKind, HeaderName, Message, Method, ParseError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn parse(rel: &str) -> Message {
    Message::parse(read(rel)).unwrap_or_else(|e| panic!("{rel} must parse, got {e}"))
}

fn reject(rel: &str) -> ParseError {
    match Message::parse(read(rel)) {
        Ok(m) => panic!("{rel} must be rejected, parsed as {m:?}"),
        Err(e) => e,
    }
}

/// The manifest: path -> (class, byte count).
fn manifest() -> BTreeMap<String, (String, usize)> {
    let text = std::fs::read_to_string(root().join("MANIFEST.tsv")).expect("manifest");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_owned(), (f[4].to_owned(), f[5].parse().expect("byte count")))
        })
        .collect()
}

#[test]
fn fixtures_match_the_manifest_byte_counts() {
    let m = manifest();
    assert_eq!(m.len(), 62, "13 + 19 + 17 + 1 RFC 4475 files and 12 RFC 5118 files");
    for (path, (_, bytes)) in &m {
        assert_eq!(read(path).len(), *bytes, "{path}: byte count differs from the manifest");
    }
    let count = |class: &str, prefix: &str| {
        m.iter().filter(|(p, (c, _))| p.starts_with(prefix) && c.starts_with(class)).count()
    };
    assert_eq!(count("valid", "rfc4475/valid"), 13);
    assert_eq!(count("valid", "rfc5118/valid"), 11);
}

/// What this parser does with each RFC 4475 / RFC 5118 `invalid` message.
enum Policy {
    /// Rejected by `Message::parse` with this error kind and status hint (`None`: a
    /// response, silently dropped).
    Reject(ErrorKind, Option<u16>),
    /// Parsed; `Message::check_request` (the RFC 3261 §8.1.1 checks the UA core runs after
    /// method inspection) rejects it with this kind and a 400.
    CheckRequest(ErrorKind),
    /// Parsed liberally: the defect is in a header this crate keeps raw and never
    /// interprets, so it cannot propagate.
    AcceptRaw(HeaderName),
}

const POLICY: &[(&str, Policy)] = {
    use ErrorKind::*;
    use Policy::*;
    &[
        ("rfc4475/invalid/badinv01.sip", Reject(HeaderValue(HeaderName::Via), Some(400))),
        ("rfc4475/invalid/clerr.sip", Reject(BodyTruncated, Some(400))),
        ("rfc4475/invalid/ncl.sip", Reject(HeaderValue(HeaderName::ContentLength), Some(400))),
        ("rfc4475/invalid/scalar02.sip", Reject(OutOfRange(HeaderName::CSeq), Some(400))),
        ("rfc4475/invalid/scalarlg.sip", Reject(OutOfRange(HeaderName::CSeq), None)),
        ("rfc4475/invalid/quotbal.sip", Reject(HeaderValue(HeaderName::To), Some(400))),
        ("rfc4475/invalid/ltgtruri.sip", Reject(Uri, Some(400))),
        ("rfc4475/invalid/lwsruri.sip", Reject(StartLine, Some(400))),
        ("rfc4475/invalid/lwsstart.sip", Reject(StartLine, Some(400))),
        ("rfc4475/invalid/trws.sip", Reject(StartLine, Some(400))),
        ("rfc4475/invalid/escruri.sip", Reject(Uri, Some(400))),
        ("rfc4475/invalid/baddate.sip", AcceptRaw(HeaderName::Date)),
        ("rfc4475/invalid/regbadct.sip", Reject(HeaderValue(HeaderName::Contact), Some(400))),
        ("rfc4475/invalid/badaspec.sip", Reject(HeaderValue(HeaderName::To), Some(400))),
        // The archive copy has no empty line closing its header section.
        ("rfc4475/invalid/baddn.sip", Reject(Incomplete, Some(400))),
        ("rfc4475/variants/baddn-terminated.sip", Reject(HeaderValue(HeaderName::From), Some(400))),
        ("rfc4475/invalid/badvers.sip", Reject(Version, Some(505))),
        ("rfc4475/invalid/mismatch01.sip", CheckRequest(CSeqMethodMismatch)),
        // The UA core answers 501 first (unknown method, §8.2.1); 400 is the fallback.
        ("rfc4475/invalid/mismatch02.sip", CheckRequest(CSeqMethodMismatch)),
        ("rfc4475/invalid/bigcode.sip", Reject(StatusCode, None)),
        ("rfc5118/invalid/ipv6-bad.sip", Reject(Uri, Some(400))),
    ]
};

#[test]
fn every_invalid_message_follows_its_policy() {
    let m = manifest();
    let invalid: Vec<&String> =
        m.iter().filter(|(_, (c, _))| c == "invalid").map(|(p, _)| p).collect();
    assert_eq!(invalid.len(), POLICY.len(), "one policy per invalid file");
    for path in invalid {
        let (_, policy) =
            POLICY.iter().find(|(p, _)| p == path).unwrap_or_else(|| panic!("{path}: no policy"));
        match policy {
            Policy::Reject(kind, hint) => {
                let e = reject(path);
                assert_eq!(e.kind(), *kind, "{path}: {e}");
                assert_eq!(e.status_hint(), *hint, "{path}: {e}");
            }
            Policy::CheckRequest(kind) => {
                let e = parse(path).check_request().expect_err(path);
                assert_eq!(e.kind(), *kind, "{path}");
                assert_eq!(e.status_hint(), Some(400), "{path}");
            }
            Policy::AcceptRaw(name) => {
                let msg = parse(path);
                assert!(msg.header(*name).is_some(), "{path}: the raw header is kept");
                assert!(msg.check_request().is_ok(), "{path}");
            }
        }
    }
}

#[test]
fn mismatch02_method_is_unknown_so_the_ua_core_answers_501_first() {
    let msg = parse("rfc4475/invalid/mismatch02.sip");
    assert!(!msg.method().expect("request").is_known());
    assert_eq!(msg.method().map(Method::as_str), Some("NEWMETHOD"));
}

#[test]
fn baddate_keeps_the_date_raw() {
    let msg = parse("rfc4475/invalid/baddate.sip");
    assert_eq!(msg.header(HeaderName::Date), Some(&b"Fri, 01 Jan 2010 16:00:00 EST"[..]));
}

#[test]
fn every_semantic_message_parses_except_mcl01() {
    let m = manifest();
    let mut n = 0;
    for (path, (class, _)) in &m {
        if class != "semantic" {
            continue;
        }
        n += 1;
        if path.ends_with("mcl01.sip") {
            let e = reject(path);
            assert_eq!(e.kind(), ErrorKind::ConflictingContentLength);
            assert_eq!(e.status_hint(), Some(400));
        } else {
            parse(path);
        }
    }
    assert_eq!(n, 17);
}

#[test]
fn semantic_details_are_visible_to_the_ua_core() {
    let insuf = parse("rfc4475/semantic/insuf.sip");
    let e = insuf.check_request().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MissingHeader(_)), "{e}");
    assert_eq!(e.status_hint(), Some(400));

    let multi = parse("rfc4475/semantic/multi01.sip");
    let e = multi.check_request().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::DuplicateHeader(_)), "{e}");
    assert!(matches!(
        multi.call_id().unwrap_err().kind(),
        ErrorKind::DuplicateHeader(HeaderName::CallId)
    ));

    let bad = parse("rfc4475/semantic/badbranch.sip");
    let via = bad.top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK"));

    let bcast = parse("rfc4475/semantic/bcast.sip");
    let vias: Vec<_> = bcast.via().collect::<Result<_, _>>().unwrap();
    assert_eq!(vias[1].host, Host::Ipv4(Ipv4Addr::BROADCAST));

    let unkscm = parse("rfc4475/semantic/unkscm.sip");
    assert_eq!(unkscm.request_uri().unwrap().scheme(), "nobodyKnowsThisScheme");
    assert!(matches!(unkscm.request_uri(), Some(Uri::Absolute(_))));
    let novelsc = parse("rfc4475/semantic/novelsc.sip");
    assert_eq!(novelsc.request_uri().unwrap().scheme(), "soap.beep");

    let unksm2 = parse("rfc4475/semantic/unksm2.sip");
    assert_eq!(unksm2.to_header().unwrap().uri.scheme(), "isbn");
    assert_eq!(unksm2.from_header().unwrap().uri.scheme(), "http");

    let bext = parse("rfc4475/semantic/bext01.sip");
    let req: Vec<&str> = bext.require().collect::<Result<_, _>>().unwrap();
    assert_eq!(req, ["nothingSupportsThis", "nothingSupportsThisEither"]);
    let preq: Vec<&str> = bext.proxy_require().collect::<Result<_, _>>().unwrap();
    assert_eq!(preq, ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]);

    let invut = parse("rfc4475/semantic/invut.sip");
    let ct = invut.content_type().unwrap().unwrap();
    assert!(!ct.is("application", "sdp"));

    let regaut = parse("rfc4475/semantic/regaut01.sip");
    assert!(regaut.header(HeaderName::Authorization).is_some());
    assert_eq!(regaut.method(), Some(&Method::Register));

    assert_eq!(parse("rfc4475/semantic/zeromf.sip").max_forwards().unwrap(), Some(0));

    let c1 = parse("rfc4475/semantic/cparam01.sip");
    let Some(Ok(Contact::Addr(a))) = c1.contacts().next() else { panic!("contact") };
    assert!(a.params.contains("unknownparam"), "contact-param, outside the URI");
    assert!(a.uri.as_sip().unwrap().params.get("unknownparam").is_none());
    let c2 = parse("rfc4475/semantic/cparam02.sip");
    let Some(Ok(Contact::Addr(a))) = c2.contacts().next() else { panic!("contact") };
    assert!(!a.params.contains("unknownparam"));
    assert_eq!(a.uri.as_sip().unwrap().params.get("unknownparam"), Some(None), "url-param");

    let regescrt = parse("rfc4475/semantic/regescrt.sip");
    let Some(Ok(Contact::Addr(a))) = regescrt.contacts().next() else { panic!("contact") };
    let sip = *a.uri.as_sip().unwrap();
    assert_eq!(sip.header_fields().collect::<Vec<_>>(), [("Route", "%3Csip:sip.example.com%3E")]);

    let sdp01 = parse("rfc4475/semantic/sdp01.sip");
    let accept: Vec<_> = sdp01.accept().collect::<Result<_, _>>().unwrap();
    assert!(!accept.is_empty() && !accept.iter().any(|r| r.admits("application", "sdp")));

    let inv2543 = parse("rfc4475/semantic/inv2543.sip");
    assert_eq!(inv2543.content_length(), None);
    assert_eq!(
        inv2543.body().len(),
        read("rfc4475/semantic/inv2543.sip").len() - body_offset(&inv2543)
    );
    assert!(!inv2543.body().is_empty());
    assert_eq!(inv2543.top_via().unwrap().branch(), None);
    assert_eq!(inv2543.from_header().unwrap().tag(), None);
    assert_eq!(inv2543.max_forwards().unwrap(), None);
}

fn body_offset(m: &Message) -> usize {
    m.as_bytes().len() - m.body().len()
}

fn contacts(m: &Message) -> Vec<sipwire::message::NameAddr<'_>> {
    m.contacts()
        .map(|c| match c.unwrap() {
            Contact::Addr(a) => a,
            _ => panic!("unexpected *"),
        })
        .collect()
}

#[test]
fn rfc4475_valid_messages_parse_with_the_named_fields() {
    // 3.1.1.1 wsinv
    let m = parse("rfc4475/valid/wsinv.sip");
    let vias: Vec<_> = m.via().collect::<Result<_, _>>().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].transport, Transport::Udp);
    assert_eq!(vias[1].transport, Transport::Tcp);
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    assert_eq!(m.cseq().unwrap().seq, 9);
    assert_eq!(m.cseq().unwrap().method, Method::Invite);
    assert_eq!(m.content_length(), Some(150));
    assert_eq!(m.body().len(), 150);
    assert_eq!(m.header("UnknownHeaderWithUnusualValue"), Some(&b";;,,;;,;"[..]));
    assert_eq!(m.header(HeaderName::Subject), Some(&b""[..]), "empty Subject via compact s");
    assert_eq!(
        m.header("NewFangledHeader"),
        Some(&b"newfangled value\r\n continued newfangled value"[..])
    );
    assert_eq!(m.to_header().unwrap().tag(), Some("1918181833n"));
    let from = m.from_header().unwrap();
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(from.display_name.unwrap().text(), "J Rosenberg \\\"");
    let c = contacts(&m);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].q(), Some(330));
    assert_eq!(c[0].params.get("newparam"), Some(Some("newvalue")));
    assert!(c[0].params.contains("secondparam"));
    assert_eq!(c[0].display_name.unwrap().text(), "Quoted string \"\"");
    let route = m.routes().next().unwrap().unwrap();
    assert!(route.uri.as_sip().unwrap().lr());

    // 3.1.1.2 intmeth
    let m = parse("rfc4475/valid/intmeth.sip");
    assert_eq!(m.method().unwrap().as_str(), "!interesting-Method0123456789_*+`.%indeed'~");
    assert!(!m.method().unwrap().is_known());
    assert_eq!(m.cseq().unwrap().method, *m.method().unwrap());
    let to = m.to_header().unwrap();
    assert_eq!(to.display_name.unwrap().text(), "BEL:\u{7} NUL:\0 DEL:\u{7f}");
    assert_eq!(m.call_id().unwrap(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    let user = to.uri.as_sip().unwrap().user.unwrap();
    assert_eq!(user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert!(
        m.headers().any(|h| std::str::from_utf8(h.value()).is_ok_and(|v| !v.is_ascii())),
        "UTF-8 kept"
    );

    // 3.1.1.3 esc01
    let m = parse("rfc4475/valid/esc01.sip");
    let ruri = m.request_uri().unwrap();
    let sip = ruri.as_sip().unwrap();
    assert_eq!(&*sip.user_unescaped().unwrap(), b"sips:user@example.com");
    assert_eq!(&*m.to_header().unwrap().uri.as_sip().unwrap().user_unescaped().unwrap(), b"user");
    let c = contacts(&m);
    let curi = *c[0].uri.as_sip().unwrap();
    assert!(curi.lr(), "%6C%72 is lr");
    assert_eq!(curi.params.get("name"), Some(Some("v%61lue%25%34%31")));
    let other = Uri::parse("sip:caller@host5.example.net;lr;name=value%2541").unwrap();
    assert_eq!(c[0].uri, other, "one level of unescaping: value%41, not valueA");
    assert_ne!(c[0].uri, Uri::parse("sip:caller@host5.example.net;lr;name=valueA").unwrap());

    // 3.1.1.4 escnull
    let m = parse("rfc4475/valid/escnull.sip");
    let c = contacts(&m);
    assert_eq!(c.len(), 2);
    assert_eq!(&*c[0].uri.as_sip().unwrap().user_unescaped().unwrap(), b"\0");
    assert_eq!(&*c[1].uri.as_sip().unwrap().user_unescaped().unwrap(), b"\0\0");
    assert_ne!(c[0].uri, c[1].uri);
    assert_eq!(
        &*m.to_header().unwrap().uri.as_sip().unwrap().user_unescaped().unwrap(),
        b"null-\0-null"
    );

    // 3.1.1.5 esc02
    let m = parse("rfc4475/valid/esc02.sip");
    assert_eq!(m.method().unwrap().as_str(), "RE%47IST%45R");
    assert!(!m.method().unwrap().is_known());
    assert_eq!(m.from_header().unwrap().display_name.unwrap().as_raw(), "%Z%45");
    assert_eq!(contacts(&m).len(), 2);
    assert!(m.header("C%6Fntact").is_some());

    // 3.1.1.6 lwsdisp
    let m = parse("rfc4475/valid/lwsdisp.sip");
    let d = m.from_header().unwrap().display_name.unwrap();
    assert_eq!((d.as_raw(), d.is_quoted()), ("caller", false));

    // 3.1.1.7 longreq
    let m = parse("rfc4475/valid/longreq.sip");
    assert!(m.via().count() >= 30);
    assert!(m.via().all(|v| v.is_ok()));
    assert!(m.to_header().unwrap().display_name.unwrap().as_raw().contains("extremeextreme"));
    let from = m.from_header().unwrap();
    assert!(from.uri.as_sip().unwrap().user.unwrap().len() > 100);
    assert!(from.tag().unwrap().len() > 100);
    assert!(m.call_id().unwrap().len() > 100);

    // 3.1.1.8 dblreq
    let raw = read("rfc4475/valid/dblreq.sip");
    let m = Message::parse(&raw).unwrap();
    assert_eq!(m.method(), Some(&Method::Register));
    assert_eq!(m.content_length(), Some(0));
    assert!(m.body().is_empty());
    assert!(m.as_bytes().len() < raw.len(), "trailing octets ignored");
    assert!(!m.as_bytes().windows(6).any(|w| w == b"INVITE"));

    // 3.1.1.9 semiuri
    let m = parse("rfc4475/valid/semiuri.sip");
    let ruri = m.request_uri().unwrap();
    assert_eq!(ruri.as_sip().unwrap().user, Some("user;par=u%40example.net"));
    assert_eq!(&*ruri.as_sip().unwrap().user_unescaped().unwrap(), b"user;par=u@example.net");
    assert!(ruri.as_sip().unwrap().params.is_empty());

    // 3.1.1.10 transports
    let m = parse("rfc4475/valid/transports.sip");
    let t: Vec<_> = m.via().map(|v| v.unwrap().transport).collect();
    assert_eq!(
        t,
        [
            Transport::Udp,
            Transport::Sctp,
            Transport::Tls,
            Transport::Other("UNKNOWN"),
            Transport::Tcp
        ]
    );

    // 3.1.1.11 mpart01
    let m = parse("rfc4475/valid/mpart01.sip");
    assert_eq!(m.body().len(), 553);
    assert_eq!(m.content_length(), Some(553));
    assert!(m.body().contains(&0) && m.body().contains(&b'\r'));
    let ct = m.content_type().unwrap().unwrap();
    assert!(ct.is("multipart", "mixed"));
    assert_eq!(ct.params.get("boundary"), Some(Some("7a9cbec02ceef655")));

    // 3.1.1.12 unreason
    let m = parse("rfc4475/valid/unreason.sip");
    assert_eq!(m.status(), Some(200));
    assert!(!m.reason().unwrap().is_ascii());

    // 3.1.1.13 noreason
    let m = parse("rfc4475/valid/noreason.sip");
    assert_eq!((m.status(), m.reason()), (Some(100), Some("")));
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn sip_host(u: Uri<'_>) -> (Host<'_>, Option<u16>) {
    let s = u.as_sip().unwrap();
    (s.host, s.port)
}

#[test]
fn rfc5118_valid_messages_parse_with_the_named_fields() {
    let m = parse("rfc5118/valid/ipv6-good.sip");
    assert_eq!(sip_host(m.request_uri().unwrap()), (Host::Ipv6(v6("2001:db8::10")), None));
    assert!(matches!(m.top_via().unwrap().host, Host::Ipv6(_)));

    let m = parse("rfc5118/valid/port-ambiguous.sip");
    assert_eq!(sip_host(m.request_uri().unwrap()), (Host::Ipv6(v6("2001:db8::10:5070")), None));
    let m = parse("rfc5118/valid/port-unambiguous.sip");
    assert_eq!(sip_host(m.request_uri().unwrap()), (Host::Ipv6(v6("2001:db8::10")), Some(5070)));

    let want = Some(IpAddr::V6(v6("2001:db8::9:255")));
    assert_eq!(
        parse("rfc5118/valid/via-received-param-with-delim.sip").top_via().unwrap().received(),
        want
    );
    assert_eq!(
        parse("rfc5118/valid/via-received-param-no-delim.sip").top_via().unwrap().received(),
        want
    );

    for (f, cl) in [("ipv6-in-sdp", 251), ("mult-ip-in-sdp", 189), ("ipv4-mapped-ipv6", 245)] {
        let m = parse(&format!("rfc5118/valid/{f}.sip"));
        assert_eq!((m.content_length(), m.body().len()), (Some(cl), cl as usize), "{f}");
    }

    let m = parse("rfc5118/valid/mult-ip-in-header.sip");
    let vias: Vec<_> = m.via().collect::<Result<_, _>>().unwrap();
    assert_eq!((vias[0].host, vias[0].port), (Host::Ipv6(v6("2001:db8::9:1")), Some(6050)));
    assert_eq!(vias[1].host, Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(vias[2].received(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200))));

    let m = parse("rfc5118/valid/ipv4-mapped-ipv6.sip");
    assert_eq!(m.top_via().unwrap().host, Host::Ipv6(v6("::ffff:192.0.2.10")));

    let three = parse("rfc5118/valid/ipv6-bug-abnf-3-colons.sip");
    let two = parse("rfc5118/valid/ipv6-correct-abnf-2-colons.sip");
    let want = (Host::Ipv6(v6("2001:db8::192.0.2.1")), None);
    assert_eq!(sip_host(three.request_uri().unwrap()), want, "tolerated (RFC 5118 §4.10)");
    assert_eq!(sip_host(two.request_uri().unwrap()), want);
}

#[test]
fn every_valid_message_parses_and_all_its_typed_headers_decode() {
    for (path, (class, _)) in manifest() {
        if !class.starts_with("valid") {
            continue;
        }
        let m = parse(&path);
        assert!(m.validate().is_ok(), "{path}");
        for v in m.via() {
            v.unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        m.from_header().unwrap_or_else(|e| panic!("{path}: {e}"));
        m.to_header().unwrap_or_else(|e| panic!("{path}: {e}"));
        m.call_id().unwrap_or_else(|e| panic!("{path}: {e}"));
        m.cseq().unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}
