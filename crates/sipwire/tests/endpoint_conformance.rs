//! RFC 4475 and RFC 5118 at the user-agent core: every message of the conformance corpus
//! (`tests/fixtures/conformance`, see its README and MANIFEST.tsv) is fed, byte for byte,
//! to a fresh [`Endpoint`] as one UDP datagram, and the endpoint's whole reaction is
//! checked against the manifest's `expected_behaviour` column: the one response it sends
//! (status, reason phrase, the headers the status calls for, the §18.2.2 destination), the
//! invitation it raises, or the silent discard of a response.
//!
//! `tests/conformance.rs` checks the parser on the same files; this file checks what the
//! endpoint as a whole answers.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sipwire::transaction::Discard;
use sipwire::ua::{Config, Event, InvitationState};
use sipwire::{Endpoint, ErrorKind, Input, MessageKind, Output, Transmit, Transport};

/// A fixed instant: the endpoint reads no clock, so any will do.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

/// Where every fixture comes from: an address no fixture's Via names, so the endpoint
/// always has to work out the response address (§18.2.1, §18.2.2) rather than copy it.
const SOURCE: &str = "198.51.100.7:5060";

/// What the endpoint must do with one fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Exactly one response with this status and nothing else. The headers the status
    /// calls for are checked too: Allow on 405 and 501, Accept on 406 and 415, Allow,
    /// Accept and Supported on the 200 to OPTIONS, Unsupported on 420.
    Status(u16),
    /// As `Status`, and the reason phrase names the fault: it contains this text.
    StatusSaying(u16, &'static str),
    /// 420 Bad Extension whose Unsupported lists exactly these option tags.
    BadExtension(&'static str),
    /// An INVITE the core takes: 100 Trying, then 180 Ringing, then `Event::Invitation`.
    Invitation,
    /// Nothing sent; one `Event::Discarded` with this reason.
    Discarded(Discard),
    /// Nothing sent; one `Event::Discarded` for bytes that do not parse as a response,
    /// failing with this error.
    Unparseable(ErrorKind),
}

use Expect::{BadExtension, Discarded, Invitation, Status, StatusSaying, Unparseable};

/// One row per manifest line. Where the manifest leaves a choice, or names the reaction of
/// a role the endpoint does not play (proxy, registrar), the comment says why the
/// endpoint's answer satisfies it.
const TABLE: &[(&str, Expect)] = &[
    // RFC 4475 §3.1.1: valid; every element must accept (parse) them.
    // Parsed and processed: its To tag names no dialog of ours, so §12.2.2 answers 481.
    ("rfc4475/valid/wsinv.sip", Status(481)),
    ("rfc4475/valid/intmeth.sip", Status(501)),
    ("rfc4475/valid/esc01.sip", Invitation),
    // A registrar would store two Contacts; the endpoint is none and does not allow REGISTER.
    ("rfc4475/valid/escnull.sip", Status(405)),
    ("rfc4475/valid/esc02.sip", Status(501)),
    ("rfc4475/valid/lwsdisp.sip", Status(200)),
    ("rfc4475/valid/longreq.sip", Invitation),
    // The REGISTER is handled (405: not a registrar); the trailing INVITE octets get nothing.
    ("rfc4475/valid/dblreq.sip", Status(405)),
    ("rfc4475/valid/semiuri.sip", Status(200)),
    ("rfc4475/valid/transports.sip", Status(200)),
    // Accepted by the parser (binary body framed by Content-Length). MESSAGE is allowed
    // (inside dialogs), so content processing (§8.2.3) judges the body: multipart/mixed is
    // none of our types, so 415 with Accept.
    ("rfc4475/valid/mpart01.sip", Status(415)),
    ("rfc4475/valid/unreason.sip", Discarded(Discard::StrayResponse)),
    ("rfc4475/valid/noreason.sip", Discarded(Discard::StrayResponse)),
    // RFC 4475 §3.1.2: invalid.
    ("rfc4475/invalid/badinv01.sip", StatusSaying(400, "Via")),
    ("rfc4475/invalid/clerr.sip", StatusSaying(400, "Content-Length")),
    ("rfc4475/invalid/ncl.sip", StatusSaying(400, "Content-Length")),
    // §8.2.1 method inspection precedes the §8.2.2 header checks (RFC 4475 §3.1.2.18 ranks
    // them so for mismatch02): REGISTER is not allowed, so 405 before the CSeq's 400.
    ("rfc4475/invalid/scalar02.sip", Status(405)),
    // A response whose CSeq cannot be read matches nothing: dropped.
    ("rfc4475/invalid/scalarlg.sip", Discarded(Discard::Unmatchable)),
    ("rfc4475/invalid/quotbal.sip", StatusSaying(400, "To")),
    // "Reasonable to always reject with 400": the endpoint rejects.
    ("rfc4475/invalid/ltgtruri.sip", StatusSaying(400, "Request-URI")),
    ("rfc4475/invalid/lwsruri.sip", StatusSaying(400, "Request-Line")),
    // "Acceptable to reject as malformed": the endpoint rejects.
    ("rfc4475/invalid/lwsstart.sip", StatusSaying(400, "Request-Line")),
    // "Acceptable to reject": the endpoint rejects.
    ("rfc4475/invalid/trws.sip", StatusSaying(400, "Request-Line")),
    // "Acceptable to reject with 400": the endpoint rejects.
    ("rfc4475/invalid/escruri.sip", StatusSaying(400, "Request-URI")),
    // "Should not reject unless Date matters": Date does not matter to the endpoint.
    ("rfc4475/invalid/baddate.sip", Invitation),
    // "Reasonable 400", but that is a registrar's check: not allowing REGISTER comes first.
    ("rfc4475/invalid/regbadct.sip", Status(405)),
    ("rfc4475/invalid/badaspec.sip", StatusSaying(400, "To")),
    // No empty line ends the header section, so the fault cannot be named more precisely.
    ("rfc4475/invalid/baddn.sip", StatusSaying(400, "Bad Request")),
    ("rfc4475/invalid/badvers.sip", Status(505)),
    ("rfc4475/invalid/mismatch01.sip", StatusSaying(400, "CSeq")),
    // "501 (400 also acceptable)": the unknown method is seen first.
    ("rfc4475/invalid/mismatch02.sip", Status(501)),
    ("rfc4475/invalid/bigcode.sip", Unparseable(ErrorKind::StatusCode)),
    // RFC 4475 §3.2–3.4: semantic.
    // "May reject 400 or fall back": the endpoint processes it (the bare cookie is a branch).
    ("rfc4475/semantic/badbranch.sip", Status(200)),
    ("rfc4475/semantic/insuf.sip", StatusSaying(400, "Missing")),
    ("rfc4475/semantic/unkscm.sip", Status(416)),
    // "416 if never acceptable": the endpoint takes no URI scheme but sip and sips.
    ("rfc4475/semantic/novelsc.sip", Status(416)),
    // The 400 is a registrar's; the endpoint is none and does not allow REGISTER.
    ("rfc4475/semantic/unksm2.sip", Status(405)),
    // A UAS lists the Require tags only (Proxy-Require is for proxies).
    ("rfc4475/semantic/bext01.sip", BadExtension("nothingSupportsThis, nothingSupportsThisEither")),
    ("rfc4475/semantic/invut.sip", Status(415)),
    // The manifest's own non-registrar answer.
    ("rfc4475/semantic/regaut01.sip", Status(405)),
    ("rfc4475/semantic/multi01.sip", StatusSaying(400, "Duplicated")),
    ("rfc4475/semantic/mcl01.sip", StatusSaying(400, "Content-Length")),
    // A response with two Vias is not for a UA (§18.1.2): dropped.
    ("rfc4475/semantic/bcast.sip", Discarded(Discard::NotForUs)),
    ("rfc4475/semantic/zeromf.sip", Status(200)),
    // "REGISTER succeeds" at a registrar; the endpoint is none and does not allow REGISTER.
    ("rfc4475/semantic/cparam01.sip", Status(405)),
    // As cparam01.
    ("rfc4475/semantic/cparam02.sip", Status(405)),
    // As cparam01.
    ("rfc4475/semantic/regescrt.sip", Status(405)),
    // "406 (Warning 399) or 400": 406 with its Accept (RFC 4475 only says it "could" warn).
    ("rfc4475/semantic/sdp01.sip", Status(406)),
    // Accepted for backward compatibility: no branch cookie, no From tag, no Contact (the
    // dialog's remote target is then the From URI), body = rest of the datagram.
    ("rfc4475/semantic/inv2543.sip", Invitation),
    ("rfc4475/variants/baddn-terminated.sip", StatusSaying(400, "From")),
    // RFC 5118.
    // Parsed (the IPv6 references are accepted); REGISTER is not allowed at the endpoint.
    ("rfc5118/valid/ipv6-good.sip", Status(405)),
    ("rfc5118/invalid/ipv6-bad.sip", StatusSaying(400, "Request-URI")),
    // As ipv6-good.
    ("rfc5118/valid/port-ambiguous.sip", Status(405)),
    // As ipv6-good.
    ("rfc5118/valid/port-unambiguous.sip", Status(405)),
    // Parsed; a BYE whose To tag names no dialog of ours gets 481 (§12.2.2).
    ("rfc5118/valid/via-received-param-with-delim.sip", Status(481)),
    ("rfc5118/valid/via-received-param-no-delim.sip", Status(200)),
    ("rfc5118/valid/ipv6-in-sdp.sip", Invitation),
    // As via-received-param-with-delim; the answer goes to the sent-by port 6050.
    ("rfc5118/valid/mult-ip-in-header.sip", Status(481)),
    ("rfc5118/valid/mult-ip-in-sdp.sip", Invitation),
    ("rfc5118/valid/ipv4-mapped-ipv6.sip", Invitation),
    ("rfc5118/valid/ipv6-bug-abnf-3-colons.sip", Status(200)),
    ("rfc5118/valid/ipv6-correct-abnf-2-colons.sip", Status(200)),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The paths MANIFEST.tsv lists.
fn manifest() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("MANIFEST.tsv")).expect("manifest");
    let mut lines = text.lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("path\t")), "manifest header");
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect()
}

fn config() -> Config {
    Config::new("sip:ua@192.0.2.2:5060").with_seed(4475)
}

fn source() -> SocketAddr {
    SOURCE.parse().expect("an address")
}

/// Feeds `bytes` to a fresh endpoint over UDP and drains it. The endpoint comes back too,
/// so that the invitation it raised can be read.
fn react(bytes: Vec<u8>) -> (Endpoint, Vec<Output<Event>>) {
    let mut ep = Endpoint::new(config());
    ep.handle_input(epoch(), Input::received(source(), Transport::Udp, bytes));
    let outputs = std::iter::from_fn(|| ep.poll_output()).collect();
    (ep, outputs)
}

/// A response as sent, read leniently: it echoes the request's From, To, Call-ID and CSeq
/// (§8.2.6.2), which may be as malformed as the request's were, so the strict parser is
/// not the judge here.
#[derive(Debug)]
struct Wire {
    code: u16,
    reason: String,
    headers: Vec<(String, String)>,
}

impl Wire {
    fn read(payload: &[u8]) -> Result<Self, String> {
        let text = String::from_utf8_lossy(payload);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default();
        let rest = status.strip_prefix("SIP/2.0 ").ok_or(format!("not a response: {status:?}"))?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code = code.parse().map_err(|_| format!("bad status line {status:?}"))?;
        Ok(Self { code, reason: reason.to_owned(), headers: header_fields(lines) })
    }

    /// Every value of header `long` (or its compact form), trimmed.
    fn all(&self, long: &str) -> Vec<&str> {
        values(&self.headers, long)
    }

    fn one(&self, long: &str) -> Option<&str> {
        self.all(long).first().copied()
    }
}

/// Splits header lines into (name, value), joining folded continuation lines.
fn header_fields<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    out
}

fn values<'a>(headers: &'a [(String, String)], long: &str) -> Vec<&'a str> {
    let compact = match long {
        "via" => "v",
        "from" => "f",
        "to" => "t",
        "call-id" => "i",
        "content-type" => "c",
        "supported" => "k",
        _ => "",
    };
    headers.iter().filter(|(n, _)| n == long || n == compact).map(|(_, v)| v.as_str()).collect()
}

/// The request's header lines, read the same lenient way.
fn request_headers(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    header_fields(head.split("\r\n").skip(1))
}

/// Where RFC 3261 §18.2.2 (and RFC 3581 `rport`) sends the response to a request that
/// arrived over UDP from `source`: the source IP (the `received` the server transport
/// adds, §18.2.1), and the sent-by port (5060 if none), or the source port with `rport`.
fn response_destination(bytes: &[u8], source: SocketAddr) -> Option<SocketAddr> {
    let headers = request_headers(bytes);
    let via = *values(&headers, "via").first()?;
    let first = via.split(',').next()?;
    let mut parts = first.split(';');
    let sent_by = parts.next()?.split_whitespace().last()?;
    let rport = parts.any(|p| p.trim().eq_ignore_ascii_case("rport"));
    let port = if let Some(v6) = sent_by.strip_prefix('[') {
        v6.split_once("]:").map(|(_, p)| p)
    } else {
        sent_by.split_once(':').map(|(_, p)| p)
    };
    let port = match (rport, port) {
        (true, _) => source.port(),
        (false, Some(p)) => p.parse().ok()?,
        (false, None) => 5060,
    };
    Some(SocketAddr::new(source.ip(), port))
}

/// Whether a To value carries a tag (LWS around `;` and `=` allowed, as in wsinv).
fn has_tag(to: &str) -> bool {
    to.split_whitespace().collect::<String>().contains(";tag=")
}

/// A CSeq as (number, method), leading zeros and LWS ignored.
fn cseq(value: &str) -> Option<(u64, String)> {
    let mut it = value.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.to_owned()))
}

/// The comma-separated list in a header, as a set.
fn list(value: Option<&str>) -> BTreeSet<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn set_of<'a>(items: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    items.map(str::to_owned).collect()
}

/// Checks one transmitted response against the request it answers.
fn check_response(
    request: &[u8],
    t: &Transmit,
    code: u16,
    saying: Option<&str>,
) -> Result<Wire, String> {
    let want = response_destination(request, source()).ok_or("no readable top Via")?;
    if (t.destination, t.transport) != (want, Transport::Udp) {
        return Err(format!(
            "sent to {} over {:?}, want {want} over UDP",
            t.destination, t.transport
        ));
    }
    let wire = Wire::read(&t.payload)?;
    if wire.code != code {
        return Err(format!("answered {} {:?}, want {code}", wire.code, wire.reason));
    }
    if let Some(text) = saying
        && !wire.reason.contains(text)
    {
        return Err(format!("reason phrase {:?} does not name the fault ({text:?})", wire.reason));
    }
    // §8.2.6.2: Call-ID and CSeq are copied, and a To tag is added (but on 100).
    let req = request_headers(request);
    if let [call_id] = values(&req, "call-id")[..]
        && wire.one("call-id") != Some(call_id)
    {
        return Err(format!("Call-ID {:?}, want {call_id:?}", wire.one("call-id")));
    }
    if let [seq] = values(&req, "cseq")[..]
        && let Some(want) = cseq(seq)
        && wire.one("cseq").and_then(cseq) != Some(want.clone())
    {
        return Err(format!("CSeq {:?}, want {want:?}", wire.one("cseq")));
    }
    if code > 100 && !values(&req, "to").is_empty() && !wire.one("to").is_some_and(has_tag) {
        return Err(format!("To {:?} has no tag", wire.one("to")));
    }
    let c = config();
    let allow = set_of(c.allowed_methods.iter().map(|m| m.as_str()));
    let accept = set_of(c.accepted_body_types.iter().map(String::as_str));
    let supported = set_of(c.extensions.iter().map(String::as_str));
    let need: &[(&str, &BTreeSet<String>)] = match code {
        405 | 501 => &[("allow", &allow)],
        406 | 415 => &[("accept", &accept)],
        200 => &[("allow", &allow), ("accept", &accept), ("supported", &supported)],
        _ => &[],
    };
    for (name, want) in need {
        let got = list(wire.one(name));
        if got != **want {
            return Err(format!("{name} {got:?}, want {want:?}"));
        }
    }
    if code == 420 && wire.one("unsupported").is_none() {
        return Err("420 without Unsupported".to_owned());
    }
    Ok(wire)
}

/// Checks the endpoint's whole reaction to one fixture.
fn check(path: &str, expect: Expect) -> Result<(), String> {
    let request = read(path);
    let input = request.clone();
    let (mut ep, outputs) = catch_unwind(AssertUnwindSafe(|| react(input)))
        .map_err(|_| "the endpoint panicked".to_owned())?;
    let transmits: Vec<&Transmit> = outputs
        .iter()
        .filter_map(|o| if let Output::Transmit(t) = o { Some(t) } else { None })
        .collect();
    let events: Vec<&Event> = outputs
        .iter()
        .filter_map(|o| if let Output::Event(e) = o { Some(e) } else { None })
        .collect();
    let summary = || {
        let sent: Vec<String> = transmits
            .iter()
            .map(|t| {
                String::from_utf8_lossy(&t.payload).lines().next().unwrap_or_default().to_owned()
            })
            .collect();
        format!("sent {sent:?}, events {events:?}")
    };
    match expect {
        Status(_) | StatusSaying(..) | BadExtension(_) => {
            let [Output::Transmit(t)] = &outputs[..] else {
                return Err(format!("want exactly one response and nothing else; {}", summary()));
            };
            let (code, saying) = match expect {
                Status(code) => (code, None),
                StatusSaying(code, text) => (code, Some(text)),
                _ => (420, None),
            };
            let wire = check_response(&request, t, code, saying)?;
            if let BadExtension(tags) = expect {
                let got = wire.all("unsupported").join(", ");
                if got != tags {
                    return Err(format!("Unsupported {got:?}, want {tags:?}"));
                }
            }
            Ok(())
        }
        Invitation => {
            let [
                Output::Transmit(trying),
                Output::Transmit(ringing),
                Output::Event(Event::Invitation { id }),
            ] = &outputs[..]
            else {
                return Err(format!("want 100, 180, Event::Invitation; {}", summary()));
            };
            check_response(&request, trying, 100, None)?;
            let ringing = check_response(&request, ringing, 180, None)?;
            let inv = ep.invitation(*id).ok_or("the invitation is not live")?;
            if inv.state() != InvitationState::Initial {
                return Err(format!("invitation in state {:?}, want Initial", inv.state()));
            }
            let tag = format!("tag={}", inv.uas().to_tag());
            if !ringing.one("to").is_some_and(|to| to.contains(&tag)) {
                return Err(format!(
                    "the 180's To {:?} lacks the invitation's {tag}",
                    ringing.one("to")
                ));
            }
            Ok(())
        }
        Discarded(reason) => match &outputs[..] {
            [Output::Event(Event::Discarded { reason: got, source: from })]
                if *got == reason && *from == source() =>
            {
                Ok(())
            }
            _ => Err(format!("want only Discarded({reason:?}) from {SOURCE}; {}", summary())),
        },
        Unparseable(kind) => match &outputs[..] {
            [Output::Event(Event::Discarded { reason: Discard::Unparseable(e), source: from })]
                if e.kind() == kind
                    && e.message_kind() == MessageKind::Response
                    && *from == source() =>
            {
                Ok(())
            }
            _ => Err(format!(
                "want only Discarded(Unparseable({kind:?})) from {SOURCE}; {}",
                summary()
            )),
        },
    }
}

#[test]
fn every_conformance_fixture_gets_the_reaction_its_manifest_row_names() {
    let listed = manifest();
    assert_eq!(listed.len(), 62, "49 RFC 4475 files, 12 RFC 5118 files and 1 variant");
    let rows: Vec<&str> = TABLE.iter().map(|(p, _)| *p).collect();
    let unique: BTreeSet<&str> = rows.iter().copied().collect();
    assert_eq!(unique.len(), rows.len(), "a path is in the table twice");
    let listed_set: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    assert_eq!(unique, listed_set, "the table must have exactly one row per manifest line");

    let mut failures = Vec::new();
    for &(path, expect) in TABLE {
        let outcome = check(path, expect);
        if let Err(e) = outcome {
            failures.push(format!("{path} ({expect:?}): {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures:\n{}",
        failures.len(),
        TABLE.len(),
        failures.join("\n")
    );
}

/// RFC 3261 §18.2.1: the server transport adds `received` to the top Via of a request
/// whose sent-by is a name or another address than the packet's source, and every
/// response copies that Via (§8.2.6.2). The source here is never the sent-by.
#[test]
fn every_response_carries_received_on_the_top_via() {
    let want = format!("received={}", source().ip());
    let mut failures = Vec::new();
    for &(path, expect) in TABLE {
        if matches!(expect, Discarded(_) | Unparseable(_)) {
            continue;
        }
        let (_, outputs) = react(read(path));
        for o in &outputs {
            let Output::Transmit(t) = o else { continue };
            let Ok(wire) = Wire::read(&t.payload) else { continue };
            let top =
                wire.one("via").and_then(|v| v.split(',').next()).unwrap_or_default().to_owned();
            if !top.split(';').any(|p| p.trim() == want) {
                failures.push(format!("{path}: {} with top Via {top:?}", wire.code));
            }
        }
    }
    assert!(failures.is_empty(), "{} responses:\n{}", failures.len(), failures.join("\n"));
}
