//! URI equality follows RFC 3261 §19.1.4 for SIP and SIPS URIs and RFC 3966 §4 for tel
//! URIs, and `Uri::parse` refuses what the grammar refuses.
//!
//! The §19.1.4 pairs are copied from the RFC, in its order.

use proptest::prelude::*;
use sipwire::message::Uri;

fn uri(s: &str) -> Uri<'_> {
    Uri::parse(s).unwrap_or_else(|e| panic!("{s:?} must parse: {e}"))
}

#[track_caller]
fn assert_equal(a: &str, b: &str) {
    assert!(uri(a) == uri(b), "{a} must equal {b}");
    assert!(uri(b) == uri(a), "{b} must equal {a} (symmetry)");
}

#[track_caller]
fn assert_not_equal(a: &str, b: &str) {
    assert!(uri(a) != uri(b), "{a} must not equal {b}");
    assert!(uri(b) != uri(a), "{b} must not equal {a} (symmetry)");
}

#[test]
fn rfc3261_19_1_4_equivalent_uris() {
    assert_equal("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp");
    assert_equal("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5");
    assert_equal("sip:carol@chicago.com", "sip:carol@chicago.com;security=on");
    assert_equal(
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
    );
    assert_equal(
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
    );
}

#[test]
fn rfc3261_19_1_4_non_equivalent_uris() {
    // Different usernames: userinfo compares case-sensitively.
    assert_not_equal("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP");
    // Can resolve to different ports.
    assert_not_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060");
    // Can resolve to different transports.
    assert_not_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp");
    // Can resolve to different port and transports.
    assert_not_equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp");
    // Different header component.
    assert_not_equal("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting");
    // Even though that is what phone21.boxesbybob.com resolves to.
    assert_not_equal("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4");
}

#[test]
fn rfc3261_19_1_4_equality_is_not_transitive() {
    let plain = "sip:carol@chicago.com";
    let on = "sip:carol@chicago.com;security=on";
    let off = "sip:carol@chicago.com;security=off";
    assert_equal(plain, on);
    assert_equal(plain, off);
    assert_not_equal(on, off);
}

#[test]
fn rfc3261_19_1_4_rules_beyond_the_examples() {
    // "A SIP and SIPS URI are never equivalent."
    assert_not_equal("sip:alice@atlanta.com", "sips:alice@atlanta.com");
    // The scheme and the host compare case-insensitively, the userinfo case-sensitively.
    assert_equal("SIP:alice@ATLANTA.com", "sip:alice@atlanta.com");
    assert_not_equal("sip:alice:secret@atlanta.com", "sip:alice:SECRET@atlanta.com");
    assert_equal("sip:alice:s%65cret@atlanta.com", "sip:alice:secret@atlanta.com");
    // user, ttl, method and maddr must match when either URI has them.
    for param in ["user=phone", "ttl=15", "method=INVITE", "maddr=239.255.255.1"] {
        assert_not_equal("sip:carol@chicago.com", &format!("sip:carol@chicago.com;{param}"));
    }
    assert_not_equal(
        "sip:carol@chicago.com;maddr=a.example",
        "sip:carol@chicago.com;maddr=b.example",
    );
    // Other parameters are ignored only when one side lacks them.
    assert_not_equal("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;newparam=6");
    assert_equal("sip:carol@chicago.com;lr;newparam=5", "sip:carol@chicago.com;NEWPARAM=5");
    // Header components are never ignored.
    assert_not_equal("sip:carol@chicago.com?Subject=a", "sip:carol@chicago.com?Subject=b");
    assert_not_equal("sip:carol@chicago.com?Subject=a", "sip:carol@chicago.com?Subject=a&X=1");
    // The same IPv6 address written two ways (RFC 5954 §4: addresses compare by value).
    assert_equal("sip:bob@[2001:db8::10]:5070", "sip:bob@[2001:db8:0:0:0:0:0:10]:5070");
}

/// §19.1.4: "Characters other than those in the 'reserved' set (see RFC 2396) are
/// equivalent to their '"%" HEX HEX' encoding." A reserved character (`; / ? : @ & = + $ ,`)
/// and its escape are therefore different: `%2B1555` is not `+1555`.
#[test]
fn rfc3261_19_1_4_escaped_reserved_characters_are_not_their_literal() {
    assert_not_equal("sip:+1555@example.com", "sip:%2B1555@example.com");
    assert_not_equal("sip:a&b@example.com", "sip:a%26b@example.com");
    assert_not_equal("sip:a=b@example.com", "sip:a%3Db@example.com");
    // Unreserved characters stay equivalent to their escapes (the first RFC example).
    assert_equal("sip:a-b@example.com", "sip:a%2Db@example.com");
}

#[test]
fn equality_is_reflexive_even_with_a_repeated_parameter() {
    let s = "sip:alice@atlanta.com;foo=1;foo=2";
    assert!(uri(s) == uri(s), "{s} must equal itself");
}

fn generated_sip_uri() -> impl Strategy<Value = String> {
    // A small alphabet, so that names repeat and values collide across parameters.
    let param = ("(transport|maddr|x|X|%78|lr)", prop::option::of("(tcp|TCP|a|%61|1)"));
    let header = ("(subject|Subject|h)", "(a|A|%41|b)");
    (
        "(sip|sips|SIP)",
        prop::option::of("(alice|Alice|%61lice|a%2Bb|a\\+b)"),
        "(atlanta\\.com|ATLANTA\\.com|192\\.0\\.2\\.4|\\[::1\\])",
        prop::option::of(prop_oneof![Just(5060u16), Just(5061u16)]),
        prop::collection::vec(param, 0..4),
        prop::collection::vec(header, 0..3),
    )
        .prop_map(|(scheme, user, host, port, params, headers)| {
            let mut s = format!("{scheme}:");
            if let Some(u) = user {
                s.push_str(&format!("{u}@"));
            }
            s.push_str(&host);
            if let Some(p) = port {
                s.push_str(&format!(":{p}"));
            }
            for (n, v) in params {
                s.push_str(&format!(";{n}"));
                if let Some(v) = v {
                    s.push_str(&format!("={v}"));
                }
            }
            let h: Vec<String> = headers.iter().map(|(n, v)| format!("{n}={v}")).collect();
            if !h.is_empty() {
                s.push('?');
                s.push_str(&h.join("&"));
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// A URI equals itself, and `a == b` exactly when `b == a`.
    #[test]
    fn equality_is_reflexive_and_symmetric(a in generated_sip_uri(), b in generated_sip_uri()) {
        let (ua, ub) = (uri(&a), uri(&b));
        prop_assert!(ua == uri(&a), "{} must equal itself", a);
        prop_assert_eq!(ua == ub, ub == ua, "{} vs {}", a, b);
    }
}

#[test]
fn rfc3966_4_tel_numbers_compare_without_visual_separators() {
    assert_equal("tel:+1-201-555-0123", "tel:+12015550123");
    assert_equal("tel:+1-201-555-0123", "tel:+1.201.555.0123");
    assert_equal("tel:+1(201)555-0123", "tel:+1-201-555-0123");
    assert_equal("tel:7042;phone-context=example.com", "tel:70-42;phone-context=example.com");
    assert_not_equal("tel:+1-201-555-0123", "tel:+1-201-555-0124");
    // A global number never equals a local one.
    assert_not_equal("tel:+12015550123", "tel:12015550123");
}

#[test]
fn rfc3966_4_tel_parameters_compare_as_a_set_case_insensitively() {
    assert_equal(
        "tel:7042;phone-context=example.com;ext=22",
        "tel:7042;EXT=22;phone-context=EXAMPLE.com",
    );
    assert_equal("tel:7a04;phone-context=example.com", "tel:7A04;phone-context=example.com");
    // "If one URI has a parameter name not found in the other, the two URIs are not equal."
    assert_not_equal("tel:+12015550123;ext=22", "tel:+12015550123");
    assert_not_equal("tel:+12015550123;ext=22", "tel:+12015550123;ext=23");
}

/// RFC 3966 §4: a phone-context that is a global number is compared "digit by digit ...
/// after removing all 'visual-separator' characters".
#[test]
fn rfc3966_4_phone_context_digits_compare_without_visual_separators() {
    assert_equal("tel:7042;phone-context=+1-201-555", "tel:7042;phone-context=+1201555");
}

#[test]
fn a_tel_uri_never_equals_a_sip_uri() {
    assert_not_equal("tel:+12015550123", "sip:+12015550123@example.com;user=phone");
}

#[track_caller]
fn assert_rejected(s: &str) {
    assert!(Uri::parse(s).is_err(), "{s:?} must be rejected, parsed as {:?}", Uri::parse(s));
}

#[test]
fn ipv6_addresses_must_be_in_brackets() {
    assert_rejected("sip:2001:db8::1");
    assert_rejected("sip:alice@2001:db8::1");
    assert_rejected("sip:alice@2001:db8::1:5060");
    assert_rejected("sip:alice@[2001:db8::1");
    assert_rejected("sip:alice@2001:db8::1]");
    assert_rejected("sip:alice@[2001:db8::g]");
    assert!(uri("sip:alice@[2001:db8::1]:5060").as_sip().is_some_and(|u| u.port == Some(5060)));
}

#[test]
fn spaces_are_rejected() {
    for s in [
        "sip:alice @atlanta.com",
        "sip: alice@atlanta.com",
        "sip:alice@ atlanta.com",
        "sip:alice@atlanta.com ",
        "sip:alice@atlanta.com ;transport=tcp",
        "sip:alice@atlanta .com",
        "sip:alice@atlanta.com;transport= tcp",
        " sip:alice@atlanta.com",
        "tel:+1 201 555 0123",
    ] {
        assert_rejected(s);
    }
}

#[test]
fn an_empty_host_is_rejected() {
    for s in [
        "sip:",
        "sips:",
        "sip:alice@",
        "sip:alice@:5060",
        "sip:;transport=tcp",
        "sip:@",
        "sip:alice@;lr",
    ] {
        assert_rejected(s);
    }
}

#[test]
fn ports_above_65535_are_rejected() {
    for s in [
        "sip:alice@atlanta.com:65536",
        "sip:alice@atlanta.com:99999",
        "sip:alice@atlanta.com:4294967296",
        "sip:alice@atlanta.com:18446744073709551616",
        "sip:alice@[::1]:70000",
        "sip:alice@atlanta.com:",
        "sip:alice@atlanta.com:-1",
    ] {
        assert_rejected(s);
    }
    assert_eq!(uri("sip:alice@atlanta.com:65535").as_sip().and_then(|u| u.port), Some(65535));
}

/// URI parameters have non-empty names and values in sip and tel URIs alike.
#[test]
fn empty_uri_parameter_names_and_values_are_refused() {
    for bad in
        ["sip:a@example.com;=x", "sip:a@example.com;p=", "tel:+1555;=x", "tel:+1555;phone-context="]
    {
        assert!(sipwire::message::Uri::parse(bad).is_err(), "{bad}");
    }
    assert!(sipwire::message::Uri::parse("tel:+1555;isub=12;npdi").is_ok());
}
