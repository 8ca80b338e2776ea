//! `answer`: answers every incoming call — 100, 180, then 200 with an SDP answer after
//! `--ring-ms` — waits for the ACK, answers what comes inside the call (200 to re-INVITE,
//! UPDATE, INFO, MESSAGE, with an SDP answer where an offer came; 603 to REFER) and the
//! BYE. One line per ended call, a summary on exit.
//!
//! ```text
//! cargo run --release -p sipwire-std --example answer -- --bind 127.0.0.1:5060
//! sipp -sn uac -m 100 -r 50 127.0.0.1:5060
//! ```
//!
//! Flags: `--transport udp|tcp`, `--ring-ms N`, `--reject CODE` (every call gets that
//! final status instead), `--max-calls N` (exit after N calls ended), `--quiet`.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::{Args, LINGER, Outcome, Plan, Tally};
use sipwire::Transport;
use sipwire::ua::{AcceptOptions, Event, InvitationId, ProgressOptions, RejectOptions};
use sipwire_std::{Driver, Options, Step};

#[derive(Debug)]
struct Call {
    call_id: String,
    started: Instant,
    /// The 200 to send, once `answer_at` has passed (and the PRACK, when one is awaited).
    body: Vec<u8>,
    awaiting_prack: bool,
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("answer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let options = match args.transport {
        Transport::Tcp => Options::new().tcp(args.bind),
        _ => Options::new().udp(args.bind),
    };
    let mut driver = Driver::bind(options, |local| args.config(local))?;
    driver.stop_on_ctrl_c()?;
    let local = driver.local_addr(args.transport).unwrap_or(args.bind);
    println!("listening {} {local}", args.transport.as_str().to_ascii_lowercase());
    std::io::stdout().flush()?;

    let mut app = App {
        args,
        local,
        calls: HashMap::new(),
        due: BTreeMap::new(),
        tally: Tally::default(),
        n: 0,
    };
    // After --max-calls: keep answering a while (LINGER), for what the peer still sends:
    // the ACK of a last 486/487, a retransmitted BYE whose 200 was lost. Over TCP the
    // transactions end as soon as that arrives, so stop when none is left.
    let mut linger_until = None;
    loop {
        let tick = linger_until.map(|_| driver.now() + Duration::from_millis(50));
        let due = app.due.keys().next().map(|&(at, _)| at);
        let deadline = [due, linger_until, tick].into_iter().flatten().min();
        match driver.next_event(deadline)? {
            Step::Event(event) => app.on_event(&mut driver, event),
            Step::Deadline => app.on_deadline(&mut driver),
            Step::Stopped => break,
        }
        if let Some(until) = linger_until {
            let drained =
                args.transport != Transport::Udp && driver.endpoint().transaction_count() == 0;
            if drained || driver.now() >= until {
                break;
            }
        } else if app.tally.done(args) {
            linger_until = Some(driver.now() + LINGER);
        }
    }
    for (id, call) in &app.calls {
        let state = driver.invitation(*id).map(|i| i.state());
        eprintln!("unfinished {} {state:?}", call.call_id);
    }
    println!("{}", app.tally.summary(driver.endpoint().retransmissions()));
    Ok(())
}

#[derive(Debug)]
struct App<'a> {
    args: &'a Args,
    local: SocketAddr,
    calls: HashMap<InvitationId, Call>,
    /// Invitations to accept, by when (and a sequence number to keep keys unique).
    due: BTreeMap<(Instant, u64), InvitationId>,
    tally: Tally,
    n: u64,
}

impl App<'_> {
    fn on_event(&mut self, driver: &mut Driver, event: Event) {
        let now = driver.now();
        match event {
            Event::Invitation { id } => self.arrived(driver, id, now),
            Event::Pracked { id, .. } => {
                if let Some(call) = self.calls.get_mut(&id).filter(|c| c.awaiting_prack) {
                    call.awaiting_prack = false;
                    let at = (call.started + self.args.ring).max(now);
                    self.schedule(at, id);
                }
            }
            Event::Request { id, request, kind, message } => {
                self.n += 1;
                let options = common::in_dialog_answer(kind, &message, self.local.ip(), self.n);
                if let Some(mut invitation) = driver.invitation(id) {
                    match invitation.respond(now, request, options) {
                        Ok(()) => self.tally.requests += 1,
                        Err(e) => eprintln!("respond to {kind:?}: {e}"),
                    }
                }
            }
            Event::Terminated { id, reason } => {
                if let Some(call) = self.calls.remove(&id) {
                    let outcome = Outcome::of(reason, self.args.reject);
                    self.tally.record(&call.call_id, &outcome, now - call.started, self.args.quiet);
                }
            }
            _ => {}
        }
    }

    fn arrived(&mut self, driver: &mut Driver, id: InvitationId, now: Instant) {
        let Some(mut invitation) = driver.invitation(id) else { return };
        let call_id = invitation.request().call_id().unwrap_or("?").to_owned();
        let offer = invitation.body().map(|b| b.content.to_vec());
        self.n += 1;
        let plan =
            common::plan(self.args, invitation.rel100(), offer.as_deref(), self.local.ip(), self.n);
        let mut call = Call { call_id, started: now, body: Vec::new(), awaiting_prack: false };
        match plan {
            Plan::Reject(code) => {
                if let Err(e) = invitation.reject(now, RejectOptions::new().status_code(code)) {
                    eprintln!("reject {}: {e}", call.call_id);
                }
            }
            Plan::Ring { reliable, ring, body } => {
                call.body = body;
                if reliable {
                    match invitation.progress(now, ProgressOptions::new().rel100(true)) {
                        Ok(()) => call.awaiting_prack = true,
                        Err(e) => eprintln!("progress {}: {e}", call.call_id),
                    }
                } else {
                    self.schedule(now + ring, id);
                }
            }
        }
        self.calls.insert(id, call);
    }

    fn schedule(&mut self, at: Instant, id: InvitationId) {
        self.n += 1;
        self.due.insert((at, self.n), id);
    }

    fn on_deadline(&mut self, driver: &mut Driver) {
        let now = driver.now();
        while let Some(entry) = self.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.remove();
            let Some(call) = self.calls.get_mut(&id) else { continue };
            let body = std::mem::take(&mut call.body);
            if let Some(mut invitation) = driver.invitation(id) {
                // A CANCEL may have won the race: the typed error says so, nothing to do.
                let _ = invitation.accept(now, AcceptOptions::new().body("application/sdp", body));
            }
        }
    }
}
