//! URIs: `sip:`, `sips:` and `tel:` typed; any other scheme kept as an absolute URI.
//!
//! Every type here borrows from the message (or string) it was parsed from. Escapes stay as
//! received; the `*_unescaped` accessors and equality decode them (RFC 3261 §19.1.2), and
//! equality follows §19.1.4 for SIP URIs and RFC 3966 §4 for tel URIs.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use std::borrow::Cow;

use super::error::{ErrorKind, ParseError};
use super::scan::{
    HNV, HOSTNAME, PARAMCHAR, PASSWORD, Res, URIC, USER, Unescape, check_escaped, hex, number, sub,
    text,
};

/// A parsed URI, borrowed from the bytes it was read from.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Uri<'a> {
    /// A `sip:` or `sips:` URI.
    Sip(SipUri<'a>),
    /// A `tel:` URI (RFC 3966).
    Tel(TelUri<'a>),
    /// Any other scheme, kept whole.
    Absolute(AbsoluteUri<'a>),
}

/// The host part of a SIP URI or a Via sent-by.
#[derive(Debug, Clone, Copy)]
pub enum Host<'a> {
    /// A host name, as written.
    Domain(&'a str),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written in brackets in SIP URIs).
    Ipv6(Ipv6Addr),
}

/// A `sip:` or `sips:` URI (RFC 3261 §19.1.1).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SipUri<'a> {
    /// `true` for `sips:`.
    pub secure: bool,
    /// The user part, still escaped.
    pub user: Option<&'a str>,
    /// The password, still escaped.
    pub password: Option<&'a str>,
    /// The host.
    pub host: Host<'a>,
    /// The port, when written.
    pub port: Option<u16>,
    /// The uri-parameters.
    pub params: UriParams<'a>,
    /// The headers after `?` (`name=value&…`), still escaped; empty when there are none.
    pub headers: &'a str,
    raw: &'a str,
}

/// A `tel:` URI (RFC 3966).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TelUri<'a> {
    /// The telephone number, visual separators included.
    pub number: &'a str,
    /// The parameters.
    pub params: UriParams<'a>,
    raw: &'a str,
}

/// A URI of a scheme this crate does not model.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AbsoluteUri<'a> {
    /// The scheme, as written.
    pub scheme: &'a str,
    /// Everything after the colon.
    pub rest: &'a str,
    raw: &'a str,
}

/// The `;name[=value]` parameters of a URI, still escaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct UriParams<'a>(&'a str);

impl<'a> UriParams<'a> {
    /// Returns the raw text, without the leading `;`.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// Returns whether there are no parameters.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over `(name, value)` pairs, escaped as received.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        self.0.split(';').filter(|p| !p.is_empty()).map(|p| match p.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (p, None),
        })
    }

    /// Finds a parameter by name: `None` if absent, `Some(None)` if it has no value.
    /// Names compare case-insensitively after unescaping (of both sides).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.iter().find(|(n, _)| eq_unescaped(n.as_bytes(), name.as_bytes(), true)).map(|p| p.1)
    }
}

fn fold(b: u8, ci: bool) -> u8 {
    if ci { b.to_ascii_lowercase() } else { b }
}

/// RFC 2396 `reserved`: an escaped reserved character is not the character itself.
const fn is_reserved(b: u8) -> bool {
    matches!(b, b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b',')
}

/// Decodes `%HH` once, saying of each byte whether it was escaped.
fn marked(s: &[u8]) -> impl Iterator<Item = (u8, bool)> + '_ {
    let mut i = 0;
    core::iter::from_fn(move || {
        let b = *s.get(i)?;
        if b == b'%'
            && i + 2 < s.len()
            && let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2]))
        {
            i += 3;
            return Some((h << 4 | l, true));
        }
        i += 1;
        Some((b, false))
    })
}

/// Compares two escaped strings as RFC 3261 §19.1.4 does: a character outside the reserved
/// set equals its `%HH` form; an escaped reserved character equals only its escaped form.
fn eq_unescaped(a: &[u8], b: &[u8], ci: bool) -> bool {
    let mut x = marked(a);
    let mut y = marked(b);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some((p, pe)), Some((q, qe)))
                if fold(p, ci) == fold(q, ci) && (pe == qe || !is_reserved(p)) => {}
            _ => return false,
        }
    }
}

fn opt_eq(a: Option<&str>, b: Option<&str>, ci: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => eq_unescaped(a.as_bytes(), b.as_bytes(), ci),
        _ => false,
    }
}

/// Decodes `%HH` escapes, borrowing when there are none.
fn unescaped(s: &str) -> Cow<'_, [u8]> {
    if s.contains('%') {
        Cow::Owned(Unescape::new(s.as_bytes()).collect())
    } else {
        Cow::Borrowed(s.as_bytes())
    }
}

impl<'a> Uri<'a> {
    /// Parses a whole URI from text.
    ///
    /// # Errors
    /// [`ErrorKind::Uri`] with the offset of the first byte that does not fit the grammar.
    pub fn parse(s: &'a str) -> Result<Self, ParseError> {
        parse_uri(s).map_err(|at| ParseError::new(ErrorKind::Uri, at))
    }

    /// Returns the URI as written.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        match self {
            Self::Sip(u) => u.raw,
            Self::Tel(u) => u.raw,
            Self::Absolute(u) => u.raw,
        }
    }

    /// Returns the SIP or SIPS URI, if this is one.
    #[must_use]
    pub const fn as_sip(&self) -> Option<&SipUri<'a>> {
        if let Self::Sip(u) = self { Some(u) } else { None }
    }

    /// Returns the scheme: lower-case for the schemes this crate models, else as written.
    #[must_use]
    pub const fn scheme(&self) -> &'a str {
        match self {
            Self::Sip(u) if u.secure => "sips",
            Self::Sip(_) => "sip",
            Self::Tel(_) => "tel",
            Self::Absolute(u) => u.scheme,
        }
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Uri<'_> {
    /// URI equality: RFC 3261 §19.1.4 for SIP, RFC 3966 §4 for tel; other schemes compare
    /// the scheme case-insensitively and the rest exactly.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Sip(a), Self::Sip(b)) => a == b,
            (Self::Tel(a), Self::Tel(b)) => a == b,
            (Self::Absolute(a), Self::Absolute(b)) => {
                a.scheme.eq_ignore_ascii_case(b.scheme) && a.rest == b.rest
            }
            _ => false,
        }
    }
}

impl<'a> SipUri<'a> {
    /// Returns the URI as written.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Returns the user part with escapes decoded (it may hold any octet, even NUL).
    #[must_use]
    pub fn user_unescaped(&self) -> Option<Cow<'a, [u8]>> {
        self.user.map(unescaped)
    }

    /// Returns the password with escapes decoded.
    #[must_use]
    pub fn password_unescaped(&self) -> Option<Cow<'a, [u8]>> {
        self.password.map(unescaped)
    }

    /// Iterates over the `?name=value` headers, escaped as received.
    pub fn header_fields(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.headers
            .split('&')
            .filter(|h| !h.is_empty())
            .map(|h| h.split_once('=').unwrap_or((h, "")))
    }

    /// Returns the `transport` parameter, if any.
    #[must_use]
    pub fn transport(&self) -> Option<&'a str> {
        self.params.get("transport").flatten()
    }

    /// Returns the `user` parameter (e.g. `phone`), if any.
    #[must_use]
    pub fn user_param(&self) -> Option<&'a str> {
        self.params.get("user").flatten()
    }

    /// Returns the `maddr` parameter, if any.
    #[must_use]
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.get("maddr").flatten()
    }

    /// Returns whether the `lr` parameter (loose routing, RFC 3261 §16.12) is present.
    #[must_use]
    pub fn lr(&self) -> bool {
        self.params.get("lr").is_some()
    }
}

impl PartialEq for Host<'_> {
    /// Host names compare case-insensitively, addresses by value; a name never equals an
    /// address (RFC 3261 §19.1.4).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Domain(a), Self::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Self::Ipv4(a), Self::Ipv4(b)) => a == b,
            (Self::Ipv6(a), Self::Ipv6(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => f.write_str(d),
            Self::Ipv4(a) => write!(f, "{a}"),
            Self::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// Parameters that must match whenever either URI has them (RFC 3261 §19.1.4).
const MUST_MATCH: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];

impl PartialEq for SipUri<'_> {
    /// RFC 3261 §19.1.4: user info case-sensitive, the rest case-insensitive, escapes
    /// decoded, parameter order ignored, `user`/`ttl`/`method`/`maddr`/`transport` and every
    /// header component must match, other parameters only where both have them.
    fn eq(&self, other: &Self) -> bool {
        if self.secure != other.secure
            || !opt_eq(self.user, other.user, false)
            || !opt_eq(self.password, other.password, false)
            || self.host != other.host
            || self.port != other.port
        {
            return false;
        }
        // Every parameter of `a` must match one of the same name in `b` (a repeated name
        // matches any of its values, which keeps equality reflexive); one `b` lacks is
        // ignored unless it is one of MUST_MATCH.
        let params_ok = |a: &UriParams<'_>, b: &UriParams<'_>| {
            a.iter().all(|(name, value)| {
                let same = |(n, _): &(&str, Option<&str>)| {
                    eq_unescaped(n.as_bytes(), name.as_bytes(), true)
                };
                let mut in_b = b.iter().filter(same).peekable();
                if in_b.peek().is_none() {
                    !MUST_MATCH.iter().any(|m| eq_unescaped(name.as_bytes(), m.as_bytes(), true))
                } else {
                    in_b.any(|(_, v)| opt_eq(value, v, true))
                }
            })
        };
        if !params_ok(&self.params, &other.params) || !params_ok(&other.params, &self.params) {
            return false;
        }
        let headers_in = |a: &SipUri<'_>, b: &SipUri<'_>| {
            a.header_fields().all(|(n, v)| {
                b.header_fields().any(|(m, w)| {
                    eq_unescaped(n.as_bytes(), m.as_bytes(), true)
                        && eq_unescaped(v.as_bytes(), w.as_bytes(), false)
                })
            })
        };
        headers_in(self, other) && headers_in(other, self)
    }
}

fn is_visual_separator(c: char) -> bool {
    matches!(c, '-' | '.' | '(' | ')')
}

impl PartialEq for TelUri<'_> {
    /// RFC 3966 §4: numbers compare without visual separators, parameters as a set,
    /// case-insensitively.
    fn eq(&self, other: &Self) -> bool {
        fn digits(s: &str) -> impl Iterator<Item = char> + '_ {
            s.chars().filter(|c| !is_visual_separator(*c)).map(|c| c.to_ascii_lowercase())
        }
        if !digits(self.number).eq(digits(other.number)) {
            return false;
        }
        // A global-number phone-context compares digit by digit, without visual separators.
        let value_eq = |name: &str, v: Option<&str>, w: Option<&str>| match (v, w) {
            (Some(v), Some(w))
                if name.eq_ignore_ascii_case("phone-context") && v.starts_with('+') =>
            {
                digits(v).eq(digits(w))
            }
            _ => opt_eq(v, w, true),
        };
        let subset = |a: &UriParams<'_>, b: &UriParams<'_>| {
            a.iter()
                .all(|(n, v)| b.iter().any(|(m, w)| n.eq_ignore_ascii_case(m) && value_eq(n, v, w)))
        };
        subset(&self.params, &other.params) && subset(&other.params, &self.params)
    }
}

/// Parses a whole URI; the error is the offset of the first offending byte.
pub(crate) fn parse_uri(s: &str) -> Res<Uri<'_>> {
    let b = s.as_bytes();
    let colon = b.iter().position(|&c| c == b':').ok_or(0usize)?;
    let scheme = &b[..colon];
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(0);
    }
    let rest = sub(s, colon + 1, s.len());
    let shift = |i: usize| i + colon + 1;
    if scheme.eq_ignore_ascii_case(b"sip") || scheme.eq_ignore_ascii_case(b"sips") {
        return parse_sip(rest, scheme.len() == 4, s).map(Uri::Sip).map_err(shift);
    }
    if scheme.eq_ignore_ascii_case(b"tel") {
        return parse_tel(rest, s).map(Uri::Tel).map_err(shift);
    }
    if rest.is_empty() {
        return Err(s.len());
    }
    check_escaped(rest.as_bytes(), &URIC).map_err(shift)?;
    Ok(Uri::Absolute(AbsoluteUri { scheme: sub(s, 0, colon), rest, raw: s }))
}

fn parse_sip<'a>(r: &'a str, secure: bool, raw: &'a str) -> Res<SipUri<'a>> {
    let rb = r.as_bytes();
    let (user, password, hp_off) = match rb.iter().position(|&b| b == b'@') {
        Some(at) => {
            let info = &rb[..at];
            let (ulen, p) = match info.iter().position(|&b| b == b':') {
                Some(c) => (c, Some(sub(r, c + 1, at))),
                None => (at, None),
            };
            if ulen == 0 {
                return Err(0);
            }
            check_escaped(&rb[..ulen], &USER)?;
            if let Some(p) = p {
                check_escaped(p.as_bytes(), &PASSWORD).map_err(|i| i + ulen + 1)?;
            }
            (Some(sub(r, 0, ulen)), p, at + 1)
        }
        None => (None, None, 0),
    };
    let hp = sub(r, hp_off, r.len());
    let hb = hp.as_bytes();
    let (host, mut i) = parse_host(hp).map_err(|i| i + hp_off)?;
    let mut port = None;
    if hb.get(i) == Some(&b':') {
        let start = i + 1;
        let mut end = start;
        while end < hb.len() && hb[end].is_ascii_digit() {
            end += 1;
        }
        let n = number(&hb[start..end], u64::from(u16::MAX)).map_err(|_| start + hp_off)?;
        port = Some(n as u16);
        i = end;
    }
    let params_start = i;
    i = uri_params(hb, i).map_err(|i| i + hp_off)?;
    let params = if i > params_start { sub(hp, params_start + 1, i) } else { "" };
    let mut headers = "";
    if hb.get(i) == Some(&b'?') {
        let start = i + 1;
        i = start;
        loop {
            let name_start = i;
            i = run_escaped(hb, i, &HNV);
            if i == name_start || hb.get(i) != Some(&b'=') {
                return Err(i + hp_off);
            }
            i = run_escaped(hb, i + 1, &HNV);
            if hb.get(i) != Some(&b'&') {
                break;
            }
            i += 1;
        }
        headers = sub(hp, start, i);
    }
    if i != hb.len() {
        return Err(i + hp_off);
    }
    Ok(SipUri { secure, user, password, host, port, params: UriParams(params), headers, raw })
}

/// Reads `*( ";" pname [ "=" pvalue ] )` from `i`, names and values non-empty runs of
/// `paramchar` and escapes (RFC 3261 §25.1 `uri-parameters`, RFC 3966 `par`); returns the
/// offset just past them.
fn uri_params(s: &[u8], mut i: usize) -> Res<usize> {
    while s.get(i) == Some(&b';') {
        i += 1;
        let name_start = i;
        i = run_escaped(s, i, &PARAMCHAR);
        if i == name_start {
            return Err(i);
        }
        if s.get(i) == Some(&b'=') {
            i += 1;
            let value_start = i;
            i = run_escaped(s, i, &PARAMCHAR);
            if i == value_start {
                return Err(i);
            }
        }
    }
    Ok(i)
}

/// Advances over `class` characters and valid `%HH` escapes.
fn run_escaped(s: &[u8], mut i: usize, class: &[bool; 256]) -> usize {
    while i < s.len() {
        let b = s[i];
        if class[b as usize] {
            i += 1;
        } else if b == b'%' && i + 2 < s.len() && hex(s[i + 1]).is_some() && hex(s[i + 2]).is_some()
        {
            i += 3;
        } else {
            break;
        }
    }
    i
}

fn parse_tel<'a>(r: &'a str, raw: &'a str) -> Res<TelUri<'a>> {
    let rb = r.as_bytes();
    let end = rb.iter().position(|&b| b == b';').unwrap_or(rb.len());
    let number = &rb[..end];
    let start = usize::from(number.first() == Some(&b'+'));
    if number.len() == start {
        return Err(start);
    }
    if let Some(bad) = number[start..].iter().position(|&b| {
        !(b.is_ascii_hexdigit()
            || matches!(b, b'*' | b'#' | b'-' | b'.' | b'(' | b')' | b'p' | b'w'))
    }) {
        return Err(start + bad);
    }
    let i = uri_params(rb, end)?;
    if i != rb.len() {
        return Err(i);
    }
    let params = if end < rb.len() { sub(r, end + 1, rb.len()) } else { "" };
    Ok(TelUri { number: sub(r, 0, end), params: UriParams(params), raw })
}

/// Parses a host at the start of `s`: `[IPv6]`, IPv4 or a host name, in one pass. Returns
/// the host and the offset just past it.
pub(crate) fn parse_host(s: &str) -> Res<(Host<'_>, usize)> {
    let b = s.as_bytes();
    if b.first() == Some(&b'[') {
        let close = b.iter().position(|&c| c == b']').ok_or(b.len())?;
        let addr = parse_ipv6(&b[1..close]).ok_or(1usize)?;
        return Ok((Host::Ipv6(addr), close + 1));
    }
    // Fast path: a dotted quad, decoded in the same pass that finds its end.
    if b.first().is_some_and(u8::is_ascii_digit)
        && let Some((addr, end)) = ipv4_prefix(b)
        && !b.get(end).is_some_and(|&c| HOSTNAME[c as usize])
    {
        return Ok((Host::Ipv4(addr), end));
    }
    // hostname = *( domainlabel "." ) toplabel [ "." ], toplabel starting with a letter;
    // a name of digits and dots only must be an IPv4 address.
    let mut end = 0;
    let mut label_start = 0;
    let mut numeric = true;
    // Whether the current label, and the one before the last dot, start with a letter.
    let mut alpha = false;
    let mut prev_alpha = false;
    while end < b.len() {
        let c = b[end];
        if c == b'.' {
            if end == label_start {
                return Err(end);
            }
            prev_alpha = alpha;
            label_start = end + 1;
        } else if HOSTNAME[c as usize] {
            if end == label_start {
                alpha = c.is_ascii_alphabetic();
            }
            numeric &= c.is_ascii_digit();
        } else {
            break;
        }
        end += 1;
    }
    if end == 0 {
        return Err(0);
    }
    if numeric {
        return parse_ipv4(&b[..end]).map(|a| (Host::Ipv4(a), end)).ok_or(0);
    }
    // A trailing dot closes the name: then the top label is the one before it.
    let top_alpha = if end == label_start { prev_alpha } else { alpha };
    if !top_alpha {
        return Err(0);
    }
    Ok((Host::Domain(sub(s, 0, end)), end))
}

/// Reads a dotted quad at the start of `s`; returns it and its length.
fn ipv4_prefix(s: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, o) in octets.iter_mut().enumerate() {
        if n > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u16 = 0;
        while i < s.len() && i - start < 3 && s[i].is_ascii_digit() {
            v = v * 10 + u16::from(s[i] - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
        *o = u8::try_from(v).ok()?;
    }
    Some((Ipv4Addr::from(octets), i))
}

/// Parses a dotted quad of 1–3 digit decimal octets (leading zeros allowed, RFC 3261).
pub(crate) fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    let mut v: u16 = 0;
    let mut digits = 0;
    for &c in s {
        if c == b'.' {
            if digits == 0 || n == 3 {
                return None;
            }
            octets[n] = u8::try_from(v).ok()?;
            n += 1;
            v = 0;
            digits = 0;
        } else if c.is_ascii_digit() && digits < 3 {
            v = v * 10 + u16::from(c - b'0');
            digits += 1;
        } else {
            return None;
        }
    }
    if digits == 0 || n != 3 {
        return None;
    }
    octets[3] = u8::try_from(v).ok()?;
    Some(Ipv4Addr::from(octets))
}

/// Parses an IPv6 address, also tolerating the `:::` form that RFC 3261's ABNF allows
/// before an embedded IPv4 address (RFC 5118 §4.10).
pub(crate) fn parse_ipv6(s: &[u8]) -> Option<Ipv6Addr> {
    if s.len() > 45 || !s.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
        return None;
    }
    if let Ok(a) = text(s).parse() {
        return Some(a);
    }
    let pos = s.windows(3).position(|w| w == b":::")?;
    let mut buf = [0u8; 45];
    buf[..pos].copy_from_slice(&s[..pos]);
    buf[pos..s.len() - 1].copy_from_slice(&s[pos + 1..]);
    text(&buf[..s.len() - 1]).parse().ok()
}
