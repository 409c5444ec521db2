//! Packages in an S3-compatible bucket (AWS, MinIO, R2, …), for a fleet whose server
//! replicas share one store, with SigV4-presigned download links that machines fetch
//! from the bucket directly.
//!
//! A `put` never replaces an object. One that fits in a part is a single `PutObject`
//! with `If-None-Match: *`. A larger one streams in parts to a staging object under
//! `.staging/` (no key can start with a dot), which is then copied to its key by a
//! multipart copy completed with `If-None-Match: *` and removed: the S3 client offers
//! the condition on copies but not on its streamed uploads. A copy in one part caps an
//! object at 5 GiB, far above a bot package.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use object_store::aws::{AmazonS3, AmazonS3Builder, S3CopyIfNotExists};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload,
    WriteMultipart,
};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;
use url::Url;

use crate::blob::Blob;
use crate::error::{Result, StorageError};
use crate::key::ObjectKey;
use crate::link::{Link, check_lifetime};
use crate::place::random_hex;
use crate::stored::{Stored, Tally};

/// The size of an upload's parts: S3's smallest, so a `put` holds little in memory.
const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts uploaded at once; with the one being filled, a `put` holds at most
/// `(PARTS_IN_FLIGHT + 1) * PART_SIZE` bytes.
const PARTS_IN_FLIGHT: usize = 2;
/// How much of the body is read at a time once the first part is full.
const CHUNK: usize = 64 * 1024;
/// Where larger uploads are staged before they are copied to their key.
const STAGING: &str = ".staging";

/// How to reach a bucket.
#[derive(Clone)]
pub struct S3Config {
    /// The bucket's name.
    pub bucket: String,
    /// The S3 endpoint for stores other than AWS (`http://127.0.0.1:9000`); `None` for AWS.
    pub endpoint: Option<Url>,
    /// The region (`us-east-1` for most S3-compatible stores).
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// Whether plain `http` endpoints are allowed.
    pub allow_http: bool,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"..")
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl S3Config {
    /// The configuration for `bucket` from the usual variables: `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` (required), `AWS_REGION` or else `AWS_DEFAULT_REGION`
    /// (default `us-east-1`) and `AWS_ENDPOINT_URL` (default AWS). Plain `http` is
    /// allowed when the endpoint is an `http` URL.
    pub fn from_env(bucket: impl Into<String>) -> Result<Self> {
        Self::from_vars(bucket.into(), |name| std::env::var(name).ok())
    }

    /// [`S3Config::from_env`] over `var`, which gives a variable's value; empty is unset.
    fn from_vars(bucket: String, var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| var(name).ok_or(StorageError::MissingEnv { var: name });
        let endpoint = match var("AWS_ENDPOINT_URL") {
            None => None,
            Some(value) => {
                Some(
                    Url::parse(value.trim()).map_err(|source| StorageError::BadEndpoint {
                        var: "AWS_ENDPOINT_URL",
                        value,
                        source,
                    })?,
                )
            }
        };
        Ok(Self {
            bucket,
            allow_http: endpoint.as_ref().is_some_and(|e| e.scheme() == "http"),
            endpoint,
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: required("AWS_ACCESS_KEY_ID")?,
            secret_access_key: required("AWS_SECRET_ACCESS_KEY")?,
        })
    }
}

/// A package store in an S3 bucket.
pub struct S3Storage {
    store: AmazonS3,
    bucket: String,
}

impl fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Storage")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// A write's error: a taken key by its own name, anything else with what the store
/// was doing (a 404 here is a missing bucket, not a missing object).
fn taken_or(
    key: &ObjectKey,
    about: &'static str,
) -> impl FnOnce(object_store::Error) -> StorageError {
    move |source| match source {
        object_store::Error::AlreadyExists { .. } => StorageError::Exists { key: key.clone() },
        source => StorageError::S3 { about, source },
    }
}

/// The bucket path of `key`: the key as it is, its characters needing no escape.
fn object_path(key: &ObjectKey) -> Path {
    Path::parse(key.as_str()).expect("an object key's plain segments make a valid object path")
}

impl S3Storage {
    /// A store on the bucket `config` names, addressed path-style
    /// (`{endpoint}/{bucket}/{key}`), which every S3-compatible server understands. It
    /// makes no request: a wrong bucket or key shows on first use.
    pub fn new(config: S3Config) -> Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.allow_http)
            .with_virtual_hosted_style_request(false)
            .with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
        }
        let store = builder.build().map_err(|source| StorageError::S3 {
            about: "configuring the bucket",
            source,
        })?;
        Ok(Self {
            store,
            bucket: config.bucket,
        })
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Stores `body` under `key`, streaming it in parts; fails with
    /// [`StorageError::Exists`] if `key` is taken, also when another `put` takes it
    /// while this one streams.
    pub async fn put(&self, key: &ObjectKey, mut body: impl AsyncRead + Unpin) -> Result<Stored> {
        let path = object_path(key);
        let mut tally = Tally::default();
        let mut first = Vec::with_capacity(PART_SIZE);
        (&mut body)
            .take(PART_SIZE as u64)
            .read_to_end(&mut first)
            .await
            .map_err(|source| StorageError::Body { source })?;
        tally.add(&first);
        if first.len() < PART_SIZE {
            let create = PutOptions::from(PutMode::Create);
            self.store
                .put_opts(&path, PutPayload::from(first), create)
                .await
                .map_err(taken_or(key, "storing an object"))?;
            return Ok(tally.finish());
        }
        // Before sending megabytes: a key already taken is refused now, not after.
        if self.exists(key).await? {
            return Err(StorageError::Exists { key: key.clone() });
        }
        let staging = Path::parse(format!("{STAGING}/{}", random_hex()?))
            .expect("a dot segment and hex digits make a valid object path");
        let stored = async {
            self.upload(&staging, first, &mut body, &mut tally).await?;
            self.store
                .copy_if_not_exists(&staging, &path)
                .await
                .map_err(taken_or(key, "copying a staged upload to its key"))
        }
        .await;
        // Whatever happened, the staging object goes; failing that, it is only litter
        // under `.staging/`, which no key reaches.
        let _ = self.store.delete(&staging).await;
        stored.map(|()| tally.finish())
    }

    /// Streams `first` and then the rest of `body` to `staging` in parts.
    async fn upload(
        &self,
        staging: &Path,
        first: Vec<u8>,
        body: &mut (impl AsyncRead + Unpin),
        tally: &mut Tally,
    ) -> Result<()> {
        let s3 = |about| move |source| StorageError::S3 { about, source };
        let upload = self
            .store
            .put_multipart_opts(staging, PutMultipartOptions::default())
            .await
            .map_err(s3("starting an upload"))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        writer.write(&first);
        drop(first);
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match body.read(&mut buf).await {
                Ok(n) => n,
                Err(source) => {
                    let _ = writer.abort().await;
                    return Err(StorageError::Body { source });
                }
            };
            if n == 0 {
                break;
            }
            tally.add(&buf[..n]);
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(s3("uploading a part")(e));
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(s3("completing an upload"))?;
        Ok(())
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &ObjectKey) -> Result<Blob> {
        let found = self
            .store
            .get(&object_path(key))
            .await
            .map_err(|source| match source {
                object_store::Error::NotFound { .. } => StorageError::NotFound { key: key.clone() },
                source => StorageError::S3 {
                    about: "fetching an object",
                    source,
                },
            })?;
        let size = found.meta.size;
        Ok(Blob::new(size, StreamReader::new(found.into_stream())))
    }

    /// Whether an object is stored under `key`.
    pub async fn exists(&self, key: &ObjectKey) -> Result<bool> {
        match self.store.head(&object_path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(StorageError::S3 {
                about: "looking up an object",
                source,
            }),
        }
    }

    /// Removes the object under `key`; nothing there is not an error.
    pub async fn delete(&self, key: &ObjectKey) -> Result<()> {
        match self.store.delete(&object_path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(StorageError::S3 {
                about: "removing an object",
                source,
            }),
        }
    }

    /// A presigned GET link to `key` for `lifetime`, signed with this machine's clock
    /// (SigV4 links carry their own signing time). The object need not exist yet.
    pub async fn link(&self, key: &ObjectKey, lifetime: Duration) -> Result<Link> {
        check_lifetime(lifetime)?;
        let before = Utc::now();
        let url = self
            .store
            .signed_url(http::Method::GET, &object_path(key), lifetime)
            .await
            .map_err(|source| StorageError::S3 {
                about: "signing a link",
                source,
            })?;
        let lifetime =
            TimeDelta::from_std(lifetime).expect("a lifetime of at most 7 days fits a TimeDelta");
        // The link's own signing time, in whole seconds; our clock before signing if the
        // URL does not say (it always does).
        let signed_at = sigv4_date(&url).unwrap_or_else(|| {
            DateTime::from_timestamp(before.timestamp(), 0)
                .expect("now in whole seconds is a representable time")
        });
        Ok(Link {
            url,
            expires_at: signed_at + lifetime,
        })
    }
}

/// The `X-Amz-Date` of a presigned URL (`20240102T030405Z`).
fn sigv4_date(url: &Url) -> Option<DateTime<Utc>> {
    let (_, date) = url.query_pairs().find(|(k, _)| k == "X-Amz-Date")?;
    let date = NaiveDateTime::parse_from_str(&date, "%Y%m%dT%H%M%SZ").ok()?;
    Some(date.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<S3Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        S3Config::from_vars("pkgs".to_owned(), |name| vars.get(name).cloned())
    }

    #[test]
    fn the_usual_aws_variables_configure_a_bucket() {
        let c = config(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ])
        .expect("a complete configuration");
        assert_eq!(c.bucket, "pkgs");
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.access_key_id, "AKID");
        assert_eq!(c.secret_access_key, "s3cr3t");
        assert_eq!(
            c.endpoint.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:9000/")
        );
        assert!(
            c.allow_http,
            "an http endpoint is meant to be used over http"
        );
        assert!(
            !format!("{c:?}").contains("s3cr3t"),
            "the secret stays out of logs"
        );
    }

    #[test]
    fn aws_region_wins_and_aws_itself_is_the_default_endpoint() {
        let c = config(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_REGION", "ap-south-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", " "),
        ])
        .expect("a complete configuration");
        assert_eq!(c.region, "ap-south-1");
        assert_eq!(c.endpoint, None);
        assert!(!c.allow_http);
        let c = config(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "s")])
            .expect("a complete configuration");
        assert_eq!(c.region, "us-east-1");
    }

    #[test]
    fn missing_keys_and_bad_endpoints_are_named() {
        assert!(matches!(
            config(&[("AWS_SECRET_ACCESS_KEY", "s")]),
            Err(StorageError::MissingEnv {
                var: "AWS_ACCESS_KEY_ID"
            })
        ));
        assert!(matches!(
            config(&[("AWS_ACCESS_KEY_ID", "a")]),
            Err(StorageError::MissingEnv {
                var: "AWS_SECRET_ACCESS_KEY"
            })
        ));
        assert!(matches!(
            config(&[
                ("AWS_ACCESS_KEY_ID", "a"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
                ("AWS_ENDPOINT_URL", "127.0.0.1:9000"),
            ]),
            Err(StorageError::BadEndpoint { .. })
        ));
    }
}
