//! SIP messages: parse once into an index over the received bytes, decode headers on demand,
//! build and serialize.
//!
//! A [`Message`] owns a shared buffer ([`Bytes`]) plus a small index of spans: the start line
//! and one entry per header line. Cloning one copies the index and bumps a reference count;
//! no header is ever copied into a `String`. Typed accessors ([`Message::via`],
//! [`Message::from_header`], [`Message::cseq`] …) decode from the buffer when called and
//! return views that borrow from it.

mod builder;
mod error;
mod header_name;
mod headers;
mod limits;
mod method;
mod parse;
mod scan;
mod stream;
mod uri;

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

pub use builder::{BuildError, RequestBuilder, ResponseBuilder, reason_phrase};
pub use error::{ErrorKind, MessageKind, ParseError};
pub use header_name::HeaderName;
pub use headers::{
    Contact, DisplayName, MediaType, NameAddr, Param, ParamIter, Params, Seconds, TokenParams,
    Transport, Via,
};
pub use limits::Limits;
pub use method::{ExtensionMethod, Method};
pub use stream::{Frame, KeepAliveRole, StreamFramer};
pub use uri::{AbsoluteUri, Host, SipUri, TelUri, Uri, UriParams};

use parse::{Entry, INLINE_HEADERS, StartLine};
use scan::{Cursor, Res, Split, trim};

/// How [`Message::parse_with`] treats its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Size and count limits.
    pub limits: Limits,
    /// Decode the headers every layer relies on (Via, From, To, Call-ID, CSeq,
    /// Max-Forwards, Contact, Route, Record-Route) during the parse and fail on a malformed
    /// one. With `false`, only the framing, the start line and the header lines are checked,
    /// so that a caller can still read the headers of a faulty request to answer it with 400
    /// ([`Message::validate`] then runs the same checks).
    pub validate: bool,
}

impl ParseOptions {
    /// Default limits, headers validated.
    pub const DEFAULT: Self = Self { limits: Limits::DEFAULT, validate: true };
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Bytes a message can be parsed from.
///
/// Owned buffers (`Vec<u8>`, [`Bytes`], [`BytesMut`]) are taken without copying; borrowed
/// ones (`&[u8]`, `&Vec<u8>`, `&str` …) are copied once into a shared buffer.
pub trait IntoBuffer {
    /// Turns `self` into the shared buffer the message will own.
    fn into_buffer(self) -> Bytes;
}

impl<T: AsRef<[u8]> + ?Sized> IntoBuffer for &T {
    fn into_buffer(self) -> Bytes {
        Bytes::copy_from_slice(self.as_ref())
    }
}

impl IntoBuffer for Vec<u8> {
    fn into_buffer(self) -> Bytes {
        Bytes::from(self)
    }
}

impl IntoBuffer for Bytes {
    fn into_buffer(self) -> Bytes {
        self
    }
}

impl IntoBuffer for BytesMut {
    fn into_buffer(self) -> Bytes {
        self.freeze()
    }
}

/// A SIP request or response, parsed once into an index over its bytes.
#[derive(Clone)]
pub struct Message {
    buf: Bytes,
    start: StartLine,
    headers: SmallVec<[Entry; INLINE_HEADERS]>,
    body_start: u32,
    content_length: Option<u32>,
}

/// A CSeq value (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CSeq {
    /// The sequence number.
    pub seq: u32,
    /// The method.
    pub method: Method,
}

/// A RAck value (RFC 3262 §7.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RAck {
    /// The RSeq of the provisional response being acknowledged.
    pub rseq: u32,
    /// The CSeq number of the request it answered.
    pub cseq: u32,
    /// The CSeq method of the request it answered.
    pub method: Method,
}

/// One header line, as received.
#[derive(Debug, Clone, Copy)]
pub struct HeaderField<'m> {
    name: HeaderName,
    raw_name: &'m [u8],
    value: &'m [u8],
}

impl<'m> HeaderField<'m> {
    /// Returns the header name; compact forms are already mapped to long forms.
    #[must_use]
    pub const fn name(&self) -> HeaderName {
        self.name
    }

    /// Returns the name as written (e.g. `v` or `MaX-fOrWaRdS`).
    #[must_use]
    pub fn raw_name(&self) -> &'m str {
        scan::text(self.raw_name)
    }

    /// Returns the value as received, surrounding white space removed; folded lines keep
    /// their CRLF and leading white space.
    #[must_use]
    pub const fn value(&self) -> &'m [u8] {
        self.value
    }
}

/// Something that names a header: a [`HeaderName`] or a `&str` (case-insensitive; compact
/// forms match their long forms).
pub trait HeaderKey {
    /// Returns the name as a [`HeaderName`]: [`HeaderName::Other`] for an unknown name.
    fn header_name(&self) -> HeaderName;
    /// Returns the spelling compared (case-insensitively) when the name is unknown.
    fn spelling(&self) -> &[u8];
}

impl HeaderKey for HeaderName {
    fn header_name(&self) -> HeaderName {
        *self
    }
    fn spelling(&self) -> &[u8] {
        // `HeaderName::Other` on its own names no header.
        b""
    }
}

impl HeaderKey for &str {
    fn header_name(&self) -> HeaderName {
        HeaderName::from_bytes(self.as_bytes())
    }
    fn spelling(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// Resolves a key once, then matches header lines against it.
fn key_matcher<K: HeaderKey>(key: K) -> impl Fn(&HeaderField<'_>) -> bool {
    let name = key.header_name();
    move |f| {
        if name == HeaderName::Other {
            f.name == HeaderName::Other && f.raw_name.eq_ignore_ascii_case(key.spelling())
        } else {
            f.name == name
        }
    }
}

impl Message {
    /// Parses one complete message from a datagram with the default [`ParseOptions`].
    ///
    /// Content-Length frames the body and trailing bytes are ignored (RFC 3261 §18.3); with
    /// no Content-Length the body is the rest of the datagram.
    ///
    /// # Errors
    /// A [`ParseError`] saying what was wrong, where, and which status a UAS answers with.
    ///
    /// # Examples
    /// ```
    /// let buf = b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
    ///             From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n\
    ///             Call-ID: a@b\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    /// let msg = sipwire::Message::parse(&buf[..])?;
    /// assert_eq!(msg.cseq()?.seq, 1);
    /// assert_eq!(msg.top_via()?.branch(), Some("z9hG4bK1"));
    /// # Ok::<(), sipwire::ParseError>(())
    /// ```
    pub fn parse(bytes: impl IntoBuffer) -> Result<Self, ParseError> {
        Self::parse_with(bytes, &ParseOptions::DEFAULT)
    }

    /// Parses one complete message from a datagram with the given options.
    ///
    /// # Errors
    /// See [`Message::parse`].
    pub fn parse_with(bytes: impl IntoBuffer, options: &ParseOptions) -> Result<Self, ParseError> {
        let buf = bytes.into_buffer();
        // CRLFs before the start line are not part of the message (RFC 3261 §7.5): slice
        // them off (free on a shared buffer) and keep error offsets relative to the input.
        let skip = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        if skip > 0 {
            return Self::parse_trimmed(buf.slice(skip..), options).map_err(|e| e.shifted(skip));
        }
        Self::parse_trimmed(buf, options)
    }

    fn parse_trimmed(buf: Bytes, options: &ParseOptions) -> Result<Self, ParseError> {
        let limits = &options.limits;
        // Parsing the header section is bounded by the header count and line limits, so it
        // runs before the size checks; those then see the message's own size, not trailing
        // datagram octets.
        let Some(head) = parse::parse_head(&buf, options)? else {
            // No empty line closes the header section: still say whose fault it is.
            let kind = parse::guess_kind(&buf);
            if buf.len() > limits.max_message_size {
                return Err(ParseError::new(ErrorKind::MessageTooLarge, limits.max_message_size)
                    .in_message(kind));
            }
            return Err(ParseError::new(ErrorKind::Incomplete, buf.len()).in_message(kind));
        };
        let kind = head.start.kind();
        let available = buf.len() - head.body_start;
        let body_len = head.content_length.map_or(available, |n| n as usize);
        parse::check_sizes(head.body_start, body_len, limits).map_err(|e| e.in_message(kind))?;
        if body_len > available {
            return Err(ParseError::new(ErrorKind::BodyTruncated, buf.len()).in_message(kind));
        }
        Ok(Self::from_head(buf, head, body_len))
    }

    /// Binds a parsed (and, if asked, validated) header section to the buffer it came from.
    pub(crate) fn from_head(mut buf: Bytes, head: parse::Head, body_len: usize) -> Self {
        let end = head.body_start + body_len;
        if end < buf.len() {
            buf.truncate(end);
        }
        Self {
            start: head.start.bind(&buf),
            buf,
            headers: head.headers,
            body_start: head.body_start as u32,
            content_length: head.content_length,
        }
    }

    /// Checks the headers every layer relies on (see [`ParseOptions::validate`]), with the
    /// default [`Limits`].
    ///
    /// # Errors
    /// The first malformed value, with its offset and status hint.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.validate_with(&Limits::DEFAULT)
    }

    /// Checks the headers every layer relies on, with the given limits (the Via count).
    ///
    /// # Errors
    /// The first malformed value, with its offset and status hint.
    pub fn validate_with(&self, limits: &Limits) -> Result<(), ParseError> {
        let head = core::str::from_utf8(&self.buf[..self.body_start as usize])
            .map_err(|e| self.err(ErrorKind::NotUtf8, e.valid_up_to()))?;
        parse::validate_core(head, &self.headers, self.kind(), limits)
    }

    /// Checks what RFC 3261 §8.1.1 makes mandatory in a request: To, From, CSeq, Call-ID
    /// and Via present, each single-valued header exactly once, Max-Forwards at most once,
    /// and the CSeq method equal to the request method.
    ///
    /// The user-agent core runs this after method inspection (405/501, §8.2.1), so an
    /// unknown method is answered 501 before a CSeq mismatch is answered 400.
    ///
    /// # Errors
    /// The first missing, duplicated or mismatched header; every one has status hint 400.
    pub fn check_request(&self) -> Result<(), ParseError> {
        let kind = MessageKind::Request;
        for name in [
            HeaderName::To,
            HeaderName::From,
            HeaderName::CSeq,
            HeaderName::CallId,
            HeaderName::MaxForwards,
        ] {
            let mut lines = self.headers.iter().filter(|e| e.name == name);
            match (lines.next(), lines.next()) {
                (None, _) if name != HeaderName::MaxForwards => {
                    return Err(ParseError::new(
                        ErrorKind::MissingHeader(name),
                        self.body_start as usize,
                    )
                    .in_message(kind));
                }
                (Some(_), Some(second)) => {
                    return Err(ParseError::new(
                        ErrorKind::DuplicateHeader(name),
                        second.raw_name().start as usize,
                    )
                    .in_message(kind));
                }
                _ => {}
            }
        }
        if !self.headers.iter().any(|e| e.name == HeaderName::Via) {
            return Err(ParseError::new(
                ErrorKind::MissingHeader(HeaderName::Via),
                self.body_start as usize,
            )
            .in_message(kind));
        }
        if let Some(method) = self.method() {
            let cseq = self.cseq()?;
            if cseq.method != *method {
                let at = self
                    .headers
                    .iter()
                    .find(|e| e.name == HeaderName::CSeq)
                    .map_or(0, |e| e.value.start as usize);
                return Err(ParseError::new(ErrorKind::CSeqMethodMismatch, at).in_message(kind));
            }
        }
        Ok(())
    }

    fn kind(&self) -> MessageKind {
        match self.start {
            StartLine::Request { .. } => MessageKind::Request,
            StartLine::Response { .. } => MessageKind::Response,
        }
    }

    /// Returns whether this is a request.
    #[must_use]
    pub const fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Returns whether this is a response.
    #[must_use]
    pub const fn is_response(&self) -> bool {
        matches!(self.start, StartLine::Response { .. })
    }

    /// Returns the request method, or `None` for a response.
    #[must_use]
    pub const fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// Returns the Request-URI as written, or `None` for a response.
    #[must_use]
    pub fn request_uri_str(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(scan::text(uri.of(&self.buf))),
            StartLine::Response { .. } => None,
        }
    }

    /// Returns the Request-URI, decoded, or `None` for a response.
    #[must_use]
    pub fn request_uri(&self) -> Option<Uri<'_>> {
        match &self.start {
            // Checked by the parser, so decoding again cannot fail.
            StartLine::Request { uri, .. } => {
                core::str::from_utf8(uri.of(&self.buf)).ok().and_then(|u| uri::parse_uri(u).ok())
            }
            StartLine::Response { .. } => None,
        }
    }

    /// Returns the status code, or `None` for a request.
    #[must_use]
    pub const fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// Returns the reason phrase (possibly empty, UTF-8), or `None` for a request.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(scan::text(reason.of(&self.buf))),
            StartLine::Request { .. } => None,
        }
    }

    /// Iterates over the header lines in order.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = HeaderField<'_>> + '_ {
        self.headers.iter().map(|e| self.field(e))
    }

    fn field(&self, e: &Entry) -> HeaderField<'_> {
        HeaderField {
            name: e.name,
            raw_name: e.raw_name().of(&self.buf),
            value: e.value.of(&self.buf),
        }
    }

    /// Returns the number of header lines.
    #[must_use]
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// Iterates over the header lines with that name, each value as received.
    pub fn header_lines<'m, K: HeaderKey + 'm>(
        &'m self,
        name: K,
    ) -> impl Iterator<Item = &'m [u8]> + 'm {
        let matches = key_matcher(name);
        self.headers().filter(move |f| matches(f)).map(|f| f.value)
    }

    /// Returns the first value of a header, as received.
    #[must_use]
    pub fn header<K: HeaderKey>(&self, name: K) -> Option<&[u8]> {
        let matches = key_matcher(name);
        self.headers().find(|f| matches(f)).map(|f| f.value)
    }

    /// Iterates over the logical values of a header: repeated lines and, for list headers
    /// ([`HeaderName::is_list`]), comma-separated values, in order, each trimmed.
    pub fn header_values<'m, K: HeaderKey + 'm>(
        &'m self,
        name: K,
    ) -> impl Iterator<Item = &'m [u8]> + 'm {
        let matches = key_matcher(name);
        self.headers().filter(move |f| matches(f)).flat_map(|f| {
            let split = f.name.is_list();
            let mut whole = Some(f.value);
            let mut parts = Split::new(f.value);
            core::iter::from_fn(move || {
                if split { parts.next().map(|(p, _)| trim(p)) } else { whole.take() }
            })
        })
    }

    /// Returns the body.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.buf[self.body_start as usize..]
    }

    /// Returns the body as a shared buffer, without copying.
    #[must_use]
    pub fn body_bytes(&self) -> Bytes {
        self.buf.slice(self.body_start as usize..)
    }

    /// Returns the message as it is on the wire.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Returns the message's shared buffer, without copying.
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        self.buf.clone()
    }

    /// Writes the message, as it is on the wire, into `out`.
    pub fn write_to<B: BufMut + ?Sized>(&self, out: &mut B) {
        out.put_slice(&self.buf);
    }

    fn lines_of(&self, name: HeaderName) -> impl Iterator<Item = &Entry> + '_ {
        self.headers.iter().filter(move |e| e.name == name)
    }

    fn err(&self, kind: ErrorKind, at: usize) -> ParseError {
        ParseError::new(kind, at).in_message(self.kind())
    }

    /// Returns a header line's value as text (the parser checked it is UTF-8).
    fn text_of(&self, e: &Entry) -> Result<&str, ParseError> {
        core::str::from_utf8(e.value.of(&self.buf))
            .map_err(|err| self.err(ErrorKind::NotUtf8, e.value.start as usize + err.valid_up_to()))
    }

    /// Finds the one line of a header that may appear once: `Ok(None)` if absent.
    fn only(&self, name: HeaderName) -> Result<Option<&Entry>, ParseError> {
        let mut lines = self.lines_of(name);
        let Some(e) = lines.next() else { return Ok(None) };
        if let Some(dup) = lines.next() {
            return Err(self.err(ErrorKind::DuplicateHeader(name), dup.raw_name().start as usize));
        }
        Ok(Some(e))
    }

    /// Decodes a header that may appear once: `Ok(None)` if absent.
    fn single<'m, T>(
        &'m self,
        name: HeaderName,
        el: fn(&mut Cursor<'m>) -> Res<T>,
    ) -> Result<Option<T>, ParseError> {
        let Some(e) = self.only(name)? else { return Ok(None) };
        headers::whole(self.text_of(e)?, el)
            .map(Some)
            .map_err(|i| self.err(ErrorKind::HeaderValue(name), e.value.start as usize + i))
    }

    fn required<'m, T>(
        &'m self,
        name: HeaderName,
        el: fn(&mut Cursor<'m>) -> Res<T>,
    ) -> Result<T, ParseError> {
        self.single(name, el)?
            .ok_or_else(|| self.err(ErrorKind::MissingHeader(name), self.body_start as usize))
    }

    /// Decodes every value of a list header, line after line.
    fn list<'m, T>(&'m self, name: HeaderName, el: fn(&mut Cursor<'m>) -> Res<T>) -> List<'m, T> {
        List { msg: self, name, next_line: 0, el, line: None, base: 0 }
    }

    fn number(&self, name: HeaderName, max: u64) -> Result<Option<u64>, ParseError> {
        let Some(e) = self.only(name)? else { return Ok(None) };
        headers::bare_number(self.text_of(e)?, max).map(Some).map_err(|(i, over)| {
            let kind =
                if over { ErrorKind::OutOfRange(name) } else { ErrorKind::HeaderValue(name) };
            self.err(kind, e.value.start as usize + i)
        })
    }

    /// Decodes every Via value, top first.
    pub fn via(&self) -> List<'_, Via<'_>> {
        self.list(HeaderName::Via, headers::via)
    }

    /// Decodes the top Via.
    ///
    /// # Errors
    /// Missing or malformed Via.
    pub fn top_via(&self) -> Result<Via<'_>, ParseError> {
        self.via().next().unwrap_or_else(|| {
            Err(self.err(ErrorKind::MissingHeader(HeaderName::Via), self.body_start as usize))
        })
    }

    /// Returns a copy with `received` and `rport` set on the top Via (RFC 3261 §18.2.1,
    /// RFC 3581 §4), replacing any already there; `None` if the top Via is unreadable.
    pub(crate) fn with_top_via_params(
        &self,
        received: Option<std::net::IpAddr>,
        rport: Option<u16>,
    ) -> Option<Self> {
        use std::io::Write as _;
        let via = self.top_via().ok()?;
        let base = self.buf.as_ptr() as usize;
        let params = via.params.as_str();
        let params_at = params.as_ptr() as usize - base;
        // The new parameters first, then one buffer of the exact size; the index is moved
        // rather than rebuilt by a second parse.
        let mut new_params: Vec<u8> = Vec::with_capacity(params.len() + 48);
        // Copy each parameter as written (quoted values stay quoted) except the two we set.
        let starts: SmallVec<[usize; 8]> = via
            .params
            .iter()
            .map(|p| {
                let at = p.name.as_ptr() as usize - params.as_ptr() as usize;
                params.get(..at).and_then(|p| p.rfind(';')).unwrap_or(0)
            })
            .collect();
        for (i, (p, &from)) in via.params.iter().zip(&starts).enumerate() {
            if p.name.eq_ignore_ascii_case("received") || p.name.eq_ignore_ascii_case("rport") {
                continue;
            }
            let end = starts.get(i + 1).copied().unwrap_or(params.len());
            new_params.extend_from_slice(params.as_bytes().get(from..end).unwrap_or_default());
        }
        if let Some(ip) = received {
            let _ = write!(new_params, ";received={ip}");
        }
        if let Some(port) = rport {
            let _ = write!(new_params, ";rport={port}");
        }
        let tail = self.buf.get(params_at + params.len()..)?;
        let mut out = Vec::with_capacity(params_at + new_params.len() + tail.len());
        out.extend_from_slice(self.buf.get(..params_at)?);
        out.extend_from_slice(&new_params);
        out.extend_from_slice(tail);
        let (at, removed, added) = (
            u32::try_from(params_at).ok()?,
            u32::try_from(params.len()).ok()?,
            u32::try_from(new_params.len()).ok()?,
        );
        let buf = Bytes::from(out);
        let start = match &self.start {
            // The start line precedes every header: its spans do not move; an extension
            // method is re-bound to the new buffer.
            StartLine::Request { method: Method::Extension(_), uri } => {
                let name = self.buf.get(..self.buf.iter().position(|&b| b == b' ')?)?;
                let name = buf.get(..name.len())?;
                StartLine::Request { method: Method::from_shared(&buf, name), uri: *uri }
            }
            other => other.clone(),
        };
        let body_start = if self.body_start >= at + removed {
            self.body_start - removed + added
        } else {
            self.body_start
        };
        Some(Self {
            headers: self.headers.iter().map(|e| e.edited(at, removed, added)).collect(),
            start,
            buf,
            body_start,
            content_length: self.content_length,
        })
    }

    /// Decodes From.
    ///
    /// # Errors
    /// Missing, duplicated or malformed From.
    pub fn from_header(&self) -> Result<NameAddr<'_>, ParseError> {
        self.required(HeaderName::From, headers::name_addr)
    }

    /// Returns the From tag, reading only the parameters (the URI is not decoded).
    ///
    /// # Errors
    /// Missing, duplicated or malformed From.
    pub fn from_tag(&self) -> Result<Option<&str>, ParseError> {
        self.required(HeaderName::From, headers::tag_of)
    }

    /// Returns the To tag, reading only the parameters (the URI is not decoded).
    ///
    /// # Errors
    /// Missing, duplicated or malformed To.
    pub fn to_tag(&self) -> Result<Option<&str>, ParseError> {
        self.required(HeaderName::To, headers::tag_of)
    }

    /// Decodes To.
    ///
    /// # Errors
    /// Missing, duplicated or malformed To.
    pub fn to_header(&self) -> Result<NameAddr<'_>, ParseError> {
        self.required(HeaderName::To, headers::name_addr)
    }

    /// Returns Call-ID.
    ///
    /// # Errors
    /// Missing, duplicated or malformed Call-ID.
    pub fn call_id(&self) -> Result<&str, ParseError> {
        self.required(HeaderName::CallId, headers::call_id)
    }

    /// Decodes CSeq.
    ///
    /// # Errors
    /// Missing, duplicated or malformed CSeq, or a number above 2^32−1.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let name = HeaderName::CSeq;
        let e = self
            .only(name)?
            .ok_or_else(|| self.err(ErrorKind::MissingHeader(name), self.body_start as usize))?;
        let (seq, method) = headers::cseq(self.text_of(e)?).map_err(|(i, over)| {
            let kind =
                if over { ErrorKind::OutOfRange(name) } else { ErrorKind::HeaderValue(name) };
            self.err(kind, e.value.start as usize + i)
        })?;
        Ok(CSeq { seq, method: Method::from_shared(&self.buf, method.as_bytes()) })
    }

    /// Returns Max-Forwards (0–255), if present.
    ///
    /// # Errors
    /// Duplicated or malformed Max-Forwards.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        Ok(self.number(HeaderName::MaxForwards, 255)?.map(|n| n as u8))
    }

    /// Returns Content-Length, if present (checked while framing).
    #[must_use]
    pub const fn content_length(&self) -> Option<u32> {
        self.content_length
    }

    /// Decodes every Contact value.
    pub fn contacts(&self) -> List<'_, Contact<'_>> {
        self.list(HeaderName::Contact, headers::contact)
    }

    /// Decodes every Route value, in order.
    pub fn routes(&self) -> List<'_, NameAddr<'_>> {
        self.list(HeaderName::Route, headers::name_addr)
    }

    /// Decodes every Record-Route value, in order.
    pub fn record_routes(&self) -> List<'_, NameAddr<'_>> {
        self.list(HeaderName::RecordRoute, headers::name_addr)
    }

    /// Decodes Content-Type, if present.
    ///
    /// # Errors
    /// Duplicated or malformed Content-Type.
    pub fn content_type(&self) -> Result<Option<MediaType<'_>>, ParseError> {
        self.single(HeaderName::ContentType, headers::media_type)
    }

    /// Decodes Content-Disposition, if present.
    ///
    /// # Errors
    /// Duplicated or malformed Content-Disposition.
    pub fn content_disposition(&self) -> Result<Option<TokenParams<'_>>, ParseError> {
        self.single(HeaderName::ContentDisposition, headers::token_params)
    }

    /// Decodes every Require option tag.
    pub fn require(&self) -> List<'_, &str> {
        self.list(HeaderName::Require, headers::token)
    }

    /// Decodes every Supported option tag.
    pub fn supported(&self) -> List<'_, &str> {
        self.list(HeaderName::Supported, headers::token)
    }

    /// Decodes every Unsupported option tag.
    pub fn unsupported(&self) -> List<'_, &str> {
        self.list(HeaderName::Unsupported, headers::token)
    }

    /// Decodes every Proxy-Require option tag.
    pub fn proxy_require(&self) -> List<'_, &str> {
        self.list(HeaderName::ProxyRequire, headers::token)
    }

    /// Decodes every method in Allow.
    pub fn allow(&self) -> impl Iterator<Item = Result<Method, ParseError>> + '_ {
        self.list(HeaderName::Allow, headers::token)
            .map(|r| r.map(|t| Method::from_shared(&self.buf, t.as_bytes())))
    }

    /// Decodes every media range in Accept.
    pub fn accept(&self) -> List<'_, MediaType<'_>> {
        self.list(HeaderName::Accept, headers::media_type)
    }

    /// Returns RSeq (RFC 3262), if present.
    ///
    /// # Errors
    /// Duplicated or malformed RSeq.
    pub fn rseq(&self) -> Result<Option<u32>, ParseError> {
        Ok(self.number(HeaderName::RSeq, u64::from(u32::MAX))?.map(|n| n as u32))
    }

    /// Decodes RAck (RFC 3262), if present.
    ///
    /// # Errors
    /// Duplicated or malformed RAck.
    pub fn rack(&self) -> Result<Option<RAck>, ParseError> {
        let name = HeaderName::RAck;
        let Some(e) = self.only(name)? else { return Ok(None) };
        let (rseq, cseq, m) = headers::rack(self.text_of(e)?).map_err(|(i, over)| {
            let kind =
                if over { ErrorKind::OutOfRange(name) } else { ErrorKind::HeaderValue(name) };
            self.err(kind, e.value.start as usize + i)
        })?;
        Ok(Some(RAck { rseq, cseq, method: Method::from_shared(&self.buf, m.as_bytes()) }))
    }

    /// Returns Expires in seconds (saturated at 2^32−1), if present.
    ///
    /// # Errors
    /// Duplicated or malformed Expires.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.single(HeaderName::Expires, headers::expires)
    }

    /// Decodes Retry-After, if present.
    ///
    /// # Errors
    /// Duplicated or malformed Retry-After.
    pub fn retry_after(&self) -> Result<Option<Seconds<'_>>, ParseError> {
        self.single(HeaderName::RetryAfter, headers::retry_after)
    }

    /// Decodes Event (RFC 6665), if present.
    ///
    /// # Errors
    /// Duplicated or malformed Event.
    pub fn event(&self) -> Result<Option<TokenParams<'_>>, ParseError> {
        self.single(HeaderName::Event, headers::token_params)
    }

    /// Decodes Refer-To (RFC 3515), if present.
    ///
    /// # Errors
    /// Duplicated or malformed Refer-To.
    pub fn refer_to(&self) -> Result<Option<NameAddr<'_>>, ParseError> {
        self.single(HeaderName::ReferTo, headers::name_addr)
    }

    /// Decodes Session-Expires (RFC 4028), if present.
    ///
    /// # Errors
    /// Duplicated or malformed Session-Expires.
    pub fn session_expires(&self) -> Result<Option<Seconds<'_>>, ParseError> {
        self.single(HeaderName::SessionExpires, headers::seconds)
    }

    /// Decodes Min-SE (RFC 4028), if present.
    ///
    /// # Errors
    /// Duplicated or malformed Min-SE.
    pub fn min_se(&self) -> Result<Option<Seconds<'_>>, ParseError> {
        self.single(HeaderName::MinSe, headers::seconds)
    }

    /// Decodes every Reason value (RFC 3326).
    pub fn reasons(&self) -> List<'_, TokenParams<'_>> {
        self.list(HeaderName::Reason, headers::token_params)
    }
}

/// An iterator over the values of a list header (Via, Contact, Route, Require …): repeated
/// lines and comma-separated values, in order, each decoded when reached.
#[derive(Debug)]
pub struct List<'m, T> {
    msg: &'m Message,
    name: HeaderName,
    next_line: usize,
    el: fn(&mut Cursor<'m>) -> Res<T>,
    line: Option<headers::Elements<'m, T>>,
    base: usize,
}

impl<T> Iterator for List<'_, T> {
    type Item = Result<T, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(line) = &mut self.line {
                if let Some(r) = line.next() {
                    let (msg, name, base) = (self.msg, self.name, self.base);
                    return Some(r.map_err(|i| msg.err(ErrorKind::HeaderValue(name), base + i)));
                }
                self.line = None;
            }
            let rest = self.msg.headers.get(self.next_line..)?;
            let offset = rest.iter().position(|e| e.name == self.name)?;
            let e = &rest[offset];
            self.next_line += offset + 1;
            self.base = e.value.start as usize;
            match self.msg.text_of(e) {
                Ok(text) => self.line = Some(headers::Elements::new(text, self.el)),
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

impl PartialEq for Message {
    /// Two messages are equal when their start lines, header lines (names compared as
    /// [`HeaderName`]s, so compact and long forms match) and bodies are equal.
    fn eq(&self, other: &Self) -> bool {
        let start_eq = match (&self.start, &other.start) {
            (
                StartLine::Request { method: m1, uri: u1 },
                StartLine::Request { method: m2, uri: u2 },
            ) => m1 == m2 && u1.of(&self.buf) == u2.of(&other.buf),
            (
                StartLine::Response { code: c1, reason: r1 },
                StartLine::Response { code: c2, reason: r2 },
            ) => c1 == c2 && r1.of(&self.buf) == r2.of(&other.buf),
            _ => false,
        };
        start_eq
            && self.body() == other.body()
            && self.headers.len() == other.headers.len()
            && self.headers().zip(other.headers()).all(|(a, b)| {
                a.name == b.name
                    && (a.name != HeaderName::Other || a.raw_name.eq_ignore_ascii_case(b.raw_name))
                    && a.value == b.value
            })
    }
}

impl Eq for Message {}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Message");
        match &self.start {
            StartLine::Request { method, .. } => {
                d.field("method", method).field("uri", &self.request_uri_str().unwrap_or_default());
            }
            StartLine::Response { code, .. } => {
                d.field("status", code).field("reason", &self.reason().unwrap_or_default());
            }
        }
        d.field("headers", &self.headers.len()).field("body_len", &self.body().len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index moved by `with_top_via_params` is the index a fresh parse builds.
    #[test]
    fn the_via_rewrite_moves_the_index_exactly() {
        let lenient = ParseOptions { validate: false, ..ParseOptions::DEFAULT };
        let cases: [&[u8]; 4] = [
            b"INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h:5070;branch=z9hG4bK1;rport, SIP/2.0/TCP p\r\nVia: SIP/2.0/UDP q\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 3\r\n\r\nv=0",
            b"FOO sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;received=192.0.2.9;branch=z9hG4bK1\r\nCall-ID: c\r\nCSeq: 1 FOO\r\n\r\n",
            b"OPTIONS sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP h;rport;branch=z9hG4bK1;x=\"q;v\"\r\nContent-Length: 0\r\n\r\n",
            b"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKlonglonglonglonglonglong;rport=1;received=2001:db8::1\r\nContent-Length: 0\r\n\r\n",
        ];
        for bytes in cases {
            let m = Message::parse_with(bytes, &lenient).expect("parses");
            for (received, rport) in [
                (Some("192.0.2.77".parse().unwrap()), Some(5099)),
                (None, None),
                (Some("2001:db8::abcd:1234".parse().unwrap()), None),
            ] {
                let edited = m.with_top_via_params(received, rport).expect("rewritten");
                let fresh = Message::parse_with(edited.to_bytes(), &lenient).expect("reparses");
                assert_eq!(edited, fresh, "{}", String::from_utf8_lossy(edited.as_bytes()));
                assert_eq!(edited.body(), m.body());
                assert_eq!(edited.method(), m.method());
                let via = edited.top_via().expect("via");
                assert_eq!(via.received(), received);
                assert_eq!(via.rport(), rport.map(Some));
                assert_eq!(edited.call_id().ok(), m.call_id().ok());
            }
        }
    }
}
