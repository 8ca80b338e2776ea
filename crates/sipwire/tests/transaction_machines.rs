//! The four transaction machines on their own, on a hand-driven virtual clock: exact RFC
//! schedules to the millisecond, and a table of every (state, input) pair.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipwire::transaction::{
    InviteClient, InviteClientState as IC, InviteServer, InviteServerState as IS, NonInviteClient,
    NonInviteClientState as NC, NonInviteServer, NonInviteServerState as NS, Outbox, Target,
    Timers, TransactionId, TxEvent,
};
use sipwire::{Message, Output, Transport};

const ID: TransactionId = TransactionId::STANDALONE;

/// The virtual clock's epoch; nothing here reads the clock again.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

fn peer(transport: Transport) -> Target {
    Target::new("192.0.2.9:5060".parse::<SocketAddr>().unwrap(), transport)
}

fn request(method: &str) -> Message {
    let text = format!(
        "{method} sip:bob@192.0.2.9 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-machine-1;rport\r\n\
         Route: <sip:proxy.example.com;lr>\r\n\
         From: <sip:alice@example.com>;tag=a1\r\n\
         To: <sip:bob@example.com>\r\n\
         Call-ID: call-1@192.0.2.1\r\n\
         CSeq: 7 {method}\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Message::parse(text.as_bytes()).unwrap()
}

fn response(req: &Message, code: u16) -> Message {
    req.reply(code).to_tag("b2").build().unwrap()
}

/// One output, summarised: `tx:<first word of the start line or code>` or the event.
fn summary(o: Output<sipwire::transaction::TxEvent>) -> String {
    match o {
        Output::Transmit(t) => {
            let m = Message::parse(&t.payload[..]).unwrap();
            match m.status() {
                Some(code) => format!("tx:{code}"),
                None => format!("tx:{}", m.method().unwrap().as_str()),
            }
        }
        Output::Event(TxEvent::Response { response, .. }) => {
            format!("tu:{}", response.status().unwrap())
        }
        Output::Event(TxEvent::Timeout { timer, .. }) => format!("timeout:{timer:?}"),
        Output::Event(TxEvent::TransportError { .. }) => "transport-error".into(),
        Output::Event(TxEvent::Terminated { .. }) => "terminated".into(),
        Output::Event(TxEvent::Ack { .. }) => "tu:ACK".into(),
        Output::Event(TxEvent::Discarded { reason, .. }) => format!("discard:{reason:?}"),
        Output::Event(other) => format!("{other:?}"),
    }
}

fn drain(out: &mut Outbox) -> Vec<String> {
    std::iter::from_fn(|| out.poll_output()).map(summary).collect()
}

/// Drives a machine's timers until it has none, recording each output with its time.
fn run_timers(
    t0: Instant,
    out: &mut Outbox,
    mut poll: impl FnMut() -> Option<Instant>,
    mut fire: impl FnMut(Instant, &mut Outbox),
) -> Vec<(u128, String)> {
    let mut log = Vec::new();
    for _ in 0..1000 {
        let Some(at) = poll() else { break };
        fire(at, out);
        let ms = (at - t0).as_millis();
        log.extend(drain(out).into_iter().map(|s| (ms, s)));
    }
    log
}

fn sends(log: &[(u128, String)], what: &str) -> Vec<u128> {
    log.iter().filter(|(_, s)| s == what).map(|(t, _)| *t).collect()
}

fn at(log: &[(u128, String)], what: &str) -> Option<u128> {
    log.iter().find(|(_, s)| s == what).map(|(t, _)| *t)
}

#[test]
fn invite_into_silence_over_udp_is_sent_at_rfc_times_and_timer_b_fires_at_32s() {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let inv = request("INVITE");
    let tx = InviteClient::new(ID, t0, inv.to_bytes(), peer(Transport::Udp), &timers, &mut out);
    let mut log: Vec<(u128, String)> = drain(&mut out).into_iter().map(|s| (0, s)).collect();
    let cell = std::cell::RefCell::new(tx);
    log.extend(run_timers(
        t0,
        &mut out,
        || cell.borrow().poll_timeout(),
        |now, out| cell.borrow_mut().handle_timeout(now, &timers, out),
    ));
    assert_eq!(sends(&log, "tx:INVITE"), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(at(&log, "timeout:B"), Some(32_000));
    assert_eq!(at(&log, "terminated"), Some(32_000));
    assert_eq!(cell.borrow().state(), IC::Terminated);
}

#[test]
fn non_invite_into_silence_over_udp_backs_off_to_t2_until_timer_f() {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let req = request("OPTIONS");
    let tx = NonInviteClient::new(ID, t0, req.to_bytes(), peer(Transport::Udp), &timers, &mut out);
    let mut log: Vec<(u128, String)> = drain(&mut out).into_iter().map(|s| (0, s)).collect();
    let cell = std::cell::RefCell::new(tx);
    log.extend(run_timers(
        t0,
        &mut out,
        || cell.borrow().poll_timeout(),
        |now, out| cell.borrow_mut().handle_timeout(now, &timers, out),
    ));
    assert_eq!(
        sends(&log, "tx:OPTIONS"),
        [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(at(&log, "timeout:F"), Some(32_000));
    assert_eq!(cell.borrow().state(), NC::Terminated);
}

fn server_486(transport: Transport, ack_at: Option<u64>) -> Vec<(u128, String)> {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let inv = request("INVITE");
    let mut tx = InviteServer::new(ID, t0, &inv, peer(transport), &timers);
    tx.respond(t0, inv.reply(486).to_tag("b2"), &timers, &mut out).unwrap();
    let mut log: Vec<(u128, String)> = drain(&mut out).into_iter().map(|s| (0, s)).collect();
    let ack = sipwire::RequestBuilder::new(&sipwire::Method::Ack, "sip:bob@192.0.2.9")
        .header(sipwire::HeaderName::Via, inv.header(sipwire::HeaderName::Via).unwrap())
        .header(sipwire::HeaderName::From, "<sip:alice@example.com>;tag=a1")
        .header(sipwire::HeaderName::To, "<sip:bob@example.com>;tag=b2")
        .header(sipwire::HeaderName::CallId, "call-1@192.0.2.1")
        .cseq(7, &sipwire::Method::Ack)
        .build()
        .unwrap();
    let mut acked = false;
    for _ in 0..100 {
        let Some(next) = tx.poll_timeout() else { break };
        if let Some(ms) = ack_at.filter(|_| !acked) {
            let ack_time = t0 + Duration::from_millis(ms);
            if ack_time <= next {
                acked = true;
                tx.handle_request(ack_time, &ack, peer(transport).addr, &timers, &mut out);
                log.extend(drain(&mut out).into_iter().map(|s| (u128::from(ms), s)));
                log.push((u128::from(ms), format!("state:{:?}", tx.state())));
                continue;
            }
        }
        tx.handle_timeout(next, &timers, &mut out);
        let ms = (next - t0).as_millis();
        log.extend(drain(&mut out).into_iter().map(|s| (ms, s)));
    }
    log
}

#[test]
fn a_486_over_udp_is_retransmitted_by_timer_g_until_timer_h() {
    let log = server_486(Transport::Udp, None);
    assert_eq!(
        sends(&log, "tx:486"),
        [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(at(&log, "timeout:H"), Some(32_000));
    assert_eq!(at(&log, "terminated"), Some(32_000));
}

#[test]
fn a_486_over_udp_stops_at_the_ack_and_timer_i_ends_it_t4_later() {
    let log = server_486(Transport::Udp, Some(1_600));
    assert_eq!(sends(&log, "tx:486"), [0, 500, 1500]);
    assert_eq!(at(&log, "state:Confirmed"), Some(1_600));
    assert_eq!(at(&log, "terminated"), Some(6_600));
    assert_eq!(at(&log, "timeout:H"), None);
}

#[test]
fn over_tcp_nothing_is_retransmitted() {
    let log = server_486(Transport::Tcp, None);
    assert_eq!(sends(&log, "tx:486"), [0]);
    assert_eq!(at(&log, "timeout:H"), Some(32_000));
    // Over TCP the ACK ends the transaction at once: Timer I is zero.
    let log = server_486(Transport::Tcp, Some(100));
    assert_eq!(at(&log, "terminated"), Some(100));

    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let tx = InviteClient::new(
        ID,
        t0,
        request("INVITE").to_bytes(),
        peer(Transport::Tcp),
        &timers,
        &mut out,
    );
    let cell = std::cell::RefCell::new(tx);
    let mut log: Vec<(u128, String)> = drain(&mut out).into_iter().map(|s| (0, s)).collect();
    log.extend(run_timers(
        t0,
        &mut out,
        || cell.borrow().poll_timeout(),
        |now, out| {
            cell.borrow_mut().handle_timeout(now, &timers, out);
        },
    ));
    assert_eq!(sends(&log, "tx:INVITE"), [0]);
    assert_eq!(at(&log, "timeout:B"), Some(32_000));

    let tx = NonInviteClient::new(
        ID,
        t0,
        request("BYE").to_bytes(),
        peer(Transport::Tcp),
        &timers,
        &mut out,
    );
    let cell = std::cell::RefCell::new(tx);
    let mut log: Vec<(u128, String)> = drain(&mut out).into_iter().map(|s| (0, s)).collect();
    log.extend(run_timers(
        t0,
        &mut out,
        || cell.borrow().poll_timeout(),
        |now, out| {
            cell.borrow_mut().handle_timeout(now, &timers, out);
        },
    ));
    assert_eq!(sends(&log, "tx:BYE"), [0]);
    assert_eq!(at(&log, "timeout:F"), Some(32_000));
}

#[test]
fn invite_server_sends_100_trying_at_200ms_unless_the_tu_answered() {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let inv = request("INVITE");
    let mut tx = InviteServer::new(ID, t0, &inv, peer(Transport::Udp), &timers);
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_millis(200)));
    tx.handle_timeout(t0 + Duration::from_millis(199), &timers, &mut out);
    assert!(out.is_empty(), "nothing before 200 ms");
    tx.handle_timeout(t0 + Duration::from_millis(200), &timers, &mut out);
    assert_eq!(drain(&mut out), ["tx:100"]);
    assert_eq!(tx.poll_timeout(), None);

    let mut tx = InviteServer::new(ID, t0, &inv, peer(Transport::Udp), &timers);
    tx.respond(t0 + Duration::from_millis(150), inv.reply(180).to_tag("b2"), &timers, &mut out)
        .unwrap();
    assert_eq!(drain(&mut out), ["tx:180"]);
    assert_eq!(tx.poll_timeout(), None, "the TU answered: no automatic 100");

    let mut custom = Timers::DEFAULT;
    custom.trying = Duration::from_millis(50);
    let tx = InviteServer::new(ID, t0, &inv, peer(Transport::Udp), &custom);
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_millis(50)), "configurable");
}

#[test]
fn the_ack_for_a_non_2xx_is_built_by_the_client_transaction() {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let inv = request("INVITE");
    let mut tx = InviteClient::new(ID, t0, inv.to_bytes(), peer(Transport::Udp), &timers, &mut out);
    let _ = drain(&mut out);
    tx.handle_response(t0, response(&inv, 486), &timers, &mut out);
    let Some(Output::Transmit(ack)) = out.poll_output() else { panic!("ACK first") };
    let ack = Message::parse(&ack.payload[..]).unwrap();
    assert_eq!(ack.method(), Some(&sipwire::Method::Ack));
    assert_eq!(ack.request_uri_str(), inv.request_uri_str());
    assert_eq!(ack.top_via().unwrap().branch(), Some("z9hG4bK-machine-1"), "same branch");
    assert_eq!(ack.via().count(), 1);
    assert_eq!(ack.to_header().unwrap().tag(), Some("b2"), "To from the response");
    assert_eq!(ack.from_header().unwrap().tag(), Some("a1"));
    assert_eq!(ack.call_id().unwrap(), "call-1@192.0.2.1");
    let cseq = ack.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (7, sipwire::Method::Ack));
    assert_eq!(ack.routes().count(), 1, "Route copied from the INVITE");
}

// ---- the (state, input) tables ----

#[derive(Debug, Clone, Copy)]
enum In {
    R1xx,
    R2xx,
    R486,
    Tick,
    SendFailed,
}

const INPUTS: [In; 5] = [In::R1xx, In::R2xx, In::R486, In::Tick, In::SendFailed];

/// Applies one input to an INVITE client first driven into `state`; returns the new state,
/// the outputs and, for a tick, when it fired (ms after the state was reached).
fn invite_client_step(state: IC, input: In, transport: Transport) -> (IC, Vec<String>) {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let inv = request("INVITE");
    let mut tx = InviteClient::new(ID, t0, inv.to_bytes(), peer(transport), &timers, &mut out);
    match state {
        IC::Calling => {}
        IC::Proceeding => tx.handle_response(t0, response(&inv, 180), &timers, &mut out),
        IC::Accepted => tx.handle_response(t0, response(&inv, 200), &timers, &mut out),
        IC::Completed => tx.handle_response(t0, response(&inv, 486), &timers, &mut out),
        _ => {
            tx.handle_send_failed(&mut out);
        }
    }
    assert_eq!(tx.state(), state);
    let _ = drain(&mut out);
    let mut log = Vec::new();
    match input {
        In::R1xx => tx.handle_response(t0, response(&inv, 180), &timers, &mut out),
        In::R2xx => tx.handle_response(t0, response(&inv, 200), &timers, &mut out),
        In::R486 => tx.handle_response(t0, response(&inv, 486), &timers, &mut out),
        In::SendFailed => tx.handle_send_failed(&mut out),
        In::Tick => match tx.poll_timeout() {
            Some(at) => {
                tx.handle_timeout(at, &timers, &mut out);
                log.push(format!("@{}ms", (at - t0).as_millis()));
            }
            None => log.push("no-timer".into()),
        },
    }
    log.extend(drain(&mut out));
    (tx.state(), log)
}

#[test]
fn invite_client_table() {
    use In::*;
    #[rustfmt::skip]
    let table: &[(IC, In, IC, &[&str])] = &[
        (IC::Calling, R1xx, IC::Proceeding, &["tu:180"]),
        (IC::Calling, R2xx, IC::Accepted, &["tu:200"]),
        (IC::Calling, R486, IC::Completed, &["tx:ACK", "tu:486"]),
        (IC::Calling, Tick, IC::Calling, &["@500ms", "tx:INVITE"]),
        (IC::Calling, SendFailed, IC::Terminated, &["transport-error", "terminated"]),
        (IC::Proceeding, R1xx, IC::Proceeding, &["tu:180"]),
        (IC::Proceeding, R2xx, IC::Accepted, &["tu:200"]),
        (IC::Proceeding, R486, IC::Completed, &["tx:ACK", "tu:486"]),
        (IC::Proceeding, Tick, IC::Terminated, &["@180000ms", "timeout:C", "terminated"]),
        (IC::Proceeding, SendFailed, IC::Proceeding, &[]),
        (IC::Accepted, R1xx, IC::Accepted, &[]),
        (IC::Accepted, R2xx, IC::Accepted, &["tu:200"]),
        (IC::Accepted, R486, IC::Accepted, &[]),
        (IC::Accepted, Tick, IC::Terminated, &["@32000ms", "terminated"]),
        (IC::Accepted, SendFailed, IC::Accepted, &[]),
        (IC::Completed, R1xx, IC::Completed, &[]),
        (IC::Completed, R2xx, IC::Completed, &[]),
        (IC::Completed, R486, IC::Completed, &["tx:ACK"]),
        (IC::Completed, Tick, IC::Terminated, &["@32000ms", "terminated"]),
        (IC::Completed, SendFailed, IC::Terminated, &["transport-error", "terminated"]),
        (IC::Terminated, R1xx, IC::Terminated, &[]),
        (IC::Terminated, R2xx, IC::Terminated, &[]),
        (IC::Terminated, R486, IC::Terminated, &[]),
        (IC::Terminated, Tick, IC::Terminated, &["no-timer"]),
        (IC::Terminated, SendFailed, IC::Terminated, &[]),
    ];
    assert_eq!(table.len(), 5 * INPUTS.len(), "every pair is listed");
    for &(state, input, next, outputs) in table {
        let got = invite_client_step(state, input, Transport::Udp);
        assert_eq!(
            got,
            (next, outputs.iter().map(|s| s.to_string()).collect()),
            "{state:?} + {input:?}"
        );
    }
    // Reliable transport: no Timer A, Timer D is zero.
    assert_eq!(
        invite_client_step(IC::Calling, Tick, Transport::Tcp),
        (IC::Terminated, vec!["@32000ms".into(), "timeout:B".into(), "terminated".into()])
    );
    assert_eq!(
        invite_client_step(IC::Calling, R486, Transport::Tcp),
        (IC::Terminated, vec!["tx:ACK".into(), "tu:486".into(), "terminated".into()])
    );
}

fn non_invite_client_step(state: NC, input: In, transport: Transport) -> (NC, Vec<String>) {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let req = request("OPTIONS");
    let mut tx = NonInviteClient::new(ID, t0, req.to_bytes(), peer(transport), &timers, &mut out);
    match state {
        NC::Trying => {}
        NC::Proceeding => tx.handle_response(t0, response(&req, 180), &timers, &mut out),
        NC::Completed => tx.handle_response(t0, response(&req, 200), &timers, &mut out),
        _ => tx.handle_send_failed(&mut out),
    }
    assert_eq!(tx.state(), state);
    let _ = drain(&mut out);
    let mut log = Vec::new();
    match input {
        In::R1xx => tx.handle_response(t0, response(&req, 180), &timers, &mut out),
        In::R2xx => tx.handle_response(t0, response(&req, 200), &timers, &mut out),
        In::R486 => tx.handle_response(t0, response(&req, 486), &timers, &mut out),
        In::SendFailed => tx.handle_send_failed(&mut out),
        In::Tick => match tx.poll_timeout() {
            Some(at) => {
                tx.handle_timeout(at, &timers, &mut out);
                log.push(format!("@{}ms", (at - t0).as_millis()));
            }
            None => log.push("no-timer".into()),
        },
    }
    log.extend(drain(&mut out));
    (tx.state(), log)
}

#[test]
fn non_invite_client_table() {
    use In::*;
    #[rustfmt::skip]
    let table: &[(NC, In, NC, &[&str])] = &[
        (NC::Trying, R1xx, NC::Proceeding, &["tu:180"]),
        (NC::Trying, R2xx, NC::Completed, &["tu:200"]),
        (NC::Trying, R486, NC::Completed, &["tu:486"]),
        (NC::Trying, Tick, NC::Trying, &["@500ms", "tx:OPTIONS"]),
        (NC::Trying, SendFailed, NC::Terminated, &["transport-error", "terminated"]),
        (NC::Proceeding, R1xx, NC::Proceeding, &["tu:180"]),
        (NC::Proceeding, R2xx, NC::Completed, &["tu:200"]),
        (NC::Proceeding, R486, NC::Completed, &["tu:486"]),
        (NC::Proceeding, Tick, NC::Proceeding, &["@500ms", "tx:OPTIONS"]),
        (NC::Proceeding, SendFailed, NC::Terminated, &["transport-error", "terminated"]),
        (NC::Completed, R1xx, NC::Completed, &[]),
        (NC::Completed, R2xx, NC::Completed, &[]),
        (NC::Completed, R486, NC::Completed, &[]),
        (NC::Completed, Tick, NC::Terminated, &["@5000ms", "terminated"]),
        (NC::Completed, SendFailed, NC::Completed, &[]),
        (NC::Terminated, R1xx, NC::Terminated, &[]),
        (NC::Terminated, R2xx, NC::Terminated, &[]),
        (NC::Terminated, R486, NC::Terminated, &[]),
        (NC::Terminated, Tick, NC::Terminated, &["no-timer"]),
        (NC::Terminated, SendFailed, NC::Terminated, &[]),
    ];
    assert_eq!(table.len(), 4 * INPUTS.len());
    for &(state, input, next, outputs) in table {
        let got = non_invite_client_step(state, input, Transport::Udp);
        assert_eq!(
            got,
            (next, outputs.iter().map(|s| s.to_string()).collect()),
            "{state:?} + {input:?}"
        );
    }
    // After a provisional, Timer E is T2 (§17.1.2.2): the second tick in Proceeding.
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let req = request("OPTIONS");
    let mut tx =
        NonInviteClient::new(ID, t0, req.to_bytes(), peer(Transport::Udp), &timers, &mut out);
    tx.handle_response(t0, response(&req, 180), &timers, &mut out);
    tx.handle_timeout(t0 + Duration::from_millis(500), &timers, &mut out);
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_millis(4500)));
    assert_eq!(
        non_invite_client_step(NC::Trying, R2xx, Transport::Tcp),
        (NC::Terminated, vec!["tu:200".into(), "terminated".into()]),
        "Timer K is zero over TCP"
    );
}

#[derive(Debug, Clone, Copy)]
enum SIn {
    Retransmit,
    Ack,
    Tu1xx,
    Tu2xx,
    Tu486,
    Tick,
    SendFailed,
}

const SINPUTS: [SIn; 7] =
    [SIn::Retransmit, SIn::Ack, SIn::Tu1xx, SIn::Tu2xx, SIn::Tu486, SIn::Tick, SIn::SendFailed];

fn ack_for(inv: &Message) -> Message {
    sipwire::RequestBuilder::new(&sipwire::Method::Ack, "sip:bob@192.0.2.9")
        .header(sipwire::HeaderName::Via, inv.header(sipwire::HeaderName::Via).unwrap())
        .header(sipwire::HeaderName::From, "<sip:alice@example.com>;tag=a1")
        .header(sipwire::HeaderName::To, "<sip:bob@example.com>;tag=b2")
        .header(sipwire::HeaderName::CallId, "call-1@192.0.2.1")
        .cseq(7, &sipwire::Method::Ack)
        .build()
        .unwrap()
}

fn invite_server_step(state: IS, input: SIn, transport: Transport) -> (IS, Vec<String>) {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let inv = request("INVITE");
    let src = peer(transport).addr;
    let mut tx = InviteServer::new(ID, t0, &inv, peer(transport), &timers);
    let tu = |code| inv.reply(code).to_tag("b2");
    match state {
        IS::Proceeding => {}
        IS::Accepted => tx.respond(t0, tu(200), &timers, &mut out).unwrap(),
        IS::Completed => tx.respond(t0, tu(486), &timers, &mut out).unwrap(),
        IS::Confirmed => {
            tx.respond(t0, tu(486), &timers, &mut out).unwrap();
            tx.handle_request(t0, &ack_for(&inv), src, &timers, &mut out);
        }
        _ => {
            tx.respond(t0, tu(200), &timers, &mut out).unwrap();
            tx.handle_timeout(t0 + Duration::from_secs(32), &timers, &mut out);
        }
    }
    assert_eq!(tx.state(), state);
    let _ = drain(&mut out);
    let mut log = Vec::new();
    let mut tu_call = |tx: &mut InviteServer, code, out: &mut Outbox| {
        if let Err(e) = tx.respond(t0, tu(code), &timers, out) {
            log.push(format!("err:{e:?}"));
        }
    };
    match input {
        SIn::Retransmit => tx.handle_request(t0, &inv, src, &timers, &mut out),
        SIn::Ack => tx.handle_request(t0, &ack_for(&inv), src, &timers, &mut out),
        SIn::Tu1xx => tu_call(&mut tx, 180, &mut out),
        SIn::Tu2xx => tu_call(&mut tx, 200, &mut out),
        SIn::Tu486 => tu_call(&mut tx, 486, &mut out),
        SIn::SendFailed => tx.handle_send_failed(&mut out),
        SIn::Tick => match tx.poll_timeout() {
            Some(at) => {
                tx.handle_timeout(at, &timers, &mut out);
                log.push(format!("@{}ms", (at - t0).as_millis()));
            }
            None => log.push("no-timer".into()),
        },
    }
    log.extend(drain(&mut out));
    (tx.state(), log)
}

#[test]
fn invite_server_table() {
    use SIn::*;
    #[rustfmt::skip]
    let table: &[(IS, SIn, IS, &[&str])] = &[
        (IS::Proceeding, Retransmit, IS::Proceeding, &["tx:100"]),
        (IS::Proceeding, Ack, IS::Proceeding, &["discard:AckBeforeFinal"]),
        (IS::Proceeding, Tu1xx, IS::Proceeding, &["tx:180"]),
        (IS::Proceeding, Tu2xx, IS::Accepted, &["tx:200"]),
        (IS::Proceeding, Tu486, IS::Completed, &["tx:486"]),
        (IS::Proceeding, Tick, IS::Proceeding, &["@200ms", "tx:100"]),
        (IS::Proceeding, SendFailed, IS::Proceeding, &["transport-error"]),
        (IS::Accepted, Retransmit, IS::Accepted, &[]),
        (IS::Accepted, Ack, IS::Accepted, &["tu:ACK"]),
        (IS::Accepted, Tu1xx, IS::Accepted, &["err:AfterAccept"]),
        (IS::Accepted, Tu2xx, IS::Accepted, &["tx:200"]),
        (IS::Accepted, Tu486, IS::Accepted, &["err:AfterAccept"]),
        (IS::Accepted, Tick, IS::Terminated, &["@32000ms", "terminated"]),
        (IS::Accepted, SendFailed, IS::Accepted, &["transport-error"]),
        (IS::Completed, Retransmit, IS::Completed, &["tx:486"]),
        (IS::Completed, Ack, IS::Confirmed, &[]),
        (IS::Completed, Tu1xx, IS::Completed, &["err:FinalSent"]),
        (IS::Completed, Tu2xx, IS::Completed, &["err:FinalSent"]),
        (IS::Completed, Tu486, IS::Completed, &["err:FinalSent"]),
        (IS::Completed, Tick, IS::Completed, &["@500ms", "tx:486"]),
        (IS::Completed, SendFailed, IS::Completed, &["transport-error"]),
        (IS::Confirmed, Retransmit, IS::Confirmed, &[]),
        (IS::Confirmed, Ack, IS::Confirmed, &[]),
        (IS::Confirmed, Tu1xx, IS::Confirmed, &["err:FinalSent"]),
        (IS::Confirmed, Tu2xx, IS::Confirmed, &["err:FinalSent"]),
        (IS::Confirmed, Tu486, IS::Confirmed, &["err:FinalSent"]),
        (IS::Confirmed, Tick, IS::Terminated, &["@5000ms", "terminated"]),
        (IS::Confirmed, SendFailed, IS::Confirmed, &["transport-error"]),
        (IS::Terminated, Retransmit, IS::Terminated, &[]),
        (IS::Terminated, Ack, IS::Terminated, &[]),
        (IS::Terminated, Tu1xx, IS::Terminated, &["err:FinalSent"]),
        (IS::Terminated, Tu2xx, IS::Terminated, &["err:FinalSent"]),
        (IS::Terminated, Tu486, IS::Terminated, &["err:FinalSent"]),
        (IS::Terminated, Tick, IS::Terminated, &["no-timer"]),
        (IS::Terminated, SendFailed, IS::Terminated, &[]),
    ];
    assert_eq!(table.len(), 5 * SINPUTS.len());
    for &(state, input, next, outputs) in table {
        let got = invite_server_step(state, input, Transport::Udp);
        assert_eq!(
            got,
            (next, outputs.iter().map(|s| s.to_string()).collect()),
            "{state:?} + {input:?}"
        );
    }
    assert_eq!(
        invite_server_step(IS::Completed, Ack, Transport::Tcp),
        (IS::Terminated, vec!["terminated".into()]),
        "Timer I is zero over TCP"
    );
    assert_eq!(
        invite_server_step(IS::Completed, Tick, Transport::Tcp),
        (IS::Terminated, vec!["@32000ms".into(), "timeout:H".into(), "terminated".into()]),
        "no Timer G over TCP: the next timer is H"
    );
}

fn non_invite_server_step(state: NS, input: SIn, transport: Transport) -> (NS, Vec<String>) {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let req = request("OPTIONS");
    let mut tx = NonInviteServer::new(ID, peer(transport));
    let tu = |code| req.reply(code).to_tag("b2");
    match state {
        NS::Trying => {}
        NS::Proceeding => tx.respond(t0, tu(180), &timers, &mut out).unwrap(),
        NS::Completed => tx.respond(t0, tu(200), &timers, &mut out).unwrap(),
        _ => {
            tx.respond(t0, tu(200), &timers, &mut out).unwrap();
            tx.handle_timeout(t0 + Duration::from_secs(32), &mut out);
        }
    }
    assert_eq!(tx.state(), state);
    let _ = drain(&mut out);
    let mut log = Vec::new();
    let mut tu_call = |tx: &mut NonInviteServer, code, out: &mut Outbox| {
        if let Err(e) = tx.respond(t0, tu(code), &timers, out) {
            log.push(format!("err:{e:?}"));
        }
    };
    match input {
        SIn::Retransmit | SIn::Ack => tx.handle_request(&mut out),
        SIn::Tu1xx => tu_call(&mut tx, 180, &mut out),
        SIn::Tu2xx => tu_call(&mut tx, 200, &mut out),
        SIn::Tu486 => tu_call(&mut tx, 486, &mut out),
        SIn::SendFailed => tx.handle_send_failed(&mut out),
        SIn::Tick => match tx.poll_timeout() {
            Some(at) => {
                tx.handle_timeout(at, &mut out);
                log.push(format!("@{}ms", (at - t0).as_millis()));
            }
            None => log.push("no-timer".into()),
        },
    }
    log.extend(drain(&mut out));
    (tx.state(), log)
}

#[test]
fn non_invite_server_table() {
    use SIn::*;
    let inputs = [Retransmit, Tu1xx, Tu2xx, Tu486, Tick, SendFailed];
    #[rustfmt::skip]
    let table: &[(NS, SIn, NS, &[&str])] = &[
        (NS::Trying, Retransmit, NS::Trying, &[]),
        (NS::Trying, Tu1xx, NS::Proceeding, &["tx:180"]),
        (NS::Trying, Tu2xx, NS::Completed, &["tx:200"]),
        (NS::Trying, Tu486, NS::Completed, &["tx:486"]),
        (NS::Trying, Tick, NS::Trying, &["no-timer"]),
        (NS::Trying, SendFailed, NS::Trying, &["transport-error"]),
        (NS::Proceeding, Retransmit, NS::Proceeding, &["tx:180"]),
        (NS::Proceeding, Tu1xx, NS::Proceeding, &["tx:180"]),
        (NS::Proceeding, Tu2xx, NS::Completed, &["tx:200"]),
        (NS::Proceeding, Tu486, NS::Completed, &["tx:486"]),
        (NS::Proceeding, Tick, NS::Proceeding, &["no-timer"]),
        (NS::Proceeding, SendFailed, NS::Proceeding, &["transport-error"]),
        (NS::Completed, Retransmit, NS::Completed, &["tx:200"]),
        (NS::Completed, Tu1xx, NS::Completed, &["err:FinalSent"]),
        (NS::Completed, Tu2xx, NS::Completed, &["err:FinalSent"]),
        (NS::Completed, Tu486, NS::Completed, &["err:FinalSent"]),
        (NS::Completed, Tick, NS::Terminated, &["@32000ms", "terminated"]),
        (NS::Completed, SendFailed, NS::Completed, &["transport-error"]),
        (NS::Terminated, Retransmit, NS::Terminated, &[]),
        (NS::Terminated, Tu1xx, NS::Terminated, &["err:FinalSent"]),
        (NS::Terminated, Tu2xx, NS::Terminated, &["err:FinalSent"]),
        (NS::Terminated, Tu486, NS::Terminated, &["err:FinalSent"]),
        (NS::Terminated, Tick, NS::Terminated, &["no-timer"]),
        (NS::Terminated, SendFailed, NS::Terminated, &[]),
    ];
    assert_eq!(table.len(), 4 * inputs.len());
    for &(state, input, next, outputs) in table {
        let got = non_invite_server_step(state, input, Transport::Udp);
        assert_eq!(
            got,
            (next, outputs.iter().map(|s| s.to_string()).collect()),
            "{state:?} + {input:?}"
        );
    }
    assert_eq!(
        non_invite_server_step(NS::Trying, Tu2xx, Transport::Tcp),
        (NS::Terminated, vec!["tx:200".into(), "terminated".into()]),
        "Timer J is zero over TCP"
    );
}

#[test]
fn bad_status_codes_and_responses_are_typed_errors() {
    let (t0, timers, mut out) = (epoch(), Timers::DEFAULT, Outbox::new());
    let inv = request("INVITE");
    let mut tx = InviteServer::new(ID, t0, &inv, peer(Transport::Udp), &timers);
    // A request is not a response.
    assert_eq!(
        tx.respond(t0, request("INVITE"), &timers, &mut out),
        Err(sipwire::transaction::TxError::StatusCode)
    );
    assert!(matches!(
        tx.respond(t0, inv.reply(700), &timers, &mut out),
        Err(sipwire::transaction::TxError::Build(_))
    ));
    assert_eq!(tx.state(), IS::Proceeding);
    assert!(out.is_empty());
}
