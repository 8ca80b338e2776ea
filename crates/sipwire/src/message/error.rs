//! Parse errors: small `Copy` values that say what went wrong, where, and how a UAS answers.

use super::header_name::HeaderName;

/// What kind of message the error was found in, as far as the parser got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// The start line could not be read, so the kind is unknown.
    Unknown,
    /// A request: a UAS answers it with [`ParseError::status_hint`].
    Request,
    /// A response: it is dropped, never answered.
    Response,
}

/// What went wrong while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended before the message did (a datagram cut short, or no empty line
    /// closing the header section).
    #[error("message is incomplete")]
    Incomplete,
    /// The start line is malformed.
    #[error("malformed start line")]
    StartLine,
    /// The request method is not a token.
    #[error("malformed method")]
    Method,
    /// The SIP version is not `SIP/2.0`.
    #[error("unsupported SIP version")]
    Version,
    /// The status code is not three digits from 100 to 699.
    #[error("malformed status code")]
    StatusCode,
    /// The reason phrase holds bytes that are not UTF-8 text.
    #[error("malformed reason phrase")]
    ReasonPhrase,
    /// A URI is malformed.
    #[error("malformed URI")]
    Uri,
    /// A header line has no name, no colon, or characters a header name cannot hold.
    #[error("malformed header line")]
    HeaderLine,
    /// The header section is not UTF-8 text.
    #[error("header section is not UTF-8")]
    NotUtf8,
    /// The value of a header is malformed.
    #[error("malformed {0} header")]
    HeaderValue(HeaderName),
    /// A number in a header does not fit the range its grammar allows.
    #[error("value out of range in {0} header")]
    OutOfRange(HeaderName),
    /// A header the message must carry is missing.
    #[error("missing {0} header")]
    MissingHeader(HeaderName),
    /// A header that may appear once appears more than once.
    #[error("duplicated {0} header")]
    DuplicateHeader(HeaderName),
    /// Content-Length values disagree with each other.
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// Content-Length is larger than the bytes that follow the header section.
    #[error("body shorter than Content-Length")]
    BodyTruncated,
    /// A message on a stream transport has no Content-Length.
    #[error("missing Content-Length on a stream transport")]
    MissingContentLength,
    /// The CSeq method differs from the request method.
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// The message is larger than the configured limit.
    #[error("message too large")]
    MessageTooLarge,
    /// The body is larger than the configured limit.
    #[error("body too large")]
    BodyTooLarge,
    /// More header lines than the configured limit.
    #[error("too many headers")]
    TooManyHeaders,
    /// A header line is longer than the configured limit.
    #[error("header line too long")]
    HeaderTooLong,
    /// A URI is longer than the configured limit.
    #[error("URI too long")]
    UriTooLong,
    /// More Via values than the configured limit.
    #[error("too many Via values")]
    TooManyVias,
}

/// A parse failure: what went wrong, at which byte, and what a UAS answers.
///
/// It is a small `Copy` value, so a caller can keep it, log it or turn it into a response
/// without allocating. Peer faults never panic; they end up here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct ParseError {
    kind: ErrorKind,
    offset: u32,
    message: MessageKind,
}

impl ParseError {
    pub(crate) const fn new(kind: ErrorKind, offset: usize) -> Self {
        let offset = if offset > u32::MAX as usize { u32::MAX } else { offset as u32 };
        Self { kind, offset, message: MessageKind::Unknown }
    }

    pub(crate) const fn in_message(mut self, message: MessageKind) -> Self {
        if matches!(self.message, MessageKind::Unknown) {
            self.message = message;
        }
        self
    }

    pub(crate) const fn shifted(mut self, by: usize) -> Self {
        self.offset =
            self.offset.saturating_add(if by > u32::MAX as usize { u32::MAX } else { by as u32 });
        self
    }

    /// Returns what went wrong.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Returns the byte offset in the input where the fault was found.
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset as usize
    }

    /// Returns whether the fault was in a request, a response, or an unreadable start line.
    #[must_use]
    pub const fn message_kind(&self) -> MessageKind {
        self.message
    }

    /// Returns the status code a UAS should answer a faulty request with.
    ///
    /// `None` for responses (they are dropped, RFC 3261 §18.1.2) and for input whose start
    /// line could not be read as a request.
    #[must_use]
    pub const fn status_hint(&self) -> Option<u16> {
        if !matches!(self.message, MessageKind::Request) {
            return None;
        }
        Some(match self.kind {
            ErrorKind::Version => 505,
            ErrorKind::MessageTooLarge
            | ErrorKind::TooManyHeaders
            | ErrorKind::HeaderTooLong
            | ErrorKind::TooManyVias => 513,
            ErrorKind::BodyTooLarge => 413,
            ErrorKind::UriTooLong => 414,
            _ => 400,
        })
    }

    /// Returns a reason phrase for the answer, saying what was wrong (e.g. "Bad Via").
    #[must_use]
    pub fn reason_phrase(&self) -> &'static str {
        match self.kind {
            ErrorKind::Version => "Version Not Supported",
            ErrorKind::MessageTooLarge
            | ErrorKind::TooManyHeaders
            | ErrorKind::HeaderTooLong
            | ErrorKind::TooManyVias => "Message Too Large",
            ErrorKind::BodyTooLarge => "Request Entity Too Large",
            ErrorKind::UriTooLong => "Request-URI Too Long",
            ErrorKind::HeaderValue(h) | ErrorKind::OutOfRange(h) => h.bad_phrase(),
            ErrorKind::MissingHeader(h) => h.missing_phrase(),
            ErrorKind::DuplicateHeader(_) => "Bad Request - Duplicated Header",
            ErrorKind::ConflictingContentLength | ErrorKind::BodyTruncated => {
                "Bad Request - Bad Content-Length"
            }
            ErrorKind::MissingContentLength => "Bad Request - Missing Content-Length",
            ErrorKind::CSeqMethodMismatch => "Bad Request - CSeq Method Mismatch",
            ErrorKind::Uri => "Bad Request - Bad Request-URI",
            ErrorKind::Method | ErrorKind::StartLine => "Bad Request - Bad Request-Line",
            ErrorKind::Incomplete => "Bad Request - Unterminated Header Section",
            _ => "Bad Request",
        }
    }
}
