//! SIP methods.

use core::fmt;

use bytes::Bytes;

use super::scan::{TOKEN, text};

/// A request method. Method names are case-sensitive (RFC 3261 §7.1), so `invite` is an
/// extension method, not INVITE.
///
/// Extension methods share the received buffer, so cloning or decoding one never allocates.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// PRACK (RFC 3262).
    Prack,
    /// UPDATE (RFC 3311).
    Update,
    /// INFO (RFC 6086).
    Info,
    /// MESSAGE (RFC 3428).
    Message,
    /// REFER (RFC 3515).
    Refer,
    /// NOTIFY (RFC 6665).
    Notify,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// PUBLISH (RFC 3903).
    Publish,
    /// Any other method token.
    Extension(ExtensionMethod),
}

/// The name of an extension method: a validated token.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ExtensionMethod(Bytes);

impl ExtensionMethod {
    /// Returns the method name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        text(&self.0)
    }
}

impl Method {
    /// Every method this crate knows by name, in a stable order.
    pub const KNOWN: [Self; 14] = [
        Self::Invite,
        Self::Ack,
        Self::Bye,
        Self::Cancel,
        Self::Register,
        Self::Options,
        Self::Prack,
        Self::Update,
        Self::Info,
        Self::Message,
        Self::Refer,
        Self::Notify,
        Self::Subscribe,
        Self::Publish,
    ];

    fn known(t: &[u8]) -> Option<Self> {
        Some(match t {
            b"INVITE" => Self::Invite,
            b"ACK" => Self::Ack,
            b"BYE" => Self::Bye,
            b"CANCEL" => Self::Cancel,
            b"REGISTER" => Self::Register,
            b"OPTIONS" => Self::Options,
            b"PRACK" => Self::Prack,
            b"UPDATE" => Self::Update,
            b"INFO" => Self::Info,
            b"MESSAGE" => Self::Message,
            b"REFER" => Self::Refer,
            b"NOTIFY" => Self::Notify,
            b"SUBSCRIBE" => Self::Subscribe,
            b"PUBLISH" => Self::Publish,
            _ => return None,
        })
    }

    /// Parses a method token, copying it only when it is an extension method.
    ///
    /// Returns `None` if `name` is not a non-empty token.
    #[must_use]
    pub fn from_token(name: &str) -> Option<Self> {
        let b = name.as_bytes();
        if b.is_empty() || !b.iter().all(|&c| TOKEN[c as usize]) {
            return None;
        }
        Some(
            Self::known(b)
                .unwrap_or_else(|| Self::Extension(ExtensionMethod(Bytes::copy_from_slice(b)))),
        )
    }

    /// Builds a method from a token that lies inside `buf`, sharing `buf` for extensions.
    pub(crate) fn from_shared(buf: &Bytes, token: &[u8]) -> Self {
        Self::known(token).unwrap_or_else(|| Self::Extension(ExtensionMethod(buf.slice_ref(token))))
    }

    /// Returns the method name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Register => "REGISTER",
            Self::Options => "OPTIONS",
            Self::Prack => "PRACK",
            Self::Update => "UPDATE",
            Self::Info => "INFO",
            Self::Message => "MESSAGE",
            Self::Refer => "REFER",
            Self::Notify => "NOTIFY",
            Self::Subscribe => "SUBSCRIBE",
            Self::Publish => "PUBLISH",
            Self::Extension(e) => e.as_str(),
        }
    }

    /// Returns whether this is a method RFC 3261 or a common extension defines.
    #[must_use]
    pub const fn is_known(&self) -> bool {
        !matches!(self, Self::Extension(_))
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ExtensionMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Method {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Method {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
