//! The checks RFC 3261 §8.2 puts every incoming request through, in its order, each
//! ending in the automatic response it names.
//!
//! ```text
//! §8.2.1    method unknown                      -> 501 (with Allow)
//!           method known, not allowed           -> 405 with Allow
//! §8.2.2    a header layers rely on is malformed -> 400 saying which (413/414/513 for size)
//! §8.1.1    mandatory header missing/duplicated, CSeq method mismatch -> 400 saying which
//! §8.2.2.1  Request-URI scheme not SIP/SIPS     -> 416  (outside a dialog only)
//! §8.2.2.3  Require lists an unknown option tag -> 420 with Unsupported
//! §8.2.3    body type not accepted              -> 415 with Accept
//! §13.3.1   INVITE whose Accept excludes our body types -> 406
//! ```
//!
//! Merged requests (482) are found by the transaction layer; dialog matching (481, 500)
//! happens after these checks. Max-Forwards is not checked: an endpoint never forwards, so
//! it processes a request with Max-Forwards 0 like any other (RFC 4475 §3.3.11).

use crate::message::{HeaderName, Message, Method, Uri};

use super::Config;

/// What the checks decided about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Go on: dialog matching, then the method's handler.
    Pass,
    /// Answer with this status, reason phrase (default: the RFC's) and extra header.
    Reject { code: u16, reason: Option<&'static str>, header: Option<(HeaderName, String)> },
}

impl Verdict {
    const fn code(code: u16) -> Self {
        Self::Reject { code, reason: None, header: None }
    }

    fn with(code: u16, name: HeaderName, value: String) -> Self {
        Self::Reject { code, reason: None, header: Some((name, value)) }
    }
}

/// Runs the §8.2 checks on `request` (not an ACK or CANCEL: those are never answered this
/// way). `in_dialog`: the request has a To tag, so the Request-URI is not judged (the
/// dialog is found by its identifiers first).
pub(crate) fn check_request(request: &Message, config: &Config, in_dialog: bool) -> Verdict {
    let Some(method) = request.method() else { return Verdict::Pass };
    if matches!(method, Method::Extension(_)) {
        return Verdict::with(501, HeaderName::Allow, config.allow_header());
    }
    if !config.allows(method) {
        return Verdict::with(405, HeaderName::Allow, config.allow_header());
    }
    if let Err(e) = request.validate_with(&config.limits).and_then(|()| request.check_request()) {
        let code = e.status_hint().unwrap_or(400);
        return Verdict::Reject { code, reason: Some(e.reason_phrase()), header: None };
    }
    if !in_dialog && !matches!(request.request_uri(), Some(Uri::Sip(_))) {
        return Verdict::code(416);
    }
    if !matches!(method, Method::Ack | Method::Cancel) {
        let mut unsupported = String::new();
        for tag in request.require().flatten() {
            if !config.supports(tag) {
                if !unsupported.is_empty() {
                    unsupported.push_str(", ");
                }
                unsupported.push_str(tag);
            }
        }
        if !unsupported.is_empty() {
            return Verdict::with(420, HeaderName::Unsupported, unsupported);
        }
    }
    if !request.body().is_empty() {
        match request.content_type() {
            Ok(Some(ty)) if accepted(config, |t, s| ty.is(t, s)) => {}
            Ok(Some(_)) => return Verdict::with(415, HeaderName::Accept, config.accept_header()),
            Ok(None) => {
                return Verdict::Reject {
                    code: 400,
                    reason: Some("Bad Request - Missing Content-Type"),
                    header: None,
                };
            }
            Err(e) => {
                return Verdict::Reject {
                    code: 400,
                    reason: Some(e.reason_phrase()),
                    header: None,
                };
            }
        }
    }
    if *method == Method::Invite && !in_dialog {
        // §8.2.3 / §21.4.7: our answer will carry a body of one of our types; a caller
        // whose Accept admits none of them cannot take it.
        let mut listed = false;
        let mut admitted = false;
        for ty in request.accept().flatten() {
            listed = true;
            admitted |= accepted(config, |t, s| ty.admits(t, s));
        }
        if listed && !admitted {
            return Verdict::with(406, HeaderName::Accept, config.accept_header());
        }
    }
    Verdict::Pass
}

/// Whether one of our accepted `type/subtype`s satisfies `pred`.
fn accepted(config: &Config, pred: impl Fn(&str, &str) -> bool) -> bool {
    config.accepted_body_types.iter().any(|t| {
        let (ty, sub) = t.split_once('/').unwrap_or((t, "*"));
        pred(ty, sub)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, uri: &str, extra: &str, body: &str) -> Message {
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=f\r\n\
             To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n{extra}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Message::parse_with(
            text.as_bytes(),
            &crate::ParseOptions { validate: false, ..Default::default() },
        )
        .expect("parses")
    }

    fn code(v: &Verdict) -> u16 {
        match v {
            Verdict::Reject { code, .. } => *code,
            Verdict::Pass => 0,
        }
    }

    #[test]
    fn each_check_answers_its_code_in_rfc_order() {
        let c = Config::new("sip:ua@192.0.2.1");
        let check = |m: &Message| code(&check_request(m, &c, false));
        assert_eq!(check(&req("OPTIONS", "sip:b@h", "", "")), 0);
        assert_eq!(check(&req("FOO", "sip:b@h", "", "")), 501);
        assert_eq!(check(&req("REGISTER", "sip:h", "", "")), 405);
        assert_eq!(check(&req("OPTIONS", "mailto:b@h", "", "")), 416);
        assert_eq!(check(&req("OPTIONS", "sip:b@h", "Require: foo, 100rel\r\n", "")), 420);
        assert_eq!(check(&req("OPTIONS", "sip:b@h", "Content-Type: text/x\r\n", "x")), 415);
        assert_eq!(check(&req("OPTIONS", "sip:b@h", "", "x")), 400);
        assert_eq!(check(&req("INVITE", "sip:b@h", "Accept: text/html\r\n", "")), 406);
        assert_eq!(check(&req("INVITE", "sip:b@h", "Accept: application/*\r\n", "")), 0);
        // Inside a dialog the Request-URI is not judged.
        assert_eq!(code(&check_request(&req("BYE", "mailto:b@h", "", ""), &c, true)), 0);
        let Verdict::Reject { header: Some((name, value)), .. } = check_request(
            &req("OPTIONS", "sip:b@h", "Require: foo, 100rel, bar\r\n", ""),
            &c,
            false,
        ) else {
            panic!("420 carries Unsupported")
        };
        assert_eq!((name, value.as_str()), (HeaderName::Unsupported, "foo, bar"));
    }
}
