//! Every `Limits` field is enforced: a message exactly at the limit parses, one byte (line,
//! value) over it fails with the documented kind and status hint (`MessageTooLarge` 513,
//! `BodyTooLarge` 413, `TooManyHeaders` 513, `HeaderTooLong` 513, `UriTooLong` 414,
//! `TooManyVias` 513), through `Message::parse_with` and through the `StreamFramer` alike.
//!
//! The limits are also what keeps parsing linear: hostile inputs far larger than any limit
//! are refused by the limit they break, whatever their size. (No timing is measured; the
//! evidence is which limit refuses them.)

use sipwire::{ErrorKind, Frame, KeepAliveRole, Message, ParseError, ParseOptions, StreamFramer};

const URI: &str = "sip:bob@biloxi.example.com";

/// An OPTIONS request with `extra` header lines (each ending in CRLF) after the usual seven,
/// and `body` framed by Content-Length when `with_length`.
fn request_with(uri: &str, extra: &str, body: &[u8], with_length: bool) -> Vec<u8> {
    let mut out = format!(
        "OPTIONS {uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:bob@biloxi.example.com>\r\n\
         From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710\r\n\
         CSeq: 63104 OPTIONS\r\n\
         {extra}"
    )
    .into_bytes();
    if with_length {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn request(extra: &str, body: &[u8]) -> Vec<u8> {
    request_with(URI, extra, body, true)
}

/// Header lines in `request(extra, _)` besides those in `extra`.
const BASE_HEADERS: usize = 7;

/// Vias in `request(extra, _)` besides those in `extra`.
const BASE_VIAS: usize = 1;

fn options(set: impl FnOnce(&mut ParseOptions)) -> ParseOptions {
    let mut o = ParseOptions::DEFAULT;
    set(&mut o);
    o
}

/// Frames `input` whole on a stream and returns the first frame or error.
fn frame(input: &[u8], o: &ParseOptions) -> Result<Option<Frame>, ParseError> {
    let mut f = StreamFramer::new(*o, KeepAliveRole::Server);
    f.push(input);
    f.next_frame()
}

/// `input` parses under `o`, as a datagram and on a stream.
fn accepted(input: &[u8], o: &ParseOptions) -> Message {
    let msg = Message::parse_with(input, o).unwrap_or_else(|e| panic!("must parse: {e:?}"));
    match frame(input, o) {
        Ok(Some(Frame::Message(m))) => assert_eq!(m, msg),
        other => panic!("the framer must yield the message, got {other:?}"),
    }
    msg
}

/// `input` is refused under `o` with `kind` and `status`, as a datagram and on a stream.
fn refused(input: &[u8], o: &ParseOptions, kind: ErrorKind, status: u16) {
    let e = Message::parse_with(input, o).expect_err("must be refused");
    assert_eq!((e.kind(), e.status_hint()), (kind, Some(status)), "datagram: {e:?}");
    let e = frame(input, o).expect_err("must be refused on a stream");
    assert_eq!((e.kind(), e.status_hint()), (kind, Some(status)), "stream: {e:?}");
}

#[test]
fn max_message_size() {
    let msg = request("", b"v=0\r\n");
    let at = options(|o| o.limits.max_message_size = msg.len());
    accepted(&msg, &at);
    let under = options(|o| o.limits.max_message_size = msg.len() - 1);
    refused(&msg, &under, ErrorKind::MessageTooLarge, 513);
}

#[test]
fn max_message_size_of_a_response_is_refused_without_an_answer() {
    let resp = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    // The leading CRLF is not part of the message: the limit must bite below the rest.
    let o = options(|o| o.limits.max_message_size = resp.len() - 3);
    let e = Message::parse_with(&resp[..], &o).expect_err("too large");
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert_eq!(e.status_hint(), None, "responses are dropped, never answered");
}

#[test]
fn max_body_size() {
    let body = [b'x'; 300];
    let msg = request("", &body);
    accepted(&msg, &options(|o| o.limits.max_body_size = 300));
    refused(&msg, &options(|o| o.limits.max_body_size = 299), ErrorKind::BodyTooLarge, 413);
}

/// Over UDP a message may come without Content-Length; its body is then the rest of the
/// datagram (RFC 3261 §18.3), and `max_body_size` ("largest body") still bounds it.
#[test]
fn max_body_size_without_content_length() {
    let body = [b'x'; 300];
    let msg = request_with(URI, "", &body, false);
    let ok = Message::parse_with(&msg[..], &options(|o| o.limits.max_body_size = 300))
        .expect("a 300-byte body under a 300-byte limit parses");
    assert_eq!(ok.body().len(), 300);
    let e = Message::parse_with(&msg[..], &options(|o| o.limits.max_body_size = 299))
        .expect_err("a 300-byte body over a 299-byte limit is refused");
    assert_eq!((e.kind(), e.status_hint()), (ErrorKind::BodyTooLarge, Some(413)));
}

#[test]
fn max_headers() {
    let extra: String = (0..10).map(|i| format!("X-Pad-{i}: {i}\r\n")).collect();
    let msg = request(&extra, b"");
    let lines = BASE_HEADERS + 10;
    assert_eq!(accepted(&msg, &options(|o| o.limits.max_headers = lines)).header_count(), lines);
    let o = options(|o| o.limits.max_headers = lines - 1);
    refused(&msg, &o, ErrorKind::TooManyHeaders, 513);
}

#[test]
fn folded_continuations_are_one_header_line() {
    let msg = request("Subject: a\r\n b\r\n\tc\r\n", b"");
    let lines = BASE_HEADERS + 1;
    accepted(&msg, &options(|o| o.limits.max_headers = lines));
}

/// A header line is measured from its name to the end of its value, CRLF excluded.
#[test]
fn max_header_line() {
    let line = format!("X-Pad: {}", "y".repeat(993));
    assert_eq!(line.len(), 1000);
    let msg = request(&format!("{line}\r\n"), b"");
    accepted(&msg, &options(|o| o.limits.max_header_line = 1000));
    refused(&msg, &options(|o| o.limits.max_header_line = 999), ErrorKind::HeaderTooLong, 513);
}

#[test]
fn max_header_line_counts_folded_continuations() {
    // `X-Fold:` and three continuations of CRLF SP and 98 bytes: 310 bytes in all.
    let piece = "z".repeat(98);
    let line = format!("X-Fold:\r\n {piece}\r\n {piece}\r\n {piece}");
    assert_eq!(line.len(), 7 + 3 * 101);
    let msg = request(&format!("{line}\r\n"), b"");
    let at = options(|o| o.limits.max_header_line = line.len());
    accepted(&msg, &at);
    let under = options(|o| o.limits.max_header_line = line.len() - 1);
    refused(&msg, &under, ErrorKind::HeaderTooLong, 513);
}

#[test]
fn max_uri_len() {
    let uri = format!("sip:{}@biloxi.example.com", "u".repeat(200));
    let msg = request_with(&uri, "", b"", true);
    let at = options(|o| o.limits.max_uri_len = uri.len());
    assert_eq!(accepted(&msg, &at).request_uri_str(), Some(uri.as_str()));
    let under = options(|o| o.limits.max_uri_len = uri.len() - 1);
    refused(&msg, &under, ErrorKind::UriTooLong, 414);
}

#[test]
fn max_vias() {
    // Vias count per value, whether on separate lines or comma-separated on one.
    let via = |i: usize| format!("SIP/2.0/UDP proxy{i}.example.com;branch=z9hG4bK{i}");
    let one_line = (0..4).map(via).collect::<Vec<_>>().join(", ");
    let extra = format!("Via: {one_line}\r\nv: {}\r\nVia: {}\r\n", via(4), via(5));
    let msg = request(&extra, b"");
    let vias = BASE_VIAS + 6;
    assert_eq!(accepted(&msg, &options(|o| o.limits.max_vias = vias)).via().count(), vias);
    refused(&msg, &options(|o| o.limits.max_vias = vias - 1), ErrorKind::TooManyVias, 513);
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let l = ParseOptions::DEFAULT.limits;
    assert_eq!(
        (l.max_message_size, l.max_body_size, l.max_headers),
        (65_535, 65_535, 128),
        "a 64 KiB message, 64 KiB body, 128 headers"
    );
    assert_eq!(
        (l.max_header_line, l.max_uri_len, l.max_vias),
        (8 * 1024, 4 * 1024, 64),
        "8 KiB header lines, 4 KiB Request-URI, 64 Via values"
    );
}

/// Raised message and body limits, so that only the limit under test can refuse.
fn roomy() -> ParseOptions {
    options(|o| {
        o.limits.max_message_size = 8 << 20;
        o.limits.max_body_size = 8 << 20;
    })
}

#[test]
fn a_100k_folded_header_is_refused_as_too_long() {
    let folds = " fold\r\n".repeat(100_000 / 7);
    let msg = request(&format!("X-Fold: start\r\n{}", folds), b"");
    assert!(msg.len() > 100_000);
    refused(&msg, &roomy(), ErrorKind::HeaderTooLong, 513);
}

#[test]
fn a_100k_header_line_is_refused_as_too_long() {
    let msg = request(&format!("Subject: {}\r\n", "s".repeat(100_000)), b"");
    refused(&msg, &roomy(), ErrorKind::HeaderTooLong, 513);
}

#[test]
fn a_hundred_thousand_header_lines_are_refused_as_too_many() {
    let msg = request(&"a: b\r\n".repeat(100_000), b"");
    refused(&msg, &roomy(), ErrorKind::TooManyHeaders, 513);
}

#[test]
fn ten_thousand_via_values_are_refused_as_too_many() {
    let via = "SIP/2.0/UDP p.example.com;branch=z9hG4bK1";
    let line = format!("Via: {}\r\n", [via; 100].join(","));
    let msg = request(&line.repeat(100), b"");
    refused(&msg, &roomy(), ErrorKind::TooManyVias, 513);
}

#[test]
fn a_100k_request_uri_is_refused_as_too_long() {
    let uri = format!("sip:{}@biloxi.example.com", "u".repeat(100_000));
    refused(&request_with(&uri, "", b"", true), &roomy(), ErrorKind::UriTooLong, 414);
}

#[test]
fn the_header_section_counts_towards_the_message_size() {
    // A body exactly at the default body limit: only the whole message is too large.
    let msg = request("", &vec![b'x'; 65_535]);
    refused(&msg, &ParseOptions::DEFAULT, ErrorKind::MessageTooLarge, 513);
}

/// RFC 3261 §7.5 lets CRLFs precede a start line. A response is never answered (RFC 3261
/// §18.1.2), however it starts, so its errors carry no status hint.
#[test]
fn an_oversized_response_after_leading_crlfs_is_refused_without_an_answer() {
    let resp = b"\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    // The leading CRLF is not part of the message: the limit must bite below the rest.
    let o = options(|o| o.limits.max_message_size = resp.len() - 3);
    let e = Message::parse_with(&resp[..], &o).expect_err("too large");
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert_eq!(e.status_hint(), None, "{e:?}: a response is never answered");
}

/// `ParseOptions::validate`: with `false`, the headers are not decoded during the parse and
/// `Message::validate_with` then runs the same checks, the configured Via limit included
/// (`Message::validate` uses the default limits).
#[test]
fn deferred_validation_applies_the_configured_via_limit() {
    let extra = "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, \
                 SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n";
    let msg = request(extra, b"");
    let strict = options(|o| o.limits.max_vias = 2);
    let e = Message::parse_with(&msg[..], &strict).expect_err("three Vias over a limit of two");
    assert_eq!(e.kind(), ErrorKind::TooManyVias);
    let lenient = options(|o| {
        o.limits.max_vias = 2;
        o.validate = false;
    });
    let parsed = Message::parse_with(&msg[..], &lenient).expect("headers not decoded yet");
    let e = parsed.validate_with(&lenient.limits).expect_err("the same checks, the same limit");
    assert_eq!((e.kind(), e.status_hint()), (ErrorKind::TooManyVias, Some(513)));
    assert!(parsed.validate().is_ok(), "three Vias are within the default limit");
}

/// Found by the `parse_datagram` fuzz target: a Content-Length that pushes a short datagram
/// over the size limit must be reported at a byte of the input, not at the limit.
#[test]
fn a_too_large_announced_body_is_reported_inside_the_input() {
    let wire = include_bytes!("fixtures/conformance/rfc4475/invalid/clerr.sip");
    let small = options(|o| o.limits.max_message_size = 1024);
    let e = Message::parse_with(&wire[..], &small).expect_err("Content-Length 9999 > 1024");
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert!(e.offset() <= wire.len(), "{e:?} points past {} bytes", wire.len());
    assert_eq!(e.status_hint(), Some(513));
}
