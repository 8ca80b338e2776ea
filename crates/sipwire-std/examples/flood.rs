//! `flood`: sends UDP datagrams at a SIP endpoint as fast as one socket can, to see that it
//! stays up and stays small: random bytes, or well-formed requests it refuses.
//!
//! ```text
//! cargo run --release -p sipwire-std --example flood -- \
//!     --target 127.0.0.1:5060 --mode unwanted --count 100000 --seed 7
//! ```
//!
//! - `--mode random`: datagrams of 1 to 1400 random bytes; one in four starts with
//!   `INVITE ` and one in four with `SIP/2.0 `, so that some get past the first bytes into
//!   the parser.
//! - `--mode unwanted`: valid requests that each get a final response and leave no state
//!   behind: REGISTER, SUBSCRIBE and MESSAGE (405 or 501), an unknown method FOO (501), a
//!   BYE for no dialog (481) and OPTIONS (200), each with its own Call-ID and branch.
//!
//! Responses are read and dropped without blocking, so a slow reader never stalls the
//! flood. The last line starts with `sent N`. The same seed sends the same bytes.

// A load tool, not the core: it opens a socket and reads the clock.
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: flood --target ADDR --mode random|unwanted [--count N (100000)] [--seed N (1)]";

/// The largest datagram `random` sends, under a 1500-byte Ethernet MTU with headers.
const MAX_RANDOM: u64 = 1400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Random,
    Unwanted,
}

#[derive(Debug)]
struct Args {
    target: SocketAddr,
    mode: Mode,
    count: u64,
    seed: u64,
}

impl Args {
    /// Parses the flags (without the program name).
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let (mut target, mut mode, mut count, mut seed) = (None, None, 100_000, 1);
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--target" => {
                    target = Some(value()?.parse().map_err(|e| format!("--target: {e}"))?);
                }
                "--mode" => {
                    mode = Some(match value()?.as_str() {
                        "random" => Mode::Random,
                        "unwanted" => Mode::Unwanted,
                        other => return Err(format!("--mode: random or unwanted, not {other}")),
                    });
                }
                "--count" => count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
                "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown flag {other}\n{USAGE}")),
            }
        }
        Ok(Self {
            target: target.ok_or_else(|| format!("--target is required\n{USAGE}"))?,
            mode: mode.ok_or_else(|| format!("--mode is required\n{USAGE}"))?,
            count,
            seed,
        })
    }
}

/// xorshift64* (Vigna): small, seeded, plenty for bytes nobody should be able to parse.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    /// A generator for `seed`; every seed, 0 included, gives a non-zero state.
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Returns the next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Returns a number in `0..n` (`n > 0`; the modulo bias is of no concern here).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Writes the next datagram of `random` mode into `out`.
fn random_datagram(out: &mut Vec<u8>, rng: &mut XorShift) {
    let len = 1 + rng.below(MAX_RANDOM) as usize;
    out.clear();
    out.resize(len, 0);
    rng.fill(out);
    let prefix: &[u8] = match rng.below(4) {
        0 => b"INVITE ",
        1 => b"SIP/2.0 ",
        _ => b"",
    };
    let n = prefix.len().min(len);
    out[..n].copy_from_slice(&prefix[..n]);
}

/// Writes request number `i` of `unwanted` mode into `out`: a well-formed request the
/// endpoint answers with a final response and forgets.
fn unwanted_request(out: &mut Vec<u8>, i: u64, seed: u64, local: SocketAddr, target: SocketAddr) {
    let (method, uri_user, to_tag, extra, body) = match i % 6 {
        0 => ("REGISTER", "", "", format!("Contact: <sip:flood@{local}>\r\nExpires: 3600\r\n"), ""),
        1 => (
            "SUBSCRIBE",
            "answer@",
            "",
            format!("Contact: <sip:flood@{local}>\r\nEvent: presence\r\nExpires: 600\r\n"),
            "",
        ),
        2 => ("MESSAGE", "answer@", "", "Content-Type: text/plain\r\n".to_owned(), "flood"),
        3 => ("FOO", "answer@", "", String::new(), ""),
        // A To tag makes it an in-dialog request, and no dialog has this one: 481.
        4 => ("BYE", "answer@", ";tag=nodialog", String::new(), ""),
        _ => ("OPTIONS", "answer@", "", "Accept: application/sdp\r\n".to_owned(), ""),
    };
    let mut text = String::with_capacity(512);
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "{method} sip:{uri_user}{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-flood-{seed}-{i}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:flood@{local}>;tag=f{seed}x{i}\r\n\
         To: <sip:answer@{target}>{to_tag}\r\n\
         Call-ID: flood-{seed}-{i}@{ip}\r\n\
         CSeq: 1 {method}\r\n\
         {extra}\
         Content-Length: {len}\r\n\r\n\
         {body}",
        ip = local.ip(),
        len = body.len(),
    );
    out.clear();
    out.extend_from_slice(text.as_bytes());
}

/// Reads and drops every datagram waiting on the (non-blocking) socket; returns how many.
fn drain(socket: &UdpSocket, buf: &mut [u8]) -> u64 {
    let mut n = 0;
    // Errors other than WouldBlock (an ICMP port unreachable, say) end this round too.
    while socket.recv(buf).is_ok() {
        n += 1;
    }
    n
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
            eprintln!("flood: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> std::io::Result<()> {
    let any: SocketAddr = if args.target.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(any)?;
    // Connected: local_addr() then names the address the target sees, for the Via, and the
    // kernel drops datagrams from anyone else.
    socket.connect(args.target)?;
    socket.set_nonblocking(true)?;
    let local = socket.local_addr()?;

    let mut rng = XorShift::new(args.seed);
    let mut datagram = Vec::with_capacity(MAX_RANDOM as usize);
    let mut rx = vec![0; 65_535];
    let (mut sent, mut received, mut errors) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    for i in 0..args.count {
        match args.mode {
            Mode::Random => random_datagram(&mut datagram, &mut rng),
            Mode::Unwanted => unwanted_request(&mut datagram, i, args.seed, local, args.target),
        }
        loop {
            match socket.send(&datagram) {
                Ok(_) => {
                    sent += 1;
                    break;
                }
                // The send buffer is full: read what came back meanwhile and try again.
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    received += drain(&socket, &mut rx);
                    std::hint::spin_loop();
                }
                // ECONNREFUSED and the like report an earlier datagram (nobody listening at
                // that moment); count it and go on, the caller judges.
                Err(_) => {
                    errors += 1;
                    break;
                }
            }
        }
        if i % 64 == 63 {
            received += drain(&socket, &mut rx);
        }
    }
    let elapsed = start.elapsed();

    // The last responses are still on their way; collect them for a moment.
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    while socket.recv(&mut rx).is_ok() {
        received += 1;
    }

    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "sent {sent} in {secs:.2} s ({rate:.0}/s), responses {received}, errors {errors}",
        rate = sent as f64 / secs
    );
    Ok(())
}
