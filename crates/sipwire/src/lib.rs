//! sipwire: sans-IO SIP.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
