//! Reads a SIP message from a file (or stdin) and prints its parsed structure.
//!
//! `cargo run -p sipwire --example inspect -- ../shared/bench/invite-461.sip`

use std::io::Read;
use std::process::ExitCode;

use sipwire::message::{Contact, Uri};
use sipwire::{Message, ParseError};

fn main() -> ExitCode {
    let path = std::env::args().nth(1);
    let mut bytes = Vec::new();
    let read = match path.as_deref() {
        None | Some("-") => std::io::stdin().read_to_end(&mut bytes).map(|_| ()),
        Some(p) => std::fs::read(p).map(|b| bytes = b),
    };
    if let Err(e) = read {
        eprintln!("cannot read {}: {e}", path.as_deref().unwrap_or("stdin"));
        return ExitCode::from(2);
    }
    match Message::parse(bytes) {
        Ok(msg) => {
            print(&msg);
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

fn report(e: &ParseError) {
    println!("parse error: {} (kind {:?})", e, e.kind());
    println!("  at byte:     {}", e.offset());
    println!("  message:     {:?}", e.message_kind());
    match e.status_hint() {
        Some(code) => println!("  a UAS answers: {code} {}", e.reason_phrase()),
        None => println!("  a UAS answers: nothing (the message is dropped)"),
    }
}

fn uri(u: &Uri<'_>) -> String {
    match u {
        Uri::Sip(s) => format!(
            "{} (scheme {}, user {:?}, host {}, port {:?}, params {:?})",
            s.as_str(),
            u.scheme(),
            s.user,
            s.host,
            s.port,
            s.params.as_str()
        ),
        other => format!("{other} (scheme {})", other.scheme()),
    }
}

fn print(msg: &Message) {
    if let Some(m) = msg.method() {
        println!("request {m} {}", msg.request_uri().map(|u| uri(&u)).unwrap_or_default());
    } else {
        println!("response {} {:?}", msg.status().unwrap_or(0), msg.reason().unwrap_or(""));
    }
    println!("headers ({}):", msg.header_count());
    for h in msg.headers() {
        println!(
            "  {:<20} {}",
            h.raw_name(),
            String::from_utf8_lossy(h.value()).replace("\r\n", "\\r\\n")
        );
    }
    println!("decoded:");
    for (i, v) in msg.via().enumerate() {
        match v {
            Ok(v) => println!(
                "  Via[{i}]        {}/{} {} port {:?} branch {:?} received {:?} rport {:?}",
                v.protocol,
                v.transport.as_str(),
                v.host,
                v.port,
                v.branch(),
                v.received(),
                v.rport()
            ),
            Err(e) => println!("  Via[{i}]        error: {e}"),
        }
    }
    for (name, r) in [("From", msg.from_header()), ("To", msg.to_header())] {
        match r {
            Ok(a) => println!(
                "  {name:<14} {:?} {} tag {:?}",
                a.display_name.map(|d| d.text().into_owned()),
                uri(&a.uri),
                a.tag()
            ),
            Err(e) => println!("  {name:<14} error: {e}"),
        }
    }
    println!("  Call-ID        {:?}", msg.call_id());
    println!("  CSeq           {:?}", msg.cseq());
    println!("  Max-Forwards   {:?}", msg.max_forwards());
    println!("  Content-Length {:?}", msg.content_length());
    for c in msg.contacts() {
        match c {
            Ok(Contact::Addr(a)) => {
                println!("  Contact        {} q {:?} expires {:?}", uri(&a.uri), a.q(), a.expires())
            }
            Ok(_) => println!("  Contact        *"),
            Err(e) => println!("  Contact        error: {e}"),
        }
    }
    if let Ok(Some(ct)) = msg.content_type() {
        println!("  Content-Type   {}/{}", ct.ty, ct.subtype);
    }
    println!("body: {} bytes", msg.body().len());
}
