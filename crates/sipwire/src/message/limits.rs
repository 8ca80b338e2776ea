//! Configurable parser limits with safe defaults.

/// Bounds that keep parsing linear and memory bounded. Exceeding one is a [`ParseError`]
/// with a status hint (513, 413 or 414), never a panic.
///
/// [`ParseError`]: super::ParseError
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest whole message, header section plus body, in bytes.
    pub max_message_size: usize,
    /// Largest body, in bytes.
    pub max_body_size: usize,
    /// Most header lines in one message.
    pub max_headers: usize,
    /// Longest header line (with its folded continuations), in bytes.
    pub max_header_line: usize,
    /// Longest Request-URI, in bytes.
    pub max_uri_len: usize,
    /// Most Via values in one message.
    pub max_vias: usize,
}

impl Limits {
    /// The defaults: a 64 KiB message, 64 KiB body, 128 headers, 8 KiB header lines,
    /// 4 KiB Request-URI, 64 Via values.
    pub const DEFAULT: Self = Self {
        max_message_size: 65_535,
        max_body_size: 65_535,
        max_headers: 128,
        max_header_line: 8 * 1024,
        max_uri_len: 4 * 1024,
        max_vias: 64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
