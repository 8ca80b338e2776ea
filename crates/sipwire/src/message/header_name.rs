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
        match name.len() {
            1 => match name[0] | 0x20 {
                b'a' => Self::AcceptContact,
                b'u' => Self::AllowEvents,
                b'i' => Self::CallId,
                b'f' => Self::From,
                b'm' => Self::Contact,
                b'e' => Self::ContentEncoding,
                b'l' => Self::ContentLength,
                b'c' => Self::ContentType,
                b'o' => Self::Event,
                b'y' => Self::Identity,
                b'r' => Self::ReferTo,
                b'b' => Self::ReferredBy,
                b'x' => Self::SessionExpires,
                b's' => Self::Subject,
                b'k' => Self::Supported,
                b't' => Self::To,
                b'v' => Self::Via,
                _ => Self::Other,
            },
            2 => {
                if name.eq_ignore_ascii_case(b"To") {
                    return Self::To;
                }
                Self::Other
            }
            3 => {
                if name.eq_ignore_ascii_case(b"Via") {
                    return Self::Via;
                }
                Self::Other
            }
            4 => {
                if name.eq_ignore_ascii_case(b"From") {
                    return Self::From;
                }
                if name.eq_ignore_ascii_case(b"CSeq") {
                    return Self::CSeq;
                }
                if name.eq_ignore_ascii_case(b"Date") {
                    return Self::Date;
                }
                if name.eq_ignore_ascii_case(b"RAck") {
                    return Self::RAck;
                }
                if name.eq_ignore_ascii_case(b"RSeq") {
                    return Self::RSeq;
                }
                Self::Other
            }
            5 => {
                if name.eq_ignore_ascii_case(b"Allow") {
                    return Self::Allow;
                }
                if name.eq_ignore_ascii_case(b"Event") {
                    return Self::Event;
                }
                if name.eq_ignore_ascii_case(b"Route") {
                    return Self::Route;
                }
                Self::Other
            }
            6 => {
                if name.eq_ignore_ascii_case(b"Accept") {
                    return Self::Accept;
                }
                if name.eq_ignore_ascii_case(b"Min-SE") {
                    return Self::MinSe;
                }
                if name.eq_ignore_ascii_case(b"Reason") {
                    return Self::Reason;
                }
                if name.eq_ignore_ascii_case(b"Server") {
                    return Self::Server;
                }
                Self::Other
            }
            7 => {
                if name.eq_ignore_ascii_case(b"Call-ID") {
                    return Self::CallId;
                }
                if name.eq_ignore_ascii_case(b"Contact") {
                    return Self::Contact;
                }
                if name.eq_ignore_ascii_case(b"Expires") {
                    return Self::Expires;
                }
                if name.eq_ignore_ascii_case(b"Require") {
                    return Self::Require;
                }
                if name.eq_ignore_ascii_case(b"Subject") {
                    return Self::Subject;
                }
                if name.eq_ignore_ascii_case(b"Warning") {
                    return Self::Warning;
                }
                Self::Other
            }
            8 => {
                if name.eq_ignore_ascii_case(b"Identity") {
                    return Self::Identity;
                }
                if name.eq_ignore_ascii_case(b"Priority") {
                    return Self::Priority;
                }
                if name.eq_ignore_ascii_case(b"Refer-To") {
                    return Self::ReferTo;
                }
                if name.eq_ignore_ascii_case(b"Replaces") {
                    return Self::Replaces;
                }
                if name.eq_ignore_ascii_case(b"Reply-To") {
                    return Self::ReplyTo;
                }
                Self::Other
            }
            9 => {
                if name.eq_ignore_ascii_case(b"Call-Info") {
                    return Self::CallInfo;
                }
                if name.eq_ignore_ascii_case(b"Supported") {
                    return Self::Supported;
                }
                if name.eq_ignore_ascii_case(b"Timestamp") {
                    return Self::Timestamp;
                }
                Self::Other
            }
            10 => {
                if name.eq_ignore_ascii_case(b"Alert-Info") {
                    return Self::AlertInfo;
                }
                if name.eq_ignore_ascii_case(b"Error-Info") {
                    return Self::ErrorInfo;
                }
                if name.eq_ignore_ascii_case(b"User-Agent") {
                    return Self::UserAgent;
                }
                Self::Other
            }
            11 => {
                if name.eq_ignore_ascii_case(b"In-Reply-To") {
                    return Self::InReplyTo;
                }
                if name.eq_ignore_ascii_case(b"Min-Expires") {
                    return Self::MinExpires;
                }
                if name.eq_ignore_ascii_case(b"Referred-By") {
                    return Self::ReferredBy;
                }
                if name.eq_ignore_ascii_case(b"Retry-After") {
                    return Self::RetryAfter;
                }
                if name.eq_ignore_ascii_case(b"Unsupported") {
                    return Self::Unsupported;
                }
                Self::Other
            }
            12 => {
                if name.eq_ignore_ascii_case(b"Allow-Events") {
                    return Self::AllowEvents;
                }
                if name.eq_ignore_ascii_case(b"Content-Type") {
                    return Self::ContentType;
                }
                if name.eq_ignore_ascii_case(b"Max-Forwards") {
                    return Self::MaxForwards;
                }
                if name.eq_ignore_ascii_case(b"MIME-Version") {
                    return Self::MimeVersion;
                }
                if name.eq_ignore_ascii_case(b"Organization") {
                    return Self::Organization;
                }
                if name.eq_ignore_ascii_case(b"Record-Route") {
                    return Self::RecordRoute;
                }
                Self::Other
            }
            13 => {
                if name.eq_ignore_ascii_case(b"Authorization") {
                    return Self::Authorization;
                }
                if name.eq_ignore_ascii_case(b"Proxy-Require") {
                    return Self::ProxyRequire;
                }
                Self::Other
            }
            14 => {
                if name.eq_ignore_ascii_case(b"Accept-Contact") {
                    return Self::AcceptContact;
                }
                if name.eq_ignore_ascii_case(b"Content-Length") {
                    return Self::ContentLength;
                }
                Self::Other
            }
            15 => {
                if name.eq_ignore_ascii_case(b"Accept-Encoding") {
                    return Self::AcceptEncoding;
                }
                if name.eq_ignore_ascii_case(b"Accept-Language") {
                    return Self::AcceptLanguage;
                }
                if name.eq_ignore_ascii_case(b"Session-Expires") {
                    return Self::SessionExpires;
                }
                Self::Other
            }
            16 => {
                if name.eq_ignore_ascii_case(b"Content-Encoding") {
                    return Self::ContentEncoding;
                }
                if name.eq_ignore_ascii_case(b"Content-Language") {
                    return Self::ContentLanguage;
                }
                if name.eq_ignore_ascii_case(b"WWW-Authenticate") {
                    return Self::WwwAuthenticate;
                }
                Self::Other
            }
            18 => {
                if name.eq_ignore_ascii_case(b"Proxy-Authenticate") {
                    return Self::ProxyAuthenticate;
                }
                if name.eq_ignore_ascii_case(b"Subscription-State") {
                    return Self::SubscriptionState;
                }
                Self::Other
            }
            19 => {
                if name.eq_ignore_ascii_case(b"Authentication-Info") {
                    return Self::AuthenticationInfo;
                }
                if name.eq_ignore_ascii_case(b"Content-Disposition") {
                    return Self::ContentDisposition;
                }
                if name.eq_ignore_ascii_case(b"Proxy-Authorization") {
                    return Self::ProxyAuthorization;
                }
                Self::Other
            }
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

impl core::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str().unwrap_or("extension"))
    }
}

impl HeaderName {
    /// A 400 reason phrase naming a malformed header, e.g. "Bad Via".
    pub(crate) const fn bad_phrase(&self) -> &'static str {
        match self {
            Self::Via => "Bad Via",
            Self::From => "Bad From",
            Self::To => "Bad To",
            Self::CallId => "Bad Call-ID",
            Self::CSeq => "Bad CSeq",
            Self::MaxForwards => "Bad Max-Forwards",
            Self::Contact => "Bad Contact",
            Self::Route => "Bad Route",
            Self::RecordRoute => "Bad Record-Route",
            Self::ContentLength => "Bad Content-Length",
            Self::ContentType => "Bad Content-Type",
            Self::Require => "Bad Require",
            Self::RAck => "Bad RAck",
            Self::RSeq => "Bad RSeq",
            Self::Expires => "Bad Expires",
            Self::Event => "Bad Event",
            Self::ReferTo => "Bad Refer-To",
            Self::SessionExpires => "Bad Session-Expires",
            _ => "Bad Header",
        }
    }

    /// A 400 reason phrase naming a missing header, e.g. "Missing Call-ID".
    pub(crate) const fn missing_phrase(&self) -> &'static str {
        match self {
            Self::Via => "Missing Via",
            Self::From => "Missing From",
            Self::To => "Missing To",
            Self::CallId => "Missing Call-ID",
            Self::CSeq => "Missing CSeq",
            Self::ContentLength => "Missing Content-Length",
            Self::Contact => "Missing Contact",
            _ => "Missing Header",
        }
    }
}
