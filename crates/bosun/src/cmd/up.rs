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
use bosun_server::{FirstStart, RestartPolicy, ServerConfig, ServerError};

use super::client::ClientFile;
use crate::cli::{OnRestart, UpArgs};
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
