//! `bosun up`: the server in the foreground, until SIGINT or SIGTERM.
//!
//! On the very first start the server makes a tenant and an admin token; this prints
//! the token once, with how to use it, and saves it with the URL in
//! `<home>/client.json` (mode 0600) for the client commands. Later starts never show it;
//! one on another address points client.json at it, keeping the token.
//!
//! One server at a time uses a data directory: a second `bosun up` on it exits with
//! [`exit::HOME_IN_USE`], naming the first's pid and address, before it touches the
//! store, the first's jobs or client.json.

use std::path::Path;

use anyhow::{Context, Result};
use bosun_server::{
    FirstStart, PackageStore, PackagesConfig, RestartPolicy, ServerConfig, ServerError,
};
use bosun_storage::S3Config;

use super::client::ClientFile;
use crate::cli::{OnRestart, PackageStoreArgs, PackagesAt, UpArgs};
use crate::exit;
use crate::signals::Stop;

/// Starts the server and serves until a signal, then drains.
pub(crate) async fn up(args: UpArgs) -> Result<u8> {
    let home = super::home_at(args.home.as_deref())?;
    std::fs::create_dir_all(home.root())
        .with_context(|| format!("cannot create the data directory {}", home.root().display()))?;

    let mut config = ServerConfig::new(home.root());
    config.listen = args.listen;
    config.database_url = args.database.url;
    config.max_concurrent = args.max_concurrent as usize;
    config.history_limit = args.history_limit;
    config.on_restart = match args.on_restart {
        OnRestart::Kill => RestartPolicy::Kill,
        OnRestart::Adopt => RestartPolicy::Adopt,
    };
    config.drain_timeout = args.drain_timeout;
    config.log_limit = args.log_cap.max_log_size;
    config.example_job = !args.no_example;
    config.agents.delivery_wait = args.agent_delivery_wait;
    config.agents.lost_grace = args.agent_lost_grace;
    config.packages = match packages_config(&args.packages) {
        Ok(packages) => packages,
        Err(message) => {
            eprintln!("bosun: {message}");
            return Ok(exit::USAGE);
        }
    };

    // Listen before starting, so that a signal while the database opens is not lost:
    // the server then stops as soon as it has started.
    let stop = Stop::listen_saying(format!(
        "bosun: shutting down: running jobs get {} to finish (press Ctrl-C again to stop \
         now and leave them running)",
        humantime::format_duration(config.drain_timeout)
    ))
    .context("could not install signal handlers")?;

    let server = match bosun_server::start(config).await {
        Ok(server) => server,
        Err(ServerError::HomeInUse(in_use)) => {
            eprintln!("bosun: {in_use}; stop it first, or point BOSUN_HOME (or --home) elsewhere");
            return Ok(exit::HOME_IN_USE);
        }
        Err(e) => return Err(anyhow::Error::new(e).context("could not start the server")),
    };
    println!(
        "bosun: serving {} (data in {})",
        server.url,
        home.root().display()
    );
    if let Some(first) = &server.first_start {
        // Client commands look in the default data directory unless told otherwise.
        let usual = bosun_exec::Home::from_env().is_some_and(|usual| usual == home);
        println!("{}", welcome(first, &server.url, home.root(), usual));
    } else {
        // The client commands show client.json's token only to the URL saved with it.
        let path = ClientFile::path(home.root());
        match ClientFile::repoint(&path, &server.url) {
            Ok(true) => println!("bosun: {} now names {}", path.display(), server.url),
            Ok(false) => {}
            Err(e) => eprintln!(
                "bosun: could not point {} at {} ({e}): client commands need --server and --token",
                path.display(),
                server.url
            ),
        }
    }

    tokio::select! {
        served = server.run(stop.cancel.clone()) => served.context("the server failed")?,
        () = stop.kill_now.cancelled() => {
            eprintln!("bosun: stopped without waiting for running jobs");
            // Exit now rather than return: returning would drop the runtime, which waits
            // for the server's blocking work, the very wait the second signal refuses.
            std::process::exit(exit::CANCELLED.into());
        }
    }
    println!("bosun: stopped");
    Ok(exit::SUCCESS)
}

/// Where packages go and their limits, from the flags and, for S3, the `AWS_*`
/// variables; `Err` is the one line that says which setting is wrong.
fn packages_config(args: &PackageStoreArgs) -> Result<PackagesConfig, String> {
    let storage = match &args.packages {
        None | Some(PackagesAt::Dir(_))
            if args.s3_endpoint.is_some() || args.s3_region.is_some() =>
        {
            return Err("--s3-endpoint and --s3-region go with --packages s3://BUCKET".to_owned());
        }
        Some(PackagesAt::S3 { .. }) if args.public_url.is_some() => {
            return Err(
                "--public-url sets the server's own download links; with --packages \
                 s3://BUCKET the links are the bucket's: leave it out"
                    .to_owned(),
            );
        }
        None => PackageStore::Disk(None),
        Some(PackagesAt::Dir(dir)) => PackageStore::Disk(Some(
            std::path::absolute(dir).map_err(|e| format!("--packages {}: {e}", dir.display()))?,
        )),
        Some(PackagesAt::S3 { bucket }) => PackageStore::S3(s3_config(bucket, args)?),
    };
    Ok(PackagesConfig {
        storage,
        link_lifetime: args.package_link_lifetime,
        upload_limit: args.package_upload_limit,
        limits: bosun_package::Limits {
            max_entries: args.package_max_entries,
            max_unpacked: args.package_max_unpacked,
        },
        public_url: args.public_url.clone(),
    })
}

/// The bucket's settings: the `AWS_*` variables, with `--s3-endpoint` and
/// `--s3-region` over them. Plain `http` is allowed when the endpoint is an `http`
/// URL (a MinIO on the same network).
fn s3_config(bucket: &str, args: &PackageStoreArgs) -> Result<S3Config, String> {
    let mut config = S3Config::from_env(bucket).map_err(|e| {
        format!(
            "--packages s3://{bucket}: {}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
             (and AWS_ENDPOINT_URL or --s3-endpoint for a store other than AWS)",
            bosun_core::error::chain(&e)
        )
    })?;
    if let Some(endpoint) = &args.s3_endpoint {
        config.allow_http = endpoint.scheme() == "http";
        config.endpoint = Some(endpoint.clone());
    }
    if let Some(region) = &args.s3_region {
        config.region = region.clone();
    }
    Ok(config)
}

/// The first start's message: the token, once, how to use it, and where it was saved.
/// `usual` says whether `home` is the data directory client commands use by default;
/// when it is not, the message says how to point them at it.
fn welcome(first: &FirstStart, url: &str, home: &Path, usual: bool) -> String {
    let path = ClientFile::path(home);
    let file = ClientFile {
        url: Some(url.to_owned()),
        token: Some(first.token.clone()),
    };
    let saved = match file.create_new(&path) {
        Ok(true) if usual => format!(
            "Saved with the URL in {} (mode 0600): bosun jobs, submit, ps, logs … on this \
             machine use it from there.",
            path.display()
        ),
        Ok(true) => format!(
            "Saved with the URL in {} (mode 0600): bosun jobs, submit, ps, logs … use it \
             from there when given --home {home} or BOSUN_HOME={home}.",
            path.display(),
            home = home.display()
        ),
        Ok(false) => format!(
            "{} already exists and was left as it is; it may hold another server's token: \
             replace its token with this one, or set BOSUN_TOKEN.",
            path.display()
        ),
        Err(e) => format!(
            "Could not save it in {} ({e}): keep it yourself.",
            path.display()
        ),
    };
    let example = match &first.example_job {
        Some(job) if usual => format!(
            "\n\nThe example job {job:?} is ready. In another terminal, run it and watch it:\n\
             \x20 bosun submit {job} --follow"
        ),
        Some(job) => format!(
            "\n\nThe example job {job:?} is ready. In another terminal, run it and watch it:\n\
             \x20 bosun submit {job} --follow --home {home}",
            home = home.display()
        ),
        None => String::new(),
    };
    format!(
        "bosun: first start: created tenant {tenant:?} and its admin token. It is shown only \
         this once:\n\
         \n    {token}\n\n\
         Use it from a shell:\n\
         \x20 export BOSUN_TOKEN={token}\n\
         \x20 curl -H \"Authorization: Bearer $BOSUN_TOKEN\" {url}/api/jobs\n\
         \n{saved}{example}",
        tenant = first.tenant,
        token = first.token,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The package flags of `bosun up FLAGS…`.
    fn package_flags(flags: &[&str]) -> PackageStoreArgs {
        use clap::Parser;
        let line = ["bosun", "up"].iter().chain(flags);
        match crate::cli::Cli::try_parse_from(line).expect("the flags parse") {
            crate::cli::Cli {
                command: crate::cli::Command::Up(args),
                ..
            } => args.packages,
            _ => unreachable!("`bosun up` parses as the up command"),
        }
    }

    #[test]
    fn packages_go_in_the_data_directory_with_the_documented_limits_by_default() {
        let config = packages_config(&package_flags(&[])).unwrap();
        assert!(matches!(config.storage, PackageStore::Disk(None)));
        assert_eq!(
            config.link_lifetime,
            std::time::Duration::from_secs(15 * 60)
        );
        assert_eq!(config.upload_limit, 100 << 20);
        assert_eq!(config.limits, bosun_package::Limits::default());
        assert_eq!(config.limits.max_entries, 20_000);
        assert_eq!(config.limits.max_unpacked, 1 << 30);
        assert_eq!(config.public_url, None);

        let flags = [
            "--packages",
            "pkgs",
            "--package-upload-limit",
            "1GiB",
            "--package-link-lifetime",
            "1h",
            "--package-max-entries",
            "50",
            "--package-max-unpacked",
            "2048",
            "--public-url",
            "http://bosun.lan:8420",
        ];
        let config = packages_config(&package_flags(&flags)).unwrap();
        let PackageStore::Disk(Some(dir)) = &config.storage else {
            panic!("a directory: {:?}", config.storage)
        };
        assert!(
            dir.is_absolute() && dir.ends_with("pkgs"),
            "{}",
            dir.display()
        );
        assert_eq!(config.upload_limit, 1 << 30);
        assert_eq!(config.link_lifetime, std::time::Duration::from_secs(3600));
        assert_eq!(config.limits.max_entries, 50);
        assert_eq!(config.limits.max_unpacked, 2048);
        assert_eq!(
            config.public_url.map(|u| u.to_string()).as_deref(),
            Some("http://bosun.lan:8420/")
        );
    }

    #[test]
    fn flags_of_the_other_kind_of_storage_are_refused_not_ignored() {
        let error = packages_config(&package_flags(&["--s3-region", "eu-west-1"])).unwrap_err();
        assert!(error.contains("go with --packages s3://BUCKET"), "{error}");
        let flags = [
            "--packages",
            "/srv/p",
            "--s3-endpoint",
            "http://127.0.0.1:9000",
        ];
        assert!(packages_config(&package_flags(&flags)).is_err());
        let flags = [
            "--packages",
            "s3://bots",
            "--public-url",
            "http://bosun.lan:8420",
        ];
        let error = packages_config(&package_flags(&flags)).unwrap_err();
        assert!(error.contains("the links are the bucket's"), "{error}");
    }

    #[test]
    fn the_first_start_saves_the_token_once_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let first = FirstStart {
            tenant: "default".into(),
            token: "secret-1".into(),
            example_job: Some("hello-bot".into()),
        };
        let text = welcome(&first, "http://127.0.0.1:8420", dir.path(), false);
        assert!(text.contains("export BOSUN_TOKEN=secret-1"), "{text}");
        assert!(text.contains("BOSUN_HOME="), "{text}");
        assert!(
            text.contains("Authorization: Bearer $BOSUN_TOKEN"),
            "{text}"
        );
        assert!(text.contains("Saved with the URL"), "{text}");
        assert!(
            text.contains(&format!(
                "bosun submit hello-bot --follow --home {}",
                dir.path().display()
            )),
            "{text}"
        );

        let again = FirstStart {
            tenant: "default".into(),
            token: "secret-2".into(),
            example_job: None,
        };
        let text = welcome(&again, "http://127.0.0.1:8420", dir.path(), true);
        assert!(
            text.contains("already exists and was left as it is"),
            "{text}"
        );
        let saved = std::fs::read_to_string(ClientFile::path(dir.path())).unwrap();
        assert!(
            saved.contains("secret-1") && !saved.contains("secret-2"),
            "{saved}"
        );
    }
}
