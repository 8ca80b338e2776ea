//! Building and serializing requests and responses.
//!
//! Builders write straight into bytes: there is no intermediate tree. `write_to` serializes
//! into any [`BufMut`] (a `Vec<u8>` included); `build` serializes and parses the result, so a
//! built [`Message`] is exactly what a peer would parse from the wire.

use bytes::{BufMut, Bytes};

use super::error::ParseError;
use super::header_name::HeaderName;
use super::method::Method;
use super::scan::TOKEN;
use super::uri::parse_uri;
use super::{HeaderField, Message, ParseOptions};

/// Why a message could not be built. These are caller mistakes, reported instead of
/// putting a malformed message on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A header name is not a token.
    #[error("header name is not a token")]
    HeaderName,
    /// A header value holds CR or LF (which would inject headers) or is otherwise unusable.
    #[error("header value holds CR or LF")]
    HeaderValue,
    /// The status code is outside 100–699.
    #[error("status code outside 100-699")]
    StatusCode,
    /// The reason phrase holds a control character.
    #[error("reason phrase holds a control character")]
    ReasonPhrase,
    /// The Request-URI does not parse.
    #[error("malformed Request-URI")]
    Uri,
    /// A CSeq number above 2^31−1 (RFC 3261 §8.1.1.5).
    #[error("CSeq number above 2^31-1")]
    CSeqRange,
    /// Content-Length is computed by the builder and cannot be set by hand.
    #[error("Content-Length is computed by the builder")]
    ContentLength,
    /// The serialized message does not parse (a header value broke its grammar).
    #[error("built message does not parse: {0}")]
    Invalid(ParseError),
}

/// Returns the RFC 3261 reason phrase for a status code ("Unknown" for unlisted codes).
#[must_use]
pub const fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        555 => "Push Notification Service Not Supported",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => "Unknown",
    }
}

/// Writes a decimal number without going through `fmt`.
pub(crate) fn put_u32<B: BufMut + ?Sized>(out: &mut B, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

fn check_value(v: &[u8]) -> Result<(), BuildError> {
    if v.iter().any(|&b| b == b'\r' || b == b'\n') { Err(BuildError::HeaderValue) } else { Ok(()) }
}

fn check_name(n: &[u8]) -> Result<(), BuildError> {
    if n.is_empty() || !n.iter().all(|&b| TOKEN[b as usize]) {
        Err(BuildError::HeaderName)
    } else {
        Ok(())
    }
}

/// Header lines added to a builder, already serialized, plus the body.
#[derive(Debug, Clone, Default)]
struct Extra {
    lines: Vec<u8>,
    body: Option<Bytes>,
    error: Option<BuildError>,
}

impl Extra {
    /// Adds a header named by a string: the name is checked and looked up.
    fn header(&mut self, name: &[u8], value: &[u8]) {
        if self.error.is_none()
            && let Err(e) = check_name(name)
        {
            self.error = Some(e);
        }
        self.push(HeaderName::from_bytes(name), name, value);
    }

    /// Adds a header named by the enum: nothing to look up.
    fn known(&mut self, name: HeaderName, value: &[u8]) {
        if name == HeaderName::Other {
            self.error.get_or_insert(BuildError::HeaderName);
        }
        self.push(name, name_of(name), value);
    }

    fn push(&mut self, known: HeaderName, name: &[u8], value: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = check_value(value) {
            self.error = Some(e);
            return;
        }
        if known == HeaderName::ContentLength {
            self.error = Some(BuildError::ContentLength);
            return;
        }
        if self.lines.capacity() == 0 {
            // One allocation for the typical handful of added headers.
            self.lines.reserve(256);
        }
        self.lines.extend_from_slice(name);
        self.lines.extend_from_slice(b": ");
        self.lines.extend_from_slice(value);
        self.lines.extend_from_slice(b"\r\n");
    }

    fn body(&mut self, content_type: &str, body: Bytes) {
        if !content_type.is_empty() {
            self.known(HeaderName::ContentType, content_type.as_bytes());
        }
        self.body = Some(body);
    }

    /// Returns how many bytes [`Extra::finish`] writes.
    fn encoded_len(&self) -> usize {
        let body = self.body.as_ref().map_or(0, Bytes::len);
        self.lines.len() + b"Content-Length: ".len() + digits(body) + 4 + body
    }

    /// Writes the added headers, Content-Length, the empty line and the body.
    fn finish<B: BufMut + ?Sized>(&self, out: &mut B) {
        out.put_slice(&self.lines);
        out.put_slice(b"Content-Length: ");
        let body: &[u8] = self.body.as_ref().map_or(&[], |b| b);
        put_u32(out, u32::try_from(body.len()).unwrap_or(u32::MAX));
        out.put_slice(b"\r\n\r\n");
        out.put_slice(body);
    }
}

/// The canonical spelling of a known header; `HeaderName::Other` has none, so it is
/// refused (use `header_named` for extension headers).
fn name_of(name: HeaderName) -> &'static [u8] {
    name.as_str().unwrap_or_default().as_bytes()
}

/// Returns the number of decimal digits of `n`.
const fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

fn parse_built(buf: Vec<u8>) -> Result<Message, BuildError> {
    Message::parse_with(buf, &ParseOptions::DEFAULT).map_err(BuildError::Invalid)
}

/// The methods both builders share: they add to the builder's `extra` part.
macro_rules! extra_methods {
    () => {
        /// Adds a header line. [`HeaderName::Other`] has no spelling and is refused: use
        /// `header_named` for extension headers.
        pub fn header(mut self, name: HeaderName, value: impl AsRef<[u8]>) -> Self {
            self.extra.known(name, value.as_ref());
            self
        }

        /// Adds a header line with any name (e.g. `X-Custom`).
        pub fn header_named(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
            self.extra.header(name.as_bytes(), value.as_ref());
            self
        }

        /// Sets the body and its Content-Type (an empty type adds no Content-Type).
        pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
            self.extra.body(content_type, body.into());
            self
        }
    };
}

/// Builds a request: start line, headers in the order added, Content-Length computed.
///
/// ```
/// use sipwire::{HeaderName, Method, RequestBuilder};
/// let msg = RequestBuilder::new(&Method::Options, "sip:bob@example.com")
///     .header(HeaderName::Via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK77")
///     .header(HeaderName::From, "<sip:alice@example.com>;tag=9")
///     .header(HeaderName::To, "<sip:bob@example.com>")
///     .header(HeaderName::CallId, "c1@192.0.2.1")
///     .cseq(1, &Method::Options)
///     .max_forwards(70)
///     .build()?;
/// assert_eq!(msg.method(), Some(&Method::Options));
/// assert_eq!(msg.content_length(), Some(0));
/// # Ok::<(), sipwire::BuildError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestBuilder {
    method: Method,
    start: Vec<u8>,
    extra: Extra,
}

impl RequestBuilder {
    extra_methods!();

    /// Starts a request for `method` to `uri` (checked when the request is built).
    pub fn new(method: &Method, uri: &str) -> Self {
        let mut start = Vec::with_capacity(256);
        start.extend_from_slice(method.as_str().as_bytes());
        start.push(b' ');
        start.extend_from_slice(uri.as_bytes());
        start.extend_from_slice(b" SIP/2.0\r\n");
        let mut extra = Extra::default();
        // A Request-URI carries no header components (RFC 3261 §19.1.1, table 1).
        match parse_uri(uri) {
            Ok(super::uri::Uri::Sip(u)) if u.headers.is_empty() => {}
            Ok(super::uri::Uri::Sip(_)) | Err(_) => extra.error = Some(BuildError::Uri),
            Ok(_) => {}
        }
        Self { method: method.clone(), start, extra }
    }

    /// Returns the request's method.
    #[must_use]
    pub const fn method(&self) -> &Method {
        &self.method
    }

    /// Serializes the request with `line` (a whole header line, CRLF included) as its first
    /// header: how the transaction layer puts its Via on top.
    pub(crate) fn write_with_first_line(
        &self,
        line: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), BuildError> {
        if let Some(e) = self.extra.error {
            return Err(e);
        }
        out.reserve(self.start.len() + line.len() + self.extra.encoded_len());
        out.extend_from_slice(&self.start);
        out.extend_from_slice(line);
        self.extra.finish(out);
        Ok(())
    }

    /// Adds CSeq; the number must be below 2^31 (RFC 3261 §8.1.1.5).
    pub fn cseq(mut self, seq: u32, method: &Method) -> Self {
        if seq > 0x7fff_ffff {
            self.extra.error.get_or_insert(BuildError::CSeqRange);
            return self;
        }
        let mut v = Vec::with_capacity(24);
        put_u32(&mut v, seq);
        v.push(b' ');
        v.extend_from_slice(method.as_str().as_bytes());
        self.extra.header(b"CSeq", &v);
        self
    }

    /// Adds Max-Forwards.
    pub fn max_forwards(mut self, hops: u8) -> Self {
        let mut v = Vec::with_capacity(3);
        put_u32(&mut v, u32::from(hops));
        self.extra.header(b"Max-Forwards", &v);
        self
    }

    /// Serializes the request into `out`.
    ///
    /// # Errors
    /// The first caller mistake recorded while building.
    pub fn write_to<B: BufMut + ?Sized>(&self, out: &mut B) -> Result<(), BuildError> {
        if let Some(e) = self.extra.error {
            return Err(e);
        }
        out.put_slice(&self.start);
        self.extra.finish(out);
        Ok(())
    }

    /// Serializes the request and parses it back into a [`Message`].
    ///
    /// # Errors
    /// A caller mistake, or [`BuildError::Invalid`] if a header value broke its grammar.
    pub fn build(self) -> Result<Message, BuildError> {
        let mut out = Vec::with_capacity(self.start.len() + self.extra.lines.len() + 64);
        self.write_to(&mut out)?;
        parse_built(out)
    }
}

/// Builds a response to a request: Via, From, To, Call-ID and CSeq are copied from it
/// (RFC 3261 §8.2.6.2), a To tag added if asked for and none is there.
///
/// ```
/// # let invite = sipwire::Message::parse(&include_bytes!("../../tests/fixtures/bench/invite-461.sip")[..])?;
/// let mut wire = Vec::new();
/// invite.reply(180).to_tag("as8f7d").write_to(&mut wire).unwrap();
/// let ringing = sipwire::Message::parse(&wire[..])?;
/// assert_eq!(ringing.to_header()?.tag(), Some("as8f7d"));
/// assert_eq!(ringing.call_id()?, invite.call_id()?);
/// # Ok::<(), sipwire::ParseError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ResponseBuilder<'r> {
    request: &'r Message,
    code: u16,
    reason: Option<&'r str>,
    to_tag: Option<&'r str>,
    extra: Extra,
}

/// The spelling of a header a response copies from its request (§8.2.6.2), or `None` for
/// the headers it does not copy.
const fn copied(name: HeaderName) -> Option<&'static [u8]> {
    match name {
        HeaderName::Via => Some(b"Via"),
        HeaderName::From => Some(b"From"),
        HeaderName::To => Some(b"To"),
        HeaderName::CallId => Some(b"Call-ID"),
        HeaderName::CSeq => Some(b"CSeq"),
        _ => None,
    }
}

impl<'r> ResponseBuilder<'r> {
    extra_methods!();

    /// Starts a response with status `code` to `request`.
    pub fn new(request: &'r Message, code: u16) -> Self {
        let mut extra = Extra::default();
        if !(100..=699).contains(&code) {
            extra.error = Some(BuildError::StatusCode);
        }
        Self { request, code, reason: None, to_tag: None, extra }
    }

    /// Sets the reason phrase (default: the RFC's phrase for the code).
    pub fn reason(mut self, reason: &'r str) -> Self {
        // Reason-Phrase is TEXT-UTF8 (RFC 3261 §25): no control characters but HT.
        if reason.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
            self.extra.error.get_or_insert(BuildError::ReasonPhrase);
        }
        self.reason = Some(reason);
        self
    }

    /// Adds `tag` to To unless the request's To already carries one.
    pub fn to_tag(mut self, tag: &'r str) -> Self {
        if tag.is_empty() || !tag.bytes().all(|b| TOKEN[b as usize]) {
            self.extra.error.get_or_insert(BuildError::HeaderValue);
        }
        // Only a To with parameters can carry a tag already: read it only then.
        let to = self.request.header(HeaderName::To).unwrap_or_default();
        let has_tag = to.contains(&b';') && self.request.to_tag().is_ok_and(|t| t.is_some());
        self.to_tag = (!has_tag).then_some(tag);
        self
    }

    /// Serializes the response into `out`.
    ///
    /// # Errors
    /// The first caller mistake recorded while building.
    pub fn write_to<B: BufMut + ?Sized>(&self, out: &mut B) -> Result<(), BuildError> {
        if let Some(e) = self.extra.error {
            return Err(e);
        }
        out.put_slice(b"SIP/2.0 ");
        put_u32(out, u32::from(self.code));
        out.put_u8(b' ');
        out.put_slice(self.reason.unwrap_or(reason_phrase(self.code)).as_bytes());
        out.put_slice(b"\r\n");
        for field in self.request.headers() {
            let Some(name) = copied(field.name()) else { continue };
            out.put_slice(name);
            out.put_slice(b": ");
            out.put_slice(field.value());
            if let Some(tag) = self.tag_for(&field) {
                out.put_slice(b";tag=");
                out.put_slice(tag.as_bytes());
            }
            out.put_slice(b"\r\n");
        }
        self.extra.finish(out);
        Ok(())
    }

    /// Returns the status code.
    #[must_use]
    pub const fn code(&self) -> u16 {
        self.code
    }

    /// Returns the exact number of bytes [`ResponseBuilder::write_to`] writes, so a buffer
    /// can be allocated once at its final size.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let reason = self.reason.unwrap_or(reason_phrase(self.code)).len();
        let mut n = b"SIP/2.0 ".len() + digits(usize::from(self.code)) + 1 + reason + 2;
        for field in self.request.headers() {
            if let Some(name) = copied(field.name()) {
                n += name.len() + 2 + field.value().len() + 2;
                if let Some(tag) = self.tag_for(&field) {
                    n += b";tag=".len() + tag.len();
                }
            }
        }
        n + self.extra.encoded_len()
    }

    /// The tag to append to this copied header: only to To, and only when asked and the
    /// request's To has none (decided by [`ResponseBuilder::to_tag`]).
    fn tag_for(&self, field: &HeaderField<'_>) -> Option<&'r str> {
        self.to_tag.filter(|_| field.name() == HeaderName::To)
    }

    /// Serializes the response and parses it back into a [`Message`].
    ///
    /// # Errors
    /// A caller mistake, or [`BuildError::Invalid`] if a header value broke its grammar.
    pub fn build(self) -> Result<Message, BuildError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out)?;
        parse_built(out)
    }
}

impl Message {
    /// Starts a response to this request (see [`ResponseBuilder`]).
    pub fn reply(&self, code: u16) -> ResponseBuilder<'_> {
        ResponseBuilder::new(self, code)
    }
}
