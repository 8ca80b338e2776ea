//! Dialogs (RFC 3261 §12): the state two user agents share for the life of a call.
//!
//! A [`Dialog`] is created by the user-agent server when it sends the first response with
//! a To tag (early), and confirmed by its 2xx. It remembers what every later request in the
//! dialog needs: the Call-ID and tags that identify it, the local and remote URIs, the
//! remote target (the peer's Contact), the route set (the Record-Route of the request that
//! created it) and both CSeq counters. It builds the requests the UAS sends in the dialog
//! (§12.2.1.1) and checks the order of the ones it receives (§12.2.2).

use std::net::{IpAddr, SocketAddr};

use crate::message::{HeaderName, Host, Message, Method, RequestBuilder, Uri};
use crate::transaction::Target;
use crate::transport::Transport;

/// Whether a dialog is early (a provisional response created it) or confirmed (a 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DialogState {
    /// Created by a provisional response with a To tag.
    Early,
    /// Confirmed by a 2xx.
    Confirmed,
}

/// One dialog, as seen by the side that answered the request creating it (the UAS).
#[derive(Debug, Clone)]
pub struct Dialog {
    state: DialogState,
    call_id: Box<str>,
    local_tag: Box<str>,
    remote_tag: Box<str>,
    /// Our identity for the From header of our requests: the request's To value plus our tag.
    local: Box<str>,
    /// The peer's identity for the To header of our requests: the request's From value.
    remote: Box<str>,
    remote_target: Box<str>,
    route_set: Box<[Box<str>]>,
    local_seq: u32,
    remote_seq: u32,
    secure: bool,
}

/// Why an in-dialog request is refused before its method is looked at (§12.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderError {
    /// The CSeq is lower than the last one seen: answer 500.
    StaleCSeq,
}

impl Dialog {
    /// Builds the dialog the UAS creates for `request` (§12.1.1), with `local_tag` as its To
    /// tag. `None` if the request lacks what a dialog needs (Call-ID, From, To, CSeq, or a
    /// SIP/SIPS Contact — an RFC 2543 request without one is reached at its From URI).
    pub(crate) fn from_request(request: &Message, local_tag: &str, local_seq: u32) -> Option<Self> {
        let call_id = request.call_id().ok()?;
        let remote_tag = request.from_tag().ok()?.unwrap_or("");
        let to = request.header(HeaderName::To)?;
        let from = request.header(HeaderName::From)?;
        let cseq = request.cseq().ok()?;
        let target = match request.contacts().next() {
            Some(Ok(crate::message::Contact::Addr(a))) => match a.uri {
                Uri::Sip(_) => a.uri.as_str(),
                _ => return None,
            },
            // An RFC 2543 peer (no magic cookie) may leave Contact out: its From URI is
            // where it can be reached (RFC 4475 §3.4.1 asks for backward compatibility).
            None if !request.top_via().is_ok_and(|v| v.has_magic_cookie()) => {
                match request.from_header().ok()?.uri {
                    u @ Uri::Sip(_) => u.as_str(),
                    _ => return None,
                }
            }
            _ => return None,
        };
        let secure = matches!(request.request_uri(), Some(Uri::Sip(u)) if u.secure);
        let mut local = String::with_capacity(to.len() + 5 + local_tag.len());
        local.push_str(std::str::from_utf8(to).ok()?);
        local.push_str(";tag=");
        local.push_str(local_tag);
        let route_set: Box<[Box<str>]> = request
            .header_lines(HeaderName::RecordRoute)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .map(Box::from)
            .collect();
        Some(Self {
            state: DialogState::Early,
            call_id: call_id.into(),
            local_tag: local_tag.into(),
            remote_tag: remote_tag.into(),
            local: local.into(),
            remote: std::str::from_utf8(from).ok()?.into(),
            remote_target: target.into(),
            route_set,
            local_seq,
            remote_seq: cseq.seq,
            secure,
        })
    }

    /// Returns whether the dialog is early or confirmed.
    #[must_use]
    pub const fn state(&self) -> DialogState {
        self.state
    }

    /// Returns the Call-ID.
    #[must_use]
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Returns our tag (the To tag of our responses).
    #[must_use]
    pub fn local_tag(&self) -> &str {
        &self.local_tag
    }

    /// Returns the peer's tag (the From tag of its request; empty for an RFC 2543 peer).
    #[must_use]
    pub fn remote_tag(&self) -> &str {
        &self.remote_tag
    }

    /// Returns the remote target: the URI our requests in the dialog are sent to.
    #[must_use]
    pub fn remote_target(&self) -> &str {
        &self.remote_target
    }

    /// Returns the route set, in the order our requests list it.
    pub fn route_set(&self) -> impl ExactSizeIterator<Item = &str> {
        self.route_set.iter().map(|r| &**r)
    }

    /// Returns the CSeq number of the last request we sent in the dialog.
    #[must_use]
    pub const fn local_seq(&self) -> u32 {
        self.local_seq
    }

    /// Returns the CSeq number of the last request the peer sent in the dialog.
    #[must_use]
    pub const fn remote_seq(&self) -> u32 {
        self.remote_seq
    }

    /// Returns whether the dialog was created by a `sips:` request.
    #[must_use]
    pub const fn secure(&self) -> bool {
        self.secure
    }

    /// Returns whether we chose the Call-ID (we sent the request that made the dialog),
    /// which sets our 491 back-off (RFC 3261 §14.1). The dialogs here are made by the
    /// UAS, whose Call-ID is the caller's: always `false` for now.
    #[must_use]
    pub const fn owns_call_id(&self) -> bool {
        false
    }

    pub(crate) fn confirm(&mut self) {
        self.state = DialogState::Confirmed;
    }

    /// Writes the key the endpoint finds the dialog by: Call-ID, local tag, remote tag.
    pub(crate) fn key(&self, out: &mut Vec<u8>) {
        write_key(out, &self.call_id, &self.local_tag, &self.remote_tag);
    }

    /// Checks the CSeq of a request received in the dialog and records it (§12.2.2). ACK
    /// and CANCEL carry the number of the request they belong to and are not checked.
    pub(crate) fn check_remote_seq(&mut self, request: &Message) -> Result<(), OrderError> {
        let Ok(cseq) = request.cseq() else { return Ok(()) };
        if matches!(cseq.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if cseq.seq < self.remote_seq {
            return Err(OrderError::StaleCSeq);
        }
        self.remote_seq = cseq.seq;
        Ok(())
    }

    /// Starts a request in the dialog (§12.2.1.1): Request-URI from the remote target (or
    /// the first route, for a strict router), Route from the route set, From, To, Call-ID,
    /// the next local CSeq and Max-Forwards. The transaction layer adds the Via.
    pub(crate) fn request(&mut self, method: &Method) -> RequestBuilder {
        self.local_seq = self.local_seq.wrapping_add(1).max(1);
        self.request_numbered(method, self.local_seq)
    }

    /// Starts the ACK for a 2xx to our INVITE with CSeq `seq` (§13.2.2.4): built like any
    /// request in the dialog, with the INVITE's CSeq number.
    pub(crate) fn ack(&self, seq: u32) -> RequestBuilder {
        self.request_numbered(&Method::Ack, seq)
    }

    /// Replaces the remote target with the Contact of a target-refresh request or of its
    /// 2xx (§12.2.1.2, §12.2.2).
    pub(crate) fn refresh_target(&mut self, message: &Message) {
        if let Some(Ok(crate::message::Contact::Addr(a))) = message.contacts().next()
            && matches!(a.uri, Uri::Sip(_))
        {
            self.remote_target = a.uri.as_str().into();
        }
    }

    fn request_numbered(&self, method: &Method, seq: u32) -> RequestBuilder {
        let strict = self.route_set.first().is_some_and(|r| !first_uri_is_loose(r));
        let uri = if strict {
            self.route_set.first().map_or(&*self.remote_target, |r| route_uri(r))
        } else {
            &*self.remote_target
        };
        let mut b = RequestBuilder::new(method, uri);
        let routes =
            if strict { self.route_set.get(1..).unwrap_or_default() } else { &self.route_set };
        for route in routes {
            b = b.header(HeaderName::Route, &**route);
        }
        if strict {
            let mut last = String::with_capacity(self.remote_target.len() + 2);
            last.push('<');
            last.push_str(&self.remote_target);
            last.push('>');
            b = b.header(HeaderName::Route, last);
        }
        b.header(HeaderName::From, &*self.local)
            .header(HeaderName::To, &*self.remote)
            .header(HeaderName::CallId, &*self.call_id)
            .cseq(seq, method)
            .max_forwards(70)
    }

    /// Returns where a request in the dialog goes: the host of the first route, or of the
    /// remote target, when it is an IP address (the core resolves no names); otherwise
    /// `fallback`, the address the dialog's request came from.
    pub(crate) fn next_hop(&self, fallback: Target) -> Target {
        let uri = self.route_set.first().map_or(&*self.remote_target, |r| route_uri(r));
        let Ok(Uri::Sip(sip)) = Uri::parse(uri) else { return fallback };
        let transport = sip.transport().and_then(Transport::from_token).unwrap_or(
            if sip.secure && !fallback.transport.is_reliable() {
                Transport::Tls
            } else {
                fallback.transport
            },
        );
        let ip = match sip.host {
            Host::Ipv4(a) => IpAddr::V4(a),
            Host::Ipv6(a) => IpAddr::V6(a),
            Host::Domain(_) => return fallback,
        };
        let port = sip.port.unwrap_or(if sip.secure { 5061 } else { transport.default_port() });
        Target::new(SocketAddr::new(ip, port), transport)
    }
}

/// Writes a dialog key from its three parts.
pub(crate) fn write_key(out: &mut Vec<u8>, call_id: &str, local_tag: &str, remote_tag: &str) {
    out.clear();
    out.extend_from_slice(call_id.as_bytes());
    out.push(0);
    out.extend_from_slice(local_tag.as_bytes());
    out.push(0);
    out.extend_from_slice(remote_tag.as_bytes());
}

/// Writes the key of the dialog `request` belongs to, seen from the UAS: Call-ID, To tag
/// (ours), From tag (theirs). `None` without a Call-ID or a To tag.
pub(crate) fn request_key(request: &Message, out: &mut Vec<u8>) -> Option<()> {
    let call_id = request.call_id().ok()?;
    let local = request.to_tag().ok()??;
    let remote = request.from_tag().ok()?.unwrap_or("");
    write_key(out, call_id, local, remote);
    Some(())
}

/// The URI inside a Route / Record-Route value (the first, if the line lists several).
fn route_uri(route: &str) -> &str {
    let route = route.trim();
    match (route.find('<'), route.find('>')) {
        (Some(a), Some(b)) if a < b => route.get(a + 1..b).unwrap_or(route),
        _ => route.split([';', ',']).next().unwrap_or(route),
    }
}

fn first_uri_is_loose(route: &str) -> bool {
    matches!(Uri::parse(route_uri(route)), Ok(Uri::Sip(u)) if u.lr())
        || !matches!(Uri::parse(route_uri(route)), Ok(Uri::Sip(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(extra: &str) -> Message {
        let text = format!(
            "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             From: \"A\" <sip:alice@192.0.2.1>;tag=ft\r\nTo: <sip:bob@192.0.2.2>\r\n\
             Call-ID: c1\r\nCSeq: 7 INVITE\r\nContact: <sip:alice@192.0.2.1:5070>\r\n{extra}\
             Content-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).expect("parses")
    }

    const FALLBACK: Target = Target::new(
        SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1)), 5060),
        Transport::Udp,
    );

    #[test]
    fn a_request_in_the_dialog_goes_to_the_remote_target_with_the_dialog_headers() {
        let mut d = Dialog::from_request(&invite(""), "lt", 100).expect("dialog");
        let bye = d.request(&Method::Bye).build().expect("builds");
        assert_eq!(bye.request_uri_str(), Some("sip:alice@192.0.2.1:5070"));
        assert_eq!(bye.from_tag().unwrap(), Some("lt"));
        assert_eq!(bye.to_tag().unwrap(), Some("ft"));
        assert_eq!(bye.cseq().unwrap().seq, 101);
        assert_eq!(d.next_hop(FALLBACK).addr, "192.0.2.1:5070".parse().unwrap());
        assert_eq!(d.remote_seq(), 7);
    }

    #[test]
    fn loose_routes_become_route_headers_and_the_first_is_the_next_hop() {
        let m = invite("Record-Route: <sip:p1.example.com;lr>, <sip:192.0.2.9;lr>\r\n");
        let mut d = Dialog::from_request(&m, "lt", 1).expect("dialog");
        let bye = d.request(&Method::Bye).build().expect("builds");
        let routes: Vec<_> = bye.header_values(HeaderName::Route).collect();
        assert_eq!(routes, [&b"<sip:p1.example.com;lr>"[..], b"<sip:192.0.2.9;lr>"]);
        assert_eq!(bye.request_uri_str(), Some("sip:alice@192.0.2.1:5070"));
        // A host name cannot be resolved in the core: the fallback flow is used.
        assert_eq!(d.next_hop(FALLBACK), FALLBACK);
    }

    #[test]
    fn a_strict_router_gets_the_request_uri_and_the_target_goes_last() {
        let m = invite("Record-Route: <sip:192.0.2.9>\r\n");
        let mut d = Dialog::from_request(&m, "lt", 1).expect("dialog");
        let bye = d.request(&Method::Bye).build().expect("builds");
        assert_eq!(bye.request_uri_str(), Some("sip:192.0.2.9"));
        let routes: Vec<_> = bye.header_values(HeaderName::Route).collect();
        assert_eq!(routes, [&b"<sip:alice@192.0.2.1:5070>"[..]]);
        assert_eq!(d.next_hop(FALLBACK).addr, "192.0.2.9:5060".parse().unwrap());
    }

    #[test]
    fn stale_cseq_is_refused_and_ack_is_not_checked() {
        let mut d = Dialog::from_request(&invite(""), "lt", 1).expect("dialog");
        let req = |cseq: &str| {
            Message::parse(
                format!(
                    "BYE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=ft\r\n\
                     To: <sip:b@h>;tag=lt\r\nCall-ID: c1\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
                )
                .as_bytes(),
            )
            .expect("parses")
        };
        assert_eq!(d.check_remote_seq(&req("6 BYE")), Err(OrderError::StaleCSeq));
        assert_eq!(d.check_remote_seq(&req("7 ACK")), Ok(()));
        assert_eq!(d.check_remote_seq(&req("8 BYE")), Ok(()));
        assert_eq!(d.remote_seq(), 8);
    }

    #[test]
    fn no_sip_contact_no_dialog() {
        let m = Message::parse(
            &b"INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=f\r\n\
               To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: <mailto:a@h>\r\nContent-Length: 0\r\n\r\n"[..],
        )
        .expect("parses");
        assert!(Dialog::from_request(&m, "t", 1).is_none());
    }
}
