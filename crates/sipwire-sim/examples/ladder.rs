//! Three transactions between two real transaction layers over a lossy UDP link, drawn as
//! a ladder.
//!
//! ```sh
//! cargo run -p sipwire-sim --example ladder -- [--seed N] [--loss 0.3] [--latency-ms 20] [--pcap out.pcap]
//! ```
//!
//! alice and bob are each a `sipwire` transaction layer under a simple transaction user
//! ([`Agent`]). alice calls `busy`, whom bob declines with 486 after ringing for a second;
//! then calls `bob`, who answers 200 after a second and gets alice's ACK; then sends
//! OPTIONS. The transactions retransmit, absorb duplicates and time out exactly as RFC 3261
//! §17 and RFC 6026 say; bob's TU retransmits its 2xx until the ACK comes. Same seed, same
//! ladder, same capture.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sipwire::transaction::Target;
use sipwire::{Method, Transport};
use sipwire_sim::layer::{Agent, AgentConfig, Answer, Outgoing};
use sipwire_sim::{LinkConfig, World};

struct Args {
    seed: u64,
    loss: f64,
    latency: Duration,
    pcap: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { seed: 1, loss: 0.3, latency: Duration::from_millis(20), pcap: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--loss" => args.loss = value()?.parse().map_err(|e| format!("--loss: {e}"))?,
            "--latency-ms" => {
                args.latency = Duration::from_millis(
                    value()?.parse().map_err(|e| format!("--latency-ms: {e}"))?,
                );
            }
            "--pcap" => args.pcap = Some(value()?),
            "-h" | "--help" => {
                return Err(
                    "usage: ladder [--seed N] [--loss P] [--latency-ms MS] [--pcap FILE]".into()
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

/// bob declines calls to `busy` and answers the rest, each after ringing for a second.
fn bob_answers(request: &sipwire::Message) -> Answer {
    let busy = request.request_uri_str().is_some_and(|uri| uri.starts_with("sip:busy@"));
    match request.method() {
        Some(Method::Invite) => Answer::new(if busy { 486 } else { 200 })
            .with_provisional(180)
            .after(Duration::from_secs(1)),
        _ => Answer::new(200),
    }
}

fn since(world: &World, at: Option<Instant>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |at| format!("+{:.3}s", (at - world.start()).as_secs_f64()),
    )
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    println!("seed {} · loss {} · latency {:?}\n", args.seed, args.loss, args.latency);

    let alice_addr = SocketAddr::from(([192, 0, 2, 1], 5060));
    let bob_addr = SocketAddr::from(([192, 0, 2, 2], 5060));
    let mut world = World::new(args.seed);
    let config = |user: &str, salt: u64| {
        AgentConfig::default()
            .with_user(user)
            .with_seed(args.seed.wrapping_mul(31).wrapping_add(salt))
    };
    let alice = world.add_node("alice", alice_addr, Agent::new(alice_addr, config("alice", 1)));
    let bob = world.add_node(
        "bob",
        bob_addr,
        Agent::new(bob_addr, config("bob", 2)).with_policy(bob_answers),
    );
    world.link(alice, bob, LinkConfig::new(args.latency).with_loss(args.loss));

    let to_bob = Target::new(bob_addr, Transport::Udp);
    world.with_node(alice, |agent: &mut Agent, now| {
        agent.schedule(now, Outgoing::invite(to_bob).to_user("busy"));
        agent.schedule(now + Duration::from_secs(3), Outgoing::invite(to_bob).to_user("bob"));
        agent.schedule(now + Duration::from_secs(6), Outgoing::options(to_bob).to_user("bob"));
    });
    let outcome = world.drive(10_000);

    print!("{}", world.ladder());
    println!();
    match outcome {
        Ok(steps) => println!("idle after {steps} steps, at {}", since(&world, Some(world.now()))),
        Err(e) => println!("{e}"),
    }
    if let Some(agent) = world.node::<Agent>(alice) {
        for call in agent.clients() {
            let outcome = match (call.final_response(), call.timeout) {
                (Some((at, code)), _) => format!("final {code} at {}", since(&world, Some(at))),
                (None, Some((at, timer))) => {
                    format!("Timer {timer:?} at {}", since(&world, Some(at)))
                }
                (None, None) => "no final response".to_owned(),
            };
            println!(
                "alice #{} {}: {outcome} ({} final(s) reached the TU, {} ACK(s) for 2xx); terminated {}",
                call.index,
                call.method,
                call.finals(),
                call.acks_sent,
                since(&world, call.terminated_at),
            );
        }
    }
    if let Some(agent) = world.node::<Agent>(bob) {
        for tx in agent.servers() {
            let codes: Vec<String> = tx.sent.iter().map(|(_, code)| code.to_string()).collect();
            let mut line = format!("bob   {:?} {}: sent {}", tx.id, tx.method, codes.join(", "));
            if tx.final_code().is_some_and(|code| code < 300) && tx.method == Method::Invite {
                line += &format!(" (2xx retransmitted {}x by the TU", tx.retransmitted_2xx);
                line += &match tx.acks.first() {
                    Some(&at) => format!(", ACK at {})", since(&world, Some(at))),
                    None => ", never ACKed)".to_owned(),
                };
            }
            if let Some((at, timer)) = tx.timeout {
                line += &format!("; Timer {timer:?} at {}", since(&world, Some(at)));
            }
            println!("{line}; terminated {}", since(&world, tx.terminated_at));
        }
    }
    for (name, id) in [("alice", alice), ("bob", bob)] {
        let live = world.node::<Agent>(id).map_or(0, |a| a.layer().len());
        println!("{name}: {live} live transaction(s)");
    }

    if let Some(path) = &args.pcap {
        if let Err(e) = std::fs::write(path, world.pcap()) {
            eprintln!("writing {path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("capture written to {path}");
    }
    ExitCode::SUCCESS
}
