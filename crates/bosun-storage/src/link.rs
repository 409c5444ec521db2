//! Expiring download links. A disk link names its key and expiry in the clear and
//! carries an HMAC-SHA256 over both, keyed with the store's secret: changing the key,
//! the expiry or the signature makes it fail, and past its expiry it is refused even
//! with a good signature. S3 links are SigV4-presigned by the S3 client instead.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use crate::error::{LinkError, LinkPart, StorageError};
use crate::key::ObjectKey;

/// The longest link lifetime: SigV4's limit for presigned URLs, kept for disk links too
/// so that a store can be swapped without a link changing meaning.
pub const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A download link and the moment it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The URL to GET.
    pub url: Url,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// Refuses a lifetime links cannot have.
pub(crate) fn check_lifetime(lifetime: Duration) -> Result<(), StorageError> {
    if lifetime < Duration::from_secs(1) || lifetime > MAX_LIFETIME {
        return Err(StorageError::BadLifetime { lifetime });
    }
    Ok(())
}

/// The 32-byte secret disk links are signed with.
#[derive(Clone)]
pub(crate) struct LinkSecret(pub(crate) [u8; 32]);

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret(..)")
    }
}

/// The signature's input: a label, so it is never mistaken for another HMAC made with
/// the same secret, then the key and the expiry, on lines of their own (a key has no
/// newline).
fn mac(secret: &LinkSecret, key: &ObjectKey, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret.0)
        .expect("HMAC takes a key of any length, 32 bytes included");
    mac.update(b"bosun package link v1\n");
    mac.update(key.as_str().as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    mac
}

/// The disk link for `key`, valid until `expires` (Unix seconds).
pub(crate) fn disk_link(
    secret: &LinkSecret,
    public_base: &Url,
    key: &ObjectKey,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> Result<Link, StorageError> {
    check_lifetime(lifetime)?;
    let lifetime =
        TimeDelta::from_std(lifetime).expect("a lifetime of at most 7 days fits a TimeDelta");
    // Whole seconds, rounded down: the link may end a fraction of a second early, never late.
    let expires = (now + lifetime).timestamp();
    let expires_at = DateTime::from_timestamp(expires, 0)
        .expect("now plus at most 7 days is a representable time");
    let signature = hex::encode(mac(secret, key, expires).finalize().into_bytes());
    let url = format!(
        "{}/packages/blob/{key}?expires={expires}&signature={signature}",
        public_base.as_str().trim_end_matches('/')
    );
    let url = Url::parse(&url)
        .expect("an http(s) base without query or fragment plus a key's plain segments is a URL");
    Ok(Link { url, expires_at })
}

/// Checks a disk link's `expires` and `signature` for `key` at `now`: malformed parts
/// first, then the signature (in constant time), then the expiry.
pub(crate) fn verify(
    secret: &LinkSecret,
    key: &ObjectKey,
    expires: &str,
    signature: &str,
    now: DateTime<Utc>,
) -> Result<(), LinkError> {
    let expires_at = parse_expires(expires).ok_or(LinkError::Malformed {
        part: LinkPart::Expires,
    })?;
    let signature = parse_signature(signature).ok_or(LinkError::Malformed {
        part: LinkPart::Signature,
    })?;
    mac(secret, key, expires_at.timestamp())
        .verify_slice(&signature)
        .map_err(|_| LinkError::BadSignature)?;
    if now >= expires_at {
        return Err(LinkError::Expired {
            expired_at: expires_at,
        });
    }
    Ok(())
}

/// Unix seconds as links write them: decimal digits, no sign, no leading zero.
fn parse_expires(expires: &str) -> Option<DateTime<Utc>> {
    if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = expires.parse().ok()?;
    if seconds.to_string() != expires {
        return None;
    }
    DateTime::from_timestamp(seconds, 0)
}

/// 64 lowercase hex digits, as links write them.
fn parse_signature(signature: &str) -> Option<[u8; 32]> {
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(signature, &mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ObjectKey {
        ObjectKey::new(s).expect("a valid key")
    }

    fn query(link: &Link, name: &str) -> String {
        link.url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .expect("disk links carry expires and signature")
    }

    #[test]
    fn a_link_names_key_and_expiry_and_verifies_until_it_expires() {
        let secret = LinkSecret([7; 32]);
        let base = Url::parse("https://bosun.example/prefix/").expect("a URL");
        let now = DateTime::from_timestamp(1_700_000_000, 500_000_000).expect("a time");
        let k = key("acme/p1/1.0.zip");
        let link = disk_link(&secret, &base, &k, Duration::from_secs(60), now).expect("a link");
        assert_eq!(link.url.path(), "/prefix/packages/blob/acme/p1/1.0.zip");
        assert_eq!(query(&link, "expires"), "1700000060");
        assert_eq!(link.expires_at.timestamp(), 1_700_000_060);
        let sig = query(&link, "signature");
        let just_before = link.expires_at - TimeDelta::milliseconds(1);
        assert_eq!(verify(&secret, &k, "1700000060", &sig, just_before), Ok(()));
        assert_eq!(
            verify(&secret, &k, "1700000060", &sig, link.expires_at),
            Err(LinkError::Expired {
                expired_at: link.expires_at
            })
        );
    }

    #[test]
    fn malformed_parts_are_told_apart_from_bad_signatures() {
        let secret = LinkSecret([7; 32]);
        let k = key("a/b.zip");
        let now = DateTime::from_timestamp(1_000, 0).expect("a time");
        let good = hex::encode(mac(&secret, &k, 2_000).finalize().into_bytes());
        assert_eq!(verify(&secret, &k, "2000", &good, now), Ok(()));
        let malformed = |part| Err(LinkError::Malformed { part });
        for expires in ["", "+2000", "02000", "-5", "2e3", "99999999999999999999"] {
            assert_eq!(
                verify(&secret, &k, expires, &good, now),
                malformed(LinkPart::Expires),
                "{expires:?}"
            );
        }
        let upper = good.to_uppercase();
        for sig in [&good[..63], &upper, &format!("{}g", &good[..63])] {
            assert_eq!(
                verify(&secret, &k, "2000", sig, now),
                malformed(LinkPart::Signature),
                "{sig:?}"
            );
        }
        let other_secret = LinkSecret([8; 32]);
        assert_eq!(
            verify(&other_secret, &k, "2000", &good, now),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn lifetimes_beyond_what_sigv4_allows_are_refused() {
        assert!(check_lifetime(Duration::from_secs(1)).is_ok());
        assert!(check_lifetime(MAX_LIFETIME).is_ok());
        for bad in [
            Duration::ZERO,
            Duration::from_millis(999),
            MAX_LIFETIME + Duration::from_secs(1),
        ] {
            assert!(matches!(
                check_lifetime(bad),
                Err(StorageError::BadLifetime { .. })
            ));
        }
    }
}
