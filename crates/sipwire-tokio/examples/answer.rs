//! Answers every incoming call, the tokio way: the same flags, behaviour and output as
//! sipwire-std's `answer` (the shared part lives in `sipwire-std/examples/common`).
//!
//! ```text
//! cargo run --release -p sipwire-tokio --example answer -- --bind 127.0.0.1:5060 --max-calls 100
//! sipp -sn uac -m 100 -r 50 127.0.0.1:5060
//! ```

// Shared with sipwire-std's example, which may use what this one does not.
#[allow(dead_code, unreachable_pub)]
#[path = "../../sipwire-std/examples/common/mod.rs"]
mod common;

use std::io::Write as _;
use std::net::IpAddr;
use std::process::ExitCode;

use common::{Args, Outcome, Plan, Tally};
use sipwire::Transport;
use sipwire::ua::{EndReason, Event};
use sipwire_tokio::{
    AcceptOptions, Endpoint, Error, Invitation, InvitationError, Options, ProgressOptions,
    RejectOptions, Session,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// One ended call, for the tally.
/// A call's id, how it ended, how long it took, and how many requests it answered inside.
type Ended = (String, Outcome, std::time::Duration, u64);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let options = match args.transport {
        Transport::Tcp => Options::tcp(args.bind),
        _ => Options::udp(args.bind),
    };
    let (endpoint, mut incoming) = match Endpoint::bind(options, |local| args.config(local)).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("answer: cannot bind {}: {e}", args.bind);
            return ExitCode::FAILURE;
        }
    };
    let local = endpoint.local_addr();
    let name = if args.transport == Transport::Tcp { "tcp" } else { "udp" };
    println!("listening {name} {local}");
    let _ = std::io::stdout().flush();

    let (ended_tx, mut ended) = mpsc::unbounded_channel::<Ended>();
    let mut tally = Tally::default();
    let mut n = 0u64;
    let stop = stop_signal();
    tokio::pin!(stop);
    let mut stopped = false;
    while !tally.done(&args) {
        tokio::select! {
            Some(invitation) = incoming.next() => {
                n += 1;
                let (args, tx) = (args.clone(), ended_tx.clone());
                tokio::spawn(async move {
                    let _ = tx.send(answer(invitation, &args, local.ip(), n).await);
                });
            }
            Some((call_id, outcome, duration, requests)) = ended.recv() => {
                tally.requests += requests;
                tally.record(&call_id, &outcome, duration, args.quiet);
            }
            () = &mut stop => {
                stopped = true;
                break;
            }
        }
    }
    // Keep answering a while: the ACK of a last 486/487 is still to come, and over UDP a
    // lost 200 for the last BYE is asked for again.
    if !stopped {
        tokio::select! {
            () = tokio::time::sleep(common::LINGER) => {}
            () = &mut stop => {}
        }
    }
    println!("{}", tally.summary(endpoint.retransmissions().await.unwrap_or(0)));
    let _ = std::io::stdout().flush();
    endpoint.shutdown().await;
    ExitCode::SUCCESS
}

/// Plays one call through the shared plan and returns how it ended.
async fn answer(invitation: Invitation, args: &Args, local: IpAddr, n: u64) -> Ended {
    let start = Instant::now();
    let call_id = invitation.call_id().to_owned();
    let plan = common::plan(args, invitation.rel100(), invitation.body(), local, n);
    let mut requests = 0;
    let end = match play(invitation, plan).await {
        Ok(Answered::Yes(mut session)) => {
            in_call(&mut session, local, n, &mut requests).await.ok_or(Error::Closed)
        }
        Ok(Answered::No(mut invitation)) => ended(&mut invitation).await.ok_or(Error::Closed),
        Err(Error::Invitation(InvitationError::Cancelled)) => Ok(EndReason::Cancelled),
        Err(Error::Invitation(InvitationError::Terminated(reason))) => Ok(reason),
        Err(e) => Err(e),
    };
    let outcome = match end {
        Ok(reason) => Outcome::of(reason, args.reject),
        Err(e) => Outcome::Failed(e.to_string()),
    };
    (call_id, outcome, start.elapsed(), requests)
}

/// Answers what the caller sends inside the call (see `common::in_dialog_answer`) until
/// the call ends; returns why, counting the requests answered.
async fn in_call(
    session: &mut Session,
    local: IpAddr,
    n: u64,
    requests: &mut u64,
) -> Option<EndReason> {
    loop {
        match session.next_event().await? {
            Event::Request { request, kind, message, .. } => {
                let options = common::in_dialog_answer(kind, &message, local, n);
                match session.respond(request, options).await {
                    Ok(()) => *requests += 1,
                    Err(e) => eprintln!("respond to {kind:?}: {e}"),
                }
            }
            Event::Terminated { reason, .. } => return Some(reason),
            _ => {}
        }
    }
}

/// How [`play`] left the call.
enum Answered {
    /// Accepted: the call goes on.
    Yes(Session),
    /// Rejected as planned, or ended before the answer.
    No(Invitation),
}

/// Answers per the plan.
async fn play(mut invitation: Invitation, plan: Plan) -> Result<Answered, Error> {
    let (reliable, ring, body) = match plan {
        Plan::Reject(code) => {
            invitation.reject(RejectOptions::new().status_code(code)).await?;
            return Ok(Answered::No(invitation));
        }
        Plan::Ring { reliable, ring, body } => (reliable, ring, body),
    };
    if reliable {
        invitation.progress(ProgressOptions::new().rel100(true)).await?;
        loop {
            match invitation.next_event().await {
                Some(Event::Pracked { .. }) => break,
                Some(Event::Terminated { .. }) | None => return Ok(Answered::No(invitation)),
                Some(_) => {}
            }
        }
    }
    // Ring, watching for a CANCEL meanwhile.
    let ringing = tokio::time::sleep(ring);
    tokio::pin!(ringing);
    loop {
        tokio::select! {
            () = &mut ringing => break,
            event = invitation.next_event() => match event {
                Some(Event::Terminated { .. }) | None => return Ok(Answered::No(invitation)),
                Some(_) => {}
            },
        }
    }
    let session = invitation.accept(AcceptOptions::new().body("application/sdp", body)).await?;
    Ok(Answered::Yes(session))
}

/// Waits for the end of an invitation that was not accepted.
async fn ended(invitation: &mut Invitation) -> Option<EndReason> {
    while invitation.end_reason().is_none() {
        invitation.next_event().await?;
    }
    invitation.end_reason()
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
