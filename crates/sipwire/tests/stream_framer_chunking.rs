//! How bytes are cut into reads does not change what the stream framer sees: fed a stream
//! whole, one byte at a time or in random chunks, it yields the same frames and the same
//! error (h11's rule). Plus the framing rules themselves: Content-Length is required,
//! partial input is not an error, keep-alives per role (RFC 5626 §4.4.1), and buffering is
//! bounded by `Limits::max_message_size`.

use proptest::prelude::*;
use sipwire::{
    ErrorKind, Frame, HeaderName, KeepAliveRole, Message, Method, ParseError, ParseOptions,
    RequestBuilder, StreamFramer,
};

#[derive(Debug, Clone)]
enum Item {
    /// A valid message with a Content-Length.
    Message(Vec<u8>),
    /// `CRLF CRLF`.
    KeepAlive,
    /// Anything at all.
    Junk(Vec<u8>),
}

impl Item {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Message(m) => m,
            Self::KeepAlive => b"\r\n\r\n",
            Self::Junk(j) => j,
        }
    }
}

fn request(method: &Method, user: &str, body: &[u8]) -> Message {
    RequestBuilder::new(method, &format!("sip:{user}@biloxi.example.com"))
        .header(HeaderName::Via, format!("SIP/2.0/TCP pc33.example.com;branch=z9hG4bK{user}"))
        .header(HeaderName::From, "<sip:alice@atlanta.example.com>;tag=1928")
        .header(HeaderName::To, format!("<sip:{user}@biloxi.example.com>"))
        .header(HeaderName::CallId, format!("{user}@pc33.example.com"))
        .cseq(1, method)
        .max_forwards(70)
        .body("application/octet-stream", body.to_vec())
        .build()
        .expect("a generated request builds")
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(Method::KNOWN.to_vec()),
        "[a-z][a-z0-9]{0,8}",
        prop::collection::vec(any::<u8>(), 0..200),
        prop::option::of((100..=699u16, prop::collection::vec(any::<u8>(), 0..100))),
    )
        .prop_map(|(method, user, body, response)| {
            let req = request(&method, &user, &body);
            match response {
                None => req.as_bytes().to_vec(),
                Some((code, body)) => {
                    let mut out = Vec::new();
                    req.reply(code)
                        .to_tag("a6c85cf")
                        .body("text/plain", body)
                        .write_to(&mut out)
                        .expect("a reply builds");
                    out
                }
            }
        })
}

fn junk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..40),
        prop::collection::vec(prop::sample::select(&b"\r\n :SIP/2.0 INVITE"[..]), 1..20),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"INVITE sip:a@b.example SIP/2.0\r\nVia: x\r\n\r\n".to_vec()),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        5 => message().prop_map(Item::Message),
        2 => Just(Item::KeepAlive),
        1 => junk().prop_map(Item::Junk),
    ]
}

fn role() -> impl Strategy<Value = KeepAliveRole> {
    prop_oneof![Just(KeepAliveRole::Server), Just(KeepAliveRole::Client)]
}

/// Feeds `chunks` in order, draining `next_frame` after each until it needs more input or
/// fails. Stops at the first error, after checking that it sticks.
fn run<'a>(
    options: ParseOptions,
    role: KeepAliveRole,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<Result<Frame, ParseError>> {
    let mut framer = StreamFramer::new(options, role);
    let mut out = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        loop {
            match framer.next_frame() {
                Ok(Some(frame)) => out.push(Ok(frame)),
                Ok(None) => break,
                Err(e) => {
                    framer.push(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
                    assert_eq!(framer.next_frame(), Err(e), "an error is final");
                    assert_eq!(framer.next_frame(), Err(e), "an error is final");
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

/// Cuts `stream` at the sizes in `sizes`, cycling through them.
fn chunked<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
        i += 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn chunking_never_changes_the_frames(
        items in prop::collection::vec(item(), 1..=5),
        role in role(),
        sizes in prop::collection::vec(1..64usize, 1..16),
        max_message_size in prop_oneof![Just(65_535usize), 64..600usize],
    ) {
        // Small limits put the MessageTooLarge paths, which fire at different moments for
        // different chunkings, under the same test.
        let mut options = ParseOptions::DEFAULT;
        options.limits.max_message_size = max_message_size;
        let stream: Vec<u8> = items.iter().flat_map(|i| i.bytes().iter().copied()).collect();
        let whole = run(options, role, [&stream[..]]);
        let bytewise = run(options, role, stream.chunks(1));
        let random = run(options, role, chunked(&stream, &sizes));
        prop_assert_eq!(&bytewise, &whole, "one byte at a time vs whole");
        prop_assert_eq!(&random, &whole, "chunks of {:?} vs whole", sizes);
    }

    #[test]
    fn well_formed_streams_frame_into_their_items(
        items in prop::collection::vec(
            prop_oneof![3 => message().prop_map(Item::Message), 1 => Just(Item::KeepAlive)],
            1..=5,
        ),
        role in role(),
        sizes in prop::collection::vec(1..64usize, 1..16),
    ) {
        let stream: Vec<u8> = items.iter().flat_map(|i| i.bytes().iter().copied()).collect();
        let want: Vec<Result<Frame, ParseError>> = items
            .iter()
            .flat_map(|i| match (i, role) {
                (Item::Message(m), _) => {
                    vec![Ok(Frame::Message(Message::parse(&m[..]).expect("valid")))]
                }
                (_, KeepAliveRole::Server) => vec![Ok(Frame::Ping)],
                _ => vec![Ok(Frame::Pong), Ok(Frame::Pong)],
            })
            .collect();
        prop_assert_eq!(run(ParseOptions::DEFAULT, role, chunked(&stream, &sizes)), want);
    }
}

fn framer() -> StreamFramer {
    StreamFramer::new(ParseOptions::DEFAULT, KeepAliveRole::Server)
}

fn invite(body: &[u8]) -> Vec<u8> {
    request(&Method::Invite, "bob", body).as_bytes().to_vec()
}

#[test]
fn missing_content_length_is_a_400_error() {
    let mut f = framer();
    f.push(
        b"OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n\
          Via: SIP/2.0/TCP pc33.example.com;branch=z9hG4bK1\r\n\
          From: <sip:alice@atlanta.example.com>;tag=1\r\nTo: <sip:bob@biloxi.example.com>\r\n\
          Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\r\n",
    );
    let e = f.next_frame().expect_err("RFC 3261 §18.3: Content-Length is required on streams");
    assert_eq!(e.kind(), ErrorKind::MissingContentLength);
    assert_eq!(e.status_hint(), Some(400));
}

#[test]
fn every_strict_prefix_of_a_message_is_partial_not_an_error() {
    let msg = invite(b"v=0\r\n");
    for end in 0..msg.len() {
        let mut f = framer();
        f.push(&msg[..end]);
        assert_eq!(f.next_frame(), Ok(None), "prefix of {end} bytes");
    }
    let mut f = framer();
    f.push(&msg);
    assert!(matches!(f.next_frame(), Ok(Some(Frame::Message(_)))));
    assert_eq!(f.next_frame(), Ok(None));
}

#[test]
fn server_answers_double_crlf_with_ping_and_skips_a_lone_crlf() {
    let mut f = framer();
    f.push(b"\r\n\r\n");
    assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
    assert_eq!(f.next_frame(), Ok(None));
    f.push(b"\r\n");
    assert_eq!(f.next_frame(), Ok(None), "a lone CRLF may still become a ping");
    let msg = invite(b"");
    f.push(&msg);
    assert_eq!(
        f.next_frame(),
        Ok(Some(Frame::Message(Message::parse(&msg[..]).unwrap()))),
        "a lone CRLF before a start line is skipped (RFC 3261 §7.5)"
    );
    assert_eq!(f.next_frame(), Ok(None));
}

#[test]
fn client_sees_each_crlf_as_a_pong() {
    let mut f = StreamFramer::new(ParseOptions::DEFAULT, KeepAliveRole::Client);
    f.push(b"\r\n");
    assert_eq!(f.next_frame(), Ok(Some(Frame::Pong)));
    assert_eq!(f.next_frame(), Ok(None));
    f.push(b"\r\n\r\n");
    assert_eq!(f.next_frame(), Ok(Some(Frame::Pong)));
    assert_eq!(f.next_frame(), Ok(Some(Frame::Pong)));
    assert_eq!(f.next_frame(), Ok(None));
}

fn small_limits() -> ParseOptions {
    let mut o = ParseOptions::DEFAULT;
    o.limits.max_message_size = 512;
    o
}

/// A request whose header section alone is far over 512 bytes.
fn oversized_request() -> Vec<u8> {
    let mut b = RequestBuilder::new(&Method::Options, "sip:bob@biloxi.example.com")
        .header(HeaderName::Via, "SIP/2.0/TCP pc33.example.com;branch=z9hG4bK1")
        .header(HeaderName::From, "<sip:alice@atlanta.example.com>;tag=1")
        .header(HeaderName::To, "<sip:bob@biloxi.example.com>")
        .header(HeaderName::CallId, "c1")
        .cseq(1, &Method::Options);
    for i in 0..40 {
        b = b.header_named(&format!("X-Padding-{i}"), "0123456789012345678901234567890123456789");
    }
    let mut out = Vec::new();
    b.write_to(&mut out).expect("builds");
    assert!(out.len() > 2048);
    out
}

#[test]
fn an_oversized_message_fails_before_it_is_all_buffered() {
    let msg = oversized_request();
    let mut f = StreamFramer::new(small_limits(), KeepAliveRole::Server);
    let mut failed_at = None;
    for (i, b) in msg.iter().enumerate() {
        f.push(std::slice::from_ref(b));
        assert!(f.buffered() <= 513, "{} bytes buffered under a 512-byte limit", f.buffered());
        match f.next_frame() {
            Ok(None) => {}
            Ok(Some(frame)) => panic!("framed {frame:?} from an oversized message"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
                failed_at = Some(i);
                break;
            }
        }
    }
    let at = failed_at.expect("the oversized message is refused");
    assert!(at <= 512, "refused only after {} bytes", at + 1);
    f.push(&msg[at + 1..]);
    assert_eq!(f.buffered(), 0, "nothing is buffered after the error");
}

/// `Limits`: "Exceeding one is a ParseError with a status hint (513, 413 or 414)". On a
/// stream, the request line of an oversized request has arrived, so the UAS can answer 513
/// before it closes the connection.
#[test]
fn an_oversized_request_on_a_stream_has_status_hint_513() {
    let msg = oversized_request();
    for chunks in [msg.chunks(msg.len()), msg.chunks(1)] {
        let mut f = StreamFramer::new(small_limits(), KeepAliveRole::Server);
        let mut err = None;
        for c in chunks {
            f.push(c);
            if let Err(e) = f.next_frame() {
                err = Some(e);
                break;
            }
        }
        let e = err.expect("the oversized message is refused");
        assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
        assert_eq!(e.status_hint(), Some(513), "{e:?}");
    }
}

#[test]
fn a_body_larger_than_the_limit_fails_as_soon_as_the_header_section_is_in() {
    let msg = invite(&[b'x'; 2000]);
    let head_end = msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut f = StreamFramer::new(small_limits(), KeepAliveRole::Server);
    f.push(&msg[..head_end]);
    let e = f.next_frame().expect_err("Content-Length announces a message over the limit");
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert_eq!(e.status_hint(), Some(513));
}

#[test]
fn a_body_split_across_pushes_is_framed_whole() {
    let body: Vec<u8> = (0..=255u8).cycle().take(700).collect();
    let msg = invite(&body);
    let head_end = msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut f = framer();
    f.push(&msg[..head_end + 10]);
    assert_eq!(f.next_frame(), Ok(None));
    f.push(&msg[head_end + 10..head_end + 300]);
    assert_eq!(f.next_frame(), Ok(None));
    let mut rest = msg[head_end + 300..].to_vec();
    rest.extend_from_slice(b"\r\n\r\n");
    f.push(&rest);
    match f.next_frame() {
        Ok(Some(Frame::Message(m))) => {
            assert_eq!(m.body(), &body[..]);
            assert_eq!(m.as_bytes(), &msg[..]);
        }
        other => panic!("expected the message, got {other:?}"),
    }
    assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)), "bytes after the body are the next frame");
    assert_eq!(f.next_frame(), Ok(None));
}

#[test]
fn after_an_error_every_call_returns_the_same_error() {
    let mut f = framer();
    f.push(b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: x\r\nContent-Length: 0\r\n\r\n");
    let e = f.next_frame().expect_err("a malformed Via");
    f.push(&invite(b""));
    for _ in 0..3 {
        assert_eq!(f.next_frame(), Err(e));
    }
}
