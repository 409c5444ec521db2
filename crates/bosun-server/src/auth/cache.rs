//! Tokens checked in the last few seconds, so that a burst of requests (a run request
//! is answered in about a millisecond) does not read the store for every one.
//!
//! Entries are keyed by the SHA-256 of the secret, never the secret, and live for
//! [`TTL`]. Deleting a token through this server forgets every entry at once; a token
//! deleted by another server sharing the store (PostgreSQL) is refused here at most
//! [`TTL`] later. Unknown secrets are not kept: every wrong guess reads the store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bosun_store::{Tenant, Token};
use sha2::{Digest, Sha256};

/// How long a checked token is believed without the store.
pub(crate) const TTL: Duration = Duration::from_secs(5);

/// The most tokens kept; when full, expired entries go, and if none has, all do.
const MOST: usize = 1024;

type Key = [u8; 32];

/// Recently checked tokens with their tenants.
#[derive(Default)]
pub(crate) struct TokenCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// Raised by every [`TokenCache::clear`]: a store read that began before a
    /// deletion is not kept after it.
    generation: u64,
    map: HashMap<Key, Entry>,
}

/// When a store read began, for [`TokenCache::put`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

struct Entry {
    token: Token,
    tenant: Tenant,
    checked: Instant,
}

/// The cache's key for a secret.
pub(crate) fn key(secret: &str) -> Key {
    Sha256::digest(secret.as_bytes()).into()
}

impl TokenCache {
    /// The token and tenant of `key` if it was checked less than [`TTL`] ago;
    /// otherwise the generation to hand [`TokenCache::put`] after reading the store.
    pub(crate) fn get(&self, key: &Key) -> Result<(Token, Tenant), Generation> {
        let entries = self
            .entries
            .lock()
            .expect("the token cache is never poisoned");
        match entries.map.get(key) {
            Some(e) if e.checked.elapsed() < TTL => Ok((e.token.clone(), e.tenant.clone())),
            _ => Err(Generation(entries.generation)),
        }
    }

    /// Keeps what the store said of `key` in a read that began at `generation`,
    /// unless a token was deleted since.
    pub(crate) fn put(&self, key: Key, generation: Generation, token: &Token, tenant: &Tenant) {
        let mut entries = self
            .entries
            .lock()
            .expect("the token cache is never poisoned");
        if entries.generation != generation.0 {
            return;
        }
        let map = &mut entries.map;
        if map.len() >= MOST && !map.contains_key(&key) {
            map.retain(|_, e| e.checked.elapsed() < TTL);
            if map.len() >= MOST {
                map.clear();
            }
        }
        let entry = Entry {
            token: token.clone(),
            tenant: tenant.clone(),
            checked: Instant::now(),
        };
        map.insert(key, entry);
    }

    /// Forgets every token: one was deleted.
    pub(crate) fn clear(&self) {
        let mut entries = self
            .entries
            .lock()
            .expect("the token cache is never poisoned");
        entries.generation += 1;
        entries.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(id: &str) -> (Token, Tenant) {
        let now = chrono::Utc::now();
        let tenant = Tenant {
            id: "t".to_owned(),
            slug: "default".to_owned(),
            name: "Default".to_owned(),
            created_at: now,
        };
        let token = Token {
            id: id.to_owned(),
            tenant_id: "t".to_owned(),
            name: id.to_owned(),
            permissions: vec![bosun_core::Permission::All],
            created_at: now,
        };
        (token, tenant)
    }

    #[test]
    fn a_checked_token_is_found_by_its_secret_until_cleared() {
        let cache = TokenCache::default();
        let (t, tenant) = token("a");
        let generation = cache.get(&key("bsn_secret")).unwrap_err();
        cache.put(key("bsn_secret"), generation, &t, &tenant);
        assert_eq!(
            cache.get(&key("bsn_secret")).map(|(t, _)| t.id).ok(),
            Some("a".to_owned())
        );
        assert!(cache.get(&key("bsn_other")).is_err());
        cache.clear();
        assert!(cache.get(&key("bsn_secret")).is_err());
    }

    #[test]
    fn a_read_that_began_before_a_deletion_is_not_kept() {
        let cache = TokenCache::default();
        let (t, tenant) = token("a");
        let before = cache.get(&key("bsn_secret")).unwrap_err();
        cache.clear();
        cache.put(key("bsn_secret"), before, &t, &tenant);
        assert!(cache.get(&key("bsn_secret")).is_err());
    }

    #[test]
    fn a_full_cache_makes_room_instead_of_growing() {
        let cache = TokenCache::default();
        let (t, tenant) = token("a");
        for i in 0..MOST + 10 {
            let k = key(&format!("bsn_{i}"));
            let generation = cache.get(&k).unwrap_err();
            cache.put(k, generation, &t, &tenant);
        }
        let held = cache.entries.lock().unwrap().map.len();
        assert!(held <= MOST, "{held} entries held");
        assert!(cache.get(&key(&format!("bsn_{}", MOST + 9))).is_ok());
    }
}
