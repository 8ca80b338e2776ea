//! The incremental framer for stream transports (TCP, TLS, and later WebSocket).
//!
//! Input arrives in any chunks; the framer answers "need more" (`Ok(None)`) until a whole
//! message is buffered, then hands it out without copying it again. It parses each header
//! section once, requires Content-Length (RFC 3261 §18.3), skips the CRLFs RFC 3261 §7.5
//! allows before a start line, and reports RFC 5626 keep-alives. Fed the same bytes whole
//! or one at a time it yields the same frames and the same error.

use bytes::BytesMut;

use super::error::{ErrorKind, ParseError};
use super::parse::{Head, check_sizes, guess_kind, parse_head};
use super::{Message, ParseOptions};

/// Which side of an RFC 5626 §4.4.1 keep-alive this end of the flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeepAliveRole {
    /// This end accepted the flow: a double CRLF is a ping to answer with a single CRLF;
    /// a lone CRLF is skipped.
    #[default]
    Server,
    /// This end opened the flow and sends pings: each CRLF received is a pong.
    Client,
}

/// What the framer yields.
// Messages are the common case; boxing them would cost an allocation per message to make
// the rare keep-alive smaller.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// A complete message.
    Message(Message),
    /// A double-CRLF keep-alive ping; answer it with a single CRLF.
    Ping,
    /// A single-CRLF keep-alive pong.
    Pong,
}

/// An incremental SIP framer for one stream flow.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    /// How far the search for the end of the header section has got.
    scanned: usize,
    /// A parsed header section waiting for its body, and the message's total length.
    pending: Option<(Head, usize)>,
    options: ParseOptions,
    role: KeepAliveRole,
    failed: Option<ParseError>,
}

impl StreamFramer {
    /// Creates a framer with the given options and keep-alive role.
    #[must_use]
    pub fn new(options: ParseOptions, role: KeepAliveRole) -> Self {
        Self { buf: BytesMut::new(), scanned: 0, pending: None, options, role, failed: None }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// Returns the buffer, to read into directly (e.g. with `BufMut`); only append to it.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Returns how many bytes are buffered and not yet framed.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Returns the next frame, `Ok(None)` when more input is needed.
    ///
    /// # Errors
    /// A framing or parse error. The flow's framing is lost after it, so every later call
    /// returns the same error: close the connection.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let r = self.advance();
        if let Err(e) = r {
            self.failed = Some(e);
            self.buf = BytesMut::new();
            self.pending = None;
        }
        r
    }

    fn advance(&mut self) -> Result<Option<Frame>, ParseError> {
        if self.pending.is_none() {
            if let Some(frame) = self.keep_alive() {
                return Ok(frame);
            }
            let limit = self.options.limits.max_message_size;
            let Some(end) = self.find_head_end() else {
                if self.buf.len() > limit {
                    return Err(ParseError::new(ErrorKind::MessageTooLarge, limit)
                        .in_message(guess_kind(&self.buf)));
                }
                return Ok(None);
            };
            if end > limit {
                return Err(ParseError::new(ErrorKind::MessageTooLarge, limit)
                    .in_message(guess_kind(&self.buf)));
            }
            let head = parse_head(&self.buf[..end], &self.options)?
                .ok_or(ParseError::new(ErrorKind::Incomplete, end))?;
            let kind = head.start.kind();
            let len = head
                .content_length
                .ok_or(ParseError::new(ErrorKind::MissingContentLength, end).in_message(kind))?
                as usize;
            check_sizes(end, len, &self.options.limits).map_err(|e| e.in_message(kind))?;
            self.pending = Some((head, end + len));
        }
        match &self.pending {
            Some((_, total)) if self.buf.len() >= *total => {}
            _ => return Ok(None),
        }
        let Some((head, total)) = self.pending.take() else { return Ok(None) };
        let bytes = self.buf.split_to(total).freeze();
        self.scanned = 0;
        let body_len = total - head.body_start;
        Ok(Some(Frame::Message(Message::from_head(bytes, head, body_len))))
    }

    /// Consumes keep-alive CRLFs before a start line. `Some(None)`: wait for more bytes.
    fn keep_alive(&mut self) -> Option<Option<Frame>> {
        loop {
            match (self.role, &self.buf[..]) {
                (_, [b'\n', ..]) => {
                    let _ = self.buf.split_to(1);
                }
                (KeepAliveRole::Client, [b'\r', b'\n', ..]) => {
                    let _ = self.buf.split_to(2);
                    return Some(Some(Frame::Pong));
                }
                (KeepAliveRole::Server, [b'\r', b'\n', b'\r', b'\n', ..]) => {
                    let _ = self.buf.split_to(4);
                    return Some(Some(Frame::Ping));
                }
                (KeepAliveRole::Server, [b'\r', b'\n', b'\r'] | [b'\r', b'\n']) | (_, [b'\r']) => {
                    return Some(None);
                }
                (KeepAliveRole::Server, [b'\r', b'\n', ..]) => {
                    let _ = self.buf.split_to(2);
                }
                _ => return None,
            }
        }
    }

    /// Finds the end of the header section (just past the empty line), resuming where the
    /// last search stopped so that byte-at-a-time input stays linear.
    fn find_head_end(&mut self) -> Option<usize> {
        let s = &self.buf[..];
        let mut i = self.scanned;
        while let Some(p) = s.get(i..).and_then(|r| r.iter().position(|&b| b == b'\n')) {
            let lf = i + p;
            match (s.get(lf + 1), s.get(lf + 2)) {
                (Some(b'\n'), _) => return Some(lf + 2),
                (Some(b'\r'), Some(b'\n')) => return Some(lf + 3),
                (Some(b'\r'), None) | (None, _) => break,
                _ => i = lf + 1,
            }
        }
        self.scanned = s.len().saturating_sub(2);
        None
    }
}
