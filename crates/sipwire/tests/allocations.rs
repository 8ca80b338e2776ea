//! Parsing allocates nothing beyond the message's own index and buffer: counted with a
//! counting global allocator, per thread, so parallel tests do not disturb the count.

use bytes::Bytes;
use sipwire::message::Contact;
use sipwire::{HeaderName, KeepAliveRole, Message, ParseOptions, StreamFramer};

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = counting::allocations();
    let out = f();
    (out, counting::allocations() - before)
}

const INVITE_461: &[u8] = include_bytes!("fixtures/bench/invite-461.sip");
const INVITE_LARGE: &[u8] = include_bytes!("fixtures/bench/invite-large.sip");
const OK_200: &[u8] = include_bytes!("fixtures/bench/ok-200.sip");

/// Decodes the core headers, touching what a transaction and dialog layer read.
fn decode(m: &Message) -> usize {
    let via = m.top_via().unwrap();
    let from = m.from_header().unwrap();
    let to = m.to_header().unwrap();
    let contact = match m.contacts().next() {
        Some(Ok(Contact::Addr(a))) => a.uri.as_str().len(),
        _ => 0,
    };
    via.branch().unwrap().len()
        + from.tag().unwrap().len()
        + to.uri.as_str().len()
        + m.call_id().unwrap().len()
        + m.cseq().unwrap().seq as usize
        + m.max_forwards().unwrap().map_or(0, usize::from)
        + m.content_length().unwrap() as usize
        + contact
}

#[test]
fn parsing_an_owned_buffer_allocates_nothing_for_typical_messages() {
    for (name, bytes) in
        [("invite-461", INVITE_461), ("invite-large", INVITE_LARGE), ("ok-200", OK_200)]
    {
        let owned = Bytes::from_static(bytes);
        let (msg, n) = allocations(|| Message::parse(owned.clone()).unwrap());
        assert_eq!(n, 0, "{name}: parse from an owned buffer");
        let (_, n) = allocations(|| decode(&msg));
        assert_eq!(n, 0, "{name}: decoding the core headers");
    }
}

#[test]
fn parsing_a_borrowed_slice_allocates_only_the_shared_buffer() {
    let (_, n) = allocations(|| Message::parse(INVITE_461).unwrap());
    assert_eq!(n, 1, "one copy of the datagram into a shared buffer");
}

#[test]
fn a_message_with_more_headers_than_the_inline_index_grows_geometrically() {
    let mut wire = INVITE_461.to_vec();
    let cut = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2;
    let extra: Vec<u8> =
        (0..40).flat_map(|i| format!("X-Extra-{i}: {i}\r\n").into_bytes()).collect();
    wire.splice(cut..cut, extra);
    let owned = Bytes::from(wire);
    let (msg, n) = allocations(|| Message::parse(owned.clone()).unwrap());
    assert_eq!(msg.header_count(), 8 + 40);
    assert!(n <= 3, "spill to the heap, then doubling: never one allocation per header, got {n}");
}

#[test]
fn cloning_a_message_does_not_copy_headers() {
    let msg = Message::parse(Bytes::from_static(INVITE_461)).unwrap();
    let (copy, n) = allocations(|| msg.clone());
    assert_eq!(n, 0);
    assert_eq!(copy, msg);
}

#[test]
fn the_stream_framer_hands_out_messages_without_copying_them_again() {
    let mut framer = StreamFramer::new(ParseOptions::DEFAULT, KeepAliveRole::Server);
    framer.buffer_mut().reserve(4096);
    for _ in 0..3 {
        framer.push(INVITE_461);
    }
    // The first split turns the flow's buffer into a shared one: one small allocation per
    // flow, not per message.
    let (first, n) = allocations(|| framer.next_frame().unwrap());
    assert!(first.is_some());
    assert!(n <= 1, "{n}");
    for _ in 0..2 {
        let (frame, n) = allocations(|| framer.next_frame().unwrap());
        assert!(frame.is_some());
        assert_eq!(n, 0, "split off the buffer, parsed in place");
    }
}

#[test]
fn serializing_a_response_into_a_reserved_buffer_allocates_nothing() {
    let invite = Message::parse(Bytes::from_static(INVITE_461)).unwrap();
    let mut out = Vec::with_capacity(2048);
    let (_, n) = allocations(|| invite.reply(180).to_tag("a73kszlfl").write_to(&mut out).unwrap());
    assert_eq!(n, 0);
    let ringing = Message::parse(&out[..]).unwrap();
    assert_eq!(ringing.status(), Some(180));
    assert!(ringing.header(HeaderName::Via).is_some());
}

/// Rings `n` INVITE server transactions (100 and 180 sent, the TU's copy of each request
/// dropped); returns their ids.
fn ring(
    layer: &mut sipwire::transaction::TransactionLayer,
    now: std::time::Instant,
    n: usize,
) -> Vec<sipwire::TransactionId> {
    use sipwire::transaction::TxEvent;
    let peer = "127.0.0.2:5060".parse().unwrap();
    (0..n)
        .map(|i| {
            let text = String::from_utf8(INVITE_461.to_vec())
                .unwrap()
                .replace("abcdef0123456789", &format!("{i:016x}"));
            layer.handle_datagram(now, peer, sipwire::Transport::Udp, text.into_bytes().into());
            let mut id = None;
            while let Some(out) = layer.poll_output() {
                if let sipwire::Output::Event(TxEvent::Request { id: new, request, .. }) = out {
                    layer.respond(now, new, request.reply(100)).unwrap();
                    let ringing = request
                        .reply(180)
                        .to_tag("8f7a6c1d2b3e4f50")
                        .header(HeaderName::Contact, "<sip:bob@127.0.0.1:5060>");
                    layer.respond(now, new, ringing).unwrap();
                    id = Some(new);
                }
            }
            id.expect("the INVITE reaches the TU")
        })
        .collect()
}

/// Answers every ringing transaction 486 and lets Timer H end them.
fn finish(
    layer: &mut sipwire::transaction::TransactionLayer,
    now: &mut std::time::Instant,
    ids: Vec<sipwire::TransactionId>,
) {
    let busy = Message::parse(INVITE_461).unwrap().reply(486).to_tag("x").build().unwrap();
    for id in ids {
        layer.respond(*now, id, &busy).unwrap();
    }
    *now += std::time::Duration::from_secs(33);
    layer.handle_timeout(*now);
    while layer.poll_output().is_some() {}
    assert!(layer.is_empty());
}

#[test]
fn a_ringing_invite_server_transaction_holds_under_1_kib_and_nothing_once_it_ends() {
    use sipwire::transaction::{LayerConfig, TransactionLayer};
    const N: usize = 1000;
    #[allow(clippy::disallowed_methods)] // the virtual clock's epoch
    let mut now = std::time::Instant::now();
    let start = counting::live_bytes();
    let mut layer = TransactionLayer::new(LayerConfig::default());
    let ids = ring(&mut layer, now, N);
    // Everything the layer holds, over N: the slab slot, the stored 180, the table and timer
    // entries, and the slack of every growable table at this size.
    let held = counting::live_bytes()
        - start
        - (ids.capacity() * size_of::<sipwire::TransactionId>()) as isize;
    let per_transaction = held / N as isize;
    println!("{per_transaction} B per ringing INVITE server transaction ({N} live)");
    assert!(per_transaction <= 1024, "{per_transaction} B per ringing INVITE transaction");
    assert!(per_transaction > 300, "{per_transaction} B: is the 180 really stored?");
    finish(&mut layer, &mut now, ids);
    // The tables keep their capacity, like any Vec; a second round leaves exactly that.
    let baseline = counting::live_bytes();
    let ids = ring(&mut layer, now, N);
    finish(&mut layer, &mut now, ids);
    assert_eq!(counting::live_bytes(), baseline, "bytes left once every transaction ended");
}
