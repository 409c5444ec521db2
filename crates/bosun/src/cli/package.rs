//! The command line of `bosun package …` (bot packages on the server) and of where
//! `bosun up` keeps packages and how it hands them out.

use std::path::PathBuf;
use std::time::Duration;

use bosun_core::package::{PackageName, Version};
use bosun_storage::Url;
use clap::{Args, Subcommand};

use super::{ClientArgs, OutputArgs};
use crate::durations::{parse_duration, parse_size};

/// `bosun package …`.
#[derive(Debug, Subcommand)]
pub(crate) enum PackageCommand {
    /// Upload a bot, from its folder or a ZIP, as a new version of a package.
    ///
    /// A folder is zipped first, leaving out __pycache__, .venv, venv, .git and *.pyc
    /// (symbolic links are skipped, not followed); it needs bot.py or main.py at its
    /// top. The name is --name, else bot.json's "name", else the folder's or the ZIP
    /// file's name; the version is --version, else bot.json's "version", else 1.0.0. A
    /// version is written once: pushing it again is refused, never replaced.
    ///
    /// Prints the package, the version, its size and its SHA-256.
    // `--version` is the package's here, not bosun's.
    #[command(after_help = PUSH_EXAMPLES, disable_version_flag = true)]
    Push(PackagePushArgs),
    /// List packages and their versions (all, or one package's).
    #[command(visible_alias = "list", after_help = LS_EXAMPLES)]
    Ls(PackageLsArgs),
    /// Delete one version of a package (NAME@VERSION), or a package with every
    /// version (NAME). Jobs already running keep the copy they unpacked.
    #[command(visible_alias = "remove", after_help = RM_EXAMPLES)]
    Rm(PackageRmArgs),
}

const PUSH_EXAMPLES: &str = concat!(
    "Examples:
  bosun package push examples/hello-bot                 # hello-bot 1.0.0, zipped here
  bosun package push ./scraper --version 2.1.0 --description \"Nightly price scrape\"
  bosun package push dist/scraper.zip --name scraper --version 2.1.1
  bosun package push ./scraper --json | jq -r .id       # the package as JSON

Pushing a version the package has already is refused (exit 4): choose another --version,
or `bosun package rm NAME@VERSION` first.

",
    client_exit_codes!()
);

const LS_EXAMPLES: &str = concat!(
    "Examples:
  bosun package ls                         # every package, one line per version
  bosun package ls scraper                 # one package's versions
  bosun package ls --json                  # {\"items\": [...]}, for scripts

",
    client_exit_codes!()
);

const RM_EXAMPLES: &str = concat!(
    "Examples:
  bosun package rm scraper@2.1.0           # that version only; the package stays
  bosun package rm scraper                 # the package and every version

",
    client_exit_codes!()
);

#[derive(Debug, Args)]
pub(crate) struct PackagePushArgs {
    /// The bot's folder, or a ZIP holding it.
    #[arg(value_name = "DIR|ZIP")]
    pub(crate) path: PathBuf,

    /// The package's name [default: bot.json's "name", else the folder's or ZIP's name].
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    pub(crate) name: Option<PackageName>,

    /// The version to upload [default: bot.json's "version", else 1.0.0].
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub(crate) version: Option<Version>,

    /// What the package does [default: bot.json's "description"].
    #[arg(long, value_name = "TEXT")]
    pub(crate) description: Option<String>,

    /// Print the package, with every version, as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PackageLsArgs {
    /// Only this package's versions (its name or id).
    pub(crate) name: Option<String>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PackageRmArgs {
    /// NAME@VERSION deletes that version; NAME (or the package's id) the whole package.
    #[arg(value_name = "NAME[@VERSION]", value_parser = parse_target)]
    pub(crate) target: PackageTarget,

    /// Print what was deleted (the package, with the versions deleted) as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// What `bosun package rm` deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageTarget {
    /// The package, by name or id.
    pub(crate) package: String,
    /// One version of it, or `None` for the package with every version.
    pub(crate) version: Option<Version>,
}

/// `NAME` or `NAME@VERSION`. Package names never have `@`, so the first one splits.
fn parse_target(text: &str) -> Result<PackageTarget, String> {
    let (package, version) = match text.split_once('@') {
        Some((package, version)) => (package, Some(parse_version(version)?)),
        None => (text, None),
    };
    if package.trim().is_empty() {
        return Err(format!(
            "{text:?} names no package: write NAME or NAME@VERSION"
        ));
    }
    Ok(PackageTarget {
        package: package.to_owned(),
        version,
    })
}

fn parse_name(text: &str) -> Result<PackageName, String> {
    text.parse()
        .map_err(|e: bosun_core::package::PackageNameError| e.to_string())
}

fn parse_version(text: &str) -> Result<Version, String> {
    text.parse()
        .map_err(|e: bosun_core::package::VersionError| e.to_string())
}

/// Where `bosun up` keeps packages, and the limits of uploads and links.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Packages")]
pub(crate) struct PackageStoreArgs {
    /// Where uploaded bot packages are kept: a directory, or s3://BUCKET in an
    /// S3-compatible store, reached with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_REGION and AWS_ENDPOINT_URL [default: <home>/packages].
    #[arg(
        long,
        env = "BOSUN_PACKAGES",
        value_name = "DIR|s3://BUCKET",
        value_parser = parse_packages_at
    )]
    pub(crate) packages: Option<PackagesAt>,

    /// With --packages s3://BUCKET: the S3 endpoint, for stores other than AWS
    /// (http://minio:9000) [default: AWS_ENDPOINT_URL, else AWS].
    #[arg(long, value_name = "URL", value_parser = parse_endpoint)]
    pub(crate) s3_endpoint: Option<Url>,

    /// With --packages s3://BUCKET: the region to sign for [default: AWS_REGION, else
    /// AWS_DEFAULT_REGION, else us-east-1].
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub(crate) s3_region: Option<String>,

    /// The largest package upload accepted (100MiB, 1GiB, or bytes).
    #[arg(long, value_parser = parse_limit, default_value = "100MiB", value_name = "SIZE")]
    pub(crate) package_upload_limit: u64,

    /// How long a package download link works (30s, 15m, 2h; at most 7 days).
    #[arg(long, value_parser = parse_link_lifetime, default_value = "15m", value_name = "DURATION")]
    pub(crate) package_link_lifetime: Duration,

    /// The most files and folders a package may hold.
    #[arg(long, default_value_t = bosun_package::DEFAULT_MAX_ENTRIES, value_name = "N",
          value_parser = parse_entries)]
    pub(crate) package_max_entries: usize,

    /// The most a package may unpack to, all files together (1GiB, 500MiB, or bytes).
    #[arg(long, value_parser = parse_limit, default_value = "1GiB", value_name = "SIZE")]
    pub(crate) package_max_unpacked: u64,

    /// What the server's own package download links start with, when machines reach
    /// it at another address than it listens on (http://bosun.internal:8420)
    /// [default: the address it listens on]. Not for s3://, whose links are the
    /// bucket's.
    #[arg(long, env = "BOSUN_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
    pub(crate) public_url: Option<Url>,
}

/// Where packages' bytes go, as `--packages` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PackagesAt {
    /// A directory on this machine.
    Dir(PathBuf),
    /// A bucket of an S3-compatible store.
    S3 {
        /// The bucket's name.
        bucket: String,
    },
}

/// `s3://BUCKET` or a directory; any other `SCHEME://` is refused rather than taken
/// for a directory of that odd name.
fn parse_packages_at(text: &str) -> Result<PackagesAt, String> {
    if let Some(rest) = text.strip_prefix("s3://") {
        let bucket = rest.strip_suffix('/').unwrap_or(rest);
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !valid {
            return Err(format!(
                "{text:?} is not s3://BUCKET: a bucket name has 3 to 63 lowercase letters, \
                 digits, '-' or '.', and no key prefix"
            ));
        }
        return Ok(PackagesAt::S3 {
            bucket: bucket.to_owned(),
        });
    }
    if text.contains("://") {
        return Err(format!(
            "{text:?}: packages go in a directory or s3://BUCKET"
        ));
    }
    if text.trim().is_empty() {
        return Err("an empty --packages: write a directory or s3://BUCKET".to_owned());
    }
    Ok(PackagesAt::Dir(PathBuf::from(text)))
}

/// An `http` or `https` URL with a host.
fn parse_http_url(text: &str, example: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim())
        .map_err(|e| format!("{text:?} is not a URL ({e}): write e.g. {example}"))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(format!(
            "{text:?} is not an http or https URL: write e.g. {example}"
        ));
    }
    Ok(url)
}

fn parse_endpoint(text: &str) -> Result<Url, String> {
    parse_http_url(text, "http://127.0.0.1:9000")
}

fn parse_region(text: &str) -> Result<String, String> {
    let region = text.trim();
    if region.is_empty() || region.contains(char::is_whitespace) {
        return Err(format!("{text:?} is not a region: write e.g. us-east-1"));
    }
    Ok(region.to_owned())
}

/// The base of the server's links: no query or fragment, which a link could not keep.
fn parse_public_url(text: &str) -> Result<Url, String> {
    let url = parse_http_url(text, "http://bosun.internal:8420")?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} has a query or fragment: links start with scheme, host, port and path only"
        ));
    }
    Ok(url)
}

/// A size limit: [`parse_size`], and not zero.
fn parse_limit(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err(format!("{text:?}: a limit of 0 would refuse every package")),
        size => Ok(size),
    }
}

fn parse_entries(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err(format!("{text:?}: a package holds at least its bot.py")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "{text:?} is not a number of entries: write e.g. 20000"
        )),
    }
}

/// A link lifetime: [`parse_duration`], from a second to seven days (the longest a
/// presigned S3 link lives, kept for the server's own links too).
fn parse_link_lifetime(text: &str) -> Result<Duration, String> {
    let lifetime = parse_duration(text)?;
    if lifetime < Duration::from_secs(1) || lifetime > bosun_storage::MAX_LIFETIME {
        return Err(format!(
            "{text:?}: a link lives from 1s to 7 days (604800s)"
        ));
    }
    Ok(lifetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rm_takes_a_package_or_one_of_its_versions() {
        let whole = parse_target("scraper").unwrap();
        assert_eq!(whole.package, "scraper");
        assert_eq!(whole.version, None);
        let one = parse_target("web scraper@2.1.0-beta").unwrap();
        assert_eq!(one.package, "web scraper");
        assert_eq!(
            one.version.map(|v| v.to_string()).as_deref(),
            Some("2.1.0-beta")
        );
        assert!(
            parse_target("@1.0.0")
                .unwrap_err()
                .contains("names no package")
        );
        assert!(parse_target("scraper@").is_err(), "an empty version");
        assert!(
            parse_target("scraper@1/0").is_err(),
            "a version with a separator"
        );
    }

    #[test]
    fn packages_go_in_a_directory_or_a_bucket() {
        assert_eq!(
            parse_packages_at("/srv/packages"),
            Ok(PackagesAt::Dir("/srv/packages".into()))
        );
        assert_eq!(
            parse_packages_at("s3://bosun-packages/"),
            Ok(PackagesAt::S3 {
                bucket: "bosun-packages".into()
            })
        );
        assert!(
            parse_packages_at("s3://bucket/prefix")
                .unwrap_err()
                .contains("no key prefix")
        );
        assert!(parse_packages_at("s3://").is_err());
        assert!(parse_packages_at("s3://Upper").is_err());
        assert!(
            parse_packages_at("gs://bucket")
                .unwrap_err()
                .contains("s3://BUCKET")
        );
    }

    #[test]
    fn limits_and_lifetimes_refuse_what_would_break_every_upload_or_link() {
        assert_eq!(parse_limit("100MiB"), Ok(100 << 20));
        assert_eq!(parse_limit("1GiB"), Ok(1 << 30));
        assert_eq!(parse_limit("5000"), Ok(5000));
        assert!(parse_limit("0").is_err());
        assert_eq!(parse_link_lifetime("15m"), Ok(Duration::from_secs(900)));
        assert!(parse_link_lifetime("8d").unwrap_err().contains("7 days"));
        assert!(parse_link_lifetime("0s").is_err());
        assert!(parse_entries("0").is_err());
        assert_eq!(parse_entries("20000"), Ok(20_000));
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse_endpoint("http://127.0.0.1:9000").is_ok());
        assert!(parse_endpoint("minio:9000").is_err(), "no scheme");
        assert!(parse_public_url("ftp://example.com").is_err());
        assert!(parse_public_url("https://example.com/bosun?x=1").is_err());
        assert!(parse_public_url("https://example.com/bosun").is_ok());
    }
}
