//! Typed header values: borrowed views decoded on demand from the message's bytes.
//!
//! Each decoder reads one value (one element of a comma-separated list) with LWS allowed
//! wherever RFC 3261 §25 allows it, and reports the offset where it gave up.

use core::net::IpAddr;
use std::borrow::Cow;

use super::scan::{Cursor, GEN_VALUE, Res, TOKEN, WORD, is_lws, number, parse_u32_sat, sub};
use super::uri::{Host, Uri, parse_host, parse_ipv4, parse_ipv6, parse_uri};

/// The `;name[=value]` parameters of a header value, as received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params<'a>(&'a str);

/// One header parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Param<'a> {
    /// The name, as written.
    pub name: &'a str,
    /// The value: a token, a host, or a quoted string's content (quoted-pairs kept).
    pub value: Option<&'a str>,
}

impl<'a> Params<'a> {
    /// Returns the parameters as written, starting at the first `;`.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// Returns whether there are no parameters.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the parameters in order.
    #[must_use]
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter(Cursor::new(self.0))
    }

    /// Finds a parameter by case-insensitive name: `None` if absent, `Some(None)` if it has
    /// no value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.value)
    }

    /// Returns whether a parameter of that name is present.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Iterator over [`Params`].
#[derive(Debug, Clone)]
pub struct ParamIter<'a>(Cursor<'a>);

impl<'a> Iterator for ParamIter<'a> {
    type Item = Param<'a>;
    fn next(&mut self) -> Option<Param<'a>> {
        next_param(&mut self.0).ok().flatten()
    }
}

/// Reads `SEMI token [EQUAL gen-value]`; `Ok(None)` when no `;` follows.
fn next_param<'a>(cur: &mut Cursor<'a>) -> Res<Option<Param<'a>>> {
    if !cur.sep(b';') {
        return Ok(None);
    }
    let name = cur.token()?;
    let value = if cur.sep(b'=') {
        Some(if cur.peek() == Some(b'"') {
            cur.quoted()?
        } else {
            let v = cur.take(&GEN_VALUE);
            if v.is_empty() {
                return cur.fail();
            }
            v
        })
    } else {
        None
    };
    Ok(Some(Param { name, value }))
}

/// Reads all parameters at the cursor and returns them.
fn params<'a>(cur: &mut Cursor<'a>) -> Res<Params<'a>> {
    let start = cur.pos;
    while next_param(cur)?.is_some() {}
    Ok(Params(cur.since(start)))
}

/// Fails unless only white space is left.
fn end(cur: &mut Cursor<'_>) -> Res<()> {
    cur.ws();
    if cur.at_end() { Ok(()) } else { cur.fail() }
}

/// Decodes a whole single-valued header with an element decoder.
pub(crate) fn whole<'a, T>(v: &'a str, el: fn(&mut Cursor<'a>) -> Res<T>) -> Res<T> {
    let mut cur = Cursor::new(v);
    cur.ws();
    let t = el(&mut cur)?;
    end(&mut cur)?;
    Ok(t)
}

/// Decodes the comma-separated values of one header line, one element at a time, in a
/// single pass (no pre-splitting). After an error it yields nothing more.
#[derive(Debug, Clone)]
pub(crate) struct Elements<'a, T> {
    cur: Cursor<'a>,
    el: fn(&mut Cursor<'a>) -> Res<T>,
    done: bool,
}

impl<'a, T> Elements<'a, T> {
    pub(crate) fn new(v: &'a str, el: fn(&mut Cursor<'a>) -> Res<T>) -> Self {
        let mut cur = Cursor::new(v);
        cur.ws();
        // An empty value has no elements (e.g. `Supported:`); callers that need one check.
        let done = cur.at_end();
        Self { cur, el, done }
    }
}

impl<T> Iterator for Elements<'_, T> {
    type Item = Res<T>;
    fn next(&mut self) -> Option<Res<T>> {
        if self.done {
            return None;
        }
        let r = (self.el)(&mut self.cur).and_then(|t| {
            self.cur.ws();
            if self.cur.at_end() {
                self.done = true;
            } else if self.cur.eat(b',') {
                self.cur.ws();
            } else {
                return self.cur.fail();
            }
            Ok(t)
        });
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

/// A Via transport (RFC 3261 §20.42), case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport<'a> {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// TLS over SCTP.
    TlsSctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
    /// Any other transport token, as written.
    Other(&'a str),
}

impl<'a> Transport<'a> {
    fn from_token(t: &'a str) -> Self {
        let b = t.as_bytes();
        if b.eq_ignore_ascii_case(b"UDP") {
            Self::Udp
        } else if b.eq_ignore_ascii_case(b"TCP") {
            Self::Tcp
        } else if b.eq_ignore_ascii_case(b"TLS") {
            Self::Tls
        } else if b.eq_ignore_ascii_case(b"SCTP") {
            Self::Sctp
        } else if b.eq_ignore_ascii_case(b"TLS-SCTP") {
            Self::TlsSctp
        } else if b.eq_ignore_ascii_case(b"WS") {
            Self::Ws
        } else if b.eq_ignore_ascii_case(b"WSS") {
            Self::Wss
        } else {
            Self::Other(t)
        }
    }

    /// Returns the transport as written in a Via (upper-case for the known ones).
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Sctp => "SCTP",
            Self::TlsSctp => "TLS-SCTP",
            Self::Ws => "WS",
            Self::Wss => "WSS",
            Self::Other(t) => t,
        }
    }

    /// Returns whether the transport is reliable (everything but UDP, RFC 3261 §17).
    #[must_use]
    pub const fn is_reliable(&self) -> bool {
        !matches!(self, Self::Udp)
    }
}

/// One Via value (RFC 3261 §20.42).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Via<'a> {
    /// The protocol name, normally `SIP`.
    pub protocol: &'a str,
    /// The protocol version, normally `2.0`.
    pub version: &'a str,
    /// The transport.
    pub transport: Transport<'a>,
    /// The sent-by host.
    pub host: Host<'a>,
    /// The sent-by port, when written.
    pub port: Option<u16>,
    /// The via-params.
    pub params: Params<'a>,
}

impl<'a> Via<'a> {
    /// Returns the `branch` parameter.
    #[must_use]
    pub fn branch(&self) -> Option<&'a str> {
        self.params.get("branch").flatten()
    }

    /// Returns whether the branch carries the RFC 3261 magic cookie `z9hG4bK`.
    #[must_use]
    pub fn has_magic_cookie(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }

    /// Returns the `received` address; brackets around IPv6 are tolerated (RFC 5118 §4.5).
    #[must_use]
    pub fn received(&self) -> Option<IpAddr> {
        let v = self.params.get("received").flatten()?.as_bytes();
        let v = v.strip_prefix(b"[").and_then(|v| v.strip_suffix(b"]")).unwrap_or(v);
        parse_ipv4(v).map(IpAddr::V4).or_else(|| parse_ipv6(v).map(IpAddr::V6))
    }

    /// Returns `rport` (RFC 3581): `None` if absent, `Some(None)` if present without value.
    #[must_use]
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params.get("rport").map(|v| v.and_then(|v| v.parse().ok()))
    }

    /// Returns the `maddr` parameter.
    #[must_use]
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.get("maddr").flatten()
    }

    /// Returns the `ttl` parameter.
    #[must_use]
    pub fn ttl(&self) -> Option<u8> {
        self.params.get("ttl").flatten().and_then(|t| t.parse().ok())
    }
}

fn port(cur: &mut Cursor<'_>) -> Res<Option<u16>> {
    if !cur.sep(b':') {
        return Ok(None);
    }
    let at = cur.pos;
    let digits = cur.take(&DIGIT);
    number(digits.as_bytes(), u64::from(u16::MAX)).map(|p| Some(p as u16)).map_err(|_| at)
}

static DIGIT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t
};

/// Decodes one Via value (`via-parm`).
pub(crate) fn via<'a>(cur: &mut Cursor<'a>) -> Res<Via<'a>> {
    let protocol = cur.token()?;
    if !cur.sep(b'/') {
        return cur.fail();
    }
    let version = cur.token()?;
    if !cur.sep(b'/') {
        return cur.fail();
    }
    let transport = Transport::from_token(cur.token()?);
    if !cur.ws() {
        return cur.fail();
    }
    let (host, len) = parse_host(cur.rest()).map_err(|i| cur.pos + i)?;
    cur.pos += len;
    let port = port(cur)?;
    let params_start = cur.pos;
    loop {
        let at = cur.pos;
        let Some(p) = next_param(cur)? else { break };
        // The via-params with a grammar of their own (RFC 3261 §20.42, RFC 3581).
        let n = p.name;
        let ok = match n.len() {
            6 if n.eq_ignore_ascii_case("branch") => p.value.is_some(),
            5 if n.eq_ignore_ascii_case("maddr") => p.value.is_some(),
            3 if n.eq_ignore_ascii_case("ttl") => p.value.is_some_and(|v| v.parse::<u8>().is_ok()),
            5 if n.eq_ignore_ascii_case("rport") => {
                p.value.is_none_or(|v| v.parse::<u16>().is_ok())
            }
            8 if n.eq_ignore_ascii_case("received") => p.value.is_some_and(|v| {
                let b = v.as_bytes();
                let b = b.strip_prefix(b"[").and_then(|v| v.strip_suffix(b"]")).unwrap_or(b);
                parse_ipv4(b).is_some() || parse_ipv6(b).is_some()
            }),
            _ => true,
        };
        if !ok {
            return Err(at);
        }
    }
    let params = Params(cur.since(params_start));
    Ok(Via { protocol, version, transport, host, port, params })
}

/// A display name, as written: a quoted string's content or a run of tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayName<'a> {
    raw: &'a str,
    quoted: bool,
}

impl<'a> DisplayName<'a> {
    /// Returns the name as written (without the quotes; quoted-pairs still escaped).
    #[must_use]
    pub const fn as_raw(&self) -> &'a str {
        self.raw
    }

    /// Returns whether the name was a quoted string.
    #[must_use]
    pub const fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// Returns the name with quoted-pairs resolved.
    #[must_use]
    pub fn text(&self) -> Cow<'a, str> {
        if !self.quoted || !self.raw.contains('\\') {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut chars = self.raw.chars();
        while let Some(c) = chars.next() {
            out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
        }
        Cow::Owned(out)
    }
}

/// A `name-addr` or `addr-spec` with header parameters: From, To, Contact, Route,
/// Record-Route, Refer-To and the like.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct NameAddr<'a> {
    /// The display name, if any.
    pub display_name: Option<DisplayName<'a>>,
    /// The URI.
    pub uri: Uri<'a>,
    /// Header parameters (after the URI, outside `<>`).
    pub params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    /// Returns the `tag` parameter (From, To).
    #[must_use]
    pub fn tag(&self) -> Option<&'a str> {
        self.params.get("tag").flatten()
    }

    /// Returns the `expires` parameter (Contact), saturated to `u32::MAX`.
    #[must_use]
    pub fn expires(&self) -> Option<u32> {
        self.params.get("expires").flatten().and_then(|v| parse_u32_sat(v.as_bytes()))
    }

    /// Returns the `q` parameter (Contact) in thousandths: `q=0.33` is 330.
    #[must_use]
    pub fn q(&self) -> Option<u16> {
        self.params.get("q").flatten().and_then(qvalue)
    }
}

/// Parses a `qvalue` (`0`–`1` with up to three decimals) into thousandths.
fn qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let f = (0..3)
        .fold(0u16, |f, i| f * 10 + frac.as_bytes().get(i).map_or(0, |d| u16::from(d - b'0')));
    let q = int * 1000 + f;
    (q <= 1000).then_some(q)
}

/// Decodes one `name-addr` / `addr-spec` with its header parameters.
pub(crate) fn name_addr<'a>(cur: &mut Cursor<'a>) -> Res<NameAddr<'a>> {
    name_addr_as(cur, false)
}

/// Splits a name-addr or addr-spec at the cursor into its display name and its raw URI
/// (with the URI's offset), leaving the cursor at the header parameters.
fn name_addr_parts<'a>(cur: &mut Cursor<'a>) -> Res<(Option<DisplayName<'a>>, &'a str, usize)> {
    let mut display_name = None;
    let bracketed = match cur.peek() {
        Some(b'"') => {
            display_name = Some(DisplayName { raw: cur.quoted()?, quoted: true });
            cur.ws();
            if cur.peek() != Some(b'<') {
                return cur.fail();
            }
            true
        }
        Some(b'<') => true,
        _ => {
            // A run of tokens followed by '<' is a display name; otherwise an addr-spec.
            let start = cur.pos;
            let mut last = start;
            while !cur.take(&TOKEN).is_empty() {
                last = cur.pos;
                cur.ws();
            }
            if cur.peek() == Some(b'<') && last > start {
                display_name = Some(DisplayName { raw: sub(cur.src, start, last), quoted: false });
                true
            } else {
                cur.pos = start;
                false
            }
        }
    };
    if bracketed {
        cur.pos += 1;
        let start = cur.pos;
        let len = cur.s[start..].iter().position(|&b| b == b'>').ok_or(cur.s.len())?;
        cur.pos += len + 1;
        Ok((display_name, sub(cur.src, start, start + len), start))
    } else {
        // addr-spec: a URI holding ',', '?' or ';' must be in <> (RFC 3261 §20), so the
        // URI ends at the first ';', ',' or white space, and holds no '?'.
        let start = cur.pos;
        let len = cur.s[start..]
            .iter()
            .position(|&b| b == b';' || b == b',' || is_lws(b))
            .unwrap_or(cur.s.len() - start);
        let raw = sub(cur.src, start, start + len);
        if let Some(bad) = raw.bytes().position(|b| b == b'?') {
            return Err(start + bad);
        }
        cur.pos += len;
        Ok((display_name, raw, start))
    }
}

/// Reads only the `tag` parameter of a From or To value: the URI is skipped, not decoded.
/// Transaction and dialog matching need the tag on every message; the URI, rarely.
pub(crate) fn tag_of<'a>(cur: &mut Cursor<'a>) -> Res<Option<&'a str>> {
    name_addr_parts(cur)?;
    let mut tag = None;
    while let Some(p) = next_param(cur)? {
        if p.name.eq_ignore_ascii_case("tag") {
            tag = p.value;
        }
    }
    Ok(tag)
}

/// Decodes a name-addr; `contact` also checks the contact-params `q` and `expires`.
fn name_addr_as<'a>(cur: &mut Cursor<'a>, contact: bool) -> Res<NameAddr<'a>> {
    let (display_name, raw, start) = name_addr_parts(cur)?;
    let uri = parse_uri(raw).map_err(|i| start + i)?;
    // One pass over the parameters, checking those with a grammar of their own
    // (RFC 3261 §25.1): tag-param = "tag" EQUAL token; for Contact, c-p-q = "q" EQUAL qvalue
    // and c-p-expires = "expires" EQUAL delta-seconds.
    let params_start = cur.pos;
    loop {
        let at = cur.pos;
        let Some(p) = next_param(cur)? else { break };
        let n = p.name;
        let ok = match n.len() {
            3 if n.eq_ignore_ascii_case("tag") => p.value.is_some_and(is_token),
            1 if contact && n.eq_ignore_ascii_case("q") => p.value.and_then(qvalue).is_some(),
            7 if contact && n.eq_ignore_ascii_case("expires") => {
                p.value.and_then(|v| parse_u32_sat(v.as_bytes())).is_some()
            }
            _ => true,
        };
        if !ok {
            return Err(at);
        }
    }
    let params = Params(cur.since(params_start));
    Ok(NameAddr { display_name, uri, params })
}

fn is_token(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| TOKEN[b as usize])
}

/// One Contact value: `*` or an address (RFC 3261 §20.10).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Contact<'a> {
    /// `Contact: *` (REGISTER removing all bindings).
    Star,
    /// An address with its contact-params (`q`, `expires`, …).
    Addr(NameAddr<'a>),
}

/// Decodes one Contact value.
pub(crate) fn contact<'a>(cur: &mut Cursor<'a>) -> Res<Contact<'a>> {
    if cur.eat(b'*') {
        return Ok(Contact::Star);
    }
    name_addr_as(cur, true).map(Contact::Addr)
}

/// Decodes Call-ID: `word [ "@" word ]`.
pub(crate) fn call_id<'a>(cur: &mut Cursor<'a>) -> Res<&'a str> {
    let start = cur.pos;
    if cur.take(&WORD).is_empty() {
        return cur.fail();
    }
    if cur.eat(b'@') && cur.take(&WORD).is_empty() {
        return cur.fail();
    }
    Ok(cur.since(start))
}

/// Reads `1*DIGIT` bounded by `max`. `Err((offset, out_of_range))`.
pub(crate) fn digits(cur: &mut Cursor<'_>, max: u64) -> Result<u64, (usize, bool)> {
    let at = cur.pos;
    let d = cur.take(&DIGIT);
    number(d.as_bytes(), max).map_err(|over| (at, over))
}

/// CSeq as `(number, method token)`; `Err((offset, out_of_range))`.
pub(crate) fn cseq(v: &str) -> Result<(u32, &str), (usize, bool)> {
    let mut cur = Cursor::new(v);
    cur.ws();
    let n = digits(&mut cur, u64::from(u32::MAX))?;
    if !cur.ws() {
        return Err((cur.pos, false));
    }
    let m = cur.token().map_err(|i| (i, false))?;
    end(&mut cur).map_err(|i| (i, false))?;
    Ok((n as u32, m))
}

/// RAck as `(rseq, cseq, method token)` (RFC 3262 §7.2).
pub(crate) fn rack(v: &str) -> Result<(u32, u32, &str), (usize, bool)> {
    let mut cur = Cursor::new(v);
    cur.ws();
    let r = digits(&mut cur, u64::from(u32::MAX))?;
    if !cur.ws() {
        return Err((cur.pos, false));
    }
    let c = digits(&mut cur, u64::from(u32::MAX))?;
    if !cur.ws() {
        return Err((cur.pos, false));
    }
    let m = cur.token().map_err(|i| (i, false))?;
    end(&mut cur).map_err(|i| (i, false))?;
    Ok((r as u32, c as u32, m))
}

/// A bare number with nothing else (Max-Forwards, Content-Length, RSeq).
pub(crate) fn bare_number(v: &str, max: u64) -> Result<u64, (usize, bool)> {
    let mut cur = Cursor::new(v);
    cur.ws();
    let n = digits(&mut cur, max)?;
    end(&mut cur).map_err(|i| (i, false))?;
    Ok(n)
}

/// `delta-seconds`, saturated to `u32::MAX` as RFC 3261 asks for large values.
fn delta_seconds(cur: &mut Cursor<'_>) -> Res<u32> {
    let at = cur.pos;
    let d = cur.take(&DIGIT);
    parse_u32_sat(d.as_bytes()).ok_or(at)
}

/// Decodes `delta-seconds` alone (Expires).
pub(crate) fn expires(cur: &mut Cursor<'_>) -> Res<u32> {
    delta_seconds(cur)
}

/// Decodes one token (an option tag, a method).
pub(crate) fn token<'a>(cur: &mut Cursor<'a>) -> Res<&'a str> {
    cur.token()
}

/// A media type with parameters: Content-Type, or one Accept value.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MediaType<'a> {
    /// The type, e.g. `application` (or `*`).
    pub ty: &'a str,
    /// The subtype, e.g. `sdp` (or `*`).
    pub subtype: &'a str,
    /// The parameters.
    pub params: Params<'a>,
}

impl MediaType<'_> {
    /// Returns whether this is `type/subtype`, case-insensitively.
    #[must_use]
    pub fn is(&self, ty: &str, subtype: &str) -> bool {
        self.ty.eq_ignore_ascii_case(ty) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// Returns whether this media range (Accept) admits `type/subtype`, with `*` wildcards.
    #[must_use]
    pub fn admits(&self, ty: &str, subtype: &str) -> bool {
        (self.ty == "*" || self.ty.eq_ignore_ascii_case(ty))
            && (self.subtype == "*" || self.subtype.eq_ignore_ascii_case(subtype))
    }
}

/// Decodes one media type or range.
pub(crate) fn media_type<'a>(cur: &mut Cursor<'a>) -> Res<MediaType<'a>> {
    let ty = cur.token()?;
    if !cur.sep(b'/') {
        return cur.fail();
    }
    let subtype = cur.token()?;
    let params = params(cur)?;
    Ok(MediaType { ty, subtype, params })
}

/// A token with parameters: Content-Disposition, Event, Reason and similar headers.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TokenParams<'a> {
    /// The token (disposition type, event package, reason protocol …).
    pub value: &'a str,
    /// The parameters.
    pub params: Params<'a>,
}

impl<'a> TokenParams<'a> {
    /// Returns the `id` parameter (Event, RFC 6665).
    #[must_use]
    pub fn id(&self) -> Option<&'a str> {
        self.params.get("id").flatten()
    }

    /// Returns the `cause` parameter (Reason, RFC 3326).
    #[must_use]
    pub fn cause(&self) -> Option<u16> {
        self.params.get("cause").flatten().and_then(|c| c.parse().ok())
    }

    /// Returns the `text` parameter's content (Reason, RFC 3326).
    #[must_use]
    pub fn reason_text(&self) -> Option<&'a str> {
        self.params.get("text").flatten()
    }

    /// Returns the `handling` parameter (Content-Disposition).
    #[must_use]
    pub fn handling(&self) -> Option<&'a str> {
        self.params.get("handling").flatten()
    }
}

/// Decodes a token with parameters.
pub(crate) fn token_params<'a>(cur: &mut Cursor<'a>) -> Res<TokenParams<'a>> {
    let value = cur.token()?;
    let params = params(cur)?;
    Ok(TokenParams { value, params })
}

/// A number of seconds with parameters: Session-Expires, Min-SE, Retry-After.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Seconds<'a> {
    /// The seconds, saturated to `u32::MAX`.
    pub seconds: u32,
    /// The comment (Retry-After only), without parentheses.
    pub comment: Option<&'a str>,
    /// The parameters.
    pub params: Params<'a>,
}

impl<'a> Seconds<'a> {
    /// Returns the `refresher` parameter (Session-Expires, RFC 4028): `uac` or `uas`.
    #[must_use]
    pub fn refresher(&self) -> Option<&'a str> {
        self.params.get("refresher").flatten()
    }

    /// Returns the `duration` parameter (Retry-After).
    #[must_use]
    pub fn duration(&self) -> Option<u32> {
        self.params.get("duration").flatten().and_then(|d| parse_u32_sat(d.as_bytes()))
    }
}

/// Decodes seconds with parameters (Session-Expires, Min-SE).
pub(crate) fn seconds<'a>(cur: &mut Cursor<'a>) -> Res<Seconds<'a>> {
    let seconds = delta_seconds(cur)?;
    let params = params(cur)?;
    Ok(Seconds { seconds, comment: None, params })
}

/// Decodes Retry-After: seconds, an optional comment, parameters.
pub(crate) fn retry_after<'a>(cur: &mut Cursor<'a>) -> Res<Seconds<'a>> {
    let seconds = delta_seconds(cur)?;
    let mut comment = None;
    let save = cur.pos;
    cur.ws();
    if cur.peek() == Some(b'(') {
        let start = cur.pos + 1;
        let mut depth = 0usize;
        loop {
            match cur.peek() {
                None => return cur.fail(),
                Some(b'(') => depth += 1,
                Some(b')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Some(b'\\') => cur.pos += 1,
                _ => {}
            }
            cur.pos += 1;
        }
        comment = Some(cur.since(start));
        cur.pos += 1;
    } else {
        cur.pos = save;
    }
    let params = params(cur)?;
    Ok(Seconds { seconds, comment, params })
}
