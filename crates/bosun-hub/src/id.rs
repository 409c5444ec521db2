//! Random connection ids and connection tokens.
//!
//! A connection token is what lets a client open the WebSocket of a negotiation, so it is
//! a 256-bit secret; a connection id is shown to others and only needs to be unique.

/// A new connection id: 128 random bits, in hex.
pub fn new_connection_id() -> String {
    random_hex::<16>()
}

/// A new connection token: 256 random bits, in hex.
pub(crate) fn new_connection_token() -> String {
    random_hex::<32>()
}

fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    hex::encode(bytes)
}
