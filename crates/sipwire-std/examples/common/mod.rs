//! What both `answer` examples (sipwire-std's and sipwire-tokio's) share: the flags, the
//! answering policy, the SDP answer, and the per-call lines and summary they print.
//!
//! Included by path from both crates, so it uses only `sipwire` and `std`.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use sipwire::ua::{Config, EndReason, Rel100, RequestKind, ResponseOptions};
use sipwire::{Message, Transport};

/// How long to keep answering after `--max-calls` is reached: the ACK of a last 486 or 487
/// is still to come, and over UDP a lost 200 for the last BYE is asked for again 0.5, 1.5
/// and 3.5 s later.
pub(crate) const LINGER: Duration = Duration::from_secs(4);

/// The flags, after parsing.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    /// `--bind`: where to listen (default 127.0.0.1:5060).
    pub(crate) bind: SocketAddr,
    /// `--transport udp|tcp` (default udp).
    pub(crate) transport: Transport,
    /// `--ring-ms`: how long to ring before the 200 (default 0).
    pub(crate) ring: Duration,
    /// `--reject CODE`: answer every call with this final status instead.
    pub(crate) reject: Option<u16>,
    /// `--max-calls N`: exit once N calls have ended.
    pub(crate) max_calls: Option<u64>,
    /// `--quiet`: no line per call, only the summary.
    pub(crate) quiet: bool,
}

pub(crate) const USAGE: &str = "usage: answer [--bind ADDR] [--transport udp|tcp] [--ring-ms N] \
                         [--reject CODE] [--max-calls N] [--quiet]";

impl Args {
    /// Parses the flags (without the program name).
    pub(crate) fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut out = Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 5060)),
            transport: Transport::Udp,
            ring: Duration::ZERO,
            reject: None,
            max_calls: None,
            quiet: false,
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--bind" => out.bind = value()?.parse().map_err(|e| format!("--bind: {e}"))?,
                "--transport" => {
                    out.transport = match value()?.to_ascii_lowercase().as_str() {
                        "udp" => Transport::Udp,
                        "tcp" => Transport::Tcp,
                        other => return Err(format!("--transport: udp or tcp, not {other}")),
                    }
                }
                "--ring-ms" => {
                    let ms = value()?.parse().map_err(|e| format!("--ring-ms: {e}"))?;
                    out.ring = Duration::from_millis(ms);
                }
                "--reject" => {
                    let code: u16 = value()?.parse().map_err(|e| format!("--reject: {e}"))?;
                    if !(300..700).contains(&code) {
                        return Err(format!("--reject: a final status 300-699, not {code}"));
                    }
                    out.reject = Some(code);
                }
                "--max-calls" => {
                    out.max_calls =
                        Some(value()?.parse().map_err(|e| format!("--max-calls: {e}"))?);
                }
                "--quiet" => out.quiet = true,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown flag {other}\n{USAGE}")),
            }
        }
        Ok(out)
    }

    /// The user agent's configuration for the bound address (`local` may differ from
    /// `--bind` when it asked for port 0). The seed is the adapter's to set.
    pub(crate) fn config(&self, local: SocketAddr) -> Config {
        let host = match local.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        let contact = match self.transport {
            Transport::Tcp => format!("<sip:answer@{host}:{};transport=tcp>", local.port()),
            _ => format!("<sip:answer@{host}:{}>", local.port()),
        };
        let mut config = Config::new(&contact);
        config.sent_by = format!("{host}:{}", local.port());
        config.user_agent = Some(concat!("sipwire-answer/", env!("CARGO_PKG_VERSION")).to_owned());
        config
    }
}

/// What to do with a new invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Answer at once with this final status.
    Reject(u16),
    /// Ring for `ring`, then send 200 with `body` (an answer to the INVITE's offer, or an
    /// offer when it had none). When `reliable`, first send a reliable 180 and wait for its
    /// PRACK (the caller required 100rel, so the core sent no automatic 180).
    Ring { reliable: bool, ring: Duration, body: Vec<u8> },
}

/// Decides what to do with an invitation: the same policy in both examples.
pub(crate) fn plan(
    args: &Args,
    rel100: Rel100,
    offer: Option<&[u8]>,
    local: IpAddr,
    n: u64,
) -> Plan {
    match args.reject {
        Some(code) => Plan::Reject(code),
        None => Plan::Ring {
            reliable: rel100 == Rel100::Required,
            ring: args.ring,
            body: sdp(offer, local, n),
        },
    }
}

/// An SDP answer to `offer` (RFC 3264 §6: every m-line answered in order, rejected streams
/// kept rejected, the offered formats kept with their rtpmap/fmtp), or an offer of
/// PCMU/PCMA when there is none. Session `n` gets ports 10000 + 2·m-line and o= id `n`.
pub(crate) fn sdp(offer: Option<&[u8]>, local: IpAddr, n: u64) -> Vec<u8> {
    let family = if local.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = format!(
        "v=0\r\no=- {n} {n} IN {family} {local}\r\ns=-\r\nc=IN {family} {local}\r\nt=0 0\r\n"
    );
    let text = offer.and_then(|o| std::str::from_utf8(o).ok()).unwrap_or("");
    let mut media = 0usize;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(m) = line.strip_prefix("m=") else { continue };
        let mut fields = m.split_whitespace();
        let (Some(kind), Some(port), Some(proto)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let formats: Vec<&str> = fields.collect();
        let attrs: Vec<&str> = std::iter::from_fn(|| lines.next_if(|l| !l.starts_with("m=")))
            .filter(|a| a.starts_with("a=rtpmap:") || a.starts_with("a=fmtp:"))
            .collect();
        if port == "0" || formats.is_empty() {
            let _ = write!(s, "m={kind} 0 {proto} {}\r\n", formats.first().unwrap_or(&"0"));
        } else {
            let _ = write!(s, "m={kind} {} {proto} {}\r\n", 10_000 + 2 * media, formats.join(" "));
            for a in attrs {
                let _ = write!(s, "{a}\r\n");
            }
            s.push_str("a=sendrecv\r\n");
        }
        media += 1;
    }
    if media == 0 {
        s.push_str("m=audio 10000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n");
        s.push_str("a=sendrecv\r\n");
    }
    s.into_bytes()
}

/// The examples' answer to a request inside a call: 200 to re-INVITE, UPDATE, INFO,
/// MESSAGE and NOTIFY — with an SDP answer to an offer, or an offer for a re-INVITE that
/// had none — and 603 to REFER (the examples transfer nothing). Session `n` numbers the SDP.
pub(crate) fn in_dialog_answer(
    kind: RequestKind,
    request: &Message,
    local: IpAddr,
    n: u64,
) -> ResponseOptions {
    let offer = (!request.body().is_empty()).then(|| request.body());
    match kind {
        RequestKind::Refer => ResponseOptions::new().status_code(603),
        RequestKind::ReInvite => {
            ResponseOptions::new().body("application/sdp", sdp(offer, local, n))
        }
        RequestKind::Update if offer.is_some() => {
            ResponseOptions::new().body("application/sdp", sdp(offer, local, n))
        }
        _ => ResponseOptions::new(),
    }
}

/// How a call ended, for its line and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered, then ended by a BYE from either side.
    Answered,
    /// Answered with the `--reject` status, as asked.
    Rejected,
    /// Cancelled by the caller before the answer.
    Cancelled,
    /// Anything else: no ACK, no PRACK, a transport error, a bad answer, no answer.
    Failed(String),
}

impl Outcome {
    /// Classifies an invitation's end.
    pub(crate) fn of(reason: EndReason, rejecting: Option<u16>) -> Self {
        match reason {
            EndReason::RemoteBye | EndReason::LocalBye(_) => Self::Answered,
            EndReason::Rejected(code) if Some(code) == rejecting => Self::Rejected,
            EndReason::Cancelled => Self::Cancelled,
            other => Self::Failed(format!("{other:?}")),
        }
    }
}

/// The counts the summary prints.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    pub(crate) calls: u64,
    pub(crate) answered: u64,
    pub(crate) rejected: u64,
    pub(crate) cancelled: u64,
    pub(crate) failed: u64,
    /// Requests answered inside calls (re-INVITE, UPDATE, INFO …).
    pub(crate) requests: u64,
}

impl Tally {
    /// Counts one ended call and prints its line unless `quiet`.
    pub(crate) fn record(
        &mut self,
        call_id: &str,
        outcome: &Outcome,
        duration: Duration,
        quiet: bool,
    ) {
        self.calls += 1;
        let word = match outcome {
            Outcome::Answered => {
                self.answered += 1;
                "answered".to_owned()
            }
            Outcome::Rejected => {
                self.rejected += 1;
                "rejected".to_owned()
            }
            Outcome::Cancelled => {
                self.cancelled += 1;
                "cancelled".to_owned()
            }
            Outcome::Failed(why) => {
                self.failed += 1;
                format!("failed:{why}")
            }
        };
        if !quiet {
            println!("call {call_id} {word} {}ms", duration.as_millis());
        }
    }

    /// Returns whether `--max-calls` is reached.
    pub(crate) fn done(&self, args: &Args) -> bool {
        args.max_calls.is_some_and(|max| self.calls >= max)
    }

    /// The last line printed.
    pub(crate) fn summary(&self, retransmissions: u64) -> String {
        format!(
            "summary: calls={} answered={} rejected={} cancelled={} failed={} retransmissions={retransmissions} requests={}",
            self.calls, self.answered, self.rejected, self.cancelled, self.failed, self.requests
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_keeps_each_m_line_and_its_formats() {
        let offer = b"v=0\r\no=a 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
            m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
            a=fmtp:101 0-15\r\nm=video 0 RTP/AVP 31\r\n";
        let answer = String::from_utf8(sdp(Some(offer), [127, 0, 0, 1].into(), 3)).unwrap();
        assert!(answer.contains("o=- 3 3 IN IP4 127.0.0.1\r\n"));
        assert!(answer.contains("m=audio 10000 RTP/AVP 0 101\r\n"));
        assert!(answer.contains("a=fmtp:101 0-15\r\n"));
        assert!(answer.contains("m=video 0 RTP/AVP 31\r\n"), "a rejected stream stays rejected");
        assert_eq!(answer.matches("m=").count(), 2);
    }

    #[test]
    fn without_an_offer_we_offer_pcmu_and_pcma() {
        let offer = String::from_utf8(sdp(None, [127, 0, 0, 1].into(), 0)).unwrap();
        assert!(offer.contains("m=audio 10000 RTP/AVP 0 8\r\n"));
    }

    #[test]
    fn flags_parse_and_bad_ones_are_refused() {
        let args = |s: &str| Args::parse(s.split_whitespace().map(str::to_owned));
        let a = args("--bind 127.0.0.1:5070 --transport tcp --ring-ms 20 --max-calls 3 --quiet")
            .unwrap();
        assert_eq!(a.bind.port(), 5070);
        assert_eq!(a.transport, Transport::Tcp);
        assert_eq!(a.ring, Duration::from_millis(20));
        assert_eq!(a.max_calls, Some(3));
        assert!(a.quiet);
        assert!(args("--reject 200").is_err());
        assert!(args("--transport sctp").is_err());
        assert_eq!(args("--reject 486").unwrap().reject, Some(486));
    }
}
