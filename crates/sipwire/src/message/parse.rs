//! The tokenizer: start line and header index in one pass over the header section.

use bytes::Bytes;
use smallvec::SmallVec;

use super::ParseOptions;
use super::error::{ErrorKind, MessageKind, ParseError};
use super::header_name::HeaderName;
use super::headers;
use super::limits::Limits;
use super::method::Method;
use super::scan::{Cursor, Res, TOKEN, is_lws};
use super::uri::parse_uri;

/// Header lines kept inline before the index spills to the heap: enough for typical INVITEs
/// and their responses (see docs/benchmarks.md).
pub(crate) const INLINE_HEADERS: usize = 20;

/// A byte range in the message buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    #[inline]
    pub(crate) const fn new(start: usize, end: usize) -> Self {
        // Messages are bounded by `Limits::max_message_size`, far below 4 GiB; the parser
        // refuses larger input before building spans.
        Self { start: start as u32, end: end as u32 }
    }

    #[inline]
    pub(crate) fn of<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start as usize..self.end as usize).unwrap_or_default()
    }
}

/// One header line in the index: 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) name: HeaderName,
    name_len: u16,
    line: u32,
    pub(crate) value: Span,
}

impl Entry {
    /// Returns the entry after the bytes `[at, at + removed)` of its buffer were replaced by
    /// `added` bytes: spans past the edit move, and a value that contains it grows or shrinks.
    pub(crate) fn edited(mut self, at: u32, removed: u32, added: u32) -> Self {
        let end = at + removed;
        let moved = |x: u32| if x >= end { x - removed + added } else { x };
        self.line = moved(self.line);
        if self.value.start >= end {
            self.value.start = moved(self.value.start);
        }
        if self.value.end >= end {
            self.value.end = moved(self.value.end);
        }
        self
    }

    /// The header name as written.
    #[inline]
    pub(crate) const fn raw_name(&self) -> Span {
        Span { start: self.line, end: self.line + self.name_len as u32 }
    }
}

/// The start line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartLine {
    Request { method: Method, uri: Span },
    Response { code: u16, reason: Span },
}

/// The start line before the message owns its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawStart {
    Request { method: Span, uri: Span },
    Response { code: u16, reason: Span },
}

impl RawStart {
    /// Moves the spans, measured from the start line, to buffer offsets.
    fn shift(self, by: usize) -> Self {
        let by = by as u32;
        let sh = |s: Span| Span { start: s.start + by, end: s.end + by };
        match self {
            Self::Request { method, uri } => Self::Request { method: sh(method), uri: sh(uri) },
            Self::Response { code, reason } => Self::Response { code, reason: sh(reason) },
        }
    }

    pub(crate) const fn kind(&self) -> MessageKind {
        match self {
            Self::Request { .. } => MessageKind::Request,
            Self::Response { .. } => MessageKind::Response,
        }
    }

    /// Binds the start line to the buffer the message owns.
    pub(crate) fn bind(self, buf: &Bytes) -> StartLine {
        match self {
            Self::Request { method, uri } => {
                StartLine::Request { method: Method::from_shared(buf, method.of(buf)), uri }
            }
            Self::Response { code, reason } => StartLine::Response { code, reason },
        }
    }
}

/// A parsed header section.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) start: RawStart,
    pub(crate) headers: SmallVec<[Entry; INLINE_HEADERS]>,
    pub(crate) body_start: usize,
    pub(crate) content_length: Option<u32>,
}

/// Finds the first CR or LF at or after `from`, eight bytes at a time.
#[inline]
pub(crate) fn find_eol(s: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while i + 8 <= s.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(w);
        let cr = w ^ (LO * u64::from(b'\r'));
        let lf = w ^ (LO * u64::from(b'\n'));
        let hit = (cr.wrapping_sub(LO) & !cr | lf.wrapping_sub(LO) & !lf) & HI;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..].iter().position(|&b| b == b'\r' || b == b'\n').map(|p| p + i)
}

/// Tells a request from a response by its first bytes (after the CRLFs §7.5 allows), for
/// errors raised before the start line is parsed.
pub(crate) fn guess_kind(s: &[u8]) -> MessageKind {
    let first = s.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(s.len());
    match s.get(first..first + 4) {
        Some(p) if p.eq_ignore_ascii_case(b"SIP/") => MessageKind::Response,
        _ => MessageKind::Request,
    }
}

/// Checks a framed message against the size limits, the whole message first (513), then
/// the body (413): one order for datagrams and streams.
pub(crate) fn check_sizes(
    body_start: usize,
    body_len: usize,
    limits: &Limits,
) -> Result<(), ParseError> {
    if body_start.saturating_add(body_len) > limits.max_message_size {
        // The header section was read; the body it announces is what does not fit.
        let at = body_start.min(limits.max_message_size);
        return Err(ParseError::new(ErrorKind::MessageTooLarge, at));
    }
    if body_len > limits.max_body_size {
        return Err(ParseError::new(ErrorKind::BodyTooLarge, body_start));
    }
    Ok(())
}

/// Returns the end of the line starting at `from` and where the next line starts.
/// Lines end in CRLF or, leniently, a bare LF; a bare CR is an error.
#[inline]
fn line_end(s: &[u8], from: usize) -> Result<Option<(usize, usize)>, usize> {
    match find_eol(s, from) {
        None => Ok(None),
        Some(i) if s[i] == b'\n' => Ok(Some((i, i + 1))),
        Some(i) => match s.get(i + 1) {
            Some(b'\n') => Ok(Some((i, i + 2))),
            None => Ok(None),
            Some(_) => Err(i),
        },
    }
}

const SIP_2_0: &[u8] = b"SIP/2.0";

/// Checks a `SIP-Version`: `Ok(true)` for 2.0, `Ok(false)` for another well-formed version.
fn version(v: &[u8]) -> Result<bool, ()> {
    if v.eq_ignore_ascii_case(SIP_2_0) {
        return Ok(true);
    }
    let rest = match v.get(..4) {
        Some(p) if p.eq_ignore_ascii_case(b"SIP/") => &v[4..],
        _ => return Err(()),
    };
    let mut parts = rest.splitn(2, |&b| b == b'.');
    let major = parts.next().unwrap_or_default();
    let minor = parts.next().unwrap_or_default();
    let digits = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_digit);
    if digits(major) && digits(minor) { Ok(false) } else { Err(()) }
}

fn start_line(line: &[u8], limits: &Limits) -> Result<RawStart, ParseError> {
    let err = |kind, at: usize, m| Err(ParseError::new(kind, at).in_message(m));
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        let m = MessageKind::Response;
        let sp = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
        match version(&line[..sp]) {
            Ok(true) => {}
            Ok(false) => return err(ErrorKind::Version, 0, m),
            Err(()) => return err(ErrorKind::StartLine, 0, m),
        }
        let rest = line.get(sp + 1..).unwrap_or_default();
        let code_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let code = &rest[..code_end];
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return err(ErrorKind::StatusCode, sp + 1, m);
        }
        let code = code.iter().fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'));
        if !(100..=699).contains(&code) {
            return err(ErrorKind::StatusCode, sp + 1, m);
        }
        let reason_start = (sp + 1 + code_end + 1).min(line.len());
        let reason = &line[reason_start..];
        if reason.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) {
            return err(ErrorKind::ReasonPhrase, reason_start, m);
        }
        return Ok(RawStart::Response { code, reason: Span::new(reason_start, line.len()) });
    }
    let m = MessageKind::Request;
    let Some(sp1) = line.iter().position(|&b| b == b' ') else {
        return err(ErrorKind::StartLine, 0, m);
    };
    let method = &line[..sp1];
    if method.is_empty() || !method.iter().all(|&b| TOKEN[b as usize]) {
        return err(ErrorKind::Method, 0, m);
    }
    let uri_start = sp1 + 1;
    let Some(sp2) = line[uri_start..].iter().position(|&b| b == b' ').map(|p| p + uri_start) else {
        return err(ErrorKind::StartLine, line.len(), m);
    };
    let uri = &line[uri_start..sp2];
    match version(&line[sp2 + 1..]) {
        Ok(true) => {}
        Ok(false) => return err(ErrorKind::Version, sp2 + 1, m),
        Err(()) => return err(ErrorKind::StartLine, sp2 + 1, m),
    }
    if uri.len() > limits.max_uri_len {
        return err(ErrorKind::UriTooLong, uri_start, m);
    }
    let Ok(uri) = core::str::from_utf8(uri) else {
        return err(ErrorKind::Uri, uri_start, m);
    };
    match parse_uri(uri) {
        // A Request-URI carries no header components (RFC 3261 §19.1.1, table 1).
        Ok(super::uri::Uri::Sip(u)) if !u.headers.is_empty() => {
            return err(ErrorKind::Uri, uri_start + u.as_str().len() - u.headers.len() - 1, m);
        }
        Ok(_) => {}
        Err(at) => return err(ErrorKind::Uri, uri_start + at, m),
    }
    Ok(RawStart::Request { method: Span::new(0, sp1), uri: Span::new(uri_start, sp2) })
}

/// Tokenizes the header section of `buf`. `Ok(None)` means the empty line closing the header
/// section has not arrived yet.
///
/// The header section must be UTF-8 (RFC 3261 §25 has no other text), checked once here so
/// that decoders can hand out `&str` slices without checking again. With
/// `options.validate`, the headers every layer relies on are decoded too.
pub(crate) fn parse_head(s: &[u8], options: &ParseOptions) -> Result<Option<Head>, ParseError> {
    let limits = &options.limits;
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let mut pos = s.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(s.len());
    let Some((eol, next)) =
        line_end(s, pos).map_err(|at| ParseError::new(ErrorKind::StartLine, at))?
    else {
        return Ok(None);
    };
    let start = start_line(&s[pos..eol], limits).map_err(|e| e.shifted(pos))?.shift(pos);
    let kind = start.kind();
    let fail = |k, at| ParseError::new(k, at).in_message(kind);
    pos = next;
    let mut headers: SmallVec<[Entry; INLINE_HEADERS]> = SmallVec::new();
    let mut content_length: Option<u32> = None;
    loop {
        let Some((eol, mut next)) =
            line_end(s, pos).map_err(|at| fail(ErrorKind::HeaderLine, at))?
        else {
            return Ok(None);
        };
        if eol == pos {
            let text = core::str::from_utf8(&s[..eol])
                .map_err(|e| fail(ErrorKind::NotUtf8, e.valid_up_to()))?;
            if options.validate {
                validate_core(text, &headers, kind, limits)?;
            }
            return Ok(Some(Head { start, headers, body_start: next, content_length }));
        }
        let line_start = pos;
        let first = s[pos];
        if first == b' ' || first == b'\t' {
            // A continuation line with no header before it.
            return Err(fail(ErrorKind::HeaderLine, pos));
        }
        let mut i = pos;
        while i < eol && TOKEN[s[i] as usize] {
            i += 1;
        }
        let name_end = i;
        while i < eol && (s[i] == b' ' || s[i] == b'\t') {
            i += 1;
        }
        if name_end == pos || i >= eol || s[i] != b':' {
            return Err(fail(ErrorKind::HeaderLine, i));
        }
        let value_start = i + 1;
        let mut value_end = eol;
        // Folded continuation lines (RFC 3261 §7.3.1) belong to this header.
        while matches!(s.get(next), Some(b' ' | b'\t')) {
            let Some((e, n)) = line_end(s, next).map_err(|at| fail(ErrorKind::HeaderLine, at))?
            else {
                return Ok(None);
            };
            value_end = e;
            next = n;
        }
        if value_end - line_start > limits.max_header_line {
            return Err(fail(ErrorKind::HeaderTooLong, line_start));
        }
        if headers.len() >= limits.max_headers {
            return Err(fail(ErrorKind::TooManyHeaders, line_start));
        }
        let raw = &s[value_start..value_end];
        // Only LWS surrounds a value (SP, HT and the CRLF of a fold); other bytes are kept.
        let lead = raw.iter().take_while(|&&b| is_lws(b)).count();
        let trail = raw[lead..].iter().rev().take_while(|&&b| is_lws(b)).count();
        let value = Span::new(value_start + lead, (value_end - trail).max(value_start + lead));
        let name = HeaderName::from_bytes(&s[pos..name_end]);
        let Ok(name_len) = u16::try_from(name_end - pos) else {
            return Err(fail(ErrorKind::HeaderTooLong, line_start));
        };
        if name == HeaderName::ContentLength {
            let digits = core::str::from_utf8(value.of(s)).unwrap_or("-");
            let n = headers::bare_number(digits, u64::from(u32::MAX))
                .map_err(|(at, _)| fail(ErrorKind::HeaderValue(name), value.start as usize + at))?
                as u32;
            if content_length.is_some_and(|c| c != n) {
                return Err(fail(ErrorKind::ConflictingContentLength, line_start));
            }
            content_length = Some(n);
        }
        headers.push(Entry { name, name_len, line: pos as u32, value });
        pos = next;
    }
}

/// Decodes every value of the headers the transaction and dialog layers rely on, so a
/// message that parses can be routed: Via, From, To, Call-ID, CSeq, Max-Forwards, Contact,
/// Route and Record-Route. `head` is the header section as text.
pub(crate) fn validate_core(
    head: &str,
    entries: &[Entry],
    kind: MessageKind,
    limits: &Limits,
) -> Result<(), ParseError> {
    let mut vias = 0usize;
    for e in entries {
        let at = |i: usize| e.value.start as usize + i;
        let bad =
            |i: usize| ParseError::new(ErrorKind::HeaderValue(e.name), at(i)).in_message(kind);
        let range = |i: usize, over: bool| {
            let k =
                if over { ErrorKind::OutOfRange(e.name) } else { ErrorKind::HeaderValue(e.name) };
            ParseError::new(k, at(i)).in_message(kind)
        };
        let v = head.get(e.value.start as usize..e.value.end as usize).unwrap_or_default();
        match e.name {
            HeaderName::Via => {
                let mut n = 0;
                for r in headers::Elements::new(v, headers::via) {
                    r.map_err(bad)?;
                    n += 1;
                }
                if n == 0 {
                    return Err(bad(0));
                }
                vias += n;
                if vias > limits.max_vias {
                    return Err(ParseError::new(ErrorKind::TooManyVias, at(0)).in_message(kind));
                }
            }
            HeaderName::From | HeaderName::To => {
                headers::whole(v, headers::name_addr).map_err(bad)?;
            }
            HeaderName::Contact => every(v, headers::contact, true).map_err(bad)?,
            HeaderName::Route | HeaderName::RecordRoute => {
                every(v, headers::name_addr, true).map_err(bad)?;
            }
            HeaderName::CallId => {
                headers::whole(v, headers::call_id).map_err(bad)?;
            }
            HeaderName::CSeq => {
                headers::cseq(v).map_err(|(i, over)| range(i, over))?;
            }
            HeaderName::MaxForwards => {
                headers::bare_number(v, 255).map_err(|(i, over)| range(i, over))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks every element of a list value; `required` refuses an empty value.
fn every<'a, T>(v: &'a str, el: fn(&mut Cursor<'a>) -> Res<T>, required: bool) -> Res<()> {
    let mut n = 0;
    for r in headers::Elements::new(v, el) {
        r?;
        n += 1;
    }
    if required && n == 0 { Err(0) } else { Ok(()) }
}
