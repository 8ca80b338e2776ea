//! Header names: the known ones as a `Copy` enum, compact forms mapped to long forms.

/// A header name. Known headers are variants; any other is [`HeaderName::Other`], and its
/// spelling stays available from the message. Comparison is case-insensitive by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HeaderName {
    /// `Accept`.
    Accept,
    /// `Accept-Contact` (compact form `a`).
    AcceptContact,
    /// `Accept-Encoding`.
    AcceptEncoding,
    /// `Accept-Language`.
    AcceptLanguage,
    /// `Alert-Info`.
    AlertInfo,
    /// `Allow`.
    Allow,
    /// `Allow-Events` (compact form `u`).
    AllowEvents,
    /// `Authentication-Info`.
    AuthenticationInfo,
    /// `Authorization`.
    Authorization,
    /// `Call-ID` (compact form `i`).
    CallId,
    /// `Call-Info`.
    CallInfo,
    /// `Contact` (compact form `m`).
    Contact,
    /// `Content-Disposition`.
    ContentDisposition,
    /// `Content-Encoding` (compact form `e`).
    ContentEncoding,
    /// `Content-Language`.
    ContentLanguage,
    /// `Content-Length` (compact form `l`).
    ContentLength,
    /// `Content-Type` (compact form `c`).
    ContentType,
    /// `CSeq`.
    CSeq,
    /// `Date`.
    Date,
    /// `Error-Info`.
    ErrorInfo,
    /// `Event` (compact form `o`).
    Event,
    /// `Expires`.
    Expires,
    /// `From` (compact form `f`).
    From,
    /// `Identity` (compact form `y`).
    Identity,
    /// `In-Reply-To`.
    InReplyTo,
    /// `Max-Forwards`.
    MaxForwards,
    /// `Min-Expires`.
    MinExpires,
    /// `Min-SE`.
    MinSe,
    /// `MIME-Version`.
    MimeVersion,
    /// `Organization`.
    Organization,
    /// `Priority`.
    Priority,
    /// `Proxy-Authenticate`.
    ProxyAuthenticate,
    /// `Proxy-Authorization`.
    ProxyAuthorization,
    /// `Proxy-Require`.
    ProxyRequire,
    /// `RAck`.
    RAck,
    /// `Reason`.
    Reason,
    /// `Record-Route`.
    RecordRoute,
    /// `Refer-To` (compact form `r`).
    ReferTo,
    /// `Referred-By` (compact form `b`).
    ReferredBy,
    /// `Replaces`.
    Replaces,
    /// `Reply-To`.
    ReplyTo,
    /// `Require`.
    Require,
    /// `Retry-After`.
    RetryAfter,
    /// `Route`.
    Route,
    /// `RSeq`.
    RSeq,
    /// `Server`.
    Server,
    /// `Session-Expires` (compact form `x`).
    SessionExpires,
    /// `Subject` (compact form `s`).
    Subject,
    /// `Subscription-State`.
    SubscriptionState,
    /// `Supported` (compact form `k`).
    Supported,
    /// `Timestamp`.
    Timestamp,
    /// `To` (compact form `t`).
    To,
    /// `Unsupported`.
    Unsupported,
    /// `User-Agent`.
    UserAgent,
    /// `Via` (compact form `v`).
    Via,
    /// `Warning`.
    Warning,
    /// `WWW-Authenticate`.
    WwwAuthenticate,
    /// A header this crate does not know by name.
    Other,
}

impl HeaderName {
    /// Identifies a header name, case-insensitively, mapping compact forms to long forms.
    #[must_use]
    pub fn from_bytes(name: &[u8]) -> Self {
        let Some(&first) = name.first() else { return Self::Other };
        // One candidate from (length, first letter[, one distinguishing letter]), then
        // a single case-insensitive comparison.
        let candidate = match (name.len(), first | 0x20) {
            (1, b'a') => return Self::AcceptContact,
            (1, b'u') => return Self::AllowEvents,
            (1, b'i') => return Self::CallId,
            (1, b'f') => return Self::From,
            (1, b'm') => return Self::Contact,
            (1, b'e') => return Self::ContentEncoding,
            (1, b'l') => return Self::ContentLength,
            (1, b'c') => return Self::ContentType,
            (1, b'o') => return Self::Event,
            (1, b'y') => return Self::Identity,
            (1, b'r') => return Self::ReferTo,
            (1, b'b') => return Self::ReferredBy,
            (1, b'x') => return Self::SessionExpires,
            (1, b's') => return Self::Subject,
            (1, b'k') => return Self::Supported,
            (1, b't') => return Self::To,
            (1, b'v') => return Self::Via,
            (2, b't') => Self::To,
            (3, b'v') => Self::Via,
            (4, b'c') => Self::CSeq,
            (4, b'd') => Self::Date,
            (4, b'f') => Self::From,
            (4, b'r') => match name[1] | 0x20 {
                b'a' => Self::RAck,
                b's' => Self::RSeq,
                _ => return Self::Other,
            },
            (5, b'a') => Self::Allow,
            (5, b'e') => Self::Event,
            (5, b'r') => Self::Route,
            (6, b'a') => Self::Accept,
            (6, b'm') => Self::MinSe,
            (6, b'r') => Self::Reason,
            (6, b's') => Self::Server,
            (7, b'c') => match name[1] | 0x20 {
                b'a' => Self::CallId,
                b'o' => Self::Contact,
                _ => return Self::Other,
            },
            (7, b'e') => Self::Expires,
            (7, b'r') => Self::Require,
            (7, b's') => Self::Subject,
            (7, b'w') => Self::Warning,
            (8, b'i') => Self::Identity,
            (8, b'p') => Self::Priority,
            (8, b'r') => match name[4] | 0x20 {
                b'a' => Self::Replaces,
                b'r' => Self::ReferTo,
                b'y' => Self::ReplyTo,
                _ => return Self::Other,
            },
            (9, b'c') => Self::CallInfo,
            (9, b's') => Self::Supported,
            (9, b't') => Self::Timestamp,
            (10, b'a') => Self::AlertInfo,
            (10, b'e') => Self::ErrorInfo,
            (10, b'u') => Self::UserAgent,
            (11, b'i') => Self::InReplyTo,
            (11, b'm') => Self::MinExpires,
            (11, b'r') => match name[2] | 0x20 {
                b'f' => Self::ReferredBy,
                b't' => Self::RetryAfter,
                _ => return Self::Other,
            },
            (11, b'u') => Self::Unsupported,
            (12, b'a') => Self::AllowEvents,
            (12, b'c') => Self::ContentType,
            (12, b'm') => match name[1] | 0x20 {
                b'a' => Self::MaxForwards,
                b'i' => Self::MimeVersion,
                _ => return Self::Other,
            },
            (12, b'o') => Self::Organization,
            (12, b'r') => Self::RecordRoute,
            (13, b'a') => Self::Authorization,
            (13, b'p') => Self::ProxyRequire,
            (14, b'a') => Self::AcceptContact,
            (14, b'c') => Self::ContentLength,
            (15, b'a') => match name[7] | 0x20 {
                b'e' => Self::AcceptEncoding,
                b'l' => Self::AcceptLanguage,
                _ => return Self::Other,
            },
            (15, b's') => Self::SessionExpires,
            (16, b'c') => match name[8] | 0x20 {
                b'e' => Self::ContentEncoding,
                b'l' => Self::ContentLanguage,
                _ => return Self::Other,
            },
            (16, b'w') => Self::WwwAuthenticate,
            (18, b'p') => Self::ProxyAuthenticate,
            (18, b's') => Self::SubscriptionState,
            (19, b'a') => Self::AuthenticationInfo,
            (19, b'c') => Self::ContentDisposition,
            (19, b'p') => Self::ProxyAuthorization,
            _ => return Self::Other,
        };
        match candidate.as_str() {
            Some(long) if eq_token_ci(name, long.as_bytes()) => candidate,
            _ => Self::Other,
        }
    }

    /// Returns the canonical long form, e.g. `Call-ID`; `None` for [`HeaderName::Other`].
    #[must_use]
    pub const fn as_str(&self) -> Option<&'static str> {
        Some(match self {
            Self::Accept => "Accept",
            Self::AcceptContact => "Accept-Contact",
            Self::AcceptEncoding => "Accept-Encoding",
            Self::AcceptLanguage => "Accept-Language",
            Self::AlertInfo => "Alert-Info",
            Self::Allow => "Allow",
            Self::AllowEvents => "Allow-Events",
            Self::AuthenticationInfo => "Authentication-Info",
            Self::Authorization => "Authorization",
            Self::CallId => "Call-ID",
            Self::CallInfo => "Call-Info",
            Self::Contact => "Contact",
            Self::ContentDisposition => "Content-Disposition",
            Self::ContentEncoding => "Content-Encoding",
            Self::ContentLanguage => "Content-Language",
            Self::ContentLength => "Content-Length",
            Self::ContentType => "Content-Type",
            Self::CSeq => "CSeq",
            Self::Date => "Date",
            Self::ErrorInfo => "Error-Info",
            Self::Event => "Event",
            Self::Expires => "Expires",
            Self::From => "From",
            Self::Identity => "Identity",
            Self::InReplyTo => "In-Reply-To",
            Self::MaxForwards => "Max-Forwards",
            Self::MinExpires => "Min-Expires",
            Self::MinSe => "Min-SE",
            Self::MimeVersion => "MIME-Version",
            Self::Organization => "Organization",
            Self::Priority => "Priority",
            Self::ProxyAuthenticate => "Proxy-Authenticate",
            Self::ProxyAuthorization => "Proxy-Authorization",
            Self::ProxyRequire => "Proxy-Require",
            Self::RAck => "RAck",
            Self::Reason => "Reason",
            Self::RecordRoute => "Record-Route",
            Self::ReferTo => "Refer-To",
            Self::ReferredBy => "Referred-By",
            Self::Replaces => "Replaces",
            Self::ReplyTo => "Reply-To",
            Self::Require => "Require",
            Self::RetryAfter => "Retry-After",
            Self::Route => "Route",
            Self::RSeq => "RSeq",
            Self::Server => "Server",
            Self::SessionExpires => "Session-Expires",
            Self::Subject => "Subject",
            Self::SubscriptionState => "Subscription-State",
            Self::Supported => "Supported",
            Self::Timestamp => "Timestamp",
            Self::To => "To",
            Self::Unsupported => "Unsupported",
            Self::UserAgent => "User-Agent",
            Self::Via => "Via",
            Self::Warning => "Warning",
            Self::WwwAuthenticate => "WWW-Authenticate",
            Self::Other => return None,
        })
    }

    /// Returns whether a comma separates values of this header (RFC 3261 §7.3.1).
    ///
    /// `false` for single-valued headers and for those whose grammar lets a comma appear
    /// inside one value (Date, the authentication headers, free text).
    #[must_use]
    pub const fn is_list(&self) -> bool {
        matches!(
            self,
            Self::Accept
                | Self::AcceptContact
                | Self::AcceptEncoding
                | Self::AcceptLanguage
                | Self::AlertInfo
                | Self::Allow
                | Self::AllowEvents
                | Self::CallInfo
                | Self::Contact
                | Self::ContentEncoding
                | Self::ContentLanguage
                | Self::ErrorInfo
                | Self::InReplyTo
                | Self::ProxyRequire
                | Self::Reason
                | Self::RecordRoute
                | Self::Require
                | Self::Route
                | Self::Supported
                | Self::Unsupported
                | Self::Via
                | Self::Warning
        )
    }
}

/// Compares a token with a canonical header name case-insensitively. Canonical names hold
/// only letters and `-`, and among token characters only a letter ORed with 0x20 gives a
/// lower-case letter (and only `-` gives `-`), so one OR per byte is exact.
#[inline]
fn eq_token_ci(token: &[u8], canonical: &[u8]) -> bool {
    token.len() == canonical.len() && token.iter().zip(canonical).all(|(a, b)| a | 0x20 == b | 0x20)
}

impl core::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str().unwrap_or("extension"))
    }
}

impl HeaderName {
    /// A 400 reason phrase naming a malformed header, e.g. "Bad Via".
    pub(crate) const fn bad_phrase(&self) -> &'static str {
        match self {
            Self::Via => "Bad Request - Bad Via",
            Self::From => "Bad Request - Bad From",
            Self::To => "Bad Request - Bad To",
            Self::CallId => "Bad Request - Bad Call-ID",
            Self::CSeq => "Bad Request - Bad CSeq",
            Self::MaxForwards => "Bad Request - Bad Max-Forwards",
            Self::Contact => "Bad Request - Bad Contact",
            Self::Route => "Bad Request - Bad Route",
            Self::RecordRoute => "Bad Request - Bad Record-Route",
            Self::ContentLength => "Bad Request - Bad Content-Length",
            Self::ContentType => "Bad Request - Bad Content-Type",
            Self::Require => "Bad Request - Bad Require",
            Self::RAck => "Bad Request - Bad RAck",
            Self::RSeq => "Bad Request - Bad RSeq",
            Self::Expires => "Bad Request - Bad Expires",
            Self::Event => "Bad Request - Bad Event",
            Self::ReferTo => "Bad Request - Bad Refer-To",
            Self::SessionExpires => "Bad Request - Bad Session-Expires",
            _ => "Bad Request - Bad Header",
        }
    }

    /// A 400 reason phrase naming a missing header, e.g. "Missing Call-ID".
    pub(crate) const fn missing_phrase(&self) -> &'static str {
        match self {
            Self::Via => "Bad Request - Missing Via",
            Self::From => "Bad Request - Missing From",
            Self::To => "Bad Request - Missing To",
            Self::CallId => "Bad Request - Missing Call-ID",
            Self::CSeq => "Bad Request - Missing CSeq",
            Self::ContentLength => "Bad Request - Missing Content-Length",
            Self::Contact => "Bad Request - Missing Contact",
            _ => "Bad Request - Missing Header",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HeaderName;

    #[test]
    fn every_known_name_maps_back_in_any_case() {
        let mut known = 0;
        for b in 0..=255u8 {
            let n = HeaderName::from_bytes(&[b]);
            if n != HeaderName::Other {
                known += 1;
            }
        }
        assert_eq!(known, 34, "17 compact forms, upper and lower case");
        for name in ["Via", "Call-ID", "Content-Length", "WWW-Authenticate", "Min-SE", "RAck"] {
            let n = HeaderName::from_bytes(name.as_bytes());
            assert_eq!(n.as_str(), Some(name));
            assert_eq!(HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()), n);
            assert_eq!(HeaderName::from_bytes(name.to_ascii_uppercase().as_bytes()), n);
        }
        for (short, long) in [
            ("i", "Call-ID"),
            ("m", "Contact"),
            ("e", "Content-Encoding"),
            ("l", "Content-Length"),
            ("c", "Content-Type"),
            ("f", "From"),
            ("s", "Subject"),
            ("k", "Supported"),
            ("t", "To"),
            ("v", "Via"),
            ("o", "Event"),
            ("r", "Refer-To"),
            ("b", "Referred-By"),
            ("x", "Session-Expires"),
            ("u", "Allow-Events"),
            ("y", "Identity"),
            ("a", "Accept-Contact"),
        ] {
            assert_eq!(HeaderName::from_bytes(short.as_bytes()).as_str(), Some(long));
        }
    }

    #[test]
    fn near_misses_are_other() {
        for name in ["Vib", "Call-IE", "Content-Lengtx", "Vi", "X-Via", "Via-", "Cal-lID", "To-"] {
            assert_eq!(HeaderName::from_bytes(name.as_bytes()), HeaderName::Other, "{name}");
        }
    }

    #[test]
    fn every_variant_round_trips_through_its_canonical_name() {
        let mut n = 0;
        for v in ALL {
            let s = v.as_str().expect("known");
            assert_eq!(HeaderName::from_bytes(s.as_bytes()), v, "{s}");
            n += 1;
        }
        assert!(n > 50);
    }

    use HeaderName::*;
    const ALL: [HeaderName; 57] = [
        Accept,
        AcceptContact,
        AcceptEncoding,
        AcceptLanguage,
        AlertInfo,
        Allow,
        AllowEvents,
        AuthenticationInfo,
        Authorization,
        CallId,
        CallInfo,
        Contact,
        ContentDisposition,
        ContentEncoding,
        ContentLanguage,
        ContentLength,
        ContentType,
        CSeq,
        Date,
        ErrorInfo,
        Event,
        Expires,
        From,
        Identity,
        InReplyTo,
        MaxForwards,
        MinExpires,
        MinSe,
        MimeVersion,
        Organization,
        Priority,
        ProxyAuthenticate,
        ProxyAuthorization,
        ProxyRequire,
        RAck,
        Reason,
        RecordRoute,
        ReferTo,
        ReferredBy,
        Replaces,
        ReplyTo,
        Require,
        RetryAfter,
        Route,
        RSeq,
        Server,
        SessionExpires,
        Subject,
        SubscriptionState,
        Supported,
        Timestamp,
        To,
        Unsupported,
        UserAgent,
        Via,
        Warning,
        WwwAuthenticate,
    ];
}
