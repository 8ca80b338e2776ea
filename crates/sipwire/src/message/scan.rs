//! Byte classes and a cursor for the RFC 3261 §25 grammar.
//!
//! Header values handed to the cursor come from the tokenizer, which guarantees that CR and
//! LF inside a value only ever occur as line folds (`CRLF 1*WSP`). So inside a value every
//! SP, HT, CR and LF is linear white space, and skipping LWS is one byte class.

/// Decoders report the offset, inside the slice they were given, where they gave up.
pub(crate) type Res<T> = Result<T, usize>;

const fn class_table(chars: &[u8], alnum: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < chars.len() {
        t[chars[i] as usize] = true;
        i += 1;
    }
    if alnum {
        let mut c = b'0';
        while c <= b'9' {
            t[c as usize] = true;
            c += 1;
        }
        let mut c = b'a';
        while c <= b'z' {
            t[c as usize] = true;
            t[(c - 32) as usize] = true;
            c += 1;
        }
    }
    t
}

/// `token` (RFC 3261 §25.1).
pub(crate) static TOKEN: [bool; 256] = class_table(b"-.!%*_+`'~", true);
/// `word`, as in Call-ID (RFC 3261 §25.1).
pub(crate) static WORD: [bool; 256] = class_table(b"-.!%*_+`'~()<>:\\\"/[]?{}", true);
/// Characters of a SIP-URI user part besides escapes.
pub(crate) static USER: [bool; 256] = class_table(b"-_.!~*'()&=+$,;?/", true);
/// Characters of a SIP-URI password besides escapes.
pub(crate) static PASSWORD: [bool; 256] = class_table(b"-_.!~*'()&=+$,", true);
/// `paramchar` besides escapes.
pub(crate) static PARAMCHAR: [bool; 256] = class_table(b"-_.!~*'()[]/:&+$", true);
/// URI header name/value characters besides escapes.
pub(crate) static HNV: [bool; 256] = class_table(b"-_.!~*'()[]/?:+$", true);
/// `uric` for opaque absolute URIs, besides escapes.
pub(crate) static URIC: [bool; 256] = class_table(b"-_.!~*'();/?:@&=+$,#[]", true);
/// Host name characters (RFC 3261 `hostname`, plus `_` which real networks use).
pub(crate) static HOSTNAME: [bool; 256] = class_table(b"-._", true);
/// Generic parameter values besides tokens: hosts, IPv6 references.
pub(crate) static GEN_VALUE: [bool; 256] = class_table(b"-.!%*_+`'~:[]", true);

/// Returns whether `b` is linear white space inside a header value.
#[inline]
pub(crate) const fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Returns the slice without leading and trailing white space.
#[inline]
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let mut a = 0;
    let mut b = s.len();
    while a < b && is_lws(s[a]) {
        a += 1;
    }
    while b > a && is_lws(s[b - 1]) {
        b -= 1;
    }
    &s[a..b]
}

/// Turns bytes already checked to be ASCII (or UTF-8) into a `&str`.
#[inline]
pub(crate) fn text(s: &[u8]) -> &str {
    // Callers only pass bytes of checked classes, so this never falls back; the fallback keeps
    // the function total with a checked conversion.
    core::str::from_utf8(s).unwrap_or("")
}

/// Value of an ASCII hex digit.
#[inline]
pub(crate) const fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks that `s` is made of `class` characters and `%HH` escapes.
pub(crate) fn check_escaped(s: &[u8], class: &[bool; 256]) -> Res<()> {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%' {
            if i + 2 >= s.len() {
                return Err(i);
            }
            if hex(s[i + 1]).is_none() || hex(s[i + 2]).is_none() {
                return Err(i);
            }
            i += 3;
        } else if class[b as usize] {
            i += 1;
        } else {
            return Err(i);
        }
    }
    Ok(())
}

/// Parses a decimal number made only of digits (leading zeros allowed) that fits `max`.
/// `Err(true)` means the digits were fine but the value too large.
pub(crate) fn number(s: &[u8], max: u64) -> Result<u64, bool> {
    if s.is_empty() {
        return Err(false);
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return Err(false);
        }
        v = v.saturating_mul(10).saturating_add(u64::from(b - b'0'));
        if v > max {
            // Keep reading so a non-digit later still reports as malformed.
            if s.iter().all(u8::is_ascii_digit) {
                return Err(true);
            }
            return Err(false);
        }
    }
    Ok(v)
}

/// Parses `1*DIGIT` as a `u32`, saturating at `u32::MAX` (RFC 3261 delta-seconds).
pub(crate) fn parse_u32_sat(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |v, &d| v.saturating_mul(10).saturating_add(u32::from(d - b'0'))))
}

/// Decodes `%HH` escapes (RFC 3261 §19.1.2) once, byte by byte, without allocating.
#[derive(Debug, Clone)]
pub(crate) struct Unescape<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Unescape<'a> {
    pub(crate) const fn new(s: &'a [u8]) -> Self {
        Self { s, i: 0 }
    }
}

impl Iterator for Unescape<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        let b = *self.s.get(self.i)?;
        if b == b'%'
            && self.i + 2 < self.s.len()
            && let (Some(h), Some(l)) = (hex(self.s[self.i + 1]), hex(self.s[self.i + 2]))
        {
            self.i += 3;
            return Some(h << 4 | l);
        }
        self.i += 1;
        Some(b)
    }
}

/// A cursor over one header value (or URI), which is already known to be UTF-8: slices
/// taken at ASCII delimiters are `&str` without another validation pass.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    pub(crate) src: &'a str,
    pub(crate) s: &'a [u8],
    pub(crate) pos: usize,
}

/// Returns `s[a..b]`, or `""` if the range is not on character boundaries (it always is:
/// callers cut at ASCII delimiters).
#[inline]
pub(crate) fn sub(s: &str, a: usize, b: usize) -> &str {
    s.get(a..b).unwrap_or_default()
}

impl<'a> Cursor<'a> {
    pub(crate) const fn new(src: &'a str) -> Self {
        Self { src, s: src.as_bytes(), pos: 0 }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Returns the text from `start` to the cursor.
    #[inline]
    pub(crate) fn since(&self, start: usize) -> &'a str {
        sub(self.src, start, self.pos)
    }

    /// Returns what is left.
    #[inline]
    pub(crate) fn rest(&self) -> &'a str {
        sub(self.src, self.pos, self.s.len())
    }

    /// Fails at the current position.
    #[inline]
    pub(crate) fn fail<T>(&self) -> Res<T> {
        Err(self.pos)
    }

    /// Skips linear white space (LWS / SWS); returns whether any was skipped.
    #[inline]
    pub(crate) fn ws(&mut self) -> bool {
        let start = self.pos;
        while self.pos < self.s.len() && is_lws(self.s[self.pos]) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Consumes `b` if it is next.
    #[inline]
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `SWS b SWS` (the SEMI, COLON, EQUAL, SLASH … of §25.1) if `b` is next.
    #[inline]
    pub(crate) fn sep(&mut self, b: u8) -> bool {
        let save = self.pos;
        self.ws();
        if self.eat(b) {
            self.ws();
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Takes the longest run of `class` characters (possibly empty).
    #[inline]
    pub(crate) fn take(&mut self, class: &[bool; 256]) -> &'a str {
        let start = self.pos;
        while self.pos < self.s.len() && class[self.s[self.pos] as usize] {
            self.pos += 1;
        }
        self.since(start)
    }

    /// Takes a non-empty token.
    #[inline]
    pub(crate) fn token(&mut self) -> Res<&'a str> {
        let t = self.take(&TOKEN);
        if t.is_empty() { self.fail() } else { Ok(t) }
    }

    /// Takes a quoted string (cursor on the opening quote) and returns its raw content,
    /// quoted-pairs still escaped (RFC 3261 §25.1 `quoted-string`).
    pub(crate) fn quoted(&mut self) -> Res<&'a str> {
        let open = self.pos;
        if !self.eat(b'"') {
            return self.fail();
        }
        let start = self.pos;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    let inner = self.since(start);
                    self.pos += 1;
                    return Ok(inner);
                }
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                b'\\' => match self.s.get(self.pos + 1) {
                    Some(&c) if c <= 0x7f && c != b'\r' && c != b'\n' => self.pos += 2,
                    _ => return self.fail(),
                },
                // Raw CR/LF only appear here as folds, which are LWS inside qdtext; other
                // controls must be quoted-pairs.
                b'\t' | b'\r' | b'\n' => self.pos += 1,
                0..=0x1f | 0x7f => return self.fail(),
                _ => self.pos += 1,
            }
        }
        Err(open)
    }
}

/// Splits a list header value at top-level commas, honouring quoted strings and `<…>`.
#[derive(Debug, Clone)]
pub(crate) struct Split<'a> {
    s: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Split<'a> {
    pub(crate) const fn new(s: &'a [u8]) -> Self {
        Self { s, pos: 0, done: false }
    }
}

impl<'a> Iterator for Split<'a> {
    /// The element (untrimmed) and its offset in the value.
    type Item = (&'a [u8], usize);
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let mut in_quote = false;
        let mut in_angle = false;
        let mut i = start;
        while i < self.s.len() {
            let b = self.s[i];
            if in_quote {
                if b == b'\\' {
                    i += 1;
                } else if b == b'"' {
                    in_quote = false;
                }
            } else {
                match b {
                    b'"' => in_quote = true,
                    b'<' => in_angle = true,
                    b'>' => in_angle = false,
                    b',' if !in_angle => {
                        self.pos = i + 1;
                        return Some((&self.s[start..i], start));
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        self.done = true;
        Some((&self.s[start..], start))
    }
}
